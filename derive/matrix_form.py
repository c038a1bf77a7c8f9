"""Matrix expressions from index expressions: derivatives as the textbook writes them.

An index expression (see :mod:`derive.indexed`) with free index symbols, say the
gradient entry ``Sum(X[i, a]*(sigmoid(Sum(X[i, k]*w[k, 0], k)) - y[i, 0]), i)``,
is read as a contraction of vectors and matrices and written back as a SymPy
matrix expression whose entry ``[a, b]`` is the index expression, here
``X.T*(sigmoid.(X*w) - y)``. The rules, as in Laue, Mitterreiter and Giesen
(NeurIPS 2018) and matrixcalculus.org:

- ``M[p, q]`` is ``M`` (``M.T`` when the indices come the other way round);
  ``KroneckerDelta(p, q)`` is ``Identity``; a constant is ``c*OneMatrix``;
- a factor that depends on one index ``i`` is a vector: a function of one vector
  entry is ``ElementwiseApplyFunction`` (``v.applyfunc(f)``), a product of such
  factors a ``HadamardProduct``;
- a sum over an index shared by two factors is a matrix product; a vector on the
  summed index in between is a ``DiagMatrix``: ``Sum_i A[i, a] s_i B[i, b]`` is
  ``A.T*DiagMatrix(s)*B``; factors of the row and of the column index alone are an
  outer product ``u*v.T``;
- sums over one range in one ``Add`` are merged and their common factors pulled
  out, so ``X.T*s - X.T*y`` reads ``X.T*(s - y)``.

Whatever matches no rule (an index shared by three matrices, a function of two
different vectors' entries, a sum over part of a dimension) becomes
``FunctionMatrix(rows, cols, Lambda((a, b), entry))``, locally: the rest of the
expression keeps its matrix form. Every result evaluates after substituting sizes
and values: ``M.subs(values).doit().as_explicit()`` (doit first: as_explicit alone
writes each entry of a product as a Sum, the same numbers, many times slower).

Closed scalars (a factor with no free index, such as the softmax denominator
``Sum(exp((W*x)[k, 0]), k)``) stay index expressions: a SymPy ``(u.T*v)[0, 0]``
becomes a ``Sum`` as soon as it is built.
"""
import sympy as sp
from sympy.matrices.expressions import (
    DiagMatrix, FunctionMatrix, HadamardProduct, Identity, KroneckerProduct, MatAdd, MatMul, OneMatrix,
    ZeroMatrix,
)
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.matexpr import MatrixElement

__all__ = ["to_matrix", "gradient_form", "hessian_block", "kronecker", "merge_sums", "readable",
           "transpose"]


class _NoPattern(Exception):
    """Internal: no textbook rule fits; the caller falls back to a FunctionMatrix."""


def to_matrix(expr, rows=None, cols=None):
    """The matrix expression ``M`` with ``M[a, b] == expr`` for ``a < m``, ``b < n``.

    ``rows`` and ``cols`` are ``(a, m)`` pairs: the free index symbol of ``expr``
    and its size, or ``None`` for a dimension of size 1 (index 0). Summations in
    ``expr`` must be one-limit ``Sum``s over index symbols from 0 (index form).

    >>> import sympy as sp
    >>> N, d = sp.symbols("N d", integer=True, positive=True)
    >>> X, y = sp.MatrixSymbol("X", N, d), sp.MatrixSymbol("y", N, 1)
    >>> a, i = sp.symbols("a i", integer=True)
    >>> to_matrix(sp.Sum(X[i, a] * y[i, 0], (i, 0, N - 1)), (a, d))
    X.T*y
    >>> to_matrix(sp.Sum(X[i, a] * X[i, i], (i, 0, N - 1)), (a, d)).shape
    (d, 1)
    """
    env = {}
    r = _dim(rows, env)
    c = _dim(cols, env)
    return _convert(expr, r, c, env)


# MatrixExpr's + and * (and MatAdd.doit, whose rule `combine` multiplies by coefficients)
# call a deep doit(), which tries to evaluate every Sum inside (Gosper's algorithm on
# Sum(exp(...)): seconds, and a changed form); these build the same canonical shapes without it
def _add(*terms):
    flat = []
    for t in terms:
        flat.extend(t.args if isinstance(t, MatAdd) else (t,))
    flat = [t for t in flat if not isinstance(t, ZeroMatrix)]
    if not flat:
        return terms[0]
    return flat[0] if len(flat) == 1 else MatAdd(*sorted(flat, key=sp.default_sort_key))


def _mul(*factors):
    coeff, mats = sp.S.One, []
    for f in factors:
        for g in (f.args if isinstance(f, MatMul) else (f,)):
            if isinstance(g, sp.MatrixExpr):
                mats.append(g)
            else:
                coeff *= g
    rows, cols = mats[0].shape[0], mats[-1].shape[1]
    if any(isinstance(m, ZeroMatrix) for m in mats) or coeff == 0:
        return ZeroMatrix(rows, cols)
    kept = [m for m in mats if not isinstance(m, Identity)] or [mats[0]]
    if coeff == 1 and len(kept) == 1:
        return kept[0]
    return MatMul(*([coeff] if coeff != 1 else []), *kept)


def _scale(c, M):
    return M if c == 1 else _mul(c, M)


def transpose(M):
    """``M.T`` without the deep doit (see :func:`_add`): pushed through sums and products.

    >>> import sympy as sp
    >>> X, w = sp.MatrixSymbol("X", 3, 2), sp.MatrixSymbol("w", 2, 1)
    >>> transpose(X * w.applyfunc(sp.exp))
    Lambda(_d, exp(_d)).(w.T)*X.T
    """
    if isinstance(M, sp.Transpose):
        return M.arg
    if isinstance(M, (DiagMatrix, Identity)):
        return M
    if isinstance(M, (ZeroMatrix, OneMatrix)):
        return M.func(M.shape[1], M.shape[0])
    if isinstance(M, MatMul):
        coeff, mats = M.as_coeff_matrices()
        return _mul(coeff, *[transpose(m) for m in reversed(mats)])
    if isinstance(M, (MatAdd, HadamardProduct, KroneckerProduct)):
        return M.func(*[transpose(a) for a in M.args])
    if isinstance(M, ElementwiseApplyFunction):
        return ElementwiseApplyFunction(M.function, transpose(M.expr))
    return sp.Transpose(M)


def _dim(spec, env):
    if spec is None:
        return None
    sym, size = spec
    env[sym] = sp.sympify(size)
    return sym


def _size(idx, env):
    return sp.S.One if idx is None else env[idx]


def function_matrix(expr, r, c, env):
    """``FunctionMatrix`` of ``expr`` over the free indices ``r``, ``c`` (None: size 1)."""
    a = r if r is not None else sp.Dummy("a", integer=True)
    b = c if c is not None else sp.Dummy("b", integer=True)
    return FunctionMatrix(_size(r, env), _size(c, env), sp.Lambda((a, b), expr))


def _or_function_matrix(strict):
    """``strict(e, r, c, env)``, or the FunctionMatrix of ``e`` where no pattern matches."""
    def convert(e, r, c, env):
        try:
            return strict(e, r, c, env)
        except _NoPattern:
            return function_matrix(e, r, c, env)
    convert.__doc__ = strict.__doc__
    return convert


def _convert_strict(e, r, c, env):
    """Matrix form of the index expression ``e`` (a FunctionMatrix per term without a pattern)."""
    e = merge_sums(e)
    R, C = _size(r, env), _size(c, env)
    if e == 0:
        return ZeroMatrix(R, C)
    terms = [_term(t, r, c, env) for t in sp.Add.make_args(e)]
    return _add(*terms)


def _term_strict(t, r, c, env):
    """One product term: factors grouped by the indices they depend on, then contracted."""
    free = [i for i in (r, c) if i is not None]
    env = dict(env)
    factors, summed = _flatten(t, set(free), env)
    factors, closed = _close_components(factors, set(free), summed, env)
    indices = set(free) | set(summed)
    groups = {}
    coeff = sp.Mul(*closed)
    for f in factors:
        key = frozenset(f.free_symbols & indices)
        if not key:
            coeff *= f
        else:
            groups[key] = groups.get(key, sp.S.One) * f
    vecs, mats = {}, []
    for key, g in groups.items():
        if len(key) == 1:
            (i,) = key
            vecs[i] = _vector(g, i, env)
        elif len(key) == 2:
            p, q = sorted(key, key=str)
            mats.append((_matrix(g, p, q, env), p, q))
        else:
            raise _NoPattern
    M = _assemble(vecs, mats, r, c, env)
    return _scale(coeff, M)


def _flatten(t, free, env):
    """Factors of ``t`` with the Sums that depend on ``free`` opened; returns (factors, summed)."""
    factors, summed = [], []
    stack = list(sp.Mul.make_args(t))
    while stack:
        f = stack.pop()
        bound = free | set(summed)
        if isinstance(f, sp.Sum) and f.free_symbols & bound:
            body = f.function
            for k, lo, hi in reversed(f.limits):
                if lo != 0 or k in bound:
                    raise _NoPattern
                env[k] = hi + 1
                summed.append(k)
            stack.extend(sp.Mul.make_args(body))
        else:
            factors.append(f)
    return factors, summed


def _close_components(factors, free, summed, env):
    """Sums whose factors touch no free index go back together as closed scalars."""
    parent = {k: k for k in list(free) + summed}

    def root(k):
        while parent[k] != k:
            k = parent[k]
        return k

    for f in factors:
        ks = [k for k in parent if k in f.free_symbols]
        for k in ks[1:]:
            parent[root(k)] = root(ks[0])
    live = {root(k) for k in free}
    keep, closed = [], {}
    for f in factors:
        ks = [k for k in parent if k in f.free_symbols]
        if ks and root(ks[0]) not in live:
            closed.setdefault(root(ks[0]), []).append(f)
        else:
            keep.append(f)
    scalars = []
    for rt, fs in closed.items():
        s = sp.Mul(*fs)
        for k in summed:
            if root(k) == rt:
                s = sp.Sum(s, (k, 0, env[k] - 1))
        scalars.append(s)
    return keep, scalars


def _dependence(g, idx):
    """The index-dependent atoms of ``g``: matrix entries, Sums and deltas that hold ``idx``."""
    if not g.free_symbols & idx:
        return set()
    if isinstance(g, (MatrixElement, sp.Sum, sp.KroneckerDelta)):
        return {g}
    out = set()
    for a in g.args:
        out |= _dependence(a, idx)
    return out


def _elementwise(g, idx, convert_atom):
    """``g`` as a function of its one index-dependent atom, applied entrywise; None if not."""
    atoms = _dependence(g, idx)
    if len(atoms) != 1:
        return None
    (u,) = atoms
    if g == u:
        return None
    z = sp.Dummy("z", real=True)
    return convert_atom(u).applyfunc(sp.Lambda(z, g.xreplace({u: z})))


def _vector(g, i, env):
    """Column vector ``v`` with ``v[i, 0] == g``; a local FunctionMatrix if no rule fits."""
    try:
        return _vector_strict(g, i, env)
    except _NoPattern:
        return function_matrix(g, i, None, env)


def _vector_strict(g, i, env):
    n = env[i]
    if isinstance(g, MatrixElement):
        M, p, q = g.args
        if p == i and q == 0 and M.shape == (n, 1):
            return M
        if q == i and p == 0 and M.shape == (1, n):
            return transpose(M)
        raise _NoPattern
    v = _elementwise(g, {i}, lambda u: _vector(u, i, env))
    if v is not None:
        return v
    if isinstance(g, (sp.Add, sp.Sum)):
        return _convert_strict(g, i, None, env)
    if isinstance(g, sp.Mul):
        coeff, parts = g.as_independent(i, as_Add=False)
        vs = [_vector(f, i, env) for f in _by_atom(parts, {i})]
        v = vs[0] if len(vs) == 1 else HadamardProduct(*vs)
        return _scale(coeff, v)
    raise _NoPattern


def _by_atom(product, idx):
    """The factors of ``product`` with those of one same atom multiplied together.

    So ``s (1 - s)`` with ``s = sigmoid(z_i)`` is one entrywise function of ``z``,
    not the Hadamard product of two.
    """
    groups = {}
    for f in sp.Mul.make_args(product):
        atoms = _dependence(f, idx)
        key = frozenset(atoms) if len(atoms) == 1 else f
        groups[key] = groups.get(key, sp.S.One) * f
    return list(groups.values())


def _matrix(g, p, q, env):
    """Matrix ``M`` with ``M[p, q] == g``; a local FunctionMatrix if no rule fits."""
    try:
        return _matrix_strict(g, p, q, env)
    except _NoPattern:
        return function_matrix(g, p, q, env)


def _matrix_strict(g, p, q, env):
    shape = (env[p], env[q])
    if isinstance(g, MatrixElement):
        M, i, j = g.args
        if (i, j) == (p, q) and M.shape == shape:
            return M
        if (i, j) == (q, p) and M.shape == shape[::-1]:
            return transpose(M)
        raise _NoPattern
    if isinstance(g, sp.KroneckerDelta):
        if sp.simplify(shape[0] - shape[1]) != 0:
            raise _NoPattern
        return Identity(shape[0])
    M = _elementwise(g, {p, q}, lambda u: _matrix(u, p, q, env))
    if M is not None:
        return M
    if isinstance(g, (sp.Add, sp.Sum)):
        return _convert_strict(g, p, q, env)
    if isinstance(g, sp.Mul):
        coeff, parts = g.as_independent(p, q, as_Add=False)
        ms = [_matrix(f, p, q, env) for f in _by_atom(parts, {p, q})]
        M = ms[0] if len(ms) == 1 else HadamardProduct(*ms)
        return _scale(coeff, M)
    raise _NoPattern


def _assemble(vecs, mats, r, c, env):
    """Contract vectors (on one index) and matrices (edges between two indices) into a chain.

    Dangling branches go first: a summed index met by one matrix M only is a dead end, and
    ``M v`` (v its vector, or ones) becomes a vector on M's other index; what is left must be
    a path from the row index to the column index, DiagMatrix at the indices in between.
    """
    vecs, mats = dict(vecs), list(mats)
    free = {r, c} - {None}
    while True:
        leaf = _dead_end(mats, free)
        if leaf is None:
            break
        n, end, other = leaf
        M, p, _ = mats.pop(n)
        v = _mul(M if p == other else transpose(M), vecs.pop(end, OneMatrix(env[end], 1)))
        vecs[other] = HadamardProduct(vecs[other], v) if other in vecs else v
    adj = {}
    for n, (_, p, q) in enumerate(mats):
        adj.setdefault(p, []).append(n)
        adj.setdefault(q, []).append(n)
    if any(len(es) > 2 for es in adj.values()) or any(len(adj.get(f, ())) > 1 for f in free):
        raise _NoPattern  # an index shared by three matrices: a tensor contraction
    if any(k not in free and k not in adj for k in vecs):
        raise _NoPattern  # a vector on a summed index off the chain (a closed sum): never dropped
    if r is not None and c is not None and mats:
        used = set()
        path, end = _walk(r, adj, mats, vecs, used, stop=c)
        if end != c or len(used) != len(mats):
            raise _NoPattern  # a cycle (a trace) or a part not on the chain
        left = [DiagMatrix(vecs[r])] if r in vecs else []
        right = [DiagMatrix(vecs[c])] if c in vecs else []
        return _mul(*left, *path, *right)
    if mats:
        raise _NoPattern
    if r is not None and c is not None:
        return _mul(_ones_or(vecs, r, env), transpose(_ones_or(vecs, c, env)))
    if r is not None:
        return _ones_or(vecs, r, env)
    if c is not None:
        return transpose(_ones_or(vecs, c, env))
    raise _NoPattern


def _ones_or(vecs, i, env):
    return vecs.get(i, OneMatrix(env[i], 1))


def _dead_end(mats, free):
    """(edge number, dead-end index, its neighbour) of a summed index met by one matrix only."""
    degree = {}
    for _, p, q in mats:
        degree[p] = degree.get(p, 0) + 1
        degree[q] = degree.get(q, 0) + 1
    for n, (_, p, q) in enumerate(mats):
        for end, other in ((q, p), (p, q)):
            if end not in free and degree[end] == 1:
                return n, end, other
    return None


def _walk(start, adj, mats, vecs, used, stop):
    """Matrices along the path from ``start`` to ``stop``, DiagMatrix at inner indices."""
    out, node = [], start
    while True:
        nxt = [n for n in adj.get(node, ()) if n not in used]
        if not nxt:
            return out, node
        used.add(nxt[0])
        M, p, q = mats[nxt[0]]
        if p == node:
            out.append(M)
            node = q
        else:
            out.append(transpose(M))
            node = p
        if node == start:
            raise _NoPattern  # a cycle: a trace
        if node == stop:
            return out, node
        if node in vecs:
            out.append(DiagMatrix(vecs[node]))


def merge_sums(e):
    """Merge the Sums over one range in each Add and pull common matrix entries out.

    ``Sum_i X[i, a] s_i - Sum_k y_k X[k, a]`` becomes ``Sum_i X[i, a] (s_i - y_i)``,
    whose matrix form is ``X.T*(s - y)`` rather than ``X.T*s - X.T*y``. Only matrix
    entries and deltas are pulled out of an Add (``x_b (p_a - t_a)``: an outer product),
    so ``p_a delta_ac - p_a p_c`` stays ``Diag(p) - p p^T``.

    >>> import sympy as sp
    >>> n = sp.Symbol("n", integer=True, positive=True)
    >>> u, v = sp.MatrixSymbol("u", n, 1), sp.MatrixSymbol("v", n, 1)
    >>> i, k = sp.symbols("i k", integer=True)
    >>> merge_sums(sp.Sum(2*u[i, 0]*v[i, 0], (i, 0, n - 1)) - sp.Sum(u[k, 0], (k, 0, n - 1)))
    Sum((2*v[k, 0] - 1)*u[k, 0], (k, 0, n - 1))
    """
    if not isinstance(e, sp.Basic) or e.is_Atom or isinstance(e, MatrixElement):
        return e
    args = [merge_sums(a) for a in e.args]
    e = e.func(*args) if args != list(e.args) else e
    if not isinstance(e, sp.Add):
        return e
    groups, rest = {}, []
    for t in e.args:
        coeff, s = t.as_independent(sp.Sum, as_Add=False)
        if isinstance(s, sp.Sum) and len(s.limits) == 1:
            groups.setdefault(tuple(s.limits[0][1:]), []).append((coeff, s))
        else:
            rest.append(t)
    for (lo, hi), items in groups.items():
        if len(items) == 1:
            rest.append(items[0][0] * items[0][1])
            continue
        k0 = items[0][1].limits[0][0]
        body = []
        for coeff, s in items:
            k, b = s.limits[0][0], s.function
            if k != k0 and b.has(k0):
                rest.append(coeff * s)
            else:
                body.append(coeff * b.xreplace({k: k0}))
        rest.append(sp.Sum(_pull_common(sp.Add(*body)), (k0, lo, hi)))
    return _pull_common(sp.Add(*rest))


def _pull_common(e):
    """``e`` (an Add) with the matrix entries and deltas common to all its terms in front."""
    if not isinstance(e, sp.Add):
        return e
    terms = [sp.Mul.make_args(t) for t in e.args]
    common = [f for f in terms[0] if isinstance(f, (MatrixElement, sp.KroneckerDelta))
              and all(f in t for t in terms[1:])]
    if not common:
        return e
    c = sp.Mul(*common)
    return c * sp.Add(*[t / c for t in e.args])


def kronecker(expr, outer, inner, env):
    """Matrix over the row-major flattenings of two variables (U, V) of a 4-index ``expr``.

    ``outer = (a, c)`` are the row indices of U and V, ``inner = (b, e)`` their column
    indices (None for a dimension of size 1); ``env`` maps each index to its size. Entry
    ``[a*n1 + b, c*n2 + e]`` of the result is ``expr``. A term whose factors split into an
    (a, c) part A and a (b, e) part B is ``KroneckerProduct(A, B)`` (row-major flattening
    is Kronecker's order); other terms are FunctionMatrix blocks over the flat indices.

    >>> import sympy as sp
    >>> m, n = sp.symbols("m n", integer=True, positive=True)
    >>> a, b, c, e = sp.symbols("a b c e", integer=True)
    >>> P, x = sp.MatrixSymbol("P", m, m), sp.MatrixSymbol("x", n, 1)
    >>> kronecker(P[a, c] * x[b, 0] * x[e, 0], (a, c), (b, e), {a: m, b: n, c: m, e: n})
    KroneckerProduct(P, x*x.T)
    """
    a, c = outer
    b, e = inner
    size = lambda i: _size(i, env)  # noqa: E731
    expr = merge_sums(expr)
    if expr == 0:
        return ZeroMatrix(size(a) * size(b), size(c) * size(e))
    parts, rest = {}, []
    for t in sp.Add.make_args(expr):
        split = _kron_split(t, a, b, c, e, env)
        if split is None:
            rest.append(flat_function_matrix(t, a, b, c, e, env))
        else:
            A, B, env_t = split
            parts.setdefault(B, [sp.S.Zero, env_t])[0] += A
    for B, (A, env_t) in parts.items():
        if a is None and c is None:
            rest.append(_scale(A, _convert(B, b, e, env_t)))
        elif b is None and e is None:
            rest.append(_scale(B, _convert(A, a, c, env_t)))
        else:
            rest.append(KroneckerProduct(_convert(A, a, c, env_t), _convert(B, b, e, env_t)))
    return _add(*rest)


def _kron_split(t, a, b, c, e, env):
    """(A, B, env): ``t = A*B``, A over (a, c) and B over (b, e) with their own Sums; or None."""
    env = dict(env)
    left_ix, right_ix = {a, c} - {None}, {b, e} - {None}
    try:
        factors, summed = _flatten(t, left_ix | right_ix, env)
    except _NoPattern:
        return None
    factors, closed = _close_components(factors, left_ix | right_ix, summed, env)
    # every summed index left is connected to a free index: it takes that index's side
    side = dict.fromkeys(left_ix, "L") | dict.fromkeys(right_ix, "R")
    ix = set(side) | set(summed)
    changed = True
    while changed:
        changed = False
        for f in factors:
            ks = f.free_symbols & ix
            sides = {side[k] for k in ks if k in side}
            if len(sides) > 1:
                return None
            for k in ks:
                if sides and k not in side:
                    side[k] = next(iter(sides))
                    changed = True
    left = [f for f in factors if any(side.get(k) == "L" for k in f.free_symbols & ix)]
    right = [f for f in factors if any(side.get(k) == "R" for k in f.free_symbols & ix)]
    coeff = [f for f in factors if not f.free_symbols & ix]
    A, B = sp.Mul(*left, *coeff, *closed), sp.Mul(*right)
    for k in summed:
        if side.get(k) == "L":
            A = sp.Sum(A, (k, 0, env[k] - 1))
        elif side.get(k) == "R":
            B = sp.Sum(B, (k, 0, env[k] - 1))
    return A, B, env


def flat_function_matrix(t, a, b, c, e, env):
    """FunctionMatrix of the 4-index ``t`` over the flat indices ``a*n1 + b`` and ``c*n2 + e``."""
    n1, n2 = _size(b, env), _size(e, env)
    rho, kappa = sp.Dummy("r", integer=True), sp.Dummy("s", integer=True)
    sub = {}
    for i, v in ((a, sp.floor(rho / n1)), (b, sp.Mod(rho, n1)), (c, sp.floor(kappa / n2)),
                 (e, sp.Mod(kappa, n2))):
        if i is not None:
            sub[i] = v
    return FunctionMatrix(_size(a, env) * n1, _size(c, env) * n2, sp.Lambda((rho, kappa), t.xreplace(sub)))


# ------------------------------------------------------------------ gradient and Hessian


_INDEX_NAMES = ("i", "j", "k", "l", "m", "n", "p", "q")


def readable(e, depth=0):
    """``e`` with the summation indices named i, j, k... by nesting depth, for printing.

    Index form names them by a hash (``_k5578c577f23b``: stable across processes, for
    codegen's caches); a result shown to a person reads better as ``Sum(w[i, 0]**2, (i, 0, d - 1))``.
    A name already used in the Sum (a size, a parameter) is skipped.

    >>> import sympy as sp
    >>> d = sp.Symbol("d", integer=True, positive=True)
    >>> w, k9 = sp.MatrixSymbol("w", d, 1), sp.Symbol("_k9", integer=True)
    >>> readable(sp.exp(sp.Sum(w[k9, 0]**2, (k9, 0, d - 1))))
    exp(Sum(w[i, 0]**2, (i, 0, d - 1)))
    """
    if not isinstance(e, sp.Basic) or not e.has(sp.Sum):
        return e
    if isinstance(e, sp.Sum) and len(e.limits) == 1:
        (k, lo, hi), body = e.limits[0], e.function
        taken = {str(s) for s in e.free_symbols}
        names = [n for n in _INDEX_NAMES[depth:] + _INDEX_NAMES[:depth] if n not in taken]
        new = sp.Symbol(names[0] if names else f"i{depth}", integer=True)
        if new != k and new not in body.free_symbols:
            body = body.xreplace({k: new})
            k = new
        return sp.Sum(readable(body, depth + 1), (k, lo, hi))
    return e.func(*[readable(a, depth) for a in e.args])


class _Var:
    """One variable of a matrix-level derivative: its entry index and the layout of its block.

    A MatrixSymbol (m, n) has entry ``[a, b]``; a column vector (m, 1) only ``a`` and a row
    vector (1, n) only ``b`` (the other is 0); a plain Symbol none (its derivative is ``diff``).
    Fresh Dummies per instance, so a Hessian block (W, W) has distinct row and column indices.
    """

    def __init__(self, v, names=("a", "b")):
        self.v = v
        self.rows = self.cols = None
        if isinstance(v, sp.MatrixSymbol):
            m, n = v.shape
            a, b = (sp.Dummy(s, integer=True) for s in names)
            self.rows = (a, m) if m != 1 else None
            self.cols = (b, n) if n != 1 else None
            self.idx = (a if m != 1 else sp.S.Zero, b if n != 1 else sp.S.Zero)

    @property
    def is_matrix(self):
        return self.rows is not None and self.cols is not None

    @property
    def spec(self):
        """The one free index of a vector-like variable (None for a scalar)."""
        return self.rows if self.rows is not None else self.cols

    @property
    def size(self):
        return sp.Mul(*(s[1] for s in (self.rows, self.cols) if s is not None))

    def d(self, e):
        if isinstance(self.v, sp.MatrixSymbol):
            from .indexed import entry_derivative  # noqa: PLC0415 (indexed imports _validate)

            return entry_derivative(e, self.v, self.idx)
        return sp.diff(e, self.v)


def gradient_form(f, v, finish=lambda e: e):
    """Gradient of the index-form scalar ``f`` w.r.t. ``v``, shaped like ``v`` (a scalar for a Symbol).

    ``finish`` is applied to the entry (index expression) before the matrix form is built.

    >>> import sympy as sp
    >>> d = sp.Symbol("d", integer=True, positive=True)
    >>> w = sp.MatrixSymbol("w", d, 1)
    >>> gradient_form((w.T * w)[0, 0] / 2, w)
    w
    """
    var = _Var(v)
    entry = finish(var.d(f))
    if not isinstance(v, sp.MatrixSymbol):
        return readable(entry)
    if var.rows is None and var.cols is None:  # a 1x1 MatrixSymbol
        return sp.ImmutableMatrix([[readable(entry)]])
    env = {}
    return readable(_convert(entry, _dim(var.rows, env), _dim(var.cols, env), env))


def hessian_block(f, u, v, finish=lambda e: e):
    """Block d2 f / du dv over the row-major flattenings of ``u`` (rows) and ``v`` (columns).

    Vectors and scalars give a plain matrix form (``X.T*DiagMatrix(s)*X``); a matrix variable
    (m, n) gives an (m*n)-row block, ``KroneckerProduct`` where the entry splits into a
    row part and a column part, a FunctionMatrix over the flat indices otherwise.

    >>> import sympy as sp
    >>> d = sp.Symbol("d", integer=True, positive=True)
    >>> w, A = sp.MatrixSymbol("w", d, 1), sp.MatrixSymbol("A", d, d)
    >>> hessian_block((w.T * A * w)[0, 0], w, w)
    A + A.T
    """
    U, V = _Var(u), _Var(v, ("c", "e"))
    entry = finish(V.d(U.d(f)))
    env = {}
    if not (U.is_matrix or V.is_matrix):
        if U.spec is None and V.spec is None:
            return sp.ImmutableMatrix([[readable(entry)]])
        return readable(_convert(entry, _dim(U.spec, env), _dim(V.spec, env), env))
    # a vector's flat index is its one index: it goes with the rows (outer) of Kronecker's order
    outer = [_dim(U.rows if U.is_matrix else U.spec, env), _dim(V.rows if V.is_matrix else V.spec, env)]
    inner = [_dim(U.cols, env) if U.is_matrix else None, _dim(V.cols, env) if V.is_matrix else None]
    return readable(kronecker(entry, tuple(outer), tuple(inner), env))


_convert = _or_function_matrix(_convert_strict)
_term = _or_function_matrix(_term_strict)
