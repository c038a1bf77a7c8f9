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

The solver's state lives in three small NamedTuples of arrays: ``_Kernel`` (the
data and the compiled row function), ``_Vars`` (the per-position variables) and
``_RowCache`` (the kernel rows). Numba types them as plain structs, and the
solver stays in its on-disk cache (a jitclass would not); the per-iteration
steps are written so that they cost no reference counting (see the note above
``_bound_status``). The loop in ``_smo_impl`` is made of named steps: select the
working set, update the pair, update the gradient, shrink / unshrink (gradient
reconstruction), and the bias and objective at the end.

>>> import numpy as np
>>> from codegen.kernels import standard_kernel
>>> X = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 0.0], [3.0, 1.0]])
>>> y = np.array([-1.0, -1.0, 1.0, 1.0])
>>> r = smo_solve(X, y, standard_kernel("linear"), np.zeros(2), C=10.0, tol=1e-8)
>>> r.status, r.alpha.round(6).tolist(), round(r.b, 6), round(r.obj, 6)
(<Status.CONVERGED_GTOL: 0>, [0.0, 1.0, 1.0, 0.0], -1.0, 1.0)
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numba import njit, types

from .result import Status
from .termination import GTOL, MAXITER

__all__ = ["SMOResult", "smo_solve", "STATUS_MESSAGES"]

_LOWER, _UPPER, _FREE = 0, 1, 2
_TAU = 1e-12          # curvature floor for non-PSD / duplicate-point pairs (Fan et al. 2005)

# m(a) - M(a) is the largest violation of the dual's projected-gradient optimality
# conditions, so the SMO stopping test is the gradient test of solvers.result.Status.
STATUS_MESSAGES = {
    Status.CONVERGED_GTOL: "converged: maximal KKT violation m(a) - M(a) <= tol",
    Status.MAX_ITERATIONS: "stopped at max_iter before the KKT violation reached tol",
}


@dataclass
class SMOResult:
    """Solution of the SVM dual. ``alpha`` (>= 0), bias ``b`` (f(x) = sum y_i a_i K + b),
    ``obj``: the dual objective e^T a - 1/2 a^T Q a (maximised), ``n_iter``, ``status``
    (a :class:`solvers.result.Status`: CONVERGED_GTOL or MAX_ITERATIONS, see
    STATUS_MESSAGES), ``message``, ``kkt_violation`` m(a) - M(a) at exit, ``gradient``
    (G = Q a - e), ``kernel_evaluations``."""
    alpha: np.ndarray
    b: float
    obj: float
    n_iter: int
    status: Status
    message: str
    kkt_violation: float
    gradient: np.ndarray
    kernel_evaluations: int


# ------------------------------------------------------ the solver's state ----
# NamedTuples of arrays: Numba passes them as structs of array pointers (nothing is
# copied), they need no compile of their own and they keep the solver cacheable on disk.

class _Kernel(NamedTuple):
    """The data, never permuted, and the compiled row function (``codegen.kernels``'
    ROW_SIGNATURE): row(X, sqn, params, i, idx, start, stop, out)."""
    X: np.ndarray
    sqn: np.ndarray      # squared norms of the rows of X (inner-product kernels)
    params: np.ndarray
    row: object


class _Vars(NamedTuple):
    """The variables in position space: shrinking permutes every array together.

    The solver keeps the signed gradient g = y * G (G = Q a - e), so that updates need
    no sign flips: g += c_i K_i + c_j K_j."""
    orig: np.ndarray     # the row of X at each position
    y: np.ndarray
    C: np.ndarray        # per-variable upper bounds
    QD: np.ndarray       # Q_tt = K(x_t, x_t)
    alpha: np.ndarray
    g: np.ndarray
    gbar: np.ndarray     # y * G_bar, G_bar = sum over a_s = C_s of C_s Q[:, s]
    status: np.ndarray   # _LOWER, _UPPER or _FREE
    up_pen: np.ndarray   # 0 when t is in I_up = {t: y_t a_t may grow}, else -inf
    low_pen: np.ndarray  # the same for I_low


class _RowCache(NamedTuple):
    """Kernel rows in position space (libsvm's layout), least recently used evicted first:
    slot s holds the row of position slot_pos[s], valid on positions [0, slot_len[s])."""
    rows: np.ndarray     # (n_slots, l) float32, as libsvm's Qfloat
    slot_of: np.ndarray  # slot of each position, -1 for none
    slot_pos: np.ndarray
    slot_len: np.ndarray
    stamp: np.ndarray    # time of last use; -1 for a slot never used
    ctr: np.ndarray      # (clock, kernel evaluations)
    swaps: np.ndarray    # scratch: the position swaps (p, q) of one shrinking pass


class _Outcome(NamedTuple):
    """What the compiled solver returns, alpha and gradient in the caller's order."""
    alpha: np.ndarray
    gradient: np.ndarray
    b: float
    obj: float
    n_iter: int
    status: int
    kkt_violation: float
    kernel_evaluations: int


@njit(cache=True)
def _new_vars(y, C, QD):
    l = y.shape[0]
    v = _Vars(np.arange(l), y.copy(), C.copy(), QD.copy(), np.zeros(l), -y.copy(),
              np.zeros(l), np.zeros(l, np.int8), np.zeros(l), np.zeros(l))
    for t in range(l):
        v.status[t], v.up_pen[t], v.low_pen[t] = _bound_status(v.alpha[t], v.C[t], v.y[t])
    return v


@njit(cache=True)
def _new_row_cache(l, n_slots):
    return _RowCache(np.empty((n_slots, l), np.float32), -np.ones(l, np.int64),
                     -np.ones(n_slots, np.int64), np.zeros(n_slots, np.int64),
                     -np.ones(n_slots, np.int64), np.zeros(2, np.int64),
                     np.empty((l // 2 + 1, 2), np.int64))   # a pass moves a position once


# The steps run once or more per iteration are inlined at Numba IR level: at small
# active sets a call is a visible part of an iteration. An inlined function takes a
# reference to every array of the tuples it is passed, and Numba's reference-count
# pruning removes those only when the function calls nothing that is not inlined; so
# the inlined steps are leaves, and the rare paths that call (a kernel-row cache miss,
# the gbar update) are functions of their own (measured: 30% per iteration otherwise).

@njit(cache=True, inline='always')
def _bound_status(a, C, y):
    """(status, up_pen, low_pen) of a variable at a in [0, C] with label y: up_pen is 0
    when y a may grow (I_up), else -inf; low_pen likewise for I_low."""
    if a >= C:
        if y > 0.0:
            return _UPPER, -np.inf, 0.0
        return _UPPER, 0.0, -np.inf
    if a <= 0.0:
        if y > 0.0:
            return _LOWER, 0.0, -np.inf
        return _LOWER, -np.inf, 0.0
    return _FREE, 0.0, 0.0


# ------------------------------------------------------------ kernel rows ----

@njit(cache=True, inline='always')
def _get_row(kern, rc, orig, p, length):
    """Slot holding the kernel row of position p, valid on positions [0, length)."""
    rc.ctr[0] += 1
    s = rc.slot_of[p]
    if s < 0 or rc.slot_len[s] < length:
        s = _fill_row(kern, rc, orig, p, length)
    rc.stamp[s] = rc.ctr[0]
    return s


@njit(cache=True)
def _fill_row(kern, rc, orig, p, length):
    """A cache miss: the row of p computed into its slot (the least recently used one
    if p has none; unused slots carry stamp -1)."""
    s = rc.slot_of[p]
    if s < 0:
        s = 0
        best = rc.stamp[0]
        for t in range(1, rc.stamp.shape[0]):
            if rc.stamp[t] < best:
                best = rc.stamp[t]
                s = t
        if rc.slot_pos[s] >= 0:
            rc.slot_of[rc.slot_pos[s]] = -1
        rc.slot_pos[s] = p
        rc.slot_of[p] = s
        rc.slot_len[s] = 0
    have = rc.slot_len[s]
    kern.row(kern.X, kern.sqn, kern.params, orig[p], orig, have, length, rc.rows[s])
    rc.ctr[1] += length - have
    rc.slot_len[s] = length
    return s


@njit(cache=True)
def _swap_positions(v, rc, p, q):
    """Exchange positions p < q of every per-variable array (cached rows: _swap_rows)."""
    for a in (v.y, v.C, v.QD, v.alpha, v.g, v.gbar, v.up_pen, v.low_pen):
        a[p], a[q] = a[q], a[p]
    v.orig[p], v.orig[q] = v.orig[q], v.orig[p]
    v.status[p], v.status[q] = v.status[q], v.status[p]
    sp_, sq_ = rc.slot_of[p], rc.slot_of[q]
    rc.slot_of[p], rc.slot_of[q] = sq_, sp_
    if sq_ >= 0:
        rc.slot_pos[sq_] = p
    if sp_ >= 0:
        rc.slot_pos[sp_] = q


@njit(cache=True)
def _swap_rows(rc, n_swaps):
    """Apply the position swaps (p, q), p < q, of one shrinking pass to every cached row.

    Row by row rather than swap by swap: each row's entries are touched while it is
    in the CPU cache (libsvm swaps one pair in all rows at a time)."""
    for s in range(rc.slot_len.shape[0]):
        n = rc.slot_len[s]
        for k in range(n_swaps):
            p = rc.swaps[k, 0]
            if n <= p:
                break     # p only grows along a pass
            q = rc.swaps[k, 1]
            if n > q:
                rc.rows[s, p], rc.rows[s, q] = rc.rows[s, q], rc.rows[s, p]
            else:
                n = p     # entry p is gone; [0, p) is still valid
        rc.slot_len[s] = n


# ------------------------------------------------------ working-set selection ----

@njit(cache=True, inline='always')
def _max_up(v, A):
    """m(a) = max_{I_up} -y_t G_t over the active set, and its argmax (-1 if I_up is empty)."""
    gmax = -np.inf
    imax = -1
    for t in range(A):
        val = v.up_pen[t] - v.g[t]
        if val >= gmax:
            gmax, imax = val, t
    return gmax, (imax if gmax != -np.inf else -1)


@njit(cache=True)
def _max_low(v, A):
    """-M(a) = max_{I_low} y_t G_t over the active set."""
    gmax2 = -np.inf
    for t in range(A):
        yg = v.g[t] + v.low_pen[t]
        if yg >= gmax2:
            gmax2 = yg
    return gmax2


@njit(cache=True, inline='always')
def _select_working_set(v, rc, A, tol, gmax, i, si):
    """WSS 3 (Fan, Chen & Lin 2005) on the active positions [0, A), given its first half:
    i maximising -y_i G_i over I_up (gmax = m(a); i = -1 if I_up is empty) and the slot
    si of its kernel row. j minimises -b_ij^2 / a_ij over I_low with b_ij = m(a) + y_j G_j
    > 0. Returns (j, m(a) - M(a)); j is -1 when the violation is within tol or no pair
    can move."""
    gmax2 = -np.inf     # -M(a) = max_{I_low} y_t G_t
    j = -1
    best = np.inf
    qi = v.QD[i] if i >= 0 else 0.0
    for t in range(A):
        yg = v.g[t] + v.low_pen[t]
        if yg >= gmax2:
            gmax2 = yg
        b = gmax + yg   # never > 0 when i = -1 (gmax = -inf): row si is not read
        if b > 0.0:
            a = qi + v.QD[t] - 2.0 * rc.rows[si, t]
            if a <= 0.0:
                a = _TAU
            dec = -(b * b) / a
            if dec <= best:
                best = dec
                j = t
    viol = gmax + gmax2
    if not viol > tol:
        j = -1
    return j, viol


# ------------------------------------------------------------ the SMO step ----

@njit(cache=True, inline='always')
def _step_opposite(ai, aj, delta, Ci, Cj):
    """y_i != y_j: both move by delta (a_i - a_j is kept), then clipped to the box."""
    diff = ai - aj
    ai += delta
    aj += delta
    if diff > 0.0:
        if aj < 0.0:
            ai, aj = diff, 0.0
    elif ai < 0.0:
        ai, aj = 0.0, -diff
    if diff > Ci - Cj:
        if ai > Ci:
            ai, aj = Ci, Ci - diff
    elif aj > Cj:
        ai, aj = Cj + diff, Cj
    return ai, aj


@njit(cache=True, inline='always')
def _clip_sum(a, b, total, Ca):
    """On the line a + b = total: a clipped to Ca, else b to 0, whichever binds first."""
    if total > Ca:
        if a > Ca:
            return Ca, total - Ca
    elif b < 0.0:
        return total, 0.0
    return a, b


@njit(cache=True, inline='always')
def _update_pair(v, rc, i, j, si):
    """Minimise f along the feasible direction of the pair (i, j), clipped to the box
    [0, C_i] x [0, C_j] (libsvm's Solver::Solve, Chang & Lin 2011, Sec. 4.1.2); updates
    alpha and the bound status. Returns y_i da_i, y_j da_j: the weights of rows i and j
    in the gradient update."""
    ai_old = v.alpha[i]
    aj_old = v.alpha[j]
    Gi = v.y[i] * v.g[i]
    Gj = v.y[j] * v.g[j]
    quad = v.QD[i] + v.QD[j] - 2.0 * rc.rows[si, j]
    if quad <= 0.0:
        quad = _TAU
    if v.y[i] != v.y[j]:
        ai, aj = _step_opposite(ai_old, aj_old, (-Gi - Gj) / quad, v.C[i], v.C[j])
    else:
        delta = (Gi - Gj) / quad
        total = ai_old + aj_old
        ai, aj = _clip_sum(ai_old - delta, aj_old + delta, total, v.C[i])
        aj, ai = _clip_sum(aj, ai, total, v.C[j])
    v.alpha[i] = ai
    v.alpha[j] = aj
    v.status[i], v.up_pen[i], v.low_pen[i] = _bound_status(ai, v.C[i], v.y[i])
    v.status[j], v.up_pen[j], v.low_pen[j] = _bound_status(aj, v.C[j], v.y[j])
    return v.y[i] * (ai - ai_old), v.y[j] * (aj - aj_old)


@njit(cache=True, inline='always')
def _update_gradient(v, rc, A, si, sj, ci, cj):
    """g += ci K_i + cj K_j on the active set, fused with the first half of the next
    working-set selection: returns (m(a), its argmax or -1)."""
    gmax = -np.inf
    inext = -1
    for t in range(A):
        gt = v.g[t] + (ci * rc.rows[si, t] + cj * rc.rows[sj, t])
        v.g[t] = gt
        if v.up_pen[t] - gt >= gmax:
            gmax, inext = v.up_pen[t] - gt, t
    return gmax, (inext if gmax != -np.inf else -1)


@njit(cache=True)
def _update_gbar(v, kern, rc, t):
    """Add column t to gbar (the upper-bounded variables' part of the gradient) when a_t
    has just reached its upper bound, take it out when a_t has just left it; gbar is what
    makes the gradient reconstruction cheap."""
    l = v.y.shape[0]
    s = _get_row(kern, rc, v.orig, t, l)
    c = v.C[t] * v.y[t] if v.status[t] == _UPPER else -v.C[t] * v.y[t]
    for u in range(l):
        v.gbar[u] += c * rc.rows[s, u]


# ------------------------------------------------------------- shrinking ----

@njit(cache=True)
def _unshrink(v, kern, rc, A):
    """Make every variable active again, with the exact gradient on the inactive positions
    [A, l): y_t G_t = y_t G_bar_t - y_t + sum over free s of y_s a_s K_ts. Returns l."""
    l = v.y.shape[0]
    if A == l:
        return l
    for t in range(A, l):
        v.g[t] = v.gbar[t] - v.y[t]
    n_free = 0
    for t in range(A):
        if v.status[t] == _FREE:
            n_free += 1
    # pick the loop order that needs fewer kernel evaluations (libsvm does the same)
    if n_free * l > 2 * A * (l - A):
        for t in range(A, l):
            Kt = rc.rows[_get_row(kern, rc, v.orig, t, A)]
            acc = 0.0
            for s in range(A):
                if v.status[s] == _FREE:
                    acc += v.y[s] * v.alpha[s] * Kt[s]
            v.g[t] += acc
    else:
        for s in range(A):
            if v.status[s] != _FREE:
                continue
            Ks = rc.rows[_get_row(kern, rc, v.orig, s, l)]
            c = v.y[s] * v.alpha[s]
            for t in range(A, l):
                v.g[t] += c * Ks[t]
    return l


@njit(cache=True, inline='always')
def _cannot_violate(v, t, gmax1, gmax2):
    """A bounded variable that can move only one way cannot join a violating pair when its
    -y G is beyond m(a) (I_low only) or its y G beyond -M(a) (I_up only)."""
    return (v.up_pen[t] < 0.0 and -v.g[t] > gmax1) or (v.low_pen[t] < 0.0 and v.g[t] > gmax2)


@njit(cache=True)
def _shrink(v, kern, rc, A, unshrunk, tol):
    """One shrinking pass; returns (new active size, unshrunk flag)."""
    gmax1 = _max_up(v, A)[0]      # m(a)
    gmax2 = _max_low(v, A)        # -M(a)
    if not unshrunk and gmax1 + gmax2 <= 10.0 * tol:
        # close to the end: bring every variable back once, with an exact gradient
        unshrunk = True
        A = _unshrink(v, kern, rc, A)
    # move the variables that cannot violate behind the active ones, swapping each
    # with the last active one that stays
    n_swaps = 0
    k = 0
    while k < A:
        if _cannot_violate(v, k, gmax1, gmax2):
            A -= 1
            while A > k:
                if not _cannot_violate(v, A, gmax1, gmax2):
                    _swap_positions(v, rc, k, A)
                    rc.swaps[n_swaps, 0] = k
                    rc.swaps[n_swaps, 1] = A
                    n_swaps += 1
                    break
                A -= 1
        k += 1
    if n_swaps > 0:
        _swap_rows(rc, n_swaps)
    return A, unshrunk


# --------------------------------------------------------------- results ----

@njit(cache=True)
def _rho(v):
    """-b: the average of y_t G_t over the free variables, else the midpoint of the
    feasible interval the bounded ones leave."""
    ub = np.inf
    lb = -np.inf
    n_free = 0
    sum_free = 0.0
    for t in range(v.y.shape[0]):
        if v.status[t] == _FREE:
            n_free += 1
            sum_free += v.g[t]
        elif v.low_pen[t] < 0.0:
            ub = min(ub, v.g[t])
        else:
            lb = max(lb, v.g[t])
    if n_free > 0:
        return sum_free / n_free
    if np.isfinite(ub) and np.isfinite(lb):
        return 0.5 * (ub + lb)
    if np.isfinite(ub):
        return ub
    return lb


@njit(cache=True)
def _outcome(v, rc, n_iter, code, viol):
    """The solution in the caller's order, its bias and dual objective."""
    l = v.y.shape[0]
    f2 = 0.0    # 2 f = a^T Q a - 2 e^T a = a^T (G - e); the dual objective is -f
    alpha = np.empty(l)
    G = np.empty(l)
    for t in range(l):
        f2 += v.alpha[t] * (v.y[t] * v.g[t] - 1.0)
        alpha[v.orig[t]] = v.alpha[t]
        G[v.orig[t]] = v.y[t] * v.g[t]
    return _Outcome(alpha, G, -_rho(v), -0.5 * f2, n_iter, code, viol, rc.ctr[1])


# ------------------------------------------------------------- the solver ----

def _smo_impl(X, sqn, params, krow, y, QD, C, tol, n_slots, max_iter, shrinking):
    """The SMO loop (compiled by _compiled_smo); see the module docstring."""
    l = X.shape[0]
    kern = _Kernel(X, sqn, params, krow)
    v = _new_vars(y, C, QD)
    rc = _new_row_cache(l, n_slots)
    A = l                       # active positions [0, A)
    unshrunk = False
    n_iter = 0
    counter = min(l, 1000) + 1  # iterations to the next shrinking pass
    code = GTOL
    viol = np.inf
    gmax, i = _max_up(v, A)
    while True:
        if n_iter >= max_iter:
            code = MAXITER
            break
        counter -= 1
        if counter == 0:
            counter = min(l, 1000)
            if shrinking:
                A, unshrunk = _shrink(v, kern, rc, A, unshrunk, tol)
                gmax, i = _max_up(v, A)
        si = _get_row(kern, rc, v.orig, i, A) if i >= 0 else -1
        j, viol = _select_working_set(v, rc, A, tol, gmax, i, si)
        if j < 0 and A < l:
            # optimal on the active set: check all variables with an exact gradient
            A = _unshrink(v, kern, rc, A)
            counter = 1         # shrink again at the next iteration
            gmax, i = _max_up(v, A)
            si = _get_row(kern, rc, v.orig, i, A) if i >= 0 else -1
            j, viol = _select_working_set(v, rc, A, tol, gmax, i, si)
        if j < 0:
            break
        n_iter += 1
        # LRU keeps row i (slot si) while row j is fetched; rows are indexed in place,
        # rows[s, t]: no array views in the hot loop
        sj = _get_row(kern, rc, v.orig, j, A)
        i_upper = v.status[i] == _UPPER
        j_upper = v.status[j] == _UPPER
        ci, cj = _update_pair(v, rc, i, j, si)
        gmax, i_next = _update_gradient(v, rc, A, si, sj, ci, cj)
        if (v.status[i] == _UPPER) != i_upper:
            _update_gbar(v, kern, rc, i)
        if (v.status[j] == _UPPER) != j_upper:
            _update_gbar(v, kern, rc, j)
        i = i_next
    A = _unshrink(v, kern, rc, A)
    if code == MAXITER:
        viol = _max_up(v, l)[0] + _max_low(v, l)
    return _outcome(v, rc, n_iter, code, viol)


@functools.lru_cache(maxsize=None)
def _compiled_smo():
    """The solver, compiled on first use (not at import) for the one signature every kernel
    shares: the kernel row is a first-class function type, so one compiled solver serves
    every kernel and stays in Numba's on-disk cache."""
    from codegen.kernels import ROW_SIGNATURE  # noqa: PLC0415  (codegen loads SymPy)
    f64 = types.float64
    signature = (f64[:, ::1], f64[::1], f64[::1], types.FunctionType(ROW_SIGNATURE), f64[::1],
                 f64[::1], f64[::1], f64, types.int64, types.int64, types.boolean)
    return njit(signature, cache=True)(_smo_impl)


def smo_solve(X, y, kernel, params, C=1.0, tol=1e-3, cache_size=200.0, max_iter=-1,
              shrinking=True):
    """Solve the binary soft-margin SVM dual by SMO.

    X: (l, d) data, or the (l, l) Gram matrix for ``codegen.kernels.precomputed_kernel()``;
    y: labels in {-1, +1}; kernel: a ``codegen.kernels.CompiledKernel``; params: its
    parameter values; C: the upper bound, one positive number or one per sample (libsvm's
    weighted C); cache_size: kernel-row cache in MB; max_iter: -1 for libsvm's default cap
    max(10^7, 100 l).
    """
    X, y, Cv = _checked_problem(X, y, kernel, C, tol)
    l = X.shape[0]
    kernel.check_features(X.shape[1])
    p = kernel.param_array(params)
    sqn = kernel.sq_norms(X) if kernel.kind == "inner" else np.zeros(l)
    n_slots = int(max(2, min(l, cache_size * 2**20 // (4 * max(l, 1)))))
    cap = max(10_000_000, 100 * l)
    max_iter = cap if max_iter is None or max_iter < 0 else int(max_iter)
    out = _compiled_smo()(X, sqn, p, kernel.row, y, kernel.diag(X, p), Cv, float(tol), n_slots,
                          max_iter, bool(shrinking))
    status = Status(out.status)
    return SMOResult(out.alpha, float(out.b), float(out.obj), int(out.n_iter), status,
                     STATUS_MESSAGES[status], float(out.kkt_violation), out.gradient,
                     int(out.kernel_evaluations))


def _checked_problem(X, y, kernel, C, tol):
    """(X, y, C per sample) as contiguous float64 arrays; a ValueError names a bad one."""
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
    return X, y, np.ascontiguousarray(Cv)
