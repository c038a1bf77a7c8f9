"""Critical points classified by the Hessian's eigenvalues, and the Hessian's condition number."""
from dataclasses import dataclass

import numpy as np
import sympy as sp

from ._solve import solve_system
from ._validate import depends_on
from .calculus import _scalar_derivatives

KINDS = ("minimum", "maximum", "saddle", "degenerate", "unknown")


@dataclass(frozen=True)
class CriticalPoint:
    """A point where the gradient vanishes, with the Hessian's eigenvalues there.

    ``kind`` is "minimum" (all eigenvalues > 0), "maximum" (all < 0), "saddle"
    (some > 0 and some < 0), "degenerate" (a zero eigenvalue and no sign change:
    the second-order test says nothing), or "unknown" when the signs depend on
    parameters SymPy cannot decide. ``exact`` is False for points found numerically.
    """

    point: dict
    kind: str
    eigenvalues: tuple
    value: sp.Expr = None
    exact: bool = True

    def __str__(self):
        tag = "" if self.exact else "  [numerical]"
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
    except (NotImplementedError, sp.polys.polyerrors.PolynomialError, ValueError):
        pass
    if H.free_symbols:
        raise ValueError(f"cannot find the eigenvalues of the symbolic Hessian {H.tolist()}")
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
    signs = [_sign(sp.sympify(e)) for e in eigenvalues]
    if 1 in signs and -1 in signs:
        return "saddle"
    if None in signs:
        return "unknown"
    if 0 in signs:
        return "degenerate"
    return "minimum" if signs[0] == 1 else "maximum"


def critical_points(f, wrt, timeout=10.0, numeric=True):
    """Solutions of grad f = 0, each classified by the Hessian's eigenvalues there.

    Found exactly with ``sympy.solve`` where possible, else by Newton from several
    starts (``exact=False``). A continuum of critical points comes back as one
    point whose coordinates contain the free variables; for periodic functions
    only the solutions ``sympy.solve`` returns (typically one period) are listed.

    >>> import sympy as sp
    >>> x, y = sp.symbols("x y")
    >>> [str(p) for p in critical_points(x**2 - y**2, [x, y])]
    ['{x: 0, y: 0}: saddle (Hessian eigenvalues [-2, 2])']
    >>> critical_points((1 - x)**2 + 100*(y - x**2)**2, [x, y])[0].kind
    'minimum'
    """
    r, fr, ws = _scalar_derivatives(f, wrt)
    if not depends_on([fr], ws):
        raise ValueError(f"f = {r.back(fr)} does not depend on {[r.back(s) for s in ws]}: every point is critical")
    g = [sp.diff(fr, s) for s in ws]
    n = len(ws)
    H = sp.zeros(n, n)
    for i in range(n):
        for j in range(i, n):
            H[i, j] = H[j, i] = sp.diff(g[i], ws[j])
    sols, exact = solve_system(g, ws, timeout=timeout, numeric=numeric)
    out = []
    for sol in sols:
        pt = {s: sol.get(s, s) for s in ws}
        Hp = H.subs(pt) if exact else H.subs(pt).evalf()
        eig = _eigenvalues(Hp)
        value = fr.subs(pt)
        out.append(CriticalPoint(
            point={r.back(s): r.back(v) for s, v in pt.items()},
            kind=classify(eig),
            eigenvalues=tuple(r.back(e) for e in eig),
            value=r.back(sp.simplify(value) if exact else value),
            exact=exact,
        ))
    return out


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
        raise ValueError(
            f"the Hessian at {at} still contains {sorted(map(str, H.free_symbols))}; "
            "give a numeric point (and numeric parameters)"
        )
    mags = [sp.Abs(e) for e in _eigenvalues(H)]
    nums = [float(m) for m in mags]
    hi, lo = max(range(len(nums)), key=nums.__getitem__), min(range(len(nums)), key=nums.__getitem__)
    if _sign(mags[lo]) == 0:
        return sp.oo
    return sp.nsimplify(sp.simplify(mags[hi] / mags[lo])) if not mags[lo].has(sp.Float) else mags[hi] / mags[lo]
