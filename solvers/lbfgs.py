"""Limited-memory BFGS: the two-loop recursion as a descent, with a strong-Wolfe search on the
shared skeleton (:func:`solvers.loop.descent_loop`; Nocedal & Wright Alg. 7.4-7.5); with
``bounds=``, L-BFGS-B (:mod:`solvers.lbfgsb`)."""
from typing import NamedTuple

import numpy as np
from numba import njit

from .adapter import as_kernels, as_x0, check_length
from .bounds import bound_fields, parse_bounds, project_x0
from .linesearch import StrongWolfe
from .loop import (NO_LIMIT, Direction, descent_loop, drive, register_descent, to_result,
                   curvature, unit_step)
from .numba_shims import dual
from .options import LBFGS_MAXITER, check, check_common
from .termination import CONTINUE

__all__ = ["lbfgs", "LBFGSDescent"]


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


class LBFGSDescent(NamedTuple):
    """The two-loop direction over the ``count`` newest pairs (s, y) in the ring buffers S, Y
    (next slot ``head``), scaled by gamma = s'y / y'y of the newest. Pairs with
    ``s'y <= skip_eps ||s|| ||y||`` are skipped to keep the implicit H positive definite."""

    S: np.ndarray
    Y: np.ndarray
    rho: np.ndarray
    count: int
    head: int
    gamma: float
    skip_eps: float

    @classmethod
    def empty(cls, m, n, skip_eps):
        """The descent with memory ``m`` for ``n`` variables, no pair stored yet."""
        return cls(np.zeros((m, n)), np.zeros((m, n)), np.zeros(m), 0, 0, 1.0, skip_eps)


@dual
def _forget(state):
    return LBFGSDescent(state.S, state.Y, state.rho, 0, state.head, state.gamma, state.skip_eps)


def _lbfgs_direction(state, hess, kargs, x, f, g):
    if state.count > 0:
        d = _two_loop(g, state.S, state.Y, state.rho, state.count, state.head, state.gamma)
        if np.dot(g, d) < 0.0:
            return Direction(state, d, 1.0, True, 0, CONTINUE)
        state = _forget(state)  # lost descent (rounding): restart from steepest descent
    return Direction(state, -g, unit_step(g), False, 0, CONTINUE)


def _lbfgs_update(state, s, y, snorm):
    sy, yy, usable = curvature(s, y, snorm, state.skip_eps)
    if not usable:
        return state
    head = state.head
    for i in range(s.shape[0]):  # element loop: row slice-assignment is slow to compile
        state.S[head, i] = s[i]
        state.Y[head, i] = y[i]
    state.rho[head] = 1.0 / sy
    m = state.S.shape[0]
    return LBFGSDescent(state.S, state.Y, state.rho, min(state.count + 1, m), (head + 1) % m,
                        sy / yy, state.skip_eps)


def _lbfgs_restart(state):
    """The model was bad: forget the pairs, and retry unless there were none."""
    return _forget(state), state.count > 0


register_descent(LBFGSDescent, _lbfgs_direction, _lbfgs_update, _lbfgs_restart)


def lbfgs(objective, x0, *, args=(), m=10, gtol=1e-6, ftol=0.0, xtol=0.0,
          maxiter=LBFGS_MAXITER, c1=1e-4, c2=0.9, max_linesearch=40, skip_eps=1e-10,
          maxfun=None, callback=None, history=False, wrt=None, rows=None, bounds=None):
    """Minimise with L-BFGS (two-loop recursion, memory ``m``, scaling gamma = s'y/y'y), or with
    L-BFGS-B when ``bounds`` are given.

    ``maxiter`` defaults to 15000, SciPy's L-BFGS-B default. Updates with
    ``s'y <= skip_eps * ||s|| * ||y||`` are skipped so the implicit inverse Hessian
    stays positive definite. The run also counts as converged (CONVERGED_FTOL) when the
    predicted decrease -g'd falls below ``max(ftol, 1e-15) * max(|f|, 1)``. ``maxfun`` caps the
    objective evaluations (status MAX_FUNCTION_EVALUATIONS; the line search is cut short to stay
    within it; with finite differences each gradient costs n + 1). ``callback(x)`` or
    ``callback(intermediate_result)`` runs the loop in Python; returning True or raising
    StopIteration stops.

    ``bounds`` (SciPy's forms, see :func:`solvers.bounds.parse_bounds`) runs L-BFGS-B
    (:mod:`solvers.lbfgsb`): ``gtol`` then bounds the projected gradient ``max|P(x - g) - x|``,
    ``ftol`` is SciPy's relative reduction (SciPy's default is ``factr * eps = 2.2e-9``), the
    first step is at most 1, and the history's ``grad_norm`` is the projected gradient norm.
    The Result adds ``mu_lower`` / ``mu_upper`` (``g - mu_lower + mu_upper = 0`` on the active
    bounds), ``kkt`` and ``x0_projected`` (an x0 outside the box is projected, with a
    :class:`~solvers.bounds.BoundsWarning`). All-infinite bounds run plain L-BFGS.

    >>> import numpy as np
    >>> from solvers.callables import PythonObjective
    >>> obj = PythonObjective(lambda x: float(np.sum((x - 2.0) ** 2)), 2,
    ...                       jac=lambda x: 2.0 * (x - 2.0))
    >>> r = lbfgs(obj, [0.0, 0.0], bounds=[(None, 1.0), (0.0, 3.0)])
    >>> r.x.tolist(), r.mu_upper.tolist(), r.success
    ([1.0, 2.0], [2.0, 0.0], True)
    """
    o = check("lbfgs", m=m, gtol=gtol, ftol=ftol, xtol=xtol, maxiter=maxiter, c1=c1, c2=c2,
              max_linesearch=max_linesearch, skip_eps=skip_eps, maxfun=maxfun)
    check_common("lbfgs", callback, history)
    x = as_x0(x0)
    kern = as_kernels(objective, args, wrt, rows, n=x.shape[0])
    x = check_length(x, kern.n)
    box = parse_bounds(bounds, kern.n)
    maxfev = NO_LIMIT if o["maxfun"] is None else o["maxfun"]
    if not kern.compiled:  # vg calls the budget allows
        maxfev = maxfev // kern.evaluations_per_gradient()
    if box is not None:
        return _lbfgsb(kern, x, box, o, maxfev, callback, history)
    descent = LBFGSDescent.empty(o["m"], kern.n, o["skip_eps"])
    rest = (descent, StrongWolfe(o["c1"], o["c2"]), o["maxiter"], o["gtol"], o["ftol"],
            o["xtol"], o["max_linesearch"], max(o["ftol"], 1e-15), maxfev)
    out, _ = drive(descent_loop, kern, (kern.vg, None), x, rest, callback)
    return to_result(out, kern, "lbfgs", history)


def _lbfgsb(kern, x, box, o, maxfev, callback, history):
    """L-BFGS-B on ``kern`` from ``x`` in ``box``: the Result with multipliers and KKT."""
    from .lbfgsb import lbfgsb_loop  # the module's kernels compile on first use only

    x, moved = project_x0(x, box, "lbfgs")
    rest = (box.lo, box.hi, o["m"], o["maxiter"], o["gtol"], o["ftol"], o["xtol"], o["c1"],
            o["c2"], o["max_linesearch"], maxfev, o["skip_eps"])
    out = drive(lbfgsb_loop, kern, (kern.vg,), x, rest, callback)
    return to_result(out, kern, "lbfgs", history,
                     **bound_fields(out.x, out.g, box, o["gtol"], moved))
