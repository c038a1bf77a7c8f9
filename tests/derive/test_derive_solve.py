"""The exact-then-numeric solver behind kkt().solve() and critical_points()."""
import pytest
import sympy as sp

from derive._solve import solve_system
from derive.deadline import Deadline, DeadlineExceeded

x, y = sp.symbols("x y", real=True)


def test_exact_when_sympy_solves():
    sols, exact = solve_system([x**2 + y**2 - 1, x - y], [x, y])
    assert exact and len(sols) == 2


def test_symbolic_time_out_falls_back_to_newton(monkeypatch):
    # sympy.solve out of time: the roots come from Newton, marked inexact.  The time-out is
    # forced: a 1e-6 s budget raced a worker whose SymPy cache already held the answer (a
    # loaded machine let it reply before the parent waited), so the test depended on timing.
    import derive._solve

    def out_of_time(*args, **kwargs):
        raise derive._solve.OutOfTime()

    monkeypatch.setattr(derive._solve, "run_limited", out_of_time)
    sols, exact = solve_system([x**2 + y**2 - 2, x - y], [x, y], symbolic_seconds=1e-6)
    assert not exact
    assert sorted(round(float(s[x]), 12) for s in sols) == [-1.0, 1.0]
    assert all(abs(float(s[x] - s[y])) < 1e-12 for s in sols)


def test_parameters_block_the_numeric_fallback():
    a = sp.Symbol("a", real=True)
    with pytest.raises(ValueError, match="parameters"):
        solve_system([x**2 - a], [x], symbolic_seconds=1e-6)


def test_newton_phase_obeys_the_deadline():
    # sympy.solve gets no time, so all the work is Newton's, and the deadline stops it
    d = Deadline(0.05, "the test")
    eqs = [sp.exp(x) + x**3 * sp.sin(y) - 5, sp.cos(x * y) + y**5 - 2]
    with pytest.raises(DeadlineExceeded, match="the test did not finish within its time limit of 0.05 s"):
        solve_system(eqs, [x, y], deadline=d, symbolic_seconds=1e-6, starts=10**6)
