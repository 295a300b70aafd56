"""Toy model of superposition: sampling, loss, feature geometry, the analytic n = 2 phase diagram,
classification of constructed W, and short trainings in clear-cut cells of the diagram."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import toymodels as tm
from toymodels.experiments import REGISTRY
from toymodels.experiments.superposition_geometry import summarize as geometry_summarize
from toymodels.experiments.superposition_geometry import sweep_spec
from toymodels.experiments.superposition_intro import is_pentagon
from toymodels.experiments.superposition_intro import summarize as intro_summarize
from toymodels.experiments.superposition_phases import boundary_mask, grid_spec, majority
from toymodels.experiments.superposition_phases import summarize as phases_summarize
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
    spec = REGISTRY["superposition-phases"].spec("default")
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


def fake_run(spec: tm.Spec, w: np.ndarray, b: np.ndarray | None = None, diverged: np.ndarray | None = None):
    """A Dataset shaped like a finished run of `spec` (dims seed × swept axes) whose final W per member is
    `w` (member dims..., m, n): the geometry observables computed from it, b = `b` (default 0)."""
    dims = ("seed", *spec.sweep)
    shape = w.shape[:-2]
    coords = {"seed": np.arange(shape[0]), **{k: np.asarray(v) for k, v in spec.sweep.items()},
              **spec.system.coords(), "step": np.array([0, spec.steps])}
    flat = w.reshape(-1, *w.shape[-2:])
    geometry = [feature_geometry(jnp.asarray(x, jnp.float32)) for x in flat]
    per_feature = {k: np.stack([np.asarray(g[k]) for g in geometry]).reshape(*shape, -1) for k in geometry[0]}
    b = np.zeros((*shape, w.shape[-1])) if b is None else b
    final = {"W": (w, ("hidden", "feature")), "b": (b, ("feature",)),
             **{k: (v, ("feature",)) for k, v in per_feature.items()}}
    data = {k: ((*dims, "step", *extra), np.stack([np.zeros_like(v), v], axis=len(dims)))
            for k, (v, extra) in final.items()}
    data["diverged_step"] = (dims, np.full(shape, -1) if diverged is None else diverged)
    ds = xr.Dataset(data, coords=coords)
    ds.attrs["config"] = json.dumps({"experiment": "fake", "preset": "fake", "spec": spec.to_dict()})
    return ds


def test_intro_counts_pentagons_at_sparsity_0_9_and_only_there():
    """Seeds 0, 1 and 3 hold a regular pentagon at S = 0.9, seed 2 a square and a short fifth feature;
    at S = 0 every seed holds the pentagon rotated: only the S = 0.9 share is the claim's."""
    spec = REGISTRY["superposition-intro"].spec("tiny")                  # S = 0, 0.9; 2 seeds (4 here)
    pentagon = regular_polygon(5)
    square = np.concatenate([regular_polygon(4), [[0.1], [0.1]]], axis=1)
    w = np.stack([np.stack([pentagon[::-1], shape]) for shape in (pentagon, pentagon, square, pentagon)])
    summary = intro_summarize(fake_run(spec.set("seeds", 4), w)).to_json()
    assert summary["pentagon_at_0.9"]["value"] == 0.75 and summary["pentagon_at_0.9"]["n"] == 4
    assert summary["pentagon_fraction"] == {"0": 1.0, "0.9": 0.75}
    assert summary["represented"] == {"0": 5.0, "0.9": 4.75}
    assert summary["max_gap_error_at_0.9"]["2"] == pytest.approx(90 - 72)
    assert summary["max_gap_error_at_0.9"]["0"] == pytest.approx(0, abs=1e-6)
    without = intro_summarize(fake_run(spec.set("seeds", 4).with_sweep("density", (1.0,)), w[:, :1])).to_json()
    assert "pentagon_at_0.9" not in without                                 # no S = 0.9: no claim value


def test_phases_agreement_is_one_for_the_analytic_configurations_and_drops_with_a_wrong_seed():
    """Every member gets the analytic lowest-loss configuration of its cell: all agreements are 1.
    Then one of three seeds is same-sign shared everywhere: the majority still agrees, that seed
    does not, and the lowest-loss seed never picks it."""
    spec = grid_spec(side=5, seeds=3, steps=10, batch=16, log_every=10)
    density, importance = np.array(spec.sweep["density"]), np.array(spec.sweep["importance"])
    phase = analytic_phase(density[:, None], importance[None, :])
    configurations = np.array([[[1.0, 0.0]], [[0.0, 1.0]], [[1.0, -1.0]]])
    biases = np.stack([np.stack([[0, p / 2], [p / 2, 0], [0, 0]]) for p in density])     # (density, 3, 2)
    w = np.broadcast_to(configurations[phase], (3, *phase.shape, 1, 2)).copy()
    b = np.broadcast_to(np.take_along_axis(biases, phase[:, :, None], 1), (3, *phase.shape, 2)).copy()
    exact = phases_summarize(fake_run(spec, w, b)).to_json()
    assert exact["agreement_with_theory"] == exact["agreement_best_of_seeds"] == exact["agreement_members"] == 1
    assert exact["agreement_per_seed"] == {"value": 1.0, "lo": 1.0, "hi": 1.0, "n": 3, "interval": "range",
                                           "level": None}
    assert exact["constant_baseline"] < 0.9      # a constant map cannot pass the claims' band
    assert {k: v > 0 for k, v in exact["phase_fractions"]["analytic"].items()} == {
        "not represented": True, "dedicated": True, "superposition": True, "same-sign shared": False}
    w[2], b[2] = [[0.8, 0.8]], 0.0                                            # seed 2: same-sign shared
    broken = phases_summarize(fake_run(spec, w, b)).to_json()
    assert broken["agreement_with_theory"] == 1 and broken["agreement_best_of_seeds"] == 1
    assert broken["agreement_per_seed"]["lo"] == 0 and broken["same_sign_by_seed"] == {"0": 0, "1": 0, "2": 1}
    assert broken["agreement_members"] == pytest.approx(2 / 3)


def test_geometry_finds_the_antipodal_plateau_of_constructed_weights():
    """m = 4, n = 20: at the densest points 4 dedicated features (D* = 1), then 8 features in antipodal
    pairs (D* = 1/2) over most of the sweep, then 10 features at 2/5 (pentagons): the mode is 1/2."""
    spec = sweep_spec(n=20, m=4, log_min=-2.0, points=10, seeds=1, steps=10, log_every=10)
    dedicated = np.hstack([np.eye(4), np.zeros((4, 16))])
    pairs = np.hstack([np.kron(np.eye(4), [[1.0, -1.0]]), np.zeros((4, 12))])
    pentagons = np.hstack([np.kron(np.eye(2), regular_polygon(5)), np.zeros((4, 10))])
    layout = [dedicated] * 2 + [pairs] * 6 + [pentagons] * 2                  # densest first
    w = np.stack(layout[::-1])[None]                                             # density ascends
    summary = geometry_summarize(fake_run(spec, w)).to_json()
    assert summary["dims_per_feature_plateau"]["value"] == pytest.approx(0.5, abs=1e-3)
    assert summary["dims_per_feature_plateau"]["n"] == 8                         # D* 1/2 and 2/5 in the window
    assert summary["at_fractions"] == 1.0
    span = np.log10(1 / np.array(spec.sweep["density"]))
    assert summary["plateau_span_decades"] == pytest.approx(span[2] - span[7])
    assert sorted(summary["dims_per_feature"].values()) == pytest.approx([0.4] * 2 + [0.5] * 6 + [1.0] * 2)


@pytest.mark.parametrize("name", ["superposition-phases", "superposition-geometry", "superposition-intro"])
def test_every_preset_can_measure_its_claims(name):
    """What each claim reads exists in every preset: S = 0.9 swept (intro), a grid crossing all three
    analytic phases so that no constant map reaches the band (phases), a sparsity sweep of ≥ 1 decade (geometry)."""
    experiment = REGISTRY[name]
    for preset in ("tiny", "default", "paper"):
        spec = experiment.spec(preset).validate()
        density = np.array(spec.sweep["density"])
        if name == "superposition-intro":
            assert np.isclose(density, 0.1).any()
        elif name == "superposition-phases":
            phase = analytic_phase(density[:, None], np.array(spec.sweep["importance"])[None, :])
            assert set(np.unique(phase)) == {0, 1, 2}
            low = min(c.accept[0] for c in experiment.claims)
            assert max(np.mean(phase == k) for k in range(3)) < low
        else:
            assert np.log10(density.max() / density.min()) >= 1
