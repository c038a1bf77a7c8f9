"""The one convergence test shared by every solver, and the bookkeeping around it.

Every solver loop is a descent (which direction) plus a search (how far) between the same two
ends: :func:`start` (history buffers and the test at x0) and :func:`accept` (record the accepted
iterate and test it).

Reference: the gradient test is SciPy's (infinity norm), the objective-change test is
L-BFGS-B's relative reduction, the step test is relative to the size of x.
"""
import numpy as np
from numba import njit

from .result import Status

__all__ = ["terminate", "decide", "start", "accept", "CONTINUE", "GTOL", "FTOL", "XTOL", "MAXITER",
           "LINESEARCH", "NONFINITE", "HESSIAN", "DIVERGED", "TRCOLLAPSE", "CALLBACK", "MAXFEV",
           "INFEASIBLE", "EVALUATION_FAILED"]

# The status codes as plain ints, the form Numba loops return; the one source is
# result.Status (every Numba-side code, the SMO solver's too, is imported from here).
CONTINUE = -1  # no Status has it: "no test held, keep iterating"
GTOL = int(Status.CONVERGED_GTOL)
FTOL = int(Status.CONVERGED_FTOL)
XTOL = int(Status.CONVERGED_XTOL)
MAXITER = int(Status.MAX_ITERATIONS)
LINESEARCH = int(Status.LINE_SEARCH_FAILED)
NONFINITE = int(Status.NON_FINITE)
HESSIAN = int(Status.HESSIAN_NOT_USABLE)
DIVERGED = int(Status.DIVERGED)
TRCOLLAPSE = int(Status.TRUST_REGION_COLLAPSED)
CALLBACK = int(Status.CALLBACK_STOP)
MAXFEV = int(Status.MAX_FUNCTION_EVALUATIONS)
INFEASIBLE = int(Status.INFEASIBLE)
EVALUATION_FAILED = int(Status.EVALUATION_FAILED)


@njit(cache=True)
def terminate(f_old, f_new, g, step_norm, x_norm, gtol, ftol, xtol):
    """Status code of the convergence test that holds, or ``CONTINUE``.

    gtol: ``max|g_i| <= gtol``; ftol: ``f_old - f_new <= ftol * max(|f_old|, |f_new|, 1)``;
    xtol: ``||step|| <= xtol * (1 + ||x||)``. A tolerance <= 0 disables its test.
    Non-finite values end the run with ``NONFINITE``, never with convergence.

    >>> import numpy as np
    >>> int(terminate(1.0, 0.5, np.array([1e-9]), 1.0, 1.0, 1e-6, 0.0, 0.0))
    0
    """
    if not np.isfinite(f_new):
        return NONFINITE
    gmax = 0.0
    for i in range(g.shape[0]):
        a = abs(g[i])
        if not a <= 1e308:  # catches NaN and inf
            return NONFINITE
        if a > gmax:
            gmax = a
    return decide(gmax, f_old, f_new, step_norm, x_norm, gtol, ftol, xtol)


@njit(cache=True)
def decide(stationarity, f_old, f_new, step_norm, x_norm, gtol, ftol, xtol):
    """:func:`terminate`'s tests on finite values, with the stationarity measure given (max|g|,
    or the projected gradient's for bounds)."""
    if stationarity <= gtol:
        return GTOL
    if ftol > 0.0 and abs(f_old - f_new) <= ftol * max(abs(f_old), abs(f_new), 1.0):
        return FTOL
    if xtol > 0.0 and step_norm <= xtol * (1.0 + x_norm):
        return XTOL
    return CONTINUE


@njit(cache=True)
def _max_abs(g):
    """max |g_i| (NaN if any entry is NaN, 0 when empty), without a temporary array."""
    m = 0.0
    for i in range(g.shape[0]):
        a = abs(g[i])
        if a > m or a != a:
            m = a
            if a != a:
                break
    return m


@njit(cache=True)
def start(f, g, size, gtol):
    """(hist_f, hist_g, status) at the initial point: history buffers of ``size`` entries with
    entry 0 filled, and the gtol / non-finite test (``CONTINUE`` when the loop should run)."""
    hist_f = np.empty(size)
    hist_g = np.empty(size)
    hist_f[0] = f
    hist_g[0] = _max_abs(g)
    return hist_f, hist_g, terminate(np.inf, f, g, np.inf, 0.0, gtol, 0.0, 0.0)


@njit(cache=True)
def accept(hist_f, hist_g, k, f_old, f_new, g_new, step_norm, x_new, gtol, ftol, xtol):
    """Record the accepted iterate as history entry ``k``; its :func:`terminate` status."""
    hist_f[k] = f_new
    hist_g[k] = _max_abs(g_new)
    x_norm = np.sqrt(np.dot(x_new, x_new)) if xtol > 0.0 else 0.0
    return terminate(f_old, f_new, g_new, step_norm, x_norm, gtol, ftol, xtol)
