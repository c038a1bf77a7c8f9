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
  derive hessian "abs(x) + x**2" --dirac drop   (derivatives of kinks: almost everywhere)
  derive taylor "exp(x)*cos(y)" --at x=0,y=0 --order 3
  derive kkt "x**2 + y**2" --eq "x + y - 1" --ineq "-x"
  derive solve "(1-x)**2 + 100*(y-x**2)**2" --x0 -1.2,1 --method newton
"""
import argparse
import sys
import warnings

import derive

from . import commands
from .errors import EXIT_INTERRUPTED, EXIT_OK, quiet_broken_pipe, report

METHODS = ["newton", "newton-tr", "lbfgs", "bfgs", "gd", "momentum", "nesterov", "adagrad",
           "rmsprop", "adam", "adamw"]


def build_parser():
    """The argparse parser of every subcommand (``parser.commands``: name -> subparser)."""
    parser = argparse.ArgumentParser(prog="derive", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"derive-toolkit {derive.__version__}")
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

    dirac = argparse.ArgumentParser(add_help=False)
    dirac.add_argument("--dirac", choices=["keep", "drop"], default="keep",
                       help="DiracDelta terms (derivatives of Abs, Max, steps at their kinks; compiled "
                            "code evaluates them as 0): keep (show) or drop them")
    derivs = (fmt, wrt, dirac)
    add("grad", commands.cmd_grad, "gradient of a formula", derivs).add_argument("expr")
    add("hessian", commands.cmd_hessian, "Hessian of a formula", derivs).add_argument("expr")
    add("jacobian", commands.cmd_jacobian, "Jacobian of several formulas", derivs).add_argument("exprs", nargs="+")
    p = add("taylor", commands.cmd_taylor, "multivariate Taylor polynomial about a point", derivs)
    p.add_argument("expr")
    p.add_argument("--at", required=True, help="the point, e.g. x=1,y=2")
    p.add_argument("--order", type=int, default=2)
    p = add("kkt", commands.cmd_kkt, "KKT conditions and points of: minimize f s.t. eq = 0, ineq <= 0")
    p.add_argument("expr")
    p.add_argument("--eq", action="append",
                   help="equality constraint g(x) (= 0); repeat or separate with ';' (--eq \"-x\" works)")
    p.add_argument("--ineq", action="append",
                   help="inequality constraint h(x) (<= 0); repeat or separate with ';' (--ineq \"-x\" works)")
    add("critical", commands.cmd_critical,
        "critical points and their kind (minimum/maximum/saddle)").add_argument("expr")
    add("explain", commands.cmd_explain,
        "step-by-step chain rule for a composed formula").add_argument("expr")
    p = add("compile", commands.cmd_compile, "write a standalone Numba kernel module", parents=(wrt,))
    p.add_argument("expr")
    p.add_argument("-o", "--output", required=True, help="path of the .py module to write")
    p.add_argument("--params", help="symbols passed as a parameter array at call time")
    p = add("solve", commands.cmd_solve, "minimize a formula with a compiled solver")
    p.add_argument("expr")
    p.add_argument("--x0", help="starting point, comma separated (default: zeros)")
    p.add_argument("--method", default="lbfgs", choices=METHODS)
    p.add_argument("--tol", type=float, default=1e-8)
    p.add_argument("--maxiter", type=int, default=1000)
    p.add_argument("--lr", type=float, help="learning rate (gradient-descent family)")
    p.add_argument("--plot", help="save the convergence curve (and the path, in 2-D) as PNG")
    p = add("svm", commands.cmd_svm, "train the compiled SVM on a scikit-learn data set", parents=(fmt,))
    p.add_argument("--dataset", default="breast_cancer",
                   choices=["breast_cancer", "digits", "iris", "wine", "moons"])
    p.add_argument("--kernel", default="rbf", choices=["linear", "poly", "rbf", "sigmoid"])
    p.add_argument("--C", type=float, default=1.0)
    p.add_argument("--gamma", default="scale")
    p.add_argument("--tol", type=float, default=1e-3)
    add("demo", commands.cmd_demo, "a short tour: derive, compile, solve, SVM", parents=())
    parser.commands = sub.choices
    return parser


def values_stay_values(parser, argv):
    """Rewrite ``argv`` so that argparse reads values starting with "-" as values.

    argparse takes any word starting with "-" for an option unless it looks like a
    plain negative number, so ``--ineq "-x"``, ``--x0 -1.2,1`` and the formula
    ``"-x**2"`` fail. Here the subcommand's own option table decides: the word after
    an option that takes a value is glued to it (``--ineq=-x``), and every other word
    that is not one of the subcommand's options is a positional, passed after "--".

    >>> values_stay_values(build_parser(), ["kkt", "-x", "--ineq", "-x", "--json"])
    ['kkt', '--ineq=-x', '--json', '--', '-x']
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


def _parse(parser, argv):
    """The parsed arguments, or the exit code argparse chose (--help, --version, a usage error)."""
    try:
        return parser.parse_args(values_stay_values(parser, argv))
    except SystemExit as done:  # argparse has printed the help, the version or the usage error
        return done.code if isinstance(done.code, int) else EXIT_USAGE


def _warnings_as_one_line(command):
    """Library warnings as one line each (no source line), like the errors."""
    def show(message, category, filename, lineno, file=None, line=None):
        print(f"derive {command}: warning: {message}", file=sys.stderr if file is None else file)

    warnings.showwarning = show


def main(argv=None):
    """Run the CLI on ``argv`` (default: ``sys.argv[1:]``); returns the exit code (see above)."""
    parser = build_parser()
    command = ""
    try:
        args = _parse(parser, sys.argv[1:] if argv is None else argv)
        if isinstance(args, int):
            return args
        if not getattr(args, "func", None):
            parser.print_help()
            return EXIT_OK
        command = args.command
        previous = warnings.showwarning
        _warnings_as_one_line(command)
        for flag in ("json", "latex"):
            if not hasattr(args, flag):
                setattr(args, flag, False)
        try:
            code = args.func(args)
            sys.stdout.flush()
        finally:
            warnings.showwarning = previous
    except BrokenPipeError:
        return quiet_broken_pipe()
    except KeyboardInterrupt:
        print(f"derive {command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - every exception ends as one line and an exit code
        return report(exc, command)
    return EXIT_OK if code is None else code
