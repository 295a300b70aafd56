"""Power-law fits, bootstrapped exponents and quanta bookkeeping (theory.scaling); the bootstrap itself
and the other intervals are tested in test_estimate.py."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.special
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from toymodels.theory.estimate import Estimate
from toymodels.theory.scaling import (
    bootstrap_points,
    bootstrap_seeds,
    fit_power_law,
    learned_points,
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


def test_too_few_points_give_nan_not_an_error():
    assert np.isnan(fit_power_law([1.0], [1.0]).exponent)
    assert np.isnan(fit_power_law([1.0, 2.0], [0.0, -1.0]).exponent)


@settings(max_examples=10, deadline=None)
@given(alpha=st.floats(0.2, 1.0))
def test_predicted_exponents_are_those_of_the_quanta_model_simulated(alpha):
    """Quanta with p_k ∝ k^{−(α+1)}, learned in order, each removing its share of a loss of 1:
    after n quanta L = Σ_{k>n} p_k. Parameters buy quanta one for one (n = N); data buy quantum k
    once D·p_k ≥ 1. Fitting L against N and D, and n against D, gives the predicted exponents."""
    def tail(n: np.ndarray) -> np.ndarray:                   # Σ_{k>n} p_k, p_k = k^{−(α+1)} / ζ(α+1)
        return scipy.special.zeta(alpha + 1, n + 1) / scipy.special.zeta(alpha + 1)

    def p(k: np.ndarray) -> np.ndarray:
        return k ** -(alpha + 1) / scipy.special.zeta(alpha + 1)

    n = np.unique(np.geomspace(30, 3000, 20).astype(int))
    predicted = predicted_exponents(alpha)
    assert fit_power_law(n, tail(n)).exponent == pytest.approx(predicted["alpha_N"], abs=0.03)
    data = np.geomspace(1 / p(30.0), 1 / p(3000.0), 20)
    learned = np.floor((data / scipy.special.zeta(alpha + 1)) ** (1 / (alpha + 1)) + 1e-9)   # D·p_k ≥ 1
    assert np.all(data * p(learned) >= 1 - 1e-9) and np.all(data * p(learned + 1) < 1)
    assert fit_power_law(data, tail(learned)).exponent == pytest.approx(predicted["alpha_D"], abs=0.03)
    assert -fit_power_law(data, learned).exponent == pytest.approx(predicted["quanta_D"], abs=0.03)
    assert predicted["alpha_S"] == predicted["alpha_D"] and predicted["quanta_N"] == 1.0


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


def test_an_exponent_is_an_estimate_with_a_bootstrap_interval():
    y = 2.0 * X**-0.5 * np.exp(0.1 * np.random.default_rng(4).standard_normal(len(X)))
    exponent = bootstrap_points(X, y, samples=200, level=0.9)
    estimate = exponent.estimate()
    assert estimate == Estimate(exponent.value, exponent.lo, exponent.hi, len(X), "bootstrap", 0.9)
    one_seed = bootstrap_seeds(X, y[None, :]).estimate()          # no interval from one seed
    assert one_seed.lo is None and one_seed.hi is None and one_seed.value == pytest.approx(exponent.value)
    assert bootstrap_points([1.0], [1.0], samples=10).estimate().value is None
