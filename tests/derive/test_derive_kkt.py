"""lagrangian / kkt: textbook problems solved by hand, groups, numeric fallback, bad input."""
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import brentq

from derive import KKTSystem, kkt, lagrangian

x, y = sp.symbols("x y")  # plain symbols

GROUPS = ("stationarity", "primal_feasibility", "dual_feasibility", "complementary_slackness")


def test_lagrangian_convention():
    L = lagrangian(x**2 + y**2, [x, y], eq=[x + y - 1], ineq=[x - 3])
    (lam,), (mu,) = L.lam, L.mu
    assert sp.expand(L.expr - (x**2 + y**2 + lam * (x + y - 1) + mu * (x - 3))) == 0
    assert lam.is_real and mu.is_real and str(lam) == "lambda_1"


def test_relations_are_normalised():
    L = lagrangian(x, [x, y], eq=[sp.Eq(x, y)], ineq=[x >= 2, y <= 1])
    assert L.eq == (x - y,)
    assert L.ineq == (2 - x, y - 1)


def test_multiplier_names_do_not_clash_with_user_symbols():
    mu1 = sp.Symbol("mu_1")
    L = lagrangian(x + mu1, [x], ineq=[x])
    assert L.mu[0] != mu1 and L.mu[0].name == "mu_1'"


def test_equality_constrained_textbook():
    # minimize x^2 + y^2 s.t. x + y = 1: x = y = 1/2, lambda = -1 (2x + lambda = 0)
    s = kkt(x**2 + y**2, [x, y], eq=[x + y - 1])
    pts = s.solve()
    assert len(pts) == 1
    p = pts[0]
    assert p.exact and p.x == {x: sp.Rational(1, 2), y: sp.Rational(1, 2)}
    assert p.lam == {s.lagrangian.lam[0]: -1} and p.mu == {}
    assert p.value == sp.Rational(1, 2)


def test_one_active_one_inactive_inequality():
    # minimize (x-2)^2 + (y-1)^2 s.t. x <= 1 (active, mu = 2), y <= 5 (inactive, mu = 0)
    s = kkt((x - 2) ** 2 + (y - 1) ** 2, [x, y], ineq=[x - 1, y - 5])
    (p,) = s.solve()
    mu1, mu2 = s.lagrangian.mu
    assert p.x == {x: 1, y: 1} and p.mu == {mu1: 2, mu2: 0} and p.active == (0,)


def test_dual_feasibility_filters_wrong_sign():
    # minimize x s.t. x^2 <= 1: x = -1 with mu = 1/2; x = 1 would need mu = -1/2
    s = kkt(x, [x], ineq=[x**2 - 1])
    (p,) = s.solve()
    assert p.x == {x: -1} and list(p.mu.values()) == [sp.Rational(1, 2)]


def test_primal_feasibility_filters_infeasible_unconstrained_minimum():
    # unconstrained minimum x = 3 violates x <= 1, so only the boundary point survives
    (p,) = kkt((x - 3) ** 2, [x], ineq=[x - 1]).solve()
    assert p.x == {x: 1} and list(p.mu.values()) == [4]


def test_all_kkt_points_of_nonconvex_problem():
    # minimize x*y on the unit circle: four KKT points, two with f = -1/2
    pts = kkt(x * y, [x, y], eq=[x**2 + y**2 - 1]).solve()
    assert len(pts) == 4
    assert sorted(p.value for p in pts) == [-sp.Rational(1, 2)] * 2 + [sp.Rational(1, 2)] * 2
    for p in pts:
        assert sp.simplify(p.x[x] ** 2 + p.x[y] ** 2) == 1


def test_groups_are_non_empty_and_relational():
    s = kkt(x**2 + y**2, [x, y], eq=[x + y - 1], ineq=[-x])
    assert isinstance(s, KKTSystem)
    for g in GROUPS:
        items = getattr(s, g)
        assert items and all(isinstance(c, (sp.core.relational.Relational, sp.logic.boolalg.BooleanAtom))
                             for c in items)
    assert s.dual_feasibility == [sp.Ge(s.lagrangian.mu[0], 0)]
    assert "complementary slackness" in str(s) and s._repr_latex_().startswith("$")


def test_unconstrained_groups_hold_true():
    s = kkt(x**2 + y**2, [x, y])
    assert s.stationarity == [sp.Eq(2 * x, 0), sp.Eq(2 * y, 0)]
    for g in GROUPS[1:]:
        assert getattr(s, g) == [sp.true]
    (p,) = s.solve()
    assert p.x == {x: 0, y: 0} and p.lam == {} and p.mu == {}


def test_plain_symbols_real_solutions_only():
    # x^2 + 1 = 0 has no real solution: no KKT points (complex ones are not returned)
    assert kkt(x, [x], eq=[x**2 + 1]).solve() == []
    assert not any(c.has(sp.re, sp.im) for c in kkt(sp.Abs(x) + y**2, [x, y]).stationarity)


def test_numeric_fallback_is_marked():
    # 2x + exp(x) + cos(x) = 0 has no closed form: the point comes from Newton
    (p,) = kkt(x**2 + sp.exp(x) + sp.sin(x), [x]).solve()
    assert p.exact is False
    ref = brentq(lambda t: 2 * t + np.exp(t) + np.cos(t), -3, 3)
    assert float(p.x[x]) == pytest.approx(ref, abs=1e-10)


def test_bad_input_names_the_constraint():
    with pytest.raises(TypeError, match=r"eq\[1\] is True"):
        kkt(x, [x], eq=[x - 1, sp.Eq(x, x)])
    with pytest.raises(TypeError, match=r"ineq\[0\].*equation"):
        kkt(x, [x], ineq=[sp.Eq(x, 1)])
    with pytest.raises(TypeError, match=r"eq\[0\].*inequality"):
        kkt(x, [x], eq=[x <= 1])
    with pytest.raises(TypeError, match=r"ineq\[0\]"):
        kkt(x, [x], ineq=[sp.Matrix([x, 1])])
    with pytest.raises(ValueError, match="does not depend"):
        kkt(sp.Integer(5), [x], ineq=[y - 1])
    with pytest.raises(TypeError, match="2x1"):
        kkt(sp.Matrix([x, y]), [x, y])


# --- multiplier sign conditions decided, not kept (issue 9, item 7)

def test_point_with_unsatisfiable_multipliers_is_not_a_kkt_point():
    # at (1, 0) stationarity needs mu_1 + mu_2 + mu_3 = -2: impossible with mu >= 0
    pts = kkt(x**2 + y**2, [x, y], ineq=[x - 1, x + y - 1, x - y - 1]).solve()
    assert [p.x for p in pts] == [{x: 0, y: 0}]
    assert pts[0].conditions == ()


def test_degenerate_multipliers_get_one_feasible_choice():
    # minimize -x + y^2 under x <= 1, x + y <= 1, x - y <= 1: three active lines meet at (1, 0)
    s = kkt(-x + y**2, [x, y], ineq=[x - 1, x + y - 1, x - y - 1])
    (p,) = s.solve()
    assert p.x == {x: 1, y: 0} and p.conditions == ()
    mu = [p.mu[m] for m in s.lagrangian.mu]
    assert all(m >= 0 for m in mu)
    full = {**p.mu, x: 1, y: 0}
    assert all(c.lhs.subs(full) == 0 for c in s.stationarity + s.complementary_slackness)


def test_parametric_conditions_stay_undecided():
    # the sign of mu depends on the parameter a: kept as a condition, not decided
    a = sp.Symbol("a")
    pts = kkt(a * x, [x], ineq=[x - 1]).solve()
    assert any(p.conditions for p in pts)


def _oracle_min(a, b, G, d):
    """Minimiser of (x-a)^2 + (y-b)^2 over G z <= d by brute force: the unconstrained minimum,
    its projections onto each line and the pairwise intersections, best feasible one."""
    c = np.array([a, b], float)
    cands = [c]
    for g, di in zip(G, d):
        cands.append(c - (g @ c - di) / (g @ g) * g)
    for i in range(len(G)):
        for j in range(i + 1, len(G)):
            M = np.array([G[i], G[j]], float)
            if abs(np.linalg.det(M)) > 1e-12:
                cands.append(np.linalg.solve(M, [d[i], d[j]]))
    feas = [z for z in cands if np.all(G @ z <= np.array(d) + 1e-12)]
    return min(feas, key=lambda z: np.sum((z - c) ** 2)) if feas else None


@settings(max_examples=15, deadline=None)
@given(st.integers(-3, 3), st.integers(-3, 3),
       st.lists(st.tuples(st.integers(-2, 2), st.integers(-2, 2), st.integers(-2, 2))
                .filter(lambda t: t[:2] != (0, 0)), min_size=2, max_size=3))
def test_convex_qp_kkt_points_against_brute_force(a, b, rows):
    # strictly convex with linear constraints: the KKT point is exactly the minimiser (or none if infeasible)
    G = np.array([r[:2] for r in rows], float)
    d = [r[2] for r in rows]
    ref = _oracle_min(a, b, G, d)
    s = kkt((x - a) ** 2 + (y - b) ** 2, [x, y], ineq=[gx * x + gy * y - di for gx, gy, di in rows])
    pts = s.solve()
    if ref is None:
        assert pts == []
        return
    assert len(pts) == 1, [str(p) for p in pts]
    (p,) = pts
    z = np.array([float(p.x[x]), float(p.x[y])])
    assert np.allclose(z, ref, atol=1e-12)
    mu = np.array([float(p.mu[m]) for m in s.lagrangian.mu])
    assert np.all(mu >= 0) and p.conditions == ()
    assert np.allclose(2 * (z - [a, b]) + G.T @ mu, 0, atol=1e-12)
    assert np.allclose(mu * (G @ z - d), 0, atol=1e-12)


def test_kinked_problem_is_refused_with_a_reformulation_hint():
    from derive.smoothness import NotSmoothError

    with pytest.raises(NotSmoothError, match=r"f = Abs\(x\), Abs\(x\) is not differentiable where x = 0.*-u <= t"):
        kkt(sp.Abs(x), [x], ineq=[x - 1]).solve()
    with pytest.raises(NotSmoothError, match=r"ineq\[0\]"):
        kkt(x**2, [x], ineq=[sp.Max(x, y) - 1]).solve()
