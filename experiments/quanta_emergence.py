"""`quanta-emergence`: per-subtask learning curves of multitask sparse parity (Michaud et al. 2023,
Fig 2 emergence grid and Fig A3): online training swept over width (static) × seeds.

Figures: per-subtask test loss (0–1 bits) vs step (widest network, seed 0) and vs parameters
(final step, mean over seeds); S_k (first logged step with subtask loss < 0.1 bits) vs p_k.

summary.json keys:
    alpha          {"value": α (paper), "code_alpha": α + 1}
    beta           S_k ∝ p_k^{−β}: {"value", "lo", "hi" (95 % pairs bootstrap over the learned
                   (member, subtask) points), "n" (those points), "resampled", "theory": 1,
                   "paper": 0.81}
    probs          p_k of each subtask
    learned_step   S_k per subtask, mean over the seeds that learned it (null if none did)
    learned_by_width  {"width", "parameters", "learned"}: subtasks below 0.1 bits at the end
                   (mean over seeds)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from toymodels import Spec
from toymodels.experiments import Experiment, register
from toymodels.experiments.quanta_scaling import (
    PAPER,
    measure_beta,
    online,
    parameter_counts,
    probabilities,
    run_alpha,
    widest,
)
from toymodels.plots import save_figure
from toymodels.plots.scaling import emergence_heatmap, learned_steps_figure
from toymodels.sparse_parity import SparseParityMLP
from toymodels.tasks.sparse_parity import code_alpha
from toymodels.theory.scaling import quanta_learned


def tiny() -> Spec:
    system = SparseParityMLP(n_tasks=4, n=6, k=2, width=32, batch=256, test_per_task=64)
    return Spec(system, {**system.hparams(), "lr": 1e-2}, seeds=2, steps=300, log_every=50)


def default() -> Spec:
    """The online members of the `quanta-scaling` default (k = 2 of n = 24 bits, 50 subtasks)."""
    system = SparseParityMLP(n_tasks=50, n=24, k=2, width=128, batch=500, test_per_task=100)
    return Spec(system, {**system.hparams(), "lr": 1e-2}, sweep={"width": (8, 16, 32, 64, 128)},
                seeds=2, steps=3000, log_every=100)


def paper() -> Spec:
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


def report(ds: xr.Dataset, out: Path) -> dict[str, Any]:
    """Emergence heat maps vs step and vs N, S_k vs p_k with β; summary of the same.

    Uses the online members only (so it also reads a `quanta-scaling` run)."""
    ds = online(ds)
    if "data" in ds.dims:
        ds = ds.isel(data=0, drop=True)
    alpha, probs = run_alpha(ds), probabilities(ds)
    big = widest(ds)
    first_seed = big["subtask_loss"].isel(seed=0).squeeze(drop=True).transpose("subtask", "step")
    save_figure(emergence_heatmap(first_seed.values, ds["step"].values, "step",
                                  title=f"widest network, seed 0, α = {alpha:g}"),
                out / "quanta-emergence-steps.png")
    final = ds["subtask_loss"].isel(step=-1)
    params = parameter_counts(ds)
    if "width" in ds.dims:
        by_width = final.mean("seed").squeeze(drop=True).transpose("subtask", "width").values
        save_figure(emergence_heatmap(by_width, params, "parameters N",
                                      title="final subtask loss, mean over seeds"),
                    out / "quanta-emergence-width.png")
    beta, steps = measure_beta(ds)
    rows = steps.transpose(..., "subtask").values.reshape(-1, len(probs))
    save_figure(learned_steps_figure(probs, rows, beta.value, beta.fit.amplitude),
                out / "quanta-learned-steps.png")
    learned = quanta_learned(final).mean("seed").squeeze(drop=True)
    widths = ds["width"].values if "width" in ds.dims else [None]
    return {
        "alpha": {"value": alpha, "code_alpha": code_alpha(alpha)},
        "beta": {**beta.to_dict(), "theory": 1.0, "paper": PAPER["beta"]},
        "probs": probs.tolist(),
        "learned_step": seed_mean(rows).tolist(),
        "learned_by_width": {"width": [None if w is None else int(w) for w in widths],
                             "parameters": params.tolist(),
                             "learned": np.atleast_1d(learned.values).tolist()},
    }


register(Experiment(
    name="quanta-emergence",
    description="Multitask sparse parity: per-subtask emergence vs steps and width, S_k vs p_k",
    presets={"tiny": tiny, "default": default, "paper": paper},
    report=report,
))
