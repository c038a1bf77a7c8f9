"""Adapter between codegen's CompiledObjective and the Numba solver loops.

The solver loops receive the objective's kernels as Numba *first-class functions*
(``types.FunctionType``), not as dispatcher objects: a loop typed on a dispatcher is
specialised (and recompiled) for every objective and cannot be cached on disk, whereas a
loop typed on a function signature is compiled once per argument *layout* and reused from the
on-disk cache by every objective with that layout.
"""
from __future__ import annotations

import weakref

import numba
import numpy as np
from numba import types
from numba.core.types import WrapperAddressProtocol
from numba.extending import overload, typeof_impl

from .termination import CALLBACK

__all__ = ["Kernels", "KernelRef", "as_kernels", "specialize", "batch_args", "ask_stop",
           "stop_status", "drive", "ObjectiveError"]

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


def as_kernels(objective, args=(), wrt=None, rows=None):
    """Kernels of ``objective``: a CompiledObjective, or a SymPy expression compiled with ``wrt``."""
    if isinstance(objective, Kernels):
        return objective
    if not hasattr(objective, "jit"):
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


def callback_adapter(callback):
    """Python-loop callback ``cb(k, x, f, gnorm) -> stop?`` from a user ``callback(x)``."""
    def cb(k, x, f, gnorm):
        return bool(callback(x.copy()))
    return cb


def check_x0(x0, n):
    x = np.ascontiguousarray(np.asarray(x0, dtype=np.float64).ravel()).copy()
    if x.shape[0] != n:
        raise ValueError(f"x0 has {x.shape[0]} entries but the objective has n={n} variables")
    return x


def drive(pyfunc, kern, funcs, x, rest, callback):
    """Run a solver loop ``pyfunc(*funcs, kargs, x, *rest, cb)``.

    Without a callback the loop runs as cached nopython code specialised only on argument
    *types* (kernels as first-class functions), so every objective with the same argument
    layout shares one compiled loop. With a callback it runs as plain Python calling the same
    kernels, so the callback sees every iterate.
    """
    if callback is None:
        key = (pyfunc, len(funcs))
        loop = kern._loops.get(key)
        if loop is None:
            argtypes = tuple(numba.typeof(v) for v in funcs) + (kern.kargs_type, _vec)
            argtypes += tuple(numba.typeof(v) for v in rest) + (types.none,)
            loop = kern._loops[key] = specialize(pyfunc, argtypes)
        return loop(*funcs, kern.kargs, x, *rest, None)
    return pyfunc(*funcs, kern.kargs, x, *rest, callback_adapter(callback))
