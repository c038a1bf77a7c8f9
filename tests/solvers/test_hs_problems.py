"""The Hock-Schittkowski set of benchmarks/hs_problems.py: the published optima are consistent
with the encoded problems (independently of any solver), and solvers.minimize solves a few
small ones (2-3 variables: each compiles its own kernels) to the benchmark's 1e-6."""
import importlib.util
import pathlib

import numpy as np
import pytest
import sympy as sp

import solvers

_PATH = pathlib.Path(__file__).resolve().parents[2] / "benchmarks" / "hs_problems.py"
_spec = importlib.util.spec_from_file_location("derive_bench_hs_problems", _PATH)
hs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(hs)

NAMES = [p.name for p in hs.PROBLEMS]


def test_the_set_is_the_issue_s_size_and_mix():
    assert len(NAMES) == len(set(NAMES)) and len(NAMES) >= 30
    assert all(p.n <= 10 for p in hs.PROBLEMS)
    kinds = {k: sum(p.kind == k for p in hs.PROBLEMS) for k in ("bounds", "eq", "ineq", "mixed")}
    assert min(kinds.values()) >= 4, kinds


@pytest.mark.parametrize("name", NAMES)
def test_problem_is_well_formed(name):
    p = hs.get(name)
    assert p.x0.shape == (p.n,) and np.all(np.isfinite(p.x0))
    assert all(s.is_real for s in p.wrt)
    for e in (p.f, *p.eq, *p.ineq):
        assert e.free_symbols <= set(p.wrt), (name, e)
    if p.bounds is not None:
        assert len(p.bounds) == p.n
        lo, hi = p.lo_hi
        assert np.all(lo < hi) and np.any(np.isfinite(lo) | np.isfinite(hi))
    assert p.m_eq + p.m_ineq > 0 or p.bounds is not None, "an unconstrained problem"


@pytest.mark.parametrize("name", [p.name for p in hs.PROBLEMS if p.x_star is not None])
def test_published_minimiser_is_feasible_and_attains_f_star(name):
    p = hs.get(name)
    f = sp.lambdify([p.wrt], p.f, "numpy")(p.x_star)
    # the published x* carry 12 digits: f(x*) matches f* far inside the benchmark's tolerance
    assert abs(f - p.f_star) <= 1e-7 * max(1.0, abs(p.f_star)), (f, p.f_star)
    assert p.violation(p.x_star) <= 1e-6
    assert p.solved(f, p.x_star)


@pytest.mark.parametrize("name", ["hs14", "hs28", "hs71"])
def test_published_minimiser_is_a_kkt_point(name):
    """grad f + J_eq' lam + J_ineq' mu = 0 with mu >= 0 on the active inequalities (least
    squares on the multipliers): the optimum is a minimiser of the encoded problem, not just a
    feasible point with the right value."""
    p = hs.get(name)
    x = sp.Matrix(p.wrt)
    at = dict(zip(p.wrt, p.x_star))
    g = np.array(sp.Matrix([p.f]).jacobian(x).subs(at), float).ravel()
    act = [c for c in p.ineq if abs(float(c.subs(at))) <= 1e-8]
    lo, hi = p.lo_hi
    rows = [np.array(sp.Matrix([c]).jacobian(x).subs(at), float).ravel() for c in (*p.eq, *act)]
    rows += [-np.eye(p.n)[i] for i in np.flatnonzero(np.abs(p.x_star - lo) <= 1e-8)]
    rows += [np.eye(p.n)[i] for i in np.flatnonzero(np.abs(p.x_star - hi) <= 1e-8)]
    A = np.array(rows).T
    m, *_ = np.linalg.lstsq(A, -g, rcond=None)
    assert np.linalg.norm(A @ m + g) <= 1e-6 * max(1.0, np.linalg.norm(g))
    assert np.all(m[p.m_eq:] >= -1e-8), m


def test_violation_measures_every_kind_of_constraint():
    p = hs.get("hs71")  # 1 <= x <= 5, sum x^2 = 40, x1 x2 x3 x4 >= 25
    assert p.violation([1, 5, 5, 1]) == pytest.approx(12.0)       # eq: 52 - 40
    assert p.violation([2, 2, 2, 2]) == pytest.approx(24.0)       # eq: 16 - 40
    assert p.violation([0.5, 4.5, 4.5, 1]) > 0.5                  # bound x1 >= 1 and 25 - 20.25
    assert not p.solved(p.f_star, [1, 5, 5, 1])
    with pytest.raises(KeyError, match="hs999"):
        hs.get("hs999")


# ours on a few small problems of every kind, through the issue's contract: SymPy expressions
# in the problem's variables, SciPy-style bounds, eq (= 0) and ineq (<= 0)
SOLVED_BY_OURS = ["hs5", "hs6", "hs14", "hs21", "hs35"]


@pytest.mark.parametrize("name", SOLVED_BY_OURS)
def test_minimize_solves_small_problems_to_the_benchmark_tolerance(name):
    p = hs.get(name)
    lo, hi = p.lo_hi
    kw = dict(wrt=list(p.wrt))
    if p.bounds is not None:
        kw["bounds"] = p.bounds
    if p.eq:
        kw["eq"] = list(p.eq)
    if p.ineq:
        kw["ineq"] = list(p.ineq)
    r = solvers.minimize(p.f, np.clip(p.x0, lo, hi), **kw)
    assert r.success, (name, r.status, r.message)
    assert p.solved(r.fun, r.x), (name, r.fun, p.f_star, p.violation(r.x))
    if p.eq:
        assert r.lam.shape == (p.m_eq,)
    if p.ineq:
        assert r.mu.shape == (p.m_ineq,) and np.all(r.mu >= 0)
    if p.x_star is not None:
        assert np.allclose(r.x, p.x_star, atol=1e-4)
