"""L-BFGS-B (lbfgs with bounds) and the projected gradient family, against SciPy, nnls and the
KKT conditions of box QPs checked here, independently of solvers.bounds.

One compiled loop per kernel layout: every compiled objective here has the layout (p,), so the
L-BFGS-B loop compiles once; the hypothesis test runs the same loop in Python mode.
"""
import inspect
import warnings

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings, strategies as st
from scipy.optimize import minimize as scipy_minimize, nnls

import solvers
from solvers.bounds import BoundsWarning
from solvers.callables import PythonObjective


def _scipy(obj, x0, bounds, **options):
    return scipy_minimize(obj.value_and_grad, x0, jac=True, method="L-BFGS-B", bounds=bounds,
                          options=options)


@pytest.fixture(scope="module")
def quad():
    """sum (x_i - c_i)^2 with c = (2, -3, 0.5): the unconstrained minimum leaves [0, 1]^3."""
    import codegen
    x = sp.symbols("x1:4", real=True)
    c = (2, -3, sp.Rational(1, 2))
    return codegen.compile(sum((xi - ci) ** 2 for xi, ci in zip(x, c)), x)


@pytest.fixture(scope="module")
def least_squares():
    """||A x - b||^2 for a fixed random A (8 x 5), b: nnls has active bounds here."""
    import codegen
    rng = np.random.default_rng(3)
    A = rng.normal(size=(8, 5))
    b = rng.normal(size=8)
    x = sp.symbols("x1:6", real=True)
    r = [sum(sp.Float(A[i, j]) * x[j] for j in range(5)) - sp.Float(b[i]) for i in range(8)]
    return codegen.compile(sum(ri ** 2 for ri in r), x), A, b


def test_bounded_rosenbrock_matches_scipy(rosen):
    bounds = [(-2.0, 0.5), (-1.0, 2.0)]  # the unconstrained minimum (1, 1) is cut off
    r = solvers.lbfgs(rosen, [-1.2, 1.0], bounds=bounds, gtol=1e-10, ftol=0.0)
    ref = _scipy(rosen, [-1.2, 1.0], bounds, gtol=1e-10, ftol=0.0)
    assert r.success and ref.success
    assert np.allclose(r.x, ref.x, atol=1e-6) and abs(r.fun - ref.fun) <= 1e-10
    assert r.x[0] == 0.5 and r.mu_upper[0] > 0 and r.mu_lower.tolist() == [0.0, 0.0]
    assert r.kkt[0] <= 1e-10 and r.x0_projected is False
    assert r.history is None and r.nit >= 1


def test_active_bounds_multipliers_equal_the_gradient(quad):
    r = solvers.lbfgs(quad, [0.5, 0.5, 0.5], bounds=(0.0, 1.0))
    assert r.success and r.x.tolist() == [1.0, 0.0, 0.5]
    g = quad.grad(r.x)  # (-2, 6, 0): the bounds hold it, the multipliers balance it
    assert np.allclose(r.mu_upper, [2.0, 0.0, 0.0]) and np.allclose(r.mu_lower, [0.0, 6.0, 0.0])
    assert np.allclose(g - r.mu_lower + r.mu_upper, 0.0, atol=1e-8)
    ref = _scipy(quad, [0.5, 0.5, 0.5], [(0, 1)] * 3)
    assert np.allclose(r.x, ref.x, atol=1e-6) and r.nfev <= ref.nfev


def test_nonnegative_least_squares_matches_nnls(least_squares):
    obj, A, b = least_squares
    x_ref, _ = nnls(A, b)
    assert np.any(x_ref == 0.0)  # an active bound, or the test shows nothing
    r = solvers.lbfgs(obj, np.ones(5), bounds=(0.0, None), gtol=1e-10)
    assert r.success and np.allclose(r.x, x_ref, atol=1e-6)
    active = x_ref == 0.0
    assert np.all(r.mu_lower[active] > 0) and np.all(r.mu_lower[~active] == 0)


def test_x0_outside_is_projected_warned_and_reported(quad):
    with pytest.warns(BoundsWarning, match=r"x0 is outside the bounds at 2 of 3 entries "
                                           r"\(largest move 4 at index 1\)"):
        r = solvers.lbfgs(quad, [3.0, -4.0, 0.5], bounds=(0.0, 1.0))
    assert r.success and r.x0_projected is True and "projected" in r.message
    assert r.x.tolist() == [1.0, 0.0, 0.5]


def test_infeasible_bounds_name_the_index(quad):
    with pytest.raises(ValueError, match=r"bounds\[2\]: lower bound 1.0 > upper bound 0.0"):
        solvers.lbfgs(quad, np.zeros(3), bounds=[(0, 1), (0, 1), (1.0, 0.0)])


def test_unbounded_bounds_run_plain_lbfgs(quad):
    r = solvers.lbfgs(quad, np.zeros(3), bounds=[(None, None)] * 3)
    assert r.success and np.allclose(r.x, [2.0, -3.0, 0.5]) and r.mu_lower is None


def test_default_maxiter_is_scipys():
    assert inspect.signature(solvers.lbfgs).parameters["maxiter"].default == 15000


def test_python_callable_and_finite_differences_match_compiled(quad):
    def f(x):
        return float(np.sum((x - [2.0, -3.0, 0.5]) ** 2))

    fd = solvers.lbfgs(f, [0.5, 0.5, 0.5], bounds=(0.0, 1.0))
    exact = solvers.lbfgs(PythonObjective(f, 3, jac=lambda x: 2 * (x - [2.0, -3.0, 0.5])),
                          [0.5, 0.5, 0.5], bounds=(0.0, 1.0), history=True)
    assert fd.success and exact.success
    assert np.allclose(fd.x, [1.0, 0.0, 0.5], atol=1e-6)
    assert exact.x.tolist() == [1.0, 0.0, 0.5]
    assert exact.history["grad_norm"][-1] == 0.0  # the projected gradient, not |g| = 6


def test_callback_sees_feasible_iterates_and_stops(rosen):
    seen = []

    def cb(x):
        seen.append(x.copy())
        return len(seen) == 3

    r = solvers.lbfgs(rosen, [-1.2, 1.0], bounds=[(-2.0, 0.5), (-1.0, 2.0)], callback=cb)
    assert r.status == solvers.Status.CALLBACK_STOP and r.nit == 3 and not r.success
    assert all(-2.0 <= x[0] <= 0.5 and -1.0 <= x[1] <= 2.0 for x in seen)


def test_max_function_evaluations_is_not_success(rosen):
    r = solvers.lbfgs(rosen, [-1.2, 1.0], bounds=[(-2.0, 0.5), (-1.0, 2.0)], maxfun=5)
    assert r.status == solvers.Status.MAX_FUNCTION_EVALUATIONS and not r.success
    assert r.nfev <= 5


@pytest.mark.parametrize("method, options", [("gd", {"lr": 0.1}), ("adam", {"lr": 0.05})])
def test_gradient_family_projects(quad, method, options):
    r = getattr(solvers, method)(quad, [0.5, 0.5, 0.5], bounds=(0.0, 1.0), maxiter=5000,
                                 gtol=1e-8, **options)
    assert r.success and np.allclose(r.x, [1.0, 0.0, 0.5], atol=1e-6)
    assert np.all(r.x >= 0.0) and np.all(r.x <= 1.0)
    assert np.allclose(r.mu_upper, [2.0, 0.0, 0.0], atol=1e-5) and r.kkt[0] <= 1e-8


def test_gradient_family_python_callable_with_bounds():
    obj = PythonObjective(lambda x: float(np.sum((x - 2.0) ** 2)), 2, jac=lambda x: 2 * (x - 2.0))
    with pytest.warns(BoundsWarning):
        r = solvers.gd(obj, [5.0, 0.0], lr=0.25, bounds=[(None, 1.0), (0.0, 3.0)])
    assert r.success and np.allclose(r.x, [1.0, 2.0], atol=1e-6) and r.x0_projected
    assert r.x[0] == 1.0


def _box_qp(seed, n):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(n, n))
    Q = A @ A.T + 0.1 * np.eye(n)
    c = rng.normal(size=n) * 3
    lo = rng.uniform(-1.0, 0.0, n)
    hi = lo + rng.uniform(0.0, 2.0, n)
    hi[rng.random(n) < 0.2] = np.inf
    return Q, c, lo, hi


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 8))
def test_box_qp_solution_satisfies_kkt(seed, n):
    Q, c, lo, hi = _box_qp(seed, n)
    obj = PythonObjective(lambda x: float(0.5 * x @ Q @ x + c @ x), n, jac=lambda x: Q @ x + c)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BoundsWarning)
        # gtol reachable in floating point: a function-value line search cannot see a decrease
        # below eps*|f|, i.e. a projected gradient below ~sqrt(eps*|f|*||Q||) (~1e-7 here);
        # gtol=1e-9 ended some seeds (576, n=6) at the optimum with LINE_SEARCH_FAILED.
        r = solvers.lbfgs(obj, np.zeros(n), bounds=(lo, hi), gtol=1e-6, ftol=0.0)
    assert r.success, r.message
    x = r.x
    g = Q @ x + c
    tol = 1e-6 * (1 + np.abs(g).max())
    assert np.all(x >= lo) and np.all(x <= hi)
    at_lo, at_hi = x == lo, x == hi
    interior = ~(at_lo | at_hi)
    assert np.all(np.abs(g[interior]) <= tol)
    assert np.all(g[at_lo & ~at_hi] >= -tol) and np.all(g[at_hi & ~at_lo] <= tol)
    assert np.allclose(g - r.mu_lower + r.mu_upper, 0.0, atol=tol)
