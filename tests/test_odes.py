"""Trajectory fits (theory.odes), survivor scoring (theory.survivors) and their plots."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toymodels.plots.odes import fit_overlay, matrix_heatmap, r2_histogram
from toymodels.spec import ConfigError
from toymodels.theory.odes import fit_glv_arrays, fit_linear, lasso_weights, r2_score, rollout_glv
from toymodels.theory.survivors import predict_survivors, score_survivors

SLOW = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def linear_trajectories(rng, members: int, n: int, steps: int) -> tuple[np.ndarray, ...]:
    """x(t+1) = x(t) + A x(t) + b with I + A = 0.97·(random orthogonal Q), from random starts.

    A slowly contracting rotation keeps the trajectory informative (well-conditioned design); a
    fast contraction collapses it onto the fixed point and A is then not identifiable in float64.
    """
    q = np.stack([np.linalg.qr(rng.normal(size=(n, n)))[0] for _ in range(members)])
    a = 0.97 * q - np.eye(n)
    b = rng.normal(size=(members, n))
    x = [rng.normal(size=(members, n))]
    for _ in range(steps - 1):
        x.append(x[-1] + np.einsum("mij,mj->mi", a, x[-1]) + b)
    return np.stack(x, axis=1), a, b


@SLOW
@given(st.integers(0, 2**16), st.integers(1, 4), st.integers(1, 6))
def test_linear_fit_is_exact_on_noise_free_linear_data(seed, members, n):
    x, a, b = linear_trajectories(np.random.default_rng(seed), members, n, steps=8 * n + 10)
    da = xr.DataArray(x, dims=("seed", "step", "var"))
    fit = fit_linear(da, "var")
    np.testing.assert_allclose(fit.a.values, a, atol=1e-6)
    np.testing.assert_allclose(fit.b.values, b, atol=1e-6)
    np.testing.assert_allclose(fit.one_step_r2.values, 1.0, atol=1e-9)
    np.testing.assert_allclose(fit.rollout_r2.values, 1.0, atol=1e-4)
    assert fit.a.dims == ("seed", "var", "var_in")


@SLOW
@given(st.integers(0, 2**16), st.floats(0.001, 0.3))
def test_lasso_satisfies_the_kkt_conditions_of_sklearns_objective(seed, alpha):
    """Minimiser of (1/2N)‖Y − XW − b‖² + α‖W‖₁ ⇔ |X̃ᵀR/N| ≤ α, = α·sign(W) where W ≠ 0."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(3, 60, 5)) @ rng.normal(size=(5, 5))
    y = x @ (rng.normal(size=(5, 2)) * (rng.random((5, 2)) < 0.5)) + rng.normal(size=(3, 60, 2))
    w, b = lasso_weights(x, y, alpha, tol=1e-10, max_iter=50_000)
    xc = x - x.mean(axis=1, keepdims=True)
    gradient = np.swapaxes(xc, 1, 2) @ (y - x @ w - b[:, None]) / x.shape[1]
    assert np.all(np.abs(gradient) <= alpha * (1 + 1e-4) + 1e-9)
    active = w != 0
    np.testing.assert_allclose(gradient[active], alpha * np.sign(w[active]), rtol=1e-4, atol=1e-8)
    np.testing.assert_allclose((y - x @ w - b[:, None]).mean(axis=1), 0, atol=1e-10)


def test_lasso_on_orthonormal_design_is_soft_thresholding():
    """X̃ᵀX̃/N = I ⇒ W = S_α(X̃ᵀỸ/N) exactly."""
    n_obs = 64
    q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(n_obs, 4)))
    q = q - q.mean(axis=0)
    q, _ = np.linalg.qr(q)
    x = q * np.sqrt(n_obs)
    y = x @ np.array([[1.0], [0.05], [-0.5], [0.0]]) + 3.0
    w, b = lasso_weights(x[None], y[None], 0.1, tol=1e-12)
    np.testing.assert_allclose(w[0, :, 0], [0.9, 0.0, -0.4, 0.0], atol=1e-8)
    np.testing.assert_allclose(b[0], [3.0], atol=1e-8)


def test_r2_matches_sklearns_definition():
    y = np.array([[[1.0, 5.0], [2.0, 5.0], [3.0, 5.0]]])
    pred = np.array([[[1.0, 5.0], [2.5, 5.0], [2.5, 5.0]]])
    # output 0: 1 − 0.5/2 = 0.75; output 1: constant and exact → 1; uniform average 0.875
    np.testing.assert_allclose(r2_score(y, pred), [0.875])
    assert r2_score(y, pred + np.array([0.0, 1.0]))[0] == pytest.approx(0.375)


def test_unstable_fit_is_flagged():
    x = 1.05 ** np.arange(30.0)[None, :, None] * np.ones((1, 1, 2))
    fit = fit_linear(xr.DataArray(x, dims=("seed", "step", "var")), "var")
    assert fit.spectral_radius.item() > 1 and not fit.stable.item()


def lotka_volterra_data(seed: int, noise: float) -> tuple[np.ndarray, ...]:
    """2 members × 40 times × 2 species of competitive LV, started far below equilibrium."""
    rng = np.random.default_rng(seed)
    r = rng.uniform(0.5, 1.5, 2)
    a = -np.array([[1.0, rng.uniform(0.1, 0.7)], [rng.uniform(0.1, 0.7), 1.0]]) * rng.uniform(0.5, 2, 2)
    ts = np.linspace(0.0, 12.0, 40)
    x0 = rng.uniform(0.01, 0.05, (2, 2)) * (-r / np.diagonal(a))
    clean = np.asarray(rollout_glv(np.stack([r, r]), np.stack([a, a]), x0, ts), np.float64)
    return clean * np.exp(noise * rng.normal(size=clean.shape)), ts, r, a


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**16))
def test_lotka_volterra_is_fitted_back_from_noisy_trajectories(seed):
    """1 % multiplicative noise: r within 10 %, the fitted per-capita growth r + A x within 5 % of
    max r along the clean trajectory, rollout R² > 0.99, bounded. A single trajectory lies on a
    curve in x-space, so the individual A_ij are not identifiable from it and are not asserted.
    """
    noisy, ts, r, a = lotka_volterra_data(seed, 0.01)
    clean, _, _, _ = lotka_volterra_data(seed, 0.0)
    fit = fit_glv_arrays(noisy, ts, refine_steps=40)
    np.testing.assert_allclose(fit.r, np.stack([r, r]), rtol=0.1)
    true_growth = r + clean @ a.T
    fitted_growth = fit.r[:, None, :] + clean @ np.swapaxes(fit.a, 1, 2)
    np.testing.assert_allclose(fitted_growth, true_growth, atol=0.05 * r.max())
    assert np.all(fit.rollout_r2 > 0.99) and np.all(fit.stable)
    assert np.all(np.diagonal(fit.a, axis1=1, axis2=2) <= 0)


def test_refinement_does_not_worsen_the_regression_estimate():
    noisy, ts, _, _ = lotka_volterra_data(1, 0.03)
    before = fit_glv_arrays(noisy, ts, refine_steps=0)
    after = fit_glv_arrays(noisy, ts, refine_steps=40)
    assert np.all(after.rollout_r2 >= before.rollout_r2 - 1e-6)


def test_survivor_prediction_and_scores():
    """Two growing frequencies among decaying ones: predicted from an early window, scored."""
    p, steps = 11, 60
    growth = np.array([0.0, 0.03, -0.02, 0.025, -0.03, -0.01])
    s = 10.0 * np.exp(growth[None, :] * np.arange(steps)[:, None])[None]
    signal = xr.DataArray(s, dims=("seed", "step", "freq"), coords={"freq": np.arange(6)})
    predicted = predict_survivors(signal, p, window=15)
    assert [int(k) for k in signal["freq"].values if predicted.isel(seed=0).sel(freq=k)] == [1, 3]
    actual = predicted.copy(data=np.array([[False, True, False, False, True, False]]))
    score = score_survivors(predicted, actual)
    assert score.overall_precision == 0.5 and score.overall_recall == 0.5
    assert float(score.precision.isel(seed=0)) == 0.5


def test_bad_input_is_a_config_error():
    with pytest.raises(ConfigError):
        fit_linear(xr.DataArray(np.ones((2, 5)), dims=("step", "var")), "freq")
    with pytest.raises(ConfigError):
        fit_glv_arrays(-np.ones((1, 5, 2)), np.arange(5.0))
    with pytest.raises(ConfigError):
        fit_linear(xr.DataArray(np.ones((1, 5, 2)), dims=("seed", "step", "var")), "var", alpha=-1)


def test_plots_accept_any_fit():
    x, _, _ = linear_trajectories(np.random.default_rng(0), 2, 3, 20)
    fit = fit_linear(xr.DataArray(x, dims=("seed", "step", "var")), "var")
    data = xr.DataArray(x, dims=("seed", "step", "var")).isel(seed=0)
    assert fit_overlay(data, fit.rollout.isel(seed=0)).axes
    assert r2_histogram({"one-step": fit.one_step_r2}).axes
    assert matrix_heatmap(fit.a.isel(seed=0)).axes
