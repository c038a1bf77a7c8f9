"""The symbolic stage: a SymPy objective or vector function in, its derivatives CSE'd out.

:func:`derive_objective` and :func:`derive_vector` check the expression, make the
variables real (:class:`derive._validate.RealVars`, the one rule for "real"),
apply the stable rewrites, split repeated terms into templates, differentiate,
factor, run one ``sympy.cse`` and compute the symbolic sparsity pattern.  They
return frozen dataclasses; nothing here prints code (that is :mod:`codegen.emit`).

>>> import sympy as sp
>>> a, b = sp.symbols("a b")
>>> d = derive_objective((1 - a)**2 + 100 * (b - a**2)**2, [a, b], [], [])
>>> d.grad_rows, d.hess_keys, d.pattern.indptr
((0, 1), ((0, 0), (0, 1), (1, 1)), (0, 2, 4))
"""
from dataclasses import dataclass

import sympy as sp

from derive._validate import RealVars

from .derivatives import _Differ, hessian_upper, jacobian_sparse, partials
from .errors import CodegenError
from .printer import check_supported, expand_exp_sharing, steps_ae
from .rewrite import stabilize

__all__ = ["CSE", "HessPattern", "Template", "ObjectiveDerivation", "VectorDerivation",
           "derive_objective", "derive_vector", "csr_indptr"]


def _no_lap(stage):
    """Default progress callback: stages are not timed."""


@dataclass(frozen=True, eq=False)
class CSE:
    """Outputs after one ``sympy.cse``: ``replacements`` (temporary, expression) and the reduced
    ``outputs``.

    ``deps[k]`` are the temporaries replacement k uses, ``syms[k]`` its other free symbols,
    ``row[k]`` whether it depends on a data symbol (directly or through temporaries): decided
    on the expressions, so the emitter hoists the other temporaries out of the row loop.
    """

    replacements: tuple
    outputs: tuple
    deps: tuple
    syms: tuple
    row: tuple
    index: dict  # temporary -> its position in replacements

    @classmethod
    def of(cls, outputs, row_syms=frozenset()):
        temps = sp.numbered_symbols("_t", cls=sp.Dummy)
        outputs = [expand_exp_sharing(e) for e in outputs]
        reps, reduced = sp.cse(list(outputs), symbols=temps, order="none")
        index = {s: k for k, (s, _) in enumerate(reps)}
        deps, syms, row = [], [], []
        for s, e in reps:
            fs = e.free_symbols
            d = frozenset(index[t] for t in fs if t in index)
            deps.append(d)
            syms.append(frozenset(t for t in fs if t not in index))
            row.append(bool(fs & row_syms) or any(row[j] for j in d))
        return cls(tuple(reps), tuple(reduced), tuple(deps), tuple(syms), tuple(row), index)

    def needed(self, out_ids):
        """Sorted positions of the temporaries the outputs ``out_ids`` need."""
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
        """Non-temporary symbols used by the outputs ``out_ids`` and the temporaries ``ks``."""
        u = set()
        for i in out_ids:
            u |= {t for t in self.outputs[i].free_symbols if t not in self.index}
        for k in ks:
            u |= self.syms[k]
        return u


def csr_indptr(nrows, entry_rows):
    """CSR row pointer of entries whose rows (sorted ascending) are ``entry_rows``."""
    indptr = [0] * (nrows + 1)
    for i in entry_rows:
        indptr[i + 1] += 1
    for i in range(nrows):
        indptr[i + 1] += indptr[i]
    return tuple(indptr)


@dataclass(frozen=True)
class HessPattern:
    """Symbolic sparsity of a symmetric n x n Hessian stored as its upper triangle.

    ``upper`` lists the (i, j), j >= i, entries in storage order; ``indptr``/``indices`` are the
    full symmetric CSR pattern and ``pos1``/``pos2`` the CSR positions of (i, j) and (j, i).
    """

    n: int
    upper: tuple
    indptr: tuple
    indices: tuple
    pos1: tuple
    pos2: tuple

    @classmethod
    def of(cls, n, upper):
        upper = tuple(upper)
        full = sorted(set(upper) | {(j, i) for i, j in upper})
        pos = {ij: k for k, ij in enumerate(full)}
        return cls(n, upper, csr_indptr(n, [i for i, _ in full]), tuple(j for _, j in full),
                   tuple(pos[(i, j)] for i, j in upper), tuple(pos[(j, i)] for i, j in upper))

    @property
    def rows(self):
        return tuple(i for i, _ in self.upper)

    @property
    def cols(self):
        return tuple(j for _, j in self.upper)


@dataclass(frozen=True)
class Template:
    """A term repeated up to renaming of its variables, derived once for all its instances.

    The term is written in ``placeholders`` u0, u1, ... (instance k puts ``x[idx[k][a]]`` in
    u_a) and ``constants`` c0, c1, ... (instance k's ``consts[k][b]``).  ``cse.outputs`` are the
    term, its nonzero partials (by ``grad_args``) and its upper Hessian entries (``hess_keys``,
    pairs of placeholder positions).
    """

    placeholders: tuple
    constants: tuple
    idx: tuple
    consts: tuple
    grad_args: tuple
    hess_keys: tuple
    cse: CSE

    @property
    def count(self):
        return len(self.idx)

    def hess_pairs(self):
        """Per instance, the global (i, j) upper entries its Hessian entries add to."""
        return [[(min(r[a], r[b]), max(r[a], r[b])) for a, b in self.hess_keys] for r in self.idx]


@dataclass(frozen=True)
class ObjectiveDerivation:
    """A scalar objective, derived: what the emitter prints as an objective module.

    ``declared`` holds wrt, params and data as the user gave them (for the module's comments),
    ``wrt``/``params``/``data`` their real counterparts.  ``cse.outputs`` are the value, the
    gradient rows ``grad_rows`` and the upper Hessian entries ``hess_keys`` of the part of f
    that is not a template; ``pattern`` is the whole Hessian's symbolic sparsity (with a
    ``penalty``, the union of the data term's pattern and the penalty's).
    """

    declared: tuple
    wrt: tuple
    params: tuple
    data: tuple
    reduce: str
    order: int
    grad_rows: tuple
    hess_keys: tuple
    cse: CSE
    templates: tuple
    pattern: HessPattern
    penalty: "ObjectiveDerivation | None" = None  # with data: the penalty, derived apart

    @property
    def n(self):
        return len(self.wrt)

    @property
    def data_symbols(self):
        """The symbols that change with the data row."""
        return frozenset(s for _, syms in self.data for s in syms)

    @property
    def value_ids(self):
        return [0]

    @property
    def grad_ids(self):
        return list(range(1, 1 + len(self.grad_rows)))

    @property
    def hess_ids(self):
        start = 1 + len(self.grad_rows)
        return list(range(start, start + len(self.hess_keys)))


@dataclass(frozen=True)
class VectorDerivation:
    """A vector function F, derived: ``cse.outputs`` are F's m entries, then the Jacobian's
    structurally nonzero entries at ``jac_keys`` (row-major: CSR order)."""

    declared: tuple
    wrt: tuple
    params: tuple
    m: int
    jac_keys: tuple
    cse: CSE

    @property
    def n(self):
        return len(self.wrt)

    @property
    def jac_indptr(self):
        return csr_indptr(self.m, [i for i, _ in self.jac_keys])


def _real(exprs, wrt, params, data):
    """The declared symbols made real (one rule: :class:`derive._validate.RealVars`).

    Kernels compute in float64: without the assumption SymPy's derivatives of Abs, sign,
    atan2 ... carry re()/im() terms; a symbol declared non-real cannot be computed at all.
    """
    declared = list(wrt) + list(params) + [s for _, ss in data for s in ss]
    for s in declared:
        if s.is_real is False:
            raise CodegenError(
                f"symbol {str(s)!r} is declared non-real (e.g. imaginary=True), but compiled "
                "kernels compute in float64 over the reals; declare it real, or leave its "
                "realness unset, or split it into real and imaginary parts")
    r = RealVars(exprs, declared)
    return ([r.fwd(e) for e in exprs], tuple(r.fwd(s) for s in wrt),
            tuple(r.fwd(s) for s in params), tuple((v, tuple(r.fwd(s) for s in ss)) for v, ss in data))


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


def _template_key(t, wrtset):
    """(variables in order of first appearance, non-integer coefficients) of the term ``t``."""
    vs, nums, expo = [], [], set()
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
    return vs, [a for a in nums if a not in expo and a.is_finite]


def _find_templates(f, wrt, min_instances):
    """Split f = sum of terms into repeated templates and a rest.

    A term's template is the term with its variables replaced, in order of
    first appearance, by placeholders u0, u1, ... and its non-integer numeric
    coefficients by c0, c1, ...  Terms sharing a template (the n - 1 terms of
    extended Rosenbrock, the residuals of a least-squares fit) are derived
    once and evaluated by a loop over an index table, which keeps SymPy work,
    CSE and Numba compile time independent of n.  Returns ([(canon, U, C, idx,
    consts)], rest).
    """
    wrtset = set(wrt)
    index = {s: i for i, s in enumerate(wrt)}
    U, C = [], []
    groups = {}
    terms = sp.Add.make_args(f)
    if len(terms) < min_instances:
        return [], f
    for t in terms:
        vs, nums = _template_key(t, wrtset)
        if not vs:
            groups.setdefault(("rest", t), []).append(None)
            continue
        while len(U) < len(vs):
            U.append(sp.Dummy(f"u{len(U)}", real=True))
        while len(C) < len(nums):
            C.append(sp.Dummy(f"c{len(C)}", real=True))
        rep = {v: U[j] for j, v in enumerate(vs)}
        rep.update({a: C[j] for j, a in enumerate(nums)})
        groups.setdefault(t.xreplace(rep), []).append(
            (t, tuple(index[v] for v in vs), tuple(float(a) for a in nums)))
    templates, rest = [], []
    for canon, inst in groups.items():
        if isinstance(canon, tuple):
            rest.extend([canon[1]] * len(inst))
        elif len(inst) >= min_instances:
            templates.append((canon, tuple(U[:len(inst[0][1])]), tuple(C[:len(inst[0][2])]),
                              tuple(i[1] for i in inst), tuple(i[2] for i in inst)))
        else:
            rest.extend(i[0] for i in inst)
    return templates, sp.Add(*rest)


def _derive_template(canon, U, C, idx, consts, order):
    differ = _Differ()
    g = partials(canon, U, differ)
    h = hessian_upper(g, U, differ) if order >= 2 else {}
    g = [_factor_outer(e) for e in g]
    h = {k: _factor_outer(e) for k, e in h.items()}
    gargs = tuple(a for a in range(len(U)) if g[a] != 0)
    hkeys = tuple(sorted(h))
    cse = CSE.of([canon] + [g[a] for a in gargs] + [h[k] for k in hkeys])
    return Template(U, C, idx, consts, gargs, hkeys, cse)


def derive_objective(f, wrt, params, data, reduce="sum", order=2, stable=True, min_instances=3,
                     lap=_no_lap, penalty=None):
    """Derive a scalar objective; returns an :class:`ObjectiveDerivation`.

    ``data`` is a list of ``(is_vector, symbols)``: a Symbol item (1-D array) is
    ``(True, (s,))``, a sequence item (N x k array) is ``(False, (s1, ..., sk))``.
    Without data, terms of f repeated up to variable renaming (at least
    ``min_instances`` times) become templates.  ``lap(stage)`` is called after each stage.
    ``penalty`` (an expression free of data symbols) is added to f without data; with data it
    is derived apart (as an objective without data, templates and all) into ``.penalty``.
    """
    if penalty is not None and not data:
        f = f + penalty
        penalty = None
    pen = None
    if penalty is not None:
        pen = derive_objective(penalty, wrt, params, [], reduce, order, stable, min_instances, lap)
    # On the user's expression, before any derivative: errors name the user's function.
    check_supported([f], wrt, order)
    declared = (tuple(wrt), tuple(params), tuple(data))
    (f,), wrt, params, data = _real([f], wrt, params, data)
    if stable:
        f = stabilize(f)
        lap("rewrite")
    f = steps_ae(f)
    found = []
    if not data and min_instances:
        found, f = _find_templates(f, wrt, min_instances)
        lap("templates")
    differ = _Differ()
    g = partials(f, wrt, differ)
    lap("gradient")
    upper = hessian_upper(g, wrt, differ) if order >= 2 else {}
    lap("hessian")
    if data:
        # Per-row derivatives of f(z(w)) are f'(z) * dz/dw_j summed over terms;
        # pulling the common factors out lets CSE share f'(z) across all j.
        g = [_factor_outer(e) for e in g]
        upper = {k: _factor_outer(e) for k, e in upper.items()}
        lap("factor")
    rows = tuple(i for i in range(len(wrt)) if g[i] != 0)
    hkeys = tuple(sorted(upper))
    cse = CSE.of([f] + [g[i] for i in rows] + [upper[k] for k in hkeys],
                 frozenset(s for _, syms in data for s in syms))
    templates = tuple(_derive_template(*t, order) for t in found)
    lap("cse")
    # The whole Hessian's upper pattern: the rest's entries and every template instance's.
    keys = set(upper)
    for t in templates:
        for pairs in t.hess_pairs():
            keys.update(pairs)
    if pen is not None:
        keys.update(pen.pattern.upper)
    return ObjectiveDerivation(declared, wrt, params, data, reduce, order, rows, hkeys, cse,
                               templates, HessPattern.of(len(wrt), sorted(keys)), pen)


def derive_vector(F, wrt, params, stable=True, lap=_no_lap):
    """Derive a vector function F (m outputs) and its sparse Jacobian; returns a
    :class:`VectorDerivation`."""
    check_supported(F, wrt, order=1)
    declared = (tuple(wrt), tuple(params), ())
    F, wrt, params, _ = _real(list(F), wrt, params, ())
    if stable:
        F = [stabilize(e) for e in F]
        lap("rewrite")
    F = [steps_ae(e) for e in F]
    J = jacobian_sparse(F, wrt, _Differ())
    lap("jacobian")
    keys = tuple(J)  # row-major, columns ascending: CSR order
    cse = CSE.of(list(F) + [J[k] for k in keys])
    lap("cse")
    return VectorDerivation(declared, wrt, params, len(F), keys, cse)
