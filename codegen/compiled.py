"""Compiled objectives and vector functions: the Python front of the generated kernels.

:func:`compile` hashes the input (canonical ``srepr``, variable order, options,
library versions, codegen's own source) and imports the cached module when it
exists, so a warm start does no SymPy differentiation and, thanks to Numba's
``cache=True``, no compilation either.

>>> import sympy as sp
>>> a, b = sp.symbols("a b")
>>> obj = compile((1 - a)**2 + 100 * (b - a**2)**2, [a, b])
>>> obj.value([1.0, 1.0]), obj.grad([1.0, 1.0]).tolist()
(0.0, [0.0, 0.0])
>>> obj.hess([1.0, 1.0]).tolist()
[[802.0, -400.0], [-400.0, 200.0]]
"""
import pickle
import types
import weakref

import numpy as np
import sympy as sp

from . import cache
from . import interface as iface
from .errors import ArgumentError, CodegenError, UnknownSymbolError

__all__ = ["compile", "compile_vector", "CompiledObjective", "CompiledVectorFunction"]

PARALLEL_MIN_ROWS = 200_000  # below this the serial kernel wins (thread start-up, compile)
_F8 = np.dtype(np.float64)


def _sympify(obj, what, symbols=None):
    """A SymPy object from ``obj``; text goes through the safe formula reader, never eval."""
    if isinstance(obj, str):
        from derive import parse_formula  # formula text is data, never code
        return parse_formula(obj, what=what, symbols=symbols, relations=False)
    return sp.sympify(obj, strict=True)


def _symbols(seq, what):
    if seq is None:
        return ()
    if isinstance(seq, (sp.Basic, str)) and not isinstance(seq, sp.MatrixBase):
        seq = [seq]
    out = tuple(_sympify(s, f"{what}[{k}]") for k, s in enumerate(list(seq)))
    for k, s in enumerate(out):
        if not isinstance(s, sp.Symbol):
            raise CodegenError(f"{what}[{k}] must be a Symbol (or a symbol's name), "
                               f"got {s!r} ({type(s).__name__})")
    return out


def _names(*groups):
    """name -> Symbol of every declared symbol, so that a formula string reuses them."""
    return {s.name: s for group in groups for s in group}


def _data_items(data):
    if data is None:
        return []
    if isinstance(data, (sp.Symbol, str)):
        data = [data]
    items = []
    for k, item in enumerate(data):
        if isinstance(item, (sp.Symbol, str)):
            sym = _sympify(item, f"data[{k}]")
            if not isinstance(sym, sp.Symbol):
                raise CodegenError(f"data[{k}] must be a Symbol (or a symbol's name), got {sym!r}")
            items.append((True, (sym,)))
        else:
            syms = _symbols(item, f"data[{k}]")
            if not syms:
                raise CodegenError(f"data[{k}] is an empty sequence; give a Symbol or Symbols")
            items.append((False, syms))
    return items


def _check_symbols(exprs, wrt, params, data):
    declared = list(wrt) + list(params) + [s for _, syms in data for s in syms]
    seen = set()
    for s in declared:
        if s in seen:
            raise CodegenError(f"symbol {str(s)!r} is declared twice among wrt/params/data")
        seen.add(s)
    for e in exprs:
        for s in e.free_symbols:
            if s not in seen:
                raise UnknownSymbolError(s)


def _csr(data, indices, indptr, shape):
    import scipy.sparse as sps  # imported on first use: keeps the warm start short
    return sps.csr_matrix((data, indices, indptr), shape=shape)


def _real_array(a, name):
    """``a`` as a C-contiguous float64 array; complex or non-numeric input is refused, not cast
    (NumPy would drop an imaginary part with only a warning)."""
    try:
        arr = np.asarray(a)
    except ValueError as exc:  # ragged nested sequences
        raise ArgumentError(f"{name} is not a rectangular array of numbers: {exc}") from None
    kind = arr.dtype.kind
    if kind == "c":
        raise ArgumentError(f"{name} is complex ({arr.dtype}), but variables and data are "
                            "real: pass its .real part if the imaginary part is meant to go")
    if kind not in "fiub":
        raise ArgumentError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    return np.ascontiguousarray(arr, dtype=np.float64)


def _check_finite(a, name):
    """Refuse NaN/inf, naming the first bad entry; one summing pass when all is well."""
    if np.isfinite(a.sum()):  # a NaN or inf anywhere makes the sum non-finite
        return
    bad = np.argwhere(~np.isfinite(a))
    if bad.size == 0:  # the sum overflowed: every entry is finite
        return
    at = tuple(int(i) for i in bad[0])
    if a.ndim == 1 and name == "params":
        raise ArgumentError(f"params[{at[0]}] is {a[at]}: params must be finite")
    where = f"row {at[0]}" + (f", column {at[1]}" if a.ndim == 2 else "")
    raise ArgumentError(f"{name} has {a[at]} at {where}: data must be finite; drop or impute "
                        "the rows with missing values first")


def _float_vector(a, name, n):
    a = _real_array(a, name)
    if a.ndim != 1 or a.shape[0] != n:
        raise ArgumentError(f"{name} must be a 1-D array of length {n}, got shape {a.shape}")
    return a


class _Compiled:
    """Shared argument handling of objectives and vector functions."""

    def __init__(self, module, wrt, params, data, key, timings):
        self.module = module
        self.wrt = wrt
        self.params = params
        self.data = tuple(syms[0] if v else syms for v, syms in data)
        self._layout = tuple(0 if v else len(syms) for v, syms in data)
        self.n = len(wrt)
        self.key = key
        self.build_times = dict(timings)  # empty on a cache hit: nothing was derived
        self._rows_cache = (None, None)
        self._finite_memo = {}
        self._empty_p = np.zeros(0)
        self._kargs0 = (self._empty_p,)
        self._shape = (self.n,)
        # No params and no data: methods called with x alone skip pack_args.
        self._plain = not params and not data

    @property
    def source(self):
        """The generated module's source (without the checksum line)."""
        with open(self.module.__file__, encoding="utf-8") as fh:
            text = fh.read()
        return text.partition("\n")[2]

    def _x(self, x, name="x"):
        # Identity of the dtype singleton: a dtype == float64 test costs more than the call.
        if type(x) is np.ndarray and x.dtype is _F8 and x.shape == self._shape \
                and x.flags.c_contiguous:
            return x
        return _float_vector(x, name, self.n)

    def _expected(self):
        parts = []
        if self.params:
            parts.append(f"params (length {len(self.params)})")
        for k, w in enumerate(self._layout):
            parts.append(f"data[{k}] (shape (N,)" + ")" if w == 0 else f"data[{k}] (shape (N, {w}))")
        return ", ".join(parts) or "nothing"

    def _check_data_finite(self, k, a, given):
        """NaN/inf check of data[k], done once per array object the caller passes again.

        A full pass over large data costs as much as the objective itself (the kernels are
        memory-bound), so an array that passed is remembered (weakly, with its shape);
        NaN written into it afterwards shows up as a NaN objective, never as a silent number.
        """
        memo = self._finite_memo.get(k)
        if memo is not None and a is given and memo[0]() is a and memo[1] == a.shape:
            return
        _check_finite(a, f"data[{k}] ({self._data_names(k)})")
        if a is given:
            self._finite_memo[k] = (weakref.ref(a), a.shape)

    def _data_names(self, k):
        d = self.data[k]
        return ", ".join(map(str, d)) if isinstance(d, tuple) else str(d)

    def pack_args(self, *args, rows=None):
        """Validate and convert the trailing arguments into the kernels' ``kargs``."""
        if not args and rows is None and not self.params and not self._layout:
            return self._kargs0  # the common no-params, no-data call: nothing to check
        want = (1 if self.params else 0) + len(self._layout)
        if len(args) != want:
            raise ArgumentError(f"expected {want} trailing argument(s): {self._expected()}; "
                                f"got {len(args)}")
        i = 0
        if self.params:
            p = _float_vector(args[0], "params", len(self.params))
            _check_finite(p, "params")
            i = 1
        else:
            p = self._empty_p
        if not self._layout:
            if rows is not None:
                raise ArgumentError("rows= applies only to objectives with data")
            return (p,)
        ds = []
        N = None
        for k, w in enumerate(self._layout):
            a = args[i + k]
            if not (type(a) is np.ndarray and a.dtype == np.float64 and a.flags.c_contiguous):
                a = _real_array(a, f"data[{k}]")
            if w == 0 and a.ndim != 1:
                raise ArgumentError(f"data[{k}] ({self.data[k]}) must be a 1-D array of length N, "
                                    f"got shape {a.shape}")
            if w and (a.ndim != 2 or a.shape[1] != w):
                raise ArgumentError(f"data[{k}] must be a 2-D array of shape (N, {w}), "
                                    f"got shape {a.shape}")
            if N is None:
                N = a.shape[0]
            elif a.shape[0] != N:
                raise ArgumentError(f"data[{k}] has {a.shape[0]} rows but data[0] has {N}; "
                                    "every data array needs the same number of rows N")
            ds.append(a)
        if N == 0:
            raise ArgumentError("the data have 0 rows: a sum or mean over no rows is no "
                                "objective; give at least one row")
        for k, a in enumerate(ds):
            self._check_data_finite(k, a, args[i + k])
        if rows is None:
            if self._rows_cache[0] != N:
                self._rows_cache = (N, np.arange(N, dtype=np.int64))
            r = self._rows_cache[1]
        else:
            r = np.asarray(rows)
            if r.dtype == bool:
                if r.shape != (N,):
                    raise ArgumentError(f"boolean rows must have shape ({N},), got {r.shape}")
                r = np.flatnonzero(r)
            if r.ndim != 1 or not (r.dtype.kind in "iu" or r.size == 0):
                raise ArgumentError(f"rows must be a 1-D integer index array, got {r.dtype} {r.shape}")
            r = np.ascontiguousarray(r, dtype=np.int64)
            if r.size == 0:
                raise ArgumentError("rows selects no row: a sum or mean over no rows is no "
                                    "objective; select at least one row")
            if r.min() < 0 or r.max() >= N:
                raise ArgumentError(f"rows must lie in [0, {N}), got min {r.min()} max {r.max()}")
        return (p, r) + tuple(ds)


class CompiledObjective(_Compiled):
    """A scalar objective compiled to Numba kernels; see :func:`compile`."""

    def __init__(self, module, wrt, params, data, key, timings):
        super().__init__(module, wrt, params, data, key, timings)
        c = self._constants = iface.ObjectiveConstants.read(module)
        self.reduce = c.reduce
        self.order = c.order
        names = iface.objective_kernels(c.order)
        self.jit = types.SimpleNamespace(**{k: getattr(module, k) for k in names})
        self.jit_parallel = types.SimpleNamespace(
            **{k: getattr(module, iface.parallel(k)) for k in names}) if data else None
        self._hess_pattern = None

    def _hess_csr(self, values):
        c = self._constants
        return _csr(values, c.hess_indices.copy(), c.hess_indptr.copy(), (self.n, self.n))

    @property
    def hess_pattern(self):
        """Symbolic sparsity pattern of the Hessian (boolean CSR, both triangles)."""
        if self._hess_pattern is None:
            self._hess_pattern = self._hess_csr(np.ones(len(self._constants.hess_indices),
                                                        dtype=bool))
        return self._hess_pattern

    def _kernel(self, name, kargs):
        if self.jit_parallel is None and self.order >= 2:
            return getattr(self.jit, name)
        if not hasattr(self.jit, name):  # order=1 modules define no Hessian kernels
            raise CodegenError("this objective was compiled with order=1; "
                               "compile with order=2 for Hessians")
        if self.jit_parallel is not None and kargs[1].shape[0] >= PARALLEL_MIN_ROWS:
            return getattr(self.jit_parallel, name)
        return getattr(self.jit, name)

    def value(self, x, *args, rows=None):
        """f(x) (summed or averaged over the data rows)."""
        if self._plain and not args and rows is None:
            return float(self.jit.value(self._x(x), self._empty_p))
        kargs = self.pack_args(*args, rows=rows)
        return float(self._kernel("value", kargs)(self._x(x), *kargs))

    def grad(self, x, *args, rows=None):
        """Gradient, shape (n,)."""
        if self._plain and not args and rows is None:
            return self.jit.grad(self._x(x), self._empty_p)
        kargs = self.pack_args(*args, rows=rows)
        return self._kernel("grad", kargs)(self._x(x), *kargs)

    def value_and_grad(self, x, *args, rows=None):
        """(f(x), gradient) from one fused kernel."""
        if self._plain and not args and rows is None:
            v, g = self.jit.value_and_grad(self._x(x), self._empty_p)
            return float(v), g
        kargs = self.pack_args(*args, rows=rows)
        v, g = self._kernel("value_and_grad", kargs)(self._x(x), *kargs)
        return float(v), g

    def hess(self, x, *args, rows=None):
        """Dense Hessian, shape (n, n)."""
        if self._plain and not args and rows is None and self.order >= 2:
            return self.jit.hess(self._x(x), self._empty_p)
        kargs = self.pack_args(*args, rows=rows)
        return self._kernel("hess", kargs)(self._x(x), *kargs)

    def hess_sparse(self, x, *args, rows=None):
        """Hessian as ``scipy.sparse.csr_matrix`` with the symbolic pattern :attr:`hess_pattern`."""
        kargs = self.pack_args(*args, rows=rows)
        vals = self._kernel("hess_values", kargs)(self._x(x), *kargs)
        try:
            # Same structure, new values: skips SciPy's O(nnz) format checks.
            return self.hess_pattern._with_data(vals, copy=True)
        except AttributeError:  # pragma: no cover - private SciPy API went away
            return self._hess_csr(vals)

    def hessp(self, x, v, *args, rows=None):
        """Hessian-vector product H(x) @ v, without forming H."""
        kargs = self.pack_args(*args, rows=rows)
        return self._kernel("hessp", kargs)(self._x(x), self._x(v, "v"), *kargs)

    def __repr__(self):
        return (f"<CompiledObjective n={self.n} params={len(self.params)} "
                f"data={len(self.data)} reduce={self.reduce!r} nnz(H)={self.hess_pattern.nnz}>")


class CompiledVectorFunction(_Compiled):
    """A vector function F: R^n -> R^m compiled to Numba kernels; see :func:`compile_vector`."""

    def __init__(self, module, wrt, params, key, timings):
        super().__init__(module, wrt, params, [], key, timings)
        c = self._constants = iface.VectorConstants.read(module)
        self.m = c.m
        self.jit = types.SimpleNamespace(**{k: getattr(module, k) for k in iface.VECTOR_KERNELS})
        self.jac_pattern = self._jac_csr(np.ones(c.nnz, dtype=bool))

    def _jac_csr(self, values):
        c = self._constants
        return _csr(values, c.jac_indices.copy(), c.jac_indptr.copy(), (self.m, self.n))

    def value(self, x, *args):
        """F(x), shape (m,)."""
        return self.jit.value(self._x(x), *self.pack_args(*args))

    __call__ = value

    def jacobian(self, x, *args):
        """Dense Jacobian, shape (m, n)."""
        return self.jit.jacobian(self._x(x), *self.pack_args(*args))

    def jacobian_sparse(self, x, *args):
        """Jacobian as ``scipy.sparse.csr_matrix`` with the symbolic pattern :attr:`jac_pattern`."""
        return self._jac_csr(self.jit.jacobian_values(self._x(x), *self.pack_args(*args)))

    def __repr__(self):
        return f"<CompiledVectorFunction m={self.m} n={self.n} nnz(J)={self.jac_pattern.nnz}>"


def _canonical(obj):
    """Bytes identifying a SymPy object exactly (class, args, symbol assumptions).

    pickle is ~30x faster than srepr on large expressions (the warm-start path);
    a difference in sharing of equal subtrees can only cause a cache miss.
    """
    try:
        return pickle.dumps(obj, protocol=4)
    except Exception:  # e.g. an unpicklable user Function: fall back to srepr
        return sp.srepr(obj).encode()


def _srepr_data(data):
    return sp.srepr(tuple(syms[0] if v else sp.Tuple(*syms) for v, syms in data))


def compile(f, wrt, params=(), data=None, reduce="sum", *, order=2, jit=True, stable=True):
    """Compile a scalar SymPy objective into cached Numba kernels.

    Parameters
    ----------
    f : the objective; with ``data`` the per-row expression whose sum (or mean) is taken.
    wrt : the variables, in the order of ``x``.
    params : symbols passed at call time as one float array.
    data : items that are a Symbol (an array of length N) or a sequence of Symbols (N x k).
    reduce : ``"sum"`` or ``"mean"`` over the data rows.
    order : 2 (default) derives the Hessian too; 1 stops at the gradient.
    jit : False runs the same generated source as plain Python (fast to build, slow to call).
    stable : apply the stable rewrites of :mod:`codegen.rewrite` first.

    >>> import sympy as sp
    >>> w, xi, yi = sp.symbols("w x y")
    >>> obj = compile((w * xi - yi)**2, [w], data=[xi, yi], reduce="mean")
    >>> obj.value([2.0], [1.0, 2.0], [2.0, 4.0])
    0.0
    """
    if reduce not in ("sum", "mean"):
        raise CodegenError(f"reduce must be 'sum' or 'mean', got {reduce!r}")
    if order not in (1, 2):
        raise CodegenError(f"order must be 1 or 2, got {order!r}")
    wrt = _symbols(wrt, "wrt")
    if not wrt:
        raise CodegenError("wrt is empty: give at least one variable")
    params = _symbols(params, "params")
    items = _data_items(data)
    f = _sympify(f, "f", _names(wrt, params, *(syms for _, syms in items)))
    if not isinstance(f, sp.Expr) or isinstance(f, sp.MatrixBase):
        raise CodegenError(f"f must be a scalar SymPy expression, got {type(f).__name__}; "
                           "use compile_vector for vector functions")
    _check_symbols([f], wrt, params, items)
    key = cache.key_for("objective", _canonical(f), sp.srepr(wrt), sp.srepr(params),
                        _srepr_data(items), reduce, order, bool(jit), bool(stable))
    mod = cache.lookup(key, "objective")
    timings = {}
    if mod is None:
        from .generate import objective_source
        source, timings = objective_source(f, wrt, params, items, reduce, order, jit, stable)
        mod = cache.store(key, source, "objective")
    return CompiledObjective(mod, wrt, params, items, key, timings)


def compile_vector(F, wrt, params=(), data=None, *, jit=True, stable=True):
    """Compile a vector function (sequence or Matrix of expressions) with its sparse Jacobian.

    >>> import sympy as sp
    >>> a, b = sp.symbols("a b")
    >>> F = compile_vector([a * b, a + b**2], [a, b])
    >>> F.jacobian([2.0, 3.0]).tolist()
    [[3.0, 2.0], [1.0, 6.0]]
    """
    if data:
        raise CodegenError("compile_vector does not take data yet; compile the per-row "
                           "residual with compile() and data, or pass the rows as params")
    if isinstance(F, sp.MatrixBase):
        F = list(F)
    elif isinstance(F, (sp.Basic, str)):
        F = [F]
    wrt = _symbols(wrt, "wrt")
    params = _symbols(params, "params")
    names = _names(wrt, params)
    F = [_sympify(e, f"F[{k}]", names) for k, e in enumerate(F)]
    _check_symbols(F, wrt, params, [])
    key = cache.key_for("vector", _canonical(sp.Tuple(*F)), sp.srepr(wrt), sp.srepr(params),
                        bool(jit), bool(stable))
    mod = cache.lookup(key, "vector")
    timings = {}
    if mod is None:
        from .generate import vector_source
        source, timings = vector_source(F, wrt, params, jit, stable)
        mod = cache.store(key, source, "vector")
    return CompiledVectorFunction(mod, wrt, params, key, timings)
