"""Compiled matrix models: :func:`codegen.compile` with MatrixSymbols in wrt, params or data.

The kernels loop over the symbolic sizes (:mod:`codegen.matrix_emit`), so one compiled module
serves every size and its build cost does not grow with the sizes; sizes are bound at call
time from the arrays (:mod:`codegen.matrix_layout`).

>>> import numpy as np, sympy as sp, codegen
>>> d = sp.Symbol("d", integer=True, positive=True)
>>> w, x = sp.MatrixSymbol("w", d, 1), sp.MatrixSymbol("x", d, 1)
>>> y = sp.Symbol("y")
>>> obj = codegen.compile(((w.T * x)[0, 0] - y)**2, [w], data=[x, y], jit=False)
>>> X, Y = np.array([[1.0, 2.0], [0.0, 1.0]]), np.array([1.0, 2.0])
>>> obj.value(np.array([1.0, 1.0]), X, Y), obj.grad(np.array([1.0, 1.0]), X, Y).tolist()
(5.0, [4.0, 6.0])
"""
import time
import types

import numpy as np
import sympy as sp

from . import cache
from .arrays import check_finite, real_array
from .compiled import CompiledObjective, _Build, _canonical, _is_dask
from .errors import ArgumentError, CodegenError
from .matrix_blocks import KIND_OF, PARALLEL_WORK
from .matrix_layout import Layout, is_matrix, shape_of
from .timings import BuildTimes

__all__ = ["MatrixObjective", "compile_matrix", "is_matrix_model", "PARALLEL_WORK"]

_KERNELS = ("value", "grad", "value_and_grad", "hess", "hessp", "hess_values")
_KINDS = {"value": "v", "grad": "g", "value_and_grad": "vg", "hessp": "hp"}  # driver-run


def is_matrix_model(wrt, params, data):
    """True when a MatrixSymbol is among ``wrt``, ``params`` or ``data``."""
    def seq(s):
        if s is None:
            return []
        return [s] if isinstance(s, (sp.Basic, str)) else list(s)
    items = seq(wrt) + seq(params)
    for d in seq(data):
        items += seq(d)
    return any(isinstance(s, sp.MatrixSymbol) for s in items)


def _declared(seq, what):
    if seq is None:
        return ()
    if isinstance(seq, sp.Basic):
        seq = [seq]
    out = []
    for k, s in enumerate(seq):
        if not isinstance(s, (sp.Symbol, sp.MatrixSymbol)):
            raise CodegenError(f"{what}[{k}] must be a Symbol or a MatrixSymbol, got {s!r} "
                               f"({type(s).__name__})")
        out.append(s)
    return tuple(out)


def _data(data):
    if data is None:
        return ()
    if isinstance(data, sp.Basic):
        data = [data]
    out = []
    for k, item in enumerate(data):
        if isinstance(item, (sp.Symbol, sp.MatrixSymbol)):
            out.append(item)
        else:
            syms = _declared(item, f"data[{k}]")
            if not syms or any(is_matrix(s) for s in syms):
                raise CodegenError(f"data[{k}] must be a Symbol, a MatrixSymbol or a non-empty "
                                   "sequence of Symbols")
            out.append(tuple(syms))
    return tuple(out)


class MatrixObjective(CompiledObjective):
    """A compiled matrix model; the API of :class:`~codegen.CompiledObjective`.

    ``n`` is the number of variables when the sizes of wrt are concrete, else None: then
    :meth:`n_for` gives it for given arguments (the solvers take it from ``x0``).

    Data may be dask arrays chunked along rows (:mod:`codegen.dask_data`): the row-block
    kernels run on each block where it lives (:mod:`codegen.matrix_blocks`, sizes bound from
    the block's arrays), and :meth:`_finish` applies the mean, the penalty and a Hessian's
    mirror once; the client never gathers the data.
    """

    _matrix = True  # codegen.dask_data: sizes are bound from the arrays' shapes

    def __init__(self, module, layout, key, timings, build, cached, reduce, order):
        self.module = module
        self.layout = layout
        self.wrt, self.params, self.data = layout.wrt, layout.params, layout.data
        n = layout.n_expr
        self.n = int(n) if not n.free_symbols else None
        self.key = key
        self.build_times = dict(timings)
        self.reduce, self.order = reduce, order
        self.has_penalty = bool(module.PENALTY)
        names = [k for k in _KERNELS if hasattr(module, k)]
        self.jit = types.SimpleNamespace(**{k: getattr(module, k) for k in names})
        # The Hessian has no parallel variant (BLAS threads run its rank updates).
        self.jit_parallel = types.SimpleNamespace(
            **{k: getattr(module, k + "_parallel", getattr(module, k)) for k in names}) \
            if layout.data else None
        self._build = build
        self._cached = cached
        self._numba_times = {}
        self._warm = set()
        self._finite_memo = {}
        self._rows_cache = (None, None)
        self._layout = tuple(range(len(layout.data)))
        self._plain = False
        self._empty_p = np.zeros(0)

    # -- arguments ------------------------------------------------------------------------------

    def pack_args(self, *args, rows=None):
        """``(p,)`` or ``(p, rows, d0, d1, ...)`` from params and data, checked: shapes, sizes
        (an :class:`ArgumentError` names the size symbol that disagrees), finite values."""
        lay = self.layout
        want = (1 if lay.params else 0) + len(lay.data)
        if len(args) != want:
            raise ArgumentError(f"expected {want} trailing argument(s): {lay.expected()}; "
                                f"got {len(args)}")
        if lay.params:
            p = real_array(args[0], "params")
            if p.ndim != 1:
                raise ArgumentError(f"params must be a 1-D array (matrices flattened row-major), "
                                    f"got shape {p.shape}")
            check_finite(p, "params")
        else:
            p = self._empty_p
        ds = self._data_arrays(args[1 if lay.params else 0:])
        lay.bind(p, ds)
        if not ds:
            if rows is not None:
                raise ArgumentError("rows= applies only to objectives with data")
            return (p,)
        return (p, self._rows(rows, ds[0].shape[0])) + tuple(ds)

    def _data_arrays(self, arrays):
        lay = self.layout
        ds, N = [], None
        for k, a in enumerate(arrays):
            given = a
            if not (type(a) is np.ndarray and a.dtype == np.float64 and a.flags.c_contiguous):
                if _is_dask(a):  # NumPy would compute it: every block gathered on the client
                    raise ArgumentError(
                        f"data[{k}] is a dask array: pack_args packs NumPy arrays for the raw "
                        "kernels and would gather it here; pass the dask arrays to value, grad, "
                        "value_and_grad, hess, hessp or solvers.minimize (they run on the blocks)")
                a = real_array(a, f"data[{k}]")
            nd = lay.ndim(k)
            if a.ndim != nd:
                dims = ", ".join(["N"] + [str(d) for d in lay.data_dims(k)])
                raise ArgumentError(f"data[{k}] ({ascii(str(lay._dname(k)))}) must be a {nd}-D "
                                    f"array of shape ({dims}{',' if nd == 1 else ''}), got shape "
                                    f"{a.shape}")
            if N is None:
                N = a.shape[0]
            elif a.shape[0] != N:
                raise ArgumentError(f"data[{k}] has {a.shape[0]} rows but data[0] has {N}; "
                                    "every data array needs the same number of rows N")
            self._check_data_finite(k, a, given)
            ds.append(a)
        if ds and N == 0:
            raise ArgumentError("the data have 0 rows: a sum or mean over no rows is no "
                                "objective; give at least one row")
        return ds

    def _data_names(self, k):
        return self.layout._dname(k)

    def n_for(self, kargs, nx=None):
        """The number of variables for the packed arguments ``kargs`` (and ``len(x)`` = ``nx``
        when a size is known only from x); an :class:`ArgumentError` when ``nx`` disagrees."""
        p = kargs[0]
        vals = self.layout.bind(p, list(kargs[2:]), nx)
        n = self.layout.n_of(vals)
        if n is None:
            raise ArgumentError(f"the number of variables {self.layout.n_expr} depends on the "
                                "length of x: give x")
        return n

    def _xk(self, x, kargs, name="x"):
        x = real_array(x, name)
        if x.ndim != 1:
            raise ArgumentError(f"{name} must be a 1-D array (wrt entries flattened row-major), "
                                f"got shape {x.shape}")
        n = self.n_for(kargs, x.shape[0])
        if x.shape[0] != n:
            raise ArgumentError(f"{name} has length {x.shape[0]}, but the sizes make it "
                                f"{self.layout.n_expr} = {n}")
        return x

    def _kernel(self, name, kargs, n=None):
        """(name, dispatcher): the multi-threaded variant above PARALLEL_WORK rows x variables."""
        if self.order < 2 and not hasattr(self.jit, name):
            raise CodegenError("this objective was compiled with order=1; "
                               "compile with order=2 for Hessians")
        if self.jit_parallel is not None and n is not None and \
                kargs[1].shape[0] * max(n, 1) >= PARALLEL_WORK:
            k = getattr(self.jit_parallel, name)
            return (name + "_parallel" if k is not getattr(self.jit, name) else name), k
        return name, getattr(self.jit, name)

    def solver_kernels(self, kargs, n):
        """The namespace of kernels solvers should call on ``kargs`` (parallel above the
        threshold)."""
        if self.jit_parallel is not None and kargs[1].shape[0] * max(n, 1) >= PARALLEL_WORK:
            return self.jit_parallel
        return self.jit

    def _run(self, name, x, args, rows, v=None):
        if args and self._dask_call(args):
            return self._dask(name, x, args, rows, v)
        kargs = self.pack_args(*args, rows=rows)
        x = self._xk(x, kargs)
        xs = (x,) if v is None else (x, self._xk(v, kargs, "v"))
        if name in _KINDS and self.jit_parallel is not None and getattr(self.module, "_JIT", 1) \
                and kargs[1].shape[0] * max(x.shape[0], 1) >= PARALLEL_WORK:
            return self._driven(_KINDS[name], xs, kargs)
        full, k = self._kernel(name, kargs, x.shape[0])
        if full not in self._warm:
            self._compile(full, k, xs + tuple(kargs))
        return k(*xs, *kargs)

    def _driven(self, kind, xs, kargs):
        """The kernel's result from the shared parallel row-sum driver (codegen.rowdriver:
        compiled once per argument layout, not per objective), finished here: the mean's
        scale and the penalty, as the module's wrappers do."""
        from .rowdriver import row_sum
        t = time.perf_counter()
        a = row_sum(getattr(self.module, f"_acc_{kind}"), xs, kargs)
        if f"driver:{kind}" not in self._warm:
            self._warm.add(f"driver:{kind}")
            self._numba_times[f"{kind} (parallel driver)"] = time.perf_counter() - t
        m = kargs[1].shape[0]
        if self.reduce == "mean":
            a = a * (1.0 / m)
        if self.has_penalty:
            w = 1.0 if self.reduce == "mean" else m / kargs[2].shape[0]
            pen = getattr(self.module, f"_pen_{kind}")(*xs, kargs[0], *kargs[2:])
            a = a + pen * w
        if kind == "v":
            return a[0]
        if kind == "vg":
            return a[0], a[1:].copy()
        return a

    def value(self, x, *args, rows=None):
        """f(x) (summed or averaged over the data rows, plus the penalty)."""
        return float(self._run("value", x, args, rows))

    def grad(self, x, *args, rows=None):
        """Gradient, shape (n,)."""
        return self._run("grad", x, args, rows)

    def value_and_grad(self, x, *args, rows=None):
        """(f(x), gradient) from one fused kernel."""
        v, g = self._run("value_and_grad", x, args, rows)
        return float(v), g

    def hess(self, x, *args, rows=None):
        """Dense Hessian, shape (n, n)."""
        return self._run("hess", x, args, rows)

    def hess_sparse(self, x, *args, rows=None):
        """The Hessian as ``scipy.sparse.csr_matrix`` (dense pattern: matrix models are not
        analysed for sparsity)."""
        import scipy.sparse as sps
        return sps.csr_matrix(self.hess(x, *args, rows=rows))

    @property
    def hess_pattern(self):
        raise CodegenError("a matrix model has no fixed sparsity pattern: its Hessian is dense "
                           "and its size depends on the arguments; use hess_sparse(x, ...)")

    def hessp(self, x, v, *args, rows=None):
        """H(x) @ v without forming H."""
        return self._run("hessp", x, args, rows, v=v)

    # -- row blocks (interface for codegen.dask_data) -------------------------------------------

    def _expected(self):
        return self.layout.expected()

    def _data_shape_text(self, k):
        nd = self.layout.ndim(k)
        dims = ", ".join(["N"] + [str(d) for d in self.layout.data_dims(k)])
        return f"({dims}{',' if nd == 1 else ''})"

    def _params(self, params):
        """The params vector (empty without params), checked: 1-D, finite (its length is
        checked with the sizes)."""
        if not self.layout.params:
            if params is not None and np.size(params):
                raise ArgumentError(f"this objective has no params, got {np.size(params)} values")
            return self._empty_p
        if params is None:
            raise ArgumentError(f"params (length {self.layout.p_expr}) are missing")
        p = real_array(params, "params")
        if p.ndim != 1:
            raise ArgumentError(f"params must be a 1-D array (matrices flattened row-major), "
                                f"got shape {p.shape}")
        check_finite(p, "params")
        return p

    def _dask(self, which, x, args, rows, v=None):
        from . import dask_data  # imports dask only when dask data come
        i = 1 if self.layout.params else 0
        if len(args) != i + len(self.layout.data):
            raise ArgumentError(f"expected {i + len(self.layout.data)} trailing argument(s): "
                                f"{self._expected()}; got {len(args)}")
        p = self._params(args[0] if i else None)
        return dask_data.evaluate(self, which, x, p, tuple(args[i:]), v=v, rows=rows)

    def _dask_x(self, x, p, arrays, v=None):
        """(x, v) checked against the sizes that ``p`` and the (dask) ``arrays``' shapes bind;
        no data are read."""
        kargs = (p, None) + tuple(arrays)
        x = self._xk(x, kargs)
        return x, (None if v is None else self._xk(v, kargs, "v"))

    def _finish(self, which, x, params, partial, n_rows, v=None, n_total=None, shapes=None):
        """The objective's ``which`` from the total ``partial`` of the blocks'
        :meth:`~codegen.matrix_blocks.MatrixBlockKernels.partial_kargs` over ``n_rows`` rows:
        divided by ``n_rows`` when reduce="mean", plus the penalty (weighted by ``n_rows /
        n_total`` with reduce="sum" when the rows are a sample of ``n_total``), the Hessian's
        lower blocks mirrored.  ``shapes``: the data arrays' shapes (they bind the sizes)."""
        kind = KIND_OF[which]
        n_total = n_rows if n_total is None else n_total
        if shapes is None or not 1 <= n_rows <= n_total:
            raise ArgumentError(f"_finish needs the data shapes and 1 <= n_rows <= n_total, "
                                f"got shapes={shapes}, n_rows={n_rows}, n_total={n_total}")
        p = self._params(params)
        # One row of zeros per data array: the penalty kernels read only their sizes.
        ds = tuple(np.zeros((1,) + tuple(sh[1:])) for sh in shapes)
        x, v = self._dask_x(x, p, ds, v)
        s = 1.0 / n_rows if self.reduce == "mean" else 1.0
        w = 1.0 if self.reduce == "mean" else n_rows / n_total
        if kind == "v":
            a = np.array([float(partial)])
        elif kind == "vg":
            a = np.concatenate(([float(partial[0])], partial[1]))
        else:
            a = np.array(partial, dtype=np.float64)
        a = a * s
        if self.has_penalty:
            xs = (x, v) if kind == "hp" else (x,)
            a = a + getattr(self.module, f"_pen_{kind}")(*xs, p, *ds) * w
        if kind == "v":
            return float(a[0])
        if kind == "vg":
            return float(a[0]), a[1:].copy()
        if kind == "h":
            self._mirror(a, self.layout.bind(p, ds, x.shape[0]))
            if which == "hess_sparse":
                import scipy.sparse as sps
                return sps.csr_matrix(a)
        return a

    def _mirror(self, H, vals):
        """Fill the blocks below the diagonal from those above (the row-block kernels and the
        generated wrappers' convention: wrt k < m, block (k, m) computed)."""
        lay = self.layout
        offs = [int(o.xreplace(vals)) for o in lay.x_offsets]
        sizes = [int((shape_of(W)[0] * shape_of(W)[1]).xreplace(vals)) for W in lay.wrt]
        for k in range(len(lay.wrt)):
            for m in range(k + 1, len(lay.wrt)):
                rk, rm = slice(offs[k], offs[k] + sizes[k]), slice(offs[m], offs[m] + sizes[m])
                H[rm, rk] = H[rk, rm].T

    # -- build times ----------------------------------------------------------------------------

    @property
    def timings(self):
        return BuildTimes.of(self.build_times, self._numba_times, self._cached,
                             bool(getattr(self.module, "_JIT", True)))

    def warmup(self, methods=(), *, kernels=None, parallel=False):
        """Compile the kernels now (or load them from the cache); returns :attr:`timings`.

        >>> import sympy as sp, codegen
        >>> d = sp.Symbol("d", integer=True, positive=True)
        >>> w = sp.MatrixSymbol("w", d, 1)
        >>> obj = codegen.compile((w.T * w)[0, 0], [w], jit=False)
        >>> obj.warmup(kernels=["value"]).jit
        False
        """
        if methods:
            raise CodegenError(
                "codegen compiles kernels, not solver loops: warm the loops of "
                f"{list(methods)} with solvers.warmup(obj, methods={tuple(methods)!r})")
        have = [k for k in _KERNELS if hasattr(self.jit, k)]
        names = have if kernels is None else [kernels] if isinstance(kernels, str) \
            else list(kernels)
        for name in names:
            if name not in have:
                raise CodegenError(f"no kernel {name!r} to compile; this objective has "
                                   f"{', '.join(have)}")
        x, kargs = self._sample()
        for ns in (self.jit, self.jit_parallel if parallel else None):
            for name in (names if ns is not None else ()):
                full = name if getattr(ns, name) is getattr(self.jit, name) else name + "_parallel"
                if full in self._warm:
                    continue
                args = (x, x) if name == "hessp" else (x,)
                self._compile(full, getattr(ns, name), args + kargs)
        return self.timings

    def _sample(self):
        """Arguments of the right types (all sizes 1, one row), to compile against."""
        lay = self.layout
        ones = {s: 1 for s in lay.sizes}
        x = np.zeros(int(lay.n_expr.xreplace(ones)))
        p = np.zeros(int(lay.p_expr.xreplace(ones)))
        if not lay.data:
            return x, (p,)
        ds = tuple(np.zeros((1,) + tuple(int(d.xreplace(ones)) for d in lay.data_dims(k)))
                   for k in range(len(lay.data)))
        return x, (p, np.zeros(1, dtype=np.int64)) + ds

    def __repr__(self):
        return (f"<MatrixObjective n={self.layout.n_expr} params={len(self.params)} "
                f"data={len(self.data)} reduce={self.reduce!r}"
                f"{' + penalty' if self.has_penalty else ''}; {self.timings}>")


def compile_matrix(f, wrt, params=(), data=None, reduce="sum", penalty=None, *, order=2,
                   jit=True, stable=True):
    """:func:`codegen.compile` for models with MatrixSymbols (see the module docstring)."""
    wrt = _declared(wrt, "wrt")
    if not wrt:
        raise CodegenError("wrt is empty: give at least one variable")
    params = _declared(params, "params")
    data = _data(data)
    f = sp.sympify(f, strict=True)
    if not isinstance(f, sp.Expr) or isinstance(f, sp.MatrixExpr) or \
            isinstance(f, sp.MatrixBase):
        raise CodegenError(f"f must be a scalar SymPy expression (e.g. (w.T*x)[0, 0]), got "
                           f"{type(f).__name__}")
    layout = Layout(wrt, params, data)
    if penalty is not None:
        penalty = sp.sympify(penalty, strict=True)
        rows = {s for d in data for s in (d if isinstance(d, tuple) else (d,))}
        used = penalty.free_symbols | set(penalty.atoms(sp.MatrixSymbol))
        bad = sorted((s for s in used if s in rows), key=str)
        if bad:
            raise CodegenError(f"penalty uses the data symbol {str(bad[0])!r}: the penalty is "
                               "added once, not per row; put terms with data in f")
        if not data:
            f, penalty = f + penalty, None
    # The key from the index form: SymPy names the indices of (w.T*x)[0, 0] with Dummies
    # numbered per process; index_form's names are canonical (the same in every process).
    f = _index_form(f, "f")
    if penalty is not None:
        penalty = _index_form(penalty, "penalty")
    key = cache.key_for("matrix-objective", _canonical(f), sp.srepr(wrt), sp.srepr(params),
                        sp.srepr(tuple(sp.Tuple(*d) if isinstance(d, tuple) else d
                                       for d in data)),
                        reduce, order, bool(jit), bool(stable),
                        _canonical(penalty) if penalty is not None else b"no penalty")
    mod = cache.lookup(key, "objective")
    timings = {}
    if mod is None:
        source, timings = matrix_source(f, layout, penalty, reduce, order, jit, stable)
        t = time.perf_counter()
        mod = cache.store(key, source, "objective")
        timings["store"] = time.perf_counter() - t
    items = tuple((False, d) if isinstance(d, tuple) else (True, (d,)) for d in data)
    build = _Build(f, penalty, items, order, bool(jit), bool(stable))
    return MatrixObjective(mod, layout, key, timings, build, not timings, reduce, order)


def _index_form(e, what):
    from derive.indexed import index_form
    try:
        return index_form(e)
    except Exception as exc:
        if type(exc).__name__ == "InputError":  # derive's: names what has no index form
            raise CodegenError(f"{what}: {exc}") from exc
        raise


def matrix_source(f, layout, penalty, reduce, order, jit, stable):
    """(source, stage times) of the kernel module of a matrix model."""
    from .generate import _Timer
    from .matrix_emit import matrix_module
    from .matrix_symbolic import derive_part
    tm = _Timer()
    part = derive_part(f, layout.wrt, order, stable, tm.lap)
    pen = derive_part(penalty, layout.wrt, order, stable, tm.lap) if penalty is not None \
        else None
    source = matrix_module(layout, part, pen, reduce, order, jit)
    tm.lap("print")
    return source, tm.times
