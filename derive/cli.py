"""derive: derivatives, Taylor models, KKT systems, compiled kernels and solvers from the shell.

Formulas are read with SymPy's parser, which evaluates them as Python code:
only give it your own formulas. Variables are real-valued; --wrt sets their
order (default: the free symbols sorted by name).

examples:
  derive grad "x**2*y + sin(y)" --wrt x,y
  derive hessian "(1-x)**2 + 100*(y-x**2)**2"
  derive taylor "exp(x)*cos(y)" --at x=0,y=0 --order 3
  derive kkt "x**2 + y**2" --eq "x + y - 1"
  derive solve "(1-x)**2 + 100*(y-x**2)**2" --x0 -1.2,1 --method newton
"""
import argparse
import json
import sys

from ._version import __version__

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class CLIError(Exception):
    """A problem with the user's input, reported as one line (exit code 2)."""


# --------------------------------------------------------------------------- parsing
def _namespace():
    import sympy as sp

    from . import ml

    names = {name: getattr(ml, name) for name in getattr(ml, "__all__", ()) if hasattr(ml, name)}
    for name in ("sigmoid", "softplus", "relu", "logsumexp"):
        names[name] = getattr(ml, name)
    names.update({"Max": sp.Max, "Min": sp.Min, "Abs": sp.Abs, "Heaviside": sp.Heaviside})
    return names


def parse(text, what="expression"):
    """Parse one formula with SymPy's parser; names become plain Symbols."""
    import sympy as sp
    from sympy.parsing.sympy_parser import convert_xor, parse_expr, standard_transformations

    transformations = standard_transformations + (convert_xor,)
    try:
        expr = parse_expr(text, local_dict=_namespace(), transformations=transformations)
    except Exception as exc:  # the parser raises many kinds; all mean "bad formula"
        raise CLIError(f"cannot parse {what} {text!r}: {type(exc).__name__}: {exc}") from None
    if not isinstance(expr, sp.Basic):
        raise CLIError(f"{what} {text!r} is not a formula (parsed to {type(expr).__name__})")
    return expr


def _symbols_from(text, exprs):
    import sympy as sp

    if text:
        names = [s.strip() for s in text.split(",") if s.strip()]
        if not names:
            raise CLIError("--wrt is empty: give variable names like --wrt x,y")
        if len(set(names)) != len(names):
            raise CLIError(f"--wrt names a variable twice: {text!r}")
        known = {s.name: s for e in exprs for s in e.free_symbols}
        return [known.get(n, sp.Symbol(n)) for n in names]
    free = set().union(*(e.free_symbols for e in exprs))
    if not free:
        raise CLIError("the formula has no variables to differentiate with respect to")
    return sorted(free, key=lambda s: s.name)


def _assignments(text, option):
    """'x=1,y=2' -> {'x': '1', 'y': '2'}"""
    out = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        if "=" not in part:
            raise CLIError(f"{option} expects name=value pairs like x=1,y=2; got {part!r}")
        name, value = (s.strip() for s in part.split("=", 1))
        out[name] = value
    return out


def _floats(text, option):
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise CLIError(f"{option} expects numbers separated by commas; got {text!r}") from None


# --------------------------------------------------------------------------- output
def _emit(args, title, items):
    """Print named results as pretty text, LaTeX or JSON (stable keys)."""
    import sympy as sp

    if args.json:
        payload = {"command": args.command, "result": {}}
        for key, value in items.items():
            payload["result"][key] = _jsonable(value)
        print(json.dumps(payload, indent=2, sort_keys=True))
        return
    if title and not args.latex:
        print(title)
    for key, value in items.items():
        if args.latex:
            text = sp.latex(value) if isinstance(value, (sp.Basic, sp.MatrixBase)) else str(value)
            print(f"% {key}\n{text}")
        elif isinstance(value, (sp.Basic, sp.MatrixBase)):
            print(f"{key} =")
            print(sp.pretty(value, use_unicode=True))
        else:
            print(f"{key} = {value}")


def _jsonable(value):
    import sympy as sp

    if isinstance(value, sp.MatrixBase):
        return [[str(v) for v in row] for row in value.tolist()]
    if isinstance(value, sp.Basic):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    return str(value)


# --------------------------------------------------------------------------- commands
def cmd_grad(args):
    import derive

    f = parse(args.expr)
    wrt = _symbols_from(args.wrt, [f])
    _emit(args, f"gradient of {f} with respect to {tuple(wrt)}", {"gradient": derive.gradient(f, wrt)})


def cmd_hessian(args):
    import derive

    f = parse(args.expr)
    wrt = _symbols_from(args.wrt, [f])
    _emit(args, f"Hessian of {f} with respect to {tuple(wrt)}", {"hessian": derive.hessian(f, wrt)})


def cmd_jacobian(args):
    import sympy as sp

    import derive

    exprs = [parse(e) for e in args.exprs]
    wrt = _symbols_from(args.wrt, exprs)
    _emit(args, f"Jacobian with respect to {tuple(wrt)}", {"jacobian": derive.jacobian(sp.Matrix(exprs), wrt)})


def cmd_taylor(args):
    import derive

    f = parse(args.expr)
    wrt = _symbols_from(args.wrt, [f])
    names = {s.name: s for s in wrt}
    at = _assignments(args.at, "--at")
    unknown = sorted(set(at) - set(names))
    if unknown:
        raise CLIError(f"--at names {', '.join(unknown)}, which is not a variable of the formula")
    missing = [s.name for s in wrt if s.name not in at]
    if missing:
        raise CLIError(f"--at gives no value for {', '.join(missing)}")
    point = [parse(at[s.name], f"--at value of {s.name}") for s in wrt]
    poly = derive.taylor(f, wrt, point, order=args.order)
    _emit(args, f"Taylor polynomial of order {args.order} of {f} about {dict(zip(wrt, point))}",
          {"taylor": poly})


def _constraints(texts, option):
    out = []
    for text in texts or ():
        for part in filter(None, (p.strip() for p in text.split(";"))):
            out.append(parse(part, f"{option} constraint"))
    return out


def cmd_kkt(args):
    import derive

    f = parse(args.expr)
    eq, ineq = _constraints(args.eq, "--eq"), _constraints(args.ineq, "--ineq")
    wrt = _symbols_from(args.wrt, [f, *eq, *ineq])
    system = derive.kkt(f, wrt, eq=eq, ineq=ineq)
    items = {name: list(getattr(system, name)) for name in
             ("stationarity", "primal_feasibility", "dual_feasibility", "complementary_slackness")}
    points = system.solve()
    items["points"] = [{"x": p.x, "lam": p.lam, "mu": p.mu, "exact": getattr(p, "exact", True)}
                       for p in points]
    if args.json or args.latex:
        _emit(args, None, items)
        return
    print(f"KKT conditions for: minimize {f}" + (f"  s.t. {eq} = 0" if eq else "") +
          (f"  {ineq} <= 0" if ineq else ""))
    for name in ("stationarity", "primal_feasibility", "dual_feasibility", "complementary_slackness"):
        print(f"  {name.replace('_', ' ')}:")
        for cond in items[name]:
            print(f"    {cond}")
    print(f"KKT points ({len(points)}):")
    for p in items["points"]:
        tag = "" if p["exact"] else "  [numerical]"
        print(f"  x = {p['x']}  lam = {p['lam']}  mu = {p['mu']}{tag}")


def cmd_critical(args):
    import derive

    f = parse(args.expr)
    wrt = _symbols_from(args.wrt, [f])
    points = derive.critical_points(f, wrt)
    rows = [{"point": p.point, "kind": p.kind, "eigenvalues": list(p.eigenvalues)} for p in points]
    if args.json or args.latex:
        _emit(args, None, {"critical_points": rows})
        return
    print(f"critical points of {f} ({len(rows)}):")
    for r in rows:
        print(f"  {r['point']}: {r['kind']}  (Hessian eigenvalues {r['eigenvalues']})")


def cmd_explain(args):
    import derive

    f = parse(args.expr)
    wrt = _symbols_from(args.wrt, [f])
    if len(wrt) != 1:
        raise CLIError(f"explain differentiates with respect to one variable; give --wrt (one of "
                       f"{', '.join(s.name for s in wrt)})")
    result = derive.explain(f, wrt=wrt[0])
    if args.json:
        _emit(args, None, {"steps": [str(s) for s in result.steps], "result": result.result})
    elif args.latex:
        _emit(args, None, {"result": result.result})
    else:
        print(result)


def _compile(args, f, wrt):
    import codegen

    params = _symbols_from(args.params, [f]) if getattr(args, "params", None) else ()
    return codegen.compile(f, wrt, params=params)


def cmd_compile(args):
    import codegen

    f = parse(args.expr)
    wrt = _symbols_from(args.wrt, [f])
    compiled = _compile(args, f, wrt)
    codegen.export(compiled, args.output)
    print(f"wrote {args.output}: value, grad, value_and_grad, hess, hessp for {f} "
          f"in {', '.join(s.name for s in wrt)} (needs only numpy and numba)")


def cmd_solve(args):
    import numpy as np

    import solvers

    f = parse(args.expr)
    wrt = _symbols_from(args.wrt, [f])
    x0 = _floats(args.x0, "--x0") if args.x0 else [0.0] * len(wrt)
    if len(x0) != len(wrt):
        raise CLIError(f"--x0 has {len(x0)} values but there are {len(wrt)} variables "
                       f"({', '.join(s.name for s in wrt)})")
    options = {}
    if args.lr is not None:
        options["lr"] = args.lr
    compiled = _compile(args, f, wrt)
    path = [np.array(x0, dtype=float)]
    # Recording the path needs a callback, which runs the solver's Python loop: only for plots.
    record = (lambda xk: path.append(np.array(xk, dtype=float))) if args.plot and len(wrt) == 2 else None
    result = solvers.minimize(compiled, np.array(x0), method=args.method, tol=args.tol,
                              maxiter=args.maxiter, options=options or None, history=True,
                              callback=record)
    if args.json:
        _emit(args, None, {"x": dict(zip([s.name for s in wrt], result.x.tolist())), "fun": result.fun,
                           "success": result.success, "status": str(result.status),
                           "message": result.message, "nit": result.nit, "nfev": result.nfev,
                           "ngev": result.ngev})
    else:
        _print_iteration_log(result)
        print(result)
    if args.plot:
        _plot_solve(args.plot, compiled, result, wrt, path if record else None)
    return EXIT_OK if result.success else EXIT_FAILED


def _print_iteration_log(result):
    history = getattr(result, "history", None)
    if not history:
        return
    fun, gnorm = history["fun"], history["grad_norm"]
    step = max(1, len(fun) // 20)
    print(f"{'iter':>6}  {'f(x)':>14}  {'|grad|':>11}")
    for k in list(range(0, len(fun), step)) + ([len(fun) - 1] if (len(fun) - 1) % step else []):
        print(f"{k:>6}  {fun[k]:>14.6e}  {gnorm[k]:>11.3e}")


def _plot_solve(out, compiled, result, wrt, path=None):
    try:
        import matplotlib
    except ImportError:
        raise CLIError("--plot needs matplotlib: pip install 'derive-toolkit[plot]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    history = result.history
    two_d = path is not None and len(path) > 1
    fig, axes = plt.subplots(1, 2 if two_d else 1, figsize=(11 if two_d else 6, 4.5))
    axes = np.atleast_1d(axes)
    fun = np.asarray(history["fun"], dtype=float)
    axes[0].semilogy(np.maximum(fun - fun.min(), 1e-300) + 1e-16, label="f(x_k) - min f")
    axes[0].semilogy(history["grad_norm"], label="|grad f(x_k)|")
    axes[0].set_xlabel("iteration")
    axes[0].legend()
    if two_d:
        path_xy = np.asarray(path)
        lo, hi = path_xy.min(axis=0), path_xy.max(axis=0)
        pad = 0.25 * np.maximum(hi - lo, 1.0)
        gx, gy = np.meshgrid(np.linspace(lo[0] - pad[0], hi[0] + pad[0], 200),
                             np.linspace(lo[1] - pad[1], hi[1] + pad[1], 200))
        z = np.array([[compiled.value(np.array([a, b])) for a, b in zip(ra, rb)] for ra, rb in zip(gx, gy)])
        axes[1].contour(gx, gy, np.log1p(z - z.min()), levels=30, cmap="viridis")
        axes[1].plot(path_xy[:, 0], path_xy[:, 1], "r.-", ms=3)
        axes[1].set_xlabel(wrt[0].name)
        axes[1].set_ylabel(wrt[1].name)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print(f"saved {out}")


def cmd_svm(args):
    import numpy as np

    try:
        from sklearn import datasets
        from sklearn.model_selection import train_test_split
        from sklearn.preprocessing import StandardScaler
    except ImportError:
        raise CLIError("derive svm uses scikit-learn's bundled data sets: "
                       "pip install 'derive-toolkit[sklearn]'") from None
    from solvers.svm import SVC

    loaders = {"breast_cancer": datasets.load_breast_cancer, "digits": datasets.load_digits,
               "iris": datasets.load_iris, "wine": datasets.load_wine,
               "moons": lambda: datasets.make_moons(n_samples=400, noise=0.2, random_state=0)}
    data = loaders[args.dataset]()
    X, y = (data.data, data.target) if hasattr(data, "data") else data
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    scaler = StandardScaler().fit(X_train)
    gamma = args.gamma if args.gamma in ("scale", "auto") else float(args.gamma)
    model = SVC(C=args.C, kernel=args.kernel, gamma=gamma, tol=args.tol)
    model.fit(scaler.transform(X_train), y_train)
    items = {"dataset": args.dataset, "n_train": len(y_train), "n_test": len(y_test),
             "kernel": args.kernel, "C": args.C, "n_support": np.asarray(model.n_support_).tolist(),
             "dual_objective": np.asarray(model.dual_objective_).tolist(),
             "train_accuracy": model.score(scaler.transform(X_train), y_train),
             "test_accuracy": model.score(scaler.transform(X_test), y_test)}
    _emit(args, f"SVC on {args.dataset}", items)


def cmd_demo(args):
    from .demo import run

    run()


# --------------------------------------------------------------------------- parser
def build_parser():
    parser = argparse.ArgumentParser(prog="derive", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"derive-toolkit {__version__}")
    fmt = argparse.ArgumentParser(add_help=False)
    group = fmt.add_mutually_exclusive_group()
    group.add_argument("--latex", action="store_true", help="print LaTeX")
    group.add_argument("--json", action="store_true", help="print machine-readable JSON (stable keys)")
    wrt = argparse.ArgumentParser(add_help=False)
    wrt.add_argument("--wrt", help="variables in order, comma separated (default: all, by name)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name, func, help, parents=(fmt, wrt)):
        p = sub.add_parser(name, help=help, description=help, parents=list(parents))
        p.set_defaults(func=func)
        return p

    add("grad", cmd_grad, "gradient of a formula").add_argument("expr")
    add("hessian", cmd_hessian, "Hessian of a formula").add_argument("expr")
    add("jacobian", cmd_jacobian, "Jacobian of several formulas").add_argument("exprs", nargs="+")
    p = add("taylor", cmd_taylor, "multivariate Taylor polynomial about a point")
    p.add_argument("expr")
    p.add_argument("--at", required=True, help="the point, e.g. x=1,y=2")
    p.add_argument("--order", type=int, default=2)
    p = add("kkt", cmd_kkt, "KKT conditions and points of: minimize f s.t. eq = 0, ineq <= 0")
    p.add_argument("expr")
    p.add_argument("--eq", action="append", help="equality constraint g(x) (= 0); repeat or separate with ';'")
    p.add_argument("--ineq", action="append", help="inequality constraint h(x) (<= 0); repeat or separate with ';'")
    add("critical", cmd_critical, "critical points and their kind (minimum/maximum/saddle)").add_argument("expr")
    add("explain", cmd_explain, "step-by-step chain rule for a composed formula").add_argument("expr")
    p = add("compile", cmd_compile, "write a standalone Numba kernel module", parents=(wrt,))
    p.add_argument("expr")
    p.add_argument("-o", "--output", required=True, help="path of the .py module to write")
    p.add_argument("--params", help="symbols passed as a parameter array at call time")
    p = add("solve", cmd_solve, "minimize a formula with a compiled solver")
    p.add_argument("expr")
    p.add_argument("--x0", help="starting point, comma separated (default: zeros)")
    p.add_argument("--method", default="lbfgs",
                   choices=["newton", "newton-tr", "lbfgs", "bfgs", "gd", "momentum", "nesterov",
                            "adagrad", "rmsprop", "adam", "adamw"])
    p.add_argument("--tol", type=float, default=1e-8)
    p.add_argument("--maxiter", type=int, default=1000)
    p.add_argument("--lr", type=float, help="learning rate (gradient-descent family)")
    p.add_argument("--plot", help="save the convergence curve (and the path, in 2-D) as PNG")
    p = add("svm", cmd_svm, "train the compiled SVM on a scikit-learn data set", parents=(fmt,))
    p.add_argument("--dataset", default="breast_cancer",
                   choices=["breast_cancer", "digits", "iris", "wine", "moons"])
    p.add_argument("--kernel", default="rbf", choices=["linear", "poly", "rbf", "sigmoid"])
    p.add_argument("--C", type=float, default=1.0)
    p.add_argument("--gamma", default="scale")
    p.add_argument("--tol", type=float, default=1e-3)
    add("demo", cmd_demo, "a short tour: derive, compile, solve, SVM", parents=())
    return parser


# Options whose values may start with "-" (a negative number): argparse would read
# "--x0 -1.2,1" as two options, so such values are glued on as "--x0=-1.2,1".
_NUMERIC_OPTIONS = ("--x0", "--at")


def _glue_negative_values(argv):
    out, i = [], 0
    while i < len(argv):
        if argv[i] in _NUMERIC_OPTIONS and i + 1 < len(argv) and argv[i + 1].startswith("-"):
            out.append(f"{argv[i]}={argv[i + 1]}")
            i += 2
        else:
            out.append(argv[i])
            i += 1
    return out


def main(argv=None):
    """Run the CLI; returns the exit code (0 ok, 1 the computation failed, 2 bad input)."""
    parser = build_parser()
    args = parser.parse_args(_glue_negative_values(sys.argv[1:] if argv is None else list(argv)))
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_OK
    for flag in ("json", "latex"):
        if not hasattr(args, flag):
            setattr(args, flag, False)
    try:
        code = args.func(args)
    except CLIError as exc:
        print(f"derive {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (ValueError, TypeError) as exc:
        # Library errors name the symbol/option at fault; one line is enough.
        print(f"derive {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK if code is None else code
