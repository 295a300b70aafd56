"""Estimate and its constructors (theory.estimate): coverage, NaN dropping, counts, interval kinds, JSON."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

from toymodels.theory.estimate import (
    Estimate,
    bootstrap,
    bootstrap_difference,
    bootstrap_interval,
    member_range,
    point,
    student_t,
)

finite = st.floats(-1e6, 1e6, allow_nan=False)
values = st.lists(finite, min_size=1, max_size=30)
holes = st.lists(st.sampled_from([math.nan, math.inf, -math.inf]), max_size=5)


def covers(estimate: Estimate, truth: float) -> bool:
    return estimate.lo <= truth <= estimate.hi


def test_student_t_covers_a_known_mean_in_95_percent_of_samples():
    """400 samples of 8 normal values: the count of intervals holding the true mean is Binomial(400, 0.95)."""
    rng = np.random.default_rng(0)
    hits = sum(covers(student_t(rng.normal(3.0, 2.0, 8)), 3.0) for _ in range(400))
    assert scipy.stats.binom(400, 0.95).ppf(0.001) <= hits <= scipy.stats.binom(400, 0.95).ppf(0.999)


def test_student_t_at_a_lower_level_covers_less_and_is_narrower():
    rng = np.random.default_rng(1)
    samples = [rng.normal(0.0, 1.0, 10) for _ in range(400)]
    wide, narrow = [student_t(x) for x in samples], [student_t(x, level=0.5) for x in samples]
    assert all(n.hi - n.lo < w.hi - w.lo for n, w in zip(narrow, wide, strict=True))
    hits = sum(covers(e, 0.0) for e in narrow)
    assert scipy.stats.binom(400, 0.5).ppf(0.001) <= hits <= scipy.stats.binom(400, 0.5).ppf(0.999)


@settings(max_examples=20, deadline=None)
@given(values, holes)
def test_every_constructor_drops_non_finite_values_and_counts_the_rest(x, bad):
    mixed = np.random.default_rng(len(x)).permutation(np.array(x + bad, float))
    for make in (student_t, member_range, bootstrap):
        clean, dirty = make(np.array(x)), make(mixed)
        assert dirty.n == len(x) and dirty.value == pytest.approx(clean.value, rel=1e-12, abs=1e-9)
    assert bootstrap_difference(mixed, mixed).n == 2 * len(x)


@settings(deadline=None)
@given(holes)
def test_no_finite_value_gives_value_none_and_n_zero(bad):
    for make in (student_t, member_range, bootstrap, lambda v: bootstrap_difference(v, [1.0]),
                 lambda v: bootstrap_difference([1.0], v)):
        estimate = make(np.array(bad, float))
        assert estimate.value is None and estimate.n == 0 and not estimate.finite


@given(st.lists(finite, min_size=1, max_size=2))
def test_student_t_gives_no_interval_below_three_values(x):
    estimate = student_t(x)
    assert estimate.value == pytest.approx(np.mean(x)) and estimate.lo is None and estimate.hi is None
    assert (estimate.interval, estimate.level, estimate.n) == ("student-t", 0.95, len(x))


@given(st.lists(finite, min_size=3, max_size=30))
def test_student_t_is_symmetric_about_the_mean(x):
    estimate = student_t(x)
    assert estimate.value - estimate.lo == pytest.approx(estimate.hi - estimate.value, rel=1e-9, abs=1e-6)


@given(values)
def test_member_range_spans_min_to_max_around_its_centre(x):
    mean, median = member_range(x), member_range(x, center="median")
    for estimate in (mean, median):
        assert (estimate.lo, estimate.hi, estimate.n, estimate.interval) == (min(x), max(x), len(x), "range")
        assert estimate.lo - 1e-9 <= estimate.value <= estimate.hi + 1e-9
    assert median.value == np.median(x) and mean.value == pytest.approx(np.mean(x))
    backwards = member_range(x[::-1])
    assert (backwards.lo, backwards.hi, backwards.n) == (mean.lo, mean.hi, mean.n)
    assert backwards.value == pytest.approx(mean.value, rel=1e-12)


def test_member_range_median_resists_an_outlier_the_mean_does_not():
    x = [1.0, 1.0, 1.0, 1.0, 1e6]
    assert member_range(x, center="median").value == 1.0 and member_range(x).value > 1e5


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**31), level=st.sampled_from([0.5, 0.9, 0.95]))
def test_bootstrap_interval_of_the_mean_matches_the_normal_interval(seed, level):
    data = np.random.default_rng(seed).standard_normal(400)
    lo, hi = bootstrap_interval(lambda i: data[i].mean(), len(data), samples=2000, level=level, seed=seed)
    half = scipy.stats.norm.ppf(0.5 + level / 2) * data.std() / np.sqrt(len(data))
    assert lo == pytest.approx(data.mean() - half, abs=0.3 * half)
    assert hi == pytest.approx(data.mean() + half, abs=0.3 * half)
    mean = bootstrap(data, level=level, seed=seed)
    same = bootstrap_interval(lambda i: data[i].mean(), len(data), samples=1000, level=level, seed=seed)
    assert (mean.lo, mean.hi) == same and (mean.interval, mean.level) == ("bootstrap", level)


def test_bootstrap_is_reproducible_for_a_seed_and_varies_with_it():
    x = np.random.default_rng(2).standard_normal(30)
    assert bootstrap(x, seed=5) == bootstrap(x, seed=5)
    assert bootstrap(x, seed=5).lo != bootstrap(x, seed=6).lo


def test_bootstrap_interval_drops_draws_whose_statistic_is_not_finite():
    x = np.array([1.0, 2.0, 3.0])
    lo, hi = bootstrap_interval(lambda i: x[i].mean() if 0 in i else math.nan, 3, samples=500)
    assert 1.0 <= lo <= hi <= 3.0
    assert all(math.isnan(v) for v in bootstrap_interval(lambda i: math.nan, 3, samples=10))


def test_bootstrap_difference_covers_the_true_difference():
    rng = np.random.default_rng(3)
    hits = 0
    for _ in range(100):
        a, b = rng.normal(1.0, 0.5, 40), rng.normal(0.2, 0.5, 30)
        gap = bootstrap_difference(a, b)
        assert gap.value == pytest.approx(a.mean() - b.mean()) and gap.n == 70 and gap.interval == "bootstrap"
        hits += covers(gap, 0.8)
    assert hits >= 85      # 95 % nominal; the percentile bootstrap runs a little narrow at n = 30–40


@given(finite, st.integers(1, 100))
def test_point_has_no_interval(v, n):
    assert point(v, n) == Estimate(v, None, None, n, "none", None)


@pytest.mark.parametrize("bad", [math.nan, math.inf, None])
def test_point_of_a_non_finite_value_is_none(bad):
    assert point(bad, 7) == Estimate(None, n=0)


@settings(max_examples=30, deadline=None)
@given(st.sampled_from([student_t, bootstrap, member_range]), st.lists(finite, min_size=3, max_size=20))
def test_from_json_reads_back_what_a_summary_writes(make, x):
    estimate = make(x)
    assert Estimate.from_json(dataclasses.asdict(estimate)) == estimate
    assert Estimate.from_json({**dataclasses.asdict(estimate), "theory": 1.0}) == estimate   # extra keys


def test_from_json_reads_bare_numbers_and_refuses_what_is_not_a_number():
    assert Estimate.from_json(2) == Estimate(2.0, n=1)
    for node in (None, True, "0.5", math.nan, {"value": None, "n": 3}, {"value": math.inf}, {"mean": 0.5}, [0.5]):
        assert Estimate.from_json(node) is None
    assert Estimate.from_json({"value": 0.5, "lo": math.nan, "hi": None}) == Estimate(0.5)


def test_an_unknown_interval_kind_is_refused():
    with pytest.raises(ValueError, match="interval"):
        Estimate(1.0, interval="wald")
    assert Estimate(1.0, 0.0, 2.0, 5, "bootstrap", 0.9).describe() == "90 % bootstrap interval"
    assert member_range([1.0, 2.0]).describe() == "range" and point(1.0).describe() == "no interval"


@given(st.integers(0, 50), st.integers(1, 50))
def test_wilson_interval_holds_the_share_and_stays_in_0_1(k, n):
    from toymodels.theory.estimate import wilson

    k = min(k, n)
    e = wilson(k, n)
    assert e.value == k / n and e.n == n and e.interval == "wilson"
    assert -1e-12 <= e.lo <= e.value <= e.hi <= 1 + 1e-12
    assert wilson(0, 0).value is None
