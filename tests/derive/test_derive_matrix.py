"""gradient / hessian w.r.t. MatrixSymbols: textbook matrix forms, checked against the scalar path.

The oracle is today's scalar path: the same objective at concrete sizes, the variables
replaced by matrices of plain Symbols and every Sum expanded, differentiated by
``derive.gradient`` / ``derive.hessian`` entry by entry. The matrix forms are evaluated by
substituting sizes and values (``.subs(...).doit().as_explicit()``).
"""
import random

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings, strategies as st
from sympy.matrices.expressions import FunctionMatrix, KroneckerProduct
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.matexpr import MatrixElement

import derive
from derive import InputError
from derive.matrix_form import to_matrix
from derive.ml import sigmoid, softplus

N, d, K, H = sp.symbols("N d K H", integer=True, positive=True)
i, k, l = sp.symbols("i k l", integer=True)
X, y = sp.MatrixSymbol("X", N, d), sp.MatrixSymbol("y", N, 1)
w, x, A = sp.MatrixSymbol("w", d, 1), sp.MatrixSymbol("x", d, 1), sp.MatrixSymbol("A", d, d)
W, t = sp.MatrixSymbol("W", K, d), sp.MatrixSymbol("t", K, 1)
LOGISTIC = sp.Sum(softplus((X * w)[i, 0]) - y[i, 0] * (X * w)[i, 0], (i, 0, N - 1))
SOFTMAX = sp.log(sp.Sum(sp.exp((W * x)[k, 0]), (k, 0, K - 1))) - (t.T * W * x)[0, 0]


def _values(sizes, symbols, seed):
    """Random rational matrices for the MatrixSymbols (at concrete sizes) and numbers for Symbols."""
    rng = random.Random(seed)
    out = {}
    for s in sorted(symbols, key=str):
        if isinstance(s, sp.MatrixSymbol):
            r, c = (int(n) for n in s.xreplace(sizes).shape)
            out[s] = sp.Matrix(r, c, lambda *_: sp.Float(rng.randint(-9, 9) / 8))
        else:
            out[s] = sp.Float(rng.randint(1, 9) / 8)
    return out


def _matrix_symbols(f):
    """Free Symbols and MatrixSymbols of ``f`` (SymPy lists a MatrixSymbol's shape symbols too)."""
    return f.free_symbols | f.atoms(sp.MatrixSymbol)


def _at(M, sizes, values):
    """Evaluate a matrix expression (or scalar) at sizes and values, as a float array."""
    M = M.xreplace(sizes)  # xreplace: subs leaves N in some MatrixSymbol shapes (SymPy 1.14)
    M = M.subs({s.xreplace(sizes): v for s, v in values.items()})
    # closed scalar Sums (a softmax denominator) once, not once per entry
    M = M.replace(lambda e: isinstance(e, sp.Sum) and not e.free_symbols, lambda e: sp.N(e.doit()))
    M = _explicit(M) if isinstance(M, sp.MatrixExpr) else M.doit()
    return np.array(sp.N(M), dtype=float)


def _explicit(M):
    """SymPy's own ``.doit().as_explicit()``, node by node from the leaves (whole-tree
    as_explicit writes every entry of a product as a Sum: the same numbers, 10x slower)."""
    if isinstance(M, sp.MatrixBase):
        return M
    args = [_explicit(a) if isinstance(a, sp.MatrixExpr) else a for a in M.args]
    return M.func(*args).doit().as_explicit().doit()


def _scalar_path(f, wrt, sizes, values):
    """(gradient, Hessian) of the scalar path over the concatenated row-major flattening of wrt."""
    f = f.xreplace(sizes)
    syms, var_sub, point = [], {}, {}
    for v in wrt:
        if isinstance(v, sp.MatrixSymbol):
            vs = v.xreplace(sizes)
            S = sp.Matrix(*vs.shape, lambda r, c: sp.Symbol(f"{v.name}_{r}_{c}"))
            var_sub[vs] = S
            syms += list(S)  # row-major
            point.update(zip(list(S), list(values[v])))
        else:
            syms.append(v)
            point[v] = values[v]
    data = {s.xreplace(sizes): val for s, val in values.items() if s not in wrt}
    fs = f.xreplace(data).xreplace(var_sub).doit()
    g = derive.gradient(fs, syms).subs(point)
    Hs = derive.hessian(fs, syms).subs(point)
    return np.array(sp.N(g), dtype=float).ravel(), np.array(sp.N(Hs), dtype=float)


def _check_against_scalar_path(f, wrt, sizes, seed=0, hessian=True):
    variables = list(wrt) if isinstance(wrt, (list, tuple)) else [wrt]
    values = _values(sizes, (_matrix_symbols(f) | set(variables)) - set(sizes), seed)
    g_ref, H_ref = _scalar_path(f, variables, sizes, values)
    g = derive.gradient(f, wrt)
    parts = g if isinstance(wrt, (list, tuple)) else [g]
    g_mat = np.concatenate([np.atleast_1d(_at(p, sizes, values)).ravel() for p in parts])
    np.testing.assert_allclose(g_mat, g_ref, rtol=1e-10, atol=1e-12)
    if hessian:
        H_mat = _at(derive.hessian(f, wrt), sizes, values)
        np.testing.assert_allclose(H_mat, H_ref, rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------------ the examples


def test_logistic_loss_reads_like_the_textbook():
    g, Hs = derive.gradient(LOGISTIC, w), derive.hessian(LOGISTIC, w)
    assert g.shape == (d, 1) and Hs.shape == (d, d)
    assert str(g) == "X.T*(Lambda(_z, sigmoid(_z)).(X*w) - y)"  # X^T (sigma(X w) - y)
    assert str(Hs) == "X.T*DiagMatrix(Lambda(_z, (1 - sigmoid(_z))*sigmoid(_z)).(X*w))*X"
    for M in (g, Hs):  # matrix level: no entry, no fallback, nothing unrolled
        assert not M.has(FunctionMatrix) and not M.atoms(MatrixElement)
        assert M.has(ElementwiseApplyFunction)


def test_the_documented_evaluation_idiom():
    Xv = sp.Matrix([[1, 2], [0, -1], [3, 1]]) / 4
    values = {N: 3, d: 2, X: Xv, w: sp.Matrix([1, -1]) / 2, y: sp.Matrix([0, 1, 1])}
    g = derive.gradient(LOGISTIC, w).subs(values).doit().as_explicit()
    z = Xv * values[w]
    expected = Xv.T * (z.applyfunc(lambda v: 1 / (1 + sp.exp(-v))) - values[y])
    np.testing.assert_allclose(np.array(sp.N(g), float), np.array(sp.N(expected), float), rtol=1e-12)


@pytest.mark.parametrize("n_rows, n_features", [(4, 2), (6, 3)])
def test_logistic_loss_equals_the_scalar_path(n_rows, n_features):
    _check_against_scalar_path(LOGISTIC, w, {N: n_rows, d: n_features}, seed=n_rows)


def test_ridge_and_quadratic_form():
    assert derive.gradient((w.T * w)[0, 0] / 2, w) == w
    assert derive.hessian((w.T * w)[0, 0] / 2, w) == sp.Identity(d)
    quad = (w.T * A * w)[0, 0]
    assert derive.gradient(quad, w) == (A + A.T) * w
    assert derive.hessian(quad, w) == A + A.T
    assert derive.gradient(w.T * A * w, w) == (A + A.T) * w  # a 1x1 matrix expression is f[0, 0]
    _check_against_scalar_path(quad + (w.T * w)[0, 0] / 2, w, {d: 3})


def test_softmax_regression_gradient_is_p_minus_t_times_x_transposed():
    g = derive.gradient(SOFTMAX, W)
    assert g.shape == W.shape
    assert isinstance(g, sp.MatMul) and g.args[-1] == x.T  # (p - t) x^T
    assert not g.has(FunctionMatrix)
    Hs = derive.hessian(SOFTMAX, W)
    assert Hs.shape == (K * d, K * d)  # row-major flattening of W, codegen's layout of x
    assert isinstance(Hs, KroneckerProduct) and Hs.args[1] == x * x.T  # (Diag(p) - p p^T) (x) x x^T
    _check_against_scalar_path(SOFTMAX, W, {K: 3, d: 2}, seed=3)


def test_a_list_of_variables_gives_per_variable_gradients_and_a_block_hessian():
    W1, W2, b = sp.MatrixSymbol("W1", H, d), sp.MatrixSymbol("W2", 1, H), sp.Symbol("b")
    f = sp.Sum(W2[0, k] * sp.tanh((W1 * x)[k, 0]), (k, 0, H - 1)) + b**2 * (W2 * W2.T)[0, 0]
    g1, g2, gb = derive.gradient(f, [W1, W2, b])
    assert (g1.shape, g2.shape) == ((H, d), (1, H)) and not isinstance(gb, sp.MatrixExpr)
    Hs = derive.hessian(f, [W1, W2, b])
    assert isinstance(Hs, sp.BlockMatrix) and Hs.shape == (H * d + H + 1, H * d + H + 1)
    _check_against_scalar_path(f, [W1, W2, b], {H: 3, d: 2}, seed=5)


def test_one_hidden_layer_network_gradients_are_backpropagation():
    j = sp.Symbol("j", integer=True)
    W1, W2 = sp.MatrixSymbol("W1", H, d), sp.MatrixSymbol("W2", K, H)
    z = [sp.Sum(W2[kk, j] * sp.tanh((W1 * x)[j, 0]), (j, 0, H - 1)) for kk in (k, l)]
    f = sp.log(sp.Sum(sp.exp(z[0]), (k, 0, K - 1))) - sp.Sum(t[l, 0] * z[1], (l, 0, K - 1))
    g1, g2 = derive.gradient(f, [W1, W2])
    assert (g1.shape, g2.shape) == ((H, d), (K, H))
    assert not g1.has(FunctionMatrix) and not g2.has(FunctionMatrix)
    assert g1.args[-1] == x.T  # (tanh'(W1 x) o W2^T (p - t)) x^T
    # the Hessian's cross block (W1, W2) falls back to a FunctionMatrix: checked on smaller models
    _check_against_scalar_path(f, [W1, W2], {K: 2, H: 2, d: 1}, seed=1, hessian=False)


def test_concrete_sizes_and_a_1x1_variable():
    v, B, s = sp.MatrixSymbol("v", 3, 1), sp.MatrixSymbol("B", 2, 3), sp.MatrixSymbol("s", 1, 1)
    f = sp.Sum(sp.exp((B * v)[k, 0]), (k, 0, 1)) + s[0, 0] ** 2 * (v.T * v)[0, 0]
    assert derive.gradient(f, v).shape == (3, 1)
    assert derive.gradient(f, s).shape == (1, 1)
    _check_against_scalar_path(f, [v, s], {}, seed=4)


def test_plain_symbols_keep_the_explicit_matrix():
    a, c = sp.symbols("a c")
    assert derive.gradient(a**2 * c, [a, c]) == sp.Matrix([2 * a * c, a**2])


# ------------------------------------------------------------------ the fallback


def test_what_matches_no_pattern_falls_back_to_a_function_matrix_that_evaluates():
    diag = sp.Sum(w[k, 0] ** 2 * A[k, k], (k, 0, d - 1))  # the diagonal of A: no matrix product
    g = derive.gradient(diag, w)
    assert g.shape == (d, 1) and g.has(FunctionMatrix)
    _check_against_scalar_path(diag, w, {d: 3}, seed=7)
    V = sp.MatrixSymbol("V", K, K)
    trace_of_square = sp.Sum(sp.Sum(V[k, l] * V[l, k], (k, 0, K - 1)), (l, 0, K - 1))
    Hs = derive.hessian(trace_of_square, V)  # a commutation matrix: no Kronecker product
    assert Hs.shape == (K**2, K**2) and Hs.has(FunctionMatrix)
    _check_against_scalar_path(trace_of_square, V, {K: 2}, seed=8)


def test_converter_rules_on_index_expressions():
    a, b = sp.symbols("a b", integer=True)
    assert to_matrix(w[a, 0] * y[b, 0], (a, d), (b, N)) == w * y.T
    assert to_matrix(3 * sp.KroneckerDelta(a, b), (a, d), (b, d)) == 3 * sp.Identity(d)
    s = sp.Sum(X[i, a] * X[i, b] * y[i, 0], (i, 0, N - 1))
    assert to_matrix(s, (a, d), (b, d)) == X.T * sp.DiagMatrix(y) * X
    assert to_matrix(sp.Integer(2), (a, d)) == 2 * sp.OneMatrix(d, 1)


def test_nonsmooth_entries_are_real_and_dirac_drop_applies():
    f = sp.Sum(sp.Abs(w[k, 0]), (k, 0, d - 1))
    assert str(derive.gradient(f, w)) == "Lambda(_z, sign(_z)).(w)"
    assert derive.hessian(f, w, dirac="drop") == sp.ZeroMatrix(d, d)


# ------------------------------------------------------------------ random compositions

UNARY = [sp.exp, sp.sin, sp.tanh, sigmoid, softplus, lambda z: z**2, lambda z: z**3 / 3]


@settings(max_examples=5, deadline=None)
@given(st.sampled_from(UNARY), st.sampled_from(UNARY), st.sampled_from(UNARY),
       st.integers(-2, 2), st.sampled_from([(2, 1), (2, 2)]), st.integers(0, 99))
def test_random_compositions_of_a_vector_model_equal_the_scalar_path(g1, g2, g3, c, shape, seed):
    f = sp.Sum(g1(g2((X * w)[i, 0]) + c * y[i, 0]), (i, 0, N - 1)) + sp.Sum(g3(w[k, 0]), (k, 0, d - 1))
    _check_against_scalar_path(f, w, {N: shape[0], d: shape[1]}, seed=seed)


@settings(max_examples=4, deadline=None)
@given(st.sampled_from(UNARY), st.sampled_from(UNARY), st.sampled_from([(2, 1), (2, 2)]),
       st.integers(0, 99))
def test_random_compositions_of_a_matrix_model_equal_the_scalar_path(g1, g2, shape, seed):
    f = sp.Sum(t[k, 0] * g1((W * x)[k, 0]), (k, 0, K - 1)) + g2((t.T * W * x)[0, 0])
    _check_against_scalar_path(f, W, {K: shape[0], d: shape[1]}, seed=seed)


_a, _b = sp.symbols("a b", integer=True)
U = sp.MatrixSymbol("U", N, 1)
FACTORS = [X[i, _a], X[i, _b], U[i, 0], w[_a, 0], x[_b, 0], A[_a, _b], A[_b, _a],
           sp.KroneckerDelta(_a, _b), sp.tanh(U[i, 0]), sp.exp((X * w)[i, 0]), sp.Integer(3),
           sigmoid(w[_a, 0] * x[_b, 0]), w[_a, 0] ** 2]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.lists(st.sampled_from(FACTORS), min_size=1, max_size=4), min_size=1, max_size=3),
       st.integers(0, 99))
def test_random_index_expressions_convert_to_equal_matrices(terms, seed):
    """The converter alone: its matrix form against the entry itself in a FunctionMatrix."""
    e = sp.Add(*[sp.Sum(t, (i, 0, N - 1)) if t.has(i) else t for t in (sp.Mul(*ts) for ts in terms)])
    M = to_matrix(e, (_a, d), (_b, d))
    assert M.shape == (d, d)
    sizes = {N: 3, d: 2}
    values = _values(sizes, [X, U, w, x, A], seed)
    reference = sp.FunctionMatrix(d, d, sp.Lambda((_a, _b), e))
    np.testing.assert_allclose(_at(M, sizes, values), _at(reference, sizes, values), rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------------ errors


def test_errors_name_the_problem():
    with pytest.raises(InputError, match=r"wrt\[1\] = 2\*b"):
        derive.gradient(LOGISTIC, [w, 2 * sp.Symbol("b")])
    with pytest.raises(InputError, match="lists the variable w twice"):
        derive.hessian(LOGISTIC, [w, w])
    with pytest.raises(InputError, match=r"dxd matrix expression w\*w.T"):
        derive.gradient(w * w.T, w)
    with pytest.raises(InputError, match="has rows n"):
        derive.gradient(LOGISTIC, sp.MatrixSymbol("v", sp.Symbol("n"), 1))
    with pytest.raises(InputError, match="only gradient and hessian"):
        derive.jacobian([w[0, 0]], w)
    with pytest.raises(InputError, match="Trace"):
        derive.gradient(sp.Trace(A * w * w.T), w)
