"""`circle-survival`: which Fourier circles of the embedding-MLP survive, vs embedding dimension d.

The embedding-MLP of Ding et al. (2024) (`toymodels.ModularMLP`) is swept over the embedding
dimension d (a static axis: one compiled program per d, merged by the engine) × weight decay ×
seeds. A frequency k survives when it is a circle of the final embedding (`theory.circles`).
Fitness of a frequency (reference a.2): its initial signal S_k(0) — reported relative to the
member's rms_{j≥1} S_j(0), so that members of different d can be pooled — and its early gradient
g_k = [S_k(4) − S_k(3)] / S_k(0). The early snapshots come from a second, 4-step engine run of the
same members logged every step (same seeds ⇒ the same first steps), stored in `<out>/early/`.

summary.json keys:
    circles_per_d        {d: {mean, std, min, max, n}} circle counts over seeds × wd (non-diverged)
    circles_per_d_wd     {d: {wd: mean circles}}
    survival             {survivors, casualties: {n, init_signal_mean (relative S_k(0)),
                          early_gradient_mean},
                          auc_init_signal, auc_early_gradient}: AUC = P(a survivor's value > a
                          casualty's), 0.5 = no information
    init_signal_expected √(p·d) per d (E[S_k(0)²] = p·d·init_scale² for k ≥ 1)
    init_signal_measured mean S_k(0) over k ≥ 1 and members, per d
    members              one row per member (as in `modular-addition`)
    n_members, n_diverged
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from toymodels import ModularMLP, Spec, engine, load
from toymodels.experiments import Experiment, register
from toymodels.experiments.modular_addition import member_rows
from toymodels.plots import signal_trajectories, sweep_scatter
from toymodels.plots.progress import survival_scatter
from toymodels.theory.circles import circles

EARLY = "early"
EARLY_STEPS = 4  # g_k uses S_k(3) and S_k(4)


def tiny() -> Spec:
    system = ModularMLP(p=23, d=8, width=32)
    return Spec(
        system,
        system.hparams(),
        sweep={"d": (4, 16), "wd": (0.5,)},
        seeds=2,
        steps=200,
        log_every=50,
    )


def default() -> Spec:
    system = ModularMLP(p=59, width=100)
    return Spec(
        system,
        system.hparams(),
        sweep={"d": (4, 8, 16, 32, 64, 128), "wd": (0.5,)},
        seeds=2,
        steps=1200,
        log_every=50,
    )


def paper() -> Spec:
    system = ModularMLP(precision="float64")
    return Spec(
        system,
        system.hparams(),
        sweep={"d": (16, 32, 48, 64, 80, 96, 112, 128), "wd": (0.1, 0.5, 1.0)},
        seeds=50,
        steps=30000,
        log_every=100,
    )


def early_spec(spec: Spec) -> Spec:
    """The same members for `EARLY_STEPS` steps, observed after every step."""
    return spec.set("steps", EARLY_STEPS).set("log_every", 1)


def train(spec: Spec, out: str | Path | None, **options: Any) -> xr.Dataset:
    """The sweep (engine run in `out`), then its first steps logged every step (in `out/early`)."""
    ds = engine.run(spec, out, **options)
    metadata = {**(options.pop("metadata", None) or {}), "part": EARLY}
    engine.run(
        early_spec(spec), None if out is None else Path(out) / EARLY, metadata=metadata, **options
    )
    return ds


def auc(positive: np.ndarray, negative: np.ndarray) -> float:
    """P(x > y) + ½ P(x = y) for x from `positive`, y from `negative` (Mann–Whitney AUC)."""
    if len(positive) == 0 or len(negative) == 0:
        return float("nan")
    diff = positive[:, None] - negative[None, :]
    return float(np.mean(diff > 0) + 0.5 * np.mean(diff == 0))


def fitness(early: xr.Dataset, alive: xr.DataArray, healthy: xr.DataArray) -> dict[str, np.ndarray]:
    """Flat arrays over (member, k ≥ 1) of non-diverged members: relative initial signal
    S_k(0) / rms_{j≥1} S_j(0) (comparable across d, since E[S_k(0)²] = p·d), g_k and survived."""
    signal = early["signal"].sel(freq=early["freq"] >= 1)
    init = signal.sel(step=0)
    relative = init / np.sqrt((init**2).mean("freq"))
    gradient = (signal.sel(step=EARLY_STEPS) - signal.sel(step=EARLY_STEPS - 1)) / init
    keep = healthy.broadcast_like(init).transpose(*init.dims)
    return {
        "init_signal": relative.transpose(*init.dims).values[keep.values],
        "gradient": gradient.transpose(*init.dims).values[keep.values],
        "survived": alive.sel(freq=init["freq"]).transpose(*init.dims).values[keep.values],
    }


def survival_summary(fit: dict[str, np.ndarray]) -> dict[str, Any]:
    """Means of relative S_k(0) and of g_k for survivors and casualties, and their AUCs."""
    groups = {"survivors": fit["survived"], "casualties": ~fit["survived"]}
    return {
        **{
            name: {
                "n": int(mask.sum()),
                "init_signal_mean": float(fit["init_signal"][mask].mean()) if mask.any() else None,
                "early_gradient_mean": float(fit["gradient"][mask].mean()) if mask.any() else None,
            }
            for name, mask in groups.items()
        },
        "auc_init_signal": auc(
            fit["init_signal"][fit["survived"]], fit["init_signal"][~fit["survived"]]
        ),
        "auc_early_gradient": auc(
            fit["gradient"][fit["survived"]], fit["gradient"][~fit["survived"]]
        ),
    }


def count_stats(counts: xr.DataArray) -> dict[str, float]:
    values = counts.values[np.isfinite(counts.values)]
    if len(values) == 0:
        return {"mean": None, "std": None, "min": None, "max": None, "n": 0}
    return {
        "mean": float(values.mean()),
        "std": float(values.std()),
        "min": float(values.min()),
        "max": float(values.max()),
        "n": int(len(values)),
    }


def report(ds: xr.Dataset, out: Path) -> dict[str, Any]:
    """Circles vs d, S_k(t) of one member per d extreme, survivor fitness; summary of the same."""
    static = json.loads(ds.attrs["config"])["spec"]
    p, init_scale = static["static"]["p"], static["hparams"]["init_scale"]
    if "d" not in ds.dims:
        ds = ds.expand_dims(d=[static["static"]["d"]])
    alive = circles(ds["signal"].isel(step=-1), p)
    healthy = ds["diverged_step"] < 0
    counts = alive.sum("freq").where(healthy)
    sweep_scatter(counts, "d", "surviving circles").savefig(out / "circles_vs_d.png", dpi=120)
    first = {dim: 0 for dim in ds["diverged_step"].dims if dim != "d"}
    member = ", ".join(f"{dim}={ds[dim].values[0]:g}" for dim in first)
    for name, d in (("smallest", ds["d"].values[0]), ("largest", ds["d"].values[-1])):
        figure = signal_trajectories(
            ds["signal"].sel(d=d).isel(first),
            alive.sel(d=d).isel(first),
            title=f"S_k(t), d={d}, {member}",
        )
        figure.savefig(out / f"signal_d_{name}.png", dpi=120)
    summary: dict[str, Any] = {
        "circles_per_d": {str(d): count_stats(counts.sel(d=d)) for d in ds["d"].values},
        "circles_per_d_wd": {
            str(d): {f"{wd:g}": float(counts.sel(d=d, wd=wd).mean()) for wd in ds["wd"].values}
            for d in ds["d"].values
        }
        if "wd" in ds.dims
        else {},
        "init_signal_expected": {
            str(d): float(np.sqrt(p * d) * init_scale) for d in ds["d"].values
        },
        "init_signal_measured": {
            str(d): float(ds["signal"].sel(d=d, step=0).isel(freq=slice(1, None)).mean())
            for d in ds["d"].values
        },
    }
    early_dir = out / EARLY
    if (early_dir / "results.zarr").exists():
        early = load(early_dir)
        if "d" not in early.dims:
            early = early.expand_dims(d=ds["d"].values)
        fit = fitness(early, alive, healthy)
        survival_scatter(fit["init_signal"], fit["gradient"], fit["survived"]).savefig(
            out / "survival_fitness.png", dpi=120
        )
        summary["survival"] = survival_summary(fit)
    rows = member_rows(ds, alive)
    return {
        **summary,
        "members": rows,
        "n_members": len(rows),
        "n_diverged": sum(r["diverged"] for r in rows),
    }


register(
    Experiment(
        name="circle-survival",
        description="Embedding-MLP vs embedding dimension d (Ding et al. 2024): surviving circles",
        presets={"tiny": tiny, "default": default, "paper": paper},
        report=report,
        train=train,
    )
)
