"""Numerically stable rewrites applied before differentiation.

Each rule replaces a formula that overflows for large |z| by a
:mod:`derive.ml` function whose printed kernel and derivatives are stable:

=================================  ===========================
log(1 + exp(z))                    softplus(z)
1 / (1 + exp(-z)),  exp(z)/(1+exp(z))  sigmoid(z)
1 - sigmoid(z)                     sigmoid(-z)
log(sigmoid(z))                    -softplus(-z)
log(exp(a) + exp(b) + ...)         logsumexp(a, b, ...)
exp(a) / (exp(a) + exp(b) + ...)   exp(a - logsumexp(a, b, ...))
log(exp(z))                        z
=================================  ===========================

Rewriting first means the derivative is taken of the stable form (d softplus
= sigmoid, d logsumexp = softmax), so values and gradients stay finite at
z = +-800.

>>> import sympy as sp
>>> z = sp.Symbol("z")
>>> stabilize(sp.log(1 + sp.exp(-z)))
softplus(-z)
>>> stabilize(sp.log(1 - 1 / (1 + sp.exp(-z))))
-softplus(z)
"""
import sympy as sp
from sympy import S

from derive.ml import logsumexp, sigmoid, softplus

__all__ = ["stabilize"]


def _exp_arg(t):
    """u if t is exp(u) (or a positive number c = exp(log c)), else None."""
    if isinstance(t, sp.exp):
        return t.args[0]
    if t.is_Number and t.is_positive:
        return sp.log(t)
    return None


def _sumexp_args(e):
    """[u1, u2, ...] if e = exp(u1) + exp(u2) + ... (>= 2 terms, one exp at least)."""
    if not e.is_Add:
        return None
    us = []
    has_exp = False
    for t in e.args:
        u = _exp_arg(t)
        if u is None:
            return None
        has_exp |= isinstance(t, sp.exp)
        us.append(u)
    return us if has_exp and len(us) >= 2 else None


def _lse(us):
    # Two terms with one being exp(0): the cheaper softplus.
    if len(us) == 2 and S.Zero in us:
        return softplus(us[0] if us[1] == 0 else us[1])
    return logsumexp(*us)


def _log(arg):
    if isinstance(arg, sp.exp):
        return arg.args[0]
    if isinstance(arg, sigmoid):
        return -softplus(-arg.args[0])
    us = _sumexp_args(arg)
    if us is not None:
        return _lse(us)
    if arg.is_Pow and arg.exp.is_real:
        inner = _log(arg.base)
        if inner is not None:
            return arg.exp * inner
        return None
    if arg.is_Mul:
        # Split off the factors that are positive by construction, so
        # log(positive * rest) = log(positive) + log(rest) is exact.
        done, rest = [], []
        for fct in arg.args:
            r = _log(fct) if _positive_form(fct) else None
            (rest if r is None else done).append(fct if r is None else r)
        if done:
            rest_e = sp.Mul(*rest)
            return sp.Add(*done) + (sp.log(rest_e) if rest_e != 1 else S.Zero)
    return None


def _positive_form(e):
    if isinstance(e, (sp.exp, sigmoid)):
        return True
    if e.is_Pow:
        return _positive_form(e.base) or _sumexp_args(e.base) is not None
    return _sumexp_args(e) is not None


def _pow(e):
    b, k = e.args
    if k.is_negative:
        us = _sumexp_args(b)
        if us is not None and len(us) == 2 and S.Zero in us:
            u = us[0] if us[1] == 0 else us[1]
            return sigmoid(-u) ** (-k)
    return None


def _mul(e):
    args = list(e.args)
    # exp(u) * sigmoid(-u) = exp(u) / (1 + exp(u)) = sigmoid(u)
    for i, a in enumerate(args):
        if isinstance(a, sp.exp):
            for j, b in enumerate(args):
                if isinstance(b, sigmoid) and sp.expand(b.args[0] + a.args[0]) == 0:
                    rest = [c for k, c in enumerate(args) if k not in (i, j)]
                    return sp.Mul(*rest) * sigmoid(a.args[0])
    # softmax: exp(u) / sum_j exp(u_j) = exp(u - logsumexp(u_j))
    for i, a in enumerate(args):
        if a.is_Pow and a.exp == -1:
            us = _sumexp_args(a.base)
            if us is None:
                continue
            for j, b in enumerate(args):
                if isinstance(b, sp.exp):
                    rest = [c for k, c in enumerate(args) if k not in (i, j)]
                    return sp.Mul(*rest) * sp.exp(b.args[0] - _lse(us))
    return None


def _add(e):
    # 1 - sigmoid(u) = sigmoid(-u)
    args = list(e.args)
    if S.One in args:
        for j, b in enumerate(args):
            if b.is_Mul and len(b.args) == 2 and b.args[0] == -1 and isinstance(b.args[1], sigmoid):
                rest = [c for k, c in enumerate(args) if k != j and c != S.One]
                return sp.Add(*rest) + sigmoid(-b.args[1].args[0])
    return None


def _node(e):
    for _ in range(8):  # a rewrite may enable another at the same node
        if isinstance(e, sp.log) and len(e.args) == 1:
            r = _log(e.args[0])
        elif e.is_Pow:
            r = _pow(e)
        elif e.is_Mul:
            r = _mul(e)
        elif e.is_Add:
            r = _add(e)
        else:
            r = None
        if r is None or r == e:
            return e
        e = r
    return e


def stabilize(expr):
    """Apply the stable rewrites bottom-up (memoised, so shared subtrees are visited once)."""
    expr = sp.sympify(expr)
    if not expr.has(sp.exp, sp.log, sigmoid):
        return expr
    memo = {}

    def walk(e):
        try:
            return memo[e]
        except KeyError:
            pass
        if not e.args or e.is_Atom:
            r = e
        else:
            new = [walk(a) for a in e.args]
            r = e.func(*new) if any(n is not o for n, o in zip(new, e.args)) else e
            r = _node(r)
            if r is not e and r.args:
                # The rewritten node may expose a pattern in its own children.
                r = _node(r)
        memo[e] = r
        return r

    return walk(expr)
