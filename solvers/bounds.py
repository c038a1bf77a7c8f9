"""Box constraints ``lo <= x <= hi``: parsing SciPy's forms, projection, stationarity, multipliers.

Every bounded method (L-BFGS-B, TRON, the projected gradient family, the augmented Lagrangian's
inner solver) reads its ``bounds=`` through :func:`parse_bounds` and reports the multipliers of
:func:`bound_multipliers`. Sign convention (derive.kkt's):
``grad f - mu_lower + mu_upper (+ J_eq^T lam + J_ineq^T mu) = 0`` with ``mu_lower, mu_upper >= 0``.

>>> import numpy as np
>>> b = parse_bounds([(0, None), (None, 1.0)], 2)
>>> b.lo.tolist(), b.hi.tolist()
([0.0, -inf], [inf, 1.0])
>>> x, g = np.array([0.0, 0.5]), np.array([2.0, 0.0])
>>> float(projected_gradient_norm(x, g, b.lo, b.hi))
0.0
>>> [m.tolist() for m in bound_multipliers(x, g, b.lo, b.hi, 1e-10)]
[[2.0, 0.0], [0.0, 0.0]]
"""
import dataclasses
import math
import warnings
from typing import NamedTuple

import numpy as np
from numba import njit

__all__ = ["Bounds", "BoundsWarning", "parse_bounds", "project", "project_x0",
           "projected_gradient_norm", "bound_multipliers", "box_kkt", "max_feasible_step",
           "bound_fields", "bounded_result"]


class BoundsWarning(UserWarning):
    """The starting point was outside the bounds and was projected onto them."""


class Bounds(NamedTuple):
    """``lo <= x <= hi`` as float64 arrays of length n; -inf / +inf where there is no bound."""

    lo: np.ndarray
    hi: np.ndarray


def _is_pair(b):
    """A (lo, hi) pair of scalars or None (one variable's bounds in SciPy's sequence form)."""
    if isinstance(b, (str, bytes)) or not hasattr(b, "__len__"):
        return False
    try:
        return len(b) == 2 and all(v is None or np.ndim(v) == 0 for v in b)
    except TypeError:
        return False


def _side(values, n, which, none):
    """One side (``which`` is "lower"/"upper") as a float64 array of length n."""
    if values is None:
        return np.full(n, none)
    if np.ndim(values) == 0:
        return np.full(n, none if values is None else _real(values, which, None), dtype=float)
    if isinstance(values, np.ndarray) and values.ndim == 1 and values.dtype.kind in "fiu":
        return _numeric_side(values, n, which)
    vals = list(values) if not isinstance(values, np.ndarray) else values.tolist()
    if np.ndim(values) == 1 and len(vals) == 1:  # broadcast, as scipy.optimize.Bounds does
        vals = vals * n
    if np.ndim(values) != 1 or len(vals) != n:
        raise ValueError(f"bounds: the {which} bounds have shape {np.shape(values)}, but there "
                         f"are {n} variables (give n values or one scalar)")
    return np.array([none if v is None else _real(v, which, i) for i, v in enumerate(vals)],
                    dtype=float)


def _numeric_side(values, n, which):
    """A numeric 1-D array as one side, without a Python loop over its entries."""
    arr = np.array(values, dtype=float)
    if arr.shape[0] == 1:
        arr = np.full(n, arr[0])
    if arr.shape[0] != n:
        raise ValueError(f"bounds: the {which} bounds have shape {values.shape}, but there "
                         f"are {n} variables (give n values or one scalar)")
    nan = np.flatnonzero(np.isnan(arr))
    if nan.size:
        raise ValueError(f"bounds[{int(nan[0])}]: {which} bound is NaN (use None or inf for no "
                         f"bound)")
    return arr


def _real(v, which, i):
    where = "bounds" if i is None else f"bounds[{i}]"
    if isinstance(v, bool) or isinstance(v, (str, bytes)):
        raise ValueError(f"{where}: {which} bound {v!r} is not a number")
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: {which} bound {v!r} is not a number") from None
    if math.isnan(f):
        raise ValueError(f"{where}: {which} bound is NaN (use None or inf for no bound)")
    return f


def _sides(bounds, n):
    """(lo, hi) raw arrays from any accepted form."""
    if hasattr(bounds, "lb") and hasattr(bounds, "ub"):  # scipy.optimize.Bounds, duck-typed
        return _side(bounds.lb, n, "lower", -np.inf), _side(bounds.ub, n, "upper", np.inf)
    if isinstance(bounds, np.ndarray) and bounds.ndim == 2 and bounds.shape == (n, 2):
        bounds = bounds.tolist()
    try:
        items = list(bounds)
    except TypeError:
        raise ValueError(f"bounds must be a sequence of (lo, hi) pairs, a pair of arrays or a "
                         f"scipy.optimize.Bounds, got {type(bounds).__name__}") from None
    # SciPy's sequence of n pairs first: for n == 2, [(a, b), (c, d)] means pairs, as in SciPy;
    # but two 1-D arrays are (lo, hi), whatever n
    arrays = len(items) == 2 and all(isinstance(b, np.ndarray) and b.ndim == 1 for b in items)
    if not arrays and len(items) == n and all(b is None or _is_pair(b) for b in items):
        lo = np.empty(n)
        hi = np.empty(n)
        for i, b in enumerate(items):
            lo_i, hi_i = (None, None) if b is None else b
            lo[i] = -np.inf if lo_i is None else _real(lo_i, "lower", i)
            hi[i] = np.inf if hi_i is None else _real(hi_i, "upper", i)
        return lo, hi
    if len(items) == 2:
        return _side(items[0], n, "lower", -np.inf), _side(items[1], n, "upper", np.inf)
    raise ValueError(f"bounds: {len(items)} entries for {n} variables; give n (lo, hi) pairs "
                     f"(None for no bound) or one pair (lo, hi) of scalars or length-n arrays")


def parse_bounds(bounds, n):
    """:class:`Bounds` of ``n`` variables from SciPy's forms, or None when nothing is bounded.

    Accepts None; a sequence of n ``(lo, hi)`` pairs with None for no bound (for n == 2 a pair
    of pairs is read this way, as SciPy does, unless both are NumPy arrays); a pair
    ``(lo, hi)`` of scalars or length-n arrays; a ``scipy.optimize.Bounds`` (anything with ``.lb`` and ``.ub``); a :class:`Bounds`.
    Raises ValueError naming the index for NaN, a wrong length, or ``lo > hi``. All-infinite
    bounds give None: the unconstrained method runs, exactly as without bounds.

    >>> parse_bounds((0.0, [1.0, 2.0]), 2).hi.tolist()
    [1.0, 2.0]
    >>> parse_bounds([(None, None)] * 3, 3) is None
    True
    >>> parse_bounds([(0, 1), (2.0, 1.0)], 2)
    Traceback (most recent call last):
    ...
    ValueError: bounds[1]: lower bound 2.0 > upper bound 1.0 (infeasible bounds)
    """
    if bounds is None:
        return None
    if isinstance(bounds, Bounds):
        if bounds.lo.shape != (n,) or bounds.hi.shape != (n,):
            raise ValueError(f"bounds: Bounds of length {bounds.lo.shape[0]} for {n} variables")
        return bounds if _any_finite(bounds.lo, bounds.hi) else None
    lo, hi = _sides(bounds, n)
    bad = np.flatnonzero((lo > hi) | (lo == np.inf) | (hi == -np.inf))
    if bad.size:
        i = int(bad[0])
        if lo[i] > hi[i]:
            raise ValueError(f"bounds[{i}]: lower bound {float(lo[i])!r} > upper bound "
                             f"{float(hi[i])!r} (infeasible bounds)")
        raise ValueError(f"bounds[{i}]: ({float(lo[i])}, {float(hi[i])}) leaves no finite "
                         f"value (infeasible bounds)")
    if not _any_finite(lo, hi):
        return None
    return Bounds(np.ascontiguousarray(lo), np.ascontiguousarray(hi))


def _any_finite(lo, hi):
    return bool(np.any(np.isfinite(lo)) or np.any(np.isfinite(hi)))


def project_x0(x, bounds, method=""):
    """(x projected onto ``bounds``, whether it moved); warns a :class:`BoundsWarning` naming how
    many entries moved and the largest move. ``x`` is a float64 array (changed in place).

    >>> import numpy as np, warnings
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     x, moved = project_x0(np.array([2.0, 0.5]), Bounds(np.zeros(2), np.ones(2)))
    >>> x.tolist(), moved, str(w[0].message)
    ([1.0, 0.5], True, 'x0 is outside the bounds at 1 of 2 entries (largest move 1 at index 0): projected onto the bounds')
    """
    if bounds is None:
        return x, False
    below = x < bounds.lo
    above = x > bounds.hi
    count = int(np.count_nonzero(below | above))
    if count == 0:
        return x, False
    move = np.maximum(bounds.lo - x, x - bounds.hi)
    i = int(np.argmax(move))
    who = f"{method}: " if method else ""
    warnings.warn(BoundsWarning(
        f"{who}x0 is outside the bounds at {count} of {x.shape[0]} entries (largest move "
        f"{move[i]:.6g} at index {i}): projected onto the bounds"), stacklevel=3)
    np.clip(x, bounds.lo, bounds.hi, out=x)
    return x, True


@njit(cache=True)
def project(x, lo, hi):
    """The projection of ``x`` onto the box (a new array).

    >>> import numpy as np
    >>> project(np.array([-1.0, 0.5, 3.0]), np.zeros(3), np.ones(3)).tolist()
    [0.0, 0.5, 1.0]
    """
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        out[i] = min(max(x[i], lo[i]), hi[i])
    return out


@njit(cache=True)
def projected_gradient_norm(x, g, lo, hi):
    """``max_i |P(x - g)_i - x_i|``: zero exactly at the box's stationary points (a feasible x).

    >>> import numpy as np
    >>> float(projected_gradient_norm(np.array([0.0, 0.5]), np.array([3.0, -0.25]),
    ...                               np.zeros(2), np.ones(2)))
    0.25
    """
    m = 0.0
    for i in range(x.shape[0]):
        a = abs(min(max(x[i] - g[i], lo[i]), hi[i]) - x[i])
        if a > m or a != a:  # NaN propagates
            m = a
    return m


@njit(cache=True)
def _active(xi, bound, tol):
    # an infinite bound is never active (inf <= tol * inf would say it is)
    return abs(bound) < np.inf and abs(xi - bound) <= tol * max(1.0, abs(bound))


@njit(cache=True)
def bound_multipliers(x, g, lo, hi, tol):
    """(mu_lower, mu_upper), both >= 0 and nonzero only at active bounds, such that
    ``g - mu_lower + mu_upper`` vanishes on the active entries of a stationary point.

    A bound is active when ``|x_i - bound| <= tol * max(1, |bound|)``; a fixed variable
    (lo == hi) gives g_i to mu_lower if positive, else -g_i to mu_upper.

    >>> import numpy as np
    >>> ml, mu = bound_multipliers(np.array([0.0, 1.0, 0.5]), np.array([2.0, -1.0, 0.0]),
    ...                            np.zeros(3), np.ones(3), 1e-12)
    >>> ml.tolist(), mu.tolist()
    ([2.0, 0.0, 0.0], [0.0, 1.0, 0.0])
    """
    n = x.shape[0]
    ml = np.zeros(n)
    mu = np.zeros(n)
    for i in range(n):
        if g[i] > 0.0 and _active(x[i], lo[i], tol):
            ml[i] = g[i]
        elif g[i] < 0.0 and _active(x[i], hi[i], tol):
            mu[i] = -g[i]
    return ml, mu


@njit(cache=True)
def box_kkt(x, g, lo, hi, ml, mu):
    """(stationarity, feasibility, complementarity) of the box problem, as inf-norms:
    ``|g - ml + mu|``, the largest bound violation, ``max(ml_i |x_i - lo_i|, mu_i |hi_i - x_i|)``
    (an infinite bound with a zero multiplier counts zero).

    >>> import numpy as np
    >>> x, g, lo, hi = np.array([0.0, 0.5]), np.array([2.0, 1e-9]), np.zeros(2), np.ones(2)
    >>> [float(v) for v in box_kkt(x, g, lo, hi, *bound_multipliers(x, g, lo, hi, 1e-12))]
    [1e-09, 0.0, 0.0]
    """
    stat = 0.0
    feas = 0.0
    comp = 0.0
    for i in range(x.shape[0]):
        stat = max(stat, abs(g[i] - ml[i] + mu[i]))
        feas = max(feas, lo[i] - x[i], x[i] - hi[i])
        if ml[i] != 0.0:
            comp = max(comp, abs(ml[i] * (x[i] - lo[i])))
        if mu[i] != 0.0:
            comp = max(comp, abs(mu[i] * (hi[i] - x[i])))
    return stat, feas, comp


@njit(cache=True)
def max_feasible_step(x, d, lo, hi):
    """The largest ``t >= 0`` with ``x + t d`` inside the box (inf when d never leaves it).

    >>> import numpy as np
    >>> float(max_feasible_step(np.array([0.5, 0.0]), np.array([1.0, -1.0]),
    ...                         np.zeros(2), np.ones(2)))
    0.0
    """
    t = np.inf
    for i in range(x.shape[0]):
        if d[i] > 0.0:
            t = min(t, max(hi[i] - x[i], 0.0) / d[i])
        elif d[i] < 0.0:
            t = min(t, max(x[i] - lo[i], 0.0) / -d[i])
    return t


def bound_fields(x, g, box, gtol, moved):
    """The Result fields of a bounded run ending at ``x`` with gradient ``g``: ``mu_lower``,
    ``mu_upper``, ``kkt`` (:class:`solvers.result.KKTResiduals`) and ``x0_projected``
    (``moved``), for ``to_result(..., **fields)``.

    A bound counts as active within ``max(gtol, 1e-10)`` (relative to the bound's size); the
    stationarity residual is the projected gradient norm, which does not depend on that choice.
    """
    from .result import KKTResiduals  # result imports nothing of ours: no cycle, no cost

    ml, mu, stat, feas, comp = _report(np.asarray(x, dtype=float), np.asarray(g, dtype=float),
                                       box.lo, box.hi, max(gtol, 1e-10))
    return dict(mu_lower=ml, mu_upper=mu, kkt=KKTResiduals(stat, feas, comp),
                x0_projected=bool(moved))


def bounded_result(res, box, gtol, moved):
    """The Result ``res`` of a bounded run with :func:`bound_fields` set."""
    return dataclasses.replace(res, **bound_fields(res.x, res.grad, box, gtol, moved))


@njit(cache=True)
def _report(x, g, lo, hi, tol):
    """bound_multipliers, then (projected gradient norm, feasibility, complementarity): one call
    from Python instead of three."""
    ml, mu = bound_multipliers(x, g, lo, hi, tol)
    _, feas, comp = box_kkt(x, g, lo, hi, ml, mu)
    return ml, mu, projected_gradient_norm(x, g, lo, hi), feas, comp
