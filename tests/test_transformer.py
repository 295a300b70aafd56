"""The one-layer transformer (Nanda et al. 2023): forward pass, init, optimiser, snapshots, config errors."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toymodels import ConfigError
from toymodels.transformer import Transformer, forward

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


def test_snapshot_is_the_parameters_and_observations_need_no_key_frequencies():
    hp = hparams(SMALL)
    state = SMALL.init(jax.random.PRNGKey(0), hp)
    assert SMALL.snapshot(state) is state.params
    observed = SMALL.observe(state, hp)
    assert set(observed) == {"train_loss", "test_loss", "train_acc", "test_acc", "embed_signal", "weight_sq_sum",
                             "weight_norm"}
    assert int(state.train.sum()) == int(0.3 * P * P)


def test_split_is_the_one_init_draws():
    hp = hparams(SMALL, train_fraction=0.5)
    key = jax.random.PRNGKey(7)
    np.testing.assert_array_equal(SMALL.split(key, hp), SMALL.init(key, hp).train)


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
