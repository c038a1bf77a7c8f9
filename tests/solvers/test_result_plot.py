"""Result's constrained fields, history unit and plot (Agg backend: no display)."""
import matplotlib
import numpy as np
import pytest

import solvers
from solvers import KKTResiduals, Result

matplotlib.use("Agg")


def _result(**kw):
    base = dict(x=np.zeros(2), fun=0.0, grad=np.zeros(2), nit=3, nfev=4, ngev=4, nhev=0, status=0)
    return Result(**{**base, **kw})


def test_optional_fields_are_keys_and_shown_only_when_set():
    plain = _result()
    assert not {"lam", "mu", "mu_lower", "mu_upper", "kkt", "x0_projected",
                "history_unit"} & set(plain.keys())
    assert "lam" not in repr(plain)
    r = _result(lam=np.array([-1.0]), mu=np.array([0.5]), mu_lower=np.zeros(2),
                mu_upper=np.array([0.0, 2.0]), kkt=KKTResiduals(1e-9, 0.0, 2e-10),
                x0_projected=True)
    for key in ("lam", "mu", "mu_lower", "mu_upper", "kkt", "x0_projected"):
        assert key in r.keys() and r[key] is getattr(r, key)
    text = repr(r)
    assert "lam: [-1.]" in text and "complementarity 2.000e-10" in text
    assert "x0_projected: True" in text and "projected onto them" in r.message
    assert r.kkt.max() == 1e-9 and dict(r)["mu"][0] == 0.5


def test_infeasible_status_is_not_success():
    r = _result(status=solvers.Status.INFEASIBLE)
    assert not r.success and "infeasible" in r.message


def test_plot_draws_gap_and_gradient_norm_on_log_axes():
    rosen = "100*(y - x**2)**2 + (1 - x)**2"
    import sympy as sp
    x, y = sp.symbols("x y")
    r = solvers.minimize(sp.sympify(rosen, locals={"x": x, "y": y}), [-1.2, 1.0], wrt=[x, y],
                         history=True)
    assert r.history_unit == "iteration" and "history_unit" in r.keys()
    ax = r.plot()
    gap, gnorm = ax.get_lines()
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "iteration"
    assert gap.get_label() == "f - min f" and gnorm.get_label() == "max |grad|"
    np.testing.assert_allclose(gnorm.get_ydata()[:3], r.history["grad_norm"][:3])
    ax2 = r.plot(f_star=0.0)
    assert ax2.get_lines()[0].get_label() == "f - f*"
    np.testing.assert_allclose(ax2.get_lines()[0].get_ydata()[0], r.history["fun"][0])
    import matplotlib.pyplot as plt
    fig, ax3 = plt.subplots()
    assert r.plot(ax=ax3) is ax3
    plt.close("all")


def test_plot_without_history_says_how_to_get_it():
    with pytest.raises(ValueError, match="history=True"):
        _result().plot()


def test_minibatch_history_is_per_epoch():
    import codegen
    import sympy as sp
    w, xi, yi = sp.symbols("w x y")
    obj = codegen.compile((w * xi - yi) ** 2, [w], data=[xi, yi], reduce="mean")
    X = np.linspace(0, 1, 40)
    r = solvers.minimize(obj, [0.0], args=(X, 2 * X), method="sgd", history=True,
                         options={"lr": 0.1, "batch_size": 10, "epochs": 3})
    assert r.history_unit == "epoch" and len(r.history["fun"]) == 4 and r.nit == 12
    assert r.plot().get_xlabel() == "epoch"
    full = solvers.minimize(obj, [0.0], args=(X, 2 * X), method="gd", history=True,
                            options={"lr": 0.1}, maxiter=5)
    assert full.history_unit == "iteration"


def test_history_unit_is_checked():
    with pytest.raises(ValueError, match="history_unit"):
        _result(history_unit="step")
