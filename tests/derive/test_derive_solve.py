"""The exact-then-numeric solver behind kkt().solve() and critical_points()."""
import signal

import pytest
import sympy as sp

from derive._solve import _time_limit, solve_system

x, y = sp.symbols("x y", real=True)


def test_exact_when_sympy_solves():
    sols, exact = solve_system([x**2 + y**2 - 1, x - y], [x, y])
    assert exact and len(sols) == 2


def test_timeout_falls_back_to_newton():
    # a budget too small for sympy.solve: the roots come from Newton, marked inexact
    sols, exact = solve_system([x**2 + y**2 - 2, x - y], [x, y], timeout=1e-6)
    assert not exact
    assert sorted(round(float(s[x]), 12) for s in sols) == [-1.0, 1.0]
    assert all(abs(float(s[x] - s[y])) < 1e-12 for s in sols)


def test_parameters_block_the_numeric_fallback():
    a = sp.Symbol("a", real=True)
    with pytest.raises(ValueError, match="parameters"):
        solve_system([x**2 - a], [x], timeout=1e-6)


def test_outer_alarm_is_left_alone():
    signal.setitimer(signal.ITIMER_REAL, 100)
    try:
        with _time_limit(1e-6):
            sp.solve(x**2 - 4, x)
        assert signal.getitimer(signal.ITIMER_REAL)[0] > 50
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
