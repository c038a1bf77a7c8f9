"""Gradients, sparse Hessians and Jacobians that exploit sum structure.

SymPy's ``hessian`` differentiates the whole expression n*n times; here each
term of a sum is differentiated only by the variables it contains, and the
Hessian is built from the gradient, upper triangle only.  Entries that are
structurally zero are never created, so the sparsity pattern is symbolic.

>>> import sympy as sp
>>> x, y, z = sp.symbols("x y z")
>>> g = partials(x**2 * y + sp.sin(z), [x, y, z])
>>> g
[2*x*y, x**2, cos(z)]
>>> hessian_upper(g, [x, y, z])
{(0, 0): 2*y, (0, 1): 2*x, (2, 2): -sin(z)}
"""
import sympy as sp

__all__ = ["partials", "hessian_upper", "jacobian_sparse"]


class _Differ:
    """Memoised d(term)/d(symbol) over the terms of sums."""

    def __init__(self):
        self.memo = {}
        self.free = {}

    def free_symbols(self, e):
        try:
            return self.free[e]
        except KeyError:
            fs = self.free[e] = e.free_symbols
            return fs

    def d(self, e, s):
        k = (e, s)
        try:
            return self.memo[k]
        except KeyError:
            pass
        if e.is_Add:
            # Term by term, skipping the terms free of s (the common case).
            r = sp.Add(*[self.d(t, s) for t in e.args if s in self.free_symbols(t)])
        elif e.is_Mul:
            # Product rule restricted to the factors that contain s.
            args = e.args
            parts = []
            for i, a in enumerate(args):
                if s in self.free_symbols(a):
                    da = self.d(a, s)
                    if da != 0:
                        parts.append(sp.Mul(*(args[:i] + (da,) + args[i + 1:])))
            r = sp.Add(*parts)
        elif e.is_Pow and s not in self.free_symbols(e.exp):
            b, n = e.args
            r = n * b ** (n - 1) * self.d(b, s)
        else:
            r = sp.diff(e, s)
        self.memo[k] = r
        return r


def partials(f, wrt, differ=None):
    """List of d f / d wrt[i], differentiating each term only by its own symbols.

    A list, not the column Matrix of :func:`derive.gradient`: its entries are fed one by one
    to :func:`hessian_upper` and to CSE.
    """
    differ = differ or _Differ()
    index = {s: i for i, s in enumerate(wrt)}
    parts = [[] for _ in wrt]
    for t in sp.Add.make_args(f):
        for s in differ.free_symbols(t):
            i = index.get(s)
            if i is not None:
                parts[i].append(differ.d(t, s))
    return [sp.Add(*p) for p in parts]


def hessian_upper(grad, wrt, differ=None):
    """{(i, j): d grad[i] / d wrt[j]} for j >= i, structurally nonzero entries only."""
    differ = differ or _Differ()
    index = {s: i for i, s in enumerate(wrt)}
    out = {}
    for i, gi in enumerate(grad):
        acc = {}
        for t in sp.Add.make_args(gi):
            for s in differ.free_symbols(t):
                j = index.get(s)
                if j is not None and j >= i:
                    acc.setdefault(j, []).append(differ.d(t, s))
        for j in sorted(acc):
            e = sp.Add(*acc[j])
            if e != 0:
                out[(i, j)] = e
    return out


def jacobian_sparse(F, wrt, differ=None):
    """{(i, j): d F[i] / d wrt[j]} for the structurally nonzero entries, row-major."""
    differ = differ or _Differ()
    out = {}
    for i, fi in enumerate(F):
        g = partials(fi, wrt, differ)
        for j, e in enumerate(g):
            if e != 0:
                out[(i, j)] = e
    return out
