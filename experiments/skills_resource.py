"""`skills-resource`: the Resource model as a prediction of Geometry learning times (issue 26, item 3).

Geometry model at the notebook defaults (d = 1000, n = 10, orthonormal, MSE, full batch, SignGD lr
3e-4, 1000 steps; `resource_model.ipynb` / Fig7-top compare the Resource model with this run) over
many seeds, at α = 2 (the notebook's) and α = 3, 4 (Fig7-top also runs α = 4). The seeds are split:
calibration seeds (even) and held-out seeds (odd). Two parameters shared by all seeds are fitted on
the calibration seeds at α = 2 only (`theory.skills.fit_resource_shared`: grid search of the mean
squared skill error, as the paper's Fig7-bottom fit of N0):

    Resource model (MSE, C = I, clamp):  l ← max(l − κη' p∘l / (Σ_j p_j l_j + N0), 0),  s = 1 − l
    η' = 2η√d (the paper's); fitted: N0 (the paper's grid 10^linspace(−4, 2, 601)) and κ (κ = 1 is
    the paper's η'; reference §4D: SignGD is ≈ √π slower than κ = 1 on the first skill)

The fitted model then predicts every skill's learning time t_i = first step with s_i > 0.9 (the
paper's threshold, interpolated between logged steps) and is judged on held-out seeds: relative
error |t_i^pred − t_i^seed| / t_i^seed per held-out seed and skill, (1) at α = 2 (same setting, new
seeds) and (2) at α = 3, 4 with the α = 2 parameters (transfer: new seeds and a setting the fit never
saw; only p changes in the model).

Baselines, judged the same way: the calibration seeds' mean learning time of each skill (α = 2
only: no model at all, what the seeds alone predict); the Resource model with the paper's
parameters (N0 = 0.003, κ = 1), not fitted; the Domino model t_i = (i − 1 + 0.9)/η'.
Deviation from the paper: the fit adds κ to the paper's N0-only fit (the brief allows one more
shared parameter) and is judged on learning times of seeds it did not see.

Presets: tiny (d = 100, n = 5, lr 1e-3, α ∈ {2, 3}, 400 steps, 4 seeds); default (notebook
defaults, α ∈ {2, 3, 4}, 16 seeds, logged every 2 steps); paper (32 seeds, every step logged).

summary.json keys:
    resource_prediction        α = 2: alpha, calibration_seeds, heldout_seeds, N0, eta_scale (κ),
                               fit_mse (calibration error of the fit), threshold,
                               t_heldout[task] (Estimate: mean over held-out seeds, Student-t 95 %),
                               t_predicted[task], rel_error[task] (Estimate: mean over held-out seeds),
                               median_rel_error (Estimate: median over skills 2..n of rel_error, 95 %
                               bootstrap over held-out seeds; the target ≤ 0.2),
                               baseline_calibration_mean / baseline_paper_resource / baseline_domino:
                               {t_predicted, rel_error, median_rel_error} of each baseline
    resource_transfer[alpha]   the same for α = 3, 4 (no calibration-mean baseline)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from toymodels import Spec
from toymodels.experiments import Claim, Experiment, Figures, Summary, register
from toymodels.experiments.common import spec_of
from toymodels.plots.skills import model_panels, prediction_scatter
from toymodels.skills import Geometry, frequencies
from toymodels.spec import require
from toymodels.theory.estimate import Estimate, bootstrap_interval, student_t
from toymodels.theory.skills import (
    SharedResourceFit,
    crossing_step,
    fit_resource_shared,
    l2_resource_learning_times,
    resource_learning_times,
    resource_trajectories,
)

THRESHOLD = 0.9
PAPER_N0 = 0.003


ALPHAS = (2.0, 3.0, 4.0)   # calibration at the first; the others are predicted without refitting


def tiny() -> Spec:
    system = Geometry(d=100, n=5)
    return Spec(system, {**system.hparams(), "lr": 1e-3}, sweep={"alpha": (2.0, 3.0)}, seeds=4, steps=400,
                log_every=4)


def default() -> Spec:
    return Spec(Geometry(), Geometry().hparams(), sweep={"alpha": ALPHAS}, seeds=16, steps=1000, log_every=2)


def paper() -> Spec:
    return Spec(Geometry(), Geometry().hparams(), sweep={"alpha": ALPHAS}, seeds=32, steps=1000, log_every=1)


def check(spec: Spec) -> None:
    """What the report needs: a Geometry MSE run sweeping only alpha, ≥ 4 seeds (2 calibration, 2 held out)."""
    require(isinstance(spec.system, Geometry) and set(spec.sweep) <= {"alpha"} and not spec.tied,
            "skills-resource takes a Geometry run whose only --sweep is alpha")
    require(spec.system.loss == "mse" and spec.system.per_task and spec.system.frequencies == "zipf",
            "skills-resource needs loss='mse', zipf frequencies and per_task skills")
    require(spec.seeds >= 4, f"skills-resource needs >= 4 seeds (half calibration, half held out), got {spec.seeds}")


def split(seeds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(calibration, held-out): even and odd seeds."""
    seeds = np.asarray(seeds)
    return seeds[seeds % 2 == 0], seeds[seeds % 2 == 1]


def relative_errors(predicted: np.ndarray, observed: xr.DataArray) -> np.ndarray:
    """|t_pred − t_obs| / t_obs, (seed, task)."""
    obs = observed.transpose("seed", "task").values
    return np.abs(np.asarray(predicted)[None, :] - obs) / obs


def skill_means(errors: np.ndarray) -> np.ndarray:
    """Mean over seeds of each skill's relative error; NaN for a skill no seed learned."""
    counts = np.isfinite(errors).sum(axis=0)
    return np.where(counts > 0, np.nansum(errors, axis=0) / np.maximum(counts, 1), np.nan)


def finite_or_nan(values: np.ndarray, reduce) -> float:
    values = values[np.isfinite(values)]
    return float(reduce(values)) if len(values) else float("nan")


def worst_later(errors: np.ndarray) -> float:
    """Largest per-skill mean relative error over skills 2..n that a held-out seed learned."""
    return finite_or_nan(skill_means(errors[:, 1:]), np.max)


def median_over_later(errors: np.ndarray) -> Estimate:
    """Median over skills 2..n of the per-skill mean relative error, 95 % bootstrap over seeds.

    A skill no held-out seed learned within the run has no error and is left out."""
    later = errors[:, 1:]

    def statistic(rows: np.ndarray) -> float:
        return finite_or_nan(skill_means(later[rows]), np.median)

    lo, hi = bootstrap_interval(statistic, later.shape[0])
    return Estimate(statistic(np.arange(later.shape[0])), lo, hi, later.shape[0], "bootstrap", 0.95)


def per_task(values: Any) -> dict[str, Any]:
    return {str(i + 1): v for i, v in enumerate(values)}


def judged(predicted: np.ndarray, observed: xr.DataArray) -> dict[str, Any]:
    """A prediction (task,) against held-out learning times (seed, task)."""
    errors = relative_errors(predicted, observed)
    return {"t_predicted": per_task(float(v) for v in predicted),
            "rel_error": per_task(student_t(errors[:, i]) for i in range(errors.shape[1])),
            "median_rel_error": median_over_later(errors), "worst_rel_error": worst_later(errors),
            "unlearned_skills": int(np.sum(np.all(np.isnan(errors), axis=0)))}


@dataclass(frozen=True)
class Setting:
    """What a prediction needs of one α: task frequencies, η' = 2η√d, η and d, steps, recorded skills."""

    p: np.ndarray
    eta: float
    lr: float
    d: int
    steps: int
    skill: xr.DataArray          # (seed, step, task)


def settings(ds: xr.Dataset) -> dict[float, Setting]:
    spec = spec_of(ds)
    system, hp = spec.system, spec.hparams
    alphas = ds["alpha"].values if "alpha" in ds.dims else np.array([hp["alpha"]])
    skill = ds["skill"] if "alpha" in ds.dims else ds["skill"].expand_dims(alpha=alphas)
    eta = 2 * hp["lr"] * np.sqrt(system.d)
    return {float(a): Setting(np.asarray(frequencies("zipf", system.n, a, hp["p1"]), float), eta, hp["lr"],
                              system.d, spec.steps, skill.sel(alpha=a)) for a in alphas}


def calibrate(ds: xr.Dataset) -> tuple[float, SharedResourceFit]:
    """(α of calibration, the shared fit on its calibration seeds): the only data the fit sees."""
    alpha, setting = next(iter(settings(ds).items()))
    calibration, _ = split(setting.skill["seed"].values)
    return alpha, fit_resource_shared(setting.skill.sel(seed=calibration), setting.p, setting.eta)


def domino_times(setting: Setting) -> np.ndarray:
    """Domino model: s_i = clip(η't − (i − 1), 0, 1) crosses 0.9 at t_i = (i − 0.1)/η'."""
    return (np.arange(1, len(setting.p) + 1) - 1 + THRESHOLD) / setting.eta


def prediction(setting: Setting, fit: SharedResourceFit, calibration_times: np.ndarray | None) -> dict[str, Any]:
    """The fitted Resource model at this setting's p, judged on its held-out seeds, with baselines."""
    _, heldout = split(setting.skill["seed"].values)
    observed = crossing_step(setting.skill.sel(seed=heldout), THRESHOLD)
    ours = resource_learning_times(setting.p, fit.scale * setting.eta, fit.n0, setting.steps, THRESHOLD)
    baselines = {
        "baseline_paper_resource": judged(
            resource_learning_times(setting.p, setting.eta, PAPER_N0, setting.steps, THRESHOLD), observed),
        "baseline_domino": judged(domino_times(setting), observed),
        "l2_resource": judged(l2_resource_learning_times(setting.p, setting.lr, setting.d, setting.steps,
                                                         threshold=THRESHOLD), observed),
    }
    if calibration_times is not None:
        baselines["baseline_calibration_mean"] = judged(calibration_times, observed)
    return {"heldout_seeds": [int(s) for s in heldout],
            "t_heldout": per_task(student_t(observed.isel(task=i).values) for i in range(observed.sizes["task"])),
            **judged(ours, observed), **baselines}


@dataclass(frozen=True)
class ResourcePredictionSummary(Summary):
    resource_prediction: dict[str, Any]
    resource_transfer: dict[str, Any]


def summarize(ds: xr.Dataset) -> ResourcePredictionSummary:
    """Shared fit on the calibration seeds of the first α; learning times judged on held-out seeds,
    at the same α and (transfer) at the other α's."""
    alpha, fit = calibrate(ds)
    every = settings(ds)
    home = every[alpha]
    calibration, _ = split(home.skill["seed"].values)
    calibration_times = crossing_step(home.skill.sel(seed=calibration), THRESHOLD).mean("seed").values
    return ResourcePredictionSummary(
        {"alpha": alpha, "calibration_seeds": [int(s) for s in calibration], "N0": fit.n0, "eta_scale": fit.scale,
         "fit_mse": fit.mse, "threshold": THRESHOLD, **prediction(home, fit, calibration_times)},
        {f"{a:g}": {"alpha": a, **prediction(s, fit, None)} for a, s in every.items() if a != alpha},
    )


def figures(ds: xr.Dataset, summary: ResourcePredictionSummary) -> Figures:
    """A held-out seed vs the fitted Resource model at every α; predicted vs observed learning times."""
    alpha, fit = calibrate(ds)
    panels, times = {}, {}
    for a, s in settings(ds).items():
        steps = s.skill["step"].values
        _, heldout = split(s.skill["seed"].values)
        curve = xr.DataArray(np.asarray(resource_trajectories(s.p, fit.scale * s.eta, fit.n0, steps)),
                             dims=("step", "task"), coords={"step": steps, "task": s.skill["task"]})
        panels[f"α={a:g}, seed {heldout[0]}{' (calibration α)' if a == alpha else ''}"] = (
            s.skill.sel(seed=heldout[0]), curve)
        times[a] = (crossing_step(s.skill.sel(seed=heldout), THRESHOLD),
                    resource_learning_times(s.p, fit.scale * s.eta, fit.n0, s.steps, THRESHOLD))
    return {
        "skills-resource-curves": model_panels(panels),
        "skills-resource-times": prediction_scatter(
            xr.concat([o for o, _ in times.values()], "seed", coords="minimal", compat="override"),
            {f"Resource (N0={fit.n0:.3g}, κ={fit.scale:.2f}) fitted at α={alpha:g}":
             np.concatenate([np.broadcast_to(t, o.transpose("seed", "task").shape) for o, t in times.values()])}),
    }


BAND = "issue 26's target for the Resource model (learning times within 20 %): median relative error ≤ 0.2"
DRIFT = "width hi − lo of the 95 % bootstrap interval over the 8 held-out seeds of the default run"

CLAIMS = (
    Claim("issue 26 item 3 (Resource model of Liu et al. 2025 as a prediction)",
          "the Resource model fitted on calibration seeds (N0, κ shared) predicts the later skills' learning "
          "times of held-out Geometry seeds within 20 % (α = 2, the fit's setting)",
          "resource_prediction/median_rel_error", "target: median relative error ≤ 0.2", (None, 0.2),
          band=BAND, measured=0.031, drift=0.011, drift_source=DRIFT + " (0.025–0.036)", kind="target", min_n=4,
          reason="met (0.031), but no better than the seeds alone: calibration-seed means 0.009, the paper's "
                 "unfitted Resource model (N0 = 0.003) 0.019, the parameter-free L2 model 0.011, Domino 0.35; "
                 "N0 lands on the grid's floor 1e-4 (κ = 0.92)"),
    Claim("issue 26 item 3 (Resource model of Liu et al. 2025 as a prediction)",
          "the same fit (at α = 2) predicts the learning times of held-out seeds at α = 3 within 20 %",
          "resource_transfer/3/median_rel_error", "target: median relative error ≤ 0.2", (None, 0.2),
          band=BAND, measured=0.196, drift=0.017, drift_source=DRIFT + " (0.191–0.207)", kind="target", min_n=4,
          expected="inconclusive",
          reason="undecided: 0.196 with a 95 % interval 0.191–0.207 across the 0.2 edge; skills 9–10 are not "
                 "learned in 1000 steps; paper's Resource 0.156, L2 model 0.014, Domino 0.50"),
    Claim("issue 26 item 3 (Resource model of Liu et al. 2025 as a prediction)",
          "the same fit (at α = 2) predicts the learning times of held-out seeds at α = 4 within 20 %",
          "resource_transfer/4/median_rel_error", "target: median relative error ≤ 0.2", (None, 0.2),
          band=BAND, measured=0.408, drift=0.012, drift_source=DRIFT + " (0.401–0.413)", kind="target", min_n=4,
          expected="not reproduced",
          reason="missed: 0.408; the L1 Resource model learns every skill one after another while SignGD "
                 "leaves skills 6–10 unlearned in 1000 steps (rare skills drowned by the learned skills' "
                 "jitter); the L2 model of reference §4D gets 0.114"),
    Claim("reference §4D (large-d SignGD = L2-normalised Resource model), issue 26 item 3",
          "the parameter-free L2 Resource model predicts held-out learning times at α = 4 within 20 %",
          "resource_transfer/4/l2_resource/median_rel_error", "target: median relative error ≤ 0.2", (None, 0.2),
          band=BAND, measured=0.114, drift=0.013, drift_source=DRIFT + " (0.106–0.119)",
          kind="target", min_n=4,
          reason="met (0.114) with no fitted parameter, but its worst later skill is off by 0.49 "
                 "(skills 4–5, slowed by the learned skills' jitter, which the model leaves out)"),
)

register(Experiment(
    name="skills-resource",
    description="Resource model fitted on calibration seeds predicts Geometry learning times of held-out seeds",
    presets={"tiny": tiny, "default": default, "paper": paper},
    summarize=summarize,
    figures=figures,
    check=check,
    claims=CLAIMS,
))
