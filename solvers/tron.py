"""Bound-constrained trust-region Newton: Lin and Moré's TRON (SIAM J. Optim. 9(4), 1999).

``newton(..., bounds=)`` and ``newton_tr(..., bounds=)`` run :func:`tron_loop`, one iteration
skeleton for both, compiled with the objective's kernels (cached per argument layout like every
loop, see :func:`solvers.loop.drive`) or run as Python for Python callables and callbacks.
Each iteration, on the quadratic model ``q(s) = g's + s'Hs/2`` of ``f(x + s) - f(x)``:

1. *Generalized Cauchy step* (:func:`cauchy_step`): ``s = P(x - a g) - x`` along the projected
   gradient path, ``a`` shrunk or grown by factors of 10 (starting from the last iteration's)
   so that ``||s|| <= delta`` and ``q(s) <= mu0 g's`` (sufficient decrease, mu0 = 0.01).
2. *Subspace steps* (:func:`subspace_steps`): the variables strictly inside the box at the
   current point are free, the others fixed. A truncated conjugate-gradient method (Steihaug)
   minimises the model over the free variables, stopped at the trust-region boundary (on the
   whole step), at negative curvature, and as soon as an iterate leaves the box; a projected
   search along its direction (halving from 1 until ``q`` decreases by mu0 times the slope, else
   the step to the first bound) keeps the point in the box. Variables that reach a bound are
   fixed and CG runs again, until the reduced model gradient is ``cgtol`` times smaller than the
   free gradient, or CG stopped on the boundary.
3. The trial point is accepted when ``f`` decreases by more than ``eta`` times the predicted
   decrease; the radius follows TRON's rule (a quadratic interpolation of ``f`` along the step,
   factors 1/4, 1/2, 4 at ratios 0.25 and 0.75).

The run stops on the projected gradient ``max|P(x - g) - x| <= gtol``
(:func:`solvers.bounds.projected_gradient_norm`, also what ``history["grad_norm"]`` records and
the callback sees), on ftol / xtol as the unconstrained methods, or when the step predicts no
representable decrease.

The Hessian: ``newton`` evaluates the dense Hessian once per iteration and preconditions CG on
the free variables with the Cholesky factor of ``H_FF`` (made positive definite by ``tau I`` as
in :func:`solvers.newton.modified_cholesky`): for a positive definite ``H_FF`` the first CG step
*is* the Newton step on the free subspace (a direct solve), truncated at the region. ``newton_tr``
uses Hessian-vector products only (``hessp``), unpreconditioned CG, never forming ``H``: the
choice for large problems. ``nhev`` counts Hessian evaluations (newton) or Hessian-vector
products (newton-tr), as without bounds.

>>> import numpy as np
>>> from solvers.callables import PythonObjective
>>> from solvers.bounds import Bounds
>>> A = np.array([[2.0, 0.5], [0.5, 1.0]])
>>> obj = PythonObjective(lambda x: float(0.5 * x @ A @ x - x.sum()), 2,
...                       jac=lambda x: A @ x - 1.0, hess=lambda x: A)
>>> r = tron(obj, np.array([0.5, 0.2]), Bounds(np.zeros(2), np.array([np.inf, 0.25])),
...          method="newton")
>>> r.success, r.x.round(6).tolist(), r.mu_upper.round(6).tolist()
(True, [0.4375, 0.25], [0.0, 0.53125])
"""
import numpy as np
from numba import njit, types
from numba.extending import overload

from .bounds import bound_fields, project, project_x0
from .loop import accept_step, drive, finish, to_result
from .newton import _cho_solve, modified_cholesky
from .numba_shims import JIT_OPTIONS
from .termination import CONTINUE, FTOL, HESSIAN, NONFINITE, TRCOLLAPSE, start
from .trust_region import _to_boundary

__all__ = ["tron"]

_MU0 = 0.01  # sufficient model decrease of the Cauchy step and the projected searches (TRON)
_FACTOR = 10.0  # the Cauchy step length is shrunk / grown by this factor (TRON's)
_MAX_TRIALS = 60  # Cauchy step lengths tried (a factor 1e60 either way)
_MAX_HALVINGS = 30  # halvings of a projected search before the step to the first bound
_SIGMA1, _SIGMA2, _SIGMA3 = 0.25, 0.5, 4.0  # radius factors (TRON)
_ETA1, _ETA2 = 0.25, 0.75  # ratios of actual to predicted decrease for the radius update
_EPS4 = 4.0 * np.finfo(np.float64).eps
_MAX_CHOLESKY_TRIES = 80

# how one CG run on the free variables ended
_CG_CONVERGED, _CG_BOUNDARY, _CG_LEFT_BOX, _CG_MAXITER, _CG_NONFINITE = 0, 1, 2, 3, 4


# -- the Hessian as an operator: a dense matrix (newton) or the hessp kernel (newton-tr) --------

def _operator(hess, hessp, kargs, x):
    """The model's Hessian at ``x``: the dense matrix ``hess(x)``, or ``hessp`` itself when
    ``hess`` is None (products computed on demand)."""
    return hessp if hess is None else hess(x, *kargs)


@overload(_operator, jit_options=JIT_OPTIONS)
def _operator_impl(hess, hessp, kargs, x):
    if isinstance(hess, types.NoneType):
        return lambda hess, hessp, kargs, x: hessp
    return lambda hess, hessp, kargs, x: hess(x, *kargs)


def _is_matrix(op):
    """True for a dense Hessian (its products cost no kernel call)."""
    return isinstance(op, np.ndarray)


@overload(_is_matrix, jit_options=JIT_OPTIONS)
def _is_matrix_impl(op):
    const = isinstance(op, types.Array)
    return lambda op: const


def _hv(op, kargs, x, v):
    """H(x) @ v."""
    return op @ v if isinstance(op, np.ndarray) else op(x, v, *kargs)


@overload(_hv, jit_options=JIT_OPTIONS)
def _hv_impl(op, kargs, x, v):
    if isinstance(op, types.Array):
        return lambda op, kargs, x, v: np.dot(op, v)
    return lambda op, kargs, x, v: op(x, v, *kargs)


def _preconditioner(op, idx, beta):
    """Cholesky factor of ``H_FF + tau I`` on the free indices ``idx`` (dense Hessian), else an
    empty matrix: no preconditioning."""
    if isinstance(op, np.ndarray):
        return _free_cholesky(op, idx, beta)
    return np.zeros((0, 0))


@overload(_preconditioner, jit_options=JIT_OPTIONS)
def _preconditioner_impl(op, idx, beta):
    if isinstance(op, types.Array):
        return lambda op, idx, beta: _free_cholesky(op, idx, beta)
    return lambda op, idx, beta: np.zeros((0, 0))


@njit(cache=True, **JIT_OPTIONS)
def _free_cholesky(H, idx, beta):
    """Modified Cholesky factor of the free block H[idx, idx] (empty when it cannot be made
    positive definite, or is not finite: CG then runs unpreconditioned)."""
    m = idx.shape[0]
    A = np.empty((m, m))
    scale = 1.0
    for a in range(m):
        for b in range(m):
            v = H[idx[a], idx[b]]
            A[a, b] = v
            scale = max(scale, abs(v))
    if not np.all(np.isfinite(A)):
        return np.zeros((0, 0))
    L, tau, ok = modified_cholesky(A, beta * scale, _MAX_CHOLESKY_TRIES)
    return L if ok else np.zeros((0, 0))


@njit(cache=True, **JIT_OPTIONS)
def _precondition(L, idx, r):
    """M^-1 r with M = L L' on the free indices (r itself without a factor)."""
    if L.shape[0] == 0:
        return r.copy()
    m = idx.shape[0]
    rf = np.empty(m)
    for a in range(m):  # loops, not fancy indexing: much less to compile
        rf[a] = r[idx[a]]
    y = _cho_solve(L, rf)
    out = np.zeros(r.shape[0])
    for a in range(m):
        out[idx[a]] = y[a]
    return out


# -- small box helpers ----------------------------------------------------------------------

@njit(cache=True, **JIT_OPTIONS)
def _free_set(w, lo, hi):
    """(mask, indices) of the variables strictly inside the box at ``w``."""
    n = w.shape[0]
    mask = np.zeros(n)
    count = 0
    for i in range(n):
        if lo[i] < w[i] < hi[i]:
            mask[i] = 1.0
            count += 1
    idx = np.empty(count, dtype=np.int64)
    k = 0
    for i in range(n):
        if mask[i] != 0.0:
            idx[k] = i
            k += 1
    return mask, idx


@njit(cache=True, **JIT_OPTIONS)
def _breakpoints(x, d, lo, hi):
    """(first, last, index of first): the steps t > 0 at which ``x + t d`` first and last meets a
    bound (first: inf, last: 0 when it meets none)."""
    first = np.inf
    last = 0.0
    imin = -1
    for i in range(x.shape[0]):
        if d[i] > 0.0 and hi[i] < np.inf:
            t = max(hi[i] - x[i], 0.0) / d[i]
        elif d[i] < 0.0 and lo[i] > -np.inf:
            t = max(x[i] - lo[i], 0.0) / -d[i]
        else:
            continue
        if t < first:
            first = t
            imin = i
        last = max(last, t)
    return first, last, imin


@njit(cache=True, **JIT_OPTIONS)
def _leaves_box(w, z, mask, lo, hi):
    for i in range(w.shape[0]):
        if mask[i] != 0.0 and not (lo[i] <= w[i] + z[i] <= hi[i]):
            return True
    return False


@njit(cache=True, **JIT_OPTIONS)
def _projected_gradient(x, g, lo, hi):
    """P(x - g) - x: its inf-norm is the stationarity measure of the box problem."""
    return project(x - g, lo, hi) - x


# -- the three steps of an iteration --------------------------------------------------------

def _step(pyfunc):
    """``pyfunc`` as Python (which may call a Python objective), and, called from a compiled
    loop, its own compiled and cached version: a call, not inlined, which keeps the loops'
    compile time down (each step compiles once per kernel layout and is reused)."""
    jitted = njit(cache=True, **JIT_OPTIONS)(pyfunc)
    overload(pyfunc, jit_options=JIT_OPTIONS)(lambda *args: lambda *args: jitted(*args))
    return pyfunc


@_step
def cauchy_step(op, kargs, x, g, lo, hi, delta, alpha0):
    """(w, Hs, alpha, products, ok): the generalized Cauchy point ``w = P(x - alpha g)`` with
    ``||w - x|| <= delta`` and ``q(w - x) <= mu0 g'(w - x)``, ``Hs = H (w - x)``; alpha starts
    from ``alpha0`` and is divided or multiplied by 10 (Lin & Moré 1999, section 3).
    ok False: no step length found (or the Hessian product is not finite)."""
    alpha = alpha0
    w = project(x - alpha * g, lo, hi)
    s = w - x
    Hs = np.zeros(x.shape[0])
    nprod = 0
    shrink = np.sqrt(np.dot(s, s)) > delta
    if not shrink:
        Hs = _hv(op, kargs, x, s)
        nprod += 1
        gs = np.dot(g, s)
        shrink = not gs + 0.5 * np.dot(s, Hs) <= _MU0 * gs
    if shrink:
        for _ in range(_MAX_TRIALS):
            alpha /= _FACTOR
            w = project(x - alpha * g, lo, hi)
            s = w - x
            if np.sqrt(np.dot(s, s)) <= delta:
                Hs = _hv(op, kargs, x, s)
                nprod += 1
                gs = np.dot(g, s)
                q = gs + 0.5 * np.dot(s, Hs)
                if not np.isfinite(q):
                    return w, Hs, alpha, nprod, False
                if q <= _MU0 * gs:
                    return w, Hs, alpha, nprod, True
        return w, Hs, alpha, nprod, False
    # grow while the conditions hold, up to the last breakpoint of the path (straight beyond it)
    last = _breakpoints(x, -g, lo, hi)[1]
    for _ in range(_MAX_TRIALS):
        if alpha > last:
            break
        a = alpha * _FACTOR
        wt = project(x - a * g, lo, hi)
        st = wt - x
        if np.sqrt(np.dot(st, st)) > delta:
            break
        Ht = _hv(op, kargs, x, st)
        nprod += 1
        gs = np.dot(g, st)
        if not gs + 0.5 * np.dot(st, Ht) <= _MU0 * gs:
            break
        alpha, w, Hs = a, wt, Ht
    return w, Hs, alpha, nprod, True


@_step
def _truncated_cg(op, kargs, x, L, idx, mask, w, s, r, delta, lo, hi, tol, maxcg):
    """(z, Hz, how, iterations): preconditioned CG on the free variables from ``w = x + s`` for
    min r'z + z'Hz/2, stopped on ``||s + z|| = delta`` (Steihaug), negative curvature, an
    iterate outside the box, or ``||residual|| <= tol``. ``z`` is zero on fixed variables,
    ``Hz`` the full product."""
    n = x.shape[0]
    z = np.zeros(n)
    Hz = np.zeros(n)
    res = r.copy()
    y = _precondition(L, idx, res)
    p = -y
    ry = np.dot(res, y)
    for k in range(maxcg):
        Hp = _hv(op, kargs, x, p)
        pHp = np.dot(p, Hp)
        if not np.isfinite(pHp):
            return z, Hz, _CG_NONFINITE, k + 1
        a = ry / pHp if pHp > 0.0 else 0.0
        zn = z + a * p
        sz = s + zn
        if pHp <= 0.0 or np.dot(sz, sz) >= delta * delta:
            tau = _to_boundary(s + z, p, delta)
            return z + tau * p, Hz + tau * Hp, _CG_BOUNDARY, k + 1
        z = zn
        Hz = Hz + a * Hp
        if _leaves_box(w, z, mask, lo, hi):
            return z, Hz, _CG_LEFT_BOX, k + 1
        res = res + a * (Hp * mask)
        if np.sqrt(np.dot(res, res)) <= tol:
            return z, Hz, _CG_CONVERGED, k + 1
        y = _precondition(L, idx, res)
        ry_new = np.dot(res, y)
        p = -y + (ry_new / ry) * p
        ry = ry_new
    return z, Hz, _CG_MAXITER, maxcg


@_step
def _projected_search(op, kargs, x, w, z, Hz, r, lo, hi):
    """(w_new, H (w_new - w), products): ``w_new = P(w + t z)`` with t halved from 1 until the
    model decreases by mu0 times its slope ``r'(w_new - w)``, else t = the first breakpoint
    (the step that fixes one more variable, a decrease since z is a CG step)."""
    first, last, imin = _breakpoints(w, z, lo, hi)
    if first >= 1.0:  # no bound is met: the CG step itself
        return w + z, Hz.copy(), 0
    t = 1.0
    nprod = 0
    for _ in range(_MAX_HALVINGS):
        if t <= first:
            break
        wt = project(w + t * z, lo, hi)
        step = wt - w
        Hstep = _hv(op, kargs, x, step)
        nprod += 1
        slope = np.dot(r, step)
        if slope + 0.5 * np.dot(step, Hstep) <= _MU0 * slope:
            return wt, Hstep, nprod
        t *= 0.5
    wt = w + first * z
    # the variable that meets its bound sits on it exactly (rounding must not leave it free)
    wt[imin] = hi[imin] if z[imin] > 0.0 else lo[imin]
    return project(wt, lo, hi), first * Hz, nprod


@_step
def subspace_steps(op, kargs, x, g, lo, hi, w0, Hs0, delta, cgtol, maxcg, beta):
    """(w, Hs, products, ok): from the Cauchy point ``w0`` (``Hs0 = H (w0 - x)``), CG on the free
    variables and projected searches until the reduced model gradient is below ``cgtol`` times
    the free gradient, CG stopped on the trust-region boundary, or ``maxcg`` CG iterations.
    ok False: a Hessian product was not finite."""
    w = w0.copy()
    Hs = Hs0.copy()
    nprod = 0
    cg_left = maxcg
    for _ in range(x.shape[0] + 1):  # each pass that meets the box fixes at least one variable
        mask, idx = _free_set(w, lo, hi)
        if idx.shape[0] == 0 or cg_left <= 0:
            break
        r = (g + Hs) * mask
        gf = g * mask
        tol = cgtol * np.sqrt(np.dot(gf, gf))
        if np.sqrt(np.dot(r, r)) <= tol:
            break
        L = _preconditioner(op, idx, beta)
        z, Hz, how, k = _truncated_cg(op, kargs, x, L, idx, mask, w, w - x, r, delta, lo, hi,
                                      tol, cg_left)
        cg_left -= k
        nprod += k
        if how == _CG_NONFINITE:
            return w, Hs, nprod, False
        wn, Hstep, k2 = _projected_search(op, kargs, x, w, z, Hz, r, lo, hi)
        nprod += k2
        w = wn
        Hs = Hs + Hstep
        if how == _CG_BOUNDARY:
            break
    return w, Hs, nprod, True


@njit(cache=True, **JIT_OPTIONS)
def _new_radius(delta, snorm, gs, pred, ared, eta, delta_max):
    """TRON's radius update: alpha minimises the quadratic through f(x), g's and f(x + s)
    along s; the radius follows alpha * ||s|| within factors 1/4..4 of delta by the ratio
    ared / pred (Lin & Moré 1999, section 2; as in MINPACK-2's dtron)."""
    curv = -ared - gs  # f(x+s) - f(x) - g's
    alpha = _SIGMA3 if not curv > 0.0 else max(_SIGMA1, -0.5 * gs / curv)
    if not ared >= eta * pred:  # also NaN: a failed trial
        d = min(max(alpha, _SIGMA1) * snorm, _SIGMA2 * delta)
    elif ared < _ETA1 * pred:
        d = max(_SIGMA1 * delta, min(alpha * snorm, _SIGMA2 * delta))
    elif ared < _ETA2 * pred:
        d = max(_SIGMA1 * delta, min(alpha * snorm, _SIGMA3 * delta))
    else:
        d = max(delta, min(alpha * snorm, _SIGMA3 * delta))
    return min(d, delta_max)


def tron_loop(vg, hess, hessp, kargs, x0, lo, hi, maxiter, gtol, ftol, xtol, delta0, delta_max,
              eta, beta, cb):
    """Minimise over ``lo <= x <= hi`` from the feasible ``x0``: the :class:`LoopResult`.

    Exactly one of ``hess`` (dense Hessian kernel) and ``hessp`` (Hessian-vector products) is
    given, the other None. ``delta0 <= 0``: the first radius is the norm of the projected
    gradient (TRON's). ``hist_g`` records max|P(x - g) - x|.
    """
    n = x0.shape[0]
    x = x0.copy()
    f, g = vg(x, *kargs)
    nfev = 1
    hist_f, hist_g, status = start(f, _projected_gradient(x, g, lo, hi), maxiter + 1, gtol)
    op = _operator(hess, hessp, kargs, x)
    dense = _is_matrix(op)
    nhev = 1 if dense else 0
    stale = False
    pg = _projected_gradient(x, g, lo, hi)
    pg0norm = max(np.sqrt(np.dot(pg, pg)), 1e-300)
    delta = delta0 if delta0 > 0.0 else max(pg0norm, 1e-8)
    alpha = 1.0
    first = True
    maxcg = 2 * n + 10
    nit = 0
    while status == CONTINUE and nit < maxiter:
        if stale:
            op = _operator(hess, hessp, kargs, x)
            nhev += 1 if dense else 0
            stale = False
        w, Hs, alpha, k, ok = cauchy_step(op, kargs, x, g, lo, hi, delta, alpha)
        nhev += 0 if dense else k
        if ok:
            # forcing sequence of inexact Newton, superlinear (N&W eq. 7.3), relative to the
            # first projected gradient so that it does not depend on the scale of f
            pgnorm = np.sqrt(np.dot(pg, pg))
            w, Hs, k, ok = subspace_steps(op, kargs, x, g, lo, hi, w, Hs, delta,
                                          min(0.1, np.sqrt(pgnorm / pg0norm)), maxcg, beta)
            nhev += 0 if dense else k
        s = w - x
        gs = np.dot(g, s)
        pred = -(gs + 0.5 * np.dot(s, Hs))
        if not (ok and np.isfinite(pred)):
            status = HESSIAN
            break
        snorm = np.sqrt(np.dot(s, s))
        if pred <= _EPS4 * max(1.0, abs(f)) and snorm < 0.99 * delta:
            # an interior step predicting a decrease at the rounding level of f: no step can do
            # measurably better, so x is a minimum to machine precision
            status = FTOL
            break
        fn, gn = vg(w, *kargs)
        nfev += 1
        finite = np.isfinite(fn) and np.all(np.isfinite(gn))
        ared = f - fn if finite else -np.inf
        if first:  # TRON: the first step corrects a poor initial radius
            delta = min(delta, snorm)
            first = False
        delta = _new_radius(delta, snorm, gs, pred, ared, eta, delta_max)
        if pred > 0.0 and ared > eta * pred:
            nit += 1
            pg = _projected_gradient(w, gn, lo, hi)
            status = accept_step(cb, hist_f, hist_g, nit, f, fn, pg, snorm, w, gtol, ftol, xtol)
            x, f, g = w, fn, gn
            stale = True
        elif delta <= 1e-15 * max(1.0, np.sqrt(np.dot(x, x))):
            status = TRCOLLAPSE if finite else NONFINITE
    return finish(x, f, g, nit, nfev, nhev, status, hist_f, hist_g, nit + 1)


def tron(kern, x, bounds, *, method, maxiter=200, gtol=1e-8, ftol=0.0, xtol=0.0, delta0=0.0,
         delta_max=1e10, eta=1e-4, beta=1e-3, callback=None, history=False):
    """TRON on the kernels ``kern`` (a :class:`solvers.adapter.Kernels` or a Python objective)
    from ``x`` over ``bounds`` (a :class:`solvers.bounds.Bounds`): the
    :class:`~solvers.result.Result` with the bound multipliers and KKT residuals.

    method: "newton" (dense Hessian, Cholesky-preconditioned CG) or "newton-tr" (Hessian-vector
    products). ``x`` outside the box is projected with a BoundsWarning. Options are those of
    the calling method, already checked.
    """
    x, moved = project_x0(np.array(x, dtype=np.float64), bounds, method)
    lo, hi = bounds
    funcs = (kern.vg, kern.hess, None) if method == "newton" else (kern.vg, None, kern.hessp)
    rest = (lo, hi, int(maxiter), float(gtol), float(ftol), float(xtol), float(delta0),
            float(delta_max), float(eta), float(beta))
    out = drive(tron_loop, kern, funcs, x, rest, callback)
    return to_result(out, kern, method, history,
                     **bound_fields(out.x, out.g, bounds, gtol, moved))
