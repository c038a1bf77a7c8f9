"""What lets one loop source run both as cached nopython code and as plain Python.

Every solver loop is written once, as a Python function that Numba can compile. It runs
compiled (specialised on argument *types* and cached on disk, see :func:`specialize`) or, with
a callback or a Python objective, as Python calling the same kernels. The helpers here make
that possible:

* :class:`KernelRef`: a jit kernel seen by Numba as a first-class function of one fixed
  signature, so a loop is compiled once per argument *layout*, not once per objective;
* :func:`dual`: a helper function callable from Python and, compiled, from nopython loops;
* :func:`for_kernel`: the compiled or the Python version of a Numba function, whichever can
  call the given kernel;
* shims whose nopython version is simpler than the Python one (:func:`stop_status` is constant
  without a callback; :func:`batch_args` / :func:`data_rows` select a data objective's rows).

This is the one module of the package that relies on Numba internals (the
``WrapperAddressProtocol`` of first-class functions and ``typeof_impl``).
"""
import functools

import numba
import numpy as np
from numba import types
from numba.core.types import WrapperAddressProtocol
from numba.extending import overload, typeof_impl

from .termination import CALLBACK

__all__ = ["KernelRef", "KernelCompileError", "specialize", "entry_point", "dual", "for_kernel", "batch_args",
           "data_rows", "ask_stop", "stop_status", "JIT_OPTIONS"]

# Options of every compiled loop and helper: NumPy's rules for division (inf/NaN, no
# ZeroDivisionError), as in the Python runs, where the operands are NumPy floats.
JIT_OPTIONS = {"error_model": "numpy"}


class KernelCompileError(TypeError):
    """A kernel cannot be compiled for the signature the loops call it with."""


class KernelRef(WrapperAddressProtocol):
    """A jit kernel seen by Numba as a first-class function of one fixed signature.

    Passing the dispatcher itself would make Numba look its compiled address up twice per
    call of the solver loop (~50 us), and specialise the loop on every objective; this
    reference resolves the address once.
    """

    def __init__(self, dispatcher, ftype):
        self.dispatcher = dispatcher
        self.ftype = ftype
        sig = ftype.signature
        name = getattr(dispatcher, "__name__", dispatcher)
        try:
            cres = dispatcher.get_compile_result(sig)
        except Exception as exc:
            raise KernelCompileError(f"kernel {name!r} cannot be compiled for the signature "
                                     f"solvers call it with, {sig}: {exc}") from exc
        if cres.signature.return_type != sig.return_type:
            raise KernelCompileError(f"kernel {name!r} returns {cres.signature.return_type}, "
                                     f"solvers need {sig.return_type}")
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
        disp = numba.njit(argtypes, cache=True, **JIT_OPTIONS)(pyfunc)
        _SPECIALIZED[key] = disp
    return disp


def entry_point(pyfunc, argtypes):
    """The compiled :func:`specialize` of ``pyfunc`` for exactly ``argtypes``, as a Python
    callable that skips Numba's type dispatch (a few microseconds per call, which matter for
    small problems). The caller guarantees that the arguments have these types."""
    return specialize(pyfunc, argtypes).overloads[tuple(argtypes)].entry_point


def dual(pyfunc):
    """``pyfunc``, also callable from nopython loops (compiled there for the argument types).

    For the steps a loop shares with other loops: in a Python run they run as Python (so they
    may call a Python objective), in a compiled loop they are inlined into it (Numba's IR
    inlining: no call overhead per iteration). Keep them small and free of rebinding their
    parameters.

    >>> import numba
    >>> @dual
    ... def twice(a):
    ...     return 2 * a
    >>> numba.njit(lambda a: twice(a) + 1)(3), twice(3)
    (7, 6)
    """
    overload(pyfunc, jit_options=JIT_OPTIONS, inline="always")(
        functools.wraps(pyfunc)(lambda *args: pyfunc))
    return pyfunc


def for_kernel(dispatcher, kernel):
    """``dispatcher`` when it can call ``kernel`` (a compiled kernel), else its Python source
    (a Python objective's callable, which compiled code cannot call)."""
    return dispatcher if isinstance(kernel, WrapperAddressProtocol) else dispatcher.py_func


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
