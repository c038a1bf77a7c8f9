"""solvers.warmup: the kernels and the named loops compiled up front, so the first fit is fast."""
import numpy as np
import pytest
import sympy as sp

import codegen
import solvers
from solvers import OptionError


@pytest.fixture(scope="module")
def quad():
    a, b = sp.symbols("a b")
    return codegen.compile((a - 1)**2 + 3*(b + 2)**2 + a**2*b**2/10, [a, b])


def test_warmup_compiles_kernels_and_loops_then_the_fit_compiles_nothing(quad):
    times = solvers.warmup(quad, methods=("lbfgs", "newton"))
    assert set(times) == {"kernels", "lbfgs", "newton"}
    assert all(t >= 0 for t in times.values())
    sigs = {k: len(getattr(quad.jit, k).signatures) for k in ("value_and_grad", "hess")}
    assert all(sigs.values())
    res = solvers.minimize(quad, np.array([3.0, 3.0]), method="newton")
    assert res.success
    # the fit added no new kernel specialisation: everything it needed was compiled by warmup
    assert {k: len(getattr(quad.jit, k).signatures) for k in sigs} == sigs


def test_warmup_refuses_unknown_methods_and_uncompiled_objectives(quad):
    with pytest.raises(ValueError, match="unknown method 'lbgfs'"):
        solvers.warmup(quad, methods=("lbgfs",))
    with pytest.raises(TypeError, match="CompiledObjective"):
        solvers.warmup(lambda x: x @ x, methods="lbfgs")


def test_warmup_checks_its_inputs_as_minimize_does(quad):
    with pytest.raises(ValueError, match=r"x0\[0\] is nan"):
        solvers.warmup(quad, methods="lbfgs", x0=[np.nan, 0.0])
    with pytest.raises(OptionError, match="bfgs"):
        solvers.warmup(quad, methods="bfgs", bounds=[(0, 1), (0, 1)])
