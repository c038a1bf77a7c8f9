"""Index-level calculus: scalar expressions over entries of MatrixSymbols ("index form").

The intermediate representation shared by derive's matrix-level derivatives and
codegen's loop kernels. An expression is in *index form* when

- every matrix entry is ``MatrixElement(M, i, j)`` (what ``M[i, j]`` builds) of a
  ``MatrixSymbol`` ``M``, each index an ``Integer`` or an integer ``Symbol``;
- every sum is ``Sum(body, (k, lo, hi))``, ``lo`` and ``hi`` free of indices (no triangular
  sums). SymPy merges a Sum whose body is itself a Sum into ONE Sum with several limits (first
  limit innermost) and redoes it whenever a tree is rebuilt (xreplace, subs), so such a Sum
  stands for the nested one-limit Sums: walk it with :func:`peel`. Each ``k`` is named canonically:
  ``Symbol("_k<hex>", integer=True)`` from a structural hash of the Sum, so that equal
  sums get equal names (CSE finds them) and names are the same in every process (cache
  keys depend on them; SymPy's own ``Dummy("i_1")`` is numbered per process);
- no unrolled sums: an Add that SymPy built term by term for a concrete size (a run of at
  least 4 terms equal up to one moving integer index) is rolled back into a Sum;
- ``KroneckerDelta(i, j)`` may appear; the rest is ordinary SymPy (exp, log, Abs, Max,
  Piecewise, derive.ml's sigmoid/softplus/relu ...). Entries are real.

Public functions: :func:`index_form`, :func:`entry_derivative` (reverse: d f / d W[a, b]
with Kronecker deltas collapsed), :func:`directional` (forward: the derivative along
tangent matrices), :func:`free_indices`, :func:`index_ranges`, :func:`pull_out`,
:func:`peel` (walk a several-limit Sum), :func:`canonical` (rename summation indices).
Gradient of f wrt W at (a, b): ``entry_derivative(f, W, (a, b))``; a Hessian block
(W, U): ``entry_derivative(G_W, U, (c, e))``; a Hessian-vector product:
``directional(G_W, {U: V_U})``. Every result is in index form with canonical names.

Substitute sizes with ``xreplace``, not ``subs``: in SymPy 1.14 ``subs({K: 2, d: 3})`` can
leave ``MatrixSymbol("W", K, 3)`` inside Sums.

Our own differentiator, not ``diff`` wrt a MatrixElement: SymPy's leaves
``Sum(KroneckerDelta(...) ...)`` that it does not simplify; here a Sum over k of a term with
``KroneckerDelta(k, a)`` becomes the term at k = a as soon as it appears, and factors that
do not depend on a Sum's index are moved in front of it (loop-invariant code motion).
"""
import hashlib
from functools import lru_cache

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.diagonal import DiagMatrix, DiagonalMatrix, DiagonalOf
from sympy.matrices.expressions.matexpr import MatrixElement

from ._validate import InputError

__all__ = [
    "index_form", "entry_derivative", "directional", "free_indices", "index_ranges", "pull_out",
    "peel", "canonical",
]

_Delta = sp.KroneckerDelta

# matrix expressions whose entries SymPy writes with _entry (sums of entries of their arguments)
_ENTRY_TYPES = (
    sp.MatAdd, sp.MatMul, sp.Transpose, sp.Identity, sp.ZeroMatrix, sp.OneMatrix,
    sp.HadamardProduct, sp.HadamardPower, sp.MatPow, DiagMatrix, DiagonalMatrix, DiagonalOf,
    ElementwiseApplyFunction,
)
_NOT_SUPPORTED = {
    "Trace": "write it with an index, e.g. Sum(A[k, k], (k, 0, d - 1))",
    "Determinant": "determinants have no index form",
    "Inverse": "inverses have no index form; use a linear solve outside the objective",
    "MatPow": "only positive integer powers have an index form",
}


# ------------------------------------------------------------------ index form


def index_form(expr):
    """Return ``expr`` in index form: entries of matrix expressions expanded into Sums of entries
    of MatrixSymbols, summation indices named canonically, Kronecker deltas between indices
    summed out (``Identity``, ``DiagMatrix`` in products). A Sum of a Sum is one Sum with several
    limits, as SymPy writes it (see :func:`peel`). Sums that SymPy unrolled because a size is a
    number (``(w.T*x)[0, 0]`` with w of shape (784, 1) is an Add of 784 products) are rolled back
    into Sums (runs of at least 4 terms over a contiguous range), so concrete and symbolic sizes
    give the same index form; a set of terms that is not such a range stays as it is.

    Raises ``derive.InputError`` naming what has no index form: an unindexed matrix expression,
    Trace/Determinant/Inverse, a compound index such as ``w[i + 1, 0]``, a triangular Sum.

    >>> import sympy as sp
    >>> d = sp.Symbol("d", integer=True, positive=True)
    >>> w, x = sp.MatrixSymbol("w", d, 1), sp.MatrixSymbol("x", d, 1)
    >>> e = index_form((w.T * x)[0, 0])
    >>> e.function, e.limits[0][1:]
    (w[_k..., 0]*x[_k..., 0], (0, d - 1))
    >>> k = sp.Symbol("k", integer=True)
    >>> e == index_form(sp.Sum(x[k, 0] * w[k, 0], (k, 0, d - 1)))  # same sum, same name
    True
    >>> w4, x4 = sp.MatrixSymbol("w", 4, 1), sp.MatrixSymbol("x", 4, 1)
    >>> len((w4.T * x4)[0, 0].args), index_form((w4.T * x4)[0, 0]).limits[0][1:]
    (4, (0, 3))
    """
    e = _sympify(expr)
    e = _Roller().roll(_expand(e))
    _check(e, frozenset(), _index_symbols(e))
    if e.has(_Delta):
        e = _sum_deltas(e, _ranges(e))
    return canonical(e)


# ------------------------------------------------------------------ re-rolling unrolled sums

# an Add re-rolls only runs of at least this many terms (a + b + c is cheaper as it is)
_MIN_ROLL = 4


class _Roller:
    """Unrolled sums back into Sums, bottom-up: SymPy writes ``(w.T*x)[0, 0]`` of a concrete
    size d as the Add ``w[0, 0]*x[0, 0] + ... + w[d-1, 0]*x[d-1, 0]`` (and ``(W*x)[k, 0]`` as d
    terms per entry), which every later stage would then handle term by term (minutes and GBs
    at d = 784). An Add's terms are grouped by their *skeleton*: the term with the Integer
    indices of its MatrixElements taken out (a tuple of values, in a canonical order). Terms of
    one skeleton whose values differ only at positions that always move together, run over a
    contiguous range lo..hi, become ``Sum(term(k), (k, lo, hi))``; the rest stays as it is.
    Hash-based grouping: linear in the number of terms (times the few index positions)."""

    def __init__(self):
        self.memo, self.skels = {}, {}

    def roll(self, e):
        if not isinstance(e, sp.Basic) or not e.args or isinstance(e, (MatrixElement, sp.MatrixSymbol)):
            return e
        hit = self.memo.get(e)
        if hit is not None:
            return hit
        args = [self.roll(a) for a in e.args]
        out = e if all(a is b for a, b in zip(args, e.args)) else e.func(*args)
        if isinstance(out, sp.Add) and len(out.args) >= _MIN_ROLL:
            out = self._roll_add(out)
        self.memo[e] = out
        return out

    def _roll_add(self, add):
        terms, changed = list(add.args), False
        while len(terms) >= _MIN_ROLL:  # again: rolled Sums may themselves form a run (j of A[i, j])
            new = self._roll_terms(terms)
            if new is None:
                break
            terms, changed = new, True
        return sp.Add(*terms) if changed else add

    def _roll_terms(self, terms):
        groups = {}
        for t in terms:
            key, vals = self.skel(t)
            if vals:
                groups.setdefault(key, []).append((t, vals))
        used, sums = set(), []
        for key, members in groups.items():
            if len(members) >= _MIN_ROLL:
                for t, s in self._roll_group(key, members):
                    used.update(t)
                    sums.append(s)
        if not sums:
            return None
        return [t for t in terms if t not in used] + sums

    def _roll_group(self, key, members):
        """[(terms, Sum)] for the runs of one skeleton: tries each moving position until one rolls."""
        n = len(members[0][1])
        varying = [p for p in range(n) if len({v[p] for _, v in members}) > 1]
        for p in varying:
            # the positions that move with p: equal to it in every term
            moving = frozenset(q for q in varying if all(v[q] == v[p] for _, v in members))
            subs = {}
            for t, v in members:
                rest = tuple(None if q in moving else v[q] for q in range(n))
                subs.setdefault(rest, {})[v[p]] = t
            out = []
            for by_value in subs.values():
                for lo, hi in _runs(sorted(by_value)):
                    run = [by_value[i] for i in range(lo, hi + 1)]
                    out.append((run, self._sum_of(run[0], lo, hi, moving, key)))
            if out:
                return out
        # several families share the skeleton (w[i]*x[i] and w[9]*x[0]): split them by which
        # moving positions are equal to which, and try each family alone
        families = {}
        for t, v in members:
            families.setdefault(tuple(next(q for q in varying if v[q] == v[p]) for p in varying), []).append((t, v))
        if len(families) == 1:
            return []
        return [r for fam in families.values() if len(fam) >= _MIN_ROLL for r in self._roll_group(key, fam)]

    def _sum_of(self, term, lo, hi, moving, key):
        k = sp.Symbol("_r" + hashlib.sha256(f"{key}|{sorted(moving)}".encode()).hexdigest()[:12],
                      integer=True)
        while k in term.free_symbols or any(k in s.variables for s in term.atoms(sp.Sum)):
            k = sp.Symbol(k.name + "r", integer=True)
        body, _ = self._fill(term, moving, k, 0)
        return sp.Sum(body, (k, lo, hi))

    def skel(self, e):
        """(key, values): e's structure with Integer matrix indices as '#', and those integers in
        the order of the key (commutative arguments sorted by their own (key, values))."""
        hit = self.skels.get(e)
        if hit is not None:
            return hit
        if isinstance(e, MatrixElement):
            parts, vals = [], []
            for ix in (e.i, e.j):
                if ix.is_Integer:
                    parts.append("#")
                    vals.append(int(ix))
                else:
                    parts.append(sp.srepr(ix))
            out = f"E({_atom_key(e.parent)},{','.join(parts)})", tuple(vals)
        elif not e.args or isinstance(e, sp.MatrixSymbol):
            out = _atom_key(e), ()
        else:
            kids = [self.skel(a) for a in e.args]
            if isinstance(e, _COMMUTATIVE):
                kids.sort()
            out = (f"{type(e).__name__}({','.join(kk for kk, _ in kids)})",
                   tuple(x for _, vs in kids for x in vs))
        self.skels[e] = out
        return out

    def _fill(self, e, moving, k, pos):
        """(e with the Integer indices at positions ``moving`` replaced by k, next position),
        positions counted in the order of :meth:`skel`."""
        if isinstance(e, MatrixElement):
            idx = []
            for ix in (e.i, e.j):
                if ix.is_Integer:
                    idx.append(k if pos in moving else ix)
                    pos += 1
                else:
                    idx.append(ix)
            return _rebuild(e, (e.parent, *idx)), pos
        if not self.skel(e)[1]:
            return e, pos
        order = list(range(len(e.args)))
        if isinstance(e, _COMMUTATIVE):
            order.sort(key=lambda i: self.skel(e.args[i]))
        args = list(e.args)
        for i in order:
            args[i], pos = self._fill(e.args[i], moving, k, pos)
        return _rebuild(e, args), pos


def _runs(values):
    """Maximal runs of consecutive integers (sorted, distinct ``values``), at least _MIN_ROLL long."""
    out, start = [], 0
    for i in range(1, len(values) + 1):
        if i == len(values) or values[i] != values[i - 1] + 1:
            if i - start >= _MIN_ROLL:
                out.append((values[start], values[i - 1]))
            start = i
    return out


def _sum_deltas(e, ranges):
    """Sums over k of KroneckerDelta(k, m) * g(k) -> g(m) where m has k's range (Identity and
    DiagMatrix inside products give those)."""
    if not e.has(_Delta) or not e.args:
        return e
    if isinstance(e, sp.Sum):
        inner, lim = peel(e)
        body = _sum_deltas(inner, ranges)
        return _collapse_sum(body, lim, ranges, pull=False)
    args = [_sum_deltas(a, ranges) for a in e.args]
    return e if all(a is b for a, b in zip(args, e.args)) else e.func(*args)


def _sympify(expr):
    try:
        e = sp.sympify(expr, strict=True)
    except (sp.SympifyError, TypeError) as err:
        raise InputError(f"{expr!r} is not a sympy expression: {err}") from None
    if getattr(e, "is_Matrix", False):
        raise InputError(_unindexed(e))
    if not isinstance(e, sp.Expr):
        raise InputError(f"{e!r} is a {type(e).__name__}, not a scalar sympy expression")
    return e


def _unindexed(m):
    r, c = m.shape
    return (f"the matrix expression {m} ({r}x{c}) is not indexed: an objective is a scalar, "
            "index it, e.g. (w.T*x)[0, 0]")


def _expand(e):
    """Expand entries of matrix expressions into Sums of entries of MatrixSymbols (no renaming)."""
    if isinstance(e, MatrixElement):
        return _expand_entry(e)
    if getattr(e, "is_Matrix", False):
        raise InputError(_unindexed(e))
    if isinstance(e, sp.Sum):
        return _expand_sum(e)
    if type(e).__name__ in _NOT_SUPPORTED:
        raise InputError(f"{type(e).__name__} ({e}) is not supported in matrix objectives: "
                         f"{_NOT_SUPPORTED[type(e).__name__]}")
    if isinstance(e, _Delta):
        i, j = _expand(e.args[0]), _expand(e.args[1])
        if (i, j) == e.args[:2]:
            return e
        return _delta(i, j) if len(e.args) == 2 else _Delta(i, j, *e.args[2:])
    if not e.args:
        return e
    args = [_expand(a) if isinstance(a, sp.Basic) else a for a in e.args]
    return e.func(*args) if any(a is not b for a, b in zip(args, e.args)) else e


def _expand_entry(e):
    m, i, j = e.parent, e.i, e.j
    if isinstance(m, sp.MatrixSymbol):
        return e
    name = type(m).__name__
    if isinstance(m, sp.Inverse):
        name = "Inverse"
    elif isinstance(m, sp.MatPow) and not (m.exp.is_Integer and m.exp > 0):
        raise InputError(f"the matrix power {m} in {e}: {_NOT_SUPPORTED['MatPow']}")
    if name in _NOT_SUPPORTED and name != "MatPow":
        raise InputError(f"{name} ({m}) in {e} is not supported: {_NOT_SUPPORTED[name]}")
    if not isinstance(m, _ENTRY_TYPES):
        raise InputError(f"{name} ({m}) in {e} has no index form here; supported: MatrixSymbol, "
                         "products, sums, transposes, scalar multiples, positive powers, Identity, "
                         "ZeroMatrix, OneMatrix, HadamardProduct/Power, DiagMatrix, applyfunc")
    return _expand(m._entry(i, j, expand=False))


def _expand_sum(e):
    body = _expand(e.function)
    if body is e.function and all(len(lim) == 3 and not lim[1].has(sp.Sum, MatrixElement)
                                  and not lim[2].has(sp.Sum, MatrixElement) for lim in e.limits):
        return e
    for lim in e.limits:
        if len(lim) != 3:
            raise InputError(f"{e}: give every Sum a range (k, lo, hi); {tuple(lim)} has none")
        k, lo, hi = lim
        body = sp.Sum(body, (k, _expand(lo), _expand(hi)))
    return body


def _index_symbols(e):
    """Symbols used as matrix indices, Sum variables or KroneckerDelta arguments."""
    out = set()
    for node in sp.preorder_traversal(e):
        if isinstance(node, MatrixElement):
            out |= {a for a in (node.i, node.j) if isinstance(a, sp.Symbol)}
        elif isinstance(node, sp.Sum):
            out |= {lim[0] for lim in node.limits}
        elif isinstance(node, _Delta):
            out |= {a for a in node.args[:2] if isinstance(a, sp.Symbol)}
    return out


def _check(e, bound, indices):
    if isinstance(e, MatrixElement):
        for a in (e.i, e.j):
            _check_index(e, a, bound)
        return
    if isinstance(e, sp.Sum):
        inner, (k, lo, hi) = peel(e)
        if not isinstance(k, sp.Symbol):
            raise InputError(f"{e}: the summation variable {k} is not a Symbol")
        clash = sorted(map(str, (lo.free_symbols | hi.free_symbols) & (indices | bound)))
        if clash:
            raise InputError(f"{e}: its range ({lo}, {hi}) depends on the index {', '.join(clash)} "
                             "(a triangular sum): ranges must depend on sizes only")
        for s in (lo, hi):
            if s.is_integer is False or s.has(MatrixElement):
                raise InputError(f"{e}: the bound {s} is not an integer expression of sizes")
        _check(inner, bound | {k}, indices)
        return
    for a in e.args:
        if isinstance(a, sp.Basic):
            _check(a, bound, indices)


def _check_index(e, a, bound):
    if a.is_Integer or a in bound:
        return
    if isinstance(a, sp.Symbol):
        if a.is_integer:
            return
        raise InputError(f"the index {a} of {e} must be an integer Symbol: "
                         f"sympy.Symbol({a.name!r}, integer=True)")
    raise InputError(f"the index {a} of {e} is not supported: use an index Symbol or an integer "
                     "(a shifted or strided entry can come from a product with a constant matrix, "
                     "e.g. (D*w)[k, 0] with D a data or params MatrixSymbol)")


def peel(e):
    """Split a Sum into (the Sum without its outermost limit, or its body; the outermost limit).

    SymPy merges a Sum whose body is a Sum into one Sum with several limits (the first limit
    innermost), and does so again whenever the tree is rebuilt; index form therefore reads
    ``Sum(body, l1, l2)`` as ``Sum(Sum(body, l1), l2)`` and this is how to walk it.

    >>> import sympy as sp
    >>> i, j = sp.symbols("i j", integer=True)
    >>> A = sp.MatrixSymbol("A", 2, 3)
    >>> peel(sp.Sum(A[i, j], (i, 0, 1), (j, 0, 2)))
    (Sum(A[i, j], (i, 0, 1)), (j, 0, 2))
    """
    *inner, outer = e.limits
    return (sp.Sum(e.function, *inner) if inner else e.function), tuple(outer)


# ------------------------------------------------------------------ canonical names

# commutative heads: their arguments are serialized in sorted order, so that the key does not
# depend on how SymPy ordered them (which depends on the original index names)
_COMMUTATIVE = (sp.Add, sp.Mul, sp.Max, sp.Min, _Delta)


@lru_cache(maxsize=8192)
def _atom_key(e):
    if isinstance(e, sp.Dummy):
        # a Dummy's srepr holds its per-process number; its name and assumptions are stable
        # (derive.RealVars puts real Dummies for plain symbols such as y, lam)
        return f"Dummy({e.name!r}, {sorted(e.assumptions0.items())})"
    return sp.srepr(e)


def _key(e, env, depth):
    """A deterministic string for e: bound indices by env (placeholders or canonical names)."""
    if isinstance(e, sp.Symbol):
        return env.get(e) or _atom_key(e)
    if not e.args or isinstance(e, sp.MatrixSymbol):
        return _atom_key(e)
    if isinstance(e, sp.Sum):
        return _sum_key(e.function, e.limits, env, depth)
    keys = [_key(a, env, depth) for a in e.args]
    if isinstance(e, _COMMUTATIVE):
        keys.sort()
    return f"{type(e).__name__}({','.join(keys)})"


def _sum_key(body, limits, env, depth):
    """Key of Sum(body, *limits), limits innermost first; bound indices -> '#<depth>'."""
    n = len(limits)
    inner = dict(env)
    for i, (k, _, _) in enumerate(limits):
        inner[k] = f"#{depth + n - 1 - i}"
    out = _key(body, inner, depth + n)
    for k, lo, hi in limits:
        out = f"Sum[{_key(lo, env, depth)},{_key(hi, env, depth)}]({out})"
    return out


def _name(key):
    return sp.Symbol("_k" + hashlib.sha256(key.encode()).hexdigest()[:12], integer=True)


def canonical(e):
    """Rename every summation index of ``e`` canonically.

    The index of a Sum is named by a hash of the Sum with its own and inner indices replaced
    by depth-numbered placeholders (alpha-invariant: equal sums get equal names whatever their
    indices were called); the arguments of Add, Mul, Max, Min and KroneckerDelta are hashed in
    sorted order. Outer sums are named first, so an inner sum sees the stable names of the
    indices of the sums around it. In ``Sum(body, l1, ..., ln)`` each limit is one level.

    >>> import sympy as sp
    >>> i, j = sp.symbols("i j", integer=True)
    >>> w = sp.MatrixSymbol("w", 3, 1)
    >>> canonical(sp.Sum(w[i, 0], (i, 0, 2))) == canonical(sp.Sum(w[j, 0], (j, 0, 2)))
    True
    """
    if not isinstance(e, sp.Basic) or not e.has(sp.Sum):
        return e
    return _rename(e, {}, {})


def _rename(e, env, env_keys):
    """e with bound indices renamed; env: old index -> new Symbol, env_keys: old -> its key."""
    if isinstance(e, sp.Symbol):
        return env.get(e, e)
    if not e.args or isinstance(e, sp.MatrixSymbol):
        return e
    if isinstance(e, sp.Sum):
        return _rename_sum(e, env, env_keys)
    args = [_rename(a, env, env_keys) for a in e.args]
    if all(a is b for a, b in zip(args, e.args)):
        return e
    return _rebuild(e, args)


def _rebuild(e, args):
    """e.func(*args), skipping what renaming indices cannot change: SymPy's index validation
    of a MatrixElement and the evaluation of functions (each asks assumptions of its argument,
    most of the time spent here)."""
    if isinstance(e, MatrixElement) and isinstance(args[0], sp.MatrixSymbol):
        return sp.Expr.__new__(MatrixElement, *args)
    if isinstance(e, sp.Function) and not isinstance(e, (_Delta, sp.Piecewise)):
        return e.func(*args, evaluate=False)
    return e.func(*args)


def _replace(e, mapping):
    """e.xreplace(mapping) for index symbols, rebuilt with :func:`_rebuild`."""
    if isinstance(e, sp.Symbol):
        return mapping.get(e, e)
    if not e.args or isinstance(e, sp.MatrixSymbol):
        return e
    args = [_replace(a, mapping) for a in e.args]
    if all(a is b for a, b in zip(args, e.args)):
        return e
    return _rebuild(e, args)


def _rename_sum(e, env, env_keys):
    limits = list(e.limits)
    env, env_keys = dict(env), dict(env_keys)
    names = []
    for m in range(len(limits), 0, -1):  # outermost first: inner levels see its name
        new = _name(_sum_key(e.function, limits[:m], env_keys, 0))
        k = limits[m - 1][0]
        env[k], env_keys[k] = new, _atom_key(new)
        names.append(new)
    body = _rename(e.function, env, env_keys)
    new_limits = [(new, lo, hi) for new, (_, lo, hi) in zip(reversed(names), limits)]
    if body is e.function and all(new == lim[0] for new, lim in zip(reversed(names), limits)):
        return e
    return sp.Sum(body, *new_limits)


# ------------------------------------------------------------------ queries


def free_indices(expr):
    """Index symbols of ``expr`` not bound by a Sum (matrix indices, Sum variables, delta arguments).

    >>> import sympy as sp
    >>> a, k = sp.symbols("a k", integer=True)
    >>> W = sp.MatrixSymbol("W", 3, 4)
    >>> sorted(free_indices(sp.Sum(W[a, k], (k, 0, 3))), key=str)
    [a]
    """
    out = set()
    _free(expr, frozenset(), out)
    return frozenset(out)


def _free(e, bound, out):
    if isinstance(e, MatrixElement):
        out.update(a for a in (e.i, e.j) if isinstance(a, sp.Symbol) and a not in bound)
        return
    if isinstance(e, _Delta):
        out.update(a for a in e.args[:2] if isinstance(a, sp.Symbol) and a not in bound)
        return
    if isinstance(e, sp.Sum):
        inner = bound | {lim[0] for lim in e.limits}
        for lim in e.limits:
            for b in lim[1:]:
                _free(b, bound, out)
        _free(e.function, inner, out)
        return
    for a in e.args:
        if isinstance(a, sp.Basic):
            _free(a, bound, out)


def index_ranges(expr):
    """Map each index symbol of ``expr`` to its range ``(lo, hi)``, both ends included.

    Bound indices take their Sum's limits; free indices the dimension of the matrix they index
    (an InputError when a free index indexes dimensions of different sizes); a free index seen
    only in a KroneckerDelta has no range and is left out.

    >>> import sympy as sp
    >>> d = sp.Symbol("d", integer=True, positive=True)
    >>> a = sp.Symbol("a", integer=True)
    >>> w = sp.MatrixSymbol("w", d, 1)
    >>> index_ranges(w[a, 0])
    {a: (0, d - 1)}
    """
    return _ranges(expr, strict=True)


def _ranges(expr, strict=False):
    out, clash = {}, set()
    for node in sp.preorder_traversal(expr):
        if isinstance(node, sp.Sum):
            for k, lo, hi in node.limits:
                out[k] = (lo, hi)
    free = free_indices(expr)
    for node in sp.preorder_traversal(expr):
        if isinstance(node, MatrixElement):
            for a, dim in zip((node.i, node.j), node.parent.shape):
                if a in free:
                    rng = (sp.S.Zero, dim - 1)
                    if a in out and out[a] != rng:
                        if strict:
                            raise InputError(f"the index {a} indexes dimensions of sizes "
                                             f"{out[a][1] + 1} and {dim} (in {node})")
                        clash.add(a)
                    out[a] = rng
    for a in clash:  # no single range: no delta over it is summed out
        del out[a]
    return out


# ------------------------------------------------------------------ pulling factors out of sums


def pull_out(expr):
    """Move factors that do not depend on a Sum's index in front of the Sum, in every Sum.

    Terms of a Sum's body are grouped by their independent factor, so
    ``Sum(a*x[k] + a*y[k] + b, (k, 0, n - 1))`` becomes ``a*Sum(x[k] + y[k], ...) + n*b``.
    Names are kept: call :func:`canonical` on the result for canonical ones (the Sums changed).

    >>> import sympy as sp
    >>> k, l = sp.symbols("k l", integer=True)
    >>> x, p = sp.MatrixSymbol("x", 3, 1), sp.MatrixSymbol("p", 4, 1)
    >>> pull_out(sp.Sum(p[k, 0] * x[l, 0], (k, 0, 3)))
    x[l, 0]*Sum(p[k, 0], (k, 0, 3))
    """
    if not isinstance(expr, sp.Basic) or not expr.has(sp.Sum):
        return expr
    if isinstance(expr, sp.Sum):
        body = pull_out(expr.function)
        out = body
        for lim in expr.limits:
            out = _sum_pulled(out, lim)
        return out
    return expr.func(*[pull_out(a) for a in expr.args])


def _sum_pulled(body, lim, only=None):
    """Sum(body, lim) with independent factors in front (of type ``only`` if given), terms
    grouped by those factors."""
    k, lo, hi = lim
    if body == 0:
        return sp.S.Zero
    groups = {}
    for term in sp.Add.make_args(body):
        dep, indep = [], []
        for f in sp.Mul.make_args(term):
            # numbers stay: -y[k]*x[k] + s[k]*x[k] is one loop, not two
            movable = not f.is_Number and k not in f.free_symbols and (only is None or isinstance(f, only))
            (indep if movable else dep).append(f)
        groups.setdefault(sp.Mul(*indep), []).append(sp.Mul(*dep))
    out = []
    for indep, deps in groups.items():
        inner = sp.Add(*deps)
        if k not in inner.free_symbols:
            out.append(indep * inner * (hi - lo + 1))
            continue
        c, inner = inner.primitive() if isinstance(inner, sp.Add) else inner.as_coeff_Mul()
        out.append(c * indep * sp.Sum(_common_factored(inner), (k, lo, hi)))
    return sp.Add(*out)


def _common_factored(e):
    """An Add with the factors common to all its terms in front: s[k]*X[k, a] - y[k]*X[k, a]
    -> X[k, a]*(s[k] - y[k]) (one product per iteration, and the textbook X^T (s - y))."""
    if not isinstance(e, sp.Add):
        return e
    terms = [list(sp.Mul.make_args(t)) for t in e.args]
    common = [f for f in terms[0] if not f.is_Number]
    for t in terms[1:]:
        left, kept = list(t), []
        for f in common:
            if f in left:  # a multiset intersection: w[k]*w[k] and w[k] share one w[k]
                left.remove(f)
                kept.append(f)
        common = kept
    if not common:
        return e
    for t in terms:
        for f in common:
            t.remove(f)
    return sp.Mul(*common, sp.Add(*[sp.Mul(*t) for t in terms]))


# ------------------------------------------------------------------ reverse: entry derivative


def entry_derivative(expr, W, idx):
    """d expr / d W[idx[0], idx[1]] in index form (entries real).

    ``idx`` holds two index Symbols (``integer=True``) or Integers ranging over W's shape.
    Sums over k of terms with ``KroneckerDelta(k, a)``, ``a`` in ``idx``, collapse (k := a)
    when the Sum's range is W's dimension [0, dim - 1]; otherwise the delta stays. Factors that
    do not depend on a Sum's index are pulled out of it.

    >>> import sympy as sp
    >>> d = sp.Symbol("d", integer=True, positive=True)
    >>> a = sp.Symbol("a", integer=True)
    >>> w, x = sp.MatrixSymbol("w", d, 1), sp.MatrixSymbol("x", d, 1)
    >>> entry_derivative(sp.exp((w.T * x)[0, 0]), w, (a, 0)).subs(d, 1).doit()
    exp(w[0, 0]*x[0, 0])*x[a, 0]
    """
    e = index_form(expr)
    W, idx = _check_wrt(W, idx)
    return canonical(_Reverse(W, idx).d(e))


def _check_wrt(W, idx):
    if not isinstance(W, sp.MatrixSymbol):
        raise InputError(f"differentiate with respect to a MatrixSymbol, got {type(W).__name__} {W!r}")
    try:
        idx = tuple(sp.sympify(a, strict=True) for a in idx)
    except (TypeError, sp.SympifyError):
        raise InputError(f"idx must be two index Symbols or integers, got {idx!r}") from None
    if len(idx) != 2:
        raise InputError(f"idx must be two indices (row, column) of {W.name}, got {idx!r}")
    for a, dim, what in zip(idx, W.shape, ("row", "column")):
        if a.is_Integer:
            if a < 0 or (dim.is_Integer and a >= dim):
                raise InputError(f"the {what} index {a} is outside {W.name}'s shape {W.shape}")
        elif not (isinstance(a, sp.Symbol) and a.is_integer):
            raise InputError(f"the {what} index {a!r} must be an integer Symbol "
                             "(sympy.Symbol('a', integer=True)) or an integer")
    return W, idx


class _Differentiator:
    """One derivative per distinct subtree (memoised); zero at once where no variable occurs.
    Subclasses give ``variables`` and the rules ``_d``."""

    variables = ()

    def d(self, e):
        if not any(e.has(W) for W in self.variables):
            return sp.S.Zero
        hit = self.memo.get(e)
        if hit is None:
            hit = self.memo[e] = self._d(e)
        return hit


class _Reverse(_Differentiator):
    """d/dW[a, b]: recursive rules, deltas simplified and collapsed as they appear."""

    def __init__(self, W, idx):
        self.W, self.idx = W, idx
        self.variables = (W,)
        # the ranges of idx: a Sum over exactly one of them collapses on its delta
        self.ranges = {}
        for a, dim in reversed(list(zip(idx, W.shape))):
            self.ranges[a] = (sp.S.Zero, dim - 1)
        self.memo = {}

    def _d(self, e):
        if isinstance(e, MatrixElement):
            return self._entry(e)
        if isinstance(e, sp.Sum):
            return self._sum(e)
        return _chain(e, self.d)

    def _entry(self, e):
        if e.parent != self.W:
            return sp.S.Zero
        out = sp.S.One
        for ix, a, dim in zip((e.i, e.j), self.idx, self.W.shape):
            if dim != 1:  # a dimension of size 1 has the single index 0
                out *= _delta(ix, a)
        return out

    def _sum(self, e):
        inner, lim = peel(e)
        body = self.d(inner)
        if body == 0:
            return sp.S.Zero
        return _collapse_sum(body, lim, self.ranges, pull=True)


def _delta(i, j):
    """KroneckerDelta(i, j); between an Integer and an index Symbol without SymPy's evaluation,
    which asks the assumptions of i - j (3 ms each: seconds for the d terms of an unrolled sum)."""
    if i.is_Integer and j.is_Integer:
        return sp.S.One if i == j else sp.S.Zero
    if i.is_Integer != j.is_Integer and isinstance(i if j.is_Integer else j, sp.Symbol):
        first, second = sorted((i, j), key=sp.default_sort_key)
        return _Delta(first, second, evaluate=False)
    return _Delta(i, j)


def _collapse_sum(body, lim, ranges, pull):
    """Sum(body, lim) with every term holding KroneckerDelta(k, m) summed out (k := m) when m
    ranges over exactly [lo, hi] (``ranges``: index -> (lo, hi)); the rest stays summed,
    independent factors pulled out when ``pull``."""
    k, lo, hi = lim
    # without pull, only deltas move out (to reach the Sum over their other index)
    only = None if pull else _Delta
    if not _has_delta_of(body, k):
        return _sum_pulled(body, lim, only)
    kept, out = [], []
    for term in _delta_terms(body, k):
        collapsed = _collapse(term, k, lo, hi, ranges)
        (kept if collapsed is None else out).append(term if collapsed is None else collapsed)
    if kept:
        out.append(_sum_pulled(sp.Add(*kept), lim, only))
    return sp.Add(*out)


def _collapse(term, k, lo, hi, ranges):
    """term with k := m when it has a factor KroneckerDelta(k, m), m over [lo, hi]; else None."""
    for f in sp.Mul.make_args(term):
        if not isinstance(f, _Delta) or k not in f.args:
            continue
        m = f.args[1] if f.args[0] == k else f.args[0]
        rng = ranges.get(m)
        if m != k and rng is not None and _same(lo, rng[0]) and _same(hi, rng[1]):
            rest = list(sp.Mul.make_args(term))
            rest.remove(f)
            return _replace(sp.Mul(*rest), {k: m})
    return None


def _same(u, v):
    return sp.expand(u - v) == 0


def _delta_terms(e, k):
    """Terms of ``e``, distributing products over the sums that hold a KroneckerDelta of k."""
    if isinstance(e, sp.Add):
        return [t for a in e.args for t in _delta_terms(a, k)]
    if isinstance(e, sp.Mul):
        terms = [sp.S.One]
        for f in e.args:
            if isinstance(f, sp.Add) and _has_delta_of(f, k):
                parts = _delta_terms(f, k)
                terms = [t * p for t in terms for p in parts]
            else:
                terms = [t * f for t in terms]
        return terms
    return [e]


def _has_delta_of(e, k):
    return any(isinstance(n, _Delta) and k in n.args for n in sp.preorder_traversal(e))


# ------------------------------------------------------------------ chain rule (shared)


def _chain(e, d):
    """The derivative of e from the derivatives ``d`` of its arguments (Add, Mul, Pow, functions)."""
    if isinstance(e, sp.Add):
        return sp.Add(*[d(a) for a in e.args])
    if isinstance(e, sp.Mul):
        terms = []
        for i, f in enumerate(e.args):
            df = d(f)
            if df != 0:
                terms.append(sp.Mul(*e.args[:i], df, *e.args[i + 1:]))
        return sp.Add(*terms)
    if isinstance(e, sp.Pow):
        b, x = e.args
        db, dx = d(b), d(x)
        out = x * b ** (x - 1) * db if db != 0 else sp.S.Zero
        if dx != 0:
            out += e * sp.log(b) * dx
        return out
    if isinstance(e, sp.Piecewise):
        # almost everywhere: the derivative of the piece that applies
        return sp.Piecewise(*[(d(x), c) for x, c in e.args])
    if isinstance(e, (_Delta, sp.Sum, MatrixElement)) or not e.args:
        return sp.S.Zero
    if isinstance(e, sp.Function) or isinstance(e, (sp.Min, sp.Max)):
        return _function_chain(e, d)
    raise InputError(f"cannot differentiate {type(e).__name__} ({e}) in a matrix objective")


def _function_chain(e, d):
    terms = []
    for i, arg in enumerate(e.args):
        da = d(arg)
        if da == 0:
            continue
        us, de = _partial(e.func, len(e.args), i)
        if de.has(sp.Derivative, sp.Subs):
            raise InputError(f"no derivative is known for {e.func.__name__} (in {e}): "
                             "give the function a derivative (fdiff) or write it with known functions")
        terms.append(de.xreplace(dict(zip(us, e.args))) * da)
    return sp.Add(*terms)


@lru_cache(maxsize=512)
def _partial(func, nargs, i):
    """(real Dummies u, d func(u) / d u_i): entries are real, so Abs' derivative is sign."""
    us = tuple(sp.Dummy(f"u{j}", real=True) for j in range(nargs))
    return us, sp.diff(func(*us), us[i])


# ------------------------------------------------------------------ forward: directional


def directional(expr, tangents):
    """The directional derivative of ``expr`` along ``tangents`` (forward mode), in index form.

    ``tangents`` maps each MatrixSymbol W to a MatrixSymbol V of W's shape: the result is
    sum over W of <d expr / dW, V>, each W[i, j] contributing V[i, j] (no KroneckerDelta).

    >>> import sympy as sp
    >>> d = sp.Symbol("d", integer=True, positive=True)
    >>> w, v = sp.MatrixSymbol("w", d, 1), sp.MatrixSymbol("v", d, 1)
    >>> directional((w.T * w)[0, 0], {w: v}).subs(d, 2).doit()
    2*v[0, 0]*w[0, 0] + 2*v[1, 0]*w[1, 0]
    """
    e = index_form(expr)
    tangents = _check_tangents(tangents)
    return canonical(_Forward(tangents).d(e))


def _check_tangents(tangents):
    if not hasattr(tangents, "items"):
        raise InputError(f"tangents must be a dict {{W: V}} of MatrixSymbols, got {tangents!r}")
    for W, V in tangents.items():
        if not isinstance(W, sp.MatrixSymbol) or not isinstance(V, sp.MatrixSymbol):
            raise InputError(f"tangents maps MatrixSymbols to MatrixSymbols, got {W!r}: {V!r}")
        if W.shape != V.shape:
            raise InputError(f"the tangent {V.name} {V.shape} does not have the shape of {W.name} {W.shape}")
    return dict(tangents)


class _Forward(_Differentiator):
    """The directional derivative along ``tangents`` {W: V}: W[i, j] -> V[i, j]."""

    def __init__(self, tangents):
        self.t = tangents
        self.variables = tuple(tangents)
        self.memo = {}

    def _d(self, e):
        if isinstance(e, MatrixElement):
            V = self.t.get(e.parent)
            return sp.S.Zero if V is None else _rebuild(e, (V, e.i, e.j))
        if isinstance(e, sp.Sum):
            inner, (k, lo, hi) = peel(e)
            return _sum_pulled(self.d(inner), (k, lo, hi))
        return _chain(e, self.d)
