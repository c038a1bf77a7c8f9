"""derive.indexed: index form, entry derivatives and directional derivatives.

Oracle: the same objective with concrete sizes, every Sum done and every entry a real Symbol,
differentiated by SymPy's scalar ``diff`` (the objective as the user wrote it, not our index form).
"""
import math
import os
import random
import subprocess
import sys

import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sympy.matrices.expressions.diagonal import DiagMatrix
from sympy.matrices.expressions.matexpr import MatrixElement

from derive import InputError
from derive.indexed import (
    canonical, directional, entry_derivative, free_indices, index_form, index_ranges, peel, pull_out,
)
from derive.ml import relu, sigmoid, softplus

d, K, H = sp.symbols("d K H", integer=True, positive=True)
a, b, c, e_ = sp.symbols("a b c e", integer=True)
k, j = sp.symbols("k j", integer=True)
w, x, v = (sp.MatrixSymbol(n, d, 1) for n in "wxv")
W, V, t = sp.MatrixSymbol("W", K, d), sp.MatrixSymbol("V", K, d), sp.MatrixSymbol("t", K, 1)
A = sp.MatrixSymbol("A", d, d)
W1, W2 = sp.MatrixSymbol("W1", H, d), sp.MatrixSymbol("W2", K, H)
y, lam = sp.symbols("y lam")
SIZES = {d: 3, K: 2, H: 2}


# ------------------------------------------------------------------ the oracle


def explicit(expr, mats, sizes=SIZES, idx=None):
    """expr at concrete sizes (and index values), sums done, entries replaced by real Symbols."""
    # xreplace, not subs: subs(K=2) left MatrixSymbol("W", K, 3) in some Sums (SymPy 1.14)
    out = expr.xreplace({n: sp.Integer(v) for n, v in sizes.items()})
    if idx:
        out = out.xreplace({s: sp.Integer(i) for s, i in idx.items()})
    return unroll(out).xreplace(entry_symbols(mats, sizes))


def unroll(e):
    """Every Sum (concrete limits) written out term by term: Sum.doit is 10x slower."""
    if isinstance(e, sp.Sum):
        terms = [e.function]
        for kk, lo, hi in e.limits:
            terms = [tm.xreplace({kk: sp.Integer(i)}) for tm in terms for i in range(int(lo), int(hi) + 1)]
        return sp.Add(*[unroll(tm) for tm in terms])
    if isinstance(e, MatrixElement) or not e.args:
        return e
    return e.func(*[unroll(arg) for arg in e.args])


def entry_symbols(mats, sizes=SIZES):
    rep = {}
    for M in mats:
        Ms = M.xreplace({n: sp.Integer(v) for n, v in sizes.items()})
        for i in range(Ms.shape[0]):
            for jj in range(Ms.shape[1]):
                rep[Ms[i, jj]] = entry(M, i, jj)
    return rep


def entry(M, i, jj):
    return sp.Symbol(f"{M.name}_{i}_{jj}", real=True)


def point(mats, scalars=(), sizes=SIZES, seed=0):
    rng = random.Random(seed)
    vals = {s: sp.Float(rng.uniform(-1, 1)) for s in entry_symbols(mats, sizes).values()}
    vals.update({s: sp.Float(rng.uniform(0.2, 1)) for s in scalars})
    return vals


def num(expr, at):
    """The value of an explicit expression (entries as real Symbols) at the point ``at``."""
    return value(expr, at, {})


def value(expr, at, sizes=SIZES, idx=None):
    """The number an index-form result stands for: Sums looped, entries read from ``at``."""
    return _val(expr, {**sizes, **(idx or {})}, {s: float(u) for s, u in at.items()})


def _val(e, env, at):
    if e.is_Number:
        return float(e)
    if isinstance(e, sp.Symbol):
        return env[e] if e in env else at[e]
    if isinstance(e, MatrixElement):
        return at[entry(e.parent, _int(e.i, env, at), _int(e.j, env, at))]
    if isinstance(e, sp.Sum):
        return _loop(e.function, list(e.limits), env, at)
    if isinstance(e, sp.KroneckerDelta):
        return float(_int(e.args[0], env, at) == _int(e.args[1], env, at))
    if isinstance(e, sp.Piecewise):
        return next(_val(p, env, at) for p, cond in e.args if _holds(cond, env, at))
    vals = [_val(arg, env, at) for arg in e.args]
    if isinstance(e, sp.Add):
        return math.fsum(vals)
    if isinstance(e, sp.Mul):
        return math.prod(vals)
    if isinstance(e, sp.Pow):
        return vals[0] ** vals[1]
    fast = _MATH.get(e.func)
    if fast is not None:
        return fast(*vals)
    return float(e.func(*map(sp.Float, vals)).evalf())


def _holds(cond, env, at):
    if cond in (sp.true, sp.false):
        return bool(cond)
    lhs, rhs = (_val(side, env, at) for side in cond.args)
    return bool(cond.func(sp.Float(lhs), sp.Float(rhs)))


def _loop(body, limits, env, at):
    if not limits:
        return _val(body, env, at)
    kk, lo, hi = limits[-1]
    return math.fsum(_loop(body, limits[:-1], {**env, kk: i}, at)
                     for i in range(_int(lo, env, at), _int(hi, env, at) + 1))


def _int(e, env, at):
    u = _val(e, env, at)
    assert u == int(u), e
    return int(u)


_MATH = {  # SymPy's evalf per node is 20x slower: the common functions in floats
    sp.exp: math.exp, sp.log: math.log, sp.tanh: math.tanh, sp.sin: math.sin, sp.cos: math.cos,
    sp.Abs: abs, sp.sign: lambda z: float((z > 0) - (z < 0)),
    sp.Heaviside: lambda z, h0=0.5: 1.0 if z > 0 else 0.0 if z < 0 else h0,
    sp.DiracDelta: lambda z, k=0: 0.0 if z != 0 else math.inf,
    sp.Max: max, sp.Min: min,
    sigmoid: lambda z: 1 / (1 + math.exp(-z)), softplus: lambda z: math.log1p(math.exp(z)),
    relu: lambda z: max(z, 0.0),
}


def _holds(cond, env, at):
    if cond in (sp.true, sp.false):
        return bool(cond)
    lhs, rhs = (_val(side, env, at).real for side in cond.args)
    return bool(cond.func(sp.Float(lhs), sp.Float(rhs)))


def _loop(body, limits, env, at):
    if not limits:
        return _val(body, env, at)
    kk, lo, hi = limits[-1]
    return sum(_loop(body, limits[:-1], {**env, kk: i}, at)
               for i in range(_int(lo, env, at), _int(hi, env, at) + 1))


def _int(e, env, at):
    u = _val(e, env, at)
    assert u.imag == 0 and u.real == int(u.real), e
    return int(u.real)


def shape(M, sizes=SIZES):
    return tuple(int(sp.sympify(n).xreplace(sizes)) for n in M.shape)


def assert_gradient(f, X, mats, scalars=(), sizes=SIZES, seed=0):
    """entry_derivative(f, X, (a, b)) at every entry equals SymPy's scalar derivative."""
    G = entry_derivative(f, X, (a, b))
    ref = explicit(f, mats, sizes)
    at = point(mats, scalars, sizes, seed)
    for i in range(shape(X, sizes)[0]):
        for jj in range(shape(X, sizes)[1]):
            ours = value(G, at, sizes, {a: i, b: jj})
            want = num(sp.diff(ref, entry(X, i, jj)), at)
            assert ours == pytest.approx(want, rel=1e-9, abs=1e-12), (X, i, jj, G)
    return G


def test_the_float_interpreter_agrees_with_evalf():
    z = w[0, 0] - 2 * w[1, 0]
    e = sum(f(z) for f in _MATH if f not in (sp.Max, sp.Min, sp.DiracDelta, sp.log))
    e += sp.Max(z, w[2, 0]) + sp.Min(z, w[2, 0]) + sp.log(1 + z**2) + sp.DiracDelta(z)
    e += sp.Piecewise((z, z > 0), (z**2, True)) + sp.KroneckerDelta(0, 1) + sp.Sum(w[k, 0] ** 2, (k, 0, 2))
    at = point([w])
    ex = explicit(e, [w])
    assert num(ex, at) == pytest.approx(float(ex.xreplace(at).evalf()), rel=1e-12)
    assert value(e, at) == pytest.approx(num(ex, at), rel=1e-12)


# ------------------------------------------------------------------ the models

logistic = softplus((w.T * x)[0, 0]) - y * (w.T * x)[0, 0] + lam / 2 * (w.T * w)[0, 0]
softmax = sp.log(sp.Sum(sp.exp((W * x)[k, 0]), (k, 0, K - 1))) - (t.T * W * x)[0, 0]
zk = sp.Sum(W2[k, j] * sp.tanh((W1 * x)[j, 0]), (j, 0, H - 1))
network = sp.log(sp.Sum(sp.exp(zk), (k, 0, K - 1))) - sp.Sum(t[k, 0] * zk, (k, 0, K - 1))


def test_logistic_gradient_and_hessian():
    G = assert_gradient(logistic, w, [w, x], [y, lam])
    Hs = entry_derivative(G, w, (c, 0))
    ref = explicit(logistic, [w, x])
    at = point([w, x], [y, lam])
    for i in range(3):
        for jj in range(3):
            ours = value(Hs, at, idx={a: i, c: jj})
            want = num(sp.diff(ref, entry(w, i, 0), entry(w, jj, 0)), at)
            assert ours == pytest.approx(want, rel=1e-9, abs=1e-12)


def test_whole_data_logistic_reads_like_the_textbook():
    N = sp.Symbol("N", integer=True, positive=True)
    X, yv = sp.MatrixSymbol("X", N, d), sp.MatrixSymbol("y", N, 1)
    i = sp.Symbol("i", integer=True)
    f = sp.Sum(softplus((X * w)[i, 0]) - yv[i, 0] * (X * w)[i, 0], (i, 0, N - 1))
    G = assert_gradient(f, w, [w, X, yv], sizes={**SIZES, N: 4})
    # X^T (sigma(X w) - y): one loop over rows, X[i, a] times (sigma - y)
    assert isinstance(G, sp.Sum) and G.limits[0][1:] == (0, N - 1)
    (ii, _, _), = G.limits
    factors = sp.Mul.make_args(G.function)
    assert len(factors) == 2 and X[ii, a] in factors and any(isinstance(u, sp.Add) for u in factors)
    Hs = entry_derivative(G, w, (c, 0))  # X^T diag(sigma') X: one loop
    assert isinstance(Hs, sp.Sum) and Hs.function.has(X[Hs.limits[0][0], a] * X[Hs.limits[0][0], c])


def test_softmax_regression():
    G = assert_gradient(softmax, W, [W, x, t])
    assert not G.has(sp.KroneckerDelta)


def test_network_gradients():
    G1 = assert_gradient(network, W1, [W1, W2, x, t])
    assert_gradient(network, W2, [W1, W2, x, t], seed=1)
    # x[b, 0] is pulled out: no Sum holds it (cost: it would be reloaded K times)
    assert G1.has(x[b, 0])
    assert not any(s.has(x[b, 0]) for s in G1.atoms(sp.Sum))
    assert not G1.has(sp.KroneckerDelta)


def test_ridge_and_quadratic_form():
    G = assert_gradient((w.T * w)[0, 0], w, [w])
    assert G == 2 * w[a, 0]
    assert entry_derivative(G, w, (c, 0)) == 2 * sp.KroneckerDelta(a, c)
    G = assert_gradient((w.T * A * w)[0, 0], w, [w, A])
    assert entry_derivative(G, w, (c, 0)) == A[a, c] + A[c, a]


def test_abs_entries_give_sign():
    f = sp.Sum(sp.Abs(w[k, 0]) + sp.Max(w[k, 0], x[k, 0]), (k, 0, d - 1))
    G = assert_gradient(f, w, [w, x])
    assert G.has(sp.sign) and not G.has(sp.re, sp.im)


def test_user_index_symbols_in_sums():
    kk = sp.Symbol("kk")  # not even integer: bound, so renamed canonically
    f = sp.Sum(sp.exp((W * x)[kk, 0]) * t[kk, 0], (kk, 0, K - 1)) + sp.Sum(relu((W * x)[k, 0]), (k, 0, K - 1))
    G = assert_gradient(f, W, [W, x, t])
    assert free_indices(G) == {a, b}
    assert not (index_form(f).free_symbols & {k, kk})


def test_triple_nesting_and_diagonal_access():
    f = sp.Sum(sp.Sum(A[k, k] * sp.Sum(A[k, j] * w[j, 0], (j, 0, d - 1)) ** 2, (k, 0, d - 1)), (k, 0, d - 1))
    assert_gradient(f, A, [A, w])
    assert_gradient(sp.exp((w.T * A * w)[0, 0] / 4), A, [A, w])


def test_matrix_expressions_inside_entries():
    B = sp.MatrixSymbol("B", d, d)
    f = (x.T * (A + 2 * B.T) * sp.hadamard_product(w, x))[0, 0] + (w.T * sp.Identity(d) * w)[0, 0]
    f += ((A * B) * w)[1, 0] + (sp.ZeroMatrix(d, 1) + sp.OneMatrix(d, 1)).T[0, 2] * w[0, 0]
    assert_gradient(f, w, [w, x, A, B])
    assert_gradient(f, B, [w, x, A, B])
    assert not index_form(f).has(sp.Identity, sp.KroneckerDelta)


def test_diagonal_matrices_and_powers_inside_entries():
    N = sp.Symbol("N", integer=True, positive=True)
    X = sp.MatrixSymbol("X", N, d)
    f = (v.T * X.T * DiagMatrix(X * w) * X * v)[0, 0] + (w.T * (sp.Identity(d) + DiagMatrix(x)) * w)[0, 0]
    f += (x.T * A ** 2 * sp.HadamardPower(w, 2))[0, 0] + (x.T * w.applyfunc(sp.exp))[0, 0]
    g = index_form(f)
    assert not g.has(sp.KroneckerDelta)  # the deltas of Identity and DiagMatrix are summed out
    sizes = {**SIZES, N: 2}
    assert_gradient(f, w, [w, x, v, A, X], sizes=sizes)
    assert value(g, point([w, x, v, A, X], sizes=sizes), sizes) == pytest.approx(
        num(explicit(f, [w, x, v, A, X], sizes), point([w, x, v, A, X], sizes=sizes)))


def test_concrete_sizes():
    W3 = sp.MatrixSymbol("W", 2, 3)
    x3 = sp.MatrixSymbol("x", 3, 1)
    f = sp.log(sp.Sum(sp.exp((W3 * x3)[k, 0]), (k, 0, 1)))
    assert_gradient(f, W3, [W3, x3])
    assert entry_derivative(f, W3, (1, 2)).has(x3[2, 0])


# ------------------------------------------------------------------ directional derivatives


def test_directional_is_hessian_times_vector():
    U = sp.MatrixSymbol("U", K, d)
    for f, X, mats in [(softmax, W, [W, x, t]), (logistic, w, [w, x])]:
        T = U if X is W else v
        G = entry_derivative(f, X, (a, b) if X is W else (a, 0))
        Hv = directional(G, {X: T})
        assert not Hv.has(sp.KroneckerDelta)
        mats2 = mats + [T]
        at = point(mats2, [y, lam], seed=3)
        ref = explicit(f, mats)
        rows, cols = shape(X)
        for i in range(rows):
            for jj in range(cols):
                ix = {a: i, b: jj} if X is W else {a: i}
                ours = value(Hv, at, idx=ix)
                want = sum(num(sp.diff(ref, entry(X, i, jj), entry(X, p, q)), at) * at[entry(T, p, q)]
                           for p in range(rows) for q in range(cols))
                assert ours == pytest.approx(want, rel=1e-9, abs=1e-12)


def test_directional_of_the_value_is_the_gradient_pairing():
    U1, U2 = sp.MatrixSymbol("U1", H, d), sp.MatrixSymbol("U2", K, H)
    D = directional(network, {W1: U1, W2: U2})
    mats = [W1, W2, x, t]
    at = point(mats + [U1, U2], seed=4)
    ref = explicit(network, mats)
    want = sum(num(sp.diff(ref, entry(M, i, jj)), at) * at[entry(T, i, jj)]
               for M, T in ((W1, U1), (W2, U2)) for i in range(shape(M)[0]) for jj in range(shape(M)[1]))
    assert value(D, at) == pytest.approx(want, rel=1e-9)


# ------------------------------------------------------------------ the IR: names, nesting, queries


def test_equal_sums_get_equal_names():
    s1, s2 = index_form((w.T * x)[0, 0]), index_form((w.T * x)[0, 0])
    assert s1 == s2  # SymPy's Dummies differ between the two calls
    assert s1 == index_form(sp.Sum(x[j, 0] * w[j, 0], (j, 0, d - 1)))
    assert s1 != index_form(sp.Sum(x[j, 0] * w[j, 0], (j, 0, d - 2)))
    (kk, _, _), = s1.limits
    assert kk.name.startswith("_k") and kk.is_integer
    assert index_form(s1) == s1 and canonical(s1) == s1


_SUBPROCESS = """
import sympy as sp
from derive.indexed import index_form
d, K, H = sp.symbols("d K H", integer=True, positive=True)
k, j = sp.symbols("k j", integer=True)
W, x, t = sp.MatrixSymbol("W", K, d), sp.MatrixSymbol("x", d, 1), sp.MatrixSymbol("t", K, 1)
W1, W2 = sp.MatrixSymbol("W1", H, d), sp.MatrixSymbol("W2", K, H)
A = sp.MatrixSymbol("A", d, d)
sp.Dummy(); sp.Dummy()  # shift SymPy's dummy counter
zk = sp.Sum(W2[k, j] * sp.tanh((W1 * x)[j, 0]), (j, 0, H - 1))
f = sp.log(sp.Sum(sp.exp((W * x)[k, 0]), (k, 0, K - 1))) - (t.T * W * x)[0, 0] + sp.Sum(t[k, 0] * zk, (k, 0, K - 1))
lam = sp.Dummy("lam", real=True)  # as derive's RealVars makes them
g = index_form(f + (x.T * A * A.T * A * x)[0, 0] + sp.Sum(sp.exp(lam * (W * x)[k, 0]), (k, 0, K - 1)))
print(sorted(lim[0].name for s in g.atoms(sp.Sum) for lim in s.limits))
print(sp.srepr(index_form(f + (x.T * A * A.T * A * x)[0, 0])))
"""


def test_names_are_the_same_in_every_process():
    procs = [subprocess.Popen([sys.executable, "-c", _SUBPROCESS], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONHASHSEED": seed}) for seed in ("1", "2")]
    outs = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    here = index_form(softmax + sp.Sum(t[k, 0] * zk, (k, 0, K - 1)) + (x.T * A * A.T * A * x)[0, 0])
    assert outs[0] == outs[1]
    assert outs[0].splitlines()[1] == sp.srepr(here)
    assert "Dummy" not in outs[0].splitlines()[1]


def test_nested_sums_and_peel():
    f = (t.T * W * x)[0, 0]
    g = index_form(f)
    assert isinstance(g, sp.Sum) and len(g.limits) == 2  # SymPy merges Sum(Sum(..)) (see peel)
    inner, (ko, lo, hi) = peel(g)
    assert isinstance(inner, sp.Sum) and len(inner.limits) == 1 and (lo, hi) == (0, d - 1)
    assert free_indices(g) == frozenset()
    ranges = index_ranges(entry_derivative(softmax, W, (a, b)))
    assert ranges[a] == (0, K - 1) and ranges[b] == (0, d - 1)


def test_pull_out():
    p = sp.MatrixSymbol("p", K, 1)
    s = sp.Sum(p[k, 0] * x[j, 0] + 2 * p[k, 0] * x[j, 0] + y, (k, 0, K - 1))
    assert pull_out(s) == 3 * x[j, 0] * sp.Sum(p[k, 0], (k, 0, K - 1)) + K * y


def test_piecewise_and_integer_entries():
    f = sp.Sum(sp.Piecewise((w[k, 0] ** 2, w[k, 0] > 0), (-w[k, 0], True)), (k, 0, d - 1)) + w[0, 0] ** 3
    G = assert_gradient(f, w, [w])
    assert G.has(sp.KroneckerDelta(0, a))  # d w[0, 0]**3 / d w[a, 0]: only for a = 0
    assert entry_derivative(f, w, (0, 0)).has(w[0, 0] ** 2)
    assert_gradient(sp.exp(W[1, 2] * W[0, 0]) + (t.T * W * x)[0, 0] ** 2, W, [W, x, t])
    # a Sum over part of w's rows keeps its delta (a = 0 is outside it)
    G = assert_gradient(sp.Sum(sp.sin(w[k, 0]), (k, 1, d - 1)), w, [w])
    assert isinstance(G, sp.Sum) and G.has(sp.KroneckerDelta)


def test_zero_derivatives_are_quick():
    assert entry_derivative(network, W, (a, b)) == 0
    assert directional(network, {W: V}) == 0
    assert entry_derivative(w[0, 0], w, (1, 0)) == 0


# ------------------------------------------------------------------ errors


@pytest.mark.parametrize("bad, words", [
    (w.T * x, "index it, e.g. (w.T*x)[0, 0]"),
    (sp.exp(w[0, 0]) + sp.Trace(A), "Trace"),
    (sp.Determinant(A) * w[0, 0], "Determinant"),
    ((A.I * x)[0, 0], "Inverse"),
    (sp.Sum(w[k + 1, 0] * w[k, 0], (k, 0, d - 2)), "k + 1"),
    (sp.Sum(sp.Sum(A[k, j], (j, 0, k)), (k, 0, d - 1)), "triangular"),
    (w[sp.Symbol("i"), 0], "integer Symbol"),
    (sp.Function("f")(w[0, 0]), "no derivative is known for f"),
])
def test_clear_input_errors(bad, words):
    with pytest.raises(InputError, match=None) as info:
        entry_derivative(bad, w, (a, 0))
    assert words in str(info.value)


def test_argument_errors():
    with pytest.raises(InputError, match="MatrixSymbol"):
        entry_derivative(w[0, 0], sp.Symbol("w"), (a, 0))
    with pytest.raises(InputError, match="two indices"):
        entry_derivative(w[0, 0], w, (a,))
    with pytest.raises(InputError, match="outside"):
        entry_derivative(W[0, 0], sp.MatrixSymbol("W", 2, 3), (2, 0))
    with pytest.raises(InputError, match="integer Symbol"):
        entry_derivative(w[0, 0], w, (sp.Symbol("z"), 0))
    with pytest.raises(InputError, match="shape"):
        directional(W[0, 0], {W: v})


# ------------------------------------------------------------------ property: random compositions

M_, N_ = sp.symbols("m n", integer=True, positive=True)
FUNCS = [sp.exp, sp.tanh, sp.sin, sigmoid, softplus, sp.Abs, lambda z: z ** 2, lambda z: sp.log(1 + z ** 2)]


def _pieces(Wm, xm, um, Am):
    vectors = [Wm * xm, Wm * Am * xm, Wm * Wm.T * um, sp.hadamard_product(Wm * xm, um), 2 * Wm * xm + um]
    scalars = [(um.T * Wm * xm)[0, 0], (xm.T * Wm.T * Wm * xm)[0, 0] / 4, Wm[0, 0], (um.T * Wm * Am * xm)[0, 0]]
    return vectors, scalars


@st.composite
def compositions(draw):
    sizes = {M_: draw(st.integers(1, 3)), N_: draw(st.integers(1, 2))}  # 3x3 costs the oracle 3x
    concrete = draw(st.booleans())
    m, n = (sizes[M_], sizes[N_]) if concrete else (M_, N_)
    Wm, xm = sp.MatrixSymbol("W", m, n), sp.MatrixSymbol("x", n, 1)
    um, Am = sp.MatrixSymbol("u", m, 1), sp.MatrixSymbol("A", n, n)
    vectors, scalars = _pieces(Wm, xm, um, Am)
    fn = lambda: draw(st.sampled_from(FUNCS))  # noqa: E731
    vec = lambda: draw(st.sampled_from(vectors))  # noqa: E731
    terms = []
    for _ in range(draw(st.integers(1, 2))):
        kind = draw(st.integers(0, 3))
        if kind == 0:
            terms.append(sp.Sum(fn()(vec()[k, 0]), (k, 0, m - 1)))
        elif kind == 1:
            terms.append(sp.Sum(fn()(vec()[k, 0]) * fn()(vec()[k, 0]), (k, 0, m - 1)))
        elif kind == 2:
            terms.append(fn()(draw(st.sampled_from(scalars))) * draw(st.sampled_from(scalars)))
        else:
            terms.append(sp.log(sp.Sum(sp.exp(vec()[k, 0]), (k, 0, m - 1))))
    f = sp.Add(*terms)
    if draw(st.booleans()):
        f = fn()(f / 4)
    return f, Wm, [Wm, xm, um, Am], sizes, draw(st.integers(0, 10 ** 6))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(compositions())
def test_random_compositions(case):
    f, Wm, mats, sizes, seed = case
    G = assert_gradient(f, Wm, mats, sizes=sizes, seed=seed)
    assert free_indices(G) <= {a, b}
    assert index_form(G) == G  # results are in index form, names canonical
    Vm = sp.MatrixSymbol("V", *Wm.shape)
    at = point(mats + [Vm], sizes=sizes, seed=seed)
    ref = explicit(f, mats, sizes)
    rows, cols = shape(Wm, sizes)
    grads = {(p, q): sp.diff(ref, entry(Wm, p, q)) for p in range(rows) for q in range(cols)}
    want = sum(num(g, at) * at[entry(Vm, p, q)] for (p, q), g in grads.items())
    got = value(directional(f, {Wm: Vm}), at, sizes)
    assert got == pytest.approx(want, rel=1e-9, abs=1e-12)
    # one row of the Hessian against SymPy's second derivatives: reverse over reverse (entry by
    # entry) and forward over reverse (Hessian times V)
    i, jj = seed % rows, seed % cols
    row = {(p, q): num(sp.diff(grads[i, jj], entry(Wm, p, q)), at) for p, q in grads}
    Hs = entry_derivative(G, Wm, (c, e_))
    for (p, q), want in row.items():
        got = value(Hs, at, sizes, {a: i, b: jj, c: p, e_: q})
        assert got == pytest.approx(want, rel=1e-8, abs=1e-10), (p, q, Hs)
    Hv = directional(G, {Wm: Vm})
    got = value(Hv, at, sizes, {a: i, b: jj})
    want = sum(h * at[entry(Vm, p, q)] for (p, q), h in row.items())
    assert got == pytest.approx(want, rel=1e-8, abs=1e-10)


# ------------------------------------------------------------------ concrete sizes: unrolled sums re-rolled
# SymPy writes (w.T*x)[0, 0] of a concrete size d as an Add of d products as soon as it is built;
# index_form rolls such Adds back into the Sums the symbolic size gives.


def _big_adds(e, at_least=4):
    return [n for n in sp.preorder_traversal(e) if isinstance(n, sp.Add) and len(n.args) >= at_least]


def test_concrete_logistic_rolls_back_to_the_symbolic_index_form():
    n = 784
    wc, xc = sp.MatrixSymbol("w", n, 1), sp.MatrixSymbol("x", n, 1)
    zc = (wc.T * xc)[0, 0]
    assert isinstance(zc, sp.Add) and len(zc.args) == n  # what SymPy builds
    conc = index_form(softplus(zc) - y * zc + lam / 2 * (wc.T * wc)[0, 0])
    symb = canonical(index_form(logistic).xreplace({d: sp.Integer(n)}))
    assert conc == symb
    assert not _big_adds(conc)
    G = entry_derivative(conc, wc, (a, 0))
    assert not _big_adds(G) and G == canonical(entry_derivative(logistic, w, (a, 0)).xreplace({d: sp.Integer(n)}))


def test_concrete_softmax_rolls_to_nested_sums():
    Kc, dc = 10, 64  # the digits sizes
    Wc, xc, tc = sp.MatrixSymbol("W", Kc, dc), sp.MatrixSymbol("x", dc, 1), sp.MatrixSymbol("t", Kc, 1)
    f = sp.log(sp.Sum(sp.exp((Wc * xc)[k, 0]), (k, 0, Kc - 1))) - (tc.T * Wc * xc)[0, 0]
    g = index_form(f)
    assert not _big_adds(g)
    symb = canonical(index_form(softmax).xreplace({K: sp.Integer(Kc), d: sp.Integer(dc)}))
    lse = [u for u in g.args if isinstance(u, sp.log)]
    assert len(g.args) == 2 and lse == [u for u in symb.args if isinstance(u, sp.log)]
    # (t.T*W*x)[0, 0]: SymPy builds sum_j (sum_i W[i, j]*t[i]) * x[j]: a Sum over j of x[j] * a Sum over i
    lin, = (u for u in g.args if not isinstance(u, sp.log))
    inner, (jj, lo, hi) = peel(lin)
    assert (lo, hi) == (0, dc - 1) and inner.has(xc[jj, 0])
    (s,) = inner.atoms(sp.Sum)
    assert s.limits[0][1:] == (0, Kc - 1) and s.has(Wc[s.limits[0][0], jj] * tc[s.limits[0][0], 0])
    mats = [Wc, xc, tc]
    at = point(mats, sizes={}, seed=5)
    ref = explicit(f, mats, {})
    assert value(g, at, {}) == pytest.approx(num(ref, at), rel=1e-12)
    G = entry_derivative(f, Wc, (a, b))
    assert not _big_adds(G) and not G.has(sp.KroneckerDelta)
    for i, jj in ((0, 0), (3, 17), (9, 63)):
        want = num(sp.diff(ref, entry(Wc, i, jj)), at)
        assert value(G, at, {}, {a: i, b: jj}) == pytest.approx(want, rel=1e-10, abs=1e-13)


def test_irregular_and_partial_term_sets_stay_unrolled():
    wc, xc = sp.MatrixSymbol("w", 10, 1), sp.MatrixSymbol("x", 10, 1)
    gaps = sum(wc[i, 0] * xc[i, 0] for i in (0, 2, 4, 6, 8))  # not a contiguous range
    crossed = sum(wc[i, 0] * xc[9 - i, 0] for i in range(10))  # the two indices do not move together
    mixed = sum(wc[i, 0] * xc[i, 0] for i in range(6)) + wc[9, 0] * xc[0, 0] + wc[7, 0]
    assert index_form(gaps) == gaps and index_form(crossed) == crossed
    assert index_form(wc[0, 0] * xc[0, 0] + wc[2, 0] * xc[2, 0]) == wc[0, 0] * xc[0, 0] + wc[2, 0] * xc[2, 0]
    g = index_form(mixed)  # the run 0..5 rolls, the two others stay
    (s,), rest = g.atoms(sp.Sum), [u for u in g.args if not isinstance(u, sp.Sum)]
    assert s.limits[0][1:] == (0, 5) and sorted(map(str, rest)) == ["w[7, 0]", "w[9, 0]*x[0, 0]"]
    sizes = {}
    for f in (sp.exp(gaps / 4) + crossed ** 2, sp.tanh(mixed) * crossed):
        G = assert_gradient(f, wc, [wc, xc], sizes=sizes)
        assert value(index_form(f), point([wc, xc], sizes=sizes), sizes) == pytest.approx(
            num(explicit(f, [wc, xc], sizes), point([wc, xc], sizes=sizes)), rel=1e-12)
        vc = sp.MatrixSymbol("v", 10, 1)
        at = point([wc, xc, vc], sizes=sizes, seed=2)
        want = sum(value(G, at, sizes, {a: i, b: 0}) * float(at[entry(vc, i, 0)]) for i in range(10))
        assert value(directional(f, {wc: vc}), at, sizes) == pytest.approx(want, rel=1e-10)


def test_rolled_sums_at_small_concrete_sizes_keep_their_derivatives():
    for dc in (3, 4, 5):
        wc, xc, Ac = sp.MatrixSymbol("w", dc, 1), sp.MatrixSymbol("x", dc, 1), sp.MatrixSymbol("A", dc, dc)
        f = softplus((wc.T * xc)[0, 0]) + (wc.T * Ac * wc)[0, 0] ** 2 / 8 + sp.exp((xc.T * Ac * xc)[0, 0] / 9)
        G = assert_gradient(f, wc, [wc, xc, Ac], sizes={})
        assert_gradient(f, Ac, [wc, xc, Ac], sizes={})
        if dc >= 4:
            assert not _big_adds(index_form(f)) and not _big_adds(G)


@st.composite
def concrete_compositions(draw):
    m, n = draw(st.integers(1, 6)), draw(st.integers(1, 5))
    Wm, xm = sp.MatrixSymbol("W", m, n), sp.MatrixSymbol("x", n, 1)
    um, Am = sp.MatrixSymbol("u", m, 1), sp.MatrixSymbol("A", n, n)
    # built lazily: SymPy expands each concrete product as it builds it (the costly part)
    vectors = [lambda: Wm * xm, lambda: Wm * Am * xm, lambda: sp.hadamard_product(Wm * xm, um)]
    scalars = [lambda: (um.T * Wm * xm)[0, 0], lambda: (xm.T * Wm.T * um)[0, 0] / 4, lambda: Wm[0, 0],
               lambda: (um.T * Wm * Am * xm)[0, 0]]
    fn = lambda: draw(st.sampled_from(FUNCS))  # noqa: E731
    pick = lambda pieces: draw(st.sampled_from(pieces))()  # noqa: E731
    terms = [fn()(pick(scalars)) * pick(scalars)]
    if draw(st.booleans()):
        terms.append(sp.Sum(fn()(pick(vectors)[k, 0]), (k, 0, m - 1)))
    # an explicit sum over a random set of rows (a range, a range with holes, anything)
    rows = sorted(draw(st.sets(st.integers(0, m - 1), min_size=1)))
    col = draw(st.integers(0, n - 1))
    picked = sp.Add(*[Wm[i, col] * um[i, 0] for i in rows])
    terms.append(fn()(picked / 4))
    return sp.Add(*terms), Wm, [Wm, xm, um, Am], draw(st.integers(0, 10 ** 6)), (picked, rows)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(concrete_compositions())
def test_index_form_of_concrete_sizes_has_the_same_value(case):
    f, Wm, mats, seed, (picked, rows) = case
    rolled = index_form(picked)
    if len(rows) >= 4 and rows == list(range(rows[0], rows[-1] + 1)):
        assert isinstance(rolled, sp.Sum) and rolled.limits[0][1:] == (rows[0], rows[-1])
    elif not any(all(r + q in rows for q in range(4)) for r in rows):  # no run of 4 rows
        assert rolled == picked
    at = point(mats, sizes={}, seed=seed)
    g = index_form(f)
    ref = explicit(f, mats, {})
    assert value(g, at, {}) == pytest.approx(num(ref, at), rel=1e-10, abs=1e-12)
    assert index_form(g) == g
    G = entry_derivative(f, Wm, (a, b))
    i, jj = seed % int(Wm.shape[0]), seed % int(Wm.shape[1])
    want = num(sp.diff(ref, entry(Wm, i, jj)), at)
    assert value(G, at, {}, {a: i, b: jj}) == pytest.approx(want, rel=1e-9, abs=1e-12)
