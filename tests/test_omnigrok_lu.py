"""omnigrok-lu: the norm constraint along a run, the L/U shape measures and w_c on hand-built
curves with known answers, the delay-exponent fit on synthetic delays, and the tiny preset end to
end through the command line. The default preset runs in tests/test_claims.py."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from toymodels import GrokkingToy, ModularMLP, Spec, run
from toymodels.experiments import omnigrok_lu as lu
from toymodels.experiments.cli import main

SMALL = dict(p=11, d=8, width=16)


def test_fixed_norm_holds_at_w_times_the_initial_norm_along_a_run():
    """Paired inits share θ₀ across the w cells: ‖θ_t‖ = w ‖θ₀‖ at every record, to float precision."""
    system = ModularMLP(**SMALL, constant_norm=True)
    grid = (0.3, 1.0, 5.0)
    spec = Spec(system, {**system.hparams(), "wd": 0.0, "lr": 1e-2}, sweep={"norm_scale": grid},
                seeds=2, steps=30, log_every=10)
    norms = run(spec, quiet=True)["weight_norm"].transpose("seed", "norm_scale", "step").values
    base = norms[:, 1, :1]                                           # w = 1: ‖θ₀‖ itself
    expected = np.broadcast_to(np.asarray(grid)[None, :, None] * base[:, :, None], norms.shape)
    np.testing.assert_allclose(norms, expected, rtol=2e-6)


def test_toy_decoder_norm_is_held_and_its_embedding_moves():
    system = GrokkingToy(p=6, width=16, constant_norm=True)
    spec = Spec(system, {**system.hparams(), **lu.TOY_HPARAMS}, sweep={"norm_scale": (0.5, 4.0)}, seeds=1,
                steps=20, log_every=5)
    ds = run(spec, quiet=True)
    decoder = ds["decoder_norm"].isel(seed=0).transpose("norm_scale", "step").values
    np.testing.assert_allclose(decoder, np.broadcast_to(decoder[:, :1], decoder.shape), rtol=2e-6)
    np.testing.assert_allclose(decoder[1, 0] / decoder[0, 0], 8.0, rtol=2e-6)
    embedding = ds["embedding"].isel(seed=0, norm_scale=0)
    assert float(abs(embedding.isel(step=-1) - embedding.isel(step=0)).max()) > 1e-4


def test_large_init_scales_the_start_and_then_the_norm_moves():
    """scale_init: ‖θ₀‖ = α ‖θ₀(α = 1)‖, no projection afterwards (weight decay shrinks it)."""
    system = ModularMLP(**SMALL, scale_init=True)
    spec = Spec(system, {**system.hparams(), "wd": 1.0}, sweep={"norm_scale": (1.0, 3.0)}, seeds=1,
                steps=40, log_every=20)
    norms = run(spec, quiet=True)["weight_norm"].isel(seed=0).transpose("norm_scale", "step").values
    np.testing.assert_allclose(norms[1, 0], 3.0 * norms[0, 0], rtol=2e-6)
    assert norms[1, -1] < 0.99 * norms[1, 0]


def test_default_system_is_unchanged_by_the_large_init_option():
    assert ModularMLP().scale_init is False


def test_shape_measures_and_w_c_on_known_curves():
    w = np.array([0.1, 0.3, 1.0, 3.0, 10.0])
    train = np.array([[2.0, 1.0, 0.05, 0.01, 0.02]] * 3)             # L: falls, stays ≤ 0.05 above w_mid
    test = np.array([[4.0, 2.0, 1.0, 3.0, 8.0], [4.0, 2.0, 1.0, 3.0, 8.0], [4.0, 1.0, 2.0, 3.0, 8.0]])
    assert lu.fall(train[0]) == pytest.approx(2.0 / 0.05)
    assert lu.rises(test[0]) == pytest.approx((4.0, 8.0))
    assert lu.rise(test[0]) == pytest.approx(4.0)
    assert lu.rise([5.0, 4.0, 3.0, 2.0, 1.0]) == 1.0                 # minimum on an edge: no U
    w_c = lu.critical_w(w, test)
    assert w_c.value == pytest.approx(1.0) and w_c.n == 3
    assert w_c.lo == pytest.approx(0.3) and w_c.hi == pytest.approx(1.0)   # seed 3's minimum is at 0.3
    same = lu.critical_w(w, test[:2])
    assert same.lo == same.hi == same.value == pytest.approx(1.0)
    train_shape, test_shape = lu.shapes(w, train, test)
    assert train_shape["is_L"] and test_shape["is_U"] and test_shape["interior"]
    _, flat = lu.shapes(w, train, np.ones((3, 5)))
    assert not flat["is_U"] and flat["rise"].value == 1.0


@settings(max_examples=30, deadline=None)
@given(curve=st.lists(st.floats(1e-3, 1e3), min_size=3, max_size=12), scale=st.floats(1e-2, 1e2))
def test_rise_and_fall_are_scale_free_and_rise_is_at_least_one(curve, scale):
    curve = np.asarray(curve)
    assert lu.rise(curve) >= 1.0
    assert lu.rise(scale * curve) == pytest.approx(lu.rise(curve), rel=1e-9)
    assert lu.fall(scale * curve) == pytest.approx(lu.fall(curve), rel=1e-9)


@pytest.mark.parametrize("k", [0.5, 1.0, 2.0])
def test_exponent_fit_recovers_k_from_noisy_synthetic_delays(k):
    rng = np.random.default_rng(7)
    wd = np.array([0.0, 0.5, 1.0, 2.0, 4.0, 8.0])
    delay = 800.0 * np.where(wd > 0, wd, np.nan) ** -k * rng.lognormal(0.0, 0.1, size=(8, len(wd)))
    delay[3, 2] = np.nan                                             # one member that did not grok
    fit = lu.exponent(wd, delay)
    assert fit.value == pytest.approx(k, abs=0.1)
    assert fit.lo <= k <= fit.hi and fit.n == 8


def test_tiny_preset_end_to_end(tmp_path):
    out = tmp_path / "run"
    assert main(["run", "omnigrok-lu", "--preset", "tiny", "--out", str(out), "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["figures"] == ["omnigrok-delay", "omnigrok-lu"]
    assert len(summary["w"]) == 5 and set(summary["curves"]) == {"mlp", "toy"}
    assert len(summary["curves"]["toy"]["test"]) == 5
    assert summary["w_c"]["mlp"]["value"] in summary["w"]
    assert set(summary["delay_table"]) == {f"{g:g}" for g in lu.DELAY_WDS}
    assert summary["delay_table"]["1"]["seeds"] == 2
    assert summary["grok_share"]["n"] == 2 * (len(lu.DELAY_WDS) - 1)
    assert (out / "parts" / "delay").is_dir()


def test_a_spec_without_the_w_sweep_is_refused(tmp_path, capsys):
    out = tmp_path / "never"
    code = main(["run", "omnigrok-lu", "--preset", "tiny", "--set", "norm_scale=1.0", "--out", str(out)])
    assert code == 2 and "norm_scale" in capsys.readouterr().err
    assert not out.exists()


def test_delay_table_and_w_at_grokking_on_a_hand_built_run():
    """Two seeds × γ ∈ {0, 1}: accuracies cross 0.9 at known steps; the norm is known at every step."""
    steps = np.arange(0, 60, 10)
    train = np.zeros((2, 2, 6))
    test = np.zeros((2, 2, 6))
    train[:, :, 1:] = 1.0                                            # memorised at step 10 everywhere
    test[0, 1, 3:] = 0.95                                            # seed 0, γ = 1 groks at step 30
    test[1, 1, 5:] = 0.92                                            # seed 1, γ = 1 groks at step 50
    norm = np.broadcast_to(lu.DELAY_SCALE * 10.0 - steps / 10.0, (2, 2, 6)).copy()   # ‖θ(0)‖ = 10 α
    dims = ("seed", "wd", "delay_step")
    ds = xr.Dataset({"delay_train_acc": (dims, train), "delay_test_acc": (dims, test),
                     "delay_weight_norm": (dims, norm)},
                    coords={"seed": [0, 1], "wd": [0.0, 1.0], "delay_step": steps})
    wd, delay, table, w_grok, t_test = lu.delay_rows(ds)
    np.testing.assert_array_equal(wd, [0.0, 1.0])
    np.testing.assert_array_equal(delay, [[np.nan, 20.0], [np.nan, 40.0]])
    assert table["0"]["grokked"] == 0 and table["0"]["t_test"] is None and table["0"]["t_train"] == 10.0
    assert table["1"]["grokked"] == 2 and table["1"]["delay"].value == pytest.approx(30.0)
    np.testing.assert_allclose(w_grok[:, 1], [(30 - 3) / 10, (30 - 5) / 10])   # ‖θ(t_test)‖ / (‖θ(0)‖/α)
    assert np.isnan(w_grok[:, 0]).all() and np.isnan(t_test[:, 0]).all()
