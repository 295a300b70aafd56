"""Trajectory fits (theory.odes), survivor scoring (theory.survivors) and their plots."""

from __future__ import annotations

import matplotlib.image
import matplotlib.pyplot as plt
import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure
from scipy.integrate import solve_ivp

from toymodels.plots import save_figure
from toymodels.plots.odes import MAX_PANELS, fit_figure, interaction_matrix, pair_counts, rollout_panels
from toymodels.spec import ConfigError
from toymodels.theory.odes import GLV, CustomODE, Linear, fit_glv_arrays, fit_ode, lasso_weights, r2_score
from toymodels.theory.survivors import calibrate, rule_survivors, score_survivors, split_seeds, top_m

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
    fit = fit_ode(xr.DataArray(x, dims=("seed", "step", "var")), Linear(), var_dim="var")
    np.testing.assert_allclose(fit.params["A"].values, a, atol=1e-6)
    np.testing.assert_allclose(fit.params["b"].values, b, atol=1e-6)
    np.testing.assert_allclose(fit.one_step_r2.values, 1.0, atol=1e-9)
    np.testing.assert_allclose(fit.r2_in.values, 1.0, atol=1e-4)
    assert fit.params["A"].dims == ("seed", "var", "var_in")


def glv_system(rng, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Competitive gLV with a feasible interior point, started at 5–30 % of the carrying capacities."""
    r = rng.uniform(0.5, 1.5, n)
    a = -rng.uniform(0.0, 0.4, (n, n)) / n
    np.fill_diagonal(a, -rng.uniform(0.8, 1.5, n))
    return r, a, rng.uniform(0.05, 0.3, n) * r / -np.diagonal(a)


def integrate(r, a, x0, ts) -> np.ndarray:
    """x(ts) by SciPy (independent of the Diffrax solver under test), tight tolerances."""
    solution = solve_ivp(lambda _, x: x * (r + a @ x), (ts[0], ts[-1]), x0, t_eval=ts, method="DOP853",
                         rtol=1e-12, atol=1e-14)
    return solution.y.T


@SLOW
@given(st.integers(0, 2**16), st.integers(1, 3), st.integers(1, 3))
def test_glv_regression_recovers_r_and_a_from_noise_free_trajectories(seed, members, n):
    """Exact up to the trapezoid rule's O(Δt²) error: Δt = 0.01 over a transient of ~8 time units."""
    rng = np.random.default_rng(seed)
    ts = np.linspace(0.0, 8.0, 801)
    systems = [glv_system(rng, n) for _ in range(members)]
    x = np.stack([integrate(r, a, x0, ts) for r, a, x0 in systems])
    fit = fit_glv_arrays(x, ts, ridge=0.0)
    np.testing.assert_allclose(fit.r, np.stack([s[0] for s in systems]), atol=2e-3)
    np.testing.assert_allclose(fit.a, np.stack([s[1] for s in systems]), atol=2e-3)
    assert np.all(fit.one_step_r2 > 0.9999)


def test_glv_rollout_reproduces_the_trajectory_and_extrapolates():
    rng = np.random.default_rng(7)
    ts = np.linspace(0.0, 10.0, 401)
    r, a, x0 = glv_system(rng, 3)
    x = integrate(r, a, x0, ts)[None]
    fit = fit_ode(xr.DataArray(x, dims=("seed", "step", "k"), coords={"step": ts}), GLV(), 0.5, "k")
    assert fit.fit_records == 201 and fit.fit_end_step == pytest.approx(5.0)
    np.testing.assert_allclose(fit.rollout.values, x, rtol=1e-3)
    assert fit.r2_out.item() > 0.999 and fit.r2_in.item() > 0.999


def test_out_of_window_r2_uses_only_unseen_records():
    """Changing the data after the window leaves the fit untouched; r2_out scores exactly those records."""
    x, _, _ = linear_trajectories(np.random.default_rng(1), 2, 3, 60)
    altered = x.copy()
    altered[:, 30:] += np.random.default_rng(2).normal(size=altered[:, 30:].shape)
    fits = [fit_ode(xr.DataArray(v, dims=("seed", "step", "var")), Linear(), 29 / 59, "var") for v in (x, altered)]
    assert fits[0].fit_records == fits[1].fit_records == 30
    xr.testing.assert_allclose(fits[0].params["A"], fits[1].params["A"])
    np.testing.assert_allclose(fits[1].r2_in, fits[0].r2_in)
    np.testing.assert_allclose(fits[0].r2_out, 1.0, atol=1e-6)
    rollout = fits[1].rollout.values[:, 30:]
    unseen = altered[:, 30:]
    by_hand = 1 - ((unseen - rollout) ** 2).sum(axis=(1, 2)) / ((unseen - unseen.mean(axis=1, keepdims=True)) ** 2).sum(
        axis=(1, 2))
    np.testing.assert_allclose(fits[1].r2_out.values, by_hand)


def test_custom_right_hand_side_is_fitted_per_member():
    """Logistic growth dx/dt = r x (1 − x/K), each member its own (r, K), fitted on half the span."""
    ts = np.linspace(0.0, 20.0, 41)
    r, k = np.array([0.4, 0.7]), np.array([2.0, 5.0])
    x = k[:, None] / (1 + (k[:, None] / 0.1 - 1) * np.exp(-r[:, None] * ts))
    da = xr.DataArray(x, dims=("seed", "step"), coords={"step": ts})
    model = CustomODE(lambda t, y, th: th["r"] * y * (1 - y / th["k"]), {"r": 0.5, "k": 3.0}, "logistic",
                      max_steps=40)
    fit = fit_ode(da, model, fit_fraction=0.5)
    assert fit.model is model
    np.testing.assert_allclose(fit.params["r"].values, r, rtol=1e-3)
    np.testing.assert_allclose(fit.params["k"].values, k, rtol=1e-3)
    assert fit.rollout.dims == ("seed", "step") and np.all(fit.r2_out.values > 0.999)


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


@SLOW
@given(st.integers(0, 2**16), st.floats(1.0, 100.0))
def test_a_lasso_penalty_above_the_largest_correlation_zeroes_a(seed, factor):
    """α ≥ ‖X̃ᵀỸ/N‖_∞ ⇒ W = 0 is the minimiser: A = 0 and b = the mean increment, so the rollout is
    the straight line x(0) + k·mean(Δx) (JAX's default float32 in the rollout)."""
    x, _, _ = linear_trajectories(np.random.default_rng(seed), 2, 3, 30)
    inputs, increments = x[:, :-1], np.diff(x, axis=1)
    xc, yc = inputs - inputs.mean(axis=1, keepdims=True), increments - increments.mean(axis=1, keepdims=True)
    alpha = factor * float(np.abs(np.swapaxes(xc, 1, 2) @ yc / xc.shape[1]).max())
    fit = fit_ode(xr.DataArray(x, dims=("seed", "step", "var")), Linear(alpha=alpha), var_dim="var")
    assert np.all(fit.params["A"].values == 0)
    np.testing.assert_allclose(fit.params["b"].values, increments.mean(axis=1), rtol=1e-12)
    line = x[:, :1] + np.arange(30)[None, :, None] * increments.mean(axis=1)[:, None]
    np.testing.assert_allclose(fit.rollout.values, line, atol=1e-5 * np.abs(line).max())   # rollout: float32


def test_models_are_values_the_same_model_gives_the_same_fit():
    """Model objects are frozen values (usable as dict keys, equal when their settings are), and a
    fit depends only on the model's settings: two equal models give identical parameters."""
    assert Linear(alpha=0.01) == Linear(alpha=0.01) and {GLV(ridge=0.1): 1}[GLV(ridge=0.1)] == 1
    assert Linear().name == "linear" and GLV().name == "glv"
    with pytest.raises(AttributeError):
        Linear().alpha = 1.0
    rng = np.random.default_rng(3)
    r, a, x0 = glv_system(rng, 2)
    ts = np.linspace(0.0, 4.0, 81)
    da = xr.DataArray(integrate(r, a, x0, ts)[None], dims=("seed", "step", "k"), coords={"step": ts})
    first, second = (fit_ode(da, GLV(ridge=0.01), 0.5, "k") for _ in range(2))
    xr.testing.assert_identical(first.params, second.params)
    assert first.model == GLV(ridge=0.01)
    stronger = fit_ode(da, GLV(ridge=1.0), 0.5, "k")   # more ridge: a smaller interaction matrix
    assert np.linalg.norm(stronger.params["A"].values) < np.linalg.norm(first.params["A"].values)


def test_r2_matches_sklearns_definitions():
    y = np.array([[[1.0, 5.0], [2.0, 5.0], [3.0, 5.0]]])
    pred = np.array([[[1.0, 5.0], [2.5, 5.0], [2.5, 5.0]]])
    # output 0: 1 − 0.5/2 = 0.75; output 1: constant and exact → 1; uniform average 0.875
    np.testing.assert_allclose(r2_score(y, pred), [0.875])
    assert r2_score(y, pred + np.array([0.0, 1.0]))[0] == pytest.approx(0.375)
    # pooled ("variance_weighted"): 1 − (0.5 + 3)/(2 + 0)
    assert r2_score(y, pred + np.array([0.0, 1.0]), "variance")[0] == pytest.approx(1 - 3.5 / 2)
    assert r2_score(y, np.full_like(y, np.inf), "variance")[0] == -np.inf


def test_unstable_linear_fit_has_spectral_radius_above_one():
    x = 1.05 ** np.arange(30.0)[None, :, None] * np.ones((1, 1, 2))
    fit = fit_ode(xr.DataArray(x, dims=("seed", "step", "var")), Linear(), var_dim="var")
    assert fit.extra["spectral_radius"].item() == pytest.approx(1.05, rel=1e-6)


def test_survivor_rule_baselines_and_scores():
    """Threshold c·mean over all p components; top-m by score; pooled precision and recall."""
    p = 11
    s = xr.DataArray([[1.0, 10.0, 1.0, 8.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0, 9.0, 1.0]], dims=("member", "freq"),
                     coords={"freq": np.arange(6)})
    # member 0: mean over 11 components = (1 + 2·(10 + 8 + 1 + 1 + 1))/11 = 43/11; 2·mean ≈ 7.8
    assert rule_survivors(s, p).values.tolist() == [[False, True, False, True, False, False],
                                                    [False, False, False, False, True, False]]
    assert rule_survivors(s, p, factor=2.3).values[0].tolist() == [False, True, False, False, False, False]
    predicted = top_m(s, xr.DataArray([1, 2], dims="member"))
    assert predicted.values.tolist() == [[False, True, False, False, False, False],
                                         [False, True, False, False, True, False]]   # tie 1,1,…: lower k
    actual = rule_survivors(s, p)
    score = score_survivors(predicted, actual)
    assert score.overall_precision == pytest.approx(2 / 3) and score.overall_recall == pytest.approx(2 / 3)
    assert calibrate({"top": predicted, "rule": actual}, actual) == "rule"


@given(st.lists(st.integers(0, 10_000), min_size=2, max_size=60, unique=True))
def test_held_out_seeds_are_disjoint_from_calibration_seeds(seeds):
    calibration, heldout = split_seeds(seeds)
    assert not set(calibration) & set(heldout)
    assert sorted(calibration + heldout) == sorted(seeds)
    assert abs(len(calibration) - len(heldout)) <= 1


def test_bad_input_is_a_config_error():
    with pytest.raises(ConfigError):
        fit_ode(xr.DataArray(np.ones((2, 5)), dims=("step", "var")), Linear(), var_dim="freq")
    with pytest.raises(ConfigError):
        fit_glv_arrays(-np.ones((1, 5, 2)), np.arange(5.0))
    with pytest.raises(ConfigError):   # the models validate themselves when built
        Linear(alpha=-1)
    with pytest.raises(ConfigError):
        GLV(ridge=-0.1)
    with pytest.raises(ConfigError):
        CustomODE(lambda t, x, th: x, {}, max_steps=0)
    for spelling in ("linear", "glv", "quadratic"):   # strings are CLI spellings, not models
        with pytest.raises(ConfigError, match="Linear"):
            fit_ode(xr.DataArray(np.ones((1, 5)), dims=("seed", "step")), spelling)
    with pytest.raises(ConfigError):   # 0.2 of 5 records is 1 record
        fit_ode(xr.DataArray(np.ones((1, 5)), dims=("seed", "step")), Linear(), 0.2)


def test_pair_counts_classify_competition_and_cooperation():
    a = xr.DataArray([[-1.0, -0.5, 0.2], [-0.1, -1.0, 0.3], [0.4, -0.2, -1.0]], dims=("freq", "freq_in"))
    assert pair_counts(a) == (1, 1)   # (0,1) both < 0; (1,2) mixed; (0,2) both > 0


def test_figures_are_returned_and_sized_by_members(tmp_path):
    x, _, _ = linear_trajectories(np.random.default_rng(0), 6, 3, 20)
    data = xr.DataArray(x, dims=("seed", "step", "var"))
    fit = fit_ode(data, Linear(), 0.5, "var")
    open_before = set(plt.get_fignums())   # figures other code left open are not ours to judge
    figures = {"fit": fit_figure(data, fit.rollout, fit.fit_end_step, "var"),
               "fit2": fit_figure(data.isel(seed=slice(0, 2)), fit.rollout.isel(seed=slice(0, 2)),
                                  fit.fit_end_step, "var"),
               "panels": rollout_panels(data.isel(seed=0), {"linear": fit.rollout.isel(seed=0)}, fit.fit_end_step),
               "A": interaction_matrix(fit.params["A"].isel(seed=0))}
    assert all(isinstance(f, Figure) for f in figures.values())
    paths = [save_figure(f, tmp_path / f"{name}.png") for name, f in figures.items()]
    assert set(plt.get_fignums()) <= open_before
    widths = [matplotlib.image.imread(p).shape[1] for p in paths[:2]]
    assert widths[0] / widths[1] == pytest.approx(MAX_PANELS / 2, rel=0.02)
    assert all(p.stat().st_size > 0 for p in paths)
