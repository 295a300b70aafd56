"""Figures for any trajectory fit: data vs fitted rollout (fit window shaded), an interaction matrix.

Every function returns its `Figure`; the caller saves and closes it (a study's `figures`, or
`plots.save_figure`).
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.figure import Figure

MAX_PANELS = 4


def overlay(ax: Axes, data: xr.DataArray, fitted: xr.DataArray, fit_end_step: float | None = None,
            highlight: xr.DataArray | None = None, title: str = "") -> None:
    """Data (solid) and fitted rollout (dashed) of one member on `ax`; dims (step[, var]) for both.

    The fitted window [first step, fit_end_step] is shaded; `highlight` (bool over var) draws
    those variables in colour, the rest grey. The y-range follows the data (a diverging rollout
    leaves the frame instead of flattening the data).
    """
    var = next((d for d in data.dims if d != "step"), None)
    if var is None:
        data, fitted = data.expand_dims(var=[0], axis=-1), fitted.expand_dims(var=[0], axis=-1)
        var = "var"
    values = data[var].values
    colours = plt.cm.tab10(np.arange(len(values))) if len(values) <= 10 else plt.cm.viridis(
        np.linspace(0, 0.95, len(values)))
    finite = fitted.where(np.isfinite(fitted))
    for value, colour in zip(values, colours, strict=True):
        bright = highlight is None or bool(highlight.sel({var: value}))
        colour = colour if bright else "0.65"
        width = 1.6 if bright else 0.7
        label = f"{var}={value}" if bright and highlight is not None else None
        ax.plot(data["step"], data.sel({var: value}), "-", color=colour, lw=width, label=label)
        ax.plot(fitted["step"], finite.sel({var: value}), "--", color=colour, lw=width)
    if fit_end_step is not None:
        ax.axvspan(float(data["step"][0]), fit_end_step, color="0.9", zorder=0, label="fitted window")
    ax.plot([], [], "k-", label="data")
    broken = ~np.isfinite(fitted.values)
    if broken.any():
        first = float(fitted["step"].values[broken.reshape(len(fitted["step"]), -1).any(1)][0])
        ax.plot([], [], "k--", label=f"fitted rollout (diverged at step {first:g}: not drawn after)")
    else:
        ax.plot([], [], "k--", label="fitted rollout")
    low, high = float(data.min()), float(data.max())
    pad = (high - low) or max(abs(high), 1.0)
    ax.set_ylim(low - 0.1 * pad, high + 0.3 * pad)
    ax.set(xlabel="step", ylabel=str(data.name or "value"), title=title)
    ax.legend(fontsize=6, ncol=3, loc="upper right")


def rollout_panels(data: xr.DataArray, rollouts: Mapping[str, xr.DataArray], fit_end_step: float,
                   highlight: xr.DataArray | None = None, title: str = "") -> Figure:
    """One member: a panel per fitted model, data vs that model's rollout."""
    fig, axes = plt.subplots(1, len(rollouts), figsize=(6 * len(rollouts), 4.2), squeeze=False,
                             constrained_layout=True)
    for ax, (name, fitted) in zip(axes[0], rollouts.items(), strict=True):
        overlay(ax, data, fitted, fit_end_step, highlight, title=name)
    fig.suptitle(title, fontsize=10)
    return fig


def fit_figure(data: xr.DataArray, rollout: xr.DataArray, fit_end_step: float,
               var_dim: str | None = None, title: str = "", scores: xr.DataArray | None = None) -> Figure:
    """Any run: data vs fitted rollout (same dims: …members, step[, var_dim]), one panel for each of
    `MAX_PANELS` members: with `scores` (R² after the window, over the members) the best, two
    typical (quantiles) and the worst, each titled with its score; else the first members."""
    member_dims = [d for d in data.dims if d not in ("step", var_dim)]
    if member_dims:
        flat_data, flat_fit = data.stack(panel=member_dims), rollout.stack(panel=member_dims)
    else:
        flat_data, flat_fit = data.expand_dims(panel=[0]), rollout.expand_dims(panel=[0])
    labels = [c for c in flat_data.coords if flat_data[c].dims == ("panel",) and c not in ("panel", "member")]
    chosen = shown_members(None if scores is None else np.ravel(np.asarray(scores, float)),
                           flat_data.sizes["panel"])
    fig, axes = plt.subplots(1, len(chosen), figsize=(5 * len(chosen), 4), squeeze=False, constrained_layout=True)
    for i, ax in zip(chosen, axes[0], strict=True):
        label = ", ".join(f"{c}={flat_data[c].values[i]}" for c in labels)
        if scores is not None:
            label += f"\nR² after window {np.ravel(np.asarray(scores, float))[i]:.3g}"
        overlay(ax, flat_data.isel(panel=i, drop=True), flat_fit.isel(panel=i, drop=True),
                fit_end_step, title=label)
    fig.suptitle(title, fontsize=10)
    return fig


def shown_members(scores: np.ndarray | None, n: int) -> list[int]:
    """Up to MAX_PANELS member indices: best, typical and worst by score (−inf, a diverged rollout,
    is worst; NaN last), or the first ones without scores."""
    if scores is None:
        return list(range(min(MAX_PANELS, n)))
    order = [int(i) for i in np.argsort(np.where(np.isnan(scores), -np.inf, scores))[::-1]]
    picks = [order[round(q * (n - 1))] for q in np.linspace(0, 1, min(MAX_PANELS, n))]
    return list(dict.fromkeys(picks))


def pair_counts(matrix: xr.DataArray) -> tuple[int, int]:
    """(competitive, cooperative) pairs i < j of an interaction matrix: A_ij, A_ji both < 0 / both > 0."""
    values = np.asarray(matrix)
    upper = np.triu(np.ones_like(values, dtype=bool), k=1)
    return (int(np.sum((values < 0) & (values.T < 0) & upper)),
            int(np.sum((values > 0) & (values.T > 0) & upper)))


def interaction_matrix(matrix: xr.DataArray, highlight: xr.DataArray | None = None,
                       title: str = "") -> Figure:
    """A (var, var_in) as a heat map, symmetric colour scale: blue A_ij < 0 (j suppresses i,
    competition), red A_ij > 0 (j helps i, cooperation); highlighted variables' ticks in bold."""
    rows, cols = matrix.dims
    fig, ax = plt.subplots(figsize=(5.8, 5), constrained_layout=True)
    values = np.asarray(matrix)
    scale = float(np.nanmax(np.abs(values))) or 1.0
    image = ax.imshow(values, cmap="RdBu_r", vmin=-scale, vmax=scale, origin="upper")
    ticks = np.arange(values.shape[0])
    ax.set_xticks(ticks, matrix[cols].values, fontsize=6)
    ax.set_yticks(ticks, matrix[rows].values, fontsize=6)
    if highlight is not None:
        bold = highlight.values.astype(bool)
        for labels in (ax.get_xticklabels(), ax.get_yticklabels()):
            for label, on in zip(labels, bold, strict=True):
                label.set_fontweight("bold" if on else "normal")
                label.set_color("C3" if on else "0.3")
    competitive, cooperative = pair_counts(matrix)
    ax.set(xlabel=f"{cols} (j)", ylabel=f"{rows} (i)",
           title=f"{title}\n{competitive} competitive pairs (both < 0), {cooperative} cooperative (both > 0)")
    fig.colorbar(image, ax=ax, shrink=0.85, label="A_ij  (< 0 competitive, > 0 cooperative)")
    return fig
