"""Line searches shared by the descent methods: backtracking Armijo and strong Wolfe.

A loop names its search by a rule record, :class:`StrongWolfe` or :class:`Backtracking` (the
constants of the conditions), and calls :func:`line_search`, which runs that search compiled
or, for a Python objective, as Python. The searches are Numba functions that take the objective's ``value_and_grad`` kernel ``vg`` and its
packed arguments ``kargs``, and return ``(alpha, f, g, x, nfev, flag)`` where ``flag`` is
``WOLFE`` (all requested conditions hold), ``ARMIJO`` (only sufficient decrease holds; the
point is still a safe, lower iterate), ``FAILED`` (no lower point found; x is unchanged) or
``FAILED_NONFINITE`` (likewise, and every trial was NaN/inf: the objective is not finite along
``d``). Failure flags are negative.
"""
from typing import NamedTuple

import numpy as np
from numba import njit
from numba.extending import overload

from .numba_shims import JIT_OPTIONS, dual, for_kernel

__all__ = ["strong_wolfe", "strong_wolfe_box", "box_line_search", "backtracking", "line_search", "StrongWolfe", "Backtracking", "WOLFE",
           "ARMIJO", "FAILED", "FAILED_NONFINITE"]

WOLFE = 0
ARMIJO = 1
FAILED = -1
FAILED_NONFINITE = -2


@njit(cache=True)
def _cubic_min(a, fa, da, b, fb, db):
    """Minimiser of the cubic through (a, fa, da), (b, fb, db); NaN if it does not exist.

    Nocedal & Wright eq. (3.59).
    """
    if a == b:
        return np.nan
    d1 = da + db - 3.0 * (fa - fb) / (a - b)
    disc = d1 * d1 - da * db
    if not disc >= 0.0:
        return np.nan
    d2 = np.sqrt(disc)
    if b < a:
        d2 = -d2
    den = db - da + 2.0 * d2
    if den == 0.0:
        return np.nan
    return b - (b - a) * (db + d2 - d1) / den


@njit(cache=True)
def _quad_min(a, fa, da, b, fb):
    """Minimiser of the quadratic through (a, fa, da) and (b, fb); NaN if not convex."""
    h = b - a
    c = (fb - fa - da * h) / (h * h)
    if not c > 0.0:
        return np.nan
    return a - da / (2.0 * c)


@njit(cache=True)
def _interpolate(alo, flo, dlo, ahi, fhi, dhi):
    """Trial step inside the bracket [alo, ahi] by safeguarded cubic/quadratic interpolation."""
    lo = min(alo, ahi)
    hi = max(alo, ahi)
    margin = 0.1 * (hi - lo)
    t = np.nan
    if np.isfinite(fhi) and np.isfinite(dhi):
        t = _cubic_min(alo, flo, dlo, ahi, fhi, dhi)
    if not (lo + margin <= t <= hi - margin) and np.isfinite(fhi):
        t = _quad_min(alo, flo, dlo, ahi, fhi)
    if not (lo + margin <= t <= hi - margin):
        t = 0.5 * (alo + ahi)
    return t


@dual
def _trial(x, a, d, lo, hi):
    """x + a d, clipped to the box [lo, hi] when one is given (non-empty lo): rounding can put
    x + amax d a hair outside."""
    xa = x + a * d
    for i in range(lo.shape[0]):
        xa[i] = min(max(xa[i], lo[i]), hi[i])
    return xa


@dual
def _wolfe(vg, kargs, x, f0, g0, d, alpha0, c1, c2, amax, lo, hi, maxiter):
    """The strong-Wolfe search of :func:`strong_wolfe`, with steps at most ``amax``."""
    dphi0 = np.dot(g0, d)
    nfev = 0
    # best point that satisfies sufficient decrease (the "lo" end of the bracket)
    alo = 0.0
    flo = f0
    dlo = dphi0
    xlo = x.copy()
    glo = g0.copy()
    ahi = np.nan
    fhi = np.nan
    dhi = np.nan
    a = min(alpha0, amax)
    bracketed = False
    finite_seen = False
    while nfev < maxiter:
        if bracketed:
            a = _interpolate(alo, flo, dlo, ahi, fhi, dhi)
        xa = _trial(x, a, d, lo, hi)
        fa, ga = vg(xa, *kargs)
        nfev += 1
        da = np.dot(ga, d)
        ok = np.isfinite(fa) and np.isfinite(da)
        finite_seen = finite_seen or ok
        if (not ok) or fa > f0 + c1 * a * dphi0 or fa >= flo:
            ahi = a
            fhi = fa if ok else np.nan
            dhi = da if ok else np.nan
            bracketed = True
        else:
            if abs(da) <= -c2 * dphi0:
                return a, fa, ga, xa, nfev, WOLFE
            if bracketed:
                if da * (ahi - alo) >= 0.0:
                    ahi = alo
                    fhi = flo
                    dhi = dlo
            elif da >= 0.0:
                ahi = alo
                fhi = flo
                dhi = dlo
                bracketed = True
            elif a >= amax:  # still descending at the largest step allowed: take it
                return a, fa, ga, xa, nfev, ARMIJO
            alo = a
            flo = fa
            dlo = da
            xlo = xa
            glo = ga
            if not bracketed:
                # extrapolate by a fixed factor: 6 needed the fewest evaluations over the
                # MGH set (Moré-Thuente bound the step by 4x; cubic extrapolation did no better)
                a = min(6.0 * a, amax) if a < 1e10 else a
        if bracketed and abs(ahi - alo) <= 1e-14 * max(abs(alo), abs(ahi), 1e-300):
            break
    if alo > 0.0:
        return alo, flo, glo, xlo, nfev, ARMIJO
    return 0.0, f0, g0, x, nfev, FAILED if finite_seen else FAILED_NONFINITE


@njit(cache=True)
def strong_wolfe(vg, kargs, x, f0, g0, d, alpha0, c1, c2, maxiter):
    """Step along ``d`` satisfying the strong Wolfe conditions.

    Bracketing phase and ``zoom`` of Nocedal & Wright, Alg. 3.5-3.6, with safeguarded cubic
    interpolation; a trial where the objective is NaN/inf is treated as "too far".
    Requires ``g0 @ d < 0``.
    """
    none = np.empty(0)
    return _wolfe(vg, kargs, x, f0, g0, d, alpha0, c1, c2, np.inf, none, none, maxiter)


@njit(cache=True)
def strong_wolfe_box(vg, kargs, x, f0, g0, d, alpha0, c1, c2, amax, lo, hi, maxiter):
    """:func:`strong_wolfe` inside the box ``lo <= x <= hi`` along a feasible direction ``d``:
    steps at most ``amax`` (the distance to the box's boundary along d, as L-BFGS-B's ``stpmx``),
    trial points clipped to the box against rounding. At ``amax`` a point of sufficient decrease
    where f still descends is accepted (flag ``ARMIJO``): the box allows no further step.
    """
    return _wolfe(vg, kargs, x, f0, g0, d, alpha0, c1, c2, amax, lo, hi, maxiter)


@njit(cache=True)
def backtracking(vg, kargs, x, f0, g0, d, alpha0, c1, maxiter):
    """Largest step alpha0 * (shrink)^k with sufficient decrease (Armijo).

    Shrinks by safeguarded quadratic interpolation within [0.1, 0.5] of the last trial
    (Nocedal & Wright Sec. 3.5); NaN/inf trials shrink by 10.
    """
    dphi0 = np.dot(g0, d)
    a = alpha0
    nfev = 0
    finite_seen = False
    while nfev < maxiter:
        xa = x + a * d
        fa, ga = vg(xa, *kargs)
        nfev += 1
        finite_seen = finite_seen or np.isfinite(fa)
        if np.isfinite(fa) and fa <= f0 + c1 * a * dphi0 and np.all(np.isfinite(ga)):
            return a, fa, ga, xa, nfev, WOLFE
        if np.isfinite(fa):
            t = -dphi0 * a * a / (2.0 * (fa - f0 - dphi0 * a))
            a = min(max(t, 0.1 * a), 0.5 * a)
        else:
            a = 0.1 * a
    return 0.0, f0, g0, x, nfev, FAILED if finite_seen else FAILED_NONFINITE


class StrongWolfe(NamedTuple):
    """Search by :func:`strong_wolfe` with sufficient-decrease ``c1`` and curvature ``c2``."""

    c1: float = 1e-4
    c2: float = 0.9


class Backtracking(NamedTuple):
    """Search by :func:`backtracking` (Armijo) with sufficient-decrease constant ``c1``."""

    c1: float = 1e-4


def line_search(rule, vg, kargs, x, f0, g0, d, alpha0, maxiter):
    """Step along ``d`` by ``rule``; ``(alpha, f, g, x, nfev, flag)`` as the searches return.

    Compiled for compiled kernels, the search's Python source for a Python objective (which
    compiled code cannot call).

    >>> from solvers.callables import PythonObjective
    >>> obj = PythonObjective(lambda x: float(x @ x), 1, jac=lambda x: 2 * x)
    >>> x, g = np.array([1.0]), np.array([2.0])
    >>> alpha, f, g, x, nfev, flag = line_search(Backtracking(), obj.vg, (), x, 1.0, g, -g,
    ...                                          1.0, 20)
    >>> float(f) < 1.0, flag == WOLFE
    (True, True)
    """
    if type(rule) is StrongWolfe:
        return for_kernel(strong_wolfe, vg)(vg, kargs, x, f0, g0, d, alpha0, rule.c1, rule.c2,
                                            maxiter)
    return for_kernel(backtracking, vg)(vg, kargs, x, f0, g0, d, alpha0, rule.c1, maxiter)


@overload(line_search, jit_options=JIT_OPTIONS)
def _line_search_impl(rule, vg, kargs, x, f0, g0, d, alpha0, maxiter):
    rule_type = getattr(rule, "instance_class", None)
    if rule_type is StrongWolfe:
        return lambda rule, vg, kargs, x, f0, g0, d, alpha0, maxiter: strong_wolfe(
            vg, kargs, x, f0, g0, d, alpha0, rule.c1, rule.c2, maxiter)
    if rule_type is Backtracking:
        return lambda rule, vg, kargs, x, f0, g0, d, alpha0, maxiter: backtracking(
            vg, kargs, x, f0, g0, d, alpha0, rule.c1, maxiter)
    return None


def box_line_search(vg, kargs, x, f0, g0, d, alpha0, c1, c2, amax, lo, hi, maxiter):
    """:func:`strong_wolfe_box`, compiled for compiled kernels, as Python for a Python
    objective (as :func:`line_search`)."""
    return for_kernel(strong_wolfe_box, vg)(vg, kargs, x, f0, g0, d, alpha0, c1, c2, amax, lo,
                                            hi, maxiter)


@overload(box_line_search, jit_options=JIT_OPTIONS)
def _box_line_search_impl(vg, kargs, x, f0, g0, d, alpha0, c1, c2, amax, lo, hi, maxiter):
    return lambda vg, kargs, x, f0, g0, d, alpha0, c1, c2, amax, lo, hi, maxiter: (
        strong_wolfe_box(vg, kargs, x, f0, g0, d, alpha0, c1, c2, amax, lo, hi, maxiter))
