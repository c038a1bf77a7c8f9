"""Where a function is not smooth (kinks of Abs, Max, relu, ...) or not real, and the errors that say so.

SymPy differentiates ``Abs(x)`` to ``sign(x)`` with ``sign(0) = 0`` and ``sign(x)``
to ``2*DiracDelta(x)``: taken at a kink, those are conventions, not derivatives.
Functions here find such kinks so that callers can refuse (or handle) them.

>>> import sympy as sp
>>> x = sp.Symbol("x", real=True)
>>> [str(k) for k in kink_atoms(sp.Abs(x) + sp.Max(x, 1), [x])]
['Abs(x)', 'Max(1, x)']
>>> kink_equations(sp.Max(x, 1))
[1 - x]
"""
from itertools import combinations

import sympy as sp

from ._validate import InputError
from .ml import relu

#: functions whose derivatives jump (or do not exist) where their kink equations hold
KINKED = (sp.Abs, sp.sign, sp.Heaviside, sp.DiracDelta, sp.Max, sp.Min, sp.Piecewise,
          sp.floor, sp.ceiling, sp.frac, relu)
_STEPS = (sp.floor, sp.ceiling, sp.frac)


class NotSmoothError(InputError):
    """The function is not differentiable (often enough) where the caller needs it."""


class NotRealError(InputError):
    """The function is not real-valued at the point given."""


def kink_atoms(expr, wrt):
    """The non-smooth subexpressions of ``expr`` that depend on the variables ``wrt``, sorted."""
    ws = set(wrt)
    found = {a for a in sp.sympify(expr, strict=True).atoms(*KINKED) if a.free_symbols & ws}
    return sorted(found, key=sp.default_sort_key)


def kink_equations(atom):
    """Expressions whose zeros are the kinks of ``atom`` (steps of floor/ceiling/frac excluded)."""
    if isinstance(atom, (sp.Max, sp.Min)):
        return [a - b for a, b in combinations(atom.args, 2)]
    if isinstance(atom, sp.Piecewise):
        out = []
        for _, cond in atom.args:
            for rel in cond.atoms(sp.core.relational.Relational):
                out.append(rel.lhs - rel.rhs)
        return out
    if isinstance(atom, _STEPS):
        raise NotSmoothError(f"{atom} jumps wherever its argument is an integer")
    return [atom.args[0]]


#: the values of the ``dirac=`` keyword of derive's derivative functions
DIRAC_CHOICES = ("keep", "drop")


def check_dirac(dirac):
    """``dirac`` itself when it is "keep" or "drop", else an InputError naming it."""
    if not isinstance(dirac, str) or dirac not in DIRAC_CHOICES:
        raise InputError(f'dirac must be "keep" (show DiracDelta terms) or "drop" (remove them, as '
                         f"compiled code does), got {dirac!r}")
    return dirac


def has_dirac(e):
    """True when the expression or Matrix ``e`` holds a DiracDelta (or one of its derivatives)."""
    return bool(getattr(e, "atoms", lambda *_: ())(sp.DiracDelta))


def drop_dirac(e):
    """``e`` (an expression or Matrix) with every DiracDelta term replaced by 0.

    DiracDelta(u) and its derivatives DiracDelta(u, k) are point masses on u = 0: zero
    almost everywhere, which is the value ``codegen`` computes for them.

    >>> import sympy as sp
    >>> x = sp.Symbol("x", real=True)
    >>> drop_dirac(sp.diff(sp.Abs(x) + x**2, x, 2))
    2
    """
    if not has_dirac(e):
        return e
    return e.xreplace({d: sp.S.Zero for d in e.atoms(sp.DiracDelta)})


def almost_everywhere_note(f, wrt, result, dropped=False, hint='dirac="drop"'):
    """The note a printed derivative of ``f`` needs, or None when ``f`` is smooth in ``wrt``.

    Says "derivative taken almost everywhere" and where: the kinks of ``f`` (Abs, Max,
    Piecewise...), whether ``result`` shows DiracDelta terms (which compiled code evaluates
    as 0; ``hint`` names the switch that drops them) or they were ``dropped``.

    >>> import sympy as sp
    >>> x = sp.Symbol("x")
    >>> print(almost_everywhere_note(sp.Abs(x), [x], sp.Matrix([[2 * sp.DiracDelta(x)]])))
    derivative taken almost everywhere: Abs(x) is not differentiable where x = 0; the DiracDelta terms are point masses there, which compiled code evaluates as 0 (dirac="drop" removes them)
    """
    atoms = kink_atoms(f, wrt)
    shown = has_dirac(result)
    if not atoms and not shown and not dropped:
        return None
    where = "; ".join(describe(a) for a in atoms[:2])
    if len(atoms) > 2:
        where += f"; and {len(atoms) - 2} more non-smooth terms"
    note = "derivative taken almost everywhere" + (f": {where}" if where else "")
    if shown:
        note += ("; the DiracDelta terms are point masses there, which compiled code evaluates "
                 f"as 0 ({hint} removes them)")
    elif dropped:
        note += "; its DiracDelta terms (point masses at the kinks) were dropped, as compiled code drops them"
    else:
        note += "; the value printed at a kink is a convention, not a derivative"
    return note


def describe(atom):
    """'Abs(x) is not differentiable where x = 0' and the like."""
    if isinstance(atom, _STEPS):
        return f"{atom} jumps wherever {atom.args[0]} is an integer"
    if isinstance(atom, (sp.Max, sp.Min)):  # "x = 0" reads better than "-x = 0" for Max(0, x)
        where = " or ".join(f"{b} = {a}" if a.is_zero else f"{a} = {b}" for a, b in combinations(atom.args, 2))
    else:
        where = " or ".join(f"{e} = 0" for e in kink_equations(atom))
    verb = "is not continuous" if isinstance(atom, (sp.sign, sp.Heaviside, sp.DiracDelta)) else \
        "is not differentiable"
    return f"{atom} {verb} where {where}"


def _branch_values(atom, subs):
    """The values ``atom`` takes just beside its kink at the point ``subs`` (None: no kink there)."""
    def at(e):
        return sp.simplify(e.xreplace(subs)) if e.has(*subs) else e

    if isinstance(atom, (sp.sign, sp.Heaviside, sp.DiracDelta, sp.Abs, relu)):
        if at(atom.args[0]) != 0:
            return None
        u = atom.args[0]
        return {sp.sign: [-1, 1], sp.Heaviside: [0, 1], sp.Abs: [-u, u], relu: [0, u],
                sp.DiracDelta: [sp.oo]}[atom.func]
    if isinstance(atom, (sp.Max, sp.Min)):
        vals = [at(a) for a in atom.args]
        try:
            top = (max if isinstance(atom, sp.Max) else min)(vals, key=float)
        except TypeError:
            return None  # a symbolic point: no kink can be located
        best = [a for a, v in zip(atom.args, vals) if sp.simplify(v - top) == 0]
        return best if len(best) > 1 else None
    if isinstance(atom, sp.Piecewise):
        if not any(at(e) == 0 for e in kink_equations(atom)):
            return None
        return [e for e, _ in atom.args]
    if isinstance(atom, _STEPS):
        v = at(atom.args[0])
        if not v.is_integer:
            return None
        u = atom.args[0]
        return {sp.floor: [u - 1, u], sp.ceiling: [u, u + 1], sp.frac: [1 + u - v, u - v]}[atom.func]
    return None


def kinks_at(expr, wrt, subs):
    """The kink atoms of ``expr`` whose kink passes through the point ``subs``."""
    return [a for a in kink_atoms(expr, wrt) if _branch_values(a, subs) is not None]


def jump_at(expr, wrt, subs):
    """The first kink atom across which ``expr`` jumps at the point ``subs``, or None if it is continuous there.

    Each kink atom through the point is replaced by its value on either side; the
    expression is continuous there when all the replacements give the same value.

    >>> import sympy as sp
    >>> x = sp.Symbol("x", real=True)
    >>> jump_at(sp.sign(x), [x], {x: 0}), jump_at(x * sp.sign(x), [x], {x: 0})
    (sign(x), None)
    """
    for atom in kink_atoms(expr, wrt):
        sides = _branch_values(atom, subs)
        if sides is None:
            continue
        if any(s is sp.oo for s in sides):
            return atom
        vals = [sp.simplify(expr.xreplace({atom: sp.sympify(s, strict=True)}).xreplace(subs)) for s in sides]
        if any(v.has(sp.zoo, sp.nan, sp.oo, -sp.oo) for v in vals):
            return atom
        if any(sp.simplify(v - vals[0]) != 0 for v in vals[1:]):
            return atom
    return None


def branch(expr, wrt, sample):
    """``expr`` with each kink atom replaced by the smooth branch it follows at the point ``sample``.

    >>> import sympy as sp
    >>> x = sp.Symbol("x", real=True)
    >>> branch(sp.Abs(x) + sp.Max(x, 1), [x], {x: -2})
    1 - x
    """
    def pick(e):
        if e.is_Atom:
            return e
        args = [pick(a) for a in e.args]
        if args != list(e.args):
            e = e.func(*args)
        if not isinstance(e, KINKED) or not (e.free_symbols & set(wrt)):
            return e
        return _branch_of(e, sample)

    return pick(sp.sympify(expr, strict=True))


def _branch_of(atom, sample):
    at = lambda e: e.xreplace(sample)  # noqa: E731
    if isinstance(atom, sp.Piecewise):
        for e, cond in atom.args:
            if at(cond) == sp.true:
                return e
        raise NotSmoothError(f"{atom} is undefined at {sample}")
    if isinstance(atom, (sp.Max, sp.Min)):
        vals = [float(at(a)) for a in atom.args]
        k = (max if isinstance(atom, sp.Max) else min)(range(len(vals)), key=vals.__getitem__)
        return atom.args[k]
    u = atom.args[0]
    s = sp.sign(at(u))
    if isinstance(atom, sp.DiracDelta):
        return sp.S.Zero
    if isinstance(atom, (sp.floor, sp.ceiling, sp.frac)):
        raise NotSmoothError(describe(atom))
    return {sp.Abs: s * u, sp.sign: s, sp.Heaviside: (s + 1) / 2, relu: u if s > 0 else sp.S.Zero}[atom.func]
