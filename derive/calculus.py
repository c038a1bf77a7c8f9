"""Derivatives of scalar and vector expressions: gradient, Jacobian, Hessian.

Every variable is treated as real (see :class:`derive._validate.RealVars`), so
``gradient(Abs(x), x)`` is ``sign(x)`` even for a plain ``sympy.Symbol("x")``.

Non-smooth functions (Abs, Max/Min, Piecewise, Heaviside, relu) are differentiated
almost everywhere: SymPy's derivative of a step is a DiracDelta, a point mass at the
kink, which compiled code (``codegen``) evaluates as 0. ``dirac="drop"`` removes those
terms so that the printed derivative is the one computed; ``dirac="keep"`` (the default)
shows them.

Variables may be MatrixSymbols (vectors (d, 1), matrices (m, n), sizes integers or
integer Symbols): ``gradient`` and ``hessian`` then return SymPy matrix expressions that
read like the textbook and are never unrolled into entries (see :mod:`derive.matrix_form`),
e.g. ``X.T*(sigmoid.(X*w) - y)`` for the logistic loss. Evaluate them with
``M.subs({d: 3, w: Matrix(...), ...}).doit().as_explicit()``.
"""
import sympy as sp
from sympy.matrices.expressions import BlockMatrix

from ._validate import (
    InputError, RealVars, as_matrix_objective, as_matrix_wrt, as_scalar, as_vector, as_wrt,
)
from .matrix_form import gradient_form, hessian_block, transpose
from .smoothness import check_dirac, drop_dirac


def _finish(e, dirac):
    return drop_dirac(e) if dirac == "drop" else e


def gradient(f, wrt, dirac="keep"):
    """Gradient of a scalar ``f``: an n x 1 Matrix, or a matrix expression for a MatrixSymbol.

    ``wrt`` is a Symbol or a sequence of Symbols (the gradient is an explicit n x 1
    Matrix), or a MatrixSymbol W (the gradient is a matrix expression of W's shape, never
    unrolled into entries), or a sequence holding MatrixSymbols and Symbols (a tuple of
    per-variable gradients: matrix expressions, and scalar expressions for Symbols).
    ``f`` is in index form (:mod:`derive.indexed`): entries ``W[i, j]``, ``Sum`` over index
    symbols, products such as ``(X*w)[i, 0]``; a 1x1 matrix expression is taken at [0, 0].
    ``dirac="drop"`` removes DiracDelta terms (derivatives of steps: zero almost
    everywhere, as compiled code evaluates them); "keep" shows them.

    >>> import sympy as sp
    >>> x, y = sp.symbols("x y")
    >>> gradient(x**2 * y, [x, y])
    Matrix([
    [2*x*y],
    [ x**2]])
    >>> gradient(sp.Abs(x), x)
    Matrix([[sign(x)]])
    >>> from derive.ml import softplus
    >>> N, d = sp.symbols("N d", integer=True, positive=True)
    >>> X, w, t = sp.MatrixSymbol("X", N, d), sp.MatrixSymbol("w", d, 1), sp.MatrixSymbol("t", N, 1)
    >>> i = sp.Symbol("i", integer=True)
    >>> g = gradient(sp.Sum(softplus((X*w)[i, 0]) - t[i, 0]*(X*w)[i, 0], (i, 0, N - 1)), w)
    >>> g, g.shape
    (X.T*(Lambda(_z, sigmoid(_z)).(X*w) - t), (d, 1))
    >>> gradient((w.T*w)[0, 0] / 2 + x * (t.T*X*w)[0, 0], [w, x])
    (x*X.T*t + w, Sum(...))
    """
    check_dirac(dirac)
    matrix_wrt = as_matrix_wrt(wrt)
    if matrix_wrt is not None:
        return _matrix_derivative(f, *matrix_wrt, dirac, hessian=False)
    r, fr, ws = _in_real_vars(f, wrt)
    return r.back(_finish(sp.Matrix([sp.diff(fr, s) for s in ws]), dirac))


def jacobian(F, wrt, dirac="keep"):
    """Jacobian of a vector ``F`` (sequence or vector Matrix of m expressions) as an m x n Matrix.

    ``dirac="drop"`` removes DiracDelta terms (see :func:`gradient`).

    >>> import sympy as sp
    >>> x, y = sp.symbols("x y")
    >>> jacobian([x * y, x + y], [x, y])
    Matrix([
    [y, x],
    [1, 1]])
    """
    check_dirac(dirac)
    wrt = as_wrt(wrt)
    F = as_vector(F)
    r = RealVars(F, wrt)
    ws = [r.fwd(s) for s in wrt]
    rows = []
    for e in F:
        er = r.fwd(e)
        rows.append([r.back(sp.diff(er, s)) for s in ws])
    return _finish(sp.Matrix(rows), dirac)


def hessian(f, wrt, dirac="keep"):
    """Hessian of a scalar ``f`` as a symmetric n x n Matrix.

    Only the upper triangle is differentiated (from the gradient) and mirrored,
    so the result is symmetric by construction. ``dirac="drop"`` removes DiracDelta
    terms, the point masses at kinks that compiled code evaluates as 0:

    >>> import sympy as sp
    >>> x, y = sp.symbols("x y")
    >>> hessian(x**3 + x * y**2, [x, y])
    Matrix([
    [6*x, 2*y],
    [2*y, 2*x]])
    >>> hessian(sp.Abs(x) + x**2, x), hessian(sp.Abs(x) + x**2, x, dirac="drop")
    (Matrix([[2*DiracDelta(x) + 2]]), Matrix([[2]]))

    With respect to a MatrixSymbol the Hessian is a matrix expression over the
    row-major flattening of the variable (codegen's layout of x): (d, d) for a vector
    (d, 1), (m*n, m*n) for a matrix (m, n), ``KroneckerProduct`` where the entry
    separates (softmax regression: ``(Diag(p) - p p^T) (x) x x^T``), a FunctionMatrix
    over the flat indices where it does not. A sequence holding MatrixSymbols gives a
    ``BlockMatrix`` over the concatenation of the flattened variables, in order.

    >>> from derive.ml import softplus
    >>> N, d = sp.symbols("N d", integer=True, positive=True)
    >>> X, w, t = sp.MatrixSymbol("X", N, d), sp.MatrixSymbol("w", d, 1), sp.MatrixSymbol("t", N, 1)
    >>> i = sp.Symbol("i", integer=True)
    >>> hessian(sp.Sum(softplus((X*w)[i, 0]) - t[i, 0]*(X*w)[i, 0], (i, 0, N - 1)), w)
    X.T*DiagMatrix(Lambda(_z, (1 - sigmoid(_z))*sigmoid(_z)).(X*w))*X
    """
    check_dirac(dirac)
    matrix_wrt = as_matrix_wrt(wrt)
    if matrix_wrt is not None:
        return _matrix_derivative(f, *matrix_wrt, dirac, hessian=True)
    r, fr, ws = _in_real_vars(f, wrt)
    return r.back(_finish(_gradient_hessian(fr, ws)[1], dirac))


def directional_derivative(f, wrt, v, dirac="keep"):
    """Derivative of ``f`` along the direction ``v`` (not normalised): grad(f) . v.

    ``dirac="drop"`` removes DiracDelta terms (see :func:`gradient`).

    >>> import sympy as sp
    >>> x, y = sp.symbols("x y")
    >>> directional_derivative(x**2 + 3*y, [x, y], [1, 2])
    2*x + 6
    """
    wrt = as_wrt(wrt)
    vs = as_vector(v, "v")
    if len(vs) != len(wrt):
        raise InputError(f"v has {len(vs)} components but wrt has {len(wrt)} variables {list(wrt)}")
    g = gradient(f, wrt, dirac=dirac)
    return sp.Add(*[gi * vi for gi, vi in zip(g, vs)])


def _matrix_derivative(f, variables, single, dirac, hessian):
    """Gradient (a tuple, one per variable) or Hessian (a BlockMatrix) at the matrix level.

    Plain Symbols among the variables and in ``f`` are made real first (as for the scalar
    path); matrix entries are real in :mod:`derive.indexed` already.
    """
    from .indexed import index_form  # noqa: PLC0415 (indexed imports _validate)

    f = index_form(as_matrix_objective(f))
    r = RealVars([f], [v for v in variables if isinstance(v, sp.Symbol)])
    fr = r.fwd(f)
    vs = [r.fwd(v) for v in variables]

    def finish(e):
        return _finish(e, dirac)

    if not hessian:
        out = tuple(r.back(gradient_form(fr, v, finish)) for v in vs)
        return out[0] if single else out
    n = len(vs)
    blocks = [[None] * n for _ in range(n)]
    for i in range(n):
        for j in range(i, n):
            blocks[i][j] = r.back(hessian_block(fr, vs[i], vs[j], finish))
            if j > i:
                blocks[j][i] = transpose(blocks[i][j])
    return blocks[0][0] if single else BlockMatrix(blocks)


def _in_real_vars(f, wrt):
    """``(r, fr, ws)``: the checked scalar ``f`` and variables ``wrt`` in real variables.

    ``r`` is the :class:`~derive._validate.RealVars` map (``r.back`` maps results back),
    ``fr`` is f and ``ws`` the tuple of variables, both written in the real symbols.
    """
    wrt = as_wrt(wrt)
    f = as_scalar(f)
    r = RealVars([f], wrt)
    return r, r.fwd(f), tuple(r.fwd(s) for s in wrt)


def _gradient_hessian(fr, ws):
    """The gradient (a list) and the Hessian (a symmetric Matrix) of ``fr`` in the variables ``ws``.

    The one Hessian loop of derive: only the upper triangle is differentiated (from
    the gradient) and mirrored, so the Hessian is symmetric by construction. ``fr``
    and ``ws`` are already in real variables (see :func:`_in_real_vars`).

    >>> import sympy as sp
    >>> x, y = sp.symbols("x y", real=True)
    >>> _gradient_hessian(x**2 * y, (x, y))
    ([2*x*y, x**2], Matrix([
    [2*y, 2*x],
    [2*x,   0]]))
    """
    g = [sp.diff(fr, s) for s in ws]
    n = len(ws)
    H = sp.zeros(n, n)
    for i in range(n):
        for j in range(i, n):
            H[i, j] = H[j, i] = sp.diff(g[i], ws[j])
    return g, H


__all__ = ["gradient", "jacobian", "hessian", "directional_derivative"]
