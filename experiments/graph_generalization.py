"""`graph-generalization`: does resource pressure drive generalisation on a knowledge graph?

Our protocol (Baek, Li & Tegmark 2024 publish none): the `GraphMLP` link predictor on a seeded
family tree (toymodels/tasks/graphs.py), swept over weight decay × width × seeds. Two recalls,
each beside its own ceiling:
    heldout_recall    recall on all held-out true triples; ceiling = ideal_recall, the fraction of
                      them that the relation rules derive from training triples (a rule-follower)
    inferable_recall  recall on the inferable held-out true triples; ceiling 1
(noninferable_recall, on the others, should stay ≈ 0 if the network generalises through the rules.)

summary.json keys:
    members              one row per member: its dims, final train_acc, test_acc, heldout_recall,
                         inferable_recall, noninferable_recall, test_specificity, diverged
    ideal_recall         fraction of held-out true triples that are inferable
    by_point             one row per (width, wd, …) point: mean and std over seeds of
                         heldout_recall, inferable_recall, noninferable_recall, test_acc (non-diverged)
    weight_decay         {"wd": [smallest, largest], "<recall>": Estimate: mean over non-diverged members
                         at the largest wd − at the smallest, 95 % bootstrap over members} (null without wd)
    strongest_wd         {"<recall>": Estimate: mean at the largest wd, 95 % bootstrap over members,
                          "heldout_over_ideal": Estimate of heldout_recall / ideal_recall} (null without wd)
    relation_recall      {relation: mean held-out recall over non-diverged members}
    n_members, n_diverged
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from toymodels import Spec
from toymodels.experiments import Claim, Experiment, Figures, Summary, register
from toymodels.experiments.common import member_dims, member_rows, sweep_dims
from toymodels.graph_mlp import GraphMLP
from toymodels.plots import training_curves
from toymodels.plots.graphs import recall_vs_sweep, relation_heatmap
from toymodels.theory.estimate import Estimate, bootstrap, bootstrap_difference

METRICS = ("train_acc", "test_acc", "heldout_recall", "inferable_recall", "noninferable_recall",
           "test_specificity")
RECALLS = ("heldout_recall", "inferable_recall", "noninferable_recall")


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


def point_rows(final: xr.Dataset) -> list[dict[str, Any]]:
    """Mean and std over seeds of the headline recalls at every swept point."""
    healthy = final.where(final["diverged_step"] < 0)
    means, stds = healthy.mean("seed"), healthy.std("seed")
    dims = sweep_dims(final)
    rows = []
    for index in np.ndindex(*(final.sizes[d] for d in dims)):
        at = dict(zip(dims, index, strict=True))
        row = {d: final[d].values[i].item() for d, i in at.items()}
        for m in (*RECALLS, "test_acc"):
            row[f"{m}_mean"] = float(means[m].isel(at))
            row[f"{m}_std"] = float(stds[m].isel(at))
        rows.append(row)
    return rows


def weight_decay_effect(final: xr.Dataset, ideal: float) -> tuple[dict[str, Any], dict[str, Any]]:
    """(largest − smallest wd, values at the largest wd) of each recall, over non-diverged members."""
    healthy = final.where(final["diverged_step"] < 0)
    low, high = (healthy.sel(wd=w) for w in (final["wd"].min(), final["wd"].max()))
    effect: dict[str, Any] = {"wd": [float(final["wd"].min()), float(final["wd"].max())]}
    strongest: dict[str, Any] = {}
    for name in RECALLS:
        effect[name] = bootstrap_difference(high[name].values.ravel(), low[name].values.ravel())
        strongest[name] = bootstrap(high[name].values.ravel())
    ratio = bootstrap(high["heldout_recall"].values.ravel() / ideal)
    strongest["heldout_over_ideal"] = ratio
    return effect, strongest


@dataclass(frozen=True)
class GraphGeneralizationSummary(Summary):
    members: list[dict[str, Any]]
    n_members: int
    n_diverged: int
    ideal_recall: float
    by_point: list[dict[str, Any]]
    relation_recall: dict[str, float]
    weight_decay: dict[str, Any] | None     # {"wd": [lo, hi], recall: Estimate (bootstrap difference)}
    strongest_wd: dict[str, Estimate] | None  # {recall | "heldout_over_ideal": Estimate (bootstrap)}


def summarize(ds: xr.Dataset) -> GraphGeneralizationSummary:
    """Final recalls per member and per point, per relation, and their change with weight decay."""
    final = ds.isel(step=-1)
    healthy = final.where(final["diverged_step"] < 0)
    rows = member_rows(final, {m: final[m] for m in METRICS})
    relation_mean = healthy["relation_recall"].mean([d for d in healthy["relation_recall"].dims
                                                     if d != "relation"])
    ideal = float(final["ideal_recall"].mean())
    effect, strongest = weight_decay_effect(final, ideal) if "wd" in ds.dims else (None, None)
    return GraphGeneralizationSummary(
        members=rows,
        n_members=len(rows),
        n_diverged=sum(r["diverged"] for r in rows),
        ideal_recall=ideal,
        by_point=point_rows(final),
        relation_recall={str(r): float(relation_mean.sel(relation=r))
                         for r in relation_mean["relation"].values},
        weight_decay=effect,
        strongest_wd=strongest,
    )


def figures(ds: xr.Dataset, summary: GraphGeneralizationSummary) -> Figures:
    """Curves; recalls vs weight decay (or the last swept axis) per width; per-relation recall."""
    final = ds.isel(step=-1)
    point_dims = list(sweep_dims(ds))
    x = "wd" if "wd" in point_dims else (point_dims[-1] if point_dims else None)
    hue = next((d for d in point_dims if d != x), None)
    drawn = {"curves": training_curves(ds, hue=x)}
    if x:
        healthy = final.where(final["diverged_step"] < 0)
        by_x = healthy["relation_recall"].mean([d for d in member_dims(ds) if d != x])
        drawn["recall"] = recall_vs_sweep(final, x, hue)
        drawn["relations"] = relation_heatmap(by_x, x)
    return drawn


OURS = "Baek et al. 2024 (claim; our protocol)"
register(Experiment(
    name="graph-generalization",
    description="Family-tree link prediction (our protocol after Baek et al. 2024): recall of "
                "held-out edges vs weight decay × width, each recall beside its ceiling",
    presets={"tiny": tiny, "default": default, "paper": paper},
    summarize=summarize,
    figures=figures,
    claims=(
        Claim(source=OURS, text="starvation (weight decay 0 → 1) raises recall of inferable held-out edges",
              key="weight_decay/inferable_recall", paper="qualitative (no number published)", kind="target",
              accept=(0.1, None), partly=(0.0, None), expected="reproduced",
              band="our own threshold (the paper publishes no number): a rise of ≥ 0.1, about the seed "
                   "spread of inferable recall at one point (std 0.05–0.13 over 3 seeds, by_point)",
              measured=0.2838, drift=0.18, min_n=6,
              drift_source="width of the 95 % bootstrap interval over the 12 members (0.194–0.378)",
              reason="our threshold: a rise of ≥ 0.1 in recall (the seed spread at one wd is ≈ 0.1)"),
        Claim(source=OURS, text="generalisation goes through the relation rules: non-inferable held-out "
              "edges stay unrecalled at strong weight decay", key="strongest_wd/noninferable_recall",
              paper="qualitative (no number published)", kind="target", accept=(None, 0.1),
              expected="reproduced",
              band="our own threshold (the paper publishes no number): ≤ 0.1, well under the inferable "
                   "recall at the same wd (0.83), which a guesser would match",
              measured=0.0278, drift=0.083, min_n=3,
              drift_source="width of the 95 % bootstrap interval over the 6 members at wd 1 (0–0.083): "
                           "one member recalling 1 of its 6 non-inferable edges moves the mean by 0.028",
              reason="our threshold: ≤ 0.1 (a guesser would recall them as often as inferable ones)"),
        Claim(source=OURS, text="at strong weight decay held-out recall reaches the ideal (fraction inferable)",
              key="strongest_wd/heldout_over_ideal", paper="qualitative (no number published)", kind="target",
              accept=(0.9, None), partly=(0.7, None), expected="partly",
              band="our own threshold (the paper publishes no number): 0.9 of the ideal (a rule-follower's "
                   "recall) counts as reaching it, 0.7 as approaching it",
              measured=0.8378, drift=0.11, min_n=3,
              drift_source="width of the 95 % bootstrap interval over the 6 members at wd 1 (0.779–0.892)",
              reason="inferable recall ≈ 0.85 at wd 1, so held-out recall is ≈ 0.85 of its ideal"),
    ),
))
