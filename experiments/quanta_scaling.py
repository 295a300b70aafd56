"""`quanta-scaling`: multitask sparse parity MLPs swept over width (static) × dataset size D
(dynamic), with the loss-scaling exponents of Michaud et al. (2023) measured against the theory
and against the paper's measured values.

One run, sweep width × data × seeds. `data` = 0 members train online (fresh samples every step);
`data` = D > 0 members train for the same steps on a fixed set of D samples (multi-epoch).
Measurements (as in the paper's notebooks; losses in bits):
    alpha_N   final mean test loss of the online members vs parameter count P, every width
    alpha_S   mean test loss vs step of the widest online members, from the first logged step with
              seed-mean loss < 0.95 bits to the end
    alpha_D   widest finite-data members, min over steps of the mean test loss (early stopping)
              vs D, from the first D with seed-mean loss < 0.95 bits to the largest
    beta      S_k ∝ p_k^{−β}, S_k = first logged step with subtask loss < 0.1 bits (widest online)
Intervals: 95 % pairs bootstrap over the fitted points (every (seed, x) point, refit, 1000
draws; `theory.scaling.bootstrap_points`). The default has 2 seeds, too few to resample seeds.

summary.json keys:
    alpha    {"value": α (paper), "code_alpha": α + 1 (the authors' code's `alpha`)}
    alpha_N, alpha_S, alpha_D
             Estimate (95 % pairs bootstrap over the fitted points) and "resampled": "points",
             "theory", "paper", "r2", "x_range", "quanta_exponent" (n_learned ∝ x^γ, fitted),
             "quanta_theory"; alpha_S also "theory_beta" = α/(β(α+1)) with our β
    beta     Estimate (95 % pairs bootstrap over the learned (member, subtask) points) and
             "resampled", "theory": 1, "paper": 0.81
    n_learned  subtasks below 0.1 bits at the end, widest online members: Estimate (seed mean,
             lo..hi: range over seeds) and "n_tasks"
    learning_order  QH2 (quanta learned in order of use frequency): Spearman ρ between p_k and
             how early subtask k is learned (−p_k vs S_k, learned subtasks of each widest online
             member; logging ties lower it), Estimate: seed mean, lo..hi = range over seeds
    test_train_overlap  fraction of test inputs that are also training inputs, frequency-weighted
             (Σ p_i f_i): {"value": largest D (exact, mean over seeds), "data": that D,
             "task_1": f_1 at that D, "online": expected value for the online members}

`quanta-emergence` (same system, same readers): per-subtask learning curves, online training swept
over width (static) × seeds (Fig 2 emergence grid, Fig A3). Figures: per-subtask test loss (0–1
bits) vs step (widest network, seed 0) and vs parameters (final step, mean over seeds); S_k vs p_k.
Its report reads the online members only, so it also reads a `quanta-scaling` run.

summary.json keys (quanta-emergence):
    alpha          as above
    beta           as above
    probs          p_k of each subtask
    learned_step   S_k per subtask, mean over the seeds that learned it (null if none did)
    learned_by_width  {"width", "parameters", "learned"}: subtasks below 0.1 bits at the end
                   (mean over seeds)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr
from scipy import stats

from toymodels import Spec
from toymodels.experiments import Claim, Experiment, Figures, Summary, register
from toymodels.experiments.common import spec_of
from toymodels.plots.scaling import ScalingPanel, emergence_heatmap, learned_steps_figure, scaling_figure
from toymodels.sparse_parity import SparseParityMLP
from toymodels.spec import require
from toymodels.tasks.sparse_parity import (
    code_alpha,
    expected_online_overlap,
    overlap_with_training,
    task_probabilities,
)
from toymodels.theory.estimate import Estimate, member_range
from toymodels.theory.scaling import (
    Exponent,
    bootstrap_points,
    fit_power_law,
    learned_points,
    learned_step,
    predicted_exponents,
    quanta_learned,
)

PLATEAU_BITS = 0.95  # fits start where the loss has left the 1-bit plateau (paper's α_D rule)
PAPER = {"alpha_S": 0.45, "beta": 0.81}  # Fig A3 (α = 0.4, width 500)


def tiny() -> Spec:
    system = SparseParityMLP(n_tasks=6, n=8, k=2, width=16, batch=128, test_per_task=64,
                             finite_data=True)
    return Spec(system, {**system.hparams(), "lr": 1e-2},
                sweep={"width": (8, 16), "data": (0.0, 128.0, 512.0)}, seeds=2, steps=60,
                log_every=20)


def default() -> Spec:
    """k = 2 parities of n = 24 bits (paper: k = 3 of 100), 50 subtasks, lr 1e-2, batch 500."""
    system = SparseParityMLP(n_tasks=50, n=24, k=2, width=128, batch=500, test_per_task=100,
                             finite_data=True)
    return Spec(system, {**system.hparams(), "lr": 1e-2},
                sweep={"width": (8, 16, 32, 64, 128),
                       "data": (0.0, 4000.0, 8000.0, 16000.0, 32000.0, 64000.0)},
                seeds=2, steps=3000, log_every=100)


def paper() -> Spec:
    """Paper §3.2 / P-scaling-15 + D-scaling-6 (α = 0.4, code alpha 1.4), cross product, 3 seeds."""
    system = SparseParityMLP(n_tasks=500, n=100, k=3, width=500, batch=20000, test_per_task=1000,
                             finite_data=True)
    widths = tuple(sorted({int(w) for w in 2 ** np.linspace(np.log2(10), np.log2(500), 30)}))
    data = tuple(float(int(d)) for d in 2 ** np.linspace(np.log2(1e4), np.log2(5e6), 30))
    return Spec(system, system.hparams(), sweep={"width": widths, "data": (0.0, *data)},
                seeds=3, steps=200_000, log_every=100)


# --- reading a run ------------------------------------------------------------------------------
def run_alpha(ds: xr.Dataset) -> float:
    """The run's α (the paper's); sweeping α is not supported by these reports."""
    require("alpha" not in ds.dims, "the quanta reports need one alpha; do not sweep alpha")
    return float(spec_of(ds).hparams["alpha"])


def probabilities(ds: xr.Dataset) -> np.ndarray:
    """p_k of the run's subtasks."""
    return np.asarray(task_probabilities(ds.sizes["subtask"], run_alpha(ds)))


def parameter_counts(ds: xr.Dataset) -> np.ndarray:
    """P = width·(n_tasks + n + 3) + 2 for every width of the run."""
    system = spec_of(ds).system
    widths = ds["width"].values if "width" in ds.dims else [system.width]
    return np.array([dataclasses.replace(system, width=int(w)).parameters for w in widths])


def online(ds: xr.Dataset) -> xr.Dataset:
    """The members that trained online (data ≤ 0)."""
    if "data" in ds.dims:
        return ds.sel(data=ds["data"][ds["data"] <= 0])
    require(spec_of(ds).hparams["data"] <= 0, "this run has no online members (data > 0)")
    return ds


def widest(ds: xr.Dataset) -> xr.Dataset:
    return ds.isel(width=-1) if "width" in ds.dims else ds


def by_seed(da: xr.DataArray, axis: str) -> np.ndarray:
    """(seeds × points) array of a DataArray with dims seed, `axis` (either may be absent or of
    size 1) and singleton leftovers."""
    da = da.squeeze(drop=True)
    for dim in ("seed", axis):
        da = da if dim in da.dims else da.expand_dims(dim)
    return da.transpose("seed", axis).values


def off_plateau(curve: np.ndarray) -> np.ndarray:
    """Boolean mask: from the first point with loss < 0.95 bits onwards."""
    below = np.nan_to_num(curve, nan=np.inf) < PLATEAU_BITS
    return np.arange(len(curve)) >= (np.argmax(below) if below.any() else len(curve))


# --- measurements -------------------------------------------------------------------------------
def pooled(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every (seed, point) of y (seeds × points) as flat (x, y) arrays."""
    y = np.atleast_2d(y)
    return np.broadcast_to(x, y.shape).ravel(), y.ravel()


def quanta_exponent(x: np.ndarray, counts: np.ndarray) -> float:
    """γ of n_learned ∝ x^γ (seed-mean counts; points with 0 learned are dropped)."""
    return -fit_power_law(x, np.nanmean(counts, axis=0)).exponent


def with_context(estimate: Estimate, **context: Any) -> dict[str, Any]:
    """An Estimate's summary record with further keys beside it (theory, paper, …)."""
    return {**dataclasses.asdict(estimate), **context}


def exponent_record(exponent: Exponent, **context: Any) -> dict[str, Any]:
    """A fitted exponent: Estimate (bootstrap), "resampled" and the context keys."""
    return with_context(exponent.estimate(), resampled=exponent.resampled, **context)


def measurement(name: str, x: np.ndarray, y: np.ndarray, counts: np.ndarray, alpha: float) -> dict[str, Any]:
    """Fitted exponent with its bootstrap interval, next to the theory and the paper."""
    exponent = bootstrap_points(*pooled(x, y))
    theory = predicted_exponents(alpha)
    return exponent_record(exponent, theory=theory[name], paper=PAPER.get(name), r2=exponent.fit.r2,
                           x_range=[float(np.min(x)), float(np.max(x))] if len(x) else None,
                           quanta_exponent=quanta_exponent(x, counts),
                           quanta_theory=theory[name.replace("alpha", "quanta")])


def measure_n(ds: xr.Dataset) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(P, final online loss (seeds × widths), subtasks learned at the end (seeds × widths))."""
    final = online(ds).isel(step=-1)
    return (parameter_counts(ds), by_seed(final["test_loss"], "width"),
            by_seed(quanta_learned(final["subtask_loss"]), "width"))


def measure_s(ds: xr.Dataset) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(steps off the plateau, widest online loss (seeds × steps), subtasks learned by then)."""
    run = widest(online(ds)).sel(step=ds["step"][ds["step"] > 0])
    loss = by_seed(run["test_loss"], "step")
    keep = off_plateau(np.nanmean(loss, axis=0))
    learned = by_seed(learned_step(run["subtask_loss"]), "subtask")
    counts = (learned[:, :, None] <= run["step"].values).sum(axis=1)
    return run["step"].values[keep], loss[:, keep], counts[:, keep]


def measure_d(ds: xr.Dataset) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(D off the plateau, widest early-stopped loss (seeds × D), subtasks ever learned)."""
    require("data" in ds.dims, "alpha_D needs a sweep over data")
    run = widest(ds).sel(data=ds["data"][ds["data"] > 0])
    loss = by_seed(run["test_loss"].min("step"), "data")
    keep = off_plateau(np.nanmean(loss, axis=0))
    counts = by_seed(quanta_learned(run["subtask_loss"].min("step")), "data")
    return run["data"].values[keep], loss[:, keep], counts[:, keep]


def measure_beta(ds: xr.Dataset) -> tuple[Exponent, xr.DataArray]:
    """β of S_k ∝ p_k^{−β} over the widest online members: every learned (member, subtask)
    point pooled, with a pairs-bootstrap interval over those points."""
    steps = learned_step(widest(online(ds))["subtask_loss"]).squeeze(drop=True)
    return bootstrap_points(*learned_points(steps, probabilities(ds))), steps


def n_learned(ds: xr.Dataset) -> dict[str, Any]:
    """Subtasks below 0.1 bits at the end, widest online members: seed mean and seed range."""
    counts = quanta_learned(widest(online(ds))["subtask_loss"].isel(step=-1)).values.ravel()
    return with_context(member_range(counts), n_tasks=int(ds.sizes["subtask"]))


def learning_order(steps: xr.DataArray, probs: np.ndarray) -> Estimate:
    """QH2: ρ_s = Spearman(−p_k, S_k) over the subtasks member s learned (S_k finite); the mean over
    members and their range. 1: learned exactly in order of decreasing use frequency."""
    rows = steps.transpose(..., "subtask").values.reshape(-1, len(probs))
    rhos = [stats.spearmanr(-probs[np.isfinite(row)], row[np.isfinite(row)]).statistic
            for row in rows if np.isfinite(row).sum() >= 3]
    return member_range(rhos)


def test_train_overlap(ds: xr.Dataset) -> dict[str, Any]:
    """Frequency-weighted fraction of test inputs that are training inputs: exact for the largest
    D (mean over seeds), expected for the online members (steps · batch samples seen)."""
    spec = spec_of(ds)
    system, alpha, probs = spec.system, run_alpha(ds), probabilities(ds)
    shape = (system.n_tasks, system.n, system.k)
    online_seen = spec.steps * system.batch
    result: dict[str, Any] = {
        "online": float(probs @ expected_online_overlap(probs, system.n, online_seen))}
    if "data" in ds.dims and (ds["data"] > 0).any():
        data = int(ds["data"].max())
        per_task = np.mean([overlap_with_training(*shape, alpha, data, system.test_per_task, int(s))
                            for s in ds["seed"].values], axis=0)
        result |= {"value": float(probs @ per_task), "data": data, "task_1": float(per_task[0])}
    return result


@dataclass(frozen=True)
class QuantaScalingSummary(Summary):
    alpha: dict[str, float]
    alpha_N: dict[str, Any]             # Estimate (bootstrap over points) + theory, paper, r2, …
    alpha_S: dict[str, Any]             # as alpha_N, + theory_beta
    alpha_D: dict[str, Any]             # as alpha_N; {"value": None, "theory"} without a data sweep
    beta: dict[str, Any]                # Estimate (bootstrap over points) + resampled, theory, paper
    n_learned: dict[str, Any]           # Estimate (range over seeds) + n_tasks
    learning_order: Estimate            # Spearman ρ(−p_k, S_k) per seed: range over seeds
    test_train_overlap: dict[str, Any]


LABELS = {"alpha_N": ("α_N", "parameters N"), "alpha_S": ("α_S", "step S (widest, online)"),
          "alpha_D": ("α_D", "training samples D (widest, early-stopped)")}


def measured_points(ds: xr.Dataset) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(x, loss (seeds × points), subtasks learned) of each exponent the run can measure."""
    measured = {"alpha_N": measure_n(ds), "alpha_S": measure_s(ds)}
    if "data" in ds.dims:
        measured["alpha_D"] = measure_d(ds)
    return measured


def summarize(ds: xr.Dataset) -> QuantaScalingSummary:
    """The loss exponents in N, S and D and β, with bootstrap intervals, the theory and the paper."""
    alpha = run_alpha(ds)
    beta, steps = measure_beta(ds)
    exponents = {name: measurement(name, x, y, counts, alpha) for name, (x, y, counts) in measured_points(ds).items()}
    exponents.setdefault("alpha_D", {"value": None, "theory": predicted_exponents(alpha)["alpha_D"]})
    exponents["alpha_S"]["theory_beta"] = alpha / (beta.value * (alpha + 1))
    return QuantaScalingSummary(
        alpha={"value": alpha, "code_alpha": code_alpha(alpha)},
        **exponents,
        beta=exponent_record(beta, theory=1.0, paper=PAPER["beta"]),
        n_learned=n_learned(ds),
        learning_order=learning_order(steps, probabilities(ds)),
        test_train_overlap=test_train_overlap(ds),
    )


def figures(ds: xr.Dataset, summary: QuantaScalingSummary) -> Figures:
    """Loss against N, S and D (log-log) with the fitted exponent, its interval and the theory's."""
    alpha = run_alpha(ds)
    panels = []
    for name, (x, y, _) in measured_points(ds).items():
        record = getattr(summary, name)
        fitted = [np.nan if record[k] is None else record[k] for k in ("value", "lo", "hi")]
        panels.append(ScalingPanel(x, y, LABELS[name][1], LABELS[name][0], fitted[0], (fitted[1], fitted[2]),
                                   predicted_exponents(alpha)[name], fit_power_law(*pooled(x, y)).amplitude))
    title = f"multitask sparse parity, α = {alpha:g} (code alpha {code_alpha(alpha):g})"
    return {"quanta-scaling": scaling_figure(panels, title=title)}


BAND = ("±0.1 around the paper's value: the paper reads it from one run (one seed, one width) "
        "and states no interval")
BOOT = "width hi − lo of the 95 % pairs bootstrap over points of the default run"
CLAIMS = (
    Claim(source="Michaud et al. 2023, Fig A3", text="steps to learn subtask k: S_k ∝ p_k^−β",
          key="beta", paper="β ≈ 0.81 (theory 1)", accept=(0.71, 0.91), partly=(0.6, 1.1),
          band=BAND + "; partly ±0.2 is ours", measured=0.773466, drift=0.115, drift_source=BOOT + " (0.718–0.832)",
          expected="reproduced", reason="0.77, inside " + BAND),
    Claim(source="Michaud et al. 2023, Fig A3 and A4", text="loss vs steps: L ∝ S^−α_S, α = 0.4",
          key="alpha_S", paper="α_S ≈ 0.45, above the theory α/(α+1) = 0.286", accept=(0.35, 0.55),
          band=BAND + " (the former partly band 'anything above 0.286' had no source beyond the sign: removed)",
          measured=0.641018, drift=0.048, drift_source=BOOT + " (0.620–0.668)", expected="not reproduced",
          reason="0.64: above the theory as in the paper, but above 0.45 ± 0.1; learned quanta keep "
                 "improving, which the all-or-nothing theory ignores"),
    Claim(source="Michaud et al. 2023, §2 and Fig 2", text="loss vs parameters: L ∝ N^−α_N",
          key="alpha_N", paper="α_N = α = 0.4 (theory; Fig 2 reference line)",
          accept=(0.3, 0.5), partly=(0.2, 0.6),
          band="±0.1 (partly ±0.2) around the theory's 0.4, the paper's Fig 2 reference line (no fitted value given)",
          measured=0.712024, drift=0.26, drift_source=BOOT + " (0.593–0.853)", expected="not reproduced",
          reason="0.71 [0.59, 0.85]: the interval lies wholly above the band (its centre above the partly "
                 "band too), so it decides; n_learned ∝ N^1.04 as predicted, but the widest networks are "
                 "step-limited (3000 steps) and partly-learned quanta steepen the loss curve"),
    Claim(source="Michaud et al. 2023, §2, Fig 2 and A4", text="loss vs data (early-stopped): L ∝ D^−α_D",
          key="alpha_D", paper="α_D = α/(α+1) = 0.286 (theory); measured above it at small α (Fig A4)",
          accept=(0.186, 0.386), partly=(0.286, None),
          band="±0.1 around the theory's 0.286 (the paper's Fig 2 reference line); partly = above the theory, "
               "the paper's Fig A4 finding (α_D well above α/(α+1) at small α; a sign, the paper gives no value)",
          measured=0.518666, drift=0.158, drift_source=BOOT + " (0.438–0.596)", expected="partly",
          reason="0.52: above the theory, as the paper's Fig A4 finds and attributes to early stopping"),
    Claim(source="Michaud et al. 2023, §2 (n ≈ N/C); references/quanta_scaling.md §1",
          text="subtasks learned grow linearly with parameters: n_learned ∝ N^γ, γ = 1",
          key="alpha_N/quanta_exponent", paper="γ = 1 (theory; no fitted value given)", accept=(0.9, 1.1),
          band="±0.1 around the paper's value, as for the loss exponents of this paper (the paper states no "
               "interval)",
          measured=1.043363, drift=0.02,
          drift_source="γ from either seed of the default run alone: 1.033 and 1.052 (one seed less moves it ≤ 0.01)",
          reason="1.04: the quanta count follows the theory although α_N does not"),
    Claim(source="Michaud et al. 2023, §2 and Fig A4a; references/quanta_scaling.md §1, §5",
          text="subtasks learned grow with data as n_learned ∝ D^γ, γ = 1/(α+1) = 0.71",
          key="alpha_D/quanta_exponent", paper="γ = 1/(α+1) = 0.714, 'holds approximately' (Fig A4a, plotted only)",
          accept=(0.614, 0.814),
          band="±0.1 around the paper's value, as for the loss exponents of this paper (the paper states no "
               "interval)",
          measured=0.738024, drift=0.12,
          drift_source="γ from either seed of the default run alone: 0.682 and 0.798 (one seed less moves it ≤ 0.06)",
          reason="0.74, inside ±0.1 of the theory's 0.71"),
    Claim(source="Michaud et al. 2023, §2 (QH2) and Fig A3 (S_k against p_k); references/quanta_scaling.md §1, §5",
          text="subtasks emerge one by one in order of their use frequency (the Q sequence): the more "
               "frequent a subtask, the earlier it is learned",
          key="learning_order", paper="learned in order of decreasing use frequency (QH2; Fig A3: S_k ∝ "
          "p_k^−0.81, plotted)",
          accept=(0.8, None), partly=(0.5, None),
          band="ours, written after seeing the two seeds (0.88, 0.97): 'in order' read as a Spearman rank "
               "correlation ≥ 0.8 between −p_k and S_k (partly ≥ 0.5; 0 = no order); the paper gives no rank "
               "statistic, and the 100-step logging ties subtasks learned in one interval",
          measured=0.925571, drift=0.09, min_n=2,
          drift_source="the two seeds of the default run give 0.882 and 0.969: one seed less moves it ≤ 0.05",
          reason="0.93: per-subtask emergence follows the frequency order, with ties within a logging "
                 "interval and a few swaps between neighbouring subtasks"),
)
register(Experiment(
    name="quanta-scaling",
    description="Multitask sparse parity (Michaud et al. 2023): loss scaling in N, S, D vs theory",
    presets={"tiny": tiny, "default": default, "paper": paper},
    summarize=summarize,
    figures=figures,
    claims=CLAIMS,
))


# --- quanta-emergence -------------------------------------------------------------------------
def emergence_tiny() -> Spec:
    system = SparseParityMLP(n_tasks=4, n=6, k=2, width=32, batch=256, test_per_task=64)
    return Spec(system, {**system.hparams(), "lr": 1e-2}, seeds=2, steps=300, log_every=50)


def emergence_default() -> Spec:
    """The online members of the `quanta-scaling` default (k = 2 of n = 24 bits, 50 subtasks)."""
    system = SparseParityMLP(n_tasks=50, n=24, k=2, width=128, batch=500, test_per_task=100)
    return Spec(system, {**system.hparams(), "lr": 1e-2}, sweep={"width": (8, 16, 32, 64, 128)},
                seeds=2, steps=3000, log_every=100)


def emergence_paper() -> Spec:
    """P-scaling-15 (α = 0.4, code alpha 1.4): 30 widths 10..500, 2·10⁵ steps, here with 3 seeds."""
    system = SparseParityMLP(n_tasks=500, n=100, k=3, width=500, batch=20000, test_per_task=1000)
    widths = tuple(sorted({int(w) for w in 2 ** np.linspace(np.log2(10), np.log2(500), 30)}))
    return Spec(system, system.hparams(), sweep={"width": widths}, seeds=3, steps=200_000,
                log_every=100)


def seed_mean(rows: np.ndarray) -> np.ndarray:
    """Column means over the finite entries of (members × subtasks); NaN where none is finite."""
    finite = np.isfinite(rows)
    total = np.where(finite, rows, 0).sum(axis=0)
    return np.where(finite.any(axis=0), total / np.maximum(finite.sum(axis=0), 1), np.nan)


@dataclass(frozen=True)
class QuantaEmergenceSummary(Summary):
    alpha: dict[str, float]
    beta: dict[str, Any]                # Estimate (bootstrap over points) + resampled, theory, paper
    probs: list[float]
    learned_step: list[float | None]
    learned_by_width: dict[str, list[Any]]


def online_only(ds: xr.Dataset) -> xr.Dataset:
    """The online members, without a `data` dim (so a `quanta-scaling` run reads as an emergence run)."""
    ds = online(ds)
    return ds.isel(data=0, drop=True) if "data" in ds.dims else ds


def learned_rows(steps: xr.DataArray, n_tasks: int) -> np.ndarray:
    """S_k of every member as rows (members × subtasks)."""
    return steps.transpose(..., "subtask").values.reshape(-1, n_tasks)


def emergence_summarize(ds: xr.Dataset) -> QuantaEmergenceSummary:
    """β from the widest online members, S_k per subtask, subtasks learned per width."""
    ds = online_only(ds)
    alpha, probs = run_alpha(ds), probabilities(ds)
    beta, steps = measure_beta(ds)
    learned = quanta_learned(ds["subtask_loss"].isel(step=-1)).mean("seed").squeeze(drop=True)
    widths = ds["width"].values if "width" in ds.dims else [None]
    return QuantaEmergenceSummary(
        alpha={"value": alpha, "code_alpha": code_alpha(alpha)},
        beta=exponent_record(beta, theory=1.0, paper=PAPER["beta"]),
        probs=probs.tolist(),
        learned_step=seed_mean(learned_rows(steps, len(probs))).tolist(),
        learned_by_width={"width": [None if w is None else int(w) for w in widths],
                          "parameters": parameter_counts(ds).tolist(),
                          "learned": np.atleast_1d(learned.values).tolist()},
    )


def emergence_figures(ds: xr.Dataset, summary: QuantaEmergenceSummary) -> Figures:
    """Emergence heat maps against step (widest, seed 0) and against N (final); S_k against p_k with β."""
    ds = online_only(ds)
    alpha, probs = run_alpha(ds), probabilities(ds)
    first_seed = widest(ds)["subtask_loss"].isel(seed=0).squeeze(drop=True).transpose("subtask", "step")
    drawn = {"quanta-emergence-steps": emergence_heatmap(first_seed.values, ds["step"].values, "step",
                                                         title=f"widest network, seed 0, α = {alpha:g}")}
    if "width" in ds.dims:
        final = ds["subtask_loss"].isel(step=-1)
        by_width = final.mean("seed").squeeze(drop=True).transpose("subtask", "width").values
        drawn["quanta-emergence-width"] = emergence_heatmap(by_width, parameter_counts(ds), "parameters N",
                                                            title="final subtask loss, mean over seeds")
    steps = learned_step(widest(ds)["subtask_loss"]).squeeze(drop=True)
    beta = summary.beta["value"]
    drawn["quanta-learned-steps"] = learned_steps_figure(
        probs, learned_rows(steps, len(probs)), np.nan if beta is None else beta,
        fit_power_law(*learned_points(steps, probs)).amplitude)
    return drawn


register(Experiment(
    name="quanta-emergence",
    description="Multitask sparse parity: per-subtask emergence vs steps and width, S_k vs p_k",
    presets={"tiny": emergence_tiny, "default": emergence_default, "paper": emergence_paper},
    summarize=emergence_summarize,
    figures=emergence_figures,
))
