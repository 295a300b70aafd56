"""`frequency-competition`: effective ODEs of Fourier-frequency competition (Ding et al. 2024, §4.3).

Trains many seeds of the embedding-MLP with S_k recorded every step (log_every = 1); `summarize`
fits every non-diverged member (theory.odes) and scores survivor prediction (theory.survivors):

* one-step R² (the paper's metric: sklearn R² of the increments ΔS, uniform over k = 1..⌊p/2⌋)
  over the paper's window, the first min(1000, T) steps: the linear model S(t+1) − S(t) = A S + b
  by least squares (`Linear()`, "linear") and by the paper's Lasso (`Linear(alpha=0.01)`, "lasso"),
  and the gLV model dS_i/dt = S_i (r_i + Σ_j A_ij S_j) (`GLV(ridge)`, "glv"; its one-step prediction
  of ΔS is the Euler step S(t)(r + A S(t)), so the three rows score the same target);
* out of sample: linear and gLV fitted to S_k, k = 0..⌊p/2⌋ (k = 0 enters the circle threshold), on
  the first `FIT_FRACTION` of training and rolled out from S(0) to the end; rollout R² on the
  records after the fit window only (pooled over k);
* survivors: circles of the rollout at a horizon (threshold factor c·mean_j Ŝ_j), against the
  circles of the final recorded S. Horizon (× the fit window, or the end), threshold factor and
  regularisation (linear: Lasso α; gLV: ridge λ) are chosen on the calibration half of the seeds
  (best min(precision, recall)); everything in the summary is on the other, held-out half.
  Baselines: top-m initial signal S_k(0) and top-m early gradient [S_k(4) − S_k(3)]/S_k(0); and,
  to show what the ODE adds to the data it was fitted on, persistence: the circle rule (factor
  calibrated the same way) applied to the observed S at the end of the fit window.
* settled: a member's survivors are settled when its circles at 75 % of the run equal those at
  the end (`settled_fraction`, criterion: ≥ 0.9 of the members).

* a predictive theory (issue 26): ONE law for every frequency and seed, the mean-field growth law
      d log(S_k − f)/dt = r + a S_k + a₂ S_k² + c S̄ + e S_k S̄,   S̄ = mean_j S_j   (`theory.odes.MeanField`)
  (weight decay pulls every S_k toward the floor f, a frequency's gradient grows with what it
  already carries, all compete for one budget through S̄), 5 parameters fitted once on the
  calibration seeds' first 20 % (`fit_ode(..., share=("seed",), holdout=held-out seeds)`), floor
  f ∈ FLOORS by AIC on those seeds; judged on the held-out seeds rolled out from their own S(0):
  R² after the window, and survivors from S_k(0) alone (circle rule, factor calibrated) against
  the initial-signal, early-gradient and persistence baselines. Deviation from the issue's
  wording: the law sees no per-frequency information beyond S_k(0) and preserves their order.

No side file: the fits are computed in `summarize` (the numbers need them) and the two chosen
ones are refitted by `figures` (same inputs, same numbers; seconds on the default preset), so a
report writes only summary.json and PNGs and `summarize` stays pure. The fitted parameters of a
run are one call away: `fit_ode(signal, Linear(alpha=…), FIT_FRACTION, "freq")`.

summary.json (held-out seeds):
    one_step_r2          {"linear", "lasso", "glv"}: Estimate, median over members (lo..hi: range)
    rollout_r2_unseen    {"linear", "glv"}: the same, rollout R² past the window (overflow, −inf, left out)
    survivors            {"linear", "glv", "initial_signal", "early_gradient": {"precision", "recall"}}
    survivors_best_ode   {"model", "precision", "recall"}: the ODE (linear or glv) chosen on calibration seeds
    survivors_persistence {"precision", "recall"} of the persistence baseline
    fit_fraction, n_seeds_heldout, n_seeds_calibration, settled_fraction, calibration (choices)
    shared_theory        {model, n_params, rollout_r2_unseen (Estimate: median, min..max over held-out
                         members), survivors_from_init {precision, recall}, baselines {initial_signal,
                         early_gradient, persistence: {precision, recall}}}
    shared_theory_details {floor, threshold_factor, parameters, aic_by_floor, rollout_r2_heldout_all_records,
                         from_window {rollout_r2_unseen, survivors, threshold_factor} (the law rolled out
                         from a held-out seed's S at the window's end), crossings (share of final circles
                         not among the member's top-m S_k(0))}
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from toymodels import ModularMLP, Spec
from toymodels.experiments import Claim, Experiment, Figures, Summary, register
from toymodels.experiments.common import member_dims, spec_of
from toymodels.plots.odes import fit_figure, interaction_matrix, rollout_panels
from toymodels.theory.circles import circles
from toymodels.theory.estimate import Estimate, member_range
from toymodels.theory.odes import (
    GLV,
    Linear,
    MeanField,
    ODEFit,
    fit_glv_arrays,
    fit_ode,
    fit_window,
    mean_field_rollout,
    r2_score,
)
from toymodels.theory.survivors import calibrate, rule_survivors, score_survivors, settled, split_seeds, top_m

PAPER_ALPHA = 0.01          # Lasso(alpha=0.01) in the authors' ode_fit.py
PAPER_STEPS = 1000          # the paper fits the first 1000 steps
FIT_FRACTION = 0.2          # out-of-sample fits use the first 20 % of training
ALPHAS = (0.0, PAPER_ALPHA)            # linear: least squares or the paper's Lasso
RIDGES = (1e-3, 1e-2, 1e-1, 1.0)         # gLV ridge λ (scale-free, theory.odes)
HORIZONS = (1.5, 2.0, 3.0, None)         # × the fit window; None = the last record
FACTORS = (1.5, 2.0, 2.5, 3.0)         # circle-rule threshold factor c (2 = the paper's rule)
EARLY_STEPS = (3, 4)                   # g_k = [S_k(4) − S_k(3)] / S_k(0)
SETTLED_AT = 0.75
FLOORS = (0.0, 2.0, 4.0)               # mean-field floor f (the losers' level), chosen by AIC on calibration seeds


def tiny() -> Spec:
    system = ModularMLP(p=31, d=32, width=64)
    return Spec(system, system.hparams(), seeds=4, steps=400, log_every=1)


def default() -> Spec:
    system = ModularMLP(p=31, d=32, width=64)
    return Spec(system, system.hparams(), seeds=20, steps=1200, log_every=1)


def paper() -> Spec:
    system = ModularMLP(precision="float64")
    return Spec(system, system.hparams(), seeds=20, steps=30000, log_every=1)


def stacked(ds: xr.Dataset) -> xr.Dataset:
    """Non-diverged members along one dim `member` (coordinate `seed` kept), float64 signal."""
    flat = ds.stack(member=member_dims(ds)).reset_index("member")
    healthy = (flat["diverged_step"] < 0).values
    flat = flat.isel(member=np.flatnonzero(healthy))
    return flat.assign(signal=flat["signal"].astype(np.float64))


def one_step_scores(signal: xr.DataArray, ridge: float) -> dict[str, np.ndarray]:
    """Per-member one-step R² of ΔS over the paper's window, k ≥ 1: linear, lasso, glv."""
    window = signal.isel(step=slice(0, min(PAPER_STEPS + 1, signal.sizes["step"]))).sel(freq=slice(1, None))
    scores = {"linear": fit_ode(window, Linear(), 1.0, "freq").one_step_r2.values,
              "lasso": fit_ode(window, Linear(alpha=PAPER_ALPHA), 1.0, "freq").one_step_r2.values}
    x = window.transpose("member", "step", "freq").values
    ts = window["step"].values.astype(np.float64)
    glv = fit_glv_arrays(x, ts, ridge)
    euler = x[:, :-1] * (glv.r[:, None] + x[:, :-1] @ np.swapaxes(glv.a, 1, 2)) * np.diff(ts)[None, :, None]
    scores["glv"] = r2_score(np.diff(x, axis=1), euler)
    return scores


def horizon_step(steps: np.ndarray, fit_end: float, factor: float | None) -> float:
    """The step of a horizon: `factor` × the fit window (capped at the end), or the last step."""
    last = float(steps[-1])
    return last if factor is None else float(min(last, steps[0] + factor * (fit_end - steps[0])))


def candidates(fits: dict, p: int) -> dict[tuple, xr.DataArray]:
    """Predicted survivors for every (regularisation, horizon, factor) of one model's fits."""
    out = {}
    for (reg, fit), horizon, factor in itertools.product(fits.items(), HORIZONS, FACTORS):
        step = horizon_step(fit.rollout["step"].values, fit.fit_end_step, horizon)
        out[(reg, horizon, factor)] = rule_survivors(fit.rollout.sel(step=step, method="nearest"), p, factor)
    return out


def survivor_study(signal: xr.DataArray, p: int, heldout: xr.DataArray) -> tuple[dict, dict, dict]:
    """Calibrate each ODE on the calibration members, score everything on the held-out ones."""
    actual = circles(signal.isel(step=-1), p)
    held, calib = np.flatnonzero(heldout.values), np.flatnonzero(~heldout.values)
    fits = {"linear": {a: fit_ode(signal, Linear(alpha=a), FIT_FRACTION, "freq") for a in ALPHAS},
            "glv": {r: fit_ode(signal, GLV(ridge=r), FIT_FRACTION, "freq") for r in RIDGES}}
    scores, choices, chosen, predictions = {}, {}, {}, {}
    for model, model_fits in fits.items():
        options = candidates(model_fits, p)
        key = calibrate({k: v.isel(member=calib) for k, v in options.items()}, actual.isel(member=calib))
        reg, horizon, factor = key
        scores[model] = score_survivors(options[key].isel(member=held), actual.isel(member=held))
        choices[model] = {"regularisation": reg, "horizon": "end" if horizon is None else horizon,
                          "threshold_factor": factor}
        chosen[model] = model_fits[reg]
        predictions[model] = options[key]
    best = calibrate({m: v.isel(member=calib) for m, v in predictions.items()}, actual.isel(member=calib))
    choices["best_ode"] = best
    scores["best_ode"] = scores[best]
    window_end = signal.sel(step=chosen["glv"].fit_end_step)
    persistence = {(None, None, f): rule_survivors(window_end, p, f) for f in FACTORS}
    key = calibrate({k: v.isel(member=calib) for k, v in persistence.items()}, actual.isel(member=calib))
    scores["persistence"] = score_survivors(persistence[key].isel(member=held), actual.isel(member=held))
    choices["persistence"] = {"threshold_factor": key[2]}
    m = actual.sum("freq")
    init = signal.isel(step=0)
    early = (signal.sel(step=EARLY_STEPS[1]) - signal.sel(step=EARLY_STEPS[0])) / init
    for name, score in (("initial_signal", init), ("early_gradient", early)):
        scores[name] = score_survivors(top_m(score, m).isel(member=held), actual.isel(member=held))
    return scores, choices, chosen


def shared_fits(signal: xr.DataArray, heldout: xr.DataArray) -> dict[float, ODEFit]:
    """The mean-field law with one parameter set for every frequency and calibration seed, per floor
    (the floors below every calibration seed's S in the window)."""
    held = [int(s) for s in signal["seed"].values[heldout.values]]
    n_fit = fit_window(signal["step"].values.astype(np.float64), FIT_FRACTION)
    lowest = float(signal.isel(member=np.flatnonzero(~heldout.values), step=slice(0, n_fit)).min())
    return {f: fit_ode(signal, MeanField(floor=f), FIT_FRACTION, "freq", share=("seed",), holdout=held)
            for f in FLOORS if f < lowest}


def chosen_shared(fits: dict[float, ODEFit]) -> float:
    """The floor whose fit has the lowest AIC on the calibration seeds' window (the only data it saw)."""
    return min(fits, key=lambda f: float(fits[f].aic.values[~fits[f].heldout.values][0]))


def calibrated_rule(final: xr.DataArray, actual: xr.DataArray, p: int, calib: np.ndarray,
                    held: np.ndarray) -> tuple[float, dict[str, float]]:
    """Circle rule on `final` (member, freq), factor chosen on the calibration members, scored on the held-out."""
    options = {f: rule_survivors(final, p, f) for f in FACTORS}
    factor = calibrate({k: v.isel(member=calib) for k, v in options.items()}, actual.isel(member=calib))
    score = score_survivors(options[factor].isel(member=held), actual.isel(member=held))
    return factor, {"precision": score.overall_precision, "recall": score.overall_recall}


def from_window(fit: ODEFit, signal: xr.DataArray) -> xr.DataArray:
    """The shared law rolled out from each member's own S at the end of the fit window (its last fitted record)."""
    steps = signal["step"].values[fit.fit_records - 1:].astype(np.float64)
    theta = np.stack([fit.params[k].values for k in fit.params.data_vars], axis=-1)
    path = mean_field_rollout(theta, fit.model.floor, signal.isel(step=fit.fit_records - 1).values, steps)
    return signal.isel(step=slice(fit.fit_records - 1, None)).copy(data=np.asarray(path, np.float64))


def shared_theory(signal: xr.DataArray, p: int, heldout: xr.DataArray, scores: dict) -> tuple[dict, dict]:
    """`shared_theory` and its details: the mean-field law fitted once on the calibration seeds'
    windows, judged on the held-out seeds (rolled out from their own S(0), or from their S at the
    window's end)."""
    actual = circles(signal.isel(step=-1), p)
    held, calib = np.flatnonzero(heldout.values), np.flatnonzero(~heldout.values)
    fits = shared_fits(signal, heldout)
    floor = chosen_shared(fits)
    fit = fits[floor]
    factor, from_init = calibrated_rule(fit.rollout.isel(step=-1), actual, p, calib, held)
    late = from_window(fit, signal)
    late_factor, late_score = calibrated_rule(late.isel(step=-1), actual, p, calib, held)
    unseen = signal.isel(step=slice(fit.fit_records, None))
    late_r2 = r2_score(unseen.values, late.isel(step=slice(1, None)).values, "variance")
    theory = {
        "model": f"mean-field growth, floor {floor:g}",
        "n_params": fit.n_params,
        "rollout_r2_unseen": member_range(fit.r2_out.values[held], center="median", keep_infinite=True),
        "survivors_from_init": from_init,
        "baselines": {name: {"precision": scores[name].overall_precision, "recall": scores[name].overall_recall}
                      for name in ("initial_signal", "early_gradient", "persistence")},
    }
    details = {
        "floor": floor, "threshold_factor": factor,
        "parameters": {k: float(fit.params[k].values[calib[0]]) for k in fit.params.data_vars},
        "aic_by_floor": {f: float(v.aic.values[calib[0]]) for f, v in fits.items()},
        "rollout_r2_heldout_all_records": member_range(fit.r2_heldout.values[held], center="median",
                                                       keep_infinite=True),
        "from_window": {"rollout_r2_unseen": member_range(late_r2[held], center="median", keep_infinite=True),
                        "survivors": late_score, "threshold_factor": late_factor},
        "crossings": float(crossing_share(signal, p)),
    }
    return theory, details


def crossing_share(signal: xr.DataArray, p: int) -> float:
    """Share of the final circles (all members) that were not among the member's top-m S_k(0)
    (m its number of circles): what no law that preserves the order of S_k can get right from t = 0."""
    actual = circles(signal.isel(step=-1), p)
    top = top_m(signal.isel(step=0), actual.sum("freq"))
    return float((actual & ~top).sum() / max(int(actual.sum()), 1))


@dataclass(frozen=True)
class FrequencyCompetitionSummary(Summary):
    one_step_r2: dict[str, Estimate]                 # median, min..max over held-out members
    rollout_r2_unseen: dict[str, Estimate]           # median, min..max over held-out members
    survivors: dict[str, dict[str, float]]           # model → {precision, recall}, pooled
    survivors_best_ode: dict[str, Any]               # {model, precision, recall}
    survivors_persistence: dict[str, float]          # {precision, recall}
    fit_fraction: float
    n_seeds_heldout: int
    n_seeds_calibration: int
    settled_fraction: float
    calibration: dict[str, Any]                      # the choices made on the calibration seeds
    shared_theory: dict[str, Any]                    # issue 26: {model, n_params, rollout_r2_unseen, ...}
    shared_theory_details: dict[str, Any]            # floor, parameters, AIC, from-window scores, crossings


def held_signal(ds: xr.Dataset) -> tuple[xr.DataArray, xr.DataArray]:
    """S (member, step, freq) of the non-diverged members and the held-out mask over `member`."""
    flat = stacked(ds)
    _, held = split_seeds(np.unique(flat["seed"].values))
    return flat["signal"].transpose("member", "step", "freq"), flat["seed"].isin(held)


def summarize(ds: xr.Dataset) -> FrequencyCompetitionSummary:
    """Fit every member; score one-step, out-of-window and survivor predictions on held-out seeds."""
    p = spec_of(ds).system.p
    signal, heldout = held_signal(ds)
    calibration, held = split_seeds(np.unique(signal["seed"].values))
    scores, choices, chosen = survivor_study(signal, p, heldout)
    one_step = one_step_scores(signal, choices["glv"]["regularisation"])
    theory, details = shared_theory(signal, p, heldout, scores)
    held_values = lambda da: da.values[heldout.values]  # noqa: E731
    return FrequencyCompetitionSummary(
        one_step_r2={k: member_range(v[heldout.values], center="median") for k, v in one_step.items()},
        rollout_r2_unseen={m: member_range(held_values(chosen[m].r2_out), center="median", keep_infinite=True)
                           for m in ("linear", "glv")},
        survivors={m: {"precision": s.overall_precision, "recall": s.overall_recall}
                   for m, s in scores.items() if m not in ("persistence", "best_ode")},
        survivors_best_ode={"model": choices["best_ode"], "precision": scores["best_ode"].overall_precision,
                            "recall": scores["best_ode"].overall_recall},
        survivors_persistence={"precision": scores["persistence"].overall_precision,
                               "recall": scores["persistence"].overall_recall},
        fit_fraction=FIT_FRACTION,
        n_seeds_heldout=len(held),
        n_seeds_calibration=len(calibration),
        settled_fraction=float(settled(signal, p, SETTLED_AT).mean()),
        calibration=choices,
        shared_theory=theory,
        shared_theory_details=details,
    )


def chosen_fits(signal: xr.DataArray, calibration: dict[str, Any]) -> dict[str, ODEFit]:
    """The linear and gLV fits with the regularisation chosen on the calibration seeds (as in `summarize`)."""
    return {"linear": fit_ode(signal, Linear(alpha=calibration["linear"]["regularisation"]), FIT_FRACTION, "freq"),
            "glv": fit_ode(signal, GLV(ridge=calibration["glv"]["regularisation"]), FIT_FRACTION, "freq")}


def figures(ds: xr.Dataset, summary: FrequencyCompetitionSummary) -> Figures:
    """Data vs rollouts of the first held-out member; its fitted gLV interaction matrix; held-out
    members' data vs the shared mean-field law (fitted on the calibration seeds only)."""
    p = spec_of(ds).system.p
    signal, heldout = held_signal(ds)
    floor = summary.shared_theory_details["floor"]
    held_seeds = [int(s) for s in signal["seed"].values[heldout.values]]
    shared = fit_ode(signal, MeanField(floor=floor), FIT_FRACTION, "freq", share=("seed",), holdout=held_seeds)
    held = np.flatnonzero(heldout.values)
    chosen = chosen_fits(signal, summary.calibration)
    member = int(np.flatnonzero(heldout.values)[0])
    seed = int(signal["seed"].values[member])
    survivors = circles(signal.isel(step=-1, member=member), p)
    return {
        "frequency-competition-rollout": rollout_panels(
            signal.isel(member=member), {m: chosen[m].rollout.isel(member=member) for m in chosen},
            chosen["glv"].fit_end_step, highlight=survivors,
            title=f"S_k(t), seed {seed}: data (solid) and rollouts fitted to the shaded window"),
        "frequency-competition-A": interaction_matrix(
            chosen["glv"].params["A"].isel(member=member), highlight=survivors,
            title=f"gLV interaction matrix A, seed {seed}"),
        "frequency-competition-shared": fit_figure(
            signal.isel(member=held), shared.rollout.isel(member=held), shared.fit_end_step, "freq",
            scores=shared.r2_out.values[held],
            title=f"held-out seeds: S_k(t) (solid) vs the mean-field law with {shared.n_params} parameters "
                  f"shared by all frequencies, fitted on the calibration seeds' shaded window, rolled out from S(0)"),
    }


TARGET = "toymodels issue 14 (a target, not a paper number)"
THEORY = "toymodels issue 26 (a target, not a paper number)"
THEORY_BAND = ("issue 26's target for a predictive theory (held-out seeds, parameters fitted on the "
               "calibration seeds only), set before the model existed")
CLAIMS = (
    Claim(source="Ding et al. 2024, §4.3 and abstract; fit in the authors' analysis/odes/ode_fit.py",
          text="the circles' dynamics are characterised by linear ODEs: one-step R² of the Lasso (α = 0.01) "
               "fit of ΔS = A S + b over the first 1000 steps",
          key="one_step_r2/lasso", paper="'nicely characterized by a set of linear differential equations' "
                                         "(abstract); the figure's R² values were not checked",
          accept=(0.9, 1.0), partly=(0.5, 0.9), expected="partly",
          band="our reading of the abstract's 'nicely characterized' as R² ≥ 0.9 (partly: ≥ 0.5); the "
               "paper's own R² values are not in the reference notes",
          measured=0.5986, drift=0.04, min_n=5,
          drift_source="standard error of a median over the 10 held-out seeds, 1.25·sd/√10 = 0.037 "
                       "(sd 0.094 of the members' R², default run)",
          reason="at p = 31, d = 32 the Lasso penalty on raw A entries lowers R² well below unpenalised least "
                 "squares (one_step_r2/linear)"),
    Claim(source=TARGET, text="survivors predicted by the best ODE (chosen on calibration seeds) fitted to the "
                              "first 20 % of training: precision on held-out seeds",
          key="survivors_best_ode/precision", paper="≥ 0.8", accept=(0.8, 1.0), kind="target",
          band="issue 14's target for the best ODE (precision and recall ≥ 0.8 on held-out seeds), set "
               "before the study existed",
          measured=0.9333, drift=0.07,
          drift_source="one held-out seed less (jackknife over the 10) moves it within 0.926–1.0",
          reason="model, horizon, threshold and regularisation chosen on the other 10 seeds; pooled over the "
                 "10 held-out seeds' frequencies; survivors_persistence shows what the data at the window end give"),
    Claim(source=TARGET, text="survivors predicted by the best ODE (chosen on calibration seeds) fitted to the "
                              "first 20 % of training: recall on held-out seeds",
          key="survivors_best_ode/recall", paper="≥ 0.8", accept=(0.8, 1.0), kind="target",
          band="issue 14's target for the best ODE (precision and recall ≥ 0.8 on held-out seeds), set "
               "before the study existed",
          measured=0.8485, drift=0.025,
          drift_source="one held-out seed less (jackknife over the 10) moves it within 0.828–0.867",
          reason="as precision; the top-m initial-signal and early-gradient baselines score lower "
                 "(survivors/initial_signal, survivors/early_gradient)"),
    Claim(source=THEORY, text="a theory with 5 parameters shared by every frequency and seed (mean-field growth "
                              "law), fitted on the calibration seeds' first 20 %, rolled out from S(0): median "
                              "R² after the window on the held-out seeds",
          key="shared_theory/rollout_r2_unseen", paper="≥ 0.8", accept=(0.8, 1.0), kind="target", min_n=5,
          band=THEORY_BAND, measured=-6.3065, drift=0.35, expected="not reproduced",
          drift_source="leave-one-held-out-seed-out medians span -6.47..-6.14 (width 0.33), default run",
          reason="the law preserves the order of S_k (one law for all k, coupled only through the mean) but "
                 "31 % of the final circles were not among the top S_k(0) (shared_theory_details/crossings): "
                 "the hidden weights decide; rolled out from S at the window's end it scores "
                 "shared_theory_details/from_window; per-member fits: rollout_r2_unseen (worse)"),
    Claim(source=THEORY, text="survivors (circles at the end) predicted from t = 0 alone (S_k(0) and the shared "
                              "law fitted on the calibration seeds): precision on the held-out seeds",
          key="shared_theory/survivors_from_init/precision", paper="≥ 0.8", accept=(0.8, 1.0), kind="target",
          band=THEORY_BAND, measured=0.6216, drift=0.04, expected="not reproduced",
          drift_source="one held-out seed less (jackknife over the 10) moves it within 0.588–0.656",
          reason="baselines on the same seeds (shared_theory/baselines): top-m S_k(0) 0.667 (oracle m), early "
                 "gradient 0.455, persistence at the window's end 1.000; an order-preserving law can only "
                 "re-rank S_k(0), and 31 % of the circles cross"),
    Claim(source=THEORY, text="survivors (circles at the end) predicted from t = 0 alone (S_k(0) and the shared "
                              "law fitted on the calibration seeds): recall on the held-out seeds",
          key="shared_theory/survivors_from_init/recall", paper="≥ 0.8", accept=(0.8, 1.0), kind="target",
          band=THEORY_BAND, measured=0.6970, drift=0.04, expected="not reproduced",
          drift_source="one held-out seed less (jackknife over the 10) moves it within 0.667–0.733",
          reason="baselines (shared_theory/baselines): top-m S_k(0) 0.667, early gradient 0.455, persistence "
                 "0.515; from the window's end the same law gives 0.85 (shared_theory_details/from_window)"),
)

register(Experiment(
    name="frequency-competition",
    description="Linear and Lotka–Volterra ODEs of Fourier-frequency competition (Ding et al. 2024): "
                "R², out-of-sample rollouts, survivor prediction on held-out seeds",
    presets={"tiny": tiny, "default": default, "paper": paper},
    summarize=summarize,
    figures=figures,
    claims=CLAIMS,
))
