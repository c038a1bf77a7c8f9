"""The symbolic stage of matrix models: index form, gradient entries, Hessian-vector product,
Hessian blocks (:mod:`derive.indexed` does the calculus), never unrolled into entries.

For each wrt entry ``W`` (k-th) the gradient entry at ``(a_k, b_k)`` is
``entry_derivative(f, W, (a_k, b_k))``; the Hessian-vector product's entry is
``directional(G_W, {U: V_U})`` summed over the wrt ``U``, with ``V_U`` a MatrixSymbol of U's shape
read from ``v``; the Hessian block (W, U) is ``entry_derivative(G_W, U, (c_l, e_l))``.  A
scalar Symbol among wrt is differentiated with ``diff``.

>>> import sympy as sp
>>> d = sp.Symbol("d", integer=True, positive=True)
>>> w = sp.MatrixSymbol("w", d, 1)
>>> part = derive_part(sp.exp((w.T * w)[0, 0]), (w,), order=1)
>>> part.grads[0].has(sp.Sum), part.row_idx[0][1]
(True, 0)
"""
from dataclasses import dataclass

import sympy as sp

from derive._validate import RealVars
from derive.indexed import directional, entry_derivative, index_form

from .errors import CodegenError
from .loops import stable_lse
from .matrix_layout import is_matrix, shape_of
from .printer import expand_exp_sharing, steps_ae
from .rewrite import stabilize

__all__ = ["Part", "derive_part", "tangent"]


@dataclass(frozen=True, eq=False)
class Part:
    """Index-form outputs of one scalar expression (the per-row term, or the penalty)."""

    value: sp.Expr
    grads: tuple  # per wrt entry: the gradient entry at row_idx[k]
    hessp: tuple  # per wrt entry: the Hessian-vector product's entry at row_idx[k] (or ())
    hess: dict  # (k, l), k <= l -> the Hessian entry at (row_idx[k], col_idx[l])
    row_idx: tuple  # per wrt entry: (a, b), b = 0 for a column vector, () for a Symbol
    col_idx: tuple
    tangents: tuple  # per wrt entry: the MatrixSymbol (or Symbol) read from v


def _indices(k, W, first, second):
    if not is_matrix(W):
        return ()
    r, c = shape_of(W)
    a = sp.Symbol(f"_{first}{k}", integer=True)
    b = sp.Symbol(f"_{second}{k}", integer=True) if c != 1 else sp.S.Zero
    if r == 1:
        a = sp.S.Zero
    return (a, b)


def tangent(k, W):
    """The direction entry of wrt ``k`` in a Hessian-vector product."""
    if is_matrix(W):
        return sp.MatrixSymbol(f"_V{k}", *W.shape)
    return sp.Symbol(f"_v{k}", real=True)


def _d(e, W, idx):
    if is_matrix(W):
        return entry_derivative(e, W, idx)
    return sp.diff(e, W)


def _prepare(f, stable):
    F = index_form(f)
    if stable:
        F = stabilize(F)
    return steps_ae(F)


def derive_part(f, wrt, order=2, stable=True, lap=lambda stage: None):
    """The :class:`Part` of expression ``f`` (index form is taken here) for ``wrt``."""
    real = RealVars([f], [s for s in wrt if not is_matrix(s)])
    wrt_r = tuple(s if is_matrix(s) else real.fwd(s) for s in wrt)
    try:
        F = _prepare(real.fwd(f), stable)
    except Exception as exc:
        if type(exc).__name__ == "InputError":
            raise CodegenError(str(exc)) from exc
        raise
    lap("rewrite")
    rows = tuple(_indices(k, W, "a", "b") for k, W in enumerate(wrt))
    cols = tuple(_indices(k, W, "c", "e") for k, W in enumerate(wrt))
    grads = tuple(_d(F, W, rows[k]) for k, W in enumerate(wrt_r))
    lap("gradient")
    tans = tuple(tangent(k, W) for k, W in enumerate(wrt))
    hessp, hess = (), {}
    if order >= 2:
        mats = {W: V for W, V in zip(wrt_r, tans) if is_matrix(W)}
        hp = []
        for G in grads:
            e = directional(G, mats) if mats else sp.S.Zero
            for W, V in zip(wrt_r, tans):
                if not is_matrix(W):
                    e = e + sp.diff(G, W) * V
            hp.append(e)
        hessp = tuple(hp)
        for k, G in enumerate(grads):
            for m in range(k, len(wrt)):
                hess[(k, m)] = _d(G, wrt_r[m], cols[m])
        lap("hessian")
    def done(e):
        return expand_exp_sharing(stable_lse(real.back(e)))
    return Part(done(F), tuple(done(g) for g in grads), tuple(done(h) for h in hessp),
                {k: done(h) for k, h in hess.items()}, rows, cols, tans)
