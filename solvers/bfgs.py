"""Dense BFGS: the inverse-Hessian update as a descent, with a strong-Wolfe search on the shared
skeleton (:func:`solvers.loop.descent_loop`; Nocedal & Wright Alg. 6.1)."""
from typing import NamedTuple

import numpy as np
from numba import njit

from .adapter import as_kernels, as_x0, check_length
from .linesearch import StrongWolfe
from .loop import (NO_LIMIT, Direction, descent_loop, drive, register_descent, to_result,
                   curvature, unit_step)
from .numba_shims import dual
from .options import check, check_common
from .termination import CONTINUE

__all__ = ["bfgs", "BFGSDescent"]


@njit(cache=True)
def _matvec(H, v, sign):
    """sign * (H @ v) in one pass (sign = -1.0 gives the direction -H g without a temporary)."""
    n = v.shape[0]
    out = np.empty(n)
    for i in range(n):
        t = 0.0
        for j in range(n):
            t += H[i, j] * v[j]
        out[i] = sign * t
    return out


@njit(cache=True)
def _bfgs_update(H, s, y, sy):
    """H <- (I - r s y') H (I - r y s') + r s s', r = 1/s'y (N&W eq. 6.17), in place."""
    n = s.shape[0]
    Hy = _matvec(H, y, 1.0)
    yHy = 0.0
    for i in range(n):
        yHy += y[i] * Hy[i]
    r = 1.0 / sy
    c = (sy + yHy) * r * r
    for i in range(n):
        for j in range(n):
            H[i, j] += c * s[i] * s[j] - r * (Hy[i] * s[j] + s[i] * Hy[j])


class BFGSDescent(NamedTuple):
    """The quasi-Newton direction -H g; H is the inverse-Hessian approximation, ``fresh`` while
    it is still the (unscaled) identity. Pairs with ``s'y <= skip_eps ||s|| ||y||`` are skipped
    to keep H positive definite."""

    H: np.ndarray
    fresh: bool
    skip_eps: float


@dual
def _identity(state):
    return BFGSDescent(np.eye(state.H.shape[0]), True, state.skip_eps)


def _bfgs_direction(state, hess, kargs, x, f, g):
    d = _matvec(state.H, g, -1.0)
    if not np.dot(g, d) < 0.0:  # lost descent (rounding): restart from steepest descent
        return Direction(_identity(state), -g, unit_step(g), False, 0, CONTINUE)
    alpha0 = unit_step(g) if state.fresh else 1.0
    return Direction(state, d, alpha0, not state.fresh, 0, CONTINUE)


def _bfgs_state_update(state, s, y, snorm):
    sy, yy, usable = curvature(s, y, snorm, state.skip_eps)
    if not usable:
        return state
    H = state.H
    if state.fresh:  # N&W eq. (6.20): scale H0 before the first update
        H = (sy / yy) * np.eye(s.shape[0])
    _bfgs_update(H, s, y, sy)
    return BFGSDescent(H, False, state.skip_eps)


def _bfgs_restart(state):
    """The model was bad: back to the identity, and retry unless it already was."""
    return _identity(state), not state.fresh


register_descent(BFGSDescent, _bfgs_direction, _bfgs_state_update, _bfgs_restart)


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
    descent = BFGSDescent(np.eye(kern.n), True, o["skip_eps"])
    rest = (descent, StrongWolfe(o["c1"], o["c2"]), o["maxiter"], o["gtol"], o["ftol"],
            o["xtol"], o["max_linesearch"], max(o["ftol"], 1e-15), NO_LIMIT)
    out, state = drive(descent_loop, kern, (kern.vg, None), x, rest, callback)
    r = to_result(out, kern, "bfgs", history)
    r.hess_inv = state.H
    return r
