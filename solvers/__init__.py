"""solvers: minimisation on codegen's compiled kernels, with SciPy's quality and Numba's speed.

Every method runs its whole iteration loop in Numba nopython code calling the objective's jit
kernels (compiled once per argument layout and cached on disk); a callback switches to a
Python loop, as does a plain Python objective (SciPy's ``fun``/``jac``/``hess``/``hessp``
convention). ``minimize`` is the front door; each method is also callable on its own. Every
option is checked before anything runs (:class:`OptionError` names the option and method).
Bounds (SciPy's forms) go to each method's bounded variant; ``eq=`` / ``ineq=`` constraints to
the augmented Lagrangian (:func:`auglag`), whose Result carries the multipliers. The
line-search methods are a descent (Newton, BFGS, L-BFGS) plus a search (strong Wolfe) on
one loop, :func:`solvers.loop.descent_loop`. ``solvers.svm`` (the SVM classifier) is imported
on first use.

>>> from solvers import Status
>>> Status.CONVERGED_GTOL.converged, Status.MAX_ITERATIONS.converged
(True, False)
"""
from . import loop_cache as _loop_cache  # first: clears stale cached loops before any is loaded
from . import schedules
from .adapter import ObjectiveError
from .auglag import auglag
from .bfgs import bfgs
from .gradient import adagrad, adam, adamw, gd, momentum, nesterov, rmsprop
from .lbfgs import lbfgs
from .linesearch import backtracking, strong_wolfe
from .minimize import METHODS, minimize
from .newton import modified_cholesky, newton
from .options import OptionError
from .constraints import ConstraintError
from .result import KKTResiduals, Result, Status
from .termination import terminate
from .trust_region import newton_tr, steihaug_cg
from .warmup import warmup

__all__ = [
    "minimize", "METHODS", "Result", "Status", "KKTResiduals", "ObjectiveError", "OptionError",
    "ConstraintError", "newton", "newton_tr", "lbfgs", "bfgs", "auglag",
    "gd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw",
    "strong_wolfe", "backtracking", "modified_cholesky", "steihaug_cg", "terminate",
    "schedules", "svm", "warmup",
]


def __getattr__(name):
    """``solvers.svm`` is imported on first use: it needs the SVM kernels of codegen (SymPy),
    which ``import solvers`` does not load."""
    if name == "svm":
        import importlib
        return importlib.import_module(".svm", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | {"svm"})
