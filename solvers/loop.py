"""The one iteration skeleton of the line-search methods, and the steps every loop shares.

A line-search method is a *descent* (which direction) plus a *search* (how far), as in
optimistix: :func:`descent_loop` runs start -> direction -> search -> update -> accept -> stop
for any pair. A descent is a NamedTuple *state* type registered with
:func:`register_descent` together with its three steps (all plain Python that Numba compiles):

* ``direction(state, hess, kargs, x, f, g) -> Direction``: the step direction, the first trial
  step length, whether it comes from the descent's model (then a tiny predicted decrease
  -g'd means converged), Hessian evaluations used, and a failure status;
* ``update(state, s, y, snorm) -> state``: learn from the accepted step s and gradient change y;
* ``restart(state) -> (state, retry)``: after a failed search, forget the model and retry
  (``retry`` False: the run fails).

Dispatch is on the state's type: in a compiled loop at compile time (one specialisation per
descent, search and argument layout, cached on disk), in a Python run by a table look-up. The
search is :func:`solvers.linesearch.line_search` with a :class:`~solvers.linesearch.StrongWolfe`
or :class:`~solvers.linesearch.Backtracking` rule. Trust-region Newton is another
globalisation; it shares :func:`accept_step` and :func:`finish` with this skeleton.

>>> import numpy as np
>>> from solvers.callables import PythonObjective
>>> from solvers.linesearch import Backtracking
>>> obj = PythonObjective(lambda x: float((x[0] - 1) ** 2 + 4 * x[1] ** 2), 2,
...                       jac=lambda x: np.array([2 * (x[0] - 1), 8 * x[1]]))
>>> out, _ = descent_loop(obj.vg, None, (), np.zeros(2), Steepest(), Backtracking(1e-4),
...                       200, 1e-8, 0.0, 0.0, 40, 1e-15, NO_LIMIT, None)
>>> int(out.status), np.round(out.x, 6).tolist()
(0, [1.0, 0.0])
"""
from typing import Callable, NamedTuple

import numba
import numpy as np
from numba import types
from numba.extending import overload

from .adapter import EvaluationFailed, callback_adapter
from .linesearch import FAILED, line_search
from .numba_shims import JIT_OPTIONS, dual, entry_point, stop_status
from .result import LoopResult, Result
from .termination import (CONTINUE, EVALUATION_FAILED, FTOL, LINESEARCH, MAXFEV, MAXITER,
                          NONFINITE, accept, start)

__all__ = ["descent_loop", "register_descent", "Direction", "Steepest", "direction", "update",
           "restart", "unit_step", "curvature", "keep_state", "no_retry", "accept_step", "finish", "drive", "to_result",
           "NO_LIMIT"]

NO_LIMIT = 2**62  # "no evaluation budget", still an int64
_vec = types.Array(types.float64, 1, "C")


class Direction(NamedTuple):
    """A descent's answer: the new state, direction ``d``, first trial step ``alpha0``, whether
    ``d`` is the model's step (``model``), Hessian evaluations used, ``CONTINUE`` or a failure."""

    state: tuple
    d: np.ndarray
    alpha0: float
    model: bool
    nhev: int
    status: int


class _Steps(NamedTuple):
    direction: Callable
    update: Callable
    restart: Callable


_DESCENTS = {}


def register_descent(state_type, direction, update, restart):
    """Make ``state_type`` (a NamedTuple class) a descent with these three steps."""
    _DESCENTS[state_type] = _Steps(direction, update, restart)
    return state_type


def _steps_of(state_type):
    """The registered steps of a Numba NamedTuple type (None: not a descent)."""
    return _DESCENTS.get(getattr(state_type, "instance_class", None))


def direction(state, hess, kargs, x, f, g):
    """The descent's :class:`Direction` at ``x``."""
    return _DESCENTS[type(state)].direction(state, hess, kargs, x, f, g)


def update(state, s, y, snorm):
    """The descent's state after the accepted step ``s`` (gradient change ``y``)."""
    return _DESCENTS[type(state)].update(state, s, y, snorm)


def restart(state):
    """(state, retry) after a failed line search."""
    return _DESCENTS[type(state)].restart(state)


@overload(direction, jit_options=JIT_OPTIONS)
def _direction_impl(state, hess, kargs, x, f, g):
    steps = _steps_of(state)
    return None if steps is None else steps.direction


@overload(update, jit_options=JIT_OPTIONS)
def _update_impl(state, s, y, snorm):
    steps = _steps_of(state)
    return None if steps is None else steps.update


@overload(restart, jit_options=JIT_OPTIONS)
def _restart_impl(state):
    steps = _steps_of(state)
    return None if steps is None else steps.restart


@dual
def unit_step(g):
    """First trial step along -g without a model: at most a unit move."""
    return min(1.0, 1.0 / np.sqrt(np.dot(g, g)))


@dual
def curvature(s, y, snorm, skip_eps):
    """(s'y, y'y, usable): a quasi-Newton update keeps H positive definite only when
    ``s'y > skip_eps * ||s|| * ||y||``; other pairs are skipped."""
    sy = np.dot(s, y)
    yy = np.dot(y, y)
    return sy, yy, sy > skip_eps * snorm * np.sqrt(yy)


class Steepest(NamedTuple):
    """The gradient descent d = -g, first trial step ``min(1, scale / ||g||)``."""

    scale: float = 1.0


def _steepest_direction(state, hess, kargs, x, f, g):
    return Direction(state, -g, min(1.0, state.scale / np.sqrt(np.dot(g, g))), False, 0,
                     CONTINUE)


def keep_state(state, s, y, snorm):
    """The ``update`` step of a descent without memory."""
    return state


def no_retry(state):
    """The ``restart`` step of a descent without a model to forget: a failed search ends the
    run."""
    return state, False


register_descent(Steepest, _steepest_direction, keep_state, no_retry)


@dual
def accept_step(cb, hist_f, hist_g, k, f_old, f_new, g_new, step_norm, x_new, gtol, ftol, xtol):
    """Record the accepted iterate ``k``, test convergence, run the callback: the status."""
    tested = accept(hist_f, hist_g, k, f_old, f_new, g_new, step_norm, x_new, gtol, ftol, xtol)
    return stop_status(cb, tested, k, x_new, f_new, hist_g[k])


@dual
def finish(x, f, g, nit, nfev, nhev, status, hist_f, hist_g, nhist):
    """The loop's :class:`LoopResult` (MAX_ITERATIONS when no test ended the run)."""
    end = MAXITER if status == CONTINUE else status
    # every vg call evaluates the value and the gradient together
    ngev = nfev
    return LoopResult(x, f, g, nit, nfev, ngev, nhev, end, hist_f[:nhist], hist_g[:nhist])


def descent_loop(vg, hess, kargs, x0, state, search, maxiter, gtol, ftol, xtol, max_ls,
                 dec_tol, maxfev, cb):
    """Minimise from ``x0`` with the descent ``state`` and the line-search rule ``search``.

    Returns (:class:`LoopResult`, final descent state). ``hess`` is what the descent's
    direction needs (None for quasi-Newton); ``max_ls`` caps each search's evaluations,
    ``maxfev`` the run's; ``dec_tol``: a model step predicting a decrease -g'd below
    ``dec_tol * max(|f|, 1)`` ends the run as converged (no representable decrease is left).
    """
    x = x0.copy()
    f, g = vg(x, *kargs)
    nfev = 1
    nhev = 0
    hist_f, hist_g, status = start(f, g, maxiter + 1, gtol)
    nit = 0
    while status == CONTINUE and nit < maxiter:
        if nfev >= maxfev:
            status = MAXFEV
            break
        step = direction(state, hess, kargs, x, f, g)
        state = step.state
        nhev += step.nhev
        if step.status != CONTINUE:
            status = step.status
            break
        if step.model and -np.dot(g, step.d) <= dec_tol * max(abs(f), 1.0):
            status = FTOL
            break
        alpha, fn, gn, xn, nf, flag = line_search(search, vg, kargs, x, f, g, step.d, step.alpha0,
                                                  min(max_ls, maxfev - nfev))
        nfev += nf
        if flag < 0:  # FAILED or FAILED_NONFINITE
            if nfev >= maxfev:  # the search was cut short by the evaluation budget
                status = MAXFEV
                break
            state, retry = restart(state)
            if not retry:
                status = LINESEARCH if flag == FAILED else NONFINITE
            continue
        s = xn - x
        snorm = np.sqrt(np.dot(s, s))
        state = update(state, s, gn - g, snorm)
        nit += 1
        status = accept_step(cb, hist_f, hist_g, nit, f, fn, gn, snorm, xn, gtol, ftol, xtol)
        x, f, g = xn, fn, gn
    return finish(x, f, g, nit, nfev, nhev, status, hist_f, hist_g, nit + 1), state


def drive(loop, kern, funcs, x, rest, callback, python=False):
    """Run a solver loop ``loop(*funcs, kargs, x, *rest, cb)``; returns what it returns.

    Without a callback the loop runs as cached nopython code specialised only on argument
    *types* (kernels as first-class functions), so every objective with the same argument
    layout shares one compiled loop. With a callback, for a Python objective or when
    ``python`` is set, it runs as plain Python calling the same kernels, so the callback sees
    every iterate.
    """
    if python or not kern.compiled or callback is not None:
        cb = None if callback is None else callback_adapter(callback)
        try:
            return loop(*funcs, kern.kargs, x, *rest, cb)
        except EvaluationFailed as exc:
            return _failed(loop, kern, exc, rest)
    # the Python types fix the Numba types: kernels, x and kargs are the same for every call on
    # kern; options are converted to int/float/bool; arrays are float64 and C-contiguous
    key = (loop,) + tuple(map(type, funcs + rest))
    compiled = kern._loops.get(key)
    if compiled is None:
        argtypes = tuple(numba.typeof(v) for v in funcs) + (kern.kargs_type, _vec)
        argtypes += tuple(numba.typeof(v) for v in rest) + (types.none,)
        compiled = kern._loops[key] = entry_point(loop, argtypes)
    return compiled(*funcs, kern.kargs, x, *rest, None)


def _failed(loop, kern, exc, rest):
    """The loop's return value at the last point evaluated in full, status EVALUATION_FAILED
    (the error's text goes to the Result through ``kern.failure``)."""
    if exc.last is None:  # nothing was evaluated: there is no point to report
        raise exc.cause
    kern.failure = str(exc.cause)
    x, f, g = exc.last
    none = np.empty(0)
    out = LoopResult(x, float(f), g, 0, 0, 0, 0, EVALUATION_FAILED, none, none)
    return (out, rest[0]) if loop is descent_loop else out  # descent_loop returns its state too


def to_result(out, kern, method, history, **fields):
    """The :class:`~solvers.result.Result` of a loop's :class:`LoopResult` on ``kern``;
    ``fields`` sets Result's optional fields (``history_unit="epoch"``, ``mu_lower``, ...)."""
    if not kern.compiled:  # the objective's own counts: finite differences cost n + 1 each
        out = out._replace(nfev=kern.nfev, ngev=kern.njev, nhev=kern.nhev)
    if getattr(kern, "failure", None):
        fields["error"] = kern.failure
    return Result.from_loop(out, method, history, **fields)
