"""Figures of `omnigrok-lu`: loss vs weight norm per model (the LU picture) and delay vs weight decay."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure


def lu_figure(w: np.ndarray, panels: dict[str, dict[str, np.ndarray]], w_c: dict[str, float | None]) -> Figure:
    """One panel per model: final train and test loss vs w (log–log), seed mean and its interval.

    panels: model → {"train"|"test": array (len(w), 3) of (value, lo, hi)}; w_c: model → w_c (dashed).
    """
    fig, axes = plt.subplots(1, len(panels), figsize=(4.4 * len(panels), 3.6), constrained_layout=True,
                             squeeze=False)
    for ax, (model, curves) in zip(axes[0], panels.items(), strict=True):
        for split, colour in (("train", "C0"), ("test", "C3")):
            values = np.asarray(curves[split], float)
            ax.plot(w, values[:, 0], "o-", color=colour, ms=3, label=f"{split} loss")
            ax.fill_between(w, values[:, 1], values[:, 2], color=colour, alpha=0.2, lw=0)
        if w_c.get(model) is not None:
            ax.axvline(w_c[model], color="0.4", ls="--", lw=0.8, label=f"w_c = {w_c[model]:.3g}")
        ax.set(xscale="log", yscale="log", xlabel="relative weight norm w = ‖θ‖/‖θ₀‖",
               ylabel="final loss", title=model)
        ax.legend(fontsize=7)
    return fig


def delay_figure(wd: np.ndarray, delay: np.ndarray, amplitude: float | None, exponent: float | None) -> Figure:
    """Grokking delay of every member (dots) and the seed mean vs weight decay γ > 0 (log–log), with
    the fitted c·γ^−k and, for comparison, the paper's k = 1 through the fit at the middle of the γ
    range; members that never grok are marked at the bottom."""
    wd, delay = np.asarray(wd, float), np.asarray(delay, float)
    keep = wd > 0
    fig, ax = plt.subplots(figsize=(4.6, 3.6), constrained_layout=True)
    for s in range(delay.shape[0]):
        ax.plot(wd[keep], delay[s, keep], "o", color="C0", ms=3, alpha=0.6, label="members" if s == 0 else None)
    grokked = np.isfinite(delay[:, keep])
    some = grokked.any(axis=0)
    mean = np.array([delay[:, keep][grokked[:, i], i].mean() if some[i] else np.nan for i in range(len(some))])
    ax.plot(wd[keep], mean, "s", color="k", ms=5, label="mean over grokked seeds")
    if not some.all():
        floor = np.nanmin(delay) if some.any() else 1.0
        ax.plot(wd[keep][~some], np.full((~some).sum(), floor), "x", color="C3", label="no member groks")
    if amplitude is not None and exponent is not None:
        grid = np.geomspace(wd[keep].min(), wd[keep].max(), 50)
        ax.plot(grid, amplitude * grid**-exponent, "--", color="C1", label=f"fit: k = {exponent:.2f}")
        pivot = np.sqrt(grid[0] * grid[-1])   # k = 1 through the fit at the middle of the γ range
        ax.plot(grid, amplitude * pivot**-exponent * pivot / grid, ":", color="0.4", label="k = 1 (paper)")
    ax.set(xscale="log", yscale="log", xlabel="weight decay γ", ylabel="delay t_test − t_train (steps)")
    ax.legend(fontsize=7)
    return fig
