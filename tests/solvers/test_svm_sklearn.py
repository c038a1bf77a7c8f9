"""solvers.svm.SVC under scikit-learn's conventions, with scikit-learn's SVC as the oracle.

* scikit-learn's own ``check_estimator``: ours passes every check that
  ``sklearn.svm.SVC`` passes (the expected failures are exactly sklearn's own,
  verified here by running the checks on sklearn's SVC);
* class_weight, sample_weight, kernel="precomputed", callable kernels k(X, Y),
  coef_, CSR input and break_ties against sklearn.svm.SVC with the same settings
  (dual objective, decision_function, predictions);
* the estimator without scikit-learn installed, and ``import solvers`` not
  importing scikit-learn.
"""
import subprocess
import sys
import warnings

import numpy as np
import pytest
import scipy.sparse

sklearn = pytest.importorskip("sklearn")
from sklearn import datasets  # noqa: E402
from sklearn.base import BaseEstimator, ClassifierMixin  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402
from sklearn.metrics.pairwise import rbf_kernel  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.svm import SVC as SkSVC  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator  # noqa: E402

from codegen import kernels  # noqa: E402
from solvers import smo  # noqa: E402
from solvers.svm import SVC  # noqa: E402

from _svm_oracle import ovo_objectives  # noqa: E402

TIGHT = 1e-6

# scikit-learn's SVC fails these two itself (gamma="scale" is computed from X, which
# repeating rows changes): test_sklearn_svc_fails_exactly_these verifies the list
EXPECTED_FAILURES = {
    "check_sample_weight_equivalence_on_dense_data":
        "gamma='scale' depends on the repeated rows; sklearn.svm.SVC fails it too",
    "check_sample_weight_equivalence_on_sparse_data":
        "gamma='scale' depends on the repeated rows; sklearn.svm.SVC fails it too",
}


def _run_checks(estimator, expected=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(estimator, on_fail=None, on_skip=None,
                                  expected_failed_checks=expected)
    return {r["check_name"]: (r["status"], r["exception"]) for r in results}


@pytest.fixture(scope="module")
def sklearn_results():
    return _run_checks(SkSVC())


def test_sklearn_svc_fails_exactly_these(sklearn_results):
    failed = {k for k, (status, _) in sklearn_results.items() if status == "failed"}
    assert failed == set(EXPECTED_FAILURES)


def test_check_estimator(sklearn_results):
    ours = _run_checks(SVC(), EXPECTED_FAILURES)
    assert set(ours) == set(sklearn_results)          # the same checks run
    bad = {k: f"{status}: {exc!r}"[:300] for k, (status, exc) in ours.items()
           if k not in EXPECTED_FAILURES and status not in ("passed", "skipped")}
    assert not bad, bad
    skipped = {k for k, (status, _) in ours.items() if status == "skipped"}
    assert skipped == {k for k, (status, _) in sklearn_results.items() if status == "skipped"}


def test_bases_and_errors():
    m = SVC()
    assert isinstance(m, BaseEstimator) and isinstance(m, ClassifierMixin)
    with pytest.raises(NotFittedError):
        m.decision_function(np.ones((2, 2)))
    with pytest.raises(AttributeError, match="linear kernel"):
        SVC(kernel="rbf").coef_


# --------------------------------------------------- against sklearn ----

def _iris():
    X, y = datasets.load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _binary():
    X, y = datasets.make_classification(n_samples=200, n_features=6, n_informative=3,
                                        flip_y=0.05, random_state=2)
    return StandardScaler().fit_transform(X), y


def _pair_objectives(model, K):
    """e^T a - 1/2 a^T Q a of every one-vs-one problem from libsvm-layout dual
    coefficients; K is the training Gram matrix (works for ours and sklearn's)."""
    return ovo_objectives(model, K[np.ix_(model.support_, model.support_)])


def _agree(ours, ref, X, K, Xpred=None, K_ref=None):
    Xpred = X if Xpred is None else Xpred
    K_ref = K if K_ref is None else K_ref
    np.testing.assert_allclose(_pair_objectives(ours, K), _pair_objectives(ref, K_ref),
                               rtol=1e-6)
    d_ours, d_ref = ours.decision_function(Xpred), ref.decision_function(Xpred)
    assert d_ours.shape == d_ref.shape
    np.testing.assert_allclose(d_ours, d_ref, atol=1e-4 * (1 + np.abs(d_ref).max()))
    assert np.mean(ours.predict(Xpred) == ref.predict(Xpred)) >= 0.99


@pytest.mark.parametrize("class_weight", [{0: 0.3, 2: 4.0}, "balanced"],
                         ids=["dict", "balanced"])
def test_class_weight(class_weight):
    X, y = _iris()
    y = np.where(np.arange(len(y)) < 110, y, 0)      # unbalanced, so "balanced" matters
    kw = dict(kernel="rbf", C=3.0, tol=TIGHT, class_weight=class_weight)
    ours, ref = SVC(**kw).fit(X, y), SkSVC(**kw).fit(X, y)
    np.testing.assert_allclose(ours.class_weight_, ref.class_weight_)
    _agree(ours, ref, X, rbf_kernel(X, gamma=ref._gamma))


def test_sample_weight():
    X, y = _binary()
    sw = np.random.default_rng(0).uniform(0.0, 3.0, len(y))
    sw[:20] = 0.0                                    # weight 0 leaves a sample out
    kw = dict(kernel="rbf", C=2.0, tol=TIGHT)
    ours = SVC(**kw).fit(X, y, sample_weight=sw)
    ref = SkSVC(**kw).fit(X, y, sample_weight=sw)
    assert not set(ours.support_) & set(range(20))
    # sklearn's support_ counts only the samples of positive weight; ours indexes X
    K = rbf_kernel(X, gamma=ref._gamma)
    _agree(ours, ref, X, K, K_ref=K[np.ix_(sw > 0, sw > 0)])
    np.testing.assert_array_equal(np.flatnonzero(sw > 0)[ref.support_], ours.support_)
    # an integer weight is that many copies of the sample, at a fixed gamma
    sw_int = np.random.default_rng(1).integers(0, 4, len(y))
    rep = SVC(kernel="rbf", gamma=0.2, tol=1e-8).fit(np.repeat(X, sw_int, 0),
                                                     np.repeat(y, sw_int))
    wtd = SVC(kernel="rbf", gamma=0.2, tol=1e-8).fit(X, y, sample_weight=sw_int)
    np.testing.assert_allclose(wtd.decision_function(X), rep.decision_function(X), atol=1e-5)


def test_sample_weight_errors():
    X, y = _binary()
    with pytest.raises(ValueError, match=r"sample_weight\[3\] = -1.0 is negative"):
        SVC().fit(X, y, sample_weight=np.where(np.arange(len(y)) == 3, -1.0, 1.0))
    with pytest.raises(ValueError, match="sample_weight has shape"):
        SVC().fit(X, y, sample_weight=np.ones(3))
    with pytest.raises(ValueError, match="class 1 has no sample with a positive weight"):
        SVC().fit(X, y, sample_weight=(y == 0).astype(float))


def test_precomputed_and_callable_kernels():
    X, y = _iris()
    Xtr, Xte, ytr = X[::2], X[1::2], y[::2]
    K = rbf_kernel(Xtr, gamma=0.3)
    ours = SVC(kernel="precomputed", C=2.0, tol=TIGHT).fit(K, ytr)
    ref = SkSVC(kernel="precomputed", C=2.0, tol=TIGHT).fit(K, ytr)
    assert ours.support_vectors_.shape == (0, 0) and ours.n_features_in_ == len(ytr)
    _agree(ours, ref, K, K, rbf_kernel(Xte, Xtr, gamma=0.3))
    with pytest.raises(ValueError, match="square Gram matrix"):
        SVC(kernel="precomputed").fit(K[:, :10], ytr)
    with pytest.raises(TypeError, match="sparse precomputed"):
        SVC(kernel="precomputed").fit(scipy.sparse.csr_matrix(K), ytr)

    def quad(A, B):
        return (A @ B.T + 1.0) ** 2
    ours = SVC(kernel=quad, C=0.5, tol=TIGHT).fit(Xtr, ytr)
    ref = SkSVC(kernel=quad, C=0.5, tol=TIGHT).fit(Xtr, ytr)
    _agree(ours, ref, Xtr, quad(Xtr, Xtr), Xte)
    # the same kernel compiled from SymPy: the same model
    sym = SVC(kernel=(kernels.XZ + 1) ** 2, C=0.5, tol=TIGHT).fit(Xtr, ytr)
    np.testing.assert_allclose(sym.decision_function(Xte), ours.decision_function(Xte),
                               atol=1e-4)


def test_callable_kernel_errors_name_the_kernel():
    X, y = _binary()

    def wrong_shape(A, B):
        return A @ A.T

    with pytest.raises(ValueError, match=r"kernel wrong_shape returned shape"):
        SVC(kernel=wrong_shape).fit(X, y).predict(X[:3])


@pytest.mark.parametrize("data", ["binary", "iris"])
def test_coef_for_the_linear_kernel(data):
    X, y = _binary() if data == "binary" else _iris()
    ours = SVC(kernel="linear", C=1.0, tol=TIGHT).fit(X, y)
    ref = SkSVC(kernel="linear", C=1.0, tol=TIGHT).fit(X, y)
    assert ours.coef_.shape == ref.coef_.shape
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-4 * (1 + np.abs(ref.coef_).max()))
    if data == "binary":
        np.testing.assert_allclose(X @ ours.coef_[0] + ours.intercept_[0],
                                   ours.decision_function(X), atol=1e-10)
    assert not ours.coef_.flags.writeable


def test_csr_input():
    X, y = _iris()
    X[np.abs(X) < 0.5] = 0.0                        # make it really sparse
    Xs = scipy.sparse.csr_matrix(X)
    kw = dict(kernel="rbf", C=2.0, tol=TIGHT)
    ours, ref = SVC(**kw).fit(Xs, y), SkSVC(**kw).fit(Xs, y)
    assert ours._gamma == pytest.approx(ref._gamma, rel=1e-12)
    assert scipy.sparse.issparse(ours.support_vectors_)
    _agree(ours, ref, Xs, rbf_kernel(X, gamma=ref._gamma))
    dense = SVC(**kw).fit(X, y)
    np.testing.assert_allclose(ours.decision_function(Xs), dense.decision_function(X),
                               atol=1e-9)


def test_break_ties():
    X, y = _iris()
    kw = dict(kernel="rbf", C=1.0, tol=TIGHT)
    # many points, so that some get one vote per class (ties)
    grid = np.random.default_rng(0).normal(size=(2000, 4)) * 1.5
    ours = SVC(break_ties=True, **kw).fit(X, y)
    ref = SkSVC(break_ties=True, **kw).fit(X, y)
    np.testing.assert_array_equal(ours.predict(grid), ref.predict(grid))
    plain = SVC(**kw).fit(X, y)
    assert np.any(plain.predict(grid) != ours.predict(grid))   # the option changes something
    with pytest.raises(ValueError, match="break_ties must be False"):
        SVC(break_ties=True, decision_function_shape="ovo", **kw).fit(X, y).predict(X)


def test_shrinking_random_state_and_verbose(capsys):
    X, y = _binary()
    a = SVC(tol=TIGHT).fit(X, y)
    b = SVC(tol=TIGHT, shrinking=False, random_state=0).fit(X, y)
    assert b.dual_objective_ == pytest.approx(a.dual_objective_, rel=1e-9)
    capsys.readouterr()
    SVC(verbose=True).fit(X, y)
    out = capsys.readouterr().out
    assert out.startswith("[SVC] classes (0, 1): ") and "converged" in out


def test_feature_names_in():
    pd = pytest.importorskip("pandas")
    X, y = _binary()
    df = pd.DataFrame(X, columns=[f"f{k}" for k in range(X.shape[1])])
    m = SVC().fit(df, y)
    assert list(m.feature_names_in_) == list(df.columns)


def test_no_new_compile_for_gram_kernels():
    # callable and precomputed kernels reach the compiled solver as Gram matrices: one
    # compiled SMO loop, one compiled Gram row, whatever the kernel
    X, y = _binary()
    SVC(kernel="precomputed").fit(X @ X.T, y)
    loops = len(smo._compiled_smo().overloads)
    rows = len(kernels.precomputed_kernel().row.overloads)
    for k in (lambda A, B: A @ B.T, lambda A, B: np.tanh(A @ B.T), rbf_kernel):
        SVC(kernel=k).fit(X, y).predict(X)
    assert len(smo._compiled_smo().overloads) == loops == 1
    assert len(kernels.precomputed_kernel().row.overloads) == rows == 1


# ------------------------------------------------- without scikit-learn ----

_NO_SKLEARN = r"""
import sys
import numpy as np
import solvers
assert not any(m.startswith("sklearn") for m in sys.modules), "import solvers imported sklearn"
sys.modules["sklearn"] = None          # from here on, import sklearn -> ImportError
from solvers.svm import SVC, NotFittedError
assert [b.__name__ for b in SVC.__mro__[1:4]] == ["_SVCMethods", "_LocalClassifierMixin",
                                                  "_LocalBase"]
X = np.array([[0.0, 0.0], [0.0, 1.0], [2.0, 0.0], [2.0, 1.0]])
m = SVC(kernel="linear", C=10.0, class_weight="balanced")
m.fit(X, [0, 0, 1, 1], sample_weight=[1, 2, 1, 1])
assert m.predict([[0.2, 0.5], [1.8, 0.5]]).tolist() == [0, 1]
assert abs(m.score(X, [0, 0, 1, 1]) - 1.0) < 1e-12
assert "C=10.0" in repr(m) and m.get_params()["C"] == 10.0
try:
    SVC().predict(X)
except NotFittedError:
    pass
else:
    raise SystemExit("no NotFittedError")
for bad, X_, match in ((dict(gamma=float("inf")), X, "'gamma'"),
                      (dict(kernel="poly", coef0=float("nan")), X, "'coef0'"),
                      ({}, np.ones(4), "Reshape your data"),
                      ({}, np.ones((4, 0)), "0 feature(s)")):
    try:
        SVC(**bad).fit(X_, [0, 0, 1, 1])
    except ValueError as e:
        assert match in str(e), str(e)
    else:
        raise SystemExit(f"no ValueError for {bad}")
print("ok")
"""


def test_without_sklearn_and_lazy_import():
    r = subprocess.run([sys.executable, "-c", _NO_SKLEARN], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr[-2000:]
