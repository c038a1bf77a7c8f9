"""One multi-threaded row-sum driver per argument layout, shared by every matrix model.

A matrix model's row-block kernel ``_acc_<kind>(x, [v,] p, rows, lo, hi, d0, ...)`` returns
the sum of its outputs over ``rows[lo:hi]`` as one array.  :func:`row_sum` splits the rows into
chunks and runs that kernel on them in parallel (``prange``) through a Numba first-class
function, so the parallel machinery (seconds of Numba compile) is compiled once per layout
(the number of data arrays and their dimensions) and cached, not once per objective.
"""
import threading

import numba
from numba import types
from numba.core.types import WrapperAddressProtocol

from . import cache
from .emit import PAR_BLOCK, PAR_CHUNKS

__all__ = ["row_sum", "FunctionRef"]

_DRIVERS = {}
_REFS = {}
_lock = threading.Lock()


class FunctionRef(WrapperAddressProtocol):
    """A compiled kernel seen by Numba as a first-class function of one signature."""

    def __init__(self, dispatcher, sig):
        dispatcher.compile(sig.args)
        cres = dispatcher.get_compile_result(sig)
        self._addr = cres.library.get_pointer_to_function(cres.fndesc.llvm_cfunc_wrapper_name)
        self._sig = cres.signature

    def __wrapper_address__(self):
        return self._addr

    def signature(self):
        return self._sig


def _source(ndims, with_v):
    dargs = "".join(f", d{k}" for k in range(len(ndims)))
    v = "v, " if with_v else ""
    call = f"x, {v}p, rows, {{}}, {{}}{dargs}"
    return "\n".join([
        '"""Row-sum driver of derive-toolkit codegen (one per argument layout)."""',
        "import numba", "import numpy as np", "from numba import prange", "", "",
        "@numba.njit(cache=True, nogil=True, parallel=True, error_model='numpy')",
        f"def drive(fn, x, {v}p, rows{dargs}):",
        "    m = rows.shape[0]",
        f"    nc = max(1, min({PAR_CHUNKS}, m // {PAR_BLOCK}))",
        # The output size from an empty range: every chunk then runs in prange (a first
        # chunk run before the loop left the other threads idle, 3 chunk-times for 4 on 2).
        f"    size = fn({call.format(0, 0)}).shape[0]",
        "    parts = np.empty((nc, size))",
        "    for c in prange(nc):",
        f"        parts[c] = fn({call.format('(c * m) // nc', '((c + 1) * m) // nc')})",
        "    return parts.sum(axis=0)", ""])


def _driver(ndims, with_v):
    code = (tuple(ndims), bool(with_v))
    with _lock:
        drive = _DRIVERS.get(code)
        if drive is None:
            src = _source(ndims, with_v)
            key = cache.key_for("rowdriver", repr(code).encode())
            mod = cache.lookup(key, "rowdriver") or cache.store(key, src, "rowdriver")
            drive = _DRIVERS[code] = mod.drive
        return drive


def row_sum(acc, xs, kargs):
    """``acc``'s outputs summed over all the rows ``kargs[1]``, chunks in parallel."""
    sig_args = tuple(numba.typeof(a) for a in xs + tuple(kargs[:2])) + \
        (types.int64, types.int64) + tuple(numba.typeof(a) for a in kargs[2:])
    key = (acc, sig_args)
    ref = _REFS.get(key)
    if ref is None:
        sig = types.Array(types.float64, 1, "C")(*sig_args)
        ref = _REFS[key] = FunctionRef(acc, sig)
    drive = _driver(tuple(a.ndim for a in kargs[2:]), len(xs) == 2)
    return drive(ref, *xs, *kargs)

