"""Line-search Newton: the Newton descent on the exact Hessian made positive definite by adding
tau*I, with a strong-Wolfe search on the shared skeleton (:func:`solvers.loop.descent_loop`).

Dense Hessians: compiled with the loop (Cholesky written out so "not positive definite" is a
flag, not an exception). Sparse Hessians (large n): SciPy's sparse LU with symmetric ordering
and diagonal pivoting, whose pivots are those of an LDL' factorisation, so all-positive pivots
certify positive definiteness; the same skeleton and descent then run as Python (each
iteration is a sparse factorisation).
"""
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from numba import njit
from numba.extending import overload

from .adapter import as_kernels, as_x0, check_length
from .bounds import parse_bounds
from .linesearch import StrongWolfe
from .loop import (NO_LIMIT, Direction, descent_loop, drive, keep_state, no_retry,
                   register_descent, to_result)
from .numba_shims import JIT_OPTIONS
from .options import OptionError, check, check_common
from .termination import CONTINUE, HESSIAN

__all__ = ["newton", "modified_cholesky", "NewtonDescent"]

_MAX_TRIES = 80  # doublings of tau before the Hessian counts as not usable


@njit(cache=True)
def _cholesky(A, L):
    """Lower Cholesky factor of A into L; False if A is not (numerically) positive definite."""
    n = A.shape[0]
    for j in range(n):
        s = A[j, j]
        for k in range(j):
            s -= L[j, k] * L[j, k]
        if not s > 0.0:
            return False
        ljj = np.sqrt(s)
        L[j, j] = ljj
        for i in range(j + 1, n):
            t = A[i, j]
            for k in range(j):
                t -= L[i, k] * L[j, k]
            L[i, j] = t / ljj
        for i in range(j):
            L[i, j] = 0.0
    return True


@njit(cache=True)
def _cho_solve(L, b):
    n = L.shape[0]
    y = b.copy()
    for i in range(n):
        t = y[i]
        for k in range(i):
            t -= L[i, k] * y[k]
        y[i] = t / L[i, i]
    for i in range(n - 1, -1, -1):
        t = y[i]
        for k in range(i + 1, n):
            t -= L[k, i] * y[k]
        y[i] = t / L[i, i]
    return y


@njit(cache=True)
def modified_cholesky(H, beta, max_tries):
    """(L, tau, ok): Cholesky factor L of H + tau*I with the smallest tau tried that works.

    Nocedal & Wright Alg. 3.3 (Cholesky with added multiple of the identity): start from
    tau = 0 when the diagonal is positive, else -min(diag) + beta; double until PD.
    """
    n = H.shape[0]
    L = np.zeros((n, n))
    dmin = np.inf
    for i in range(n):
        dmin = min(dmin, H[i, i])
    tau = 0.0 if dmin > 0.0 else beta - dmin
    A = H.copy()
    for _ in range(max_tries):
        for i in range(n):
            A[i, i] = H[i, i] + tau
        if _cholesky(A, L):
            return L, tau, True
        tau = max(2.0 * tau, beta)
    return L, tau, False


@njit(cache=True)
def _dense_shifted_solve(H, g, beta):
    """(d, tau, ok): d = -(H + tau I)^-1 g with tau from ``beta * max|H|`` (modified Cholesky);
    ok False when H is not finite or no tau tried makes it positive definite."""
    if not np.all(np.isfinite(H)):
        return g, 0.0, False
    L, tau, ok = modified_cholesky(H, beta * max(1.0, np.max(np.abs(H))), _MAX_TRIES)
    if not ok:
        return g, tau, False
    return -_cho_solve(L, g), tau, True


def _sparse_direction(H, g, beta, max_tries=_MAX_TRIES):
    """Solve (H + tau I) d = -g with the smallest tau tried for which H + tau I is PD."""
    n = H.shape[0]
    diag = H.diagonal()
    dmin = float(diag.min()) if n else 1.0
    tau = 0.0 if dmin > 0.0 else beta - dmin
    eye = sp.identity(n, format="csc")
    Hc = H.tocsc()
    for _ in range(max_tries):
        A = (Hc + tau * eye).tocsc() if tau else Hc
        try:
            lu = spla.splu(A, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
                           options={"SymmetricMode": True})
            piv = lu.U.diagonal()
            if np.all(piv > 0.0) and np.all(np.isfinite(piv)):
                d = -lu.solve(g)
                if np.all(np.isfinite(d)) and np.dot(g, d) < 0.0:
                    return d, tau, True
        except RuntimeError:  # exactly singular
            pass
        tau = max(2.0 * tau, beta)
    return None, tau, False


def _shifted_solve(H, g, beta):
    """:func:`_dense_shifted_solve`, or the sparse LU's for a scipy.sparse Hessian."""
    if not sp.issparse(H):
        return _dense_shifted_solve(H, g, beta)
    if not np.all(np.isfinite(H.data)):
        return g, 0.0, False
    return _sparse_direction(H, g, beta * (max(1.0, float(np.max(np.abs(H.data)))) if H.nnz
                                            else 1.0))


@overload(_shifted_solve, jit_options=JIT_OPTIONS)
def _shifted_solve_impl(H, g, beta):  # compiled loops get dense Hessians only
    return lambda H, g, beta: _dense_shifted_solve(H, g, beta)


class NewtonDescent(NamedTuple):
    """The Newton direction on the Hessian made positive definite, H + tau*I (tau from
    ``beta * max|H|``). ``hess`` returns a dense array (Cholesky) or, in a Python run, a
    scipy.sparse matrix (sparse LU)."""

    beta: float


def _newton_direction(state, hess, kargs, x, f, g):
    d, tau, ok = _shifted_solve(hess(x, *kargs), g, state.beta)
    if not ok:
        return Direction(state, g, 1.0, False, 1, HESSIAN)
    if not np.dot(g, d) < 0.0:  # lost descent to rounding: the gradient step
        return Direction(state, -g, 1.0, False, 1, CONTINUE)
    return Direction(state, d, 1.0, tau == 0.0, 1, CONTINUE)


register_descent(NewtonDescent, _newton_direction, keep_state, no_retry)


def newton(objective, x0, *, args=(), gtol=1e-8, ftol=0.0, xtol=0.0, maxiter=200, c1=1e-4,
           c2=0.9, max_linesearch=40, beta=1e-3, sparse=None, callback=None, history=False,
           wrt=None, rows=None, bounds=None):
    """Minimise with line-search Newton on the exact Hessian.

    When the Hessian is not positive definite, tau*I is added (tau doubled from
    ``beta * max|H|`` until a Cholesky factorisation succeeds), so every step is a descent step
    (a saddle is never approached uphill). Besides the gtol/ftol/xtol tests, the run counts as
    converged (CONVERGED_FTOL) when the Newton decrement -g'd falls below
    ``max(ftol, 1e-15) * max(|f|, 1)``: no representable decrease is left. ``sparse=None``
    chooses the sparse path for n > 200 when the objective provides ``hess_sparse``.

    bounds: SciPy's forms (see :func:`solvers.bounds.parse_bounds`); with a finite bound the run
    is TRON (:mod:`solvers.tron`, Lin & Moré 1999), a trust-region Newton method on the dense
    Hessian with Cholesky-preconditioned CG on the free variables; the line-search options
    (c1, c2, max_linesearch) then do not apply, ``sparse=True`` is refused (use newton-tr, on
    Hessian-vector products), the first trust radius is the projected gradient's norm, and the
    Result carries ``mu_lower``, ``mu_upper``, ``kkt`` and ``x0_projected``.
    """
    o = check("newton", gtol=gtol, ftol=ftol, xtol=xtol, maxiter=maxiter, c1=c1, c2=c2,
              max_linesearch=max_linesearch, beta=beta, sparse=sparse)
    check_common("newton", callback, history)
    x = as_x0(x0)
    kern = as_kernels(objective, args, wrt, rows, n=x.shape[0])
    x = check_length(x, kern.n)
    box = parse_bounds(bounds, kern.n)
    if box is not None:
        if o["sparse"]:
            raise OptionError("newton: sparse=True has no bounded variant; with bounds newton "
                              "uses the dense Hessian: use method newton-tr (Hessian-vector "
                              "products) for large sparse problems")
        from .tron import tron  # tron imports this module's Cholesky
        return tron(kern, x, box, method="newton", maxiter=o["maxiter"], gtol=o["gtol"],
                    ftol=o["ftol"], xtol=o["xtol"], beta=o["beta"], callback=callback,
                    history=history)
    sparse = o["sparse"]
    if sparse is None:
        sparse = kern.n > 200 and hasattr(kern.obj, "hess_sparse")
    elif sparse and not hasattr(kern.obj, "hess_sparse"):
        raise OptionError("newton: sparse=True needs an objective with hess_sparse "
                         "(a codegen CompiledObjective)")
    if sparse:
        obj, args, rows = kern.obj, kern.args, kern.rows

        def hess(x, *kargs):  # the loop passes the packed kernel arguments; SciPy's wants these
            return obj.hess_sparse(x, *args, rows=rows)
    else:
        hess = kern.hess
    rest = (NewtonDescent(o["beta"]), StrongWolfe(o["c1"], o["c2"]), o["maxiter"], o["gtol"], o["ftol"],
            o["xtol"], o["max_linesearch"], max(o["ftol"], 1e-15), NO_LIMIT)
    out, _ = drive(descent_loop, kern, (kern.vg, hess), x, rest, callback, python=sparse)
    return to_result(out, kern, "newton", history)
