"""Toy model of superposition: sampling, loss, feature geometry, the analytic n = 2 phase diagram,
classification of constructed W, and short trainings in clear-cut cells of the diagram."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import toymodels as tm
from toymodels.experiments import get
from toymodels.experiments.superposition_intro import is_pentagon
from toymodels.experiments.superposition_phases import boundary_mask, majority
from toymodels.superposition import (
    Superposition,
    feature_geometry,
    fixed_sample_losses,
    importances,
    sample_features,
    weighted_loss,
)
from toymodels.theory.superposition import (
    analytic_phase,
    classify,
    dims_per_feature,
    phase_losses,
    plateau_mode,
    polygon,
    superposition_band,
)


def as_w(w) -> xr.DataArray:
    w = np.asarray(w, float)
    return xr.DataArray(w, dims=("hidden", "feature"),
                        coords={"hidden": np.arange(1, w.shape[0] + 1), "feature": np.arange(1, w.shape[1] + 1)})


def regular_polygon(k: int, radius: float = 1.0) -> np.ndarray:
    angles = 2 * np.pi * np.arange(k) / k + 0.3
    return radius * np.stack([np.cos(angles), np.sin(angles)])


@settings(max_examples=15, deadline=None)
@given(st.floats(0.05, 1.0), st.integers(0, 2**31 - 1))
def test_features_are_active_with_the_density_and_uniform_when_active(p, seed):
    x = np.asarray(sample_features(jax.random.PRNGKey(seed), jnp.float32(p), 4096, 8))
    active = x > 0
    n = x.size
    assert abs(active.mean() - p) <= 5 * np.sqrt(p * (1 - p) / n) + 1e-6
    values = x[active]
    assert values.min() >= 0 and values.max() < 1
    assert abs(values.mean() - 0.5) <= 5 * np.sqrt(1 / 12 / values.size)


def test_batches_differ_between_steps_and_repeat_for_the_same_key():
    key = jax.random.PRNGKey(3)
    a, b = (np.asarray(sample_features(jax.random.fold_in(key, t), jnp.float32(0.5), 64, 4)) for t in (0, 1))
    again = np.asarray(sample_features(jax.random.fold_in(key, 0), jnp.float32(0.5), 64, 4))
    assert not np.array_equal(a, b) and np.array_equal(a, again)


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 6), st.floats(0.01, 1.0), st.floats(0.1, 2.0), st.integers(0, 1000))
def test_identity_embedding_with_m_equal_n_reconstructs_exactly(n, p, importance, seed):
    """m = n, W = I, b = 0: x' = ReLU(x) = x for x ≥ 0, so the loss is zero at every density."""
    x = sample_features(jax.random.PRNGKey(seed), jnp.float32(p), 256, n)
    params = {"W": jnp.eye(n), "b": jnp.zeros(n)}
    assert float(weighted_loss(params, x, importances(jnp.float32(importance), n))) == 0.0


def test_constructed_geometries_have_the_textbook_dimensionalities():
    for w, expected in ((np.eye(3), 1.0), ([[1.0, -1.0]], 0.5), (regular_polygon(5), 0.4),
                        (regular_polygon(3), 2 / 3)):
        geometry = feature_geometry(jnp.asarray(w, jnp.float32))
        np.testing.assert_allclose(geometry["dimensionality"], expected, atol=1e-5)
    dead = feature_geometry(jnp.array([[1.0, 0.0], [0.0, 0.0]]))
    np.testing.assert_allclose(dead["dimensionality"], [1.0, 0.0])
    np.testing.assert_allclose(dead["interference"], [0.0, 0.0])


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 5), st.integers(1, 8), st.floats(0.2, 5.0), st.integers(0, 10_000))
def test_dimensionality_is_rotation_and_scale_invariant(m, n, scale, seed):
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(m, n))
    q, _ = np.linalg.qr(rng.normal(size=(m, m)))
    base = feature_geometry(jnp.asarray(w))
    moved = feature_geometry(jnp.asarray(scale * q @ w))
    np.testing.assert_allclose(moved["dimensionality"], base["dimensionality"], atol=1e-4)
    np.testing.assert_allclose(moved["interference"], scale**2 * base["interference"], rtol=1e-3, atol=1e-4)
    d = np.asarray(base["dimensionality"])
    assert np.all((d >= -1e-6) & (d <= 1 + 1e-6))


def test_dims_per_feature_counts_represented_features():
    assert float(dims_per_feature(as_w(regular_polygon(4)))) == pytest.approx(0.5)
    assert float(dims_per_feature(as_w(np.eye(3)))) == pytest.approx(1.0)


def test_classification_of_constructed_matrices():
    cases = {((1.0, 0.0),): 0, ((0.0, 1.0),): 1, ((0.9, -1.0),): 2, ((0.3, 1.0),): 1, ((0.7, 0.8),): 3,
             ((1.0, 0.2),): 0, ((-0.6, 0.9),): 2, ((-0.7, -0.8),): 3}
    for w, phase in cases.items():
        assert int(classify(as_w(w))) == phase, w


@settings(max_examples=40, deadline=None)
@given(st.floats(0.005, 0.79))
def test_analytic_boundaries_equalise_the_losses(p):
    low, high = superposition_band(p)
    l0, _, l2 = phase_losses(p, low)
    _, l1, l2h = phase_losses(p, high)
    assert l0 == pytest.approx(l2, rel=1e-9) and l1 == pytest.approx(l2h, rel=1e-9)


def test_analytic_diagram_limits():
    r = np.logspace(-1, 1, 41)
    dense = analytic_phase(np.ones_like(r), r)
    assert np.all(dense[r < 1] == 0) and np.all(dense[r > 1] == 1)
    assert np.all(analytic_phase(np.full_like(r, 0.58), r) != 2)
    assert analytic_phase(0.56, 1.0) == 2
    assert np.all(analytic_phase(np.full_like(r, 1e-3), r) == 2)
    p = np.logspace(-3, -0.11, 50)
    low, high = superposition_band(p)
    assert np.all(np.diff(low) > 0) and np.all(np.diff(high) < 0)


@pytest.mark.parametrize("p, r", [(0.05, 0.5), (0.3, 2.0), (1.0, 0.7)])
def test_analytic_losses_match_the_system_loss_of_each_configuration(p, r):
    """Monte Carlo of the system's own loss at the three candidate (W, b) against the closed forms."""
    w = np.array([[[1.0, 0.0]], [[0.0, 1.0]], [[1.0, -1.0]]])
    b = np.array([[0.0, p / 2], [p / 2, 0.0], [0.0, 0.0]])
    simulated = fixed_sample_losses(w, b, p, r, samples=400_000)
    np.testing.assert_allclose(simulated, phase_losses(p, r), rtol=0.03, atol=2e-5)


def test_polygon_measures_regular_shapes():
    pentagon = polygon(regular_polygon(5))
    assert pentagon["represented"] == 5 and is_pentagon(pentagon)
    assert pentagon["min_gap_deg"] == pytest.approx(72) and pentagon["max_gap_deg"] == pytest.approx(72)
    square_plus_small = np.concatenate([regular_polygon(4), [[0.1], [0.1]]], axis=1)
    square = polygon(square_plus_small)
    assert square["represented"] == 4 and square["max_gap_deg"] == pytest.approx(90) and not is_pentagon(square)


def test_plateau_mode_finds_the_crowded_value():
    values = np.concatenate([np.linspace(0.3, 0.9, 13), np.full(5, 0.5) + np.linspace(-0.005, 0.005, 5)])
    assert plateau_mode(values, (0.3, 0.9)) == pytest.approx(0.5, abs=0.005)
    assert np.isnan(plateau_mode(np.array([]), (0.3, 0.9)))


def test_majority_and_boundary_helpers():
    phase = xr.DataArray(np.array([[0, 2], [2, 2], [1, 0], [3, 3]]), dims=("seed", "cell"))
    np.testing.assert_array_equal(majority(phase).values, [0, 2])
    grid = np.array([[0, 0, 0], [0, 0, 1], [0, 0, 1]])
    assert boundary_mask(grid).sum() == 5


def test_bad_settings_are_config_errors():
    system = Superposition(n=2, m=1)
    for key, value in (("density", 0.0), ("density", 1.5), ("importance", 0.0), ("lr", -1.0)):
        with pytest.raises(tm.ConfigError, match=key):
            tm.Spec(system, system.hparams()).set(key, value).validate()
    with pytest.raises(tm.ConfigError, match="m must be"):
        Superposition(m=0)


def test_phases_default_is_one_program_of_8000_members():
    spec = get("superposition-phases").spec("default")
    assert spec.n_members == 8000 and not spec.static_axes()


def test_training_reaches_the_analytic_phase_in_clear_cut_cells():
    """Dense: the more important feature takes the dimension; sparse: antipodal superposition."""
    system = Superposition(n=2, m=1, batch=256)
    spec = tm.Spec(system, system.hparams(), sweep={"density": (0.03, 1.0), "importance": (0.2, 5.0)},
                   seeds=3, steps=1000, log_every=500)
    ds = tm.run(spec, quiet=True)
    phase = majority(classify(ds["W"].isel(step=-1)))
    expected = analytic_phase(ds["density"].values[:, None], ds["importance"].values[None, :])
    np.testing.assert_array_equal(phase.transpose("density", "importance").values, expected)
    np.testing.assert_array_equal(expected, [[2, 2], [0, 1]])
    w = ds["W"].isel(step=-1, hidden=0).sel(density=0.03)
    assert bool((w.sel(feature=1) * w.sel(feature=2) < 0).any())
    first, last = ds["loss"].isel(step=0), ds["loss"].isel(step=-1)
    assert float(last.sel(density=1.0).mean()) < float(first.sel(density=1.0).mean())


def test_same_seed_gives_the_same_numbers():
    system = Superposition(n=4, m=2, batch=64)
    spec = tm.Spec(system, system.hparams(), seeds=1, steps=20, log_every=10)
    a, b = tm.run(spec, quiet=True), tm.run(spec, quiet=True)
    np.testing.assert_array_equal(a["W"].values, b["W"].values)


@pytest.mark.parametrize("name", ["superposition-phases", "superposition-geometry", "superposition-intro"])
def test_every_preset_is_a_valid_spec(name):
    experiment = get(name)
    assert experiment.claims
    for preset in ("tiny", "default", "paper"):
        assert isinstance(experiment.spec(preset).validate().system, Superposition)
