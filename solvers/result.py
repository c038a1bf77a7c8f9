"""The one result type every solver returns, and the enumerated reasons a run ends."""
from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Status", "Result"]


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
}


@dataclass(repr=False)
class Result:
    """Outcome of a minimization, like SciPy's ``OptimizeResult``.

    ``success`` is True only when a convergence test held at a finite point.
    ``history`` (when asked for) maps ``"fun"`` and ``"grad_norm"`` to one value per iteration,
    starting with the initial point.
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
    message: str = field(init=False)
    success: bool = field(init=False)

    def __post_init__(self):
        finite = bool(np.isfinite(self.fun) and np.all(np.isfinite(self.x))
                      and np.all(np.isfinite(self.grad)))
        self.status = Status(self.status)  # first: a plain int has no .converged
        if not finite and self.status.converged:
            self.status = Status.NON_FINITE
        self.success = self.status.converged and finite
        self.message = self.status.message

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
        if self.history is not None:
            lines.append(f" history: {len(self.history['fun'])} entries (fun, grad_norm)")
        return "Result(\n" + "\n".join(lines) + "\n)"


def _from_loop(cls, out, method, history=False):
    """Result from a solver loop's tuple (x, f, g, nit, nfev, ngev, nhev, status, hist_f, hist_g)."""
    x, f, g, nit, nfev, ngev, nhev, status, hf, hg = out
    hist = {"fun": np.asarray(hf).copy(), "grad_norm": np.asarray(hg).copy()} if history else None
    return cls(x=np.asarray(x), fun=float(f), grad=np.asarray(g), nit=int(nit), nfev=int(nfev),
               ngev=int(ngev), nhev=int(nhev), status=Status(int(status)), method=method,
               history=hist)


Result.from_loop = classmethod(_from_loop)
