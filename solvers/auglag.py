"""The augmented-Lagrangian method: general constraints with bounds, outer and inner loop compiled.

minimize f(x) subject to eq(x) = 0, ineq(x) <= 0, lo <= x <= hi (derive.kkt's convention).
The design is ALGENCAN's (Birgin & Martinez, "Practical Augmented Lagrangian Methods for
Constrained Optimization", SIAM 2014, Alg. 4.1), as GENO and LANCELOT use it: the bounds stay in
the subproblem, solved by the bounded L-BFGS (:func:`solvers.lbfgsb.lbfgsb_core`), and the
general constraints enter the Powell-Hestenes-Rockafellar augmented Lagrangian

    L(x) = f + lam'c + rho/2 |c|^2 + 1/(2 rho) sum_j (max(0, mu_j + rho h_j)^2 - mu_j^2)

whose gradient is ``grad f + J_c'(lam + rho c) + J_h' max(0, mu + rho h)``. After each
subproblem the multipliers become ``lam + rho c`` and ``max(0, mu + rho h)`` (safeguarded in
[-1e20, 1e20]); rho grows tenfold when the infeasibility ``max(|c|, |max(h, -mu/rho)|)`` did not
halve (and is above ``ctol``); the subproblem tolerance tightens tenfold per outer iteration down to ``gtol``.

The gradient of the subproblem at its solution is the Lagrangian's gradient with the updated
multipliers, so the KKT residuals need no extra evaluation. A run is a success only when
stationarity (the box-projected Lagrangian gradient, <= gtol * max(1, max|grad f|)),
feasibility and
complementarity (<= ctol) all hold. When the infeasibility stops falling while rho is large and
x is a stationary point of the infeasibility ``|c|^2 + |max(h, 0)|^2`` over the box, the run
ends as INFEASIBLE with the smallest violation found, never as a success.

Compiled objectives and constraints run the whole outer loop in Numba, calling the L-BFGS-B
core on an augmented-Lagrangian kernel built from the objective's ``value_and_grad`` and the
constraints' value and sparse-Jacobian kernels (:class:`ALProblem`); Python callables (SciPy's
``fun`` and ``constraints=`` dicts) or a callback run the same loop in Python.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numba
import numpy as np
from numba import njit, types
from numba.extending import overload

from .adapter import as_kernels, as_x0, check_length
from .bounds import parse_bounds, project_x0, projected_gradient_norm
from .constraints import as_constraints
from .loop import NO_LIMIT
from .numba_shims import JIT_OPTIONS, KernelRef, dual, entry_point, stop_status
from .options import OptionError, check_common
from .result import KKTResiduals, LoopResult, Result, Status
from .termination import CONTINUE, GTOL, INFEASIBLE, MAXITER, NONFINITE

__all__ = ["auglag", "ALProblem", "AuglagOptions"]

_vec = types.Array(types.float64, 1, "C")
_BIG = 1e20  # multiplier safeguard (ALGENCAN's lambda_max)


class ALProblem(NamedTuple):
    """What the augmented-Lagrangian kernel reads: the objective's ``fvg(x, *fk)``, the
    equality block (``ce``/``je`` value and Jacobian values, parameters ``pe``, CSR pattern
    ``ipe``/``ixe``), the inequality block (``ci``, ``ji``, ``pi``, ``ipi``, ``ixi``) and the
    current multipliers ``lam``, ``mu`` and penalty ``rho`` (length 1), updated in place."""

    fvg: Callable
    fk: tuple
    ce: Callable
    je: Callable
    pe: np.ndarray
    ipe: np.ndarray
    ixe: np.ndarray
    ci: Callable
    ji: Callable
    pi: np.ndarray
    ipi: np.ndarray
    ixi: np.ndarray
    lam: np.ndarray
    mu: np.ndarray
    rho: np.ndarray


class AuglagOptions(NamedTuple):
    """The outer loop's options (checked by :func:`auglag`)."""

    gtol: float
    ctol: float
    maxiter: int
    inner_maxiter: int
    m: int
    rho0: float  # <= 0: Birgin-Martinez's automatic choice
    rho_max: float
    max_linesearch: int


def _al_vg(x, P):
    """(L, grad L) of the augmented Lagrangian at ``x`` (the subproblem's objective)."""
    f, gf = P.fvg(x, *P.fk)
    g = gf.copy()
    rho = P.rho[0]
    L = f
    if P.lam.shape[0] > 0:
        c = P.ce(x, P.pe)
        J = P.je(x, P.pe)
        for i in range(c.shape[0]):
            t = P.lam[i] + rho * c[i]
            L += P.lam[i] * c[i] + 0.5 * rho * c[i] * c[i]
            for k in range(P.ipe[i], P.ipe[i + 1]):
                g[P.ixe[k]] += t * J[k]
    if P.mu.shape[0] > 0:
        h = P.ci(x, P.pi)
        J = P.ji(x, P.pi)
        for j in range(h.shape[0]):
            t = max(0.0, P.mu[j] + rho * h[j])
            L += (t * t - P.mu[j] * P.mu[j]) / (2.0 * rho)
            if t > 0.0:
                for k in range(P.ipi[j], P.ipi[j + 1]):
                    g[P.ixi[k]] += t * J[k]
    return L, g


_al_vg_jit = njit(cache=True, **JIT_OPTIONS)(_al_vg)


def _inner(alvg, P, x, lo, hi, o, gtol):
    """The subproblem min L(x) over the box by L-BFGS-B (Python run: the same loop in Python)."""
    from .lbfgsb import lbfgsb_loop
    return lbfgsb_loop(alvg, (P,), x, lo, hi, o.m, o.inner_maxiter, gtol, 0.0, 0.0, 1e-4, 0.9,
                       o.max_linesearch, NO_LIMIT, 1e-10, None)


@overload(_inner, jit_options=JIT_OPTIONS)
def _inner_impl(alvg, P, x, lo, hi, o, gtol):
    from .lbfgsb import lbfgsb_core

    def impl(alvg, P, x, lo, hi, o, gtol):
        return lbfgsb_core(alvg, (P,), x, lo, hi, o.m, o.inner_maxiter, gtol, 0.0, 0.0, 1e-4,
                           0.9, o.max_linesearch, NO_LIMIT, 1e-10, None)
    return impl


@njit(cache=True)
def _bound_multipliers(x, g, lo, hi, tol):
    """(mu_lower, mu_upper) >= 0 on the finite bounds within ``tol * max(1, |bound|)`` of x,
    taking the part of the Lagrangian gradient ``g`` that pushes against them."""
    n = x.shape[0]
    ml = np.zeros(n)
    mu = np.zeros(n)
    for i in range(n):
        if g[i] > 0.0 and np.isfinite(lo[i]) and x[i] - lo[i] <= tol * max(1.0, abs(lo[i])):
            ml[i] = g[i]
        elif g[i] < 0.0 and np.isfinite(hi[i]) and hi[i] - x[i] <= tol * max(1.0, abs(hi[i])):
            mu[i] = -g[i]
    return ml, mu


@njit(cache=True)
def _box_residuals(x, g, lo, hi, ml, mu):
    """(stationarity |g - ml + mu|, bound violation, max(min(ml, x - lo), min(mu, hi - x)))."""
    stat = 0.0
    feas = 0.0
    comp = 0.0
    for i in range(x.shape[0]):
        stat = max(stat, abs(g[i] - ml[i] + mu[i]))
        feas = max(feas, lo[i] - x[i], x[i] - hi[i])
        if ml[i] != 0.0:
            comp = max(comp, min(ml[i], x[i] - lo[i]))
        if mu[i] != 0.0:
            comp = max(comp, min(mu[i], hi[i] - x[i]))
    return stat, feas, comp


@dual
def _update(P, x):
    """Multiplier update at ``x``: (infeasibility V for the rho test, feasibility,
    complementarity) with the new multipliers."""
    rho = P.rho[0]
    V = 0.0
    feas = 0.0
    comp = 0.0
    if P.lam.shape[0] > 0:
        c = P.ce(x, P.pe)
        for i in range(c.shape[0]):
            a = abs(c[i])
            if not a <= 1e308:
                return np.inf, np.inf, np.inf
            V = max(V, a)
            feas = max(feas, a)
            P.lam[i] = min(max(P.lam[i] + rho * c[i], -_BIG), _BIG)
    if P.mu.shape[0] > 0:
        h = P.ci(x, P.pi)
        for j in range(h.shape[0]):
            if not abs(h[j]) <= 1e308:
                return np.inf, np.inf, np.inf
            V = max(V, abs(max(h[j], -P.mu[j] / rho)))
            feas = max(feas, h[j])
            P.mu[j] = min(max(0.0, P.mu[j] + rho * h[j]), _BIG)
            comp = max(comp, abs(min(-h[j], P.mu[j])))  # scale-free in the multiplier
    return V, feas, comp


@dual
def _infeasibility_gradient(P, x):
    """grad of phi = (|c|^2 + |max(h, 0)|^2) / 2: J_c'c + J_h' max(h, 0)."""
    g = np.zeros(x.shape[0])
    if P.lam.shape[0] > 0:
        c = P.ce(x, P.pe)
        J = P.je(x, P.pe)
        for i in range(c.shape[0]):
            for k in range(P.ipe[i], P.ipe[i + 1]):
                g[P.ixe[k]] += c[i] * J[k]
    if P.mu.shape[0] > 0:
        h = P.ci(x, P.pi)
        J = P.ji(x, P.pi)
        for j in range(h.shape[0]):
            if h[j] > 0.0:
                for k in range(P.ipi[j], P.ipi[j + 1]):
                    g[P.ixi[k]] += h[j] * J[k]
    return g


@dual
def _stuck_infeasible(P, x, lo, hi, feas):
    """x is a stationary point of the infeasibility over the box while infeasible."""
    gphi = _infeasibility_gradient(P, x)
    return projected_gradient_norm(x, gphi, lo, hi) <= 1e-6 * max(feas, 1e-300)


@dual
def _first_rho(P, x):
    """Birgin-Martinez's rho_1 = 10 max(1, |f|) / max(1, |c|^2 / 2 + |h+|^2 / 2) in [1e-8, 10]."""
    f, g = P.fvg(x, *P.fk)
    phi = 0.0
    if P.lam.shape[0] > 0:
        c = P.ce(x, P.pe)
        phi += 0.5 * np.dot(c, c)
    if P.mu.shape[0] > 0:
        h = P.ci(x, P.pi)
        for j in range(h.shape[0]):
            phi += 0.5 * max(h[j], 0.0) ** 2
    rho = 10.0 * max(1.0, abs(f)) / max(1.0, phi)
    return min(max(rho, 1e-8), 10.0) if np.isfinite(rho) else 10.0


def auglag_loop(alvg, P, x0, lo, hi, o, cb):
    """The outer iteration; returns (LoopResult of the outer iterates, (stationarity,
    feasibility, complementarity), smallest infeasibility seen, outer iterations)."""
    n = x0.shape[0]
    x = x0.copy()
    if o.rho0 > 0.0:
        P.rho[0] = o.rho0
    else:
        P.rho[0] = _first_rho(P, x)
    hist_f = np.empty(o.maxiter + 1)
    hist_g = np.empty(o.maxiter + 1)
    f0, g0 = P.fvg(x, *P.fk)
    hist_f[0] = f0
    hist_g[0] = projected_gradient_norm(x, g0, lo, hi)
    eps = max(o.gtol, 1e-2)
    V_old = np.inf
    best = np.inf
    nit = 0
    nfev = 2
    status = CONTINUE
    g = g0
    stat, feas, comp = np.inf, np.inf, np.inf
    k = 0
    while k < o.maxiter:
        out = _inner(alvg, P, x, lo, hi, o, eps)
        nit += out.nit
        nfev += out.nfev
        x = out.x
        g = out.g
        if out.status == NONFINITE:
            status = NONFINITE
            break
        V, feas, comp = _update(P, x)
        ml, mu = _bound_multipliers(x, g, lo, hi, o.gtol)
        stat, bfeas, bcomp = _box_residuals(x, g, lo, hi, ml, mu)
        feas = max(feas, bfeas)
        comp = max(comp, bcomp)
        best = min(best, feas)
        k += 1
        f, gf = P.fvg(x, *P.fk)
        nfev += 1
        hist_f[k] = f
        hist_g[k] = stat
        if not np.isfinite(V):
            status = NONFINITE
            break
        # stationarity relative to the objective's gradient: rounding in f (and in the
        # penalty's curvature) bounds what any line search can reach
        gscale = max(1.0, np.max(np.abs(gf)))
        if stat <= o.gtol * gscale and feas <= o.ctol and comp <= o.ctol:
            status = GTOL
        elif feas > o.ctol and P.rho[0] >= 1e6 and V > 0.5 * V_old and eps <= o.gtol * gscale \
                and _stuck_infeasible(P, x, lo, hi, feas):
            status = INFEASIBLE
        status = stop_status(cb, status, k, x, f, stat)
        if status != CONTINUE:
            break
        if V > 0.5 * V_old and V > o.ctol:  # feasible enough: only stationarity is left
            P.rho[0] = P.rho[0] * 10.0
            if P.rho[0] > o.rho_max:
                break
        V_old = V
        eps = max(0.1 * eps, o.gtol * gscale)
    if status == CONTINUE:
        status = INFEASIBLE if feas > o.ctol and _stuck_infeasible(P, x, lo, hi, feas) else MAXITER
    res = LoopResult(x, hist_f[k], g, nit, nfev, nfev, 0, status, hist_f[:k + 1], hist_g[:k + 1])
    return res, (stat, feas, comp), best, k


_ALVG_REFS = {}


def _alvg_ref(P_type):
    """The augmented-Lagrangian kernel as a first-class function for problems of ``P_type``
    (compiled once per layout and cached on disk, like the loops)."""
    ref = _ALVG_REFS.get(P_type)
    if ref is None:
        ftype = types.FunctionType(types.Tuple((types.float64, _vec))(_vec, P_type))
        ref = _ALVG_REFS[P_type] = KernelRef(_al_vg_jit, ftype)
    return ref


def _options(gtol, ctol, maxiter, inner_maxiter, m, rho0, rho_max, max_linesearch):
    def real(name, v, lo=0.0, strict=False, none=False):
        if v is None and none:
            return 0.0
        ok = isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
        if ok:
            v = float(v)
            ok = np.isfinite(v) and (v > lo if strict else v >= lo)
        if not ok:
            raise OptionError(f"auglag: option {name!r} must be a finite number "
                              f"{'>' if strict else '>='} {lo:g}" + (" (or None)" if none else "")
                              + f", got {v!r}")
        return v

    def integer(name, v, lo):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
            raise OptionError(f"auglag: option {name!r} must be an integer >= {lo}, got {v!r}")
        return int(v)

    return AuglagOptions(real("gtol", gtol), real("ctol", ctol), integer("maxiter", maxiter, 1),
                         integer("inner_maxiter", inner_maxiter, 1), integer("m", m, 1),
                         real("rho0", rho0, strict=True, none=True),
                         real("rho_max", rho_max, strict=True),
                         integer("max_linesearch", max_linesearch, 1))


_OPTION_NAMES = ("gtol", "ctol", "maxiter", "inner_maxiter", "m", "rho0", "rho_max",
                 "max_linesearch")


def _problem(kern, cons):
    return ALProblem(kern.vg, tuple(kern.kargs), cons.eq.value, cons.eq.jac_values, cons.eq.p,
                     cons.eq.indptr, cons.eq.indices, cons.ineq.value, cons.ineq.jac_values,
                     cons.ineq.p, cons.ineq.indptr, cons.ineq.indices, np.zeros(cons.eq.m),
                     np.zeros(cons.ineq.m), np.zeros(1))


_ENTRIES = {}


def _run(P, x, lo, hi, o, callback, compiled, kern):
    if not compiled:
        from .adapter import callback_adapter
        cb = None if callback is None else callback_adapter(callback)
        return auglag_loop(_al_vg, P, x, lo, hi, o, cb)
    # every member type of P but the objective's follows from the objective's argument layout
    # (constraint kernels have one signature): look the compiled loop up by it, not by typeof
    key = (kern.vg_type, kern.kargs_type)
    entry = _ENTRIES.get(key)
    if entry is None:
        P_type = numba.typeof(P)
        alvg = _alvg_ref(P_type)
        argtypes = (alvg.ftype, P_type, _vec, _vec, _vec, numba.typeof(o), types.none)
        entry = _ENTRIES[key] = (alvg, entry_point(auglag_loop, argtypes))
    alvg, loop = entry
    return loop(alvg, P, x, lo, hi, o, None)


def _constraint_context(kern, wrt, args):
    """(wrt, params, args) the constraints share with the objective."""
    obj = getattr(kern, "obj", None)
    params = tuple(getattr(obj, "params", ()) or ())
    if kern.compiled:
        wrt = tuple(obj.wrt)
    cargs = (kern.args[0],) if params and getattr(kern, "args", ()) else ()
    return wrt, params, cargs


def _message(status, kkt, best, k, rho):
    text = Status(status).message
    if status == GTOL:
        text = ("Converged: the KKT conditions hold (stationarity <= gtol * max(1, max|grad f|),"
                " feasibility and complementarity <= ctol).")
    residuals = (f" KKT residuals: stationarity {kkt.stationarity:.2e}, feasibility "
                 f"{kkt.feasibility:.2e}, complementarity {kkt.complementarity:.2e} after {k} "
                 f"outer iterations (rho {rho:.1e}).")
    if status == INFEASIBLE:
        return text + f" The smallest constraint violation found is {best:.3e}." + residuals
    return text + residuals


def auglag(objective, x0, *, args=(), eq=None, ineq=None, constraints=(), bounds=None,
           gtol=1e-6, ctol=1e-8, maxiter=100, inner_maxiter=2000, m=10, rho0=None,
           rho_max=1e12, max_linesearch=40, callback=None, history=False, wrt=None, rows=None,
           **unknown):
    """Minimise subject to ``eq(x) = 0``, ``ineq(x) <= 0`` and ``bounds`` (augmented Lagrangian).

    objective: as for :func:`solvers.minimize` (compiled, SymPy with ``wrt``, or a Python
    callable with its gradient). eq / ineq: SymPy expressions (or formula text) in the
    objective's variables (and params), or one ``codegen.CompiledVectorFunction`` each;
    constraints: SciPy's dicts ``{"type", "fun", "jac", "args"}`` instead (SciPy's ``"ineq"``
    means ``fun >= 0`` and is negated, so ``mu`` belongs to ``-fun <= 0``). gtol: stationarity
    (inf-norm of the box-projected Lagrangian gradient, at most ``gtol * max(1, max|grad f|)``:
    rounding in f bounds what a line search reaches); ctol: feasibility and
    complementarity; maxiter: outer iterations; inner_maxiter, m, max_linesearch: the L-BFGS-B
    subproblem's; rho0: the first penalty (None: automatic); rho_max: give up beyond it. The
    Result has ``lam``, ``mu`` (derive.kkt's signs: ``grad f + J_eq'lam + J_ineq'mu - mu_lower
    + mu_upper = 0``), ``mu_lower``/``mu_upper`` with bounds, ``kkt``; ``nit``/``nfev`` count
    the inner iterations and evaluations; the history has one entry per outer iteration.

    >>> import sympy as sp
    >>> x, y = sp.symbols("x y")
    >>> r = auglag(x**2 + y**2, [0.0, 0.0], wrt=[x, y], eq=[x + y - 1])
    >>> r.success, r.x.round(6).tolist(), r.lam.round(6).tolist()
    (True, [0.5, 0.5], [-1.0])
    """
    if unknown:
        raise OptionError(f"method 'auglag' does not take option {sorted(unknown)[0]!r}; its "
                          f"options are {', '.join(_OPTION_NAMES)}")
    o = _options(gtol, ctol, maxiter, inner_maxiter, m, rho0, rho_max, max_linesearch)
    check_common("auglag", callback, history)
    x = as_x0(x0)
    kern = as_kernels(objective, args, wrt, rows, n=x.shape[0])
    x = check_length(x, kern.n)
    n = kern.n
    b = parse_bounds(bounds, n)
    x, moved = project_x0(x, b, "auglag")
    lo = b.lo if b is not None else np.full(n, -np.inf)
    hi = b.hi if b is not None else np.full(n, np.inf)
    cwrt, params, cargs = _constraint_context(kern, wrt, args)
    cons = as_constraints(eq, ineq, constraints, n, cwrt, params, cargs, x0=x)
    P = _problem(kern, cons)
    compiled = kern.compiled and cons.compiled and callback is None
    out, kkt, best, k = _run(P, x, lo, hi, o, callback, compiled, kern)
    return _result(out, kern, P, KKTResiduals(*map(float, kkt)), float(best), int(k), b, moved,
                   lo, hi, o, history)


def _result(out, kern, P, kkt, best, k, b, moved, lo, hi, o, history):
    x = np.asarray(out.x)
    f, gf = P.fvg(x, *P.fk)
    if not kern.compiled:
        out = out._replace(nfev=kern.nfev, ngev=kern.njev)
    ml = mu_up = None
    if b is not None:
        ml, mu_up = _bound_multipliers(x, np.asarray(out.g), lo, hi, o.gtol)
    r = Result.from_loop(out._replace(f=float(f), g=np.asarray(gf).copy()), "auglag", history,
                         lam=P.lam.copy(), mu=P.mu.copy(), mu_lower=ml, mu_upper=mu_up, kkt=kkt,
                         x0_projected=moved if b is not None else None,
                         history_unit="outer iteration")
    r.message = _message(int(out.status), kkt, best, k, float(P.rho[0])) + (
        " x0 lay outside the bounds and was projected onto them." if moved else "")
    return r
