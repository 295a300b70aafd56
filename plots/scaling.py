"""Scaling-law and emergence figures: log-log loss vs N/S/D with fitted and predicted slopes,
per-subtask loss heat maps, and steps-to-learn vs subtask frequency."""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, NullFormatter


@dataclass(frozen=True)
class ScalingPanel:
    """One log-log panel: y (seeds × points) vs x, the fitted line a·x^{−fitted} (+ offset) and
    a reference slope x^{−predicted} anchored at the first point of the fitted line."""

    x: np.ndarray
    y: np.ndarray
    xlabel: str
    symbol: str
    fitted: float
    ci: tuple[float, float]
    predicted: float
    amplitude: float
    offset: float = 0.0


def draw_panel(ax: Axes, panel: ScalingPanel, ylabel: str) -> None:
    """Seeds as faint dots, the seed mean as markers, fitted line (solid), prediction (dashed)."""
    x, y = np.asarray(panel.x, float), np.atleast_2d(panel.y)
    ax.set(xlabel=panel.xlabel, ylabel=ylabel)
    if x.size == 0:
        ax.text(0.5, 0.5, "no point below 0.95 bits", ha="center", transform=ax.transAxes)
        return
    for row in y:
        ax.plot(x, row, ".", color="0.6", ms=4)
    ax.plot(x, np.nanmean(y, axis=0), "o", color="C0", label="mean over seeds")
    grid = np.geomspace(x.min(), x.max(), 50)
    if np.isfinite(panel.fitted):
        fitted = panel.amplitude * grid**-panel.fitted + panel.offset
        ax.plot(grid, fitted, "-", color="C1",
                label=f"fit {panel.symbol} = {panel.fitted:.2f} "
                      f"[{panel.ci[0]:.2f}, {panel.ci[1]:.2f}]")
        anchor = fitted[0] * (grid / grid[0]) ** -panel.predicted
        ax.plot(grid, anchor, "--", color="C3",
                label=f"theory {panel.symbol} = {panel.predicted:.2f}")
    ax.set(xscale="log", yscale="log")
    ax.legend(fontsize=7)


def scaling_figure(panels: list[ScalingPanel], title: str = "") -> Figure:
    """Side-by-side log-log scaling panels (loss in bits)."""
    fig, axes = plt.subplots(1, len(panels), figsize=(4.5 * len(panels), 4),
                             constrained_layout=True, squeeze=False)
    for ax, panel in zip(axes[0], panels, strict=True):
        draw_panel(ax, panel, "mean test loss (bits)")
    if title:
        fig.suptitle(title)
    return fig


def emergence_heatmap(loss: np.ndarray, x: np.ndarray, xlabel: str, title: str = "") -> Figure:
    """Per-subtask loss (subtask × x) as an image, colour 0–1 bits; x > 0 on a log axis."""
    fig, ax = plt.subplots(figsize=(6, 4), constrained_layout=True)
    x = np.asarray(x, float)
    shown = x > 0
    mesh = ax.pcolormesh(x[shown], np.arange(loss.shape[0]), loss[:, shown], vmin=0, vmax=1,
                         cmap="viridis", shading="nearest")
    if shown.sum() > 1:
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    fig.colorbar(mesh, ax=ax, label="subtask test loss (bits)")
    ax.set(xlabel=xlabel, ylabel="subtask (0 = most frequent)", title=title)
    return fig


def learned_steps_figure(probs: np.ndarray, steps: np.ndarray, beta: float,
                         amplitude: float) -> Figure:
    """S_k (first step with subtask loss < 0.1 bits; members × subtasks) vs p_k, with S ∝ p^{−β}."""
    fig, ax = plt.subplots(figsize=(5, 4), constrained_layout=True)
    steps = np.atleast_2d(steps)
    if not np.isfinite(steps).any():
        ax.text(0.5, 0.5, "no subtask learned yet", ha="center", transform=ax.transAxes)
        ax.set(xlabel=r"subtask frequency $p_k$", ylabel=r"steps to learn $S_k$")
        return fig
    for row in steps:
        ax.plot(probs, row, "o", color="C0", alpha=0.6, ms=5)
    if np.isfinite(beta):
        grid = np.geomspace(probs.min(), probs.max(), 50)
        ax.plot(grid, amplitude * grid**-beta, "-", color="C1",
                label=rf"$S_k \propto p_k^{{-{beta:.2f}}}$")
        ax.legend(fontsize=8)
    ax.set(xscale="log", yscale="log", xlabel=r"subtask frequency $p_k$",
           ylabel=r"steps to learn $S_k$ (loss < 0.1 bits)")
    return fig


def genic_curves(steps: np.ndarray, mono: np.ndarray, poly: np.ndarray, genes: int, title: str = "") -> Figure:
    """Monogenic (left) and polygenic (right) loss curves (rows of `mono`, `poly`, in bits) vs step,
    log step axis (step 0 left out)."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), sharey=True, constrained_layout=True)
    shown = np.asarray(steps) > 0
    for ax, curves, name in ((axes[0], mono, "monogenic: one subtask"),
                             (axes[1], poly, f"polygenic: mean of {genes} subtasks")):
        for row in curves:
            ax.plot(steps[shown], row[shown], color="C0" if ax is axes[0] else "C1", alpha=0.5, lw=1)
        ax.set(xscale="log", xlabel="step", title=f"{name} ({len(curves)} curves)")
    axes[0].set_ylabel("test loss (bits)")
    if title:
        fig.suptitle(title, fontsize=9)
    return fig
