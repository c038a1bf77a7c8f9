"""Convexity by composition (derive.dcp, DCP rules) of the models people fit.

Oracles: the numerical Hessian's eigenvalues at sampled points (a convex verdict must see
none clearly negative); counterexamples must never be declared convex; messages must name
the user's symbols only, never internal (Dummy) ones.
"""
import re

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from derive import convexity, ml
from derive.dcp import curvature

N, ROWS = 11, 3
W = sp.symbols(f"w0:{N}")  # plain symbols, as a user makes them
X = [[sp.Symbol(f"x{i}_{j}") for j in range(N)] for i in range(ROWS)]  # data as symbols
Y = sp.symbols(f"y0:{ROWS}")
ETA = [sum(X[i][j] * W[j] for j in range(N)) for i in range(ROWS)]
SQ = sum(wj**2 for wj in W)
ALPHA = sp.Symbol("alpha", nonnegative=True)

# leading underscore on a name (sympy prints a Dummy as _name), or the word Dummy
_INTERNAL = re.compile(r"(?<![\w.])_[A-Za-z]|Dummy")


def assert_user_names_only(result):
    for text in (str(result), repr(result), result.reason):
        assert not _INTERNAL.search(text), text
    for k in (result.witness or {}):
        assert not isinstance(k, sp.Dummy), result.witness


def poisson_nll(alpha):
    return sum(sp.exp(e) - y * e for e, y in zip(ETA, Y)) + alpha / 2 * SQ


def test_poisson_log_likelihood_of_11_weights_is_convex_by_composition():
    res = convexity(poisson_nll(ALPHA), W)
    assert res.convex is True
    assert "by composition" in res.reason and "exp(affine)" in res.reason and "y*affine" in res.reason
    assert "alpha >= 0" in res.reason and "w0, ..., w10" in res.reason
    assert_user_names_only(res)


def test_poisson_with_unknown_sign_penalty_is_undecided_and_names_alpha():
    res = convexity(poisson_nll(sp.Symbol("alpha")), W, timeout=1.0)
    assert res.convex is None
    assert "alpha >= 0" in res.reason and "Symbol('alpha', nonnegative=True)" in res.reason
    assert_user_names_only(res)


def test_poisson_with_numeric_data():
    rng = np.random.default_rng(0)
    Xn = rng.normal(size=(4, N)).round(3)
    yn = rng.poisson(2.0, size=4)
    f = sum(sp.exp(sum(sp.Float(Xn[i, j]) * W[j] for j in range(N))) - int(yn[i]) *
            sum(sp.Float(Xn[i, j]) * W[j] for j in range(N)) for i in range(4)) + sp.Rational(1, 10) * SQ
    assert convexity(f, W).convex is True


def test_huber_regression():
    b = sp.Symbol("b")
    f = sum(ml.huber(y - e - b, 1.35) for e, y in zip(ETA, Y)) + ALPHA * SQ
    res = convexity(f, [*W, b])
    assert res.convex is True and "Huber(affine)" in res.reason
    assert_user_names_only(res)


@pytest.mark.parametrize("form", ["bce", "softplus"])
def test_logistic_regression_with_l2(form):
    # labels y of unknown sign: y*log(s) + (1 - y)*log(1 - s) is softplus(z) - y*z, convex for any y
    if form == "bce":
        f = sum(ml.binary_cross_entropy(ml.sigmoid(e), y) for e, y in zip(ETA, Y))
    else:
        f = sum(ml.softplus(e) - y * e for e, y in zip(ETA, Y))
    res = convexity(f + ALPHA / 2 * SQ, W)
    assert res.convex is True and "softplus(affine)" in res.reason
    assert_user_names_only(res)


def test_softmax_cross_entropy():
    Wm = sp.Matrix(3, 4, sp.symbols("v0:12"))
    rows = [sp.Matrix(sp.symbols(f"a{i}_0:4")) for i in range(2)]
    onehot = [[1, 0, 0], [0, 0, 1]]
    f = sum(ml.cross_entropy(ml.softmax(Wm * r), t) for r, t in zip(rows, onehot))
    assert convexity(f, list(Wm)).convex is True
    f = ml.cross_entropy(Wm * rows[0], sp.symbols("t0:3", nonnegative=True), from_logits=True)
    assert convexity(f, list(Wm)).convex is True
    res = convexity(ml.cross_entropy(Wm * rows[0], sp.symbols("t0:3"), from_logits=True), list(Wm), timeout=1.0)
    assert res.convex is None and "nonnegative=True" in res.reason  # a label of unknown sign
    assert_user_names_only(res)


def test_hinge_entropy_norm_and_concave_atoms():
    u, v = sp.symbols("u v")
    c = sp.Symbol("c")
    assert curvature(sum(ml.hinge(W[i] + c * W[i + 1], Y[i]) for i in range(3)), W).convex
    assert curvature(u * sp.log(u) + sp.sqrt(1 + (u - v)**2) - sp.log(v), [u, v]).convex
    assert convexity(-sp.log(sp.sqrt(u) + v) + sp.Max(u, v, 0) + sp.Abs(u - 2 * v), [u, v]).convex is True
    assert curvature(sp.log(u) + sp.sqrt(v) - sp.exp(u - v), [u, v]).kind == "concave"
    assert curvature(3 * u - 2 * v + c, [u, v]).kind == "affine"


@pytest.mark.parametrize("f, wrt", [
    (sp.sin(W[0]), W[:1]),
    (W[0] * W[1], W[:2]),
    (-sp.exp(W[0]), W[:1]),
    (sp.exp(W[0]) - W[1]**2, W[:2]),
    (sp.log(1 + W[0]**2), W[:1]),
    (W[0]**3, W[:1]),
    (ml.sigmoid(W[0] + W[1]), W[:2]),
    (sp.Symbol("c") * sp.exp(W[0]), W[:1]),
    (sp.exp(-W[0]**2), W[:1]),
    (1 / W[0], W[:1]),
])
def test_nonconvex_counterexamples_are_never_convex(f, wrt):
    res = convexity(f, wrt, timeout=1.0)
    assert res.convex is not True, res
    assert curvature(f, wrt).kind not in ("convex", "affine", "constant")
    assert_user_names_only(res)


def test_messages_never_show_internal_names():
    a, b = sp.symbols("a b")
    cases = [
        (poisson_nll(sp.Symbol("alpha")), W),
        (a * W[0]**2 + b * W[1]**4, W[:2]),  # principal-minor fallback with parameters
        (sp.sin(a * W[0]) + W[1]**2, W[:2]),
        (sp.exp(W[0]) * W[1]**2 + a, W[:2]),
        (W[0]**2 - W[1]**2, W[:2]),  # witness
        (a * sum(W[i]**2 for i in range(8)) + sum(W[i] * W[i + 1] for i in range(7)), W[:8]),
    ]
    for f, wrt in cases:
        assert_user_names_only(convexity(f, wrt, timeout=1.0))


# --- property tests -----------------------------------------------------------
U, V = sp.symbols("u v", real=True)  # curvature() is called directly: variables are real
_AFFINE = st.tuples(st.integers(-3, 3), st.integers(-3, 3), st.integers(-2, 2)).filter(
    lambda t: t[0] or t[1]).map(lambda t: t[0] * U + t[1] * V + t[2])  # never constant: no log(0)
_POS = st.sampled_from([sp.Rational(1, 2), 1, 2, 3])


def _convex_atoms(affine):
    return st.one_of(
        affine.map(sp.exp), affine.map(ml.softplus), affine.map(lambda a: a**2),
        affine.map(sp.Abs), affine.map(lambda a: ml.huber(a, 1)), affine.map(ml.relu),
        st.tuples(affine, affine).map(lambda t: ml.logsumexp(*t)),
        st.tuples(affine, affine).map(lambda t: sp.Max(*t)),
        affine.map(lambda a: sp.sqrt(1 + a**2)), affine.map(sp.cosh),
    )


def _extend_convex(children):
    return st.one_of(
        st.tuples(children, children).map(sum),
        st.tuples(_POS, children).map(lambda t: t[0] * t[1]),
        st.tuples(children, _AFFINE).map(sum),
        children.map(sp.exp), children.map(ml.softplus),
        st.tuples(children, children).map(lambda t: ml.logsumexp(*t)),
        st.tuples(children, children).map(lambda t: sp.Max(*t)),
        children.map(lambda c: sp.Max(c, 0)**2),  # square of a nonnegative convex function
    )


CONVEX = st.recursive(_convex_atoms(_AFFINE), _extend_convex, max_leaves=3)
_RNG = np.random.default_rng(7)
POINTS = _RNG.uniform(-1.5, 1.5, size=(10, 2))
# v' H v along the axes, the diagonals and random directions: the numerical Hessian's quadratic form
DIRECTIONS = np.vstack([np.eye(2), [[1, 1], [1, -1]], _RNG.normal(size=(4, 2))])


def _second_differences(f, h=1e-3):
    """(f(p + h v) + f(p - h v) - 2 f(p)) / h**2 ~ v' H(p) v at POINTS along DIRECTIONS, with its
    rounding tolerance, where f is finite. For a convex f it is >= 0 in exact arithmetic even
    across a kink (midpoint convexity), so no derivative is needed and kinks cause no false alarm."""
    fn = sp.lambdify((U, V), f, "numpy")
    out = []
    for p in POINTS:
        for v in DIRECTIONS:
            with np.errstate(all="ignore"):
                vals = np.array([fn(*(p + h * v)), fn(*(p - h * v)), fn(*p)], dtype=complex)
            if not np.all(np.isfinite(vals)) or np.any(vals.imag != 0) or np.abs(vals).max() > 1e12:
                continue
            vals = vals.real
            out.append(((vals[0] + vals[1] - 2 * vals[2]) / h**2, 1e-11 * max(1.0, np.abs(vals).max()) / h**2))
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(CONVEX)
def test_dcp_built_expressions_are_declared_convex_and_their_hessian_is_psd(f):
    c = curvature(f, [U, V])
    assert c.convex, (f, c)
    for q, tol in _second_differences(f):
        assert q >= -tol, (f, q)


_ANY_ATOM = st.one_of(_convex_atoms(_AFFINE), _AFFINE.map(sp.sin), _AFFINE.map(ml.sigmoid),
                      _AFFINE.map(sp.log), _AFFINE.map(sp.sqrt), _AFFINE.map(lambda a: a**3),
                      st.tuples(_AFFINE, _AFFINE).map(lambda t: sp.Min(*t)))


def _extend_any(children):
    coef = st.sampled_from([-2, -1, sp.Rational(-1, 2), sp.Rational(1, 2), 1, 3])
    return st.one_of(
        st.tuples(children, children).map(sum), st.tuples(coef, children).map(lambda t: t[0] * t[1]),
        st.tuples(children, children).map(lambda t: t[0] * t[1]),
        children.map(sp.exp), children.map(sp.log), children.map(ml.softplus), children.map(lambda c: c**2),
        st.tuples(children, children).map(lambda t: sp.Max(*t)), children.map(sp.Abs),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.recursive(_ANY_ATOM, _extend_any, max_leaves=3))
def test_never_declares_convex_or_concave_against_the_numerical_hessian(f):
    c = curvature(f, [U, V])
    if c.kind in ("convex", "concave"):
        for q, tol in _second_differences(f):
            assert (q >= -tol) if c.kind == "convex" else (q <= tol), (f, c, q)
