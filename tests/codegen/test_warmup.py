"""warmup(), build times per stage and per Numba kernel, the stderr report of a slow compile,
and what the repr says (the Hessian of an order=1 objective was not built)."""
import re

import numpy as np
import pytest
import sympy as sp

import codegen
import codegen.compiled
from codegen import interface
from codegen.errors import CodegenError
from codegen.timings import BuildTimes


def test_warmup_compiles_every_kernel_and_times_each():
    a, b = sp.symbols("a b")
    obj = codegen.compile(sp.cosh(a) * b**2 + a**3 / 7, [a, b])  # an expression no other test uses
    times = obj.warmup()
    assert isinstance(times, BuildTimes) and times == obj.timings
    assert set(times.numba) == set(interface.objective_kernels(2))
    assert all(t >= 0 for t in times.numba.values())
    for name in interface.objective_kernels(2):
        assert getattr(obj.jit, name).signatures, name  # compiled (or loaded from the cache)
    assert obj.warmup().numba == times.numba  # nothing left to compile
    # the solvers' calls find them compiled: a first call adds no entry
    obj.value_and_grad([0.5, 1.0])
    assert obj.timings.numba == times.numba
    assert "numba" in repr(obj) and str(times) in repr(obj)


def test_first_call_compile_is_timed_and_reported_once(capsys, monkeypatch):
    monkeypatch.setattr(codegen.compiled, "PROGRESS_AFTER", -1.0)  # report every compile
    monkeypatch.delenv("DERIVE_QUIET", raising=False)
    w, x = sp.symbols("w x")
    obj = codegen.compile(sp.sinh(w - x)**2, [w], data=[x])
    obj.value([0.3], np.arange(3.0))
    obj.value([0.4], np.arange(3.0))
    err = capsys.readouterr().err
    # compiled (a cold cache) or its machine code loaded (a warm one): said once either way
    assert len(re.findall(r"Numba (compiled value in|loaded value from the kernel cache)", err)) == 1
    assert list(obj.timings.numba) == ["value"]


def test_build_stages_add_up_to_derive_and_codegen():
    c = sp.Symbol("c")
    obj = codegen.compile(sp.exp(c) / (2 + sp.sin(c)), [c], jit=False)
    stages = obj.build_times
    t = obj.timings
    if stages:  # built now (not loaded from the cache)
        assert {"gradient", "cse", "print", "store"} <= set(stages)
        assert t.derive + t.codegen == pytest.approx(sum(stages.values()))
        assert not t.cached
    else:
        assert t.cached and t.derive == 0.0
    assert obj.warmup().numba == {}  # jit=False: nothing for Numba to compile
    assert "plain Python (jit=False)" in repr(obj)


def test_warmup_of_data_objective_and_methods_refused():
    w, x, y = sp.symbols("w x y")
    obj = codegen.compile(sp.log(1 + (w * x - y)**2), [w], data=[x, y], order=1, jit=False)
    obj.warmup()
    obj.warmup(kernels=["value_and_grad"], parallel=True)
    with pytest.raises(CodegenError, match=r"solvers.warmup\(obj, methods=\(.lbfgs.,\)\)"):
        obj.warmup(methods=["lbfgs"])
    with pytest.raises(CodegenError, match="no kernel 'hess'.*order=1"):
        obj.warmup(kernels="hess")


def test_warmup_of_named_kernels_only():
    w, x = sp.symbols("w x")
    obj = codegen.compile(sp.cosh(w * x - 1) + w**2, [w], data=[x])  # used by no other test
    assert set(obj.warmup(kernels=("value_and_grad",)).numba) == {"value_and_grad"}
    assert obj.jit.value_and_grad.signatures and not obj.jit.hess.signatures


def test_repr_says_the_hessian_of_order_one_was_not_built():
    a, b = sp.symbols("a b")
    first = codegen.compile(a**2 * b, [a, b], order=1, jit=False)
    assert "Hessian not built (order=1)" in repr(first) and "nnz(H)" not in repr(first)
    second = codegen.compile(a**2 * b, [a, b], jit=False)
    assert "nnz(H)=3" in repr(second)
    w, x = sp.symbols("w x")
    pen = codegen.compile((w - x)**2, [w], data=[x], penalty=w**2, jit=False)
    assert "+ penalty" in repr(pen)
