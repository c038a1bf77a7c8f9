"""Partial sums of a matrix model over one block of rows (SymPy-free: Dask workers run it).

A matrix model's generated module has, per kernel kind, a row-block kernel
``_acc_<kind>(x, [v,] p, rows, lo, hi, d0, ...)`` that returns the sum of its outputs over
``rows[lo:hi]``: the unreduced partial sum (no mean, no penalty), with every size bound from the
block's own arrays (their row counts may differ from block to block, the other sizes are the
same).  :class:`MatrixBlockKernels` calls it on one block; the finish (the mean, the penalty and
the mirror of a Hessian's lower blocks, once, on the client) is
:meth:`codegen.matrix_compiled.MatrixObjective._finish`.

>>> import numpy as np, sympy as sp, codegen
>>> d = sp.Symbol("d", integer=True, positive=True)
>>> w, x = sp.MatrixSymbol("w", d, 1), sp.MatrixSymbol("x", d, 1)
>>> obj = codegen.compile(((w.T * x)[0, 0])**2, [w], data=[x], jit=False)
>>> blocks = MatrixBlockKernels(obj.module)
>>> X, w0 = np.array([[1.0, 2.0], [0.0, 1.0], [1.0, 1.0]]), np.array([1.0, -1.0])
>>> parts = [blocks.partial_kargs("grad", w0, (np.zeros(0), np.arange(len(B)), B))
...          for B in (X[:1], X[1:])]
>>> (parts[0] + parts[1]).tolist(), obj.grad(w0, X).tolist()
([-2.0, -6.0], [-2.0, -6.0])
"""
import numpy as np

from .errors import ArgumentError, CodegenError

__all__ = ["MatrixBlockKernels", "PARALLEL_WORK", "KIND_OF"]

#: Rows x variables from which the multi-threaded kernels are used.
PARALLEL_WORK = 4_000_000
#: The generated kernel kind of each evaluation (hess_sparse: the dense Hessian's entries).
KIND_OF = {"value": "v", "grad": "g", "value_and_grad": "vg", "hess": "h", "hessp": "hp",
           "hess_sparse": "h"}


class MatrixBlockKernels:
    """Unreduced partial sums of a matrix model's data term over blocks of rows."""

    def __init__(self, module):
        if getattr(module, "KIND", None) != "matrix-objective" or not module.NDATA:
            raise ArgumentError("partial sums need a matrix model compiled with data=")
        self.module = module
        self.order = int(module.ORDER)

    @staticmethod
    def uses_threads(n_rows, n):
        """True when a block this large runs the multi-threaded (prange) kernels."""
        return n_rows * max(int(n), 1) >= PARALLEL_WORK

    def partial_kargs(self, which, x, kargs, v=None):
        """The data term of ``which`` summed over the rows ``kargs[1]`` of the block
        ``kargs[2:]`` (``kargs = (p, rows, d0, ...)``): a float (value), an n-vector (grad;
        hessp: H_block @ v), (float, n-vector) (value_and_grad), or the n x n Hessian with
        only its diagonal and upper blocks (hess, hess_sparse: the finish mirrors them)."""
        kind = KIND_OF.get(which)
        if kind is None:
            raise ArgumentError(f"which must be one of {', '.join(map(repr, KIND_OF))}, "
                                f"got {which!r}")
        if kind in ("h", "hp") and self.order < 2:
            raise CodegenError("this objective was compiled with order=1; "
                               "compile with order=2 for Hessians")
        if kind == "hp" and v is None:
            raise ArgumentError("which='hessp' needs the vector v")
        xs = (x, v) if kind == "hp" else (x,)
        p, rows, data = kargs[0], kargs[1], tuple(kargs[2:])
        try:
            # No threaded Hessian: its rank updates run in BLAS's threads already.
            if kind != "h" and self.uses_threads(rows.shape[0], x.shape[0]):
                a = getattr(self.module, f"_psum_{kind}")(*xs, p, rows, *data)
            else:
                a = getattr(self.module, f"_acc_{kind}")(*xs, p, rows, 0, rows.shape[0], *data)
        except ValueError as exc:  # the kernel's own size check (generic text)
            shapes = ", ".join(str(d.shape) for d in data)
            raise ArgumentError(f"a block of shapes {shapes} does not fit x of length "
                                f"{x.shape[0]} and params of length {p.shape[0]}: {exc}") from None
        if kind == "v":
            return float(a[0])
        if kind == "vg":
            return float(a[0]), a[1:].copy()
        return a
