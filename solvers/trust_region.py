"""Trust-region Newton with the Steihaug-Toint truncated CG (Nocedal & Wright Alg. 4.1, 7.2).

Uses only Hessian-vector products (``hessp``), so it never forms or factors the Hessian.
"""
import numpy as np
from numba import njit
from numba.extending import overload

from .adapter import as_kernels, as_x0, check_length
from .bounds import parse_bounds
from .loop import accept_step, drive, finish, to_result
from .numba_shims import JIT_OPTIONS, for_kernel
from .options import check, check_common
from .termination import CONTINUE, FTOL, HESSIAN, NONFINITE, TRCOLLAPSE, start

__all__ = ["newton_tr", "steihaug_cg"]


@njit(cache=True)
def _to_boundary(z, d, delta):
    """tau >= 0 with ||z + tau d|| = delta."""
    a = np.dot(d, d)
    b = 2.0 * np.dot(z, d)
    c = np.dot(z, z) - delta * delta
    disc = max(b * b - 4.0 * a * c, 0.0)
    return (-b + np.sqrt(disc)) / (2.0 * a)


def steihaug_cg(hessp, kargs, x, g, delta, tol, maxcg):
    """(p, Hp, on_boundary, n_hessp, finite): approximate minimiser of g'p + p'Hp/2, ||p|| <= delta.

    Stops at negative curvature or the boundary (Steihaug), or when ||r|| <= tol.
    """
    n = g.shape[0]
    z = np.zeros(n)
    Hz = np.zeros(n)
    r = g.copy()
    d = -r
    rr = np.dot(r, r)
    nhp = 0
    for _ in range(maxcg):
        Hd = hessp(x, d, *kargs)
        nhp += 1
        dHd = np.dot(d, Hd)
        if not np.isfinite(dHd):
            return z, Hz, False, nhp, False
        if dHd <= 0.0:
            tau = _to_boundary(z, d, delta)
            return z + tau * d, Hz + tau * Hd, True, nhp, True
        alpha = rr / dHd
        zn = z + alpha * d
        if np.dot(zn, zn) >= delta * delta:
            tau = _to_boundary(z, d, delta)
            return z + tau * d, Hz + tau * Hd, True, nhp, True
        z = zn
        Hz = Hz + alpha * Hd
        r = r + alpha * Hd
        rr_new = np.dot(r, r)
        if np.sqrt(rr_new) <= tol:
            break
        d = -r + (rr_new / rr) * d
        rr = rr_new
    return z, Hz, False, nhp, True


steihaug_cg = njit(cache=True)(steihaug_cg)


def _truncated_cg(hessp, kargs, x, g, delta, tol, maxcg):
    """:func:`steihaug_cg` as the loop calls it: compiled, or its Python source when ``hessp``
    is a Python callable (which compiled code cannot call)."""
    return for_kernel(steihaug_cg, hessp)(hessp, kargs, x, g, delta, tol, maxcg)


@overload(_truncated_cg, jit_options=JIT_OPTIONS)
def _truncated_cg_impl(hessp, kargs, x, g, delta, tol, maxcg):
    return lambda hessp, kargs, x, g, delta, tol, maxcg: steihaug_cg(hessp, kargs, x, g, delta,
                                                                     tol, maxcg)


_EPS4 = 4.0 * np.finfo(np.float64).eps


def _tr_loop(vg, hessp, kargs, x0, maxiter, gtol, ftol, xtol, delta0, delta_max, eta, cb):
    n = x0.shape[0]
    x = x0.copy()
    f, g = vg(x, *kargs)
    nfev = 1
    nhev = 0
    hist_f, hist_g, status = start(f, g, maxiter + 1, gtol)
    delta = delta0
    nit = 0
    while status == CONTINUE and nit < maxiter:
        gnorm = np.sqrt(np.dot(g, g))
        tol = min(0.5, np.sqrt(gnorm)) * gnorm  # superlinear forcing (N&W eq. 7.3)
        p, Hp, boundary, nhp, finite = _truncated_cg(hessp, kargs, x, g, delta, tol, 2 * n + 10)
        nhev += nhp
        if not finite:
            status = HESSIAN
            break
        pred = -(np.dot(g, p) + 0.5 * np.dot(p, Hp))
        if not boundary and pred <= _EPS4 * max(1.0, abs(f)):
            # The full Newton step inside the region predicts a decrease at the rounding level
            # of f: no step can do measurably better, so this is a minimum to machine precision
            # (else the region would shrink to nothing on rounding noise).
            status = FTOL
            break
        xn = x + p
        fn, gn = vg(xn, *kargs)
        nfev += 1
        ok = np.isfinite(fn) and np.all(np.isfinite(gn))
        rho = (f - fn) / pred if (ok and pred > 0.0) else -1.0
        pnorm = np.sqrt(np.dot(p, p))
        if rho < 0.25:
            delta = 0.25 * pnorm
        elif rho > 0.75 and boundary:
            delta = min(2.0 * delta, delta_max)
        if rho > eta:
            nit += 1
            status = accept_step(cb, hist_f, hist_g, nit, f, fn, gn, pnorm, xn, gtol, ftol, xtol)
            x, f, g = xn, fn, gn
        elif delta <= 1e-15 * max(1.0, np.sqrt(np.dot(x, x))):
            status = TRCOLLAPSE if ok else NONFINITE
    return finish(x, f, g, nit, nfev, nhev, status, hist_f, hist_g, nit + 1)


def newton_tr(objective, x0, *, args=(), gtol=1e-8, ftol=0.0, xtol=0.0, maxiter=500,
              delta0=1.0, delta_max=1e10, eta=1e-4, callback=None, history=False, wrt=None,
              rows=None, bounds=None):
    """Minimise with trust-region Newton-CG (Steihaug), using Hessian-vector products only.

    ``nhev`` counts Hessian-vector products (Hessian evaluations for a Python ``hess``).
    bounds: SciPy's forms (see :func:`solvers.bounds.parse_bounds`); with a finite bound the run
    is TRON (:mod:`solvers.tron`, Lin & Moré 1999): a generalized Cauchy step, then truncated CG
    on the free variables with projected searches, still on Hessian-vector products only; the
    Result carries ``mu_lower``, ``mu_upper``, ``kkt`` and ``x0_projected``.
    """
    o = check("newton-tr", gtol=gtol, ftol=ftol, xtol=xtol, maxiter=maxiter, delta0=delta0,
              delta_max=delta_max, eta=eta)
    check_common("newton-tr", callback, history)
    x = as_x0(x0)
    kern = as_kernels(objective, args, wrt, rows, n=x.shape[0])
    x = check_length(x, kern.n)
    box = parse_bounds(bounds, kern.n)
    if box is not None:
        from .tron import tron  # tron imports this module's boundary step
        return tron(kern, x, box, method="newton-tr", maxiter=o["maxiter"], gtol=o["gtol"],
                    ftol=o["ftol"], xtol=o["xtol"], delta0=o["delta0"],
                    delta_max=o["delta_max"], eta=o["eta"], callback=callback, history=history)
    rest = (o["maxiter"], o["gtol"], o["ftol"], o["xtol"], o["delta0"], o["delta_max"], o["eta"])
    out = drive(_tr_loop, kern, (kern.vg, kern.hessp), x, rest, callback)
    return to_result(out, kern, "newton-tr", history)
