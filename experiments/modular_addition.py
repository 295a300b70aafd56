"""`modular-addition`: the embedding-MLP of Ding et al. (2024) on (a + b) mod p, swept over weight decay.

summary.json keys:
    members            one entry per member: seed, swept values, final_train_acc, final_test_acc,
                       circles (count), circle_freqs, diverged
    circles_mean       mean circle count over members (non-diverged)
    final_train_acc_mean, final_test_acc_mean
    n_members, n_diverged
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from toymodels import ModularMLP, Spec
from toymodels.experiments import Experiment, register
from toymodels.plots import signal_trajectories, sweep_scatter, training_curves
from toymodels.theory.circles import circles


def tiny() -> Spec:
    system = ModularMLP(p=23, d=32, width=64)
    return Spec(system, system.hparams(), sweep={"wd": (0.1, 1.0)}, seeds=2, steps=300, log_every=50)


def default() -> Spec:
    system = ModularMLP()
    return Spec(system, system.hparams(), sweep={"wd": (0.1, 0.5, 1.0)}, seeds=3, steps=2000, log_every=50)


def paper() -> Spec:
    system = ModularMLP(precision="float64")
    return Spec(system, system.hparams(), sweep={"wd": (0.1, 0.3, 0.5, 1.0, 1.5)}, seeds=10,
                steps=30000, log_every=100)


def member_rows(ds: xr.Dataset, alive: xr.DataArray) -> list[dict[str, Any]]:
    """One summary row per member (all member dims stacked)."""
    final = ds.isel(step=-1)
    member_dims = list(ds["diverged_step"].dims)
    rows = []
    for index in np.ndindex(*ds["diverged_step"].shape):
        at = dict(zip(member_dims, index, strict=True))
        freqs = [int(k) for k in alive["freq"].values if bool(alive.isel(at).sel(freq=k))]
        rows.append({
            **{d: ds[d].values[i].item() for d, i in at.items()},
            "final_train_acc": float(final["train_acc"].isel(at)),
            "final_test_acc": float(final["test_acc"].isel(at)),
            "circles": len(freqs),
            "circle_freqs": freqs,
            "diverged": bool(ds["diverged_step"].isel(at) >= 0),
        })
    return rows


def report(ds: xr.Dataset, out: Path) -> dict[str, Any]:
    """Curves, S_k trajectories of one member, circles per member; summary of the same."""
    p = json.loads(ds.attrs["config"])["spec"]["static"]["p"]
    alive = circles(ds["signal"].isel(step=-1), p)
    counts = alive.sum("freq").where(ds["diverged_step"] < 0)
    hue = next((d for d in ds["diverged_step"].dims if d != "seed"), None)
    training_curves(ds, hue=hue).savefig(out / "curves.png", dpi=120)
    first = {d: 0 for d in ds["diverged_step"].dims}
    label = ", ".join(f"{d}={ds[d].values[0]:g}" for d in first)
    signal_trajectories(ds["signal"].isel(first), alive.isel(first),
                        title=f"S_k(t), member {label}").savefig(out / "signal.png", dpi=120)
    if hue:
        sweep_scatter(counts, hue, "circles").savefig(out / "circles.png", dpi=120)
    rows = member_rows(ds, alive)
    healthy = [r for r in rows if not r["diverged"]]
    return {
        "members": rows,
        "n_members": len(rows),
        "n_diverged": len(rows) - len(healthy),
        "circles_mean": float(np.mean([r["circles"] for r in healthy])) if healthy else None,
        "final_train_acc_mean": float(np.mean([r["final_train_acc"] for r in healthy])) if healthy else None,
        "final_test_acc_mean": float(np.mean([r["final_test_acc"] for r in healthy])) if healthy else None,
    }


register(Experiment(
    name="modular-addition",
    description="Embedding-MLP on (a+b) mod p (Ding et al. 2024): grokking and Fourier circles vs weight decay",
    presets={"tiny": tiny, "default": default, "paper": paper},
    report=report,
))
