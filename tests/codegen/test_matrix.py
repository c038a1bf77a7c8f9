"""Matrix models (issue 11): MatrixSymbols in wrt/params/data, one compiled kernel for every size.

Each objective is compiled once per session (module fixtures); sizes vary freely across calls of
the same kernels.  Oracles: NumPy references (logistic loss, softmax regression, backprop of a
one-hidden-layer tanh network), finite differences, and codegen's scalar path at a small size.
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit

import codegen
from codegen import ArgumentError, CodegenError
from derive.ml import softplus

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

d, K, H, D = sp.symbols("d K H D", integer=True, positive=True)
LAM = 1e-3


def _logistic_parts():
    w, x = sp.MatrixSymbol("w", d, 1), sp.MatrixSymbol("x", d, 1)
    y, lam = sp.symbols("y lam")
    z = (w.T * x)[0, 0]
    return softplus(z) - y * z + lam / 2 * (w.T * w)[0, 0], w, x, y, lam


@pytest.fixture(scope="module")
def logistic():
    """The issue's example, as written there."""
    f, w, x, y, lam = _logistic_parts()
    return codegen.compile(f, [w], params=[lam], data=[x, y])


@pytest.fixture(scope="module")
def logistic_py():
    """The same module run as plain Python (jit=False): checks the printed source cheaply."""
    f, w, x, y, lam = _logistic_parts()
    return codegen.compile(f, [w], params=[lam], data=[x, y], jit=False)


def _softmax_expr(k):
    W = sp.MatrixSymbol("W", K, d)
    x, t = sp.MatrixSymbol("x", d, 1), sp.MatrixSymbol("t", K, 1)
    return sp.log(sp.Sum(sp.exp((W * x)[k, 0]), (k, 0, K - 1))) - (t.T * W * x)[0, 0], W, x, t


@pytest.fixture(scope="module")
def softmax():
    k = sp.Symbol("k", integer=True)
    f, W, x, t = _softmax_expr(k)
    return codegen.compile(f, [W], data=[x, t], reduce="mean")


def _mlp_expr():
    W1, W2 = sp.MatrixSymbol("W1", H, D), sp.MatrixSymbol("W2", K, H)
    x, t = sp.MatrixSymbol("x", D, 1), sp.MatrixSymbol("t", K, 1)
    k, j = sp.symbols("k j", integer=True)
    zk = sp.Sum(W2[k, j] * sp.tanh((W1 * x)[j, 0]), (j, 0, H - 1))
    f = sp.log(sp.Sum(sp.exp(zk), (k, 0, K - 1))) - sp.Sum(t[k, 0] * zk, (k, 0, K - 1))
    return f, [W1, W2], [x, t]


@pytest.fixture(scope="module")
def mlp():
    f, wrt, data = _mlp_expr()
    return codegen.compile(f, wrt, data=data, reduce="mean")


@pytest.fixture(scope="module")
def mlp_py():
    f, wrt, data = _mlp_expr()
    return codegen.compile(f, wrt, data=data, reduce="mean", jit=False)


# -- NumPy references ---------------------------------------------------------------------------

def logistic_ref(w, X, Y, lam=LAM):
    z = X @ w
    s = expit(z)
    N = len(Y)
    v = np.sum(np.logaddexp(0.0, z) - Y * z) + N * lam / 2 * (w @ w)
    g = X.T @ (s - Y) + N * lam * w
    Hm = X.T @ (X * (s * (1 - s))[:, None]) + N * lam * np.eye(len(w))
    return v, g, Hm


def softmax_ref(W, X, T):
    Z = X @ W.T
    m = Z.max(axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(Z - m).sum(axis=1))
    P = np.exp(Z - lse[:, None])
    N = len(X)
    return np.mean(lse - (T * Z).sum(axis=1)), ((P - T).T @ X / N).ravel()


def mlp_ref(W1, W2, X, T):
    """Batched backprop of the mean cross-entropy of softmax(W2 tanh(W1 x))."""
    A = np.tanh(X @ W1.T)
    Z = A @ W2.T
    m = Z.max(axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(Z - m).sum(axis=1))
    P = np.exp(Z - lse[:, None])
    N = len(X)
    dZ = (P - T) / N
    g2 = dZ.T @ A
    g1 = ((1 - A**2) * (dZ @ W2)).T @ X
    return np.mean(lse - (T * Z).sum(axis=1)), np.concatenate([g1.ravel(), g2.ravel()])


def _data(N, dd, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, dd))
    Y = (rng.random(N) > 0.5) * 1.0
    return X, Y, rng.normal(size=dd) * 0.3, rng


def _onehot(rng, N, kk):
    return np.eye(kk)[rng.integers(0, kk, N)]


# -- the logistic example: one compiled object, two sizes ----------------------------------------

@pytest.mark.parametrize("N, dd", [(40, 3), (300, 25)])
def test_logistic_two_sizes_one_kernel(logistic, N, dd):
    X, Y, w0, rng = _data(N, dd)
    p = np.array([LAM])
    v, g = logistic.value_and_grad(w0, p, X, Y)
    vr, gr, Hr = logistic_ref(w0, X, Y)
    assert v == pytest.approx(vr, rel=1e-12)
    np.testing.assert_allclose(g, gr, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(logistic.hess(w0, p, X, Y), Hr, rtol=1e-10, atol=1e-12)
    u = rng.normal(size=dd)
    np.testing.assert_allclose(logistic.hessp(w0, u, p, X, Y), Hr @ u, rtol=1e-10, atol=1e-10)
    # finite differences of the compiled value
    e = 1e-6
    fd = [(logistic.value_and_grad(w0 + e * ei, p, X, Y)[0]
           - logistic.value_and_grad(w0 - e * ei, p, X, Y)[0]) / (2 * e) for ei in np.eye(dd)]
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-6)
    assert logistic.n is None and logistic.n_for(logistic.pack_args(p, X, Y)) == dd


def test_logistic_matches_the_scalar_path_at_a_small_size(logistic_py):
    dd = 3
    ws, xs = sp.symbols(f"w0:{dd}"), sp.symbols(f"x0:{dd}")
    y, lam = sp.symbols("y lam")
    z = sum(a * b for a, b in zip(ws, xs))
    scalar = codegen.compile(softplus(z) - y * z + lam / 2 * sum(a**2 for a in ws), list(ws),
                             params=[lam], data=[list(xs), y], jit=False)
    X, Y, w0, _ = _data(7, dd, seed=3)
    p = [0.5]
    assert logistic_py.value(w0, p, X, Y) == pytest.approx(scalar.value(w0, p, X, Y), rel=1e-13)
    np.testing.assert_allclose(logistic_py.grad(w0, p, X, Y), scalar.grad(w0, p, X, Y),
                               rtol=1e-12)
    np.testing.assert_allclose(logistic_py.hess(w0, p, X, Y), scalar.hess(w0, p, X, Y),
                               rtol=1e-12)
    S = logistic_py.hess_sparse(w0, p, X, Y)
    np.testing.assert_allclose(S.toarray(), scalar.hess(w0, p, X, Y), rtol=1e-12)


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 60), st.integers(1, 20), st.integers(0, 2**31 - 1))
def test_logistic_random_shapes(logistic, N, dd, seed):
    X, Y, w0, _ = _data(N, dd, seed)
    v, g = logistic.value_and_grad(w0, np.array([LAM]), X, Y)
    vr, gr, _ = logistic_ref(w0, X, Y)
    assert v == pytest.approx(vr, rel=1e-11, abs=1e-11)
    np.testing.assert_allclose(g, gr, rtol=1e-9, atol=1e-11)


def test_rows_subset_equals_sliced_data(logistic):
    X, Y, w0, _ = _data(50, 4, seed=5)
    rows = np.array([3, 7, 8, 20, 49])
    p = np.array([LAM])
    a = logistic.value_and_grad(w0, p, X, Y, rows=rows)
    b = logistic.value_and_grad(w0, p, X[rows], Y[rows])
    assert a[0] == pytest.approx(b[0], rel=1e-13)
    np.testing.assert_allclose(a[1], b[1], rtol=1e-12)


# -- softmax regression and the network -----------------------------------------------------------

@pytest.mark.parametrize("N, dd, kk", [(20, 3, 2), (150, 16, 5)])
def test_softmax_regression(softmax, N, dd, kk):
    X, _, _, rng = _data(N, dd, seed=N)
    T = _onehot(rng, N, kk)
    W = rng.normal(size=(kk, dd))
    v, g = softmax.value_and_grad(W.ravel(), X, T)
    vr, gr = softmax_ref(W, X, T)
    assert v == pytest.approx(vr, rel=1e-12)
    np.testing.assert_allclose(g, gr, rtol=1e-10, atol=1e-13)


def test_softmax_is_finite_at_large_logits(softmax):
    X, _, _, rng = _data(30, 4, seed=1)
    T = _onehot(rng, 30, 3)
    W = rng.normal(size=(3, 4)) * 500  # logits in the thousands: exp overflows
    v, g = softmax.value_and_grad(W.ravel(), X, T)
    vr, gr = softmax_ref(W, X, T)
    assert np.isfinite(v) and np.all(np.isfinite(g))
    assert v == pytest.approx(vr, rel=1e-12)
    np.testing.assert_allclose(g, gr, rtol=1e-9, atol=1e-9)


@settings(max_examples=10, deadline=None)
@given(st.integers(1, 30), st.integers(1, 9), st.integers(1, 7), st.integers(1, 5),
       st.integers(0, 2**31 - 1))
def test_mlp_matches_backprop(mlp, N, dd, hh, kk, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, dd))
    T = _onehot(rng, N, kk)
    W1, W2 = rng.normal(size=(hh, dd)), rng.normal(size=(kk, hh))
    v, g = mlp.value_and_grad(np.concatenate([W1.ravel(), W2.ravel()]), X, T)
    vr, gr = mlp_ref(W1, W2, X, T)
    assert v == pytest.approx(vr, rel=1e-11)
    np.testing.assert_allclose(g, gr, rtol=1e-9, atol=1e-12)


def test_mlp_hessian_and_hessp(mlp_py):
    rng = np.random.default_rng(2)
    N, dd, hh, kk = 6, 3, 2, 3
    X, T = rng.normal(size=(N, dd)), _onehot(rng, N, kk)
    x0 = rng.normal(size=hh * dd + kk * hh)
    u = rng.normal(size=x0.size)
    hp = mlp_py.hessp(x0, u, X, T)
    e = 1e-6
    fd = (mlp_py.grad(x0 + e * u, X, T) - mlp_py.grad(x0 - e * u, X, T)) / (2 * e)
    np.testing.assert_allclose(hp, fd, rtol=1e-6, atol=1e-8)
    Hm = mlp_py.hess(x0, X, T)
    np.testing.assert_allclose(Hm, Hm.T, atol=1e-14)
    np.testing.assert_allclose(Hm @ u, hp, rtol=1e-10, atol=1e-12)


def test_mlp_kernel_costs_no_more_than_backprop(mlp):
    """The gradient wrt W1 is x_b times a per-hidden-unit factor: no H*D*K loop nest."""
    src = mlp.source
    body = src[src.index("def _acc_vg("):src.index("return out", src.index("def _acc_vg("))]
    depth = max(len(line) - len(line.lstrip()) for line in body.splitlines()
                if line.strip().startswith("for "))
    assert depth <= 12  # row loop + at most two nested loops inside it


# -- penalty, reduce, sizes and errors --------------------------------------------------------------

def test_penalty_and_mean():
    f, w, x, y, lam = _logistic_parts()
    f = softplus((w.T * x)[0, 0]) - y * (w.T * x)[0, 0]
    obj = codegen.compile(f, [w], params=[lam], data=[x, y], reduce="mean",
                          penalty=lam / 2 * (w.T * w)[0, 0], jit=False)
    X, Y, w0, rng = _data(25, 4, seed=9)
    p = np.array([0.3])
    vr, gr, Hr = logistic_ref(w0, X, Y, lam=0.0)
    N = len(Y)
    assert obj.value(w0, p, X, Y) == pytest.approx(vr / N + 0.15 * w0 @ w0, rel=1e-12)
    np.testing.assert_allclose(obj.grad(w0, p, X, Y), gr / N + 0.3 * w0, rtol=1e-11)
    u = rng.normal(size=4)
    np.testing.assert_allclose(obj.hessp(w0, u, p, X, Y), (Hr / N + 0.3 * np.eye(4)) @ u,
                               rtol=1e-11)


def test_params_matrix_flattened():
    w = sp.MatrixSymbol("w", d, 1)
    A = sp.MatrixSymbol("A", d, d)
    obj = codegen.compile((w.T * A * w)[0, 0], [w], params=[A], jit=False)
    rng = np.random.default_rng(4)
    Am, w0 = rng.normal(size=(3, 3)), rng.normal(size=3)
    assert obj.value(w0, Am.ravel()) == pytest.approx(w0 @ Am @ w0, rel=1e-12)
    np.testing.assert_allclose(obj.grad(w0, Am.ravel()), (Am + Am.T) @ w0, rtol=1e-12)
    np.testing.assert_allclose(obj.hess(w0, Am.ravel()), Am + Am.T, rtol=1e-12)


def test_size_that_cannot_be_inferred_is_named():
    m, n = sp.symbols("m n", integer=True, positive=True)
    a, b = sp.MatrixSymbol("a", m, 1), sp.MatrixSymbol("b", n, 1)
    with pytest.raises(CodegenError, match=r"the size m cannot be inferred"):
        codegen.compile((a.T * a)[0, 0] + (b.T * b)[0, 0], [a, b])
    S = sp.MatrixSymbol("S", m, m)
    with pytest.raises(CodegenError, match=r"size m can only be inferred from len\(x\)"):
        codegen.compile(S[0, 0]**2, [S])


def test_call_time_size_errors_name_the_symbol(logistic, softmax):
    X, Y, w0, rng = _data(10, 3)
    with pytest.raises(ArgumentError, match=r"x has length 4.*d = 3"):
        logistic.value_and_grad(np.zeros(4), np.array([LAM]), X, Y)
    with pytest.raises(ArgumentError, match=r"data\[0\].*2-D"):
        logistic.value_and_grad(w0, np.array([LAM]), X[:, 0], Y)
    T = _onehot(rng, 10, 4)
    with pytest.raises(ArgumentError, match=r"K\*d = 12"):
        softmax.value_and_grad(np.zeros(9), X, T)
    with pytest.raises(ArgumentError, match=r"9 rows but data\[0\] has 10"):
        softmax.value_and_grad(np.zeros(12), X, T[:9])
    with pytest.raises(ArgumentError, match=r"finite"):
        Xn = X.copy()
        Xn[2, 1] = np.nan
        logistic.value_and_grad(w0, np.array([LAM]), Xn, Y)


def test_raw_kernels_refuse_inconsistent_shapes(logistic):
    X, Y, w0, _ = _data(10, 3)
    kargs = logistic.pack_args(np.array([LAM]), X, Y)
    with pytest.raises(ValueError, match="do not agree"):
        logistic.jit.value_and_grad(np.zeros(5), *kargs)


def test_export_runs_standalone(logistic_py, tmp_path):
    import importlib.util
    path = tmp_path / "logistic_kernels.py"
    codegen.export(logistic_py, path)
    spec = importlib.util.spec_from_file_location("logistic_kernels", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    X, Y, w0, _ = _data(12, 3)
    kargs = logistic_py.pack_args(np.array([LAM]), X, Y)
    v, g = mod.value_and_grad(w0, *kargs)
    assert v == pytest.approx(logistic_ref(w0, X, Y)[0], rel=1e-12)


def test_warm_start_loads_module_and_machine_code(logistic):
    X, Y, w0, _ = _data(10, 3)
    logistic.value_and_grad(w0, np.array([LAM]), X, Y)  # compiled (or loaded) in this process
    script = (
        "import json, sys, numpy as np, sympy as sp, codegen\n"
        "sys.path.insert(0, 'tests/codegen')\n"
        "from test_matrix import _logistic_parts\n"
        "f, w, x, y, lam = _logistic_parts()\n"
        "obj = codegen.compile(f, [w], params=[lam], data=[x, y])\n"
        "X = np.ones((4, 2)); v, g = obj.value_and_grad(np.zeros(2), np.array([0.0]), X, np.ones(4))\n"
        "hits = sum(obj.jit.value_and_grad.stats.cache_hits.values())\n"
        "print(json.dumps({'cached': obj.timings.cached, 'hits': hits, 'v': v,\n"
        "    'derived': 'codegen.matrix_symbolic' in sys.modules}))\n")
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                         text=True, timeout=300, env=dict(os.environ))
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["cached"] and not got["derived"] and got["hits"] >= 1
    assert got["v"] == pytest.approx(4 * np.log(2.0))


def test_timings_and_warmup(logistic):
    t = logistic.warmup(kernels=["value_and_grad"])
    assert "value_and_grad" in logistic._warm and t.total >= 0
    with pytest.raises(CodegenError, match="no kernel 'nope'"):
        logistic.warmup(kernels=["nope"])


def test_parallel_row_driver_matches_the_serial_kernel(logistic, monkeypatch):
    """Above PARALLEL_WORK rows x variables, Python calls go through codegen.rowdriver (one
    parallel driver per argument layout, shared by every objective): same sums, in chunks."""
    import codegen.matrix_compiled as mc
    X, Y, w0, rng = _data(9000, 3, seed=11)  # three chunks of rows
    p = np.array([LAM])
    kargs = logistic.pack_args(p, X, Y)
    serial = logistic.jit.value_and_grad(w0, *kargs)
    monkeypatch.setattr(mc, "PARALLEL_WORK", 0)
    v, g = logistic.value_and_grad(w0, p, X, Y)
    assert "vg (parallel driver)" in logistic.timings.numba
    assert v == pytest.approx(serial[0], rel=1e-12)
    np.testing.assert_allclose(g, serial[1], rtol=1e-11)
