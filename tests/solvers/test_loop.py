"""The shared skeleton (solvers.loop): descents and searches combine, results are read by name,
status codes have one source, and solvers.svm loads on first use.

Runs here are Python runs (Python objectives): they exercise the same loop source the compiled
loops are made from, without compiling anything new.
"""
import os
import subprocess
import sys

import numpy as np
import pytest
import scipy.optimize as so

import solvers
from solvers import termination
from solvers.bfgs import BFGSDescent
from solvers.callables import PythonObjective
from solvers.lbfgs import LBFGSDescent
from solvers.linesearch import Backtracking, StrongWolfe
from solvers.loop import NO_LIMIT, Steepest, descent_loop
from solvers.newton import NewtonDescent
from solvers.result import LoopResult, Status


def _rosen():
    return PythonObjective(so.rosen, 2, jac=so.rosen_der, hess=so.rosen_hess)


def _run(obj, descent, search, hess=None, maxiter=5000):
    return descent_loop(obj.vg, hess, (), np.array([-1.2, 1.0]), descent, search, maxiter,
                        1e-6, 0.0, 0.0, 40, 1e-15, NO_LIMIT, None)


@pytest.mark.parametrize("descent, search, uses_hess", [
    (BFGSDescent(np.eye(2), True, 1e-10), Backtracking(1e-4), False),
    (LBFGSDescent.empty(5, 2, 1e-10), Backtracking(1e-4), False),
    (NewtonDescent(1e-3), Backtracking(1e-4), True),
    (LBFGSDescent.empty(5, 2, 1e-10), StrongWolfe(1e-4, 0.9), False),
])
def test_descent_and_search_combine(descent, search, uses_hess):
    obj = _rosen()
    out, state = _run(obj, descent, search, hess=obj.hess if uses_hess else None,
                      maxiter=500)
    assert isinstance(out, LoopResult) and type(state) is type(descent)
    assert Status(out.status).converged, Status(out.status)
    assert np.allclose(out.x, [1.0, 1.0], atol=1e-4)  # Rosenbrock's minimiser
    assert np.max(np.abs(so.rosen_der(out.x))) <= 1e-6
    assert out.hist_f.shape == (out.nit + 1,) and out.hist_f[-1] == out.f
    assert out.ngev == out.nfev and (out.nhev > 0) == uses_hess


def test_methods_read_loop_results_by_name():
    # the front functions build their Result from the LoopResult fields: counts agree with the
    # objective's own counters and the history has one entry per iteration plus x0
    obj = _rosen()
    r = solvers.lbfgs(obj, [-1.2, 1.0], history=True)
    assert r.success and r.nfev == obj.nfev and r.ngev == obj.njev
    assert len(r.history["fun"]) == r.nit + 1


def test_status_codes_have_one_source():
    names = {"GTOL": "CONVERGED_GTOL", "FTOL": "CONVERGED_FTOL", "XTOL": "CONVERGED_XTOL",
             "MAXITER": "MAX_ITERATIONS", "LINESEARCH": "LINE_SEARCH_FAILED",
             "NONFINITE": "NON_FINITE", "HESSIAN": "HESSIAN_NOT_USABLE", "DIVERGED": "DIVERGED",
             "TRCOLLAPSE": "TRUST_REGION_COLLAPSED", "CALLBACK": "CALLBACK_STOP",
             "MAXFEV": "MAX_FUNCTION_EVALUATIONS", "INFEASIBLE": "INFEASIBLE",
             "EVALUATION_FAILED": "EVALUATION_FAILED"}
    for const, member in names.items():
        value = getattr(termination, const)
        assert type(value) is int and value == Status[member]
    assert len(names) == len(Status)
    assert termination.CONTINUE not in {int(s) for s in Status}


def test_steepest_descent_on_a_quadratic():
    obj = PythonObjective(lambda x: float((x[0] - 1) ** 2 + 4 * x[1] ** 2), 2,
                          jac=lambda x: np.array([2 * (x[0] - 1), 8 * x[1]]))
    out, _ = _run(obj, Steepest(), Backtracking(1e-4), maxiter=200)
    assert out.status == Status.CONVERGED_GTOL and np.allclose(out.x, [1.0, 0.0], atol=1e-6)


def test_svm_is_loaded_on_first_use():
    code = "import sys, solvers; print('solvers.svm' in sys.modules)"
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0 and out.stdout.strip() == "False", out.stderr[-2000:]
    from solvers.svm import SVC
    assert "svm" in solvers.__all__ and solvers.svm.SVC is SVC


def test_public_names_resolve():
    for name in solvers.__all__:
        assert getattr(solvers, name) is not None
    with pytest.raises(AttributeError, match="no_such_name"):
        solvers.no_such_name
