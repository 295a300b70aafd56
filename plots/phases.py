"""Phase diagrams and heatmaps of sweeps (axes in real coordinates), example curves per phase,
P(unique) vs training fraction."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.colors import ListedColormap, to_hex
from matplotlib.figure import Figure
from matplotlib.patches import Patch

PHASE_COLOURS = {"comprehension": "#2ca02c", "grokking": "#1f77b4", "memorization": "#ff7f0e",
                 "confusion": "#d62728", "learned": "#2ca02c", "not learned": "#d62728"}


def axis_labels(values: np.ndarray) -> list[str]:
    return [f"{v:.3g}" for v in values]


def phase_examples(examples: dict[str, xr.Dataset]) -> Figure:
    """train/test accuracy and RQI (when observed) vs step of one member per phase (phase name → member)."""
    fig, axes = plt.subplots(1, max(len(examples), 1), figsize=(3.2 * max(len(examples), 1), 3),
                             constrained_layout=True, sharey=True, squeeze=False)
    for ax, (name, member) in zip(axes[0], examples.items(), strict=False):
        for var, style in (("train_acc", ":"), ("test_acc", "-"), ("rqi", "--")):
            if var in member:
                ax.plot(member["step"], member[var], style, label=var)
        where = ", ".join(f"{d}={member[d].item():.3g}" for d in member.coords if member[d].size == 1)
        ax.set(title=f"{name}\n{where}", xlabel="step", ylim=(-0.02, 1.02))
        ax.title.set_fontsize(8)
    axes[0][0].set_ylabel("accuracy / RQI" if any("rqi" in m for m in examples.values()) else "accuracy")
    axes[0][0].legend(fontsize=7)
    return fig


def unique_probability(fraction: xr.DataArray, r_c: float,
                       reference: xr.DataArray | None = None) -> Figure:
    """P(unique linear representation) vs training fraction (dim `train_fraction`), r_c marked."""
    fig, ax = plt.subplots(figsize=(5.5, 4), constrained_layout=True)
    ax.plot(fraction["train_fraction"], fraction, "o-", ms=3, label="measured")
    if reference is not None:
        ax.plot(reference["train_fraction"], reference, "kx", ms=6, label="paper (notebook counts)")
    ax.axhline(0.5, color="0.6", lw=0.8)
    if np.isfinite(r_c):
        ax.axvline(r_c, color="C3", ls="--", label=f"$r_c$ = {r_c:.3f}")
    ax.set(xlabel="training fraction n / N", ylabel="P(unique linear representation)",
           ylim=(-0.02, 1.02))
    ax.legend(fontsize=8)
    return fig


Line = tuple[str, np.ndarray, np.ndarray]  # (label, start, end) in real coordinates (log10 on log axes)


def cell_edges(values: np.ndarray, scale: str) -> np.ndarray:
    """Cell edges around each value at its true position: midpoints (in log10 on a log axis), the
    outer edges half a neighbour spacing out (± half a unit — a decade on a log axis — if alone)."""
    if scale == "category":
        values = np.arange(len(values))
    t = np.log10(np.asarray(values, float)) if scale == "log" else np.asarray(values, float)
    if len(t) == 1:
        edges = np.array([t[0] - 0.5, t[0] + 0.5])
    else:
        mid = (t[1:] + t[:-1]) / 2
        edges = np.concatenate([[t[0] - (mid[0] - t[0])], mid, [t[-1] + (t[-1] - mid[-1])]])
    return 10.0 ** edges if scale == "log" else edges


def to_data(t: np.ndarray, scale: str) -> np.ndarray:
    """Real coordinates (log10 on a log axis, the index for categories) → plot positions."""
    return 10.0 ** np.asarray(t) if scale == "log" else np.asarray(t)


def panels(da: xr.DataArray, keep: tuple[str, ...]) -> list[tuple[str, dict[str, int]]]:
    """One (title, isel) per combination of the dims of `da` not in `keep` (small multiples)."""
    extra = [d for d in da.dims if d not in keep]
    out = []
    for index in np.ndindex(*(da.sizes[d] for d in extra)):
        at = dict(zip(extra, index, strict=True))
        out.append((", ".join(f"{d}={tick_labels([da[d].values[i]])[0]}" for d, i in at.items()), at))
    return out


def grid_axes(n: int, columns: int, width: float, height: float):
    rows = -(-n // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(width * columns, height * rows),
                             constrained_layout=True, squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, axes


def positions(values: np.ndarray, scale: str) -> np.ndarray:
    """Where an axis' values sit on the plot: the values, or their index for categories."""
    return np.arange(len(values), dtype=float) if scale == "category" else np.asarray(values, float)


def tick_labels(values: np.ndarray) -> list[str]:
    return [f"{v:.3g}" if isinstance(v, int | float | np.number) else str(v) for v in values]


def set_scales(ax, x: str, y: str, x_scale: str, y_scale: str, xv: np.ndarray, yv: np.ndarray) -> None:
    """Log/linear axes, one tick per swept value, at its position."""
    ax.set_xscale("log" if x_scale == "log" else "linear")
    ax.set_yscale("log" if y_scale == "log" else "linear")
    ax.set(xlabel=x + (" (log)" if x_scale == "log" else ""), ylabel=y + (" (log)" if y_scale == "log" else ""))
    ax.set_xticks(positions(xv, x_scale), tick_labels(xv), rotation=45, fontsize=7)
    ax.set_yticks(positions(yv, y_scale), tick_labels(yv), fontsize=7)
    ax.minorticks_off()


def phase_map_figure(pmap: xr.Dataset, lines: list[list[Line]] | None = None, title: str = "") -> Figure:
    """Majority phase per cell and its seed fraction, cells at their real positions; boundary lines.

    pmap: `toymodels.theory.phases.phase_map` output (attrs x, y, x_scale, y_scale, phases);
    further dims become small multiples (order of `panels`). lines: per panel, (label, start, end)
    segments in real coordinates (log10 on a log axis), e.g. fitted phase boundaries.
    """
    x, y, names = pmap.attrs["x"], pmap.attrs["y"], list(pmap.attrs["phases"])
    xs, ys = pmap.attrs["x_scale"], pmap.attrs["y_scale"]
    majority = pmap["majority"]
    views = panels(majority, (x, y))
    fig, axes = grid_axes(len(views), min(len(views), 3), 5.2, 4.2)
    colours = [PHASE_COLOURS.get(n, to_hex(plt.cm.tab10(k))) for k, n in enumerate(names)]
    cmap = ListedColormap(colours)
    xv, yv = pmap[x].values, pmap[y].values
    xe, ye = cell_edges(xv, xs), cell_edges(yv, ys)
    xp, yp = positions(xv, xs), positions(yv, ys)
    for ax, (label, at), segs in zip(axes.flat, views, lines or [[]] * len(views), strict=False):
        cells = majority.isel(at).transpose(x, y).values
        share = pmap["agreement"].isel(at).transpose(x, y).values
        ax.pcolormesh(xe, ye, cells.T, cmap=cmap, vmin=-0.5, vmax=len(names) - 0.5, alpha=0.85)
        fractions = pmap["fractions"].isel(at).transpose("phase", x, y).values
        for (i, j), s in np.ndenumerate(share):
            if s < 1:
                share_bar(ax, fractions[:, i, j], colours, (xe[i], xe[i + 1]), (ye[j], ye[j + 1]), xs, ys)
                ax.text(xp[i], yp[j], f"{s:.0%}", ha="center", va="center", fontsize=7)
        for text, start, end in segs:
            ax.plot(to_data([start[0], end[0]], xs), to_data([start[1], end[1]], ys), "k--", lw=1.2)
            ax.annotate(text, (to_data(end[0], xs), to_data(end[1], ys)), fontsize=6)
        set_scales(ax, x, y, xs, ys, xv, yv)
        ax.set(xlim=(xe[0], xe[-1]), ylim=(ye[0], ye[-1]))
        ax.set_title(label, fontsize=8)
    fig.suptitle(title or "majority phase over seeds (% = its seed fraction when < 100 %; the bar at the "
                          "bottom of such a cell: every phase's share of the seeds)", fontsize=9)
    axes.flat[min(len(views), 3) - 1].legend(handles=[Patch(color=c, label=n) for c, n in zip(colours, names,
                                                                                             strict=True)],
                                             loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=7)
    return fig


def metric_heatmap(values: xr.DataArray, x: str, y: str, scales: tuple[str, str] = ("linear", "linear"),
                   title: str = "") -> Figure:
    """Mean over seeds of a per-member quantity (colour, value in each cell), and its seed range.

    values: dims (seed, …, x, y); further dims become rows of small multiples. Left column: the
    mean over seeds (NaN members left out); right column: max − min over seeds (the spread).
    Cells sit at their real positions (`cell_edges`), log axes where `scales` says so.
    """
    has_seed = "seed" in values.dims
    mean = values.mean("seed") if has_seed else values
    spread = (values.max("seed") - values.min("seed")) if has_seed else xr.zeros_like(values)
    views = panels(mean, (x, y))
    fig, axes = plt.subplots(len(views), 2, figsize=(10, 4 * len(views)), constrained_layout=True,
                             squeeze=False)
    xv, yv = values[x].values, values[y].values
    xe, ye = cell_edges(xv, scales[0]), cell_edges(yv, scales[1])
    xp, yp = positions(xv, scales[0]), positions(yv, scales[1])
    finite = np.isfinite(mean.values)
    low, high = (float(np.nanmin(mean.values)), float(np.nanmax(mean.values))) if finite.any() else (0, 1)
    n = values.sizes.get("seed", 1)
    for row, (label, at) in zip(axes, views, strict=True):
        for ax, da, what in ((row[0], mean, f"mean over {n} seeds"), (row[1], spread, "seed range (max − min)")):
            grid = da.isel(at).transpose(x, y).values
            ax.set_facecolor("0.85")  # blank (NaN) cells show the hatched background
            ax.add_patch(plt.Rectangle((xe[0], ye[0]), xe[-1] - xe[0], ye[-1] - ye[0], fill=False, hatch="//",
                                       edgecolor="0.6", lw=0, zorder=0))
            mesh = ax.pcolormesh(xe, ye, grid.T, cmap="viridis", **({"vmin": low, "vmax": high}
                                                                    if da is mean else {}))
            fig.colorbar(mesh, ax=ax, shrink=0.85)
            if grid.size <= 144:
                for (i, j), v in np.ndenumerate(grid):
                    ax.text(xp[i], yp[j], "n/a" if not np.isfinite(v) else f"{v:.3g}", ha="center",
                            va="center", fontsize=8, color=text_colour(mesh, v))
            set_scales(ax, x, y, *scales, xv, yv)
            ax.set(xlim=(xe[0], xe[-1]), ylim=(ye[0], ye[-1]))
            ax.set_title(f"{what}" + (f"\n{label}" if label else ""), fontsize=8)
    fig.suptitle((title or str(values.name)) + "\nhatched grey cell (n/a): no member has a finite value there",
                 fontsize=9)
    return fig


def between(a: float, b: float, f: float, scale: str) -> float:
    """The point a fraction f of the way from a to b, as drawn on a linear or log axis."""
    return float(a * (b / a) ** f) if scale == "log" else a + f * (b - a)


def share_bar(ax: Any, shares: np.ndarray, colours: list[str], xs: tuple[float, float], ys: tuple[float, float],
              x_scale: str, y_scale: str) -> None:
    """A bar along the bottom fifth of a cell, split into each phase's share of the seeds."""
    left = 0.1
    bottom, top = between(*ys, 0.05, y_scale), between(*ys, 0.22, y_scale)
    for share, colour in zip(shares, colours, strict=True):
        if share > 0:
            start, end = between(*xs, left, x_scale), between(*xs, left + 0.8 * share, x_scale)
            ax.fill_between([start, end], bottom, top, color=colour, ec="k", lw=0.4)
            left += 0.8 * share


def text_colour(mesh: Any, value: float) -> str:
    """Black on light cells, white on dark ones (by the cell colour's luminance)."""
    if not np.isfinite(value):
        return "k"
    r, g, b, _ = mesh.cmap(mesh.norm(value))
    return "k" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "w"
