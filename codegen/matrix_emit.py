"""The kernel module of a matrix model: loops over the symbolic sizes, one module for every size.

Each kernel kind (``v`` value, ``g`` gradient, ``vg`` both, ``hp`` Hessian-vector product,
``h`` dense Hessian) has a row-block kernel ``_acc_<kind>(x, [v,] p, rows, lo, hi, d0, ...)``
returning the sum of its outputs over ``rows[lo:hi]`` as one array: one fused pass per row,
temporaries allocated once per call (outside the row loop), row-independent temporaries
computed once.  The Hessian's separable terms s(row) A(a, b) B(c, e) are blocked rank updates
through BLAS.  The public kernels keep the names and calling convention of scalar objectives
(:mod:`codegen.interface`): ``value(x, p, rows, d0, ...)``, ``hessp(x, v, p, rows, ...)`` ...;
each holds its row-block kernel's lines (and the penalty's) itself rather than calling it:
Numba re-optimizes a callee's code inside every caller, so one dispatcher compiles in about
half the time of a wrapper and its callees.  Their ``*_parallel`` variants sum row chunks in
``prange`` (``_psum_<kind>``: compiled only when used; Python calls use
:mod:`codegen.rowdriver` instead).  A penalty also has its kernels
``_pen_<kind>(x, [v,] p, d0, ...)`` (the data arrays only for their sizes; the row driver's
Python path adds them).  Matrices are read and gradients written through per-block views
(``xv0[i, j]``, ``gv0[i, j]``): plain loop indices, which LLVM vectorizes.

>>> import sympy as sp
>>> from codegen.matrix_layout import Layout
>>> from codegen.matrix_symbolic import derive_part
>>> d = sp.Symbol("d", integer=True, positive=True)
>>> w = sp.MatrixSymbol("w", d, 1)
>>> src = matrix_module(Layout([w], [], []), derive_part((w.T * w)[0, 0], [w]), None, "sum", 2)
>>> "def value_and_grad(x, p):" in src and "for a0 in range(0, s0):" in src
True
"""
import re

import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixElement

from .emit import PAR_BLOCK, PAR_CHUNKS, _opening
from .interface import CACHE_NOTE, parallel
from .loops import _PH, SUMVAR, LoopPrinter, Scheduler, TmpRef, licm
from .matrix_layout import is_matrix, shape_of
from .printer import prelude

__all__ = ["matrix_module", "KINDS", "PUBLIC"]

KINDS = ("v", "g", "vg", "hp", "h")
PUBLIC = {"v": "value", "g": "grad", "vg": "value_and_grad", "hp": "hessp", "h": "hess"}
# Rows per rank update of a Hessian block: up to 4096 (fewer n x n sums of the products),
# at most _BLAS_ENTRIES entries in each row-block factor U, V (32 MB), at least 256 rows.
_BLAS_ROWS = 4096
_BLAS_ENTRIES = 1 << 22


class _Tables:
    """Names of every symbol and matrix of the model in the kernels' source."""

    def __init__(self, layout, tangents):
        lay = self.layout = layout
        self.names = dict(lay.size_names())
        self.mats = {}
        self.row_syms = set()
        self.views = {}  # view name -> (array, offset, matrix): defined where used
        for k, W in enumerate(lay.wrt):
            self._place(W, "x", f"_xo{k}", f"xv{k}")
        for k, P in enumerate(lay.params):
            self._place(P, "p", f"_po{k}", f"pv{k}")
        for k, V in enumerate(tangents):
            self._place(V, "v", f"_xo{k}", f"vv{k}")
        for k, D in enumerate(lay.data):
            if isinstance(D, tuple):
                for j, s in enumerate(D):
                    self.names[s] = f"d{k}[_r, {j}]"
                    self.row_syms.add(s)
            elif is_matrix(D):
                self.row_syms.add(D)
                if shape_of(D)[1] == 1:
                    self.mats[D] = (lambda k: lambda i, j: f"d{k}[_r, {i}]")(k)
                else:
                    self.mats[D] = (lambda k: lambda i, j: f"d{k}[_r, {i}, {j}]")(k)
            else:
                self.names[D] = f"d{k}[_r]"
                self.row_syms.add(D)
        for k in range(len(lay.wrt)):
            for letter in "abce":  # the output indices of codegen.matrix_symbolic
                self.names[sp.Symbol(f"_{letter}{k}", integer=True)] = f"{letter}{k}"
        for i, q in enumerate(_PH):
            self.names[q] = f"q{i}"
        self.names[SUMVAR] = "ks"

    def _place(self, s, arr, off, view):
        """A matrix reads through a view of its block of ``arr`` (1-D for a column vector,
        else 2-D): plain loop indices, which Numba's LLVM vectorizes (``x[off + i*c + j]``
        hides the contiguity behind a negative-index wraparound per access)."""
        if not is_matrix(s):
            self.names[s] = f"{arr}[{off}]"
            return
        self.views[view] = (arr, off, s)
        if shape_of(s)[1] == 1:
            self.mats[s] = (lambda view: lambda i, j: f"{view}[{i}]")(view)
        else:
            self.mats[s] = (lambda view: lambda i, j: f"{view}[{i}, {j}]")(view)

    def view_line(self, view, arr, off, s, pad="    "):
        """The definition of ``view``: the block of ``s`` in ``arr`` from offset ``off``."""
        r, c = shape_of(s)
        block = f"{arr}[{off}:{off} + {self._pr(r * c)}]"
        if c == 1:
            return f"{pad}{view} = {block}"
        return f"{pad}{view} = {block}.reshape(({self._pr(r)}, {self._pr(c)}))"

    def with_views(self, L):
        """``L`` (the lines of one kernel) with the views it uses defined after the sizes
        (``_n = ...``) and the gradient's views of ``out`` after its allocation."""
        text = "\n".join(L)
        used = [v for v in self.views if re.search(rf"\b{v}\[", text)]
        grads = sorted(set(re.findall(r"\b(gv\d+)\[", text)))
        at = next(i for i, line in enumerate(L) if line.startswith("    _n = ")) + 1
        L = L[:at] + [self.view_line(v, *self.views[v]) for v in used] + L[at:]
        if grads:
            at = next(i for i, line in enumerate(L) if line.startswith("    out = np.zeros(")) + 1
            base = "1 + " if L[at - 1].startswith("    out = np.zeros(1 + ") else ""
            L = L[:at] + [self.view_line(g, "out", f"{base}_xo{g[2:]}", self.layout.wrt[int(
                g[2:])]) for g in grads] + L[at:]
        return L

    def _pr(self, e):
        return LoopPrinter(self.names, {}).doprint(sp.sympify(e))

    def is_row(self, leaf):
        if isinstance(leaf, MatrixElement):
            return leaf.parent in self.row_syms
        return leaf in self.row_syms

    def printer(self):
        return LoopPrinter(self.names, self.mats)


class _Kernel:
    """Lines of one kernel: temporaries and outputs, with hoisting."""

    def __init__(self, sched, pr):
        self.sched, self.pr = sched, pr
        self._h = 0

    def _fresh(self):
        s = sp.Dummy(f"h{self._h}")
        self.pr.names[s] = f"h{self._h}"
        self._h += 1
        return s

    def nest(self, loops, stmts, pad, around=None):
        """``stmts`` [(template, expr)] inside ``loops`` [(index, lo, hi)]; ``around`` =
        (lines before, lines after) the innermost loop."""
        order = [s for s, _, _ in loops]
        hoisted, exprs = licm([e for _, e in stmts], order, self._fresh)
        L = []
        for lev, (s, lo, hi) in enumerate(loops):
            L += [f"{pad}{self.pr.names[h]} = {self.pr.doprint(e)}" for h, e in hoisted[lev]]
            if around and lev == len(loops) - 1:
                L += [pad + a for a in around[0]]
            L.append(f"{pad}for {self.pr.doprint(s)} in range({self.pr.doprint(lo)}, "
                     f"{self.pr.doprint(hi + 1)}):")
            pad += "    "
        if not loops:
            L += [f"{pad}{self.pr.names[h]} = {self.pr.doprint(e)}" for h, e in hoisted[0]]
        L += [pad + t.format(self.pr.doprint(e)) for (t, _), e in zip(stmts, exprs)]
        if around:
            L += [pad[:-4] + a for a in around[1]]
        return L

    def temp(self, t, pad):
        name = f"t{t.id}"
        at = name + ("[" + ", ".join(f"q{i}" for i in range(t.rank)) + "]" if t.rank else "")
        loops = [(q, lo, hi) for q, (lo, hi) in zip(t.indices, t.ranges)]
        if t.kind == "expr":
            return self.nest(loops, [(at + " = {}", t.body)], pad)
        lo, hi = t.limits
        if t.kind == "lse":  # two passes: the maximum, then the shifted sum
            inner = pad + "    " * len(loops)
            first = self.nest(loops + [(SUMVAR, lo, hi)], [("_m = max(_m, {})", t.body)], pad,
                              around=(["_m = -math.inf"], []))
            second = self.nest([(SUMVAR, lo, hi)], [("_acc += math.exp({} - _m)", t.body)],
                               inner, around=(["_acc = 0.0"], [f"{at} = _m + math.log(_acc)"]))
            return first + second
        if _interchange(t):  # t[q] += body(k, q), q innermost: contiguous reads, vectorized
            return ([f"{pad}for q0 in range({self.pr.doprint(t.ranges[0][0])}, "
                     f"{self.pr.doprint(t.ranges[0][1] + 1)}):", f"{pad}    {at} = 0.0"]
                    + self.nest([(SUMVAR, lo, hi)] + loops, [(at + " += {}", t.body)], pad))
        return self.nest(loops + [(SUMVAR, lo, hi)], [("_acc += {}", t.body)], pad,
                         around=(["_acc = 0.0"], [f"{at} = _acc"]))

    def alloc(self, t, pad):
        dims = ", ".join(self.pr.doprint(hi + 1) for _, hi in t.ranges)
        return f"{pad}t{t.id} = np.empty(({dims},))"


def _inlined(pen):
    """The body of the penalty kernel ``pen`` (its lines) to run inside a public kernel
    after the sizes are bound, its names prefixed ``p_``, its result in ``b`` (one
    dispatcher less to compile: Numba re-optimizes a callee inside each caller)."""
    at = next(i for i, line in enumerate(pen) if line.startswith("    _n = ")) + 1
    assert pen[-1] == "    return out", pen[-1]
    ren = re.compile(r"\b(t\d+|h\d+|out|val|gv\d+)\b")
    return [ren.sub(r"p_\1", line) for line in pen[at:-1]] + ["    b = p_out"]


def _merge_separable(sep):
    """Separable Hessian terms with the same matrix factors as one rank update, their row
    scalars added (sigma' = s - s**2 times x x^T: one product over the rows, not two)."""
    out = {}
    for k, m, ri, ci, R, C, S, A, B in sep:
        key = (k, m, ri, ci, A, B)
        if key in out:
            out[key][6] = out[key][6] + S
        else:
            out[key] = [k, m, ri, ci, R, C, S, A, B]
    return [tuple(t) for t in out.values()]


def _contiguous(m):
    """The index of MatrixElement ``m`` along which its entries are adjacent in memory."""
    return m.j if m.parent.shape[1] != 1 else m.i


def _interchange(t):
    """Whether the sum temporary ``t`` over one free index q reads more matrices (indexed by
    both) contiguously along q than along its summation index (``Sum_k W2[k, q] s[k]``, a
    column of W2): then its loops are interchanged (the sum index outside)."""
    if t.kind != "sum" or t.rank != 1:
        return False
    q = t.indices[0]
    both = [m for m in t.body.atoms(MatrixElement) if {q, SUMVAR} <= m.free_symbols]
    along = [_contiguous(m).free_symbols for m in both]  # an entry of one index only is
    return sum(q in f and SUMVAR not in f for f in along) > \
        sum(SUMVAR in f and q not in f for f in along)  # loop-invariant in one of the orders


def _collect(e, loops):
    """Terms of ``e`` grouped by the entries that depend on the innermost loop index, so that
    ``y*x[a] + s*x[a]`` costs one multiply per entry: ``x[a]*(s - y)`` (its factor hoisted)."""
    if not loops or not e.is_Add:
        return e
    inner = loops[-1][0]
    keys = sorted((m for m in e.atoms(MatrixElement, TmpRef) if inner in m.free_symbols),
                  key=str)
    return sp.collect(e, keys) if keys else e


def _by_delta(terms, loops):
    """Terms grouped by the loop indices their KroneckerDelta factors make equal:
    {((j, i), ...): [term with j := i]} (j the inner of the two loops, its loop dropped)."""
    order = [s for s, _, _ in loops]
    rng = {s: (lo, hi) for s, lo, hi in loops}
    out = {}
    for t in terms:
        sub = {}
        changed = True
        while changed:
            changed = False
            for f in sp.Mul.make_args(t):
                if isinstance(f, sp.KroneckerDelta) and all(a in order for a in f.args) \
                        and rng[f.args[0]] == rng[f.args[1]]:
                    i, j = sorted(f.args, key=order.index)
                    sub[j] = i
                    t = t.xreplace({j: i})
                    changed = True
                    break
        out.setdefault(tuple(sorted(sub.items(), key=str)), []).append(t)
    return out


class _Emitter:
    def __init__(self, layout, part, pen, reduce, order, jit):
        self.lay, self.part, self.pen = layout, part, pen
        self.reduce, self.order, self.jit = reduce, order, jit
        tans = part.tangents
        self.tables = _Tables(layout, tans)
        self.pr = self.tables.printer()
        self.sched = self._schedule(part, rows=True)
        self.psched = self._schedule(pen, rows=False) if pen is not None else None

    def _schedule(self, part, rows):
        s = Scheduler(self.tables.is_row if rows else (lambda e: False))
        for k, W in enumerate(self.lay.wrt):
            if is_matrix(W):
                r, c = shape_of(W)
                for idx in (part.row_idx[k], part.col_idx[k]):
                    if isinstance(idx[0], sp.Symbol):
                        s.declare(idx[0], 0, r - 1)
                    if isinstance(idx[1], sp.Symbol):
                        s.declare(idx[1], 0, c - 1)
        s.part = part
        s.lowered = {}
        return s

    def _index_text(self, k, idx):
        if not idx:
            return f"_xo{k}"
        a, b = idx
        W = self.lay.wrt[k]
        cols = shape_of(W)[1]
        if cols == 1:
            return f"_xo{k} + {self.pr.doprint(a)}"
        return f"_xo{k} + {self.pr.doprint(a)}*{self.pr.doprint(cols)} + {self.pr.doprint(b)}"

    def _grad_target(self, k, idx, base):
        """The gradient entry of wrt ``k`` at ``idx``: through the view ``gv<k>`` of its block
        of ``out`` for a matrix (see :meth:`_Tables.with_views`)."""
        if not idx:
            return f"out[{base}_xo{k}]"
        if shape_of(self.lay.wrt[k])[1] == 1:
            return f"gv{k}[{self.pr.doprint(idx[0])}]"
        return f"gv{k}[{self.pr.doprint(idx[0])}, {self.pr.doprint(idx[1])}]"

    def _loops(self, sched, idx):
        return [(s, *sched.ranges[s]) for s in idx if isinstance(s, sp.Symbol)]

    def _stmts(self, sched, kind, base):
        """[(loops, template, lowered expr)] of the outputs of ``kind``."""
        part = sched.part
        out = []
        if kind in ("v", "vg"):
            out.append(([], "val += {}", sched.lower(part.value, frozenset())))
        if kind in ("g", "vg", "hp"):
            src = part.grads if kind != "hp" else part.hessp
            for k, e in enumerate(src):
                idx = part.row_idx[k]
                loops = self._loops(sched, idx)
                e = _collect(sched.lower(e, frozenset(s for s, _, _ in loops)), loops)
                if e != 0:  # (a bias has no penalty: no loop adding zeros)
                    out.append((loops, self._grad_target(k, idx, base) + " += {}", e))
        if kind == "h":
            for (k, m), e in part.hess.items():
                ri, ci = part.row_idx[k], part.col_idx[m]
                loops = self._loops(sched, ri) + self._loops(sched, ci)
                e = _collect(sched.lower(e, frozenset(s for s, _, _ in loops)), loops)
                out.append((loops, f"out[{self._index_text(k, ri)}, {self._index_text(m, ci)}]"
                            " += {}", e))
        return out

    def _row_dep(self, e, sched):
        return any(self.tables.is_row(a) for a in e.atoms(sp.Symbol, MatrixElement)) or \
            any(sched.temps[int(r.args[0])].row for r in e.atoms(TmpRef))

    def _hess_split(self, sched):
        """Hessian terms: row-independent (added once, times the row count), separable
        s(row) * A(row, a, b) * B(row, c, e) (a blocked rank update through BLAS) and the rest
        (loops per row); a KroneckerDelta of two loop indices drops one of the loops."""
        part = sched.part
        const, sep, rest = [], [], []
        for (k, m), e in part.hess.items():
            ri, ci = part.row_idx[k], part.col_idx[m]
            R, C = self._loops(sched, ri), self._loops(sched, ci)
            e = sched.lower(e, frozenset(s for s, _, _ in R + C))
            Rs, Cs = {s for s, _, _ in R}, {s for s, _, _ in C}
            groups = {"c": [], "r": []}
            for t in sp.Add.make_args(sp.expand_mul(e) if e.is_Mul else e):
                if not self._row_dep(t, sched):
                    groups["c"].append(t)
                    continue
                A, B, S, other = [], [], [], []
                for f in sp.Mul.make_args(t):
                    fs = f.free_symbols & (Rs | Cs)
                    (S if not fs else A if fs <= Rs else B if fs <= Cs else other).append(f)
                if other:
                    groups["r"].append(t)
                else:
                    sep.append((k, m, ri, ci, R, C, sp.Mul(*S), sp.Mul(*A), sp.Mul(*B)))
            for g, tmpl, out in (("c", " += _cnt * ({})", const), ("r", " += {}", rest)):
                for sub, terms in _by_delta(groups[g], R + C).items():
                    sub = dict(sub)
                    loops = [lp for lp in R + C if lp[0] not in sub]
                    at = (f"out[{self._index_text(k, tuple(sp.sympify(i).xreplace(sub) for i in ri))}, "
                          f"{self._index_text(m, tuple(sp.sympify(i).xreplace(sub) for i in ci))}]")
                    out.append((loops, at + tmpl, _collect(sp.Add(*terms), loops)))
        return const, _merge_separable(sep), rest

    def _flat(self, k, idx):
        if not idx:
            return "0"
        a, b = idx
        cols = shape_of(self.lay.wrt[k])[1]
        if cols == 1:
            return self.pr.doprint(a)
        return f"{self.pr.doprint(a)}*{self.pr.doprint(cols)} + {self.pr.doprint(b)}"

    def _size(self, k):
        r, c = shape_of(self.lay.wrt[k])
        return self.pr.doprint(r * c)

    def hess_kernel(self, name, sched):
        """The row-block Hessian: constant terms once, separable terms as np.dot rank updates
        over blocks of ``_BLAS_ROWS`` rows, the rest by loops per row."""
        dargs = "".join(f", d{k}" for k in range(len(self.lay.data)))
        L = _opening(name, f"x, p, rows, lo, hi{dargs}", "_sum_kernel")
        L += self.lay.kernel_lines(self.pr, data=True)
        const, sep, rest = self._hess_split(sched)
        k = _Kernel(sched, self.pr)
        exprs = [e for _, _, e in const + rest] + [e for t in sep for e in t[6:]]
        temps = sched.needed(exprs)
        L += [k.alloc(t, "    ") for t in temps if t.rank]
        L += ["    out = np.zeros((_n, _n))", "    _cnt = float(hi - lo)"]
        L += [line for t in temps if not t.row for line in k.temp(t, "    ")]
        for loops, tmpl, e in const:
            L += k.nest(loops, [(tmpl, e)], "    ")
        if sep:
            L += self._rank_updates(k, sched, sep)
        if rest:
            need = {t.id for t in sched.needed([e for _, _, e in rest])}
            L += ["    for _k in range(lo, hi):", "        _r = rows[_k]"]
            L += [line for t in temps if t.row and t.id in need for line in k.temp(t, " " * 8)]
            for loops, tmpl, e in rest:
                L += k.nest(loops, [(tmpl, e)], " " * 8)
        return self.tables.with_views(L + ["    return out"])

    def _rank_updates(self, k, sched, sep):
        pad = " " * 12
        L = [f"    _bs = max(256, min({_BLAS_ROWS}, {_BLAS_ENTRIES} // max(_n, 1)))",
             "    for _st in range(lo, hi, _bs):",
             "        _m = min(_st + _bs, hi) - _st"]
        for j, (kk, m, *_rest) in enumerate(sep):
            L += [f"        _U{j} = np.empty((_m, {self._size(kk)}))",
                  f"        _V{j} = np.empty((_m, {self._size(m)}))"]
        L += ["        for _k in range(_st, _st + _m):", "            _r = rows[_k]",
              "            _i = _k - _st"]
        need = {t.id for t in sched.needed([e for t in sep for e in t[6:]])}
        L += [line for t in sched.temps if t.row and t.id in need for line in k.temp(t, pad)]
        for j, (kk, m, ri, ci, R, C, S, A, B) in enumerate(sep):
            L += k.nest(R, [(f"_U{j}[_i, {self._flat(kk, ri)}] = {{}}", S * A)], pad)
            L += k.nest(C, [(f"_V{j}[_i, {self._flat(m, ci)}] = {{}}", B)], pad)
        for j, (kk, m, *_rest) in enumerate(sep):
            # a product then a loop: a slice += costs Numba seconds more to compile
            L += [f"        _D = _U{j}.T @ _V{j}",
                  f"        for _a in range({self._size(kk)}):",
                  f"            for _b in range({self._size(m)}):",
                  f"                out[_xo{kk} + _a, _xo{m} + _b] += _D[_a, _b]"]
        return L

    def kernel(self, name, kind, sched, rows, decorator="_sum_kernel"):
        """``rows``: a sum over rows[lo:hi] of the data; else no row loop (the data arrays, if
        any, are passed for their sizes: a penalty's)."""
        if kind == "h" and rows:
            return self.hess_kernel(name, sched)
        v = kind == "hp"
        dargs = "".join(f", d{k}" for k in range(len(self.lay.data)))
        args = "x, v, p" if v else "x, p"
        args += f", rows, lo, hi{dargs}" if rows else dargs
        L = _opening(name, args, decorator)
        L += self.lay.kernel_lines(self.pr, data=bool(self.lay.data), v=v)
        base = "1 + " if kind == "vg" else ""
        stmts = self._stmts(sched, kind, base)
        k = _Kernel(sched, self.pr)
        temps = sched.needed([e for _, _, e in stmts])
        L += [k.alloc(t, "    ") for t in temps if t.rank]
        L.append({"v": "    out = np.zeros(1)", "g": "    out = np.zeros(_n)",
                  "vg": "    out = np.zeros(1 + _n)", "hp": "    out = np.zeros(_n)",
                  "h": "    out = np.zeros((_n, _n))"}[kind])
        L.append("    val = 0.0")
        inner = "        " if rows else "    "
        body = []
        for t in temps:
            if not (rows and t.row):
                L += k.temp(t, "    ")
            else:
                body += k.temp(t, inner)
        for loops, tmpl, e in stmts:
            body += k.nest(loops, [(tmpl, e)], inner)
        if rows:
            L += ["    for _k in range(lo, hi):", "        _r = rows[_k]"] + body
        else:
            L += body
        if kind in ("v", "vg"):
            L.append("    out[0] = val")
        L.append("    return out")
        return self.tables.with_views(L)

    def module(self):
        lay = self.lay
        L = [self._header()]
        L += [f"KIND = 'matrix-objective'", f"REDUCE = {self.reduce!r}", f"ORDER = {self.order}",
              f"PENALTY = {self.pen is not None}", f"NDATA = {len(lay.data)}"]
        kinds = KINDS if self.order >= 2 else ("v", "g", "vg")
        data = bool(lay.data)
        acc, pen = {}, {}
        for kind in kinds:
            L += acc.setdefault(kind, self.kernel(f"_acc_{kind}", kind, self.sched, rows=data,
                                                  decorator="_sum_kernel" if data else "_kernel"))
            if self.psched is not None:
                L += pen.setdefault(kind, self.kernel(f"_pen_{kind}", kind, self.psched,
                                                      rows=False, decorator="_kernel"))
        self._pen_lines = pen
        if data:
            # No parallel Hessian: its rank updates run in BLAS's threads already, and each
            # chunk would need an n x n buffer.
            for kind in kinds:
                L += self._sums(kind) if kind != "h" else []
            for kind in kinds:
                L += self._public(kind, acc[kind])
            for kind in kinds:
                L += self._wrapper(kind, parallel) if kind != "h" else []
        else:
            for kind in kinds:
                L += self._public(kind, acc[kind])
        if self.order >= 2:
            L += self._hess_values(data)
        return "\n".join(L) + "\n"

    def _header(self):
        lay = self.lay
        lines = ['"""Kernels generated by derive-toolkit codegen (matrix objective).', "",
                 CACHE_NOTE, '"""',
                 "# Layout (names shown with ascii(); they never appear in code):"]
        for k, s in enumerate(lay.wrt):
            lines.append(f"#   x[_xo{k} ...] <- {ascii(str(s))} {ascii(str(shape_of(s)))}")
        for k, s in enumerate(lay.params):
            lines.append(f"#   p[_po{k} ...] <- {ascii(str(s))} {ascii(str(shape_of(s)))}")
        for k, s in enumerate(lay.data):
            lines.append(f"#   d{k} <- {ascii(str(s))}")
        for s, n in lay.size_names().items():
            lines.append(f"#   {n} <- size {ascii(str(s))}")
        return "\n".join(lines) + "\n" + prelude(self.jit)

    def _sums(self, kind):
        v = "v, " if kind == "hp" else ""
        dargs = "".join(f", d{k}" for k in range(len(self.lay.data)))
        args = f"x, {v}p, rows{dargs}"
        call = f"x, {v}p, rows, {{}}, {{}}{dargs}"
        chunks = PAR_CHUNKS
        L = _opening(f"_psum_{kind}", args, "_parallel_kernel")
        L += ["    m = rows.shape[0]",
              f"    nc = max(1, min({chunks}, m // {PAR_BLOCK}))",
              f"    first = _acc_{kind}({call.format(0, 0)})",  # the shape: all chunks in prange
              "    parts = np.empty((nc,) + first.shape)",
              "    for c in prange(nc):",
              f"        parts[c] = _acc_{kind}({call.format('(c * m) // nc', '((c + 1) * m) // nc')})",
              "    return parts.sum(axis=0)"]
        return L

    def _finish(self, kind, w, data=True):
        """Lines turning the summed ``a`` into the result (mean, penalty, mirror, type): an
        explicit loop, since Numba compiles each array expression (``a * s + b``) into a ufunc
        loop of its own (seconds of the first call)."""
        L = []
        scale = " * (1.0 / rows.shape[0])" if self.reduce == "mean" and data else ""
        pen = ""
        if self.pen is not None:
            L += _inlined(self._pen_lines[kind])
            pen = f" + b[_i]{w}" if kind != "h" else f" + b[_i, _j]{w}"
        if scale or pen:
            if kind == "h":
                L += ["    for _i in range(a.shape[0]):", "        for _j in range(a.shape[1]):",
                      f"            a[_i, _j] = a[_i, _j]{scale}{pen}"]
            else:
                L += ["    for _i in range(a.shape[0]):", f"        a[_i] = a[_i]{scale}{pen}"]
        if kind == "h":
            L += self._mirror()
        ret = {"v": "    return a[0]", "g": "    return a", "hp": "    return a",
               "vg": "    return a[0], a[1:].copy()", "h": "    return a"}[kind]
        return L + [ret]

    def _mirror(self):
        """Off-diagonal blocks below the diagonal from those above."""
        lay = self.lay
        if len(lay.wrt) < 2:
            return []
        L = self.lay.kernel_lines(self.pr, data=bool(lay.data), v=False)
        for k in range(len(lay.wrt)):
            for m in range(k + 1, len(lay.wrt)):
                nk = self.pr.doprint(shape_of(lay.wrt[k])[0] * shape_of(lay.wrt[k])[1])
                nm = self.pr.doprint(shape_of(lay.wrt[m])[0] * shape_of(lay.wrt[m])[1])
                L.append(f"    a[_xo{m}:_xo{m} + {nm}, _xo{k}:_xo{k} + {nk}] = "
                         f"a[_xo{k}:_xo{k} + {nk}, _xo{m}:_xo{m} + {nm}].T")
        return L

    def _wrapper(self, kind, name):
        v = "v, " if kind == "hp" else ""
        dargs = "".join(f", d{k}" for k in range(len(self.lay.data)))
        args = f"x, {v}p, rows{dargs}"
        L = _opening(name(PUBLIC[kind]), args)
        if self.pen is not None:  # the sizes, for the penalty's lines
            L += self.lay.kernel_lines(self.pr, data=True, v=kind == "hp")
        L.append(f"    a = _psum_{kind}({args})")
        w = ""
        if self.pen is not None and self.reduce == "sum":
            L.append("    w = rows.shape[0] / d0.shape[0]")
            w = " * w"
        return L + self._finish(kind, w)

    def _public(self, kind, acc):
        """The public serial kernel: the row-block kernel's lines ``acc`` over all the rows,
        then :meth:`_finish`.  Not a call of ``_acc_<kind>``: Numba re-optimizes a callee's
        code inside each caller's module, which doubled the first call's compile time."""
        v = "v, " if kind == "hp" else ""
        data = bool(self.lay.data)
        dargs = "".join(f", d{k}" for k in range(len(self.lay.data)))
        at = next(i for i, line in enumerate(acc) if line.startswith("def "))
        assert acc[-1] == "    return out", acc[-1]
        L = acc[:at] + [f"def {PUBLIC[kind]}(x, {v}p{', rows' if data else ''}{dargs}):"]
        if data:
            L += ["    lo = 0", "    hi = rows.shape[0]"]
        L += acc[at + 1:-1] + ["    a = out"]
        if not data:
            return L + self._finish(kind, "", data=False)
        w = ""
        if self.pen is not None and self.reduce == "sum":
            L.append("    w = rows.shape[0] / d0.shape[0]")
            w = " * w"
        return L + self._finish(kind, w)

    def _hess_values(self, data):
        dargs = "".join(f", d{k}" for k in range(len(self.lay.data)))
        args = f"x, p, rows{dargs}" if data else "x, p"
        L = []
        for name in ((lambda s: s),):
            L += _opening(name("hess_values"), args,
                          doc="Hessian entries in CSR order of the dense pattern (row-major).")
            L += [f"    return {name('hess')}({args}).ravel()"]
        return L


def matrix_module(layout, part, penalty, reduce, order, jit=True):
    """Source of the kernel module of a matrix model (``part``: :class:`~codegen.matrix_symbolic.
    Part` of the per-row term, or of the whole objective without data; ``penalty``: the Part
    of the penalty or None)."""
    return _Emitter(layout, part, penalty, reduce, order, jit).module()
