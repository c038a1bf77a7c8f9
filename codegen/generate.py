"""The build of a kernel module's source: the symbolic stage, then the emitter, timed.

:mod:`codegen.symbolic` derives (rewrites, templates, derivatives, CSE, sparsity);
:mod:`codegen.emit` prints the result.  A slow build reports its stages on stderr.

>>> import sympy as sp
>>> a = sp.Symbol("a")
>>> source, times = objective_source(a**2, [a], [], [], jit=False)
>>> "def hess_values(x, p):" in source, sorted(times)
(True, ['cse', 'gradient', 'hessian', 'print', 'rewrite', 'templates'])
"""
import time

from .emit import objective_module, vector_module
from .symbolic import derive_objective, derive_vector
from .timings import PROGRESS_AFTER, quiet, report

__all__ = ["objective_source", "vector_source"]

class _Timer:
    def __init__(self):
        self.times = {}
        self._t = self._start = time.perf_counter()
        self._quiet = quiet()

    def lap(self, name):
        t = time.perf_counter()
        self.times[name] = self.times.get(name, 0.0) + t - self._t
        self._t = t
        if not self._quiet and t - self._start > PROGRESS_AFTER:
            report(f"{name} done ({t - self._start:.1f} s so far)")


def objective_source(f, wrt, params, data, reduce="sum", order=2, jit=True, stable=True,
                     min_instances=3, penalty=None):
    """Source of the kernel module of a scalar objective; returns (source, timings).

    ``data`` is a list of ``(is_vector, symbols)`` (see :func:`codegen.symbolic.derive_objective`).
    """
    tm = _Timer()
    d = derive_objective(f, wrt, params, data, reduce, order, stable, min_instances, tm.lap,
                         penalty)
    source = objective_module(d, jit)
    tm.lap("print")
    return source, tm.times


def vector_source(F, wrt, params, jit=True, stable=True):
    """Source of the kernel module of a vector function F (m outputs); returns (source, timings)."""
    tm = _Timer()
    source = vector_module(derive_vector(F, wrt, params, stable, tm.lap), jit)
    tm.lap("print")
    return source, tm.times
