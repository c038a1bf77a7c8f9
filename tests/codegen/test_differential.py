"""Differential tests against SymPy itself.

Random expression trees (hypothesis) are compiled with ``jit=False`` (the same
generated source run as plain Python: cheap, so many examples) and compared
with ``sympy.lambdify`` of SymPy's own ``diff``/``hessian``.  A smaller set goes
through real Numba.
"""
import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import codegen
from derive.ml import sigmoid, softplus

X = sp.symbols("x0:3")
P = sp.Symbol("k")

leaves = st.one_of(
    st.sampled_from(X),
    st.sampled_from(X),
    st.sampled_from([P]),
    st.integers(-3, 3).map(sp.Integer),
    st.sampled_from([sp.Rational(1, 3), sp.Rational(-5, 2), sp.Float(0.75), sp.pi]),
)

# Unary maps kept bounded and smooth on the sample box so values stay finite.
UNARY = [
    sp.sin, sp.cos, sp.tanh, sp.atan, sp.erf, sigmoid, softplus,
    lambda u: sp.exp(sp.sin(u)),
    lambda u: sp.log(1 + u**2),
    lambda u: sp.sqrt(2 + sp.cos(u)),
    lambda u: u**2,
    lambda u: u**3,
    lambda u: -u,
    lambda u: 1 / (1 + sp.exp(-u)),          # rewritten to sigmoid
    lambda u: sp.log(1 + sp.exp(u)),          # rewritten to softplus
]
BINARY = [
    lambda a, b: a + b,
    lambda a, b: a - b,
    lambda a, b: a * b,
    lambda a, b: a / (2 + sp.cos(b)),
    lambda a, b: sp.atan2(a, 2 + b**2),
]


def _extend(children):
    un = st.tuples(st.sampled_from(UNARY), children).map(lambda t: t[0](t[1]))
    bi = st.tuples(st.sampled_from(BINARY), children, children).map(lambda t: t[0](t[1], t[2]))
    return st.one_of(un, bi)


exprs = st.recursive(leaves, _extend, max_leaves=10).filter(
    lambda e: isinstance(e, sp.Expr) and e.free_symbols & set(X))


def _close(got, ref, tol=1e-10):
    got = np.asarray(got, dtype=float)
    ref = np.asarray(ref, dtype=float)
    scale = max(1.0, float(np.max(np.abs(ref)))) if ref.size else 1.0
    np.testing.assert_allclose(got, ref, rtol=tol, atol=tol * scale)


def _oracle(f):
    g = [sp.diff(f, s) for s in X]
    H = sp.hessian(f, X)
    args = [X, P]
    return (sp.lambdify(args, f, "numpy"), sp.lambdify(args, g, "numpy"),
            sp.lambdify(args, H, "numpy"))


def _check(obj, f, pts, kval):
    fv, fg, fh = _oracle(f)
    p = np.array([kval])
    for x in pts:
        v, g = obj.value_and_grad(x, p)
        _close(obj.value(x, p), fv(x, kval))
        _close(v, fv(x, kval))
        _close(g, fg(x, kval))
        _close(obj.grad(x, p), fg(x, kval))
        H = np.array(fh(x, kval), dtype=float)
        _close(obj.hess(x, p), H)
        _close(obj.hess_sparse(x, p).toarray(), H)
        vv = np.array([0.3, -1.1, 0.7])
        _close(obj.hessp(x, vv, p), H @ vv)
        # the symbolic pattern covers every nonzero of the true Hessian
        big = np.abs(H) > 1e-9 * max(1.0, np.abs(H).max())  # oracle round-off is not structure
        assert np.all(big <= obj.hess_pattern.toarray())


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(f=exprs, seed=st.integers(0, 2**32 - 1))
def test_random_expressions_plain_python(f, seed):
    rng = np.random.default_rng(seed)
    obj = codegen.compile(f, X, params=[P], jit=False)
    _check(obj, f, rng.uniform(-1.5, 1.5, size=(2, 3)), float(rng.uniform(-2, 2)))


JIT_CASES = [
    sp.sin(X[0] * X[1]) + sp.exp(sp.cos(X[2])) * P,
    sp.log(1 + X[0]**2) * softplus(X[1] - X[2]) + sigmoid(P * X[0]),
    (X[0] - X[1]**2)**2 / (2 + sp.cos(X[2])) + sp.atan(X[1]) * sp.erf(X[0]),
]


@pytest.mark.parametrize("f", JIT_CASES)
def test_numba_kernels_match_sympy(f):
    obj = codegen.compile(f, X, params=[P])
    rng = np.random.default_rng(1)
    _check(obj, f, rng.uniform(-1.5, 1.5, size=(3, 3)), 0.7)


def test_smooth_objective_with_params(smooth_jit):
    obj, f, xs, ps = smooth_jit
    fv = sp.lambdify([xs, ps], f)
    fg = sp.lambdify([xs, ps], [sp.diff(f, s) for s in xs])
    fh = sp.lambdify([xs, ps], sp.hessian(f, xs))
    rng = np.random.default_rng(0)
    for x in rng.uniform(-1, 1, size=(3, 3)):
        p = np.array([0.5, -0.2])
        _close(obj.value(x, p), fv(x, p))
        _close(obj.grad(x, p), fg(x, p))
        _close(obj.hess(x, p), fh(x, p))


def test_nonsmooth_functions_away_from_kinks():
    R = sp.symbols("r0:3", real=True)
    x0, x1, x2 = R
    f = (sp.Abs(x0) * x1 + sp.Max(x0, x1**2) + sp.Min(x2, 0) * x0
         + sp.Piecewise((x0**2, x0 > 0), (-x0**3, True)) + sp.Heaviside(x1) * x2**2
         + sp.sign(x2) * x1)
    obj = codegen.compile(f, R, jit=False)
    for x in ([0.7, -0.4, 0.3], [-0.6, 1.2, -0.9]):
        sub = dict(zip(R, x))
        assert obj.value(x) == pytest.approx(float(f.subs(sub)), rel=1e-12)
        # DiracDelta is printed as 0 (its value almost everywhere)
        g = [float(sp.diff(f, s).replace(sp.DiracDelta, lambda *a: 0).subs(sub)) for s in R]
        _close(obj.grad(x), g)


def test_extended_rosenbrock_loops_match_sympy():
    n = 12
    xs = sp.symbols(f"y0:{n}")
    f = sum(100 * (xs[i + 1] - xs[i]**2)**2 + (1 - xs[i])**2 for i in range(n - 1))
    obj = codegen.compile(f, xs)
    assert "for _k in range(" in obj.source  # repeated terms became a loop
    x = np.random.default_rng(3).uniform(-1, 1, n)
    sub = dict(zip(xs, x))
    g = np.array([float(sp.diff(f, s).subs(sub)) for s in xs])
    H = np.array(sp.hessian(f, xs).subs(sub), dtype=float)
    _close(obj.grad(x), g)
    _close(obj.hess(x), H)
    _close(obj.hess_sparse(x).toarray(), H)
    assert obj.hess_pattern.nnz == 3 * n - 2
    _close(obj.hessp(x, np.ones(n)), H @ np.ones(n))


def test_vector_function_jacobian():
    x0, x1, x2 = X
    F = [x0 * x1 - P, sp.sin(x2) + x0**2, sp.exp(x1)]
    vf = codegen.compile_vector(F, X, params=[P], jit=False)
    x = np.array([0.3, -0.5, 1.2])
    sub = {**dict(zip(X, x)), P: 2.0}
    J = np.array(sp.Matrix(F).jacobian(X).subs(sub), dtype=float)
    _close(vf.value(x, [2.0]), [float(e.subs(sub)) for e in F])
    _close(vf.jacobian(x, [2.0]), J)
    _close(vf.jacobian_sparse(x, [2.0]).toarray(), J)
    assert vf.jac_pattern.nnz == 5


def test_vector_function_numba():
    x0, x1, x2 = X
    vf = codegen.compile_vector(sp.Matrix([x0 * x1, x2**2]), X)
    assert vf.jacobian([1.0, 2.0, 3.0]).tolist() == [[2.0, 1.0, 0.0], [0.0, 0.0, 6.0]]


@pytest.mark.parametrize("make", [
    lambda x, k, n: sum(sp.Rational(i + 1, 3) * sp.exp(k * x[i]) * x[i + 1]
                        + sp.Float(0.1 * i) * sp.sin(x[i] * x[i + 1]) for i in range(n - 1)),
    lambda x, k, n: sum((x[i] * sp.Rational(i, 7) + x[(i + 3) % n] - 1)**2 for i in range(n))
    + k * x[0]**4,
    lambda x, k, n: sum(sp.log(1 + sp.exp(x[i] - x[i + 1] * k)) for i in range(n - 1)),
    lambda x, k, n: sum(sp.Heaviside(x[i] - sp.Rational(1, 2)) * x[i]**2
                        + sp.Abs(x[i] - sp.Rational(i, 3)) for i in range(n)),
    lambda x, k, n: sum(sp.Max(x[i], x[i + 1] * k) + sp.atan2(x[i], 2 + x[i + 1]**2)
                        for i in range(n - 1)),
])
def test_repeated_terms_with_constants_params_and_kinks(make):
    """Terms equal up to renaming and constants become loops; results must not change."""
    n = 7
    xr = sp.symbols(f"q0:{n}", real=True)
    kr = sp.Symbol("kq", real=True)
    f = make(xr, kr, n)
    obj = codegen.compile(f, xr, params=[kr], jit=False)
    assert "for _k in range(" in obj.source
    xv = np.random.default_rng(5).uniform(-1, 1, n)
    sub = {**dict(zip(xr, xv)), kr: 0.7}
    nodelta = lambda e: e.replace(sp.DiracDelta, lambda *a: 0)  # noqa: E731
    g = [float(nodelta(sp.diff(f, s)).subs(sub)) for s in xr]
    H = np.array(nodelta(sp.hessian(f, xr)).subs(sub), dtype=float)
    _close(obj.value(xv, [0.7]), float(f.subs(sub)))
    _close(obj.grad(xv, [0.7]), g)
    _close(obj.hess(xv, [0.7]), H)
    _close(obj.hess_sparse(xv, [0.7]).toarray(), H)
