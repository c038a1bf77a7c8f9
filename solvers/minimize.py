"""``minimize``: the one front door, dispatching to one function per method (like SciPy's)."""
import inspect

from .auglag import auglag
from .bfgs import bfgs
from .gradient import adagrad, adam, adamw, gd, momentum, nesterov, rmsprop
from .lbfgs import lbfgs
from .newton import newton
from .adapter import LoopCallback, ObjectiveError, as_x0, callback_adapter
from .options import OptionError, SPECS, check_common, from_scipy
from .trust_region import newton_tr

__all__ = ["minimize", "METHODS"]

METHODS = {
    "newton": newton, "newton-tr": newton_tr, "lbfgs": lbfgs, "bfgs": bfgs, "gd": gd,
    "momentum": momentum, "nesterov": nesterov, "adagrad": adagrad, "rmsprop": rmsprop,
    "adam": adam, "adamw": adamw,
}
# the constrained method: chosen when eq/ineq/constraints are given (or by name)
CONSTRAINED = {"auglag": auglag}
# Other spellings, SciPy's method names among them (matched case-insensitively). Newton-CG and
# trust-ncg both take Hessian-vector products and truncate CG, as newton-tr; trust-exact uses the
# exact dense Hessian made positive definite, as newton (which steps by a line search instead).
_ALIASES = {"l-bfgs": "lbfgs", "l-bfgs-b": "lbfgs", "newton_tr": "newton-tr",
            "trust-ncg": "newton-tr", "newton-cg": "newton-tr", "trust-exact": "newton",
            "sgd": "gd"}
_SCIPY_ONLY = ("nelder-mead", "powell", "cg", "tnc", "cobyla", "cobyqa", "slsqp", "trust-constr",
               "dogleg", "trust-krylov")
# SciPy's finite-difference step defaults: L-BFGS-B 1e-8, BFGS sqrt(machine epsilon)
_FD_STEP = {"lbfgs": 1e-8, "bfgs": 1.4901161193847656e-08, "auglag": 1e-8}


def _method(method, constrained=False):
    if method is None:
        return "auglag" if constrained else "lbfgs"
    key = _ALIASES.get(str(method).lower(), str(method).lower())
    if constrained and key != "auglag":
        raise ValueError(f"method {method!r} does not handle eq/ineq constraints: leave "
                         "method unset or pass method='auglag' (the augmented Lagrangian, "
                         "with L-BFGS-B inside); bounds alone go to the methods themselves")
    if key in METHODS or key in CONSTRAINED:
        return key
    ours = ", ".join(METHODS)
    scipy_names = "L-BFGS-B, BFGS, Newton-CG, trust-ncg, trust-exact"
    if key in _SCIPY_ONLY:
        raise ValueError(f"method {method!r} is SciPy's and has no equivalent here: use "
                         f"scipy.optimize.minimize for it; ours are {ours} (SciPy's names "
                         f"{scipy_names} also work)")
    raise ValueError(f"unknown method {method!r}; choose one of {ours} (SciPy's names "
                     f"{scipy_names} also work)")


def minimize(objective, x0, method=None, args=(), tol=None, maxiter=None, callback=None,
             options=None, wrt=None, history=False, verbose=False, *, jac=None, hess=None,
             hessp=None, bounds=None, eq=None, ineq=None, constraints=()):
    """Minimise ``objective`` from ``x0``; returns a :class:`solvers.Result`.

    objective: a ``codegen`` CompiledObjective; a SymPy expression or formula text together
    with ``wrt=`` (compiled on the fly); or, as in SciPy, a Python callable ``fun(x, *args)``
    with ``jac=`` (a callable, or True when fun returns ``(f, g)``; without it, forward
    differences with step ``options["eps"]``, each evaluation counted in ``nfev``), ``hess=``
    (method newton) or ``hessp=`` (newton-tr). Python callables run the method's loop in Python.
    args: the compiled objective's parameter values, or fun's extra arguments. tol: sets
    ``gtol`` (max gradient entry). callback(x), or callback(intermediate_result) as SciPy >= 1.11,
    runs after every iteration (the loop then runs in Python); returning True or raising
    StopIteration stops. options: the method's own keywords, e.g. ``{"m": 20}`` for L-BFGS or
    ``{"lr": 0.1, "schedule": Cosine(100)}`` for Adam; SciPy's names ``maxcor``, ``maxls``,
    ``maxfun``, ``disp``, ``eps``, ``initial_trust_radius``, ``max_trust_radius`` where the
    method has the option. Every option is checked before anything runs (:class:`OptionError`).
    method: ours (``solvers.METHODS``) or SciPy's L-BFGS-B, BFGS, Newton-CG / trust-ncg
    (newton-tr), trust-exact (newton); default lbfgs, or auglag when there are constraints.
    ``history=True`` records f and |g| per iteration (per epoch for mini-batches:
    ``Result.history_unit``).

    bounds: SciPy's forms (a sequence of n ``(lo, hi)`` pairs with None for no bound, a pair of
    scalars or arrays, a ``scipy.optimize.Bounds``): the method's bounded variant (lbfgs is
    then L-BFGS-B). eq / ineq: constraints ``c(x) = 0`` / ``c(x) <= 0`` (derive.kkt's
    convention) as SymPy expressions in the objective's variables or compiled vector functions
    (``codegen.compile_vector``); they select the augmented Lagrangian (method ``auglag``),
    whose Result carries the multipliers ``lam``, ``mu`` and the KKT residuals. constraints:
    SciPy's dicts ``{"type": "eq" | "ineq", "fun": ..., "jac": ...}`` for Python callables;
    SciPy's inequality means ``fun(x) >= 0``, the opposite of ``ineq``: it is negated here, so
    the reported ``mu`` belongs to ``-fun(x) <= 0``.

    >>> import sympy
    >>> x, y = sympy.symbols("x y")
    >>> r = minimize(100*(y - x**2)**2 + (1 - x)**2, [-1.2, 1], wrt=[x, y])
    >>> r.success, r.status.name, r.x.round(6)
    (True, 'CONVERGED_GTOL', array([1., 1.]))
    >>> minimize(100*(y - x**2)**2 + (1 - x)**2, [-1.2, 1], wrt=[x, y], maxiter=5).message
    'Stopped: the maximum number of iterations was reached before convergence.'
    >>> import scipy.optimize as so
    >>> r = minimize(so.rosen, [1.3, 0.7, 0.8], jac=so.rosen_der, method="L-BFGS-B")
    >>> r.success, r["x"].round(4), r.jac.shape
    (True, array([1., 1., 1.]), (3,))
    """
    constrained = _has_constraints(eq, ineq, constraints)
    key = _method(method, constrained)
    solver = CONSTRAINED.get(key) or METHODS[key]
    if options is not None and not hasattr(options, "items"):
        raise OptionError(f"options must be a dict of the method's options, got "
                          f"{type(options).__name__}")
    # unknown names refused here, before any run (auglag checks its own options)
    opts = dict(options or {}) if key == "auglag" else from_scipy(key, dict(options or {}))
    disp = opts.pop("disp", False)
    if disp not in (True, False, 0, 1, None):
        raise OptionError(f"{key}: option 'disp' must be True or False, got {disp!r}")
    if tol is not None:
        tol = _tol("lbfgs" if key == "auglag" else key, tol)
        opts.setdefault("gtol", tol)
    if maxiter is not None:
        opts.setdefault("maxiter", maxiter)
    if callback is not None:
        check_common(key, callback, history)  # before the printer wraps it
    eps = opts.pop("eps", None) if key in _FD_STEP else None
    python = not (hasattr(objective, "jit") or wrt is not None
                  or isinstance(objective, str) or _is_sympy(objective))
    if python:
        x0 = as_x0(x0)  # its length is the number of variables (the method checks it again)
        objective = _python_objective(key, objective, x0.shape[0], args, jac, hess, hessp, eps)
        args = ()
    else:
        for name, value in (("jac", jac), ("hess", hess), ("hessp", hessp)):
            if value is not None:
                raise OptionError(f"{name}= applies to a Python callable objective; a compiled "
                                  f"or SymPy objective derives its own {name}")
        if eps is not None:
            raise OptionError("option 'eps' is the finite-difference step of a Python callable "
                              "objective without jac; this objective has exact gradients")
    if verbose or disp:
        callback = _printer(callback)
    if key == "auglag":
        opts.update(eq=eq, ineq=ineq, constraints=constraints, bounds=bounds)
    elif bounds is not None:
        opts["bounds"] = _bounds_for(key, solver, bounds, x0)
        if opts["bounds"] is None:
            del opts["bounds"]
    r = solver(objective, x0, args=args, callback=callback, history=history, wrt=wrt, **opts)
    if history and key in _GRADIENT_FAMILY and opts.get("batch_size"):
        r.history_unit = _unit(r, opts["batch_size"])
    return r


_GRADIENT_FAMILY = ("gd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw")


def _unit(r, batch_size):
    """Mini-batch runs record the full objective once per epoch (solvers.gradient); a batch as
    large as the data is a full-gradient step, recorded every iteration."""
    per_epoch = len(r.history["fun"]) - 1 < r.nit
    return "epoch" if per_epoch or r.history_unit == "epoch" else "iteration"


def _has_constraints(eq, ineq, constraints):
    def given(c):
        return c is not None and not (isinstance(c, (list, tuple)) and len(c) == 0)
    return given(eq) or given(ineq) or given(constraints)


def _bounds_for(key, solver, bounds, x0):
    """``bounds`` parsed for ``key`` (None when every bound is infinite: the unconstrained
    path)."""
    from .bounds import parse_bounds  # noqa: PLC0415 (solvers.bounds is LBFGSB's module)
    n = as_x0(x0).shape[0]
    parsed = parse_bounds(bounds, n)
    if parsed is None:
        return None
    if key == "bfgs":
        raise OptionError("method 'bfgs' has no bounded variant: use method 'lbfgs' "
                          "(L-BFGS-B) for bounds, or 'newton' / 'newton-tr'")
    if "bounds" not in inspect.signature(solver).parameters:
        raise OptionError(f"method {key!r} does not take bounds yet")
    return parsed


def _tol(key, tol):
    try:
        return SPECS[key]["gtol"](tol)
    except (ValueError, TypeError):
        raise OptionError(f"{key}: 'tol' (the gradient tolerance gtol) must be a finite "
                          f"number >= 0, got {tol!r}") from None


def _is_sympy(objective):
    return type(objective).__module__.split(".")[0] == "sympy"


def _python_objective(key, fun, n, args, jac, hess, hessp, eps):
    from .callables import PythonObjective
    if not callable(fun):
        raise ObjectiveError(f"objective of type {type(fun).__name__} is neither compiled nor "
                             "callable: pass codegen.compile(expr, wrt), a SymPy expression "
                             "with wrt=, or a Python function fun(x, *args)")
    if key == "newton" and hess is None:
        raise OptionError("method 'newton' (trust-exact) needs the Hessian of a Python "
                          "objective: pass hess=, or use method 'newton-tr' with hessp=")
    if key == "newton-tr" and hess is None and hessp is None:
        raise OptionError("method 'newton-tr' (Newton-CG, trust-ncg) needs hessp= or hess= for "
                          "a Python objective")
    if eps is not None:
        try:
            eps = SPECS["lbfgs"]["eps"](eps)
        except (ValueError, TypeError):
            raise OptionError(f"{key}: option 'eps' (the finite-difference step) must be a "
                              f"finite number > 0, got {eps!r}") from None
    elif jac is None or jac is False or (isinstance(jac, str) and jac == "2-point"):
        eps = _FD_STEP.get(key)
    return PythonObjective(fun, n, args, jac=jac, hess=hess, hessp=hessp, eps=eps)


def _printer(callback):
    """A loop callback printing iteration, f and max|g| (the loop's own values), then running
    the user's callback."""
    user = None if callback is None else callback_adapter(callback)
    print(f"{'iter':>6} {'f':>22} {'max|g|':>12}")

    def cb(k, x, f, gnorm):
        print(f"{k:>6} {f:>22.15g} {gnorm:>12.4e}")
        return bool(user(k, x, f, gnorm)) if user is not None else False
    return LoopCallback(cb)
