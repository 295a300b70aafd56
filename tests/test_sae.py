"""Sparse autoencoder on toy data: data generator, masks, TopK, recovery metrics."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import toymodels as tm
from toymodels.experiments import sae_toy
from toymodels.sae import SparseAutoencoder, sample, true_features
from toymodels.theory.sae import dark_matter, mcc


@settings(max_examples=10, deadline=None)
@given(st.floats(0.02, 0.5), st.integers(0, 10_000))
def test_samples_have_the_asked_density_and_lie_in_the_feature_span(density, seed):
    features = jnp.asarray(true_features(24, 6, 0))
    x = sample(jax.random.PRNGKey(seed), features, 4000, jnp.asarray(density), jnp.asarray(0.0))
    coefficients, *_ = np.linalg.lstsq(np.asarray(features).T, np.asarray(x).T, rcond=None)
    assert x.shape == (4000, 6)
    # E[‖x‖²] = N·density·E[a²] + cross terms of zero mean: a_j ~ U[0,1) gives E[a²] = 1/3
    mean_square = float((np.asarray(x) ** 2).sum(1).mean())
    expected = 24 * density / 3 + 24 * 23 * density**2 / 4 * float(np.mean(np.asarray(features) @ np.asarray(features).T
                                                                              - np.eye(24)))
    assert mean_square == pytest.approx(expected, rel=0.15)
    assert np.allclose(np.asarray(features).T @ coefficients, np.asarray(x).T, atol=1e-4)


def test_mask_topk_and_unit_decoder():
    system = SparseAutoencoder(d=8, n_features=12, max_ratio=2.0, topk=3, batch=32, eval_batch=64)
    hp = {k: jnp.asarray(v) for k, v in {**system.hparams(), "dict_ratio": 0.5}.items()}
    state = system.init(jax.random.PRNGKey(0), hp)
    for _ in range(5):
        state = system.step(state, hp)
    z = system.encode(state["params"], system.evaluation_batch(hp), system.mask(hp))
    assert int((system.mask(hp) > 0).sum()) == 6
    assert not bool((z[:, 6:] != 0).any()) and int((z > 0).sum(1).max()) <= 3
    assert np.allclose(np.linalg.norm(state["params"]["decoder"], axis=0), 1.0, atol=1e-5)


@settings(deadline=None)
@given(st.integers(0, 1000))
def test_mcc_is_one_for_the_true_dictionary_in_any_order(seed):
    features = true_features(10, 5, seed)
    order = np.random.default_rng(seed).permutation(10)
    assert mcc(features, features.T[:, order], np.ones(10)) == pytest.approx(1.0, abs=1e-5)
    # a dictionary of half the features matches at most half of them
    assert mcc(features, features.T[:, order[:5]], np.ones(5)) == pytest.approx(0.5, abs=1e-5)


def test_dark_matter_sees_linear_errors_and_not_noise():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2000, 6))
    assert dark_matter(x, x @ rng.standard_normal((6, 6))) == pytest.approx(1.0, abs=1e-9)
    assert abs(dark_matter(x, rng.standard_normal((2000, 6)))) < 0.05


def test_bad_settings_are_config_errors():
    spec = tm.Spec(SparseAutoencoder(), SparseAutoencoder().hparams())
    for key, value in (("dict_ratio", "8"), ("density", "0"), ("l1", "-1")):
        with pytest.raises(tm.ConfigError):
            spec.set(key, value).validate()
    with pytest.raises(tm.ConfigError):
        spec.set("topk", "1000")


def test_the_tiny_run_summarises_its_final_dictionaries(tmp_path):
    """From the stored run and its snapshots: the L1 is chosen on seed 0 and reported on seed 1, and
    one-to-one matching (MCC) never beats the best match per feature (MMCS) for any member."""
    spec = sae_toy.tiny()
    sae_toy.check(spec)
    tm.run(spec, tmp_path, quiet=True, metadata={"experiment": "sae-toy", "preset": "tiny"})
    ds = tm.load(tmp_path)
    summary = sae_toy.summarize(ds)
    data = summary.to_json()
    assert data["n_members"] == 8 and data["n_seeds_heldout"] == 1
    for ratio in ("1", "2"):
        rows = data["tradeoff"][ratio]
        assert [row["l1"] for row in rows] == list(spec.sweep["l1"])
        assert all(row["mcc"] <= row["mmcs"] + 1e-6 and row["dark_matter"] <= 1 for row in rows)
        best = data["best_l1"][ratio]
        held_out = ds["mmcs"].isel(step=-1, seed=1).sel(l1=best, dict_ratio=float(ratio))
        assert data["mmcs_best"][ratio]["value"] == pytest.approx(float(held_out))
        assert data["mmcs_best"][ratio]["interval"] == "student-t" and data["mmcs_best"][ratio]["n"] == 1
    assert set(sae_toy.figures(ds, summary)) == {"sae-tradeoff"}
