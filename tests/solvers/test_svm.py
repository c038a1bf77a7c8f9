"""solvers.smo / solvers.svm against independent oracles.

* scikit-learn's SVC (libsvm) on data shipped with scikit-learn and generated sets:
  dual objective (re-evaluated in float64 from each model's dual coefficients),
  predictions, support sets, intercepts;
* the exact solution of small duals (active set from SciPy's trust-constr, then the
  KKT linear system solved directly and certified), and the KKT conditions checked on
  the returned a and b, with one C or per-sample bounds C_i;
* degenerate problems; the estimator protocol (clone, cross_val_score, Pipeline).

Fitted models are shared through module fixtures to keep the suite fast.
"""
import warnings

import numpy as np
import pytest
import sympy as sp

sklearn = pytest.importorskip("sklearn")
from scipy.optimize import Bounds, LinearConstraint, minimize  # noqa: E402
from sklearn import datasets  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.model_selection import cross_val_score  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.svm import SVC as SkSVC  # noqa: E402

from codegen import kernels  # noqa: E402
from solvers.result import Status  # noqa: E402
from solvers.smo import smo_solve  # noqa: E402
from solvers.svm import SVC, ConvergenceWarning, NotFittedError  # noqa: E402

from _svm_oracle import ovo_objectives  # noqa: E402

TIGHT = 1e-6


def _scaled(X):
    return StandardScaler().fit_transform(X)


def _load(name):
    if name == "breast_cancer":
        X, y = datasets.load_breast_cancer(return_X_y=True)
    elif name == "iris":
        X, y = datasets.load_iris(return_X_y=True)
    elif name == "wine":
        X, y = datasets.load_wine(return_X_y=True)
    elif name == "digits":
        X, y = datasets.load_digits(return_X_y=True)
    elif name == "classification":
        X, y = datasets.make_classification(n_samples=600, n_features=10, n_informative=5,
                                            flip_y=0.05, random_state=0)
    elif name == "moons":
        X, y = datasets.make_moons(n_samples=400, noise=0.25, random_state=0)
    else:
        raise KeyError(name)
    return _scaled(X), y


CASES = [
    ("breast_cancer", "rbf", 1.0),
    ("breast_cancer", "linear", 1.0),
    ("iris", "rbf", 10.0),
    ("wine", "poly", 1.0),
    ("digits", "rbf", 1.0),
    ("classification", "linear", 10.0),
    ("classification", "sigmoid", 1.0),
    ("moons", "rbf", 100.0),
]


@pytest.fixture(scope="module", params=CASES, ids=lambda c: f"{c[0]}-{c[1]}-C{c[2]:g}")
def fitted(request):
    name, kern, C = request.param
    X, y = _load(name)
    ours = SVC(kernel=kern, C=C, tol=TIGHT).fit(X, y)
    ref = SkSVC(kernel=kern, C=C, tol=TIGHT).fit(X, y)
    return X, y, ours, ref


def pair_objectives(model, X):
    """e^T a - 1/2 a^T Q a for every one-vs-one problem, in float64, from the
    model's libsvm-layout dual coefficients (works for ours and scikit-learn's)."""
    k = kernels.standard_kernel(model.kernel, model.degree)
    sv = X[model.support_]
    return ovo_objectives(model, k.matrix(sv, sv, [model._gamma, model.coef0]))


# ----------------------------------------------------------- vs libsvm ----

def test_dual_objective_matches_libsvm(fitted):
    X, _, ours, ref = fitted
    ob_ours, ob_ref = pair_objectives(ours, X), pair_objectives(ref, X)
    np.testing.assert_allclose(ob_ours, ob_ref, rtol=1e-6)
    # the solver's own objective (from its gradient) agrees with the float64 re-evaluation
    np.testing.assert_allclose(np.atleast_1d(ours.dual_objective_), ob_ours, rtol=1e-5)


def test_predictions_match_libsvm(fitted):
    X, y, ours, ref = fitted
    assert np.mean(ours.predict(X) == ref.predict(X)) >= 0.995
    assert abs(ours.score(X, y) - ref.score(X, y)) <= 0.005


def test_support_sets_match_libsvm(fitted):
    _, _, ours, ref = fitted
    diff = set(ours.support_) ^ set(ref.support_)
    assert len(diff) <= max(1, 0.01 * len(ref.support_))
    if not diff:
        np.testing.assert_array_equal(ours.n_support_, ref.n_support_)
        np.testing.assert_allclose(ours.dual_coef_, ref.dual_coef_, atol=1e-3 * ours.C)


def test_decision_function_matches_libsvm(fitted):
    X, _, ours, ref = fitted
    d_ours, d_ref = ours.decision_function(X), ref.decision_function(X)
    assert d_ours.shape == d_ref.shape
    np.testing.assert_allclose(d_ours, d_ref, atol=1e-3 * (1 + np.abs(d_ref).max()))
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, atol=1e-3 * (1 + ours.C))


def test_ovo_layout_matches_libsvm():
    X, y = _load("iris")
    ours = SVC(kernel="linear", tol=TIGHT, decision_function_shape="ovo").fit(X, y)
    ref = SkSVC(kernel="linear", tol=TIGHT, decision_function_shape="ovo").fit(X, y)
    assert ours.dual_coef_.shape == ref.dual_coef_.shape == (2, len(ref.support_))
    np.testing.assert_allclose(ours.decision_function(X), ref.decision_function(X), atol=1e-4)
    assert ours.n_iter_.shape == (3,) and ours.dual_objective_.shape == (3,)


# -------------------------------------------- vs an exact QP solution ----

def _exact_dual(K, y, Cv):
    """The oracle: min 1/2 a^T Q a - e^T a, y^T a = 0, 0 <= a_i <= C_i, solved exactly.

    SciPy's trust-constr (an interior-point method, independent of SMO) guesses which
    variables sit at 0, at C_i or in between; the equality-constrained QP on the free ones
    is then a linear KKT system, solved directly, and the guess is corrected until the
    answer satisfies every KKT condition to rounding. For a convex QP those conditions
    certify the optimum, so the oracle does not depend on any solver's tolerance or luck.
    Returns (a, b) with the decision function f(x) = sum_j y_j a_j K(x, x_j) + b.
    """
    Q = K * np.outer(y, y)
    n = len(y)
    guess = minimize(lambda a: 0.5 * a @ Q @ a - a.sum(), np.full(n, 0.5) * Cv,
                     jac=lambda a: Q @ a - 1.0, hess=lambda a: Q, method="trust-constr",
                     bounds=Bounds(np.zeros(n), Cv),
                     constraints=[LinearConstraint(y[None, :], 0.0, 0.0)],
                     options={"gtol": 1e-10, "xtol": 1e-12, "maxiter": 3000}).x
    at0 = guess <= 1e-5 * Cv
    atC = guess >= (1 - 1e-5) * Cv
    tol = 1e-9 * (1 + np.abs(Q).max() * Cv.max())
    for _ in range(4 * n):
        free = ~(at0 | atC)
        a = np.where(atC, Cv, 0.0)
        F = np.flatnonzero(free)
        assert F.size, "oracle: no free variable (the test data should have some)"
        M = np.zeros((F.size + 1, F.size + 1))
        M[:-1, :-1] = Q[np.ix_(F, F)]
        M[:-1, -1] = y[F]
        M[-1, :-1] = y[F]
        rhs = np.concatenate([1.0 - Q[F] @ a, [-(y @ a)]])
        sol = np.linalg.lstsq(M, rhs, rcond=None)[0]   # min-norm if Q_FF is singular
        a[F] = sol[:-1]
        b = sol[-1]
        r = Q @ a - 1.0 + b * y          # = y_i f(x_i) - 1
        low, high = a[F] < -tol, a[F] > Cv[F] + tol
        wrong0, wrongC = at0 & (r < -tol), atC & (r > tol)
        if not (low.any() or high.any() or wrong0.any() or wrongC.any()):
            assert np.linalg.norm(M @ sol - rhs) <= tol * n   # the linear system really holds
            return np.clip(a, 0.0, Cv), b
        at0[F[low]] = True
        atC[F[high]] = True
        at0[wrong0] = False
        atC[wrongC] = False
    raise AssertionError("oracle: no KKT-certified solution found")


@pytest.mark.parametrize("kern,C,weighted", [("rbf", 1.0, False), ("linear", 0.5, False),
                                             ("poly", 5.0, False), ("rbf", 2.0, True)])
def test_against_exact_qp_and_kkt(kern, C, weighted):
    X, y01 = datasets.make_moons(n_samples=40, noise=0.3, random_state=1)
    y = np.where(y01 == 1, 1.0, -1.0)
    # per-sample bounds C_i (sample weights) exercise the solver's two-variable clipping
    Cv = C * (np.random.default_rng(3).uniform(0.2, 3.0, 40) if weighted else np.ones(40))
    k = kernels.standard_kernel(kern, 3)
    params = np.array([0.5, 1.0])
    r = smo_solve(X, y, k, params, C=Cv, tol=1e-10)
    assert r.status == 0 and r.kkt_violation <= 1e-10
    K = k.matrix(X, X, params)
    a_ex, b_ex = _exact_dual(K, y, Cv)
    Q = K * np.outer(y, y)
    obj_ex = a_ex.sum() - 0.5 * a_ex @ Q @ a_ex
    a = r.alpha
    obj = a.sum() - 0.5 * a @ Q @ a
    assert obj == pytest.approx(obj_ex, rel=1e-9)
    assert r.obj == pytest.approx(obj, rel=1e-5)   # its gradient sums float32 kernel rows
    # the decision function is unique (and b, given free vectors); a is unique unless
    # Q is singular, as for the linear kernel on 2-D data. The solver keeps kernel rows in
    # float32 (as libsvm does): 1e-5 is that rounding, not the tolerance
    np.testing.assert_allclose(K @ (y * a) + r.b, K @ (y * a_ex) + b_ex, atol=1e-5)
    assert r.b == pytest.approx(b_ex, abs=1e-5)
    if kern != "linear":
        np.testing.assert_allclose(a, a_ex, atol=1e-5 * C)
    # KKT of our answer: feasibility, and y_i f(x_i) >= 1 at 0, = 1 when free, <= 1 at C_i
    assert np.all(a >= 0) and np.all(a <= Cv)
    assert abs(y @ a) <= 1e-10 * Cv.max() * len(y)
    margin = y * (K @ (y * a) + r.b)
    eps = 1e-5
    at0, atC = a <= 0, a >= Cv
    free = ~at0 & ~atC
    assert np.all(margin[at0] >= 1 - eps)
    assert np.all(margin[atC] <= 1 + eps)
    np.testing.assert_allclose(margin[free], 1.0, atol=eps)
    if weighted:
        assert atC.any() and len(set(Cv[atC])) > 1   # several distinct bounds were active


def test_cache_and_shrinking_do_not_change_the_answer():
    X, y01 = _load("breast_cancer")
    y = np.where(y01 == 0, 1.0, -1.0)
    k = kernels.standard_kernel("rbf")
    p = np.array([1.0 / X.shape[1], 0.0])
    big = smo_solve(X, y, k, p, C=1.0, tol=1e-8)
    tiny = smo_solve(X, y, k, p, C=1.0, tol=1e-8, cache_size=1e-6)   # two rows in the cache
    flat = smo_solve(X, y, k, p, C=1.0, tol=1e-8, shrinking=False)
    for other in (tiny, flat):
        assert other.obj == pytest.approx(big.obj, rel=1e-9)
        np.testing.assert_allclose(other.alpha, big.alpha, atol=1e-6)
    assert tiny.kernel_evaluations > big.kernel_evaluations


# ---------------------------------------------------- degenerate cases ----

def test_single_class_is_a_clear_error():
    X = np.random.default_rng(0).normal(size=(10, 2))
    with pytest.raises(ValueError, match="single class.*got 1 class"):
        SVC().fit(X, np.ones(10))


def test_duplicated_points():
    X, y = _load("moons")
    X = np.vstack([X, X[:50], X[:5]])
    y = np.concatenate([y, y[:50], 1 - y[:5]])   # also duplicates with conflicting labels
    ours = SVC(kernel="rbf", C=10.0, tol=TIGHT).fit(X, y)
    ref = SkSVC(kernel="rbf", C=10.0, tol=TIGHT).fit(X, y)
    assert ours.fit_status_ == 0
    np.testing.assert_allclose(pair_objectives(ours, X), pair_objectives(ref, X), rtol=1e-6)
    assert np.mean(ours.predict(X) == ref.predict(X)) >= 0.995


def test_hard_margin_on_separable_data():
    X, y = datasets.make_blobs(n_samples=200, centers=[[-3, 0], [3, 0]], cluster_std=1.0,
                               random_state=0)
    ours = SVC(kernel="linear", C=1e6, tol=TIGHT).fit(X, y)
    ref = SkSVC(kernel="linear", C=1e6, tol=TIGHT).fit(X, y)
    f = ours.decision_function(X)
    ypm = np.where(y == ours.classes_[1], 1.0, -1.0)
    assert np.all(ypm * f >= 1 - 1e-3)          # every point on or outside the margin
    assert np.all(np.abs(ours.dual_coef_) < 1e6)  # no bounded SVs: the hard-margin solution
    np.testing.assert_allclose(pair_objectives(ours, X), pair_objectives(ref, X), rtol=1e-6)


def test_tiny_C():
    X, y = _load("breast_cancer")
    C = 1e-6
    ours = SVC(kernel="rbf", C=C, tol=TIGHT).fit(X, y)
    ref = SkSVC(kernel="rbf", C=C, tol=TIGHT).fit(X, y)
    assert np.isfinite(ours.intercept_).all()
    np.testing.assert_allclose(pair_objectives(ours, X), pair_objectives(ref, X), rtol=1e-6)
    assert np.mean(ours.predict(X) == ref.predict(X)) >= 0.995
    # the smaller class is entirely at the bound
    assert np.allclose(np.abs(ours.dual_coef_).max(), C)


def test_max_iter_warns():
    X, y = _load("moons")
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        m = SVC(C=100.0, max_iter=5).fit(X, y)
    assert m.fit_status_ == 1 and m.n_iter_[0] == 5


def test_solver_status_is_a_result_status():
    # one source of status codes: the SMO solver reports solvers.result.Status members
    X, y01 = _load("moons")
    y = np.where(y01 == 1, 1.0, -1.0)
    k, p = kernels.standard_kernel("rbf"), np.array([1.0, 0.0])
    stopped = smo_solve(X, y, k, p, C=100.0, max_iter=5)
    assert stopped.status is Status.MAX_ITERATIONS and not stopped.status.converged
    assert stopped.n_iter == 5 and stopped.kkt_violation > 1e-3
    done = smo_solve(X, y, k, p, C=100.0)
    assert done.status is Status.CONVERGED_GTOL and done.kkt_violation <= 1e-3
    assert "converged" in done.message and "max_iter" in stopped.message


# ------------------------------------------------------------- labels ----

@pytest.mark.parametrize("labels", [("no", "yes"), (-5, 7), (False, True), (1.0, 3.0)])
def test_any_two_labels(labels):
    X, y01 = _load("moons")
    y = np.where(y01 == 1, labels[1], labels[0])
    ours = SVC(kernel="rbf").fit(X, y)
    ref = SkSVC(kernel="rbf").fit(X, y)
    assert list(ours.classes_) == list(ref.classes_)
    pred = ours.predict(X)
    assert pred.dtype == ref.predict(X).dtype
    assert np.mean(pred == ref.predict(X)) >= 0.995
    np.testing.assert_allclose(ours.dual_coef_, ref.dual_coef_, atol=1e-3)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, atol=1e-3)


# -------------------------------------------------- estimator protocol ----

def test_get_set_params_and_clone():
    m = SVC(C=3.0, kernel="poly", degree=2)
    params = m.get_params()
    assert params["C"] == 3.0 and params["degree"] == 2 and params["gamma"] == "scale"
    c = clone(m)
    assert c is not m and c.get_params() == params
    assert m.set_params(C=5.0) is m and m.C == 5.0
    with pytest.raises(ValueError, match="Invalid parameter 'Cee'"):
        m.set_params(Cee=1.0)
    assert "degree=2" in repr(m)


def test_cross_val_score_and_pipeline():
    X, y = datasets.load_breast_cancer(return_X_y=True)
    pipe = Pipeline([("scale", StandardScaler()), ("svc", SVC(C=1.0))])
    ref = Pipeline([("scale", StandardScaler()), ("svc", SkSVC(C=1.0))])
    s_ours = cross_val_score(pipe, X, y, cv=3)
    s_ref = cross_val_score(ref, X, y, cv=3)
    np.testing.assert_allclose(s_ours, s_ref, atol=0.01)
    assert pipe.fit(X, y).score(X, y) > 0.95


# ------------------------------------------------------------ kernels ----

def test_sympy_and_callable_kernels_match_builtin():
    X, y = _load("moons")
    base = SVC(kernel="rbf", gamma=0.7, tol=TIGHT).fit(X, y)
    expr = sp.exp(-kernels.GAMMA * (kernels.XX + kernels.ZZ - 2 * kernels.XZ))
    by_expr = SVC(kernel=expr, gamma=0.7, tol=TIGHT).fit(X, y)
    by_call = SVC(kernel=kernels.traced(lambda x, z: sp.exp(-sp.Rational(7, 10)
                                                          * (x - z).dot(x - z))),
                  tol=TIGHT).fit(X, y)
    x, z = sp.symbols("x0:2"), sp.symbols("z0:2")
    comp = sum((a - b) ** 2 for a, b in zip(x, z))
    by_tuple = SVC(kernel=(sp.exp(-kernels.GAMMA * comp), x, z), gamma=0.7, tol=TIGHT).fit(X, y)
    for m in (by_expr, by_call, by_tuple):
        assert m.dual_objective_ == pytest.approx(base.dual_objective_, rel=1e-6)
        np.testing.assert_array_equal(m.predict(X), base.predict(X))


def test_callable_that_sympy_cannot_trace():
    X, y = _load("moons")
    with pytest.raises(kernels.KernelError, match="could not be traced"):
        SVC(kernel=kernels.traced(lambda x, z: np.exp(-np.sum(np.asarray(x - z, dtype=float))))
            ).fit(X, y)


def test_sympy_style_callable_without_traced_is_a_clear_error():
    # a plain callable is scikit-learn's k(X, Y); a SymPy-style k(x, z) says what to do
    X, y = _load("moons")
    with pytest.raises(TypeError, match="traced"):
        SVC(kernel=lambda x, z: sp.exp(-(x - z).dot(x - z))).fit(X, y)


# --------------------------------------------------- input validation ----

@pytest.mark.parametrize("X,y,match", [
    (np.ones(5), np.arange(5) % 2, "2D array"),
    (np.ones((5, 2)), np.arange(4) % 2, r"\[5, 4\]|5 samples but y has 4"),
    (np.array([[0.0, np.nan], [1.0, 1.0]]), [0, 1], "NaN"),
    (np.ones((4, 2)), np.array([0.0, 1.0, np.nan, 1.0]), "y contains NaN"),
    (np.ones((4, 2)), np.ones((4, 2)), r"1d array|1-D"),
    (np.ones((4, 2)), np.array([0.5, 1.0, 0.5, 1.0]), "continuous"),
])
def test_bad_input(X, y, match):
    with pytest.raises(ValueError, match=match):
        SVC().fit(X, y)


@pytest.mark.parametrize("params,match", [
    ({"C": -1.0}, "'C'"), ({"C": 0.0}, "'C'"), ({"C": float("nan")}, "'C'"),
    ({"C": float("inf")}, "'C'"), ({"gamma": "wide"}, "'gamma'"),
    ({"gamma": float("inf")}, "'gamma'"), ({"gamma": float("nan")}, "'gamma'"),
    ({"gamma": -1.0}, "'gamma'"), ({"kernel": "cubic"}, "cubic"),
    ({"kernel": "poly", "coef0": float("nan")}, "'coef0'"), ({"coef0": float("inf")}, "'coef0'"),
    ({"tol": 0.0}, "'tol'"), ({"tol": -1e-3}, "'tol'"), ({"tol": float("nan")}, "'tol'"),
    ({"kernel": "poly", "degree": 2.5}, "'degree'"), ({"degree": -1}, "'degree'"),
    ({"cache_size": 0}, "'cache_size'"), ({"max_iter": 0}, "'max_iter'"),
    ({"max_iter": -2}, "'max_iter'"), ({"shrinking": "yes"}, "'shrinking'"),
    ({"break_ties": 1}, "'break_ties'"), ({"decision_function_shape": "ovx"}, "'decision"),
    ({"class_weight": "even"}, "'class_weight'"), ({"class_weight": {0: -1.0}}, "class_weight"),
    ({"class_weight": {7: 1.0}}, "class_weight names the class 7"),
    ({"random_state": -1}, "'random_state'"), ({"verbose": "loud"}, "'verbose'"),
])
def test_bad_params(params, match):
    # checked at fit time (scikit-learn's rule), each error naming the parameter
    X, y = _load("moons")
    m = SVC(**params)
    with pytest.raises(ValueError, match=match):
        m.fit(X, y)


def test_predict_checks():
    X, y = _load("moons")
    with pytest.raises(NotFittedError):
        SVC().predict(X)
    m = SVC().fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features, but SVC is expecting 2"):
        m.predict(np.ones((2, 3)))


def test_warnings_free_fit():
    X, y = _load("iris")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        SVC().fit(X, y).predict(X)


def test_pickle_round_trip():
    import pickle  # noqa: PLC0415
    X, y = _load("moons")
    x, z = sp.symbols("x0:2"), sp.symbols("z0:2")
    for kern in ("rbf", (sp.exp(-kernels.GAMMA * ((x[0] - z[0])**2 + (x[1] - z[1])**2)), x, z)):
        m = SVC(kernel=kern).fit(X, y)
        m2 = pickle.loads(pickle.dumps(m))
        np.testing.assert_array_equal(m2.decision_function(X), m.decision_function(X))
