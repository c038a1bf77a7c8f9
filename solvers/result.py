"""The one result type every solver returns, and the enumerated reasons a run ends."""
from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

__all__ = ["Status", "Result", "KKTResiduals", "IntermediateResult", "LoopResult"]


class Status(enum.IntEnum):
    """Why a run ended. Only the three ``CONVERGED_*`` members are successes."""

    CONVERGED_GTOL = 0
    CONVERGED_FTOL = 1
    CONVERGED_XTOL = 2
    MAX_ITERATIONS = 3
    LINE_SEARCH_FAILED = 4
    NON_FINITE = 5
    HESSIAN_NOT_USABLE = 6
    DIVERGED = 7
    TRUST_REGION_COLLAPSED = 8
    CALLBACK_STOP = 9
    MAX_FUNCTION_EVALUATIONS = 10
    INFEASIBLE = 11
    EVALUATION_FAILED = 12

    @property
    def converged(self) -> bool:
        return self <= Status.CONVERGED_XTOL

    @property
    def message(self) -> str:
        return _MESSAGES[self]


_MESSAGES = {
    Status.CONVERGED_GTOL: "Converged: the gradient norm fell below gtol.",
    Status.CONVERGED_FTOL: "Converged: the relative change of the objective (or the decrease Newton predicts) fell below ftol.",
    Status.CONVERGED_XTOL: "Converged: the step fell below xtol (relative to the size of x).",
    Status.MAX_ITERATIONS: "Stopped: the maximum number of iterations was reached before convergence.",
    Status.LINE_SEARCH_FAILED: "Failed: the line search found no step with sufficient decrease "
                               "(the gradient may be inaccurate, or tolerances too tight).",
    Status.NON_FINITE: "Failed: the objective or gradient became NaN or infinite.",
    Status.HESSIAN_NOT_USABLE: "Failed: the Hessian is not finite or could not be made positive definite.",
    Status.DIVERGED: "Failed: the objective grew without bound (diverged); lower the learning rate.",
    Status.TRUST_REGION_COLLAPSED: "Failed: the trust region shrank to nothing without an acceptable step.",
    Status.CALLBACK_STOP: "Stopped: the callback asked to stop.",
    Status.MAX_FUNCTION_EVALUATIONS: "Stopped: the maximum number of function evaluations "
                                     "(maxfun) was reached before convergence.",
    Status.INFEASIBLE: "Failed: the constraints could not be satisfied (the problem looks "
                       "infeasible).",
    Status.EVALUATION_FAILED: "Failed: an evaluation of the objective raised an error that could "
                              "not be recovered; x, fun and grad are the last point evaluated "
                              "in full.",
}


class KKTResiduals(NamedTuple):
    """Infinity norms of the three KKT residuals at the returned point (derive.kkt's signs):
    ``stationarity`` of grad f + J_eq' lam + J_ineq' mu - mu_lower + mu_upper (for bounds only:
    the projected gradient), ``feasibility`` max(|eq|, max(ineq, 0), bound violation),
    ``complementarity`` max_j |min(-ineq_j, mu_j)| and min(multiplier, distance) of each
    bound (zero exactly when mu_j ineq_j = 0 at a feasible point; scale-free in mu). A bounded
    method without general constraints may report the product mu_i * distance instead.

    >>> KKTResiduals(1e-9, 0.0, 0.0).max()
    1e-09
    """

    stationarity: float
    feasibility: float
    complementarity: float

    def max(self) -> float:
        """The largest of the three residuals."""
        return max(self.stationarity, self.feasibility, self.complementarity)


@dataclass(repr=False)
class Result(Mapping):
    """Outcome of a minimization, like SciPy's ``OptimizeResult``.

    ``success`` is True only when a convergence test held at a finite point.
    ``history`` (when asked for) maps ``"fun"`` and ``"grad_norm"`` to one value per iteration,
    starting with the initial point. Reads like SciPy's OptimizeResult too: ``jac`` is
    ``grad``, ``njev`` is ``ngev``, ``hess_inv`` is BFGS's inverse-Hessian approximation
    (L-BFGS keeps none as a matrix), and ``res["x"]``, ``res.keys()``, ``dict(res)`` work.
    ``status`` holds our :class:`Status` codes, not SciPy's numbers.

    Constrained and bounded runs also fill (None otherwise, and then absent from the keys):
    ``lam`` (one multiplier per equality), ``mu`` (one per inequality, >= 0), ``mu_lower`` /
    ``mu_upper`` (bound multipliers, length n, >= 0), with derive.kkt's signs
    ``grad f + J_eq' lam + J_ineq' mu - mu_lower + mu_upper = 0``; ``kkt``
    (:class:`KKTResiduals`); ``x0_projected`` (x0 lay outside the bounds and was projected).
    ``history_unit`` says what one history entry is: ``"iteration"``, ``"epoch"`` for
    mini-batch runs, ``"outer iteration"`` for the augmented Lagrangian; :meth:`plot` draws the history.

    >>> r = Result(x=np.array([1.0]), fun=0.0, grad=np.array([0.0]), nit=3, nfev=4, ngev=4,
    ...            nhev=0, status=0)
    >>> r["success"], r.jac is r.grad, r["njev"], "hess_inv" in r
    (True, True, 4, False)
    """

    x: np.ndarray
    fun: float
    grad: np.ndarray
    nit: int
    nfev: int
    ngev: int
    nhev: int
    status: Status
    method: str = ""
    history: dict | None = None
    hess_inv: np.ndarray | None = None
    lam: np.ndarray | None = None
    mu: np.ndarray | None = None
    mu_lower: np.ndarray | None = None
    mu_upper: np.ndarray | None = None
    kkt: KKTResiduals | None = None
    x0_projected: bool | None = None
    history_unit: str = "iteration"
    error: str | None = None
    message: str = field(init=False)
    success: bool = field(init=False)

    @property
    def jac(self):
        """SciPy's name of the gradient at ``x``."""
        return self.grad

    @property
    def njev(self):
        """SciPy's name of the number of gradient evaluations."""
        return self.ngev

    def keys(self):
        names = ["x", "fun", "jac", "grad", "nit", "nfev", "njev", "ngev", "nhev", "status",
                 "message", "success", "method"]
        names += [k for k in _OPTIONAL if getattr(self, k) is not None]
        return names + (["history_unit"] if self.history is not None else [])

    def __getitem__(self, key):
        if key not in self.keys():
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self):
        return iter(self.keys())

    def __len__(self):
        return len(self.keys())

    def __post_init__(self):
        finite = bool(np.isfinite(self.fun) and np.all(np.isfinite(self.x))
                      and np.all(np.isfinite(self.grad)))
        self.status = Status(self.status)  # first: a plain int has no .converged
        if not finite and self.status.converged:
            self.status = Status.NON_FINITE
        if self.history_unit not in ("iteration", "epoch", "outer iteration"):
            raise ValueError(f"history_unit must be 'iteration', 'epoch' or 'outer iteration', "
                             f"got {self.history_unit!r}")
        self.success = self.status.converged and finite
        self.message = self.status.message
        if self.x0_projected:
            self.message += " x0 lay outside the bounds and was projected onto them."
        if self.error:
            self.message += f" The error: {self.error}"

    def __repr__(self) -> str:
        x = np.array2string(np.asarray(self.x), threshold=8, precision=6)
        lines = [
            f"  method: {self.method}",
            f" success: {self.success}",
            f"  status: {self.status.name}",
            f" message: {self.message}",
            f"     fun: {self.fun!r}",
            f"       x: {x}",
            f"     nit: {self.nit}   nfev: {self.nfev}   ngev: {self.ngev}   nhev: {self.nhev}",
            f"   |grad|: {float(np.max(np.abs(self.grad))) if np.size(self.grad) else 0.0:.3e}",
        ]
        for name in ("lam", "mu", "mu_lower", "mu_upper"):
            value = getattr(self, name)
            if value is not None:
                text = np.array2string(np.asarray(value), threshold=8, precision=6)
                lines.append(f"{name:>8}: {text}")
        if self.kkt is not None:
            k = self.kkt
            lines.append(f"     kkt: stationarity {k.stationarity:.3e}   feasibility "
                         f"{k.feasibility:.3e}   complementarity {k.complementarity:.3e}")
        if self.x0_projected:
            lines.append(" x0_projected: True")
        if self.history is not None:
            lines.append(f" history: {len(self.history['fun'])} entries (fun, grad_norm) per "
                         f"{self.history_unit}")
        return "Result(\n" + "\n".join(lines) + "\n)"

    def plot(self, ax=None, f_star=None):
        """Draw the objective gap and the gradient norm per iteration (or epoch) on a log scale.

        The gap is ``f - f_star`` when ``f_star`` (the known minimum) is given, else
        ``f - min(f)`` over the history (its last point is then 0 and not drawn on the log
        scale). ``ax``: a matplotlib Axes to draw on (default: a new figure). Needs a run with
        ``history=True``. Returns the Axes.

        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> r = Result(x=np.zeros(1), fun=0.0, grad=np.zeros(1), nit=2, nfev=3, ngev=3, nhev=0,
        ...            status=0, history={"fun": np.array([4.0, 1.0, 0.0]),
        ...                               "grad_norm": np.array([4.0, 2.0, 0.0])})
        >>> ax = r.plot(f_star=-1.0)
        >>> [line.get_label() for line in ax.get_lines()]
        ['f - f*', 'max |grad|']
        """
        return _plot_history(self, ax, f_star)


def _plot_history(res, ax, f_star):
    if res.history is None:
        raise ValueError("this Result has no history to plot: run the solver with "
                         "history=True (minimize(..., history=True))")
    import matplotlib.pyplot as plt  # only here: import solvers never loads matplotlib
    if ax is None:
        _, ax = plt.subplots()
    f = np.asarray(res.history["fun"], dtype=float)
    g = np.asarray(res.history["grad_norm"], dtype=float)
    steps = np.arange(f.shape[0])
    ref = float(np.min(f[np.isfinite(f)])) if f_star is None and np.isfinite(f).any() else f_star
    gap = f - (ref if ref is not None else np.nan)
    label = "f - min f" if f_star is None else "f - f*"
    # a log scale shows no zeros: the point where the minimum was reached is left out
    ax.semilogy(steps, np.where(gap > 0, gap, np.nan), label=label)
    ax.semilogy(steps, np.where(g > 0, g, np.nan), label="max |grad|")
    ax.set_xlabel(res.history_unit)
    ax.set_title(f"{res.method or 'solver'}: {res.status.name}")
    ax.legend()
    return ax


_OPTIONAL = ("history", "hess_inv", "lam", "mu", "mu_lower", "mu_upper", "kkt", "x0_projected",
             "error")


class IntermediateResult(dict):
    """What ``callback(intermediate_result)`` receives: ``x``, ``fun``, ``nit`` and
    ``grad_norm`` (max |g_i|), read as keys or as attributes, like SciPy's OptimizeResult.

    >>> r = IntermediateResult(x=np.zeros(2), fun=1.5, nit=3, grad_norm=0.1)
    >>> r.fun, r["nit"]
    (1.5, 3)
    """

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


class LoopResult(NamedTuple):
    """What every solver loop returns, compiled or Python (Numba compiles NamedTuples).

    ``status`` is a :class:`Status` value as a plain int; ``hist_f`` / ``hist_g`` hold f and
    max|g| at x0 and after each recorded iterate.
    """

    x: np.ndarray
    f: float
    g: np.ndarray
    nit: int
    nfev: int
    ngev: int
    nhev: int
    status: int
    hist_f: np.ndarray
    hist_g: np.ndarray


def _from_loop(cls, out, method, history=False, **fields):
    """Result from a solver loop's :class:`LoopResult`; ``fields`` sets the optional ones
    (``lam``, ``mu_lower``, ``kkt``, ``x0_projected``, ``history_unit``...)."""
    hist = ({"fun": np.asarray(out.hist_f).copy(), "grad_norm": np.asarray(out.hist_g).copy()}
            if history else None)
    return cls(x=np.asarray(out.x), fun=float(out.f), grad=np.asarray(out.g), nit=int(out.nit),
               nfev=int(out.nfev), ngev=int(out.ngev), nhev=int(out.nhev),
               status=Status(int(out.status)), method=method, history=hist, **fields)


Result.from_loop = classmethod(_from_loop)
