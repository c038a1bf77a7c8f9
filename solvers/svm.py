"""``SVC``: a scikit-learn-compatible support vector classifier on ``solvers.smo``.

The estimator follows scikit-learn's conventions (``get_params``/``set_params``,
``fit`` returning self, ``predict``, ``decision_function``, ``score``, fitted
attributes ending in ``_``) and its libsvm layout of the fitted model, so it is a
drop-in for ``sklearn.svm.SVC`` in ``clone``, ``cross_val_score`` and
``Pipeline`` — without importing scikit-learn.

>>> import numpy as np
>>> X = np.array([[0.0, 0.0], [0.0, 1.0], [2.0, 0.0], [2.0, 1.0]])
>>> clf = SVC(kernel="linear", C=10.0).fit(X, ["a", "a", "b", "b"])
>>> clf.predict([[0.2, 0.5], [1.8, 0.5]]).tolist()
['a', 'b']
>>> clf.support_.tolist(), clf.dual_coef_.round(3).tolist(), clf.intercept_.round(3).tolist()
([1, 3], [[-0.5, 0.5]], [-1.0])
"""
from __future__ import annotations

import functools
import inspect
import numbers
import warnings

import numpy as np

from codegen import kernels as _kernels
from .smo import smo_solve

__all__ = ["SVC", "ConvergenceWarning", "NotFittedError"]


class ConvergenceWarning(UserWarning):
    """The SMO solver stopped at max_iter before reaching tol."""


class NotFittedError(ValueError, AttributeError):
    """predict/decision_function/score called before fit (same bases as scikit-learn's)."""


@functools.lru_cache(maxsize=None)
def _standard(name, degree):
    return _kernels.standard_kernel(name, degree)


def _check_X(X, what="X"):
    try:
        X = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"SVC: {what} must be numeric, could not convert to float: {exc}") from exc
    if X.ndim != 2:
        raise ValueError(f"SVC: {what} must be a 2-D array (n_samples, n_features), got shape "
                         f"{X.shape}; reshape 1-D data with X.reshape(-1, 1)")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"SVC: {what} is empty (shape {X.shape})")
    if not np.all(np.isfinite(X)):
        bad = np.argwhere(~np.isfinite(X))[0]
        raise ValueError(f"SVC: {what} contains NaN or infinity (first at row {bad[0]}, "
                         f"column {bad[1]}); impute or drop those values")
    return np.ascontiguousarray(X)


class SVC:
    """C-support vector classification solved by SMO with compiled kernels.

    Parameters follow ``sklearn.svm.SVC``. ``kernel`` is "linear", "poly", "rbf",
    "sigmoid", a ``codegen.kernels.CompiledKernel``, a SymPy expression in
    ``codegen.kernels.XZ/XX/ZZ`` (and GAMMA, COEF0, which take ``gamma``/``coef0``),
    a tuple ``(expr, x_symbols, z_symbols)``, or a Python callable ``k(x, z)`` that
    SymPy can trace (``x``, ``z`` are SymPy column vectors). ``gamma`` is "scale"
    (1 / (n_features X.var())), "auto" (1 / n_features) or a positive float.
    ``decision_function_shape`` is "ovr" (default, scikit-learn's) or "ovo".

    Fitted attributes: ``classes_``, ``support_``, ``support_vectors_``,
    ``n_support_``, ``dual_coef_`` (y_i a_i, libsvm's one-vs-one layout),
    ``intercept_``, ``n_iter_``, ``dual_objective_`` (e^T a - 1/2 a^T Q a, per
    binary problem; a float for two classes), ``fit_status_``, ``n_features_in_``.
    """

    _estimator_type = "classifier"

    def __init__(self, C=1.0, kernel="rbf", degree=3, gamma="scale", coef0=0.0, tol=1e-3,
                 cache_size=200, max_iter=-1, decision_function_shape="ovr"):
        self.C = C
        self.kernel = kernel
        self.degree = degree
        self.gamma = gamma
        self.coef0 = coef0
        self.tol = tol
        self.cache_size = cache_size
        self.max_iter = max_iter
        self.decision_function_shape = decision_function_shape

    # ------------------------------------------------ estimator protocol ----
    @classmethod
    def _get_param_names(cls):
        sig = inspect.signature(cls.__init__)
        return sorted(p.name for p in sig.parameters.values() if p.name != "self")

    def get_params(self, deep=True):
        """Constructor parameters as a dict (scikit-learn protocol)."""
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params):
        """Set constructor parameters; returns self (scikit-learn protocol)."""
        valid = self._get_param_names()
        for key, value in params.items():
            if key not in valid:
                raise ValueError(f"Invalid parameter {key!r} for estimator {type(self).__name__}."
                                 f" Valid parameters are: {valid}.")
            setattr(self, key, value)
        return self

    def __repr__(self):
        defaults = {p.name: p.default for p in inspect.signature(type(self).__init__)
                    .parameters.values() if p.name != "self"}
        changed = []
        for k in self._get_param_names():
            v = getattr(self, k)
            d = defaults[k]
            same = False
            try:
                same = bool(v == d) and type(v) is type(d)
            except Exception:  # arrays, SymPy relationals: show them
                same = False
            if not same:
                changed.append(f"{k}={v!r}")
        return f"{type(self).__name__}({', '.join(changed)})"

    def __sklearn_tags__(self):
        # only called by scikit-learn itself, so importing it here is free
        from sklearn.utils import ClassifierTags, InputTags, Tags, TargetTags  # noqa: PLC0415
        return Tags(estimator_type="classifier", target_tags=TargetTags(required=True),
                    classifier_tags=ClassifierTags(), input_tags=InputTags())

    # ------------------------------------------------------------ checks ----
    def _check_params(self):
        C = self.C
        if not isinstance(C, numbers.Real) or not np.isfinite(C) or C <= 0:
            raise ValueError(f"SVC: C must be a positive finite number, got {C!r}")
        if not isinstance(self.tol, numbers.Real) or not self.tol > 0:
            raise ValueError(f"SVC: tol must be a positive number, got {self.tol!r}")
        if not isinstance(self.cache_size, numbers.Real) or not self.cache_size > 0:
            raise ValueError(f"SVC: cache_size (MB) must be positive, got {self.cache_size!r}")
        if not isinstance(self.max_iter, numbers.Integral) or self.max_iter == 0:
            raise ValueError(f"SVC: max_iter must be a positive integer or -1 (no limit), "
                             f"got {self.max_iter!r}")
        if self.decision_function_shape not in ("ovr", "ovo"):
            raise ValueError(f"SVC: decision_function_shape must be 'ovr' or 'ovo', got "
                             f"{self.decision_function_shape!r}")

    def _gamma_value(self, X):
        g = self.gamma
        if isinstance(g, str):
            if g == "scale":
                var = X.var()
                return 1.0 / (X.shape[1] * var) if var != 0 else 1.0
            if g == "auto":
                return 1.0 / X.shape[1]
            raise ValueError(f"SVC: gamma must be 'scale', 'auto' or a positive float, got {g!r}")
        if not isinstance(g, numbers.Real) or not g > 0:
            raise ValueError(f"SVC: gamma must be 'scale', 'auto' or a positive float, got {g!r}")
        return float(g)

    def _compile_kernel(self, n_features):
        """(CompiledKernel, parameter values) for self.kernel."""
        k = self.kernel
        gc = [self._gamma, float(self.coef0)]
        if isinstance(k, str):
            if k not in _kernels.STANDARD_KERNELS:
                raise ValueError(f"SVC: unknown kernel {k!r}; use one of "
                                 f"{_kernels.STANDARD_KERNELS}, a SymPy expression, a "
                                 "CompiledKernel or a callable")
            degree = self.degree
            if k == "poly" and (not isinstance(degree, numbers.Integral) or degree < 0):
                raise ValueError(f"SVC: degree must be a non-negative integer, got {degree!r}")
            return _standard(k, int(degree) if k == "poly" else 3), np.array(gc)
        kern = _kernels.as_kernel(k, n_features)  # KernelError (a ValueError) names the fault
        kern.check_features(n_features)
        if kern.param_values is not None:
            values = kern.param_values
        else:
            table = {_kernels.GAMMA: gc[0], _kernels.COEF0: gc[1]}
            missing = [str(s) for s in kern.params if s not in table]
            if missing:
                raise ValueError(f"SVC: kernel parameters {missing} have no values; compile "
                                 "the kernel with param_values=...")
            values = np.array([table[s] for s in kern.params])
        return kern, np.asarray(values, dtype=np.float64)

    # --------------------------------------------------------------- fit ----
    def fit(self, X, y):
        """Fit on X (n_samples, n_features) and labels y (any two or more values)."""
        self._check_params()
        X = _check_X(X)
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y.ravel()
        if y.ndim != 1:
            raise ValueError(f"SVC: y must be 1-D (n_samples,), got shape {y.shape}")
        if y.shape[0] != X.shape[0]:
            raise ValueError(f"SVC: X has {X.shape[0]} samples but y has {y.shape[0]}")
        if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
            raise ValueError("SVC: y contains NaN or infinity; labels must be finite")
        if y.dtype.kind == "O" and any(v is None for v in y):
            raise ValueError("SVC: y contains None; every sample needs a label")
        classes, y_idx = np.unique(y, return_inverse=True)
        if classes.shape[0] < 2:
            raise ValueError(f"SVC: y holds a single class ({classes[0]!r}); a classifier needs "
                             "samples of at least two classes")
        self._gamma = self._gamma_value(X)
        kern, params = self._compile_kernel(X.shape[1])
        n_cls = classes.shape[0]
        # libsvm's one-vs-one: problem (i, j), i < j, with y = +1 for class i
        by_class = [np.flatnonzero(y_idx == c) for c in range(n_cls)]
        is_sv = np.zeros(X.shape[0], dtype=bool)
        pair_alpha, pair_b, n_iter, objs, status = [], [], [], [], []
        for i in range(n_cls):
            for j in range(i + 1, n_cls):
                idx = np.concatenate([by_class[i], by_class[j]])
                ypm = np.where(y_idx[idx] == i, 1.0, -1.0)
                res = smo_solve(X[idx], ypm, kern, params, C=float(self.C), tol=float(self.tol),
                                cache_size=float(self.cache_size), max_iter=int(self.max_iter))
                a = np.zeros(X.shape[0])
                a[idx] = ypm * res.alpha
                is_sv[idx[res.alpha > 0]] = True
                pair_alpha.append(a)
                pair_b.append(res.b)
                n_iter.append(res.n_iter)
                objs.append(res.obj)
                status.append(res.status)
        if any(status):
            warnings.warn(f"SVC: the solver hit max_iter={self.max_iter} before reaching "
                          f"tol={self.tol}; increase max_iter or tol, or scale the data",
                          ConvergenceWarning, stacklevel=2)
        support = np.concatenate([c[is_sv[c]] for c in by_class])
        sv_cls = y_idx[support]
        coef = np.zeros((n_cls - 1, support.shape[0]))
        p = 0
        for i in range(n_cls):
            for j in range(i + 1, n_cls):
                a = pair_alpha[p][support]
                if n_cls == 2:      # scikit-learn's binary sign: positive means classes_[1]
                    coef[0] = -a
                    pair_b[0] = -pair_b[0]
                else:
                    coef[j - 1, sv_cls == i] = a[sv_cls == i]
                    coef[i, sv_cls == j] = a[sv_cls == j]
                p += 1
        self.classes_ = classes
        self.support_ = support.astype(np.int32)
        self.support_vectors_ = X[support]
        self.n_support_ = np.array([np.count_nonzero(sv_cls == c) for c in range(n_cls)],
                                   dtype=np.int32)
        self.dual_coef_ = coef
        self.intercept_ = np.array(pair_b)
        self.n_iter_ = np.array(n_iter, dtype=np.int32)
        self.dual_objective_ = objs[0] if n_cls == 2 else np.array(objs)
        self.fit_status_ = int(any(status))
        self.n_features_in_ = X.shape[1]
        self.kernel_ = kern
        self._kernel_params = params
        return self

    # ----------------------------------------------------------- predict ----
    def _check_fitted(self, X):
        if not hasattr(self, "support_vectors_"):
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet; call "
                                 "fit(X, y) first")
        X = _check_X(X)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"SVC: X has {X.shape[1]} features, but the model was fitted with "
                             f"{self.n_features_in_}")
        return X

    def _ovo_decision(self, X):
        n_cls = self.classes_.shape[0]
        sv = self.support_vectors_
        bounds = np.concatenate([[0], np.cumsum(self.n_support_)])
        out = np.empty((X.shape[0], n_cls * (n_cls - 1) // 2))
        step = max(1, (1 << 22) // max(1, sv.shape[0]))   # ~32 MB kernel blocks
        for start in range(0, X.shape[0], step):
            K = self.kernel_.matrix(X[start:start + step], sv, self._kernel_params)
            if n_cls == 2:
                out[start:start + step, 0] = K @ self.dual_coef_[0] + self.intercept_[0]
                continue
            p = 0
            for i in range(n_cls):
                si = slice(bounds[i], bounds[i + 1])
                for j in range(i + 1, n_cls):
                    sj = slice(bounds[j], bounds[j + 1])
                    out[start:start + step, p] = (K[:, si] @ self.dual_coef_[j - 1, si]
                                                  + K[:, sj] @ self.dual_coef_[i, sj]
                                                  + self.intercept_[p])
                    p += 1
        return out

    def decision_function(self, X):
        """Signed distances: (n,) for two classes (positive means classes_[1]); for more,
        (n, n_classes) one-vs-rest votes plus confidences ("ovr") or (n, n_pairs) ("ovo")."""
        X = self._check_fitted(X)
        dec = self._ovo_decision(X)
        n_cls = self.classes_.shape[0]
        if n_cls == 2:
            return dec[:, 0]
        if self.decision_function_shape == "ovo":
            return dec
        return _ovr_from_ovo(dec, n_cls)

    def predict(self, X):
        """Class labels; more than two classes vote one-vs-one as libsvm does."""
        X = self._check_fitted(X)
        dec = self._ovo_decision(X)
        n_cls = self.classes_.shape[0]
        if n_cls == 2:
            # libsvm's rule, in scikit-learn's sign: a tie goes to classes_[1]
            return self.classes_[(dec[:, 0] >= 0).astype(np.intp)]
        votes = np.zeros((X.shape[0], n_cls), dtype=np.int64)
        p = 0
        for i in range(n_cls):
            for j in range(i + 1, n_cls):
                pos = dec[:, p] > 0
                votes[pos, i] += 1
                votes[~pos, j] += 1
                p += 1
        return self.classes_[np.argmax(votes, axis=1)]   # ties: the lowest class index

    def score(self, X, y, sample_weight=None):
        """Mean accuracy of predict(X) against y."""
        y = np.asarray(y)
        hit = (self.predict(X) == y).astype(np.float64)
        return float(np.average(hit, weights=sample_weight))


def _ovr_from_ovo(dec, n_cls):
    """One-vs-rest scores from one-vs-one decisions: votes plus confidences squashed
    into (-1/3, 1/3), so they only break ties (scikit-learn's transform)."""
    votes = np.zeros((dec.shape[0], n_cls))
    conf = np.zeros((dec.shape[0], n_cls))
    p = 0
    for i in range(n_cls):
        for j in range(i + 1, n_cls):
            conf[:, i] += dec[:, p]
            conf[:, j] -= dec[:, p]
            votes[dec[:, p] >= 0, i] += 1
            votes[dec[:, p] < 0, j] += 1
            p += 1
    return votes + conf / (3 * (np.abs(conf) + 1))
