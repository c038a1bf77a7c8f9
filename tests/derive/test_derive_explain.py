"""explain: the reverse-mode derivation agrees with direct differentiation and reads well."""
import mpmath
import pytest
import sympy as sp
from hypothesis import given, settings

from derive import explain, gradient
from derive.ml import binary_cross_entropy, sigmoid
from derive_strategies import X, expressions, mp_eval, points

w, x, b, y, z, a, L = sp.symbols("w x b y z a L")
GRAPH = {z: w * x + b, a: sigmoid(z), L: binary_cross_entropy(a, y)}


def test_logistic_regression_graph():
    e = explain(GRAPH, wrt=w)
    assert sp.simplify(e.result - x * (sigmoid(w * x + b) - y)) == 0
    fwd = {s.node: s for s in e.forward}
    assert fwd[a].local == {z: a * (1 - a)}
    assert fwd[z].local == {w: x}
    back = {s.node: s for s in e.backward}
    assert sp.simplify(back[z].adjoint - (a - y)) == 0
    assert sp.simplify(back[w].adjoint - x * (a - y)) == 0
    text = str(e)
    for piece in ("forward", "backward", "dL/dz = dL/da * da/dz = a - y", "dL/dw = dL/dz * dz/dw"):
        assert piece in text
    assert repr(e) == text and e._repr_latex_().startswith("$")


def test_several_variables_give_gradient():
    e = explain(GRAPH, wrt=[w, b])
    full = binary_cross_entropy(sigmoid(w * x + b), y)
    assert e.result.shape == (2, 1)
    assert all(sp.simplify(e.result[i] - gradient(full, [w, b])[i]) == 0 for i in range(2))


def test_fan_out_sums_adjoints():
    # u is used twice: dL/du collects both paths
    u, v = sp.symbols("u v")
    e = explain({u: w**2, v: u * sp.sin(u), L: v + u}, wrt=w)
    assert sp.simplify(e.result - sp.diff(w**2 * sp.sin(w**2) + w**2, w)) == 0
    (step,) = [s for s in e.backward if s.node == u]
    assert len(step.terms) == 2


@settings(max_examples=25, deadline=None)
@given(expressions, points)
def test_random_expressions_match_direct_derivative(f, p):
    e = explain(f, wrt=X)
    direct = sp.diff(f, X)
    got, want = mp_eval(e.result, p), mp_eval(direct, p)
    assert abs(complex(got) - complex(want)) <= 1e-9 * (1 + abs(complex(want)))
    assert not e.result.has(sp.re, sp.im)


def test_plain_expression_is_decomposed():
    e = explain(sp.sin(w * x) * sp.exp(w**2), wrt=w)
    assert len(e.forward) == 5 and all(str(s.node).startswith("v") for s in e.forward)
    assert sp.simplify(e.result - sp.diff(sp.sin(w * x) * sp.exp(w**2), w)) == 0
    assert explain(sp.Abs(w), wrt=w).result == sp.sign(w)


def test_bad_graphs():
    with pytest.raises(ValueError, match="evaluation order"):
        explain({a: sigmoid(z), z: w * x}, wrt=w)
    with pytest.raises(TypeError, match="not a sympy Symbol"):
        explain({"z": w * x}, wrt=w)
    with pytest.raises(ValueError, match="also a variable"):
        explain({w: x}, wrt=w)
    with pytest.raises(TypeError, match=r"wrt\[0\]"):
        explain(GRAPH, wrt=[2 * w])


def test_numeric_values_side_by_side_like_micrograd():
    at = {w: 0.5, x: -1.5, b: 0.25, y: 1}
    e = explain(GRAPH, wrt=[w, b], at=at)
    zv = 0.5 * -1.5 + 0.25
    av = 1 / (1 + mpmath.e ** -zv)
    fwd = {s.node: s for s in e.forward}
    assert float(fwd[z].value) == pytest.approx(zv)
    assert float(fwd[a].value) == pytest.approx(float(av))
    assert float(fwd[a].local_values[z]) == pytest.approx(float(av * (1 - av)))
    back = {s.node: s for s in e.backward}
    assert float(back[w].grad) == pytest.approx(float(-1.5 * (av - 1)))
    assert float(back[b].grad) == pytest.approx(float(e.result[1].subs(at)))
    assert f"{float(av):.6g}" in str(e)
    with pytest.raises(ValueError, match="no value for y"):
        explain(GRAPH, wrt=w, at={w: 1, x: 1, b: 0})
