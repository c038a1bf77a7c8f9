"""The one convergence test shared by every solver.

Reference: the gradient test is SciPy's (infinity norm), the objective-change test is
L-BFGS-B's relative reduction, the step test is relative to the size of x.
"""
import numpy as np
from numba import njit

__all__ = ["terminate", "CONTINUE"]

# Status codes (see result.Status); kept as plain ints so Numba loops can return them.
CONTINUE = -1
GTOL = 0
FTOL = 1
XTOL = 2
MAXITER = 3
LINESEARCH = 4
NONFINITE = 5
HESSIAN = 6
DIVERGED = 7
TRCOLLAPSE = 8
CALLBACK = 9


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
    if gmax <= gtol:
        return GTOL
    if ftol > 0.0 and abs(f_old - f_new) <= ftol * max(abs(f_old), abs(f_new), 1.0):
        return FTOL
    if xtol > 0.0 and step_norm <= xtol * (1.0 + x_norm):
        return XTOL
    return CONTINUE
