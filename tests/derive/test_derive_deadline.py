"""Time limits that hold in any thread (issue 9, item 8): derive.deadline and its users.

No wall-clock asserts: a limited call in a thread must come back (with DeadlineExceeded)
well before a generous join timeout; a call that ignored its limit would run for 15 s or more.
"""
import threading

import pytest
import sympy as sp

from derive import critical_points, kkt
from derive.deadline import Deadline, DeadlineExceeded, OutOfTime, _echo, run_limited

x, y, z = sp.symbols("x y z")
# sympy.solve gives up after its 10 s and Newton needs ~6 s more: ~16 s without a limit
HARD = x**4 * y**2 + y**3 * z**2 - 3 * x * y * z + z**4 + x**2 - y + sp.Rational(1, 3) * z**3 * x


def in_thread(call):
    """Run call() in a thread; (finished, outcome) after a join long enough for any honest limit."""
    out = {}

    def target():
        try:
            out["value"] = call()
        except BaseException as err:  # noqa: BLE001 - handed to the test
            out["error"] = err

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(timeout=12)
    return not t.is_alive(), out


def test_critical_points_limit_holds_in_a_thread():
    finished, out = in_thread(lambda: critical_points(HARD, [x, y, z], timeout=1.0))
    assert finished, "critical_points ignored its 1 s limit in a thread"
    err = out.get("error")
    assert isinstance(err, DeadlineExceeded) and isinstance(err, TimeoutError)
    assert "critical_points" in str(err) and "1 s" in str(err) and err.seconds == 1.0


def test_kkt_limit_holds_in_a_thread():
    s = kkt(HARD, [x, y, z], ineq=[x + y + z - 1])
    finished, out = in_thread(lambda: s.solve(timeout=1.0))
    assert finished, "kkt().solve() ignored its 1 s limit in a thread"
    assert isinstance(out.get("error"), DeadlineExceeded) and "kkt().solve()" in str(out["error"])


def test_a_generous_limit_still_gives_the_answer_in_a_thread():
    finished, out = in_thread(lambda: critical_points(x**3 - 3 * x + y**2, [x, y], timeout=10))
    assert finished and "error" not in out
    assert sorted(p.point[x] for p in out["value"]) == [-1, 1]


@pytest.mark.parametrize("bad,exc", [(0, ValueError), (-1, ValueError), (float("nan"), ValueError),
                                     ("10", TypeError), (True, TypeError)])
def test_timeout_is_validated(bad, exc):
    with pytest.raises(exc, match="timeout"):
        critical_points(x**2, [x], timeout=bad)


def test_no_limit_and_expiry():
    assert Deadline(None, "f").remaining() == float("inf")
    d = Deadline(1e-9, "the step")
    with pytest.raises(DeadlineExceeded, match="the step did not finish within its time limit"):
        while True:
            d.check()


def test_worker_is_killed_at_its_limit_and_replaced():
    hard = [x**7 + y**5 * x - 3 * x * y * z + 1, y**7 - x**3 * z + 2 * x - 5, z**6 - x * y + x**2 * z**3]
    from derive._solve import _sympy_solve

    with pytest.raises(OutOfTime):
        run_limited(_sympy_solve, (hard, [x, y, z]), seconds=0.5)
    assert run_limited(_echo, (x + 1,), seconds=30) == x + 1  # a fresh worker answers


def test_worker_reraises_errors_and_runs_derive_functions_only():
    from derive._solve import _sympy_solve

    with pytest.raises(Exception):  # noqa: B017 - whatever sympy.solve raises comes back as such
        run_limited(_sympy_solve, ("not a list of equations", 5), seconds=30)
    with pytest.raises(ValueError, match="derive functions only"):
        run_limited(sp.solve, (x - 1, x), seconds=30)


def test_convexity_proof_limit_holds_in_a_thread():
    from derive.convexity import _prove_psd

    H = sp.hessian(sp.exp(x * y) * sp.cosh(x + y) + sp.log(1 + x**2 + y**4) ** 3, (x, y))
    finished, out = in_thread(lambda: _prove_psd(H, [x, y], timeout=0.05))
    assert finished and out["value"][0] is None and "ran out of time" in out["value"][1]
