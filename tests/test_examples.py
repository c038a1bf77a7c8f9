"""Every examples/*.py runs as a user would run it: a fresh process, exit code 0, key lines printed.

Each example is started with ``sys.executable`` and the inherited environment, so the kernel
cache directory set by the root conftest.py (DERIVE_CACHE_DIR) is shared with the rest of the
suite. Figures go to a temporary directory. The examples check their own numbers (assert-style),
so exit code 0 already means the numbers are right; the expected lines below make sure each one
still teaches what it says it does.
"""
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
TIMEOUT = 600  # seconds; a cold run compiles every kernel and solver loop, a warm one takes seconds
WORKERS = 2  # examples run concurrently in subprocesses (this suite's machines have 2 cores)
# Examples that call the same solver loops on the same argument layout run one after the other,
# so that a cold run compiles those loops once instead of twice at the same time.
CHAINS = [("softmax_digits", "mlp_digits")]

# regular expressions each example's output must contain
EXPECT = {
    "rosenbrock": [r"newton\s+\d+\s+\S+\s+\S+\s+CONVERGED", r"lbfgs\s+\d+\s+\S+\s+\S+\s+CONVERGED",
                   r"gd\s+20000 .* MAX_ITERATIONS"],
    "learning_rate": [r"too large .* DIVERGED: .*lower the learning rate",
                      r"too small .* MAX_ITERATIONS", r"measured f_k\+1/f_k over the last steps: 0\.669",
                      r"constant .*\n.*step decay"],
    "backprop": [r"dL/dW11 = dL/dz1 \* dz1/dW11", r"max \|symbolic - finite difference\| .*: \d\.\de-1\d",
                 r"compiled gradient == symbolic gradient", r"Adam, full batch .* test 9\d\.\d%"],
    "logistic_regression": [r"N = 569 rows, d = 30 features",
                            r"compiled vs NumPy .* Hessian rel \d\.\de-\d\d, \d\.\de-\d\d, \d\.\de-\d\d",
                            r"sklearn \(lbfgs\)\s+\d+\.\d+", r"newton\s+\d+\.\d+\s+\d+ .* CONVERGED",
                            r"\|f_newton - f_sklearn\| = \d\.\de-\d\d"],
    "softmax_digits": [r"compiled vs NumPy at a random point: value rel \d\.\de-\d\d, gradient rel "
                       r"\d\.\de-\d\d",
                       r"L-BFGS reaches sklearn's objective: \|rel gap\| = "
                       r"(\d\.\de-(0[89]|[1-9]\d)|0\.0e\+00)",
                       r"adam \(batches of 64\)\s+\d+\.\d+", r"sklearn \(lbfgs\)\s+\d+\.\d+"],
    "mlp_digits": [r"network 64-32-10 \(tanh, softmax\), 2410 weights",
                   r"compiled vs NumPy batched backprop .* value rel \d\.\de-\d\d, gradient rel "
                   r"\d\.\de-\d\d",
                   r"lbfgs\s+\d+\.\d+\s+\d+\.\d+\s+\d\.\de-\d\d\s+\d+\s+\S+\s+9\d\.\d%",
                   r"adam \(batches of 64\)\s+\d+\.\d+\s+\d+\.\d+\s+\d\.\de-\d\d"],
    "taylor_newton": [r"Newton step p = -H\^-1 g = \[11/445, 847/2225\]",
                      r"\|difference from a \+ p\| = 0\.0e\+00|\|difference from a \+ p\| = \d\.\de-1\d",
                      r"\s4\s.*\s32\.\d\d\s+32"],
    "lagrange": [r"lambda = -2\*c/5", r"x - 1 <= 0\s+active\s+mu = 2",
                 r"\s1\s+\(0\.6968, 0\.7173\)\s+3\.4222\s+\(0\.6968, 0\.7173\)"],
    "hessian_landscape": [r"at \(0, 0\): saddle", r"degenerate", r"1000\s+1000\s+4606\s+4606\s+\S+\s+1"],
}


def _examples():
    return sorted(p for p in EXAMPLES.glob("*.py") if not p.name.startswith("_"))


def _has_matplotlib():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _cli_args(path, outdir):
    """--outdir for our examples; an example with only --plot FILE gets a file in outdir; and
    --quick where an example has it (fewer iterations, the same checks)."""
    src = path.read_text(encoding="utf-8")
    quick = ["--quick"] if '"--quick"' in src else []
    if '"--outdir"' in src:
        return ["--outdir", str(outdir)] + quick
    if '"--plot"' in src:
        return ["--plot", str(outdir / f"{path.stem}.png")] + quick
    return quick


def _run(argv, cwd):
    env = dict(os.environ)
    # examples import the packages from the checkout even without `pip install -e .`
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in [env.get("PYTHONPATH")] if p])
    env.setdefault("MPLBACKEND", "Agg")
    return subprocess.run([sys.executable, *argv], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=TIMEOUT)


def _needs_sklearn(path):
    return "sklearn" in path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def example_runs(tmp_path_factory):
    """Every example run once, two at a time (the examples are mostly single-threaded)."""
    try:
        import sklearn  # noqa: F401
        have_sklearn = True
    except ImportError:
        have_sklearn = False
    jobs = {}
    for path in _examples():
        if _needs_sklearn(path) and not have_sklearn:
            continue
        jobs[path.stem] = (path, tmp_path_factory.mktemp(path.stem))
    def run_chain(names):
        return {name: (_run([str(jobs[name][0]), *_cli_args(*jobs[name])], jobs[name][1]),
                       jobs[name][1]) for name in names}

    chained = {name for chain in CHAINS for name in chain}
    tasks = [[n for n in chain if n in jobs] for chain in CHAINS]
    tasks += [[name] for name in jobs if name not in chained]
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        futures = [pool.submit(run_chain, names) for names in tasks if names]
        return {name: out for fut in futures for name, out in fut.result().items()}


@pytest.mark.parametrize("path", _examples(), ids=lambda p: p.stem)
def test_example_runs(path, example_runs):
    if _needs_sklearn(path):
        pytest.importorskip("sklearn", reason=f"{path.name} needs scikit-learn")
    proc, tmp_path = example_runs[path.stem]
    assert proc.returncode == 0, (
        f"{path.name} exited with {proc.returncode}\n--- stdout ---\n{proc.stdout[-3000:]}"
        f"\n--- stderr ---\n{proc.stderr[-3000:]}")
    for pattern in EXPECT.get(path.stem, []):
        assert re.search(pattern, proc.stdout), f"{path.name}: no line matching {pattern!r}\n{proc.stdout}"
    if path.stem in EXPECT and _has_matplotlib():
        assert (tmp_path / f"{path.stem}.png").is_file(), f"{path.name} saved no {path.stem}.png"


def test_examples_are_all_checked():
    """A new example must come with its expected output lines (svm_dual belongs to the SVM work)."""
    missing = {p.stem for p in _examples()} - set(EXPECT) - {"svm_dual"}
    assert not missing, f"add expected output lines to EXPECT for {sorted(missing)}"


def test_example_without_matplotlib(tmp_path):
    """Plots are optional: without matplotlib an example says so in one line and still succeeds."""
    path = EXAMPLES / "hessian_landscape.py"
    code = ("import sys, runpy; sys.modules['matplotlib'] = None; "  # None makes the import fail
            f"sys.path.insert(0, {str(EXAMPLES)!r}); "  # as `python examples/x.py` sets sys.path[0]
            f"sys.argv = [{str(path)!r}, '--outdir', {str(tmp_path)!r}]; "
            f"runpy.run_path({str(path)!r}, run_name='__main__')")
    proc = _run(["-c", code], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "matplotlib is not installed: skipping the plots" in proc.stdout
    assert not list(tmp_path.glob("*.png"))


def test_no_plot_flag(tmp_path):
    proc = _run([str(EXAMPLES / "taylor_newton.py"), "--no-plot", "--outdir", str(tmp_path)],
                cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "saved" not in proc.stdout and not list(tmp_path.glob("*.png"))
