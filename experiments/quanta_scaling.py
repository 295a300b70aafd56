"""`quanta-scaling`: multitask sparse parity MLPs swept over width (static) × dataset size D
(dynamic), with the loss-scaling exponents of Michaud et al. (2023) measured against the theory.

One run, sweep width × data × seeds. `data` = 0 members train online (fresh samples every step);
`data` = D > 0 members train for the same steps on a fixed set of D samples (multi-epoch).
Measurements (as in the paper's notebooks; losses in bits):
    alpha_N   final mean test loss of the online members vs parameter count P, every width
    alpha_S   mean test loss vs step of the widest online members, from the first logged step with
              seed-mean loss < 0.95 bits to the end
    alpha_D   widest finite-data members, min over steps of the mean test loss (early stopping)
              vs D, from the first D with seed-mean loss < 0.95 bits to the largest
    beta      S_k ∝ p_k^{−β}, S_k = first logged step with subtask loss < 0.1 bits (widest online)

summary.json keys (exactly):
    alpha    {"value": α (paper), "code_alpha": α + 1 (the authors' code's `alpha`)}
    alpha_N, alpha_S, alpha_D
             {"value", "ci" (95 % bootstrap over seeds), "predicted", "r2", "points",
              "quanta_exponent" (n_learned ∝ x^γ, fitted), "quanta_predicted"}
    beta     {"value", "ci", "paper": 0.81, "learned": number of (member, subtask) pairs used}
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from toymodels import Spec
from toymodels.experiments import Experiment, register
from toymodels.plots.scaling import ScalingPanel, scaling_figure
from toymodels.sparse_parity import SparseParityMLP
from toymodels.spec import require
from toymodels.tasks.sparse_parity import code_alpha, task_probabilities
from toymodels.theory.scaling import (
    Exponent,
    bootstrap_power_law,
    fit_learned_steps,
    fit_power_law,
    learned_step,
    predicted_exponents,
    quanta_learned,
)

PLATEAU_BITS = 0.95  # fits start where the loss has left the 1-bit plateau (paper's α_D rule)
PAPER_BETA = 0.81


def tiny() -> Spec:
    system = SparseParityMLP(n_tasks=6, n=8, k=2, width=16, batch=128, test_per_task=64,
                             finite_data=True)
    return Spec(system, {**system.hparams(), "lr": 1e-2},
                sweep={"width": (8, 16), "data": (0.0, 128.0, 512.0)}, seeds=2, steps=60,
                log_every=20)


def default() -> Spec:
    system = SparseParityMLP(n_tasks=20, n=12, k=3, width=128, batch=500, test_per_task=200,
                             finite_data=True)
    return Spec(system, {**system.hparams(), "lr": 3e-3},
                sweep={"width": (16, 32, 64, 128), "data": (0.0, 1000.0, 2500.0, 8000.0)},
                seeds=2, steps=2000, log_every=50)


def paper() -> Spec:
    """Paper §3.2 / P-scaling-15 + D-scaling-6 (α = 0.4, code alpha 1.4), cross product, 3 seeds."""
    system = SparseParityMLP(n_tasks=500, n=100, k=3, width=500, batch=20000, test_per_task=1000,
                             finite_data=True)
    widths = tuple(sorted({int(w) for w in 2 ** np.linspace(np.log2(10), np.log2(500), 30)}))
    data = tuple(float(int(d)) for d in 2 ** np.linspace(np.log2(1e4), np.log2(5e6), 30))
    return Spec(system, system.hparams(), sweep={"width": widths, "data": (0.0, *data)},
                seeds=3, steps=200_000, log_every=100)


# --- reading a run ------------------------------------------------------------------------------
def run_config(ds: xr.Dataset) -> dict[str, Any]:
    """The spec stored with a run: {"static", "hparams", "sweep", …}."""
    return json.loads(ds.attrs["config"])["spec"]


def run_alpha(ds: xr.Dataset) -> float:
    """The run's α (the paper's); sweeping α is not supported by these reports."""
    require("alpha" not in ds.dims, "the quanta reports need one alpha; do not sweep alpha")
    return float(run_config(ds)["hparams"]["alpha"])


def probabilities(ds: xr.Dataset) -> np.ndarray:
    """p_k of the run's subtasks."""
    return np.asarray(task_probabilities(ds.sizes["subtask"], run_alpha(ds)))


def parameter_counts(ds: xr.Dataset) -> np.ndarray:
    """P = width·(n_tasks + n + 3) + 2 for every width of the run."""
    static = run_config(ds)["static"]
    widths = ds["width"].values if "width" in ds.dims else [static["width"]]
    return np.array([SparseParityMLP(**{**static, "width": int(w)}).parameters for w in widths])


def online(ds: xr.Dataset) -> xr.Dataset:
    """The members that trained online (data ≤ 0)."""
    if "data" in ds.dims:
        return ds.sel(data=ds["data"][ds["data"] <= 0])
    require(run_config(ds)["hparams"]["data"] <= 0, "this run has no online members (data > 0)")
    return ds


def widest(ds: xr.Dataset) -> xr.Dataset:
    return ds.isel(width=-1) if "width" in ds.dims else ds


def by_seed(da: xr.DataArray, axis: str) -> np.ndarray:
    """(seeds × points) array of a DataArray with dims seed, `axis` and singleton leftovers."""
    return da.squeeze(drop=True).transpose("seed", axis).values


def off_plateau(curve: np.ndarray) -> np.ndarray:
    """Boolean mask: from the first point with loss < 0.95 bits onwards."""
    below = np.nan_to_num(curve, nan=np.inf) < PLATEAU_BITS
    return np.arange(len(curve)) >= (np.argmax(below) if below.any() else len(curve))


# --- measurements -------------------------------------------------------------------------------
def quanta_exponent(x: np.ndarray, counts: np.ndarray) -> float:
    """γ of n_learned ∝ x^γ (seed-mean counts; points with 0 learned are dropped)."""
    return -fit_power_law(x, np.nanmean(counts, axis=0)).exponent


def measurement(name: str, x: np.ndarray, y: np.ndarray, counts: np.ndarray, alpha: float) -> dict:
    exponent = bootstrap_power_law(x, y)
    predicted = predicted_exponents(alpha)
    return {**exponent.to_dict(), "predicted": predicted[name], "r2": exponent.fit.r2,
            "points": int(len(x)), "quanta_exponent": quanta_exponent(x, counts),
            "quanta_predicted": predicted[name.replace("alpha", "quanta")]}


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
    """β of S_k ∝ p_k^{−β} over the widest online members, with a bootstrap CI over seeds."""
    steps = learned_step(widest(online(ds))["subtask_loss"]).squeeze(drop=True)
    probs = probabilities(ds)
    fit = fit_learned_steps(steps, probs)
    rng = np.random.default_rng(0)
    seeds = steps.sizes.get("seed", 1)
    draws = [fit_learned_steps(steps.isel(seed=rng.integers(0, seeds, seeds)), probs).exponent
             for _ in range(200)] if "seed" in steps.dims else [fit.exponent]
    finite = np.asarray(draws)[np.isfinite(draws)]
    ci = (tuple(float(v) for v in np.percentile(finite, [2.5, 97.5])) if len(finite)
          else (np.nan, np.nan))
    return Exponent(fit.exponent, ci, fit), steps


def panel(name: str, symbol: str, xlabel: str, x: np.ndarray, y: np.ndarray,
          alpha: float) -> ScalingPanel:
    exponent = bootstrap_power_law(x, y)
    return ScalingPanel(x, y, xlabel, symbol, exponent.value, exponent.ci,
                        predicted_exponents(alpha)[name], exponent.fit.amplitude)


def report(ds: xr.Dataset, out: Path) -> dict[str, Any]:
    """Loss vs N, S and D with fitted and predicted exponents; summary of the exponents and β."""
    alpha = run_alpha(ds)
    measured = {"alpha_N": measure_n(ds), "alpha_S": measure_s(ds)}
    if "data" in ds.dims:
        measured["alpha_D"] = measure_d(ds)
    labels = {"alpha_N": ("α_N", "parameters N"), "alpha_S": ("α_S", "step S (widest, online)"),
              "alpha_D": ("α_D", "training samples D (widest, early-stopped)")}
    panels = [panel(name, *labels[name], x, y, alpha) for name, (x, y, _) in measured.items()]
    title = f"multitask sparse parity, α = {alpha:g} (code alpha {code_alpha(alpha):g})"
    scaling_figure(panels, title=title).savefig(out / "quanta-scaling.png", dpi=120)
    beta, steps = measure_beta(ds)
    empty = {"value": None, "ci": [None, None], "predicted": predicted_exponents(alpha)["alpha_D"]}
    return {
        "alpha": {"value": alpha, "code_alpha": code_alpha(alpha)},
        **{name: measurement(name, x, y, counts, alpha)
           for name, (x, y, counts) in measured.items()},
        **({} if "alpha_D" in measured else {"alpha_D": empty}),
        "beta": {**beta.to_dict(), "paper": PAPER_BETA,
                 "learned": int(np.isfinite(steps.values).sum())},
    }


register(Experiment(
    name="quanta-scaling",
    description="Multitask sparse parity (Michaud et al. 2023): loss scaling in N, S, D vs theory",
    presets={"tiny": tiny, "default": default, "paper": paper},
    report=report,
))
