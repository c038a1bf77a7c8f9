"""taylor and quadratic_model: sympy.series in 1-D, exactness on polynomials, Newton's step."""
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from derive import gradient, hessian, ml, quadratic_model, taylor
from derive_strategies import VARS, X, Y, expressions, polynomials

x = sp.Symbol("x")


def expressions_1d():
    """Random expression trees in x alone (y replaced by a constant)."""
    return expressions.map(lambda e: e.subs(Y, sp.Rational(1, 2)))

ONE_D = [
    (sp.exp(x), 0), (sp.sin(x), 0), (sp.cos(x), 1), (sp.log(1 + x), 0), (1 / (1 - x), 0),
    (sp.atan(x), 0), (sp.sqrt(1 + x), 0), (sp.exp(x) * sp.sin(x), 0), (sp.log(x), 2),
    (sp.tan(x), 0), (x**5 - 3 * x**2, 1),
]


@pytest.mark.parametrize("f,a", ONE_D)
@pytest.mark.parametrize("order", [0, 2, 4])
def test_agrees_with_series_in_one_variable(f, a, order):
    expected = sp.series(f, x, a, order + 1).removeO()
    d = sp.expand(taylor(f, x, [a], order=order) - expected)
    assert d == 0 or sp.simplify(d) == 0


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 4).flatmap(lambda k: st.tuples(st.just(k), polynomials(k))),
       st.tuples(st.integers(-3, 3), st.fractions(-2, 2, max_denominator=5)),
       st.integers(0, 2))
def test_exact_on_polynomials_of_degree_at_most_order(kp, at, extra):
    k, p = kp
    at = [sp.Rational(v) for v in at]
    assert sp.expand(taylor(p, VARS, at, order=k + extra) - p) == 0


@settings(max_examples=15, deadline=None)
@given(polynomials(4), st.integers(0, 3))
def test_truncation_drops_exactly_the_high_degree_terms(p, order):
    # about the origin the Taylor polynomial is the low-degree part of p
    t = sp.Poly(taylor(p, VARS, {X: 0, Y: 0}, order=order), *VARS)
    low = sp.Poly(sum((c * X**i * Y**j for (i, j), c in sp.Poly(p, *VARS).terms() if i + j <= order),
                      sp.S.Zero), *VARS)
    assert t == low


def test_mapping_point_and_symbolic_point():
    a, b = sp.symbols("a b")
    f = sp.exp(X) * Y
    t = taylor(f, VARS, {Y: b, X: a}, order=1)
    assert sp.simplify(t - (sp.exp(a) * b + sp.exp(a) * b * (X - a) + sp.exp(a) * (Y - b))) == 0


def test_bad_input():
    with pytest.raises(ValueError, match="order"):
        taylor(x, x, [0], order=-1)
    with pytest.raises(ValueError, match="2 coordinates"):
        taylor(x, x, [0, 1])
    with pytest.raises(ValueError, match="no value for y"):
        taylor(X * Y, VARS, {X: 0})
    with pytest.raises(ValueError, match="not finite"):
        taylor(sp.log(x), x, [0])


def test_quadratic_model_pieces_and_newton_step():
    f = (1 - X) ** 2 + 100 * (Y - X**2) ** 2
    q = quadratic_model(f, VARS, [0, 0])
    assert q.value == 1
    assert q.gradient == gradient(f, VARS).subs({X: 0, Y: 0})
    assert q.hessian == hessian(f, VARS).subs({X: 0, Y: 0})
    p = q.newton_step()
    assert q.hessian * p == -q.gradient
    # the model's stationary point is where its gradient vanishes
    m = q.expr
    sol = sp.solve(list(gradient(m, VARS)), VARS, dict=True)[0]
    assert sp.Matrix([sol[X], sol[Y]]) == q.minimizer()
    assert "m(x)" in str(q) and q._repr_latex_().startswith("$")


def test_quadratic_model_of_quadratic_is_exact_and_newton_lands_on_minimum():
    f = 3 * X**2 + 2 * X * Y + Y**2 - 4 * X + 7
    q = quadratic_model(f, VARS, [5, -2])
    assert sp.expand(q.expr - f) == 0
    xmin = q.minimizer()
    assert list(gradient(f, VARS).subs(dict(zip(VARS, xmin)))) == [0, 0]


def test_newton_step_singular_hessian():
    with pytest.raises(ValueError, match="singular"):
        quadratic_model(X**4 + Y**2, VARS, [0, 0]).newton_step()


@settings(max_examples=15, deadline=None)
@given(expressions_1d(), st.integers(0, 3))
def test_random_expressions_agree_with_series(f, order):
    expected = sp.series(f, X, 0, order + 1).removeO()
    got = taylor(f, X, [0], order=order)
    for t in (sp.Rational(3, 10), sp.Rational(-7, 10)):
        # SymPy numbers, not complex(): exp(exp(9)) ~ 1e3519 is beyond double range
        a, b = got.subs(X, t).evalf(30), expected.subs(X, t).evalf(30)
        assert sp.Abs(a - b) <= sp.Float("1e-20") * (1 + sp.Abs(b))


# --- points where f is not smooth or not real (issue 9, item 7), and the order cap (item 8)

def test_kink_at_the_point_is_refused_and_named():
    from derive.smoothness import NotSmoothError

    with pytest.raises(NotSmoothError, match=r"df/dx of f = Abs\(x\) does not exist at x = 0.*Abs\(x\)"):
        taylor(sp.Abs(x), x, 0, order=3)
    with pytest.raises(NotSmoothError, match=r"Max\(x, y\).*where x = y"):
        taylor(sp.Max(x, sp.Symbol("y")), [x, sp.Symbol("y")], [1, 1], order=1)
    with pytest.raises(NotSmoothError, match="relu"):
        taylor(ml.relu(x), x, 0, order=1)
    with pytest.raises(NotSmoothError, match="not finite"):
        taylor(sp.sqrt(x), x, 0, order=1)
    with pytest.raises(NotSmoothError, match=r"d\^2f/dxdx"):
        taylor(x * sp.Abs(x), x, 0, order=2)
    with pytest.raises(NotSmoothError, match="Abs"):
        quadratic_model(sp.Abs(x) + x**2, x, [0])


def test_smooth_where_the_kink_is_elsewhere_or_cancels():
    assert taylor(sp.Abs(x), x, 1, order=3) == x
    assert taylor(sp.Abs(x), x, -2, order=2) == -x
    # x|x| is differentiable once at 0 (derivative 2|x| = 0): order 1 exists
    assert taylor(x * sp.Abs(x), x, 0, order=1) == 0
    assert taylor(ml.relu(x), x, 0, order=0) == 0


def test_not_real_at_the_point():
    from derive.smoothness import NotRealError

    with pytest.raises(NotRealError, match=r"f = log\(x\) is I\*pi at x = -1: f is not real"):
        taylor(sp.log(x), x, -1)
    with pytest.raises(NotRealError, match="not real"):
        taylor(sp.sqrt(x), x, -4, order=0)
    assert isinstance(NotRealError("m"), ValueError)


def test_order_is_capped():
    from derive.taylor import MAX_ORDER

    with pytest.raises(ValueError, match=rf"order = {10**6} is above the cap of {MAX_ORDER}"):
        taylor(sp.exp(x), x, 0, order=10**6)
    with pytest.raises(ValueError, match="cap"):
        taylor(sp.exp(x), x, 0, order=MAX_ORDER + 1)
    t = taylor(sp.exp(x), x, 0, order=MAX_ORDER)
    assert sp.Poly(t, x).degree() == MAX_ORDER
