"""codegen's build pipeline: symbolic stage, emitter, the generated module's declared interface."""
from dataclasses import fields

import numpy as np
import pytest
import sympy as sp

import codegen
from codegen import interface, symbolic
from codegen.errors import CodegenError

a, b, c = sp.symbols("a b c")


def _defined(obj):
    return set(vars(obj.module))


@pytest.mark.parametrize("order", [1, 2])
def test_objective_module_defines_the_declared_interface(order):
    obj = codegen.compile((a - b) ** 2 + sp.sin(c) * a, [a, b], params=[c], order=order,
                          jit=False)
    names = _defined(obj)
    assert set(interface.objective_kernels(order)) <= names
    assert {interface.module_name(f) for f in fields(interface.ObjectiveConstants)} <= names
    if order == 1:
        assert interface.HESS not in names and interface.HESS_VALUES not in names


def test_data_module_defines_parallel_variants_of_every_kernel():
    x, y = sp.symbols("x y")
    obj = codegen.compile((a * x - y) ** 2, [a], data=[x, y], jit=False)
    names = _defined(obj)
    for k in interface.objective_kernels(2):
        assert k in names and interface.parallel(k) in names
    assert obj.reduce == "sum" and obj.jit_parallel.hessp is getattr(obj.module, "hessp_parallel")


def test_vector_module_defines_the_declared_interface():
    F = codegen.compile_vector([a * b, a + b ** 2], [a, b], jit=False)
    names = _defined(F)
    assert set(interface.VECTOR_KERNELS) <= names
    assert {interface.module_name(f) for f in fields(interface.VectorConstants)} <= names
    assert interface.VectorConstants.read(F.module).nnz == F.jac_pattern.nnz == 4


def test_export_replaces_the_cache_note(tmp_path):
    obj = codegen.compile(a ** 2 + b, [a, b], jit=False)
    path = tmp_path / "k.py"
    codegen.export(obj, path)
    text = path.read_text()
    assert interface.CACHE_NOTE in obj.source
    assert interface.EXPORT_NOTE in text and interface.CACHE_NOTE not in text


def test_template_hessians_are_derived_once(monkeypatch):
    x = sp.symbols("x0:6")
    f = sum(100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2 for i in range(5))
    calls = []
    real = symbolic.hessian_upper
    monkeypatch.setattr(symbolic, "hessian_upper",
                        lambda *args, **kw: calls.append(args[1]) or real(*args, **kw))
    d = symbolic.derive_objective(f, x, [], [])
    # two templates, (1 - u0)**2 and 100*(u1 - u0**2)**2, five instances each
    assert len(d.templates) == 2 and [t.count for t in d.templates] == [5, 5]
    # once for the rest of f (in x), once per template (in its placeholders)
    assert len(calls) == 3 and calls[0] == d.wrt
    assert sorted(map(tuple, calls[1:])) == sorted(t.placeholders for t in d.templates)
    # the pattern is the tridiagonal upper triangle, from the template's instances
    assert d.pattern.upper == tuple(sorted({(i, i) for i in range(6)}
                                           | {(i, i + 1) for i in range(5)}))


def test_row_dependence_is_decided_on_the_expressions():
    w0, w1, x, y = sp.symbols("w0 w1 x y")
    f = (sp.exp(w0 * w1) * x - y) ** 2 + sp.cos(w0) ** 2
    d = symbolic.derive_objective(f, [w0, w1], [], [(True, (x,)), (True, (y,))])
    data = d.data_symbols
    assert data == {s for _, ss in d.data for s in ss}
    for (t, e), row in zip(d.cse.replacements, d.cse.row):
        deps = e.free_symbols
        direct = bool(deps & data)
        via = any(d.cse.row[d.cse.index[s]] for s in deps if s in d.cse.index)
        assert row == (direct or via)
    assert any(d.cse.row) and not all(d.cse.row)  # some temporaries are hoisted


def test_non_real_symbol_is_refused_by_name():
    z = sp.Symbol("z", imaginary=True)
    with pytest.raises(CodegenError, match="'z'.*non-real"):
        codegen.compile(z ** 2 + a, [a, z], jit=False)
    with pytest.raises(CodegenError, match="'z'.*non-real"):
        codegen.compile(a ** 2, [a], params=[z], jit=False)
    with pytest.raises(CodegenError, match="'z'.*non-real"):
        codegen.compile_vector([a * z], [a, z], jit=False)


def test_real_rule_is_derives():
    q = sp.Symbol("q")  # realness unknown: made real (as derive._validate.RealVars does)
    d = symbolic.derive_objective(sp.Abs(q) * a ** 2, [a, q], [], [])
    rq = d.wrt[1]
    assert rq.is_real and rq.name == "q" and rq != q and d.declared[0][1] is q
    r = sp.Symbol("r", nonzero=True)  # already real: kept as is, assumptions and all
    assert symbolic.derive_objective(r * a, [a, r], [], []).wrt[1] is r
    obj = codegen.compile(sp.Abs(q) * a ** 2, [a, q], jit=False)
    np.testing.assert_allclose(obj.grad([3.0, -2.0]), [12.0, -9.0])


def test_codegen_kernels_is_the_public_name_of_svm_kernels():
    import codegen.kernels
    from codegen import svm_kernels
    from codegen.kernels import standard_kernel

    assert codegen.kernels is svm_kernels and standard_kernel is svm_kernels.standard_kernel
