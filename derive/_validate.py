"""Input checks and the real-variable substitution every derive function shares.

Errors name the argument at fault (``wrt[1]``, ``eq[0]``, the shape of ``f``) so
that a user can fix the call without reading the source.
"""
from collections.abc import Iterable, Mapping

import sympy as sp
from sympy.matrices import MatrixBase


class InputError(ValueError, TypeError):
    """Bad input to a derive function: the message names the argument at fault.

    A ``ValueError`` and a ``TypeError`` both, so ``except ValueError`` and
    ``except TypeError`` written against earlier releases still catch it; the
    command line reports it as one line with exit code 2.
    """


def as_wrt(wrt, name="wrt"):
    """Return ``wrt`` as a tuple of distinct Symbols (a Symbol, a sequence or a vector).

    >>> import sympy as sp
    >>> x, y = sp.symbols("x y")
    >>> as_wrt(x), as_wrt([x, y])
    ((x,), (x, y))
    """
    if isinstance(wrt, sp.Symbol):
        return (wrt,)
    if isinstance(wrt, sp.MatrixSymbol) or (
            isinstance(wrt, (list, tuple)) and any(isinstance(v, sp.MatrixSymbol) for v in wrt)):
        raise InputError(
            f"{name} holds the MatrixSymbol {wrt if isinstance(wrt, sp.MatrixSymbol) else wrt!r}: only "
            "gradient and hessian differentiate w.r.t. MatrixSymbols; here give plain Symbols")
    if isinstance(wrt, MatrixBase):
        items = list(wrt)
    elif isinstance(wrt, (str, bytes)) or not isinstance(wrt, Iterable):
        raise InputError(
            f"{name} must be a sympy Symbol or a sequence of Symbols, got {type(wrt).__name__} {wrt!r}"
        )
    else:
        items = list(wrt)
    if not items:
        raise InputError(f"{name} is empty: give at least one variable (a sympy Symbol)")
    seen = set()
    for i, s in enumerate(items):
        if not isinstance(s, sp.Symbol):
            raise InputError(
                f"{name}[{i}] = {s!r} is not a sympy Symbol ({type(s).__name__}); "
                "differentiate with respect to plain symbols, e.g. sympy.symbols('x y')"
            )
        if s in seen:
            raise InputError(f"{name} lists the variable {s} twice (at index {i})")
        seen.add(s)
    return tuple(items)


def as_expr(f, name="f"):
    """Return ``f`` as a SymPy expression (not a relation, boolean or matrix).

    A string is read by :func:`~derive.formula.parse_formula` (never run as code);
    other values must convert to SymPy without parsing (numbers, SymPy objects).

    >>> as_expr("x**2 + 1")
    x**2 + 1
    >>> as_expr("x.__class__")
    Traceback (most recent call last):
    ...
    derive.formula.FormulaError: attribute access '.__class__' (column 2) is not allowed in f "x.__class__"
    """
    if isinstance(f, MatrixBase):
        raise InputError(f"{name} must be a scalar expression, got a {f.shape[0]}x{f.shape[1]} Matrix")
    if isinstance(f, str):
        # imported here: formula's whitelist holds derive.ml's functions, whose argument
        # checks use this module, so formula cannot be imported while this one loads
        from .formula import parse_formula  # noqa: PLC0415

        return parse_formula(f, what=name, relations=False)
    try:
        e = sp.sympify(f, strict=True)
    except (sp.SympifyError, TypeError) as err:
        raise InputError(f"{name} = {f!r} is not a sympy expression: {err}") from None
    if isinstance(e, MatrixBase) or getattr(e, "is_Matrix", False):
        raise InputError(f"{name} must be a scalar expression, got a {e.shape[0]}x{e.shape[1]} matrix")
    if not isinstance(e, sp.Expr):
        raise InputError(
            f"{name} = {e!r} is a {type(e).__name__}, not a sympy expression"
        )
    return e


def as_scalar(f, name="f"):
    """Return ``f`` as a scalar SymPy expression; a 1x1 Matrix is accepted.

    >>> import sympy as sp
    >>> as_scalar(sp.Matrix([[sp.Symbol("x")]]))
    x
    >>> as_scalar(sp.Matrix([1, 2]))
    Traceback (most recent call last):
    ...
    derive._validate.InputError: f must be a scalar expression, got a 2x1 Matrix
    """
    if isinstance(f, MatrixBase) and f.shape == (1, 1):
        f = f[0, 0]
    return as_expr(f, name)


def as_vector(F, name="F"):
    """Return ``F`` (expression, sequence or vector Matrix) as a list of expressions."""
    if isinstance(F, MatrixBase):
        if 1 not in F.shape:
            raise InputError(f"{name} must be a vector, got a {F.shape[0]}x{F.shape[1]} Matrix")
        items = list(F)
    elif isinstance(F, (str, bytes)) or not isinstance(F, Iterable):
        items = [F]
    else:
        items = list(F)
    return [as_expr(e, f"{name}[{i}]") for i, e in enumerate(items)]


def as_point(at, wrt, name="at"):
    """Return the point ``at`` (a sequence, or a mapping keyed by the symbols) as a tuple."""
    if isinstance(at, Mapping):
        missing = [s for s in wrt if s not in at]
        if missing:
            raise InputError(f"{name} gives no value for {', '.join(map(str, missing))}")
        extra = [k for k in at if k not in wrt]
        if extra:
            raise InputError(f"{name} names {', '.join(map(str, extra))}, which are not in wrt = {list(wrt)}")
        vals = [at[s] for s in wrt]
    else:
        if isinstance(at, MatrixBase):
            vals = list(at)
        elif isinstance(at, Iterable) and not isinstance(at, (str, bytes)):
            vals = list(at)
        else:
            vals = [at]
        if len(vals) != len(wrt):
            raise InputError(f"{name} has {len(vals)} coordinates but wrt has {len(wrt)} variables {list(wrt)}")
    return tuple(as_expr(v, f"{name}[{i}]") for i, v in enumerate(vals))


class RealVars:
    """Substitute real Dummies for every symbol whose realness SymPy does not know.

    ``sympy.symbols("x")`` makes a complex symbol, whose ``diff(Abs(x), x)`` has
    ``re``/``im`` terms. Variables here are real, so derivatives are taken in
    the real Dummies and mapped back with :meth:`back`.

    >>> import sympy as sp
    >>> x = sp.Symbol("x")
    >>> r = RealVars([sp.Abs(x)], (x,))
    >>> r.back(sp.diff(r.fwd(sp.Abs(x)), r.fwd(x)))
    sign(x)
    """

    def __init__(self, exprs, wrt=()):
        syms = set(wrt)
        for e in exprs:
            syms |= getattr(e, "free_symbols", set())
        self.to_real = {}
        for s in sorted(syms, key=str):
            if isinstance(s, sp.Symbol) and s.is_real is None:
                self.to_real[s] = sp.Dummy(s.name, real=True, **_kept_assumptions(s))
        self.from_real = {v: k for k, v in self.to_real.items()}

    def fwd(self, e):
        return _map(e, self.to_real)

    def back(self, e):
        return _map(e, self.from_real)


def _kept_assumptions(s):
    # keep what the user said (e.g. nonzero=True) that is compatible with real=True
    kept = {}
    for key in ("nonzero", "integer", "rational"):
        if s.assumptions0.get(key):
            kept[key] = True
    return kept


def _map(e, mapping):
    if not mapping:
        return e
    if isinstance(e, (list, tuple)):
        return type(e)(_map(v, mapping) for v in e)
    if isinstance(e, dict):
        return {_map(k, mapping): _map(v, mapping) for k, v in e.items()}
    if hasattr(e, "xreplace"):
        return e.xreplace(mapping)
    return e


def depends_on(exprs, wrt):
    """True when any expression has a free symbol in ``wrt``."""
    ws = set(wrt)
    return any(getattr(e, "free_symbols", set()) & ws for e in exprs)


def as_matrix_wrt(wrt, name="wrt"):
    """``(variables, single)`` when ``wrt`` holds a MatrixSymbol, else None (plain Symbols).

    ``wrt`` is a MatrixSymbol (``single``) or a sequence of MatrixSymbols and Symbols.
    Sizes must be positive integers or integer Symbols.

    >>> import sympy as sp
    >>> d = sp.Symbol("d", integer=True, positive=True)
    >>> w, b = sp.MatrixSymbol("w", d, 1), sp.Symbol("b")
    >>> as_matrix_wrt(w), as_matrix_wrt([w, b]), as_matrix_wrt([b])
    (((w,), True), ((w, b), False), None)
    """
    if isinstance(wrt, sp.MatrixSymbol):
        items, single = [wrt], True
    elif isinstance(wrt, (list, tuple)) and any(isinstance(v, sp.MatrixSymbol) for v in wrt):
        items, single = list(wrt), False
    else:
        return None
    seen = set()
    for i, v in enumerate(items):
        at = name if single else f"{name}[{i}]"
        if isinstance(v, sp.MatrixSymbol):
            for dim, what in zip(v.shape, ("rows", "columns")):
                if not (dim.is_integer and dim.is_positive is not False and (dim.is_Integer or dim.is_Symbol)):
                    raise InputError(
                        f"{at} = {v.name} has {what} {dim}: a size must be a positive integer or an "
                        "integer Symbol, e.g. sympy.Symbol('d', integer=True, positive=True)")
        elif not isinstance(v, sp.Symbol):
            raise InputError(f"{at} = {v!r} is not a sympy Symbol or MatrixSymbol ({type(v).__name__})")
        if v in seen:
            raise InputError(f"{name} lists the variable {v} twice (at index {i})")
        seen.add(v)
    return tuple(items), single


def as_matrix_objective(f, name="f"):
    """``f`` as a scalar expression; a 1x1 matrix expression (``w.T*A*w``) is taken at [0, 0].

    >>> import sympy as sp
    >>> w = sp.MatrixSymbol("w", 2, 1)
    >>> as_matrix_objective(w * w.T)
    Traceback (most recent call last):
    ...
    derive._validate.InputError: f must be a scalar expression, got the 2x1 * 1x2 = 2x2 matrix expression w*w.T: index it, e.g. f[0, 0]
    """
    if isinstance(f, sp.MatrixExpr) and not isinstance(f, MatrixBase):
        if f.shape == (1, 1):
            return f[0, 0]
        parts = " * ".join(f"{a.shape[0]}x{a.shape[1]}" for a in f.args
                           if isinstance(f, sp.MatMul) and isinstance(a, sp.MatrixExpr))
        shape = f"{f.shape[0]}x{f.shape[1]}"
        raise InputError(f"{name} must be a scalar expression, got the "
                         f"{parts + ' = ' if parts else ''}{shape} matrix expression {f}: "
                         "index it, e.g. f[0, 0]")
    return as_scalar(f, name)
