"""derive: the symbolic layer of derive-toolkit (SymPy only).

Functions take SymPy expressions and return SymPy objects (or small dataclasses
holding them), so results print, pretty-print and ``latex()`` in a REPL.
Variables are real-valued even when created as plain ``sympy.symbols("x y")``.

- derivatives: ``gradient``, ``jacobian``, ``hessian``, ``directional_derivative``
- vector and matrix models: ``gradient`` / ``hessian`` w.r.t. a ``MatrixSymbol`` (sizes integers
  or integer Symbols) return SymPy matrix expressions that read like the textbook, never
  unrolled into entries (``X.T*(sigmoid.(X*w) - y)``; :mod:`derive.matrix_form`, built on the
  index-level calculus of :mod:`derive.indexed`); a Hessian is laid out over the row-major
  flattening of the variables (codegen's x); a list of variables gives a tuple of gradients and
  a BlockMatrix Hessian. Evaluate with ``.subs({d: 3, w: Matrix(...)}).doit().as_explicit()``
- models: ``taylor`` (any order), ``quadratic_model`` (value, gradient, Hessian, Newton step)
- constrained problems (minimize f s.t. g = 0, h <= 0): ``lagrangian``, ``kkt`` (``.solve()``)
- analysis: ``critical_points``, ``condition_number``, ``is_convex`` / ``convexity`` (by
  composition first: the DCP rules of :mod:`derive.dcp`; then from the Hessian)
- teaching: ``explain`` (backpropagation step by step), ``svm_dual`` (the SVM dual from the primal)
- reading formulas from text safely (never run as code): ``parse_formula``
- errors: ``InputError`` (bad arguments, named; ``NotSmoothError`` and ``NotRealError`` are
  kinds of it), ``FormulaError`` (text that is not a formula), ``DeadlineExceeded`` (a
  ``timeout=`` passed: a TimeoutError)
- ``derive.ml``: sigmoid, relu, softplus, logsumexp, softmax, losses (huber, hinge, cross-entropy...)
- non-smooth functions (Abs, Max, Piecewise...): derivatives almost everywhere; ``dirac="drop"``
  removes the DiracDelta terms that compiled code evaluates as 0

>>> import sympy as sp
>>> import derive
>>> x, y = sp.symbols("x y")
>>> derive.hessian(x**2 * y, [x, y])
Matrix([
[2*y, 2*x],
[2*x,   0]])
>>> d = sp.Symbol("d", integer=True, positive=True)
>>> w, A = sp.MatrixSymbol("w", d, 1), sp.MatrixSymbol("A", d, d)
>>> derive.gradient((w.T * A * w)[0, 0], w), derive.hessian((w.T * A * w)[0, 0], w)
((A + A.T)*w, A + A.T)
"""
from ._version import __version__
from . import ml
from .calculus import directional_derivative, gradient, hessian, jacobian
from .convexity import Convexity, convexity, is_convex
from .critical import CriticalPoint, condition_number, critical_points
from .explain import Explanation, explain
from ._validate import InputError
from .deadline import DeadlineExceeded
from .formula import FormulaError, parse_formula
from .kkt import KKTPoint, KKTSystem, Lagrangian, kkt, lagrangian
from .smoothness import NotRealError, NotSmoothError
from .svm_dual import SVMDual, svm_dual
from .taylor import QuadraticModel, quadratic_model, taylor

__all__ = [
    "__version__", "ml",
    "gradient", "jacobian", "hessian", "directional_derivative",
    "taylor", "quadratic_model", "QuadraticModel",
    "lagrangian", "Lagrangian", "kkt", "KKTSystem", "KKTPoint",
    "critical_points", "CriticalPoint", "condition_number",
    "is_convex", "convexity", "Convexity",
    "explain", "Explanation", "svm_dual", "SVMDual",
    "parse_formula", "FormulaError", "InputError", "NotSmoothError", "NotRealError",
    "DeadlineExceeded",
]
