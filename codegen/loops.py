"""Loop kernels from index-form expressions: sums and costly functions as temporaries, loops.

The scheduler turns expressions in index form (:mod:`derive.indexed`: entries of
MatrixSymbols, one-limit Sums over index symbols) into statements over loops whose bounds are
the symbolic sizes, so the printed kernel is the same for every size:

* every ``Sum`` becomes a temporary over its free indices (a scalar or an array, allocated once
  per kernel call), computed by a loop nest before it is used;
* a costly function (exp, log, tanh, sigmoid ...) whose free indices are fewer than those of
  the loops around it becomes a temporary too, so ``tanh(h[j])`` inside ``Sum_k W2[k, j] ...``
  is computed H times, not H*K times;
* temporaries are shared by structural equality up to a renaming of their free indices (two
  hidden-layer sums ``Sum_i W1[a, i]*x[i]`` and ``Sum_i W1[k, i]*x[i]`` are one array);
* inside each loop nest, subexpressions that do not depend on the inner loops are hoisted to
  the loop level they need (loop-invariant code motion).

Printing goes through :class:`LoopPrinter`, a :class:`~codegen.printer.NumbaPrinter`: matrix
entries, symbols and indices are looked up in tables, never printed by name.

>>> import sympy as sp
>>> d = sp.Symbol("d", integer=True, positive=True)
>>> k = sp.Symbol("k", integer=True)
>>> w = sp.MatrixSymbol("w", d, 1)
>>> s = Scheduler()
>>> ref = s.lower(sp.exp(sp.Sum(w[k, 0]**2, (k, 0, d - 1))), frozenset())
>>> [t.kind for t in s.temps], ref
(['sum', 'expr'], TmpRef(1))
"""
import itertools

import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixElement

from derive.indexed import free_indices
from derive.ml import logsumexp, sigmoid, softplus

from .errors import CodegenError
from .printer import NumbaPrinter, sigmoid_e, softplus_e

__all__ = ["TmpRef", "Temp", "Scheduler", "LoopPrinter", "licm", "costly", "lse", "stable_lse"]


class TmpRef(sp.Function):
    """Entry of temporary number ``args[0]`` at the indices ``args[1:]`` (a printing device)."""

    is_real = True

    @classmethod
    def eval(cls, *args):
        return None


class lse(sp.Function):
    """``log(Sum(exp(u), (k, lo, hi)))`` computed with the maximum shifted out (never
    overflows); its argument is the Sum.  Made by :func:`stable_lse` after differentiating."""

    is_real = True

    @classmethod
    def eval(cls, *args):
        return None


def _sumexp(e):
    return isinstance(e, sp.Sum) and isinstance(e.function, sp.exp)


def _exp_product(e):
    """A product with an exp factor, or a sum of such products."""
    if e.is_Add:
        return all(_exp_product(t) for t in e.args)
    return isinstance(e, sp.exp) or (e.is_Mul and any(isinstance(a, sp.exp) for a in e.args))


def _times_exp(e, u):
    """``e * exp(u)`` with the exps merged, term by term in a sum."""
    return sp.Add(*[_merge_exps(sp.Mul(t, sp.exp(u))) for t in sp.Add.make_args(e)])


def _merge_exps(m):
    """A product with exp(... - n*lse(S)) factors: the exps merged into one, and one -lse(S)
    moved into each Sum factor whose body is a product with an exp (softmax entries
    exp(u_k - lse), never exp(u_k) / Sum exp, which overflows)."""
    exps = [a for a in m.args if isinstance(a, sp.exp)]
    if not any(a.has(lse) for a in exps):
        return m
    rest = [a for a in m.args if not isinstance(a, sp.exp)]
    arg = sp.Add(*[a.args[0] for a in exps])
    for i, r in enumerate(rest):
        if not (isinstance(r, sp.Sum) and _exp_product(r.function)):
            continue
        for L in sorted(arg.atoms(lse), key=str):
            c = arg.coeff(L)
            if c.is_number and c <= -1 and r.limits[0][0] not in L.free_symbols:
                body = _times_exp(r.function, -L)
                rest[i] = sp.Sum(body, r.limits[0])
                arg = arg + L
                break
    return sp.Mul(*rest, sp.exp(arg))


def stable_lse(e):
    """``e`` with log(Sum(exp(u))) as :class:`lse` and Sum(exp(u))**-n as exp(-n*lse), the
    exponentials merged: log-sum-exp and softmax that do not overflow for large u.

    >>> import sympy as sp
    >>> k = sp.Symbol("k", integer=True)
    >>> z = sp.MatrixSymbol("z", 3, 1)
    >>> S = sp.Sum(sp.exp(z[k, 0]), (k, 0, 2))
    >>> stable_lse(sp.exp(z[0, 0]) / S)
    exp(-lse(Sum(exp(z[k, 0]), (k, 0, 2))) + z[0, 0])
    """
    if e.is_Atom or not e.has(sp.Sum):
        return e
    args = [stable_lse(a) if isinstance(a, sp.Basic) else a for a in e.args]
    if isinstance(e, sp.log) and _sumexp(args[0]):
        return lse(args[0])
    if isinstance(e, sp.Pow) and _sumexp(args[0]) and args[1].is_negative:
        return sp.exp(args[1] * lse(args[0]))
    new = e.func(*args) if args != list(e.args) else e
    return _merge_exps(new) if new.is_Mul else new


# Functions whose evaluation costs much more than a multiply-add.
_COSTLY = (sp.exp, sp.log, sp.tanh, sp.sinh, sp.cosh, sp.sin, sp.cos, sp.tan, sp.atan, sp.asin,
           sp.acos, sp.asinh, sp.acosh, sp.atanh, sp.erf, sigmoid, softplus, sigmoid_e,
           softplus_e, logsumexp, sp.atan2)


def costly(e):
    """True for a node worth computing once: a costly function or a non-integer power."""
    if isinstance(e, _COSTLY):
        return True
    return isinstance(e, sp.Pow) and not (e.exp.is_Integer and abs(int(e.exp)) <= 2)


_PH = tuple(sp.Symbol(f"_q{i}", integer=True) for i in range(8))  # free-index placeholders
SUMVAR = sp.Symbol("_s", integer=True)  # a sum temporary's own summation index


class Temp:
    """A temporary: ``kind`` 'sum' (``Sum(body, (SUMVAR, lo, hi))``), 'lse' (log of the Sum of
    exp(body), shifted by the maximum) or 'expr' (``body``) over
    the placeholder indices ``_PH[:rank]`` with ranges ``ranges``; ``row``: depends on a data
    row."""

    def __init__(self, tid, kind, rank, ranges, body, limits, row):
        self.id, self.kind, self.rank, self.ranges = tid, kind, rank, ranges
        self.body, self.limits, self.row = body, limits, row

    @property
    def indices(self):
        return _PH[:self.rank]

    def deps(self):
        return {r.args[0] for r in self.body.atoms(TmpRef)}

    def __repr__(self):
        return f"Temp({self.id}, {self.kind}, rank={self.rank}, row={self.row})"


def _atomic(e):
    return e.is_Atom or isinstance(e, (MatrixElement, TmpRef))


class Scheduler:
    """Lowers index-form expressions into :class:`Temp` definitions and references.

    ``is_row(e)``: whether the leaf ``e`` (a Symbol or a MatrixElement) reads a data row.
    Index ranges come from the Sums seen and from :meth:`declare`.
    """

    def __init__(self, is_row=lambda e: False):
        self.temps = []
        self._keys = {}
        self._memo = {}
        self.ranges = {}
        self.is_row = is_row

    def declare(self, idx, lo, hi):
        """The range ``lo..hi`` (inclusive) of an output's free index ``idx``."""
        self.ranges[idx] = (sp.sympify(lo), sp.sympify(hi))

    def _indices(self, e):
        """Free index symbols of a lowered expression (no Sum left in it)."""
        return frozenset(s for s in e.free_symbols if s in self.ranges)

    def lower(self, e, ctx):
        """``e`` with its Sums and its costly subexpressions (free indices fewer than ``ctx``,
        the indices of the loops around it) replaced by :class:`TmpRef`."""
        key = (e, ctx)
        out = self._memo.get(key)
        if out is None:
            out = self._memo[key] = self._lower(e, ctx)
        return out

    def _lower(self, e, ctx):
        if _atomic(e) and not isinstance(e, MatrixElement):
            return e
        if isinstance(e, MatrixElement):
            return e
        if isinstance(e, lse):
            S = e.args[0]
            k, lo, hi = S.limits[0]
            self.ranges[k] = (lo, hi)
            free = self._free_of_sum(S)
            body = self.lower(S.function.args[0], free | {k})
            return self._temp("lse", free, body, k, (lo, hi))
        if isinstance(e, sp.Sum):
            if len(e.limits) != 1:  # nested one-limit Sums (the first limit is innermost)
                for k, lo, hi in e.limits:
                    self.ranges[k] = (lo, hi)
                inner = self.lower(sp.Sum(e.function, e.limits[0]), ctx)
                for lim in e.limits[1:]:  # Sum(Sum(...)) would merge again: one at a time
                    inner = self.lower(sp.Sum(inner, lim), ctx)
                return inner
            k, lo, hi = e.limits[0]
            self.ranges[k] = (lo, hi)
            free = self._free_of_sum(e)
            body = self.lower(e.function, free | {k})
            return self._temp("sum", free, body, k, (lo, hi))
        args = [self.lower(a, ctx) if isinstance(a, sp.Basic) else a for a in e.args]
        new = e.func(*args) if args != list(e.args) else e
        if costly(new):
            free = self._indices(new)
            # A costly value over the loops around it is inlined, unless an equal temporary
            # exists already (tanh(W1 x) of the forward pass, met again in a gradient).
            if free < ctx or not free or \
                    self._canonical("expr", sorted(free, key=str), new, None)[0] in self._keys:
                return self._temp("expr", free, new, None, None)
        return new

    def _free_of_sum(self, e):
        return frozenset(free_indices(e))

    def _canonical(self, kind, free, body, limits):
        """(key, canonical body, permutation) of a temporary over the sorted ``free``."""
        best = None
        for perm in itertools.permutations(range(len(free))):
            sub = {free[i]: _PH[perm[i]] for i in range(len(free))}
            cand = body.xreplace(sub)
            key = (kind, len(free), str(limits), sp.srepr(cand))
            if best is None or key < best[0]:
                best = (key, cand, perm)
        return best

    def _temp(self, kind, free, body, k, limits):
        """The reference to the temporary (shared with an equal one up to renaming)."""
        free = sorted(free, key=str)
        if len(free) > len(_PH):
            raise CodegenError(f"a temporary over {len(free)} indices; at most {len(_PH)}")
        if k is not None:
            body = body.xreplace({k: SUMVAR})
        key, canon, perm = self._canonical(kind, free, body, limits)
        tid = self._keys.get(key)
        if tid is None:
            tid = len(self.temps)
            ranges = [None] * len(free)
            for i, s in enumerate(free):
                ranges[perm[i]] = self.ranges[s]
            row = any(self.is_row(a) for a in canon.atoms(sp.Symbol, MatrixElement)) or \
                any(self.temps[r.args[0]].row for r in canon.atoms(TmpRef))
            self.temps.append(Temp(tid, kind, len(free), tuple(ranges), canon, limits, row))
            self._keys[key] = tid
        order = [None] * len(free)
        for i, s in enumerate(free):
            order[perm[i]] = s
        return TmpRef(sp.Integer(tid), *order)

    def needed(self, refs):
        """Temporaries the expressions ``refs`` use, directly or not, in dependency order."""
        want = set()
        stack = [int(r.args[0]) for e in refs for r in e.atoms(TmpRef)]
        while stack:
            t = stack.pop()
            if t not in want:
                want.add(t)
                stack.extend(int(r) for r in self.temps[t].deps())
        return [t for t in self.temps if t.id in want]  # creation order is dependency order


def _level(e, order):
    pos = [order.index(s) for s in e.free_symbols if s in order]
    return max(pos, default=-1)


def licm(exprs, order, fresh):
    """Hoist subexpressions of ``exprs`` (used inside loops ``order``, outermost first) to the
    outermost loop level they depend on.

    Returns ``(hoisted, new)``: ``hoisted[l]`` the (symbol, expression) pairs to compute just
    before loop ``l`` opens (``l = len(order)``: not used), ``new`` the rewritten expressions;
    ``fresh()`` makes the hoisted symbols.
    """
    hoisted = [[] for _ in range(len(order) + 1)]
    memo = {}
    depth = len(order)

    def visit(e, d):
        if _atomic(e):
            return e
        lev = _level(e, order)
        if lev < d - 1:
            got = memo.get(e)
            if got is None:
                inner = rebuild(e, lev + 1)
                got = memo[e] = fresh()
                hoisted[lev + 1].append((got, inner))
            return got
        return rebuild(e, d)

    def rebuild(e, d):
        args = list(e.args)
        if (e.is_Add or e.is_Mul) and d > 0:
            groups = {}
            for a in args:
                groups.setdefault(_level(a, order), []).append(a)
            if len(groups) > 1:
                args = []
                for lev, grp in sorted(groups.items()):
                    if lev < d - 1 and len(grp) > 1:
                        args.append(e.func(*grp))
                    else:
                        args.extend(grp)
        new = [visit(a, d) if isinstance(a, sp.Basic) else a for a in args]
        return e.func(*new) if new != list(e.args) else e

    out = [visit(e, depth) for e in exprs]
    return hoisted, out


class LoopPrinter(NumbaPrinter):
    """NumbaPrinter for lowered expressions: ``mats`` maps a MatrixSymbol to a function of the
    printed indices (``lambda i, j: f"x[_o0 + {i}*s0 + {j}]"``); temporaries print as
    ``t<id>[...]``; KroneckerDelta as a comparison."""

    def __init__(self, names, mats):
        super().__init__(names)
        self.mats = mats

    def _print_MatrixElement(self, e):
        try:
            at = self.mats[e.parent]
        except KeyError:
            raise CodegenError(f"matrix {ascii(str(e.parent))} is none of wrt, params or "
                               "data") from None
        return at(self._print(e.i), self._print(e.j))

    def _print_TmpRef(self, e):
        tid = int(e.args[0])
        if len(e.args) == 1:
            return f"t{tid}"
        return f"t{tid}[{', '.join(self._print(a) for a in e.args[1:])}]"

    def _print_KroneckerDelta(self, e):
        return f"(1.0 if {self._print(e.args[0])} == {self._print(e.args[1])} else 0.0)"

    def _print_Pow(self, expr, rational=False):
        b, x = expr.args
        if x.is_Integer and 2 <= int(x) <= 3 and _atomic(b):
            t = self._print(b)
            return "(" + "*".join([t] * int(x)) + ")"
        return super()._print_Pow(expr, rational=rational)

