"""`progress-measures`: the one-layer transformer of Nanda et al. (2023) grokking (a + b) mod p.

Curves of train, test, restricted and excluded loss with the three phases (memorisation, circuit
formation, cleanup; boundaries from `theory.progress`) shaded, and the key frequencies of the MLP
neurons over time. Paper (p = 113, mainline run): memorisation 0–1.4k, circuit formation
1.4k–9.4k, cleanup 9.4k–14k epochs; 5 key frequencies.

summary.json keys:
    members      one row per member: seed, swept values, final_train_acc, final_test_acc,
                 final_restricted_loss, final_excluded_loss, key_freqs (final list),
                 memorised, cleanup_start, cleanup_end (steps; null = never),
                 restricted_half_step, test_half_step (halfway points of the log-loss drops),
                 excluded_rise (excluded loss at cleanup_start / at memorised), diverged
    phases_mean  {memorised, cleanup_start, cleanup_end}: means over members that reached them
    restricted_before_test  fraction of members whose restricted loss drops (halfway) strictly
                 before their test loss does (the paper's "circuit forms before grokking")
    n_key_freqs_final_mean, final_test_acc_mean, n_members, n_diverged
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from toymodels import Spec
from toymodels.experiments import Experiment, register
from toymodels.plots.progress import key_frequency_map, progress_curves
from toymodels.theory.progress import drop_step, progress_phases
from toymodels.transformer import Transformer


def tiny() -> Spec:
    system = Transformer(p=23, d_model=32, n_heads=4, d_mlp=128)
    return Spec(
        system,
        {**system.hparams(), "lr": 3e-3, "train_fraction": 0.5},
        seeds=1,
        steps=300,
        log_every=50,
    )


def default() -> Spec:
    system = Transformer(p=59, d_model=64, n_heads=4, d_mlp=256)
    return Spec(
        system,
        {**system.hparams(), "lr": 3e-3, "train_fraction": 0.4},
        seeds=1,
        steps=4000,
        log_every=50,
    )


def paper() -> Spec:
    system = Transformer(precision="float64")
    return Spec(system, system.hparams(), seeds=1, steps=40000, log_every=100)


def optional(x: xr.DataArray) -> float | None:
    value = float(x)
    return value if np.isfinite(value) else None


def member_rows(ds: xr.Dataset) -> list[dict[str, Any]]:
    """One summary row per member: final numbers, key frequencies and phase boundaries."""
    phases = progress_phases(ds)
    restricted_half = drop_step(ds["restricted_loss"], phases.memorised, 0.5)
    test_half = drop_step(ds["test_loss"], phases.memorised, 0.5)
    final = ds.isel(step=-1)
    rows = []
    for index in np.ndindex(*ds["diverged_step"].shape):
        at = dict(zip(ds["diverged_step"].dims, index, strict=True))
        start, mem = phases.cleanup_start.isel(at), phases.memorised.isel(at)
        excluded = ds["excluded_loss"].isel(at)
        rise = (
            excluded.sel(step=start) / excluded.sel(step=mem)
            if np.isfinite(start) and np.isfinite(mem)
            else np.nan
        )
        rows.append(
            {
                **{d: ds[d].values[i].item() for d, i in at.items()},
                "final_train_acc": float(final["train_acc"].isel(at)),
                "final_test_acc": float(final["test_acc"].isel(at)),
                "final_restricted_loss": float(final["restricted_loss"].isel(at)),
                "final_excluded_loss": float(final["excluded_loss"].isel(at)),
                "key_freqs": [
                    int(k)
                    for k in ds["freq"].values
                    if bool(final["key_freqs"].isel(at).sel(freq=k))
                ],
                "memorised": optional(mem),
                "cleanup_start": optional(start),
                "cleanup_end": optional(phases.cleanup_end.isel(at)),
                "restricted_half_step": optional(restricted_half.isel(at)),
                "test_half_step": optional(test_half.isel(at)),
                "excluded_rise": optional(rise),
                "diverged": bool(ds["diverged_step"].isel(at) >= 0),
            }
        )
    return rows


def mean_of(rows: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in rows if r[key] is not None]
    return float(np.mean(values)) if values else None


def report(ds: xr.Dataset, out: Path) -> dict[str, Any]:
    """Progress-measure curves and key-frequency map of the first member; summary of all members."""
    rows = member_rows(ds)
    first = {d: 0 for d in ds["diverged_step"].dims}
    row = rows[0]
    bounds = tuple(
        np.nan if row[k] is None else row[k] for k in ("memorised", "cleanup_start", "cleanup_end")
    )
    progress_curves(ds.isel(first), bounds, title=f"progress measures, member {first}").savefig(
        out / "progress.png", dpi=120
    )
    key_frequency_map(ds["neurons_per_freq"].isel(first)).savefig(out / "key_freqs.png", dpi=120)
    healthy = [r for r in rows if not r["diverged"]]
    ordered = [
        r
        for r in healthy
        if r["restricted_half_step"] is not None and r["test_half_step"] is not None
    ]
    return {
        "members": rows,
        "n_members": len(rows),
        "n_diverged": len(rows) - len(healthy),
        "phases_mean": {
            k: mean_of(healthy, k) for k in ("memorised", "cleanup_start", "cleanup_end")
        },
        "restricted_before_test": (
            float(np.mean([r["restricted_half_step"] < r["test_half_step"] for r in ordered]))
            if ordered
            else None
        ),
        "n_key_freqs_final_mean": float(np.mean([len(r["key_freqs"]) for r in healthy]))
        if healthy
        else None,
        "final_test_acc_mean": mean_of(healthy, "final_test_acc"),
    }


register(
    Experiment(
        name="progress-measures",
        description="1-layer transformer, (a+b) mod p (Nanda et al. 2023): progress measures",
        presets={"tiny": tiny, "default": default, "paper": paper},
        report=report,
    )
)
