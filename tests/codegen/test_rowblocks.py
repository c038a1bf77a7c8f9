"""Data sums in row blocks: partial sums + finish == the direct call; the kernel handle a worker
loads without SymPy; the dask hook of the objective's methods."""
import os
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import sympy as sp

import codegen
from codegen.errors import ArgumentError, CodegenError

WHICH = ["value", "grad", "value_and_grad", "hess", "hessp", "hess_sparse"]


def _data(d, n=61, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    Y = (rng.uniform(size=n) < 0.4).astype(float)
    return X, Y


def _direct(obj, which, theta, C, X, Y, v, rows=None):
    if which == "hessp":
        return obj.hessp(theta, v, [C], X, Y, rows=rows)
    return getattr(obj, which)(theta, [C], X, Y, rows=rows)


def _close(a, b):
    if isinstance(a, tuple):
        assert a[0] == pytest.approx(b[0], rel=1e-12)
        np.testing.assert_allclose(a[1], b[1], rtol=1e-12, atol=1e-12)
    elif hasattr(a, "toarray"):
        np.testing.assert_allclose(a.toarray(), b.toarray(), rtol=1e-12, atol=1e-12)
    else:
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def _blocks_total(obj, which, theta, C, arrays, v, cuts):
    parts = [obj._data_partial(which, theta, [C], [a[lo:hi] for a in arrays], v=v)
             for lo, hi in zip(cuts[:-1], cuts[1:])]
    if which == "value_and_grad":
        return sum(p[0] for p in parts), sum(p[1] for p in parts)
    return sum(parts)


def _check_split(obj, theta, C, X, Y, which_all=WHICH):
    v = np.linspace(-1.0, 2.0, obj.n)
    for which in which_all:
        total = _blocks_total(obj, which, theta, C, (X, Y), v, [0, 7, 30, len(Y)])
        got = obj._finish(which, theta, [C], total, n_rows=len(Y), v=v)
        _close(got, _direct(obj, which, theta, C, X, Y, v))


def test_three_blocks_finish_to_the_direct_call_compiled(penalized, penalized_ref):
    obj = penalized[0]
    X, Y = _data(4)
    theta = np.array([0.3, -0.2, 0.5, 0.1, -0.4])
    # Numba-compiled: the kernel L-BFGS calls (the jit=False variants below cover every which)
    _check_split(obj, theta, 0.7, X, Y, ["value_and_grad"])
    # and the direct call is the oracle's objective: the penalty is in it once
    val, g, H = penalized_ref(theta, 0.7, X, Y)
    assert obj.value_and_grad(theta, [0.7], X, Y)[0] == pytest.approx(val, rel=1e-12)


@pytest.mark.parametrize("reduce", ["sum", "mean"])
@pytest.mark.parametrize("penalty", [True, False])
def test_three_blocks_finish_to_the_direct_call(penalized_variants, penalized_ref, reduce,
                                                penalty):
    obj = penalized_variants[reduce, penalty]
    X, Y = _data(2)
    theta = np.array([0.3, -0.2, 0.5])
    _check_split(obj, theta, 2.5, X, Y)
    val, g, H = penalized_ref(theta, 2.5, X, Y, reduce, penalty)
    assert obj.value(theta, [2.5], X, Y) == pytest.approx(val, rel=1e-12)
    np.testing.assert_allclose(obj.grad(theta, [2.5], X, Y), g, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(obj.hess(theta, [2.5], X, Y), H, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("reduce", ["sum", "mean"])
def test_blocks_of_a_row_sample_finish_as_rows_does(penalized_variants, reduce):
    """A sample of B of N rows: finish with n_total=N equals obj.<which>(rows=sample)."""
    obj = penalized_variants[reduce, True]
    X, Y = _data(2)
    theta = np.array([0.3, -0.2, 0.5])
    rows = np.array([2, 5, 11, 40, 41, 60])
    blocks = [rows[:2], rows[2:]]
    v = np.array([1.0, -1.0, 0.5])
    for which in ("value", "grad", "hessp"):
        total = sum(obj._data_partial(which, theta, [2.5], [X[r], Y[r]], v=v) for r in blocks)
        got = obj._finish(which, theta, [2.5], total, n_rows=len(rows), v=v, n_total=len(Y))
        _close(got, _direct(obj, which, theta, 2.5, X, Y, v, rows=rows))


def test_partial_sums_refuse_bad_input(penalized_variants):
    obj = penalized_variants["sum", True]
    X, Y = _data(2, n=5)
    theta = np.zeros(3)
    with pytest.raises(ArgumentError, match="which must be one of"):
        obj._data_partial("jacobian", theta, [1.0], [X, Y])
    with pytest.raises(ArgumentError, match="needs the vector v"):
        obj._data_partial("hessp", theta, [1.0], [X, Y])
    with pytest.raises(ArgumentError, match="params"):
        obj._data_partial("value", theta, None, [X, Y])
    with pytest.raises(ArgumentError, match="n_rows"):
        obj._finish("value", theta, [1.0], 1.0, n_rows=0)
    Xn = X.copy()
    Xn[3, 1] = np.nan
    with pytest.raises(ArgumentError, match="row 3, column 1"):
        obj._data_partial("value", theta, [1.0], [Xn, Y])
    a = sp.Symbol("a")
    with pytest.raises(ArgumentError, match="compiled with data"):
        codegen.compile(a**2, [a], jit=False)._data_partial("value", [1.0], None, [])
    w, x = sp.symbols("w x")
    first = codegen.compile((w - x)**2, [w], data=[x], order=1, jit=False)
    with pytest.raises(CodegenError, match="order=1"):
        first._data_partial("hess", [1.0], None, [np.ones(3)])


_WORKER = textwrap.dedent("""
    import pickle, sys
    import numpy as np
    handle = pickle.loads(sys.stdin.buffer.read())
    blocks = handle.load()
    assert handle.load() is blocks  # loaded once per process
    X = np.linspace(-1.0, 1.0, 40).reshape(10, 4)
    Y = (np.arange(10) % 2).astype(float)
    theta = np.array([0.3, -0.2, 0.5, 0.1, -0.4])
    part = blocks.partial("value", theta, [0.7], [X, Y])
    print(repr(blocks.finish("value", theta, [0.7], part, n_rows=10)))
    print(sorted(m for m in sys.modules if m.split(".")[0] in ("sympy", "derive")))
""")


def test_kernel_handle_loads_in_a_fresh_process_without_sympy(penalized, tmp_path):
    """A worker gets the module from the source the handle carries (an empty cache dir)."""
    obj = penalized[0]
    handle = obj._kernel_spec()
    assert handle.key == obj.key and "source=<" in repr(handle)
    cache = tmp_path / "worker-cache"
    env = dict(os.environ, DERIVE_CACHE_DIR=str(cache))
    run = subprocess.run([sys.executable, "-c", _WORKER], input=pickle.dumps(handle),
                         capture_output=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr.decode()[-3000:]
    value, modules = run.stdout.decode().strip().splitlines()
    X = np.linspace(-1.0, 1.0, 40).reshape(10, 4)
    Y = (np.arange(10) % 2).astype(float)
    theta = np.array([0.3, -0.2, 0.5, 0.1, -0.4])
    assert float(value) == pytest.approx(obj.value(theta, [0.7], X, Y), rel=1e-12)
    assert modules == "[]"
    assert any(p.name.endswith(f"{obj.key}.py") for p in cache.iterdir())


class _FakeDaskArray:
    """Looks like a dask array to the hook (its type's module is dask's)."""

    __module__ = "dask.array.core"

    def __init__(self, a):
        self.a = a


def test_dask_data_is_handed_to_dask_data_evaluate(penalized_variants, monkeypatch):
    import codegen.dask_data as dd
    calls = []
    monkeypatch.setattr(dd, "evaluate", lambda *a, **kw: calls.append((a, kw)) or "handed")
    obj = penalized_variants["mean", True]
    X, Y = _data(2, n=5)
    fX = _FakeDaskArray(X)
    theta = [0.1, 0.2, 0.3]
    for which in ("value", "grad", "value_and_grad", "hess", "hess_sparse"):
        assert getattr(obj, which)(theta, [2.0], fX, Y, rows=[1, 2]) == "handed"
    assert obj.hessp(theta, [1.0, 0.0, 0.0], [2.0], X, fX) == "handed"
    (o, which, x, p, data), kw = calls[-1]
    assert o is obj and which == "hessp" and data == (X, fX) and kw["rows"] is None
    assert x.dtype == np.float64 and p.tolist() == [2.0] and kw["v"].tolist() == [1.0, 0.0, 0.0]
    assert [c[0][1] for c in calls[:5]] == ["value", "grad", "value_and_grad", "hess",
                                            "hess_sparse"]
    assert calls[0][1]["rows"] == [1, 2]


from hypothesis import given, settings, strategies as st


@settings(max_examples=25, deadline=None)
@given(cuts=st.lists(st.integers(1, 60), max_size=6, unique=True),
       reduce=st.sampled_from(["sum", "mean"]), penalty=st.booleans(),
       which=st.sampled_from(WHICH))
def test_any_split_into_blocks_finishes_to_the_direct_call(penalized_variants, cuts, reduce,
                                                          penalty, which):
    obj = penalized_variants[reduce, penalty]
    X, Y = _data(2)
    theta = np.array([-0.3, 0.8, 0.1])
    v = np.array([0.5, 1.0, -2.0])
    cuts = [0] + sorted(cuts) + [len(Y)]
    total = _blocks_total(obj, which, theta, 1.3, (X, Y), v, cuts)
    _close(obj._finish(which, theta, [1.3], total, n_rows=len(Y), v=v),
           _direct(obj, which, theta, 1.3, X, Y, v))
