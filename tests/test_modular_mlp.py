"""The embedding-MLP: its definition, its S_k observable, the circle rule, and that it groks."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import xarray as xr

import toymodels as tm
from toymodels.nn import frequency_signal
from toymodels.theory.circles import count_circles


def hp_of(system, **changes):
    return {k: jnp.float32(v) for k, v in {**system.hparams(), **changes}.items()}


def test_full_table_logits_equal_the_per_pair_mlp():
    system = tm.ModularMLP(p=7, d=5, width=6, depth=2)
    params = jax.jit(system.init)(jax.random.PRNGKey(0), hp_of(system)).params
    logits = jax.jit(system.model.apply)({"params": params})
    emb = params["embedding"]
    for a, b in [(0, 0), (3, 5), (6, 1)]:
        x = jnp.concatenate([emb[a], emb[b]])
        h = jax.nn.silu(x @ params["w1"] + params["b1"])
        h = jax.nn.silu(h @ params["Dense_0"]["kernel"] + params["Dense_0"]["bias"])
        out = h @ params["Dense_1"]["kernel"] + params["Dense_1"]["bias"]
        np.testing.assert_allclose(logits[a, b], out, rtol=1e-5, atol=1e-6)


def test_initial_signal_matches_its_expectation():
    """E ~ N(0, 1) ⇒ E[S_k²] = p·d for k ≥ 1."""
    system = tm.ModularMLP(p=31, d=64)
    keys = jax.random.split(jax.random.PRNGKey(1), 16)
    signals = jax.jit(jax.vmap(lambda k: frequency_signal(system.init(k, hp_of(system)).params["embedding"])))(keys)
    assert np.mean(np.asarray(signals)[:, 1:] ** 2) == pytest.approx(31 * 64, rel=0.05)


def test_signal_of_a_pure_frequency_and_the_circle_count():
    p, d = 13, 4
    n = np.arange(p)
    emb = np.zeros((p, d))
    emb[:, 0], emb[:, 1] = np.cos(2 * np.pi * 3 * n / p), np.sin(2 * np.pi * 3 * n / p)
    emb[:, 2] = 0.8 * np.cos(2 * np.pi * 5 * n / p)
    signal = np.asarray(frequency_signal(jnp.asarray(emb)))
    assert signal[3] == pytest.approx(p / np.sqrt(2), rel=1e-5)  # |p/2| and |−ip/2| in two dims
    assert signal[5] == pytest.approx(0.8 * p / 2, rel=1e-5)
    da = xr.DataArray(signal, dims="freq", coords={"freq": np.arange(p // 2 + 1)})
    assert int(count_circles(da, p)) == 2


def test_the_tiny_preset_groks_with_weight_decay():
    system = tm.ModularMLP(p=23, d=32, width=64)
    spec = tm.Spec(system, system.hparams(), sweep={"wd": (1.0,)}, seeds=2, steps=600, log_every=200)
    ds = tm.run(spec, quiet=True)
    final = ds.isel(step=-1)
    assert (final["train_acc"] == 1.0).all()
    assert (final["test_acc"] > 0.9).all()
    assert (ds["test_acc"].isel(step=0) < 0.2).all()


def test_float64_precision_runs_in_float64():
    system = tm.ModularMLP(p=5, d=3, width=4, precision="float64")
    ds = tm.run(tm.Spec(system, system.hparams(), steps=2, log_every=1), quiet=True)
    assert ds["train_loss"].dtype == np.float64
    jax.config.update("jax_enable_x64", False)


@pytest.mark.parametrize(("field", "value"), [("p", 2), ("d", 0), ("width", 0), ("embed", "prod"),
                                              ("activation", "swish"), ("precision", "float16")])
def test_bad_static_settings(field, value):
    with pytest.raises(tm.ConfigError):
        tm.ModularMLP(**{field: value})
