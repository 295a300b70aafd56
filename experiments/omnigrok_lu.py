"""`omnigrok-lu`: Omnigrok's LU mechanism (Liu, Michaud, Tegmark, ICLR 2023, arXiv 2210.01117).

Three engine runs (parts), one report:

landscape_mlp  the embedding-MLP on modular addition (`toymodels.ModularMLP`, constant_norm=True,
               wd 0) at fixed weight norms: θ₀ ← w θ₀, and after every AdamW step
                   θ ← θ · w ‖θ₀‖₂ / ‖θ‖₂,                 w = `norm_scale`
               (the run's spec: its `norm_scale` sweep is the w grid of both landscapes).
landscape_toy  the toy of Liu et al. 2022 (`toymodels.GrokkingToy`, constant_norm=True): the decoder
               norm fixed at w ‖θ_dec,0‖₂ (as the Omnigrok landscape notebook does), same w grid.
delay          large initialisation without the constraint: θ₀ ← α θ₀ (ModularMLP scale_init=True,
               α = DELAY_SCALE), then AdamW with weight decay γ ∈ DELAY_WDS (γ = 0: the control),
               independent inits per cell, DELAY_STEP_FACTOR × the spec's steps.

w is the *relative* weight norm w/w₀ of the paper's landscape plots (w₀ = the norm of the default
initialisation), as the authors' notebooks set it (`init(model, alpha)` then rescaling to that norm).

Measures (every curve is the final value, step = the last record, as the notebooks save it):
    L shape   fall = L_train(w_min) / max_{w ≥ w_mid} L_train(w), w_mid = the grid's median:
              the training loss falls from the smallest w and stays small on the upper half of
              the grid; "L" when fall ≥ L_FACTOR.
    U shape   rise = min(L_test(w_min), L_test(w_max)) / min_w L_test(w): 1 when the minimum sits
              on an edge of the grid; "U" when rise ≥ U_FACTOR (minimum strictly inside, both ends
              at least U_FACTOR × the minimum).
    w_c       argmin_w of the seed-mean test loss.
    delay     t_test − t_train, t = first recorded step with accuracy ≥ THRESHOLD; a member
              groks when both happen within the run.
    k         least squares log(mean delay) = log c − k log γ over γ > 0 (`theory.scaling`);
              with weight norm decaying as e^{−lr γ t} while the model only memorises, the time
              to fall from α w₀ to w_c is ln(α w₀ / w_c) / (lr γ): k = 1.
Intervals: curve points, fall, rise and w_c are 95 % percentile bootstraps over seeds
(the statistic recomputed on the resampled seed-mean curve); k resamples seeds
(`scaling.bootstrap_seeds`). With 4 seeds a percentile bootstrap is not a reliable 95 % interval.

Presets (deviations from the paper, stated):
    tiny     p = 13, d 8, width 16, 2 seeds, 5 w values, 60 steps (delay part 180): smoke test only.
    default  p = 31, d = 32, width 64, train fraction 0.6, lr 3e-3, 4 seeds, 9 w in 10^[−1, 1.5],
             2000 steps logged every 25 (delay: 6000 steps, α = 3, γ ∈ {0, 0.7, 1, 1.4, 2}); the toy
             at its paper size (p = 10, d = 1, width 200, 45 of 55 samples), repr lr 1e-3, decoder
             lr 1e-2 (the landscape notebook's decoder lr).
    paper    the authors' MLP size (p = 59, d = 128, width 100), 8 seeds, 21 w values in
             10^[−1, 1.5] (the MNIST notebook's 21-point log grid, shifted to reach the toy's w_c ≈ 3),
             10 000 steps (delay 30 000).
Deviations: Omnigrok's modular-addition landscape is a 2-D map over (representation messiness,
w) with the toy's representation frozen (lr 0), a LeakyReLU(0.2) decoder and Adam (0.9, 0.99)
decaying lr × 0.2 every 5000 of 15 000 epochs; here the representation trains (lr 1e-3), the
decoder is the 2022 toy's tanh MLP, lr is constant and one w axis is scanned over seeds.
Its large-init experiments use a transformer, MNIST (α = 8, γ = 0.01) and a teacher-student MLP;
here the embedding-MLP. The paper states delay ∝ 1/γ from its argument, not from a fit.

summary.json keys:
    w                      the w grid (relative weight norm)
    curves/<model>/<split> per w: Estimate of the final <split> (train, test) loss over seeds
    w_c/<model>            Estimate: argmin of the seed-mean test loss, bootstrap over seeds
    train_loss_shape/<model>  {"fall": Estimate, "is_L": bool}
    test_loss_shape/<model>   {"rise": Estimate, "rise_left", "rise_right", "interior", "is_U"}
    delay_table            per γ: {"delay": Estimate (student-t over grokked seeds),
                           "grokked": n, "seeds": n, "t_train", "t_test" (means)}
    grok_share             Estimate (Wilson): share of γ > 0 members that grok
    grok_w                 Estimate (student-t over grokked γ > 0 members): the relative norm
                           ‖θ(t_test)‖ / (‖θ(0)‖/α) when they grok, to compare with w_c/mlp
    control_grok_share     Estimate (Wilson): share of γ = 0 members that grok
    delay_exponent         Estimate: k of delay ∝ γ^−k, bootstrap over seeds
    delay_fit              {"amplitude", "exponent", "r2"} of the fit to the seed means
    t_test_exponent        Estimate: the same fit to t_test alone (the time to generalise)
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from toymodels import GrokkingToy, ModularMLP, Spec
from toymodels.experiments import Claim, Experiment, Figures, Summary, register
from toymodels.experiments.common import scalar, train_parts
from toymodels.plots.omnigrok import delay_figure, lu_figure
from toymodels.spec import require
from toymodels.theory.estimate import Estimate, bootstrap_interval, student_t, wilson
from toymodels.theory.events import first_step
from toymodels.theory.scaling import bootstrap_seeds

THRESHOLD = 0.9
L_FACTOR = 10.0
U_FACTOR = 1.5
MODELS = ("mlp", "toy")
DELAY_SCALE = 3.0
DELAY_WDS = (0.0, 0.7, 1.0, 1.4, 2.0)
DELAY_STEP_FACTOR = 3
TOY_HPARAMS = {"repr_lr": 1e-3, "dec_lr": 1e-2, "repr_wd": 0.0, "dec_wd": 0.0}


def w_grid(low: float, high: float, count: int) -> tuple[float, ...]:
    """count values of 10^x, x evenly spaced in [low, high] (4 significant digits)."""
    return tuple(float(f"{w:.4g}") for w in np.logspace(low, high, count))


def landscape_spec(system: ModularMLP, grid: tuple[float, ...], seeds: int, steps: int, log_every: int,
                   **hp: float) -> Spec:
    return Spec(system, {**system.hparams(), "wd": 0.0, **hp}, sweep={"norm_scale": grid}, seeds=seeds,
                steps=steps, log_every=log_every, init="independent")


def tiny() -> Spec:
    return landscape_spec(ModularMLP(p=13, d=8, width=16, constant_norm=True), w_grid(-1, 1.5, 5), 2, 60, 20,
                          lr=3e-3, train_fraction=0.6)


def default() -> Spec:
    return landscape_spec(ModularMLP(p=31, d=32, width=64, constant_norm=True), w_grid(-1, 1.5, 9), 4, 2000,
                          25, lr=3e-3, train_fraction=0.6)


def paper() -> Spec:
    return landscape_spec(ModularMLP(constant_norm=True), w_grid(-1, 1.5, 21), 8, 10000, 100,
                          lr=3e-3, train_fraction=0.6)


def toy_spec(spec: Spec) -> Spec:
    """The toy at the same w grid, seeds, steps and logging (decoder norm held at w ‖θ_dec,0‖)."""
    system = GrokkingToy(constant_norm=True)
    return Spec(system, {**system.hparams(), **TOY_HPARAMS}, sweep={"norm_scale": spec.sweep["norm_scale"]},
                seeds=spec.seeds, steps=spec.steps, log_every=spec.log_every, init="independent")


def delay_spec(spec: Spec) -> Spec:
    """Large init (θ₀ ← DELAY_SCALE θ₀, no constraint) × weight decay γ, the spec's MLP and lr."""
    system = dataclasses.replace(spec.system, constant_norm=False, scale_init=True)
    hp = {**spec.hparams, "norm_scale": DELAY_SCALE}
    return Spec(system, hp, sweep={"wd": DELAY_WDS}, seeds=spec.seeds, steps=DELAY_STEP_FACTOR * spec.steps,
                log_every=spec.log_every, init="independent")


def parts(spec: Spec, preset: str = "") -> dict[str, Spec]:
    """The three engine runs of `train` (the spec itself is the MLP landscape)."""
    return {"landscape_mlp": spec, "landscape_toy": toy_spec(spec), "delay": delay_spec(spec)}


def check(spec: Spec) -> None:
    """What training and the report need of a spec (run before any training)."""
    require(isinstance(spec.system, ModularMLP) and spec.system.constant_norm,
            "omnigrok-lu needs the ModularMLP with constant_norm=true (the fixed-norm landscape)")
    require(set(spec.sweep) == {"norm_scale"} and len(spec.sweep["norm_scale"]) >= 3,
            "omnigrok-lu sweeps norm_scale (the w grid, >= 3 values) and nothing else")
    require(spec.hparams["wd"] == 0.0, "omnigrok-lu trains the landscape with wd = 0")


PREFIX = {"landscape_mlp": "mlp", "landscape_toy": "toy", "delay": "delay"}
KEEP = ("train_loss", "test_loss", "train_acc", "test_acc", "weight_norm", "diverged_step")


def combine(results: dict[str, xr.Dataset]) -> xr.Dataset:
    """One Dataset: the scalar observables of each part, prefixed mlp_/toy_/delay_; the delay run
    keeps its own step axis (`delay_step`); `diverged_step` is the MLP landscape's."""
    merged = []
    for name, ds in results.items():
        prefix = PREFIX[name]
        ds = ds[[v for v in KEEP if v in ds]]
        if name == "delay":
            ds = ds.rename({"step": "delay_step"})
        merged.append(ds.rename({v: f"{prefix}_{v}" for v in ds.data_vars
                                 if not (name == "landscape_mlp" and v == "diverged_step")}))
    return xr.merge(merged, combine_attrs="drop")


def train(spec: Spec, out: Path | None = None, **options: Any) -> xr.Dataset:
    """The two landscapes and the delay run (`check(spec)` has run; the engine validates each part)."""
    return train_parts(parts(spec), spec, out, combine=combine, **options)


# --- measures (pure, on numpy arrays: seeds × w) ------------------------------------------------
def fall(train: np.ndarray) -> float:
    """L_train(w_min) / max_{w ≥ w_mid} L_train(w) of one curve over an increasing w grid."""
    train = np.asarray(train, float)
    return float(train[0] / np.max(train[len(train) // 2:]))


def rises(test: np.ndarray) -> tuple[float, float]:
    """(L_test(w_min), L_test(w_max)) / min_w L_test(w)."""
    test = np.asarray(test, float)
    return float(test[0] / test.min()), float(test[-1] / test.min())


def rise(test: np.ndarray) -> float:
    """min of the two rises: 1 when the minimum is on an edge of the grid."""
    return min(rises(test))


def seed_statistic(values: np.ndarray, statistic: Any) -> Estimate:
    """statistic(seed-mean curve) with a 95 % percentile bootstrap over seeds (rows)."""
    values = np.atleast_2d(np.asarray(values, float))
    value = statistic(np.nanmean(values, axis=0))
    n = values.shape[0]
    if n < 2:
        return Estimate(value, n=n, interval="bootstrap", level=0.95)
    lo, hi = bootstrap_interval(lambda rows: statistic(np.nanmean(values[rows], axis=0)), n)
    return Estimate(value, lo, hi, n, "bootstrap", 0.95)


def critical_w(w: np.ndarray, test: np.ndarray) -> Estimate:
    """w_c = argmin_w of the seed-mean test loss, bootstrap over seeds."""
    return seed_statistic(test, lambda curve: float(np.asarray(w, float)[np.nanargmin(curve)]))


def curve_points(values: np.ndarray) -> list[Estimate]:
    """Per w: the seed mean with a bootstrap over seeds."""
    return [seed_statistic(values[:, [i]], lambda curve: float(curve[0])) for i in range(values.shape[1])]


def delays(acc_train: xr.DataArray, acc_test: xr.DataArray, dim: str) -> tuple[xr.DataArray, ...]:
    """(t_train, t_test, t_test − t_train): first step with accuracy ≥ THRESHOLD (NaN: never)."""
    t_train = first_step(acc_train >= THRESHOLD, dim)
    t_test = first_step(acc_test >= THRESHOLD, dim)
    return t_train, t_test, t_test - t_train


def grokking_w(norm: xr.DataArray, t_test: xr.DataArray, dim: str) -> xr.DataArray:
    """w at grokking: ‖θ(t_test)‖ / (‖θ(0)‖ / DELAY_SCALE), the norm relative to the unscaled init
    (the landscape's w) when the test accuracy first reaches THRESHOLD; NaN when it never does."""
    at_test = norm.where(norm[dim] == t_test).max(dim)
    return at_test / (norm.isel({dim: 0}) / DELAY_SCALE)


def exponent(wd: np.ndarray, delay: np.ndarray) -> Any:
    """k of mean y ∝ γ^−k over γ > 0 with a grokked seed (y: delay or t_test, seeds × γ; NaN = did not
    grok), bootstrap over seeds (the seed mean of each γ is over its grokked seeds)."""
    wd, delay = np.asarray(wd, float), np.asarray(delay, float)
    keep = (wd > 0) & np.isfinite(delay).any(axis=0)
    with warnings.catch_warnings():  # a resample whose γ column has no grokked seed: that point is dropped
        warnings.simplefilter("ignore", RuntimeWarning)
        return bootstrap_seeds(wd[keep], delay[:, keep])


# --- report --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OmnigrokSummary(Summary):
    w: list[float]
    curves: dict[str, dict[str, list[Estimate]]]      # [model][train|test] per w
    w_c: dict[str, Estimate]                          # [model]
    train_loss_shape: dict[str, dict[str, Any]]       # [model] {"fall", "is_L"}
    test_loss_shape: dict[str, dict[str, Any]]        # [model] {"rise", "rise_left", "rise_right", ...}
    delay_table: dict[str, dict[str, Any]]            # [γ]
    grok_share: Estimate
    grok_w: Estimate
    control_grok_share: Estimate
    delay_exponent: Estimate
    t_test_exponent: Estimate
    delay_fit: dict[str, float | None]


def final(ds: xr.Dataset, name: str) -> np.ndarray:
    """Final value of `name`, (seed, norm_scale)."""
    return ds[name].isel(step=-1).transpose("seed", "norm_scale").values


def shapes(w: np.ndarray, train: np.ndarray, test: np.ndarray) -> tuple[dict[str, Any], dict[str, Any]]:
    """(train_loss_shape, test_loss_shape) of one model from its final losses (seeds × w)."""
    fall_estimate = seed_statistic(train, fall)
    rise_estimate = seed_statistic(test, rise)
    left, right = rises(np.nanmean(test, axis=0))
    interior = 0 < int(np.nanargmin(np.nanmean(test, axis=0))) < len(w) - 1
    return ({"fall": fall_estimate, "is_L": bool(fall_estimate.value >= L_FACTOR)},
            {"rise": rise_estimate, "rise_left": left, "rise_right": right, "interior": interior,
             "is_U": bool(interior and rise_estimate.value >= U_FACTOR)})


def delay_rows(ds: xr.Dataset) -> tuple[np.ndarray, np.ndarray, dict[str, dict[str, Any]], np.ndarray, np.ndarray]:
    """(γ grid, delay (seeds × γ), per-γ table, w at grokking (seeds × γ), t_test (seeds × γ))."""
    t_train, t_test, delay = (x.transpose("seed", "wd") for x in
                              delays(ds["delay_train_acc"], ds["delay_test_acc"], "delay_step"))
    w_grok = grokking_w(ds["delay_weight_norm"], t_test, "delay_step").transpose("seed", "wd").values
    wd = ds["wd"].values
    table = {f"{g:g}": {"delay": student_t(delay.values[:, i]), "grokked": int(np.isfinite(delay.values[:, i]).sum()),
                        "seeds": int(delay.sizes["seed"]), "t_train": mean_or_none(t_train.values[:, i]),
                        "t_test": mean_or_none(t_test.values[:, i])}
             for i, g in enumerate(wd)}
    return wd, delay.values, table, w_grok, t_test.values


def mean_or_none(values: np.ndarray) -> float | None:
    """Mean of the finite values; None when there are none."""
    finite = np.asarray(values, float)[np.isfinite(values)]
    return float(finite.mean()) if len(finite) else None


def summarize(ds: xr.Dataset) -> OmnigrokSummary:
    """Both landscapes' curves, shapes and w_c; the delay table, grokking shares and the exponent."""
    w = ds["norm_scale"].values
    curves, w_c, train_shape, test_shape = {}, {}, {}, {}
    for model in MODELS:
        train, test = final(ds, f"{model}_train_loss"), final(ds, f"{model}_test_loss")
        curves[model] = {"train": curve_points(train), "test": curve_points(test)}
        w_c[model] = critical_w(w, test)
        train_shape[model], test_shape[model] = shapes(w, train, test)
    wd, delay, table, w_grok, t_test = delay_rows(ds)
    grokked, decayed = np.isfinite(delay), wd > 0
    fit = exponent(wd, delay)
    return OmnigrokSummary(
        w=[float(x) for x in w], curves=curves, w_c=w_c, train_loss_shape=train_shape,
        test_loss_shape=test_shape, delay_table=table,
        grok_share=wilson(int(grokked[:, decayed].sum()), int(grokked[:, decayed].size)),
        grok_w=student_t(w_grok[:, decayed]),
        control_grok_share=wilson(int(grokked[:, ~decayed].sum()), int(grokked[:, ~decayed].size)),
        delay_exponent=fit.estimate(),
        t_test_exponent=exponent(wd, t_test).estimate(),
        delay_fit={"amplitude": scalar(fit.fit.amplitude), "exponent": scalar(fit.fit.exponent),
                   "r2": scalar(fit.fit.r2)},
    )


def figures(ds: xr.Dataset, summary: OmnigrokSummary) -> Figures:
    """Final train/test loss vs w per model (log–log), and delay vs γ with the fitted power law."""
    w = np.asarray(summary.w)
    panels = {model: {split: np.array([[p.value, p.lo, p.hi] for p in summary.curves[model][split]], float)
                      for split in ("train", "test")} for model in MODELS}
    wd, delay, *_ = delay_rows(ds)
    fit = summary.delay_fit
    return {"omnigrok-lu": lu_figure(w, panels, {m: summary.w_c[m].value for m in MODELS}),
            "omnigrok-delay": delay_figure(wd, delay, fit["amplitude"], fit["exponent"])}


SOURCE = "Liu, Michaud, Tegmark 2023 (Omnigrok), abstract, §2 and the landscape notebooks"
L_BAND = ("the paper states the shape, not a factor: our reading of 'L' is a loss at the smallest w at least "
          "10 × the worst loss on the upper half of the w grid (one decade on the paper's log axes)")
U_BAND = ("the paper states the shape, not a factor: our reading of 'U' is a minimum strictly inside the grid "
          "with both ends ≥ 1.5 × the minimum (a flat or monotone curve gives exactly 1)")
CLAIMS: tuple[Claim, ...] = (
    Claim(source=SOURCE, text="embedding-MLP at fixed weight norm: the final training loss vs w is L-shaped",
          key="train_loss_shape/mlp/fall", paper="training loss vs weight norm is 'L'-shaped (qualitative)",
          accept=(L_FACTOR, None), band=L_BAND, measured=1674.7570296189422, drift=3100.0,
          drift_source="leave-one-seed-out values 1284–4330 (4 seeds): width 3046", min_n=4,
          reason="3.42 at w = 0.1, ≤ 8e-3 for every seed at w ≥ 1.78; exactly 0 in float32 at w = 31.6"),
    Claim(source=SOURCE, text="embedding-MLP at fixed weight norm: the final test loss vs w is U-shaped with "
                              "an interior minimum w_c",
          key="test_loss_shape/mlp/rise", paper="test loss vs weight norm is 'U'-shaped (qualitative)",
          accept=(U_FACTOR, None), band=U_BAND, measured=142.69170760268398, drift=540.0,
          drift_source="leave-one-seed-out values 110–647 (4 seeds): width 537", min_n=4,
          reason="w_c = 0.866 for every seed (test accuracy 0.99–1 there, ≤ 0.22 elsewhere)"),
    Claim(source=SOURCE, text="the toy of Liu et al. 2022 at fixed decoder norm: training loss vs w is L-shaped",
          key="train_loss_shape/toy/fall", paper="training loss vs weight norm is 'L'-shaped (qualitative)",
          accept=(L_FACTOR, None), band=L_BAND, measured=2.276757577763324, drift=0.6,
          drift_source="leave-one-seed-out values 2.01–2.59 (4 seeds): width 0.58", min_n=4,
          expected="not reproduced",
          reason="the tanh decoder saturates at large w: its training loss rises again to 0.2–0.6 at w ≥ 15 "
                 "in 2000 steps (the notebook: LeakyReLU, frozen representation, 15 000 epochs)"),
    Claim(source=SOURCE, text="the toy at fixed decoder norm: test loss vs w is U-shaped with an interior minimum",
          key="test_loss_shape/toy/rise", paper="test loss vs weight norm is 'U'-shaped (qualitative)",
          accept=(U_FACTOR, None), band=U_BAND, measured=1.0679604149453046, drift=0.16,
          drift_source="leave-one-seed-out values 1.00–1.16 (4 seeds): width 0.16", min_n=4,
          expected="inconclusive",
          reason="the test loss rises at large w (×3.9) but stays ≈ 1 (the MSE of a zero output) at small w: "
                 "1 seed of 4 generalises (at w = 3.65); its representation must form from a random init. The "
                 "bootstrap interval over 4 seeds (1.00, 1.55) straddles the band's edge 1.5: undecided"),
    Claim(source=SOURCE, text="large initialisation (α = 3) + AdamW weight decay groks: share of members "
                              "(γ ∈ {0.7, 1, 1.4, 2}) reaching 0.9 test accuracy",
          key="grok_share", paper="large init + weight decay groks (every run shown groks)",
          accept=(0.75, None),
          band="our reading of 'groks': at least 3 of 4 members at the paper's own settings would be stated as "
               "grokking; the paper shows one run per setting",
          measured=1.0, drift=0.0625, drift_source="leave-one-seed-out width 0; one member of 16 = 0.0625",
          min_n=8, reason="16 of 16 members grok within 6000 steps"),
    Claim(source=SOURCE, text="the large-init model groks when weight decay has pulled its norm to the "
                              "landscape's w_c: relative norm ‖θ(t_test)‖/(‖θ(0)‖/α)",
          key="grok_w", paper="weight decay drags the norm to w_c, which is grokking (qualitative)",
          accept=(0.422, 1.778),
          band="the MLP landscape's w_c (0.866, same model, every seed) ± one step of the default w grid "
               "(its neighbours 0.422 and 1.778): the resolution at which w_c is known",
          measured=0.8048074282705784, drift=0.01,
          drift_source="leave-one-seed-out values 0.800–0.808 (4 seeds): width 0.0085", min_n=8,
          reason="16 grokked members: 0.80 (95 % student-t 0.77–0.84) against w_c = 0.866"),
    Claim(source=SOURCE, text="grokking delay ∝ γ^−k with k = 1 (fit over γ ∈ {0.7, 1, 1.4, 2}, 4 seeds)",
          key="delay_exponent", paper="delay ∝ 1/γ (from the argument t = ln(α w₀/w_c)/(lr γ); no interval)",
          accept=(0.8, 1.2), partly=(0.5, 1.5),
          band="the paper gives k = 1 without an interval: ±0.2 is our reading (a log–log slope over a 2.9× "
               "range of γ); partly ±0.5 (the delay falls with γ, but not as 1/γ)",
          measured=1.6746811086062883, drift=0.35,
          drift_source="leave-one-seed-out values 1.56–1.90 (4 seeds): width 0.34", min_n=4,
          expected="not reproduced",
          reason="k = 1.67 (bootstrap 1.39–2.03): t_train grows with γ (119 → 375 steps) and t_test alone "
                 "gives k = 1.32; the 1/γ argument neglects both the memorisation time and the gradient's push"),
    Claim(source=SOURCE, text="control: the same large init without weight decay (γ = 0) does not grok in the run",
          key="control_grok_share", paper="no weight decay, no grokking: the norm stays large (Omnigrok §2)",
          accept=(None, 0.25), kind="control",
          band="a share of 0 must be told apart from the γ > 0 share: at most 1 of 4 members",
          measured=0.0, drift=0.25, drift_source="leave-one-seed-out width 0; one member of 4 = 0.25", min_n=4,
          expected="inconclusive",
          reason="0 of 4 members reach 0.9 test accuracy in 6000 steps (they memorise by step 100), but 4 members "
                 "cannot place a share below 0.25 at 95 % (Wilson interval 0–0.49): the control needs more seeds"),
)

register(Experiment(
    name="omnigrok-lu",
    description="Omnigrok: L-shaped train and U-shaped test loss vs weight norm; large init + weight decay groks",
    presets={"tiny": tiny, "default": default, "paper": paper},
    summarize=summarize,
    figures=figures,
    train=train,
    claims=CLAIMS,
    check=check,
    parts=parts,
))
