"""Power-law fits, bootstrap intervals and quanta bookkeeping (theory.scaling)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from toymodels.theory.scaling import (
    bootstrap_interval,
    bootstrap_points,
    bootstrap_seeds,
    difference_interval,
    fit_power_law,
    learned_points,
    learned_step,
    mean_interval,
    predicted_exponents,
    quanta_learned,
)

X = np.geomspace(10, 1e4, 15)


@settings(max_examples=30, deadline=None)
@given(exponent=st.floats(0.05, 2.0), amplitude=st.floats(0.1, 100.0), seed=st.integers(0, 2**31))
def test_fit_recovers_a_known_exponent_from_noisy_data(exponent, amplitude, seed):
    noise = np.exp(0.05 * np.random.default_rng(seed).standard_normal(len(X)))
    law = fit_power_law(X, amplitude * X**-exponent * noise)
    assert law.exponent == pytest.approx(exponent, abs=0.05)
    assert law.r2 > 0.5 or exponent < 0.1


@settings(max_examples=15, deadline=None)
@given(exponent=st.floats(0.5, 1.5), offset=st.floats(0.05, 0.2), seed=st.integers(0, 2**31))
def test_fit_with_offset_recovers_exponent_and_floor(exponent, offset, seed):
    noise = np.exp(0.01 * np.random.default_rng(seed).standard_normal(len(X)))
    y = (2.0 * (X / 10) ** -exponent + offset) * noise
    law = fit_power_law(X / 10, y, offset=True)
    assert law.exponent == pytest.approx(exponent, abs=0.1)
    assert law.offset == pytest.approx(offset, rel=0.3)


def test_plain_fit_is_biased_by_a_floor_that_the_offset_fit_removes():
    y = X**-0.8 + 1e-3
    assert fit_power_law(X, y).exponent < 0.7
    assert fit_power_law(X, y, offset=True).exponent == pytest.approx(0.8, abs=0.02)


def test_seed_bootstrap_interval_covers_the_true_exponent():
    rng = np.random.default_rng(0)
    seeds = 3.0 * X**-0.4 * np.exp(0.1 * rng.standard_normal((5, len(X))))
    result = bootstrap_seeds(X, seeds, samples=300)
    assert result.lo <= result.value <= result.hi and result.lo < 0.4 < result.hi
    assert result.hi - result.lo < 0.2
    assert (result.n, result.resampled) == (5, "seeds")
    assert np.isnan(bootstrap_seeds(X, seeds[:1]).lo)        # one seed: no seed interval


def test_points_bootstrap_covers_the_truth_in_about_95_percent_of_datasets():
    """Coverage of the pairs bootstrap on 60 independent noisy datasets of 10 points."""
    x = np.geomspace(10, 1e4, 10)
    rng = np.random.default_rng(1)
    covered = 0
    for _ in range(60):
        y = 2.0 * x**-0.5 * np.exp(0.2 * rng.standard_normal(len(x)))
        result = bootstrap_points(x, y, samples=300)
        covered += result.lo <= 0.5 <= result.hi
    assert covered >= 48          # ≥ 80 % (95 % nominal; the pairs bootstrap is a bit narrow at n = 10)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**31), level=st.sampled_from([0.5, 0.9, 0.95]))
def test_bootstrap_interval_of_the_mean_matches_the_normal_interval(seed, level):
    data = np.random.default_rng(seed).standard_normal(400)
    lo, hi = bootstrap_interval(lambda i: data[i].mean(), len(data), samples=2000, level=level, seed=seed)
    half = scipy.stats.norm.ppf(0.5 + level / 2) * data.std() / np.sqrt(len(data))
    assert lo == pytest.approx(data.mean() - half, abs=0.3 * half)
    assert hi == pytest.approx(data.mean() + half, abs=0.3 * half)


def test_too_few_points_give_nan_not_an_error():
    assert np.isnan(fit_power_law([1.0], [1.0]).exponent)
    assert np.isnan(fit_power_law([1.0, 2.0], [0.0, -1.0]).exponent)


def test_predicted_exponents():
    predicted = predicted_exponents(0.4)
    assert predicted["alpha_N"] == 0.4
    assert predicted["alpha_S"] == predicted["alpha_D"] == pytest.approx(0.4 / 1.4)
    assert predicted["quanta_D"] == pytest.approx(1 / 1.4)


def test_learned_step_is_the_first_logged_step_below_the_threshold():
    loss = xr.DataArray([[1.0, 1.0], [0.5, 1.0], [0.05, 1.0], [0.2, 0.9]],
                        dims=("step", "subtask"), coords={"step": [0, 10, 20, 30]})
    steps = learned_step(loss)
    assert float(steps.sel(subtask=0)) == 20
    assert np.isnan(float(steps.sel(subtask=1)))
    assert int(quanta_learned(loss.isel(step=2))) == 1
    assert int(quanta_learned(loss.min("step"))) == 1


@settings(max_examples=15, deadline=None)
@given(beta=st.floats(0.3, 1.5), seed=st.integers(0, 2**31))
def test_beta_fit_recovers_steps_to_learn_exponent(beta, seed):
    probs = np.arange(1, 21) ** -1.4 / np.sum(np.arange(1, 21) ** -1.4)
    noise = np.exp(0.05 * np.random.default_rng(seed).standard_normal((3, 20)))
    steps = xr.DataArray(50 * probs**-beta * noise, dims=("seed", "subtask"))
    steps = steps.where(steps < 50 * probs[12] ** -beta)   # rarer subtasks never learned → NaN
    assert fit_power_law(*learned_points(steps, probs)).exponent == pytest.approx(beta, abs=0.1)


def test_mean_and_difference_intervals():
    rng = np.random.default_rng(3)
    a, b = 1.0 + 0.1 * rng.standard_normal(50), 0.2 + 0.1 * rng.standard_normal(40)
    mean = mean_interval(np.append(a, np.nan))             # NaNs are dropped
    assert mean["n"] == 50 and mean["lo"] < 1.0 < mean["hi"] and mean["hi"] - mean["lo"] < 0.1
    gap = difference_interval(a, b)
    assert gap["n"] == 90 and gap["lo"] < 0.8 < gap["hi"] and gap["value"] == pytest.approx(a.mean() - b.mean())
    assert mean_interval(np.array([np.nan]))["value"] is None
