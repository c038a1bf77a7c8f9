"""Lagrangian and Karush-Kuhn-Tucker conditions of small constrained problems.

Convention (Nocedal & Wright, ch. 12): minimize f(x) subject to g_i(x) = 0 and
h_j(x) <= 0, with L(x, lam, mu) = f + sum_i lam_i g_i + sum_j mu_j h_j.
"""
from dataclasses import dataclass, field
from itertools import combinations

import sympy as sp
from sympy.solvers.simplex import InfeasibleLPError, UnboundedLPError, lpmin

from ._solve import SYMBOLIC_SECONDS, solve_system
from ._validate import InputError, RealVars, as_expr, as_scalar, as_wrt, depends_on
from .deadline import Deadline, check_seconds
from .smoothness import NotSmoothError, describe, kink_atoms

MAX_INEQUALITIES = 12  # 2**12 active sets is already slow for sympy.solve


def _constraint_list(items, name, kind):
    """Constraints as expressions c with c = 0 (kind "eq") or c <= 0 (kind "ineq")."""
    if items is None:
        return []
    if isinstance(items, (sp.Basic, str, int, float, bool)) and not isinstance(items, sp.MatrixBase):
        items = [items]
    out = []
    for i, c in enumerate(items):
        label = f"{name}[{i}]"
        if isinstance(c, (bool, sp.logic.boolalg.BooleanAtom)):
            raise InputError(
                f"{label} is {c}, not an expression: the relation was evaluated before derive saw it; "
                "pass the expression g (meaning g = 0 or h <= 0) instead"
            )
        if isinstance(c, sp.Rel):
            if kind == "eq":
                if not isinstance(c, sp.Eq):
                    raise InputError(f"{label} = {c} is an inequality; pass it in ineq=")
                c = c.lhs - c.rhs
            else:
                if isinstance(c, (sp.Le, sp.Lt)):
                    c = c.lhs - c.rhs
                elif isinstance(c, (sp.Ge, sp.Gt)):
                    c = c.rhs - c.lhs
                else:
                    raise InputError(f"{label} = {c} is an equation; pass it in eq=")
        out.append(as_expr(c, label))
    return out


def _multipliers(prefix, count, given, taken, name):
    if given is not None:
        given = tuple(given)
        if len(given) != count:
            raise InputError(f"{name} gives {len(given)} multiplier symbols for {count} constraints")
        for i, s in enumerate(given):
            if not isinstance(s, sp.Symbol):
                raise InputError(f"{name}[{i}] = {s!r} is not a sympy Symbol")
        return given
    out = []
    for i in range(1, count + 1):
        nm = f"{prefix}_{i}"
        while nm in taken:
            nm += "'"
        out.append(sp.Symbol(nm, real=True))
    return tuple(out)


@dataclass(frozen=True)
class Lagrangian:
    """L = f + sum lam_i g_i + sum mu_j h_j for minimize f s.t. g = 0, h <= 0."""

    expr: sp.Expr
    lam: tuple
    mu: tuple
    f: sp.Expr
    wrt: tuple
    eq: tuple = ()
    ineq: tuple = ()

    def __str__(self):
        return f"L({', '.join(map(str, self.wrt + self.lam + self.mu))}) = {self.expr}"

    def _repr_latex_(self):
        return f"$\\mathcal{{L}} = {sp.latex(self.expr)}$"


def lagrangian(f, wrt, eq=(), ineq=(), lam=None, mu=None):
    """Lagrangian of minimize f s.t. eq = 0, ineq <= 0 (multipliers lambda_i, mu_j, or ``lam``/``mu``).

    Constraints are expressions (``g`` meaning g = 0, ``h`` meaning h <= 0) or
    relations ``Eq(a, b)``, ``a <= b``, ``a >= b``.

    >>> import sympy as sp
    >>> x, y = sp.symbols("x y")
    >>> L = lagrangian(x**2 + y**2, [x, y], eq=[x + y - 1], ineq=[-x])
    >>> L.expr
    lambda_1*(x + y - 1) - mu_1*x + x**2 + y**2
    >>> L.lam, L.mu
    ((lambda_1,), (mu_1,))
    """
    wrt = as_wrt(wrt)
    f = as_scalar(f)
    g = _constraint_list(eq, "eq", "eq")
    h = _constraint_list(ineq, "ineq", "ineq")
    taken = {s.name for e in [f, *g, *h] for s in e.free_symbols} | {s.name for s in wrt}
    lam = _multipliers("lambda", len(g), lam, taken, "lam")
    mu = _multipliers("mu", len(h), mu, taken, "mu")
    expr = f + sp.Add(*[l * gi for l, gi in zip(lam, g)]) + sp.Add(*[m * hj for m, hj in zip(mu, h)])
    return Lagrangian(expr=expr, lam=lam, mu=mu, f=f, wrt=wrt, eq=tuple(g), ineq=tuple(h))


@dataclass(frozen=True)
class KKTPoint:
    """One KKT point: primal ``x`` and multipliers ``lam``, ``mu`` (dicts keyed by symbols).

    ``exact`` is False when the point was found numerically (Newton from several
    starts) because SymPy could not solve that active set. ``active`` lists the
    indices of the inequalities treated as active; ``conditions`` holds feasibility
    conditions SymPy could not decide (they were kept, not assumed false).
    """

    x: dict
    lam: dict
    mu: dict
    exact: bool = True
    value: sp.Expr = None
    active: tuple = ()
    conditions: tuple = ()

    def __str__(self):
        tag = "" if self.exact else "  [numerical]"
        return f"x = {self.x}, lam = {self.lam}, mu = {self.mu}, f = {self.value}{tag}"


@dataclass(frozen=True)
class KKTSystem:
    """The four groups of KKT conditions, each a non-empty list of SymPy relations.

    Groups without constraints hold ``sympy.true`` (an empty condition is true),
    so every group prints and iterates the same way.
    """

    lagrangian: Lagrangian
    wrt: tuple
    stationarity: list
    primal_feasibility: list
    dual_feasibility: list
    complementary_slackness: list
    groups: tuple = field(default=(
        "stationarity", "primal_feasibility", "dual_feasibility", "complementary_slackness"), repr=False)

    def __str__(self):
        lines = [f"KKT conditions of {self.lagrangian}"]
        for g in self.groups:
            lines.append(f"  {g.replace('_', ' ')}:")
            lines += [f"    {c}" for c in getattr(self, g)]
        return "\n".join(lines)

    def _repr_latex_(self):
        rows = [sp.latex(c) for g in self.groups for c in getattr(self, g)]
        return "$\\begin{aligned}" + r"\\ ".join(rows) + "\\end{aligned}$"

    def solve(self, timeout=30.0, numeric=True, symbolic_timeout=SYMBOLIC_SECONDS):
        """Every KKT point SymPy finds, by enumerating the active sets of the inequalities.

        For each active set A the system grad L = 0, g = 0, h_A = 0, mu_(not A) = 0
        is solved (``sympy.solve``, then Newton from several starts if ``numeric``),
        and solutions with h_(not A) > 0, or whose multipliers cannot all be
        nonnegative, are dropped. Only solutions ``sympy.solve`` returns are found
        exactly: for transcendental systems with infinitely many roots this is a subset.

        When the multipliers of a point are not unique (degenerate constraints, e.g.
        three active lines through one point in the plane), their sign conditions
        are linear in the free multipliers and are decided by an exact linear
        program (SymPy's simplex, rational data); one feasible choice is reported,
        the one with the smallest sum of free multipliers. Conditions that cannot be
        decided that way (parameters, irrational data) are kept in ``conditions``.
        Each point x is reported once, with the multipliers of the smallest active
        set that yields it.

        ``timeout`` bounds the whole call in seconds (None: no limit), in any thread:
        past it :class:`~derive.deadline.DeadlineExceeded` (a TimeoutError) is raised.
        Each active set gets an equal share of the time left; ``sympy.solve`` gets
        at most half of that share, and at most ``symbolic_timeout`` seconds, before
        Newton takes over.
        f and the constraints must be twice differentiable: a kink (``Abs``, ``Max``,
        ``relu``...) raises :class:`~derive.smoothness.NotSmoothError`.

        >>> import sympy as sp
        >>> x, y = sp.symbols("x y")
        >>> [p.x for p in kkt(x**2 + y**2, [x, y], eq=[x + y - 1]).solve()]
        [{x: 1/2, y: 1/2}]
        >>> [p.x for p in kkt(x**2 + y**2, [x, y], ineq=[x - 1, x + y - 1, x - y - 1]).solve()]
        [{x: 0, y: 0}]
        """
        deadline = Deadline(timeout, "kkt().solve()")
        check_seconds(symbolic_timeout, "symbolic_timeout", zero_ok=True)
        L = self.lagrangian
        if len(L.ineq) > MAX_INEQUALITIES:
            raise InputError(
                f"{len(L.ineq)} inequalities mean 2**{len(L.ineq)} active sets; "
                f"kkt().solve() handles at most {MAX_INEQUALITIES}"
            )
        r = RealVars([L.expr], self.wrt)
        xs = [r.fwd(s) for s in self.wrt]
        _refuse_kinks(L, r, xs)
        Lr = r.fwd(L.expr)
        grad = [sp.diff(Lr, s) for s in xs]
        g = [r.fwd(e) for e in L.eq]
        h = [r.fwd(e) for e in L.ineq]
        fr = r.fwd(L.f)
        points = []
        m = len(h)
        sets_left = 2**m
        for k in range(m + 1):
            for A in combinations(range(m), k):
                deadline.check()
                budget = min(symbolic_timeout, deadline.remaining() / sets_left / 2)
                sets_left -= 1
                zero = {L.mu[j]: 0 for j in range(m) if j not in A}
                eqs = [e.subs(zero) for e in grad] + g + [h[j] for j in A]
                unknowns = xs + list(L.lam) + [L.mu[j] for j in A]
                sols, exact = solve_system(eqs, unknowns, deadline=deadline, symbolic_seconds=budget,
                                           numeric=numeric)
                for sol in sols:
                    p = self._point(sol, exact, A, xs, h, zero, fr, r)
                    if p is not None and not any(_same(p, q) for q in points):
                        points.append(p)
        return points

    def _point(self, sol, exact, A, xs, h, zero, fr, r):
        L = self.lagrangian
        full = {**zero, **sol}
        val = lambda e: sp.sympify(e, strict=True).subs(full)  # noqa: E731
        undecided = []
        for j in A:  # dual feasibility of the active multipliers
            ok = _nonnegative(val(L.mu[j]), exact)
            if ok is False:
                return None
            if ok is None:
                undecided.append(sp.Ge(val(L.mu[j]), 0))
        for j in range(len(h)):  # primal feasibility of the inactive inequalities
            if j in A:
                continue
            ok = _nonnegative(-val(h[j]), exact)
            if ok is False:
                return None
            if ok is None:
                undecided.append(sp.Le(val(h[j]), 0))
        if undecided:
            choice = _feasible_multipliers(undecided, set(L.lam) | set(L.mu))
            if choice is False:
                return None  # the sign conditions contradict each other: not a KKT point
            if choice is not None:
                full = {k: sp.sympify(v, strict=True).subs(choice) for k, v in full.items()} | choice
                undecided = []
        x = {u: r.back(val(s)) for u, s in zip(self.wrt, xs)}
        return KKTPoint(
            x=x,
            lam={l: r.back(val(l)) for l in L.lam},
            mu={m: r.back(val(m)) for m in L.mu},
            exact=exact,
            value=r.back(sp.simplify(val(fr)) if exact else val(fr)),
            active=tuple(A),
            conditions=tuple(r.back(c) for c in undecided),
        )


def _refuse_kinks(L, r, xs):
    """Raise NotSmoothError naming the first kink of f or a constraint (``xs``: real variables)."""
    for name, exprs in (("f", [L.f]), ("eq", L.eq), ("ineq", L.ineq)):
        for i, e in enumerate(exprs):
            atoms = kink_atoms(r.fwd(e), xs)
            if atoms:
                label = name if name == "f" else f"{name}[{i}]"
                raise NotSmoothError(
                    f"kkt().solve() needs twice differentiable f and constraints, but in {label} = {e}, "
                    f"{describe(r.back(atoms[0]))}; rewrite it smoothly (e.g. minimise t with "
                    "u <= t and -u <= t instead of |u|)"
                )


def _feasible_multipliers(conditions, multipliers):
    """Decide linear sign conditions on free multipliers with an exact LP.

    Returns a dict of values for the free multipliers satisfying all conditions
    (the vertex with the smallest sum of free mu), False when no values do, or
    None when the conditions are not linear with rational coefficients in the
    multipliers alone (then they stay undecided).
    """
    free = set().union(*(c.free_symbols for c in conditions))
    if not free or not free <= multipliers:
        return None
    params = sorted(free, key=sp.default_sort_key)
    for c in conditions:
        try:
            poly = sp.Poly(c.lhs - c.rhs, *params)
        except sp.polys.polyerrors.PolynomialError:
            return None
        if poly.total_degree() > 1 or not all(t.is_Rational for t in poly.coeffs()):
            return None
    # the free mu carry their own ">= 0" condition, so the sum is bounded below
    objective = sp.Add(*[p for p in params if any(c == sp.Ge(p, 0) for c in conditions)])
    try:
        _, choice = lpmin(objective, list(conditions))
    except InfeasibleLPError:
        return False
    except UnboundedLPError:
        _, choice = lpmin(0, list(conditions))
    return {p: choice.get(p, sp.S.Zero) for p in params}


def _nonnegative(v, exact, tol=1e-9):
    """Whether v >= 0: True, False or None (undecided); numeric points get a tolerance."""
    if not exact:
        try:
            return bool(float(v) >= -tol)
        except TypeError:
            return None
    v = sp.simplify(v)
    if v.is_nonnegative:
        return True
    if v.is_negative:
        return False
    if v.is_number:
        try:
            return bool(v.evalf(30) >= 0)
        except TypeError:
            return None
    return None


def _same(p, q):
    """Same primal point: degenerate multipliers give one point several multiplier choices,
    and the first found (from the smallest active set) is kept."""
    for k in p.x:
        d = p.x[k] - q.x[k]
        if p.exact and q.exact:
            if sp.simplify(d) != 0:
                return False
        else:
            try:
                if abs(complex(d)) > 1e-8:
                    return False
            except TypeError:
                return False
    return True


def kkt(f, wrt, eq=(), ineq=(), lam=None, mu=None):
    """KKT conditions of minimize f s.t. eq = 0, ineq <= 0, as a :class:`KKTSystem`.

    >>> import sympy as sp
    >>> x, y = sp.symbols("x y")
    >>> s = kkt(x**2 + y**2, [x, y], eq=[x + y - 1], ineq=[-x])
    >>> s.stationarity
    [Eq(lambda_1 - mu_1 + 2*x, 0), Eq(lambda_1 + 2*y, 0)]
    >>> s.dual_feasibility, s.complementary_slackness
    ([mu_1 >= 0], [Eq(-mu_1*x, 0)])
    >>> kkt(x**2, x).primal_feasibility
    [True]
    """
    wrt = as_wrt(wrt)
    L = lagrangian(f, wrt, eq=eq, ineq=ineq, lam=lam, mu=mu)
    if not depends_on([L.f, *L.eq, *L.ineq], wrt):
        raise InputError(
            f"the problem does not depend on the variables {list(wrt)}: neither f = {L.f} "
            "nor any constraint contains them"
        )
    r = RealVars([L.expr], wrt)
    Lr = r.fwd(L.expr)
    stat = [sp.Eq(r.back(sp.diff(Lr, r.fwd(s))), 0) for s in wrt]
    primal = [sp.Eq(gi, 0) for gi in L.eq] + [sp.Le(hj, 0) for hj in L.ineq]
    dual = [sp.Ge(m, 0) for m in L.mu]
    comp = [sp.Eq(m * hj, 0) for m, hj in zip(L.mu, L.ineq)]
    return KKTSystem(
        lagrangian=L,
        wrt=wrt,
        stationarity=stat,
        primal_feasibility=primal or [sp.true],
        dual_feasibility=dual or [sp.true],
        complementary_slackness=comp or [sp.true],
    )
