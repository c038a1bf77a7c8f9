"""Line-search Newton with the exact Hessian, made positive definite by adding tau*I.

Dense path: the whole loop in Numba (Cholesky written out so "not positive definite" is a flag,
not an exception). Sparse path (large n): SciPy's sparse LU with symmetric ordering and
diagonal pivoting, whose pivots are those of an LDL' factorisation, so all-positive pivots
certify positive definiteness.
"""
import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from numba import njit, types

from .linesearch import strong_wolfe, wolfe_search, FAILED
from .objective import (as_kernels, as_x0, callback_adapter, check_length, drive, specialize,
                        stop_status)
from .options import OptionError, check, check_common
from .result import Result
from .termination import accept, start, CONTINUE, MAXITER, LINESEARCH, NONFINITE, HESSIAN, FTOL

__all__ = ["newton", "modified_cholesky"]

_vec = types.Array(types.float64, 1, "C")


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


def _newton_loop(vg, hess, kargs, x0, maxiter, gtol, ftol, xtol, c1, c2, max_ls, beta, dec_tol,
                 cb):
    x = x0.copy()
    f, g = vg(x, *kargs)
    nfev = 1
    nhev = 0
    hist_f, hist_g, status = start(f, g, maxiter + 1, gtol)
    nit = 0
    if status == CONTINUE:
        while nit < maxiter:
            H = hess(x, *kargs)
            nhev += 1
            if not np.all(np.isfinite(H)):
                status = HESSIAN
                break
            scale = max(1.0, np.max(np.abs(H)))
            L, tau, ok = modified_cholesky(H, beta * scale, 80)
            if not ok:
                status = HESSIAN
                break
            d = -_cho_solve(L, g)
            if not np.dot(g, d) < 0.0:
                d = -g
            elif tau == 0.0 and -np.dot(g, d) <= dec_tol * max(abs(f), 1.0):
                # Newton decrement at rounding level: no representable decrease is left
                status = FTOL
                break
            alpha, fn, gn, xn, nf, flag = wolfe_search(vg, kargs, x, f, g, d, 1.0, c1, c2, max_ls)
            nfev += nf
            if flag < 0:  # FAILED or FAILED_NONFINITE
                status = LINESEARCH if flag == FAILED else NONFINITE
                break
            s = xn - x
            nit += 1
            status = accept(hist_f, hist_g, nit, f, fn, gn, np.sqrt(np.dot(s, s)), xn, gtol, ftol,
                            xtol)
            x, f, g = xn, fn, gn
            status = stop_status(cb, status, nit, x, f, hist_g[nit])
            if status != CONTINUE:
                break
    if status == CONTINUE:
        status = MAXITER
    return x, f, g, nit, nfev, nfev, nhev, status, hist_f[:nit + 1], hist_g[:nit + 1]


def _sparse_direction(H, g, beta, max_tries=80):
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


def _newton_sparse(kern, x, maxiter, gtol, ftol, xtol, c1, c2, max_ls, beta, callback, history):
    """Newton with sparse Hessians: a Python loop (each iteration is a sparse factorisation)."""
    obj = kern.obj
    f64 = types.float64
    ls = specialize(strong_wolfe.py_func, (kern.vg_type, kern.kargs_type, _vec, f64, _vec, _vec,
                                           f64, f64, f64, types.int64))
    vg = kern.vg
    cb = None if callback is None else callback_adapter(callback)
    f, g = vg(x, *kern.kargs)
    nfev, nhev, nit = 1, 0, 0
    hist_f, hist_g, status = start(f, g, maxiter + 1, gtol)
    if status == CONTINUE:
        while nit < maxiter:
            H = obj.hess_sparse(x, *kern.args, rows=kern.rows)
            nhev += 1
            if not np.all(np.isfinite(H.data)):
                status = HESSIAN
                break
            scale = max(1.0, float(np.max(np.abs(H.data)))) if H.nnz else 1.0
            d, tau, ok = _sparse_direction(H, g, beta * scale)
            if not ok:
                status = HESSIAN
                break
            if tau == 0.0 and -np.dot(g, d) <= max(ftol, 1e-15) * max(abs(f), 1.0):
                status = FTOL
                break
            alpha, fn, gn, xn, nf, flag = ls(vg, kern.kargs, x, f, g, d, 1.0, c1, c2, max_ls)
            nfev += nf
            if flag < 0:  # FAILED or FAILED_NONFINITE
                status = LINESEARCH if flag == FAILED else NONFINITE
                break
            nit += 1
            status = accept(hist_f, hist_g, nit, f, fn, gn, float(np.linalg.norm(xn - x)), xn,
                            gtol, ftol, xtol)
            x, f, g = xn, fn, gn
            status = stop_status(cb, status, nit, x, f, hist_g[nit])
            if status != CONTINUE:
                break
    if status == CONTINUE:
        status = MAXITER
    out = (x, f, g, nit, nfev, nfev, nhev, status, hist_f[:nit + 1], hist_g[:nit + 1])
    return Result.from_loop(out, "newton", history)


def newton(objective, x0, *, args=(), gtol=1e-8, ftol=0.0, xtol=0.0, maxiter=200, c1=1e-4,
           c2=0.9, max_linesearch=40, beta=1e-3, sparse=None, callback=None, history=False,
           wrt=None, rows=None):
    """Minimise with line-search Newton on the exact Hessian.

    When the Hessian is not positive definite, tau*I is added (tau doubled from
    ``beta * max|H|`` until a Cholesky factorisation succeeds), so every step is a descent step
    (a saddle is never approached uphill). Besides the gtol/ftol/xtol tests, the run counts as
    converged (CONVERGED_FTOL) when the Newton decrement -g'd falls below
    ``max(ftol, 1e-15) * max(|f|, 1)``: no representable decrease is left. ``sparse=None`` chooses the sparse path for n > 200
    when the objective provides ``hess_sparse``.
    """
    o = check("newton", gtol=gtol, ftol=ftol, xtol=xtol, maxiter=maxiter, c1=c1, c2=c2,
              max_linesearch=max_linesearch, beta=beta, sparse=sparse)
    check_common("newton", callback, history)
    x = as_x0(x0)
    kern = as_kernels(objective, args, wrt, rows, n=x.shape[0])
    x = check_length(x, kern.n)
    sparse = o["sparse"]
    if sparse is None:
        sparse = kern.n > 200 and hasattr(kern.obj, "hess_sparse")
    elif sparse and not hasattr(kern.obj, "hess_sparse"):
        raise OptionError("newton: sparse=True needs an objective with hess_sparse "
                         "(a codegen CompiledObjective)")
    rest = (o["maxiter"], o["gtol"], o["ftol"], o["xtol"], o["c1"], o["c2"],
            o["max_linesearch"], o["beta"])
    if sparse:
        return _newton_sparse(kern, x, *rest, callback, history)
    rest += (max(o["ftol"], 1e-15),)
    out = drive(_newton_loop, kern, (kern.vg, kern.hess), x, rest, callback)
    return Result.from_loop(out, "newton", history)
