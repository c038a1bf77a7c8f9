"""Derivatives of scalar and vector expressions: gradient, Jacobian, Hessian.

Every variable is treated as real (see :class:`derive._validate.RealVars`), so
``gradient(Abs(x), x)`` is ``sign(x)`` even for a plain ``sympy.Symbol("x")``.
"""
import sympy as sp

from ._validate import InputError, RealVars, as_scalar, as_vector, as_wrt


def gradient(f, wrt):
    """Gradient of a scalar ``f`` as an n x 1 Matrix.

    >>> import sympy as sp
    >>> x, y = sp.symbols("x y")
    >>> gradient(x**2 * y, [x, y])
    Matrix([
    [2*x*y],
    [ x**2]])
    >>> gradient(sp.Abs(x), x)
    Matrix([[sign(x)]])
    """
    r, fr, ws = _in_real_vars(f, wrt)
    return r.back(sp.Matrix([sp.diff(fr, s) for s in ws]))


def jacobian(F, wrt):
    """Jacobian of a vector ``F`` (sequence or vector Matrix of m expressions) as an m x n Matrix.

    >>> import sympy as sp
    >>> x, y = sp.symbols("x y")
    >>> jacobian([x * y, x + y], [x, y])
    Matrix([
    [y, x],
    [1, 1]])
    """
    wrt = as_wrt(wrt)
    F = as_vector(F)
    r = RealVars(F, wrt)
    ws = [r.fwd(s) for s in wrt]
    rows = []
    for e in F:
        er = r.fwd(e)
        rows.append([r.back(sp.diff(er, s)) for s in ws])
    return sp.Matrix(rows)


def hessian(f, wrt):
    """Hessian of a scalar ``f`` as a symmetric n x n Matrix.

    Only the upper triangle is differentiated (from the gradient) and mirrored,
    so the result is symmetric by construction.

    >>> import sympy as sp
    >>> x, y = sp.symbols("x y")
    >>> hessian(x**3 + x * y**2, [x, y])
    Matrix([
    [6*x, 2*y],
    [2*y, 2*x]])
    """
    r, fr, ws = _in_real_vars(f, wrt)
    return r.back(_gradient_hessian(fr, ws)[1])


def directional_derivative(f, wrt, v):
    """Derivative of ``f`` along the direction ``v`` (not normalised): grad(f) . v.

    >>> import sympy as sp
    >>> x, y = sp.symbols("x y")
    >>> directional_derivative(x**2 + 3*y, [x, y], [1, 2])
    2*x + 6
    """
    wrt = as_wrt(wrt)
    vs = as_vector(v, "v")
    if len(vs) != len(wrt):
        raise InputError(f"v has {len(vs)} components but wrt has {len(wrt)} variables {list(wrt)}")
    g = gradient(f, wrt)
    return sp.Add(*[gi * vi for gi, vi in zip(g, vs)])


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
