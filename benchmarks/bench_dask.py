"""Logistic regression on Dask: our compiled kernels on the workers vs in-memory NumPy, 1 vs 2
workers, and a full L-BFGS fit vs dask-ml's LogisticRegression(solver="lbfgs").

The data (N rows x d features, a logistic model's labels) are generated on the workers
(``da.random`` and ``map_blocks``) and persisted there. The objective, for every row
``sum_i log(1 + exp(x_i'w)) - y_i x_i'w + lam/2 |w|^2`` with lam = 1, is dask-ml's with
``C=1, fit_intercept=False`` and ``normalize=False``; both fits stop on max|g| <= gtol (SciPy's
pgtol in dask-ml, which also stops on SciPy's default relative reduction factr * eps), at most
100 iterations. Times are medians over repeats, after a warm-up call (kernels loaded).

Run: ``python benchmarks/bench_dask.py`` (N = 10^7, d = 20), ``--rows 2000000`` to shrink,
``--quick`` for N = 2*10^5 and few repeats. Prints one table; ratios are against the in-memory
NumPy time of our kernel in the same run.
"""
import argparse
import logging
import statistics
import time

import numpy as np


def logistic(d):
    import sympy as sp
    import codegen
    w = sp.symbols(f"w0:{d}")
    x = sp.symbols(f"x0:{d}")
    y, lam = sp.symbols("y lam")
    z = sum(wi * xi for wi, xi in zip(w, x))
    return codegen.compile(sp.log(1 + sp.exp(z)) - y * z, list(w), params=[lam],
                           data=[list(x), y], reduce="sum",
                           penalty=lam / 2 * sum(wi**2 for wi in w))


def _labels(block, block_info=None):
    """A logistic model's labels for one block of rows, drawn on the worker that holds it."""
    d = block.shape[1]
    w = np.linspace(-1.0, 1.0, d) * (2.0 / np.sqrt(d))
    seed = 1000 + block_info[0]["chunk-location"][0]
    u = np.random.default_rng(seed).random(block.shape[0])
    return (u < 1.0 / (1.0 + np.exp(-(block @ w)))).astype(float)


def make_data(client, n_rows, d, chunk, seed=0):
    """(X, y) generated and persisted on the workers."""
    import dask.array as da
    import distributed
    X = da.random.RandomState(seed).standard_normal((n_rows, d), chunks=(chunk, d))
    y = X.map_blocks(_labels, drop_axis=1, dtype=float)
    X, y = client.persist([X, y])
    distributed.wait([X, y])
    return X, y


def timed(fn, repeats):
    """Median seconds of ``fn()`` over ``repeats`` calls, and its last result."""
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def numpy_value_and_grad(w, lam, X, y):
    """Plain NumPy: the same objective with whole-array operations."""
    z = X @ w
    f = np.sum(np.logaddexp(0.0, z) - y * z) + lam / 2 * (w @ w)
    g = X.T @ (0.5 * (1.0 + np.tanh(0.5 * z)) - y) + lam * w
    return f, g


def dask_ml_fit(X, y, gtol, maxiter):
    try:
        from dask_ml.linear_model import LogisticRegression
    except ImportError as exc:  # the peer is optional
        return None, f"dask-ml not importable ({exc})"
    est = LogisticRegression(solver="lbfgs", C=1.0, fit_intercept=False, tol=gtol,
                             max_iter=maxiter, solver_kwargs={"normalize": False})
    t = time.perf_counter()
    est.fit(X, y)
    return (time.perf_counter() - t, np.asarray(est.coef_).ravel()), ""


def run(args):
    import dask
    import solvers
    from distributed import Client, LocalCluster
    d, n = args.features, args.rows
    chunk = args.chunk or -(-n // 16)
    obj = logistic(d)
    lam = np.array([1.0])
    w = np.full(d, 0.01)
    table, fits, notes = {}, {}, []
    for workers in (1, 2):
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                          host="127.0.0.1", dashboard_address=None,
                          silence_logs=logging.ERROR) as cluster, Client(cluster) as client, \
                dask.config.set({"derive.dask-timeout": 600}):
            X, y = make_data(client, n, d, chunk)
            obj.value_and_grad(w, lam, X, y)  # warm-up: every worker loads the kernels
            table[f"dask, {workers} worker{'s' if workers > 1 else ''}"], vg_dask = timed(
                lambda: obj.value_and_grad(w, lam, X, y), args.repeats)
            if workers == 2:
                fits, notes = fit_both(obj, lam, X, y, args)
                if X.nbytes < args.max_gather_gb * 1e9:
                    Xn, yn = client.compute([X, y], sync=True)
                    # plain NumPy first: OpenMP threads of our kernel spin for a while after
                    # it returns and would slow OpenBLAS's threads
                    table["in-memory NumPy, plain numpy"], _ = timed(
                        lambda: numpy_value_and_grad(w, lam[0], Xn, yn), args.repeats)
                    table["in-memory NumPy, our kernel"], vg_np = timed(
                        lambda: obj.value_and_grad(w, lam, Xn, yn), args.repeats)
                    err = abs(vg_dask[0] - vg_np[0]) / abs(vg_np[0])
                    notes.append(f"dask vs in-memory value: relative difference {err:.1e}")
                    del Xn, yn
                else:
                    notes.append("in-memory rows skipped: X larger than --max-gather-gb")
    report(n, d, chunk, table, fits, notes, args)


def fit_both(obj, lam, X, y, args):
    import solvers
    fits, notes = {}, []
    # ftol=0: ours stops on max|g| <= gtol only (dask-ml's pgtol; SciPy's factr test in dask-ml
    # can only stop it earlier), so ours never stops at a larger gradient than the peer's test
    opts = {"gtol": args.gtol, "ftol": 0.0, "maxiter": 100}
    t = time.perf_counter()
    r = solvers.minimize(obj, np.zeros(X.shape[1]), args=(lam, X, y), options=opts)
    fits["ours (lbfgs on dask, 2 workers)"] = (time.perf_counter() - t, r.x, r.nit, r.nfev)
    notes.append(f"ours: {r.status.name}")
    peer, why = dask_ml_fit(X, y, args.gtol, 100)
    if peer is None:
        notes.append(f"dask-ml skipped: {why}")
    else:
        fits["dask-ml LogisticRegression(lbfgs)"] = (peer[0], peer[1], None, None)
    for name, (sec, x, nit, nfev) in fits.items():
        f, g = obj.value_and_grad(x, lam, X, y)  # both scored by the same evaluation
        fits[name] = (sec, f, float(np.max(np.abs(g))), nit, nfev)
    return fits, notes


def report(n, d, chunk, table, fits, notes, args):
    base = table.get("in-memory NumPy, our kernel")
    print(f"\nlogistic regression value_and_grad, N = {n:,} rows x d = {d}, "
          f"{-(-n // chunk)} blocks of {chunk:,} rows, median of {args.repeats}")
    print(f"{'':34} {'seconds':>10} {'vs in-memory kernel':>20}")
    for name, sec in sorted(table.items(), key=lambda kv: kv[1]):
        ratio = f"{sec / base:>19.2f}x" if base else f"{'n/a':>20}"
        print(f"{name:34} {sec:>10.4f} {ratio}")
    if fits:
        ours = next(iter(fits.values()))[0]
        print(f"\nfull L-BFGS fit (gtol {args.gtol:g}, same objective, data on the workers)")
        print(f"{'':34} {'seconds':>10} {'vs ours':>8} {'nit':>5} {'nfev':>5} "
              f"{'objective':>22} {'max|g|':>10}")
        for name, (sec, f, gmax, nit, nfev) in fits.items():
            print(f"{name:34} {sec:>10.2f} {sec / ours:>7.2f}x {nit if nit is not None else '-':>5} "
                  f"{nfev if nfev is not None else '-':>5} {f:>22.12g} {gmax:>10.2e}")
    for note in notes:
        print("note:", note)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rows", type=int, default=10_000_000)
    p.add_argument("--features", type=int, default=20)
    p.add_argument("--chunk", type=int, default=0, help="rows per block (default N/16)")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--gtol", type=float, default=1e-2, help="max|g| at which both fits stop")
    p.add_argument("--max-gather-gb", type=float, default=4.0,
                   help="gather X to the client for the in-memory rows up to this size")
    p.add_argument("--quick", action="store_true", help="N = 2*10^5, 3 repeats")
    args = p.parse_args(argv)
    if args.quick:
        args.rows, args.repeats = 200_000, 3
    run(args)


if __name__ == "__main__":
    main()
