"""Limited-memory BFGS with a strong-Wolfe line search (Nocedal & Wright Alg. 7.4-7.5)."""
import numpy as np
from numba import njit

from .linesearch import wolfe_search, FAILED
from .objective import as_kernels, as_x0, check_length, drive, stop_status
from .options import check, check_common
from .result import Result
from .termination import accept, start, CONTINUE, FTOL, MAXFEV, MAXITER, LINESEARCH, NONFINITE

__all__ = ["lbfgs"]

_NO_LIMIT = 2**62


@njit(cache=True)
def _two_loop(g, S, Y, rho, count, head, gamma):
    """-H_k g by the two-loop recursion over the ``count`` newest pairs (ring buffer)."""
    m = S.shape[0]
    q = g.copy()
    alpha = np.empty(m)
    for j in range(count):
        i = (head - 1 - j) % m
        alpha[i] = rho[i] * np.dot(S[i], q)
        q -= alpha[i] * Y[i]
    r = gamma * q
    for j in range(count - 1, -1, -1):
        i = (head - 1 - j) % m
        beta = rho[i] * np.dot(Y[i], r)
        r += (alpha[i] - beta) * S[i]
    return -r


def _lbfgs_loop(vg, kargs, x0, m, maxiter, gtol, ftol, xtol, c1, c2, max_ls, skip_eps, dec_tol,
                maxfev, cb):
    n = x0.shape[0]
    x = x0.copy()
    f, g = vg(x, *kargs)
    nfev = 1
    hist_f, hist_g, status = start(f, g, maxiter + 1, gtol)
    S = np.zeros((m, n))
    Y = np.zeros((m, n))
    rho = np.zeros(m)
    count = 0
    head = 0
    gamma = 1.0
    nit = 0
    if status == CONTINUE:
        while nit < maxiter:
            if nfev >= maxfev:
                status = MAXFEV
                break
            if count > 0:
                d = _two_loop(g, S, Y, rho, count, head, gamma)
                alpha0 = 1.0
            else:
                d = -g
                alpha0 = min(1.0, 1.0 / np.sqrt(np.dot(g, g)))
            if not np.dot(g, d) < 0.0:  # lost descent (rounding): restart from steepest descent
                count = 0
                d = -g
                alpha0 = min(1.0, 1.0 / np.sqrt(np.dot(g, g)))
            if count > 0 and -np.dot(g, d) <= dec_tol * max(abs(f), 1.0):
                # the quasi-Newton decrement: no representable decrease is left
                status = FTOL
                break
            alpha, fn, gn, xn, nf, flag = wolfe_search(vg, kargs, x, f, g, d, alpha0, c1, c2,
                                                       min(max_ls, maxfev - nfev))
            nfev += nf
            if flag < 0:  # FAILED or FAILED_NONFINITE
                if nfev >= maxfev:  # the search was cut short by the evaluation budget
                    status = MAXFEV
                    break
                if count > 0:  # the quasi-Newton model was bad: forget it and retry
                    count = 0
                    continue
                status = LINESEARCH if flag == FAILED else NONFINITE
                break
            s = xn - x
            y = gn - g
            sy = np.dot(s, y)
            yy = np.dot(y, y)
            snorm = np.sqrt(np.dot(s, s))
            if sy > skip_eps * snorm * np.sqrt(yy):  # keep H positive definite: skip bad pairs
                for i in range(n):  # element loop: row slice-assignment is slow to compile
                    S[head, i] = s[i]
                    Y[head, i] = y[i]
                rho[head] = 1.0 / sy
                head = (head + 1) % m
                count = min(count + 1, m)
                gamma = sy / yy
            nit += 1
            status = accept(hist_f, hist_g, nit, f, fn, gn, snorm, xn, gtol, ftol, xtol)
            x, f, g = xn, fn, gn
            status = stop_status(cb, status, nit, x, f, hist_g[nit])
            if status != CONTINUE:
                break
    if status == CONTINUE:
        status = MAXITER
    return x, f, g, nit, nfev, nfev, 0, status, hist_f[:nit + 1], hist_g[:nit + 1]


def lbfgs(objective, x0, *, args=(), m=10, gtol=1e-6, ftol=0.0, xtol=0.0, maxiter=1000,
          c1=1e-4, c2=0.9, max_linesearch=40, skip_eps=1e-10, maxfun=None, callback=None,
          history=False, wrt=None, rows=None):
    """Minimise with L-BFGS (two-loop recursion, memory ``m``, scaling gamma = s'y/y'y).

    Updates with ``s'y <= skip_eps * ||s|| * ||y||`` are skipped so the implicit inverse Hessian
    stays positive definite. The run also counts as converged (CONVERGED_FTOL) when the
    predicted decrease -g'd falls below ``max(ftol, 1e-15) * max(|f|, 1)``. ``maxfun`` caps the
    objective evaluations (status MAX_FUNCTION_EVALUATIONS; the line search is cut short to stay
    within it; with finite differences each gradient costs n + 1). ``callback(x)`` or
    ``callback(intermediate_result)`` runs the loop in Python; returning True or raising
    StopIteration stops.
    """
    o = check("lbfgs", m=m, gtol=gtol, ftol=ftol, xtol=xtol, maxiter=maxiter, c1=c1, c2=c2,
              max_linesearch=max_linesearch, skip_eps=skip_eps, maxfun=maxfun)
    check_common("lbfgs", callback, history)
    x = as_x0(x0)
    kern = as_kernels(objective, args, wrt, rows, n=x.shape[0])
    x = check_length(x, kern.n)
    maxfev = _NO_LIMIT if o["maxfun"] is None else o["maxfun"]
    if not kern.compiled:  # vg calls the budget allows
        maxfev = maxfev // kern.evaluations_per_gradient()
    rest = (o["m"], o["maxiter"], o["gtol"], o["ftol"], o["xtol"], o["c1"], o["c2"],
            o["max_linesearch"], o["skip_eps"], max(o["ftol"], 1e-15), maxfev)
    out = drive(_lbfgs_loop, kern, (kern.vg,), x, rest, callback)
    return Result.from_loop(out, "lbfgs", history)
