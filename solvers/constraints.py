"""General constraints ``eq(x) = 0`` and ``ineq(x) <= 0`` as the solver loops see them.

A :class:`Block` is one vector function c: R^n -> R^m with its Jacobian in compressed sparse
rows: ``value(x, p) -> c`` and ``jac_values(x, p) -> J.data`` in the order of the fixed
pattern (``indptr``, ``indices``). From SymPy expressions it is compiled with
``codegen.compile_vector`` (the Jacobian's pattern decided symbolically, so a constraint
touching two variables costs two entries); a compiled ``codegen.CompiledVectorFunction`` is
used as it is; SciPy's ``constraints=`` dicts (Python callables) give a Python block with a
dense pattern. :func:`as_constraints` builds the equality and the inequality block of a
problem; derive.kkt's convention holds throughout (eq means ``= 0``, ineq ``<= 0``; SciPy's
``"ineq"`` means ``fun >= 0`` and is negated here).

>>> import numpy as np
>>> c = as_constraints(None, None, [{"type": "ineq", "fun": lambda x: x[0] - 1.0}], 2)
>>> c.ineq.m, c.ineq.value(np.array([3.0, 0.0]), c.ineq.p).tolist()
(1, [-2.0])
"""
from __future__ import annotations

import weakref
from typing import Callable, NamedTuple

import numpy as np
from numba import njit, types

from .numba_shims import KernelCompileError, KernelRef

__all__ = ["Block", "Constraints", "as_constraints", "ConstraintError"]

_vec = types.Array(types.float64, 1, "C")
_KERNEL_TYPE = types.FunctionType(_vec(_vec, _vec))  # value / jac_values: (x, p) -> array


class ConstraintError(ValueError):
    """A constraint is malformed: wrong type, a symbol outside the variables, a wrong shape."""


class Block(NamedTuple):
    """One vector function with its sparse Jacobian (CSR pattern ``indptr``, ``indices``).

    ``value`` and ``jac_values`` are first-class jit kernels (compiled blocks) or Python
    callables; ``p`` is the parameter vector both take after ``x``.
    """

    value: Callable
    jac_values: Callable
    p: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray
    m: int
    compiled: bool


class Constraints(NamedTuple):
    """The equality block (``= 0``) and the inequality block (``<= 0``) of a problem."""

    eq: Block
    ineq: Block

    @property
    def compiled(self):
        return self.eq.compiled and self.ineq.compiled


@njit(cache=True)
def _empty(x, p):
    return np.empty(0)


_EMPTY_REF = None


def _empty_block(compiled):
    """A block of no constraints (m = 0) of the right kind, so loops see one layout."""
    global _EMPTY_REF
    ptr = np.zeros(1, dtype=np.int64)
    idx = np.zeros(0, dtype=np.int64)
    if not compiled:
        return Block(_empty.py_func, _empty.py_func, np.empty(0), ptr, idx, 0, False)
    if _EMPTY_REF is None:
        _EMPTY_REF = KernelRef(_empty, _KERNEL_TYPE)
    return Block(_EMPTY_REF, _EMPTY_REF, np.empty(0), ptr, idx, 0, True)


def _is_vector_function(c):
    return hasattr(c, "jit") and hasattr(c, "jac_pattern") and hasattr(c, "m")


def _items(given, name):
    if given is None:
        return []
    if _is_vector_function(given) or isinstance(given, str) or hasattr(given, "free_symbols"):
        if hasattr(given, "shape") and not _is_vector_function(given):  # a SymPy Matrix
            return list(given)
        return [given]
    try:
        return list(given)
    except TypeError:
        raise ConstraintError(f"{name} must be a list of expressions or a compiled vector "
                              f"function, got {type(given).__name__}") from None


def _compiled_block(F, name, n, params, args):
    if F.n != n:
        raise ConstraintError(f"{name}: the compiled vector function has n={F.n} variables, "
                              f"the objective {n}")
    if tuple(getattr(F, "params", ())) and not args:
        raise ConstraintError(f"{name}: the compiled vector function takes params; pass their "
                              "values in args=")
    p = F.pack_args(*args)[0] if tuple(getattr(F, "params", ())) else F.pack_args()[0]
    try:
        parts = _PARTS.get(F)
    except TypeError:  # not weak-referenceable
        parts = None
    if parts is None:
        try:
            value = KernelRef(F.jit.value, _KERNEL_TYPE)
            jac = KernelRef(F.jit.jacobian_values, _KERNEL_TYPE)
        except KernelCompileError as exc:
            raise ConstraintError(f"{name}: {exc}") from exc
        pat = F.jac_pattern
        parts = (value, jac, np.ascontiguousarray(pat.indptr, dtype=np.int64),
                 np.ascontiguousarray(pat.indices, dtype=np.int64))
        try:
            _PARTS[F] = parts
        except TypeError:
            pass
    value, jac, indptr, indices = parts
    return Block(value, jac, np.ascontiguousarray(p, dtype=np.float64), indptr, indices,
                 int(F.m), True)


_PARTS = weakref.WeakKeyDictionary()  # vector function -> its kernel references and pattern


def _check_symbols(exprs, name, wrt, params):
    known = set(wrt) | set(params)
    names = ", ".join(str(s) for s in wrt)
    for i, e in enumerate(exprs):
        for s in sorted(getattr(e, "free_symbols", ()), key=str):
            if s not in known:
                raise ConstraintError(
                    f"{name}[{i}] = {e} contains the symbol {str(s)!r}, which is not among the "
                    f"variables wrt=[{names}]" + (" or the params" if params else "")
                    + "; constraints must be expressions in the objective's variables")


def _symbolic_block(exprs, name, wrt, params, args):
    """One compiled block from SymPy expressions or formula text (codegen, imported here so
    that ``import solvers`` loads no SymPy)."""
    _check_symbols(exprs, name, wrt, params)
    import codegen
    try:
        F = codegen.compile_vector(exprs, wrt, params)
    except codegen.CodegenError as exc:
        raise ConstraintError(f"{name}: {exc}") from exc
    return _compiled_block(F, name, len(wrt), params, args)


def _block(items, name, n, wrt, params, args):
    if not items:
        return None
    vfs = [c for c in items if _is_vector_function(c)]
    if vfs:
        if len(items) > 1:
            raise ConstraintError(f"{name}: give either SymPy expressions or one compiled vector "
                                  f"function (codegen.compile_vector of all of them), not a mix "
                                  f"of {len(items)} items")
        return _compiled_block(vfs[0], name, n, params, args)
    bad = [i for i, c in enumerate(items) if callable(c) and not hasattr(c, "free_symbols")]
    if bad:
        raise ConstraintError(f"{name}[{bad[0]}] is a Python callable: pass Python constraint "
                              "functions as SciPy's constraints=[{'type': 'eq'/'ineq', 'fun': "
                              "..., 'jac': ...}]")
    if wrt is None:
        raise ConstraintError(f"{name}: constraints given as expressions need the variables: "
                              "pass wrt=, or a compiled objective (codegen.compile)")
    return _symbolic_block(items, name, wrt, params, args)


def as_constraints(eq, ineq, constraints, n, wrt=None, params=(), args=(), x0=None):
    """:class:`Constraints` of ``n`` variables from ``eq`` / ``ineq`` (SymPy expressions or
    formula text in ``wrt``, or one ``CompiledVectorFunction`` each) or SciPy's
    ``constraints`` dicts (Python callables, negated for ``"ineq"``; ``x0`` tells their
    sizes). ``params`` / ``args``: the objective's parameter symbols and values, shared by the
    constraints."""
    dicts = _scipy_items(constraints)
    eq_items, in_items = _items(eq, "eq"), _items(ineq, "ineq")
    if dicts and (eq_items or in_items):
        raise ConstraintError("give constraints either as eq=/ineq= (expressions or compiled "
                              "vector functions) or as SciPy's constraints= dicts, not both")
    if dicts:
        e, i = _python_blocks(dicts, n, np.zeros(n) if x0 is None else x0)
    else:
        e = _block(eq_items, "eq", n, wrt, params, args)
        i = _block(in_items, "ineq", n, wrt, params, args)
    compiled = not dicts
    return Constraints(e or _empty_block(compiled), i or _empty_block(compiled))


def _scipy_items(constraints):
    if constraints is None:
        return []
    if isinstance(constraints, dict):
        return [constraints]
    try:
        return list(constraints)
    except TypeError:
        raise ConstraintError(f"constraints must be a dict or a list of dicts (SciPy's form), "
                              f"got {type(constraints).__name__}") from None


_FD_STEP = 1.4901161193847656e-08  # sqrt(machine epsilon), SciPy's default for constraints


class _PythonConstraint:
    """One SciPy constraint dict as ``value(x)`` and a dense ``jac(x)`` with our sign."""

    def __init__(self, d, i, n, x0):
        where = f"constraints[{i}]"
        if not isinstance(d, dict):
            raise ConstraintError(f"{where} must be a dict with 'type' and 'fun' (SciPy's form), "
                                  f"got {type(d).__name__}")
        unknown = set(d) - {"type", "fun", "jac", "args"}
        if unknown:
            raise ConstraintError(f"{where} has unknown keys {sorted(unknown)}; SciPy's keys are "
                                  "'type', 'fun', 'jac', 'args'")
        kind = d.get("type")
        if kind not in ("eq", "ineq"):
            raise ConstraintError(f"{where}: 'type' must be 'eq' or 'ineq', got {kind!r}")
        if not callable(d.get("fun")):
            raise ConstraintError(f"{where}: 'fun' must be a callable fun(x, *args)")
        jac = d.get("jac")
        if jac is not None and not callable(jac):
            raise ConstraintError(f"{where}: 'jac' must be a callable or absent (then forward "
                                  "differences)")
        self.kind, self.fun, self.jac = kind, d["fun"], jac
        self.args = tuple(d.get("args", ()))
        # SciPy's inequality is fun(x) >= 0; ours is c(x) <= 0: c = -fun
        self.sign = -1.0 if kind == "ineq" else 1.0
        self.where = where
        self.m = self.value(x0).shape[0]
        self.n = n

    def value(self, x):
        v = np.atleast_1d(np.asarray(self.fun(x, *self.args), dtype=np.float64))
        if v.ndim != 1:
            raise ConstraintError(f"{self.where}: fun returned shape {v.shape}; a scalar or a "
                                  "1-D array is needed")
        return self.sign * v

    def jacobian(self, x):
        if self.jac is None:
            c0 = self.value(x)
            J = np.empty((c0.shape[0], x.shape[0]))
            for k in range(x.shape[0]):
                xk = x.copy()
                h = _FD_STEP * max(1.0, abs(x[k]))
                xk[k] += h
                J[:, k] = (self.value(xk) - c0) / h
            return J
        J = np.asarray(self.jac(x, *self.args), dtype=np.float64).reshape(-1, x.shape[0])
        if J.shape[0] != self.m:
            raise ConstraintError(f"{self.where}: jac returned {J.shape[0]} rows for {self.m} "
                                  "constraint values")
        return self.sign * J


def _python_block(items, n):
    if not items:
        return None
    m = sum(c.m for c in items)

    def value(x, p):
        return np.concatenate([c.value(x) for c in items])

    def jac_values(x, p):
        return np.ascontiguousarray(np.vstack([c.jacobian(x) for c in items])).ravel()

    indptr = np.arange(m + 1, dtype=np.int64) * n
    indices = np.tile(np.arange(n, dtype=np.int64), m)
    return Block(value, jac_values, np.empty(0), indptr, indices, m, False)


def _python_blocks(dicts, n, x0):
    cons = [_PythonConstraint(d, i, n, x0) for i, d in enumerate(dicts)]
    return (_python_block([c for c in cons if c.kind == "eq"], n),
            _python_block([c for c in cons if c.kind == "ineq"], n))
