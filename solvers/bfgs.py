"""Dense BFGS on the inverse Hessian with a strong-Wolfe line search (Nocedal & Wright Alg. 6.1)."""
import numpy as np
from numba import njit

from .linesearch import wolfe_search, FAILED
from .objective import as_kernels, as_x0, check_length, drive, stop_status
from .options import check, check_common
from .result import Result
from .termination import accept, start, CONTINUE, FTOL, MAXITER, LINESEARCH, NONFINITE

__all__ = ["bfgs"]


@njit(cache=True)
def _neg_matvec(H, g):
    n = g.shape[0]
    d = np.empty(n)
    for i in range(n):
        t = 0.0
        for j in range(n):
            t += H[i, j] * g[j]
        d[i] = -t
    return d


@njit(cache=True)
def _bfgs_update(H, s, y, sy):
    """H <- (I - r s y') H (I - r y s') + r s s', r = 1/s'y (N&W eq. 6.17), in place."""
    n = s.shape[0]
    Hy = np.empty(n)
    for i in range(n):
        t = 0.0
        for j in range(n):
            t += H[i, j] * y[j]
        Hy[i] = t
    yHy = 0.0
    for i in range(n):
        yHy += y[i] * Hy[i]
    r = 1.0 / sy
    c = (sy + yHy) * r * r
    for i in range(n):
        for j in range(n):
            H[i, j] += c * s[i] * s[j] - r * (Hy[i] * s[j] + s[i] * Hy[j])


def _bfgs_loop(vg, kargs, x0, maxiter, gtol, ftol, xtol, c1, c2, max_ls, skip_eps, dec_tol,
               cb):
    n = x0.shape[0]
    x = x0.copy()
    f, g = vg(x, *kargs)
    nfev = 1
    hist_f, hist_g, status = start(f, g, maxiter + 1, gtol)
    H = np.eye(n)
    fresh = True  # H is still the (unscaled) identity
    nit = 0
    if status == CONTINUE:
        while nit < maxiter:
            d = _neg_matvec(H, g)
            alpha0 = 1.0
            if fresh:
                alpha0 = min(1.0, 1.0 / np.sqrt(np.dot(g, g)))
            if not np.dot(g, d) < 0.0:
                H = np.eye(n)
                fresh = True
                d = -g
                alpha0 = min(1.0, 1.0 / np.sqrt(np.dot(g, g)))
            if not fresh and -np.dot(g, d) <= dec_tol * max(abs(f), 1.0):
                # the quasi-Newton decrement: no representable decrease is left
                status = FTOL
                break
            alpha, fn, gn, xn, nf, flag = wolfe_search(vg, kargs, x, f, g, d, alpha0, c1, c2, max_ls)
            nfev += nf
            if flag < 0:  # FAILED or FAILED_NONFINITE
                if not fresh:
                    H = np.eye(n)
                    fresh = True
                    continue
                status = LINESEARCH if flag == FAILED else NONFINITE
                break
            s = xn - x
            y = gn - g
            sy = np.dot(s, y)
            yy = np.dot(y, y)
            snorm = np.sqrt(np.dot(s, s))
            if sy > skip_eps * snorm * np.sqrt(yy):
                if fresh:  # N&W eq. (6.20): scale H0 before the first update
                    H = (sy / yy) * np.eye(n)
                    fresh = False
                _bfgs_update(H, s, y, sy)
            nit += 1
            status = accept(hist_f, hist_g, nit, f, fn, gn, snorm, xn, gtol, ftol, xtol)
            x, f, g = xn, fn, gn
            status = stop_status(cb, status, nit, x, f, hist_g[nit])
            if status != CONTINUE:
                break
    if status == CONTINUE:
        status = MAXITER
    return x, f, g, nit, nfev, nfev, 0, status, hist_f[:nit + 1], hist_g[:nit + 1], H


def bfgs(objective, x0, *, args=(), gtol=1e-6, ftol=0.0, xtol=0.0, maxiter=1000, c1=1e-4, c2=0.9,
         max_linesearch=40, skip_eps=1e-10, callback=None, history=False, wrt=None, rows=None):
    """Minimise with dense BFGS (inverse-Hessian update, O(n^2) memory: for small n).

    Pairs with ``s'y <= skip_eps * ||s|| * ||y||`` are skipped to keep H positive definite; the
    run also counts as converged (CONVERGED_FTOL) when the predicted decrease -g'd falls below
    ``max(ftol, 1e-15) * max(|f|, 1)``. The result's ``hess_inv`` is the final inverse-Hessian
    approximation H.
    """
    o = check("bfgs", gtol=gtol, ftol=ftol, xtol=xtol, maxiter=maxiter, c1=c1, c2=c2,
              max_linesearch=max_linesearch, skip_eps=skip_eps)
    check_common("bfgs", callback, history)
    x = as_x0(x0)
    kern = as_kernels(objective, args, wrt, rows, n=x.shape[0])
    x = check_length(x, kern.n)
    rest = (o["maxiter"], o["gtol"], o["ftol"], o["xtol"], o["c1"], o["c2"],
            o["max_linesearch"], o["skip_eps"], max(o["ftol"], 1e-15))
    out = drive(_bfgs_loop, kern, (kern.vg,), x, rest, callback)
    r = Result.from_loop(out[:10], "bfgs", history)
    r.hess_inv = out[10]
    return r
