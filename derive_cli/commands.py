"""One function per subcommand: read the options, call derive/codegen/solvers, print.

Each returns None or an exit code. codegen and solvers are imported inside the commands
that compile or solve, not at the top: importing them loads Numba and SciPy, which the
symbolic commands never use, and would add ~1.2 s to their ~1.8 s start-up (`derive grad
"x**2"` on 2 cores: ~1.8 s with them lazy, ~3 s eager).
"""
import numpy as np
import sympy as sp

import derive
from derive import parse_formula
from derive.smoothness import almost_everywhere_note, drop_dirac, has_dirac
from derive.taylor import MAX_ORDER

from .errors import EXIT_FAILED, EXIT_OK, CLIError
from .options import (assignments, constraints, floats, positive, symbols_from,
                      variables_and_params)
from .output import emit, plot_solve, print_iteration_log

KKT_PARTS = ("stationarity", "primal_feasibility", "dual_feasibility", "complementary_slackness")


def _derivative(args, title, key, f, wrt, compute):
    """Print ``compute(f, wrt)`` with the note a non-smooth f needs ("derivative taken almost
    everywhere") in every format: the last line of text, a LaTeX comment, JSON key "note"."""
    result = compute(f, wrt, dirac="keep")
    dropped = args.dirac == "drop" and has_dirac(result)
    if dropped:
        result = drop_dirac(result)
    target = sp.Tuple(*f) if isinstance(f, sp.MatrixBase) else f
    note = almost_everywhere_note(target, wrt, result, dropped=dropped, hint="--dirac drop")
    emit(args, title, {key: result, "note": note}, notes=("note",))


def cmd_grad(args):
    f = parse_formula(args.expr, relations=False)
    wrt = symbols_from(args.wrt, [f])
    _derivative(args, f"gradient of {f} with respect to {tuple(wrt)}", "gradient", f, wrt, derive.gradient)


def cmd_hessian(args):
    f = parse_formula(args.expr, relations=False)
    wrt = symbols_from(args.wrt, [f])
    _derivative(args, f"Hessian of {f} with respect to {tuple(wrt)}", "hessian", f, wrt, derive.hessian)


def cmd_jacobian(args):
    exprs = [parse_formula(e, relations=False) for e in args.exprs]
    wrt = symbols_from(args.wrt, exprs)
    _derivative(args, f"Jacobian with respect to {tuple(wrt)}", "jacobian", sp.Matrix(exprs), wrt,
                derive.jacobian)


def _point(text, wrt):
    """--at 'x=1,y=2' as values in the order of ``wrt``, each a number."""
    at = assignments(text, "--at")
    unknown = sorted(set(at) - {s.name for s in wrt})
    if unknown:
        raise CLIError(f"--at names {', '.join(unknown)}, which is not a variable of the formula")
    missing = [s.name for s in wrt if s.name not in at]
    if missing:
        raise CLIError(f"--at gives no value for {', '.join(missing)}")
    point = [parse_formula(at[s.name], what=f"--at value of {s.name}", relations=False) for s in wrt]
    for s, value in zip(wrt, point):
        if value.free_symbols:
            raise CLIError(f"--at value of {s.name} is {value}; give a number")
    return point


def cmd_taylor(args):
    f = parse_formula(args.expr, relations=False)
    wrt = symbols_from(args.wrt, [f])
    point = _point(args.at, wrt)
    if args.order < 0:
        raise CLIError(f"--order must be >= 0, got {args.order}")
    if args.order > MAX_ORDER:
        raise CLIError(f"--order {args.order} is above the limit of {MAX_ORDER}")
    # at a numeric point every DiracDelta evaluates (0 off a kink; at a kink taylor refuses),
    # so the polynomial is exact: no almost-everywhere note, and --dirac changes nothing
    poly = derive.taylor(f, wrt, point, order=args.order, dirac=args.dirac)
    emit(args, f"Taylor polynomial of order {args.order} of {f} about {dict(zip(wrt, point))}",
         {"taylor": poly})


def cmd_kkt(args):
    f = parse_formula(args.expr, relations=False)
    eq, ineq = constraints(args.eq, "--eq"), constraints(args.ineq, "--ineq")
    wrt = symbols_from(args.wrt, [f, *eq, *ineq])
    system = derive.kkt(f, wrt, eq=eq, ineq=ineq)
    items = {name: list(getattr(system, name)) for name in KKT_PARTS}
    points = system.solve()
    items["points"] = [{"x": p.x, "lam": p.lam, "mu": p.mu, "exact": p.exact} for p in points]
    if args.json or args.latex:
        emit(args, None, items)
        return
    print(f"KKT conditions for: minimize {f}" + (f"  s.t. {eq} = 0" if eq else "") +
          (f"  {ineq} <= 0" if ineq else ""))
    for name in KKT_PARTS:
        print(f"  {name.replace('_', ' ')}:")
        for cond in items[name]:
            print(f"    {cond}")
    print(f"KKT points ({len(points)}):")
    for p in items["points"]:
        tag = "" if p["exact"] else "  [numerical]"
        print(f"  x = {p['x']}  lam = {p['lam']}  mu = {p['mu']}{tag}")


def cmd_critical(args):
    f = parse_formula(args.expr, relations=False)
    wrt = symbols_from(args.wrt, [f])
    points = derive.critical_points(f, wrt)
    if args.json or args.latex:
        # one_sided: the (left, right) derivatives at a kink ("non-differentiable"), else null
        rows = [{"point": p.point, "kind": p.kind, "eigenvalues": list(p.eigenvalues),
                 "one_sided": None if p.one_sided is None else list(p.one_sided), "exact": p.exact}
                for p in points]
        emit(args, None, {"critical_points": rows})
        return
    print(f"critical points of {f} ({len(points)}):")
    for p in points:
        print(f"  {p}")  # CriticalPoint says which evidence it has: eigenvalues or one-sided slopes


def cmd_explain(args):
    f = parse_formula(args.expr, relations=False)
    wrt = symbols_from(args.wrt, [f])
    if len(wrt) != 1:
        raise CLIError(f"explain differentiates with respect to one variable; give --wrt (one of "
                       f"{', '.join(s.name for s in wrt)})")
    result = derive.explain(f, wrt=wrt[0])
    if args.json:
        emit(args, None, {"steps": [str(s) for s in result.steps], "result": result.result})
    elif args.latex:
        emit(args, None, {"result": result.result})
    else:
        print(result)


def cmd_compile(args):
    import codegen  # lazy: see the module docstring

    f = parse_formula(args.expr, relations=False)
    wrt, params = variables_and_params(args.wrt, args.params, f)
    codegen.export(codegen.compile(f, wrt, params=params), args.output)
    print(f"wrote {args.output}: value, grad, value_and_grad, hess, hessp for {f} "
          f"in {', '.join(s.name for s in wrt)} (needs only numpy and numba)")


def cmd_solve(args):
    import codegen  # lazy: see the module docstring
    import solvers

    f = parse_formula(args.expr, relations=False)
    wrt = symbols_from(args.wrt, [f])
    x0 = floats(args.x0, "--x0") if args.x0 else [0.0] * len(wrt)
    if len(x0) != len(wrt):
        raise CLIError(f"--x0 has {len(x0)} values but there are {len(wrt)} variables "
                       f"({', '.join(s.name for s in wrt)})")
    options = {"lr": args.lr} if args.lr is not None else None
    compiled = codegen.compile(f, wrt)
    path = [np.array(x0, dtype=float)]
    # Recording the path needs a callback, which runs the solver's Python loop: only for plots.
    record = (lambda xk: path.append(np.array(xk, dtype=float))) if args.plot and len(wrt) == 2 else None
    result = solvers.minimize(compiled, np.array(x0), method=args.method, tol=args.tol,
                              maxiter=args.maxiter, options=options, history=True, callback=record)
    if args.json:
        emit(args, None, {"x": dict(zip([s.name for s in wrt], result.x.tolist())), "fun": result.fun,
                          "success": result.success, "status": str(result.status),
                          "message": result.message, "nit": result.nit, "nfev": result.nfev,
                          "ngev": result.ngev})
    else:
        print_iteration_log(result)
        print(result)
    if args.plot:
        plot_solve(args.plot, compiled.value, result, wrt, path if record else None)
    return EXIT_OK if result.success else EXIT_FAILED


def _dataset(name):
    """(X, y) of a scikit-learn data set, loaded or generated."""
    try:
        from sklearn import datasets
    except ImportError:
        raise CLIError("derive svm uses scikit-learn's bundled data sets: "
                       "pip install 'derive-toolkit[sklearn]'") from None
    if name == "moons":
        return datasets.make_moons(n_samples=400, noise=0.2, random_state=0)
    loaders = {"breast_cancer": datasets.load_breast_cancer, "digits": datasets.load_digits,
               "iris": datasets.load_iris, "wine": datasets.load_wine}
    data = loaders[name]()
    return data.data, data.target


def cmd_svm(args):
    gamma = args.gamma
    if gamma not in ("scale", "auto"):
        gamma = positive(gamma, "--gamma", "scale, auto or ")
    positive(args.C, "--C")
    positive(args.tol, "--tol")
    X, y = _dataset(args.dataset)
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    from solvers.svm import SVC  # lazy: see the module docstring

    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    scaler = StandardScaler().fit(X_train)
    model = SVC(C=args.C, kernel=args.kernel, gamma=gamma, tol=args.tol)
    model.fit(scaler.transform(X_train), y_train)
    items = {"dataset": args.dataset, "n_train": len(y_train), "n_test": len(y_test),
             "kernel": args.kernel, "C": args.C, "n_support": np.asarray(model.n_support_).tolist(),
             "dual_objective": np.asarray(model.dual_objective_).tolist(),
             "train_accuracy": model.score(scaler.transform(X_train), y_train),
             "test_accuracy": model.score(scaler.transform(X_test), y_test)}
    emit(args, f"SVC on {args.dataset}", items)


def cmd_demo(args):
    from .demo import run  # it imports every layer

    run()
