"""Critical points classified by the Hessian's eigenvalues, and the Hessian's condition number."""
from dataclasses import dataclass

import numpy as np
import sympy as sp
from sympy.matrices.exceptions import MatrixError

from ._solve import SYMBOLIC_SECONDS, solve_system
from ._validate import InputError, depends_on
from .calculus import _gradient_hessian, _in_real_vars
from .deadline import Deadline, OutOfTime, check_seconds, run_limited
from .smoothness import NotSmoothError, branch, describe, kink_atoms, kink_equations

KINDS = ("minimum", "maximum", "saddle", "degenerate", "unknown", "non-differentiable")


@dataclass(frozen=True)
class CriticalPoint:
    """A point where the gradient vanishes, with the Hessian's eigenvalues there.

    ``kind`` is "minimum" (all eigenvalues > 0), "maximum" (all < 0), "saddle"
    (some > 0 and some < 0), "degenerate" (a zero eigenvalue and no sign change:
    the second-order test says nothing), or "unknown" when the signs depend on
    parameters SymPy cannot decide. ``exact`` is False for points found numerically.

    "non-differentiable" marks a kink of a function of one variable (``Abs``,
    ``Max``, ``relu``...) where 0 lies between the one-sided derivatives
    ``one_sided = (left, right)``: a local minimum when left < 0 < right, a local
    maximum when left > 0 > right; ``eigenvalues`` is empty there. A kink where
    both one-sided derivatives are 0 gets the kind both sides agree on (by their
    second derivatives), else "degenerate", with ``one_sided = (0, 0)``.
    """

    point: dict
    kind: str
    eigenvalues: tuple
    value: sp.Expr = None
    exact: bool = True
    one_sided: tuple = None

    def __str__(self):
        tag = "" if self.exact else "  [numerical]"
        if self.one_sided is not None:
            left, right = self.one_sided
            return f"{self.point}: {self.kind} (one-sided derivatives {left} and {right}){tag}"
        return f"{self.point}: {self.kind} (Hessian eigenvalues {list(self.eigenvalues)}){tag}"


def _eigenvalues(H):
    """Eigenvalues with multiplicity, ascending where comparable: exact when SymPy finds them, else NumPy's."""
    return tuple(sorted(_unsorted_eigenvalues(H), key=_order))


def _order(e):
    try:
        return (0, float(e), "")
    except TypeError:
        return (1, 0.0, str(e))


def _unsorted_eigenvalues(H):
    if H.is_zero_matrix:
        return tuple([sp.S.Zero] * H.shape[0])
    if not H.free_symbols and any(e.has(sp.Float) for e in H):
        return tuple(sp.Float(v) for v in np.linalg.eigvalsh(np.array(H.evalf(), dtype=float)))
    try:
        ev = H.eigenvals(multiple=True)
        if len(ev) == H.shape[0]:
            return tuple(sp.simplify(e) for e in ev)
    except (NotImplementedError, sp.polys.polyerrors.PolynomialError, ValueError, MatrixError):
        pass  # e.g. a quintic with parameters: no radicals, and CRootOf needs rational data
    if H.free_symbols:
        raise InputError(f"cannot find the eigenvalues of the symbolic Hessian {H.tolist()}")
    return tuple(sp.Float(v) for v in np.linalg.eigvalsh(np.array(H.evalf(), dtype=float)))


def _sign(e, tol=1e-10):
    """+1, -1, 0 or None (undecided) for an eigenvalue."""
    if isinstance(e, sp.Float) or (e.is_number and e.has(sp.Float)):
        v = float(e)
        return 0 if abs(v) <= tol else (1 if v > 0 else -1)
    if e.is_zero:
        return 0
    if e.is_positive:
        return 1
    if e.is_negative:
        return -1
    return None


def classify(eigenvalues):
    """The kind of a critical point from the Hessian's eigenvalues (see :class:`CriticalPoint`).

    >>> classify([2, 3]), classify([-1, 1]), classify([0, 2])
    ('minimum', 'saddle', 'degenerate')
    """
    signs = [_sign(sp.sympify(e, strict=True)) for e in eigenvalues]
    if 1 in signs and -1 in signs:
        return "saddle"
    if None in signs:
        return "unknown"
    if 0 in signs:
        return "degenerate"
    return "minimum" if signs[0] == 1 else "maximum"


def critical_points(f, wrt, timeout=30.0, numeric=True, symbolic_timeout=SYMBOLIC_SECONDS):
    """Solutions of grad f = 0, each classified by the Hessian's eigenvalues there.

    Found exactly with ``sympy.solve`` where possible, else by Newton from several
    starts (``exact=False``). A continuum of critical points comes back as one
    point whose coordinates contain the free variables; for periodic functions
    only the solutions ``sympy.solve`` returns (typically one period) are listed.

    ``timeout`` bounds the whole call in seconds (None: no limit), in any thread:
    past it, :class:`~derive.deadline.DeadlineExceeded` (a TimeoutError) is raised.
    ``sympy.solve`` gets at most half of it, and at most ``symbolic_timeout`` seconds,
    before Newton takes over.

    A function of one variable with kinks (``Abs``, ``Max``, ``relu``...) is
    solved piece by piece; its kinks where 0 lies between the one-sided
    derivatives come back with kind "non-differentiable". For several variables
    the kinks form curves or surfaces, which are not searched:
    :class:`~derive.smoothness.NotSmoothError` is raised.

    >>> import sympy as sp
    >>> x, y = sp.symbols("x y")
    >>> [str(p) for p in critical_points(x**2 - y**2, [x, y])]
    ['{x: 0, y: 0}: saddle (Hessian eigenvalues [-2, 2])']
    >>> critical_points((1 - x)**2 + 100*(y - x**2)**2, [x, y])[0].kind
    'minimum'
    >>> [str(p) for p in critical_points(sp.Abs(x) + x**2, [x])]
    ['{x: 0}: non-differentiable (one-sided derivatives -1 and 1)']
    """
    deadline = Deadline(timeout, "critical_points")
    check_seconds(symbolic_timeout, "symbolic_timeout", zero_ok=True)
    r, fr, ws = _in_real_vars(f, wrt)
    if not depends_on([fr], ws):
        raise InputError(f"f = {r.back(fr)} does not depend on {[r.back(s) for s in ws]}: every point is critical")
    kinks = kink_atoms(fr, ws)
    if not kinks:
        points = _smooth_points(fr, ws, deadline, numeric, symbolic_timeout)
    elif len(ws) == 1:
        points = _points_with_kinks(fr, ws[0], kinks, deadline, numeric, symbolic_timeout, r)
    else:
        raise NotSmoothError(
            f"critical_points of several variables needs twice differentiable f, but "
            f"{describe(r.back(kinks[0]))}: such kinks form curves or surfaces, which are not searched "
            "(a smooth reformulation, e.g. |u| as t with -t <= u <= t, can go to kkt())"
        )
    return [CriticalPoint(
        point={r.back(s): r.back(v) for s, v in p.point.items()},
        kind=p.kind,
        eigenvalues=tuple(r.back(e) for e in p.eigenvalues),
        value=r.back(p.value),
        exact=p.exact,
        one_sided=None if p.one_sided is None else tuple(r.back(v) for v in p.one_sided),
    ) for p in points]


def _smooth_points(fr, ws, deadline, numeric, symbolic_timeout):
    """Critical points of a smooth f (in real variables, not mapped back)."""
    g, H = _gradient_hessian(fr, ws)
    budget = min(symbolic_timeout, deadline.remaining() / 2)
    sols, exact = solve_system(g, ws, deadline=deadline, symbolic_seconds=budget, numeric=numeric)
    out = []
    for sol in sols:
        deadline.check()
        pt = {s: sol.get(s, s) for s in ws}
        Hp = H.subs(pt) if exact else H.subs(pt).evalf()
        eig = _eigenvalues(Hp)
        value = fr.subs(pt)
        out.append(CriticalPoint(point=pt, kind=classify(eig), eigenvalues=eig,
                                 value=sp.simplify(value) if exact else value, exact=exact))
    return out


def _real_zeros(e, x):
    """The real zeros of e as a list, or None when they are not finitely many."""
    zeros = sp.solveset(e, x, sp.S.Reals)
    return sorted(zeros, key=sp.default_sort_key) if isinstance(zeros, sp.FiniteSet) else None


def _kinks_of(atoms, x, deadline, symbolic_timeout, r):
    """The sorted real points where the atoms of a function of x have kinks."""
    found = set()
    for atom in atoms:
        for e in kink_equations(atom):
            if x not in e.free_symbols:
                continue
            if e.free_symbols != {x}:
                raise NotSmoothError(
                    f"{describe(r.back(atom))}, a point that depends on the parameters "
                    f"{sorted(str(r.back(s)) for s in e.free_symbols - {x})}; give them values"
                )
            try:
                zeros = run_limited(_real_zeros, (e, x), seconds=symbolic_timeout, deadline=deadline)
            except OutOfTime:
                deadline.check()
                zeros = None
            if zeros is None:
                raise NotSmoothError(
                    f"{describe(r.back(atom))}, and SymPy finds no finite list of such points"
                )
            found.update(zeros)
    return sorted(found, key=float)


def _points_with_kinks(fr, x, atoms, deadline, numeric, symbolic_timeout, r):
    """Critical points of f(x) piece by piece between its kinks, and the kinks that are stationary."""
    kinks = _kinks_of(atoms, x, deadline, symbolic_timeout, r)
    bounds = [-sp.oo, *kinks, sp.oo]
    pieces = []
    for lo, hi in zip(bounds, bounds[1:]):
        sample = hi - 1 if lo == -sp.oo else lo + 1 if hi == sp.oo else (lo + hi) / 2
        piece = branch(fr, [x], {x: sample})
        if x not in piece.free_symbols:
            raise InputError(f"f = {r.back(fr)} is constant between {lo} and {hi}: every point there is critical")
        pieces.append(piece)
    out = []
    for (lo, hi), piece in zip(zip(bounds, bounds[1:]), pieces):
        out += [p for p in _smooth_points(piece, [x], deadline, numeric, symbolic_timeout)
                if _inside(p.point[x], lo, hi)]
    for k, left, right in zip(kinks, pieces, pieces[1:]):
        deadline.check()
        p = _kink_point(fr, x, k, left, right)
        if p is not None:
            out.append(p)
    return sorted(out, key=lambda p: float(p.point[x]))


def _one_sided(piece, x, k, direction):
    d = sp.diff(piece, x)
    v = sp.simplify(d.subs(x, k))
    if v.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        v = sp.limit(d, x, k, direction)
    return v


def _kink_point(fr, x, k, left, right):
    """The kink k as a CriticalPoint when 0 lies between the one-sided derivatives (or may)."""
    dl, dr = _one_sided(left, x, k, "-"), _one_sided(right, x, k, "+")
    value = sp.simplify(fr.subs(x, k))
    if sp.simplify(dl - dr) == 0:
        if _sign(dl) not in (0, None):
            return None
        # differentiable at k with f'(k) = 0: the second-order test holds if both pieces agree
        hl, hr = sp.simplify(sp.diff(left, x, 2).subs(x, k)), sp.simplify(sp.diff(right, x, 2).subs(x, k))
        if sp.simplify(hl - hr) == 0:
            return CriticalPoint(point={x: k}, kind=classify([hl]), eigenvalues=(hl,), value=value)
        # f'' jumps at k: the point is a minimum (maximum) if it is one on both sides
        kl, kr = classify([hl]), classify([hr])
        kind = kl if kl == kr else "degenerate"
        return CriticalPoint(point={x: k}, kind=kind, eigenvalues=(), value=value, one_sided=(dl, dr))
    sl, sr = _sign(dl), _sign(dr)
    if None not in (sl, sr) and sl * sr > 0:
        return None  # both slopes point the same way: not stationary
    return CriticalPoint(point={x: k}, kind="non-differentiable", eigenvalues=(), value=value, one_sided=(dl, dr))


def _inside(v, lo, hi):
    """lo < v < hi, decided exactly where SymPy can."""
    for d in (v - lo, hi - v):
        if d.has(sp.oo):
            continue
        s = _sign(sp.simplify(d), tol=1e-12)
        if s is None:
            try:
                s = 1 if float(d) > 0 else -1
            except TypeError:
                continue  # symbolic: cannot be placed, so it is kept
        if s <= 0:
            return False
    return True


def condition_number(f, wrt, at):
    """Ratio of the largest to the smallest |eigenvalue| of the Hessian at ``at`` (oo if singular).

    >>> import sympy as sp
    >>> x, y = sp.symbols("x y")
    >>> condition_number(x**2 + 10*y**2, [x, y], [0, 0])
    10
    >>> condition_number(x**4 + y**2, [x, y], [0, 0])
    oo
    """
    from .taylor import quadratic_model

    H = quadratic_model(f, wrt, at).hessian
    if H.free_symbols:
        raise InputError(
            f"the Hessian at {at} still contains {sorted(map(str, H.free_symbols))}; "
            "give a numeric point (and numeric parameters)"
        )
    mags = [sp.Abs(e) for e in _eigenvalues(H)]
    nums = [float(m) for m in mags]
    hi, lo = max(range(len(nums)), key=nums.__getitem__), min(range(len(nums)), key=nums.__getitem__)
    if _sign(mags[lo]) == 0:
        return sp.oo
    return sp.nsimplify(sp.simplify(mags[hi] / mags[lo])) if not mags[lo].has(sp.Float) else mags[hi] / mags[lo]
