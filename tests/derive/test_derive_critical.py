"""critical_points and condition_number against hand-derived answers and NumPy eigenvalues."""
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from derive import condition_number, critical_points

x, y = sp.symbols("x y")


def kinds(f, wrt):
    return {tuple(p.point[v] for v in wrt): p.kind for p in critical_points(f, wrt)}


def test_rosenbrock_minimum():
    (p,) = critical_points((1 - x) ** 2 + 100 * (y - x**2) ** 2, [x, y])
    assert p.point == {x: 1, y: 1} and p.kind == "minimum" and p.value == 0 and p.exact
    assert all(e > 0 for e in p.eigenvalues)


def test_textbook_kinds():
    assert kinds(x**2 - y**2, [x, y]) == {(0, 0): "saddle"}
    assert kinds(x**4, [x]) == {(0,): "degenerate"}
    assert kinds(-(x**2) - y**2, [x, y]) == {(0, 0): "maximum"}
    assert kinds(x**3 - 3 * x + y**2, [x, y]) == {(-1, 0): "saddle", (1, 0): "minimum"}
    assert kinds(x**4 - y**2, [x, y]) == {(0, 0): "degenerate"}


def test_eigenvalues_reported():
    (p,) = critical_points(x**2 + 3 * x * y + 5 * y**2, [x, y])
    assert sorted(p.eigenvalues) == sorted(sp.Matrix([[2, 3], [3, 10]]).eigenvals(multiple=True))


def test_parameter_sign_unknown():
    a = sp.Symbol("a")
    (p,) = critical_points(a * x**2, [x])
    assert p.kind == "unknown"
    (p,) = critical_points(sp.Symbol("a", positive=True) * x**2, [x])
    assert p.kind == "minimum"


def test_numeric_point_is_marked():
    pts = critical_points(x**2 + sp.exp(x) + sp.sin(x), [x])
    assert len(pts) == 1 and not pts[0].exact and pts[0].kind == "minimum"


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(-5, 5), min_size=3, max_size=3), st.integers(-3, 3), st.integers(-3, 3))
def test_random_quadratics_classified_like_numpy(abc, d, e):
    a, b, c = abc
    A = np.array([[a, b], [b, c]], dtype=float)
    w = np.linalg.eigvalsh(2 * A)
    if abs(np.linalg.det(A)) < 1e-12:
        return  # singular: a line of critical points or none
    f = a * x**2 + 2 * b * x * y + c * y**2 + d * x + e * y
    (p,) = critical_points(f, [x, y])
    expected = "minimum" if w.min() > 0 else "maximum" if w.max() < 0 else "saddle"
    assert p.kind == expected
    assert np.allclose(sorted(float(v) for v in p.eigenvalues), w)


def test_condition_number():
    assert condition_number(x**2 + 10 * y**2, [x, y], [0, 0]) == 10
    assert condition_number(x**4 + y**2, [x, y], [0, 0]) == sp.oo
    f = (1 - x) ** 2 + 100 * (y - x**2) ** 2
    H = np.array([[802.0, -400.0], [-400.0, 200.0]])
    assert float(condition_number(f, [x, y], {x: 1, y: 1})) == pytest.approx(np.linalg.cond(H))
    with pytest.raises(ValueError, match="numeric point"):
        condition_number(f, [x, y], [sp.Symbol("t"), 1])


def test_constant_function_rejected():
    with pytest.raises(ValueError, match="does not depend"):
        critical_points(sp.Integer(3) + sp.Symbol("a"), [x])


# --- functions with kinks (issue 9, item 6): no NameError, honest kinds, checked on a grid

KINKED_1D = [
    sp.Abs(x) + x**2,
    sp.Abs(x - 5) + x**2,
    sp.Abs(x**2 - 1),
    sp.Max(x, 0) ** 2 + (x - 3) ** 2,
    -sp.Abs(x) + x**2 / 4,
    sp.Abs(x) + sp.exp(x) + x**2,
]


def test_kink_of_abs_is_reported_as_non_differentiable():
    (p,) = critical_points(sp.Abs(x) + x**2, [x])
    assert p.point == {x: 0} and p.kind == "non-differentiable" and p.value == 0
    assert p.one_sided == (-1, 1) and p.eigenvalues == ()
    assert "one-sided derivatives -1 and 1" in str(p)


def test_kink_away_from_the_minimum_is_not_reported():
    (p,) = critical_points(sp.Abs(x - 5) + x**2, [x])
    assert p.point == {x: sp.Rational(1, 2)} and p.kind == "minimum"


@pytest.mark.parametrize("f", KINKED_1D, ids=str)
def test_kinked_functions_against_a_grid(f):
    # oracle: local extrema of f on a fine grid (plain NumPy), and one-sided difference quotients
    pts = critical_points(f, [x])
    fn = sp.lambdify(x, f, "numpy")
    t = np.linspace(-7, 7, 140001)
    v = fn(t)
    inner = np.nonzero((np.sign(np.diff(v[:-1])) != np.sign(np.diff(v[1:]))))[0] + 1
    found = np.array([float(p.point[x]) for p in pts])
    for i in inner:
        assert np.min(np.abs(found - t[i])) < 2e-4, f"grid extremum near {t[i]} not reported"
    for p in pts:
        a, h = float(p.point[x]), 1e-7
        if p.one_sided is not None:
            left, right = (fn(a) - fn(a - h)) / h, (fn(a + h) - fn(a)) / h
            assert float(p.one_sided[0]) == pytest.approx(left, abs=1e-5)
            assert float(p.one_sided[1]) == pytest.approx(right, abs=1e-5)
            assert min(left, right) <= 1e-5 and max(left, right) >= -1e-5
        if p.kind in ("minimum", "maximum"):
            s = 1 if p.kind == "minimum" else -1
            assert s * (fn(a + 1e-3) - fn(a)) > 0 and s * (fn(a - 1e-3) - fn(a)) > 0


def test_kinks_in_several_variables_are_refused_clearly():
    from derive.smoothness import NotSmoothError

    with pytest.raises(NotSmoothError, match=r"Abs\(x\) is not differentiable where x = 0"):
        critical_points(sp.Abs(x) + y**2, [x, y])
    with pytest.raises(NotSmoothError, match="no finite list"):
        critical_points(sp.Abs(sp.sin(x)), [x])
