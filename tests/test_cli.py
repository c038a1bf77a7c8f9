"""The `derive` command line: outputs checked against SymPy, errors as one line with exit code 2."""
import json
import subprocess
import sys

import numpy as np
import pytest
import sympy as sp

from derive.cli import EXIT_OK, EXIT_USAGE, main


def run_json(capsys, *argv):
    assert main([*argv, "--json"]) == EXIT_OK
    return json.loads(capsys.readouterr().out)


def test_version_and_module_entry_point():
    out = subprocess.run([sys.executable, "-m", "derive", "--version"], capture_output=True, text=True)
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
