"""is_convex / convexity: never True for a non-convex function; witnesses are real."""
import numpy as np
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from derive import convexity, hessian, is_convex
from derive.ml import logsumexp, sigmoid, softplus
from derive_strategies import VARS, expressions

x, y, z = sp.symbols("x y z")


def test_known_answers():
    assert is_convex(x**2 + y**2, [x, y]) is True
    assert is_convex(x**4 + sp.exp(y), [x, y]) is True
    assert is_convex(sp.exp(x + y), [x, y]) is True
    assert is_convex(softplus(x), x) is True
    assert is_convex(logsumexp(x, y), [x, y]) is True
    assert is_convex(x**3, x) is False
    assert is_convex(x**2 - y**2, [x, y]) is False
    assert is_convex(sp.sin(x), x) is False
    assert is_convex(sigmoid(x), x) is False
    assert is_convex(sp.log(1 + x**2), x) is False
    assert is_convex(sp.Symbol("a") * x**2, x) is None
    assert is_convex(sp.Symbol("a", nonnegative=True) * x**2, x) is True


def test_witness_has_negative_curvature():
    c = convexity(x**2 * y**2, [x, y])
    assert c.convex is False
    H = hessian(x**2 * y**2, [x, y]).subs(c.witness)
    v = sp.Matrix(c.direction)
    assert (v.T * H * v)[0] < 0
    assert "not convex" in str(c)


def test_result_object_refuses_truth_testing():
    import pytest
    with pytest.raises(TypeError, match="convex"):
        bool(convexity(x**2, x))


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(-4, 4), min_size=6, max_size=6), st.lists(st.integers(-3, 3), min_size=3, max_size=3))
def test_random_quadratics_agree_with_numpy(entries, lin):
    a, b, c, d, e, f = entries
    A = np.array([[a, b, c], [b, d, e], [c, e, f]], dtype=float)
    v = sp.Matrix([x, y, z])
    g = (v.T * sp.Matrix(A.astype(int)) * v)[0] + sum(k * s for k, s in zip(lin, v))
    w = np.linalg.eigvalsh(A)
    res = convexity(g, [x, y, z])
    if res.convex is True:
        assert w.min() >= -1e-9
    if w.min() < -1e-9:
        assert res.convex is False
        Hw = np.array(hessian(g, [x, y, z]).subs(res.witness), dtype=float)
        d_ = np.array(res.direction, dtype=float)
        assert d_ @ Hw @ d_ < 0
    if w.min() > -1e-9:
        assert res.convex is True  # exact eigenvalues decide every quadratic form


@settings(max_examples=25, deadline=None)
@given(expressions)
def test_never_claims_convex_when_numpy_sees_negative_curvature(f):
    res = convexity(f, VARS)
    if res.convex is True:
        H = sp.lambdify(VARS, hessian(f, VARS), "numpy")
        rng = np.random.default_rng(1)
        for p in rng.uniform(-2, 2, size=(20, 2)):
            with np.errstate(all="ignore"):
                M = np.array(H(*p), dtype=float)
            if np.all(np.isfinite(M)):
                assert np.linalg.eigvalsh(M).min() >= -1e-7 * max(1.0, np.abs(M).max())
    elif res.convex is False:
        Hs = hessian(f, VARS).subs(res.witness)
        v = sp.Matrix(res.direction)
        assert (v.T * Hs * v)[0].is_negative


def test_witness_must_lie_in_the_real_domain():
    # H = 1/x < 0 for x < 0, but log(x**x) is not real there: no disproof (and no rule proves it)
    assert is_convex(sp.log(x**x), x) is None
    # x*log(x) itself is convex on its domain x > 0 by composition (the negative entropy)
    assert is_convex(x * sp.log(x), x) is True
    xp = sp.Symbol("x", positive=True)
    assert is_convex(xp * sp.log(xp), xp) is True  # H = 1/x, proven > 0 for x > 0
    assert is_convex(sp.log(x), x) is False  # concave where it is defined
