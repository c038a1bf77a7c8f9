"""The `derive` command line: outputs checked against SymPy, errors as one line with exit code 2."""
import json
import subprocess
import sys

import numpy as np
import pytest
import sympy as sp

from derive import DeadlineExceeded, NotRealError, NotSmoothError
from derive_cli import main
from derive_cli.errors import EXIT_BROKEN_PIPE, EXIT_FAILED, EXIT_INTERNAL, EXIT_OK, EXIT_USAGE


def run_json(capsys, *argv):
    assert main([*argv, "--json"]) == EXIT_OK
    return json.loads(capsys.readouterr().out)


def test_version_and_module_entry_point():
    out = subprocess.run([sys.executable, "-m", "derive_cli", "--version"], capture_output=True, text=True)
    assert out.returncode == 0
    assert out.stdout.startswith("derive-toolkit ")


def test_grad_matches_sympy(capsys):
    payload = run_json(capsys, "grad", "x**2*y + sin(y)", "--wrt", "y,x")
    x, y = sp.symbols("x y")
    got = [sp.sympify(row[0]) for row in payload["result"]["gradient"]]
    f = x**2 * y + sp.sin(y)
    assert [sp.simplify(g - sp.diff(f, v)) for g, v in zip(got, (y, x))] == [0, 0]


def test_hessian_text_and_latex(capsys):
    assert main(["hessian", "x**3*y"]) == EXIT_OK
    assert "6⋅x⋅y" in capsys.readouterr().out
    assert main(["hessian", "x**3*y", "--latex"]) == EXIT_OK
    assert r"6 x y" in capsys.readouterr().out


def test_taylor_agrees_with_series(capsys):
    payload = run_json(capsys, "taylor", "exp(x)", "--at", "x=0", "--order", "4")
    x = sp.Symbol("x")
    assert sp.expand(sp.sympify(payload["result"]["taylor"]) - sp.exp(x).series(x, 0, 5).removeO()) == 0


def test_kkt_point_of_textbook_problem(capsys):
    # minimize x^2 + y^2 s.t. x + y = 1: x = y = 1/2, lambda = -1.
    payload = run_json(capsys, "kkt", "x**2 + y**2", "--eq", "x + y - 1")
    (point,) = payload["result"]["points"]
    assert point["x"] == {"x": "1/2", "y": "1/2"}
    assert list(point["lam"].values()) == ["-1"]


def test_critical_classifies_saddle_and_minimum(capsys):
    payload = run_json(capsys, "critical", "x**3 - 3*x + y**2")
    kinds = {p["point"]["x"]: p["kind"] for p in payload["result"]["critical_points"]}
    assert kinds == {"-1": "saddle", "1": "minimum"}


def test_explain_prints_chain(capsys):
    assert main(["explain", "log(1 + exp(w*x))", "--wrt", "w"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "backward" in out and "x*exp(w*x)/(exp(w*x) + 1)" in out


def test_solve_newton_rosenbrock(capsys):
    payload = run_json(capsys, "solve", "(1-x)**2 + 100*(y-x**2)**2", "--x0", "-1.2,1", "--method", "newton")
    result = payload["result"]
    assert result["success"] is True
    assert np.allclose([result["x"]["x"], result["x"]["y"]], [1.0, 1.0], atol=1e-6)


def test_solve_reports_divergence_with_exit_code_1(capsys):
    code = main(["solve", "x**2 + 10*y**2", "--x0", "1,1", "--method", "gd", "--lr", "0.5",
                 "--maxiter", "200", "--json"])
    payload = json.loads(capsys.readouterr().out)
    assert code == 1
    assert payload["result"]["success"] is False


def test_compile_writes_standalone_module(tmp_path, capsys):
    out = tmp_path / "kernels.py"
    assert main(["compile", "x**2*y + exp(y)", "--wrt", "x,y", "-o", str(out)]) == EXIT_OK
    # The exported module must run without SymPy: block its import in a fresh interpreter.
    script = (
        "import sys, importlib.util; sys.modules['sympy'] = None\n"
        f"spec = importlib.util.spec_from_file_location('k', {str(out)!r})\n"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
        "import numpy as np\n"
        "names = [n for n in dir(m) if 'grad' in n and callable(getattr(m, n))]\n"
        "print(names)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "grad" in proc.stdout


@pytest.mark.parametrize("argv, fragment", [
    (["grad", "x**"], "cannot parse"),
    (["grad", "3"], "no variables"),
    (["grad", "x*y", "--wrt", "x,x"], "twice"),
    (["taylor", "x*y", "--at", "x=1,z=2"], "z"),
    (["taylor", "x*y", "--at", "x=1"], "no value for y"),
    (["solve", "x**2 + y**2", "--x0", "1,2,3"], "--x0 has 3 values"),
    (["solve", "x**2", "--x0", "a"], "--x0 expects numbers"),
])
def test_bad_input_is_one_line_exit_2(capsys, argv, fragment):
    assert main(argv) == EXIT_USAGE
    err = capsys.readouterr().err.strip()
    assert fragment in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err


def test_svm_on_iris(capsys):
    pytest.importorskip("sklearn")
    payload = run_json(capsys, "svm", "--dataset", "iris", "--kernel", "linear")
    assert payload["result"]["test_accuracy"] > 0.9


def test_solve_plot_writes_png(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "rosen.png"
    assert main(["solve", "(1-x)**2 + 100*(y-x**2)**2", "--x0", "-1.2,1", "--method", "newton",
                 "--plot", str(out)]) == EXIT_OK
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------- issue 9
HOSTILE = "__import__('pathlib').Path({path!r}).touch()"


@pytest.mark.parametrize("template", [
    ["grad", "{f}"],
    ["hessian", "x + {f}"],
    ["jacobian", "x", "{f}"],
    ["taylor", "x**2", "--at", "x={f}"],
    ["kkt", "x**2", "--eq", "{f}"],
    ["kkt", "x**2", "--ineq", "x - 1; {f}"],
    ["critical", "{f}"],
    ["explain", "{f}"],
    ["solve", "x**2", "--x0", "{f}"],
    ["grad", "x**2", "--wrt", "{f}"],
    ["compile", "{f}", "-o", "k.py"],
])
def test_formula_text_is_never_executed(tmp_path, monkeypatch, capsys, template):
    monkeypatch.chdir(tmp_path)
    target = tmp_path / "pwned"
    f = HOSTILE.format(path=str(target))
    assert main([part.format(f=f) for part in template]) == EXIT_USAGE
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert "not allowed" in err or "not a variable name" in err
    assert not target.exists()
    assert not (tmp_path / "k.py").exists()


def test_kkt_readme_line_with_negative_constraint(capsys):
    # README: derive kkt "x**2 + y**2" --eq "x + y - 1" --ineq "-x" (argparse took "-x" for an option)
    for argv in (["--ineq", "-x"], ["--ineq=-x"]):
        payload = run_json(capsys, "kkt", "x**2 + y**2", "--eq", "x + y - 1", *argv)
        (point,) = payload["result"]["points"]
        assert point["x"] == {"x": "1/2", "y": "1/2"}
        assert list(point["mu"].values()) == ["0"]


def test_negative_looking_formulas_everywhere(capsys):
    payload = run_json(capsys, "grad", "-x**2*y", "--wrt", "x,y")
    assert payload["result"]["gradient"] == [["-2*x*y"], ["-x**2"]]
    payload = run_json(capsys, "jacobian", "-x", "-y*x", "--wrt", "x,y")
    assert payload["result"]["jacobian"] == [["-1", "0"], ["-y", "-x"]]
    payload = run_json(capsys, "taylor", "-exp(x)", "--at", "x=-1", "--order", "1")
    x = sp.Symbol("x")
    assert sp.simplify(sp.sympify(payload["result"]["taylor"]) - (-sp.exp(-1) * (x + 2))) == 0
    payload = run_json(capsys, "kkt", "-x - y", "--ineq", "-x", "--ineq", "x**2 + y**2 - 2", "--eq", "-y + x")
    assert [p["x"] for p in payload["result"]["points"]] == [{"x": "1", "y": "1"}]
    payload = run_json(capsys, "solve", "(x + 1)**2 + (y - 2)**2", "--x0", "-3,-4", "--method", "newton")
    assert np.allclose(list(payload["result"]["x"].values()), [-1.0, 2.0])
    # a value that looks like an option is still a value after an option that takes one
    payload = run_json(capsys, "taylor", "x**3", "--at", "-x=1".lstrip("-"), "--order", "1")
    assert sp.expand(sp.sympify(payload["result"]["taylor"]) - (3 * x - 2)) == 0


def test_x0_values_may_be_constant_formulas(capsys):
    payload = run_json(capsys, "solve", "(x - 1)**2", "--x0", "-pi/4", "--method", "newton")
    assert payload["result"]["x"]["x"] == pytest.approx(1.0)


@pytest.mark.parametrize("argv, fragment", [
    (["grad", "x**2 + y", "--wrt", "x y"], "'x y' is not a variable name"),
    (["grad", "x**2", "--wrt", "1"], "'1' is not a variable name"),
    (["hessian", "x**2", "--wrt", "lambda"], "'lambda' is not a variable name"),
    (["grad", "x**2", "--wrt", "x,"], None),  # a trailing comma is harmless
    (["compile", "a*x**2", "--wrt", "x", "--params", "x", "-o", "o.py"], "x is both in --wrt and in --params"),
    (["compile", "a*x**2", "--wrt", "x", "--params", "b", "-o", "o.py"], "b, which is not a variable of the formula"),
    (["solve", "x>1"], "comparison '>'"),
    (["solve", "x**2", "--x0", "x"], "--x0 expects numbers"),
    (["taylor", "x**2", "--at", "x=y"], "--at value of x"),
])
def test_bad_names_are_one_line_exit_2(tmp_path, monkeypatch, capsys, argv, fragment):
    monkeypatch.chdir(tmp_path)
    code = main(argv)
    err = capsys.readouterr().err.strip()
    if fragment is None:
        assert code == EXIT_OK and err == ""
        return
    assert code == EXIT_USAGE
    assert fragment in err
    assert len(err.splitlines()) == 1
    assert not (tmp_path / "o.py").exists()


def test_output_naming_a_directory_is_one_line_and_leaves_nothing(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    assert main(["compile", "x**2", "-o", str(out)]) == EXIT_USAGE
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "directory" in err
    assert list(out.iterdir()) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize("argv", [
    ["critical", "Abs(x)+x**2"],
    ["kkt", "Abs(x)", "--ineq", "x-1"],
])
def test_non_smooth_formulas_answer_or_say_why_in_one_line(capsys, argv):
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code in (EXIT_OK, EXIT_USAGE)
    assert len(err.splitlines()) <= 1 and "Traceback" not in err


def test_unexpected_exception_is_an_internal_error_not_bad_input(monkeypatch, capsys):
    import derive

    def broken(*args, **kwargs):
        raise TypeError("unsupported operand type(s) for +: 'NoneType' and 'int'")

    monkeypatch.setattr(derive, "gradient", broken)
    code = main(["grad", "x**2"])
    err = capsys.readouterr().err.strip()
    assert code == EXIT_INTERNAL
    assert len(err.splitlines()) == 1
    assert "internal error" in err and "TypeError: unsupported operand" in err and "report" in err
    monkeypatch.setenv("DERIVE_DEBUG", "1")
    assert main(["grad", "x**2"]) == EXIT_INTERNAL
    assert "Traceback" in capsys.readouterr().err


def test_library_input_errors_stay_exit_2(monkeypatch, capsys):
    import derive
    from derive._validate import InputError

    def refuses(*args, **kwargs):
        raise InputError("wrt[0] = 1 is not a sympy Symbol")

    monkeypatch.setattr(derive, "gradient", refuses)
    assert main(["grad", "x**2"]) == EXIT_USAGE
    assert capsys.readouterr().err.strip() == "derive grad: error: wrt[0] = 1 is not a sympy Symbol"


def test_broken_pipe_exits_quietly():
    # A 121x121 Hessian as JSON: ~190 kB, more than a pipe buffer holds, so the
    # write fails even if the child were faster than the close below.
    f = "+".join(f"x{i}*x{i + 1}" for i in range(120))
    proc = subprocess.Popen([sys.executable, "-m", "derive_cli", "hessian", f, "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader is gone before the first line is written, as with `| head -0`
    err = proc.stderr.read().decode()
    proc.wait(timeout=300)
    assert err == ""
    assert proc.returncode == EXIT_BROKEN_PIPE


# --------------------------------------------------------------------------- issue 9 leftovers
def test_critical_kink_prints_one_sided_derivatives(capsys):
    x, h = sp.symbols("x h")
    f = sp.Abs(x) + x**2
    # the oracle: one-sided difference quotients at the kink x = 0, as limits
    quotient = (f.subs(x, h) - f.subs(x, 0)) / h
    left, right = sp.limit(quotient, h, 0, "-"), sp.limit(quotient, h, 0, "+")
    assert main(["critical", "Abs(x)+x**2"]) == EXIT_OK
    out = capsys.readouterr().out
    assert f"{{x: 0}}: non-differentiable (one-sided derivatives {left} and {right})" in out
    assert "eigenvalues []" not in out
    (point,) = run_json(capsys, "critical", "Abs(x)+x**2")["result"]["critical_points"]
    assert point["kind"] == "non-differentiable" and point["point"] == {"x": "0"}
    assert [sp.sympify(v) for v in point["one_sided"]] == [left, right]
    assert point["eigenvalues"] == []


def test_critical_smooth_points_have_no_one_sided_derivatives(capsys):
    points = run_json(capsys, "critical", "x**3 - 3*x")["result"]["critical_points"]
    assert {p["point"]["x"]: (p["kind"], p["one_sided"]) for p in points} == {
        "-1": ("maximum", None), "1": ("minimum", None)}


def test_wrt_name_absent_from_formula_is_a_zero_partial_with_a_note(capsys):
    assert main(["grad", "x**2", "--wrt", "x,y", "--json"]) == EXIT_OK
    captured = capsys.readouterr()
    assert json.loads(captured.out)["result"]["gradient"] == [["2*x"], ["0"]]
    assert captured.err.strip() == "note: y does not appear in the formula; its derivative is 0"
    assert main(["hessian", "x*y", "--wrt", "x,y,z,w"]) == EXIT_OK
    err = capsys.readouterr().err.strip()
    assert err == "note: z, w do not appear in the formula; their derivatives are 0"


def _raising(exc):
    def call(*args, **kwargs):
        raise exc
    return call


def test_deadline_exceeded_is_a_failed_run_in_one_line(monkeypatch, capsys):
    import derive

    monkeypatch.setattr(derive, "critical_points", _raising(DeadlineExceeded("critical_points", 30)))
    assert main(["critical", "x**2"]) == EXIT_FAILED
    err = capsys.readouterr().err.strip()
    assert err.startswith("derive critical: critical_points did not finish within its time limit")
    assert len(err.splitlines()) == 1 and "internal error" not in err


@pytest.mark.parametrize("exc", [NotSmoothError("Abs(x) has a kink at x = 0"),
                                 NotRealError("log(x) is not real at x = -1")])
def test_smoothness_and_realness_errors_are_bad_input(monkeypatch, capsys, exc):
    import derive

    monkeypatch.setattr(derive, "taylor", _raising(exc))
    assert main(["taylor", "x**2", "--at", "x=0"]) == EXIT_USAGE
    assert capsys.readouterr().err.strip() == f"derive taylor: error: {exc}"


def test_main_returns_argparse_codes_instead_of_exiting(capsys):
    assert main(["--version"]) == EXIT_OK
    assert capsys.readouterr().out.startswith("derive-toolkit ")
    assert main(["grad"]) == EXIT_USAGE  # the formula is missing
    assert "the following arguments are required: expr" in capsys.readouterr().err
    assert main(["solve", "x**2", "--method", "simplex"]) == EXIT_USAGE
    assert "invalid choice: 'simplex'" in capsys.readouterr().err


def test_library_warnings_are_one_line(capsys, monkeypatch):
    import warnings

    def command(args):
        warnings.warn("something the user should know", RuntimeWarning)

    from derive_cli import cli

    real = cli.build_parser

    def build():
        parser = real()
        for action in parser._subparsers._group_actions:
            action.choices["grad"].set_defaults(func=command)
        return parser

    monkeypatch.setattr(cli, "build_parser", build)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        assert main(["grad", "x**2"]) == EXIT_OK
    err = capsys.readouterr().err
    assert err.startswith("derive grad: warning: something the user should know")
    assert not any(line.startswith(" ") for line in err.splitlines())  # no source line


def test_non_smooth_hessian_says_almost_everywhere_and_drops_dirac(capsys):
    assert main(["hessian", "Abs(x) + x**2"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "δ(x)" in out and "note: derivative taken almost everywhere" in out and "--dirac drop" in out
    assert main(["hessian", "Abs(x) + x**2", "--dirac", "drop"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "δ" not in out and "[2]" in out and "were dropped" in out
    payload = run_json(capsys, "hessian", "relu(x - y)", "--dirac", "drop")["result"]
    assert payload["hessian"] == [["0", "0"], ["0", "0"]]
    assert payload["note"].startswith("derivative taken almost everywhere")
    assert main(["grad", "Max(0, x)*y", "--latex"]) == EXIT_OK
    assert "% note: derivative taken almost everywhere" in capsys.readouterr().out
    # smooth formulas: no note line, and JSON's "note" is null
    assert main(["hessian", "x**3*y"]) == EXIT_OK
    assert "note" not in capsys.readouterr().out
    assert run_json(capsys, "grad", "x**2")["result"]["note"] is None
    assert main(["hessian", "x", "--dirac", "maybe"]) == EXIT_USAGE
    assert "--dirac" in capsys.readouterr().err
