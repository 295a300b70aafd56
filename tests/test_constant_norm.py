"""Constant-norm training (Omnigrok) in the embedding-MLP; the default stays unconstrained."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import optax
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from toymodels import ConfigError, ModularMLP, Spec, load, run
from toymodels.constant_norm import optimizer_step, rescale_to_norm
from toymodels.experiments import constant_norm

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


def test_delays_and_their_ratio_on_hand_made_curves():
    """Seeds' accuracies cross 0.9 at known steps: the delay per mode, its seed range, the seeds that never
    grok, and the ratio of the mode means follow by hand."""
    steps = np.arange(0, 1001, 50)
    crossings = {(False, 1.0): [(100, 700), (100, 900)], (True, 0.0): [(50, 250), (100, 400)],
                 (False, 0.0): [(100, None), (50, None)], (True, 1.0): [(100, 300), (150, 350)]}
    shape = (2, 2, 2, len(steps))  # constant_norm, wd, seed, step
    train, test = np.zeros(shape), np.zeros(shape)
    for (cn, wd), members in crossings.items():
        for seed, (t_train, t_test) in enumerate(members):
            train[int(cn), int(wd), seed] = steps >= t_train
            test[int(cn), int(wd), seed] = steps >= (t_test if t_test is not None else 2000)
    dims = ("constant_norm", "wd", "seed", "step")
    ds = xr.Dataset({"train_acc": (dims, train), "test_acc": (dims, test), "weight_norm": (dims, np.ones(shape))},
                    coords={"constant_norm": [False, True], "wd": [0.0, 1.0], "seed": [0, 1], "step": steps})
    summary = constant_norm.summarize(ds)
    adamw, constant = summary.grokking_delay["adamw"], summary.grokking_delay["constant_norm"]
    assert (adamw.value, adamw.lo, adamw.hi, adamw.n) == (700.0, 600.0, 800.0, 2)
    assert (constant.value, constant.lo, constant.hi) == (250.0, 200.0, 300.0)
    assert summary.grokking_delay["adamw_wd0"].value is None and summary.n_never == {
        "adamw": 0, "constant_norm": 0, "adamw_wd0": 2, "constant_norm_wd1": 0}
    assert summary.delay_ratio == pytest.approx(250 / 700)
    assert summary.to_json()["grokking_delay"]["adamw"]["interval"] == "range"


def test_delay_ratio_band_refuses_no_change():
    """The claim's band excludes a ratio of 1 (no change) and anything within one logging interval of it."""
    (claim,) = [c for c in constant_norm.CLAIMS if c.key == "delay_ratio"]
    low, high = claim.accept
    assert low is None and high < 1 - 50 / 1000  # one 50-step interval of a delay below 1000 steps


def test_constant_norm_experiment_tiny(tmp_path):
    out = tmp_path / "run"
    run(constant_norm.tiny(), out, quiet=True, metadata={"experiment": "constant-norm", "preset": "tiny"})
    ds = load(out)
    summary = constant_norm.summarize(ds).to_json()
    assert set(summary["grokking_delay"]) == {"adamw", "constant_norm", "adamw_wd0", "constant_norm_wd1"}
    norms = summary["weight_norm"]
    # constant norm: ‖θ‖ stays at α‖θ₀‖ = 0.8 × the unconstrained start; AdamW's norm moves
    assert norms["constant_norm"]["final"] == pytest.approx(norms["constant_norm"]["initial"], rel=1e-4)
    assert norms["constant_norm"]["initial"] == pytest.approx(0.8 * norms["adamw"]["initial"], rel=1e-4)
    assert abs(norms["adamw_wd0"]["final"] - norms["adamw_wd0"]["initial"]) > 1e-2
    assert set(constant_norm.figures(ds, constant_norm.summarize(ds))) == {"constant-norm-curves"}
    plt.close("all")
