"""Constant-norm training (Omnigrok) in the embedding-MLP; the default stays unconstrained."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toymodels import ConfigError, ModularMLP, Spec, run
from toymodels.constant_norm import optimizer_step, rescale_to_norm
from toymodels.experiments.cli import main

SMALL = dict(p=11, d=8, width=16)


@settings(max_examples=20, deadline=None)
@given(scale=st.floats(0.01, 100.0), target=st.floats(0.1, 50.0), seed=st.integers(0, 1000))
def test_rescale_to_norm_hits_the_target_and_keeps_the_direction(scale, target, seed):
    rng = np.random.default_rng(seed)
    params = {
        "a": jnp.asarray(rng.normal(size=(3, 4)) * scale),
        "b": jnp.asarray(rng.normal(size=5)),
    }
    out = rescale_to_norm(params, jnp.float32(target))
    assert float(optax.tree.norm(out)) == pytest.approx(target, rel=1e-5)
    ratio = np.asarray(out["a"]) / np.asarray(params["a"])
    np.testing.assert_allclose(ratio, ratio.flat[0], rtol=1e-4)


def test_constant_norm_holds_the_norm_at_alpha_times_the_initial_norm():
    plain = ModularMLP(**SMALL)
    fixed = ModularMLP(**SMALL, constant_norm=True)
    hp = {**plain.hparams(), "wd": 0.0, "norm_scale": 0.8}
    spec = Spec(fixed, hp, seeds=2, steps=40, log_every=10)
    norms = run(spec, quiet=True)["weight_norm"]
    keys = jax.vmap(jax.random.PRNGKey)(jnp.arange(2))
    hp_arrays = {k: jnp.asarray(v, jnp.float32) for k, v in hp.items()}
    initial = jax.vmap(lambda k: optax.tree.norm(plain.init(k, hp_arrays).params))(keys)
    np.testing.assert_allclose(
        norms.values, 0.8 * np.asarray(initial)[:, None] * np.ones((1, 5)), rtol=1e-5
    )


def test_without_constant_norm_the_norm_moves_and_defaults_are_unchanged():
    system = ModularMLP(**SMALL)
    assert system.constant_norm is False
    assert {k: system.hparams()[k] for k in ("lr", "wd", "train_fraction", "init_scale")} == {
        "lr": 0.01,
        "wd": 0.5,
        "train_fraction": 0.8,
        "init_scale": 1.0,
    }
    norms = run(Spec(system, system.hparams(), seeds=1, steps=40, log_every=20), quiet=True)[
        "weight_norm"
    ]
    assert abs(float(norms.isel(step=-1, seed=0)) - float(norms.isel(step=0, seed=0))) > 1e-3


def test_bad_norm_scale_is_a_config_error():
    system = ModularMLP(**SMALL, constant_norm=True)
    with pytest.raises(ConfigError):
        Spec(system, {**system.hparams(), "norm_scale": 0.0}).validate()


@settings(max_examples=15, deadline=None)
@given(target=st.floats(0.5, 20.0), seed=st.integers(0, 1000))
def test_optimizer_step_projects_the_whole_tree_or_one_part(target, seed):
    """Without a norm it is the plain optax update; with one, ‖θ‖ (or ‖θ[part]‖) equals it after the step."""
    rng = np.random.default_rng(seed)
    params = {"e": jnp.asarray(rng.normal(size=(4, 2))), "dec": [jnp.asarray(rng.normal(size=(3, 3)))]}
    grads = jax.tree.map(lambda x: jnp.asarray(rng.normal(size=x.shape)), params)
    opt = optax.adamw(1e-2, weight_decay=0.1)
    plain, _ = optimizer_step(opt, params, grads, opt.init(params))
    updates, _ = opt.update(grads, opt.init(params), params)
    reference = optax.apply_updates(params, updates)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6), plain, reference)
    whole, _ = optimizer_step(opt, params, grads, opt.init(params), jnp.float32(target))
    assert float(optax.tree.norm(whole)) == pytest.approx(target, rel=1e-5)
    part, _ = optimizer_step(opt, params, grads, opt.init(params), jnp.float32(target), part="dec")
    assert float(optax.tree.norm(part["dec"])) == pytest.approx(target, rel=1e-5)
    np.testing.assert_allclose(part["e"], reference["e"], rtol=1e-6)


def test_constant_norm_experiment_tiny_through_cli(tmp_path):
    out = tmp_path / "run"
    assert main(["run", "constant-norm", "--preset", "tiny", "--out", str(out), "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["grokking_delay"]) == {"adamw", "constant_norm", "adamw_wd0", "constant_norm_wd1"}
    norms = summary["weight_norm"]
    # constant norm: ‖θ‖ stays at α‖θ₀‖ = 0.8 × the unconstrained start; AdamW's norm moves
    assert norms["constant_norm"]["final"] == pytest.approx(norms["constant_norm"]["initial"], rel=1e-4)
    assert norms["constant_norm"]["initial"] == pytest.approx(0.8 * norms["adamw"]["initial"], rel=1e-4)
    assert abs(norms["adamw_wd0"]["final"] - norms["adamw_wd0"]["initial"]) > 1e-2
    assert (out / "constant-norm-curves.png").exists()
