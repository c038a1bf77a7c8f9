"""Generate the source of a kernel module from a symbolic objective or vector function.

One ``sympy.cse`` runs over the value, every gradient component and every
upper-triangle Hessian entry together; each kernel then prints only the
temporaries its outputs need.  In a data sum, temporaries that do not depend
on the row are hoisted out of the row loop.  Symbols are printed through a
names table (``x[i]``, ``p[i]``, ``d0[_r]``, ``d1[_r, j]``), never by name.
"""
import os
import sys
import time

import sympy as sp

from .derivatives import _Differ, gradient, hessian_upper, jacobian_sparse
from .printer import NumbaPrinter, check_supported, expand_exp_sharing, prelude, steps_ae
from .rewrite import stabilize

__all__ = ["objective_source", "vector_source"]

PAR_BLOCK = 4096  # minimum rows per parallel chunk
PAR_CHUNKS = 64  # chunks handed to prange (balanced over however many threads run)


#: A build slower than this (seconds) reports each stage on stderr, so a long
#: derivation says what it is doing; DERIVE_QUIET=1 silences it.
PROGRESS_AFTER = 1.0


class _Timer:
    def __init__(self):
        self.times = {}
        self._t = self._start = time.perf_counter()
        self._quiet = os.environ.get("DERIVE_QUIET", "") not in ("", "0")

    def lap(self, name):
        t = time.perf_counter()
        self.times[name] = self.times.get(name, 0.0) + t - self._t
        self._t = t
        if not self._quiet and t - self._start > PROGRESS_AFTER:
            print(f"codegen: {name} done ({t - self._start:.1f} s so far)", file=sys.stderr, flush=True)


def _ascii_name(s):
    return ascii(str(s))


class _Block:
    """CSE'd outputs and the temporaries each needs, printed on demand.

    ``loads`` maps a symbol to the statement that loads it into its local name
    (``xv3 = x[3]``); a kernel emits the loads of the symbols it uses, so the
    body indexes no arrays (Numba compile time grows with IR size).
    """

    def __init__(self, outputs, names, loads, row_syms=frozenset(), prefix="t"):
        temps = sp.numbered_symbols("_t", cls=sp.Dummy)
        outputs = [expand_exp_sharing(e) for e in outputs]
        reps, reduced = sp.cse(list(outputs), symbols=temps, order="none")
        self.reps = reps
        self.outputs = reduced
        self.names = dict(names)
        self.loads = loads
        self.index = {}
        for k, (s, _) in enumerate(reps):
            self.index[s] = k
            self.names[s] = f"{prefix}{k}"
        self.printer = NumbaPrinter(self.names)
        self.deps = []
        self.row = []
        self.syms = []
        for k, (s, e) in enumerate(reps):
            fs = e.free_symbols
            d = {self.index[t] for t in fs if t in self.index}
            self.deps.append(d)
            self.syms.append({t for t in fs if t not in self.index})
            self.row.append(bool(fs & row_syms) or any(self.row[j] for j in d))
        self._printed = {}

    def text(self, e):
        key = id(e)
        if key not in self._printed:
            self._printed[key] = (e, self.printer.doprint(e))
        return self._printed[key][1]

    def needed(self, out_ids):
        need = set()
        stack = []
        for i in out_ids:
            stack.extend(self.index[t] for t in self.outputs[i].free_symbols if t in self.index)
        while stack:
            k = stack.pop()
            if k not in need:
                need.add(k)
                stack.extend(self.deps[k])
        return sorted(need)

    def used(self, out_ids, ks):
        """Non-temporary symbols used by the outputs and temporaries ``ks``."""
        u = set()
        for i in out_ids:
            u |= {t for t in self.outputs[i].free_symbols if t not in self.index}
        for k in ks:
            u |= self.syms[k]
        return u

    def load_lines(self, syms, indent):
        pad = " " * indent
        return [pad + self.loads[s] for s in sorted(syms, key=lambda s: self.loads[s])
                if s in self.loads]

    def assigns(self, ks, indent):
        pad = " " * indent
        return [f"{pad}{self.names[self.reps[k][0]]} = {self.text(self.reps[k][1])}" for k in ks]


def _factor_outer(e):
    """``factor_terms`` of ``e`` with every function application frozen as one symbol.

    factor_terms recurses into function arguments; for a GLM each derivative holds
    sigmoid(w.x) with a d-term sum inside, and factoring those sums made the build of a
    30-feature logistic objective take ~30 s. Only the outer products need factoring.
    """
    apps = {a: sp.Dummy() for a in e.atoms(sp.Function)}
    if not apps:
        return sp.factor_terms(e)
    back = {v: k for k, v in apps.items()}
    return sp.factor_terms(e.xreplace(apps)).xreplace(back)


def _templates(f, wrt, min_instances):
    """Split f = sum of terms into repeated templates and a rest.

    A term's template is the term with its variables replaced, in order of
    first appearance, by placeholders u0, u1, ... and its non-integer numeric
    coefficients by c0, c1, ...  Terms sharing a template (the n - 1 terms of
    extended Rosenbrock, the residuals of a least-squares fit) are derived
    once and evaluated by a loop over an index table, which keeps SymPy work,
    CSE and Numba compile time independent of n.
    """
    wrtset = set(wrt)
    index = {s: i for i, s in enumerate(wrt)}
    U, C = [], []
    groups = {}
    terms = sp.Add.make_args(f)
    if len(terms) < min_instances:
        return [], f
    for t in terms:
        vs = []
        nums = []
        expo = set()
        for node in sp.preorder_traversal(t):
            if node in wrtset:
                if node not in vs:
                    vs.append(node)
            elif node.is_Add or node.is_Mul:
                for a in node.args:
                    if a.is_Number and not a.is_Integer and a not in nums:
                        nums.append(a)
            elif node.args:
                # Numbers in exponents, function or condition arguments stay literal.
                expo |= {a for a in node.args if a.is_Number}
        if not vs:
            groups.setdefault(("rest", t), []).append(None)
            continue
        nums = [a for a in nums if a not in expo and a.is_finite]
        while len(U) < len(vs):
            U.append(sp.Dummy(f"u{len(U)}", real=True))
        while len(C) < len(nums):
            C.append(sp.Dummy(f"c{len(C)}", real=True))
        rep = {v: U[j] for j, v in enumerate(vs)}
        rep.update({a: C[j] for j, a in enumerate(nums)})
        canon = t.xreplace(rep)
        groups.setdefault(canon, []).append((t, tuple(index[v] for v in vs),
                                             tuple(float(a) for a in nums)))
    templates, rest = [], []
    for canon, inst in groups.items():
        if isinstance(canon, tuple):
            rest.extend([canon[1]] * len(inst))
        elif len(inst) >= min_instances:
            m = len(inst[0][1])
            k = len(inst[0][2])
            templates.append((canon, U[:m], C[:k], [i[1] for i in inst], [i[2] for i in inst]))
        else:
            rest.extend(i[0] for i in inst)
    return templates, sp.Add(*rest)


def _header(kind, wrt, params, data, jit, extra):
    # Symbol names go into comments only, through ascii(): one line, no
    # newline or quote can escape the comment.
    lines = [f'"""Kernels generated by derive-toolkit codegen ({kind}).', "",
             "Do not edit: the file is a cache entry and is checksummed."]
    lines += extra
    lines += ['"""', "# Symbol layout (names shown with ascii(); they never appear in code):"]
    for i, s in enumerate(wrt):
        lines.append(f"#   x[{i}] <- {_ascii_name(s)}")
    for i, s in enumerate(params):
        lines.append(f"#   p[{i}] <- {_ascii_name(s)}")
    for k, (is_vec, syms) in enumerate(data):
        if is_vec:
            lines.append(f"#   d{k}[r] <- {_ascii_name(syms[0])}")
        else:
            for j, s in enumerate(syms):
                lines.append(f"#   d{k}[r, {j}] <- {_ascii_name(s)}")
    return "\n".join(lines) + "\n" + prelude(jit)


def _names(wrt, params, data, row="_r"):
    """(names, loads): each symbol's local name and the statement loading it."""
    names, loads = {}, {}
    for i, s in enumerate(wrt):
        names[s] = f"xv{i}"
        loads[s] = f"xv{i} = x[{i}]"
    for i, s in enumerate(params):
        names[s] = f"pv{i}"
        loads[s] = f"pv{i} = p[{i}]"
    for k, (is_vec, syms) in enumerate(data):
        for j, s in enumerate(syms):
            names[s] = f"dv{k}_{j}"
            loads[s] = f"dv{k}_{j} = d{k}[{row}]" if is_vec else f"dv{k}_{j} = d{k}[{row}, {j}]"
    return names, loads


def _real_map(wrt, params, data):
    """Real Dummies for the declared symbols that SymPy does not know to be real.

    The kernels compute over the reals; without the assumption SymPy's
    derivatives of Abs, sign, atan2 ... carry re()/im() terms.
    """
    syms = list(wrt) + list(params) + [s for _, ss in data for s in ss]
    return {s: sp.Dummy(s.name, real=True) for s in syms if s.is_real is not True}


def _apply(rmap, wrt, params, data):
    return ([rmap.get(s, s) for s in wrt], [rmap.get(s, s) for s in params],
            [(v, tuple(rmap.get(s, s) for s in ss)) for v, ss in data])


def _int_array(name, values):
    return f"{name} = np.array({list(map(int, values))!r}, dtype=np.int64)"


def _hess_tables(n, upper):
    """Row/col of the upper entries and their positions in the full symmetric CSR."""
    rows = [i for i, _ in upper]
    cols = [j for _, j in upper]
    full = sorted(set(upper) | {(j, i) for i, j in upper})
    pos = {ij: k for k, ij in enumerate(full)}
    indptr = [0] * (n + 1)
    for i, _ in full:
        indptr[i + 1] += 1
    for i in range(n):
        indptr[i + 1] += indptr[i]
    indices = [j for _, j in full]
    p1 = [pos[(i, j)] for i, j in upper]
    p2 = [pos[(j, i)] for i, j in upper]
    return rows, cols, indptr, indices, p1, p2


class _Template:
    """One repeated term: its outputs CSE'd once, evaluated in a loop over instances."""

    def __init__(self, tid, canon, U, C, idx, consts, params, order, pos):
        differ = _Differ()
        g = gradient(canon, U, differ)
        h = hessian_upper(g, U, differ) if order >= 2 else {}
        g = [_factor_outer(e) for e in g]
        h = {k: _factor_outer(e) for k, e in h.items()}
        self.tid = tid
        self.count = len(idx)
        self.m = len(U)
        self.gnz = [a for a in range(self.m) if g[a] != 0]
        self.hkeys = sorted(h)
        names = {u: f"u{a}" for a, u in enumerate(U)}
        loads = {u: f"u{a} = x[i{a}]" for a, u in enumerate(U)}
        names.update({c: f"c{b}" for b, c in enumerate(C)})
        loads.update({c: f"c{b} = _C[_k, {b}]" for b, c in enumerate(C)})
        pn, pl = _names([], params, [])
        names.update(pn)
        loads.update(pl)
        self.blk = _Block([canon] + [g[a] for a in self.gnz] + [h[k] for k in self.hkeys],
                          names, loads, prefix=f"s{tid}_")
        self.V = [0]
        self.G = list(range(1, 1 + len(self.gnz)))
        self.H = list(range(1 + len(self.gnz), 1 + len(self.gnz) + len(self.hkeys)))
        self.idx = idx
        self.consts = consts
        self.pairs = [[(min(r[a], r[b]), max(r[a], r[b])) for a, b in self.hkeys] for r in idx]
        self.pos = pos

    def tables(self):
        L = [f"IDX{self.tid} = np.array({[list(r) for r in self.idx]!r}, dtype=np.int64)"]
        if self.consts and self.consts[0]:
            L.append(f"C{self.tid} = np.array({[list(c) for c in self.consts]!r}, dtype=np.float64)")
        if self.hkeys:
            hp = [[self.pos[ij] for ij in row] for row in self.pairs]
            L.append(f"HP{self.tid} = np.array({hp!r}, dtype=np.int64)")
        return L

    def loop(self, want_v, want_g, want_h):
        b = self.blk
        ids = (self.V if want_v else []) + (self.G if want_g else []) + (self.H if want_h else [])
        ks = b.needed(ids)
        used = b.used(ids, ks)
        # One local alias per global table: each global reference would embed
        # its own copy of the constant array in the compiled module.
        L = [f"    _I = IDX{self.tid}"]
        if self.consts and self.consts[0]:
            L.append(f"    _C = C{self.tid}")
        if want_h and self.hkeys:
            L.append(f"    _H = HP{self.tid}")
        L += [f"    for _k in range({self.count}):"]
        L += [f"        i{a} = _I[_k, {a}]" for a in range(self.m)]
        L += b.load_lines(used, 8)
        L += b.assigns(ks, 8)
        o = b.outputs
        if want_v:
            L.append(f"        val += {b.text(o[0])}")
        if want_g:
            L += [f"        g[i{a}] += {b.text(o[k])}" for a, k in zip(self.gnz, self.G)]
        if want_h:
            L += [f"        hu[_H[_k, {e}]] += {b.text(o[k])}" for e, k in enumerate(self.H)]
        return L


def objective_source(f, wrt, params, data, reduce="sum", order=2, jit=True, stable=True,
                     min_instances=3):
    """Source of the kernel module of a scalar objective; returns (source, timings).

    ``data`` is a list of ``(is_vector, symbols)``: a Symbol item (1-D array) is
    ``(True, (s,))``, a sequence item (N x k array) is ``(False, (s1, ..., sk))``.
    Without data, terms of f repeated up to variable renaming (at least
    ``min_instances`` times) become loops over index tables.
    """
    tm = _Timer()
    n = len(wrt)
    # On the user's expression, before any derivative: errors name the user's function.
    check_supported([f], wrt, order)
    header = _header("objective", wrt, params, data, jit,
                     ["", f"n = {n}, reduce = {reduce!r}, Hessian order = {order}"])
    rmap = _real_map(wrt, params, data)
    f = f.xreplace(rmap)
    wrt, params, data = _apply(rmap, wrt, params, data)
    if stable:
        f = stabilize(f)
        tm.lap("rewrite")
    f = steps_ae(f)
    templates = []
    if not data and min_instances:
        templates, f = _templates(f, wrt, min_instances)
        tm.lap("templates")
    differ = _Differ()
    g = gradient(f, wrt, differ)
    tm.lap("gradient")
    upper = hessian_upper(g, wrt, differ) if order >= 2 else {}
    tm.lap("hessian")
    # Global upper-triangle pattern: the rest's entries and every instance's.
    tpairs = set()
    for canon, U, C, idx, consts in templates:
        if order >= 2:
            d = _Differ()
            hk = hessian_upper(gradient(canon, U, d), U, d)
            for r in idx:
                tpairs |= {(min(r[a], r[b]), max(r[a], r[b])) for a, b in hk}
    keys = sorted(set(upper) | tpairs)
    pos = {ij: k for k, ij in enumerate(keys)}
    if data:
        # Per-row derivatives of f(z(w)) are f'(z) * dz/dw_j summed over terms;
        # pulling the common factors out lets CSE share f'(z) across all j.
        g = [_factor_outer(e) for e in g]
        upper = {k: _factor_outer(e) for k, e in upper.items()}
        tm.lap("factor")
    nz = [i for i in range(n) if g[i] != 0]
    rkeys = sorted(upper)
    outputs = [f] + [g[i] for i in nz] + [upper[k] for k in rkeys]
    row_syms = frozenset(s for _, syms in data for s in syms)
    names, loads = _names(wrt, params, data)
    blk = _Block(outputs, names, loads, row_syms)
    tms = [_Template(t, *tpl, params, order, pos) for t, tpl in enumerate(templates)]
    tm.lap("cse")
    V = [0]
    G = list(range(1, 1 + len(nz)))
    Hs = list(range(1 + len(nz), 1 + len(nz) + len(rkeys)))
    rows, cols, indptr, indices, p1, p2 = _hess_tables(n, keys)
    out = [header, "", f"# repeated-term loops: {len(tms)}", "KIND = 'objective'", f"N = {n}", f"N_PARAMS = {len(params)}",
            f"DATA_LAYOUT = {tuple(0 if v else len(s) for v, s in data)!r}",
            f"REDUCE = {reduce!r}", f"ORDER = {order}", f"NNZ_UPPER = {len(keys)}",
            _int_array("HU_ROW", rows), _int_array("HU_COL", cols),
            _int_array("HESS_INDPTR", indptr), _int_array("HESS_INDICES", indices),
            _int_array("_HU_POS1", p1), _int_array("_HU_POS2", p2)]
    for t in tms:
        out += t.tables()
    out.append("")
    if data:
        out += _data_kernels(blk, n, nz, V, G, Hs, len(data), reduce, order)
    else:
        out += _plain_kernels(blk, n, nz, V, G, Hs, order, [pos[k] for k in rkeys], tms, rkeys)
    # Without data or repeated-term loops, hess fills H directly (one allocation,
    # not two: what dominates a tiny Hessian called from a compiled solver).
    out += _hess_wrappers(data, order, direct_hess=not data and not tms)
    tm.lap("print")
    return "\n".join(out) + "\n", tm.times


def _plain_kernels(blk, n, nz, V, G, Hs, order, hpos, tms, rkeys):
    o = blk.outputs
    L = []

    def body(ids):
        ks = blk.needed(ids)
        return blk.load_lines(blk.used(ids, ks), 4) + blk.assigns(ks, 4)

    gl = [f"    g[{i}] = {blk.text(o[G[a]])}" for a, i in enumerate(nz)]
    val = [f"    val = float({blk.text(o[0])})"]
    L += ["", "@_kernel", "def value(x, p):"] + body(V) + val
    for t in tms:
        L += t.loop(True, False, False)
    L += ["    return val"]
    L += ["", "", "@_kernel", "def grad(x, p):"] + body(G) + ["    g = np.zeros(N)"] + gl
    for t in tms:
        L += t.loop(False, True, False)
    L += ["    return g"]
    L += ["", "", "@_kernel", "def value_and_grad(x, p):"] + body(V + G) + val
    L += ["    g = np.zeros(N)"] + gl
    for t in tms:
        L += t.loop(True, True, False)
    L += ["    return val, g"]
    if order >= 2:
        L += ["", "", "@_kernel", "def hess_upper(x, p):",
              '    """Upper-triangle Hessian entries in (HU_ROW, HU_COL) order."""'] + body(Hs)
        L += ["    hu = np.zeros(NNZ_UPPER)"]
        L += [f"    hu[{hpos[a]}] = {blk.text(o[k])}" for a, k in enumerate(Hs)]
        for t in tms:
            L += t.loop(False, False, True)
        L += ["    return hu"]
        if not tms:
            L += ["", "", "@_kernel", "def hess(x, p):"] + body(Hs) + ["    H = np.zeros((N, N))"]
            for (i, j), k in zip(rkeys, Hs):
                if i == j:
                    L.append(f"    H[{i}, {i}] = {blk.text(o[k])}")
                else:
                    L += [f"    h = {blk.text(o[k])}", f"    H[{i}, {j}] = h", f"    H[{j}, {i}] = h"]
            L += ["    return H"]
    return L


def _data_kernels(blk, n, nz, V, G, Hs, ndata, reduce, order):
    o = blk.outputs
    dargs = "".join(f", d{k}" for k in range(ndata))
    L = []
    kinds = {"v": V, "g": G, "vg": V + G}
    if order >= 2:
        kinds["h"] = Hs
    for kind, ids in kinds.items():
        need = blk.needed(ids)
        hoist = [k for k in need if not blk.row[k]]
        inner = [k for k in need if blk.row[k]]
        used = blk.used(ids, need)
        row_used = {s for s in used if "[_r" in blk.loads.get(s, "")}
        L += ["", "", "@_sum_kernel", f"def _acc_{kind}(x, p, rows, lo, hi{dargs}):"]
        L += blk.load_lines(used - row_used, 4)
        L += blk.assigns(hoist, 4)
        # Scalar accumulators stay in registers; an array would be re-loaded
        # and stored every row (it may alias the data as far as LLVM knows).
        L += [f"    a{a} = 0.0" for a in range(len(ids))]
        L += ["    for _k in range(lo, hi):", "        _r = rows[_k]"]
        L += blk.load_lines(row_used, 8)
        L += blk.assigns(inner, 8)
        L += [f"        a{a} += {blk.text(o[i])}" for a, i in enumerate(ids)]
        L += [f"    acc = np.empty({len(ids)})"] + [f"    acc[{a}] = a{a}" for a in range(len(ids))]
        L += ["    return acc"]
        L += ["", "", "@_kernel", f"def _sum_{kind}(x, p, rows{dargs}):",
              f"    return _acc_{kind}(x, p, rows, 0, rows.shape[0]{dargs})"]
        L += ["", "", "@_parallel_kernel", f"def _psum_{kind}(x, p, rows{dargs}):",
              "    m = rows.shape[0]",
              # A fixed chunk count, not numba.get_num_threads(): that call is a
              # dynamic global and would stop Numba from caching this kernel.
              f"    nc = max(1, min({PAR_CHUNKS}, m // {PAR_BLOCK}))",
              f"    parts = np.empty((nc, {len(ids)}))",
              "    for c in prange(nc):",
              f"        parts[c, :] = _acc_{kind}(x, p, rows, (c * m) // nc, ((c + 1) * m) // nc{dargs})",
              "    return parts.sum(axis=0)"]
    scale = "1.0 / rows.shape[0]" if reduce == "mean" else "1.0"
    for suffix, fn in (("", "_sum_"), ("_parallel", "_psum_")):
        sig = f"(x, p, rows{dargs})"
        call = f"(x, p, rows{dargs})"
        L += ["", "", "@_kernel", f"def value{suffix}{sig}:",
              f"    return {fn}v{call}[0] * ({scale})"]
        L += ["", "", "@_kernel", f"def grad{suffix}{sig}:",
              f"    a = {fn}g{call}", "    g = np.zeros(N)"]
        L += [f"    g[{i}] = a[{k}]" for k, i in enumerate(nz)]
        L += [f"    return g * ({scale})"]
        L += ["", "", "@_kernel", f"def value_and_grad{suffix}{sig}:",
              f"    a = {fn}vg{call}", "    g = np.zeros(N)"]
        L += [f"    g[{i}] = a[{k + 1}]" for k, i in enumerate(nz)]
        L += [f"    s = {scale}", "    return a[0] * s, g * s"]
        if order >= 2:
            L += ["", "", "@_kernel", f"def hess_upper{suffix}{sig}:",
                  f"    return {fn}h{call} * ({scale})"]
    return L


def _hess_wrappers(data, order, direct_hess=False):
    if order < 2:
        return []
    dargs = "".join(f", d{k}" for k in range(len(data)))
    tail = f", rows{dargs}" if data else ""
    L = []
    for suffix in ("", "_parallel") if data else ("",):
        hu = f"hess_upper{suffix}(x, p{tail})"
        if not direct_hess:
            L += ["", "", "@_kernel", f"def hess{suffix}(x, p{tail}):", f"    hu = {hu}",
                  "    H = np.zeros((N, N))", "    for k in range(NNZ_UPPER):",
                  "        i = HU_ROW[k]", "        j = HU_COL[k]",
                  "        H[i, j] = hu[k]", "        H[j, i] = hu[k]", "    return H"]
        L += ["", "", "@_kernel", f"def hess_values{suffix}(x, p{tail}):",
              '    """Hessian entries in CSR order of (HESS_INDPTR, HESS_INDICES)."""',
              f"    hu = {hu}", "    out = np.empty(HESS_INDICES.shape[0])",
              "    for k in range(NNZ_UPPER):", "        out[_HU_POS1[k]] = hu[k]",
              "        out[_HU_POS2[k]] = hu[k]", "    return out"]
        L += ["", "", "@_kernel", f"def hessp{suffix}(x, v, p{tail}):",
              '    """H @ v from the upper entries, without forming H."""',
              f"    hu = {hu}", "    out = np.zeros(N)", "    for k in range(NNZ_UPPER):",
              "        i = HU_ROW[k]", "        j = HU_COL[k]", "        out[i] += hu[k] * v[j]",
              "        if i != j:", "            out[j] += hu[k] * v[i]", "    return out"]
    return L


def vector_source(F, wrt, params, jit=True, stable=True):
    """Source of the kernel module of a vector function F (m outputs); returns (source, timings)."""
    tm = _Timer()
    n, m = len(wrt), len(F)
    check_supported(F, wrt, order=1)
    header = _header("vector function", wrt, params, [], jit, ["", f"m = {m}, n = {n}"])
    rmap = _real_map(wrt, params, [])
    F = [e.xreplace(rmap) for e in F]
    wrt, params, _ = _apply(rmap, wrt, params, [])
    if stable:
        F = [stabilize(e) for e in F]
        tm.lap("rewrite")
    F = [steps_ae(e) for e in F]
    J = jacobian_sparse(F, wrt, _Differ())
    tm.lap("jacobian")
    keys = list(J)  # row-major, columns ascending: CSR order
    names, loads = _names(wrt, params, [])
    blk = _Block(list(F) + [J[k] for k in keys], names, loads)
    tm.lap("cse")
    indptr = [0] * (m + 1)
    for i, _ in keys:
        indptr[i + 1] += 1
    for i in range(m):
        indptr[i + 1] += indptr[i]
    o = blk.outputs
    Fi = list(range(m))
    Ji = list(range(m, m + len(keys)))
    L = [header]
    L += ["", "KIND = 'vector'", f"N = {n}", f"M = {m}", f"N_PARAMS = {len(params)}",
          f"NNZ = {len(keys)}", _int_array("JAC_ROW", [i for i, _ in keys]),
          _int_array("JAC_INDPTR", indptr), _int_array("JAC_INDICES", [j for _, j in keys]), ""]
    def body(ids):
        ks = blk.needed(ids)
        return blk.load_lines(blk.used(ids, ks), 4) + blk.assigns(ks, 4)

    L += ["", "@_kernel", "def value(x, p):"] + body(Fi)
    L += ["    out = np.empty(M)"] + [f"    out[{i}] = {blk.text(o[i])}" for i in Fi] + ["    return out"]
    L += ["", "", "@_kernel", "def jacobian_values(x, p):",
          '    """Jacobian entries in CSR order of (JAC_INDPTR, JAC_INDICES)."""']
    L += body(Ji) + ["    out = np.zeros(NNZ)"]
    L += [f"    out[{a}] = {blk.text(o[k])}" for a, k in enumerate(Ji)] + ["    return out"]
    L += ["", "", "@_kernel", "def jacobian(x, p):", "    vals = jacobian_values(x, p)",
          "    J = np.zeros((M, N))", "    for k in range(NNZ):",
          "        J[JAC_ROW[k], JAC_INDICES[k]] = vals[k]", "    return J"]
    tm.lap("print")
    return "\n".join(L) + "\n", tm.times
