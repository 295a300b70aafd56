"""`frequency-competition` end to end on the tiny preset, through the command line: the summary on
held-out seeds recomputed independently from the stored run, a pure `summarize`, and `toymodels fit`."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

from toymodels import load
from toymodels.experiments import get
from toymodels.experiments.cli import main
from toymodels.experiments.frequency_competition import held_signal, shared_fits, summarize
from toymodels.spec import ConfigError
from toymodels.theory.circles import circles
from toymodels.theory.odes import Linear, MeanField, fit_ode

MODELS = {"linear", "glv", "initial_signal", "early_gradient"}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("fc") / "run"
    assert main(["run", "frequency-competition", "--preset", "tiny", "--out", str(out), "--quiet"]) == 0
    return out, json.loads((out / "summary.json").read_text())


def test_every_number_is_on_the_held_out_half_of_the_seeds(tiny_run):
    """4 seeds: 2 calibrate, 2 are held out; each per-member range counts exactly the held-out
    members, and its value (a median) lies in its min..max."""
    _, summary = tiny_run
    assert set(summary["survivors"]) == MODELS   # the contract of issue 14
    assert summary["n_seeds_heldout"] == summary["n_seeds_calibration"] == 2
    for group in ("one_step_r2", "rollout_r2_unseen"):
        for estimate in summary[group].values():
            assert estimate["interval"] == "range" and estimate["n"] <= 2
            if estimate["n"]:
                assert estimate["lo"] <= estimate["value"] <= estimate["hi"]
    assert {e["n"] for e in summary["one_step_r2"].values()} == {2}


def test_summarize_is_pure_and_deterministic(tiny_run):
    """`summarize` writes nothing into the run folder (no fits.zarr side file) and gives the
    summary.json numbers again."""
    out, summary = tiny_run
    before = sorted(p.name for p in out.iterdir())
    again = summarize(load(out)).to_json()
    assert sorted(p.name for p in out.iterdir()) == before and "fits.zarr" not in before
    assert again == {k: v for k, v in summary.items() if k in again}


def test_least_squares_has_the_best_in_sample_one_step_r2(tiny_run):
    """Least squares minimises every output's squared error, so its per-member R² (uniform over outputs)
    is ≥ the Lasso's on the same window: true for the median, min and max over members."""
    _, summary = tiny_run
    linear, lasso = summary["one_step_r2"]["linear"], summary["one_step_r2"]["lasso"]
    for key in ("value", "lo", "hi"):
        assert linear[key] >= lasso[key] - 1e-12


def test_baseline_scores_recomputed_from_the_recorded_signal(tiny_run):
    """Top-m initial signal on the held-out seeds (odd positions), recomputed with NumPy from results.zarr."""
    out, summary = tiny_run
    ds = load(out)
    p = get("frequency-competition").spec("tiny").system.p
    held = ds["seed"].values[1::2]
    hits = predicted = 0
    for seed in held:
        s = ds["signal"].sel(seed=seed)
        actual = circles(s.isel(step=-1), p).values
        order = np.argsort(-s.isel(step=0).values[1:], kind="stable") + 1
        top = order[: actual.sum()]
        hits += actual[top].sum()
        predicted += len(top)
    assert summary["survivors"]["initial_signal"]["precision"] == pytest.approx(hits / predicted)


def test_unseen_rollout_r2_is_scored_after_the_window(tiny_run):
    """rollout_r2_unseen/linear = median over held-out members of the pooled R² on the steps after the
    window, recomputed with NumPy from a refit with the calibrated Lasso α (overflowing rollouts,
    R² −inf, left out as in the summary)."""
    out, summary = tiny_run
    ds = load(out)
    signal = ds["signal"].astype(float).transpose("seed", "step", "freq")
    alpha = summary["calibration"]["linear"]["regularisation"]
    fit = fit_ode(signal, Linear(alpha=alpha), 0.2, "freq")
    n_fit = int(np.floor(0.2 * (ds.sizes["step"] - 1))) + 1   # records with step ≤ 0.2 · last step
    assert fit.fit_records == n_fit
    scores = []
    for seed in ds["seed"].values[1::2]:   # held out: odd positions
        data = signal.sel(seed=seed).values[n_fit:]
        roll = fit.rollout.sel(seed=seed).transpose("step", "freq").values[n_fit:]
        with np.errstate(all="ignore"):
            scores.append(1 - np.sum((data - roll) ** 2) / np.sum((data - data.mean(axis=0)) ** 2))
    finite = [r for r in scores if np.isfinite(r)]
    assert summary["rollout_r2_unseen"]["linear"]["n"] == len(finite)
    assert summary["rollout_r2_unseen"]["linear"]["value"] == pytest.approx(float(np.median(finite)), rel=1e-6)


def test_shared_theory_contract_and_baselines(tiny_run):
    """Issue 26's key: {model, n_params, rollout_r2_unseen {value, lo, hi, n}, survivors_from_init
    {precision, recall}, baselines}; the baselines are the study's own held-out scores."""
    _, summary = tiny_run
    theory = summary["shared_theory"]
    assert set(theory) == {"model", "n_params", "rollout_r2_unseen", "survivors_from_init", "baselines"}
    assert theory["n_params"] == 5 and theory["model"].startswith("mean-field")
    assert {"value", "lo", "hi", "n"} <= set(theory["rollout_r2_unseen"])
    assert theory["rollout_r2_unseen"]["n"] <= summary["n_seeds_heldout"]
    assert set(theory["survivors_from_init"]) == {"precision", "recall"}
    assert theory["baselines"]["initial_signal"] == summary["survivors"]["initial_signal"]
    assert theory["baselines"]["persistence"] == summary["survivors_persistence"]
    assert 0 <= summary["shared_theory_details"]["crossings"] <= 1


def test_shared_theory_never_sees_the_held_out_seeds(tiny_run):
    """Wrecking a held-out seed's S_k leaves the fitted law unchanged; the held-out rollout R² of the
    summary is recomputed from `fit_ode` with those seeds held out (median of the pooled R² after the window)."""
    out, summary = tiny_run
    ds = load(out)
    signal, heldout = held_signal(ds)
    floor = summary["shared_theory_details"]["floor"]
    base = shared_fits(signal, heldout)[floor]
    held_member = int(np.flatnonzero(heldout.values)[0])
    wrecked = signal.copy(data=signal.values.copy())
    wrecked[held_member] = wrecked[held_member] * np.linspace(1.0, 3.0, signal.sizes["step"])[:, None]
    moved = shared_fits(wrecked, heldout)[floor]
    xr.testing.assert_equal(base.params, moved.params)
    seeds = [int(s) for s in signal["seed"].values[heldout.values]]
    refit = fit_ode(signal, MeanField(floor), 0.2, "freq", share=("seed",), holdout=seeds)
    n_fit = refit.fit_records
    scores = []
    for member in np.flatnonzero(heldout.values):
        data = signal.isel(member=member).values[n_fit:]
        roll = refit.rollout.isel(member=member).transpose("step", "freq").values[n_fit:]
        with np.errstate(all="ignore"):
            scores.append(1 - np.sum((data - roll) ** 2) / np.sum((data - data.mean(axis=0)) ** 2))
    assert summary["shared_theory"]["rollout_r2_unseen"]["value"] == pytest.approx(float(np.median(scores)))


def test_figures_and_a_deterministic_report(tiny_run):
    out, summary = tiny_run
    for name in ("rollout", "A"):
        assert (out / f"frequency-competition-{name}.png").stat().st_size > 0
    assert (out / "frequency-competition-shared.png").stat().st_size > 0
    assert summary["figures"] == ["frequency-competition-A", "frequency-competition-rollout",
                                  "frequency-competition-shared"]
    assert main(["report", str(out)]) == 0
    assert json.loads((out / "summary.json").read_text()) == summary


def test_fit_command_on_a_finished_run(tmp_path, capsys):
    out = tmp_path / "ma"
    assert main(["run", "modular-addition", "--preset", "tiny", "--out", str(out), "--quiet"]) == 0
    assert main(["fit", str(out), "--var", "signal", "--model", "glv", "--fit-fraction", "0.5"]) == 0
    result = json.loads((out / "fit-signal-glv.json").read_text())
    assert (out / "fit-signal-glv.png").stat().st_size > 0
    ds = load(out)
    assert result["n_members"] == ds["diverged_step"].size and len(result["members"]) == result["n_members"]
    assert result["fit_end_step"] == 150 and result["fit_records"] == 4
    row = result["members"][0]
    assert set(row["params"]) == {"r", "A"} and np.shape(row["params"]["A"]) == (ds.sizes["freq"],) * 2
    # stdout, JSON and the diverged count agree: the medians are over the finite rollouts
    diverged = [r["rollout_diverged"] for r in result["members"]]
    assert result["n_diverged_rollouts"] == sum(diverged)
    finite = [r["r2_out"] for r in result["members"] if r["r2_out"] is not None]
    assert result["r2_out"] == (float(np.median(finite)) if finite else None)
    captured = capsys.readouterr()
    assert f"over the {result['n_members'] - sum(diverged)} finite rollouts" in captured.out
    assert ("rollouts diverged" in captured.err) == any(diverged)
    for bad in (["--var", "nope", "--model", "glv"], ["--var", "signal", "--model", "cubic"],
                ["--var", "signal", "--model", "linear"],            # default 0.2 of 7 records: too few
                ["--var", "signal", "--model", "glv", "--fit-fraction", "x"]):
        assert main(["fit", str(out), *bad]) == 2
        assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert main(["fit", str(tmp_path / "missing"), "--var", "signal", "--model", "glv"]) == 2


def test_unknown_preset_is_a_config_error():
    with pytest.raises(ConfigError, match="huge"):
        get("frequency-competition").spec("huge")
