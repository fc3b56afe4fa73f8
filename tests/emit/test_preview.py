"""The playground's engine: what it shows of a spec is what ``gated-rnn show --latex`` prints, mistakes come
back as the engine's message, and it runs without NumPy, Sphinx or matplotlib (as under Pyodide)."""

import pytest

from derive.cells import specfile
from derive.cells.catalogue import get, known
from derive.cli import main
from derive.emit import notation, preview
from derive.site import runtime_bundle
from helpers import latex_blocks

ROOT = runtime_bundle.ROOT


def shown_by_cli(capsys, spec: str, view: str) -> dict[str, str]:
    assert main(["show", spec, "--latex", "--notation", view]) == 0
    return latex_blocks(capsys.readouterr().out)


@pytest.mark.parametrize("view", sorted(notation.NOTATIONS))
def test_every_block_is_what_show_prints(capsys, view):
    spec = ROOT / "docs" / "variants" / "janet.toml"
    result = preview.render(spec.read_text(encoding="utf-8"), view)
    assert result["blocks"] == shown_by_cli(capsys, str(spec), view)
    assert list(result["blocks"]) == list(preview.BLOCKS)


@pytest.mark.parametrize("name", sorted(known()))
def test_every_known_cell_derives_with_its_diagram(name):
    result = preview.render(specfile.dumps(known()[name]))
    assert result["name"] == name and result["diagram"].startswith("<svg") and "error" not in result


def test_the_diagram_and_the_title_speak_the_page_language():
    words = {"forget gate": "遗忘门", "LSTM, as torch.nn.LSTM": "LSTM，即 torch.nn.LSTM",
             "one step of {name}, drawn from its spec": "{name} 的一步"}
    result = preview.render(specfile.dumps(get("lstm")), "spec", words)
    assert "遗忘门" in result["legend"] and result["title"] == "LSTM，即 torch.nn.LSTM"
    assert 'aria-label="lstm 的一步"' in result["diagram"]


@pytest.mark.parametrize("text, message", [
    ('name = "a', "not TOML: "),
    ('name = "a"\nstates = "h"\nequations = "h = tanh(W @ x + U @ q_prev)"',
     "node 'h': unknown reference 'q_prev': 'q' is not a declared state"),
    ('name = "a"\nstates = "h"\n', "missing equations"),
])
def test_a_mistake_is_the_engine_message_alone(text, message):
    result = preview.render(text)
    assert list(result) == ["error"] and result["error"].startswith(message)


def test_an_unknown_notation_is_named():
    assert preview.render(specfile.dumps(get("rnn")), "nope")["error"].startswith("unknown notation 'nope'")


def test_text_in_a_spec_reaches_the_page_as_text():
    hostile = '<img src=x onerror="alert(1)"></svg><script>alert(2)</script>'
    text = (f'name = "a"\ntitle = {specfile._string(hostile)}\nstates = "h"\n'
            f'equations = """\nh = tanh(W @ x + U @ h_prev)  # {hostile.replace(chr(34), chr(39))}\n"""\n')
    result = preview.render(text)
    assert result["title"] == hostile  # put into the page with textContent
    for html in (result["diagram"], result["legend"]):
        assert "<img" not in html and "<script" not in html
    assert "&lt;img src=x" in result["legend"]


def test_the_browser_path_imports_no_numpy_sphinx_or_matplotlib():
    """A fresh interpreter with those modules blocked renders every known cell (LSTM in every notation)."""
    files = runtime_bundle.engine_modules()
    stages = {path.relative_to(runtime_bundle.PACKAGE).parts[0] for path in files}
    assert runtime_bundle.PACKAGE / "emit" / "preview.py" in files
    assert stages <= {"__init__.py", "cells", "derivation", "emit"}


def test_the_blocked_interpreter_does_block():
    with pytest.raises(runtime_bundle.BundleError, match="numpy is not available in the browser"):
        runtime_bundle.engine_modules("derive.runtime.checks")
