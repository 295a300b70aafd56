"""skills-resource: the shared (N0, κ) fit sees only calibration seeds, recovers known parameters, and
the parameter-free L2 model has its known linear rise; the tiny preset end to end."""

from __future__ import annotations

import json

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

import toymodels as tm
from toymodels.experiments import REGISTRY, skills_resource  # noqa: F401 (registers the study)
from toymodels.skills import Geometry, frequencies
from toymodels.theory.skills import (
    fit_resource_shared,
    l2_resource_learning_times,
    resource_learning_times,
    resource_trajectories,
)


def zipf(n: int, alpha: float) -> np.ndarray:
    return np.asarray(frequencies("zipf", n, alpha, 0.5), float)


def test_shared_fit_recovers_known_parameters():
    """Skills made by the Resource model at an on-grid (N0, κ) are fitted back to exactly that pair."""
    p, eta, steps = zipf(5, 2.0), 0.02, np.arange(0, 301, 3)
    n0_grid, scale_grid = np.logspace(-4, 0, 41), np.linspace(0.5, 1.5, 21)
    truth = np.asarray(resource_trajectories(p, 0.8 * eta, n0_grid[20], steps))
    skill = xr.DataArray(truth[None], dims=("seed", "step", "task"), coords={"step": steps})
    fit = fit_resource_shared(skill, p, eta, n0_grid, scale_grid)
    assert np.isclose(fit.n0, n0_grid[20]) and np.isclose(fit.scale, 0.8)
    assert fit.mse < 1e-10


def test_learning_times_of_the_linear_regime():
    """One skill, N0 ≪ p: the Resource model moves l by κη' per step, so s = 0.9 at 0.9/η'; the L2 model
    moves s by η√(2d/π) per step whatever k and p, so s = 0.9 at 0.9/(η√(2d/π))."""
    t_res = resource_learning_times(np.array([1.0]), 0.01, 1e-9, 200)
    assert np.isclose(t_res[0], 90.0, atol=1e-3)
    lr, d = 1e-3, 400
    t_l2 = l2_resource_learning_times(np.array([0.7]), lr, d, 200)
    assert np.isclose(t_l2[0], 0.9 / (lr * np.sqrt(2 * d / np.pi)), atol=1e-3)


def small_run() -> xr.Dataset:
    system = Geometry(d=50, n=4)
    spec = tm.Spec(system, {**system.hparams(), "lr": 2e-3}, sweep={"alpha": (2.0, 3.0)}, seeds=4, steps=200,
                   log_every=4)
    ds = tm.run(spec, quiet=True)
    ds.attrs["config"] = json.dumps({"experiment": "skills-resource", "spec": spec.to_dict()})
    return ds


def test_prediction_uses_no_heldout_seed():
    """Perturbing a held-out seed (odd) leaves the fitted parameters unchanged and changes its error;
    perturbing a calibration seed (even) changes the fit."""
    ds = small_run()
    base = skills_resource.summarize(ds).resource_prediction
    heldout = ds.copy(deep=True)
    heldout["skill"].loc[{"seed": 1, "alpha": 2.0}] = heldout["skill"].sel(seed=1, alpha=2.0) * 0.7
    moved = skills_resource.summarize(heldout).resource_prediction
    assert (moved["N0"], moved["eta_scale"]) == (base["N0"], base["eta_scale"])
    assert moved["median_rel_error"].value != base["median_rel_error"].value
    calibration = ds.copy(deep=True)
    calibration["skill"].loc[{"seed": 0, "alpha": 2.0}] = calibration["skill"].sel(seed=0, alpha=2.0) * 0.7
    refit = skills_resource.summarize(calibration).resource_prediction
    assert (refit["N0"], refit["eta_scale"]) != (base["N0"], base["eta_scale"])
    assert base["calibration_seeds"] == [0, 2] and base["heldout_seeds"] == [1, 3]


def test_tiny_preset_end_to_end(tmp_path):
    experiment = REGISTRY["skills-resource"]
    spec = experiment.spec("tiny")
    experiment.check(spec)
    experiment.run(spec, tmp_path, quiet=True, metadata={"experiment": "skills-resource", "preset": "tiny"})
    ds = tm.load(tmp_path)
    summary = json.loads(json.dumps(experiment.summarize(ds).to_json()))
    try:
        names = sorted(experiment.figures(ds, experiment.summarize(ds)))
    finally:
        plt.close("all")
    assert names == ["skills-resource-curves", "skills-resource-times"]
    prediction = summary["resource_prediction"]
    assert 0 <= prediction["median_rel_error"]["value"] < 1
    assert set(prediction) >= {"baseline_calibration_mean", "baseline_paper_resource", "baseline_domino",
                               "l2_resource"}
    assert list(summary["resource_transfer"]) == ["3"]
