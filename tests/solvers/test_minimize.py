"""The front door: dispatch, options, results, and a status/message for every way a run ends."""
import numpy as np
import pytest
import sympy as sp

import codegen
import solvers
from solvers import Status

X0 = [-1.2, 1.0]


def test_every_method_is_reachable_from_minimize(rosen):
    assert set(solvers.METHODS) == {"newton", "newton-tr", "lbfgs", "bfgs", "gd", "momentum",
                                    "nesterov", "adagrad", "rmsprop", "adam", "adamw"}
    for method in ("newton", "newton-tr", "lbfgs", "bfgs"):
        r = solvers.minimize(rosen, X0, method=method)
        assert r.success and r.method == method and np.allclose(r.x, 1.0, atol=1e-6)


def test_sympy_expression_with_wrt_compiles_on_the_fly():
    x, y = sp.symbols("x y")
    r = solvers.minimize(100 * (y - x**2)**2 + (1 - x)**2, X0, wrt=[x, y])
    assert r.success and np.allclose(r.x, 1.0, atol=1e-6)


def test_params_are_passed_as_args():
    x, a = sp.symbols("x a")
    obj = codegen.compile((x - a)**2, [x], params=[a])
    r = solvers.minimize(obj, [0.0], args=(np.array([3.0]),), method="newton")
    assert r.success and r.x[0] == pytest.approx(3.0)


def test_uncompiled_objective_without_wrt_is_rejected():
    x = sp.Symbol("x")
    with pytest.raises(solvers.ObjectiveError, match="wrt"):
        solvers.minimize(x**2, [1.0])
    with pytest.raises(ValueError, match="x0 has 3 entries"):
        solvers.minimize(codegen.compile(x**2, [x]), [1.0, 2.0, 3.0])


def test_unknown_method_and_option_errors_name_the_culprit(rosen):
    with pytest.raises(ValueError, match="unknown method 'lbgfs'"):
        solvers.minimize(rosen, X0, method="lbgfs")
    with pytest.raises(TypeError, match="'lbfgs' does not take option 'lr'"):
        solvers.minimize(rosen, X0, options={"lr": 0.1})


def test_options_tol_and_maxiter(rosen):
    r = solvers.minimize(rosen, X0, method="lbfgs", tol=1e-2, options={"m": 3})
    assert r.success and np.max(np.abs(r.grad)) <= 1e-2
    r = solvers.minimize(rosen, X0, maxiter=3)
    assert r.status is Status.MAX_ITERATIONS and r.nit == 3 and not r.success
    assert "maximum number of iterations" in r.message


def test_result_fields_repr_and_history(rosen):
    r = solvers.minimize(rosen, X0, method="bfgs", history=True)
    assert len(r.history["fun"]) == r.nit + 1 and len(r.history["grad_norm"]) == r.nit + 1
    assert r.history["fun"][0] == pytest.approx(rosen.value(X0))
    assert np.all(np.diff(r.history["fun"]) <= 0)  # line searches never go uphill
    np.testing.assert_allclose(r.grad, rosen.grad(r.x))
    assert r.fun == pytest.approx(rosen.value(r.x))
    text = repr(r)
    for field in ("success: True", "CONVERGED_GTOL", "nit:", "nfev:", "message:"):
        assert field in text
    assert solvers.minimize(rosen, X0).history is None


@pytest.mark.parametrize("method", ["lbfgs", "bfgs", "newton", "newton-tr", "adam"])
def test_callback_runs_python_loop_with_identical_iterates(rosen, method):
    opts = {"lr": 0.01, "maxiter": 300} if method == "adam" else {}
    seen = []
    r_cb = solvers.minimize(rosen, X0, method=method, callback=seen.append, options=opts)
    r = solvers.minimize(rosen, X0, method=method, options=opts)
    assert len(seen) == r.nit == r_cb.nit
    # same source run as Python and as Numba: equal up to libm rounding
    np.testing.assert_allclose(r_cb.x, r.x, rtol=1e-12)
    np.testing.assert_array_equal(seen[-1], r_cb.x)


def test_callback_can_stop(rosen):
    r = solvers.minimize(rosen, X0, callback=lambda x: True)
    assert r.status is Status.CALLBACK_STOP and r.nit == 1 and not r.success


def test_ftol_and_xtol_ends(rosen):
    r = solvers.lbfgs(rosen, X0, gtol=0.0, ftol=1e-3)
    assert r.status is Status.CONVERGED_FTOL and r.success
    r = solvers.lbfgs(rosen, X0, gtol=0.0, xtol=1e-3)
    assert r.status is Status.CONVERGED_XTOL and r.success and "step" in r.message


class _WrongGradient:
    """f = x^2 with the gradient's sign flipped: no step along -g can decrease f."""

    n = 1

    def __init__(self):
        from numba import njit

        @njit(cache=False)
        def value_and_grad(x, p):
            return x[0] * x[0], -2.0 * x

        import types
        self.jit = types.SimpleNamespace(value_and_grad=value_and_grad)

    def pack_args(self, *args, rows=None):
        return (np.zeros(0),)


@pytest.mark.parametrize("method", ["lbfgs", "bfgs"])
def test_line_search_failure_is_reported_not_success(method):
    r = solvers.minimize(_WrongGradient(), [1.0], method=method)
    assert r.status is Status.LINE_SEARCH_FAILED and not r.success
    assert "line search" in r.message and r.x[0] == 1.0


@pytest.mark.parametrize("method", ["lbfgs", "bfgs"])
def test_line_search_into_nan_is_reported_non_finite(method):
    # every trial step crosses x = 1, where sqrt(1 - x) turns NaN: the run must say NaN, not
    # blame the line search (the check for it used to be dead code)
    x = sp.Symbol("x")
    obj = codegen.compile(sp.sqrt(1 - x), [x])
    for callback in (None, lambda xk: False):
        r = solvers.minimize(obj, [1 - 1e-14], method=method, callback=callback)
        assert r.status is Status.NON_FINITE and not r.success and "NaN" in r.message
        assert np.isfinite(r.fun) and r.x[0] == 1 - 1e-14


def test_rounding_floor_counts_as_converged(compiled):
    # f* = 48.98: the gradient never rounds to 0, gtol = 0 can never hold; the run stops when
    # the predicted decrease is at rounding level, not with a line-search failure
    r = solvers.lbfgs(compiled["freudenstein_roth"], [0.5, -2.0], gtol=0.0, maxiter=10000)
    assert r.status is Status.CONVERGED_FTOL and r.success
    assert abs(r.fun - 48.98425367924) < 1e-9


def test_unbounded_objective_ends_non_finite_or_not_success():
    x = sp.Symbol("x")
    obj = codegen.compile(-sp.exp(x), [x])
    r = solvers.lbfgs(obj, [0.0], maxiter=500)
    assert not r.success and r.status in (Status.NON_FINITE, Status.LINE_SEARCH_FAILED,
                                          Status.MAX_ITERATIONS)


def test_nan_at_start_is_never_success():
    x = sp.Symbol("x")
    obj = codegen.compile(sp.log(x) + x**2, [x])
    for method in ("lbfgs", "bfgs", "newton", "newton-tr"):
        r = solvers.minimize(obj, [-1.0], method=method)
        assert r.status is Status.NON_FINITE and not r.success, method
        assert "NaN" in r.message


def test_trust_region_collapse_is_reported():
    x = sp.Symbol("x")
    # the model predicts decrease that the (kinked) function never delivers near x = 0
    obj = codegen.compile(sp.Abs(x) + x / 2, [x])
    r = solvers.newton_tr(obj, [1.0], maxiter=200)
    assert not r.success
    assert r.status in (Status.TRUST_REGION_COLLAPSED, Status.MAX_ITERATIONS)


def test_result_from_plain_int_status_and_nan_never_success():
    r = solvers.Result(x=np.array([1.0]), fun=0.0, grad=np.array([0.0]), nit=1, nfev=1, ngev=1,
                       nhev=0, status=0)
    assert r.status is Status.CONVERGED_GTOL and r.success
    r = solvers.Result(x=np.array([np.nan]), fun=0.0, grad=np.array([0.0]), nit=1, nfev=1,
                       ngev=1, nhev=0, status=0)
    assert r.status is Status.NON_FINITE and not r.success


def test_status_enum_words():
    for s in Status:
        assert isinstance(s.message, str) and len(s.message) > 20
    assert [s for s in Status if s.converged] == [Status.CONVERGED_GTOL, Status.CONVERGED_FTOL,
                                                   Status.CONVERGED_XTOL]


def test_data_objectives_and_row_subsets():
    method = "lbfgs"  # each data layout compiles its own loop: one method keeps the suite quick
    w, b, xi, yi = sp.symbols("w b x y")
    obj = codegen.compile((w * xi + b - yi)**2, [w, b], data=[xi, yi])
    rng = np.random.default_rng(3)
    X = rng.normal(size=50)
    Y = 0.5 * X + 2.0 + 0.01 * rng.normal(size=50)
    rows = np.arange(25)
    for sub in (None, rows):
        r = solvers.minimize(obj, [0.0, 0.0], method=method, args=(X, Y),
                             options={"rows": sub})
        idx = np.arange(50) if sub is None else sub
        ref = np.linalg.lstsq(np.column_stack([X[idx], np.ones(idx.size)]), Y[idx], rcond=None)[0]
        assert r.success
        np.testing.assert_allclose(r.x, ref, atol=1e-6)


def test_verbose_prints_one_line_per_iteration(rosen, capsys):
    r = solvers.minimize(rosen, X0, method="newton", verbose=True)
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].split() == ["iter", "f", "max|g|"] and len(lines) == r.nit + 1
    assert float(lines[-1].split()[1]) == pytest.approx(r.fun, abs=1e-12)


def test_formula_text_with_wrt_compiles_through_the_safe_reader(tmp_path):
    r = solvers.minimize("(x - 1)**2 + 3*(y + 2)**2", [0.0, 0.0], wrt=["x", "y"],
                         method="newton")
    assert r.success and np.allclose(r.x, [1.0, -2.0])
    target = tmp_path / "pwned"
    with pytest.raises(ValueError):
        solvers.minimize(f"__import__('os').system('touch {target}') + x**2", [0.0], wrt=["x"])
    assert not target.exists()
    with pytest.raises(solvers.ObjectiveError, match="wrt"):
        solvers.minimize("x**2", [0.0])
