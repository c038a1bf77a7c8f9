"""The objective as the solver loops see it: its kernels, arguments, starting point, callback.

:func:`as_kernels` turns what the user passed (a codegen CompiledObjective, a SymPy expression
or formula text with ``wrt``, or a Python callable) into :class:`Kernels`: the jit kernels as
Numba first-class functions (``types.FunctionType``, see :class:`~solvers.numba_shims.KernelRef`),
the packed arguments and their Numba types. A loop typed on function signatures is compiled
once per argument *layout* and reused from the on-disk cache by every objective with that
layout. :func:`as_x0` and :func:`callback_adapter` check and convert the other inputs.
"""
from __future__ import annotations

import inspect
import math
import weakref

import numba
import numpy as np
from numba import types

from .numba_shims import KernelCompileError, KernelRef
from .result import IntermediateResult

__all__ = ["Kernels", "as_kernels", "ObjectiveError", "EvaluationFailed", "as_x0", "check_x0", "check_length",
           "callback_adapter", "LoopCallback"]

_F8 = np.dtype(np.float64)
_vec = types.Array(types.float64, 1, "C")
_mat = types.Array(types.float64, 2, "C")


class ObjectiveError(TypeError):
    """The objective is not a compiled objective solvers can drive."""


class EvaluationFailed(RuntimeError):
    """An evaluation failed beyond recovery (e.g. on a Dask cluster) after ``last = (x, f, g)``
    was evaluated in full: a Python loop ends with status EVALUATION_FAILED at that point."""

    def __init__(self, cause, last):
        super().__init__(str(cause))
        self.cause, self.last = cause, last


class Kernels:
    """The jit kernels of one objective, packed arguments and their Numba types."""

    compiled = True  # the loops can run as nopython code on these kernels

    def __init__(self, obj, args=(), rows=None, n=None):
        jit = getattr(obj, "jit", None)
        if jit is None or not hasattr(obj, "pack_args"):
            raise ObjectiveError(
                f"solvers need a codegen CompiledObjective (with .jit kernels and .pack_args), "
                f"got {type(obj).__name__}; compile it with codegen.compile(expr, wrt) first")
        self.obj = obj
        self.jit = jit
        if not isinstance(args, (tuple, list)):
            args = (args,)
        kargs = tuple(obj.pack_args(*args, rows=rows))
        if len(kargs) > 1:  # mini-batches index the rows: make them one concrete array type
            kargs = (kargs[0], np.ascontiguousarray(kargs[1], dtype=np.int64)) + kargs[2:]
        self.kargs = kargs
        if obj.n is None:  # a matrix model: its sizes come from the data, params and x0
            self.n = int(obj.n_for(kargs, n))
        else:
            self.n = int(obj.n)
        kernels_for = getattr(obj, "solver_kernels", None)
        if kernels_for is not None:  # multi-threaded kernels above a size threshold
            self.jit = kernels_for(kargs, self.n)
        self.kargs_type = numba.typeof(self.kargs)
        ktypes = tuple(self.kargs_type.types)
        self.has_data = len(ktypes) > 1
        self.vg_type = types.FunctionType(types.Tuple((types.float64, _vec))(_vec, *ktypes))
        self.hess_type = types.FunctionType(_mat(_vec, *ktypes))
        self.hessp_type = types.FunctionType(_vec(_vec, _vec, *ktypes))
        self.args = tuple(args)
        self.rows = rows
        self._refs = {}
        self._loops = {}

    def _ref(self, name, ftype):
        ref = self._refs.get(name)
        if ref is None:
            disp = getattr(self.jit, name, None)
            if disp is None:
                raise ObjectiveError(f"the compiled objective has no jit.{name} kernel, "
                                     f"which this method needs")
            warm = getattr(self.obj, "warmup", None)
            if warm is not None and not disp.signatures:
                # compiled by codegen: timed, and reported when slow
                if self.jit is getattr(self.obj, "jit_parallel", None):
                    warm(kernels=[name], parallel=True)
                else:
                    warm(kernels=[name])
            try:
                ref = self._refs[name] = KernelRef(disp, ftype)
            except KernelCompileError as exc:
                raise ObjectiveError(str(exc)) from exc
        return ref

    @property
    def vg(self):
        """value_and_grad as a first-class function."""
        return self._ref("value_and_grad", self.vg_type)

    @property
    def hess(self):
        return self._ref("hess", self.hess_type)

    @property
    def hessp(self):
        return self._ref("hessp", self.hessp_type)

    @property
    def n_rows(self):
        return int(self.kargs[1].shape[0]) if self.has_data else 0

    @property
    def sum_reduced(self):
        return getattr(self.obj, "reduce", "sum") == "sum"


_KERNELS = weakref.WeakKeyDictionary()


def _is_symbolic(objective):
    """A SymPy expression or formula text: it needs ``wrt`` to be compiled."""
    return isinstance(objective, str) or type(objective).__module__.split(".")[0] == "sympy"


def _dask_args(args):
    """True when a data argument is a dask array (tested by type: dask is not imported)."""
    seq = args if isinstance(args, (tuple, list)) else (args,)
    return any(type(a).__module__.split(".")[0] == "dask" for a in seq)


def as_kernels(objective, args=(), wrt=None, rows=None, n=None):
    """Kernels of ``objective``: a CompiledObjective, a SymPy expression or formula text compiled
    with ``wrt``, or a Python callable ``fun(x, *args)`` of ``n`` variables (SciPy's
    convention, gradient by forward differences; see :mod:`solvers.callables`). Dask arrays
    among a compiled objective's data give :class:`~solvers.dask_kernels.DaskKernels`."""
    if isinstance(objective, Kernels):
        return objective
    if getattr(objective, "compiled", None) is False:  # a callables.PythonObjective
        if rows is not None:
            raise ObjectiveError("rows= selects data rows of a compiled objective with data; "
                                 "a Python objective has none")
        return objective
    if not hasattr(objective, "jit"):
        if wrt is None and not _is_symbolic(objective) and callable(objective):
            from .callables import PythonObjective
            return as_kernels(PythonObjective(objective, n, args), rows=rows)
        if wrt is None:
            raise ObjectiveError(
                f"objective of type {type(objective).__name__} is not compiled: pass wrt=[symbols] "
                f"to compile a SymPy expression, or pass codegen.compile(expr, wrt)")
        import codegen  # the layer below; solvers never import sympy themselves
        objective = codegen.compile(objective, wrt)
    if _dask_args(args):  # evaluated where the blocks live, by loops running in Python
        from .dask_kernels import DaskKernels
        return DaskKernels(objective, args, rows=rows, n=n)
    if (isinstance(args, tuple) and len(args) == 0) and rows is None \
            and getattr(objective, "n", 0) is not None:
        try:
            kern = _KERNELS.get(objective)
        except TypeError:  # not weak-referenceable
            return Kernels(objective, args, rows=rows)
        if kern is None:
            kern = _KERNELS[objective] = Kernels(objective, args, rows=rows)
        return kern
    return Kernels(objective, args, rows=rows, n=n)


class LoopCallback:
    """A callback already in the loops' form ``fn(k, x, f, gnorm) -> stop?`` (used as is)."""

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, k, x, f, gnorm):
        return self.fn(k, x, f, gnorm)


def _wants_intermediate_result(callback):
    """SciPy's (>= 1.11) test: a callback whose only parameter is ``intermediate_result``."""
    try:
        return set(inspect.signature(callback).parameters) == {"intermediate_result"}
    except (TypeError, ValueError):  # no signature (some builtins): the callback(xk) form
        return False


def callback_adapter(callback):
    """Python-loop callback ``cb(k, x, f, gnorm) -> stop?`` from a user callback.

    As SciPy calls it: ``callback(intermediate_result)`` (x, fun, nit, grad_norm) when that is
    its only parameter's name, else ``callback(xk)``. A true return value or
    ``raise StopIteration`` stops the run (status CALLBACK_STOP).
    """
    if isinstance(callback, LoopCallback):
        return callback
    if _wants_intermediate_result(callback):
        def call(k, x, f, gnorm):
            return callback(intermediate_result=IntermediateResult(
                x=x.copy(), fun=float(f), nit=int(k), grad_norm=float(gnorm)))
    else:
        def call(k, x, f, gnorm):
            return callback(x.copy())

    def cb(k, x, f, gnorm):
        try:
            return bool(call(k, x, f, gnorm))
        except StopIteration:
            return True
    return cb


def as_x0(x0):
    """``x0`` as a fresh 1-D float64 array; None, complex, text, more than one dimension and
    NaN/inf are refused (never cast, flattened or truncated)."""
    if type(x0) is np.ndarray and x0.dtype is _F8 and x0.ndim == 1:  # the common call: quick
        x = x0.copy()
        if math.isfinite(x.sum()):
            return x
    if x0 is None:
        raise ValueError("x0 is None: give the starting point, a 1-D array of n real numbers")
    try:
        a = np.asarray(x0)
    except ValueError as exc:  # ragged nested sequences
        raise ValueError(f"x0 is not a 1-D array of numbers: {exc}") from None
    if a.dtype.kind == "c":
        raise ValueError(f"x0 is complex ({a.dtype}), but the variables are real: pass "
                         "x0.real if the imaginary part is meant to go")
    if a.dtype.kind not in "fiu":
        raise ValueError(f"x0 must hold real numbers, got dtype {a.dtype}")
    if a.ndim > 1:
        raise ValueError(f"x0 must be 1-D, got shape {a.shape}; pass x0.ravel() if a "
                         "flattened start is meant")
    x = np.array(a, dtype=np.float64).reshape(-1)  # a copy: the loops never touch the caller's
    bad = np.flatnonzero(~np.isfinite(x))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"x0[{i}] is {x[i]}: the starting point must be finite")
    return x


def check_length(x, n):
    """``x`` (from :func:`as_x0`) when it has the objective's ``n`` entries."""
    if x.shape[0] != n:
        raise ValueError(f"x0 has {x.shape[0]} entries but the objective has n={n} variables")
    return x


def check_x0(x0, n):
    """:func:`as_x0` with the objective's number of variables ``n``."""
    return check_length(as_x0(x0), n)
