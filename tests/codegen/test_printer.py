"""The printer: supported functions, safe names, errors that name the culprit."""
import math

import numpy as np
import pytest
import sympy as sp

import codegen
from codegen.errors import UnknownSymbolError, UnsupportedFunctionError
from codegen.printer import NumbaPrinter, prelude, print_expr
from derive.ml import logsumexp, relu, sigmoid, softplus


def run(expr, syms, vals):
    """Evaluate the printed expression as plain Python with the prelude's helpers."""
    ns = {}
    exec(prelude(jit=False), ns)
    names = {s: f"v[{i}]" for i, s in enumerate(syms)}
    return eval(print_expr(expr, names), ns, {"v": vals})


x, y = sp.symbols("x y")


@pytest.mark.parametrize("expr, vals, expected", [
    (sp.Piecewise((x, x > 0), (-2 * x, True)), [-1.5, 0], 3.0),
    (sp.Piecewise((x, x > 0)), [-1.0, 0], math.nan),
    (sp.Heaviside(x), [0.0, 0], 0.5),
    (sp.Heaviside(x, 0), [0.0, 0], 0.0),
    (sp.Heaviside(x, 1), [-2.0, 0], 0.0),
    (sp.Max(x, y, 1), [0.5, -3.0], 1.0),
    (sp.Min(x, y), [0.5, -3.0], -3.0),
    (sp.Abs(x) + sp.sign(y), [-2.0, -3.0], 1.0),
    (sp.sign(x), [0.0, 0], 0.0),
    (sp.erf(x) + sp.erfc(x), [0.3, 0], 1.0),
    (sp.DiracDelta(x) + 1, [0.0, 0], 1.0),
    (sigmoid(x), [-800.0, 0], 0.0),
    (sigmoid(x), [800.0, 0], 1.0),
    (softplus(x), [800.0, 0], 800.0),
    (softplus(x), [-800.0, 0], 0.0),
    (relu(x), [-2.0, 0], 0.0),
    (logsumexp(x, y, 0), [800.0, 799.0, ], 800.0 + math.log1p(math.exp(-1.0))),
    (x**sp.Rational(1, 3) + sp.Rational(2, 7) * y, [8.0, 7.0], 4.0),
    (sp.atan2(y, x) + sp.loggamma(x) + sp.gamma(y), [1.0, 2.0], math.atan2(2, 1) + 1.0),
])
def test_printed_values(expr, vals, expected):
    got = run(expr, (x, y), vals)
    if math.isnan(expected):
        assert math.isnan(got)
    else:
        assert got == pytest.approx(expected, rel=1e-14, abs=1e-300)


def test_step_functions_propagate_nan():
    for e in (sp.Heaviside(x), sp.sign(x), relu(x), softplus(x), sigmoid(x), logsumexp(x, y)):
        assert math.isnan(run(e, (x, y), [math.nan, 0.0])), e


@pytest.mark.parametrize("expr, name", [
    (sp.besselj(0, x), "besselj"),
    (sp.Function("mystery")(x), "mystery"),
    (sp.Integral(x, (y, 0, 1)), "Integral"),
    (sp.I * x, "I (imaginary unit)"),
    (sp.factorial(x), "factorial"),
])
def test_unsupported_function_names_it(expr, name):
    with pytest.raises(UnsupportedFunctionError) as ei:
        print_expr(expr, {x: "a", y: "b"})
    assert ei.value.function == name
    assert name in str(ei.value)
    assert isinstance(ei.value, ValueError) and isinstance(ei.value, TypeError)


def test_compile_reports_unsupported_function():
    with pytest.raises(UnsupportedFunctionError, match="besselj"):
        codegen.compile(sp.besselj(1, x) + x**2, [x], jit=False)


def test_unknown_symbol_is_named():
    with pytest.raises(UnknownSymbolError, match="'y'"):
        codegen.compile(x * y, [x], jit=False)


def test_printer_is_a_sympy_printer_subclass():
    from sympy.printing.pycode import PythonCodePrinter
    assert issubclass(NumbaPrinter, PythonCodePrinter)


WEIRD = ["x[0]);import os", "λ", "class", "lambda", "def", "__import__('os')", "a b",
         "x\nimport os", "0x", "'", '"""', "t0", "xv0", "_r", "np", "math"]


def test_weird_symbol_names_never_reach_the_source():
    syms = [sp.Symbol(n) for n in WEIRD]
    f = sum((i + 1) * s**2 for i, s in enumerate(syms)) + sp.sin(syms[0] * syms[1])
    obj = codegen.compile(f, syms, jit=False)
    # Names appear only in '#' comments, through ascii(): one line each.
    code = "\n".join(ln for ln in obj.source.splitlines() if not ln.startswith("#"))
    assert "import os" not in code
    assert "λ" not in obj.source
    xv = np.linspace(0.1, 1.0, len(syms))
    ref = float(f.subs(dict(zip(syms, xv))))
    assert obj.value(xv) == pytest.approx(ref, rel=1e-12)
    g = obj.grad(xv)
    assert g[2] == pytest.approx(6 * xv[2])


def test_same_name_different_assumptions_are_different_symbols():
    a1, a2 = sp.Symbol("a"), sp.Symbol("a", positive=True)
    obj = codegen.compile(a1 * 2 + a2 * 3, [a1, a2], jit=False)
    assert obj.grad([1.0, 1.0]).tolist() == [2.0, 3.0]


# --- issue 9, item 5: errors name the user's function; large constants print as floats -------

k = sp.Symbol("k")


@pytest.mark.parametrize("expr, name, detail", [
    (sp.Function("mystery")(x) + x, "mystery", "mystery(x)"),
    (sp.gamma(x) + x, "gamma", "polygamma"),  # printable, but its derivative is not
    (sp.loggamma(x * y), "loggamma", "polygamma"),
    (sp.exp(sp.Function("g")(x, y)), "g", "g(x, y)"),
    (sp.Derivative(sp.Function("h")(x), x), "h", "h(x)"),
])
def test_compile_names_the_function_the_user_wrote(expr, name, detail):
    with pytest.raises(UnsupportedFunctionError) as ei:
        codegen.compile(expr, [x, y], jit=False)
    assert ei.value.function == name
    assert detail in str(ei.value)
    assert "supported:" in str(ei.value) and "sin" in str(ei.value)


def test_vector_compile_names_the_function_the_user_wrote():
    with pytest.raises(UnsupportedFunctionError) as ei:
        codegen.compile_vector([x * y, sp.Function("mystery")(y)], [x, y], jit=False)
    assert ei.value.function == "mystery"


def test_unsupported_function_is_refused_before_differentiating(monkeypatch):
    calls = []
    import codegen.symbolic as sym
    monkeypatch.setattr(sym, "partials", lambda *a, **kw: calls.append(1) or [])
    with pytest.raises(UnsupportedFunctionError):
        codegen.compile(sp.Function("mystery")(x) + x, [x], jit=False)
    assert not calls


def test_function_of_params_only_needs_no_derivative():
    # gamma(k) is never differentiated (k is a parameter): it compiles, and its value is right
    obj = codegen.compile(sp.gamma(k) * x**2, [x], params=[k], jit=False)
    assert obj.value([3.0], [4.5]) == pytest.approx(9 * math.gamma(4.5), rel=1e-14)
    assert obj.grad([3.0], [4.5])[0] == pytest.approx(6 * math.gamma(4.5), rel=1e-14)


def test_gamma_with_order_one_needs_polygamma_too():
    # d gamma / dx = gamma(x) polygamma(0, x): refused for order=1 as for order=2
    with pytest.raises(UnsupportedFunctionError, match="polygamma") as ei:
        codegen.compile(sp.gamma(x), [x], jit=False, order=1)
    assert ei.value.function == "gamma"


def test_floor_and_ceiling_have_zero_derivative_almost_everywhere():
    f = sp.floor(x) * x + sp.ceiling(y) * y**2
    obj = codegen.compile(f, [x, y], jit=False)
    for v in ([2.5, -1.25], [-3.7, 0.4]):
        sub = {x: v[0], y: v[1]}
        assert obj.value(v) == pytest.approx(float(f.subs(sub)), rel=1e-15)
        # oracle: central differences away from the jumps
        h = 1e-6
        fd = [(obj.value(np.add(v, h * e)) - obj.value(np.subtract(v, h * e))) / (2 * h)
              for e in np.eye(2)]
        np.testing.assert_allclose(obj.grad(v), fd, rtol=1e-7)
        np.testing.assert_allclose(obj.hess(v), [[0, 0], [0, 2 * math.ceil(v[1])]], atol=0)


def test_large_integers_print_as_floats():
    src = print_expr(2**70 * x + sp.floor(y) * 2**62 + x**(2**80), {x: "a", y: "b"})
    ints = [int(t) for t in __import__("re").findall(r"(?<![\w.])\d+(?![\w.])", src)]
    assert all(abs(i) <= 2**53 for i in ints), src


def test_constant_outside_float_range_is_refused_with_its_value():
    with pytest.raises(codegen.CodegenError, match="float64") as ei:
        codegen.compile(sp.Integer(10)**400 * x, [x], jit=False)
    assert isinstance(ei.value, ValueError)
    with pytest.raises(codegen.CodegenError, match="float64"):
        codegen.compile(sp.Rational(10**400, 3) * x, [x], jit=False)


def test_large_integers_and_rationals_compile_with_numba():
    # Numba cannot type an integer literal beyond int64 ("Int value is too large"), and
    # floor(y) * 2**62 overflows int64 when floor returns an integer.
    f = 2**70 * x + sp.Rational(2**70, 3) * x**2 + sp.floor(y) * 2**62 + sp.Rational(1, 3**500) * y
    obj = codegen.compile(f, [x, y], order=1)
    v = [1.5, 3.5]
    ref = float(f.subs({x: v[0], y: v[1]}))
    assert obj.value(v) == pytest.approx(ref, rel=1e-15)
    np.testing.assert_allclose(obj.grad(v), [2**70 + 2 * 1.5 * 2**70 / 3, 3.0**-500], rtol=1e-15)
