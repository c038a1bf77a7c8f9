"""Compiled data objectives on dask arrays: equal to the NumPy results, computed where the
blocks live (a LocalCluster of two worker processes, and Dask's threaded scheduler), with
clear errors for bad data and for failures Dask cannot recover."""
import sys

import numpy as np
import pytest

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")
cloudpickle = pytest.importorskip("cloudpickle")

from codegen import ArgumentError  # noqa: E402
from codegen.dask_data import DaskEvaluationError, _plan, check_data  # noqa: E402

cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import tests

RTOL = 1e-10
X0 = np.array([0.3, -0.2, 0.1, 0.4])
LAM = np.array([0.05])
V = np.array([1.0, -2.0, 0.5, 3.0])
WHICH = ["value", "grad", "value_and_grad", "hess", "hessp", "hess_sparse"]


@pytest.fixture(scope="session")
def numpy_results(obj_mean, data):
    """The oracle: each evaluation of obj_mean on the NumPy arrays, from its value_and_grad and
    hess kernels (value, grad, H @ v and the sparse Hessian's values are parts of them; the
    NumPy methods' agreement with each other is codegen's test)."""
    f, g = obj_mean.value_and_grad(X0, LAM, *data)
    H = obj_mean.hess(X0, LAM, *data)
    return {"value": f, "grad": g, "value_and_grad": (f, g), "hess": H, "hessp": H @ V,
            "hess_sparse": H}


def _call(obj, which, args, rows=None):
    if which == "hessp":
        return obj.hessp(X0, V, *args, rows=rows)
    out = getattr(obj, which)(X0, *args, rows=rows)
    return out.toarray() if which == "hess_sparse" else out


def _assert_same(got, want):
    if isinstance(want, tuple):
        assert isinstance(got, tuple) and isinstance(got[0], float)
        np.testing.assert_allclose(got[0], want[0], rtol=RTOL)
        np.testing.assert_allclose(got[1], want[1], rtol=RTOL, atol=1e-14)
    else:
        assert np.shape(got) == np.shape(want)
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=1e-14)


@pytest.mark.parametrize("which", WHICH)
def test_mean_with_penalty_on_the_cluster_equals_numpy(client, obj_mean, ddata, numpy_results,
                                                       which):
    _assert_same(_call(obj_mean, which, (LAM,) + ddata), numpy_results[which])


def test_row_samples_on_the_cluster_equal_numpy(client, obj_mean, data, ddata):
    rows = np.random.default_rng(3).integers(0, data[1].shape[0], 300)  # repeats count twice
    _assert_same(_call(obj_mean, "value_and_grad", (LAM,) + ddata, rows),
                 obj_mean.value_and_grad(X0, LAM, *data, rows=rows))
    _assert_same(_call(obj_mean, "hessp", (LAM,) + ddata, rows),
                 obj_mean.hess(X0, LAM, *data, rows=rows) @ V)


def test_threaded_scheduler_equals_numpy(obj_mean, data, numpy_results):
    X, y = data
    args = (LAM, da.from_array(X, chunks=(900, 4)), da.from_array(y, chunks=900))
    mask = np.zeros(y.shape[0], dtype=bool)
    mask[::7] = True
    with dask.config.set(scheduler="threads"):
        for which in ("value_and_grad", "hess"):
            _assert_same(_call(obj_mean, which, args), numpy_results[which])
        _assert_same(_call(obj_mean, "grad", args, mask),
                     obj_mean.value_and_grad(X0, LAM, *data, rows=mask)[1])


def test_a_row_sample_computes_only_the_blocks_holding_it(obj_mean, ddata):
    dd = check_data(obj_mean, ddata)
    rows = np.array([5, 3999, 701, 0, 705])
    plan = _plan(dd, rows)
    assert [b for b, _ in plan] == [0, 1, 5]
    assert [r.tolist() for _, r in plan] == [[5, 0], [1, 5], [3999 - 3500]]


def _sympy_loaded():
    return "sympy" in sys.modules


def test_workers_load_the_kernels_without_sympy(client, obj_mean, ddata):
    obj_mean.value(X0, LAM, *ddata)
    assert client.run(_sympy_loaded) == {w: False for w in client.scheduler_info()["workers"]}


def test_bad_dask_data_is_refused_naming_the_argument(obj_mean, data):
    X, y = data
    Xd = da.from_array(X, chunks=(700, 4))
    with pytest.raises(ArgumentError, match=r"data\[1\] is a ndarray, not a dask array"):
        obj_mean.value(X0, LAM, Xd, y)
    with pytest.raises(ArgumentError, match=r"data\[1\] is chunked along rows as \(500, .*"
                                            r"differ first at block 0"):
        obj_mean.value(X0, LAM, Xd, da.from_array(y, chunks=500))
    with pytest.raises(ArgumentError, match=r"data\[0\] is chunked along columns too"):
        obj_mean.value(X0, LAM, da.from_array(X, chunks=(700, 2)), da.from_array(y, chunks=700))
    with pytest.raises(ArgumentError, match=r"data\[0\] must be a 2-D array of shape \(N, 4\)"):
        obj_mean.value(X0, LAM, Xd[:, :3], da.from_array(y, chunks=700))
    bad = X.copy()
    bad[1234, 2] = np.nan
    with dask.config.set(scheduler="threads"), \
            pytest.raises(ArgumentError, match=r"data\[0\] .* has nan at row 1234, column 2"):
        obj_mean.value(X0, LAM, da.from_array(bad, chunks=(700, 4)), da.from_array(y, chunks=700))


def _break_block_3(block, block_info=None):
    if block_info[0]["chunk-location"][0] == 3:
        raise OSError("block unreadable (test)")
    return block


def test_a_task_that_raises_is_an_error_not_a_partial_sum(client, obj_mean, ddata):
    Xd, yd = ddata
    broken = da.map_blocks(_break_block_3, Xd, dtype=float)
    with pytest.raises(DaskEvaluationError, match="could not recover it .*block unreadable"):
        obj_mean.value_and_grad(X0, LAM, broken, yd)


def test_no_workers_left_ends_with_a_clear_error_in_bounded_time(obj_mean, data):
    from distributed import Client, LocalCluster
    X, y = data
    with LocalCluster(n_workers=0, processes=False, dashboard_address=None) as cluster, \
            Client(cluster, set_as_default=False, timeout="30s") as c:
        args = (da.from_array(X, chunks=(700, 4)), da.from_array(y, chunks=700))
        with dask.config.set({"scheduler": c.get, "derive.dask-timeout": 0.5}), \
                pytest.raises(DaskEvaluationError, match="no result within 0.5 s"):
            obj_mean.value(X0, LAM, *args)
