"""Deep linear networks: simulated mode strengths over the exact curves, and R² against init scale."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.figure import Figure


def mode_curves(strength: xr.DataArray, exact: xr.DataArray, t: xr.DataArray, loss: xr.DataArray) -> Figure:
    """Left: u_α(t) of every seed (solid) and the exact curves (dashed), per mode. Right: the loss staircase."""
    fig, (ax_u, ax_loss) = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    colours = plt.cm.viridis(np.linspace(0, 0.85, strength.sizes["mode"]))
    for colour, mode in zip(colours, strength["mode"].values, strict=True):
        for i, seed in enumerate(strength["seed"].values):
            ax_u.plot(t, strength.sel(mode=mode, seed=seed), color=colour, lw=1, alpha=0.6,
                      label=f"mode {mode}" if i == 0 else None)
            ax_u.plot(t, exact.sel(mode=mode, seed=seed), "--", color="k", lw=0.7, alpha=0.5,
                      label="exact" if i == 0 and mode == strength["mode"].values[0] else None)
    ax_u.set(xlabel="t = lr · step", ylabel="mode strength u_α", title="simulated (colour) vs exact (dashed)")
    ax_u.legend(fontsize=8)
    for seed in loss["seed"].values:
        ax_loss.plot(t, loss.sel(seed=seed), color="C3", lw=1, alpha=0.6)
    ax_loss.set(xlabel="t = lr · step", ylabel="loss ½‖Σ³¹ − W₂W₁‖²", yscale="log", title="staircase loss")
    return fig


def r2_by_init(r2: xr.DataArray) -> Figure:
    """R² of simulated vs exact curves against init scale: every seed, and the mean."""
    fig, ax = plt.subplots(figsize=(5.5, 4), constrained_layout=True)
    scales = r2["init_scale"].values
    for seed in r2["seed"].values:
        ax.plot(scales, r2.sel(seed=seed), "o", color="C0", alpha=0.4, ms=3)
    ax.plot(scales, r2.mean("seed"), "-", color="C0", label="mean over seeds")
    ax.set(xscale="log", xlabel="init scale", ylabel="R² (simulated vs exact)", ylim=(-0.5, 1.05),
           title="small init follows the exact solution")
    ax.legend(fontsize=8)
    return fig
