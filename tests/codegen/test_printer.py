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
