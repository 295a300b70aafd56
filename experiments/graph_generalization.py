"""`graph-generalization`: does resource pressure drive generalisation on a knowledge graph?

Our protocol (Baek, Li & Tegmark 2024 publish none): the `GraphMLP` link predictor on a seeded
family tree (toymodels/tasks/graphs.py), swept over weight decay × width × seeds; the question is
whether held-out *inferable* true triples are recalled, against the ideal recall (fraction of
held-out true triples that the relation rules derive from training ones).

summary.json keys:
    members              one row per member: its dims (seed, wd, width, …), final train_acc,
                         test_acc, inferable_recall, noninferable_recall, test_specificity, diverged
    ideal_recall         fraction of held-out true triples that are inferable
    by_point             one row per (width, wd, …) point: mean and std over seeds of
                         inferable_recall, noninferable_recall, test_acc (non-diverged members)
    relation_recall      {relation: mean held-out recall over non-diverged members}
    n_members, n_diverged
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from toymodels import Spec
from toymodels.experiments import Experiment, register
from toymodels.graph_mlp import GraphMLP
from toymodels.plots import training_curves
from toymodels.plots.graphs import recall_vs_sweep, relation_heatmap

METRICS = ("train_acc", "test_acc", "inferable_recall", "noninferable_recall", "test_specificity")


def tiny() -> Spec:
    system = GraphMLP(n_generations=3, generation_size=5, d=8, width=8)
    return Spec(system, system.hparams(), sweep={"wd": (0.0, 1.0)}, seeds=1, steps=40,
                log_every=20)


def default() -> Spec:
    system = GraphMLP()
    return Spec(system, system.hparams(), sweep={"width": (8, 32), "wd": (0.0, 0.1, 1.0)},
                seeds=3, steps=1000, log_every=50)


def paper() -> Spec:
    """GPU scale of our protocol (the paper's MLP sizes are not published)."""
    system = GraphMLP(n_generations=6, generation_size=20, d=32)
    return Spec(system, system.hparams(),
                sweep={"width": (16, 64, 256), "wd": (0.0, 0.01, 0.1, 0.3, 1.0, 3.0)},
                seeds=10, steps=10000, log_every=100)


def member_rows(final: xr.Dataset) -> list[dict[str, Any]]:
    """One summary row per member (all member dims stacked)."""
    member_dims = list(final["diverged_step"].dims)
    rows = []
    for index in np.ndindex(*final["diverged_step"].shape):
        at = dict(zip(member_dims, index, strict=True))
        rows.append({
            **{d: final[d].values[i].item() for d, i in at.items()},
            **{m: float(final[m].isel(at)) for m in METRICS},
            "diverged": bool(final["diverged_step"].isel(at) >= 0),
        })
    return rows


def point_rows(final: xr.Dataset) -> list[dict[str, Any]]:
    """Mean and std over seeds of the headline recalls at every swept point."""
    healthy = final.where(final["diverged_step"] < 0)
    means, stds = healthy.mean("seed"), healthy.std("seed")
    point_dims = [d for d in final["diverged_step"].dims if d != "seed"]
    rows = []
    for index in np.ndindex(*(final.sizes[d] for d in point_dims)):
        at = dict(zip(point_dims, index, strict=True))
        row = {d: final[d].values[i].item() for d, i in at.items()}
        for m in ("inferable_recall", "noninferable_recall", "test_acc"):
            row[f"{m}_mean"] = float(means[m].isel(at))
            row[f"{m}_std"] = float(stds[m].isel(at))
        rows.append(row)
    return rows


def report(ds: xr.Dataset, out: Path) -> dict[str, Any]:
    """Curves, recall vs weight decay per width, per-relation recall; the summary of the same."""
    final = ds.isel(step=-1)
    point_dims = [d for d in ds["diverged_step"].dims if d != "seed"]
    x = "wd" if "wd" in point_dims else (point_dims[-1] if point_dims else None)
    hue = next((d for d in point_dims if d != x), None)
    training_curves(ds, hue=x).savefig(out / "curves.png", dpi=120)
    healthy = final.where(final["diverged_step"] < 0)
    if x:
        recall_vs_sweep(final, x, hue).savefig(out / "recall.png", dpi=120)
        by_x = healthy["relation_recall"].mean([d for d in healthy["diverged_step"].dims if d != x])
        relation_heatmap(by_x, x).savefig(out / "relations.png", dpi=120)
    rows = member_rows(final)
    relation_mean = healthy["relation_recall"].mean([d for d in healthy["relation_recall"].dims
                                                     if d != "relation"])
    return {
        "members": rows,
        "n_members": len(rows),
        "n_diverged": sum(r["diverged"] for r in rows),
        "ideal_recall": float(final["ideal_recall"].mean()),
        "by_point": point_rows(final),
        "relation_recall": {str(r): float(relation_mean.sel(relation=r))
                            for r in relation_mean["relation"].values},
    }


register(Experiment(
    name="graph-generalization",
    description="Family-tree link prediction (our protocol after Baek et al. 2024): recall of "
                "inferable held-out edges vs weight decay × width",
    presets={"tiny": tiny, "default": default, "paper": paper},
    report=report,
))
