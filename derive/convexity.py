"""Convexity on R^n: proven by composition or from the Hessian, disproven by an exactly checked witness.

Proof by composition first (:mod:`derive.dcp`, the rules of disciplined convex programming:
exp, softplus, logsumexp, Huber, squares of affine functions, sums with nonnegative
coefficients...), which decides the models people fit in any number of variables. Then
from the Hessian: a symmetric matrix is positive semidefinite iff all its principal minors
are >= 0 (Horn & Johnson, Thm. 7.2.5); each minor must be proven nonnegative by
SymPy's assumptions. A constant Hessian is decided by its exact eigenvalues.
Disproof: a sample point p and direction v with v' H(p) v < 0, where the sign
is checked exactly in SymPy (rational p and v), not in floating point.
"""
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import sympy as sp

from ._validate import InputError
from .deadline import OutOfTime, check_seconds, run_limited
from .calculus import _gradient_hessian, _in_real_vars
from .dcp import curvature

MAX_MINOR_DIM = 6  # 2**6 - 1 = 63 principal minors


@dataclass(frozen=True)
class Convexity:
    """Outcome of :func:`convexity`: ``convex`` is True (proven), False (witness found) or None.

    ``witness`` is a point (dict) and ``direction`` a vector v with v' H v < 0 there.
    Use ``.convex``; truth-testing the object itself is an error, to keep None
    (undecided) from reading as False.
    """

    convex: object
    reason: str
    witness: dict = None
    direction: tuple = None

    def __bool__(self):
        raise TypeError("use Convexity.convex (True, False or None); the result itself has no truth value")

    def __str__(self):
        word = {True: "convex", False: "not convex", None: "undecided"}[self.convex]
        return f"{word}: {self.reason}"


def _nonneg(e):
    """True only when SymPy proves e >= 0 (callers bound the time: factor can take minutes)."""
    if e.is_nonnegative:
        return True
    # sigmoid/softplus carry no "< 1" assumption; their exp form makes e.g. s(1 - s) provable
    transforms = [sp.cancel, sp.factor, lambda t: sp.factor(t.rewrite(sp.exp))]
    if sp.count_ops(e) < 80:
        transforms.append(sp.simplify)
    for transform in transforms:
        try:
            t = transform(e)
        except (sp.polys.polyerrors.PolynomialError, NotImplementedError):
            continue
        if t.is_nonnegative:
            return True
    return False


def _prove_psd(H, ws, timeout, names=None):
    """(True, reason) when H is proven PSD, else (None, why not); at most ``timeout`` seconds.

    The proof runs in a worker process (:mod:`derive.deadline`), so the limit holds in any thread.
    """
    try:
        names = names or [str(s) for s in ws]
        return run_limited(_psd_proof, (H, ws, names), seconds=timeout)
    except OutOfTime:
        return None, f"the proof attempt ran out of time ({timeout} s)"


def _psd_proof(H, ws, names):
    """``names``: the user's names of ``ws`` (messages never show internal symbols)."""
    n = H.shape[0]
    if n > MAX_MINOR_DIM:
        if H.free_symbols & set(ws):
            return None, f"{n} variables: too many principal minors to check"
        # constant Hessian (f quadratic plus affine): its exact eigenvalues decide
        try:
            eig = H.eigenvals(multiple=True)
        except (NotImplementedError, sp.polys.polyerrors.PolynomialError):
            eig = []
        if len(eig) == n and all(_nonneg(e) for e in eig):
            if any(e.free_symbols for e in eig):  # parameters: internal names, not shown
                return True, "constant Hessian whose eigenvalues are all proven >= 0"
            return True, f"constant Hessian with eigenvalues {sorted(eig, key=str)}, all >= 0"
        return None, "SymPy cannot prove the constant Hessian's eigenvalues >= 0"
    count = 0
    for k in range(1, n + 1):
        for idx in combinations(range(n), k):
            count += 1
            if not _nonneg(H.extract(list(idx), list(idx)).det(method="berkowitz")):
                which = ", ".join(names[i] for i in idx)
                return None, f"SymPy cannot prove the principal minor of the Hessian in ({which}) >= 0"
    return True, f"all {count} principal minors of the Hessian are proven >= 0"


def _rational(v, denom=8):
    return sp.Rational(int(round(float(v) * denom)), denom)


def _witness(H, ws, samples, seed, f=None):
    """(point, direction) with v' H(p) v < 0 proven exactly, or None.

    The point must lie in f's real domain: x*log(x) has H = 1/x < 0 at x = -1, but
    f is not real there, so that is no witness against convexity where f is defined.
    """
    n = len(ws)
    try:
        Hf = sp.lambdify(ws, H, modules=["numpy"])
    except Exception:  # noqa: BLE001 - a function numpy cannot print just means no numeric search
        return None
    rng = np.random.default_rng(seed)
    pts = [np.zeros(n)] + [np.eye(n)[i] * s for i in range(n) for s in (1, -1)]
    pts += [rng.normal(size=n) * scale for scale in (0.5, 1, 2, 5) for _ in range(samples // 4)]
    for p in pts:
        p = np.array([float(_rational(v)) for v in p])
        try:
            with np.errstate(all="ignore"):
                M = np.array(Hf(*p), dtype=float)
        except (TypeError, ValueError, ZeroDivisionError, NameError):
            continue
        if not np.all(np.isfinite(M)):
            continue
        w, V = np.linalg.eigh((M + M.T) / 2)
        if w[0] >= -1e-9 * max(1.0, abs(w).max()):
            continue
        v = V[:, 0] / np.abs(V[:, 0]).max()
        vq = sp.Matrix([_rational(c, 64) for c in v])
        point = {s: _rational(c) for s, c in zip(ws, p)}
        Hp = H.subs(point)
        if any(e.has(sp.I, sp.zoo, sp.nan, sp.oo) for e in Hp):
            continue
        if f is not None:
            fp = f.subs(point)
            if fp.has(sp.zoo, sp.nan, sp.oo, -sp.oo) or fp.is_real is False or fp.evalf().has(sp.I):
                continue
        q = (vq.T * Hp * vq)[0, 0]
        if q.is_negative:
            return point, tuple(vq)
    return None


def convexity(f, wrt, samples=40, seed=0, timeout=5.0):
    """Whether ``f`` is convex (on R^n, or on its real domain), with the reason and (if not) a witness.

    First the rules of disciplined convex programming (:mod:`derive.dcp`) try to prove it
    by composition, in any number of variables; then ``samples`` points are searched for
    negative curvature; then SymPy gets ``timeout`` seconds to prove the Hessian positive
    semidefinite. Symbols not in ``wrt`` are parameters of unknown sign unless their
    assumptions say otherwise (``Symbol("alpha", nonnegative=True)``).

    >>> import sympy as sp
    >>> x, y = sp.symbols("x y")
    >>> convexity(x**4 + sp.exp(y), [x, y]).convex
    True
    >>> c = convexity(x**2 - y**2, [x, y])
    >>> c.convex, c.direction
    (False, (0, 1))
    >>> print(convexity(sp.exp(x + y) + sp.Symbol("a") * x**2, [x, y]))
    undecided: not proven by composition: a*(affine)**2 is convex only if a >= 0, and the sign of a is unknown (declare it, e.g. sympy.Symbol('a', nonnegative=True)); SymPy cannot prove the principal minor of the Hessian in (x) >= 0; the Hessian depends on the parameter a
    """
    r, fr, ws = _in_real_vars(f, wrt)
    check_seconds(timeout, "timeout", zero_ok=True)
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 0:
        raise InputError(f"samples must be a non-negative int, got {samples!r}")
    dcp = curvature(fr, ws, names=r.back)
    if dcp.convex:
        return Convexity(True, f"by composition (DCP rules): {dcp.describe()}")
    H = _gradient_hessian(fr, ws)[1]
    back = lambda d: {r.back(k): v for k, v in d.items()}  # noqa: E731
    params = H.free_symbols - set(ws)

    # a cheap numeric search first: a verified witness settles it without any algebra
    if not params:
        found = _witness(H, ws, samples, seed, f=fr)
        if found is not None:
            point, v = found
            return Convexity(
                False,
                f"v' H v < 0 at {back(point)} for v = {list(v)} (checked exactly)",
                witness=back(point),
                direction=v,
            )
    proven, why = _prove_psd(H, ws, timeout, [str(r.back(s)) for s in ws])
    if proven:
        return Convexity(True, why)
    return Convexity(None, _undecided(dcp, why, params, samples, r))


def _undecided(dcp, why, params, samples, r):
    """Why neither proof nor witness was found, in the user's symbols."""
    lead = f"concave by composition ({dcp.describe()}), so convex only if affine" if dcp.kind == "concave" \
        else f"not proven by composition: {dcp.blocker}"
    if params:
        names = sorted(str(r.back(p)) for p in params)
        shown = ", ".join(names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else "")
        tail = f"the Hessian depends on the parameter{'s' if len(names) > 1 else ''} {shown}"
    else:
        tail = f"no point with negative curvature among {samples} samples"
    return f"{lead}; {why}; {tail}"


def is_convex(f, wrt):
    """True if ``f`` is proven convex on R^n, False if disproven (a witness exists), None if undecided.

    See :func:`convexity` for the witness and the reason.

    >>> import sympy as sp
    >>> x, y = sp.symbols("x y")
    >>> is_convex(x**2 + x*y + y**2, [x, y]), is_convex(sp.sin(x), x), is_convex(sp.Abs(x), x)
    (True, False, True)
    >>> is_convex(x**3 - x, x), is_convex(sp.Symbol("a") * x**2, x)
    (False, None)
    """
    return convexity(f, wrt).convex
