"""solvers.bounds: SciPy's bound forms, errors naming the index, projection, multipliers."""
import warnings

import numpy as np
import pytest
from scipy.optimize import Bounds as ScipyBounds

from solvers.bounds import (Bounds, BoundsWarning, bound_multipliers, box_kkt,
                            max_feasible_step, parse_bounds, project, project_x0,
                            projected_gradient_norm)

INF = np.inf


@pytest.mark.parametrize("form", [
    [(0, 1), (None, 2), (-1, None)],
    ([0, -INF, -1], [1, 2, INF]),
    ScipyBounds([0, -INF, -1], [1, 2, INF]),
    np.array([[0, 1], [-INF, 2], [-1, INF]]),
])
def test_forms_agree(form):
    b = parse_bounds(form, 3)
    assert b.lo.tolist() == [0.0, -INF, -1.0]
    assert b.hi.tolist() == [1.0, 2.0, INF]
    assert b.lo.dtype == np.float64 and b.lo.flags.c_contiguous
    assert parse_bounds(b, 3) is b


def test_scalar_pair_broadcasts_and_none_is_unbounded():
    b = parse_bounds((0.0, None), 4)
    assert b.lo.tolist() == [0.0] * 4 and b.hi.tolist() == [INF] * 4
    assert parse_bounds(None, 4) is None
    assert parse_bounds((None, None), 4) is None
    assert parse_bounds(ScipyBounds(-INF, INF), 2) is None


def test_pair_of_pairs_is_scipy_sequence_for_two_variables():
    b = parse_bounds([(0, 1), (2, 3)], 2)
    assert b.lo.tolist() == [0.0, 2.0] and b.hi.tolist() == [1.0, 3.0]
    b = parse_bounds((np.array([0.0, 1.0]), np.array([2.0, 3.0])), 2)  # arrays: (lo, hi)
    assert b.lo.tolist() == [0.0, 1.0] and b.hi.tolist() == [2.0, 3.0]


@pytest.mark.parametrize("form, n, match", [
    ([(0, 1), (0, 1), (0, 1), (2.0, 1.0)], 4, r"bounds\[3\]: lower bound 2.0 > upper bound 1.0 "
                                              r"\(infeasible bounds\)"),
    (([0, 5.0, 0], [1, 1, 1]), 3, r"bounds\[1\]: lower bound 5.0 > upper bound 1.0"),
    ([(0, 1), (0, float("nan")), (0, 1)], 3, r"bounds\[1\]: upper bound is NaN"),
    ([(0, 1), (0, 1), (0, 1)], 4, r"3 entries for 4 variables"),
    ([(0, 1), (0, 1)], 3, r"lower bounds have shape \(2,\), but there are 3 variables"),
    (([0, 0], [1, 1, 1]), 3, r"lower bounds have shape \(2,\)"),
    ([(0, 1), ("a", 1)], 2, r"bounds\[1\]: lower bound 'a' is not a number"),
    (ScipyBounds([0.0, np.nan, 0.0], 1.0), 3, r"bounds\[1\]: lower bound is NaN"),
    ((np.zeros(3), np.array([1.0, 1.0, -1.0])), 3, r"bounds\[2\]: lower bound 0.0 > upper"),
    ([(INF, INF)], 1, r"bounds\[0\].*no finite value"),
    (5, 2, "sequence of"),
])
def test_bad_bounds_name_the_index(form, n, match):
    with pytest.raises(ValueError, match=match):
        parse_bounds(form, n)


def test_project_and_projected_gradient_norm_against_numpy():
    rng = np.random.default_rng(0)
    lo, hi = -rng.random(20), rng.random(20)
    x = rng.normal(size=20)
    px = project(x, lo, hi)
    assert np.array_equal(px, np.clip(x, lo, hi))
    g = rng.normal(size=20)
    expect = np.max(np.abs(np.clip(px - g, lo, hi) - px))
    assert projected_gradient_norm(px, g, lo, hi) == expect


def test_multipliers_and_kkt_at_active_bounds():
    lo, hi = np.array([0.0, 0.0, 0.0, 1.0]), np.array([1.0, 1.0, 1.0, 1.0])
    x = np.array([0.0, 1.0, 0.5, 1.0])
    g = np.array([3.0, -2.0, 0.0, -4.0])
    ml, mu = bound_multipliers(x, g, lo, hi, 1e-10)
    assert ml.tolist() == [3.0, 0.0, 0.0, 0.0] and mu.tolist() == [0.0, 2.0, 0.0, 4.0]
    assert box_kkt(x, g, lo, hi, ml, mu) == (0.0, 0.0, 0.0)
    # the wrong sign at a bound is not absorbed: stationarity shows it
    ml, mu = bound_multipliers(x, -g, lo, hi, 1e-10)
    assert ml[0] == 0.0 and box_kkt(x, -g, lo, hi, ml, mu)[0] == 3.0


def test_project_x0_warns_count_and_largest_move():
    b = Bounds(np.zeros(3), np.ones(3))
    with pytest.warns(BoundsWarning, match=r"lbfgs: x0 is outside the bounds at 2 of 3 entries "
                                           r"\(largest move 3 at index 2\)"):
        x, moved = project_x0(np.array([-0.5, 0.5, 4.0]), b, "lbfgs")
    assert moved and x.tolist() == [0.0, 0.5, 1.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x, moved = project_x0(np.array([0.0, 0.5, 1.0]), b)
    assert not moved


def test_max_feasible_step():
    lo, hi = np.array([0.0, -INF]), np.array([1.0, INF])
    assert max_feasible_step(np.array([0.25, 0.0]), np.array([0.5, 7.0]), lo, hi) == 1.5
    assert max_feasible_step(np.array([0.25, 0.0]), np.array([0.0, 7.0]), lo, hi) == INF


def test_infinite_bounds_are_never_active():
    x, g = np.array([5.0, -5.0]), np.array([1.0, -1.0])
    lo, hi = np.array([-INF, -INF]), np.array([INF, INF])
    ml, mu = bound_multipliers(x, g, lo, hi, 1e-6)
    assert ml.tolist() == [0.0, 0.0] and mu.tolist() == [0.0, 0.0]
