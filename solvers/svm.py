"""``SVC``: a scikit-learn estimator (C-support vector classification) on ``solvers.smo``.

With scikit-learn installed, ``SVC`` derives from its ``BaseEstimator`` and
``ClassifierMixin``, validates input with its ``validate_data`` and
``check_is_fitted``, raises its ``NotFittedError`` and warns with its
``ConvergenceWarning``, and passes every ``check_estimator`` check that
``sklearn.svm.SVC`` passes. Without scikit-learn it runs on small local
stand-ins with the same behaviour. scikit-learn is imported on first use of
these names, not by ``import solvers`` (it costs about a second).

The fitted model has libsvm's layout (``support_``, ``dual_coef_``, ...), so the
estimator is a drop-in for ``sklearn.svm.SVC`` in ``clone``, ``cross_val_score``
and ``Pipeline``.

>>> import numpy as np
>>> from solvers.svm import SVC
>>> X = np.array([[0.0, 0.0], [0.0, 1.0], [2.0, 0.0], [2.0, 1.0]])
>>> clf = SVC(kernel="linear", C=10.0).fit(X, ["a", "a", "b", "b"])
>>> clf.predict([[0.2, 0.5], [1.8, 0.5]]).tolist()
['a', 'b']
>>> clf.support_.tolist(), clf.dual_coef_.round(3).tolist(), clf.intercept_.round(3).tolist()
([1, 3], [[-0.5, 0.5]], [-1.0])
>>> clf.coef_.round(3).tolist()
[[1.0, 0.0]]
"""
from __future__ import annotations

import functools
import inspect
import numbers
import warnings
from collections.abc import Mapping
from types import SimpleNamespace

import numpy as np
import scipy.sparse

from .smo import STATUS_MESSAGES, smo_solve

__all__ = ["SVC", "ConvergenceWarning", "NotFittedError"]

_LAZY = ("SVC", "ConvergenceWarning", "NotFittedError")


@functools.lru_cache(maxsize=None)
def _sklearn():
    """scikit-learn's base classes and validation utilities, or None without it."""
    try:
        from sklearn.base import BaseEstimator, ClassifierMixin  # noqa: PLC0415
        from sklearn.exceptions import ConvergenceWarning, NotFittedError  # noqa: PLC0415
        from sklearn.utils import column_or_1d  # noqa: PLC0415
        from sklearn.utils.multiclass import check_classification_targets  # noqa: PLC0415
        from sklearn.utils.validation import check_is_fitted  # noqa: PLC0415
    except ImportError:
        return None
    try:
        from sklearn.utils.validation import validate_data  # noqa: PLC0415  (>= 1.6)
    except ImportError:
        def validate_data(est, *args, **kwargs):
            return est._validate_data(*args, **kwargs)
    return SimpleNamespace(BaseEstimator=BaseEstimator, ClassifierMixin=ClassifierMixin,
                           ConvergenceWarning=ConvergenceWarning, NotFittedError=NotFittedError,
                           column_or_1d=column_or_1d, validate_data=validate_data,
                           check_classification_targets=check_classification_targets,
                           check_is_fitted=check_is_fitted)


# ------------------------------------------- stand-ins without scikit-learn ----

class _LocalConvergenceWarning(UserWarning):
    """The SMO solver stopped at max_iter before reaching tol."""


class _LocalNotFittedError(ValueError, AttributeError):
    """predict/decision_function/score called before fit (scikit-learn's bases)."""


class _LocalBase:
    """get_params/set_params/repr as scikit-learn's BaseEstimator."""

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
            try:
                same = bool(v == defaults[k]) and type(v) is type(defaults[k])
            except Exception:  # arrays, SymPy relationals: show them
                same = False
            if not same:
                changed.append(f"{k}={v!r}")
        return f"{type(self).__name__}({', '.join(changed)})"


class _LocalClassifierMixin:
    _estimator_type = "classifier"

    def score(self, X, y, sample_weight=None):
        """Mean accuracy of predict(X) against y."""
        hit = (self.predict(X) == np.asarray(y)).astype(np.float64)
        return float(np.average(hit, weights=sample_weight))


def _names():
    sk = _sklearn()
    if sk is None:
        return {"ConvergenceWarning": _LocalConvergenceWarning,
                "NotFittedError": _LocalNotFittedError}
    return {"ConvergenceWarning": sk.ConvergenceWarning, "NotFittedError": sk.NotFittedError}


def __getattr__(name):
    # SVC's bases come from scikit-learn when it is installed: built on first use (PEP 562)
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if name == "SVC":
        sk = _sklearn()
        bases = ((sk.ClassifierMixin, sk.BaseEstimator) if sk is not None
                 else (_LocalClassifierMixin, _LocalBase))
        value = type("SVC", (_SVCMethods,) + bases,
                     {"__module__": __name__, "__qualname__": "SVC",
                      "__doc__": _SVCMethods.__doc__})
    else:
        value = _names()[name]
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


# ------------------------------------------------------- input checks ----

def _kernels():
    """``codegen.kernels``, imported when a fit needs it: codegen loads SymPy, which
    ``import solvers`` must not."""
    from codegen import kernels  # noqa: PLC0415
    return kernels


@functools.lru_cache(maxsize=None)
def _standard(name, degree):
    return _kernels().standard_kernel(name, degree)


def _is_real(v):
    return isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_))


def _is_int(v):
    return isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_))


def _is_bool(v):
    return isinstance(v, (bool, np.bool_))


def _local_check_X(X, accept_sparse):
    """scikit-learn's check_array rules (and messages) for X, without scikit-learn."""
    if scipy.sparse.issparse(X):
        if not accept_sparse:
            raise TypeError("SVC: sparse input is not supported with kernel='precomputed'; "
                            "pass the Gram matrix as a dense array")
        X = scipy.sparse.csr_matrix(X)
        if np.iscomplexobj(X.data):
            raise ValueError("SVC: complex data not supported")
        X = X.astype(np.float64)
        data = X.data
    else:
        if np.iscomplexobj(X):
            raise ValueError("SVC: complex data not supported")
        try:
            X = np.asarray(X, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"SVC: X must be numeric, could not convert to float: {exc}") from exc
        if X.ndim != 2:
            raise ValueError(f"SVC: expected 2D array, got {X.ndim}D array instead (shape "
                             f"{X.shape}). Reshape your data either using array.reshape(-1, 1) "
                             "if your data has a single feature or array.reshape(1, -1) if it "
                             "contains a single sample.")
        data = X
    if X.shape[0] == 0:
        raise ValueError(f"SVC: found array with 0 sample(s) (shape={X.shape}) while a minimum "
                         "of 1 is required.")
    if X.shape[1] == 0:
        raise ValueError(f"SVC: found array with 0 feature(s) (shape={X.shape}) while a minimum "
                         "of 1 is required.")
    if not np.all(np.isfinite(data)):
        what = "NaN" if np.isnan(data).any() else "infinity"
        raise ValueError(f"SVC: input X contains {what}; impute or drop those values")
    return X if scipy.sparse.issparse(X) else np.ascontiguousarray(X)


def _local_check_y(y):
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        warnings.warn("SVC: a column-vector y was passed when a 1d array was expected; "
                      "use y.ravel()", UserWarning, stacklevel=4)
        y = y.ravel()
    if y.ndim != 1:
        raise ValueError(f"SVC: y must be 1-D (n_samples,), got shape {y.shape}")
    if y.dtype.kind in "fc" and not np.all(np.isfinite(y)):
        raise ValueError("SVC: input y contains NaN or infinity; labels must be finite")
    if y.dtype.kind == "O" and any(v is None for v in y):
        raise ValueError("SVC: y contains None; every sample needs a label")
    if y.dtype.kind == "f" and np.any(y != np.round(y)):
        raise ValueError("SVC: unknown label type: continuous; a classifier needs class labels, "
                         "not real-valued targets")
    return y


def _label(v):
    """A class label for messages: 1, not np.int64(1)."""
    return v.item() if isinstance(v, np.generic) else v


def _num_samples(X):
    if hasattr(X, "shape") and len(X.shape) > 0:
        return int(X.shape[0])
    return len(X)


def _feature_names(X):
    cols = getattr(X, "columns", None)
    if cols is None:
        return None
    names = np.asarray(list(cols), dtype=object)
    return names if len(names) and all(isinstance(c, str) for c in names) else None


# ------------------------------------------------------------ the SVC ----

class _SVCMethods:
    """C-support vector classification solved by SMO with compiled kernels.

    Parameters follow ``sklearn.svm.SVC`` (``probability``, ``nu`` and friends aside).
    ``kernel`` is one of

    * "linear", "poly", "rbf", "sigmoid" (compiled once, cached on disk);
    * "precomputed": X is the Gram matrix K(X_train, X_train) in ``fit`` and
      K(X_test, X_train) in ``predict``;
    * a plain Python callable, scikit-learn's convention: ``k(X, Y)`` returns the
      Gram matrix (n_X, n_Y); it is evaluated once in ``fit`` and the solver runs on
      that matrix (no compile per kernel);
    * our extra, kernels compiled from SymPy: a SymPy expression in
      ``codegen.kernels.XZ/XX/ZZ`` (and GAMMA, COEF0, which take ``gamma``/``coef0``),
      a tuple ``(expr, x_symbols, z_symbols)``, a ``codegen.kernels.CompiledKernel``,
      or ``codegen.kernels.traced(fn)`` for a function ``fn(x, z)`` of SymPy column
      vectors. A callable is taken for SymPy only when wrapped by ``traced``.

    ``gamma`` is "scale" (1 / (n_features X.var())), "auto" (1 / n_features) or a
    finite float >= 0. ``class_weight`` (a dict label -> weight, or "balanced":
    n_samples / (n_classes * count)) and ``fit(sample_weight=)`` scale C per sample,
    C_i = C * class_weight[y_i] * sample_weight_i, as libsvm does; samples of weight 0
    are left out. ``shrinking`` switches the solver's shrinking heuristic; ``verbose``
    prints one line per binary problem; ``random_state`` is accepted for
    compatibility and unused (the solver is deterministic; libsvm uses it only for
    probability estimates, which this SVC does not make). ``break_ties`` with
    ``decision_function_shape="ovr"`` and more than two classes predicts the argmax
    of the decision function instead of libsvm's vote.

    Sparse X (any scipy.sparse format, converted to CSR) is accepted: the solver's
    compiled kernel rows read dense rows, so the training matrix is densified once
    (n_samples x n_features float64) and test data block by block in ``predict``;
    ``support_vectors_`` stays CSR as in scikit-learn. ``dual_coef_`` and ``coef_``
    are dense arrays even then (scikit-learn makes them sparse).

    Fitted attributes: ``classes_``, ``class_weight_``, ``support_``,
    ``support_vectors_`` (empty for "precomputed"), ``n_support_``, ``dual_coef_``
    (y_i a_i, libsvm's one-vs-one layout), ``intercept_``, ``coef_`` (linear kernel
    only), ``n_iter_``, ``dual_objective_`` (e^T a - 1/2 a^T Q a per binary problem;
    a float for two classes), ``fit_status_``, ``shape_fit_``, ``n_features_in_``,
    ``feature_names_in_`` (when X has string column names), ``kernel_``.
    """

    def __init__(self, *, C=1.0, kernel="rbf", degree=3, gamma="scale", coef0=0.0,
                 shrinking=True, tol=1e-3, cache_size=200, class_weight=None, verbose=False,
                 max_iter=-1, decision_function_shape="ovr", break_ties=False,
                 random_state=None):
        self.C = C
        self.kernel = kernel
        self.degree = degree
        self.gamma = gamma
        self.coef0 = coef0
        self.shrinking = shrinking
        self.tol = tol
        self.cache_size = cache_size
        self.class_weight = class_weight
        self.verbose = verbose
        self.max_iter = max_iter
        self.decision_function_shape = decision_function_shape
        self.break_ties = break_ties
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        pre = isinstance(self.kernel, str) and self.kernel == "precomputed"
        tags.input_tags.pairwise = pre
        tags.input_tags.sparse = not pre
        return tags

    def _more_tags(self):   # scikit-learn < 1.6
        return {"pairwise": isinstance(self.kernel, str) and self.kernel == "precomputed"}

    # ------------------------------------------------------------ checks ----
    def _check_params(self):
        """Every hyperparameter, at fit time (scikit-learn's rule): a ValueError naming it."""
        def bad(name, need):
            return ValueError(f"SVC: the {name!r} parameter must be {need}, got "
                              f"{getattr(self, name)!r}")
        C, g = self.C, self.gamma
        if not _is_real(C) or not np.isfinite(C) or C <= 0:
            raise bad("C", "a positive finite number")
        if not _is_int(self.degree) or self.degree < 0:
            raise bad("degree", "a non-negative integer")
        if isinstance(g, str):
            if g not in ("scale", "auto"):
                raise bad("gamma", "'scale', 'auto' or a finite float >= 0")
        elif not _is_real(g) or not np.isfinite(g) or g < 0:
            raise bad("gamma", "'scale', 'auto' or a finite float >= 0")
        if not _is_real(self.coef0) or not np.isfinite(self.coef0):
            raise bad("coef0", "a finite number")
        if not _is_real(self.tol) or not np.isfinite(self.tol) or self.tol <= 0:
            raise bad("tol", "a positive finite number")
        if (not _is_real(self.cache_size) or not np.isfinite(self.cache_size)
                or self.cache_size <= 0):
            raise bad("cache_size", "a positive number of megabytes")
        if not _is_int(self.max_iter) or self.max_iter == 0 or self.max_iter < -1:
            raise bad("max_iter", "a positive integer or -1 (no limit)")
        for name in ("shrinking", "break_ties"):
            if not _is_bool(getattr(self, name)):
                raise bad(name, "True or False")
        if not (_is_bool(self.verbose) or _is_int(self.verbose)):
            raise bad("verbose", "a bool or an int")
        if self.decision_function_shape not in ("ovr", "ovo"):
            raise bad("decision_function_shape", "'ovr' or 'ovo'")
        cw = self.class_weight
        if not (cw is None or isinstance(cw, Mapping)
                or (isinstance(cw, str) and cw == "balanced")):
            raise bad("class_weight", "None, 'balanced' or a dict {label: weight}")
        rs = self.random_state
        if not (rs is None or (_is_int(rs) and 0 <= rs < 2**32)
                or isinstance(rs, (np.random.RandomState, np.random.Generator))):
            raise bad("random_state", "None, an int in [0, 2**32) or a numpy RandomState")
        return self._kernel_kind()

    def _kernel_kind(self):
        k = self.kernel
        kernels = _kernels()
        if isinstance(k, str):
            if k in kernels.STANDARD_KERNELS:
                return "standard"
            if k == "precomputed":
                return "precomputed"
            raise ValueError(f"SVC: unknown kernel {k!r}; the 'kernel' parameter must be one of "
                             f"{kernels.STANDARD_KERNELS + ('precomputed',)}, a callable "
                             "k(X, Y) -> Gram matrix, or a SymPy kernel (see codegen.kernels)")
        if kernels.is_symbolic(k):
            return "symbolic"
        if callable(k):
            return "callable"
        raise ValueError(f"SVC: the 'kernel' parameter must be a kernel name, a callable k(X, Y) "
                         f"or a SymPy kernel, got {type(k).__name__}")

    def _sk_validate(self, X, y=None, reset=True, accept_sparse=True):
        sk = _sklearn()
        kw = dict(accept_sparse="csr" if accept_sparse else False, dtype=np.float64, order="C",
                  reset=reset)
        if sk is not None:
            if y is None:
                return sk.validate_data(self, X, **kw)
            return sk.validate_data(self, X, y, **kw)
        Xc = _local_check_X(X, accept_sparse)
        if reset:
            self.n_features_in_ = Xc.shape[1]
            names = _feature_names(X)
            if names is not None:
                self.feature_names_in_ = names
        elif Xc.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {Xc.shape[1]} features, but SVC is expecting "
                             f"{self.n_features_in_} features as input.")
        if y is None:
            return Xc
        y = _local_check_y(y)
        if y.shape[0] != Xc.shape[0]:
            raise ValueError(f"SVC: X has {Xc.shape[0]} samples but y has {y.shape[0]}")
        return Xc, y

    def _labels(self, y):
        sk = _sklearn()
        if sk is None:
            return _local_check_y(y)
        y = sk.column_or_1d(y, warn=True)
        sk.check_classification_targets(y)
        return y

    def _sample_weight(self, sample_weight, n):
        if sample_weight is None:
            return np.ones(n)
        try:
            sw = np.asarray(sample_weight, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"SVC: sample_weight must be numeric: {exc}") from exc
        if sw.ndim == 0:
            sw = np.full(n, float(sw))
        if sw.shape != (n,):
            raise ValueError(f"SVC: sample_weight has shape {sw.shape}; it needs one weight per "
                             f"sample, shape ({n},)")
        if not np.all(np.isfinite(sw)):
            raise ValueError("SVC: sample_weight contains NaN or infinity")
        if np.any(sw < 0):
            k = int(np.flatnonzero(sw < 0)[0])
            raise ValueError(f"SVC: sample_weight[{k}] = {float(sw[k])!r} is negative; weights "
                             "must be >= 0 (0 leaves the sample out)")
        if not np.any(sw > 0):
            raise ValueError("SVC: every sample_weight is zero; at least one sample of each "
                             "class needs a positive weight")
        return sw

    def _class_weights(self, classes, y_idx):
        cw = self.class_weight
        n_cls = classes.shape[0]
        if cw is None:
            return np.ones(n_cls)
        if isinstance(cw, str):   # "balanced", scikit-learn's compute_class_weight
            return y_idx.shape[0] / (n_cls * np.bincount(y_idx, minlength=n_cls))
        out = np.ones(n_cls)
        for label, w in cw.items():
            hit = np.flatnonzero(classes == label)
            if hit.size == 0:
                raise ValueError(f"SVC: class_weight names the class {_label(label)!r}, which is "
                                 f"not in y (classes {classes.tolist()})")
            if not _is_real(w) or not np.isfinite(w) or w <= 0:
                raise ValueError(f"SVC: class_weight[{label!r}] must be a positive finite "
                                 f"number, got {w!r}")
            out[hit[0]] = float(w)
        return out

    def _gamma_value(self, X):
        g = self.gamma
        if g == "scale":
            if scipy.sparse.issparse(X):
                var = X.multiply(X).mean() - X.mean() ** 2
            else:
                var = X.var()
            return 1.0 / (X.shape[1] * var) if var != 0 else 1.0
        if g == "auto":
            return 1.0 / X.shape[1]
        return float(g)

    def _symbolic_kernel(self, n_features):
        """(CompiledKernel, parameter values) for a SymPy kernel spec."""
        kernels = _kernels()
        kern = kernels.as_kernel(self.kernel, n_features)   # KernelError names the fault
        kern.check_features(n_features)
        if kern.param_values is not None:
            return kern, np.asarray(kern.param_values, dtype=np.float64)
        table = {kernels.GAMMA: self._gamma, kernels.COEF0: float(self.coef0)}
        missing = [str(s) for s in kern.params if s not in table]
        if missing:
            raise ValueError(f"SVC: kernel parameters {missing} have no values; compile the "
                             "kernel with param_values=...")
        return kern, np.array([table[s] for s in kern.params], dtype=np.float64)

    def _call_kernel(self, A, B, shape):
        """A scikit-learn-style kernel's Gram matrix, checked."""
        name = getattr(self.kernel, "__name__", repr(self.kernel))
        hint = ("a callable kernel follows scikit-learn: k(X, Y) returns the (n_X, n_Y) Gram "
                "matrix; for a SymPy kernel k(x, z) of two vectors pass "
                "codegen.kernels.traced(k)")
        try:
            K = self.kernel(A, B)
            if scipy.sparse.issparse(K):
                K = K.toarray()
            K = np.asarray(K, dtype=np.float64)
        except Exception as exc:   # the user's code: say what we called it with
            raise TypeError(f"SVC: kernel {name} failed on arrays of {shape[0]} and {shape[1]} "
                            f"samples ({type(exc).__name__}: {exc}); {hint}") from exc
        if K.shape != shape:
            raise ValueError(f"SVC: kernel {name} returned shape {K.shape}, expected {shape}; "
                             f"{hint}")
        if not np.all(np.isfinite(K)):
            raise ValueError(f"SVC: kernel {name} returned NaN or infinity")
        return np.ascontiguousarray(K)

    # --------------------------------------------------------------- fit ----
    def fit(self, X, y, sample_weight=None):
        """Fit on X (n_samples, n_features) and labels y (two or more classes).

        X is the (n_samples, n_samples) Gram matrix for kernel="precomputed", and
        anything the kernel accepts for a callable kernel. ``sample_weight`` scales C
        per sample (0 leaves a sample out).
        """
        kind = self._check_params()
        if y is None:
            raise ValueError("SVC requires y to be passed, but the target y is None")
        X, y, data = self._fit_data(X, y, kind)
        n = data.shape[0]
        classes, y_idx = np.unique(y, return_inverse=True)
        y_idx = y_idx.ravel()
        if classes.shape[0] < 2:
            raise ValueError(f"SVC: y holds a single class ({_label(classes[0])!r}); the number of "
                             "classes has to be greater than one; got 1 class")
        sw = self._sample_weight(sample_weight, n)
        self.class_weight_ = self._class_weights(classes, y_idx)
        Cs = float(self.C) * self.class_weight_[y_idx] * sw
        kern, params = self._fit_kernel(kind, X, data)
        # samples of weight 0 are left out, as libsvm's remove_zero_weight does
        by_class = [np.flatnonzero((y_idx == c) & (Cs > 0)) for c in range(classes.shape[0])]
        empty = [_label(classes[c]) for c, idx in enumerate(by_class) if idx.size == 0]
        if empty:
            raise ValueError(f"SVC: class {empty[0]!r} has no sample with a positive weight "
                             "(sample_weight * class_weight); every class needs one")
        gram = kind in ("precomputed", "callable")
        results = self._solve_pairs(data, gram, classes, y_idx, by_class, Cs, kern, params)
        if any(not res.status.converged for _, _, res in results):
            warnings.warn(f"SVC: the solver hit max_iter={self.max_iter} before reaching "
                          f"tol={self.tol}; increase max_iter or tol, or scale the data",
                          _names()["ConvergenceWarning"], stacklevel=2)
        self._store_model(X, kind, classes, y_idx, by_class, results)
        self.kernel_ = kern
        self._kernel_params = params
        return self

    def _fit_data(self, X, y, kind):
        """(X, y, data): X and y validated and the matrix the solver reads (the Gram matrix
        for a precomputed or callable kernel, X densified otherwise); sets shape_fit_."""
        if kind == "callable":
            n = _num_samples(X)
            y = self._labels(y)
            if y.shape[0] != n:
                raise ValueError(f"SVC: X has {n} samples but y has {y.shape[0]}")
            self._X_fit = X
            data = self._call_kernel(X, X, (n, n))
            self.shape_fit_ = (n,) if not hasattr(X, "shape") else tuple(X.shape)
            return X, y, data
        if kind == "precomputed" and scipy.sparse.issparse(X):
            raise TypeError("SVC: sparse precomputed kernels are not supported; pass the "
                            "Gram matrix as a dense array")
        X, y = self._sk_validate(X, y, accept_sparse=kind != "precomputed")
        y = self._labels(y)
        if kind == "precomputed" and X.shape[0] != X.shape[1]:
            raise ValueError(f"SVC: kernel='precomputed' needs the square Gram matrix "
                             f"K(X_train, X_train) as X, got shape {X.shape}")
        self.shape_fit_ = X.shape
        return X, y, (X.toarray() if scipy.sparse.issparse(X) else X)

    def _fit_kernel(self, kind, X, data):
        """(compiled kernel, its parameter values) for the fit; sets _gamma."""
        if kind in ("precomputed", "callable"):
            self._gamma = 0.0
            return _kernels().precomputed_kernel(), np.zeros(0)
        self._gamma = self._gamma_value(X)
        if kind == "standard":
            kern = _standard(self.kernel, int(self.degree) if self.kernel == "poly" else 3)
            return kern, np.array([self._gamma, float(self.coef0)])
        return self._symbolic_kernel(data.shape[1])

    def _solve_pairs(self, data, gram, classes, y_idx, by_class, Cs, kern, params):
        """libsvm's one-vs-one: the binary problem (i, j), i < j, with y = +1 for class i,
        for every pair. Returns [(sample indices, +-1 labels, SMOResult)] in pair order."""
        results = []
        n_cls = classes.shape[0]
        for i in range(n_cls):
            for j in range(i + 1, n_cls):
                idx = np.concatenate([by_class[i], by_class[j]])
                ypm = np.where(y_idx[idx] == i, 1.0, -1.0)
                sub = data[np.ix_(idx, idx)] if gram else data[idx]
                res = smo_solve(sub, ypm, kern, params, C=Cs[idx], tol=float(self.tol),
                                cache_size=float(self.cache_size), max_iter=int(self.max_iter),
                                shrinking=bool(self.shrinking))
                if self.verbose:
                    print(f"[SVC] classes ({_label(classes[i])!r}, {_label(classes[j])!r}): "
                          f"{res.n_iter} iterations, dual objective {res.obj:.10g}, "
                          f"{np.count_nonzero(res.alpha)} support vectors; "
                          f"{STATUS_MESSAGES[res.status]}")
                results.append((idx, ypm, res))
        return results

    def _store_model(self, X, kind, classes, y_idx, by_class, results):
        """The fitted attributes in libsvm's layout: support vectors grouped by class,
        dual_coef_ row j - 1 (or i) holding class i's (or j's) coefficients of pair (i, j)."""
        n_cls = classes.shape[0]
        is_sv = np.zeros(y_idx.shape[0], dtype=bool)
        for idx, _, res in results:
            is_sv[idx[res.alpha > 0]] = True
        support = np.concatenate([c[is_sv[c]] for c in by_class])
        sv_cls = y_idx[support]
        coef = np.zeros((n_cls - 1, support.shape[0]))
        intercept = np.array([res.b for _, _, res in results])
        pairs = [(i, j) for i in range(n_cls) for j in range(i + 1, n_cls)]
        for (i, j), (idx, ypm, res) in zip(pairs, results):
            a = np.zeros(y_idx.shape[0])
            a[idx] = ypm * res.alpha
            a = a[support]
            if n_cls == 2:      # scikit-learn's binary sign: positive means classes_[1]
                coef[0] = -a
                intercept[0] = -intercept[0]
            else:
                coef[j - 1, sv_cls == i] = a[sv_cls == i]
                coef[i, sv_cls == j] = a[sv_cls == j]
        self._kind = kind
        self.classes_ = classes
        self.support_ = support.astype(np.int32)
        if kind == "precomputed":
            self.support_vectors_ = np.empty((0, 0))
        elif kind == "callable":
            self.support_vectors_ = (X[support] if hasattr(X, "shape")
                                     else [X[k] for k in support])
        else:
            self.support_vectors_ = X[support]
        self.n_support_ = np.array([np.count_nonzero(sv_cls == c) for c in range(n_cls)],
                                   dtype=np.int32)
        self.dual_coef_ = coef
        self.intercept_ = intercept
        self.n_iter_ = np.array([res.n_iter for _, _, res in results], dtype=np.int32)
        objs = [res.obj for _, _, res in results]
        self.dual_objective_ = objs[0] if n_cls == 2 else np.array(objs)
        self.fit_status_ = int(any(not res.status.converged for _, _, res in results))

    # ----------------------------------------------------------- predict ----
    def _check_fitted(self):
        sk = _sklearn()
        if sk is not None:
            sk.check_is_fitted(self, "support_")
        elif not hasattr(self, "support_"):
            raise _LocalNotFittedError(f"This {type(self).__name__} instance is not fitted yet; "
                                       "call fit(X, y) first")

    def _kernel_blocks(self, X):
        """(number of rows of X, iterator of (row slice, K(X[rows], support vectors)))."""
        self._check_fitted()
        kind = self._kind
        sup = self.support_
        if kind == "callable":
            n = self.shape_fit_[0]
            K = self._call_kernel(X, self._X_fit, (_num_samples(X), n))
            return K.shape[0], iter([(slice(None), K[:, sup])])
        X = self._sk_validate(X, reset=False, accept_sparse=kind != "precomputed")
        if kind == "precomputed":
            if X.shape[1] != self.shape_fit_[0]:
                raise ValueError(f"SVC: kernel='precomputed' needs K(X_test, X_train) with "
                                 f"{self.shape_fit_[0]} columns, got shape {X.shape}")
            return X.shape[0], iter([(slice(None), X[:, sup])])
        sv = self.support_vectors_
        sv = sv.toarray() if scipy.sparse.issparse(sv) else sv
        step = max(1, (1 << 22) // max(1, sv.shape[0]))   # ~32 MB kernel blocks

        def blocks():
            for start in range(0, X.shape[0], step):
                rows = X[start:start + step]
                if scipy.sparse.issparse(rows):
                    rows = rows.toarray()     # densified a block at a time
                yield (slice(start, start + step),
                       self.kernel_.matrix(rows, sv, self._kernel_params))
        return X.shape[0], blocks()

    def _ovo_decision(self, X):
        m, blocks = self._kernel_blocks(X)
        n_cls = self.classes_.shape[0]
        bounds = np.concatenate([[0], np.cumsum(self.n_support_)])
        out = np.empty((m, n_cls * (n_cls - 1) // 2))
        for rows, K in blocks:
            if n_cls == 2:
                out[rows, 0] = K @ self.dual_coef_[0] + self.intercept_[0]
                continue
            p = 0
            for i in range(n_cls):
                si = slice(bounds[i], bounds[i + 1])
                for j in range(i + 1, n_cls):
                    sj = slice(bounds[j], bounds[j + 1])
                    out[rows, p] = (K[:, si] @ self.dual_coef_[j - 1, si]
                                    + K[:, sj] @ self.dual_coef_[i, sj] + self.intercept_[p])
                    p += 1
        return out

    def decision_function(self, X):
        """Signed distances: (n,) for two classes (positive means classes_[1]); for more,
        (n, n_classes) one-vs-rest votes plus confidences ("ovr") or (n, n_pairs) ("ovo")."""
        dec = self._ovo_decision(X)
        n_cls = self.classes_.shape[0]
        if n_cls == 2:
            return dec[:, 0]
        if self.decision_function_shape == "ovo":
            return dec
        return _ovr_from_ovo(dec, n_cls)

    def predict(self, X):
        """Class labels; more than two classes vote one-vs-one as libsvm does (or take the
        argmax of the decision function with break_ties=True)."""
        self._check_fitted()
        n_cls = self.classes_.shape[0]
        if self.break_ties and self.decision_function_shape == "ovo":
            raise ValueError("SVC: break_ties must be False when decision_function_shape is "
                             "'ovo'")
        dec = self._ovo_decision(X)
        if n_cls == 2:
            # libsvm's rule, in scikit-learn's sign: a tie goes to classes_[1]
            return self.classes_[(dec[:, 0] >= 0).astype(np.intp)]
        if self.break_ties and self.decision_function_shape == "ovr":
            return self.classes_[np.argmax(_ovr_from_ovo(dec, n_cls), axis=1)]
        votes = np.zeros((dec.shape[0], n_cls), dtype=np.int64)
        p = 0
        for i in range(n_cls):
            for j in range(i + 1, n_cls):
                pos = dec[:, p] > 0
                votes[pos, i] += 1
                votes[~pos, j] += 1
                p += 1
        return self.classes_[np.argmax(votes, axis=1)]   # ties: the lowest class index

    @property
    def coef_(self):
        """Primal weights w (n_classes * (n_classes - 1) / 2, n_features) of a linear kernel."""
        if not (isinstance(self.kernel, str) and self.kernel == "linear"):
            raise AttributeError("coef_ is only available when using a linear kernel")
        self._check_fitted()
        sv = self.support_vectors_
        sv = sv.toarray() if scipy.sparse.issparse(sv) else sv
        n_cls = self.classes_.shape[0]
        if n_cls == 2:
            w = self.dual_coef_ @ sv
        else:
            bounds = np.concatenate([[0], np.cumsum(self.n_support_)])
            w = np.empty((n_cls * (n_cls - 1) // 2, sv.shape[1]))
            p = 0
            for i in range(n_cls):
                si = slice(bounds[i], bounds[i + 1])
                for j in range(i + 1, n_cls):
                    sj = slice(bounds[j], bounds[j + 1])
                    w[p] = self.dual_coef_[j - 1, si] @ sv[si] + self.dual_coef_[i, sj] @ sv[sj]
                    p += 1
        w.flags.writeable = False
        return w


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
