"""Print SymPy expressions as Numba-compilable Python source.

:class:`NumbaPrinter` subclasses SymPy's ``PythonCodePrinter``: every supported
function has a ``_print_<Class>`` method or a ``known_functions`` entry, symbols
are looked up in a ``names`` table (never pasted into source), and anything else
raises :class:`~codegen.errors.UnsupportedFunctionError` naming the function.

The machine-learning functions of :mod:`derive.ml` and the NaN-propagating
step functions print as calls to helpers (``_dt_sigmoid`` ...) whose
definitions :func:`prelude` emits at the top of every generated module.

>>> import sympy as sp
>>> a, b = sp.symbols("a b")
>>> print_expr(sp.exp(a) * b**2, {a: "x[0]", b: "x[1]"})
'(x[1]*x[1])*math.exp(x[0])'
"""
import math

import sympy as sp
from sympy.printing.pycode import PythonCodePrinter

from .errors import ConstantRangeError, UnknownSymbolError, UnsupportedFunctionError

__all__ = ["NumbaPrinter", "print_expr", "prelude", "HELPERS", "sigmoid_e", "softplus_e",
           "expand_exp_sharing", "SUM_FASTMATH", "floor_ae", "ceiling_ae", "steps_ae",
           "check_supported", "supported_functions"]

# Integers beyond this print as float literals: a float64 holds every integer up to 2**53
# exactly, Numba cannot type a literal outside int64 ("Int value is too large"), and an
# integer literal inside int64 can still overflow in integer arithmetic.
_MAX_INT_LITERAL = 2**53

# Helper kernels shared by every generated module.  Each is exact where the
# naive formula overflows: sigmoid branches on the sign so exp never sees a
# large positive argument; softplus = max(z, 0) + log1p(exp(-|z|)); logsumexp
# shifts by the maximum.  Step functions test z > 0 and z < 0 first so a NaN
# input falls through to the NaN branch instead of being silently "fixed".
HELPERS = {
    "_dt_sigmoid": '''
@_helper
def _dt_sigmoid(z):
    # exp(-|z|) never overflows; a select instead of a branch on the sign.
    e = math.exp(-abs(z))
    r = 1.0 / (1.0 + e)
    return r if z >= 0.0 else e * r
''',
    "_dt_sigmoid_e": '''
@_helper
def _dt_sigmoid_e(z, e):
    # sigmoid(z) given e = exp(-|z|), shared with softplus(z) by CSE.
    r = 1.0 / (1.0 + e)
    return r if z >= 0.0 else e * r
''',
    "_dt_softplus": '''
@_helper
def _dt_softplus(z):
    return max(z, 0.0) + math.log1p(math.exp(-abs(z)))
''',
    "_dt_softplus_e": '''
@_helper
def _dt_softplus_e(z, e):
    # softplus(z) given e = exp(-|z|) in [0, 1], shared with sigmoid(z) by CSE.
    # log1p(e) as log(u) corrected by u's rounding error (u = 1 + e; Goldberg 1991,
    # <= 1 ulp on [0, 1]): math.log is an LLVM intrinsic, libm's log1p an opaque
    # call that makes LLVM spill and reload a data-sum loop's registers (3x slower).
    u = 1.0 + e
    if u == 1.0:
        return max(z, 0.0) + e
    return max(z, 0.0) + (math.log(u) - ((u - 1.0) - e) / u)
''',
    "_dt_relu": '''
@_helper
def _dt_relu(z):
    if z > 0.0:
        return z
    if z <= 0.0:
        return 0.0
    return z
''',
    "_dt_logsumexp": '''
@_helper
def _dt_logsumexp(zs):
    m = -math.inf
    for z in zs:
        if z != z:
            return z
        if z > m:
            m = z
    if m == math.inf or m == -math.inf:
        return m
    s = 0.0
    for z in zs:
        s += math.exp(z - m)
    return m + math.log(s)
''',
    "_dt_heaviside": '''
@_helper
def _dt_heaviside(z, h0):
    if z > 0.0:
        return 1.0
    if z < 0.0:
        return 0.0
    if z == 0.0:
        return h0
    return z
''',
    "_dt_sign": '''
@_helper
def _dt_sign(z):
    if z > 0.0:
        return 1.0
    if z < 0.0:
        return -1.0
    if z == 0.0:
        return 0.0
    return z
''',
}


# LLVM fast-math flags of the data-sum row loops (see prelude()).
SUM_FASTMATH = ("arcp", "contract", "nsz", "reassoc")


def prelude(jit=True):
    """Module header: imports, the ``_kernel``/``_helper`` decorators and all helpers.

    With ``jit=False`` the decorators are identities, so the same kernels run as
    plain Python (used by fast differential tests of the printer).
    """
    lines = [
        "import math",
        "import numpy as np",
        "",
        f"_JIT = {bool(jit)!r}",
        "if _JIT:",
        "    import numba",
        "    from numba import prange",
        "    # error_model='numpy': x/0 gives inf/nan like NumPy instead of raising.",
        "    # fastmath is set explicitly everywhere: a function that leaves it unset",
        "    # inherits its first caller's flags (a solver's fastmath loop, _acc_* below).",
        "    _kernel = numba.njit(cache=True, nogil=True, error_model='numpy', fastmath=False)",
        "    _parallel_kernel = numba.njit(cache=True, nogil=True, parallel=True, error_model='numpy',",
        "                                  fastmath=False)",
        "    _helper = numba.njit(cache=True, nogil=True, error_model='numpy', fastmath=False)",
        "    # Row loops of data sums may reorder additions (pairwise, vectorized across",
        "    # rows) and fuse multiply-adds; no 'afn' (exp/log stay libm-accurate) and no",
        "    # 'nnan'/'ninf' (NaN and inf propagate).  Helpers keep strict IEEE semantics.",
        "    _sum_kernel = numba.njit(cache=True, nogil=True, error_model='numpy',",
        "                             fastmath={%s})" % ", ".join(map(repr, SUM_FASTMATH)),
        "else:",
        "    prange = range",
        "",
        "    def _kernel(f):",
        "        return f",
        "",
        "    _parallel_kernel = _helper = _sum_kernel = _kernel",
    ]
    return "\n".join(lines) + "\n" + "".join(HELPERS[k] for k in sorted(HELPERS))


class sigmoid_e(sp.Function):
    """sigmoid(z) given e = exp(-|z|) as second argument (a printing device, not for users)."""

    nargs = 2


class softplus_e(sp.Function):
    """softplus(z) given e = exp(-|z|) as second argument (a printing device, not for users)."""

    nargs = 2


def expand_exp_sharing(expr):
    """Write sigmoid and softplus through e = exp(-|z|) so CSE computes one exp per argument.

    softplus(z) = max(z, 0) + log1p(e) and sigmoid(z) = 1/(1+e) or e/(1+e) by
    the sign of z; both are exact for every z.
    """
    from derive.ml import sigmoid, softplus

    if not expr.has(sigmoid, softplus):
        return expr
    expr = expr.replace(softplus, lambda u: softplus_e(u, sp.exp(-sp.Abs(u))))
    return expr.replace(sigmoid, lambda u: sigmoid_e(u, sp.exp(-sp.Abs(u))))


class floor_ae(sp.Function):
    """floor(z) whose derivative is 0 (true almost everywhere; a printing device, not for users).

    floor and ceiling are replaced by these before differentiating, so f = floor(x)*x has
    gradient floor(x), the value a numerical derivative needs; the jumps' point masses are
    dropped, as for DiracDelta.
    """

    nargs = 1

    def fdiff(self, argindex=1):
        return sp.S.Zero


class ceiling_ae(sp.Function):
    """ceiling(z) whose derivative is 0 (see :class:`floor_ae`)."""

    nargs = 1

    def fdiff(self, argindex=1):
        return sp.S.Zero


def steps_ae(expr):
    """``expr`` with floor/ceiling replaced by :class:`floor_ae`/:class:`ceiling_ae`."""
    if not expr.has(sp.floor, sp.ceiling):
        return expr
    return expr.replace(sp.floor, floor_ae).replace(sp.ceiling, ceiling_ae)


def _unsupported(self, expr):
    raise UnsupportedFunctionError(type(expr).__name__, expr)


class NumbaPrinter(PythonCodePrinter):
    """SymPy -> Python source that ``numba.njit`` compiles.

    ``names`` maps each Symbol (by identity, so ``Symbol('x')`` and
    ``Symbol('x', real=True)`` are different) to a Python expression such as
    ``"x[3]"`` or ``"t7"``.  A symbol missing from it raises
    :class:`~codegen.errors.UnknownSymbolError`.
    """

    printmethod = "_numbacode"
    language = "Python (Numba)"

    _default_settings = dict(PythonCodePrinter._default_settings, strict=True,
                             fully_qualified_modules=True)

    def __init__(self, names, settings=None):
        super().__init__(settings or {})
        self.names = dict(names)

    # --- symbols and numbers -------------------------------------------------
    def _print_Symbol(self, expr):
        try:
            return self.names[expr]
        except KeyError:
            raise UnknownSymbolError(expr) from None

    _print_Dummy = _print_Symbol

    def _print_Float(self, expr):
        v = float(expr)
        if v != v:
            return "math.nan"
        if v in (float("inf"), float("-inf")):
            return "math.inf" if v > 0 else "(-math.inf)"
        return repr(v)

    def _float_literal(self, expr):
        """The correctly rounded float64 literal of an exact number; refuses an overflow."""
        v = float(expr)
        if not math.isfinite(v):
            raise ConstantRangeError(expr)
        v = repr(v)
        return f"({v})" if v.startswith("-") else v

    def _print_Integer(self, expr):
        if -_MAX_INT_LITERAL <= expr.p <= _MAX_INT_LITERAL:
            return str(expr.p)
        return self._float_literal(expr)

    def _print_Rational(self, expr):
        # A float literal (correctly rounded, same as the division p/q) keeps
        # Numba's IR small: no runtime division node per constant.
        if expr.q == 1:
            return self._print_Integer(expr)
        return self._float_literal(expr)

    def _print_Pow(self, expr, rational=False):
        # Small integer powers of a name as products: cheaper to compile and run.
        b, e = expr.args
        if isinstance(b, sp.Symbol) and e.is_Integer and 2 <= int(e) <= 3:
            t = self._print(b)
            return "(" + "*".join([t] * int(e)) + ")"  # parenthesised: it may be a divisor
        return super()._print_Pow(expr, rational=rational)

    def _print_ImaginaryUnit(self, expr):
        raise UnsupportedFunctionError("I (imaginary unit)", expr)

    def _print_ComplexInfinity(self, expr):
        raise UnsupportedFunctionError("zoo (complex infinity)", expr)

    # --- piecewise and step functions ----------------------------------------
    def _print_Piecewise(self, expr):
        # Nested conditional expressions; a Piecewise with no True branch is
        # NaN outside its conditions (SymPy's meaning: undefined).
        out = "math.nan"
        for e, c in reversed(expr.args):
            if c == sp.true:
                out = self._print(e)
            else:
                out = f"(({self._print(e)}) if ({self._print(c)}) else ({out}))"
        return out

    def _print_ITE(self, expr):
        return self._print(expr.rewrite(sp.Piecewise))

    def _print_Heaviside(self, expr):
        h0 = expr.args[1] if len(expr.args) > 1 else sp.S.Half
        return f"_dt_heaviside({self._print(expr.args[0])}, {self._print(sp.Float(h0))})"

    def _print_sign(self, expr):
        return f"_dt_sign({self._print(expr.args[0])})"

    def _print_DiracDelta(self, expr):
        # DiracDelta only arises as the derivative of a step (Heaviside, sign,
        # Abs'); it is zero almost everywhere, which is the value a numerical
        # derivative needs.  Documented: the distribution's mass is dropped.
        return "0.0"

    def _print_Max(self, expr):
        return "max(%s)" % ", ".join(self._print_float_arg(a) for a in expr.args)

    def _print_Min(self, expr):
        return "min(%s)" % ", ".join(self._print_float_arg(a) for a in expr.args)

    def _print_float_arg(self, a):
        # Numba unifies max/min and tuple items by type: keep them all float.
        if a.is_Rational:
            return self._float_literal(a)
        return repr(float(a)) if a.is_Number else f"float({self._print(a)})"

    def _print_floor(self, expr):
        # math.floor returns an integer in Numba: float() keeps the arithmetic in float64
        # (an int64 product could overflow silently).
        return f"float(math.floor({self._print(expr.args[0])}))"

    def _print_ceiling(self, expr):
        return f"float(math.ceil({self._print(expr.args[0])}))"

    _print_floor_ae = _print_floor
    _print_ceiling_ae = _print_ceiling

    # --- derive.ml functions ---------------------------------------------------
    def _print_sigmoid(self, expr):
        return f"_dt_sigmoid({self._print(expr.args[0])})"

    def _print_sigmoid_e(self, expr):
        return f"_dt_sigmoid_e({self._print(expr.args[0])}, {self._print(expr.args[1])})"

    def _print_softplus_e(self, expr):
        return f"_dt_softplus_e({self._print(expr.args[0])}, {self._print(expr.args[1])})"

    def _print_softplus(self, expr):
        return f"_dt_softplus({self._print(expr.args[0])})"

    def _print_relu(self, expr):
        return f"_dt_relu({self._print(expr.args[0])})"

    def _print_logsumexp(self, expr):
        items = ", ".join(self._print_float_arg(a) for a in expr.args)
        return f"_dt_logsumexp(({items},))"

    # --- everything the base printer would print as non-Numba code -------------
    def _print_Function(self, expr):
        name = type(expr).__name__
        if name in self.known_functions:
            return super()._print_Function(expr)
        raise UnsupportedFunctionError(name, expr)

    def _print_not_supported(self, expr):
        raise UnsupportedFunctionError(type(expr).__name__, expr)

    _print_fresnelc = _print_fresnels = _print_lowergamma = _print_uppergamma = _unsupported
    _print_factorial = _print_frac = _print_Integral = _print_Sum = _print_Product = _unsupported
    _print_Derivative = _print_Subs = _print_Limit = _print_Order = _print_Indexed = _unsupported
    _print_MatrixBase = _print_MatrixSymbol = _print_MatrixElement = _print_Lambda = _unsupported
    _print_KroneckerDelta = _print_Mod = _print_Poly = _print_RootOf = _print_ComplexRootOf = _unsupported
    _print_DenseMatrix = _print_ImmutableDenseMatrix = _print_MutableDenseMatrix = _unsupported
    _print_isnan = _print_isinf = _print_AccumulationBounds = _unsupported


def print_expr(expr, names, printer=None):
    """Print one SymPy expression as Numba source; ``names`` maps Symbol -> source text.

    The result may call the helpers of :func:`prelude` (``_dt_sigmoid`` ...)
    and ``math.*``; put ``prelude()`` at the top of the module that holds it.

    >>> x = sp.Symbol("x[0]);import os")
    >>> print_expr(sp.sin(x) + 1, {x: "v[0]"})
    'math.sin(v[0]) + 1'
    """
    printer = printer or NumbaPrinter(names)
    return printer.doprint(sp.sympify(expr))


# Functions printed by a method of NumbaPrinter rather than through known_functions.
_EXTRA_SUPPORTED = ("Piecewise", "Heaviside", "sign", "DiracDelta", "floor", "ceiling",
                    "sigmoid", "softplus", "relu", "logsumexp")
# known_functions entries that are refused or are aliases (expm1, log1p, hypot ... are
# sympy.codegen.cfunctions classes).
_NOT_LISTED = ("factorial", "isinf", "isnan", "Sqrt", "ln")
_supported = None


def supported_functions():
    """Sorted names of the functions codegen compiles (gamma and loggamma only of parameters
    or data: their derivatives need polygamma, which has no Numba translation).

    >>> "sin" in supported_functions() and "sigmoid" in supported_functions()
    True
    """
    global _supported
    if _supported is None:
        names = {k for k in NumbaPrinter({}).known_functions
                 if k not in _NOT_LISTED} | set(_EXTRA_SUPPORTED)
        _supported = tuple(f"{k} (of params/data only)" if k in ("gamma", "loggamma") else k
                           for k in sorted(names, key=str.lower))
    return _supported


class _ProbePrinter(NumbaPrinter):
    """Prints any symbol as ``v``: used only to ask whether an expression is printable."""

    def _print_Symbol(self, expr):
        return "v"

    _print_Dummy = _print_Symbol


# Node types that are arithmetic or logic, not functions: checked through their arguments.
_STRUCTURAL = (sp.Add, sp.Mul, sp.Pow, sp.Tuple, sp.core.relational.Relational,
               sp.logic.boolalg.Boolean, sp.functions.elementary.piecewise.ExprCondPair)
_MAX_PROBE_ARGS = 3  # partial derivatives taken in at most the first 3 arguments


def _nodes(exprs):
    """Each distinct subexpression once (shared subtrees are visited once)."""
    seen = set()
    stack = list(exprs)
    while stack:
        n = stack.pop()
        if n in seen:
            continue
        seen.add(n)
        yield n
        stack.extend(n.args)


def _probe(expr):
    _ProbePrinter({}).doprint(steps_ae(expr))


def _check_derivatives(node, order):
    """Raise unless the partial derivatives of ``node``'s function up to ``order`` print."""
    dummies = []
    args = []
    for a in node.args:
        if isinstance(a, sp.Expr) and a.free_symbols:
            d = sp.Dummy(f"u{len(dummies)}", real=True)
            dummies.append(d)
            args.append(d)
        else:
            args.append(a)
    try:
        g = steps_ae(node.func(*args))
    except Exception:  # a function that cannot be applied to plain symbols: print check only
        return
    level = [g]
    vs = dummies[:_MAX_PROBE_ARGS]
    for _ in range(order):
        level = [sp.diff(e, v) for e in level for v in vs]
        for e in level:
            try:
                _probe(e)
            except UnsupportedFunctionError as exc:
                raise UnsupportedFunctionError(
                    type(node).__name__, node,
                    f"its derivative needs {exc.function!r}, which has no Numba "
                    "translation") from None


def check_supported(exprs, wrt=(), order=0):
    """Raise :class:`~codegen.errors.UnsupportedFunctionError` naming the first function of
    ``exprs`` (as the user wrote it) that codegen cannot print, or whose partial derivatives up
    to ``order`` it cannot print where it depends on ``wrt``; raise
    :class:`~codegen.errors.ConstantRangeError` for a constant beyond float64.

    Runs before any differentiation, so the error names the user's function, not a
    ``Derivative`` or ``polygamma`` that differentiating it would produce.

    >>> x = sp.Symbol("x")
    >>> check_supported([sp.sin(x) * sp.floor(x)], [x], order=2)
    >>> check_supported([sp.gamma(x)], [x], order=1)
    Traceback (most recent call last):
    ...
    codegen.errors.UnsupportedFunctionError: function 'gamma' in gamma(x) is not supported by codegen: its derivative needs 'polygamma', ...
    """
    wrtset = set(wrt)
    reps = {}  # node class -> (a representative application, whether it depends on wrt)
    for n in _nodes(exprs):
        if n.is_Atom:
            if n.is_Rational and not n.is_Integer or n.is_Integer and abs(n.p) > _MAX_INT_LITERAL:
                if not math.isfinite(float(n)):
                    raise ConstantRangeError(n)
            elif n.is_Atom and not n.is_Symbol and not n.is_Number:
                reps.setdefault(n.func, (n, False))  # I, zoo, pi ...: printed below
            continue
        if isinstance(n, _STRUCTURAL):
            continue
        rep = reps.get(n.func)
        if rep is None or (not rep[1] and order and n.free_symbols & wrtset):
            reps[n.func] = (n, bool(order and n.free_symbols & wrtset))
    # Undefined functions first: in Derivative(h(x), x) the culprit is h.
    items = sorted(reps.values(), key=lambda r: not isinstance(r[0], sp.core.function.AppliedUndef))
    for node, dep in items:
        _probe(node)
        if dep and isinstance(node, sp.Function) and not isinstance(node, sp.Piecewise):
            _check_derivatives(node, order)
