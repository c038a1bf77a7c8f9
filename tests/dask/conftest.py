"""Dask fixtures: one LocalCluster of two worker processes for the session, two compiled
logistic-regression objectives, and their data as NumPy arrays and as dask arrays held by
the workers. Every wait is bounded: the cluster's start and stop, and each evaluation
(``derive.dask-timeout``)."""
import logging

import numpy as np
import pytest

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

D = 4  # features
N = 4000  # rows of the small data set
CHUNK = 700  # rows per block: 6 blocks, the last one shorter
EVAL_TIMEOUT = 120  # seconds per evaluation on the cluster (a cold worker compiles kernels)


@pytest.fixture(scope="session")
def client():
    from distributed import Client, LocalCluster
    with dask.config.set({"derive.dask-timeout": EVAL_TIMEOUT,
                          "distributed.comm.timeouts.connect": "30s"}):
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=None, timeout="60s",
                               silence_logs=logging.ERROR)
        cl = Client(cluster, timeout="60s")
        try:
            yield cl
        finally:
            cl.close(timeout=20)
            cluster.close(timeout=20)


def _logistic(reduce, penalty):
    import sympy as sp
    import codegen
    w = sp.symbols(f"w0:{D}")
    x = sp.symbols(f"x0:{D}")
    y, lam = sp.symbols("y lam")
    z = sum(wi * xi for wi, xi in zip(w, x))
    pen = lam * sum(wi**2 for wi in w) if penalty else None
    return codegen.compile(sp.log(1 + sp.exp(z)) - y * z, list(w), params=[lam],
                           data=[list(x), y], reduce=reduce, penalty=pen)


@pytest.fixture(scope="session")
def obj_mean():
    """Mean logistic loss plus lam * |w|^2 (a penalty, added once)."""
    return _logistic("mean", True)


@pytest.fixture(scope="session")
def obj_sum():
    """Summed logistic loss (lam unused)."""
    return _logistic("sum", False)


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
