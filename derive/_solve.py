"""Solve small polynomial/transcendental systems: exactly with SymPy, else numerically.

Linear systems are solved in this process (elimination takes bounded time).
Other systems go to ``sympy.solve`` in a worker process that is killed after
``symbolic_seconds`` (see :mod:`derive.deadline`); when it fails or runs out of
time, ``mpmath.findroot`` (Newton) is started from a fixed set of pseudo-random
points and the distinct roots are returned. The caller's :class:`~derive.deadline.Deadline`
bounds all of it: it caps the worker's time and is checked at every Newton step.
"""
import mpmath
import numpy as np
import sympy as sp

from ._validate import InputError
from .deadline import Deadline, OutOfTime, run_limited
from .smoothness import NotSmoothError, describe, kink_atoms

#: sympy.solve's time per system: after it, Newton gets its chance
SYMBOLIC_SECONDS = 10.0


def solve_system(eqs, unknowns, deadline=None, symbolic_seconds=SYMBOLIC_SECONDS, numeric=True,
                 starts=24, seed=0):
    """Solutions of ``eqs = 0`` as (list of dicts, exact flag).

    Exact: every dict comes from ``sympy.solve``. Otherwise the dicts hold
    Floats from Newton's method (residual < 1e-10), deduplicated. Raises
    :class:`~derive.deadline.DeadlineExceeded` when ``deadline`` passes.
    """
    deadline = deadline or Deadline(None, "solve_system")
    eqs = [sp.sympify(e, strict=True) for e in eqs]
    eqs = [e for e in eqs if e != 0]
    if not eqs:
        return [{}], True
    if any(e.is_number and e != 0 for e in eqs):
        return [], True
    unknowns = list(unknowns)
    try:
        sols = _symbolic(eqs, unknowns, symbolic_seconds, deadline)
        sols = [s for s in sols if all(v.is_real is not False for v in s.values())]
        polynomial = all(e.is_polynomial(*unknowns) for e in eqs)
        if sols or polynomial or not numeric:
            return sols, True
        # sympy.solve can return [] for a transcendental system it only half handles
        # (e.g. a cube-root branch taken with real symbols), so ask Newton too.
        if _parameters(eqs, unknowns):
            return sols, True
        roots = _newton_roots(eqs, unknowns, starts, seed, deadline)
        return (roots, False) if roots else ([], True)
    except (OutOfTime, NotImplementedError, ValueError, TypeError, ZeroDivisionError) as err:
        if isinstance(err, NotSmoothError):
            raise
    deadline.check()
    if not numeric:
        return [], False
    return _newton_roots(eqs, unknowns, starts, seed, deadline), False


def _linear(eqs, unknowns):
    try:
        return all(e.is_polynomial(*unknowns) and sp.Poly(e, *unknowns).total_degree() <= 1 for e in eqs)
    except sp.polys.polyerrors.PolynomialError:
        return False


def _symbolic(eqs, unknowns, seconds, deadline):
    if _linear(eqs, unknowns):
        return _sympy_solve(eqs, unknowns)
    return run_limited(_sympy_solve, (eqs, unknowns), seconds=seconds, deadline=deadline)


def _sympy_solve(eqs, unknowns):
    """``sympy.solve`` as a module-level function, so that a worker process can run it."""
    return sp.solve(eqs, unknowns, dict=True)


def _parameters(eqs, unknowns):
    return set().union(*(e.free_symbols for e in eqs)) - set(unknowns)


def _newton_roots(eqs, unknowns, starts, seed, deadline):
    free = _parameters(eqs, unknowns)
    if free:
        raise InputError(
            f"cannot solve numerically: the system has parameters {sorted(map(str, free))}; "
            "give them numeric values"
        )
    n = len(unknowns)
    if len(eqs) < n:
        return []  # a continuum of roots: Newton's points would be arbitrary
    Jm = sp.Matrix(eqs).jacobian(unknowns)
    kinks = [a for e in [*eqs, *Jm] for a in kink_atoms(e, unknowns)]
    if kinks:
        # Newton needs a Jacobian; DiracDelta and friends have no numeric value
        raise NotSmoothError(f"Newton's method needs smooth equations, but {describe(kinks[0])}")
    rng = np.random.default_rng(seed)
    found = []
    # lambdify once (sympy.nsolve would re-lambdify at every start)
    F0 = sp.lambdify(unknowns, eqs, "mpmath")
    J0 = sp.lambdify(unknowns, Jm, "mpmath")

    def F(*v):
        deadline.check()  # findroot evaluates F once per step: the deadline holds inside it
        return F0(*v)

    def J(*v):
        return J0(*v)

    with mpmath.workdps(30):
        for k in range(starts):
            deadline.check()
            x0 = [mpmath.mpf(v) for v in rng.uniform(-3, 3, size=n) * (1 + k // 8)]
            try:
                # mpmath's Newton solves an overdetermined linearisation in least squares
                root = mpmath.findroot(F, x0, J=J, tol=1e-25, maxsteps=60)
            except (ValueError, ZeroDivisionError, TypeError, OverflowError):
                continue
            root = [root] if n == 1 and not hasattr(root, "__len__") else list(root)
            if any(abs(mpmath.im(v)) > 1e-12 for v in root):
                continue
            # a coordinate that is 0 to working precision is reported as 0, not 1e-25
            vals = [sp.Float(0) if abs(v) < 1e-14 else sp.Float(mpmath.re(v), 15) for v in root]
            try:
                res = F0(*[mpmath.mpf(float(v)) for v in vals])
            except (ValueError, ZeroDivisionError, TypeError, OverflowError):
                continue
            if max(abs(complex(r)) for r in res) > 1e-10:
                continue
            if any(max(abs(float(a) - float(b)) for a, b in zip(vals, prev)) < 1e-8 for prev in found):
                continue
            found.append(vals)
    return [dict(zip(unknowns, v)) for v in found]
