"""The shape of the derive package (issue 10): short functions, one Hessian loop, clear names."""
import ast
import importlib
import pathlib

import sympy as sp

import derive

# derive.taylor, derive.convexity... are the functions; the modules are looked up by name
calculus, convexity, critical, taylor = (importlib.import_module(f"derive.{m}")
                                         for m in ("calculus", "convexity", "critical", "taylor"))

DERIVE = pathlib.Path(derive.__file__).parent


def _functions():
    for path in sorted(DERIVE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield path.name, node


def test_no_function_of_100_lines_or_more():
    long = [f"{name}:{node.name} ({node.end_lineno - node.lineno + 1} lines)"
            for name, node in _functions() if node.end_lineno - node.lineno + 1 >= 100]
    assert not long


def test_one_hessian_loop_shared_by_its_users():
    # the modules that need a Hessian take it from calculus, not from a loop of their own
    for module in (taylor, critical, convexity):
        assert "sp.zeros(n, n)" not in pathlib.Path(module.__file__).read_text()
        assert module._gradient_hessian is calculus._gradient_hessian
    x, y = sp.symbols("x y")
    f = sp.exp(x * y) + x**3 * sp.sin(y)
    H = derive.hessian(f, [x, y])
    assert H == H.T
    q = derive.quadratic_model(f, [x, y], [1, 2])
    assert sp.simplify(q.hessian - H.subs({x: 1, y: 2})) == sp.zeros(2, 2)
    # an independent oracle: second differences of f
    fn = sp.lambdify((x, y), f)
    h = 1e-4
    d2xy = (fn(1 + h, 2 + h) - fn(1 + h, 2 - h) - fn(1 - h, 2 + h) + fn(1 - h, 2 - h)) / (4 * h * h)
    assert abs(float(q.hessian[0, 1]) - d2xy) < 1e-5 * max(1.0, abs(d2xy))


def test_svm_dual_module_and_function():
    import sys

    assert "derive.svm_dual" in sys.modules and not hasattr(derive, "svm")
    assert callable(derive.svm_dual) and derive.svm_dual.__module__ == "derive.svm_dual"
