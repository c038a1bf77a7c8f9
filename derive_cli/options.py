"""Option values read from the command line: variable names, assignments, numbers, constraints.

Every value is read by :func:`derive.parse_formula` (never run as code); a value that is
not what the option expects raises :class:`~derive_cli.errors.CLIError` naming the option.
"""
import keyword
import sys

import sympy as sp
from derive import parse_formula

from .errors import CLIError


def names(text, option):
    """'x, y' -> ['x', 'y'], each a valid variable name, none twice.

    >>> names("x, y,", "--wrt")
    ['x', 'y']
    """
    out = [s.strip() for s in text.split(",") if s.strip()]
    if not out:
        raise CLIError(f"{option} is empty: give variable names like {option} x,y")
    for name in out:
        if not name.isidentifier() or keyword.iskeyword(name) or name.startswith("__"):
            raise CLIError(f"{option} entry {name!r} is not a variable name; give names separated "
                           f"by commas, like {option} x,y")
    if len(set(out)) != len(out):
        raise CLIError(f"{option} names a variable twice: {text!r}")
    return out


def symbols_from(text, exprs, option="--wrt", exclude=()):
    """The symbols ``text`` names, or all free symbols of ``exprs`` but ``exclude``, by name.

    A --wrt name absent from ``exprs`` is a variable the formula does not depend on
    (``derive grad "x**2" --wrt x,y``: the y partial is 0), so it gets a note on stderr;
    a --params name must occur, since an unused parameter slot is a mistake.

    >>> x, y = sp.symbols("x y")
    >>> symbols_from(None, [x * y]), symbols_from("y,x", [x * y])
    ([x, y], [y, x])
    """
    known = {s.name: s for e in exprs for s in e.free_symbols}
    if not text:
        free = sorted((s for s in known.values() if s not in set(exclude)), key=lambda s: s.name)
        if not free:
            raise CLIError("the formula has no variables to differentiate with respect to")
        return free
    wanted = names(text, option)
    unknown = [n for n in wanted if n not in known]
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
    return [known[n] if n in known else sp.Symbol(n) for n in wanted]


def variables_and_params(wrt_text, params_text, f):
    """--wrt and --params: disjoint; the default variables are the symbols that are not params.

    >>> a, x = sp.symbols("a x")
    >>> variables_and_params(None, "a", a * x**2)
    ([x], [a])
    """
    params = symbols_from(params_text, [f], "--params") if params_text else []
    wrt = symbols_from(wrt_text, [f], exclude=params)
    both = [s.name for s in wrt if s in set(params)]
    if both:
        raise CLIError(f"{', '.join(both)} is both in --wrt and in --params: a symbol is either a "
                       "variable or a parameter")
    return wrt, params


def assignments(text, option):
    """'x=1,y=2' -> {'x': '1', 'y': '2'} (the values still text).

    >>> assignments("x=1, y=-2", "--at")
    {'x': '1', 'y': '-2'}
    """
    out = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        if "=" not in part:
            raise CLIError(f"{option} expects name=value pairs like x=1,y=2; got {part!r}")
        name, value = (s.strip() for s in part.split("=", 1))
        names(name, option)
        out[name] = value
    return out


def floats(text, option):
    """'-1.2, pi/4' -> [-1.2, 0.785...]: finite numbers or constant formulas, comma separated.

    >>> floats("-1.2, pi/4", "--x0")
    [-1.2, 0.785...]
    """
    out = []
    for part in text.split(","):
        if not part.strip():
            continue
        value = parse_formula(part, what=f"{option} value", relations=False)
        if value.free_symbols or not value.is_number or not value.is_extended_real:
            raise CLIError(f"{option} expects numbers separated by commas; got {part.strip()!r} in {text!r}")
        number = float(value)
        if number != number or number in (float("inf"), float("-inf")):
            raise CLIError(f"{option} value {part.strip()!r} is not a finite number")
        out.append(number)
    return out


def positive(value, option, alternatives=""):
    """``value`` as a positive finite float, else a CLIError naming ``option``.

    >>> positive("0.5", "--C")
    0.5
    """
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not 0 < number < float("inf"):
        raise CLIError(f"{option} must be {alternatives}a positive number, got {value!r}")
    return number


def constraints(texts, option):
    """Repeated --eq/--ineq values, each possibly 'g1; g2', as formulas.

    >>> constraints(["x - 1; y", "-x"], "--ineq")
    [x - 1, y, -x]
    """
    out = []
    for text in texts or ():
        for part in filter(None, (p.strip() for p in text.split(";"))):
            out.append(parse_formula(part, what=f"{option} constraint", relations=False))
    return out
