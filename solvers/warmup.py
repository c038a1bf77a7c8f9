"""``warmup``: pay the compile cost of an objective's kernels and of solver loops now, visibly.

``codegen``'s ``obj.warmup()`` compiles the kernels; the loops belong to this layer, so they are
warmed here: each named method runs for zero iterations on the objective's argument layout, which
compiles its loop (or loads it from the on-disk cache, in milliseconds, in a later process).
"""
import time

import numpy as np

from .minimize import _method, minimize

__all__ = ["warmup"]


def warmup(objective, methods=("lbfgs",), args=(), x0=None, bounds=None):
    """Compile ``objective``'s kernels and the loops of ``methods`` for its layout; returns the
    seconds each step took, ``{"kernels": s, method: s, ...}``.

    ``args`` are what ``minimize`` would get (params, data arrays: the loop is compiled for their
    types, so pass arrays of the shapes the fit will use); ``x0`` defaults to zeros (give another
    point where the objective is not finite at 0); ``bounds`` warms the bounded variant.

    >>> import sympy as sp, codegen
    >>> a, b = sp.symbols("a b")
    >>> obj = codegen.compile((a - 1)**2 + (b + 2)**2, [a, b])
    >>> sorted(warmup(obj, methods=("lbfgs", "newton")))
    ['kernels', 'lbfgs', 'newton']
    """
    if isinstance(methods, str):
        methods = (methods,)
    keys = [_method(m) for m in methods]  # unknown names refused before anything compiles
    times = {}
    start = time.perf_counter()
    kernels = getattr(objective, "warmup", None)
    if kernels is None:
        raise TypeError(f"warmup needs a codegen CompiledObjective, got "
                        f"{type(objective).__name__}")
    kernels()
    times["kernels"] = time.perf_counter() - start
    if x0 is None and objective.n is None:
        raise ValueError("the number of variables of this matrix model depends on the sizes of "
                         "its arguments: give x0 (a starting point of the fit's length)")
    x = np.zeros(int(objective.n)) if x0 is None else x0
    for key in keys:
        start = time.perf_counter()
        minimize(objective, x, method=key, args=args, maxiter=0, bounds=bounds)
        times[key] = time.perf_counter() - start
    return times
