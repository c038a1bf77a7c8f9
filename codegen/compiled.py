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
import numbers
import pickle
import time
import types
import weakref
from typing import NamedTuple

import numpy as np
import sympy as sp

from . import cache
from . import interface as iface
from .arrays import check_finite as _check_finite
from .arrays import check_rows
from .arrays import float_vector as _float_vector
from .arrays import real_array as _real_array
from .errors import ArgumentError, CodegenError, UnknownSymbolError
from .rowblocks import PARALLEL_MIN_ROWS, BlockKernels, KernelHandle
from .timings import PROGRESS_AFTER, BuildTimes, compile_kernel, report

__all__ = ["compile", "compile_vector", "CompiledObjective", "CompiledVectorFunction"]

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
        return (p, self._rows(rows, N)) + tuple(ds)

    def _rows(self, rows, N):
        """The row indices a kernel sums over: all N (one cached arange) or ``rows``, checked."""
        if rows is not None:
            return check_rows(rows, N)
        if self._rows_cache[0] != N:
            self._rows_cache = (N, np.arange(N, dtype=np.int64))
        return self._rows_cache[1]


def _is_dask(a):
    """A dask collection, recognised without importing dask."""
    return type(a) is not np.ndarray and type(a).__module__.split(".")[0] == "dask"


class _Build(NamedTuple):
    """What an objective was compiled from (for ``obj_a + obj_b`` and ``c * obj``)."""

    f: sp.Expr
    penalty: object  # an expression, or None
    items: tuple  # data items as (is_vector, symbols)
    order: int
    jit: bool
    stable: bool


class CompiledObjective(_Compiled):
    """A scalar objective compiled to Numba kernels; see :func:`compile`.

    Data sums over row blocks (e.g. Dask chunks, :mod:`codegen.dask_data`) use
    :meth:`_data_partial` per block and :meth:`_finish` once, and :meth:`_kernel_spec` gives
    a worker the module without SymPy (:mod:`codegen.rowblocks`).  When a data argument of
    ``value``, ``grad``, ``value_and_grad``, ``hess``, ``hess_sparse`` or ``hessp`` is a dask
    array, the call is handed to ``codegen.dask_data.evaluate``.
    """

    def __init__(self, module, wrt, params, data, key, timings, build=None, cached=False):
        super().__init__(module, wrt, params, data, key, timings)
        c = self._constants = iface.ObjectiveConstants.read(module)
        self.reduce = c.reduce
        self.order = c.order
        self.has_penalty = bool(c.penalty)
        names = iface.objective_kernels(c.order)
        self.jit = types.SimpleNamespace(**{k: getattr(module, k) for k in names})
        self.jit_parallel = types.SimpleNamespace(
            **{k: getattr(module, iface.parallel(k)) for k in names}) if data else None
        self._hess_pattern = None
        self._build = build
        self._cached = cached
        self._numba_times = {}
        self._warm = set()  # kernels known to be compiled: the first call of others is timed
        self._blocks = BlockKernels(module) if data else None

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
        """(name, kernel) to call for ``name`` on the packed arguments ``kargs``."""
        if self.order < 2 and not hasattr(self.jit, name):  # order=1: no Hessian kernels
            raise CodegenError("this objective was compiled with order=1; "
                               "compile with order=2 for Hessians")
        if self.jit_parallel is not None and kargs[1].shape[0] >= PARALLEL_MIN_ROWS:
            return iface.parallel(name), getattr(self.jit_parallel, name)
        return name, getattr(self.jit, name)

    def _call(self, name, kargs, *xs):
        """Kernel ``name`` on ``(*xs, *kargs)``; its first call compiles it, timed."""
        name, k = self._kernel(name, kargs)
        if name not in self._warm:
            self._compile(name, k, xs + tuple(kargs))
        return k(*xs, *kargs)

    def _compile(self, name, kernel, args):
        done = compile_kernel(kernel, args)
        self._warm.add(name)
        if done is not None:
            t, loaded = done
            self._numba_times[name] = t
            if t > PROGRESS_AFTER:
                report(f"Numba loaded {name} from the kernel cache in {t:.1f} s" if loaded else
                       f"Numba compiled {name} in {t:.1f} s (saved in the kernel cache: the "
                       "next process loads it)")

    def _dask_call(self, args):
        """True when a data argument is a dask array (the test is cheap on NumPy arrays)."""
        if self._layout:
            for a in args:
                if type(a) is not np.ndarray and _is_dask(a):
                    return True
        return False

    def _dask(self, which, x, args, rows, v=None):
        from . import dask_data  # helper DASK's module: imports dask only when dask data come
        i = 1 if self.params else 0
        if len(args) != i + len(self._layout):
            raise ArgumentError(f"expected {i + len(self._layout)} trailing argument(s): "
                                f"{self._expected()}; got {len(args)}")
        p = self._params(args[0] if i else None)
        v = None if v is None else self._x(v, "v")
        return dask_data.evaluate(self, which, self._x(x), p, tuple(args[i:]), v=v, rows=rows)

    def value(self, x, *args, rows=None):
        """f(x) (summed or averaged over the data rows, plus the penalty)."""
        if self._plain and not args and rows is None and "value" in self._warm:
            return float(self.jit.value(self._x(x), self._empty_p))
        if args and self._dask_call(args):
            return self._dask("value", x, args, rows)
        return float(self._call("value", self.pack_args(*args, rows=rows), self._x(x)))

    def grad(self, x, *args, rows=None):
        """Gradient, shape (n,)."""
        if self._plain and not args and rows is None and "grad" in self._warm:
            return self.jit.grad(self._x(x), self._empty_p)
        if args and self._dask_call(args):
            return self._dask("grad", x, args, rows)
        return self._call("grad", self.pack_args(*args, rows=rows), self._x(x))

    def value_and_grad(self, x, *args, rows=None):
        """(f(x), gradient) from one fused kernel."""
        if self._plain and not args and rows is None and "value_and_grad" in self._warm:
            v, g = self.jit.value_and_grad(self._x(x), self._empty_p)
            return float(v), g
        if args and self._dask_call(args):
            return self._dask("value_and_grad", x, args, rows)
        v, g = self._call("value_and_grad", self.pack_args(*args, rows=rows), self._x(x))
        return float(v), g

    def hess(self, x, *args, rows=None):
        """Dense Hessian, shape (n, n)."""
        if self._plain and not args and rows is None and "hess" in self._warm:
            return self.jit.hess(self._x(x), self._empty_p)
        if args and self._dask_call(args):
            return self._dask("hess", x, args, rows)
        return self._call("hess", self.pack_args(*args, rows=rows), self._x(x))

    def hess_sparse(self, x, *args, rows=None):
        """Hessian as ``scipy.sparse.csr_matrix`` with the symbolic pattern :attr:`hess_pattern`."""
        if args and self._dask_call(args):
            return self._dask("hess_sparse", x, args, rows)
        return self._csr_of(self._call("hess_values", self.pack_args(*args, rows=rows),
                                       self._x(x)))

    def _csr_of(self, vals):
        try:
            # Same structure, new values: skips SciPy's O(nnz) format checks.
            return self.hess_pattern._with_data(vals, copy=True)
        except AttributeError:  # pragma: no cover - private SciPy API went away
            return self._hess_csr(vals)

    def hessp(self, x, v, *args, rows=None):
        """Hessian-vector product H(x) @ v, without forming H."""
        if args and self._dask_call(args):
            return self._dask("hessp", x, args, rows, v=v)
        return self._call("hessp", self.pack_args(*args, rows=rows), self._x(x), self._x(v, "v"))

    # -- row blocks (interface for codegen.dask_data) -----------------------------------------

    def _params(self, params):
        """The params vector (empty without params), checked."""
        if not self.params:
            if params is not None and np.size(params):
                raise ArgumentError(f"this objective has no params, got {np.size(params)} values")
            return self._empty_p
        if params is None:
            raise ArgumentError(f"params (length {len(self.params)}) are missing")
        p = _float_vector(params, "params", len(self.params))
        _check_finite(p, "params")
        return p

    def _data_partial(self, which, x, params, data_arrays, v=None):
        """The data term of ``which`` summed over every row of the NumPy arrays
        ``data_arrays`` (one block of rows): no mean, no penalty.

        ``which`` is "value" (float), "grad" (n), "value_and_grad" ((float, n)), "hess"
        (n x n), "hessp" (n: the block's H @ ``v``) or "hess_sparse" (the CSR values in the
        order of :attr:`hess_pattern`).  Partial sums of blocks add up; :meth:`_finish` turns
        their total into the objective's result.  Runs the same (parallel above
        ``PARALLEL_MIN_ROWS`` rows) kernels as the other methods.
        """
        if self._blocks is None:
            raise ArgumentError("partial sums need an objective compiled with data=")
        args = ((self._params(params),) if self.params else ()) + tuple(data_arrays)
        return self._blocks.partial_kargs(which, self._x(x), self.pack_args(*args), v)

    def _finish(self, which, x, params, partial, n_rows, v=None, n_total=None):
        """The objective's ``which`` from the total ``partial`` of :meth:`_data_partial` over
        ``n_rows`` rows: divided by ``n_rows`` when reduce="mean", plus the penalty (weighted
        by ``n_rows / n_total`` with reduce="sum" when the rows are a sample of ``n_total``,
        as ``rows=`` does; ``n_total`` defaults to ``n_rows``).  "hess_sparse" gives a CSR."""
        if self._blocks is None:
            raise ArgumentError("partial sums need an objective compiled with data=")
        out = self._blocks.finish(which, x, self._params(params), partial, n_rows, v, n_total)
        return self._csr_of(out) if which == "hess_sparse" else out

    def _kernel_spec(self):
        """A picklable :class:`~codegen.rowblocks.KernelHandle`: ``handle.load()`` in another
        process (no SymPy needed) gives the module's :class:`~codegen.rowblocks.BlockKernels`."""
        return KernelHandle(self.key, self.source, "objective")

    # -- build times --------------------------------------------------------------------------

    @property
    def timings(self):
        """A :class:`~codegen.timings.BuildTimes`: derive, codegen, and Numba per kernel
        (the kernels compiled so far through this object's methods or :meth:`warmup`)."""
        return BuildTimes.of(self.build_times, self._numba_times, self._cached,
                             bool(getattr(self.module, "_JIT", True)))

    def warmup(self, methods=(), *, kernels=None, parallel=False):
        """Compile every kernel now (or load it from the cache) and return :attr:`timings`.

        ``kernels`` names a subset (e.g. ``("value_and_grad",)``, what L-BFGS calls);
        ``parallel=True`` also compiles the multi-threaded variants that data sums use from
        ``PARALLEL_MIN_ROWS`` rows on.  The solver loops are compiled by solvers, the layer
        above: ``solvers.warmup(obj, methods=("lbfgs",))`` compiles (or loads) the loops of the
        named methods for this objective's argument layout; ``methods`` is refused here.

        >>> import sympy as sp
        >>> a = sp.Symbol("a")
        >>> obj = compile(a**4, [a])
        >>> times = obj.warmup()
        >>> all(getattr(obj.jit, k).signatures for k in iface.objective_kernels(2))
        True
        """
        if methods:
            raise CodegenError(
                "codegen compiles kernels, not solver loops (solvers is the layer above): "
                f"warm the loops of {list(methods)} with solvers.warmup(obj, "
                f"methods={tuple(methods)!r})")
        have = iface.objective_kernels(self.order)
        names = list(have) if kernels is None else [kernels] if isinstance(kernels, str) \
            else list(kernels)
        for name in names:
            if name not in have:
                raise CodegenError(f"no kernel {name!r} to compile; this objective has "
                                   f"{', '.join(have)}" + (" (order=1: no Hessian kernels)"
                                                           if self.order < 2 else ""))
        if iface.HESS_UPPER in names:  # first: hess, hess_values and hessp call it
            names.insert(0, names.pop(names.index(iface.HESS_UPPER)))
        x = np.zeros(self.n)
        kargs = self._sample_kargs()
        for ns in (self.jit, self.jit_parallel if parallel else None):
            for name in (names if ns is not None else ()):
                full = name if ns is self.jit else iface.parallel(name)
                args = (x, x) if name == iface.HESSP else (x,)
                self._compile(full, getattr(ns, name), args + kargs)
        return self.timings

    def _sample_kargs(self):
        """Packed arguments of the right types (one row of zeros), to compile against."""
        p = np.zeros(len(self.params))
        if not self._layout:
            return (p,)
        data = tuple(np.zeros((1, w)) if w else np.zeros(1) for w in self._layout)
        return (p, np.zeros(1, dtype=np.int64)) + data

    def __repr__(self):
        h = f"nnz(H)={self.hess_pattern.nnz}" if self.order >= 2 else \
            "Hessian not built (order=1)"
        pen = " + penalty" if self.has_penalty else ""
        return (f"<CompiledObjective n={self.n} params={len(self.params)} "
                f"data={len(self.data)} reduce={self.reduce!r}{pen} {h}; {self.timings}>")

    # -- sums and multiples -------------------------------------------------------------------

    def __add__(self, other):
        if isinstance(other, numbers.Number) and not isinstance(other, bool) and other == 0:
            return self  # sum([obj_a, obj_b]) starts from 0
        if not isinstance(other, CompiledObjective):
            return NotImplemented
        return _combine(self, 1, other, 1)

    __radd__ = __add__

    def __sub__(self, other):
        if not isinstance(other, CompiledObjective):
            return NotImplemented
        return _combine(self, 1, other, -1)

    def __mul__(self, c):
        if isinstance(c, CompiledObjective):
            raise TypeError("a product of two compiled objectives is not supported (only sums "
                            "and real multiples are): multiply the expressions and compile")
        if not _is_real(c):
            return NotImplemented
        return _combine(self, c, None, 0)

    __rmul__ = __mul__

    def __truediv__(self, c):
        if not _is_real(c) or c == 0:
            return NotImplemented
        return _combine(self, sp.Integer(1) / sp.sympify(c), None, 0)

    def __neg__(self):
        return _combine(self, -1, None, 0)


def _is_real(c):
    if isinstance(c, bool) or not isinstance(c, (numbers.Real, sp.Number)):
        return False
    return bool(sp.sympify(c).is_finite) and bool(sp.sympify(c).is_real)


def _scaled(c, e):
    return e if e is None or c == 1 else sp.sympify(c) * e


def _combine(a, ca, b, cb):
    """compile(ca * a + cb * b) from what a and b were compiled from (b may be None)."""
    if a._build is None or (b is not None and b._build is None):
        raise TypeError("only objectives made by codegen.compile can be added or scaled")
    if b is None:
        A = a._build
        return compile(_scaled(ca, A.f), a.wrt, a.params, _data_arg(A.items), a.reduce,
                       penalty=_scaled(ca, A.penalty), order=A.order, jit=A.jit,
                       stable=A.stable)
    A, B = a._build, b._build
    if tuple(a.wrt) != tuple(b.wrt):
        raise TypeError(f"objectives on different variables cannot be added: wrt "
                        f"{_show(a.wrt)} and {_show(b.wrt)} (the same symbols in the same "
                        "order are needed)")
    if a.params and b.params and tuple(a.params) != tuple(b.params):
        raise TypeError(f"objectives with different params cannot be added: {_show(a.params)} "
                        f"and {_show(b.params)}; declare the same params (in the same order) "
                        "for both")
    if A.items and B.items and (A.items != B.items or a.reduce != b.reduce):
        raise TypeError("data objectives can be added only with the same data symbols and the "
                        f"same reduce: data {_show(a.data)} reduce={a.reduce!r} and data "
                        f"{_show(b.data)} reduce={b.reduce!r}; add the per-row expressions "
                        "and compile")
    fa, fb = _scaled(ca, A.f), _scaled(cb, B.f)
    pens = [_scaled(ca, A.penalty), _scaled(cb, B.penalty)]
    if A.items and not B.items:  # an objective without data is a penalty beside the data sum
        f, pens = fa, pens + [fb]
    elif B.items and not A.items:
        f, pens = fb, pens + [fa]
    else:
        f = fa + fb
    pens = [e for e in pens if e is not None]
    data_obj = a if A.items else b
    return compile(f, a.wrt, a.params or b.params, _data_arg(A.items or B.items),
                   data_obj.reduce, penalty=sp.Add(*pens) if pens else None,
                   order=min(A.order, B.order), jit=A.jit and B.jit,
                   stable=A.stable and B.stable)


def _show(syms):
    return "(" + ", ".join(map(str, syms)) + ")"


def _data_arg(items):
    return [syms[0] if vec else list(syms) for vec, syms in items] or None


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


def compile(f, wrt, params=(), data=None, reduce="sum", penalty=None, *, order=2, jit=True,
            stable=True):
    """Compile a scalar SymPy objective into cached Numba kernels.

    Parameters
    ----------
    f : the objective; with ``data`` the per-row expression whose sum (or mean) is taken.
    wrt : the variables, in the order of ``x``.
    params : symbols passed at call time as one float array.
    data : items that are a Symbol (an array of length N) or a sequence of Symbols (N x k).
    reduce : ``"sum"`` or ``"mean"`` over the data rows.
    penalty : an expression in ``wrt`` and ``params`` only, added once to the reduced data
        term (after the mean with ``reduce="mean"``): ``sum_i f_i + g`` or ``mean_i f_i + g``.
        Every kernel includes it (value, gradient, Hessian, hessp, so the solvers too).  On a
        row subset (``rows=``, a solver's mini-batch) of B of the N rows, ``reduce="mean"``
        adds it once and ``reduce="sum"`` adds ``B/N`` of it, so that the subset's value
        (times N/B for a sum, as the solvers scale a mini-batch) estimates the full objective
        without bias.  To fit a subset as a data set of its own, pass its rows sliced.
    order : 2 (default) derives the Hessian too; 1 stops at the gradient.
    jit : False runs the same generated source as plain Python (fast to build, slow to call).
    stable : apply the stable rewrites of :mod:`codegen.rewrite` first.

    Objectives on the same ``wrt`` add up (``obj_a + obj_b``, ``obj_a - obj_b``) and scale by a
    real number (``c * obj``): the result is compiled from the expressions (an objective
    without data added to a data objective becomes part of its penalty).

    >>> import sympy as sp
    >>> w, xi, yi = sp.symbols("w x y")
    >>> obj = compile((w * xi - yi)**2, [w], data=[xi, yi], reduce="mean")
    >>> obj.value([2.0], [1.0, 2.0], [2.0, 4.0])
    0.0
    >>> ridge = compile((w * xi - yi)**2, [w], data=[xi, yi], penalty=w**2 / 2)
    >>> ridge.value([2.0], [1.0, 2.0], [2.0, 4.0]), ridge.grad([1.0], [1.0, 2.0], [2.0, 4.0])
    (2.0, array([-9.]))
    """
    if reduce not in ("sum", "mean"):
        raise CodegenError(f"reduce must be 'sum' or 'mean', got {reduce!r}")
    if order not in (1, 2):
        raise CodegenError(f"order must be 1 or 2, got {order!r}")
    from .matrix_compiled import compile_matrix, is_matrix_model
    if is_matrix_model(wrt, params, data):  # loops over symbolic sizes: codegen/matrix_*.py
        return compile_matrix(f, wrt, params, data, reduce, penalty, order=order, jit=jit,
                              stable=stable)
    wrt = _symbols(wrt, "wrt")
    if not wrt:
        raise CodegenError("wrt is empty: give at least one variable")
    params = _symbols(params, "params")
    items = _data_items(data)
    names = _names(wrt, params, *(syms for _, syms in items))
    f = _scalar(_sympify(f, "f", names), "f")
    _check_symbols([f], wrt, params, items)
    if penalty is not None:
        penalty = _scalar(_sympify(penalty, "penalty", names), "penalty")
        _check_penalty(penalty, wrt, params, items)
        if not items:  # without data, the penalty is one more term of f
            f, penalty = f + penalty, None
    key = cache.key_for("objective", _canonical(f), sp.srepr(wrt), sp.srepr(params),
                        _srepr_data(items), reduce, order, bool(jit), bool(stable),
                        _canonical(penalty) if penalty is not None else b"no penalty")
    mod = cache.lookup(key, "objective")
    timings = {}
    if mod is None:
        from .generate import objective_source
        source, timings = objective_source(f, wrt, params, items, reduce, order, jit, stable,
                                           penalty=penalty)
        t = time.perf_counter()
        mod = cache.store(key, source, "objective")
        timings["store"] = time.perf_counter() - t
    build = _Build(f, penalty, tuple(items), order, bool(jit), bool(stable))
    return CompiledObjective(mod, wrt, params, items, key, timings, build, cached=not timings)


def _scalar(e, what):
    if not isinstance(e, sp.Expr) or isinstance(e, sp.MatrixBase):
        raise CodegenError(f"{what} must be a scalar SymPy expression, got {type(e).__name__}"
                           + ("; use compile_vector for vector functions" if what == "f" else ""))
    return e


def _check_penalty(g, wrt, params, items):
    """The penalty may use wrt and params only: it is added once, not per row."""
    for s in sorted(g.free_symbols, key=str):
        if any(s in syms for _, syms in items):
            raise CodegenError(f"penalty uses the data symbol {str(s)!r}: the penalty is added "
                               "once, not per row; put terms with data in f")
    _check_symbols([g], wrt, params, [])


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
