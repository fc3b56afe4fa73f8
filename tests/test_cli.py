"""The command line."""

from derive.cli import main


def test_list(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "lstm" in out and "gru_cho" in out


def test_show_prints_plain_text_math_and_the_names_only_accepts(capsys):
    assert main(["show", "lstm"]) == 0
    out = capsys.readouterr().out
    assert "c = f * c_prev + i * g" in out and "δc = δh ⊙ o ⊙ (1 − tanh²(c)) + δc_next" in out
    assert "gradients (:only: d_h, d_c, d_o, d_a_o," in out and "\\" not in out


def test_show_latex(capsys):
    assert main(["show", "lstm", "--latex"]) == 0
    out = capsys.readouterr().out
    assert r"\delta c_{t}" in out and "% gradients: d_h, d_c" in out


def test_show_unknown_cell(capsys):
    assert main(["show", "nope"]) == 2
    assert "unknown cell 'nope'" in capsys.readouterr().err


def test_generate_user_spec(tmp_path, capsys):
    spec = tmp_path / "mgu.toml"
    spec.write_text('name = "mgu"\nstates = "h"\nequations = """\n'
                    "f = sigmoid(W_f @ x + U_f @ h_prev + b_f)\n"
                    "q = f * h_prev\n"
                    "n = tanh(W_n @ x + U_n @ q + b_n)\n"
                    'h = (1 - f) * h_prev + f * n\n"""\n')
    assert main(["generate", "--spec", str(spec), "--out", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "mgu.py").exists() and (tmp_path / "out" / "latex" / "mgu" / "gradients.tex").exists()
    assert main(["generate", "--spec", str(spec), "--out", str(tmp_path / "out"), "--check"]) == 0


def test_bad_spec_file(tmp_path, capsys):
    spec = tmp_path / "bad.toml"
    spec.write_text('name = "bad"\nstates = "h"\nequations = "h = relu(W @ x)"\n')
    assert main(["generate", "--spec", str(spec)]) == 2
    assert "unsupported function 'relu'" in capsys.readouterr().err


def test_out_pointing_at_a_file(tmp_path, capsys):
    target = tmp_path / "file"
    target.write_text("")
    assert main(["generate", "--out", str(target)]) == 2
    assert capsys.readouterr().err.strip() == f"error: generate: --out {target} is a file, not a folder"


def test_check_with_out_checks_that_folder(tmp_path, capsys):
    assert main(["generate", "--check", "--out", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "lstm.py (missing)" in out and str(tmp_path) in out.splitlines()[-1]
    assert main(["generate", "--out", str(tmp_path)]) == 0
    assert main(["generate", "--check", "--out", str(tmp_path)]) == 0


def test_show_into_a_pipe_that_closes_ends_quietly():
    import subprocess
    import sys

    closed = ("import os, sys; r, w = os.pipe(); os.close(r); os.dup2(w, 1); "
              "from derive.cli import main; sys.exit(main(['show', 'lstm']))")  # the reader has gone before
    done = subprocess.run([sys.executable, "-c", closed], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and done.stderr == ""
    done = subprocess.run(f"{sys.executable} -m derive show lstm | head -n 1", shell=True, capture_output=True,
                          text=True, check=False)
    assert done.stdout.startswith("LSTM") and done.stderr == ""


def test_the_site_build_says_what_to_install(monkeypatch, tmp_path):
    from derive.site import build

    monkeypatch.setattr(build, "MATHJAX_SOURCE", tmp_path / "nothing")
    assert build.missing_tools() == [
        f"MathJax is not installed in {tmp_path / 'nothing'}: run `npm ci` at the repository root (or `bash setup.sh`)"]
    assert main(["site", "--out", str(tmp_path / "html")]) == 1
