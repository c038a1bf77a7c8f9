"""L-BFGS-B: limited-memory BFGS on a box ``lo <= x <= hi``, the whole loop in compiled code.

Each iteration (Byrd, Lu, Nocedal, Zhu 1995, "A limited memory algorithm for bound constrained
optimization"; Morales, Nocedal 2011, "Remark on algorithm 778"):

1. the *generalized Cauchy point*: the first local minimiser of the quadratic model along the
   projected steepest-descent path ``P(x - t g)``, found breakpoint by breakpoint with the
   compact representation ``B = theta I - W M W'``, ``W = [Y, theta S]``,
   ``M = [[-D, L'], [L, theta S'S]]^-1`` (:func:`cauchy_point`);
2. *subspace minimisation* of the model over the variables free at the Cauchy point (the direct
   primal method; the 2m x 2m system by Sherman-Morrison-Woodbury), the step projected onto the
   box and kept when it is a descent direction, else backtracked into the box (Morales-Nocedal's
   refinement, :func:`subspace_step`);
3. a strong-Wolfe line search along ``d = xbar - x`` with steps at most the distance to the
   box's boundary (:func:`solvers.linesearch.strong_wolfe_box`).

Stopping: the projected gradient ``max|P(x - g) - x|`` <= gtol (CONVERGED_GTOL); SciPy's
factr-like ``(f_old - f) <= ftol * max(|f_old|, |f|, 1)`` (CONVERGED_FTOL); maxiter; the
evaluation budget ``maxfev``. A failed search or a direction that is not a descent forgets the
pairs and restarts from the projected steepest descent (as L-BFGS-B does).

The core, callable from another compiled loop (interface 4 of issue 12)::

    lbfgsb_core(vg, kargs, x0, lo, hi, m, maxiter, gtol, ftol, xtol, c1, c2, max_ls, maxfev,
                skip_eps, cb) -> solvers.result.LoopResult

``vg(x, *kargs) -> (f, g)`` is any kernel (a Numba dispatcher or first-class function); ``x0``,
``lo``, ``hi`` float64 arrays of length n (-inf/+inf for no bound; x0 is projected); ``m`` the
memory; ``max_ls`` evaluations per search; ``maxfev`` the run's budget (``2**62``: none);
``skip_eps`` skips pairs with ``s'y <= skip_eps ||s|| ||y||``; ``cb`` None in compiled code.
The LoopResult's ``g`` is the gradient, its ``hist_g`` the projected-gradient norms.
:func:`lbfgsb_loop` is the same function uncompiled (what ``drive`` specialises and what a
Python objective runs). The bound multipliers follow from the returned x and g by
:func:`solvers.bounds.bound_multipliers`.

The same loop run as Python (what a Python objective does; compiled, ``lbfgsb_core`` takes the
same arguments):

>>> import numpy as np
>>> def vg(x, c):  # (x - c)^2 summed; c lies outside the box [0, 1]^2 in its first entry
...     return np.sum((x - c) ** 2), 2.0 * (x - c)
>>> out = lbfgsb_loop(vg, (np.array([2.0, 0.5]),), np.zeros(2), np.zeros(2), np.ones(2), 5,
...                   100, 1e-8, 0.0, 0.0, 1e-4, 0.9, 20, 2**62, 1e-10, None)
>>> int(out.status), out.x.tolist()
(0, [1.0, 0.5])
"""
import numpy as np
from numba import njit

from .bounds import projected_gradient_norm
from .linesearch import box_line_search
from .loop import curvature, finish
from .numba_shims import JIT_OPTIONS, stop_status
from .termination import CONTINUE, FTOL, LINESEARCH, MAXFEV, NONFINITE, decide

__all__ = ["lbfgsb_core", "lbfgsb_loop", "cauchy_point", "subspace_step"]

_EPS = np.finfo(np.float64).eps


@njit(cache=True)
def _lu(A):
    """LU factors of the square ``A`` with partial pivoting: (LU, pivots, nonsingular)."""
    n = A.shape[0]
    LU = A.copy()
    piv = np.arange(n)
    scale = 0.0
    for i in range(n):
        for j in range(n):
            scale = max(scale, abs(A[i, j]))
    for k in range(n):
        p = k
        for i in range(k + 1, n):
            if abs(LU[i, k]) > abs(LU[p, k]):
                p = i
        if not abs(LU[p, k]) > 1e-13 * scale:  # (near) singular, or NaN
            return LU, piv, False
        if p != k:
            for j in range(n):
                t = LU[k, j]
                LU[k, j] = LU[p, j]
                LU[p, j] = t
            t = piv[k]
            piv[k] = piv[p]
            piv[p] = t
        for i in range(k + 1, n):
            LU[i, k] /= LU[k, k]
            for j in range(k + 1, n):
                LU[i, j] -= LU[i, k] * LU[k, j]
    return LU, piv, True


@njit(cache=True)
def _lu_solve(LU, piv, b):
    z = np.empty(b.shape[0])
    _lu_solve_into(LU, piv, b, z)
    return z


@njit(cache=True)
def _lu_solve_into(LU, piv, b, z):
    """Solve with the factors of :func:`_lu` into ``z`` (no allocation: called per breakpoint)."""
    n = b.shape[0]
    for i in range(n):
        z[i] = b[piv[i]]
        for j in range(i):
            z[i] -= LU[i, j] * z[j]
    for i in range(n - 1, -1, -1):
        for j in range(i + 1, n):
            z[i] -= LU[i, j] * z[j]
        z[i] /= LU[i, i]


@njit(cache=True)
def _matvec_into(A, v, out):
    for i in range(v.shape[0]):
        acc = 0.0
        for j in range(v.shape[0]):
            acc += A[i, j] * v[j]
        out[i] = acc


@njit(cache=True)
def _inverse(LU, piv):
    """K^-1 from its LU factors: formed once per iteration, then used at every breakpoint."""
    n = LU.shape[0]
    M = np.empty((n, n))
    e = np.zeros(n)
    col = np.empty(n)
    for j in range(n):
        e[j] = 1.0
        _lu_solve_into(LU, piv, e, col)
        e[j] = 0.0
        for i in range(n):
            M[i, j] = col[i]
    return M


@njit(cache=True)
def _slots(head, count, m):
    """Ring-buffer slots of the stored pairs, oldest first."""
    idx = np.empty(count, dtype=np.int64)
    for k in range(count):
        idx[k] = (head - count + k) % m
    return idx


@njit(cache=True)
def _middle(SS, SY, idx, theta):
    """K = [[-D, L'], [L, theta S'S]], the inverse of the compact form's M (oldest first)."""
    c = idx.shape[0]
    K = np.zeros((2 * c, 2 * c))
    for i in range(c):
        K[i, i] = -SY[idx[i], idx[i]]
        for j in range(c):
            if i > j:  # L_ij = s_i'y_j for i > j
                K[c + i, j] = SY[idx[i], idx[j]]
                K[j, c + i] = SY[idx[i], idx[j]]
            K[c + i, c + j] = theta * SS[idx[i], idx[j]]
    return K


@njit(cache=True)
def _wt(S, Y, idx, theta, v):
    """W'v = [Y v; theta S v]."""
    c = idx.shape[0]
    out = np.empty(2 * c)
    for k in range(c):
        out[k] = np.dot(Y[idx[k]], v)
        out[c + k] = theta * np.dot(S[idx[k]], v)
    return out


@njit(cache=True)
def _wrow_into(S, Y, idx, theta, b, w):
    """Row b of W, into ``w``."""
    c = idx.shape[0]
    for k in range(c):
        w[k] = Y[idx[k], b]
        w[c + k] = theta * S[idx[k], b]


@njit(cache=True)
def _wdot(S, Y, idx, theta, b, v):
    """(row b of W) . v, without forming the row."""
    c = idx.shape[0]
    out = 0.0
    for k in range(c):
        out += Y[idx[k], b] * v[k] + theta * S[idx[k], b] * v[c + k]
    return out


@njit(cache=True)
def _breakpoints(x, g, lo, hi):
    """(t, d): where each coordinate of P(x - t g) meets its bound, and the path's direction
    (0 for a coordinate already held by its bound)."""
    n = x.shape[0]
    t = np.full(n, np.inf)
    d = np.zeros(n)
    for i in range(n):
        if g[i] < 0.0:
            t[i] = (x[i] - hi[i]) / g[i]
        elif g[i] > 0.0:
            t[i] = (x[i] - lo[i]) / g[i]
        if t[i] > 0.0:
            d[i] = -g[i]
        else:
            t[i] = 0.0
    return t, d


@njit(cache=True)
def cauchy_point(x, g, lo, hi, S, Y, idx, theta, M):
    """The generalized Cauchy point: the first local minimiser of the model
    ``g'z + z'Bz/2`` along the path ``P(x - t g) - x`` (BLNZ 1995, Alg. CP), visiting the
    breakpoints in increasing order; ``M`` is the compact form's 2m x 2m middle matrix."""
    n = x.shape[0]
    t, d = _breakpoints(x, g, lo, hi)
    xcp = x.copy()
    p = _wt(S, Y, idx, theta, d)
    Mp = np.empty(p.shape[0])
    _matvec_into(M, p, Mp)
    Mc = np.zeros(p.shape[0])
    fp = -np.dot(d, d)
    if fp == 0.0:
        return xcp
    fpp = -theta * fp - np.dot(p, Mp)
    fpp0 = fpp
    dtm = -fp / fpp
    told = 0.0
    nb = 0
    for i in range(n):
        if 0.0 < t[i] < np.inf:
            nb += 1
    cand = np.empty(nb, dtype=np.int64)
    nb = 0
    for i in range(n):
        if 0.0 < t[i] < np.inf:
            cand[nb] = i
            nb += 1
    order = cand[np.argsort(t[cand])]
    moving = 0
    for i in range(n):
        if d[i] != 0.0:
            moving += 1
    c2 = p.shape[0]
    wb = np.empty(c2)
    Mw = np.empty(c2)
    for j in range(nb):
        b = order[j]
        dt = t[b] - told
        if dtm < dt:
            break
        # the segment's minimiser lies beyond b: move to b's bound and fix b there
        xcp[b] = hi[b] if d[b] > 0.0 else lo[b]
        zb = xcp[b] - x[b]
        gb = g[b]
        _wrow_into(S, Y, idx, theta, b, wb)
        _matvec_into(M, wb, Mw)
        wMc = 0.0
        wMp = 0.0
        wMw = 0.0
        for k in range(c2):  # in place: thousands of breakpoints must not allocate
            Mc[k] += dt * Mp[k]
            wMc += wb[k] * Mc[k]
            wMp += wb[k] * Mp[k]
            wMw += wb[k] * Mw[k]
            p[k] += gb * wb[k]
            Mp[k] += gb * Mw[k]
        fp += dt * fpp + gb * gb + theta * gb * zb - gb * wMc
        fpp -= theta * gb * gb + 2.0 * gb * wMp + gb * gb * wMw
        fpp = max(_EPS * fpp0, fpp)
        d[b] = 0.0
        moving -= 1
        told = t[b]
        dtm = -fp / fpp if moving > 0 else 0.0
    dtm = max(dtm, 0.0)
    told += dtm
    for i in range(n):
        if d[i] != 0.0:
            xcp[i] = min(max(x[i] + told * d[i], lo[i]), hi[i])
    return xcp


@njit(cache=True)
def _free_gram(S, Y, SS, SY, YY, idx, theta, free, nfree):
    """W_F'W_F over the free rows: summed over the smaller of the free and the fixed sets
    (W'W is kept from the stored inner products)."""
    c = idx.shape[0]
    n = free.shape[0]
    A = np.zeros((2 * c, 2 * c))
    use_free = 2 * nfree <= n
    if not use_free:
        for i in range(c):
            for j in range(c):
                A[i, j] = YY[idx[i], idx[j]]
                A[i, c + j] = theta * SY[idx[j], idx[i]]  # y_i's_j
                A[c + i, j] = theta * SY[idx[i], idx[j]]
                A[c + i, c + j] = theta * theta * SS[idx[i], idx[j]]
    sign = 1.0 if use_free else -1.0
    w = np.empty(2 * c)
    for r in range(n):
        if free[r] == use_free:
            _wrow_into(S, Y, idx, theta, r, w)
            for i in range(2 * c):
                wi = sign * w[i]
                for j in range(i, 2 * c):  # upper triangle; mirrored below
                    A[i, j] += wi * w[j]
    for i in range(2 * c):
        for j in range(i):
            A[i, j] = A[j, i]
    return A


@njit(cache=True)
def subspace_step(x, xcp, g, lo, hi, S, Y, SS, SY, YY, idx, theta, K, M):
    """(xbar, ok): the model's minimiser over the variables free at the Cauchy point ``xcp``
    (direct primal method, BLNZ 1995 Sec. 5.1), projected onto the box when that keeps a
    descent direction from x, else backtracked into the box (Morales-Nocedal 2011). ok False:
    the reduced system was singular (xbar is then xcp)."""
    n = x.shape[0]
    c = idx.shape[0]
    free = np.zeros(n, dtype=np.bool_)
    nfree = 0
    for i in range(n):
        if lo[i] < xcp[i] < hi[i]:
            free[i] = True
            nfree += 1
    if nfree == 0:
        return xcp.copy(), True
    c_ = _wt(S, Y, idx, theta, xcp - x)
    Mc = np.empty(c_.shape[0])
    _matvec_into(M, c_, Mc)
    # reduced gradient r = Z'(g + theta (xcp - x) - W M c)
    r = np.zeros(n)
    for i in range(n):
        if free[i]:
            r[i] = g[i] + theta * (xcp[i] - x[i]) - _wdot(S, Y, idx, theta, i, Mc)
    du = -r / theta
    if c > 0:
        # Sherman-Morrison-Woodbury: (theta I - W_F M W_F')^-1 r
        #   = r/theta + W_F (K - W_F'W_F/theta)^-1 W_F' r / theta^2
        A = _free_gram(S, Y, SS, SY, YY, idx, theta, free, nfree)
        LUr, pivr, ok = _lu(K - A / theta)
        if not ok:
            return xcp.copy(), False
        v = _lu_solve(LUr, pivr, _wt(S, Y, idx, theta, r))
        for i in range(n):
            if free[i]:
                du[i] -= _wdot(S, Y, idx, theta, i, v) / (theta * theta)
    return _into_box(x, xcp, g, lo, hi, du, free), True


@njit(cache=True)
def _into_box(x, xcp, g, lo, hi, du, free):
    """xcp + du on the free variables, projected (if x -> result descends) or backtracked."""
    n = x.shape[0]
    xbar = xcp.copy()
    slope = 0.0
    for i in range(n):
        if free[i]:
            xbar[i] = min(max(xcp[i] + du[i], lo[i]), hi[i])
        slope += g[i] * (xbar[i] - x[i])
    if slope < 0.0:
        return xbar
    alpha = 1.0
    for i in range(n):
        if free[i] and du[i] > 0.0:
            alpha = min(alpha, (hi[i] - xcp[i]) / du[i])
        elif free[i] and du[i] < 0.0:
            alpha = min(alpha, (lo[i] - xcp[i]) / du[i])
    for i in range(n):
        if free[i]:
            xbar[i] = min(max(xcp[i] + alpha * du[i], lo[i]), hi[i])
    return xbar


@njit(cache=True)
def _direction(x, g, lo, hi, S, Y, SS, SY, YY, head, count, theta):
    """(d, ok): the L-BFGS-B search direction xbar - x; ok False when the compact matrices are
    singular (the caller forgets the pairs)."""
    m = S.shape[0]
    idx = _slots(head, count, m)
    K = _middle(SS, SY, idx, theta)
    LU, piv, ok = _lu(K)
    if not ok:
        return np.zeros_like(x), False
    M = _inverse(LU, piv)
    xcp = cauchy_point(x, g, lo, hi, S, Y, idx, theta, M)
    xbar, ok = subspace_step(x, xcp, g, lo, hi, S, Y, SS, SY, YY, idx, theta, K, M)
    return xbar - x, ok


@njit(cache=True)
def _remember(S, Y, SS, SY, YY, head, count, s, y):
    """Store the pair (s, y) in slot ``head`` and its inner products with the stored pairs."""
    m = S.shape[0]
    for i in range(s.shape[0]):
        S[head, i] = s[i]
        Y[head, i] = y[i]
    count = min(count + 1, m)
    idx = _slots((head + 1) % m, count, m)
    for k in range(count):
        j = idx[k]
        SS[head, j] = SS[j, head] = np.dot(s, S[j])
        YY[head, j] = YY[j, head] = np.dot(y, Y[j])
        SY[head, j] = np.dot(s, Y[j])
        SY[j, head] = np.dot(S[j], y)
    return (head + 1) % m, count


@njit(cache=True)
def _box_test(f_old, f_new, g, pgn, step_norm, x_norm, gtol, ftol, xtol):
    """:func:`solvers.termination.terminate` with the projected gradient norm ``pgn`` as the
    stationarity measure."""
    if not np.isfinite(f_new) or not np.all(np.isfinite(g)):
        return NONFINITE
    return decide(pgn, f_old, f_new, step_norm, x_norm, gtol, ftol, xtol)


@njit(cache=True)
def _first_step(x, d, lo, hi):
    """(alpha0, amax) of the first search, as L-BFGS-B: steps at most 1, and a first trial of
    1 / ||d|| unless every variable has both bounds."""
    boxed = np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))
    return (1.0 if boxed else min(1.0, 1.0 / np.sqrt(np.dot(d, d)))), 1.0


@njit(cache=True)
def _max_step(x, d, lo, hi):
    """(alpha0, amax): the unit step, and the distance to the boundary along d (at most 1e10)."""
    t = 1e10
    for i in range(x.shape[0]):
        if d[i] > 0.0:
            t = min(t, max(hi[i] - x[i], 0.0) / d[i])
        elif d[i] < 0.0:
            t = min(t, max(x[i] - lo[i], 0.0) / -d[i])
    return min(1.0, t), t


def lbfgsb_loop(vg, kargs, x0, lo, hi, m, maxiter, gtol, ftol, xtol, c1, c2, max_ls, maxfev,
                skip_eps, cb):
    """Minimise over the box from ``x0`` (projected); see the module docstring."""
    n = x0.shape[0]
    x = np.minimum(np.maximum(x0, lo), hi)
    f, g = vg(x, *kargs)
    nfev = 1
    S = np.zeros((m, n))
    Y = np.zeros((m, n))
    SS = np.zeros((m, m))
    SY = np.zeros((m, m))
    YY = np.zeros((m, m))
    head = 0
    count = 0
    theta = 1.0
    hist_f = np.empty(maxiter + 1)
    hist_g = np.empty(maxiter + 1)
    hist_f[0] = f
    hist_g[0] = projected_gradient_norm(x, g, lo, hi)
    status = _box_test(np.inf, f, g, hist_g[0], np.inf, 0.0, gtol, 0.0, 0.0)
    nit = 0
    while status == CONTINUE and nit < maxiter:
        if nfev >= maxfev:
            status = MAXFEV
            break
        d, ok = _direction(x, g, lo, hi, S, Y, SS, SY, YY, head, count, theta)
        slope = np.dot(g, d)
        if not (ok and slope < 0.0):
            if count > 0:  # the model lost descent (rounding): forget it
                count = 0
                theta = 1.0
                continue
            # projected steepest descent without a representable decrease: converged
            status = FTOL if ok and np.isfinite(slope) else LINESEARCH
            break
        if -slope <= max(ftol, 1e-15) * max(abs(f), 1.0):
            status = FTOL
            break
        if nit == 0:
            alpha0, amax = _first_step(x, d, lo, hi)
        else:
            alpha0, amax = _max_step(x, d, lo, hi)
        alpha, fn, gn, xn, nf, flag = box_line_search(vg, kargs, x, f, g, d, alpha0, c1, c2, amax,
                                                      lo, hi, min(max_ls, maxfev - nfev))
        nfev += nf
        if flag < 0:
            if nfev >= maxfev:
                status = MAXFEV
                break
            if count > 0:  # retry from the projected steepest descent
                count = 0
                theta = 1.0
                continue
            status = LINESEARCH if flag == -1 else NONFINITE
            break
        s = xn - x
        y = gn - g
        snorm = np.sqrt(np.dot(s, s))
        sy, yy, usable = curvature(s, y, snorm, skip_eps)
        if usable:
            head, count = _remember(S, Y, SS, SY, YY, head, count, s, y)
            theta = yy / sy
        nit += 1
        pgn = projected_gradient_norm(xn, gn, lo, hi)
        hist_f[nit] = fn
        hist_g[nit] = pgn
        x_norm = np.sqrt(np.dot(xn, xn)) if xtol > 0.0 else 0.0
        status = stop_status(cb, _box_test(f, fn, gn, pgn, snorm, x_norm, gtol, ftol, xtol),
                             nit, xn, fn, pgn)
        x, f, g = xn, fn, gn
    return finish(x, f, g, nit, nfev, 0, status, hist_f, hist_g, nit + 1)


lbfgsb_core = njit(cache=True, **JIT_OPTIONS)(lbfgsb_loop)
