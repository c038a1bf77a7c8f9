"""Exceptions raised by codegen; each names the function, symbol, argument or shape at fault."""

__all__ = ["CodegenError", "UnsupportedFunctionError", "UnknownSymbolError", "ArgumentError",
           "ConstantRangeError", "CacheDirError"]


class CodegenError(Exception):
    """Base class of every error codegen raises on purpose."""


def _short(expr, limit=120):
    text = str(expr)
    return text if len(text) <= limit else text[:limit - 3] + "..."


class UnsupportedFunctionError(CodegenError, ValueError, TypeError):
    """An expression uses a function codegen cannot translate (or cannot differentiate into
    functions it can translate).

    ``function`` holds the name of the function as the user wrote it, ``expr`` the
    application it was found in, ``reason`` why it is refused when it is printable itself
    (e.g. its derivative needs a function that has no Numba translation).
    """

    def __init__(self, function, expr=None, reason=None):
        from .printer import supported_functions  # printer imports this module

        self.function = str(function)
        self.expr = expr
        self.reason = reason
        where = "" if expr is None else f" in {_short(expr)}"
        why = "" if not reason else f": {reason}"
        super().__init__(
            f"function {self.function!r}{where} is not supported by codegen{why}; "
            f"supported: {', '.join(supported_functions())}; rewrite the expression with these")


class UnknownSymbolError(CodegenError, ValueError):
    """An expression has a free symbol that is none of wrt, params or data."""

    def __init__(self, symbol):
        self.symbol = symbol
        super().__init__(
            f"free symbol {str(symbol)!r} is not among wrt, params or data; "
            "declare it in one of them (or substitute a value)")


class ConstantRangeError(CodegenError, ValueError):
    """A numeric constant of the expression lies outside the float64 range."""

    def __init__(self, constant):
        self.constant = constant
        shown = _short(constant, 60)  # a huge Integer prints with ~300 digits
        super().__init__(f"constant {shown} is outside the float64 range (|c| > 1.8e308) and "
                         "cannot appear in compiled kernels; rescale the expression")


class ArgumentError(CodegenError, ValueError):
    """An argument (x, v, params, a data array, rows, an export path) is of the wrong shape,
    type or value."""


class CacheDirError(CodegenError, ValueError):
    """The kernel cache directory cannot be used (not a directory, not writable, or writable by
    other users); the message names the directory and what to do."""
