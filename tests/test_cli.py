"""The command line."""

from derive.cli import main


def test_list(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "lstm" in out and "gru_cho" in out


def test_show(capsys):
    assert main(["show", "lstm"]) == 0
    out = capsys.readouterr().out
    assert "c = f * c_prev + i * g" in out and r"\delta c_{t}" in out


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
