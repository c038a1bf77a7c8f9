"""``minimize``: the one front door, dispatching to one function per method (like SciPy's)."""
from .bfgs import bfgs
from .gradient import adagrad, adam, adamw, gd, momentum, nesterov, rmsprop
from .lbfgs import lbfgs
from .newton import newton
from .objective import as_kernels
from .trust_region import newton_tr

__all__ = ["minimize", "METHODS"]

METHODS = {
    "newton": newton, "newton-tr": newton_tr, "lbfgs": lbfgs, "bfgs": bfgs, "gd": gd,
    "momentum": momentum, "nesterov": nesterov, "adagrad": adagrad, "rmsprop": rmsprop,
    "adam": adam, "adamw": adamw,
}
_ALIASES = {"l-bfgs": "lbfgs", "l-bfgs-b": "lbfgs", "newton_tr": "newton-tr", "trust-ncg": "newton-tr",
            "sgd": "gd"}


def minimize(objective, x0, method="lbfgs", args=(), tol=None, maxiter=None, callback=None,
             options=None, wrt=None, history=False, verbose=False):
    """Minimise ``objective`` from ``x0``; returns a :class:`solvers.Result`.

    objective: a ``codegen`` CompiledObjective, or a SymPy expression together with ``wrt=``
    (compiled on the fly). args: the objective's parameter values. tol: sets ``gtol`` (max
    gradient entry). callback(x) runs after every iteration (the loop then runs in Python);
    returning True stops. options: the method's own keywords, e.g. ``{"m": 20}`` for L-BFGS or
    ``{"lr": 0.1, "schedule": Cosine(100)}`` for Adam; ``history=True`` records f and |g| per
    iteration.

    >>> import sympy
    >>> x, y = sympy.symbols("x y")
    >>> r = minimize(100*(y - x**2)**2 + (1 - x)**2, [-1.2, 1], wrt=[x, y])
    >>> r.success, r.status.name, r.x.round(6)
    (True, 'CONVERGED_GTOL', array([1., 1.]))
    >>> minimize(100*(y - x**2)**2 + (1 - x)**2, [-1.2, 1], wrt=[x, y], maxiter=5).message
    'Stopped: the maximum number of iterations was reached before convergence.'
    """
    key = str(method).lower()
    key = _ALIASES.get(key, key)
    solver = METHODS.get(key)
    if solver is None:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    opts = dict(options or {})
    if tol is not None:
        opts.setdefault("gtol", float(tol))
    if maxiter is not None:
        opts.setdefault("maxiter", int(maxiter))
    if verbose:
        kern = as_kernels(objective, args, wrt, opts.pop("rows", None))
        objective, args, wrt = kern, (), None
        callback = _printer(kern, callback)
    try:
        return solver(objective, x0, args=args, callback=callback, history=history, wrt=wrt, **opts)
    except TypeError as exc:
        if "unexpected keyword" in str(exc):
            raise TypeError(f"method {key!r} does not take that option ({exc}); see "
                            f"help(solvers.{solver.__name__}) for its options") from None
        raise


def _printer(kern, callback):
    """A callback printing iteration, f and max|g| (evaluated for display only, not counted)."""
    state = {"k": 0}
    print(f"{'iter':>6} {'f':>22} {'max|g|':>12}")

    def cb(x):
        state["k"] += 1
        f, g = kern.jit.value_and_grad(x, *kern.kargs)
        print(f"{state['k']:>6} {f:>22.15g} {float(abs(g).max()) if g.size else 0.0:>12.4e}")
        return bool(callback(x)) if callback is not None else False
    return cb
