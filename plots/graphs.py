"""Figures of the knowledge-graph studies: recall vs a swept axis, per-relation recall, stitching
matrices and similarity vs stitched accuracy."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.figure import Figure


def member_points(ax, final: xr.Dataset, name: str, x: str, positions: np.ndarray, style: str,
                  colour, label: str) -> None:
    """Every member of `final[name]` as a faint dot at its x position, the mean as a line."""
    rows = final[name].transpose(x, ...).values.reshape(len(positions), -1)
    ax.plot(np.repeat(positions, rows.shape[1]), rows.ravel(), style[0], color=colour, alpha=0.35, ms=4)
    ax.plot(positions, np.nanmean(rows, axis=1), style, color=colour, label=label)


def recall_vs_sweep(final: xr.Dataset, x: str, hue: str | None = None) -> Figure:
    """Two panels against the swept dim `x` (evenly spaced, labelled by value), one colour per
    `hue` value, members as dots and means as lines, each recall beside its own ceiling:
    left, recall on all held-out true triples (`heldout_recall`) with its ideal (fraction of them
    that is inferable, dotted); right, recall on the inferable ones (ceiling 1, dotted) and on the
    non-inferable ones (dashed)."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2), constrained_layout=True, sharey=True)
    hues = final[hue].values if hue else [None]
    colours = plt.cm.viridis(np.linspace(0, 0.85, len(hues)))
    positions = np.arange(final.sizes[x])
    for colour, value in zip(colours, hues, strict=True):
        sub = final.sel({hue: value}) if hue else final
        tag = f" {hue}={value}" if hue else ""
        member_points(left, sub, "heldout_recall", x, positions, "o-", colour, f"held-out{tag}")
        member_points(right, sub, "inferable_recall", x, positions, "o-", colour, f"inferable{tag}")
        member_points(right, sub, "noninferable_recall", x, positions, "s--", colour, f"non-inferable{tag}")
    left.axhline(float(np.nanmean(final["ideal_recall"])), color="0.4", lw=1, ls=":",
                 label="ideal (fraction inferable)")
    right.axhline(1.0, color="0.4", lw=1, ls=":", label="ceiling of inferable recall")
    left.set(ylabel="recall", title="all held-out true triples", ylim=(-0.03, 1.03))
    right.set(title="inferable / non-inferable held-out true triples")
    for ax in (left, right):
        ax.set_xticks(positions, [f"{v:g}" for v in final[x].values])
        ax.set(xlabel=x)
        ax.legend(fontsize=7, ncol=2)
    return fig


def relation_heatmap(recall: xr.DataArray, x: str) -> Figure:
    """Held-out recall per relation (rows) against the swept dim `x` (columns), annotated."""
    table = recall.transpose("relation", x).values
    fig, ax = plt.subplots(figsize=(1.2 + 0.9 * table.shape[1], 3.8), constrained_layout=True)
    image = ax.imshow(table, vmin=0, vmax=1, cmap="magma", aspect="auto")
    for (i, j), v in np.ndenumerate(table):
        if np.isfinite(v):
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7,
                    color="white" if v < 0.6 else "black")
    ax.set_xticks(range(table.shape[1]), [f"{v:g}" for v in recall[x].values])
    ax.set_yticks(range(table.shape[0]), [str(r) for r in recall["relation"].values])
    ax.set(xlabel=x, title="held-out recall per relation")
    fig.colorbar(image, ax=ax, shrink=0.8)
    return fig


def stitch_heatmaps(matrices: dict[str, np.ndarray], rows: list[str], cols: list[str],
                    limits: dict[str, tuple[float, float]] | None = None) -> Figure:
    """One heat map per named (bottom × top) matrix; rows = bottom members, columns = tops."""
    limits = limits or {}
    size = (2.0 + 0.42 * len(cols) * len(matrices), 1.5 + 0.32 * len(rows))
    fig, axes = plt.subplots(1, len(matrices), figsize=size, constrained_layout=True, squeeze=False)
    for ax, (name, matrix) in zip(axes[0], matrices.items(), strict=True):
        vmin, vmax = limits.get(name, (np.nanmin(matrix), np.nanmax(matrix)))
        image = ax.imshow(matrix, vmin=vmin, vmax=vmax, cmap="viridis")
        ax.set_xticks(range(len(cols)), cols, rotation=90, fontsize=7)
        ax.set_yticks(range(len(rows)), rows, fontsize=7)
        ax.set(title=name, xlabel="top (B)", ylabel="bottom (A)")
        fig.colorbar(image, ax=ax, shrink=0.7)
    return fig


def similarity_scatter(similarity: np.ndarray, accuracies: dict[str, np.ndarray],
                       xlabel: str = "linear CKA") -> Figure:
    """Stitched accuracy of each pair against the similarity of its two members."""
    fig, ax = plt.subplots(figsize=(5, 4), constrained_layout=True)
    for (name, acc), marker in zip(accuracies.items(), "os^v", strict=False):
        ax.scatter(similarity.ravel(), acc.ravel(), s=16, alpha=0.7, marker=marker, label=name)
    ax.set(xlabel=xlabel, ylabel="stitched balanced test accuracy")
    ax.legend(fontsize=8)
    return fig
