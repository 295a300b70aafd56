"""`frequency-competition`: linear effective ODE of frequency competition (Ding et al. 2024, §4.3).

Trains many seeds of the embedding-MLP with S_k recorded every step (log_every = 1), then, in the
report, fits every member:
* the paper's model S(t+1) − S(t) = A S(t) + b on k = 1..⌊p/2⌋ over the first min(1000, T) steps,
  unregularised (least squares) and with the paper's Lasso (α = 0.01); one-step R² (the paper's
  metric) and rollout R² (iterate the fit from S(0)) per member, stability from eig(I + A);
* survivor prediction: the unregularised fit on the first 20 % of the run (k = 0 included, see
  theory.survivors), rolled out to the last step, circle rule applied, scored against the circles
  of the final embedding; also scored at shorter horizons (a diagnostic, in fits.zarr).

Outputs in the run folder: fits.zarr (A, b, R²s, spectral radius, stability, rollouts, predicted
and actual survivors, precision/recall per member and per horizon), frequency-competition-*.png.

summary.json keys (means over non-diverged members, unregularised fit):
    one_step_r2          mean one-step R² of the increments (sklearn definition)
    rollout_r2           mean rollout R² of the whole fitted window
    survivor_precision   pooled precision of the early-window survivor prediction
    survivor_recall      pooled recall of the same
    n_members            members fitted
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from toymodels import ModularMLP, Spec
from toymodels.experiments import Experiment, register
from toymodels.plots.odes import fit_overlay, matrix_heatmap, r2_histogram
from toymodels.theory.circles import circles
from toymodels.theory.odes import fit_linear
from toymodels.theory.survivors import predict_survivors, score_survivors

PAPER_ALPHA = 0.01          # Lasso(alpha=0.01) in the authors' ode_fit.py
FIT_STEPS = 1000            # the paper fits the first 1000 steps
EARLY_FRACTION = 0.2        # survivor prediction uses the first 20 % of the run
HORIZON_FACTORS = (1.25, 1.5, 2.0, 3.0, 5.0)   # diagnostic horizons, in units of the window


def tiny() -> Spec:
    system = ModularMLP(p=11, d=16, width=32)
    return Spec(system, system.hparams(), seeds=3, steps=60, log_every=1)


def default() -> Spec:
    system = ModularMLP()
    return Spec(system, system.hparams(), seeds=6, steps=1000, log_every=1)


def paper() -> Spec:
    system = ModularMLP(precision="float64")
    return Spec(system, system.hparams(), seeds=10, steps=30000, log_every=1)


def config_of(ds: xr.Dataset) -> dict[str, Any]:
    return json.loads(ds.attrs["config"])["spec"]


def fit_dataset(ds: xr.Dataset) -> xr.Dataset:
    """Every fit of the report, as one Dataset (written to fits.zarr)."""
    p = config_of(ds)["static"]["p"]
    signal = ds["signal"].astype(np.float64)
    signal = signal.where(np.isfinite(signal), 0.0)   # diverged members: fitted, not summarised
    members = list(ds["diverged_step"].dims)
    fitted_steps = slice(0, min(FIT_STEPS + 1, signal.sizes["step"]))
    window = signal.isel(step=fitted_steps).sel(freq=slice(1, None))
    plain = fit_linear(window, "freq", 0.0)
    lasso = fit_linear(window, "freq", PAPER_ALPHA)
    n_steps = signal.sizes["step"]
    early = max(3, int(round(EARLY_FRACTION * (n_steps - 1))) + 1)
    actual = circles(signal.isel(step=-1), p)
    predicted = predict_survivors(signal, p, early)
    score = score_survivors(predicted, actual)
    horizons = [min(n_steps - 1, int(f * early)) for f in HORIZON_FACTORS] + [n_steps - 1]
    per_horizon = [score_survivors(predict_survivors(signal, p, early, horizon=h), actual)
                   for h in horizons]
    out = xr.Dataset({
        "A": plain.a, "b": plain.b, "one_step_r2": plain.one_step_r2,
        "rollout_r2": plain.rollout_r2,
        "spectral_radius": plain.spectral_radius, "stable": plain.stable, "rollout": plain.rollout,
        "lasso_A": lasso.a, "lasso_b": lasso.b, "lasso_one_step_r2": lasso.one_step_r2,
        "lasso_rollout_r2": lasso.rollout_r2, "lasso_stable": lasso.stable,
        "lasso_rollout": lasso.rollout,
        "predicted_survivor": predicted.transpose(*members, "freq").sel(freq=slice(1, None)),
        "actual_survivor": actual.transpose(*members, "freq").sel(freq=slice(1, None)),
        "survivor_precision": score.precision, "survivor_recall": score.recall,
        "horizon_precision": ("horizon", [s.overall_precision for s in per_horizon]),
        "horizon_recall": ("horizon", [s.overall_recall for s in per_horizon]),
    }, coords={"horizon": horizons})
    out.attrs = {"early_window_records": early, "paper_alpha": PAPER_ALPHA,
                 "overall_survivor_precision": score.overall_precision,
                 "overall_survivor_recall": score.overall_recall}
    return out


def report(ds: xr.Dataset, out: Path) -> dict[str, Any]:
    """Fit every member; write fits.zarr and the figures; return the summary."""
    fits = fit_dataset(ds)
    fits.to_zarr(out / "fits.zarr", mode="w")
    healthy = (ds["diverged_step"] < 0)
    first = {d: 0 for d in ds["diverged_step"].dims}
    window = ds["signal"].isel(step=slice(0, fits.sizes["step"])).sel(freq=slice(1, None))
    fit_overlay(window.isel(first), fits["rollout"].isel(first),
                highlight=fits["actual_survivor"].isel(first),
                title=f"S_k(t) and linear-ODE rollout, member {first}").savefig(
        out / "frequency-competition-overlay.png", dpi=120)
    r2_histogram({"one-step (least squares)": fits["one_step_r2"],
                  "rollout (least squares)": fits["rollout_r2"],
                  f"one-step (Lasso α={PAPER_ALPHA})": fits["lasso_one_step_r2"]}).savefig(
        out / "frequency-competition-r2.png", dpi=120)
    matrix_heatmap(fits["A"].isel(first), title=f"A of member {first}").savefig(
        out / "frequency-competition-A.png", dpi=120)
    return {
        "one_step_r2": float(fits["one_step_r2"].where(healthy).mean()),
        "rollout_r2": float(fits["rollout_r2"].where(healthy).mean()),
        "survivor_precision": float(fits.attrs["overall_survivor_precision"]),
        "survivor_recall": float(fits.attrs["overall_survivor_recall"]),
        "n_members": int(healthy.sum()),
    }


register(Experiment(
    name="frequency-competition",
    description="Linear ODE of Fourier-frequency competition (Ding et al. 2024): R², survivors",
    presets={"tiny": tiny, "default": default, "paper": paper},
    report=report,
))
