"""Convexity by composition: the rules of disciplined convex programming (DCP).

Grant, Boyd & Ye, "Disciplined convex programming" (2006), as CVXPY applies them: an
expression is classified bottom-up as constant, affine, convex, concave or unknown from
the curvature and monotonicity of each function (atom) and the curvature of its arguments.
For example exp is convex and increasing, so exp(g) is convex for convex g; a sum of convex
terms with nonnegative coefficients is convex; (affine)**2 and Huber(affine) are convex.
Symbols that are not variables (parameters, data) are constants of unknown sign unless
their assumptions say otherwise: y*(affine) is affine whatever y is, but alpha*w**2 is
convex only if alpha >= 0.

The rules prove curvature on the function's domain (where it is real): -log(u) and u*log(u)
are convex for u > 0, where they are defined. They never prove a function convex that is
not; they may fail to prove one that is (x**2 + x*y + y**2 holds a product of variables:
:func:`derive.convexity` then tries the Hessian).

>>> import sympy as sp
>>> w0, w1, y = sp.symbols("w0 w1 y", real=True)
>>> str(curvature(sp.exp(w0 + 2*w1) - y*(w0 + 2*w1), (w0, w1)))
'convex: sum of exp(affine) and y*affine (affine: in w0, w1)'
>>> str(curvature(sp.Symbol("a", real=True) * w0**2, (w0,)))
"unknown: a*(affine)**2 is convex only if a >= 0, and the sign of a is unknown (declare it, e.g. sympy.Symbol('a', nonnegative=True))"
"""
import re
from collections import Counter
from dataclasses import dataclass

import sympy as sp

from .ml import logsumexp, relu, sigmoid, softplus

CONVEX_KINDS = ("constant", "affine", "convex")
CONCAVE_KINDS = ("constant", "affine", "concave")
_MAX_GROUPS = 5  # distinct kinds of terms named in a sum's description


@dataclass(frozen=True)
class Curvature:
    """A curvature proven by the DCP rules: ``kind`` is "constant", "affine", "convex",
    "concave" or "unknown"; ``what`` names the term's shape ("exp(affine)"); ``assumed``
    lists sign facts taken from the user's assumptions ("alpha >= 0"); for "unknown",
    ``blocker`` says which term no rule covers, in the user's symbols."""

    kind: str
    what: str
    assumed: tuple = ()
    blocker: str = None
    variables: str = ""
    nonneg: bool = False  # proven >= 0 by the rules (exp, |.|, squares, Huber...), used by compositions

    @property
    def convex(self):
        return self.kind in CONVEX_KINDS

    @property
    def concave(self):
        return self.kind in CONCAVE_KINDS

    def describe(self):
        """The reason in words: the shape of the terms, the sign facts used, the variables."""
        if self.kind == "unknown":
            return self.blocker
        text = self.what
        if self.assumed:
            text += f", with {' and '.join(sorted(set(self.assumed)))} (from the symbols' assumptions)"
        return text + (f" (affine: in {self.variables})" if self.variables and "affine" in self.what else "")

    def __str__(self):
        return f"{self.kind}: {self.describe()}"


def curvature(f, ws, names=None):
    """The curvature of ``f`` in the variables ``ws`` (real Symbols) by the DCP rules.

    ``names`` maps internal symbols back to the user's (``RealVars.back``) for the messages.
    ``f`` is read as written, then in a canonical form (log(sigmoid(u)) = -softplus(-u),
    products distributed over sums) in which more terms cancel; the better answer is kept.
    """
    rules = _Rules(set(ws), names or (lambda e: e))
    first = rules.classify(sp.sympify(f))
    best = first
    if first.kind == "unknown":  # a proof (convex or concave) as written stands
        second = rules.classify(canonical(f))
        if _rank(second) > _rank(first):
            best = second
    listed = [str(names(w)) if names else str(w) for w in ws]
    shown = ", ".join(listed) if len(listed) <= 4 else f"{listed[0]}, ..., {listed[-1]}"
    return Curvature(best.kind, best.what, best.assumed, best.blocker, shown)


def _rank(c):
    return {"unknown": 0, "concave": 1, "convex": 2, "affine": 3, "constant": 4}[c.kind]


def canonical(f):
    """``f`` with logistic terms as softplus and products distributed over sums.

    log(sigmoid(u)) = -softplus(-u), log(1 - sigmoid(u)) = -softplus(u), log(1 + exp(u)) =
    softplus(u), log(exp(a) + exp(b)) = logsumexp(a, b), softplus(-u) = softplus(u) - u: then
    y*log(sigmoid(z)) + (1 - y)*log(1 - sigmoid(z)) becomes y*z - softplus(z), whose curvature
    no longer depends on the sign of y.

    >>> import sympy as sp
    >>> from derive.ml import binary_cross_entropy
    >>> z, y = sp.symbols("z y", real=True)
    >>> canonical(binary_cross_entropy(sigmoid(z), y))
    -y*z + softplus(z)
    """
    f = sp.sympify(f).replace(lambda e: isinstance(e, sp.log), _log_as_softplus)
    f = f.replace(lambda e: isinstance(e, softplus) and e.args[0].could_extract_minus_sign(),
                  lambda e: softplus(-e.args[0]) + e.args[0])
    return sp.expand_mul(f)


def _log_as_softplus(e):
    u = e.args[0]
    if isinstance(u, sigmoid):
        return -softplus(-u.args[0])
    terms = sp.Add.make_args(u)
    sig = [t for t in terms if isinstance(t, sigmoid) or isinstance(-t, sigmoid)]
    if len(terms) == 2 and sp.S.One in terms and len(sig) == 1 and isinstance(-sig[0], sigmoid):
        return -softplus((-sig[0]).args[0])  # log(1 - sigmoid(u)) = -softplus(u)
    exps, consts = [], []
    for t in terms:
        if isinstance(t, sp.exp):
            exps.append(t.args[0])
        elif t.is_number and t.is_positive:
            consts.append(sp.log(t))
        else:
            return e
    if not exps:
        return e
    if len(exps) == 1 and consts == [0]:
        return softplus(exps[0])
    return logsumexp(*exps, *consts)


def _family(c, names):
    """'y' for the coefficient y0 or 2*y_3 (the symbols' names without their row index)."""
    syms = sorted({re.sub(r"_?\d+$", "", str(names(s))) or str(names(s)) for s in c.free_symbols})
    return "*".join(syms)


class _Rules:
    """The DCP rules, one method per kind of node; each returns a :class:`Curvature`."""

    def __init__(self, ws, names):
        self.ws, self.names = ws, names

    def classify(self, e):
        if not (e.free_symbols & self.ws):
            return Curvature("constant", "constant")
        if e in self.ws:
            return Curvature("affine", "affine")
        for cls, rule in self._table():
            if isinstance(e, cls):
                return rule(e)
        return self.unknown(f"{self.show(e)} has no DCP rule (neither convex nor concave in general)")

    def _table(self):
        return ((sp.Add, self.add), (sp.Mul, self.mul), (sp.Pow, self.pow), (sp.exp, self.exp),
                (sp.log, self.log), (softplus, self.increasing_convex), (logsumexp, self.increasing_convex),
                (relu, self.increasing_convex), (sp.Max, self.increasing_convex), (sp.Min, self.min),
                (sp.Abs, self.abs), (sp.cosh, self.cosh), (sp.Piecewise, self.piecewise))

    def show(self, e):
        return str(self.names(e))

    def unknown(self, why):
        return Curvature("unknown", "unknown", blocker=why)

    def nonneg(self, e):
        if e.is_nonnegative is True:
            return True
        # relu and Max carry no sign assumption in SymPy; they are >= 0 by definition here
        if isinstance(e, relu):
            return True
        if isinstance(e, sp.Max):
            return any(self.nonneg(a) for a in e.args)
        if e.is_Pow and e.exp.is_integer and e.exp.is_even:
            return True
        if isinstance(e, (sp.Add, sp.Mul)):
            return all(self.nonneg(a) for a in e.args)
        return False

    def sure_nonneg(self, c, e):
        """e >= 0, known from its rule (``c.nonneg``) or else asked of SymPy (slow on big sums)."""
        return c.nonneg or self.nonneg(e)

    def nonpos(self, e):
        return e.is_nonpositive is True

    # --- sums and products --------------------------------------------------
    def add(self, e):
        parts = [self.classify(t) for t in e.args]
        bad = [p for p in parts if p.kind == "unknown"]
        if bad:
            return bad[0]
        convex = [p for p in parts if p.kind == "convex"]
        concave = [p for p in parts if p.kind == "concave"]
        if convex and concave:
            return self.unknown(f"{self.show(e)} adds convex terms ({convex[0].what}) to concave ones "
                                f"({concave[0].what})")
        kind = "convex" if convex else "concave" if concave else "affine"
        if len(parts) > 1 and all(p.what == "(affine)**2" for p in parts):
            return Curvature("convex", f"||affine||**2 ({len(parts)} squares)", nonneg=True)
        return Curvature(kind, _describe_sum(parts), sum((p.assumed for p in parts), ()),
                         nonneg=all(p.nonneg for p in parts))

    def mul(self, e):
        c = sp.Mul(*[a for a in e.args if not (a.free_symbols & self.ws)])
        rest = [a for a in e.args if a.free_symbols & self.ws]
        if len(rest) == 1:
            return self.scaled(c, self.classify(rest[0]), e)
        entropy = self.entropy(rest)
        if entropy is not None:
            return self.scaled(c, entropy, e)
        return self.unknown(f"{self.show(sp.Mul(*rest))} is a product of functions of the variables "
                            "(no DCP rule; only constant * expression)")

    def entropy(self, factors):
        """u*log(u) for affine u: convex where u > 0 (the negative entropy)."""
        if len(factors) != 2:
            return None
        for u, lg in (factors, factors[::-1]):
            if isinstance(lg, sp.log) and lg.args[0] == u and self.classify(u).kind == "affine":
                return Curvature("convex", "u*log(u) for affine u")
        return None

    def scaled(self, c, inner, e):
        """c * inner for a constant c: curvature kept for c >= 0, flipped for c <= 0."""
        if inner.kind in ("unknown", "constant") or c == 1:
            return inner
        if inner.kind == "affine":
            what = f"{_family(c, self.names)}*affine" if c.free_symbols else "affine"
            return Curvature("affine", what)
        flip = {"convex": "concave", "concave": "convex"}
        coef = self.show(c)
        what = inner.what if c.is_number and c > 0 else f"-{_wrap(inner.what)}" if c == -1 else \
            f"{coef}*{_wrap(inner.what)}"
        # the fact used, about the symbolic part of c: "alpha >= 0" for c = alpha/2 or c = -alpha
        number, part = c.as_coeff_Mul()
        sign = (number > 0) == self.nonneg(c)
        fact = (f"{self.show(part)} {'>=' if sign else '<='} 0",) if c.free_symbols else ()
        if self.nonneg(c):
            return Curvature(inner.kind, what, inner.assumed + fact, nonneg=inner.nonneg)
        if self.nonpos(c):
            return Curvature(flip[inner.kind], what, inner.assumed + fact)
        syms = ", ".join(sorted(self.show(s) for s in c.free_symbols))
        first = self.show(sorted(c.free_symbols, key=str)[0])
        up = (number > 0) == (inner.kind == "convex")  # c * inner is convex iff part >= 0
        return self.unknown(
            f"{coef}*{_wrap(inner.what)} is convex only if {self.show(part)} {'>=' if up else '<='} 0, "
            f"and the sign of {syms} is unknown (declare it, e.g. sympy.Symbol('{first}', "
            f"{'nonnegative' if up else 'nonpositive'}=True))")

    # --- atoms ------------------------------------------------------------------
    def pow(self, e):
        base, p = e.args
        if p.free_symbols & self.ws:
            if not (base.free_symbols & self.ws) and base.is_positive:
                shown = self.show(base) if base.is_Integer or base.is_Symbol else f"({self.show(base)})"
                return self.exp(sp.exp(p * sp.log(base)), f"{shown}**({{}})")
            return self.unknown(f"{self.show(e)} has the variables in its exponent")
        if not p.is_number or not p.is_real:
            return self.unknown(f"{self.show(e)} is a power with a symbolic exponent {self.show(p)}")
        return self.power(e, base, p)

    def power(self, e, base, p):
        b = self.classify(base)
        shown = f"({'affine' if b.kind == 'affine' else b.what})**{p if p.is_integer else f'({p})'}"
        if p == 1 or b.kind == "unknown":
            return b
        if p.is_integer and p.is_even and p > 0:
            if b.kind == "affine" or (b.convex and self.sure_nonneg(b, base)) or (b.concave and self.nonpos(base)):
                return Curvature("convex", shown, b.assumed, nonneg=True)
        elif p > 1:
            # x**p (p > 1 odd or fractional) is convex and increasing where x >= 0; a fractional
            # power of an affine u is real only where u >= 0, a half-space
            if (b.convex and self.sure_nonneg(b, base)) or (b.kind == "affine" and not p.is_integer):
                return Curvature("convex", shown, b.assumed, nonneg=not p.is_integer or b.nonneg)
        elif 0 < p < 1:
            if p == sp.S.Half and self.sum_of_squares(base):
                return Curvature("convex", "Euclidean norm of affine terms", nonneg=True)
            if b.concave:
                return Curvature("concave", shown, b.assumed)
        elif p < 0:
            # x**p (p < 0) is convex and decreasing for x > 0; 1/u is also real for u < 0, so
            # an integer power needs u > 0 proven
            if b.concave and (not p.is_integer or base.is_positive):
                return Curvature("convex", shown, b.assumed)
        return self.unknown(f"{self.show(e)}: no DCP rule for the power {p} of {_a(b.kind)} expression "
                            "of unknown sign")

    def sum_of_squares(self, e):
        """True for c + sum of d_i*(affine_i)**2 with c, d_i >= 0 (the square of a norm)."""
        for t in sp.Add.make_args(e):
            if not (t.free_symbols & self.ws):
                if not self.nonneg(t):
                    return False
                continue
            c = sp.Mul(*[a for a in sp.Mul.make_args(t) if not (a.free_symbols & self.ws)])
            sq = [a for a in sp.Mul.make_args(t) if a.free_symbols & self.ws]
            if len(sq) != 1 or not self.nonneg(c) or not (sq[0].is_Pow and sq[0].exp == 2):
                return False
            if self.classify(sq[0].base).kind != "affine":
                return False
        return True

    def exp(self, e, name=None):
        a = self.classify(e.args[0])
        name = (name or "exp({})").format(a.kind)
        if a.convex:
            return Curvature("convex", name, a.assumed, nonneg=True)
        return a if a.kind == "unknown" else self.unknown(f"{self.show(e)} is exp of {_a(a.kind)} expression")

    def log(self, e):
        a = self.classify(e.args[0])
        if a.concave:
            return Curvature("concave", f"log({a.kind})", a.assumed)
        rewritten = _log_as_softplus(e)
        if rewritten != e:
            return self.classify(rewritten)
        return a if a.kind == "unknown" else self.unknown(f"{self.show(e)} is log of {_a(a.kind)} expression")

    def increasing_convex(self, e):
        """softplus, logsumexp, relu, Max: convex and increasing in every argument."""
        args = [self.classify(a) for a in e.args]
        bad = [a for a in args if not a.convex]
        name = {sp.Max: "max", relu: "relu"}.get(type(e), type(e).__name__)
        if bad:
            return bad[0] if bad[0].kind == "unknown" else \
                self.unknown(f"{self.show(e)} is {name} of {_a(bad[0].kind)} expression")
        inner = "affine" if all(a.kind in ("affine", "constant") for a in args) else "convex"
        nonneg = isinstance(e, (softplus, relu)) or (isinstance(e, sp.Max) and any(a.nonneg for a in args))
        return Curvature("convex", f"{name}({inner})", sum((a.assumed for a in args), ()), nonneg=nonneg)

    def min(self, e):
        args = [self.classify(a) for a in e.args]
        bad = [a for a in args if not a.concave]
        if bad:
            return bad[0] if bad[0].kind == "unknown" else \
                self.unknown(f"{self.show(e)} is min of {_a(bad[0].kind)} expression")
        return Curvature("concave", "min(concave)", sum((a.assumed for a in args), ()))

    def abs(self, e):
        u = e.args[0]
        a = self.classify(u)
        if a.kind == "affine" or (a.convex and self.sure_nonneg(a, u)) or (a.concave and self.nonpos(u)):
            return Curvature("convex", f"|{a.kind}|", a.assumed, nonneg=True)
        return a if a.kind == "unknown" else self.unknown(f"{self.show(e)} is |.| of {_a(a.kind)} expression")

    def cosh(self, e):
        a = self.classify(e.args[0])
        if a.kind == "affine":
            return Curvature("convex", "cosh(affine)", nonneg=True)
        return a if a.kind == "unknown" else self.unknown(f"{self.show(e)} is cosh of {_a(a.kind)} expression")

    def piecewise(self, e):
        u = _huber_argument(e, self.ws)
        if u is not None and self.classify(u).kind == "affine":
            return Curvature("convex", "Huber(affine)", nonneg=True)
        return self.unknown(f"{self.show(e)}: no DCP rule for this Piecewise (only Huber's form)")


def _a(word):
    return f"an {word}" if word[0] in "aeiou" else f"a {word}"


def _wrap(what):
    return what if re.fullmatch(r"[\w.()|*/]+", what) else f"({what})"


def _describe_sum(parts):
    """'sum of 3 x exp(affine), y*affine and 2 x (affine)**2' for the terms' descriptions."""
    # affine terms of many shapes (a distributed product y0*x0_1*w1 + ...) read as one
    affine = {p.what for p in parts if p.kind == "affine"}
    if len(affine) > 2:
        parts = [p if p.kind != "affine" else Curvature("affine", "affine terms") for p in parts]
    counts = Counter(p.what for p in parts if p.kind != "constant")
    if not counts:
        return "constant"
    kinds = {p.what: p.kind for p in parts}
    # curved terms first (they decide), then the affine ones; most frequent first within each
    order = sorted(counts, key=lambda w: (kinds[w] == "affine", -counts[w]))
    items = [f"{counts[w]} x {w}" if counts[w] > 1 else w for w in order[:_MAX_GROUPS]]
    if len(counts) > _MAX_GROUPS:
        items.append(f"{len(counts) - _MAX_GROUPS} more kinds of term")
    if len(items) == 1 and sum(counts.values()) == 1:
        return items[0]
    return "sum of " + (", ".join(items[:-1]) + " and " + items[-1] if len(items) > 1 else items[0])


def _huber_argument(e, ws):
    """u when ``e`` is k*Huber_d(u): Piecewise((k*u**2/2, |u| <= d), (k*d*(|u| - d/2), True)), k, d > 0."""
    if len(e.args) != 2 or e.args[1].cond != sp.true:
        return None
    (e1, cond), (e2, _) = e.args
    if isinstance(cond, sp.GreaterThan):
        cond = sp.LessThan(cond.rhs, cond.lhs)
    if not isinstance(cond, sp.LessThan) or not isinstance(cond.lhs, sp.Abs):
        return None
    u, d = cond.lhs.args[0], cond.rhs
    if d.free_symbols & ws or not d.is_positive:
        return None
    k = sp.cancel(e1 / (u**2 / 2))
    if k.free_symbols & ws or not k.is_positive:
        return None
    if sp.expand(e2 - k * d * (sp.Abs(u) - d / 2)) != 0:
        return None
    return u
