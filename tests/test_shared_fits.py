"""Shared-parameter ODE fits (`fit_ode(..., share=, holdout=)`, issue 26): one parameter set recovered
from several members, held-out members never seen by the fit, the deterministic hold-out split,
n_params and AIC, the default `share=()` equal to the per-member fit, and `toymodels fit --share`."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from toymodels.experiments.cli import main
from toymodels.spec import ConfigError
from toymodels.theory.odes import (
    GLV,
    CustomODE,
    Linear,
    MeanField,
    aic,
    fit_glv_arrays,
    fit_linear_arrays,
    fit_ode,
    heldout_keys,
)
from toymodels.theory.survivors import split_seeds

A = np.array([[-0.05, 0.02, 0.0], [0.01, -0.04, 0.01], [0.0, 0.03, -0.06]])
B = np.array([0.1, -0.05, 0.2])


def linear_members(n_seeds: int = 6, steps: int = 40, seed: int = 0) -> xr.DataArray:
    """x(t+1) = x + A x + b from a different x(0) per seed (noise-free), dims (seed, step, var)."""
    rng = np.random.default_rng(seed)
    x = np.empty((n_seeds, steps, 3))
    x[:, 0] = rng.normal(3.0, 1.0, (n_seeds, 3))
    for t in range(steps - 1):
        x[:, t + 1] = x[:, t] + x[:, t] @ A.T + B
    return xr.DataArray(x, dims=("seed", "step", "var"), coords={"seed": np.arange(10, 10 + n_seeds)})


def test_shared_linear_recovers_the_one_parameter_set_and_forecasts_held_out_members():
    da = linear_members()
    fit = fit_ode(da, Linear(), 0.5, "var", share=("seed",), holdout=0.5)
    assert fit.heldout.values.tolist() == [False, True] * 3            # alternate seeds, as split_seeds
    for seed in da["seed"].values:                                    # the same (A, b) on every member
        np.testing.assert_allclose(fit.params["A"].sel(seed=seed).values, A, atol=1e-9)
        np.testing.assert_allclose(fit.params["b"].sel(seed=seed).values, B, atol=1e-9)
    held = fit.heldout.values
    assert np.all(fit.r2_heldout.values[held] > 1 - 1e-9) and np.all(np.isnan(fit.r2_heldout.values[~held]))
    assert np.all(fit.r2_out.values > 1 - 1e-9)
    assert fit.n_params == 3 * 3 + 3 and fit.share == ("seed",)


def test_held_out_members_do_not_move_the_fitted_parameters():
    """Perturbing (even wrecking) a held-out member's data changes neither the parameters nor the
    other members' rollouts; the same perturbation on a fitted member does change them."""
    da = linear_members()
    base = fit_ode(da, Linear(), 0.5, "var", share=("seed",), holdout=0.5)
    noise = np.random.default_rng(1).normal(0, 0.5, da.isel(seed=0).shape)
    held_seed, fitted_seed = int(da["seed"][1]), int(da["seed"][0])
    moved = fit_ode(da + xr.zeros_like(da).where(da["seed"] != held_seed, noise), Linear(), 0.5, "var",
                    share=("seed",), holdout=0.5)
    xr.testing.assert_equal(base.params, moved.params)
    np.testing.assert_array_equal(base.rollout.sel(seed=fitted_seed).values, moved.rollout.sel(seed=fitted_seed).values)
    changed = fit_ode(da + xr.zeros_like(da).where(da["seed"] != fitted_seed, noise), Linear(), 0.5, "var",
                      share=("seed",), holdout=0.5)
    assert not np.allclose(base.params["A"].values, changed.params["A"].values)


def test_one_set_per_group_of_the_other_member_dims():
    """share=("seed",) over (wd, seed): one set per wd; each recovers its own A."""
    slow = linear_members()
    fast = slow.copy(data=np.asarray(slow) * 1.0)
    x = np.asarray(fast)
    for t in range(x.shape[1] - 1):                                   # a second law: 2·A
        x[:, t + 1] = x[:, t] + 2 * x[:, t] @ A.T + B
    da = xr.concat([slow, fast.copy(data=x)], dim=xr.DataArray([0.1, 1.0], dims="wd", name="wd"))
    fit = fit_ode(da, Linear(), 0.5, "var", share=("seed",), holdout=0.5)
    np.testing.assert_allclose(fit.params["A"].sel(wd=0.1).values, np.broadcast_to(A, (6, 3, 3)), atol=1e-9)
    np.testing.assert_allclose(fit.params["A"].sel(wd=1.0).values, np.broadcast_to(2 * A, (6, 3, 3)), atol=1e-9)


def test_a_shared_coordinate_on_a_stacked_member_dim():
    """`seed` as a coordinate of a stacked `member` dim (what `toymodels fit` builds) is shared like a dim."""
    da = linear_members()
    flat = da.rename(seed="member").assign_coords(seed=("member", da["seed"].values)).drop_vars("member")
    on_dim = fit_ode(da, Linear(), 0.5, "var", share=("seed",), holdout=[11, 13])
    on_coord = fit_ode(flat, Linear(), 0.5, "var", share=("seed",), holdout=[11, 13])
    np.testing.assert_array_equal(on_dim.params["A"].values, on_coord.params["A"].values)
    expected = [False, True, False, True, False, False]
    assert on_coord.heldout.values.tolist() == on_dim.heldout.values.tolist() == expected


def test_shared_glv_and_custom_recover_their_parameters():
    """gLV (pooled growth-rate regression; data from SciPy's integrator) and a custom logistic law
    (Levenberg–Marquardt on the summed trajectory cost) shared by 4 members started apart."""
    from scipy.integrate import solve_ivp

    r, a = np.array([0.08, 0.05]), np.array([[-0.04, -0.01], [-0.02, -0.03]])
    ts = np.linspace(0, 60, 121)
    x = np.stack([solve_ivp(lambda t, y: y * (r + a @ y), (0, 60), x0, t_eval=ts, rtol=1e-10, atol=1e-12).y.T
                  for x0 in ([0.1, 0.2], [0.5, 0.1], [1.0, 1.5], [0.3, 0.9])])
    da = xr.DataArray(x, dims=("seed", "step", "var"), coords={"step": ts})
    glv = fit_ode(da, GLV(), 1.0, "var", share=("seed",), holdout=0.5)
    np.testing.assert_allclose(glv.params["r"].values[0], r, rtol=0.02)
    np.testing.assert_allclose(glv.params["A"].values[0], a, rtol=0.05, atol=1e-3)
    noisy = da * np.exp(np.random.default_rng(0).normal(0, 0.02, da.shape))
    refined = fit_ode(noisy.isel(step=slice(None, None, 4)), GLV(refine_steps=20), 1.0, "var", share="seed",
                      holdout=0.5)                                 # 2 % noise: one LM fit over the fitted seeds
    np.testing.assert_allclose(refined.params["r"].values[0], r, rtol=0.05)
    assert np.all(refined.r2_heldout.values[1::2] > 0.95)
    logistic = CustomODE(lambda t, y, th: th["r"] * y * (1 - y / th["k"]), {"r": 0.05, "k": 1.0}, "logistic")
    k_true, r_true = 2.0, 0.1
    x0 = np.array([0.1, 0.3, 0.6, 1.2])
    curve = k_true / (1 + (k_true / x0[:, None] - 1) * np.exp(-r_true * ts[None]))
    custom = fit_ode(xr.DataArray(curve, dims=("seed", "step"), coords={"step": ts}), logistic, 0.5,
                     share=("seed",), holdout=0.5)
    assert float(custom.params["r"][0]) == pytest.approx(r_true, rel=1e-3)
    assert float(custom.params["k"][0]) == pytest.approx(k_true, rel=1e-3)
    assert custom.n_params == 2 and np.all(custom.r2_heldout.values[1::2] > 0.999)


def test_mean_field_law_is_one_set_of_five_for_every_variable():
    """Data from the law itself (fine Euler steps) are fitted back to its 5 parameters, shared or not."""
    theta, floor = np.array([0.02, 0.004, -0.0008, -0.01, 0.0005]), 1.0
    x = np.empty((4, 400, 5))
    x[:, 0] = np.random.default_rng(2).uniform(3, 6, (4, 5))
    for t in range(399):   # 100 Euler sub-steps per record: close to the continuous law
        y = x[:, t]
        for _ in range(100):
            mean = y.mean(-1, keepdims=True)
            y = y + 0.01 * (y - floor) * (theta[0] + theta[1] * y + theta[2] * y**2 + theta[3] * mean
                                          + theta[4] * y * mean)
        x[:, t + 1] = y
    da = xr.DataArray(x, dims=("seed", "step", "k"))
    for fit in (fit_ode(da, MeanField(floor), 0.5, "k"), fit_ode(da, MeanField(floor), 0.5, "k", share="seed")):
        got = np.array([fit.params[k].values[0] for k in ("r", "self", "self2", "mean", "cross")])
        np.testing.assert_allclose(got, theta, rtol=0.05, atol=2e-4)
        assert fit.n_params == 5 and np.all(fit.r2_out.values > 0.99)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 40), h=st.floats(0.01, 0.99))
def test_holdout_split_is_deterministic_spread_and_leaves_members_to_fit(n, h):
    keys = [(s,) for s in np.random.default_rng(n).permutation(np.arange(100, 100 + n))]
    held = heldout_keys(keys, h)
    assert held == heldout_keys(list(reversed(keys)), h)              # order of the members is irrelevant
    assert len(held) == int(np.floor(n * h)) < n and held <= set(keys)
    if h == 0.5:
        assert sorted(k[0] for k in held) == split_seeds([k[0] for k in keys])[1]


def test_half_holdout_is_split_seeds():
    keys = [(s,) for s in (4, 9, 2, 7, 0, 5)]
    assert sorted(k[0] for k in heldout_keys(keys, 0.5)) == split_seeds([4, 9, 2, 7, 0, 5])[1]


def test_aic_by_hand_and_the_true_model_wins():
    """AIC = N ln(RSS/N) + 2k on a hand case; on linear data the least-squares linear model has a lower
    AIC than the mean-field law fitted to the same members."""
    x = np.array([[[1.0], [2.0], [3.0], [4.0]]])
    path = x + np.array([0.0, 0.1, -0.1, 5.0])[None, :, None]       # the last record is outside the window
    assert aic(x, path, 3, 2) == pytest.approx(3 * np.log(0.02 / 3) + 4)
    da = linear_members() + 10.0
    lin = fit_ode(da, Linear(), 0.5, "var", share=("seed",), holdout=0.5)
    mean_field = fit_ode(da, MeanField(), 0.5, "var", share=("seed",), holdout=0.5)
    assert float(lin.aic[0]) < float(mean_field.aic[0])
    assert np.unique(lin.aic.values).size == 1                         # one set, one criterion


def test_default_share_is_the_per_member_fit():
    """share=() fits every member alone: the arrays of fit_linear_arrays / fit_glv_arrays, exactly."""
    da = linear_members() + 10.0
    x = da.transpose("seed", "step", "var").values
    fit = fit_ode(da, Linear(), 0.5, "var")
    n_fit = fit.fit_records
    direct = fit_linear_arrays(x[:, :n_fit])
    np.testing.assert_array_equal(fit.params["A"].values, direct.a)
    np.testing.assert_array_equal(fit.one_step_r2.values, direct.one_step_r2)
    glv = fit_ode(da, GLV(ridge=0.01), 0.5, "var")
    np.testing.assert_array_equal(glv.params["A"].values, fit_glv_arrays(x[:, :n_fit], np.arange(n_fit), 0.01).a)
    assert not fit.heldout.values.any() and np.isnan(fit.r2_heldout.values).all() and fit.share == ()
    assert np.unique(fit.aic.values).size == len(x)                    # one set (and criterion) per member


@pytest.mark.parametrize("share, holdout, match", [
    (("lr",), 0.5, "unknown dim 'lr'"),
    (("seed",), 1.0, r"holdout must be a fraction in \(0, 1\)"),
    (("seed",), 0.0, r"holdout must be a fraction in \(0, 1\)"),
    (("seed",), [10, 11, 12, 13, 14, 15], "nothing left to fit"),
    (("seed",), [99], "not in the data: 99"),
    ((), 0.5, "holdout needs share"),
])
def test_bad_share_or_holdout_is_a_config_error(share, holdout, match):
    with pytest.raises(ConfigError, match=match):
        fit_ode(linear_members(), Linear(), 0.5, "var", share=share, holdout=holdout)


@pytest.fixture(scope="module")
def short_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("shared") / "run"
    assert main(["run", "frequency-competition", "--preset", "tiny", "--set", "steps=60", "--out", str(out),
                 "--quiet"]) == 0
    return out


def test_fit_command_shares_seeds_and_holds_half_out(short_run, capsys):
    assert main(["fit", str(short_run), "--var", "signal", "--model", "mean-field", "--share", "seed",
                 "--holdout", "0.5"]) == 0
    result = json.loads((short_run / "fit-signal-mean-field-shared-seed.json").read_text())
    assert (short_run / "fit-signal-mean-field-shared-seed.png").stat().st_size > 0
    assert result["share"] == ["seed"] and result["n_params"] == 5 and result["n_heldout"] == 2
    rows = result["members"]
    assert [r["heldout"] for r in rows] == [False, True, False, True]
    assert len({json.dumps(r["params"]) for r in rows}) == 1 and len({r["aic"] for r in rows}) == 1
    held_out = [r["r2_out"] for r in rows if r["heldout"]]
    assert result["r2_out_heldout"] == pytest.approx(float(np.median(held_out)))
    assert "held out of the fit: 2 members" in capsys.readouterr().out


@pytest.mark.parametrize("bad", [
    ["--share", "lr"], ["--share", "seed", "--holdout", "1.5"], ["--share", "seed", "--holdout", "0"],
    ["--holdout", "0.5"], ["--share", "seed", "--holdout", "x"],
])
def test_fit_command_bad_share_exits_2_with_one_line(short_run, capsys, bad):
    assert main(["fit", str(short_run), "--var", "signal", "--model", "linear", "--fit-fraction", "0.5", *bad]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
