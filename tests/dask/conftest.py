"""Dask fixtures: one LocalCluster of two worker processes for the session, one compiled
logistic-regression objective, and their data as NumPy arrays and as dask arrays held by
the workers. Every wait is bounded: the cluster's start and stop, and each evaluation
(``derive.dask-timeout``).

Numba compiles dominate the time of these tests (about 2 s per kernel), so each kernel is
compiled once per session, in this process: one objective serves every test, the NumPy oracle
uses two of its kernels (value_and_grad and hess), and the per-block kernels the workers run
are compiled here before the cluster starts; the workers share this process's kernel cache
(``DERIVE_CACHE_DIR`` passed to them) and load the machine code from it instead of each
compiling it again.
"""
import logging

import numpy as np
import pytest

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

D = 4  # features
N = 4000  # rows of the small data set
CHUNK = 700  # rows per block: 6 blocks, the last one shorter
EVAL_TIMEOUT = 120  # seconds per evaluation on the cluster (bounds every wait on it)
X0 = np.array([0.3, -0.2, 0.1, 0.4])
LAM = np.array([0.05])


def _logistic():
    """Mean logistic loss plus lam * |w|^2 (a penalty, added once)."""
    import sympy as sp
    import codegen
    w = sp.symbols(f"w0:{D}")
    x = sp.symbols(f"x0:{D}")
    y, lam = sp.symbols("y lam")
    z = sum(wi * xi for wi, xi in zip(w, x))
    return codegen.compile(sp.log(1 + sp.exp(z)) - y * z, list(w), params=[lam],
                           data=[list(x), y], reduce="mean", penalty=lam * sum(wi**2 for wi in w))


@pytest.fixture(scope="session")
def obj_mean():
    """The objective, its per-block kernels compiled (into the shared kernel cache) by one
    evaluation of each kind on a small dask array with the synchronous scheduler: the workers'
    code path (``codegen.dask_data.block_partial``). hessp and hess_sparse use hess's."""
    obj = _logistic()
    X = da.from_array(np.full((3, D), 0.5), chunks=(2, D))
    y = da.from_array(np.ones(3), chunks=2)
    with dask.config.set(scheduler="synchronous"):
        for which in ("value", "grad", "value_and_grad", "hess"):
            getattr(obj, which)(X0, LAM, X, y)
    return obj


@pytest.fixture(scope="session")
def client(obj_mean):
    """A LocalCluster of two worker processes on 127.0.0.1 and its Client; the workers use
    this process's kernel cache, where the objective's kernels are already compiled."""
    from distributed import Client, LocalCluster
    from codegen import cache
    with dask.config.set({"derive.dask-timeout": EVAL_TIMEOUT,
                          "distributed.comm.timeouts.connect": "30s"}):
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=None, timeout="60s",
                               silence_logs=logging.ERROR,
                               env={"DERIVE_CACHE_DIR": str(cache.cache_dir())})
        cl = Client(cluster, timeout="60s")
        try:
            yield cl
        finally:
            cl.close(timeout=20)
            cluster.close(timeout=20)


@pytest.fixture(scope="session")
def data():
    """(X, y) NumPy arrays: N rows of a logistic model."""
    rng = np.random.default_rng(13)
    X = rng.normal(size=(N, D))
    p = 1.0 / (1.0 + np.exp(-(X @ np.linspace(-1.0, 1.5, D))))
    return X, (rng.random(N) < p).astype(float)


@pytest.fixture(scope="session")
def ddata(client, data):
    """(X, y) as dask arrays persisted on the workers, chunked alike along rows."""
    X, y = data
    Xd = da.from_array(X, chunks=(CHUNK, D))
    yd = da.from_array(y, chunks=CHUNK)
    Xd, yd = client.persist([Xd, yd])
    distributed.wait([Xd, yd], timeout=60)
    return Xd, yd
