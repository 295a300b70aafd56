"""SAE suite: the synthetic data's statistics, the four variants, the metrics, the tiny preset end to end."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import toymodels as tm
from toymodels.experiments import sae_suite
from toymodels.sae_suite import SAESuite, flops, jumprelu, topk_mask
from toymodels.tasks.registry import make
from toymodels.tasks.sae_synthetic import sae_synthetic
from toymodels.theory.sae import absorption, interpolate_at, mcc

BATCH = 20_000


def coefficients(task, batch=BATCH, seed=0):
    return np.asarray(task.sample_with_coefficients(jax.random.PRNGKey(seed), batch)[1])


def test_firing_rates_follow_the_zipf_probabilities_within_binomial_intervals():
    task = sae_synthetic(d=8, n_features=30, n_parents=3, n_children=2, zipf=1.2, mean_active=2.0)
    n_top = task.n_top
    expected = np.arange(1, n_top + 1) ** -1.2
    np.testing.assert_allclose(task.probability[:n_top], 2.0 * expected / expected.sum(), rtol=1e-6)
    rates = (coefficients(task) > 0).mean(0)
    # 99.9 % binomial interval per feature (30 features: a false alarm has probability ≈ 3 %)
    half = stats.norm.ppf(0.9995) * np.sqrt(task.probability * (1 - task.probability) / BATCH)
    assert np.all(np.abs(rates - task.probability) <= half + 1 / BATCH)


def test_children_fire_only_with_their_parent_and_never_together():
    task = sae_synthetic(d=8, n_features=30, n_parents=3, n_children=3, child_prob=0.9)
    on = coefficients(task) > 0
    for q in range(3):
        kids = on[:, task.parent == q]
        assert not np.any(kids.any(1) & ~on[:, q])
        assert kids.sum(1).max() <= 1
        assert kids.any(1)[on[:, q]].mean() == pytest.approx(0.9, abs=0.03)
    parents = np.flatnonzero(task.parent >= 0)
    assert np.allclose(task.features[parents] @ task.features[:3].T * (task.parent[parents, None] == range(3)), 0,
                       atol=1e-6)


@pytest.mark.parametrize("rho", [-0.8, 0.8])
def test_the_copula_correlation_gives_the_firing_correlation_its_sign(rho):
    task = sae_synthetic(d=8, n_features=20, n_parents=2, n_children=0, zipf=0.0, mean_active=6.0, correlation=rho)
    on = (coefficients(task) > 0).astype(float)
    paired = [np.corrcoef(on[:, u], on[:, u + 1])[0, 1] for u in range(2, 18, 2)]
    unpaired = [np.corrcoef(on[:, u], on[:, u + 2])[0, 1] for u in range(3, 17, 2)]
    assert np.sign(np.mean(paired)) == np.sign(rho) and abs(np.mean(paired)) > 0.2
    assert abs(np.mean(unpaired)) < 0.03


def test_the_registered_task_is_the_data_of_a_member():
    system = SAESuite(d=8, n_features=20, n_parents=2, n_children=2, latents=16, experts=2, batch=32, eval_batch=64)
    task = make("sae-synthetic-v1", d=8, n_features=20, n_parents=2, n_children=2, eval_batch=64, seed=3)
    np.testing.assert_array_equal(task.eval_x, system.data().eval_x)
    state = system.init(jax.random.PRNGKey(3), {k: jnp.asarray(v) for k, v in system.hparams().items()})
    np.testing.assert_array_equal(task.sample(task.step_key(5), 32),
                                  system.data().sample(jax.random.fold_in(state["key"], 5), 32))


@settings(max_examples=10, deadline=None)
@given(st.integers(1, 12), st.integers(0, 1000))
def test_topk_keeps_exactly_k_latents(k, seed):
    z = jax.nn.relu(jax.random.normal(jax.random.PRNGKey(seed), (16, 24)) + 2.0)
    kept = topk_mask(z, jnp.asarray(k), 12)
    assert np.all((np.asarray(kept) > 0).sum(1) == k)
    assert np.all(np.asarray(kept).max(1) == np.asarray(z).max(1))


def hp_of(system, **values):
    return {k: jnp.asarray(float(v)) for k, v in {**system.hparams(), **values}.items()}


def test_the_switch_router_uses_one_expert_per_input():
    system = SAESuite(d=8, n_features=20, n_parents=2, n_children=2, latents=32, experts=4, batch=64, eval_batch=256)
    hp = hp_of(system, variant=3, knob=3, width=32)
    state, step = system.init(jax.random.PRNGKey(0), hp), jax.jit(system.step)
    for _ in range(3):
        state = step(state, hp)
    z, gate, p = system.encode(state["params"], jnp.asarray(system.data().eval_x), hp)
    experts_used = (np.asarray(z).reshape(256, 4, 8) > 0).any(2).sum(1)
    assert experts_used.max() == 1 and np.all((np.asarray(z) > 0).sum(1) <= 3)
    np.testing.assert_allclose(np.asarray(gate)[:, 0], np.asarray(p).max(1))


def test_flop_count_on_a_hand_computed_case():
    # dense: encoder 16·64 + decoder 64·16 multiply-adds; switch of 256 latents in 4 experts:
    # one expert of 64 (2048) + router 16·4 (64)
    assert flops("topk", 64, 16, 4) == 2048
    assert flops("switch", 256, 16, 4) == 2048 + 64


def test_jumprelu_straight_through_gradient_of_the_threshold():
    u = jnp.array([0.1, 0.5, 0.504, 0.9])
    theta = jnp.array(0.5)
    g = jax.grad(lambda t: jumprelu(u, t, 0.01).sum())(theta)
    # only u within ε/2 of θ (0.5 and 0.504) contribute, each −θ/ε
    assert float(g) == pytest.approx(-2 * 0.5 / 0.01, rel=1e-6)
    np.testing.assert_array_equal(jumprelu(u, theta, 0.01), jnp.array([0, 0, 0.504, 0.9]))


@settings(deadline=None, max_examples=20)
@given(st.integers(0, 1000))
def test_hungarian_mcc_is_one_for_a_permuted_copy(seed):
    task = sae_synthetic(d=8, n_features=20, n_parents=2, n_children=2)
    order = np.random.default_rng(seed).permutation(20)
    assert mcc(task.features, task.features.T[:, order], np.ones(20)) == pytest.approx(1.0, abs=1e-5)


def test_absorption_on_a_hand_built_absorbing_dictionary():
    """Parent 0 with children 2, 3 (orthogonal unit directions). The absorbing dictionary's child atoms
    are (f_c + f_0)/√2 and its parent latent is silent whenever a child fires."""
    features = np.eye(4, dtype=np.float32)
    parent = np.array([-1, -1, 0, 0])
    c = np.array([[1, 0, 0, 0], [1, 0, 1, 0], [1, 0, 0, 1], [0, 1, 0, 0], [1, 0, 1, 0]], float)
    absorbing = np.stack([features[0], features[1], (features[2] + features[0]) / np.sqrt(2),
                          (features[3] + features[0]) / np.sqrt(2)], axis=1)
    z = np.array([[1, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0, 1, 0, 0], [0, 0, 1, 0]], float)
    assert absorption(c, z, absorbing, features, parent, np.ones(4)) == pytest.approx(1.0)
    # the faithful dictionary (the parent latent fires with the child) absorbs nothing
    assert absorption(c, c, features.T, features, parent, np.ones(4)) == 0.0
    # parent silent on one of the three parent+child samples, with an atom that carries it: 1/3
    z_partial = c.copy()
    z_partial[1, 0] = 0
    assert absorption(c, z_partial, absorbing, features, parent, np.ones(4)) == pytest.approx(1 / 3)


def test_interpolation_at_a_matched_value():
    assert interpolate_at(np.array([1.0, 4.0]), np.array([8.0, 2.0]), 2.0) == pytest.approx(4.0)
    assert np.isnan(interpolate_at(np.array([1.0, 4.0]), np.array([8.0, 2.0]), 5.0))


def test_bad_settings_are_config_errors():
    with pytest.raises(tm.ConfigError):
        SAESuite(latents=30, experts=4)
    with pytest.raises(tm.ConfigError):
        SAESuite(mean_active=100.0)
    spec = tm.Spec(SAESuite(), SAESuite().hparams())
    for key, value in (("variant", "5"), ("knob", "2.5"), ("width", "1000")):
        with pytest.raises(tm.ConfigError):
            spec.set(key, value).validate()


def test_the_tiny_preset_end_to_end(tmp_path):
    spec = sae_suite.tiny()
    sae_suite.check(spec)
    tm.run(spec, tmp_path, quiet=True, metadata={"experiment": "sae-suite", "preset": "tiny"})
    ds = tm.load(tmp_path)
    summary = sae_suite.summarize(ds)
    data = summary.to_json()
    assert data["n_members"] == 3 * len(spec.tied[0].rows) and data["seeds"] == 3
    assert set(data["at_matched_l0"]) == {"relu", "topk", "jumprelu", "switch"}
    for variant, rows in data["l0_front"].items():
        assert [r["l0"] for r in rows] == sorted(r["l0"] for r in rows)
        if variant in ("topk", "switch"):   # TopK's L0 is at most its k
            assert all(r["l0"] <= r["knob"] + 1e-6 for r in rows)
    at_k = data["at_matched_l0"]["topk"]
    assert at_k["mcc"]["value"] is None or at_k["mcc"]["value"] <= at_k["mmcs"]["value"] + 1e-6
    assert set(sae_suite.figures(ds, summary)) == {"sae-suite-fronts", "sae-suite-metrics"}
