"""The one-layer transformer (Nanda et al. 2023) and its Fourier progress measures."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toymodels import ConfigError
from toymodels.transformer import (
    Transformer,
    cross_entropy,
    excluded_logits,
    forward,
    fourier_basis,
    neuron_frequencies,
    restricted_logits,
)

P = 11
SMALL = Transformer(p=P, d_model=16, n_heads=2, d_mlp=32)


def hparams(system: Transformer, **changes: float) -> dict[str, jax.Array]:
    return {k: jnp.asarray(v, jnp.float32) for k, v in {**system.hparams(), **changes}.items()}


def naive_logits(params: dict, a: int, b: int) -> jax.Array:
    """Textbook forward pass on "a b =" with a causal mask, read at the last position."""
    p = params["W_E"].shape[0] - 1
    x = params["W_E"][jnp.array([a, b, p])] + params["W_pos"]
    q, k, v = (jnp.einsum("id,hde->hie", x, params[w]) for w in ("W_Q", "W_K", "W_V"))
    scores = jnp.einsum("hie,hje->hij", q, k) / np.sqrt(q.shape[-1])
    scores = jnp.where(jnp.tril(jnp.ones((3, 3))) > 0, scores, -jnp.inf)
    x = x + jnp.einsum("hij,hje,hed->id", jax.nn.softmax(scores, -1), v, params["W_O"])
    x = x + jax.nn.relu(x @ params["W_in"] + params["b_in"]) @ params["W_out"] + params["b_out"]
    return (x @ params["W_U"])[-1]


def fourier_logits(p: int, amplitudes: dict[int, float], offset: np.ndarray) -> np.ndarray:
    """L[(a, b), z] = offset_z + Σ_k α_k cos(w_k (a + b − z)), z = 0..p (p + 1 outputs)."""
    a, b = np.divmod(np.arange(p * p), p)
    z = np.arange(p + 1)
    logits = np.tile(offset, (p * p, 1)).astype(np.float64)
    for k, amp in amplitudes.items():
        logits += amp * np.cos(2 * np.pi * k * ((a + b)[:, None] - z[None]) / p)
    return logits


def key_mask(p: int, freqs) -> jnp.ndarray:
    return (
        jnp.zeros(p // 2 + 1).at[jnp.asarray(list(freqs), int)].set(1.0)
        if freqs
        else jnp.zeros(p // 2 + 1)
    )


@settings(max_examples=4, deadline=None)
@given(a=st.integers(0, P - 1), b=st.integers(0, P - 1), seed=st.integers(0, 3))
def test_all_pairs_forward_equals_the_sequence_transformer(a, b, seed):
    state = SMALL.init(jax.random.PRNGKey(seed), hparams(SMALL))
    logits, _ = jax.jit(forward)(state.params)
    np.testing.assert_allclose(logits[a * P + b], naive_logits(state.params, a, b), atol=1e-5)


def test_init_follows_nanda():
    system = Transformer(p=31, d_model=64, n_heads=4, d_mlp=256)
    params = system.init(jax.random.PRNGKey(0), hparams(system)).params
    assert params["W_E"].shape == (32, 64) and params["W_U"].shape == (64, 32)
    assert float(jnp.std(params["W_in"])) == pytest.approx(1 / np.sqrt(64), rel=0.05)
    assert float(jnp.std(params["W_U"])) == pytest.approx(1 / np.sqrt(32), rel=0.1)
    assert float(jnp.abs(params["b_in"]).max()) == 0.0


@settings(max_examples=15, deadline=None)
@given(
    freqs=st.sets(st.integers(1, P // 2), min_size=1, max_size=3),
    amp=st.floats(0.5, 5.0),
    seed=st.integers(0, 100),
)
def test_restricted_loss_of_a_key_frequency_sum_is_the_full_loss(freqs, amp, seed):
    offset = np.random.default_rng(seed).normal(size=P + 1)
    logits = jnp.asarray(fourier_logits(P, dict.fromkeys(freqs, amp), offset))
    labels = jnp.asarray((np.arange(P * P) // P + np.arange(P * P) % P) % P)
    restricted = restricted_logits(logits, key_mask(P, freqs))
    np.testing.assert_allclose(restricted, logits, atol=1e-4)
    assert float(cross_entropy(restricted, labels).mean()) == pytest.approx(
        float(cross_entropy(logits, labels).mean()), abs=1e-4
    )


@settings(max_examples=15, deadline=None)
@given(
    keys=st.sets(st.integers(1, P // 2), min_size=1, max_size=3),
    others=st.sets(st.integers(1, P // 2), max_size=3),
    seed=st.integers(0, 100),
)
def test_excluded_logits_remove_exactly_the_key_components(keys, others, seed):
    rng = np.random.default_rng(seed)
    offset = rng.normal(size=P + 1)
    others = others - keys
    everything = {**{k: 2.0 for k in keys}, **{k: 1.5 for k in others}}
    logits = jnp.asarray(fourier_logits(P, everything, offset))
    expected = fourier_logits(P, {k: 1.5 for k in others}, offset)
    np.testing.assert_allclose(excluded_logits(logits, key_mask(P, keys)), expected, atol=1e-4)


def test_cross_frequency_terms_are_not_in_the_restricted_logits():
    """cos(w_k a)·cos(w_j b), k ≠ j, is no key direction: it must be removed (pitfall c.3)."""
    a, b = np.divmod(np.arange(P * P), P)
    cross = np.cos(2 * np.pi * 2 * a / P) * np.cos(2 * np.pi * 3 * b / P)
    logits = jnp.asarray(np.tile(cross[:, None], (1, P + 1)))
    np.testing.assert_allclose(restricted_logits(logits, key_mask(P, {2, 3})), 0.0, atol=1e-5)


@settings(max_examples=10, deadline=None)
@given(k=st.integers(1, P // 2), phase=st.floats(0, 2 * np.pi), linear=st.floats(0, 1))
def test_a_pure_frequency_neuron_is_assigned_its_frequency(k, phase, linear):
    a, b = np.divmod(np.arange(P * P), P)
    w = 2 * np.pi * k / P
    neuron = np.cos(w * (a + b) + phase) + linear * np.sin(w * a)
    noise = np.random.default_rng(0).normal(size=P * P)
    acts = jnp.asarray(np.stack([neuron, noise], axis=1))
    best, share = neuron_frequencies(acts)
    assert int(best[0]) == k and float(share[0]) == pytest.approx(1.0, abs=1e-5)
    assert float(share[1]) < 0.85


def test_fourier_basis_is_orthonormal():
    basis = fourier_basis(P)
    np.testing.assert_allclose(basis @ basis.T, np.eye(P), atol=1e-12)


def test_first_step_has_zero_learning_rate_as_in_lambda_lr_warmup():
    hp = hparams(SMALL)
    state = SMALL.init(jax.random.PRNGKey(0), hp)
    after = SMALL.step(state, hp)
    for name in state.params:
        np.testing.assert_array_equal(after.params[name], state.params[name])
    later = SMALL.step(after, hp)
    assert float(jnp.abs(later.params["W_E"] - state.params["W_E"]).max()) > 0


def test_constant_norm_transformer_keeps_its_norm():
    system = Transformer(p=P, d_model=16, n_heads=2, d_mlp=32, constant_norm=True)
    hp = hparams(system, wd=0.0, warmup=0.0, lr=1e-2, norm_scale=0.8)
    plain = SMALL.init(jax.random.PRNGKey(1), hparams(SMALL))
    state = system.init(jax.random.PRNGKey(1), hp)
    target = 0.8 * float(jnp.sqrt(sum(jnp.sum(x**2) for x in jax.tree.leaves(plain.params))))
    for _ in range(3):
        state = system.step(state, hp)
    assert float(system.observe(state, hp)["weight_norm"]) == pytest.approx(target, rel=1e-5)


@pytest.mark.parametrize(
    "changes",
    [{"p": 10}, {"p": 1}, {"d_model": 10, "n_heads": 4}, {"precision": "float16"}, {"d_mlp": 0}],
)
def test_bad_static_settings_are_config_errors(changes):
    with pytest.raises(ConfigError):
        Transformer(**changes)


@pytest.mark.parametrize(
    "changes", [{"lr": 0.0}, {"wd": -1.0}, {"train_fraction": 0.0}, {"norm_scale": 0.0}]
)
def test_bad_hparams_are_config_errors(changes):
    with pytest.raises(ConfigError):
        SMALL.check({**SMALL.hparams(), **changes})
