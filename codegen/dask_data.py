"""Data objectives on Dask arrays: the compiled row kernels run where the blocks live.

:func:`evaluate` maps the objective's compiled row kernels over the row blocks of dask
arrays (one task per block, on the worker that holds it), sums the per-block partial sums
in a tree of tasks, and finishes on the client (``obj._finish``: the mean over the rows, the
penalty). Only results of the objective's size travel back: ``n`` numbers for a gradient,
``n x n`` for a Hessian (the pattern's values for ``hess_sparse``), never the data.
The codegen ``CompiledObjective`` methods hand dask data here; the blocks are summed by
:class:`codegen.rowblocks.BlockKernels` (``partial_kargs``: no mean, no penalty). Matrix
models (:mod:`codegen.matrix_compiled`) come here too: their blocks run the row-block kernels
of :class:`codegen.matrix_blocks.MatrixBlockKernels`, which bind the sizes from the block's own
arrays (row counts differ from block to block), and the model's ``_finish`` applies the mean,
the penalty and a Hessian's mirror once.

Workers need no SymPy: each task gets the objective's
:class:`~codegen.rowblocks.KernelHandle` (cache key and generated source, one key of the
graph, so it travels once per worker and evaluation), and a worker imports the module once
per key: from its own kernel cache when it is there, else written there from the source.
This module imports only NumPy at the top (dask inside the functions that build graphs), so
workers load it without SymPy.

Every partial sum carries the number of rows it summed; a total that does not count every
row asked for is refused (:class:`DaskEvaluationError`), so a partial sum is never taken for
the objective. Lost workers are Dask's business (it recomputes their blocks from the
lineage); a failure it cannot recover is raised as :class:`DaskEvaluationError`, a bad
entry of the data as :class:`~codegen.errors.ArgumentError` naming its row.

Time limit: ``dask.config.set({"derive.dask-timeout": seconds})`` bounds each evaluation on
a distributed cluster (default: none); past it the evaluation fails with
:class:`DaskEvaluationError`.

>>> import dask, dask.array as da, numpy as np, sympy as sp, codegen
>>> w, xi, yi = sp.symbols("w x y")
>>> obj = codegen.compile((w * xi - yi)**2, [w], data=[xi, yi], reduce="mean")
>>> X = da.from_array(np.arange(6.0), chunks=2)
>>> with dask.config.set(scheduler="synchronous"):
...     evaluate(obj, "value_and_grad", [2.0], None, (X, 2 * X))
(0.0, array([0.]))
"""
import contextlib
import threading

import numpy as np

from .arrays import check_rows
from .errors import ArgumentError, CodegenError

__all__ = ["evaluate", "check_data", "check_rows", "DaskData", "DaskEvaluationError",
           "kernel_handle", "is_dask_array", "TIMEOUT_KEY", "WHICH"]

WHICH = ("value", "grad", "value_and_grad", "hess", "hessp", "hess_sparse")
TIMEOUT_KEY = "derive.dask-timeout"
SPLIT_EVERY = 8  # partial sums added per task of the tree reduction
_HANDLES = {}  # cache key -> KernelHandle (client side: the source is read once)
_CHECKED = {}  # names of the data arrays -> blocks already checked finite (client side)
_CHECKED_MAX = 64
# Large blocks (``uses_threads``: PARALLEL_MIN_ROWS rows, a matrix model's rows x variables from
# PARALLEL_WORK) run the multi-threaded kernels, which use every core
# already: one at a time per process, so that threads of one worker (or Dask's threaded
# scheduler) never launch them concurrently, which Numba's workqueue threading layer forbids.
_PARALLEL_LOCK = threading.Lock()


class DaskEvaluationError(RuntimeError):
    """An evaluation on dask data failed and Dask could not recover it.

    ``which`` names the evaluation (``"value_and_grad"`` ...); ``__cause__`` is Dask's error.
    No partial sum is ever returned in its place.
    """

    def __init__(self, message, which=None):
        super().__init__(message)
        self.which = which


def kernel_handle(obj):
    """The picklable, SymPy-free :class:`~codegen.rowblocks.KernelHandle` of ``obj`` (its source
    read once per process)."""
    handle = _HANDLES.get(obj.key)
    if handle is None:
        handle = _HANDLES[obj.key] = obj._kernel_spec()
    return handle


def is_dask_array(a):
    """True for a dask array (tested by type, without importing dask)."""
    return type(a).__module__.split(".")[0] == "dask" and hasattr(a, "chunks")


# ---- on the workers --------------------------------------------------------------------


def _check_block(blocks, row0, labels):
    """Refuse NaN/inf in one block, naming the global row (one summing pass when all is well)."""
    for k, b in enumerate(blocks):
        if np.isfinite(b.sum()):
            continue
        bad = np.argwhere(~np.isfinite(b))
        if bad.size == 0:  # the sum overflowed: every entry is finite
            continue
        at = tuple(int(i) for i in bad[0])
        where = f"row {row0 + at[0]}" + (f", column {at[1]}" if b.ndim == 2 else
                                          f", entry {at[1:]}" if b.ndim > 2 else "")
        raise ArgumentError(f"data[{k}] ({labels[k]}) has {b[at]} at {where}: data must be "
                            "finite; drop or impute the rows with missing values first")


def block_partial(handle, which, x, p, v, rows, row0, labels, *blocks):
    """One task: (the block's partial sum over ``rows``, local, None for all; the number of
    rows summed). With ``labels`` the block is checked finite first."""
    kernels = handle.load()  # once per process and key
    blocks = tuple(np.ascontiguousarray(b, dtype=np.float64) for b in blocks)
    if labels is not None:
        _check_block(blocks, row0, labels)
    if rows is None:
        rows = np.arange(blocks[0].shape[0], dtype=np.int64)
    big = kernels.uses_threads(rows.shape[0], x.shape[0])
    with _PARALLEL_LOCK if big else contextlib.nullcontext():
        return kernels.partial_kargs(which, x, (p, rows) + blocks, v), rows.shape[0]


def _add(a, b):
    return (a[0] + b[0], a[1] + b[1]) if isinstance(a, tuple) else a + b


def add_partials(*parts):
    """One node of the tree reduction: (sum of the partial sums, sum of the row counts)."""
    total, count = parts[0]
    for part, c in parts[1:]:
        total, count = _add(total, part), count + c
    return total, count


# ---- on the client ---------------------------------------------------------------------


class DaskData:
    """Checked dask data of an objective: the arrays, their common row chunks, N, labels."""

    __slots__ = ("arrays", "row_chunks", "n_rows", "labels", "names")

    def __init__(self, arrays, row_chunks, labels):
        self.arrays = tuple(arrays)
        self.row_chunks = tuple(int(c) for c in row_chunks)
        self.n_rows = int(sum(self.row_chunks))
        self.labels = tuple(labels)
        self.names = tuple(a.name for a in self.arrays)

    @property
    def bounds(self):
        return np.concatenate(([0], np.cumsum(self.row_chunks))).astype(np.int64)


def _describe(chunks):
    text = ", ".join(map(str, chunks[:6]))
    return f"({text}{', ...' if len(chunks) > 6 else ''}; {len(chunks)} blocks)"


def _is_matrix_model(obj):
    """A matrix model (codegen.matrix_compiled): sizes bound from the arrays' shapes."""
    return getattr(obj, "_matrix", False)


def _check_array(obj, k, a, first):
    """data[k]: a dask array of real numbers of the declared shape."""
    if not is_dask_array(a):
        if first is None:
            raise ArgumentError(f"data[{k}] is not a dask array ({type(a).__name__}); "
                                "codegen.dask_data takes dask arrays")
        raise ArgumentError(
            f"data[{k}] is a {type(a).__name__}, not a dask array, but data[{first}] is one: "
            f"pass every data array as a dask array chunked alike along rows (e.g. "
            f"da.from_array(a, chunks=(data[{first}].chunks[0],) + a.shape[1:]) and persist "
            f"it); a NumPy array would be shipped with every evaluation")
    kind = np.dtype(a.dtype).kind
    if kind == "c":
        raise ArgumentError(f"data[{k}] is complex ({a.dtype}), but data are real: pass its "
                            ".real part if the imaginary part is meant to go")
    if kind not in "fiub":
        raise ArgumentError(f"data[{k}] must hold real numbers, got dtype {a.dtype}")
    if _is_matrix_model(obj):
        _check_matrix_array(obj, k, a)
        return
    w = obj._layout[k]
    if w == 0 and a.ndim != 1:
        raise ArgumentError(f"data[{k}] ({obj.data[k]}) must be a 1-D array of length N, "
                            f"got shape {a.shape}")
    if w and (a.ndim != 2 or a.shape[1] != w):
        raise ArgumentError(f"data[{k}] must be a 2-D array of shape (N, {w}), got shape "
                            f"{a.shape}")
    if any(np.isnan(c) for c in a.chunks[0]):
        raise ArgumentError(f"data[{k}] has unknown chunk sizes along rows; call "
                            f"data[{k}].compute_chunk_sizes() (and persist it) first")
    if w and len(a.chunks[1]) > 1:
        raise ArgumentError(f"data[{k}] is chunked along columns too {a.chunks[1]}; each block "
                            f"must hold whole rows: data[{k}].rechunk({{1: -1}}) (and persist it)")


def _check_matrix_array(obj, k, a):
    """data[k] of a matrix model: its number of dimensions, whole rows per block (its other
    sizes are checked against the model's by ``obj.layout.bind``)."""
    nd = obj.layout.ndim(k)
    if a.ndim != nd:
        raise ArgumentError(f"data[{k}] ({obj._data_names(k)}) must be a {nd}-D array of shape "
                            f"{obj._data_shape_text(k)}, got shape {a.shape}")
    if any(np.isnan(c) for c in a.chunks[0]):
        raise ArgumentError(f"data[{k}] has unknown chunk sizes along rows; call "
                            f"data[{k}].compute_chunk_sizes() (and persist it) first")
    split = [i for i in range(1, a.ndim) if len(a.chunks[i]) > 1]
    if split:
        axes = ", ".join(f"{i}: -1" for i in split)
        raise ArgumentError(f"data[{k}] is chunked along axis {split[0]} too {a.chunks[split[0]]}; "
                            f"each block must hold whole rows: data[{k}].rechunk({{{axes}}}) "
                            "(and persist it)")


def check_data(obj, data):
    """The data arguments of ``obj`` as :class:`DaskData`, or an ArgumentError naming the first
    argument that is not a dask array chunked like ``data[0]`` along rows."""
    data = tuple(data)
    if len(data) != len(obj._layout):
        raise ArgumentError(f"expected {len(obj._layout)} data argument(s), got {len(data)}")
    first = next((k for k, a in enumerate(data) if is_dask_array(a)), None)
    for k, a in enumerate(data):
        _check_array(obj, k, a, first)
    rows0 = data[0].chunks[0]
    for k, a in enumerate(data[1:], 1):
        if a.shape[0] != data[0].shape[0]:
            raise ArgumentError(f"data[{k}] has {a.shape[0]} rows but data[0] has "
                                f"{data[0].shape[0]}; every data array needs the same N")
        if a.chunks[0] != rows0:
            i = next(i for i, (c, d) in enumerate(zip(a.chunks[0], rows0)) if c != d)
            raise ArgumentError(
                f"data[{k}] is chunked along rows as {_describe(a.chunks[0])} but data[0] as "
                f"{_describe(rows0)} (they differ first at block {i}); chunk them alike: "
                f"data[{k}].rechunk({{0: data[0].chunks[0]}})")
    if data[0].shape[0] == 0:
        raise ArgumentError("the data have 0 rows: a sum or mean over no rows is no "
                            "objective; give at least one row")
    if _is_matrix_model(obj):  # the sizes from the shapes (no data read): an error names one
        obj.layout.bind(None, data)
    return DaskData(data, rows0, [obj._data_names(k) for k in range(len(data))])


def _plan(dd, rows):
    """[(block, local rows or None)]: the blocks holding the selected rows."""
    if rows is None:
        return [(i, None) for i in range(len(dd.row_chunks))]
    bounds = dd.bounds
    block = np.searchsorted(bounds, rows, side="right") - 1
    order = np.argsort(block, kind="stable")
    block, rows = block[order], rows[order]
    cuts = np.flatnonzero(np.diff(block)) + 1
    return [(int(b[0]), r - bounds[b[0]]) for b, r in zip(np.split(block, cuts),
                                                          np.split(rows, cuts))]


def _unchecked(dd, plan):
    """Blocks of the plan not yet checked finite; they are checked by this evaluation."""
    done = _CHECKED.get(dd.names)
    if done is None:
        if len(_CHECKED) >= _CHECKED_MAX:
            _CHECKED.pop(next(iter(_CHECKED)))
        done = _CHECKED[dd.names] = set()
    return {b for b, _ in plan if b not in done}, done


def _graph(handle, which, x, p, v, dd, plan, check):
    """The delayed total: one task per planned block, then a tree of additions."""
    import dask
    blocks = [a.to_delayed().ravel() for a in dd.arrays]
    h = dask.delayed(handle, name=f"derive-kernels-{handle.key}", traverse=False)
    bounds = dd.bounds
    task = dask.delayed(block_partial, pure=False)  # keys by uuid: no hashing of x per task
    parts = [task(h, which, x, p, v, r, int(bounds[b]), dd.labels if b in check else None,
                  *(bl[b] for bl in blocks)) for b, r in plan]
    add = dask.delayed(add_partials, pure=False)
    while len(parts) > 1:
        parts = [add(*parts[i:i + SPLIT_EVERY]) if len(parts[i:i + SPLIT_EVERY]) > 1
                 else parts[i] for i in range(0, len(parts), SPLIT_EVERY)]
    return parts[0]


def _distributed_client():
    """The distributed Client Dask would compute with now, or None (a local scheduler)."""
    import dask.base
    sched = dask.base.get_scheduler()
    client = getattr(sched, "__self__", None)
    return client if type(client).__name__ == "Client" else None


def _compute(total, which):
    """The total's value; any failure Dask could not recover -> DaskEvaluationError."""
    import dask
    timeout = dask.config.get(TIMEOUT_KEY, None)
    try:
        client = _distributed_client()
        if client is None:
            return dask.compute(total)[0]
        future = client.compute(total)
        try:
            return future.result(timeout=timeout)
        finally:
            future.release()
    except ArgumentError:
        raise
    except Exception as exc:
        kind = type(exc).__name__
        if kind == "TimeoutError" or isinstance(exc, TimeoutError):
            msg = (f"the {which} evaluation on dask data got no result within {timeout} s "
                   f"(no workers left, or they are stuck); no partial sum is used")
        else:
            msg = (f"the {which} evaluation on dask data failed and Dask could not recover it "
                   f"({kind}: {exc}); no partial sum is used")
        raise DaskEvaluationError(msg, which) from exc


def evaluate(obj, which, x, params, data, v=None, rows=None):
    """``obj.<which>(x, params, *data, rows=rows)`` with dask ``data``, computed on the blocks.

    which: ``"value"``, ``"grad"``, ``"value_and_grad"``, ``"hess"`` (dense), ``"hessp"``
    (``v`` given) or ``"hess_sparse"`` (CSR). params: NumPy (or None without params). data: one dask array per data
    argument of ``obj``, all chunked alike along rows, whole rows per block (NumPy arrays
    mixed in are refused: they would travel with every evaluation). A matrix model's sizes are
    bound from the arrays' shapes, per block from the block's arrays by its kernels; its
    finish (mean, penalty, a Hessian's mirror) runs once here. rows: global row
    indices (or a boolean mask); only the blocks holding them compute. Runs on the active
    distributed Client, else on Dask's configured local scheduler. Results equal the NumPy
    results up to the order of summation.
    """
    if which not in WHICH:
        raise ArgumentError(f"which must be one of {', '.join(WHICH)}, got {which!r}")
    if which in ("hess", "hessp", "hess_sparse") and obj.order < 2:
        raise CodegenError("this objective was compiled with order=1; compile with order=2 "
                           "for Hessians")
    dd = data if isinstance(data, DaskData) else check_data(obj, data)
    p = obj._params(params)
    if which == "hessp" and v is None:
        raise ArgumentError("which='hessp' needs the vector v")
    if _is_matrix_model(obj):  # x's length from the sizes the arrays' shapes bind
        x, v = obj._dask_x(x, p, dd.arrays, v if which == "hessp" else None)
        extra = {"shapes": tuple(a.shape for a in dd.arrays)}
    else:
        x = obj._x(x)
        v = obj._x(v, "v") if which == "hessp" else None
        extra = {}
    r = None if rows is None else check_rows(rows, dd.n_rows)
    plan = _plan(dd, r)
    check, done = _unchecked(dd, plan)
    total, count = _compute(_graph(kernel_handle(obj), which, x, p, v, dd, plan, check), which)
    done.update(check)
    want = dd.n_rows if r is None else r.shape[0]
    if count != want:  # every block counted once: anything else is not the objective
        raise DaskEvaluationError(f"the {which} evaluation summed {count} rows of {want}; "
                                  "refusing a partial sum", which)
    return obj._finish(which, x, p, total, want, v, n_total=dd.n_rows, **extra)
