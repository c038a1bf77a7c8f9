"""Where a compiled objective's build time went: derivation, code printing, Numba per kernel.

``codegen.compile`` times the symbolic stages and the printing; Numba compiles each kernel on
its first call (or on :meth:`~codegen.CompiledObjective.warmup`), and that compile (or the
load of its machine code from the cache) is timed here, per kernel.  A stage or a kernel
compile slower than :data:`PROGRESS_AFTER` seconds is reported on stderr, once
(``DERIVE_QUIET=1`` silences it).

>>> t = BuildTimes(derive=0.25, codegen=0.05, numba={"value": 1.5, "grad": 0.5}, cached=False)
>>> str(t)
'derive 0.25 s, codegen 0.05 s, numba 2.00 s (value 1.50 s, grad 0.50 s)'
>>> t.total
2.3
"""
import os
import sys
import time
from dataclasses import dataclass, field

__all__ = ["BuildTimes", "PROGRESS_AFTER", "quiet", "report", "compile_kernel"]

#: A build stage or a kernel compile slower than this (seconds) is reported on stderr.
PROGRESS_AFTER = 1.0

_DERIVE_STAGES = ("rewrite", "templates", "gradient", "hessian", "factor", "cse", "jacobian")


def quiet():
    """True when ``DERIVE_QUIET`` asks for no progress reports."""
    return os.environ.get("DERIVE_QUIET", "") not in ("", "0")


def report(text):
    """Print a progress line on stderr (unless :func:`quiet`)."""
    if not quiet():
        print(f"codegen: {text}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class BuildTimes:
    """Seconds spent building a compiled objective, by stage.

    ``derive``: the symbolic stages (0.0 when the module came from the cache); ``codegen``:
    printing the module and writing/importing it; ``numba``: per kernel, its Numba compile (or
    the load of its cached machine code) in this process, as far as it has happened through
    the objective's methods or ``warmup``; ``cached``: the module came from the kernel cache.
    """

    derive: float
    codegen: float
    numba: dict = field(default_factory=dict)
    cached: bool = False
    jit: bool = True  # False: the kernels run as plain Python, Numba compiles nothing

    @classmethod
    def of(cls, stages, numba, cached, jit=True):
        """From the stage times of :mod:`codegen.generate` (plus "store") and kernel times."""
        derive = sum(t for k, t in stages.items() if k in _DERIVE_STAGES)
        return cls(derive, sum(stages.values()) - derive, dict(numba), cached, jit)

    @property
    def total(self):
        return round(self.derive + self.codegen + sum(self.numba.values()), 12)

    def __str__(self):
        kernels = ", ".join(f"{k} {t:.2f} s" for k, t in self.numba.items())
        numba = f"numba {sum(self.numba.values()):.2f} s ({kernels})" if self.numba \
            else "numba: no kernel compiled yet" if self.jit else "plain Python (jit=False)"
        head = "from the cache" if self.cached else \
            f"derive {self.derive:.2f} s, codegen {self.codegen:.2f} s"
        return f"{head}, {numba}"


def compile_kernel(disp, args):
    """Compile (or load from Numba's cache) the Numba dispatcher ``disp`` for the types of
    ``args``; ``(seconds, loaded)`` with ``loaded`` True when the machine code came from the
    cache, or None when there was nothing to do (already compiled for some signature, or
    plain Python from ``jit=False``)."""
    if getattr(disp, "signatures", True):
        return None
    import numba
    sig = tuple(numba.typeof(a) for a in args)
    hits = _cache_hits(disp)
    t = time.perf_counter()
    disp.compile(sig)
    return time.perf_counter() - t, _cache_hits(disp) > hits


def _cache_hits(disp):
    try:
        return sum(disp.stats.cache_hits.values())
    except AttributeError:  # pragma: no cover - Numba's private statistics went away
        return 0
