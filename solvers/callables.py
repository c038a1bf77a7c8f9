"""Plain Python objectives, as SciPy takes them: ``fun(x, *args)`` with ``jac``, ``hess``, ``hessp``.

:class:`PythonObjective` gives the solver loops the same interface as compiled kernels
(``vg``, ``hess``, ``hessp``, ``kargs``), so every method runs on it unchanged; the loops then
run as Python (nopython code cannot call a Python function). Without a gradient, ``jac`` is
approximated by forward differences, as SciPy's default ``'2-point'``, each evaluation counted
in ``nfev``.

>>> import numpy as np
>>> obj = PythonObjective(lambda x: float(x @ x), 2)
>>> f, g = obj.vg(np.array([1.0, 2.0]))
>>> f, np.round(g, 6).tolist(), obj.nfev
(5.0, [2.0, 4.0], 3)
"""
import numpy as np

from .adapter import ObjectiveError
from .options import OptionError

__all__ = ["PythonObjective", "FD_STEP"]

FD_STEP = 1.4901161193847656e-08  # sqrt(machine epsilon): SciPy's BFGS default step
_FD_METHODS = ("2-point", "3-point", "cs")


def _real(value, what):
    a = np.asarray(value)
    if a.dtype.kind == "c":
        raise ValueError(f"{what} is complex ({a.dtype}); minimize works over the reals: "
                         "return the real part if that is meant")
    if a.dtype.kind not in "fiub":
        raise ValueError(f"{what} must be real numbers, got {type(value).__name__} of dtype "
                         f"{a.dtype}")
    return a


class PythonObjective:
    """A Python objective ``fun(x, *args)`` in the solver loops' interface.

    jac: a callable ``jac(x, *args)``, True (``fun`` returns ``(f, g)``), or None / False /
    ``'2-point'`` for forward differences with absolute step ``eps``. hess(x, *args): a dense
    (or scipy.sparse) matrix; hessp(x, p, *args): H(x) @ p. Counts every call in ``nfev``,
    ``njev`` and ``nhev``.
    """

    compiled = False
    has_data = False
    n_rows = 0
    sum_reduced = True
    rows = None
    kargs = ()

    def __init__(self, fun, n, args=(), jac=None, hess=None, hessp=None, eps=None):
        if not callable(fun):
            raise ObjectiveError(f"the objective must be callable, got {type(fun).__name__}")
        if isinstance(jac, str):
            if jac not in _FD_METHODS:
                raise OptionError(f"jac={jac!r} is not a gradient; give a callable, True, or "
                                  f"'2-point' (finite differences)")
            if jac != "2-point":
                raise OptionError(f"jac={jac!r} is not implemented here; use '2-point' "
                                  "(forward differences, what jac=None does) or a callable")
            jac = None
        elif jac is False:
            jac = None
        elif not (jac is None or jac is True or callable(jac)):
            raise ObjectiveError(f"jac must be a callable, True, '2-point' or None, got "
                                 f"{type(jac).__name__}")
        for name, h in (("hess", hess), ("hessp", hessp)):
            if h is not None and not callable(h):
                raise ObjectiveError(f"{name} must be a callable or None, got "
                                     f"{type(h).__name__} (SciPy's finite-difference and "
                                     "quasi-Newton Hessian strategies are not supported)")
        if eps is not None and jac is not None:
            raise OptionError("option 'eps' is the finite-difference step: it applies only "
                              "without jac")
        self.obj = self
        self.fun, self.jac, self._hess, self._hessp = fun, jac, hess, hessp
        self.args = tuple(args) if isinstance(args, (tuple, list)) else (args,)
        self.n = int(n)
        self.eps = FD_STEP if eps is None else float(eps)
        self.nfev = self.njev = self.nhev = 0
        self._H = (None, None)  # (x, H) of the last Hessian, reused by hessp from hess

    def evaluations_per_gradient(self):
        """Function evaluations one ``vg`` call costs (n + 1 with finite differences)."""
        return self.n + 1 if self.jac is None else 1

    def _f(self, x):
        self.nfev += 1
        return self._scalar(self.fun(x.copy(), *self.args))  # a copy: fun may keep or change x

    @staticmethod
    def _scalar(value):
        if type(value) is float:
            return value
        a = _real(value, "fun's value")
        if a.size != 1:
            raise ValueError(f"fun must return a scalar, got an array of shape {a.shape} (with "
                             "jac=True it returns the pair (f, gradient))")
        return float(a.reshape(()))

    def _vector(self, g, what):
        a = _real(g, what)
        if a.shape != (self.n,):
            raise ValueError(f"{what} returned shape {a.shape} but x0 has {self.n} entries")
        return np.array(a, dtype=np.float64)

    def vg(self, x):
        """(f(x), gradient) for the loops."""
        if self.jac is True:
            self.nfev += 1
            self.njev += 1
            out = self.fun(x.copy(), *self.args)
            if not (isinstance(out, (tuple, list)) and len(out) == 2):
                raise ValueError("with jac=True, fun must return a pair (f, gradient), got "
                                 f"{type(out).__name__}")
            return self._scalar(out[0]), self._vector(out[1], "jac")
        f = self._f(x)
        self.njev += 1
        if self.jac is not None:
            return f, self._vector(self.jac(x.copy(), *self.args), "jac")
        g = np.empty(self.n)
        xh = x.copy()
        for i in range(self.n):  # forward differences, SciPy's '2-point' with an absolute step
            h = self.eps if x[i] >= 0 else -self.eps
            xh[i] = x[i] + h
            g[i] = (self._f(xh) - f) / (xh[i] - x[i])
            xh[i] = x[i]
        return f, g

    def hess(self, x):
        """Dense Hessian from ``hess``."""
        if self._hess is None:
            raise ObjectiveError("this method needs the Hessian: pass hess=")
        self.nhev += 1
        H = self._hess(x.copy(), *self.args)
        if hasattr(H, "toarray"):  # scipy.sparse
            H = H.toarray()
        elif not isinstance(H, np.ndarray) and hasattr(H, "matvec"):
            raise ObjectiveError("hess returned a LinearOperator; method 'newton' needs a "
                                 "matrix: pass hessp= with method 'newton-tr' instead")
        a = _real(H, "hess")
        if a.shape != (self.n, self.n):
            raise ValueError(f"hess returned shape {a.shape} but x0 has {self.n} entries")
        return np.array(a, dtype=np.float64)

    def hessp(self, x, p):
        """H(x) @ p from ``hessp``, or from ``hess`` (one Hessian per point)."""
        if self._hessp is not None:
            self.nhev += 1
            return self._vector(self._hessp(x.copy(), p.copy(), *self.args), "hessp")
        if self._hess is None:
            raise ObjectiveError("this method needs Hessian-vector products: pass hessp= or hess=")
        x_last, H = self._H
        if x_last is None or not np.array_equal(x_last, x):
            H = self.hess(x)
            self._H = (x.copy(), H)
        return H @ p
