"""Superposition figures: empirical vs analytic phase maps, dimensions per feature, the per-feature
dimensionality histogram, and the columns of W in two dimensions."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from toymodels.plots.phases import cell_edges

PHASE_COLOURS = ("#d9d9d9", "#1f77b4", "#d62728", "#ff9896")   # not represented, dedicated, superposition, same-sign


def phase_maps(maps: dict[str, xr.DataArray], names: tuple[str, ...],
               boundaries: list[tuple[np.ndarray, np.ndarray]] = ()) -> Figure:
    """One panel per map (dims density, importance; values index into `names`), log axes in real
    coordinates, with `boundaries` (curves of importance against density) drawn on every panel."""
    fig, axes = plt.subplots(1, len(maps), figsize=(5.2 * len(maps), 4.4), constrained_layout=True,
                             squeeze=False)
    cmap = ListedColormap(PHASE_COLOURS[: len(names)])
    for ax, (title, phase) in zip(axes[0], maps.items(), strict=True):
        phase = phase.transpose("density", "importance")
        ax.pcolormesh(cell_edges(phase["importance"].values, "log"), cell_edges(phase["density"].values, "log"),
                      phase.values, cmap=cmap, vmin=-0.5, vmax=len(names) - 0.5)
        for r, p in boundaries:
            ax.plot(r, p, "k--", lw=1)
        ax.set(xscale="log", yscale="log", xlabel="relative importance of feature 2 (I₂/I₁)",
               ylabel="feature density 1 − S", title=title,
               xlim=cell_edges(phase["importance"].values, "log")[[0, -1]],
               ylim=cell_edges(phase["density"].values, "log")[[0, -1]])
    axes[0, -1].legend(handles=[Patch(color=c, label=n) for c, n in zip(PHASE_COLOURS, names, strict=False)],
                       loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, title="feature 2")
    return fig


def dims_per_feature(inverse_density: np.ndarray, dstar: np.ndarray, fractions: dict[str, float],
                     plateau: float | None = None) -> Figure:
    """D* = m/‖W‖²_F against 1/(1 − S) (log x); one line per seed (rows of `dstar`), fractions marked."""
    fig, ax = plt.subplots(figsize=(6, 4), constrained_layout=True)
    for row in np.atleast_2d(dstar):
        ax.plot(inverse_density, row, "o-", ms=3, lw=1, color="C0", alpha=0.8)
    for label, value in fractions.items():
        ax.axhline(value, color="0.6", lw=0.6, ls=":")
        ax.annotate(label, (inverse_density.max(), value), fontsize=7, color="0.4", va="center")
    if plateau is not None:
        ax.axhline(plateau, color="C3", lw=1, label=f"plateau (mode) {plateau:.3f}")
        ax.legend(fontsize=8)
    ax.set(xscale="log", xlabel="1 / (1 − S)", ylabel="dimensions per feature  m / ‖W‖²_F",
           ylim=(0, 1.1))
    return fig


def dimensionality_histogram(panels: dict[str, np.ndarray], fractions: dict[str, float]) -> Figure:
    """Histogram of per-feature dimensionalities D_i per panel (e.g. per sparsity), fractions marked."""
    fig, axes = plt.subplots(len(panels), 1, figsize=(6, 1.4 * len(panels) + 0.6), sharex=True,
                             constrained_layout=True, squeeze=False)
    bins = np.linspace(0, 1.05, 85)
    for ax, (title, values) in zip(axes[:, 0], panels.items(), strict=True):
        ax.hist(values, bins=bins, color="C0")
        for label, value in fractions.items():
            ax.axvline(value, color="C3", lw=0.7, ls="--")
            ax.annotate(label, (value, 1), xycoords=("data", "axes fraction"), fontsize=6, color="C3",
                        ha="center", va="bottom")
        ax.set_ylabel(title, fontsize=7, rotation=0, ha="right")
    axes[-1, 0].set_xlabel("feature dimensionality D_i = ‖W_i‖² / Σ_j (Ŵ_i·W_j)²")
    return fig


def feature_columns(panels: dict[str, np.ndarray], importance: np.ndarray, columns: int = 4) -> Figure:
    """W's columns (2, n) as arrows in the plane, one panel per sparsity; colour by feature (importance)."""
    rows = -(-len(panels) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(2.4 * columns, 2.5 * rows + 0.4), constrained_layout=True,
                             squeeze=False)
    colours = plt.cm.plasma(np.linspace(0, 0.85, len(importance)))
    for ax in axes.ravel()[len(panels):]:
        ax.axis("off")
    for ax, (title, w) in zip(axes.ravel(), panels.items(), strict=False):
        for i in range(w.shape[1]):
            label = f"feature {i + 1} (I = {importance[i]:.2f})"
            ax.plot([0, w[0, i]], [0, w[1, i]], color=colours[i], lw=2, label=label)
            ax.plot(w[0, i], w[1, i], "o", color=colours[i], ms=4)
        ax.set(xlim=(-1.5, 1.5), ylim=(-1.5, 1.5), aspect="equal", xticks=[], yticks=[], title=title)
        ax.title.set_fontsize(9)
    fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="outside lower center", ncol=len(importance),
               fontsize=7)
    return fig
