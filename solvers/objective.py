"""Adapter between codegen's CompiledObjective and the Numba solver loops.

The solver loops receive the objective's kernels as Numba *first-class functions*
(``types.FunctionType``), not as dispatcher objects: a loop typed on a dispatcher is
specialised (and recompiled) for every objective and cannot be cached on disk, whereas a
loop typed on a function signature is compiled once per argument *layout* and reused from the
on-disk cache by every objective with that layout.
"""
from __future__ import annotations

import inspect
import math
import weakref

import numba
import numpy as np
from numba import types
from numba.core.types import WrapperAddressProtocol
from numba.extending import overload, typeof_impl

from .result import IntermediateResult
from .termination import CALLBACK

__all__ = ["Kernels", "KernelRef", "as_kernels", "specialize", "batch_args", "ask_stop",
           "stop_status", "drive", "ObjectiveError", "as_x0", "check_x0", "check_length",
           "callback_adapter", "LoopCallback"]

_F8 = np.dtype(np.float64)
_vec = types.Array(types.float64, 1, "C")
_mat = types.Array(types.float64, 2, "C")


class ObjectiveError(TypeError):
    """The objective is not a compiled objective solvers can drive."""


def batch_args(kargs, rows):
    """Kernel arguments restricted to ``rows`` (data objectives).

    Without data, kargs is ``(p,)`` and is returned unchanged.
    """
    if len(kargs) <= 1:
        return kargs
    return (kargs[0], rows) + tuple(kargs[2:])


@overload(batch_args)
def _batch_args_impl(kargs, rows):
    if len(kargs.types) <= 1:
        return lambda kargs, rows: kargs
    return lambda kargs, rows: (kargs[0], rows) + kargs[2:]


def data_rows(kargs):
    """The row indices of a data objective's kargs; an empty int64 array without data."""
    return kargs[1] if len(kargs) > 1 else np.empty(0, dtype=np.int64)


@overload(data_rows)
def _data_rows_impl(kargs):
    if len(kargs.types) <= 1:
        return lambda kargs: np.empty(0, dtype=np.int64)
    return lambda kargs: kargs[1]


def ask_stop(cb, k, x, f, gnorm):
    """True when the Python-loop callback asks to stop; always False in nopython loops."""
    return cb is not None and bool(cb(k, x, f, gnorm))


@overload(ask_stop)
def _ask_stop_impl(cb, k, x, f, gnorm):
    if isinstance(cb, (types.NoneType, types.Omitted)) or cb is None:
        return lambda cb, k, x, f, gnorm: False


def stop_status(cb, status, k, x, f, gnorm):
    """``CALLBACK`` when the Python-loop callback asks to stop, else ``status`` (always
    ``status`` in nopython loops). The callback runs after every accepted iterate, and its stop
    wins over a convergence test that held at the same iterate."""
    return CALLBACK if ask_stop(cb, k, x, f, gnorm) else status


@overload(stop_status)
def _stop_status_impl(cb, status, k, x, f, gnorm):
    if isinstance(cb, (types.NoneType, types.Omitted)) or cb is None:
        return lambda cb, status, k, x, f, gnorm: status


class KernelRef(WrapperAddressProtocol):
    """A jit kernel seen by Numba as a first-class function of one fixed signature.

    Passing the dispatcher itself would make Numba look its compiled address up twice per
    call of the solver loop (~50 us); this reference resolves it once.
    """

    def __init__(self, dispatcher, ftype):
        self.dispatcher = dispatcher
        self.ftype = ftype
        sig = ftype.signature
        try:
            cres = dispatcher.get_compile_result(sig)
        except Exception as exc:
            raise ObjectiveError(
                f"kernel {getattr(dispatcher, '__name__', dispatcher)!r} cannot be compiled for "
                f"the signature solvers call it with, {sig}: {exc}") from exc
        if cres.signature.return_type != sig.return_type:
            raise ObjectiveError(
                f"kernel {getattr(dispatcher, '__name__', dispatcher)!r} returns "
                f"{cres.signature.return_type}, solvers need {sig.return_type}")
        self._addr = cres.library.get_pointer_to_function(cres.fndesc.llvm_cfunc_wrapper_name)

    def __wrapper_address__(self):
        return self._addr

    def signature(self):
        return self.ftype.signature

    def __call__(self, *args):
        return self.dispatcher(*args)


@typeof_impl.register(KernelRef)
def _typeof_kernel_ref(val, c):
    return val.ftype


_SPECIALIZED = {}


def specialize(pyfunc, argtypes):
    """``njit(argtypes, cache=True)(pyfunc)``, made once per (function, argument types)."""
    key = (pyfunc, argtypes)
    disp = _SPECIALIZED.get(key)
    if disp is None:
        disp = numba.njit(argtypes, cache=True, error_model="numpy")(pyfunc)
        _SPECIALIZED[key] = disp
    return disp


class Kernels:
    """The jit kernels of one objective, packed arguments and their Numba types."""

    compiled = True  # the loops can run as nopython code on these kernels

    def __init__(self, obj, args=(), rows=None):
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
        self.n = int(obj.n)
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
            ref = self._refs[name] = KernelRef(disp, ftype)
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


def as_kernels(objective, args=(), wrt=None, rows=None, n=None):
    """Kernels of ``objective``: a CompiledObjective, a SymPy expression or formula text compiled
    with ``wrt``, or a Python callable ``fun(x, *args)`` of ``n`` variables (SciPy's
    convention, gradient by forward differences; see :mod:`solvers.callables`)."""
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
    if (isinstance(args, tuple) and len(args) == 0) and rows is None:
        try:
            kern = _KERNELS.get(objective)
        except TypeError:  # not weak-referenceable
            return Kernels(objective, args, rows=rows)
        if kern is None:
            kern = _KERNELS[objective] = Kernels(objective, args, rows=rows)
        return kern
    return Kernels(objective, args, rows=rows)


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


def drive(pyfunc, kern, funcs, x, rest, callback):
    """Run a solver loop ``pyfunc(*funcs, kargs, x, *rest, cb)``.

    Without a callback the loop runs as cached nopython code specialised only on argument
    *types* (kernels as first-class functions), so every objective with the same argument
    layout shares one compiled loop. With a callback it runs as plain Python calling the same
    kernels, so the callback sees every iterate.
    """
    if not kern.compiled:  # Python callables: nopython code cannot call them
        out = pyfunc(*funcs, kern.kargs, x, *rest,
                     None if callback is None else callback_adapter(callback))
        # the objective's own counts: finite differences cost n + 1 evaluations per gradient
        return out[:4] + (kern.nfev, kern.njev, kern.nhev) + out[7:]
    if callback is None:
        key = (pyfunc, len(funcs))
        loop = kern._loops.get(key)
        if loop is None:
            argtypes = tuple(numba.typeof(v) for v in funcs) + (kern.kargs_type, _vec)
            argtypes += tuple(numba.typeof(v) for v in rest) + (types.none,)
            loop = kern._loops[key] = specialize(pyfunc, argtypes)
        return loop(*funcs, kern.kargs, x, *rest, None)
    return pyfunc(*funcs, kern.kargs, x, *rest, callback_adapter(callback))
