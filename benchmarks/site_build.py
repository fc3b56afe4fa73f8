"""Clean build time of the reference site: both languages from nothing, as `python -m derive site` does.

Each repetition builds into a fresh temporary directory (no doctrees, no cached output) and reports
the wall time of the generation step and of the two concurrent sphinx-build runs.

    python benchmarks/site_build.py            # three repetitions
    python benchmarks/site_build.py --repeat 1
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from derive.site import build as site


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    totals = []
    for i in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            timings = site.build(Path(tmp) / "html", list(site.LANGUAGES))
        totals.append(sum(timings.values()))
        print(f"run {i + 1}: generate {timings['generate']:.1f} s, sphinx (en + zh_CN) {timings['sphinx']:.1f} s")
    print(f"median clean build of both languages: {statistics.median(totals):.1f} s over {len(totals)} runs")


if __name__ == "__main__":
    main()
