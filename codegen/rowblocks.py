"""A data objective over row blocks: unreduced partial sums, their finish, a kernel handle.

A data objective is a sum over rows.  Split the rows into blocks (Dask chunks on workers),
take each block's :meth:`BlockKernels.partial` (the data term summed over the block: no mean,
no penalty), add the partial sums, and :meth:`BlockKernels.finish` returns what the
objective's ``value``, ``grad``, ``value_and_grad``, ``hess``, ``hessp`` (or ``hess_sparse``'s
values) return on all the rows: the mean's scale and the penalty, applied once.  Only
n-vectors (n x n for a Hessian) travel between the blocks and the finish.

This module loads no SymPy.  :meth:`CompiledObjective._kernel_spec` gives a picklable
:class:`KernelHandle`; a process that unpickles it (a Dask worker) calls :meth:`KernelHandle.load`
and gets the generated module from its own cache directory, or writes it there from the source
the handle carries, once per process.

>>> import pickle, sympy as sp, codegen
>>> w, x = sp.symbols("w x")
>>> obj = codegen.compile((w - x)**2, [w], data=[x], reduce="mean", penalty=w**2)
>>> X = np.array([1.0, 2.0, 3.0, 4.0])
>>> blocks = pickle.loads(pickle.dumps(obj._kernel_spec())).load()
>>> part = sum(blocks.partial("grad", [0.5], None, [X[a:b]]) for a, b in [(0, 1), (1, 4)])
>>> blocks.finish("grad", [0.5], None, part, n_rows=4).tolist(), obj.grad([0.5], X).tolist()
([-3.0], [-3.0])
"""
import threading
import weakref
from typing import NamedTuple

import numpy as np

from . import cache
from . import interface as iface
from .arrays import check_finite, float_vector, real_array
from .errors import ArgumentError, CodegenError

__all__ = ["KernelHandle", "BlockKernels", "WHICH", "PARALLEL_MIN_ROWS"]

PARALLEL_MIN_ROWS = 200_000  # below this the serial kernel wins (thread start-up, compile)

#: What a partial sum can be taken of.
WHICH = ("value", "grad", "value_and_grad", "hess", "hessp", "hess_sparse")
_HESSIANS = ("hess", "hessp", "hess_sparse")

_BLOCKS = {}  # cache key -> BlockKernels: one load per process
_lock = threading.Lock()


class KernelHandle(NamedTuple):
    """What a process needs to load a compiled objective's kernels without SymPy (picklable):
    the cache ``key``, the generated ``source`` and the entry's ``kind`` (its file-name hint)."""

    key: str
    source: str
    kind: str = "objective"

    def load(self):
        """The :class:`BlockKernels` of this module (a matrix model's:
        :class:`~codegen.matrix_blocks.MatrixBlockKernels`), loaded once per process: from the
        cache directory when the entry is there, else written there from ``source`` and
        imported."""
        with _lock:
            blocks = _BLOCKS.get(self.key)
            if blocks is None:
                mod = cache.lookup(self.key, self.kind)
                if mod is None:
                    mod = cache.store(self.key, self.source, self.kind)
                if getattr(mod, "KIND", None) == "matrix-objective":
                    from .matrix_blocks import MatrixBlockKernels  # SymPy-free too
                    blocks = MatrixBlockKernels(mod)
                else:
                    blocks = BlockKernels(mod)
                _BLOCKS[self.key] = blocks
            return blocks

    def __repr__(self):
        return (f"KernelHandle(key={self.key!r}, source=<{len(self.source)} chars>, "
                f"kind={self.kind!r})")


def _check_which(which, order):
    if which not in WHICH:
        raise ArgumentError(f"which must be one of {', '.join(map(repr, WHICH))}, got {which!r}")
    if which in _HESSIANS and order < 2:
        raise CodegenError("this objective was compiled with order=1; "
                           "compile with order=2 for Hessians")


class BlockKernels:
    """Partial sums over row blocks and their finish, from a generated data-objective module."""

    def __init__(self, module):
        c = self.constants = iface.ObjectiveConstants.read(module)
        if c.kind != "objective" or not c.data_layout:
            raise ArgumentError("partial sums need an objective compiled with data=")
        self.module = module
        self.n = c.n
        self._finite = {}

    @staticmethod
    def uses_threads(n_rows, n):
        """True when a block of ``n_rows`` rows runs the multi-threaded kernels."""
        return n_rows >= PARALLEL_MIN_ROWS

    def pack(self, params, arrays, rows=None):
        """``(p, rows, d0, d1, ...)`` over the rows ``rows`` (local indices; None: all) of the
        block ``arrays`` (checked: layout, equal row counts, finite values)."""
        c = self.constants
        p = _params(params, c.n_params)
        arrays = list(arrays)
        if len(arrays) != len(c.data_layout):
            raise ArgumentError(f"expected {len(c.data_layout)} data array(s), got {len(arrays)}")
        ds = []
        for k, (a, w) in enumerate(zip(arrays, c.data_layout)):
            d = real_array(a, f"data[{k}]")
            want = "(N,)" if w == 0 else f"(N, {w})"
            if d.ndim != (1 if w == 0 else 2) or (w and d.shape[1] != w):
                raise ArgumentError(f"data[{k}] must have shape {want}, got {d.shape}")
            want_rows = ds[0].shape[0] if ds else max(d.shape[0], 1)
            if d.shape[0] != want_rows:
                raise ArgumentError(f"data[{k}] has {d.shape[0]} rows; every data array of a "
                                    "block needs the same number (at least 1)")
            self._check_finite(k, d, a)
            ds.append(d)
        N = ds[0].shape[0]
        if rows is None:
            rows = np.arange(N, dtype=np.int64)
        else:
            rows = np.ascontiguousarray(rows, dtype=np.int64)
            if rows.ndim != 1 or rows.size == 0 or rows.min() < 0 or rows.max() >= N:
                raise ArgumentError(f"rows must be a non-empty 1-D array of indices in [0, {N})")
        return (p, rows) + tuple(ds)

    def _check_finite(self, k, d, given):
        # A block passed again (a persisted Dask chunk) is checked once: see _Compiled.
        memo = self._finite.get(k)
        if memo is not None and d is given and memo[0]() is d and memo[1] == d.shape:
            return
        check_finite(d, f"data[{k}]")
        if d is given:
            self._finite[k] = (weakref.ref(d), d.shape)

    def partial(self, which, x, params, arrays, v=None, rows=None):
        """The data term of ``which`` summed over the rows ``rows`` (None: all) of the block
        ``arrays`` (no mean, no penalty): a float, an n-vector, (float, n-vector), an n x n
        matrix (``hess``), an n-vector (``hessp``: H_block @ v) or the CSR values
        (``hess_sparse``).  The module's kernels ``value_partial(x, p, rows, d0, ...)`` ...
        (:func:`codegen.interface.partial`) compute the same."""
        x = float_vector(x, "x", self.n)
        return self.partial_kargs(which, x, self.pack(params, arrays, rows), v)

    def partial_kargs(self, which, x, kargs, v=None):
        """:meth:`partial` on packed kernel arguments ``(p, rows, d0, ...)``."""
        _check_which(which, self.constants.order)
        name = {"value": iface.VALUE, "grad": iface.GRAD,
                "value_and_grad": iface.VALUE_AND_GRAD}.get(which, iface.HESS_UPPER)
        name = iface.partial(name)
        if kargs[1].shape[0] >= PARALLEL_MIN_ROWS:
            name = iface.parallel(name)
        out = getattr(self.module, name)(x, *kargs)
        if which == "value":
            return float(out)
        if which == "value_and_grad":
            return float(out[0]), out[1]
        if which == "grad":
            return out
        return self._from_upper(which, out, self._v(which, v))

    def _v(self, which, v):
        if which != "hessp":
            return None
        if v is None:
            raise ArgumentError("which='hessp' needs the vector v")
        return float_vector(v, "v", self.n)

    def _from_upper(self, which, hu, v):
        """The Hessian form ``which`` from upper-triangle entries in (HU_ROW, HU_COL) order."""
        c = self.constants
        r, col = c.hu_row, c.hu_col
        if which == "hess":
            H = np.zeros((self.n, self.n))
            H[r, col] = hu
            H[col, r] = hu
            return H
        if which == "hessp":
            off = r != col
            return (np.bincount(r, hu * v[col], minlength=self.n)
                    + np.bincount(col[off], hu[off] * v[r[off]], minlength=self.n))
        vals = np.empty(len(c.hess_indices))
        vals[c.hu_pos1] = hu
        vals[c.hu_pos2] = hu
        return vals

    def finish(self, which, x, params, partial, n_rows, v=None, n_total=None):
        """The objective's ``which`` from the sum of the blocks' partial sums over ``n_rows``
        rows: divided by ``n_rows`` when reduce='mean', plus the penalty (weighted by
        ``n_rows / n_total`` when reduce='sum' and the rows are a sample of ``n_total``; see
        :func:`codegen.compile`)."""
        c = self.constants
        _check_which(which, c.order)
        n_rows, n_total = _counts(n_rows, n_total)
        x = float_vector(x, "x", self.n)
        p = _params(params, c.n_params)
        v = self._v(which, v)
        s = 1.0 / n_rows if c.reduce == "mean" else 1.0
        w = 1.0 if c.reduce == "mean" else n_rows / n_total
        if which == "value_and_grad":
            val, g = float(partial[0]) * s, np.asarray(partial[1], dtype=np.float64) * s
            if c.penalty:
                pv, pg = getattr(self.module, iface.penalty(iface.VALUE_AND_GRAD))(x, p)
                val, g = val + pv * w, g + pg * w
            return float(val), g
        if which == "value":
            out = float(partial) * s
        else:
            out = np.asarray(partial, dtype=np.float64) * s
        if c.penalty:
            name = {"value": iface.VALUE, "grad": iface.GRAD}.get(which, iface.HESS_UPPER)
            pen = getattr(self.module, iface.penalty(name))(x, p)
            if which in _HESSIANS:
                pen = self._from_upper(which, pen, v)
            out = out + pen * w
        return float(out) if which == "value" else out


def _params(params, n_params):
    if params is None or (n_params == 0 and np.size(params) == 0):
        if n_params:
            raise ArgumentError(f"params (length {n_params}) are missing")
        return np.zeros(0)
    p = float_vector(params, "params", n_params)
    check_finite(p, "params")
    return p


def _counts(n_rows, n_total):
    n_rows = int(n_rows)
    n_total = n_rows if n_total is None else int(n_total)
    if n_rows < 1 or n_total < n_rows:
        raise ArgumentError(f"n_rows must be >= 1 and at most n_total, got n_rows={n_rows}, "
                            f"n_total={n_total}")
    return n_rows, n_total
