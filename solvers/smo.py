"""SMO decomposition for the soft-margin SVM dual, in Numba nopython code.

Solves  min_a  f(a) = 1/2 a^T Q a - e^T a   s.t.  y^T a = 0,  0 <= a_i <= C_i,
with Q_ij = y_i y_j K(x_i, x_j), which is the SVM dual  max  e^T a - 1/2 a^T Q a.
The bound C_i may differ per sample (libsvm's weighted C: class weights times
sample weights); the two-variable step clips to each variable's own box.

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

import functools
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


@njit(cache=True, inline='always')
def _set_status(t, Cv, y, alpha, status, up_pen, low_pen):
    """Bound status of variable t and its membership penalties: up_pen[t] = 0 if
    t is in I_up = {t: y_t a_t may grow} else -inf; low_pen likewise for I_low."""
    a = alpha[t]
    if a >= Cv[t]:
        st = _UPPER
    elif a <= 0.0:
        st = _LOWER
    else:
        st = _FREE
    status[t] = st
    up_pen[t] = 0.0
    low_pen[t] = 0.0
    if st == _UPPER:
        if y[t] > 0.0:
            up_pen[t] = -np.inf
        else:
            low_pen[t] = -np.inf
    elif st == _LOWER:
        if y[t] > 0.0:
            low_pen[t] = -np.inf
        else:
            up_pen[t] = -np.inf


# Helpers called once or more per SMO iteration are inlined at Numba IR level: at
# small active sets the call overhead is a visible part of an iteration.

# The kernel-row cache, in the solver's position space (libsvm's layout): slot s
# holds the row of the variable at position slot_pos[s], valid on positions
# [0, slot_len[s]). ctr = (LRU clock, kernel evaluations).

@njit(cache=True, inline='always')
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
def _swap_variables(p, q, orig, y, Cv, alpha, g, gbar, status, up_pen, low_pen, QD, slot_of,
                    slot_pos):
    """Exchange positions p < q of every per-variable array (cached rows: _swap_rows)."""
    orig[p], orig[q] = orig[q], orig[p]
    y[p], y[q] = y[q], y[p]
    Cv[p], Cv[q] = Cv[q], Cv[p]
    alpha[p], alpha[q] = alpha[q], alpha[p]
    g[p], g[q] = g[q], g[p]
    gbar[p], gbar[q] = gbar[q], gbar[p]
    status[p], status[q] = status[q], status[p]
    up_pen[p], up_pen[q] = up_pen[q], up_pen[p]
    low_pen[p], low_pen[q] = low_pen[q], low_pen[p]
    QD[p], QD[q] = QD[q], QD[p]
    sp_, sq_ = slot_of[p], slot_of[q]
    slot_of[p], slot_of[q] = sq_, sp_
    if sq_ >= 0:
        slot_pos[sq_] = p
    if sp_ >= 0:
        slot_pos[sp_] = q


@njit(cache=True)
def _swap_rows(swaps, n_swaps, rows, slot_len):
    """Apply the position swaps (p, q), p < q, of one shrinking pass to every cached row.

    Row by row rather than swap by swap: each row's entries are touched while it is
    in the CPU cache (libsvm swaps one pair in all rows at a time)."""
    for s in range(slot_len.shape[0]):
        n = slot_len[s]
        for k in range(n_swaps):
            p = swaps[k, 0]
            if n <= p:
                break     # p only grows along a pass
            q = swaps[k, 1]
            if n > q:
                rows[s, p], rows[s, q] = rows[s, q], rows[s, p]
            else:
                n = p     # entry p is gone; [0, p) is still valid
        slot_len[s] = n


@njit(cache=True, inline='always')
def _max_up(A, g, up_pen):
    """m(a) = max_{I_up} -y_t G_t over the active set, and its argmax (-1 if I_up is empty)."""
    gmax = -np.inf
    imax = -1
    for t in range(A):
        v = up_pen[t] - g[t]
        if v >= gmax:
            gmax = v
            imax = t
    if gmax == -np.inf:
        imax = -1
    return gmax, imax


@njit(cache=True, inline='always')
def _select_j(A, gmax, imax, g, low_pen, QD, rows, si):
    """Second half of WSS 3 (Fan, Chen & Lin 2005): j minimising -b_ij^2 / a_ij over
    I_low with b_ij = m(a) + y_j G_j > 0. Returns (j or -1, -M(a))."""
    gmax2 = -np.inf      # -M(a) = max_{I_low} y_t G_t
    jmin = -1
    best = np.inf
    qi = QD[imax]
    for t in range(A):
        yg = g[t] + low_pen[t]
        if yg >= gmax2:
            gmax2 = yg
        b = gmax + yg
        if b > 0.0:
            a = qi + QD[t] - 2.0 * rows[si, t]
            if a <= 0.0:
                a = _TAU
            dec = -(b * b) / a
            if dec <= best:
                best = dec
                jmin = t
    return jmin, gmax2


@njit(cache=True)
def _max_low(A, g, low_pen):
    gmax2 = -np.inf
    for t in range(A):
        yg = g[t] + low_pen[t]
        if yg >= gmax2:
            gmax2 = yg
    return gmax2


@njit(cache=True)
def _reconstruct_gradient(A, alpha, y, g, gbar, status, X, sqn, params, krow, orig, rows,
                          slot_of, slot_pos, slot_len, stamp, ctr):
    """Exact signed gradient on the inactive positions [A, l):
    y_t G_t = y_t G_bar_t - y_t + sum over free s of y_s a_s K_ts."""
    l = y.shape[0]
    if A == l:
        return
    for t in range(A, l):
        g[t] = gbar[t] - y[t]
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
            g[t] += acc
    else:
        for s in range(A):
            if status[s] != _FREE:
                continue
            Ks = rows[_get_row(s, l, X, sqn, params, krow, orig, rows, slot_of, slot_pos,
                               slot_len, stamp, ctr)]
            c = y[s] * alpha[s]
            for t in range(A, l):
                g[t] += c * Ks[t]


@njit(cache=True)
def _shrink(A, unshrunk, tol, alpha, y, Cv, g, gbar, status, up_pen, low_pen, QD, X, sqn, params,
            krow, orig, rows, slot_of, slot_pos, slot_len, stamp, ctr, swaps):
    """One shrinking pass; returns (new active size, unshrunk flag)."""
    l = y.shape[0]
    gmax1 = _max_up(A, g, up_pen)[0]      # m(a)
    gmax2 = _max_low(A, g, low_pen)       # -M(a)
    if not unshrunk and gmax1 + gmax2 <= 10.0 * tol:
        # close to the end: bring every variable back once, with an exact gradient
        unshrunk = True
        _reconstruct_gradient(A, alpha, y, g, gbar, status, X, sqn, params, krow, orig, rows,
                              slot_of, slot_pos, slot_len, stamp, ctr)
        A = l
    # a bounded variable that can move only one way cannot join a violating pair
    # when its -y G is beyond m(a) (I_low only) or its y G beyond -M(a) (I_up only);
    # move those behind the active ones, swapping with the last active one that stays
    n_swaps = 0
    k = 0
    while k < A:
        if (up_pen[k] < 0.0 and -g[k] > gmax1) or (low_pen[k] < 0.0 and g[k] > gmax2):
            A -= 1
            while A > k:
                if not ((up_pen[A] < 0.0 and -g[A] > gmax1)
                        or (low_pen[A] < 0.0 and g[A] > gmax2)):
                    _swap_variables(k, A, orig, y, Cv, alpha, g, gbar, status, up_pen, low_pen,
                                    QD, slot_of, slot_pos)
                    swaps[n_swaps, 0] = k
                    swaps[n_swaps, 1] = A
                    n_swaps += 1
                    break
                A -= 1
        k += 1
    if n_swaps > 0:
        _swap_rows(swaps, n_swaps, rows, slot_len)
    return A, unshrunk


def _smo_impl(X, sqn, params, krow, y_in, QD_in, C_in, tol, n_slots, max_iter, shrinking):
    l = X.shape[0]
    y = y_in.copy()
    Cv = C_in.copy()         # per-variable upper bounds, permuted with the positions
    QD = QD_in.copy()
    orig = np.arange(l)
    alpha = np.zeros(l)
    # the solver works with the signed gradient g = y * G (G = Q a - e), so that
    # updates need no sign flips: g += c_i K_i + c_j K_j
    g = -y.copy()
    gbar = np.zeros(l)       # y * G_bar, G_bar = sum over a_s = C of C Q[:, s]
    status = np.zeros(l, np.int8)
    up_pen = np.zeros(l)
    low_pen = np.zeros(l)
    for t in range(l):
        _set_status(t, Cv, y, alpha, status, up_pen, low_pen)
    rows = np.empty((n_slots, l), np.float32)
    slot_of = -np.ones(l, np.int64)
    slot_pos = -np.ones(n_slots, np.int64)
    slot_len = np.zeros(n_slots, np.int64)
    stamp = -np.ones(n_slots, np.int64)
    ctr = np.zeros(2, np.int64)
    swaps = np.empty((l // 2 + 1, 2), np.int64)   # a pass swaps each position at most once

    A = l
    unshrunk = False
    n_iter = 0
    counter = min(l, 1000) + 1
    code = 0
    viol = np.inf
    fresh = False            # (gmax, imax) already computed by the last gradient update
    gmax = -np.inf
    i = -1
    si = -1
    while True:
        if n_iter >= max_iter:
            code = 1
            break
        counter -= 1
        if counter == 0:
            counter = min(l, 1000)
            if shrinking:
                A, unshrunk = _shrink(A, unshrunk, tol, alpha, y, Cv, g, gbar, status, up_pen,
                                      low_pen, QD, X, sqn, params, krow, orig, rows, slot_of,
                                      slot_pos, slot_len, stamp, ctr, swaps)
                fresh = False
        j = -1
        for attempt in range(2):
            if not fresh:
                gmax, i = _max_up(A, g, up_pen)
            fresh = False
            if i >= 0:
                si = _get_row(i, A, X, sqn, params, krow, orig, rows, slot_of, slot_pos,
                              slot_len, stamp, ctr)
                j, gmax2 = _select_j(A, gmax, i, g, low_pen, QD, rows, si)
            else:
                gmax2 = _max_low(A, g, low_pen)
            viol = gmax + gmax2
            if viol > tol and j >= 0:
                break
            j = -1
            if attempt == 0:
                # optimal on the active set: check all variables with an exact gradient
                _reconstruct_gradient(A, alpha, y, g, gbar, status, X, sqn, params, krow,
                                      orig, rows, slot_of, slot_pos, slot_len, stamp, ctr)
                A = l
                counter = 1   # shrink again at the next iteration
        if j < 0:
            break
        n_iter += 1

        # row i (slot si) was fetched by the selection; LRU keeps it while row j is fetched.
        # Rows are indexed in place, rows[s, t]: no array views in the hot loop
        sj = _get_row(j, A, X, sqn, params, krow, orig, rows, slot_of, slot_pos, slot_len,
                      stamp, ctr)
        ai_old = alpha[i]
        aj_old = alpha[j]
        ai = ai_old
        aj = aj_old
        Gi = y[i] * g[i]
        Gj = y[j] * g[j]
        quad = QD[i] + QD[j] - 2.0 * rows[si, j]
        if quad <= 0.0:
            quad = _TAU
        # analytic minimiser of f along the feasible direction, clipped to the box
        # [0, C_i] x [0, C_j] (libsvm's Solver::Solve, Chang & Lin 2011, Sec. 4.1.2)
        Ci = Cv[i]
        Cj = Cv[j]
        if y[i] != y[j]:
            delta = (-Gi - Gj) / quad
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
            if diff > Ci - Cj:
                if ai > Ci:
                    ai = Ci
                    aj = Ci - diff
            elif aj > Cj:
                aj = Cj
                ai = Cj + diff
        else:
            delta = (Gi - Gj) / quad
            total = ai + aj
            ai -= delta
            aj += delta
            if total > Ci:
                if ai > Ci:
                    ai = Ci
                    aj = total - Ci
            elif aj < 0.0:
                aj = 0.0
                ai = total
            if total > Cj:
                if aj > Cj:
                    aj = Cj
                    ai = total - Cj
            elif ai < 0.0:
                ai = 0.0
                aj = total
        alpha[i] = ai
        alpha[j] = aj
        ci = y[i] * (ai - ai_old)
        cj = y[j] * (aj - aj_old)
        ui = status[i] == _UPPER
        uj = status[j] == _UPPER
        _set_status(i, Cv, y, alpha, status, up_pen, low_pen)
        _set_status(j, Cv, y, alpha, status, up_pen, low_pen)
        # gradient update fused with the first half of the next working-set selection
        gmax = -np.inf
        inext = -1
        for t in range(A):
            gt = g[t] + (ci * rows[si, t] + cj * rows[sj, t])
            g[t] = gt
            v = up_pen[t] - gt
            if v >= gmax:
                gmax = v
                inext = t
        if gmax == -np.inf:
            inext = -1
        fresh = True

        # gbar = y * sum over upper-bounded s of C Q[:, s], kept for gradient reconstruction
        for t, was_upper in ((i, ui), (j, uj)):
            now_upper = status[t] == _UPPER
            if was_upper != now_upper:
                Kt = rows[_get_row(t, l, X, sqn, params, krow, orig, rows, slot_of, slot_pos,
                                   slot_len, stamp, ctr)]
                c = Cv[t] * y[t] if now_upper else -Cv[t] * y[t]
                for s in range(l):
                    gbar[s] += c * Kt[s]
        i = inext

    if A < l:
        _reconstruct_gradient(A, alpha, y, g, gbar, status, X, sqn, params, krow, orig, rows,
                              slot_of, slot_pos, slot_len, stamp, ctr)
        A = l
    if code == 1:
        viol = _max_up(l, g, up_pen)[0] + _max_low(l, g, low_pen)

    # bias: average of y_i G_i over free variables, else midpoint of the feasible interval
    ub = np.inf
    lb = -np.inf
    n_free = 0
    sum_free = 0.0
    for t in range(l):
        if status[t] == _FREE:
            n_free += 1
            sum_free += g[t]
        elif low_pen[t] < 0.0:
            ub = min(ub, g[t])
        else:
            lb = max(lb, g[t])
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
        obj += alpha[t] * (y[t] * g[t] - 1.0)
    # back to the caller's order
    alpha_out = np.empty(l)
    G_out = np.empty(l)
    for t in range(l):
        alpha_out[orig[t]] = alpha[t]
        G_out[orig[t]] = y[t] * g[t]
    # f = 1/2 a^T Q a - e^T a = 1/2 a^T (G - e); the dual objective is -f
    return alpha_out, G_out, -rho, -0.5 * obj, n_iter, code, viol, ctr[1]


# The kernel row is a first-class function type, so one compiled solver serves every
# kernel and stays in Numba's on-disk cache; compiled on first use, not at import.
_SMO_SIGNATURE = (types.float64[:, ::1], types.float64[::1], types.float64[::1], _KernelRow,
                  types.float64[::1], types.float64[::1], types.float64[::1], types.float64,
                  types.int64, types.int64, types.boolean)


@functools.lru_cache(maxsize=None)
def _compiled_smo():
    return njit(_SMO_SIGNATURE, cache=True)(_smo_impl)


def smo_solve(X, y, kernel, params, C=1.0, tol=1e-3, cache_size=200.0, max_iter=-1,
              shrinking=True):
    """Solve the binary soft-margin SVM dual by SMO.

    X: (l, d) data, or the (l, l) Gram matrix for ``codegen.kernels.precomputed_kernel()``;
    y: labels in {-1, +1}; kernel: a ``codegen.kernels.CompiledKernel``; params: its
    parameter values; C: the upper bound, one positive number or one per sample (libsvm's
    weighted C); cache_size: kernel-row cache in MB; max_iter: -1 for libsvm's default cap
    max(10^7, 100 l).
    """
    X = np.ascontiguousarray(X, dtype=np.float64)
    if not X.flags.writeable:
        X = X.copy()    # a read-only array has another Numba type: no second compile
    y = np.ascontiguousarray(y, dtype=np.float64)
    l = X.shape[0]
    if X.ndim != 2 or y.shape != (l,):
        raise ValueError(f"smo_solve: X must be 2-D and y 1-D of the same length, got "
                         f"X{X.shape} and y{y.shape}")
    if kernel.kind == "precomputed" and X.shape != (l, l):
        raise ValueError(f"smo_solve: a precomputed kernel needs the square Gram matrix of "
                         f"the samples as X, got shape {X.shape}")
    if not np.all(np.abs(y) == 1.0):
        raise ValueError("smo_solve: y must hold only -1 and +1")
    Cv = np.asarray(C, dtype=np.float64)
    if Cv.ndim == 0:
        Cv = np.full(l, float(Cv))
    if Cv.shape != (l,):
        raise ValueError(f"smo_solve: C must be a number or one bound per sample ({l}), got "
                         f"shape {Cv.shape}")
    if not (np.all(Cv > 0) and np.all(np.isfinite(Cv))):
        bad = np.flatnonzero(~((Cv > 0) & np.isfinite(Cv)))[0]
        raise ValueError(f"smo_solve: C must be positive and finite, got C[{bad}] = {Cv[bad]!r}")
    if not tol > 0:
        raise ValueError(f"smo_solve: tol must be positive, got {tol!r}")
    kernel.check_features(X.shape[1])
    p = kernel.param_array(params)
    sqn = kernel.sq_norms(X) if kernel.kind == "inner" else np.zeros(l)
    n_slots = int(max(2, min(l, cache_size * 2**20 // (4 * max(l, 1)))))
    cap = max(10_000_000, 100 * l)
    max_iter = cap if max_iter is None or max_iter < 0 else int(max_iter)
    alpha, G, b, obj, n_iter, code, viol, nk = _compiled_smo()(
        X, sqn, p, kernel.row, y, kernel.diag(X, p), np.ascontiguousarray(Cv), float(tol),
        n_slots, max_iter, bool(shrinking))
    return SMOResult(alpha, float(b), float(obj), int(n_iter), int(code),
                     STATUS_MESSAGES[int(code)], float(viol), G, int(nk))
