"""Strong-Wolfe and Armijo line searches: the conditions they promise hold."""
import numpy as np
import pytest
import sympy as sp

import codegen
import solvers
from solvers.linesearch import ARMIJO, FAILED, FAILED_NONFINITE, WOLFE
from solvers.adapter import as_kernels


def _setup(obj, x):
    kern = as_kernels(obj)
    x = np.asarray(x, dtype=float)
    f, g = obj.value_and_grad(x)
    return kern, x, f, g


@pytest.mark.parametrize("alpha0", [1e-4, 1.0, 50.0])
@pytest.mark.parametrize("c2", [0.1, 0.9])
def test_strong_wolfe_conditions_hold(rosen, alpha0, c2):
    kern, x, f0, g0 = _setup(rosen, [-1.2, 1.0])
    d = -g0
    c1 = 1e-4
    a, f, g, xa, nfev, flag = solvers.strong_wolfe(kern.vg, kern.kargs, x, f0, g0, d, alpha0, c1, c2, 50)
    assert flag == WOLFE and a > 0
    assert np.allclose(xa, x + a * d)
    assert f == pytest.approx(rosen.value(xa)) and np.allclose(g, rosen.grad(xa))
    assert f <= f0 + c1 * a * (g0 @ d)                      # sufficient decrease
    assert abs(g @ d) <= c2 * abs(g0 @ d)                   # strong curvature


def test_strong_wolfe_extrapolates_from_tiny_step(rosen):
    kern, x, f0, g0 = _setup(rosen, [-1.2, 1.0])
    d = -g0 / np.linalg.norm(g0)
    a, *_ , flag = solvers.strong_wolfe(kern.vg, kern.kargs, x, f0, g0, d, 1e-8, 1e-4, 0.9, 60)
    assert flag == WOLFE and a > 1e-6


def test_line_searches_back_off_from_nan():
    t = sp.Symbol("t")
    obj = codegen.compile(sp.log(t) + (t - 3)**2 / 10, [t])   # NaN for t < 0
    kern, x, f0, g0 = _setup(obj, [0.5])
    d = -g0 * 10  # alpha = 1 lands at t = -14.5, where log is NaN
    a, f, g, xa, nfev, flag = solvers.strong_wolfe(kern.vg, kern.kargs, x, f0, g0, d, 1.0, 1e-4, 0.9, 60)
    assert flag in (WOLFE, ARMIJO) and np.isfinite(f) and f < f0
    obj2 = codegen.compile(sp.log(t) - t, [t])  # minimum at t = 1; overshooting below 0 -> NaN
    kern2, x2, f2, g2 = _setup(obj2, [3.0])
    d2 = np.array([-100.0])  # descent direction (g > 0) far past the NaN boundary
    a, f, g, xa, nfev, flag = solvers.backtracking(kern2.vg, kern2.kargs, x2, f2, g2, d2, 1.0, 1e-4, 60)
    assert flag == WOLFE and np.isfinite(f) and f <= f2 + 1e-4 * a * (g2 @ d2) and xa[0] > 0


def test_armijo_backtracking_sufficient_decrease(rosen):
    kern, x, f0, g0 = _setup(rosen, [-1.2, 1.0])
    d = -g0
    a, f, g, xa, nfev, flag = solvers.backtracking(kern.vg, kern.kargs, x, f0, g0, d, 1.0, 1e-4, 60)
    assert flag == WOLFE and f <= f0 + 1e-4 * a * (g0 @ d) and nfev >= 2  # alpha=1 overshoots


def test_line_search_fails_on_ascent_direction(rosen):
    kern, x, f0, g0 = _setup(rosen, [-1.2, 1.0])
    a, f, g, xa, nfev, flag = solvers.strong_wolfe(kern.vg, kern.kargs, x, f0, g0, g0, 1.0, 1e-4, 0.9, 20)
    assert flag == FAILED and a == 0.0 and f == f0 and np.array_equal(xa, x)


def test_search_where_every_trial_is_nan_says_so():
    t = sp.Symbol("t")
    obj = codegen.compile(sp.sqrt(1 - t), [t])  # decreases towards t = 1, NaN beyond it
    kern, x, f0, g0 = _setup(obj, [1 - 1e-14])
    d = -g0 / abs(g0)  # unit step: even 2**-40 of it crosses t = 1
    for search, extra in ((solvers.strong_wolfe, (1e-4, 0.9, 40)), (solvers.backtracking, (1e-4, 12))):
        a, f, g, xa, nfev, flag = search(kern.vg, kern.kargs, x, f0, g0, d, 1.0, *extra)
        assert flag == FAILED_NONFINITE and a == 0.0 and f == f0 and np.array_equal(xa, x)
