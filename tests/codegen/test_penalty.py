"""penalty= beside a data sum, obj_a + obj_b and c * obj: against SymPy, finite differences,
NumPy and scikit-learn; what the penalty does on a row subset; errors that name the symbol."""
import numpy as np
import pytest
import sympy as sp

import codegen
from codegen.errors import CodegenError, UnknownSymbolError


def _data(d, n=40, seed=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    Y = (rng.uniform(size=n) < 0.5).astype(float)
    return X, Y


def _sympy_value(loss, pen, wrt, data, C, theta, params, X, Y, reduce):
    """The objective evaluated by SymPy, row by row (the independent oracle)."""
    xs, y = data
    at = dict(zip(wrt, theta))
    at[C] = params[0]
    rows = [loss.subs({**at, **dict(zip(xs, X[i])), y: Y[i]}) for i in range(len(Y))]
    total = sp.Add(*rows) / (len(Y) if reduce == "mean" else 1)
    return float((total + pen.subs(at)).evalf(30))


@pytest.mark.parametrize("reduce", ["sum", "mean"])
def test_penalty_matches_sympy_and_finite_differences(penalized_variants, reduce):
    obj = penalized_variants[reduce, True]
    w = sp.symbols("w0:2")
    b, y, C = sp.symbols("b y C")
    xs = sp.symbols("x0:2")
    z = w[0] * xs[0] + w[1] * xs[1] + b
    loss2, pen2 = sp.log(1 + sp.exp(z)) - y * z, (w[0]**2 + w[1]**2) / (2 * C)
    X, Y = _data(2, n=6)
    theta = np.array([0.4, -0.7, 0.2])
    want = _sympy_value(loss2, pen2, [w[0], w[1], b], (xs, y), C, theta, [1.5], X, Y, reduce)
    assert obj.value(theta, [1.5], X, Y) == pytest.approx(want, rel=1e-13)
    h = 1e-6
    eye = np.eye(3)
    fd_g = [(obj.value(theta + h * e, [1.5], X, Y) - obj.value(theta - h * e, [1.5], X, Y))
            / (2 * h) for e in eye]
    g = obj.grad(theta, [1.5], X, Y)
    np.testing.assert_allclose(g, fd_g, rtol=1e-7, atol=1e-8)
    fd_H = np.array([(obj.grad(theta + h * e, [1.5], X, Y) - obj.grad(theta - h * e, [1.5], X, Y))
                     / (2 * h) for e in eye])
    H = obj.hess(theta, [1.5], X, Y)
    np.testing.assert_allclose(H, fd_H, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(obj.hess_sparse(theta, [1.5], X, Y).toarray(), H, rtol=1e-14)
    u = np.array([1.0, -2.0, 0.5])
    np.testing.assert_allclose(obj.hessp(theta, u, [1.5], X, Y), H @ u, rtol=1e-13, atol=1e-13)
    v, g2 = obj.value_and_grad(theta, [1.5], X, Y)
    assert v == obj.value(theta, [1.5], X, Y) and np.array_equal(g2, g)


@pytest.mark.parametrize("reduce", ["sum", "mean"])
def test_row_subsets_estimate_the_full_objective_without_bias(penalized_variants, penalized_ref,
                                                              reduce):
    """Over a partition of the rows into equal mini-batches, the batches' gradients (times N/B
    for a sum, as the solvers scale a mini-batch) average to the full gradient: the penalty is
    added once per call with reduce='mean', in the share B/N of the rows with reduce='sum'."""
    obj = penalized_variants[reduce, True]
    X, Y = _data(2, n=40)
    theta = np.array([0.4, -0.7, 0.2])
    perm = np.random.default_rng(0).permutation(40)
    batches = np.split(perm, 4)
    scale = 40 / 10 if reduce == "sum" else 1.0
    for which in ("value", "grad", "hess"):
        full = getattr(obj, which)(theta, [1.5], X, Y)
        avg = sum(scale * getattr(obj, which)(theta, [1.5], X, Y, rows=r) for r in batches) / 4
        np.testing.assert_allclose(avg, full, rtol=1e-12, atol=1e-12)
    one = np.array([7])
    v = obj.value(theta, [1.5], X, Y, rows=one)
    pen = theta[:2] @ theta[:2] / (2 * 1.5)
    loss = penalized_ref(theta, 1.5, X[one], Y[one], "sum", penalty=False)[0]
    assert v == pytest.approx(loss + (pen / 40 if reduce == "sum" else pen), rel=1e-13)


def test_penalty_refuses_data_symbols_and_unknown_symbols():
    w, x, y, lam, q = sp.symbols("w x y lam q")
    with pytest.raises(CodegenError, match="penalty uses the data symbol 'x'"):
        codegen.compile((w * x - y)**2, [w], params=[lam], data=[x, y], penalty=lam * w**2 * x)
    with pytest.raises(UnknownSymbolError, match="q"):
        codegen.compile((w * x - y)**2, [w], data=[x, y], penalty=q * w**2)
    with pytest.raises(CodegenError, match="penalty must be a scalar"):
        codegen.compile((w * x - y)**2, [w], data=[x, y], penalty=sp.Matrix([w, w]))
    # formula text reads the declared symbols
    obj = codegen.compile((w * x - y)**2, [w], params=[lam], data=[x, y], penalty="lam*w**2",
                          jit=False)
    assert obj.value([2.0], [0.5], [1.0], [1.0]) == pytest.approx(1.0 + 2.0)


def test_penalty_is_part_of_the_cache_key_and_folds_into_f_without_data():
    a, b, w, x = sp.symbols("a b w x")
    plain = codegen.compile(a**2, [a, b], penalty=b**4, jit=False)
    assert plain.key == codegen.compile(a**2 + b**4, [a, b], jit=False).key
    assert not plain.has_penalty and plain.value([1.0, 2.0]) == 17.0
    keys = {codegen.compile((w - x)**2, [w], data=[x], penalty=g, jit=False).key
            for g in (None, w**2, 2 * w**2)}
    assert len(keys) == 3


def test_objectives_add_and_scale(penalized_variants):
    w = sp.symbols("w0:2")
    b, y, C = sp.symbols("b y C")
    xs = sp.symbols("x0:2")
    z = w[0] * xs[0] + w[1] * xs[1] + b
    wrt = [w[0], w[1], b]
    loss = codegen.compile(sp.log(1 + sp.exp(z)) - y * z, wrt, params=[C], data=[xs, y],
                           jit=False)
    reg = codegen.compile((w[0]**2 + w[1]**2) / (2 * C), wrt, params=[C], jit=False)
    ref = penalized_variants["sum", True]
    both = loss + reg
    assert both.has_penalty and both.key == ref.key  # the same objective: the same kernels
    assert sum([loss, reg]).key == ref.key
    X, Y = _data(2, n=9)
    theta = np.array([0.4, -0.7, 0.2])
    f = ref.value(theta, [1.5], X, Y)
    assert (3 * both).value(theta, [1.5], X, Y) == pytest.approx(3 * f, rel=1e-13)
    assert (both * 0.5).value(theta, [1.5], X, Y) == pytest.approx(0.5 * f, rel=1e-13)
    np.testing.assert_allclose((-both).grad(theta, [1.5], X, Y), -ref.grad(theta, [1.5], X, Y),
                               rtol=1e-13)
    assert (both - reg).value(theta, [1.5], X, Y) == pytest.approx(
        loss.value(theta, [1.5], X, Y), rel=1e-13)
    assert (both / 4).value(theta, [1.5], X, Y) == pytest.approx(f / 4, rel=1e-13)
    # what solvers.adapter.Kernels needs
    assert hasattr(both, "jit") and both.pack_args([1.5], X, Y)[0].tolist() == [1.5]


def test_objectives_that_cannot_be_added_say_why(penalized_variants):
    a, b, c, x = sp.symbols("a b c x")
    p, q = sp.symbols("p q")
    fa = codegen.compile(a**2 + b, [a, b], jit=False)
    with pytest.raises(TypeError, match="different variables.*\\(a, b\\) and \\(b, a\\)"):
        fa + codegen.compile(a**2, [b, a], jit=False)
    with pytest.raises(TypeError, match="different params.*\\(p\\) and \\(q\\)"):
        codegen.compile(p * a, [a, b], params=[p], jit=False) + \
            codegen.compile(q * a, [a, b], params=[q], jit=False)
    with pytest.raises(TypeError, match="same reduce"):
        codegen.compile((a - x)**2, [a, b], data=[x], jit=False) + \
            codegen.compile((a - x)**2, [a, b], data=[x], reduce="mean", jit=False)
    with pytest.raises(TypeError, match="product of two compiled objectives"):
        fa * fa
    with pytest.raises(TypeError):
        fa * "2"
    with pytest.raises(TypeError):
        fa * float("nan")
    with pytest.raises(TypeError):
        fa + 1.0


def test_regularised_logistic_fit_equals_scikit_learn(penalized):
    """sum of log-losses + ||w||^2 / (2C), minimised by L-BFGS: LogisticRegression(C=C).

    A callback runs the L-BFGS loop in Python on the same jit kernels (obj.jit.value_and_grad,
    penalty included): the Numba loop of this argument layout would cost a cold compile here
    for nothing the solvers' own tests do not cover."""
    sklearn = pytest.importorskip("sklearn")
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression

    import solvers
    obj = penalized[0]
    data = load_breast_cancer()
    X = data.data[:, [0, 1, 7, 20]]
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    Y = data.target.astype(float)
    C = 0.5
    res = solvers.minimize(obj, np.zeros(5), method="lbfgs", args=([C], X, Y), tol=1e-9,
                           callback=lambda xk: False)
    assert res.success, res.message
    ref = LogisticRegression(C=C, tol=1e-12, max_iter=10_000).fit(X, Y)
    np.testing.assert_allclose(res.x[:4], ref.coef_[0], rtol=1e-6, atol=1e-7)
    assert res.x[4] == pytest.approx(ref.intercept_[0], rel=1e-6, abs=1e-7)
    assert sklearn.__version__


def test_penalty_with_repeated_terms_and_new_hessian_entries():
    """A fused-lasso-like smooth penalty (repeated terms: a loop over an index table) whose
    Hessian entries the data term lacks: the pattern is their union."""
    n = 6
    w = sp.symbols(f"w0:{n}")
    x, y, lam = sp.symbols("x y lam")
    pen = sum(lam * (w[i + 1] - w[i])**2 for i in range(n - 1)) + sum(wi**4 for wi in w) / 4
    obj = codegen.compile((w[0] * x + w[1] - y)**2, list(w), params=[lam], data=[x, y],
                          reduce="mean", penalty=pen, jit=False)
    X, Y = _data(1, n=7)
    X = X[:, 0]
    t = np.linspace(-0.5, 0.7, n)

    def ref(t):
        r = t[0] * X + t[1] - Y
        return np.mean(r**2) + 0.8 * np.sum(np.diff(t)**2) + np.sum(t**4) / 4

    assert obj.value(t, [0.8], X, Y) == pytest.approx(ref(t), rel=1e-13)
    h = 1e-5
    fd = np.array([(ref(t + h * e) - ref(t - h * e)) / (2 * h) for e in np.eye(n)])
    np.testing.assert_allclose(obj.grad(t, [0.8], X, Y), fd, rtol=1e-8, atol=1e-9)
    H = obj.hess(t, [0.8], X, Y)
    fdH = np.array([(obj.grad(t + h * e, [0.8], X, Y) - obj.grad(t - h * e, [0.8], X, Y)) / (2 * h)
                    for e in np.eye(n)])
    np.testing.assert_allclose(H, fdH, rtol=1e-7, atol=1e-8)
    # tridiagonal (penalty) plus the data term's (0, 1) block
    assert obj.hess_pattern.nnz == n + 2 * (n - 1)
    np.testing.assert_allclose(obj.hess_sparse(t, [0.8], X, Y).toarray(), H, rtol=1e-14)
    u = np.arange(1.0, n + 1)
    np.testing.assert_allclose(obj.hessp(t, u, [0.8], X, Y), H @ u, rtol=1e-13, atol=1e-13)
    assert "repeated-term loops: 2" in obj.source
