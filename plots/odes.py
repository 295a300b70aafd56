"""Figures for any trajectory fit: data vs fitted rollout, R² histograms, an interaction matrix."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402


def fit_overlay(data: xr.DataArray, fitted: xr.DataArray, highlight: xr.DataArray | None = None,
                title: str = "") -> Figure:
    """Data (solid) and fitted rollout (dashed) of one member, dims (step, var) for both.

    `highlight` (bool over var) draws those variables in colour (e.g. survivors), the rest grey.
    """
    var = next(d for d in data.dims if d != "step")
    fig, ax = plt.subplots(figsize=(6.5, 4.2), constrained_layout=True)
    colours = iter(plt.cm.tab10(np.arange(10)))
    finite = fitted.where(np.isfinite(fitted))
    for value in data[var].values:
        bright = highlight is None or bool(highlight.sel({var: value}))
        colour = next(colours, "C0") if bright else "0.65"
        width = 1.6 if bright else 0.7
        label = f"{var}={value}" if bright and highlight is not None else None
        ax.plot(data["step"], data.sel({var: value}), "-", color=colour, lw=width, label=label)
        ax.plot(fitted["step"], finite.sel({var: value}), "--", color=colour, lw=width)
    ax.plot([], [], "k-", label="data")
    ax.plot([], [], "k--", label="fitted rollout")
    low, high = float(data.min()), float(data.max())
    ax.set_ylim(low - 0.1 * (high - low), high + 0.25 * (high - low))
    ax.set(xlabel="step", ylabel=str(data.name or "value"), title=title)
    ax.legend(fontsize=7, ncol=2)
    return fig


def r2_histogram(scores: Mapping[str, xr.DataArray], floor: float = -1.0) -> Figure:
    """Histogram of per-member R² for each named fit; values below `floor` are piled at `floor`."""
    fig, ax = plt.subplots(figsize=(5.5, 4), constrained_layout=True)
    bins = np.linspace(floor, 1.0, 41)
    for name, values in scores.items():
        flat = np.asarray(values).ravel()
        flat = np.clip(np.where(np.isfinite(flat), flat, floor), floor, 1.0)
        ax.hist(flat, bins=bins, alpha=0.55, label=f"{name} (median {np.median(flat):.3f})")
    ax.set(xlabel=f"R² (clipped at {floor:g})", ylabel="members")
    ax.legend(fontsize=8)
    return fig


def matrix_heatmap(matrix: xr.DataArray, title: str = "") -> Figure:
    """A (var, var_in) matrix as a heat map with a symmetric colour scale."""
    rows, cols = matrix.dims
    fig, ax = plt.subplots(figsize=(5.5, 4.8), constrained_layout=True)
    values = np.asarray(matrix)
    scale = float(np.nanmax(np.abs(values))) or 1.0
    image = ax.imshow(values, cmap="RdBu_r", vmin=-scale, vmax=scale, origin="upper")
    ticks = np.arange(0, values.shape[0], max(1, values.shape[0] // 10))
    ax.set_xticks(ticks, matrix[cols].values[ticks])
    ax.set_yticks(ticks, matrix[rows].values[ticks])
    ax.set(xlabel=cols, ylabel=rows, title=title)
    fig.colorbar(image, ax=ax, shrink=0.85)
    return fig
