"""Solve small polynomial/transcendental systems: exactly with SymPy, else numerically.

``sympy.solve`` has no time limit, so it runs under SIGALRM (main thread, Unix);
when it fails or times out, ``mpmath.findroot`` (Newton) is started
from a fixed set of pseudo-random points and the distinct roots are returned.
"""
import signal
import threading
from contextlib import contextmanager

import mpmath
import numpy as np
import sympy as sp


class _Timeout(Exception):
    pass


@contextmanager
def _time_limit(seconds):
    usable = (
        seconds
        and hasattr(signal, "SIGALRM")
        and threading.current_thread() is threading.main_thread()
    )
    # an alarm someone else set (an outer limit, a test harness) is left alone
    if not usable or signal.getitimer(signal.ITIMER_REAL)[0] > 0:
        yield
        return

    def handler(signum, frame):
        raise _Timeout()

    old = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def solve_system(eqs, unknowns, timeout=10.0, numeric=True, starts=24, seed=0):
    """Solutions of ``eqs = 0`` as (list of dicts, exact flag).

    Exact: every dict comes from ``sympy.solve``. Otherwise the dicts hold
    Floats from Newton's method (residual < 1e-10), deduplicated.
    """
    eqs = [sp.sympify(e) for e in eqs]
    eqs = [e for e in eqs if e != 0]
    if not eqs:
        return [{}], True
    if any(e.is_number and e != 0 for e in eqs):
        return [], True
    try:
        with _time_limit(timeout):
            sols = sp.solve(eqs, list(unknowns), dict=True)
        sols = [s for s in sols if all(v.is_real is not False for v in s.values())]
        polynomial = all(e.is_polynomial(*unknowns) for e in eqs)
        if sols or polynomial or not numeric:
            return sols, True
        # sympy.solve can return [] for a transcendental system it only half handles
        # (e.g. a cube-root branch taken with real symbols), so ask Newton too.
        if _parameters(eqs, unknowns):
            return sols, True
        roots = _newton_roots(eqs, list(unknowns), starts, seed)
        return (roots, False) if roots else ([], True)
    except (_Timeout, NotImplementedError, ValueError, TypeError, ZeroDivisionError):
        pass
    if not numeric:
        return [], False
    return _newton_roots(eqs, list(unknowns), starts, seed), False


def _parameters(eqs, unknowns):
    return set().union(*(e.free_symbols for e in eqs)) - set(unknowns)


def _newton_roots(eqs, unknowns, starts, seed):
    free = _parameters(eqs, unknowns)
    if free:
        raise ValueError(
            f"cannot solve numerically: the system has parameters {sorted(map(str, free))}; "
            "give them numeric values"
        )
    n = len(unknowns)
    if len(eqs) < n:
        return []  # a continuum of roots: Newton's points would be arbitrary
    rng = np.random.default_rng(seed)
    found = []
    # lambdify once (sympy.nsolve would re-lambdify at every start)
    F = sp.lambdify(unknowns, eqs, "mpmath")
    J = sp.lambdify(unknowns, sp.Matrix(eqs).jacobian(unknowns), "mpmath")
    with mpmath.workdps(30):
        for k in range(starts):
            x0 = [mpmath.mpf(v) for v in rng.uniform(-3, 3, size=n) * (1 + k // 8)]
            try:
                # mpmath's Newton solves an overdetermined linearisation in least squares
                root = mpmath.findroot(lambda *v: F(*v), x0, J=lambda *v: J(*v), tol=1e-25, maxsteps=60)
            except (ValueError, ZeroDivisionError, TypeError, OverflowError):
                continue
            root = [root] if n == 1 and not hasattr(root, "__len__") else list(root)
            if any(abs(mpmath.im(v)) > 1e-12 for v in root):
                continue
            # a coordinate that is 0 to working precision is reported as 0, not 1e-25
            vals = [sp.Float(0) if abs(v) < 1e-14 else sp.Float(mpmath.re(v), 15) for v in root]
            try:
                res = F(*[mpmath.mpf(float(v)) for v in vals])
            except (ValueError, ZeroDivisionError, TypeError, OverflowError):
                continue
            if max(abs(complex(r)) for r in res) > 1e-10:
                continue
            if any(max(abs(float(a) - float(b)) for a, b in zip(vals, prev)) < 1e-8 for prev in found):
                continue
            found.append(vals)
    return [dict(zip(unknowns, v)) for v in found]
