"""Multivariate Taylor polynomials and the quadratic model Newton's method minimises."""
from dataclasses import dataclass
from itertools import combinations_with_replacement
from math import factorial

import sympy as sp

from ._validate import InputError, as_point
from .calculus import _gradient_hessian, _in_real_vars
from .deadline import Deadline
from .smoothness import (NotRealError, NotSmoothError, check_dirac, describe, drop_dirac, jump_at,
                         kinks_at)

#: the largest Taylor order: the number of terms grows like order**n / n!, and already
#: order 100 in one variable means 101 derivatives whose size can grow exponentially
MAX_ORDER = 100


def _where(subs, r):
    return ", ".join(f"{r.back(k)} = {r.back(v)}" for k, v in subs.items())


def _at_point(e, subs, what, f, r):
    """``e`` at the point ``subs``, refusing kinks, non-finite and non-real values."""
    ws = list(subs)
    atom = jump_at(e, ws, subs)
    if atom is not None:
        # name the user's own non-smooth function when it has its kink here
        atom = (kinks_at(f, ws, subs) or [atom])[0]
        raise NotSmoothError(
            f"{what} of f = {r.back(f)} does not exist at {_where(subs, r)}: "
            f"f is not smooth at that point ({describe(r.back(atom))})"
        )
    # xreplace evaluates as it rebuilds and is much faster than subs; Derivative of an
    # undefined function needs subs (it becomes a Subs object)
    v = e.subs(subs) if e.has(sp.Derivative) else e.xreplace(subs)
    if v.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        raise NotSmoothError(
            f"{what} of f = {r.back(f)} is not finite at {_where(subs, r)} ({r.back(v)}): "
            "f is not smooth at that point"
        )
    if v.is_real is False or (v.is_number and v.has(sp.I) and sp.im(v.evalf()) != 0):
        raise NotRealError(
            f"{what} of f = {r.back(f)} is {r.back(v)} at {_where(subs, r)}: "
            "f is not real at that point (variables are real; choose a point in f's real domain)"
        )
    return v


def taylor(f, wrt, at, order=2, timeout=30.0, dirac="keep"):
    """Taylor polynomial of ``f`` of total degree ``order`` about the point ``at``.

    ``at`` is a sequence in the order of ``wrt`` or a mapping ``{symbol: value}``.
    The polynomial is sum over multi-indices |a| <= order of
    D^a f(at) / a! * (x - at)^a, so it is exact for polynomials of degree <= order.
    ``order`` is at most ``MAX_ORDER`` (100). Raises :class:`~derive.smoothness.NotSmoothError`
    when a derivative up to ``order`` does not exist at ``at`` (a kink of ``Abs``, ``Max``,
    ``relu``..., or an infinite slope) and :class:`~derive.smoothness.NotRealError` when
    f is not real there (``log(x)`` at x = -1). Derivatives can grow fast (``exp(sin(x))`` to
    order 100): past ``timeout`` seconds (None: no limit) :class:`~derive.DeadlineExceeded`
    is raised, checked between derivatives. At a numeric point every DiracDelta term
    evaluates (to 0 away from a kink; at a kink NotSmoothError is raised); at a symbolic
    point ``dirac="drop"`` removes those left, as in :func:`~derive.gradient`.

    >>> import sympy as sp
    >>> x, y = sp.symbols("x y")
    >>> taylor(sp.exp(x), x, 0, order=3)
    x**3/6 + x**2/2 + x + 1
    >>> taylor(sp.exp(x) * sp.cos(y), [x, y], {x: 0, y: 0}, order=2)
    x**2/2 + x - y**2/2 + 1
    """
    if not isinstance(order, int) or isinstance(order, bool) or order < 0:
        raise InputError(f"order must be a non-negative int, got {order!r}")
    if order > MAX_ORDER:
        raise InputError(
            f"order = {order} is above the cap of {MAX_ORDER}: the polynomial would need "
            f"{order + 1} or more derivatives, and would take minutes to build and pages to print"
        )
    check_dirac(dirac)
    deadline = Deadline(timeout, f"taylor to order {order}")
    r, fr, ws = _in_real_vars(f, wrt)
    point = r.fwd(as_point(at, [r.back(s) for s in ws]))
    subs = dict(zip(ws, point))
    n = len(ws)
    derivs = {(): fr}
    terms = []
    for k in range(order + 1):
        for idx in combinations_with_replacement(range(n), k):
            deadline.check()
            if idx not in derivs:
                derivs[idx] = sp.diff(derivs[idx[:-1]], ws[idx[-1]])
            d = derivs[idx]
            if d == 0:
                continue
            what = "the value" if not idx else \
                f"the derivative d{'' if k == 1 else f'^{k}'}f/" + "".join(f"d{r.back(ws[i])}" for i in idx)
            coeff = _at_point(d, subs, what, fr, r)
            if coeff == 0:
                continue
            mono = sp.S.One
            denom = 1
            for i in set(idx):
                m = idx.count(i)
                mono *= (ws[i] - point[i]) ** m
                denom *= factorial(m)
            terms.append(coeff * mono / denom)
    poly = sp.Add(*terms)
    return r.back(drop_dirac(poly) if dirac == "drop" else poly)


@dataclass(frozen=True)
class QuadraticModel:
    """Second-order model m(x) = f(a) + g.(x - a) + 1/2 (x - a)' H (x - a) of f about a."""

    wrt: tuple
    at: tuple
    value: sp.Expr
    gradient: sp.Matrix
    hessian: sp.Matrix

    @property
    def expr(self):
        """The model as an expression in the variables ``wrt``."""
        d = sp.Matrix([x - a for x, a in zip(self.wrt, self.at)])
        return self.value + (self.gradient.T * d)[0, 0] + (d.T * self.hessian * d)[0, 0] / 2

    def newton_step(self):
        """The step p solving H p = -g, i.e. the minimiser of the model is ``at + p``.

        Raises :class:`~derive.InputError` (a ValueError) when the Hessian is singular
        (the model has no unique stationary point).
        """
        det = sp.simplify(self.hessian.det())
        if det == 0:
            raise InputError(
                f"the Hessian at {dict(zip(self.wrt, self.at))} is singular; the quadratic model "
                "has no unique stationary point (use a regularised or trust-region step)"
            )
        p = self.hessian.LUsolve(-self.gradient)
        return p.applyfunc(sp.simplify)

    def minimizer(self):
        """The point ``at + newton_step()`` (a minimiser only when the Hessian is positive definite)."""
        return sp.Matrix(self.at) + self.newton_step()

    def __str__(self):
        return (
            f"QuadraticModel about {dict(zip(self.wrt, self.at))}:\n"
            f"  f(a) = {self.value}\n  grad f(a) = {list(self.gradient)}\n"
            f"  Hessian f(a) = {self.hessian.tolist()}\n  m(x) = {self.expr}"
        )

    def _repr_latex_(self):
        return f"$m({', '.join(map(sp.latex, self.wrt))}) = {sp.latex(self.expr)}$"


def quadratic_model(f, wrt, at):
    """Value, gradient and Hessian of ``f`` at ``at``: the model one Newton step minimises.

    >>> import sympy as sp
    >>> x, y = sp.symbols("x y")
    >>> q = quadratic_model((x - 1)**4 + y**2, [x, y], [2, 1])
    >>> q.value, list(q.gradient), q.hessian.tolist()
    (2, [4, 2], [[12, 0], [0, 2]])
    >>> list(q.newton_step())
    [-1/3, -1]
    """
    r, fr, ws = _in_real_vars(f, wrt)
    user_wrt = tuple(r.back(s) for s in ws)
    point = r.fwd(as_point(at, user_wrt))
    subs = dict(zip(ws, point))
    g, H = _gradient_hessian(fr, ws)
    n = len(ws)
    for i in range(n):
        for j in range(i, n):
            H[i, j] = H[j, i] = _at_point(H[i, j], subs, "the Hessian", fr, r)
    return QuadraticModel(
        wrt=user_wrt,
        at=r.back(point),
        value=r.back(_at_point(fr, subs, "the value", fr, r)),
        gradient=r.back(sp.Matrix([_at_point(gi, subs, "the gradient", fr, r) for gi in g])),
        hessian=r.back(H),
    )
