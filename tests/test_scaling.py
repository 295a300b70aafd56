"""Power-law fits, bootstrap intervals and quanta bookkeeping (theory.scaling)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from toymodels.theory.scaling import (
    bootstrap_power_law,
    fit_learned_steps,
    fit_power_law,
    learned_step,
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


def test_bootstrap_interval_covers_the_true_exponent():
    rng = np.random.default_rng(0)
    seeds = 3.0 * X**-0.4 * np.exp(0.1 * rng.standard_normal((5, len(X))))
    result = bootstrap_power_law(X, seeds, samples=300)
    assert result.ci[0] <= result.value <= result.ci[1]
    assert result.ci[0] < 0.4 < result.ci[1]
    assert result.ci[1] - result.ci[0] < 0.2
    single = bootstrap_power_law(X, seeds[:1], samples=100)   # one seed: resample points
    assert single.ci[0] <= single.value <= single.ci[1]


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
    assert fit_learned_steps(steps, probs).exponent == pytest.approx(beta, abs=0.1)
