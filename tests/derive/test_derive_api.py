"""The public API of derive: names exported, results printable, the ml classes codegen relies on."""
import sympy as sp

import derive
from derive import ml

API = ["gradient", "jacobian", "hessian", "directional_derivative", "taylor", "quadratic_model",
       "lagrangian", "kkt", "critical_points", "condition_number", "is_convex", "convexity",
       "explain", "svm_dual"]


def test_exports():
    for name in API + ["ml", "__version__"]:
        assert name in derive.__all__ and hasattr(derive, name)
    for name in ["sigmoid", "softplus", "relu", "logsumexp"]:
        assert issubclass(getattr(ml, name), sp.Function)


def test_results_latex_and_print():
    x, y = sp.symbols("x y")
    assert sp.latex(derive.hessian(x**2 * y, [x, y]))
    for obj in (derive.quadratic_model(x**2, x, [1]), derive.kkt(x**2, x), derive.explain(x**2, x)):
        assert str(obj) and obj._repr_latex_().startswith("$")
    assert str(derive.critical_points(x**2, x)[0]).startswith("{x: 0}: minimum")
    assert str(derive.lagrangian(x, x, ineq=[x])).startswith("L(x, mu_1)")


def test_variable_free_problems_rejected():
    import pytest
    x = sp.Symbol("x")
    a = sp.Symbol("a")
    with pytest.raises(ValueError, match="does not depend"):
        derive.kkt(a, [x])
    with pytest.raises(ValueError, match="does not depend"):
        derive.critical_points(a**2, [x])
