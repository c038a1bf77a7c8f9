"""SMO decomposition for the soft-margin SVM dual, in Numba nopython code.

Solves  min_a  f(a) = 1/2 a^T Q a - e^T a   s.t.  y^T a = 0,  0 <= a_i <= C,
with Q_ij = y_i y_j K(x_i, x_j), which is the SVM dual  max  e^T a - 1/2 a^T Q a.

The algorithm is the one libsvm made standard (Chang & Lin, "LIBSVM: a library
for support vector machines", ACM TIST 2011, Sec. 4), written from the papers:

* working set by second-order information, WSS 3 of Fan, Chen & Lin, JMLR 6
  (2005): i maximises -y_i G_i over I_up, j minimises the two-variable
  objective decrease -b_ij^2 / a_ij over I_low with -y_j G_j < -y_i G_i;
* stopping when the maximal KKT violation m(a) - M(a) <= tol;
* shrinking (Joachims 1999; the libsvm variant): every min(l, 1000) iterations
  bounded variables that cannot take part in a violating pair are dropped from
  the active set; once m - M <= 10 tol the full gradient is reconstructed from
  G_bar (the contribution of variables at the upper bound) and all variables
  are checked again, and again before the final stopping test;
* kernel rows K(x_i, X[active]) computed on demand by the compiled kernel's
  ``row`` function and kept in an LRU cache of fixed memory (float32 entries,
  as libsvm's Qfloat);
* the bias from the free support vectors (average of y_i G_i), or the midpoint
  of the feasible interval when no variable is free.

As in libsvm the solver works in a position space: shrinking swaps variables
so that positions [0, A) are the active ones, and cached rows are swapped with
them; the data X never moves (``orig`` maps positions to rows of X, and the
kernel-row function reads X through it).

>>> import numpy as np
>>> from codegen.kernels import standard_kernel
>>> X = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 0.0], [3.0, 1.0]])
>>> y = np.array([-1.0, -1.0, 1.0, 1.0])
>>> r = smo_solve(X, y, standard_kernel("linear"), np.zeros(2), C=10.0, tol=1e-8)
>>> r.status, r.alpha.round(6).tolist(), round(r.b, 6), round(r.obj, 6)
(0, [0.0, 1.0, 1.0, 0.0], -1.0, 1.0)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, types

from codegen.kernels import ROW_SIGNATURE

__all__ = ["SMOResult", "smo_solve", "STATUS_MESSAGES"]

_LOWER, _UPPER, _FREE = 0, 1, 2
_TAU = 1e-12          # curvature floor for non-PSD / duplicate-point pairs (Fan et al. 2005)

STATUS_MESSAGES = {
    0: "converged: maximal KKT violation m(a) - M(a) <= tol",
    1: "stopped at max_iter before the KKT violation reached tol",
}

_KernelRow = types.FunctionType(ROW_SIGNATURE)


@dataclass
class SMOResult:
    """Solution of the SVM dual. ``alpha`` (>= 0), bias ``b`` (f(x) = sum y_i a_i K + b),
    ``obj``: the dual objective e^T a - 1/2 a^T Q a (maximised), ``n_iter``, ``status``
    (see STATUS_MESSAGES), ``message``, ``kkt_violation`` m(a) - M(a) at exit,
    ``gradient`` (G = Q a - e), ``kernel_evaluations``."""
    alpha: np.ndarray
    b: float
    obj: float
    n_iter: int
    status: int
    message: str
    kkt_violation: float
    gradient: np.ndarray
    kernel_evaluations: int


@njit(cache=True)
def _status(a, C):
    if a >= C:
        return _UPPER
    if a <= 0.0:
        return _LOWER
    return _FREE


# The kernel-row cache, in the solver's position space (libsvm's layout): slot s
# holds the row of the variable at position slot_pos[s], valid on positions
# [0, slot_len[s]). ctr = (LRU clock, kernel evaluations).

@njit(cache=True)
def _get_row(p, length, X, sqn, params, krow, orig, rows, slot_of, slot_pos, slot_len,
             stamp, ctr):
    """Slot holding the kernel row of position p, valid on positions [0, length)."""
    ctr[0] += 1
    s = slot_of[p]
    if s < 0:
        # evict the least recently used slot (unused slots carry stamp -1)
        s = 0
        best = stamp[0]
        for t in range(1, stamp.shape[0]):
            if stamp[t] < best:
                best = stamp[t]
                s = t
        if slot_pos[s] >= 0:
            slot_of[slot_pos[s]] = -1
        slot_pos[s] = p
        slot_of[p] = s
        slot_len[s] = 0
    stamp[s] = ctr[0]
    have = slot_len[s]
    if have < length:
        krow(X, sqn, params, orig[p], orig, have, length, rows[s])
        ctr[1] += length - have
        slot_len[s] = length
    return s


@njit(cache=True)
def _swap(p, q, orig, y, alpha, G, G_bar, status, QD, rows, slot_of, slot_pos, slot_len):
    """Exchange positions p < q of every per-variable array and of the cached rows."""
    orig[p], orig[q] = orig[q], orig[p]
    y[p], y[q] = y[q], y[p]
    alpha[p], alpha[q] = alpha[q], alpha[p]
    G[p], G[q] = G[q], G[p]
    G_bar[p], G_bar[q] = G_bar[q], G_bar[p]
    status[p], status[q] = status[q], status[p]
    QD[p], QD[q] = QD[q], QD[p]
    sp_, sq_ = slot_of[p], slot_of[q]
    slot_of[p], slot_of[q] = sq_, sp_
    if sq_ >= 0:
        slot_pos[sq_] = p
    if sp_ >= 0:
        slot_pos[sp_] = q
    for s in range(slot_pos.shape[0]):
        n = slot_len[s]
        if n > p:
            if n > q:
                rows[s, p], rows[s, q] = rows[s, q], rows[s, p]
            else:
                slot_len[s] = p   # entry p is gone; [0, p) is still valid


@njit(cache=True)
def _select_working_set(A, tol, y, G, status, QD, X, sqn, params, krow, orig, rows,
                        slot_of, slot_pos, slot_len, stamp, ctr):
    """WSS 3 (Fan, Chen & Lin 2005). Returns (i, j, m - M); j = -1 when optimal."""
    gmax = -np.inf       # m(a) = max_{I_up} -y_t G_t
    imax = -1
    for t in range(A):
        if y[t] > 0.0:
            if status[t] != _UPPER and -G[t] >= gmax:
                gmax = -G[t]
                imax = t
        else:
            if status[t] != _LOWER and G[t] >= gmax:
                gmax = G[t]
                imax = t
    gmax2 = -np.inf      # -M(a) = max_{I_low} y_t G_t
    jmin = -1
    best = np.inf
    if imax >= 0:
        Ki = rows[_get_row(imax, A, X, sqn, params, krow, orig, rows, slot_of, slot_pos,
                           slot_len, stamp, ctr)]
        qi = QD[imax]
        for t in range(A):
            if y[t] > 0.0:
                if status[t] == _LOWER:
                    continue
                yg = G[t]
            else:
                if status[t] == _UPPER:
                    continue
                yg = -G[t]
            if yg >= gmax2:
                gmax2 = yg
            b = gmax + yg
            if b > 0.0:
                a = qi + QD[t] - 2.0 * Ki[t]
                if a <= 0.0:
                    a = _TAU
                dec = -(b * b) / a
                if dec <= best:
                    best = dec
                    jmin = t
    else:
        for t in range(A):
            if y[t] > 0.0:
                if status[t] != _LOWER and G[t] >= gmax2:
                    gmax2 = G[t]
            elif status[t] != _UPPER and -G[t] >= gmax2:
                gmax2 = -G[t]
    viol = gmax + gmax2
    if viol <= tol or jmin < 0:
        return imax, -1, viol
    return imax, jmin, viol


@njit(cache=True)
def _reconstruct_gradient(A, alpha, y, G, G_bar, status, X, sqn, params, krow, orig, rows,
                          slot_of, slot_pos, slot_len, stamp, ctr):
    """Exact G on the inactive positions [A, l): G = G_bar + (free part of Q a) - e."""
    l = y.shape[0]
    if A == l:
        return
    for t in range(A, l):
        G[t] = G_bar[t] - 1.0
    n_free = 0
    for t in range(A):
        if status[t] == _FREE:
            n_free += 1
    # pick the loop order that needs fewer kernel evaluations (libsvm does the same)
    if n_free * l > 2 * A * (l - A):
        for t in range(A, l):
            Kt = rows[_get_row(t, A, X, sqn, params, krow, orig, rows, slot_of, slot_pos,
                               slot_len, stamp, ctr)]
            acc = 0.0
            for s in range(A):
                if status[s] == _FREE:
                    acc += y[s] * alpha[s] * Kt[s]
            G[t] += y[t] * acc
    else:
        for s in range(A):
            if status[s] != _FREE:
                continue
            Ks = rows[_get_row(s, l, X, sqn, params, krow, orig, rows, slot_of, slot_pos,
                               slot_len, stamp, ctr)]
            c = y[s] * alpha[s]
            for t in range(A, l):
                G[t] += y[t] * c * Ks[t]


@njit(cache=True)
def _shrinkable(t, y, G, status, gmax1, gmax2):
    """True when bounded variable t cannot be part of any violating pair."""
    if status[t] == _UPPER:
        if y[t] > 0.0:
            return -G[t] > gmax1
        return -G[t] > gmax2
    if status[t] == _LOWER:
        if y[t] > 0.0:
            return G[t] > gmax2
        return G[t] > gmax1
    return False


@njit(cache=True)
def _shrink(A, unshrunk, tol, alpha, y, G, G_bar, status, QD, X, sqn, params, krow, orig,
            rows, slot_of, slot_pos, slot_len, stamp, ctr):
    """One shrinking pass; returns (new active size, unshrunk flag)."""
    l = y.shape[0]
    gmax1 = -np.inf   # max_{I_up} -y G
    gmax2 = -np.inf   # max_{I_low} y G
    for t in range(A):
        if y[t] > 0.0:
            if status[t] != _UPPER and -G[t] >= gmax1:
                gmax1 = -G[t]
            if status[t] != _LOWER and G[t] >= gmax2:
                gmax2 = G[t]
        else:
            if status[t] != _UPPER and -G[t] >= gmax2:
                gmax2 = -G[t]
            if status[t] != _LOWER and G[t] >= gmax1:
                gmax1 = G[t]
    if not unshrunk and gmax1 + gmax2 <= 10.0 * tol:
        # close to the end: bring every variable back once, with an exact gradient
        unshrunk = True
        _reconstruct_gradient(A, alpha, y, G, G_bar, status, X, sqn, params, krow, orig, rows,
                              slot_of, slot_pos, slot_len, stamp, ctr)
        A = l
    # move shrinkable variables behind the active ones, each swapped with the last
    # active variable that stays
    k = 0
    while k < A:
        if _shrinkable(k, y, G, status, gmax1, gmax2):
            A -= 1
            while A > k:
                if not _shrinkable(A, y, G, status, gmax1, gmax2):
                    _swap(k, A, orig, y, alpha, G, G_bar, status, QD, rows, slot_of,
                          slot_pos, slot_len)
                    break
                A -= 1
        k += 1
    return A, unshrunk


@njit((types.float64[:, ::1], types.float64[::1], types.float64[::1], _KernelRow,
       types.float64[::1], types.float64[::1], types.float64, types.float64, types.int64,
       types.int64, types.boolean), cache=True)
def _smo(X, sqn, params, krow, y_in, QD_in, C, tol, n_slots, max_iter, shrinking):
    l = X.shape[0]
    y = y_in.copy()
    orig = np.arange(l)
    alpha = np.zeros(l)
    G = -np.ones(l)
    G_bar = np.zeros(l)
    status = np.zeros(l, np.int8)
    rows = np.empty((n_slots, l), np.float32)
    slot_of = -np.ones(l, np.int64)
    slot_pos = -np.ones(n_slots, np.int64)
    slot_len = np.zeros(n_slots, np.int64)
    stamp = -np.ones(n_slots, np.int64)
    ctr = np.zeros(2, np.int64)
    QD = QD_in.copy()

    A = l
    unshrunk = False
    n_iter = 0
    counter = min(l, 1000) + 1
    code = 0
    viol = np.inf
    while True:
        if n_iter >= max_iter:
            code = 1
            break
        counter -= 1
        if counter == 0:
            counter = min(l, 1000)
            if shrinking:
                A, unshrunk = _shrink(A, unshrunk, tol, alpha, y, G, G_bar, status, QD, X, sqn,
                                      params, krow, orig, rows, slot_of, slot_pos, slot_len,
                                      stamp, ctr)
        i, j, viol = _select_working_set(A, tol, y, G, status, QD, X, sqn, params, krow, orig,
                                         rows, slot_of, slot_pos, slot_len, stamp, ctr)
        if j < 0:
            # optimal on the active set: check all variables with an exact gradient
            _reconstruct_gradient(A, alpha, y, G, G_bar, status, X, sqn, params, krow, orig,
                                  rows, slot_of, slot_pos, slot_len, stamp, ctr)
            A = l
            i, j, viol = _select_working_set(A, tol, y, G, status, QD, X, sqn, params, krow,
                                             orig, rows, slot_of, slot_pos, slot_len, stamp,
                                             ctr)
            if j < 0:
                break
            counter = 1   # shrink again at the next iteration
        n_iter += 1

        Ki = rows[_get_row(i, A, X, sqn, params, krow, orig, rows, slot_of, slot_pos, slot_len,
                           stamp, ctr)]
        Kj = rows[_get_row(j, A, X, sqn, params, krow, orig, rows, slot_of, slot_pos, slot_len,
                           stamp, ctr)]
        ai_old = alpha[i]
        aj_old = alpha[j]
        ai = ai_old
        aj = aj_old
        quad = QD[i] + QD[j] - 2.0 * Ki[j]
        if quad <= 0.0:
            quad = _TAU
        # analytic minimiser of f along the feasible direction, clipped to the box
        if y[i] != y[j]:
            delta = (-G[i] - G[j]) / quad
            diff = ai - aj
            ai += delta
            aj += delta
            if diff > 0.0:
                if aj < 0.0:
                    aj = 0.0
                    ai = diff
            elif ai < 0.0:
                ai = 0.0
                aj = -diff
            if diff > 0.0:
                if ai > C:
                    ai = C
                    aj = C - diff
            elif aj > C:
                aj = C
                ai = C + diff
        else:
            delta = (G[i] - G[j]) / quad
            total = ai + aj
            ai -= delta
            aj += delta
            if total > C:
                if ai > C:
                    ai = C
                    aj = total - C
                if aj > C:
                    aj = C
                    ai = total - C
            else:
                if aj < 0.0:
                    aj = 0.0
                    ai = total
                if ai < 0.0:
                    ai = 0.0
                    aj = total
        alpha[i] = ai
        alpha[j] = aj
        ci = y[i] * (ai - ai_old)
        cj = y[j] * (aj - aj_old)
        for t in range(A):
            G[t] += y[t] * (ci * Ki[t] + cj * Kj[t])

        # G_bar = sum over upper-bounded s of C Q[:, s], kept for gradient reconstruction
        for t in (i, j):
            was_upper = status[t] == _UPPER
            status[t] = _status(alpha[t], C)
            now_upper = status[t] == _UPPER
            if was_upper != now_upper:
                Kt = rows[_get_row(t, l, X, sqn, params, krow, orig, rows, slot_of, slot_pos,
                                   slot_len, stamp, ctr)]
                c = C * y[t] if now_upper else -C * y[t]
                for s in range(l):
                    G_bar[s] += c * y[s] * Kt[s]

    if A < l:
        _reconstruct_gradient(A, alpha, y, G, G_bar, status, X, sqn, params, krow, orig, rows,
                              slot_of, slot_pos, slot_len, stamp, ctr)
        A = l
    if code == 1:
        viol = _select_working_set(l, tol, y, G, status, QD, X, sqn, params, krow, orig, rows,
                                   slot_of, slot_pos, slot_len, stamp, ctr)[2]

    # bias: average of y_i G_i over free variables, else midpoint of the feasible interval
    ub = np.inf
    lb = -np.inf
    n_free = 0
    sum_free = 0.0
    for t in range(l):
        yg = y[t] * G[t]
        st = status[t]
        if st == _FREE:
            n_free += 1
            sum_free += yg
        elif (st == _LOWER) == (y[t] > 0.0):
            ub = min(ub, yg)
        else:
            lb = max(lb, yg)
    if n_free > 0:
        rho = sum_free / n_free
    elif np.isfinite(ub) and np.isfinite(lb):
        rho = 0.5 * (ub + lb)
    elif np.isfinite(ub):
        rho = ub
    else:
        rho = lb
    obj = 0.0
    for t in range(l):
        obj += alpha[t] * (G[t] - 1.0)
    # back to the caller's order
    alpha_out = np.empty(l)
    G_out = np.empty(l)
    for t in range(l):
        alpha_out[orig[t]] = alpha[t]
        G_out[orig[t]] = G[t]
    # f = 1/2 a^T Q a - e^T a = 1/2 a^T (G - e); the dual objective is -f
    return alpha_out, G_out, -rho, -0.5 * obj, n_iter, code, viol, ctr[1]


def smo_solve(X, y, kernel, params, C=1.0, tol=1e-3, cache_size=200.0, max_iter=-1,
              shrinking=True):
    """Solve the binary soft-margin SVM dual by SMO.

    X: (l, d) data; y: labels in {-1, +1}; kernel: a ``codegen.kernels.CompiledKernel``;
    params: its parameter values; cache_size: kernel-row cache in MB; max_iter: -1 for
    libsvm's default cap max(10^7, 100 l).
    """
    X = np.ascontiguousarray(X, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.float64)
    l = X.shape[0]
    if X.ndim != 2 or y.shape != (l,):
        raise ValueError(f"smo_solve: X must be 2-D and y 1-D of the same length, got "
                         f"X{X.shape} and y{y.shape}")
    if not np.all(np.abs(y) == 1.0):
        raise ValueError("smo_solve: y must hold only -1 and +1")
    if not (C > 0 and np.isfinite(C)):
        raise ValueError(f"smo_solve: C must be a positive finite number, got {C!r}")
    if not tol > 0:
        raise ValueError(f"smo_solve: tol must be positive, got {tol!r}")
    kernel.check_features(X.shape[1])
    p = kernel._params(params)
    sqn = kernel.sq_norms(X) if kernel.kind == "inner" else np.zeros(l)
    n_slots = int(max(2, min(l, cache_size * 2**20 // (4 * max(l, 1)))))
    cap = max(10_000_000, 100 * l)
    max_iter = cap if max_iter is None or max_iter < 0 else int(max_iter)
    alpha, G, b, obj, n_iter, code, viol, nk = _smo(
        X, sqn, p, kernel.row, y, kernel.diag(X, p), float(C), float(tol), n_slots, max_iter, bool(shrinking))
    return SMOResult(alpha, float(b), float(obj), int(n_iter), int(code),
                     STATUS_MESSAGES[int(code)], float(viol), G, int(nk))
