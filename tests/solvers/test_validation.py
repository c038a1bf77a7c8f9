"""Options and starting points are checked before anything runs: errors name the option and method."""
import inspect
import subprocess
import sys
import warnings

import numpy as np
import pytest
import sympy as sp

import codegen
import solvers
from solvers import OptionError, Status

X0 = [-1.2, 1.0]

BAD = [  # (method, option, value): each must be refused before the loop runs
    ("lbfgs", "m", 0), ("lbfgs", "m", 2.5), ("lbfgs", "m", "10"), ("lbfgs", "maxiter", -1),
    ("lbfgs", "max_linesearch", 0), ("lbfgs", "gtol", -1.0), ("lbfgs", "gtol", float("nan")),
    ("lbfgs", "ftol", -1e-3), ("lbfgs", "xtol", float("inf")), ("lbfgs", "c1", 0.0),
    ("lbfgs", "c2", 1.0), ("lbfgs", "skip_eps", -1.0), ("lbfgs", "maxfun", 0),
    ("lbfgs", "maxiter", True),
    ("bfgs", "maxiter", -1), ("bfgs", "max_linesearch", -3), ("bfgs", "c1", 1.5),
    ("newton", "beta", 0.0), ("newton", "sparse", "yes"), ("newton", "maxiter", 1.5),
    ("newton-tr", "delta0", 0.0), ("newton-tr", "delta_max", -1.0), ("newton-tr", "eta", 0.3),
    ("newton-tr", "gtol", float("-inf")),
    ("gd", "lr", 0.0), ("gd", "lr", float("nan")), ("gd", "batch_size", -5),
    ("gd", "batch_size", 0), ("gd", "seed", -1), ("gd", "epochs", -1), ("gd", "clip_norm", -1.0),
    ("gd", "clip_value", 0.0), ("gd", "divergence", 0.0), ("gd", "maxiter", -1),
    ("momentum", "beta", 1.0), ("nesterov", "beta", -0.1), ("adagrad", "eps", -1.0),
    ("rmsprop", "rho", 1.5), ("adam", "beta1", 1.0), ("adam", "beta2", -0.1),
    ("adamw", "weight_decay", -1.0), ("adam", "eps", float("nan")),
]


@pytest.mark.parametrize("method,option,value", BAD)
def test_bad_option_is_refused_naming_option_and_method(rosen, method, option, value):
    with pytest.raises(OptionError, match=rf"{method}.*{option}|{option}.*{method}"):
        solvers.minimize(rosen, X0, method=method, options={option: value})
    assert issubclass(OptionError, ValueError)


def test_same_checks_on_direct_calls(rosen):
    with pytest.raises(OptionError, match="m"):
        solvers.lbfgs(rosen, X0, m=0)
    with pytest.raises(OptionError, match="batch_size"):
        solvers.gd(rosen, X0, batch_size=-5)
    with pytest.raises(OptionError, match="c1.*c2|c2.*c1"):
        solvers.bfgs(rosen, X0, c1=0.5, c2=0.4)
    with pytest.raises(OptionError, match="delta0.*delta_max|delta_max.*delta0"):
        solvers.newton_tr(rosen, X0, delta0=10.0, delta_max=1.0)
    with pytest.raises(OptionError, match="callback"):
        solvers.lbfgs(rosen, X0, callback=5)


def test_issue_cases(rosen):
    # m=0 used to segfault (ring buffer of size 0); each case now a ValueError naming the option
    code = ("import codegen, solvers, sympy as sp; x, y = sp.symbols('x y');"
            "obj = codegen.compile(100*(y - x**2)**2 + (1 - x)**2, [x, y])\n"
            "try:\n solvers.minimize(obj, [-1.2, 1.0], options={'m': 0})\n"
            "except ValueError as e:\n print('refused', e)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and "refused" in out.stdout and "'m'" in out.stdout, out.stderr
    with pytest.raises(OptionError, match="'maxiter'"):
        solvers.minimize(rosen, X0, maxiter=-1)
    with pytest.raises(OptionError, match="'max_linesearch'"):
        solvers.minimize(rosen, X0, options={"max_linesearch": 0})
    with pytest.raises(OptionError, match="'tol'"):
        solvers.minimize(rosen, [1.0, 1.0], tol=-1)
    with pytest.raises(OptionError, match="'batch_size'"):
        solvers.minimize(rosen, X0, method="gd", options={"batch_size": -5})


def test_unknown_option_is_found_up_front_and_lists_the_accepted_ones(rosen):
    with pytest.raises(OptionError, match=r"'lbfgs' does not take option 'lr'.*maxiter"):
        solvers.minimize(rosen, X0, options={"lr": 0.1})
    with pytest.raises(OptionError, match=r"'adam' does not take option 'm'"):
        solvers.minimize(rosen, X0, method="adam", options={"m": 3})


def test_a_type_error_from_inside_the_run_is_not_taken_for_an_unknown_option():
    def fun(x):
        raise TypeError("f() got an unexpected keyword argument 'q'")
    with pytest.raises(TypeError, match="f\\(\\) got an unexpected keyword") as info:
        solvers.minimize(fun, [1.0], jac=lambda x: x)
    assert not isinstance(info.value, OptionError)


def test_accepted_options_are_exactly_each_methods_keywords():
    from solvers.options import accepted
    skip = {"objective", "x0", "args", "callback", "history", "wrt", "rows", "options",
            "bounds"}  # bounds= is minimize's own keyword, passed to the method, not an option
    for name, fn in solvers.METHODS.items():
        params = set(inspect.signature(fn).parameters) - skip
        if "options" in inspect.signature(fn).parameters:  # the gradient family: **options
            from solvers.gradient import _run
            params |= set(inspect.signature(_run).parameters) - skip - {"method", "beta1",
                                                                        "beta2", "eps",
                                                                        "weight_decay"}
        assert params <= accepted(name), (name, params - accepted(name))


BAD_X0 = [
    (None, "x0 is None"),
    ([-1.2 + 1j, 1.0], "complex"),
    ([[-1.2, 1.0]], r"1-D.*shape \(1, 2\)"),
    ([np.nan, 1.0], r"x0\[0\] is nan"),
    ([1.0, np.inf], r"x0\[1\] is inf"),
    (["a", "b"], "real numbers"),
    ([[1.0], [2.0, 3.0]], "x0"),
]


@pytest.mark.parametrize("method", ["lbfgs", "newton", "adam"])
@pytest.mark.parametrize("x0,msg", BAD_X0)
def test_bad_x0_is_a_clear_error(rosen, method, x0, msg):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ComplexWarning: refused, not truncated
        with pytest.raises(ValueError, match=msg):
            solvers.minimize(rosen, x0, method=method)


def test_scalar_x0_is_one_variable():
    x = sp.Symbol("x")
    r = solvers.minimize(codegen.compile((x - 2)**2, [x]), 0.0, method="newton")
    assert r.success and r.x.shape == (1,) and r.x[0] == pytest.approx(2.0)


def test_data_with_zero_rows_or_nan_is_refused_before_the_run():
    w, b, xi, yi = sp.symbols("w b x y")
    obj = codegen.compile((w * xi + b - yi)**2, [w, b], data=[xi, yi])
    for X, Y, msg in ((np.zeros(0), np.zeros(0), "0 rows"),
                      (np.array([1.0, np.nan]), np.ones(2), r"data\[0\].*nan"),
                      (np.array([1.0, 2.0]) + 1j, np.ones(2), r"data\[0\].*complex")):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(ValueError, match=msg):
                solvers.minimize(obj, [0.0, 0.0], args=(X, Y))
    with pytest.raises(ValueError, match="rows"):
        solvers.minimize(obj, [0.0, 0.0], args=(np.ones(3), np.ones(3)),
                         options={"rows": np.zeros(0, dtype=int)})


def test_max_function_evaluations_status_is_not_success():
    assert not Status.MAX_FUNCTION_EVALUATIONS.converged
    assert "function evaluations" in Status.MAX_FUNCTION_EVALUATIONS.message
