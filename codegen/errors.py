"""Exceptions raised by codegen; each names the function, symbol, argument or shape at fault."""

__all__ = ["CodegenError", "UnsupportedFunctionError", "UnknownSymbolError", "ArgumentError"]


class CodegenError(Exception):
    """Base class of every error codegen raises on purpose."""


class UnsupportedFunctionError(CodegenError, ValueError, TypeError):
    """An expression uses a function the Numba printer cannot translate.

    ``function`` holds the offending function's name.
    """

    def __init__(self, function, expr=None):
        self.function = str(function)
        self.expr = expr
        where = "" if expr is None else f" in {expr}"
        super().__init__(
            f"function {self.function!r}{where} is not supported by the codegen printer; "
            "rewrite it with supported functions (math functions, Piecewise, Heaviside, "
            "Max/Min, Abs, sign, erf, derive.ml.sigmoid/softplus/relu/logsumexp)")


class UnknownSymbolError(CodegenError, ValueError):
    """An expression has a free symbol that is none of wrt, params or data."""

    def __init__(self, symbol):
        self.symbol = symbol
        super().__init__(
            f"free symbol {str(symbol)!r} is not among wrt, params or data; "
            "declare it in one of them (or substitute a value)")


class ArgumentError(CodegenError, ValueError):
    """A runtime argument (x, v, params, a data array, rows) has the wrong shape or type."""
