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

Unlike libsvm, variables are never physically swapped: ``perm[:A]`` lists the
active set (kept in increasing order for memory locality), and a cached row
computed for a shrunk active set stays valid until the set grows again (an
"epoch" counter).

>>> import numpy as np
>>> from codegen.kernels import standard_kernel
>>> X = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 0.0], [3.0, 1.0]])
>>> y = np.array([-1.0, -1.0, 1.0, 1.0])
>>> r = smo_solve(X, y, standard_kernel("linear"), np.zeros(2), C=10.0)
>>> r.status, np.round(r.alpha, 6), round(r.b, 6)
(0, array([0.  , 0.25, 0.25, 0.  ]), -2.0)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, types

from codegen.kernels import ROW_SIGNATURE

__all__ = ["SMOResult", "smo_solve", "STATUS_MESSAGES"]

_LOWER, _UPPER, _FREE = 0, 1, 2
_TAU = 1e-12          # curvature floor for non-PSD / duplicate-point pairs (Fan et al. 2005)
_FULL = -1            # cache slot holds all l entries
_EMPTY = -2           # cache slot unused

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


@njit(cache=True)
def _get_row(i, full, A, X, sqn, params, krow, perm, rows, slot_of, meta, ctr):
    """Slot holding kernel row i, valid on the active set (or on all l if full).

    meta[s] = (row index, validity: _FULL / _EMPTY / epoch of a partial row, LRU stamp);
    ctr = (clock, epoch, kernel evaluations)."""
    l = perm.shape[0]
    ctr[0] += 1
    s = slot_of[i]
    if s >= 0:
        meta[s, 2] = ctr[0]
        v = meta[s, 1]
        if v == _FULL:
            return s
        if v == ctr[1]:
            # partial row still valid: a full request computes only the inactive part
            if full and A < l:
                krow(X, sqn, params, i, perm, A, l, rows[s])
                ctr[2] += l - A
                meta[s, 1] = _FULL
            elif A == l:
                meta[s, 1] = _FULL
            return s
    else:
        # evict the least recently used slot (empty slots carry stamp -1)
        s = 0
        best = meta[0, 2]
        for t in range(1, meta.shape[0]):
            if meta[t, 2] < best:
                best = meta[t, 2]
                s = t
        old = meta[s, 0]
        if old >= 0:
            slot_of[old] = -1
        meta[s, 0] = i
        meta[s, 2] = ctr[0]
        slot_of[i] = s
    if full or A == l:
        krow(X, sqn, params, i, perm, 0, l, rows[s])
        ctr[2] += l
        meta[s, 1] = _FULL
    else:
        krow(X, sqn, params, i, perm, 0, A, rows[s])
        ctr[2] += A
        meta[s, 1] = ctr[1]
    return s


@njit(cache=True)
def _select_working_set(A, tol, y, G, status, QD, X, sqn, params, krow, perm,
                        rows, slot_of, meta, ctr):
    """WSS 3 (Fan, Chen & Lin 2005). Returns (i, j, m - M); j = -1 when optimal."""
    gmax = -np.inf       # m(a) = max_{I_up} -y_t G_t
    imax = -1
    for k in range(A):
        t = perm[k]
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
        Ki = rows[_get_row(imax, False, A, X, sqn, params, krow, perm, rows, slot_of, meta, ctr)]
        qi = QD[imax]
        for k in range(A):
            t = perm[k]
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
        for k in range(A):
            t = perm[k]
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
def _reconstruct_gradient(A, alpha, y, G, G_bar, status, X, sqn, params, krow, perm,
                          rows, slot_of, meta, ctr):
    """Exact G on the inactive variables: G = G_bar + (free part of Q a) - e."""
    l = perm.shape[0]
    if A == l:
        return
    for k in range(A, l):
        t = perm[k]
        G[t] = G_bar[t] - 1.0
    n_free = 0
    for k in range(A):
        if status[perm[k]] == _FREE:
            n_free += 1
    # pick the loop order that needs fewer kernel evaluations (libsvm does the same)
    if n_free * l > 2 * A * (l - A):
        for k in range(A, l):
            t = perm[k]
            Kt = rows[_get_row(t, False, A, X, sqn, params, krow, perm, rows, slot_of, meta, ctr)]
            acc = 0.0
            for m in range(A):
                s = perm[m]
                if status[s] == _FREE:
                    acc += y[s] * alpha[s] * Kt[s]
            G[t] += y[t] * acc
    else:
        for m in range(A):
            s = perm[m]
            if status[s] != _FREE:
                continue
            Ks = rows[_get_row(s, True, A, X, sqn, params, krow, perm, rows, slot_of, meta, ctr)]
            c = y[s] * alpha[s]
            for k in range(A, l):
                t = perm[k]
                G[t] += y[t] * c * Ks[t]


@njit(cache=True)
def _shrink_candidate(t, y, G, status, gmax1, gmax2):
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
def _shrink(A, unshrunk, tol, alpha, y, G, G_bar, status, X, sqn, params, krow, perm,
            buf, rows, slot_of, meta, ctr):
    """One shrinking pass; returns (new active size, unshrunk flag)."""
    l = perm.shape[0]
    gmax1 = -np.inf   # max_{I_up} -y G
    gmax2 = -np.inf   # max_{I_low} y G
    for k in range(A):
        t = perm[k]
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
        # close to the end: bring every variable back once with an exact gradient
        unshrunk = True
        _reconstruct_gradient(A, alpha, y, G, G_bar, status, X, sqn, params, krow, perm,
                              rows, slot_of, meta, ctr)
        if A < l:
            A = l
            ctr[1] += 1
    # stable partition of perm[:A]: kept variables first, in their order
    n_keep = 0
    n_drop = 0
    for k in range(A):
        t = perm[k]
        if _shrink_candidate(t, y, G, status, gmax1, gmax2):
            buf[n_drop] = t
            n_drop += 1
        else:
            perm[n_keep] = t
            n_keep += 1
    for k in range(n_drop):
        perm[n_keep + k] = buf[k]
    return n_keep, unshrunk


@njit((types.float64[:, ::1], types.float64[::1], types.float64[::1], _KernelRow,
       types.float64[::1], types.float64, types.float64, types.int64, types.int64,
       types.boolean), cache=True)
def _smo(X, sqn, params, krow, y, C, tol, n_slots, max_iter, shrinking):
    l = X.shape[0]
    alpha = np.zeros(l)
    G = -np.ones(l)
    G_bar = np.zeros(l)
    status = np.zeros(l, np.int8)
    perm = np.arange(l)
    buf = np.empty(l, np.int64)
    rows = np.empty((n_slots, l), np.float32)
    slot_of = -np.ones(l, np.int64)
    meta = np.empty((n_slots, 3), np.int64)
    for s in range(n_slots):
        meta[s, 0] = -1
        meta[s, 1] = _EMPTY
        meta[s, 2] = -1
    ctr = np.zeros(3, np.int64)
    # diagonal, rounded like the cached entries so that Q_ii + Q_jj - 2 Q_ij is
    # exactly 0 for duplicated points
    QD = np.empty(l)
    one = np.empty(1, np.int64)
    tmp = np.empty(l, np.float32)
    for i in range(l):
        one[0] = i
        krow(X, sqn, params, i, one, 0, 1, tmp)
        QD[i] = tmp[i]

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
                A, unshrunk = _shrink(A, unshrunk, tol, alpha, y, G, G_bar, status, X, sqn,
                                      params, krow, perm, buf, rows, slot_of, meta, ctr)
        i, j, viol = _select_working_set(A, tol, y, G, status, QD, X, sqn, params, krow,
                                         perm, rows, slot_of, meta, ctr)
        if j < 0:
            # optimal on the active set: check all variables with an exact gradient
            _reconstruct_gradient(A, alpha, y, G, G_bar, status, X, sqn, params, krow, perm,
                                  rows, slot_of, meta, ctr)
            if A < l:
                A = l
                ctr[1] += 1
            i, j, viol = _select_working_set(A, tol, y, G, status, QD, X, sqn, params, krow,
                                             perm, rows, slot_of, meta, ctr)
            if j < 0:
                break
            counter = 1   # shrink again at the next iteration
        n_iter += 1

        Ki = rows[_get_row(i, False, A, X, sqn, params, krow, perm, rows, slot_of, meta, ctr)]
        Kj = rows[_get_row(j, False, A, X, sqn, params, krow, perm, rows, slot_of, meta, ctr)]
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
        for k in range(A):
            t = perm[k]
            G[t] += y[t] * (ci * Ki[t] + cj * Kj[t])

        # G_bar = sum over upper-bounded s of C Q[:, s], kept for gradient reconstruction
        for t in (i, j):
            was_upper = status[t] == _UPPER
            status[t] = _status(alpha[t], C)
            now_upper = status[t] == _UPPER
            if was_upper != now_upper:
                Kt = rows[_get_row(t, True, A, X, sqn, params, krow, perm, rows, slot_of,
                                   meta, ctr)]
                c = C * y[t] if now_upper else -C * y[t]
                for s in range(l):
                    G_bar[s] += c * y[s] * Kt[s]

    if A < l:
        _reconstruct_gradient(A, alpha, y, G, G_bar, status, X, sqn, params, krow, perm,
                              rows, slot_of, meta, ctr)
        A = l
    if code == 1:
        viol = _select_working_set(l, tol, y, G, status, QD, X, sqn, params, krow, perm,
                                   rows, slot_of, meta, ctr)[2]

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
    # f = 1/2 a^T Q a - e^T a = 1/2 a^T (G - e); the dual objective is -f
    return alpha, G, -rho, -0.5 * obj, n_iter, code, viol, ctr[2]


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
        X, sqn, p, kernel.row, y, float(C), float(tol), n_slots, max_iter, bool(shrinking))
    return SMOResult(alpha, float(b), float(obj), int(n_iter), int(code),
                     STATUS_MESSAGES[int(code)], float(viol), G, int(nk))
