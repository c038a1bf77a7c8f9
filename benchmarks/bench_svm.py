"""Fit time of solvers.svm.SVC against scikit-learn's SVC (libsvm), side by side.

    python benchmarks/bench_svm.py            # n = 1,000 ... 20,000
    python benchmarks/bench_svm.py --quick    # n = 1,000 and 2,000

Both solvers run single-threaded (libsvm is; our kernel rows use no prange), on
the same standardised make_classification data, same C, gamma="scale" and
tol=1e-3. The objective column is the relative difference of the dual
objectives (ours from the solver, libsvm's re-evaluated in float64 from its
dual coefficients). Times are the best of --repeat runs, in CPU seconds of this
process by default (both solvers are single-threaded, and CPU time is robust
when other jobs share the machine); --wall switches to wall-clock time. Our
first fit in a process loads the cached compiled solver, so a warm-up fit runs
before timing.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from solvers.svm import SVC  # noqa: E402


def _data(n, d, seed, sep):
    from sklearn.datasets import make_classification  # noqa: PLC0415
    X, y = make_classification(n_samples=n, n_features=d, n_informative=max(2, d // 2),
                               n_redundant=d // 4, class_sep=sep, flip_y=0.01,
                               random_state=seed)
    X = (X - X.mean(0)) / X.std(0)
    return X, y


def _best(fn, repeat, clock):
    best = np.inf
    out = None
    for _ in range(repeat):
        t = clock()
        out = fn()
        best = min(best, clock() - t)
    return best, out


def _sk_objective(m, X, y):
    """Dual objective e^T a - 1/2 a^T Q a of a fitted binary sklearn SVC."""
    from codegen.kernels import standard_kernel  # noqa: PLC0415
    a = m.dual_coef_[0]
    sv = X[m.support_]
    k = standard_kernel(m.kernel)
    K = k.matrix(sv, sv, [m._gamma, m.coef0])
    return np.abs(a).sum() - 0.5 * a @ K @ a


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes only (development)")
    ap.add_argument("--sizes", type=int, nargs="*", help="override the list of n")
    ap.add_argument("--repeat", type=int, default=None,
                    help="best-of repeats per fit (default 3 for n <= 5000, else 1)")
    ap.add_argument("--features", type=int, default=20)
    ap.add_argument("--wall", action="store_true", help="wall-clock instead of CPU time")
    ap.add_argument("--kernels", nargs="*", default=["linear", "rbf"])
    args = ap.parse_args(argv)
    try:
        from sklearn.svm import SVC as SkSVC  # noqa: PLC0415
    except ImportError:
        print("scikit-learn is not installed: pip install scikit-learn "
              "(the peer of this benchmark)")
        return 1
    sizes = args.sizes or ([1000, 2000] if args.quick else [1000, 2000, 5000, 10000, 20000])
    # warm-up: load the compiled solver and kernels
    Xw, yw = _data(200, args.features, 0, 1.0)
    for kern in ("linear", "rbf"):
        SVC(kernel=kern).fit(Xw, yw)

    clock = time.perf_counter if args.wall else time.process_time
    unit = "wall s" if args.wall else "cpu s"
    print(f"times in {unit} ({'wall clock' if args.wall else 'process CPU time'}), best of "
          f"{args.repeat or '3 (n <= 5000) or 1'}; tol=1e-3, gamma='scale', "
          f"{args.features} features, single thread")
    print(f"{'kernel':7} {'C':>4} {'data':10} {'n':>6} {'ours s':>8} {'libsvm s':>9} "
          f"{'ratio':>6} {'nSV ours':>8} {'nSV lib':>8} {'obj rel diff':>12} {'pred agree':>10}")
    rows = []
    for n in sizes:
        repeat = args.repeat or (3 if n <= 5000 else 1)
        for sep, label in ((1.0, "overlap"), (3.0, "separable")):
            X, y = _data(n, args.features, n, sep)
            for kern in args.kernels:
                for C in (1.0, 10.0):
                    t_us, ours = _best(lambda: SVC(kernel=kern, C=C).fit(X, y), repeat, clock)
                    t_sk, sk = _best(lambda: SkSVC(kernel=kern, C=C).fit(X, y), repeat,
                                     clock)
                    obj_sk = _sk_objective(sk, X, y)
                    rel = abs(ours.dual_objective_ - obj_sk) / abs(obj_sk)
                    agree = np.mean(ours.predict(X) == sk.predict(X))
                    rows.append((kern, C, label, n, t_us, t_sk))
                    print(f"{kern:7} {C:4g} {label:10} {n:6d} {t_us:8.3f} {t_sk:9.3f} "
                          f"{t_sk / t_us:6.2f} {len(ours.support_):8d} {len(sk.support_):8d} "
                          f"{rel:12.1e} {agree:10.4f}", flush=True)
    ratios = np.array([r[5] / r[4] for r in rows])
    print(f"\nspeed-up over libsvm (libsvm time / ours): min {ratios.min():.2f}, "
          f"median {np.median(ratios):.2f}, max {ratios.max():.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
