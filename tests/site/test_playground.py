"""The playground in a browser: a new cell typed into the page derives to what ``gated-rnn show`` prints,
a broken spec shows the engine's message, the download is the spec, and nothing leaves 127.0.0.1.

The built site is served by one local server that is also the browser's proxy for every address,
loopback included, and refuses all but itself: nothing can leave. What the page and its worker ask
for is recorded by the browser (Playwright's request events, which include the worker's); the
browser's own services (update checks, sign-in) reach the proxy too, with a blank page as well, and
are refused.
"""

import json
import subprocess
import sys
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from derive.cells import specfile
from derive.site.build import ROOT
from helpers import latex_blocks

pytestmark = pytest.mark.slow
playwright = pytest.importorskip("playwright.sync_api", reason="playwright is a dev dependency: bash setup.sh")

NEW_CELL = '''name = "twogate"
title = "A cell with a reset gate and a keep gate"
states = "h"
equations = """
r = sigmoid(W_r @ x + U_r @ h_prev + b_r)   # reset gate
k = sigmoid(W_k @ x + U_k @ h_prev + b_k)   # keep gate
q = r * h_prev
n = tanh(W_n @ x + U_n @ q + b_n)           # candidate
h = k * h_prev + (1 - k) * n                # hidden state
"""
'''
BROKEN = NEW_CELL.replace("U_n @ q", "U_n @ z_prev")
# the browser's own services (updates, sign-in, safe browsing) stay off: every request left is the page's
QUIET = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-pings", "--disable-domain-reliability", "--disable-client-side-phishing-detection",
         "--disable-default-apps", "--no-first-run", "--metrics-recording-only",
         "--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication,"
         "CertificateTransparencyComponentUpdater,SafeBrowsing"]
WAIT_MS = 180_000  # loading Python and SymPy takes seconds; a slow machine gets minutes


class SiteAndProxy(SimpleHTTPRequestHandler):
    """Serves the built site, and as a proxy refuses every other address; records every request."""

    def log_message(self, *args) -> None:
        pass

    def record(self) -> bool:
        """Note the request; whether it is for this server."""
        url = urlsplit(self.path)
        here = f"127.0.0.1:{self.server.server_address[1]}"
        target = url.netloc if url.scheme else here
        self.server.requests.append((self.command, target, url.path))
        if url.scheme:
            self.path = url.path + (f"?{url.query}" if url.query else "")
        return target == here

    def do_GET(self) -> None:
        if self.record():
            super().do_GET()
        else:
            self.send_error(403, "this test serves nothing but 127.0.0.1")

    do_HEAD = do_GET

    def do_CONNECT(self) -> None:
        self.server.requests.append((self.command, self.path, ""))
        self.send_error(403, "this test serves nothing but 127.0.0.1")

    do_POST = do_PUT = do_CONNECT

    def copyfile(self, source, outputfile) -> None:
        data = source.read()
        outputfile.write(data)
        self.server.shipped += len(data)


@pytest.fixture(scope="module")
def server(built):
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(SiteAndProxy, directory=str(built)))
    httpd.requests, httpd.shipped = [], 0
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser(server, chromium):
    address = f"http://127.0.0.1:{server.server_address[1]}"
    with playwright.sync_playwright() as p:
        # every request goes to the proxy, loopback included ("<-loopback>" undoes Chromium's exception)
        launched = p.chromium.launch(executable_path=chromium, args=QUIET,
                                     proxy={"server": address, "bypass": "<-loopback>"})
        yield launched, address
        launched.close()


def open_playground(browser, language: str, width: int = 1400):
    launched, address = browser
    context = launched.new_context(accept_downloads=True, viewport={"width": width, "height": 900})
    page = context.new_page()
    problems, asked = [], []
    page.on("pageerror", lambda error: problems.append(str(error)))
    context.on("request", lambda request: asked.append(request.url))
    page.goto(f"{address}/{language}/playground.html")
    page.wait_for_selector("#playground[data-first-result], #playground[data-failed]", timeout=WAIT_MS)
    assert page.get_attribute("#playground", "data-failed") is None, page.get_attribute("#playground", "data-failed")
    return context, page, problems, asked


def elsewhere(asked: list[str], address: str) -> list[str]:
    """The requests of the page and its worker that were not for the site's server."""
    return [url for url in asked if not url.startswith(address + "/") and not url.startswith(("blob:", "data:"))]


def shown(page) -> dict[str, str]:
    return page.eval_on_selector_all(".pg-block", "sections => Object.fromEntries(sections.map("
                                     "s => [s.dataset.block, s.querySelector('.pg-math').dataset.tex]))")


def printed(spec: Path, notation: str) -> dict[str, str]:
    """The blocks ``gated-rnn show SPEC --latex`` prints: {block: LaTeX}."""
    done = subprocess.run([sys.executable, "-m", "derive", "show", str(spec), "--latex", "--notation", notation],
                          cwd=ROOT, capture_output=True, text=True, check=True)
    return latex_blocks(done.stdout)


def type_spec(page, text: str) -> None:
    editor = page.locator("#pg-editor")
    editor.fill("")
    editor.press_sequentially(text)


@pytest.fixture(scope="module")
def english(browser):
    context, page, problems, asked = open_playground(browser, "en")
    yield page, problems
    context.close()
    assert elsewhere(asked, browser[1]) == []


def test_a_new_cell_derives_to_what_show_prints(english, tmp_path):
    page, problems = english
    spec = tmp_path / "twogate.toml"
    spec.write_text(NEW_CELL, encoding="utf-8")
    for notation in ("spec", "olah"):
        page.select_option("#pg-notation", notation)
        type_spec(page, NEW_CELL)
        expected = printed(spec, notation)
        page.wait_for_function("expected => document.querySelector('[data-block=gradients] .pg-math').dataset.tex "
                               "=== expected", arg=expected["gradients"], timeout=WAIT_MS)
        assert shown(page) == expected
        assert page.text_content("#pg-title") == "A cell with a reset gate and a keep gate"
        assert page.locator("#pg-output mjx-container").count() == len(expected)  # every block typeset
        assert page.locator("#pg-output mjx-merror").count() == 0
        assert page.locator("#pg-diagram svg text").count() > 0 and "keep gate" in page.text_content("#pg-legend")
    assert problems == []


def test_a_broken_spec_shows_the_engine_message(english):
    page, _ = english
    with pytest.raises(specfile.SpecError) as raised:
        specfile.loads(BROKEN)
    type_spec(page, BROKEN)
    page.wait_for_selector("#pg-error:not([hidden])", timeout=WAIT_MS)
    assert page.text_content("#pg-error") == str(raised.value)
    assert "unknown reference 'z_prev'" in str(raised.value)
    assert "Traceback" not in page.content()
    type_spec(page, NEW_CELL)
    page.wait_for_selector("#pg-error", state="hidden", timeout=WAIT_MS)


def test_choosing_a_cell_keeps_the_reader_s_own_text(english):
    page, _ = english
    type_spec(page, NEW_CELL)
    assert page.input_value("#pg-cell") == "" and page.text_content("#pg-own") == "your spec"
    page.select_option("#pg-cell", "gru")
    assert page.input_value("#pg-editor").startswith('name = "gru"')
    page.select_option("#pg-cell", "")
    assert page.input_value("#pg-editor") == NEW_CELL


def test_the_download_is_the_spec(english):
    page, _ = english
    type_spec(page, NEW_CELL)
    with page.expect_download() as download:
        page.click("#pg-download")
    assert download.value.suggested_filename == "twogate.toml"
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert text == NEW_CELL and specfile.loads(text).name == "twogate"


def test_the_page_fits_a_phone(browser):
    """At 400 px the page does not scroll sideways: wide equations and the diagram scroll in their own boxes."""
    context, page, problems, asked = open_playground(browser, "en", width=400)
    try:
        assert page.evaluate("document.documentElement.scrollWidth") <= 400
        boxes = page.eval_on_selector_all("#pg-output .pg-math, #pg-diagram", "boxes => boxes.map(b => "
                                          "[b.getBoundingClientRect().right, getComputedStyle(b).overflowX])")
        assert all(right <= 400 and overflow == "auto" for right, overflow in boxes), boxes
        assert problems == [] and elsewhere(asked, browser[1]) == []
    finally:
        context.close()


def test_every_menu_entry_derives_in_chinese(browser):
    context, page, problems, asked = open_playground(browser, "zh_CN")
    try:
        assert "遗忘门" in page.text_content("#pg-legend") and "推导用时" in page.text_content("#pg-status")
        for name in page.eval_on_selector_all("#pg-cell option[value]:not([value=''])",
                                              "options => options.map(o => o.value)"):
            before = page.get_attribute("#playground", "data-shown")
            page.select_option("#pg-cell", name)
            page.wait_for_function(f"document.querySelector('#playground').dataset.shown !== '{before}'",
                                   timeout=WAIT_MS)
            assert page.is_hidden("#pg-error"), (name, page.text_content("#pg-error"))
            assert page.input_value("#pg-editor").startswith(f'name = "{name}"')
        assert problems == [] and elsewhere(asked, browser[1]) == []
    finally:
        context.close()


def test_only_the_playground_loads_the_runtime(built):
    pages = [p for p in (built / "en").rglob("*.html") if p.name != "playground.html"]
    assert pages and all("playground.js" not in p.read_text(encoding="utf-8") for p in pages)
    assert "playground.js" in (built / "en" / "playground.html").read_text(encoding="utf-8")


def test_the_runtime_comes_from_the_site(browser, server, built):
    """A first visit fetches every file of the runtime from the site; prints what it took (pytest -s)."""
    server.requests.clear()
    server.shipped = 0
    context, page, problems, asked = open_playground(browser, "en")
    first = int(page.get_attribute("#playground", "data-first-result"))
    context.close()
    runtime = json.loads((built / "_playground" / "manifest.json").read_text(encoding="utf-8"))
    wanted = {f"{browser[1]}/_playground/{name}" for name in runtime["files"]}
    assert wanted <= set(asked)  # the worker's requests (Pyodide, the zips) are seen, and they came from here
    assert wanted <= {f"http://{host}{path}" for _, host, path in server.requests}
    assert elsewhere(asked, browser[1]) == [] and problems == []
    print(f"\nplayground: first result {first / 1000:.1f} s after opening the page; {server.shipped / 1e6:.1f} MB "
          f"served ({runtime['bytes'] / 1e6:.1f} MB of runtime) in {len(asked)} requests")
