"""derive: derivatives, Taylor models, KKT systems, compiled kernels and solvers from the shell.

Formulas are read as formulas, never run as code (derive.parse_formula): numbers,
variables, + - * / ** ^ and calls of known math and derive.ml functions. So the
command line is safe on formulas from anyone. Variables are real-valued; --wrt
sets their order (default: the free symbols sorted by name). A value that starts
with "-" (--ineq "-x", --x0 -1.2,1, a formula "-x**2") is a value, not an option;
--ineq=-x works too.

exit codes: 0 ok, 1 the computation failed (no convergence, out of time),
2 bad input (one line on stderr), 3 internal error (a bug: please report it;
DERIVE_DEBUG=1 shows the traceback), 141 the output pipe was closed.

examples:
  derive grad "x**2*y + sin(y)" --wrt x,y
  derive hessian "(1-x)**2 + 100*(y-x**2)**2"
  derive taylor "exp(x)*cos(y)" --at x=0,y=0 --order 3
  derive kkt "x**2 + y**2" --eq "x + y - 1" --ineq "-x"
  derive solve "(1-x)**2 + 100*(y-x**2)**2" --x0 -1.2,1 --method newton
"""
import argparse
import importlib
import json
import keyword
import os
import re
import sys
import traceback

import sympy as sp

import derive

from ._validate import InputError
from ._version import __version__
from .formula import FormulaError, parse_formula

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3
EXIT_BROKEN_PIPE = 128 + 13  # what a shell reports for a tool ended by SIGPIPE (`yes | head`)


class CLIError(Exception):
    """A problem with the user's input, reported as one line (exit code 2)."""


# --------------------------------------------------------------------------- parsing
def parse(text, what="formula"):
    """Read one formula (never run it); names become plain Symbols."""
    return parse_formula(text, what=what)


def _names(text, option):
    """'x, y' -> ['x', 'y'], each a valid variable name."""
    names = [s.strip() for s in text.split(",") if s.strip()]
    if not names:
        raise CLIError(f"{option} is empty: give variable names like {option} x,y")
    for name in names:
        if not name.isidentifier() or keyword.iskeyword(name) or name.startswith("__"):
            raise CLIError(f"{option} entry {name!r} is not a variable name; give names separated "
                           f"by commas, like {option} x,y")
    if len(set(names)) != len(names):
        raise CLIError(f"{option} names a variable twice: {text!r}")
    return names


def _symbols_from(text, exprs, option="--wrt", exclude=()):
    """The symbols ``text`` names, or all free symbols of ``exprs`` but ``exclude``.

    A --wrt name absent from ``exprs`` is a variable the formula does not depend on
    (``derive grad "x**2" --wrt x,y``: the y partial is 0), so it gets a note on stderr;
    a --params name must occur, since an unused parameter slot is a mistake.
    """
    known = {s.name: s for e in exprs for s in e.free_symbols}
    if text:
        names = _names(text, option)
        unknown = [n for n in names if n not in known]
        if unknown and option != "--wrt":
            which = "is not a variable" if len(unknown) == 1 else "are not variables"
            has = ", ".join(sorted(known)) if known else "none"
            raise CLIError(f"{option} names {', '.join(unknown)}, which {which} of the formula "
                           f"(its variables: {has})")
        if unknown:
            one = len(unknown) == 1
            print(f"note: {', '.join(unknown)} {'does' if one else 'do'} not appear in the formula; "
                  f"{'its derivative is' if one else 'their derivatives are'} 0", file=sys.stderr)
        # parse_formula makes plain Symbols, so a new plain Symbol is the same kind of variable
        return [known[n] if n in known else sp.Symbol(n) for n in names]
    free = sorted((s for s in known.values() if s not in set(exclude)), key=lambda s: s.name)
    if not free:
        raise CLIError("the formula has no variables to differentiate with respect to")
    return free


def _assignments(text, option):
    """'x=1,y=2' -> {'x': '1', 'y': '2'}"""
    out = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        if "=" not in part:
            raise CLIError(f"{option} expects name=value pairs like x=1,y=2; got {part!r}")
        name, value = (s.strip() for s in part.split("=", 1))
        _names(name, option)
        out[name] = value
    return out


def _floats(text, option):
    """'-1.2, pi/4' -> [-1.2, 0.785...]: numbers or constant formulas, comma separated."""
    out = []
    for part in text.split(","):
        if not part.strip():
            continue
        value = parse_formula(part, what=f"{option} value")
        if value.free_symbols or not value.is_number or not value.is_extended_real:
            raise CLIError(f"{option} expects numbers separated by commas; got {part.strip()!r} in {text!r}")
        number = float(value)
        if number != number or number in (float("inf"), float("-inf")):
            raise CLIError(f"{option} value {part.strip()!r} is not a finite number")
        out.append(number)
    return out


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
    for s, value in zip(wrt, point):
        if value.free_symbols:
            raise CLIError(f"--at value of {s.name} is {value}; give a number")
    if args.order < 0:
        raise CLIError(f"--order must be >= 0, got {args.order}")
    max_order = getattr(importlib.import_module("derive.taylor"), "MAX_ORDER", None)
    if max_order is not None and args.order > max_order:
        raise CLIError(f"--order {args.order} is above the limit of {max_order}")
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
    if args.json or args.latex:
        # one_sided: (left, right) derivatives at a kink ("non-differentiable"), else null
        rows = [{"point": p.point, "kind": p.kind, "eigenvalues": list(p.eigenvalues),
                 "one_sided": None if p.one_sided is None else list(p.one_sided), "exact": p.exact}
                for p in points]
        _emit(args, None, {"critical_points": rows})
        return
    print(f"critical points of {f} ({len(points)}):")
    for p in points:
        print(f"  {p}")  # CriticalPoint says which evidence it has: eigenvalues or one-sided slopes


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


def _variables_and_params(args, f):
    """--wrt and --params: disjoint; the default variables are the symbols that are not params."""
    params = _symbols_from(args.params, [f], "--params") if getattr(args, "params", None) else []
    wrt = _symbols_from(args.wrt, [f], exclude=params)
    both = [s.name for s in wrt if s in set(params)]
    if both:
        raise CLIError(f"{', '.join(both)} is both in --wrt and in --params: a symbol is either a "
                       "variable or a parameter")
    return wrt, params


def _compile(f, wrt, params=()):
    import codegen

    return codegen.compile(f, wrt, params=params)


def cmd_compile(args):
    import codegen

    f = parse(args.expr)
    wrt, params = _variables_and_params(args, f)
    compiled = _compile(f, wrt, params)
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
    compiled = _compile(f, wrt)
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
    gamma = args.gamma if args.gamma in ("scale", "auto") else _positive(args.gamma, "--gamma", "scale, auto or ")
    _positive(args.C, "--C")
    _positive(args.tol, "--tol")
    model = SVC(C=args.C, kernel=args.kernel, gamma=gamma, tol=args.tol)
    model.fit(scaler.transform(X_train), y_train)
    items = {"dataset": args.dataset, "n_train": len(y_train), "n_test": len(y_test),
             "kernel": args.kernel, "C": args.C, "n_support": np.asarray(model.n_support_).tolist(),
             "dual_objective": np.asarray(model.dual_objective_).tolist(),
             "train_accuracy": model.score(scaler.transform(X_train), y_train),
             "test_accuracy": model.score(scaler.transform(X_test), y_test)}
    _emit(args, f"SVC on {args.dataset}", items)


def _positive(value, option, alternatives=""):
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not 0 < number < float("inf"):
        raise CLIError(f"{option} must be {alternatives}a positive number, got {value!r}")
    return number


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
    p.add_argument("--eq", action="append",
                   help="equality constraint g(x) (= 0); repeat or separate with ';' (--eq \"-x\" works)")
    p.add_argument("--ineq", action="append",
                   help="inequality constraint h(x) (<= 0); repeat or separate with ';' (--ineq \"-x\" works)")
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
    parser.commands = sub.choices
    return parser


def _values_stay_values(parser, argv):
    """Rewrite ``argv`` so that argparse reads values starting with "-" as values.

    argparse takes any word starting with "-" for an option unless it looks like a
    plain negative number, so ``--ineq "-x"``, ``--x0 -1.2,1`` and the formula
    ``"-x**2"`` fail. Here the subcommand's own option table decides: the word after
    an option that takes a value is glued to it (``--ineq=-x``), and every other word
    that is not one of the subcommand's options is a positional, passed after "--".
    """
    argv = list(argv)
    at = next((i for i, word in enumerate(argv) if word in parser.commands), None)
    if at is None:
        return argv
    # argparse's table of option string -> action; nargs == 0 for flags like --json
    options = parser.commands[argv[at]]._option_string_actions
    words, options_out, positionals = argv[at + 1:], [], []
    i = 0
    while i < len(words):
        word = words[i]
        if word == "--":
            positionals.extend(words[i + 1:])
            break
        name = word.split("=", 1)[0] if word.startswith("--") else word
        if name.startswith("--") and name not in options:
            matches = [o for o in options if o.startswith(name)]  # argparse's abbreviations
            name = matches[0] if len(matches) == 1 else name
        action = options.get(name)
        if action is None:
            # "--jsn" is a mistyped option (argparse names it); "-x**2" is a formula.
            (options_out if word.startswith("--") else positionals).append(word)
            i += 1
        elif action.nargs == 0 or "=" in word or i + 1 == len(words) or words[i + 1] in options:
            options_out.append(word)
            i += 1
        else:
            value = words[i + 1]
            options_out.append(f"{word}={value}" if word.startswith("--") else f"{word}{value}")
            i += 2
    return argv[:at + 1] + options_out + (["--", *positionals] if positionals else [])


def _one_line(exc):
    return re.sub(r"\s*\n\s*", " ", str(exc)).strip() or type(exc).__name__


def _derive_error(name, module):
    # derive exports these (issue 10); until that lands they live in their modules.
    # TODO(issue 10): plain derive.<name> once derive's __init__ exports them.
    return getattr(derive, name, None) or getattr(importlib.import_module(module), name)


NotSmoothError = _derive_error("NotSmoothError", "derive.smoothness")
NotRealError = _derive_error("NotRealError", "derive.smoothness")
DeadlineExceeded = _derive_error("DeadlineExceeded", "derive.deadline")

# Exceptions the packages document as "your input is wrong" (each names the argument at
# fault). codegen and solvers are imported lazily, so their types are looked up only if
# loaded: an exception of theirs cannot exist otherwise.
_LAZY_INPUT_ERRORS = (("codegen", "CodegenError"), ("solvers", "ObjectiveError"),
                      ("solvers", "OptionError"))


def _is_input_error(exc):
    if isinstance(exc, (CLIError, FormulaError, InputError, NotSmoothError, NotRealError)):
        return True
    for module, name in _LAZY_INPUT_ERRORS:
        cls = getattr(sys.modules.get(module), name, None)
        if cls is not None and isinstance(exc, cls):
            return True
    return False


def _quiet_broken_pipe():
    # The reader went away (`derive ... | head`): send what is still buffered to
    # /dev/null so that the interpreter's final flush does not complain either.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout is not a real file (tests, IDEs)
        pass
    return EXIT_BROKEN_PIPE


def main(argv=None):
    """Run the CLI; returns the exit code (see the module docstring)."""
    parser = build_parser()
    command = ""
    try:
        args = parser.parse_args(_values_stay_values(parser, sys.argv[1:] if argv is None else argv))
        if not getattr(args, "func", None):
            parser.print_help()
            return EXIT_OK
        command = args.command
        for flag in ("json", "latex"):
            if not hasattr(args, flag):
                setattr(args, flag, False)
        code = args.func(args)
        sys.stdout.flush()
    except BrokenPipeError:
        return _quiet_broken_pipe()
    except KeyboardInterrupt:
        print(f"derive {command}: interrupted", file=sys.stderr)
        return 128 + 2
    except Exception as exc:  # noqa: BLE001 - every exception ends as one line and an exit code
        return _report(exc, command)
    return EXIT_OK if code is None else code


def _report(exc, command):
    where = f"derive {command}".strip()
    if _is_input_error(exc):
        print(f"{where}: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    if isinstance(exc, DeadlineExceeded):  # a time limit the user can raise: the run failed
        print(f"{where}: {_one_line(exc)}", file=sys.stderr)
        return EXIT_FAILED
    if os.environ.get("DERIVE_DEBUG"):
        traceback.print_exc()
    else:
        print(f"{where}: internal error: {type(exc).__name__}: {_one_line(exc)} -- this is a bug in "
              f"derive-toolkit {__version__}; please report it with the command line "
              "(DERIVE_DEBUG=1 shows the traceback)", file=sys.stderr)
    return EXIT_INTERNAL
