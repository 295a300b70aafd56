"""`graph-stitching`: are graph MLPs of different sizes and seeds stitchable through an affine map?

Our protocol (Baek, Li & Tegmark 2024 publish none; theory/stitching.py has the equations): train
`GraphMLP` members over width × seeds with `record_params=True`, then stitch the first hidden
layer of every trained member A onto the last part of every trained member B (ridge and
task-loss affine maps, fitted on the training triples), and compare with linear CKA. Control:
the *untrained* (step-0) network of seed 0 of each point as bottom — a low penalty is evidence of
shared representations only if this control stitches worse.

summary.json keys:
    members               label of each trained member ("width=8 seed=0", …), in matrix order
    own_acc               each member's own balanced test accuracy
    ridge_acc, task_acc   stitched balanced test accuracy [bottom][top], trained bottoms
    ridge_r2, cka         activation-space R² of the ridge map, linear CKA [bottom][top]
    control_ridge_acc, control_task_acc   [control bottom][top], untrained bottoms
    control_members       labels of the control bottoms
    penalty               {ridge|task: {self|same_size|cross_size|control: mean penalty}},
                          penalty = own_acc[top] − stitched accuracy (positive = worse than top)
    cka_mean              {self|same_size|cross_size: mean CKA}
    cka_vs_acc_corr       {ridge|task: Pearson r of CKA vs stitched accuracy over A ≠ B pairs}
    n_members, n_diverged
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from toymodels import Spec, engine
from toymodels.experiments import Experiment, register
from toymodels.graph_mlp import GraphMLP
from toymodels.plots import training_curves
from toymodels.plots.graphs import similarity_scatter, stitch_heatmaps
from toymodels.spec import require
from toymodels.tasks.graphs import family_truth, graph_split
from toymodels.theory.stitching import activations, cka_matrix, member_params, stitch


def tiny() -> Spec:
    system = GraphMLP(n_generations=3, generation_size=5, d=8, width=8, record_params=True)
    return Spec(system, {**system.hparams(), "wd": 1.0}, seeds=3, steps=40, log_every=40)


def default() -> Spec:
    system = GraphMLP(record_params=True)
    return Spec(system, {**system.hparams(), "wd": 1.0}, sweep={"width": (8, 16, 32)}, seeds=3,
                steps=1000, log_every=500)


def paper() -> Spec:
    """GPU scale of our protocol (the paper's sizes, 10² to 10⁹ parameters, are not published)."""
    system = GraphMLP(n_generations=6, generation_size=20, d=32, record_params=True)
    return Spec(system, {**system.hparams(), "wd": 1.0}, sweep={"width": (16, 64, 256)},
                seeds=10, steps=10000, log_every=1000)


def train(spec: Spec, out: Path | None = None, **options: Any) -> xr.Dataset:
    """engine.run, after checking that the parameters will be recorded (the report needs them)."""
    require(all(system.record_params for _, system in spec.systems()),
            "graph-stitching needs record_params=true (the report stitches the trained weights)")
    return engine.run(spec, out, **options)


def shared_split(config: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, str]:
    """(truth, train, activation) of the run: the graph of its `graph_seed` and the split of the
    smallest train fraction it uses (nested splits: those triples are training for every member)."""
    spec = config["spec"]
    static, hparams = spec["static"], spec["hparams"]
    require(not any(k in spec["sweep"] for k in ("n_generations", "generation_size", "graph_seed",
                                                 "d", "activation")),
            "graph-stitching cannot stitch across different graphs, embedding sizes or activations")
    fraction = min(spec["sweep"].get("train_fraction", [hparams["train_fraction"]]))
    truth = family_truth(static["n_generations"], static["generation_size"], static["graph_seed"])
    train, _ = graph_split(truth, jax.random.PRNGKey(static["graph_seed"]), jnp.float32(fraction))
    return truth, np.asarray(train), static["activation"]


def label(member: dict[str, Any]) -> str:
    return " ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in member.items())


def pair_kinds(members: list[dict[str, Any]]) -> np.ndarray:
    """(M, M) array of "self", "same_size" (same point, other seed) or "cross_size"."""
    points = [tuple((k, v) for k, v in m.items() if k != "seed") for m in members]
    return np.array([["self" if i == j else "same_size" if points[i] == points[j] else "cross_size"
                      for j in range(len(members))] for i in range(len(members))])


def report(ds: xr.Dataset, out: Path) -> dict[str, Any]:
    """Stitch every ordered pair of trained members (and the untrained controls) and plot it."""
    truth, train_mask, activation = shared_split(json.loads(ds.attrs["config"]))
    params, members = member_params(ds, step=-1)
    initial, _ = member_params(ds, step=0)
    control_index = [i for i, m in enumerate(members) if m["seed"] == 0]
    controls = {k: v[control_index] for k, v in initial.items()}
    bottoms = {k: np.concatenate([params[k], controls[k]]) for k in params}
    result = stitch(bottoms, params, truth, train_mask, activation=activation)
    m = len(members)
    cka = np.asarray(cka_matrix(activations(params, activation)))
    kinds = pair_kinds(members)
    labels = [label(x) for x in members]
    control_labels = [f"untrained {labels[i]}" for i in control_index]

    penalty = {}
    for method, acc in (("ridge", result.ridge_acc), ("task", result.task_acc)):
        pen = result.own_acc[None, :] - acc
        penalty[method] = {k: float(pen[:m][kinds == k].mean()) if (kinds == k).any() else None
                           for k in ("self", "same_size", "cross_size")}
        penalty[method]["control"] = float(pen[m:].mean())
    off = kinds != "self"
    corr = {method: float(np.corrcoef(cka[off], acc[:m][off])[0, 1]) if off.sum() > 2 else None
            for method, acc in (("ridge", result.ridge_acc), ("task", result.task_acc))}

    hue = next((d for d in ds["diverged_step"].dims if d != "seed"), None)
    curves = ds[[v for v in ds.data_vars if not str(v).startswith("param_")]]
    training_curves(curves, hue=hue).savefig(out / "curves.png", dpi=120)
    stitch_heatmaps({"ridge stitch acc": result.ridge_acc, "task-loss stitch acc": result.task_acc},
                    labels + control_labels, labels,
                    limits={"ridge stitch acc": (0.5, 1), "task-loss stitch acc": (0.5, 1)}
                    ).savefig(out / "stitching.png", dpi=120)
    stitch_heatmaps({"linear CKA": cka}, labels, labels, limits={"linear CKA": (0, 1)}
                    ).savefig(out / "cka.png", dpi=120)
    similarity_scatter(cka[off], {"ridge": result.ridge_acc[:m][off],
                                  "task loss": result.task_acc[:m][off]}
                       ).savefig(out / "similarity.png", dpi=120)
    return {
        "members": labels,
        "n_members": m,
        "n_diverged": int((ds["diverged_step"] >= 0).sum()),
        "own_acc": result.own_acc.tolist(),
        "ridge_acc": result.ridge_acc[:m].tolist(),
        "task_acc": result.task_acc[:m].tolist(),
        "ridge_r2": result.ridge_r2[:m].tolist(),
        "cka": cka.tolist(),
        "control_members": control_labels,
        "control_ridge_acc": result.ridge_acc[m:].tolist(),
        "control_task_acc": result.task_acc[m:].tolist(),
        "penalty": penalty,
        "cka_mean": {k: float(cka[kinds == k].mean()) if (kinds == k).any() else None
                     for k in ("self", "same_size", "cross_size")},
        "cka_vs_acc_corr": corr,
    }


register(Experiment(
    name="graph-stitching",
    description="Stitching graph MLPs across widths and seeds with affine maps (our protocol "
                "after Baek et al. 2024): stitching matrix, CKA vs stitched accuracy",
    presets={"tiny": tiny, "default": default, "paper": paper},
    report=report,
    train=train,
))
