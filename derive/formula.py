"""Read a formula from text without running it: a small, closed grammar over Python's ``ast``.

Formulas come from outside (the command line, strings handed to ``derive`` or
``codegen``), so they are data, never code. The text is parsed by
:func:`ast.parse` and the tree is walked node by node: numbers, names,
arithmetic and calls of the functions in :data:`FUNCTIONS` become SymPy objects
directly. Everything else (attribute access, subscripts, lambdas, strings,
keyword arguments, ...) is refused with a :class:`FormulaError` that names the
construct and its column. Nothing is ever ``eval``-ed or ``sympify``-ed.

Names become plain ``sympy.Symbol``s, as ``sympy.symbols`` makes them; derive
treats every variable as real.
"""
import ast
import decimal
import io
import json
import math
import tokenize

import sympy as sp

from . import ml
from ._validate import InputError

__all__ = ["parse_formula", "FormulaError", "FUNCTIONS", "CONSTANTS"]

# Limits that keep hostile text from taking the process down: the length of the
# text, how deeply nodes nest (after flattening chains like a + b + c), and the
# size of exact numbers (9**9**9**9 would take longer than the universe to evaluate).
MAX_LENGTH = 10_000
MAX_DEPTH = 100
MAX_BITS = 1024
_MAX_GAMMA = 10_000
_MAX_EXP10 = 1000
_MAX_FLOAT_EXP = 2**256


class FormulaError(InputError):
    """The text is not a formula this reader accepts; the message names what and where.

    A kind of :class:`~derive.InputError` (so a ValueError, as it always was).
    """


# Functions a formula may call: SymPy's elementary and special functions the
# code generator prints, and derive.ml's scalar functions. The functions of
# derive.ml that take vectors (softmax, log_softmax, cross_entropy) are not
# here: a formula has no vector literals.
FUNCTIONS = {
    **{name: getattr(sp, name) for name in (
        "sin", "cos", "tan", "cot", "sec", "csc", "asin", "acos", "atan", "acot", "asec", "acsc",
        "atan2", "sinh", "cosh", "tanh", "coth", "sech", "csch", "asinh", "acosh", "atanh", "acoth",
        "exp", "log", "sqrt", "cbrt", "Abs", "sign", "Max", "Min", "Heaviside", "floor", "ceiling",
        "erf", "erfc", "gamma", "loggamma")},
    "ln": sp.log,
    "abs": sp.Abs,  # Python's abs() on a SymPy object is Abs: the parser before this one took it
    **{name: getattr(ml, name) for name in (
        "sigmoid", "softplus", "relu", "leaky_relu", "logsumexp", "mse", "binary_cross_entropy",
        "hinge", "huber")},
}

CONSTANTS = {"pi": sp.pi, "E": sp.E, "oo": sp.oo, "I": sp.I}

_COMPARISONS = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}
_RELATIONS = {ast.Lt: sp.Lt, ast.LtE: sp.Le, ast.Gt: sp.Gt, ast.GtE: sp.Ge, ast.Eq: sp.Eq, ast.NotEq: sp.Ne}

# What each refused node is called in an error message.
_REFUSED = {
    ast.Attribute: "attribute access", ast.Subscript: "subscript", ast.Lambda: "lambda",
    ast.ListComp: "list comprehension", ast.SetComp: "set comprehension",
    ast.DictComp: "dict comprehension", ast.GeneratorExp: "generator expression",
    ast.List: "list", ast.Tuple: "tuple", ast.Set: "set", ast.Dict: "dict",
    ast.Starred: "starred argument", ast.JoinedStr: "f-string", ast.FormattedValue: "f-string",
    ast.NamedExpr: "assignment expression ':='", ast.IfExp: "conditional expression 'if else'",
    ast.BoolOp: "boolean operator", ast.Await: "await", ast.Yield: "yield",
    ast.YieldFrom: "yield", ast.Slice: "slice",
}


def _quote(text, limit=80):
    if len(text) > limit:
        text = text[:limit - 3] + "..."
    return json.dumps(text, ensure_ascii=False)


def parse_formula(text, what="formula", symbols=None, relations=True):
    """Parse ``text`` into a SymPy expression without executing any of it.

    Accepted: int and float literals (floats as ``sympy.Float`` of their digits),
    names (``sympy.Symbol``; ``pi``, ``E``, ``oo``, ``I`` are the constants),
    ``+ - * / ** // %`` (``^`` is a power, as on paper), parentheses and calls of
    :data:`FUNCTIONS` with positional arguments.

    what:
        how the text is named in error messages (``"--eq constraint"``, ``"f"``).
    symbols:
        optional mapping name -> Symbol to use instead of a new plain Symbol.
    relations:
        read comparisons (``<``, ``<=``, ``>``, ``>=``, ``==``, ``!=``; a chain ``0 < x < 1`` is
        their ``And``) as SymPy relations; with ``relations=False`` (where an expression is
        needed) a comparison is refused with a message saying so.

    Raises :class:`FormulaError` (a ``ValueError``) naming the refused construct.

    >>> parse_formula("x**2*y + sin(y)")
    x**2*y + sin(y)
    >>> parse_formula("2^10 + 0.5")
    1024.50000000000
    >>> parse_formula("x + y <= 1")
    x + y <= 1
    >>> parse_formula("__import__('os').system('true')")
    Traceback (most recent call last):
    ...
    derive.formula.FormulaError: attribute access '.system' (column 17) is not allowed in formula "__import__('os').system('true')"
    """
    if not isinstance(text, str):
        raise TypeError(f"{what} must be a string, got {type(text).__name__}")
    text = text.strip()
    if len(text) > MAX_LENGTH:
        raise FormulaError(f"{what} is {len(text)} characters long; the limit is {MAX_LENGTH}")
    if not text.strip():
        raise FormulaError(f"{what} is empty: give a formula like \"x**2 + y\"")
    source, carets = _xor_as_power(text)
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        where = f" at column {_original_column(exc.offset - 1, carets) + 1}" if exc.offset else ""
        raise FormulaError(f"cannot parse {what} {_quote(text)}: {exc.msg}{where}") from None
    except (RecursionError, MemoryError, ValueError):
        raise FormulaError(f"cannot parse {what} {_quote(text)}: too long or nested too deeply "
                           "for Python's parser") from None
    reader = _Reader(text, source, carets, what, symbols or {}, relations)
    reader.refuse_first_foreign(tree.body)
    try:
        expr = reader.read(tree.body)
    except FormulaError:
        raise
    except (ArithmeticError, TypeError, ValueError, RecursionError) as exc:
        # SymPy evaluating what was read: 1 % 0, an argument a function rejects, ...
        raise FormulaError(f"cannot evaluate {what} {_quote(text)}: {exc or type(exc).__name__}") from None
    if expr.has(sp.zoo, sp.nan):
        raise FormulaError(f"{what} {_quote(text)} is undefined (a division by zero or 0/0 gives {expr})")
    return expr


class _Reader:
    """Turn one ``ast`` expression into SymPy, refusing anything outside the grammar."""

    def __init__(self, text, source, carets, what, symbols, relations=True):
        self.text, self.source, self.carets = text, source, carets
        self.what, self.symbols, self.relations = what, symbols, relations

    def refuse_first_foreign(self, tree):
        """Name the leftmost construct outside the grammar (``.Path`` before ``.touch``)."""
        foreign = [n for n in ast.walk(tree) if type(n) in _REFUSED or isinstance(n, ast.Attribute)]
        if foreign:
            first = min(foreign, key=_column)
            self.fail(first, _describe(first), column=_column(first))

    def fail(self, node, description, column=None):
        col = getattr(node, "col_offset", None) if column is None else column
        where = f" (column {_original_column(col, self.carets) + 1})" if col is not None else ""
        raise FormulaError(f"{description}{where} is not allowed in {self.what} {_quote(self.text)}")

    def read(self, node, depth=0):
        if depth > MAX_DEPTH:
            raise FormulaError(f"{self.what} {_quote(self.text)} nests more than {MAX_DEPTH} levels deep")
        method = getattr(self, f"read_{type(node).__name__}", None)
        if method is None:
            self.fail(node, _describe(node), column=_column(node))
        value = method(node, depth + 1)
        if value.is_Rational and max(abs(value.p).bit_length(), value.q.bit_length()) > MAX_BITS:
            self.fail(node, f"a number of more than {MAX_BITS} bits")
        return value

    # ------------------------------------------------------------------ leaves
    def read_Constant(self, node, depth):
        value = node.value
        if isinstance(value, bool) or value is None or value is Ellipsis:
            self.fail(node, f"the constant {value!r}")
        if isinstance(value, int):
            self.check_bits(node, value.bit_length())
            return sp.Integer(value)
        if isinstance(value, float):
            # The literal's own digits: Float("0.1") is the decimal 0.1 to 15 digits,
            # as SymPy's parser reads it, not the binary double nearest to it.
            literal = (ast.get_source_segment(self.source, node) or repr(value)).replace("_", "")
            try:
                exponent = decimal.Decimal(literal).adjusted()
            except decimal.DecimalException:
                exponent = math.inf
            if abs(exponent) > _MAX_EXP10:
                # Float("1e999999999") converts through an exact 10**999999999: hours.
                self.fail(node, f"the number {literal} (exponent beyond +-{_MAX_EXP10})")
            return sp.Float(literal)
        if isinstance(value, complex):
            self.fail(node, f"the imaginary literal {ast.get_source_segment(self.source, node)!r} "
                            "(write I for the imaginary unit)")
        kind = {str: "string", bytes: "bytes"}.get(type(value), type(value).__name__)
        self.fail(node, f"{kind} {value!r}")

    def read_Name(self, node, depth):
        name = node.id
        if name.startswith("__"):
            self.fail(node, f"the name '{name}'")
        if name in self.symbols:
            return self.symbols[name]
        if name in CONSTANTS:
            return CONSTANTS[name]
        return sp.Symbol(name)

    # ------------------------------------------------------------------ operators
    def read_UnaryOp(self, node, depth):
        if isinstance(node.op, ast.USub):
            return -self.read(node.operand, depth)
        if isinstance(node.op, ast.UAdd):
            return self.read(node.operand, depth)
        self.fail(node, {ast.Not: "'not'", ast.Invert: "operator '~'"}[type(node.op)])

    def read_BinOp(self, node, depth):
        op = type(node.op)
        if op in (ast.Add, ast.Sub):
            # a + b - c + ... is one left-leaning chain: read it as one Add so that a
            # long sum does not count as deep nesting.
            terms = []
            while isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
                right = self.read(node.right, depth)
                terms.append(right if isinstance(node.op, ast.Add) else -right)
                node = node.left
            terms.append(self.read(node, depth))
            return sp.Add(*reversed(terms))
        if op in (ast.Mult, ast.Div):
            factors = []
            while isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.Div)):
                right = self.read(node.right, depth)
                factors.append(right if isinstance(node.op, ast.Mult) else self.power(right, sp.Integer(-1)))
                node = node.left
            factors.append(self.read(node, depth))
            return sp.Mul(*reversed(factors))
        if op is ast.Pow:
            return self.power(self.read(node.left, depth), self.read(node.right, depth))
        if op is ast.FloorDiv:
            return sp.floor(self.read(node.left, depth) / self.read(node.right, depth))
        if op is ast.Mod:
            return sp.Mod(self.read(node.left, depth), self.read(node.right, depth))
        symbol = {ast.MatMult: "@", ast.BitAnd: "&", ast.BitOr: "|", ast.LShift: "<<",
                  ast.RShift: ">>"}.get(op, op.__name__)
        self.fail(node, f"operator '{symbol}'")

    def power(self, base, exp):
        # An exact power of exact numbers is evaluated on the spot: refuse one whose
        # result would have more than MAX_BITS bits instead of computing it.
        if base.is_Rational and exp.is_Rational and base not in (0, 1, -1):
            if abs(exp) * math.log2(max(abs(base.p), base.q)) > MAX_BITS:
                raise FormulaError(
                    f"the number {base}**{_short(exp)} in {self.what} {_quote(self.text)} is too "
                    f"large to compute exactly (more than {MAX_BITS} bits); write the base as a "
                    f"float (e.g. {base}.0) for an approximate value")
        elif base.is_Float and exp.is_Rational and abs(exp) > _MAX_FLOAT_EXP:
            raise FormulaError(f"the exponent {_short(exp)} in {self.what} {_quote(self.text)} is too large")
        return sp.Pow(base, exp)

    def check_bits(self, node, bits):
        if bits > MAX_BITS:
            self.fail(node, f"an integer of {bits} bits (more than {MAX_BITS})")

    def read_Compare(self, node, depth):
        if self.relations:
            sides = [self.read(node.left, depth)] + [self.read(c, depth) for c in node.comparators]
            parts = [_RELATIONS[type(op)](a, b) for op, a, b in zip(node.ops, sides, sides[1:])]
            return parts[0] if len(parts) == 1 else sp.And(*parts)
        ops = " ".join(_COMPARISONS.get(type(op), type(op).__name__) for op in node.ops)
        raise FormulaError(
            f"comparison '{ops}' (column {_original_column(node.col_offset, self.carets) + 1}) in {self.what} {_quote(self.text)}: "
            "a formula is an expression, not a relation (write a constraint h <= 0 as the expression h)")

    # ------------------------------------------------------------------ calls
    def read_Call(self, node, depth):
        if not isinstance(node.func, ast.Name):
            self.fail(node, "calling something other than a function name")
        name = node.func.id
        if name.startswith("__"):
            self.fail(node.func, f"the name '{name}'")
        func = FUNCTIONS.get(name)
        if func is None:
            near = [k for k in FUNCTIONS if k.lower() == name.lower()]
            hint = f" (did you mean {near[0]}?)" if near else ""
            raise FormulaError(
                f"unknown function '{name}'{hint} (column {_original_column(node.col_offset, self.carets) + 1}) in {self.what} "
                f"{_quote(self.text)}; known functions: {', '.join(sorted(FUNCTIONS, key=str.lower))}")
        if node.keywords:
            kw = node.keywords[0]
            self.fail(kw.value if kw.arg is None else kw,
                      f"keyword argument '{kw.arg}=' of {name}()" if kw.arg else f"'**' argument of {name}()")
        args = [self.read(arg, depth) for arg in node.args]
        if name in ("gamma", "loggamma") and args and args[0].is_Integer and args[0] > _MAX_GAMMA:
            # gamma of an integer is evaluated as a factorial on the spot.
            raise FormulaError(f"{name}({_short(args[0])}) in {self.what} {_quote(self.text)} is too "
                               f"large to compute exactly (limit {name}({_MAX_GAMMA}))")
        try:
            return func(*args)
        except (TypeError, ValueError, ArithmeticError, RecursionError) as exc:
            raise FormulaError(f"{name}() in {self.what} {_quote(self.text)}: {exc}") from None


def _xor_as_power(text):
    """Replace each ``^`` operator token by ``**``, so x^2 + 1 is (x**2) + 1 as on paper.

    Done on tokens, before parsing: as an ``ast`` operator ``^`` binds more loosely
    than ``+`` and x^2 + 1 would be x**3. Returns the new text and the columns of the
    replaced carets (to report columns in the user's text).
    """
    try:
        carets = [tok.start[1] for tok in tokenize.generate_tokens(io.StringIO(text).readline)
                  if tok.type == tokenize.OP and tok.string == "^" and tok.start[0] == 1]
    except (tokenize.TokenError, SyntaxError):
        return text, []  # ast.parse reports the problem
    for col in reversed(carets):
        text = text[:col] + "**" + text[col + 1:]
    return text, carets


def _original_column(col, carets):
    """Column in the user's text of column ``col`` of the text with ``^`` -> ``**``."""
    for shift, caret in enumerate(carets):
        if col <= caret + shift:
            return col - shift
    return col - len(carets)


def _describe(node):
    if isinstance(node, ast.Attribute):
        return f"attribute access '.{node.attr}'"
    return _REFUSED.get(type(node), f"Python syntax '{type(node).__name__}'")


def _column(node):
    # An attribute is reported at its dot, not at the start of the object it is taken from.
    if isinstance(node, ast.Attribute):
        return node.value.end_col_offset
    return node.col_offset


def _short(number):
    text = str(number)
    return text if len(text) <= 30 else f"{text[:12]}...({len(text)} digits)"

