"""Hypothesis strategies shared by the derive tests: random expression trees and polynomials."""
import mpmath
import sympy as sp
from hypothesis import strategies as st

X, Y = sp.symbols("x y")  # plain (not real) symbols: derive must still treat them as real
VARS = (X, Y)

leaves = st.one_of(
    st.sampled_from(VARS),
    st.integers(-3, 3).map(sp.Integer),
    st.fractions(min_value=-2, max_value=2, max_denominator=4).map(sp.Rational),
)


def _extend(children):
    pair = st.tuples(children, children)
    return st.one_of(
        pair.map(lambda t: t[0] + t[1]),
        pair.map(lambda t: t[0] * t[1]),
        pair.map(lambda t: t[0] - t[1]),
        children.map(sp.exp),
        children.map(sp.sin),
        children.map(sp.cos),
        children.map(lambda c: sp.log(1 + c**2)),
        children.map(lambda c: sp.sqrt(1 + c**2)),
        children.map(lambda c: c**2),
        children.map(lambda c: c**3),
    )


# small trees (<= 6 leaves) keep exp(exp(...)) tame on [-1, 1] and sympy fast
expressions = st.recursive(leaves, _extend, max_leaves=6)


@st.composite
def polynomials(draw, degree):
    """A random polynomial in x, y of total degree <= degree with small integer coefficients."""
    terms = []
    for i in range(degree + 1):
        for j in range(degree + 1 - i):
            c = draw(st.integers(-4, 4))
            terms.append(c * X**i * Y**j)
    return sp.Add(*terms)


points = st.tuples(
    st.floats(-1, 1, allow_nan=False), st.floats(-1, 1, allow_nan=False)
)


def mp_eval(expr, point, dps=30):
    """Evaluate a SymPy expression at {x, y} = point in mpmath (oracle precision)."""
    with mpmath.workdps(dps):
        f = sp.lambdify(VARS, expr, "mpmath")
        return f(*[mpmath.mpf(p) for p in point])


def central_difference(expr, point, i, h=mpmath.mpf("1e-12"), dps=40):
    """d expr / d VARS[i] at point by a central difference in 40-digit arithmetic."""
    with mpmath.workdps(dps):
        f = sp.lambdify(VARS, expr, "mpmath")
        p = [mpmath.mpf(v) for v in point]
        lo, hi = list(p), list(p)
        lo[i] -= h
        hi[i] += h
        return (f(*hi) - f(*lo)) / (2 * h)
