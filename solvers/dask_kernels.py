"""A compiled data objective on dask arrays, in the solver loops' interface.

:class:`DaskKernels` is what :func:`solvers.adapter.as_kernels` returns when a data argument
is a dask array: ``vg``, ``hess`` and ``hessp`` take the loops' packed arguments
``(p, rows, d0, d1, ...)`` and evaluate through :func:`codegen.dask_data.evaluate`, where the
blocks live. Like a Python objective it has ``compiled = False``, so every method runs its
loop in Python (a nopython loop cannot wait on a cluster); the work per evaluation is the
workers'. Mini-batches: the gradient family draws row indices with its seeded generator and
passes them as ``rows``; only the blocks holding them compute, and the client never holds
more than those indices. A matrix model's number of variables comes from the sizes the data
shapes bind (``n``, len(x0), when a size is known only from x).

A failure Dask cannot recover ends the run with status ``EVALUATION_FAILED`` at the last point
evaluated in full (``x``, ``fun``, ``grad``; ``success`` False), the error's text in
``Result.error`` and the message (never a partial sum taken as the objective); a failure before
any full evaluation raises :class:`~codegen.dask_data.DaskEvaluationError` itself.

>>> import dask, dask.array as da, numpy as np, sympy as sp, codegen, solvers
>>> w, xi, yi = sp.symbols("w x y")
>>> obj = codegen.compile((w * xi - yi)**2, [w], data=[xi, yi], reduce="mean")
>>> X = da.from_array(np.arange(1.0, 7.0), chunks=2)
>>> with dask.config.set(scheduler="synchronous"):
...     r = solvers.minimize(obj, [0.0], args=(X, 3 * X))
>>> r.success, r.x.round(8).tolist()
(True, [3.0])
"""
import numpy as np

from .adapter import EvaluationFailed

__all__ = ["DaskKernels", "AllRows"]


class AllRows:
    """Every row index 0..N-1 without an array of N on the client: ``rows[idx]`` is ``idx``.

    Stands for the loops' ``kargs[1]`` (see :func:`solvers.numba_shims.data_rows`).
    """

    __slots__ = ("shape",)

    def __init__(self, n_rows):
        self.shape = (int(n_rows),)

    def __getitem__(self, idx):
        return np.asarray(idx, dtype=np.int64)

    def __len__(self):
        return self.shape[0]


def _matrix_n(obj, p, arrays, nx):
    """A matrix model's number of variables, from the sizes the arrays' shapes bind (and
    ``nx`` = len(x0) when a size is known only from x)."""
    from codegen.errors import ArgumentError
    try:
        return int(obj.n_for((p, None) + tuple(arrays), nx))
    except ArgumentError as exc:
        if nx is not None:
            raise
        raise ArgumentError(f"{exc}; on dask data the solvers take it from the data shapes "
                            "only: give that size a data array") from None


class DaskKernels:
    """A CompiledObjective with dask data, evaluated on the cluster for the Python loops."""

    compiled = False
    has_data = True

    def __init__(self, obj, args=(), rows=None, n=None):
        from codegen.dask_data import check_data, check_rows  # SymPy-free
        if not isinstance(args, (tuple, list)):
            args = (args,)
        args = tuple(args)
        self.objective = obj
        self.obj = self  # no hess_sparse: newton takes the dense Hessian, one task per block
        k = 1 if obj.params else 0
        if len(args) != k + len(obj._layout):
            from codegen.errors import ArgumentError
            raise ArgumentError(f"expected {k + len(obj._layout)} trailing argument(s): "
                                f"{obj._expected()}; got {len(args)}")
        self.data = check_data(obj, args[k:])
        p = obj._params(args[0] if k else None)
        self.n = int(obj.n) if obj.n is not None else _matrix_n(obj, p, self.data.arrays, n)
        r = AllRows(self.data.n_rows) if rows is None else check_rows(rows, self.data.n_rows)
        self.kargs = (p, r) + self.data.arrays
        self.args, self.rows = args, rows
        self.sum_reduced = obj.reduce == "sum"
        self.nfev = self.njev = self.nhev = 0
        self.last = None  # (x, f, g) of the last successful value_and_grad

    @property
    def n_rows(self):
        return self.kargs[1].shape[0]

    def evaluations_per_gradient(self):
        """One value_and_grad per gradient (exact gradients)."""
        return 1

    def _evaluate(self, which, x, p, rows, v=None):
        from codegen.dask_data import DaskEvaluationError, evaluate
        r = None if isinstance(rows, AllRows) else rows
        try:
            return evaluate(self.objective, which, x, p, self.data, v=v, rows=r)
        except DaskEvaluationError as exc:
            exc.last, exc.nfev = self.last, self.nfev
            raise EvaluationFailed(exc, self.last) from exc  # the loop ends at self.last

    def vg(self, x, p, rows, *data):
        """(f, g) at x over ``rows`` (the loops pass the packed arguments back)."""
        self.nfev += 1
        self.njev += 1
        f, g = self._evaluate("value_and_grad", x, p, rows)
        if isinstance(rows, AllRows):
            self.last = (x.copy(), f, g)
        return f, g

    def hess(self, x, p, rows, *data):
        self.nhev += 1
        return self._evaluate("hess", x, p, rows)

    def hessp(self, x, v, p, rows, *data):
        self.nhev += 1
        return self._evaluate("hessp", x, p, rows, v)
