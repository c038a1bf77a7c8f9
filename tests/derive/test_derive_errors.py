"""Errors caused by the caller's input are derive.InputError (issue 9 leftovers, issue 10).

The command line reports an InputError as one line with exit code 2 and any other
exception as an internal error (exit 3), so every documented input error must be one.
InputError is a ValueError and a TypeError, so older ``except`` clauses still catch it.
"""
import os

import pytest
import sympy as sp

import derive
from derive import ml
from derive.deadline import Deadline

x, y, a = sp.symbols("x y a")
w = sp.Symbol("w")

# (what, call, text the message must contain)
CASES = [
    ("taylor order cap", lambda: derive.taylor(sp.exp(x), x, 0, order=101), "cap"),
    ("taylor order type", lambda: derive.taylor(sp.exp(x), x, 0, order=1.5), "order"),
    ("taylor not smooth", lambda: derive.taylor(sp.Abs(x), x, 0, order=1), "not smooth"),
    ("taylor not real", lambda: derive.taylor(sp.log(x), x, -1), "not real"),
    ("singular Newton step", lambda: derive.quadratic_model(x**4, x, [0]).newton_step(), "singular"),
    ("every point critical", lambda: derive.critical_points(a**2, [x]), "every point is critical"),
    ("constant piece", lambda: derive.critical_points(sp.Max(x, 1), [x]), "every point there is critical"),
    # characteristic polynomial t**5 - t - a: no radicals, and CRootOf needs rational data
    ("symbolic Hessian", lambda: derive.critical._eigenvalues(sp.Matrix(
        [[0, 0, 0, 0, a], [1, 0, 0, 0, 1], [0, 1, 0, 0, 0], [0, 0, 1, 0, 0], [0, 0, 0, 1, 0]])),
     "cannot find the eigenvalues"),
    ("condition number symbolic", lambda: derive.condition_number(a * x**2, x, [0]), "numeric point"),
    ("critical several kinks", lambda: derive.critical_points(sp.Abs(x) + y**2, [x, y]), "kinks"),
    ("critical timeout", lambda: derive.critical_points(x**2, x, timeout="1"), "timeout"),
    ("critical symbolic_timeout", lambda: derive.critical_points(x**2, x, symbolic_timeout=-1),
     "symbolic_timeout"),
    ("deadline nan", lambda: Deadline(float("nan"), "f"), "timeout"),
    ("convexity timeout", lambda: derive.convexity(x**2, x, timeout="5"), "timeout"),
    ("convexity samples", lambda: derive.convexity(x**2, x, samples=2.5), "samples"),
    ("kkt independent", lambda: derive.kkt(a, [x]), "does not depend"),
    ("kkt bool constraint", lambda: derive.kkt(x**2, x, eq=[True]), "eq[0] is True"),
    ("kkt relation kind", lambda: derive.kkt(x**2, x, eq=[x <= 1]), "inequality"),
    ("kkt equation in ineq", lambda: derive.kkt(x**2, x, ineq=[sp.Eq(x, 1)]), "equation"),
    ("kkt multiplier count", lambda: derive.kkt(x**2, x, eq=[x - 1], lam=[]), "lam gives 0"),
    ("kkt multiplier type", lambda: derive.kkt(x**2, x, eq=[x - 1], lam=["l"]), "lam[0]"),
    ("kkt too many inequalities", lambda: derive.kkt(x**2, x, ineq=[x - k for k in range(13)]).solve(),
     "at most 12"),
    ("kkt symbolic_timeout", lambda: derive.kkt(x**2, x).solve(symbolic_timeout="1"), "symbolic_timeout"),
    ("kkt not smooth", lambda: derive.kkt(sp.Abs(x), x).solve(), "twice differentiable"),
    ("explain at type", lambda: derive.explain(x**2, x, at=[1]), "at must be a mapping"),
    ("explain at missing", lambda: derive.explain(x * y, x, at={x: 1}), "no value for y"),
    ("explain node name", lambda: derive.explain({"v": x**2}, x), "not a sympy Symbol"),
    ("explain node in wrt", lambda: derive.explain({x: x**2}, x), "also a variable"),
    ("explain empty graph", lambda: derive.explain({}, x), "empty"),
    ("explain order", lambda: derive.explain({w: y + 1, y: x**2}, x), "evaluation order"),
    ("explain output", lambda: derive.explain({w: x**2}, x, output=y), "not a node"),
    ("svm labels", lambda: derive.svm_dual([[0.0], [1.0]], [1, 2]), "labels"),
    ("svm label count", lambda: derive.svm_dual([[0.0], [1.0]], [1, -1, 1]), "3 labels"),
    ("svm C", lambda: derive.svm_dual(n=2, d=1, C=-1), "C must be positive"),
    ("svm kernel type", lambda: derive.svm_dual(n=2, d=1, kernel=3), "kernel must be"),
    ("svm kernel Lambda", lambda: derive.svm_dual(n=2, d=1, kernel=sp.Lambda(x, x)), "two arguments"),
    ("svm X dims", lambda: derive.svm_dual([[[0.0]]], [1]), "dimensions"),
    ("ml list", lambda: ml.softmax(3), "sequence"),
    ("ml lengths", lambda: ml.mse([1, 2], [1]), "2 entries"),
    ("ml cross entropy lengths", lambda: ml.cross_entropy([1, 2], [1]), "2 entries"),
    ("ml logsumexp", lambda: ml.logsumexp(), "at least one"),
    ("ml alpha", lambda: ml.leaky_relu(x, float("inf")), "alpha"),
    ("directional length", lambda: derive.directional_derivative(x**2, [x], [1, 2]), "v has 2"),
    ("solve parameters", lambda: derive._solve.solve_system([x**2 - a], [x], symbolic_seconds=1e-6),
     "parameters"),
]


@pytest.mark.parametrize("what,call,text", CASES, ids=[c[0] for c in CASES])
def test_input_errors_are_input_errors(what, call, text):
    with pytest.raises(derive.InputError) as info:
        call()
    assert text in str(info.value)
    assert isinstance(info.value, ValueError) and isinstance(info.value, TypeError)


def test_error_types_exported():
    for name in ("InputError", "NotSmoothError", "NotRealError", "DeadlineExceeded", "FormulaError"):
        assert name in derive.__all__ and hasattr(derive, name)
    for name in ("NotSmoothError", "NotRealError", "FormulaError"):
        assert issubclass(getattr(derive, name), derive.InputError)
    assert issubclass(derive.DeadlineExceeded, TimeoutError)
    assert not issubclass(derive.DeadlineExceeded, derive.InputError)


HOSTILE = "__import__('os').system('touch {path}')"


def _hostile_calls(text):
    return [
        lambda: ml.hinge(text, 1), lambda: ml.hinge(1, text), lambda: ml.mse(text, 1),
        lambda: ml.mse([text], [1]), lambda: ml.binary_cross_entropy(text, 1),
        lambda: ml.binary_cross_entropy(x, text), lambda: ml.leaky_relu(x, alpha=text),
        lambda: ml.leaky_relu(text), lambda: ml.softmax([text, x]), lambda: ml.log_softmax((x, text)),
        lambda: ml.cross_entropy([x], [text]), lambda: ml.sigmoid(text), lambda: ml.softplus(text),
        lambda: ml.relu(text), lambda: ml.logsumexp(x, text),
        lambda: derive.explain(x**2, x, at={x: text}),
        lambda: derive.svm_dual(n=2, d=1, C=text), lambda: derive.svm_dual([[text], [1]], [1, -1]),
        lambda: derive.svm_dual([[0], [1]], [text, -1]),
        lambda: derive.svm_dual(n=2, d=1, kernel=lambda u, v: text),
    ]


@pytest.mark.parametrize("k", range(len(_hostile_calls(""))))
def test_hostile_strings_are_read_as_formulas_not_run(tmp_path, k):
    target = tmp_path / "pwned"
    call = _hostile_calls(HOSTILE.format(path=target))[k]
    with pytest.raises(derive.FormulaError, match="not allowed"):
        call()
    assert not os.path.exists(target)


def test_strings_that_are_formulas_still_work():
    s, t = sp.symbols("s t")
    assert ml.hinge("s", "t") == ml.hinge(s, t)
    assert ml.mse(["s", 1], [0, "t"]) == ml.mse([s, 1], [0, t])
    assert ml.leaky_relu("s", "1/5") == ml.leaky_relu(s, 0.2)
    assert ml.sigmoid("s") == ml.sigmoid(s)
    e = derive.explain(x**2, x, at={x: "3/2"})
    assert float(e.backward[-1].grad) == 3.0
