"""Matrix models (MatrixSymbols of symbolic size) on dask arrays: the row-block kernels run on
each block where it lives, sizes bound from the block's own arrays; the results equal NumPy
references (independent formulas) on Dask's threaded scheduler and on the LocalCluster, an
L-BFGS fit equals the NumPy fit, the workers never import SymPy.

One jit-compiled model (the issue's logistic regression, w of size d) serves every test; its
row-block kernels are compiled in this process first (synchronous scheduler) into the kernel
cache the workers share. The Hessian mirror of two wrt blocks, (N, m, n) data and reduce="sum"
with a penalty are checked on a jit=False model (plain Python kernels: no Numba compile)
against that model's own NumPy path.
"""
import sys

import numpy as np
import pytest

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")
cloudpickle = pytest.importorskip("cloudpickle")

import solvers  # noqa: E402
from codegen import ArgumentError  # noqa: E402

cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import tests

RTOL = 1e-10
D, N, CHUNK = 5, 3000, 700  # 5 blocks of rows, the last one shorter (sizes bound per block)
LAM = np.array([0.1])
WHICH = ["value", "grad", "value_and_grad", "hess", "hessp", "hess_sparse"]


def _logistic_matrix():
    """The issue's example: mean of softplus(w.x) - y w.x plus lam/2 |w|^2 (a penalty)."""
    import sympy as sp
    import codegen
    from derive.ml import softplus
    d = sp.Symbol("d", integer=True, positive=True)
    w, x = sp.MatrixSymbol("w", d, 1), sp.MatrixSymbol("x", d, 1)
    y, lam = sp.symbols("y lam")
    z = (w.T * x)[0, 0]
    return codegen.compile(softplus(z) - y * z, [w], params=[lam], data=[x, y], reduce="mean",
                           penalty=lam / 2 * (w.T * w)[0, 0])


@pytest.fixture(scope="session")
def mobj():
    """The model, its row-block and penalty kernels compiled here (the workers' code path,
    codegen.dask_data.block_partial, on the synchronous scheduler)."""
    obj = _logistic_matrix()
    X = da.from_array(np.full((3, D), 0.5), chunks=(2, D))
    y = da.from_array(np.ones(3), chunks=2)
    x0 = np.zeros(D)
    with dask.config.set(scheduler="synchronous"):
        for which in ("value", "grad", "value_and_grad", "hess"):
            getattr(obj, which)(x0, LAM, X, y)
        obj.hessp(x0, x0, LAM, X, y)
    return obj


@pytest.fixture(scope="session")
def mdata():
    rng = np.random.default_rng(11)
    X = rng.normal(size=(N, D))
    p = 1.0 / (1.0 + np.exp(-(X @ np.linspace(-1.0, 1.0, D))))
    return X, (rng.random(N) < p).astype(float)


@pytest.fixture(scope="session")
def mddata(client, mdata):
    """The data as dask arrays persisted on the cluster's workers."""
    X, y = mdata
    Xd, yd = client.persist([da.from_array(X, chunks=(CHUNK, D)), da.from_array(y, chunks=CHUNK)])
    distributed.wait([Xd, yd], timeout=60)
    return Xd, yd


def reference(which, w, X, y, v=None, rows=None):
    """NumPy formulas of the model (the oracle; rows: a sample, repeats counted)."""
    if rows is not None:
        X, y = X[rows], y[rows]
    z = X @ w
    s = 1.0 / (1.0 + np.exp(-z))
    m = X.shape[0]
    f = np.mean(np.logaddexp(0.0, z) - y * z) + LAM[0] / 2 * w @ w
    g = X.T @ (s - y) / m + LAM[0] * w
    H = (X.T * (s * (1.0 - s))) @ X / m + LAM[0] * np.eye(w.shape[0])
    return {"value": f, "grad": g, "value_and_grad": (f, g), "hess": H,
            "hessp": None if v is None else H @ v, "hess_sparse": H}[which]


def _call(obj, which, w, args, v=None, rows=None):
    if which == "hessp":
        return obj.hessp(w, v, *args, rows=rows)
    out = getattr(obj, which)(w, *args, rows=rows)
    return out.toarray() if which == "hess_sparse" else out


def _assert_same(got, want):
    if isinstance(want, tuple):
        assert isinstance(got, tuple) and isinstance(got[0], float)
        np.testing.assert_allclose(got[0], want[0], rtol=RTOL)
        np.testing.assert_allclose(got[1], want[1], rtol=RTOL, atol=1e-14)
    else:
        assert np.shape(got) == np.shape(want)
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=1e-14)


W0 = np.array([0.3, -0.2, 0.1, 0.4, -0.5])
V = np.array([1.0, -2.0, 0.5, 3.0, 0.25])


@pytest.mark.parametrize("which", WHICH)
def test_threaded_scheduler_equals_numpy(mobj, mdata, which):
    X, y = mdata
    args = (LAM, da.from_array(X, chunks=(CHUNK, D)), da.from_array(y, chunks=CHUNK))
    with dask.config.set(scheduler="threads"):
        _assert_same(_call(mobj, which, W0, args, V), reference(which, W0, X, y, V))


def test_row_samples_across_blocks_equal_numpy(mobj, mdata):
    X, y = mdata
    args = (LAM, da.from_array(X, chunks=(CHUNK, D)), da.from_array(y, chunks=CHUNK))
    rows = np.random.default_rng(5).integers(0, N, 400)  # from every block, repeats twice
    mask = np.zeros(N, dtype=bool)
    mask[::9] = True
    with dask.config.set(scheduler="threads"):
        _assert_same(_call(mobj, "value_and_grad", W0, args, rows=rows),
                     reference("value_and_grad", W0, X, y, rows=rows))
        _assert_same(_call(mobj, "hessp", W0, args, V, rows=mask),
                     reference("hessp", W0, X, y, V, rows=mask))


@pytest.mark.parametrize("which", WHICH)
def test_cluster_equals_numpy(client, mobj, mdata, mddata, which):
    _assert_same(_call(mobj, which, W0, (LAM,) + mddata, V), reference(which, W0, *mdata, v=V))


def _sympy_loaded():
    return "sympy" in sys.modules


def test_workers_run_the_matrix_kernels_without_sympy(client, mobj, mddata):
    mobj.value_and_grad(W0, LAM, *mddata)
    assert client.run(_sympy_loaded) == {w: False for w in client.scheduler_info()["workers"]}


def test_lbfgs_on_the_cluster_equals_the_numpy_fit(client, mobj, mdata, mddata):
    """The same Python L-BFGS loop, on the NumPy formulas and on the cluster (n from the
    data shapes: the model's size d is symbolic)."""
    X, y = mdata
    want = solvers.minimize(lambda w: (reference("value", w, X, y), reference("grad", w, X, y)),
                            np.zeros(D), jac=True)
    got = solvers.minimize(mobj, np.zeros(D), args=(LAM,) + mddata)
    assert got.success and want.success, (got.message, want.message)
    assert got.nit == want.nit
    np.testing.assert_allclose(got.x, want.x, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(got.fun, want.fun, rtol=1e-10)


@pytest.mark.parametrize("method", ["newton", "newton-tr"])
def test_newton_methods_on_the_threaded_scheduler(mobj, mdata, method):
    """Dense Hessians and Hessian-vector products of the blocks, in the same Python loops
    as on the NumPy formulas."""
    X, y = mdata
    args = (LAM, da.from_array(X, chunks=(CHUNK, D)), da.from_array(y, chunks=CHUNK))
    want = solvers.minimize(lambda w: (reference("value", w, X, y), reference("grad", w, X, y)),
                            np.zeros(D), method=method, jac=True,
                            hess=lambda w: reference("hess", w, X, y),
                            hessp=lambda w, v: reference("hessp", w, X, y, v))
    with dask.config.set(scheduler="threads"):
        got = solvers.minimize(mobj, np.zeros(D), method=method, args=args)
    assert got.success and want.success, (got.message, want.message)
    assert got.nit == want.nit
    np.testing.assert_allclose(got.x, want.x, rtol=1e-8, atol=1e-12)


def test_minibatches_across_blocks_are_reproducible(mobj, mdata):
    X, y = mdata
    args = (LAM, da.from_array(X, chunks=(CHUNK, D)), da.from_array(y, chunks=CHUNK))
    opts = {"lr": 0.05, "batch_size": 500, "epochs": 1, "seed": 3}
    with dask.config.set(scheduler="threads"):
        runs = [solvers.minimize(mobj, np.zeros(D), method="adam", args=args, options=opts)
                for _ in range(2)]
    np.testing.assert_array_equal(runs[0].x, runs[1].x)
    assert reference("value", runs[0].x, X, y) < reference("value", np.zeros(D), X, y)


def test_bad_dask_data_is_refused_naming_the_problem(mobj, mdata):
    X, y = mdata
    yd = da.from_array(y, chunks=CHUNK)
    with pytest.raises(ArgumentError, match=r"data\[0\] is chunked along axis 1 too"):
        mobj.value(W0, LAM, da.from_array(X, chunks=(CHUNK, 2)), yd)
    with pytest.raises(ArgumentError, match=r"data\[1\] is a ndarray, not a dask array"):
        mobj.value(W0, LAM, da.from_array(X, chunks=(CHUNK, D)), y)
    with pytest.raises(ArgumentError, match=r"x has length 5, but the sizes \(d = 4\)"):
        mobj.value(W0, LAM, da.from_array(X[:, :4], chunks=(CHUNK, 4)), yd)
    with pytest.raises(ArgumentError, match=r"data\[0\] \(x\) must be a 2-D array of shape "
                                            r"\(N, d\)"):
        mobj.value(W0, LAM, da.from_array(X[:, 0], chunks=CHUNK), yd)


# ---- two wrt blocks, (N, m, n) data, reduce="sum": jit=False kernels (plain Python) --------


@pytest.fixture(scope="module")
def two_blocks():
    """f = softplus(u^T A v) - t u^T A v per row (A an m x n data matrix), u, v wrt, plus
    lam (|u|^2 + |v|^2); its Hessian has an off-diagonal (u, v) block to mirror."""
    import sympy as sp
    import codegen
    from derive.ml import softplus
    m, n = sp.symbols("m n", integer=True, positive=True)
    u, v = sp.MatrixSymbol("u", m, 1), sp.MatrixSymbol("v", n, 1)
    A, t, lam = sp.MatrixSymbol("A", m, n), sp.Symbol("t"), sp.Symbol("lam")
    z = (u.T * A * v)[0, 0]
    obj = codegen.compile(softplus(z) - t * z, [u, v], params=[lam], data=[A, t], reduce="sum",
                          penalty=lam * ((u.T * u)[0, 0] + (v.T * v)[0, 0]), jit=False)
    rng = np.random.default_rng(2)
    A_, t_ = rng.normal(size=(23, 2, 3)), (rng.random(23) < 0.5).astype(float)
    return obj, rng.normal(size=5), rng.normal(size=5), (LAM, A_, t_)


@pytest.mark.parametrize("which", ["value_and_grad", "hess", "hessp"])
def test_two_wrt_blocks_and_3d_data_equal_the_numpy_path(two_blocks, which):
    obj, x, v, (lam, A, t) = two_blocks
    dargs = (lam, da.from_array(A, chunks=(7, 2, 3)), da.from_array(t, chunks=7))
    rows = np.array([22, 0, 8, 8, 15])
    with dask.config.set(scheduler="threads"):
        for r in (None, rows):  # a sample of a sum: the penalty weighted 5/23
            _assert_same(_call(obj, which, x, dargs, v, rows=r),
                         _call(obj, which, x, (lam, A, t), v, rows=r))


def test_a_nan_in_3d_data_is_refused_naming_its_row_and_entry(two_blocks):
    obj, x, _, (lam, A, t) = two_blocks
    bad = A.copy()
    bad[17, 1, 2] = np.nan
    args = (lam, da.from_array(bad, chunks=(7, 2, 3)), da.from_array(t, chunks=7))
    with dask.config.set(scheduler="threads"), \
            pytest.raises(ArgumentError, match=r"data\[0\] \(A\) has nan at row 17, entry \(1, 2\)"):
        obj.value(x, *args)


def test_large_blocks_run_the_multithreaded_kernels(two_blocks, monkeypatch):
    """Above PARALLEL_WORK rows x variables a block runs the module's prange row sums
    (plain loops here: jit=False), with the same results."""
    import codegen.matrix_blocks as mb
    obj, x, v, (lam, A, t) = two_blocks
    dargs = (lam, da.from_array(A, chunks=(7, 2, 3)), da.from_array(t, chunks=7))
    want = [obj.value_and_grad(x, lam, A, t), obj.hessp(x, v, lam, A, t)]
    monkeypatch.setattr(mb, "PARALLEL_WORK", 1)
    assert mb.MatrixBlockKernels.uses_threads(1, 1)
    with dask.config.set(scheduler="threads"):
        _assert_same(obj.value_and_grad(x, *dargs), want[0])
        _assert_same(obj.hessp(x, v, *dargs), want[1])


def test_pack_args_refuses_dask_data_instead_of_gathering_it(mobj, mdata):
    X, y = mdata
    with pytest.raises(ArgumentError, match=r"data\[0\] is a dask array: pack_args .* would "
                                            "gather it"):
        mobj.pack_args(LAM, da.from_array(X, chunks=(CHUNK, D)), da.from_array(y, chunks=CHUNK))
