"""Suite-wide setup (tests and doctests): one kernel cache shared by every test in the run.

Compiled kernels are keyed by content, so sharing one cache directory across the
session means each distinct objective is compiled by Numba once per run. Tests of
the cache itself use their own temporary directories.
"""
import os
import tempfile

import pytest

if "DERIVE_CACHE_DIR" not in os.environ:
    os.environ["DERIVE_CACHE_DIR"] = os.path.join(tempfile.gettempdir(), "derive-toolkit-test-cache")

# Under pytest-xdist (README's test command runs two workers) the tests that compile the bounded
# and constrained solver loops (L-BFGS-B, TRON, the augmented Lagrangian: up to minutes of Numba
# each) run on one worker, so each loop is compiled once and loaded from the cache after, instead
# of being compiled by both workers at the same time.  tests/test_examples.py runs every example
# in a module-scoped fixture: its tests share one worker too, or each worker would run them all.
_GROUP = "solver-loops"
_EXAMPLES = "tests/test_examples.py"
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
    config.pluginmanager.register(_GroupNodeIds(), "derive-xdist-group-ids")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    root = str(config.rootpath)
    for item in items:
        path = os.path.relpath(str(item.fspath), root).replace(os.sep, "/")
        if path in _LOOP_GROUP:
            item.add_marker(pytest.mark.xdist_group(_GROUP))
        elif path == _EXAMPLES:
            item.add_marker(pytest.mark.xdist_group("examples"))


class _GroupNodeIds:
    """pytest-xdist (3.8) puts the group into a worker's node ids by assigning ``item._nodeid``,
    which pytest 9.2 no longer reads (``nodeid`` is ``str(item._id)``): the groups were silently
    ignored and both workers compiled the same solver loops at once.  This does what xdist means,
    only where its own assignment did not take (a no-op when xdist and pytest agree)."""

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, config, items):
        if not getattr(config.option, "loadgroup", False):
            return
        try:
            from _pytest.nodeid import coerce_node_id
        except ImportError:  # an older pytest, where xdist's assignment works
            return
        for item in items:
            if item.get_closest_marker("xdist_group") is None or "@" in item.nodeid:
                continue
            want = f"{item.nodeid}@{item.get_closest_marker('xdist_group').args[0]}"
            new = coerce_node_id(want)
            if str(new) == want:
                item._id = new


if os.environ.get("DERIVE_TEST_TIMELINE"):  # a measurement aid: which worker ran what, when
    import time as _time

    def pytest_runtest_protocol(item, nextitem):
        item._timeline_start = _time.time()

    def pytest_runtest_teardown(item, nextitem):
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        with open(os.environ["DERIVE_TEST_TIMELINE"], "a", encoding="utf-8") as fh:
            fh.write(f"{worker}\t{item._timeline_start:.2f}\t{_time.time():.2f}\t{item.nodeid}\n")
