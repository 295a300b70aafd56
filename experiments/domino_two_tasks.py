"""`domino-two-tasks`: two tasks with frequencies (p1, 1 − p1) in the Geometry model (paper Fig4).

Time to skill t_k = first step with s_k > 0.9; the "Domino factor" t2/t1 vs p1/p2 for SGD, SignGD
and Adam. Settings (paper, `scripts/Fig4_geometry_2task.ipynb`): d = 1000, orthonormal vectors,
mimic gradient, sampled batches of 128, SignGD and Adam lr 3e-4, SGD lr 3e-2. The optimizer is a
static axis; each optimizer gets lr × LR_FACTOR[optimizer] (SGD: ×100), so `--set lr=…` scales
all three together.

summary.json keys:
    t2_over_t1[optimizer][p1]        mean over seeds of t2/t1 (null if a skill never reached 0.9)
    t2_over_t1_std[optimizer][p1]    its standard deviation over seeds
    t1[optimizer][p1], t2[optimizer][p1]   mean crossing steps
    theory_resource_N0_0[p1]         Resource model, N0 = 0: [1+s−(1−s)^{p1/p2}]/[1+s−(1−s)^{p2/p1}]
    theory_sgd[p1]                   SGD closed form ln(1−ηp1)/ln(1−ηp2) (→ p1/p2 for ηp ≪ 1)
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from toymodels import engine, store
from toymodels.experiments import Experiment, register
from toymodels.plots.skills import ratio_plot, skill_grid
from toymodels.skills import Geometry
from toymodels.spec import Spec, require
from toymodels.theory.skills import crossing_step, sgd_time_to_skill, two_task_factor

LR_FACTOR = {"sgd": 100.0}
THRESHOLD = 0.9
OPTIMIZERS = ("sgd", "signgd", "adam")


def system(d: int) -> Geometry:
    return Geometry(d=d, n=2, vectors="ortho", frequencies="two", loss="mse", gradient="mimic",
                    batch=128, optimizer="signgd")


def tiny() -> Spec:
    hparams = {**system(20).hparams(), "lr": 3e-3}
    return Spec(system(20), hparams, sweep={"optimizer": OPTIMIZERS, "p1": (0.5, 0.9)}, seeds=1,
                steps=800, log_every=10)


def default() -> Spec:
    return Spec(system(1000), system(1000).hparams(),
                sweep={"optimizer": OPTIMIZERS, "p1": (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.97, 0.99)},
                seeds=3, steps=8000, log_every=10)


def paper() -> Spec:
    p1 = tuple(float(x) for x in np.round(np.linspace(0.5, 0.99, 50), 4))
    return Spec(system(1000), system(1000).hparams(), sweep={"optimizer": OPTIMIZERS, "p1": p1},
                seeds=10, steps=8000, log_every=1)


# --- runs made of several engine runs (shared with the other skill experiments) -----------------
def train_parts(parts: Mapping[str, Spec], spec: Spec, out: Path | None, *, quiet: bool,
                checkpoint_seconds: float, metadata: Mapping[str, Any] | None,
                combine) -> xr.Dataset:
    """engine.run each part (into out/parts/<name>, each resumable), then `combine` and store.

    `combine(results: dict[str, Dataset]) -> Dataset`; the combined Dataset is what `load(out)`
    returns. `out` is claimed for `spec` first, so a different run there is refused.
    """
    config = {**(metadata or {}), "spec": spec.to_dict()}
    if out is not None:
        out = Path(out)
        store.claim_run_folder(out, config)
        if store.is_complete(out / store.RESULTS):
            return store.load(out)
    results = {
        name: engine.run(part, None if out is None else out / "parts" / name, quiet=quiet,
                         checkpoint_seconds=checkpoint_seconds,
                         metadata={**(metadata or {}), "part": name})
        for name, part in parts.items()
    }
    ds = combine(results)
    timings = {k: json.loads(v.attrs["timings"]) for k, v in results.items()}
    ds.attrs = {"config": json.dumps(config, sort_keys=True),
                "toymodels_version": store.package_version(), "git_commit": store.git_commit(),
                "timings": json.dumps(timings)}
    if out is not None:
        store.create_store(out / store.RESULTS, ds)
        store.finish_store(out / store.RESULTS, {}, {})
    ds.attrs["complete"] = True
    return ds


def optimizer_parts(spec: Spec) -> dict[str, Spec]:
    """One spec per optimizer of the sweep, with lr × LR_FACTOR[optimizer]."""
    optimizers = spec.sweep.get("optimizer", (spec.system.optimizer,))
    rest = {k: v for k, v in spec.sweep.items() if k != "optimizer"}
    return {
        name: dataclasses.replace(spec, sweep=rest).set("optimizer", name)
        .set("lr", spec.hparams["lr"] * LR_FACTOR.get(name, 1.0))
        for name in optimizers
    }


def train(spec: Spec, out: Path | None = None, **options: Any) -> xr.Dataset:
    """Run every optimizer (its own compiled program and lr) and stack them along `optimizer`."""
    spec.validate()
    require(spec.system.frequencies == "two", "domino-two-tasks needs frequencies='two'")
    parts = optimizer_parts(spec)

    def combine(results: dict[str, xr.Dataset]) -> xr.Dataset:
        return xr.concat([ds.expand_dims(optimizer=[name]) for name, ds in results.items()],
                         dim="optimizer", combine_attrs="drop")

    return train_parts(parts, spec, out, combine=combine, **options)


# --- report -------------------------------------------------------------------------------------
def by_optimizer_p1(values: xr.DataArray) -> dict[str, dict[str, float | None]]:
    """{optimizer: {p1: value}} with NaN → None."""
    p1 = values["p1"].values
    return {str(o): {f"{p:g}": (None if np.isnan(v) else float(v))
                     for p, v in zip(p1, values.sel(optimizer=o).values, strict=True)}
            for o in values["optimizer"].values}


def report(ds: xr.Dataset, out: Path) -> dict[str, Any]:
    """Crossing steps, t2/t1 per optimizer and p1; skill grid and ratio figures."""
    spec = json.loads(ds.attrs["config"])["spec"]
    crossing = crossing_step(ds["skill"], THRESHOLD)
    t1, t2 = crossing.sel(task=1), crossing.sel(task=2)
    ratio = t2 / t1
    p1 = ds["p1"].values
    lr_sgd = spec["hparams"]["lr"] * LR_FACTOR["sgd"]
    theory_sgd = sgd_time_to_skill(1 - p1, lr_sgd) / sgd_time_to_skill(p1, lr_sgd)
    shown = [p for p in p1 if np.isclose(p, [0.5, 0.9, 0.95]).any()] or list(p1)
    member = {d: 0 for d in ds["diverged_step"].dims if d not in ("optimizer", "p1")}
    early = ds["skill"].isel(member).sel(p1=shown, step=slice(0, 1000))
    fig = skill_grid(early, "optimizer", "p1",
                     title="Two tasks: skills vs step (seed 0)")
    fig.savefig(out / "domino-skills.png", dpi=110)
    x = xr.DataArray(p1 / (1 - p1), dims="p1")
    grid = np.linspace(p1.min(), p1.max(), 200)
    lines = {"p1/p2": (grid / (1 - grid), grid / (1 - grid)),
             "Resource N0=0": (grid / (1 - grid), two_task_factor(grid, THRESHOLD)),
             "2": (grid / (1 - grid), np.full_like(grid, 2.0))}
    ratio_plot(ratio.transpose("optimizer", "p1", ...), x, lines, "p1/p2",
               "t2/t1 (threshold 0.9)").savefig(out / "domino-ratio.png", dpi=110)
    seeds = [d for d in ratio.dims if d not in ("optimizer", "p1")]
    return {
        "t2_over_t1": by_optimizer_p1(ratio.mean(seeds)),
        "t2_over_t1_std": by_optimizer_p1(ratio.std(seeds)),
        "t1": by_optimizer_p1(t1.mean(seeds)),
        "t2": by_optimizer_p1(t2.mean(seeds)),
        "theory_resource_N0_0": {f"{p:g}": float(two_task_factor(p, THRESHOLD)) for p in p1},
        "theory_sgd": {f"{p:g}": float(v) for p, v in zip(p1, theory_sgd, strict=True)},
    }


register(Experiment(
    name="domino-two-tasks",
    description="Geometry model, two tasks (Liu et al. 2025 Fig4): t2/t1 vs p1/p2, SGD/SignGD/Adam",
    presets={"tiny": tiny, "default": default, "paper": paper},
    report=report,
    train=train,
))
