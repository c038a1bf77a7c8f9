"""TRON: newton / newton-tr with bounds (Lin & Moré 1999), against SciPy, nnls and exact KKT.

Compile cost: every compiled objective here has no data, so the two TRON loops (dense Hessian,
Hessian-vector products) compile once each for the session; the Rosenbrock kernels are the
shared ones of conftest, the least-squares objective is compiled once for the module. The
logistic regression runs the Python-callable path (no compile).
"""
import itertools
import warnings

import numpy as np
import pytest
import scipy.optimize as so
import sympy as sp

import codegen
import solvers
from solvers.bounds import Bounds, BoundsWarning
from solvers.callables import PythonObjective
from solvers.tron import cauchy_step, subspace_steps

METHODS = ("newton", "newton-tr")

rng = np.random.default_rng(12)
A_LS = np.round(rng.normal(size=(8, 5)), 3)
B_LS = np.round(rng.normal(size=8), 3)


@pytest.fixture(scope="module")
def lsq():
    """0.5 ||A x - b||^2 with a fixed 8x5 A: a convex quadratic (Hessian A'A)."""
    x = sp.symbols("x0:5", real=True)
    r = [sum(sp.Float(A_LS[i, j]) * x[j] for j in range(5)) - sp.Float(B_LS[i])
         for i in range(8)]
    return codegen.compile(sp.Rational(1, 2) * sum(ri**2 for ri in r), list(x))


def _lsq_f(x):
    r = A_LS @ x - B_LS
    return 0.5 * r @ r, A_LS.T @ r


def _box_qp_exact(H, c, lo, hi):
    """min c'x + x'Hx/2 on the box by enumerating every active set (3^n): the one whose
    solution is feasible with multipliers of the right sign (H positive definite: unique)."""
    n = len(c)
    for state in itertools.product((0, 1, 2), repeat=n):  # free, at lo, at hi
        x = np.where(np.array(state) == 1, lo, np.where(np.array(state) == 2, hi, 0.0))
        free = np.array(state) == 0
        if free.any():
            rhs = -c[free] - H[np.ix_(free, ~free)] @ x[~free]
            x[free] = np.linalg.solve(H[np.ix_(free, free)], rhs)
        g = H @ x + c
        if (np.all(x >= lo - 1e-12) and np.all(x <= hi + 1e-12)
                and np.all(g[np.array(state) == 1] >= -1e-12)
                and np.all(g[np.array(state) == 2] <= 1e-12)):
            return x, g
    raise AssertionError("no KKT point found")


def _check_multipliers(r, lo, hi):
    """The multipliers are the gradient on the active bounds, zero elsewhere, and the KKT
    residuals are small."""
    g = r.grad
    at_lo, at_hi = r.x == lo, r.x == hi
    assert np.allclose(r.mu_lower[at_lo], np.maximum(g[at_lo], 0.0), atol=1e-12)
    assert np.allclose(r.mu_upper[at_hi], np.maximum(-g[at_hi], 0.0), atol=1e-12)
    assert np.all(r.mu_lower[~at_lo] == 0.0) and np.all(r.mu_upper[~at_hi] == 0.0)
    assert np.all(r.mu_lower >= 0) and np.all(r.mu_upper >= 0)
    assert np.max(np.abs(g - r.mu_lower + r.mu_upper)) <= 1e-6
    assert r.kkt.feasibility == 0.0 and r.kkt.stationarity <= 1e-6


@pytest.mark.parametrize("method", METHODS)
def test_bounded_rosenbrock_matches_lbfgsb_and_trust_constr(compiled, method):
    obj = compiled["chained_rosenbrock"]  # n = 10, shared with test_problems
    n = obj.n
    # x >= 0 leaves out the second local minimum (x1 near -1) that the methods may each find
    lo, hi = np.full(n, 0.0), np.full(n, 2.0)
    hi[3], lo[7] = 0.5, 1.2  # both become active
    x0 = np.clip(np.tile([-1.2, 1.0], n // 2), lo, hi)
    r = solvers.minimize(obj, x0, method=method, bounds=(lo, hi))
    ref = so.minimize(so.rosen, x0, jac=so.rosen_der, method="L-BFGS-B", bounds=so.Bounds(lo, hi),
                      options={"ftol": 1e-15, "gtol": 1e-11, "maxiter": 10000})
    tc = so.minimize(so.rosen, x0, jac=so.rosen_der, hess=so.rosen_hess, method="trust-constr",
                     bounds=so.Bounds(lo, hi), options={"gtol": 1e-10, "xtol": 1e-14})
    # converged: projected gradient below gtol, or a Newton step predicting a decrease below
    # the rounding level of f (CONVERGED_FTOL)
    assert r.success, r
    assert r.x == pytest.approx(ref.x, abs=1e-6) and r.x == pytest.approx(tc.x, abs=1e-5)
    assert r.fun <= ref.fun + 1e-10
    assert r.x[3] == 0.5 and r.x[7] == 1.2  # exactly on the bounds
    _check_multipliers(r, lo, hi)
    assert r.mu_upper[3] > 0 and r.mu_lower[7] > 0
    assert r.nit <= 40 and r.nfev <= r.nit + 10  # Newton's few iterations, ~one f per iteration
    assert r.mu_lower.shape == (n,) and r.x0_projected is False


@pytest.mark.parametrize("method", METHODS)
def test_nonnegative_least_squares_matches_nnls(lsq, method):
    r = solvers.minimize(lsq, np.ones(5), method=method, bounds=[(0, None)] * 5)
    x_ref, _ = so.nnls(A_LS, B_LS)
    assert r.success
    assert r.x == pytest.approx(x_ref, abs=1e-9)
    assert np.sum(r.x == 0.0) >= 1  # some bound is active
    _check_multipliers(r, np.zeros(5), np.full(5, np.inf))
    assert r.nit <= 8


@pytest.mark.parametrize("method", METHODS)
def test_box_quadratic_exact_solution_and_multipliers(lsq, method):
    lo = np.array([-0.1, -0.2, 0.0, -1.0, 0.05])
    hi = np.array([0.3, 0.2, 0.1, 1.0, 0.4])
    H, c = A_LS.T @ A_LS, -A_LS.T @ B_LS
    x_star, g_star = _box_qp_exact(H, c, lo, hi)
    assert np.sum((x_star == lo) | (x_star == hi)) >= 2  # the test means active bounds
    r = solvers.minimize(lsq, np.zeros(5) + 0.05, method=method, bounds=(lo, hi))
    assert r.success and r.x == pytest.approx(x_star, abs=1e-10)
    assert r.mu_lower == pytest.approx(np.where(x_star == lo, g_star, 0.0), abs=1e-9)
    assert r.mu_upper == pytest.approx(np.where(x_star == hi, -g_star, 0.0), abs=1e-9)
    assert r.nit <= 8


def test_x0_outside_the_box_is_projected_and_said(lsq):
    with pytest.warns(BoundsWarning, match="x0 is outside the bounds at 2 of 5"):
        r = solvers.newton(lsq, [-1.0, 0.1, 0.1, 0.1, 5.0], bounds=(0.0, 1.0))
    assert r.success and r.x0_projected is True and "projected" in r.message
    x_ref = so.lsq_linear(A_LS, B_LS, bounds=(0.0, 1.0), tol=1e-14).x
    assert r.x == pytest.approx(x_ref, abs=1e-8)


def test_no_finite_bound_is_the_unconstrained_method(lsq):
    free = solvers.newton(lsq, np.ones(5))
    inf = solvers.newton(lsq, np.ones(5), bounds=[(None, None)] * 5)
    assert np.array_equal(free.x, inf.x) and inf.mu_lower is None and inf.nit == free.nit


def test_sparse_newton_with_bounds_refused(lsq):
    with pytest.raises(solvers.OptionError, match="sparse=True"):
        solvers.newton(lsq, np.ones(5), bounds=(0, 1), sparse=True)


def _logistic():
    """A bounded logistic regression on 200 rows as SciPy-style callables (fun, jac, hess,
    hessp): the Python path, no compile."""
    r = np.random.default_rng(3)
    X = np.hstack([r.normal(size=(200, 3)), np.ones((200, 1))])
    y = (X @ np.array([2.0, -3.0, 0.5, 0.3]) + r.logistic(size=200) > 0).astype(float)

    def fun(w):
        z = X @ w
        return float(np.mean(np.logaddexp(0.0, z) - y * z) + 0.5e-2 * w @ w)

    def jac(w):
        return X.T @ (1 / (1 + np.exp(-(X @ w))) - y) / len(y) + 1e-2 * w

    def hess(w):
        p = 1 / (1 + np.exp(-(X @ w)))
        return (X.T * (p * (1 - p))) @ X / len(y) + 1e-2 * np.eye(4)

    def hessp(w, v):
        p = 1 / (1 + np.exp(-(X @ w)))
        return X.T @ (p * (1 - p) * (X @ v)) / len(y) + 1e-2 * v
    return fun, jac, hess, hessp


@pytest.mark.parametrize("method", METHODS)
def test_bounded_logistic_regression_python_callables(method):
    fun, jac, hess, hessp = _logistic()
    bounds = [(-1.0, 1.0), (-1.0, 1.0), (0.0, 1.0), (None, None)]
    kw = {"hess": hess} if method == "newton" else {"hessp": hessp}
    seen = []
    r = solvers.minimize(fun, np.zeros(4), method=method, jac=jac, bounds=bounds, history=True,
                         callback=lambda intermediate_result: seen.append(
                             intermediate_result.grad_norm), **kw)
    ref = so.minimize(fun, np.zeros(4), jac=jac, method="L-BFGS-B", bounds=bounds,
                      options={"ftol": 1e-15, "gtol": 1e-12})
    tc = so.minimize(fun, np.zeros(4), jac=jac, hess=hess, method="trust-constr",
                     bounds=so.Bounds([-1, -1, 0, -np.inf], [1, 1, 1, np.inf]),
                     options={"gtol": 1e-10, "xtol": 1e-14})
    assert r.success and r.x == pytest.approx(ref.x, abs=1e-6)
    # trust-constr (an interior-point method) stays ~1e-5 inside the active bounds
    assert r.x == pytest.approx(tc.x, abs=1e-4) and r.fun <= min(ref.fun, tc.fun) + 1e-12
    assert r.x[0] == 1.0 and r.x[1] == -1.0  # both weights pinned by the box
    _check_multipliers(r, np.array([-1.0, -1.0, 0.0, -np.inf]), np.array([1.0, 1.0, 1.0, np.inf]))
    # history and callback see the projected gradient, which ends below gtol
    assert seen == pytest.approx(list(r.history["grad_norm"][1:]))
    assert r.history["grad_norm"][-1] <= 1e-8 < r.history["grad_norm"][0]
    assert r.nit <= 15 and r.nfev <= 2 * r.nit + 2  # counted by the objective


def _dense_quadratic():
    H = np.array([[4.0, 1.0, 0.0], [1.0, 3.0, -1.0], [0.0, -1.0, 2.0]])
    c = np.array([-8.0, 3.0, -1.0])
    return H, c


def test_cauchy_step_sufficient_decrease_inside_region_and_box():
    H, c = _dense_quadratic()
    lo, hi = np.zeros(3), np.full(3, 1.5)
    x = np.array([0.5, 0.5, 0.5])
    g = H @ x + c
    for delta in (1e-3, 0.3, 10.0):
        w, Hs, alpha, nprod, ok = cauchy_step(H, (), x, g, lo, hi, delta, 1.0)
        s = w - x
        assert ok and np.linalg.norm(s) <= delta * (1 + 1e-12)
        assert np.all(w >= lo) and np.all(w <= hi) and np.allclose(Hs, H @ s)
        assert np.array_equal(w, np.clip(x - alpha * g, lo, hi))  # on the projected path
        assert g @ s + 0.5 * s @ Hs <= 0.01 * (g @ s) < 0


def test_subspace_steps_decrease_the_model_and_stay_feasible():
    H, c = _dense_quadratic()
    lo, hi = np.full(3, -3.0), np.array([1.5, 3.0, 3.0])
    x = np.array([0.5, 0.5, 0.5])
    g = H @ x + c
    w, Hs, _, _, _ = cauchy_step(H, (), x, g, lo, hi, 10.0, 1.0)
    q_cauchy = g @ (w - x) + 0.5 * (w - x) @ Hs
    for op in (H, lambda x, v: H @ v):  # dense (preconditioned) and Hessian-vector products
        w2, Hs2, _, ok = subspace_steps(op, (), x, g, lo, hi, w, Hs, 10.0, 1e-10, 50, 1e-3)
        s = w2 - x
        assert ok and np.all(w2 >= lo) and np.all(w2 <= hi) and np.allclose(Hs2, H @ s)
        assert g @ s + 0.5 * s @ Hs2 < q_cauchy
        # the model's minimum over the face it ends on: no model gradient on the free variables
        free = (w2 > lo) & (w2 < hi)
        assert free.any() and np.max(np.abs((g + Hs2)[free])) <= 1e-9


def test_python_objective_counts_and_bounds_object():
    H, c = _dense_quadratic()
    obj = PythonObjective(lambda x: float(0.5 * x @ H @ x + c @ x), 3, jac=lambda x: H @ x + c,
                          hess=lambda x: H)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # x0 inside: no warning
        r = solvers.newton(obj, np.full(3, 0.5), bounds=Bounds(np.zeros(3), np.full(3, 1.5)))
    x_star, _ = _box_qp_exact(H, c, np.zeros(3), np.full(3, 1.5))
    assert r.success and r.x == pytest.approx(x_star, abs=1e-12)
    assert r.nhev == obj.nhev <= r.nit + 1 and r.nfev == obj.nfev == r.nit + 1
