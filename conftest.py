"""Suite-wide setup (tests and doctests): one kernel cache shared by every test in the run.

Compiled kernels are keyed by content, so sharing one cache directory across the
session means each distinct objective is compiled by Numba once per run. Tests of
the cache itself use their own temporary directories.
"""
import os
import tempfile

if "DERIVE_CACHE_DIR" not in os.environ:
    os.environ["DERIVE_CACHE_DIR"] = os.path.join(tempfile.gettempdir(), "derive-toolkit-test-cache")

# Under pytest-xdist (README's test command runs two workers) the tests that compile the bounded
# and constrained solver loops (L-BFGS-B, TRON, the augmented Lagrangian: up to minutes of Numba
# each) run on one worker, so each loop is compiled once and loaded from the cache after, instead
# of being compiled by both workers at the same time.
_LOOP_GROUP = {
    "tests/solvers/test_hs_problems.py", "tests/solvers/test_constrained.py",
    "tests/solvers/test_lbfgsb.py", "tests/solvers/test_bounds.py", "tests/solvers/test_tron.py",
    "tests/solvers/test_result_plot.py", "tests/solvers/test_solvers_warmup.py",
    "tests/test_readme.py",
    "solvers/auglag.py", "solvers/lbfgsb.py", "solvers/tron.py", "solvers/lbfgs.py",
    "solvers/warmup.py", "solvers/minimize.py",
}


def pytest_configure(config):
    config.addinivalue_line("markers", "xdist_group(name): run these tests on one xdist worker")


def pytest_collection_modifyitems(config, items):
    import pytest
    root = str(config.rootpath)
    for item in items:
        if os.path.relpath(str(item.fspath), root).replace(os.sep, "/") in _LOOP_GROUP:
            item.add_marker(pytest.mark.xdist_group("solver-loops"))
