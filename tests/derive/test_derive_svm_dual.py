"""svm_dual: the derived dual checked symbolically and numerically (scipy, scikit-learn)."""
import numpy as np
import pytest
import sympy as sp
from scipy.optimize import minimize

from derive import svm_dual

X4 = np.array([[1.0, 2.0], [2.0, 3.0], [3.0, 3.0], [2.0, 1.0]])
Y4 = np.array([1, 1, -1, -1])


def test_symbolic_soft_margin_derivation():
    C = sp.Symbol("C", positive=True)
    s = svm_dual(n=3, d=2, C=C)
    a, yv, X = s.alpha, list(s.y), s.X
    expected_w = sum((a[i] * yv[i] * X.row(i).T for i in range(3)), sp.zeros(2, 1))
    assert sp.expand(s.w - expected_w) == sp.zeros(2, 1)
    assert s.constraints[0] == sp.Eq(sum(a[i] * yv[i] for i in range(3)), 0)
    assert set(s.constraints[1:]) == {sp.Ge(ai, 0) for ai in a} | {sp.Le(ai, C) for ai in a}
    # the objective is sum a - 1/2 a' (yy' * K) a with K the Gram matrix, given y_i**2 = 1
    textbook = sum(a) - sum(a[i] * a[j] * yv[i] * yv[j] * (X.row(i) * X.row(j).T)[0]
                            for i in range(3) for j in range(3)) / 2
    diff = sp.expand(s.objective - textbook).subs({v**2: 1 for v in yv})
    assert sp.expand(diff) == 0
    text = str(s)
    assert "w = sum_i alpha_i y_i x_i" in text and "alpha_i <= C" in text
    assert len(s.kkt.stationarity) == 2 + 1 + 3  # w, b, xi


def test_hard_margin_has_no_upper_bound():
    s = svm_dual(n=2, d=1)
    assert s.C is None and not s.soft
    assert all(not isinstance(c, sp.LessThan) for c in s.constraints)
    assert len(s.constraints) == 1 + 2


def _dual_max(s, C):
    n = len(s.alpha)
    f = sp.lambdify([s.alpha], -s.objective, "numpy")
    y = np.array(s.y, dtype=float).ravel()
    res = minimize(lambda v: f(v), np.full(n, 0.1), method="SLSQP",
                   bounds=[(0, C)] * n, constraints=[{"type": "eq", "fun": lambda v: v @ y}],
                   options={"ftol": 1e-12, "maxiter": 500})
    assert res.success
    return -res.fun, res.x


def _primal_min(X, y, C):
    n, d = X.shape

    def obj(v):
        w, xi = v[:d], v[d + 1:]
        return 0.5 * w @ w + C * xi.sum()

    cons = [{"type": "ineq", "fun": lambda v, i=i: y[i] * (X[i] @ v[:d] + v[d]) - 1 + v[d + 1 + i]}
            for i in range(n)]
    res = minimize(obj, np.zeros(d + 1 + n), method="SLSQP", bounds=[(None, None)] * (d + 1) + [(0, None)] * n,
                   constraints=cons, options={"ftol": 1e-12, "maxiter": 500})
    assert res.success
    return res.fun


@pytest.mark.parametrize("C", [0.1, 1.0])
def test_strong_duality_on_four_points(C):
    s = svm_dual(X4, Y4, C=C)
    dual, _ = _dual_max(s, C)
    assert dual == pytest.approx(_primal_min(X4, Y4, C), rel=1e-6, abs=1e-8)


def test_objective_is_the_lagrangian_dual_function():
    # g(alpha) = min over (w, b, xi) of L(w, b, xi, alpha, r = C - alpha), found by BFGS
    C = 1.0
    s = svm_dual(X4, Y4, C=C)
    L = s.lagrangian
    r = L.mu[4:]
    rng = np.random.default_rng(0)
    Lf = sp.lambdify([s.variables, s.alpha], L.expr.subs({ri: C - ai for ri, ai in zip(r, s.alpha)}), "numpy")
    obj = sp.lambdify([s.alpha], s.objective, "numpy")
    for _ in range(5):
        a = rng.uniform(0, C, 4)
        a[:2] *= a[2:].sum() / a[:2].sum()  # sum a_i y_i = 0 (two positives, two negatives)
        if a.max() > C:
            a /= a.max() / C
        res = minimize(lambda v: Lf(v, a), rng.normal(size=len(s.variables)), method="BFGS",
                       options={"gtol": 1e-10})
        assert res.fun == pytest.approx(obj(a), rel=1e-8, abs=1e-10)


def test_kernel_substitution():
    u = sp.symbols("u1 u2")
    v = sp.symbols("v1 v2")
    poly = sp.Lambda((u, v), (1 + u[0] * v[0] + u[1] * v[1]) ** 2)
    s = svm_dual(X4, Y4, C=1, kernel=poly)
    K = np.array(s.gram, dtype=float)
    assert np.allclose(K, (1 + X4 @ X4.T) ** 2)
    rbf = svm_dual(X4, Y4, C=1, kernel=lambda p, q: sp.exp(-(p - q).dot(p - q) / 2))
    Kr = np.array(rbf.gram, dtype=float)
    assert np.allclose(Kr, np.exp(-((X4[:, None] - X4[None]) ** 2).sum(-1) / 2))
    a = np.array([0.3, 0.2, 0.4, 0.1])
    val = float(rbf.objective.subs(dict(zip(rbf.alpha, a))))
    assert val == pytest.approx(a.sum() - 0.5 * (a * Y4) @ Kr @ (a * Y4))


def test_matches_scikit_learn_dual_optimum():
    svm = pytest.importorskip("sklearn.svm")
    C = 1.0
    clf = svm.SVC(kernel="linear", C=C, tol=1e-10).fit(X4, Y4)
    a = np.zeros(4)
    a[clf.support_] = np.abs(clf.dual_coef_.ravel())
    s = svm_dual(X4, Y4, C=C)
    ours, _ = _dual_max(s, C)
    theirs = float(s.objective.subs(dict(zip(s.alpha, a))))
    assert ours == pytest.approx(theirs, rel=1e-5)
    w = np.array(s.w.subs(dict(zip(s.alpha, a))), dtype=float).ravel()
    assert np.allclose(w, clf.coef_.ravel(), atol=1e-5)


def test_bad_input():
    with pytest.raises(ValueError, match="C must be positive"):
        svm_dual(X4, Y4, C=0)
    with pytest.raises(ValueError, match="labels"):
        svm_dual(X4, [1, 2, -1, -1])
    with pytest.raises(ValueError, match="3 labels"):
        svm_dual(X4, [1, 1, -1])
