"""The augmented Lagrangian (solvers.auglag) against independent oracles: derive.kkt's exact
KKT points and multipliers, SciPy's SLSQP and trust-constr, our SMO on an SVM dual.

Every compiled problem here has the same kernel layout (no data), so the compiled outer loop is
built once per session; the Python path (SciPy's constraint dicts) runs uncompiled.
"""
import numpy as np
import pytest
import scipy.optimize as so
import sympy as sp

import derive
import solvers
from solvers import ConstraintError, Status

x, y, z = sp.symbols("x y z", real=True)


def _kkt_point(f, wrt, eq=(), ineq=(), near=None):
    """derive.kkt's exact KKT point nearest ``near``, as float arrays (x, lam, mu)."""
    points = derive.kkt(f, wrt, eq=list(eq), ineq=list(ineq)).solve()
    best = min(points, key=lambda p: np.linalg.norm(
        np.array([float(p.x[s]) for s in wrt]) - near))
    L = derive.lagrangian(f, wrt, eq=list(eq), ineq=list(ineq))
    lam = np.array([float(best.lam[s]) for s in L.lam])
    mu = np.array([float(best.mu[s]) for s in L.mu])
    return np.array([float(best.x[s]) for s in wrt]), lam, mu


# (objective, wrt, eq, ineq, x0): small problems with unique KKT points near the minimiser
KKT_PROBLEMS = {
    "circle-eq": (x + y, [x, y], [x**2 + y**2 - 2], [], [-0.5, -1.5]),
    "one-of-three-active": ((x - 2)**2 + (y - 2)**2, [x, y], [], [x + y - 2, x - y - 1, -x], [0.0, 0.0]),
    "eq-and-ineq": (x**2 + 2*y**2 + z**2, [x, y, z], [x + y + z - 3], [1 - x, y - 0.5],
                    [0.0, 0.0, 0.0]),
    "inactive-ineq": ((x - 1)**2 + (y + 1)**2, [x, y], [x - 2*y - 1], [x**2 + y**2 - 4],
                      [0.5, 0.5]),
}


@pytest.mark.parametrize("name", sorted(KKT_PROBLEMS))
def test_multipliers_equal_derive_kkt(name):
    f, wrt, eq, ineq, x0 = KKT_PROBLEMS[name]
    r = solvers.minimize(f, x0, wrt=wrt, eq=eq, ineq=ineq)
    assert r.method == "auglag" and r.success, r
    xs, lam, mu = _kkt_point(f, wrt, eq, ineq, near=r.x)
    np.testing.assert_allclose(r.x, xs, atol=1e-6)
    np.testing.assert_allclose(r.lam, lam, atol=1e-5)
    np.testing.assert_allclose(r.mu, mu, atol=1e-5)
    assert np.all(r.mu >= 0) and r.kkt.max() <= 1e-5
    assert r.mu_lower is None and r.x0_projected is None  # no bounds given


def test_bound_multipliers_equal_derive_kkt_of_the_bounds_as_inequalities():
    f = (x - 3)**2 + (y + 1)**2 + x*y
    r = solvers.minimize(f, [0.5, 0.5], wrt=[x, y], ineq=[x + y - 1], bounds=[(None, 2.0), (0, None)])
    assert r.success, r
    # derive.kkt with the bounds written as inequalities x - 2 <= 0, -y <= 0
    xs, _, mu = _kkt_point(f, [x, y], ineq=[x + y - 1, x - 2, -y], near=r.x)
    np.testing.assert_allclose(r.x, xs, atol=1e-6)
    np.testing.assert_allclose(r.mu, mu[:1], atol=1e-5)
    np.testing.assert_allclose(r.mu_upper, [mu[1], 0.0], atol=1e-5)
    np.testing.assert_allclose(r.mu_lower, [0.0, mu[2]], atol=1e-5)
    # the sign convention: grad f + J'mu - mu_lower + mu_upper = 0
    g = np.array([2 * (r.x[0] - 3) + r.x[1], 2 * (r.x[1] + 1) + r.x[0]])
    np.testing.assert_allclose(g + r.mu[0] * np.ones(2) - r.mu_lower + r.mu_upper, 0, atol=1e-5)


def _hs071():
    x1, x2, x3, x4 = sp.symbols("x1:5", real=True)
    wrt = [x1, x2, x3, x4]
    return (x1 * x4 * (x1 + x2 + x3) + x3, wrt, [x1**2 + x2**2 + x3**2 + x4**2 - 40],
            [25 - x1 * x2 * x3 * x4], [(1, 5)] * 4, [1.0, 5.0, 5.0, 1.0])


def _disk_rosenbrock():
    return ((1 - x)**2 + 100 * (y - x**2)**2, [x, y], [], [x**2 + y**2 - 1], None, [0.0, 0.0])


def _scipy_oracle(f, wrt, eq, ineq, bounds, x0, method):
    import codegen
    obj = codegen.compile(f, wrt)
    cons = [{"type": t, "fun": (lambda v, F=F: F.value(v)), "jac": (lambda v, F=F: F.jacobian(v))}
            for t, F in [("eq", codegen.compile_vector(eq, wrt)) if eq else (None, None),
                         ("ineq", codegen.compile_vector([-h for h in ineq], wrt))
                         if ineq else (None, None)] if t]
    kw = {"constraints": cons, "bounds": bounds, "jac": obj.grad}
    if method == "trust-constr":
        kw["hess"] = obj.hess
        kw["options"] = {"gtol": 1e-10, "xtol": 1e-12}
    else:
        kw["options"] = {"ftol": 1e-12, "maxiter": 500}
    return so.minimize(obj.value, x0, method=method, **kw)


@pytest.mark.parametrize("problem", [_hs071, _disk_rosenbrock])
@pytest.mark.parametrize("method", ["SLSQP", "trust-constr"])
def test_against_scipy(problem, method):
    f, wrt, eq, ineq, bounds, x0 = problem()
    ref = _scipy_oracle(f, wrt, eq, ineq, bounds, x0, method)
    assert ref.success
    r = solvers.minimize(f, x0, wrt=wrt, eq=eq, ineq=ineq, bounds=bounds)
    assert r.success, r
    assert r.fun <= ref.fun + 1e-6 * max(1.0, abs(ref.fun))
    np.testing.assert_allclose(r.x, ref.x, atol=2e-4)
    assert r.kkt.feasibility <= 1e-8
    if method == "trust-constr" and eq:  # SciPy's v: grad f + J'v = 0 for its constraints
        np.testing.assert_allclose(r.lam, ref.v[0], rtol=1e-4)


def test_hs071_published_optimum():
    f, wrt, eq, ineq, bounds, x0 = _hs071()
    r = solvers.minimize(f, x0, wrt=wrt, eq=eq, ineq=ineq, bounds=bounds)
    assert r.success and abs(r.fun - 17.0140172891) < 1e-6, r


def test_svm_dual_matches_smo():
    from codegen.kernels import standard_kernel
    from solvers.smo import smo_solve
    rng = np.random.default_rng(0)
    n = 16
    X = np.vstack([rng.normal(-1.0, 1.0, (n // 2, 2)), rng.normal(1.0, 1.0, (n // 2, 2))])
    Y = np.repeat([-1.0, 1.0], n // 2)
    C = 1.0
    ref = smo_solve(X, Y, standard_kernel("linear"), np.zeros(2), C=C, tol=1e-10)
    # the linear-kernel dual, generically: 1/2 |sum a_i y_i x_i|^2 - sum a_i, y'a = 0, 0 <= a <= C
    a = sp.symbols(f"a0:{n}", real=True)
    zs = sp.symbols(f"z0:{2 * n}", real=True)  # z = y_i x_i, passed as params
    ys = sp.symbols(f"y0:{n}", real=True)
    w = [sum(a[i] * zs[2 * i + k] for i in range(n)) for k in range(2)]
    f = (w[0]**2 + w[1]**2) / 2 - sum(a)
    import codegen
    obj = codegen.compile(f, list(a), params=list(zs) + list(ys), order=1)  # no Hessian needed
    p = np.concatenate([(Y[:, None] * X).ravel(), Y])
    r = solvers.minimize(obj, np.zeros(n), args=(p,), eq=[sum(ys[i] * a[i] for i in range(n))],
                         bounds=(0.0, C))
    assert r.success, r
    # SMO reports the dual's maximum e'a - a'Qa/2; we minimised its negative
    assert abs(r.fun + ref.obj) <= 1e-7 * max(1.0, abs(ref.obj))
    w_ours, w_smo = (r.x * Y) @ X, (ref.alpha * Y) @ X
    np.testing.assert_allclose(w_ours, w_smo, atol=1e-5)
    # the equality's multiplier is the bias (with free support vectors: y_i - w.x_i)
    free = (ref.alpha > 1e-6) & (ref.alpha < C - 1e-6)
    assert free.any()
    np.testing.assert_allclose(r.lam[0], np.mean(Y[free] - X[free] @ w_smo), atol=1e-5)
    assert np.all(r.mu_lower >= 0) and np.all(r.mu_upper >= 0)


def test_inconsistent_problem_is_infeasible_never_success():
    r = solvers.minimize(x**2 + y**2, [3.0, 0.0], wrt=[x, y], ineq=[x + 1, 1 - x])
    assert not r.success and r.status == Status.INFEASIBLE
    assert "smallest constraint violation found is 1.000e+00" in r.message
    assert r.kkt.feasibility == pytest.approx(1.0, abs=1e-6)


def test_infeasible_equalities_against_bounds():
    r = solvers.minimize(x**2, [0.5, 0.5], wrt=[x, y], eq=[x + y - 5], bounds=[(0, 1), (0, 1)])
    assert not r.success and r.status == Status.INFEASIBLE
    assert "3.000e+00" in r.message


def test_constraint_symbol_outside_wrt_is_named():
    with pytest.raises(ConstraintError, match=r"ineq\[1\].*'z'.*wrt=\[x, y\]"):
        solvers.minimize(x**2 + y**2, [0.0, 0.0], wrt=[x, y], ineq=[x - 1, z - x])


def test_bad_input_errors():
    with pytest.raises(ValueError, match="bfgs.*eq/ineq constraints.*auglag"):
        solvers.minimize(x**2 + y**2, [0.0, 0.0], wrt=[x, y], eq=[x - 1], method="bfgs")
    with pytest.raises(solvers.OptionError, match="bfgs.*no bounded variant.*lbfgs"):
        solvers.minimize(x**2 + y**2, [0.0, 0.0], wrt=[x, y], bounds=[(0, 1)] * 2, method="bfgs")
    with pytest.raises(solvers.OptionError, match="auglag.*'ctol'"):
        solvers.minimize(x**2 + y**2, [0.0, 0.0], wrt=[x, y], eq=[x - 1], options={"ctol": -1})
    with pytest.raises(solvers.OptionError, match="does not take option 'bogus'"):
        solvers.minimize(x**2 + y**2, [0.0, 0.0], wrt=[x, y], eq=[x - 1],
                         options={"bogus": 1})
    with pytest.raises(ConstraintError, match=r"constraints\[0\]: 'type'"):
        solvers.minimize(lambda v: v @ v, [0.0], constraints=[{"type": ">=", "fun": len}])
    with pytest.raises(ValueError, match=r"bounds\[0\]: lower bound 2.0 > upper bound 1.0"):
        solvers.minimize(x**2 + y**2, [0.0, 0.0], wrt=[x, y], eq=[x - 1],
                         bounds=[(2, 1), (0, 1)])


def test_x0_outside_bounds_is_projected_and_said():
    with pytest.warns(solvers.bounds.BoundsWarning, match="outside the bounds"):
        r = solvers.minimize(x**2 + y**2, [5.0, 0.0], wrt=[x, y], eq=[x - y - 1],
                             bounds=[(None, 2), (None, None)])
    assert r.success and r.x0_projected and "projected" in r.message
    np.testing.assert_allclose(r.x, [0.5, -0.5], atol=1e-7)


def test_compiled_vector_function_constraints():
    import codegen
    F = codegen.compile_vector([x**2 + y**2 - 2], [x, y])
    r = solvers.minimize(x + y, [-0.5, -1.5], wrt=[x, y], eq=F)
    assert r.success and np.allclose(r.x, [-1, -1], atol=1e-6) and np.allclose(r.lam, [0.5])


def test_scipy_constraint_dicts_and_their_sign():
    # SciPy's ineq means fun >= 0: here x0 + x1 >= 1, i.e. our 1 - x0 - x1 <= 0
    cons = [{"type": "ineq", "fun": lambda v: v[0] + v[1] - 1.0,
             "jac": lambda v: np.array([[1.0, 1.0]])},
            {"type": "eq", "fun": lambda v: v[0] - 2.0 * v[1]}]  # no jac: differences
    fun = lambda v: float(v @ v)  # noqa: E731
    jac = lambda v: 2.0 * v  # noqa: E731
    r = solvers.minimize(fun, [1.0, 1.0], jac=jac, constraints=cons)
    ref = so.minimize(fun, [1.0, 1.0], jac=jac, constraints=cons, method="SLSQP")
    assert r.success, r
    np.testing.assert_allclose(r.x, ref.x, atol=1e-6)
    np.testing.assert_allclose(r.x, [2 / 3, 1 / 3], atol=1e-6)
    assert r.mu[0] > 0  # the multiplier of -fun <= 0
    g = 2 * r.x
    np.testing.assert_allclose(g + r.mu[0] * np.array([-1.0, -1.0]) + r.lam[0] * np.array([1.0, -2.0]),
                               0, atol=1e-5)


def test_history_per_outer_iteration_and_callback():
    seen = []
    r = solvers.minimize(x**2 + y**2, [0.0, 0.0], wrt=[x, y], eq=[x + y - 1], history=True,
                         callback=lambda xk: seen.append(xk.copy()))
    assert r.success and r.history_unit == "outer iteration"
    assert len(r.history["fun"]) == len(seen) + 1 >= 2
    np.testing.assert_allclose(seen[-1], r.x)


def test_unconstrained_results_have_no_constrained_fields():
    r = solvers.minimize((x - 1)**2 + y**2, [0.0, 0.0], wrt=[x, y])
    assert r.lam is None and r.mu is None and r.kkt is None and r.x0_projected is None
    assert "lam" not in r.keys() and "kkt" not in r
