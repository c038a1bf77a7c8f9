"""The one result type every solver returns, and the enumerated reasons a run ends."""
from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

__all__ = ["Status", "Result", "IntermediateResult", "LoopResult"]


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
}


@dataclass(repr=False)
class Result(Mapping):
    """Outcome of a minimization, like SciPy's ``OptimizeResult``.

    ``success`` is True only when a convergence test held at a finite point.
    ``history`` (when asked for) maps ``"fun"`` and ``"grad_norm"`` to one value per iteration,
    starting with the initial point. Reads like SciPy's OptimizeResult too: ``jac`` is
    ``grad``, ``njev`` is ``ngev``, ``hess_inv`` is BFGS's inverse-Hessian approximation
    (L-BFGS keeps none as a matrix), and ``res["x"]``, ``res.keys()``, ``dict(res)`` work.
    ``status`` holds our :class:`Status` codes, not SciPy's numbers.

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
        return names + [k for k in ("history", "hess_inv") if getattr(self, k) is not None]

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


def _from_loop(cls, out, method, history=False):
    """Result from a solver loop's :class:`LoopResult`."""
    hist = ({"fun": np.asarray(out.hist_f).copy(), "grad_norm": np.asarray(out.hist_g).copy()}
            if history else None)
    return cls(x=np.asarray(out.x), fun=float(out.f), grad=np.asarray(out.g), nit=int(out.nit),
               nfev=int(out.nfev), ngev=int(out.ngev), nhev=int(out.nhev),
               status=Status(int(out.status)), method=method, history=hist)


Result.from_loop = classmethod(_from_loop)
