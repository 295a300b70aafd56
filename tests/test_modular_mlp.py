"""The embedding-MLP: its definition, its initial parameters, its S_k observable, the circle rule,
and that it groks."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import xarray as xr

import toymodels as tm
from toymodels.nn import frequency_signal
from toymodels.theory.circles import circles


def hp_of(system, **changes):
    return {k: jnp.float32(v) for k, v in {**system.hparams(), **changes}.items()}


def test_full_table_logits_equal_the_per_pair_mlp():
    system = tm.ModularMLP(p=7, d=5, width=6, depth=2)
    params = jax.jit(system.init)(jax.random.PRNGKey(0), hp_of(system)).params
    logits = jax.jit(system.logits)(params)
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
    assert np.flatnonzero(circles(da, p).values).tolist() == [3, 5]


def test_circles_need_twice_the_mean_over_all_p_components_and_skip_k_0():
    """p = 10: S_k for k = 0..5 stands for 1, 2, 2, 2, 2, 1 components. Threshold 2·mean over all p:
    with S = (50, 0, 10, 0, 0, 0) the mean is (50 + 2·10)/10 = 7, so k = 2 (10 < 14) is no circle and
    k = 0 never is; k = p/2 = 5 is never a circle either (its component is its own mirror)."""
    p, freq = 10, {"freq": np.arange(6)}
    signal = xr.DataArray([50.0, 0, 10, 0, 0, 0], dims="freq", coords=freq)
    assert not circles(signal, p).any()
    signal = xr.DataArray([0.0, 0, 10, 1, 0, 100], dims="freq", coords=freq)  # mean (20 + 2 + 100)/10
    assert np.flatnonzero(circles(signal, p).values).tolist() == []
    signal = xr.DataArray([[0.0, 0, 10, 1, 0, 0], [0.0, 9, 9, 9, 9, 0]], dims=("member", "freq"), coords=freq)
    # member 0: mean 2.2, threshold 4.4: k = 2 only; member 1: every k has 9 < threshold 2·72/10 = 14.4
    assert circles(signal, p).values.tolist() == [[False, False, True, False, False, False], [False] * 6]


def test_initial_parameters_are_those_of_the_flax_version():
    """Regression pin: the first values of each parameter at PRNGKey(0), as drawn by the former Flax
    module (same names, same per-parameter keys), so stored runs stay reproducible."""
    system = tm.ModularMLP(p=7, d=5, width=6, depth=2)
    params = system.init_params(jax.random.PRNGKey(0))
    first = {k: np.asarray(v).ravel()[:2].tolist() for k, v in
             [("Dense_0/bias", params["Dense_0"]["bias"]), ("Dense_0/kernel", params["Dense_0"]["kernel"]),
              ("Dense_1/bias", params["Dense_1"]["bias"]), ("Dense_1/kernel", params["Dense_1"]["kernel"]),
              ("b1", params["b1"]), ("embedding", params["embedding"]), ("w1", params["w1"])]}
    assert first == {"Dense_0/bias": [0.07892617583274841, 0.2916490137577057],
                     "Dense_0/kernel": [-0.36516380310058594, 0.21091718971729279],
                     "Dense_1/bias": [0.36189407110214233, 0.04937519133090973],
                     "Dense_1/kernel": [0.0009988413657993078, 0.09487775713205338],
                     "b1": [0.2551760971546173, 0.2016768604516983],
                     "embedding": [0.07614249736070633, -1.6157459020614624],
                     "w1": [0.1431446671485901, 0.06372816860675812]}
    shapes = jax.tree.map(np.shape, params)
    assert shapes == {"embedding": (7, 5), "w1": (10, 6), "b1": (6,), "Dense_0": {"kernel": (6, 6), "bias": (6,)},
                      "Dense_1": {"kernel": (6, 7), "bias": (7,)}}
    bound = 1 / np.sqrt(6)   # PyTorch's Linear init: U(±1/√fan_in)
    layers = [params[k][w] for k in ("Dense_0", "Dense_1") for w in ("kernel", "bias")]
    assert all(np.abs(np.asarray(x)).max() <= bound for x in layers)


@pytest.mark.parametrize("fix", ["embedding", "mlp"])
def test_fixed_parts_come_from_init_seed_and_the_rest_from_the_member(fix):
    system = tm.ModularMLP(p=7, d=5, width=6, fix=fix, init_seed=9)
    a, b = (system.init(jax.random.PRNGKey(s), hp_of(system)).params for s in (1, 2))
    fixed = system.init_params(jax.random.PRNGKey(9))
    same = ["embedding"] if fix == "embedding" else ["w1", "b1", "Dense_0", "Dense_1"]
    for k in a:
        equal = jax.tree.all(jax.tree.map(np.array_equal, a[k], b[k]))
        assert equal == (k in same), k
        if k in same:
            assert jax.tree.all(jax.tree.map(np.array_equal, a[k], fixed[k]))


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
