"""solvers.minimize on dask data: the fits equal the NumPy fits, mini-batches are reproducible,
the client never holds the data, a killed worker is recovered and an unrecoverable failure
ends the run with status EVALUATION_FAILED and the error."""
import os
import re
import signal
import sys
import tracemalloc

import numpy as np
import pytest

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")
cloudpickle = pytest.importorskip("cloudpickle")

import solvers  # noqa: E402

cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import tests

LAM = np.array([0.01])
X0 = np.zeros(4)


def _python_loop(x):
    """A callback: the NumPy fit then runs the same Python loop as the dask fit."""
    return False


def numpy_fit(obj, args, method="lbfgs"):
    """The same method's Python loop on the objective's NumPy evaluations (the oracle; as a
    Python callable it compiles no solver loop; H @ v from the Hessian kernel the other
    oracles use, so no kernel is compiled for it alone)."""
    return solvers.minimize(lambda w: obj.value_and_grad(w, *args), X0, method=method, jac=True,
                            hess=lambda w: obj.hess(w, *args),
                            hessp=lambda w, v: obj.hess(w, *args) @ v)


def _assert_same_fit(got, want):
    assert got.success and want.success, (got.message, want.message)
    assert got.nit == want.nit
    np.testing.assert_allclose(got.x, want.x, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(got.fun, want.fun, rtol=1e-10)


def test_lbfgs_on_the_cluster_equals_the_numpy_fit(client, obj_mean, data, ddata):
    want = numpy_fit(obj_mean, (LAM,) + data)
    got = solvers.minimize(obj_mean, X0, args=(LAM,) + ddata)
    _assert_same_fit(got, want)
    assert got.nfev == want.nfev


@pytest.mark.parametrize("method", ["bfgs", "newton", "newton-tr"])
def test_other_methods_on_the_threaded_scheduler(obj_mean, data, method):
    """The solver side is the same for any scheduler: one fit on the cluster (above) and the
    other methods on Dask's threaded scheduler."""
    X, y = data
    args = (LAM, da.from_array(X, chunks=(1000, 4)), da.from_array(y, chunks=1000))
    want = numpy_fit(obj_mean, (LAM,) + data, method)
    with dask.config.set(scheduler="threads"):
        got = solvers.minimize(obj_mean, X0, method=method, args=args)
    _assert_same_fit(got, want)


def test_minibatches_are_reproducible_with_the_seed(client, obj_mean, data, ddata):
    opts = {"lr": 0.05, "batch_size": 900, "epochs": 1, "seed": 7}  # rows from every block
    runs = [solvers.minimize(obj_mean, X0, method="adam", args=(LAM,) + ddata, options=opts)
            for _ in range(2)]
    np.testing.assert_array_equal(runs[0].x, runs[1].x)
    numpy_run = solvers.minimize(obj_mean, X0, method="adam", args=(LAM,) + data, options=opts,
                                 callback=_python_loop)
    np.testing.assert_allclose(runs[0].x, numpy_run.x, rtol=1e-9, atol=1e-12)
    other = solvers.minimize(obj_mean, X0, method="adam", args=(LAM,) + ddata,
                             options=dict(opts, seed=8))
    assert not np.allclose(other.x, runs[0].x, rtol=1e-6, atol=0)


def _labels(block, w):
    """Labels of a logistic model for one block of rows, drawn on the worker."""
    z = block @ w
    u = np.random.default_rng(int(abs(block[0, 0]) * 1e9)).random(block.shape[0])
    return (u < 1.0 / (1.0 + np.exp(-z))).astype(float)


def test_a_fit_on_data_ten_times_larger_than_the_client_holds(client, obj_mean):
    n_rows, chunk = 1_000_000, 125_000
    X = da.random.RandomState(5).standard_normal((n_rows, 4), chunks=(chunk, 4))
    y = X.map_blocks(_labels, np.array([1.0, -0.5, 0.25, 0.0]), drop_axis=1, dtype=float)
    X, y = client.persist([X, y])  # generated on the workers
    distributed.wait([X, y], timeout=60)
    data_bytes = X.nbytes + y.nbytes
    # Not part of the measure: each worker loads the kernels, this process the solver's
    # compiled helpers (a compile or cache load allocates megabytes, when this test runs alone).
    solvers.minimize(obj_mean, X0, args=(LAM, X, y), options={"maxiter": 1})
    tracemalloc.start()
    try:
        r = solvers.minimize(obj_mean, X0, args=(LAM, X, y))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert r.success, r.message
    assert np.max(np.abs(r.grad)) < 1e-5
    assert peak < data_bytes / 10, f"client peak {peak / 1e6:.1f} MB for {data_bytes / 1e6} MB"


def _fail_after(block, marker):
    if os.path.exists(marker):
        raise OSError("the disk holding these rows is gone (test)")
    return block


def test_an_unrecoverable_failure_mid_fit_ends_the_run_with_a_clear_error(client, obj_mean,
                                                                           data, ddata, tmp_path):
    marker = str(tmp_path / "failed")
    X = ddata[0].map_blocks(_fail_after, marker, dtype=float)  # recomputed every evaluation

    def callback(x):
        if not os.path.exists(marker):
            open(marker, "w").close()
        return False
    res = solvers.minimize(obj_mean, X0, args=(LAM, X, ddata[1]), callback=callback)
    assert res.status == solvers.Status.EVALUATION_FAILED and not res.success
    assert re.search("could not recover it .*disk holding", res.error), res.error
    assert res.error in res.message and "last point evaluated in full" in res.message
    # the point reported is one evaluated in full, its value that objective's (no partial sum)
    want_f, want_g = obj_mean.value_and_grad(res.x, LAM, *data)
    assert res.nfev >= 2 and res.x.shape == (4,)
    np.testing.assert_allclose([res.fun], [want_f], rtol=1e-10)
    np.testing.assert_allclose(res.grad, want_g, rtol=1e-8, atol=1e-12)


def _killer(client, after):
    pids = client.run(os.getpid)
    calls = []

    def callback(x):
        calls.append(1)
        if len(calls) == after:  # one worker process dies with its blocks; its nanny restarts it
            os.kill(next(iter(pids.values())), signal.SIGKILL)
        return False
    return callback


def test_a_worker_killed_during_a_fit_is_recovered(client, obj_mean, data, ddata):
    want = numpy_fit(obj_mean, (LAM,) + data)
    X, y = (a + 0.0 for a in ddata)  # blocks of their own: the kill loses them, not ddata's
    X, y = client.persist([X, y])
    distributed.wait([X, y], timeout=60)
    got = solvers.minimize(obj_mean, X0, args=(LAM, X, y), callback=_killer(client, 2))
    _assert_same_fit(got, want)  # the last test: the nanny's restart of the worker overlaps none
