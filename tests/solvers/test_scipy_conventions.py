"""A SciPy user's calls work: Python callables, SciPy's method and option names, OptimizeResult."""
import numpy as np
import pytest
import scipy.optimize as so

import solvers
from solvers import OptionError, Status

X0 = np.array([1.3, 0.7, 0.8, 1.9, 1.2])  # SciPy's tutorial start


def _scipy(method, **kw):
    return so.minimize(so.rosen, X0, method=method, **kw)


@pytest.mark.parametrize("method,scipy_kw", [
    ("L-BFGS-B", dict(jac=so.rosen_der)),
    ("BFGS", dict(jac=so.rosen_der)),
    ("Newton-CG", dict(jac=so.rosen_der, hessp=so.rosen_hess_prod)),
    ("trust-ncg", dict(jac=so.rosen_der, hess=so.rosen_hess)),
    ("trust-exact", dict(jac=so.rosen_der, hess=so.rosen_hess)),
])
def test_first_call_of_a_scipy_user_matches_scipy(method, scipy_kw):
    r = solvers.minimize(so.rosen, X0, method=method, **scipy_kw)
    ref = _scipy(method, **scipy_kw)
    assert r.success and ref.success
    # the same minimum, at least as accurately as SciPy (whose Newton-CG stops at xtol 1e-5)
    assert np.abs(r.x - 1).max() <= max(np.abs(ref.x - 1).max(), 1e-5)
    assert r.fun == pytest.approx(so.rosen(r.x)) and r.fun <= max(ref.fun, 1e-10)
    np.testing.assert_allclose(r.jac, so.rosen_der(r.x))
    assert 0 < r.nfev <= 4 * ref.nfev and r.njev == r.ngev > 0


def test_jac_true_means_fun_returns_value_and_gradient():
    calls = []

    def fg(x):
        calls.append(1)
        return so.rosen(x), so.rosen_der(x)
    r = solvers.minimize(fg, X0, jac=True, method="l-bfgs-b")
    assert r.success and np.allclose(r.x, 1.0, atol=1e-4) and r.nfev == len(calls)


def test_without_jac_two_point_finite_differences_count_every_evaluation():
    calls = []

    def f(x):
        calls.append(1)
        return so.rosen(x)
    for method in ("BFGS", "L-BFGS-B"):
        calls.clear()
        # SciPy's BFGS gtol 1e-5: forward differences (error ~1e-7 here) cannot reach our 1e-6
        r = solvers.minimize(f, X0, method=method, tol=1e-5)
        ref = so.minimize(so.rosen, X0, method=method)
        assert r.success and ref.success and np.allclose(r.x, ref.x, atol=1e-3)
        assert r.nfev == len(calls) == (X0.size + 1) * r.njev
        assert r.nfev <= 2 * ref.nfev
    with pytest.raises(OptionError, match="eps"):
        solvers.minimize(f, X0, method="bfgs", options={"eps": -1.0})


def test_args_are_passed_as_scipy_passes_them():
    def f(x, a, b):
        return float(np.sum((x - a)**2) * b)

    def g(x, a, b):
        return 2 * b * (x - a)
    r = solvers.minimize(f, np.zeros(3), args=(np.array([1.0, 2.0, 3.0]), 2.0), jac=g,
                         method="BFGS")
    assert r.success and np.allclose(r.x, [1.0, 2.0, 3.0])


def test_result_reads_like_optimize_result():
    r = solvers.minimize(so.rosen, X0, jac=so.rosen_der, method="BFGS")
    assert r["x"] is r.x and r["jac"] is r.grad and r["njev"] == r.ngev
    for key in ("x", "fun", "jac", "nit", "nfev", "njev", "status", "success", "message",
                "hess_inv", "grad", "nhev", "method"):
        assert key in r.keys() and key in r
    assert dict(r)["fun"] == r.fun and r.get("nope", 7) == 7
    with pytest.raises(KeyError):
        r["nope"]
    # BFGS's inverse-Hessian approximation, as SciPy's: symmetric positive definite, and at the
    # minimum close to the inverse of the exact Hessian along the directions it has seen
    H = r.hess_inv
    assert H.shape == (5, 5) and np.allclose(H, H.T)
    assert np.all(np.linalg.eigvalsh(H) > 0)
    rl = solvers.minimize(so.rosen, X0, jac=so.rosen_der)
    assert "hess_inv" not in rl.keys()  # L-BFGS keeps no dense inverse


def test_scipy_option_names():
    r1 = solvers.minimize(so.rosen, X0, jac=so.rosen_der, method="L-BFGS-B",
                          options={"maxcor": 1, "maxls": 5, "gtol": 1e-7, "ftol": 0.0})
    assert r1.success and np.allclose(r1.x, 1.0, atol=1e-5)
    r10 = solvers.minimize(so.rosen, X0, jac=so.rosen_der, method="L-BFGS-B",
                           options={"gtol": 1e-7})
    assert r1.nit != r10.nit  # maxcor reached the memory size
    with pytest.raises(OptionError, match="maxcor.*m|m.*maxcor"):
        solvers.minimize(so.rosen, X0, jac=so.rosen_der, options={"maxcor": 3, "m": 4})


def test_maxfun_is_honoured_and_reported(rosen):
    calls = []

    def f(x):
        calls.append(1)
        return so.rosen(x)
    for maxfun in (1, 7, 20):
        r = solvers.minimize(f, X0, jac=so.rosen_der, options={"maxfun": maxfun})
        assert r.status is Status.MAX_FUNCTION_EVALUATIONS and not r.success
        assert r.nfev <= maxfun and r.nfev == len(calls)
        calls.clear()
    r = solvers.minimize(rosen, [-1.2, 1.0], options={"maxfun": 15})  # compiled loop too
    assert r.status is Status.MAX_FUNCTION_EVALUATIONS and r.nfev <= 15 and not r.success
    r = solvers.minimize(rosen, [-1.2, 1.0], options={"maxfun": 10**6})
    assert r.success


def test_disp_prints_progress(capsys):
    r = solvers.minimize(so.rosen, X0, jac=so.rosen_der, options={"disp": True})
    lines = capsys.readouterr().out.strip().splitlines()
    assert r.success and len(lines) == r.nit + 1


def test_callback_intermediate_result_and_stop_iteration(rosen):
    seen = []

    def callback(intermediate_result):
        seen.append(intermediate_result)
        if len(seen) == 3:
            raise StopIteration
    r = solvers.minimize(so.rosen, X0, jac=so.rosen_der, method="BFGS", callback=callback)
    assert r.status is Status.CALLBACK_STOP and not r.success and r.nit == 3 == len(seen)
    assert seen[-1].fun == pytest.approx(so.rosen(seen[-1].x)) and np.array_equal(seen[-1].x, r.x)
    assert seen[-1]["x"] is seen[-1].x
    xs = []
    r = solvers.minimize(rosen, [-1.2, 1.0], callback=lambda xk: xs.append(xk))  # callback(xk)
    assert r.success and len(xs) == r.nit and isinstance(xs[0], np.ndarray)
    r = solvers.minimize(rosen, [-1.2, 1.0], callback=lambda xk: True)  # ours: True stops
    assert r.status is Status.CALLBACK_STOP and r.nit == 1


def test_hessians_from_python():
    with pytest.raises(OptionError, match="hess"):
        solvers.minimize(so.rosen, X0, jac=so.rosen_der, method="newton")
    r = solvers.minimize(so.rosen, X0, jac=so.rosen_der, hess=so.rosen_hess, method="newton-tr")
    assert r.success and np.allclose(r.x, 1.0, atol=1e-6)


def test_method_names_and_clear_errors(rosen):
    for name in ("L-BFGS-B", "l-bfgs-b", "BFGS", "bfgs", "Newton-CG", "TRUST-NCG"):
        assert solvers.minimize(rosen, [-1.2, 1.0], method=name, maxiter=2).nit == 2
    with pytest.raises(ValueError, match=r"Nelder-Mead.*scipy.*lbfgs"):
        solvers.minimize(rosen, [-1.2, 1.0], method="Nelder-Mead")
    # SciPy's bounds= form runs L-BFGS-B; the oracle is SciPy's own L-BFGS-B
    box = [(1.1, 2)] + [(0, 2)] * 4  # x0 inside; the optimum on the bound x[0] = 1.1
    ours = solvers.minimize(so.rosen, X0, jac=so.rosen_der, bounds=box, method="L-BFGS-B")
    ref = so.minimize(so.rosen, X0, jac=so.rosen_der, bounds=box, method="L-BFGS-B")
    assert ours.success and abs(ours.fun - ref.fun) <= 1e-8 * max(1.0, abs(ref.fun))
    np.testing.assert_allclose(ours.x, ref.x, atol=1e-4)
    with pytest.raises(ValueError, match="fun"):  # a SciPy constraint dict without its fun
        solvers.minimize(so.rosen, X0, jac=so.rosen_der, constraints=[{"type": "eq"}])
    with pytest.raises(OptionError, match="jac"):
        solvers.minimize(rosen, [-1.2, 1.0], jac=True)  # compiled objectives bring their own


def test_bad_python_callable_results_are_named():
    with pytest.raises(ValueError, match="scalar"):
        solvers.minimize(lambda x: x, X0, jac=so.rosen_der)
    with pytest.raises(ValueError, match=r"jac returned shape \(2,\)"):
        solvers.minimize(so.rosen, X0, jac=lambda x: np.zeros(2))
    with pytest.raises(ValueError, match="complex"):
        solvers.minimize(lambda x: complex(so.rosen(x)), X0, jac=so.rosen_der)
    with pytest.raises(TypeError, match="jac"):
        solvers.minimize(so.rosen, X0, jac=5)
    with pytest.raises(ValueError, match="'cs'.*2-point"):
        solvers.minimize(so.rosen, X0, jac="cs")
    r = solvers.minimize(so.rosen, X0, jac="2-point", method="BFGS", tol=1e-5)  # as jac=None
    assert r.success and r.nfev == (X0.size + 1) * r.njev


@pytest.mark.parametrize("method", ["Newton-CG", "trust-ncg"])
def test_newton_cg_with_hess_succeeds_at_a_local_minimum(method):
    # From this start Rosenbrock in 4-D ends at its local minimum f = 3.70...; there the
    # trust region used to shrink on rounding noise and report TRUST_REGION_COLLAPSED.
    x0 = np.array([-1.2, 1.0, 0.5, 2.0])
    ours = solvers.minimize(so.rosen, x0, jac=so.rosen_der, hess=so.rosen_hess, method=method)
    ref = so.minimize(so.rosen, x0, jac=so.rosen_der, hess=so.rosen_hess, method="Newton-CG")
    assert ours.success, ours.message
    assert ours.fun == pytest.approx(ref.fun, rel=1e-9)
    assert np.abs(ours.jac).max() < 1e-6
