"""Figures of the skill studies: skill curves, t2/t1, model comparison, collapse, scaling."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.figure import Figure

LINE_STYLES = ("--", ":", "-.", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 3)))


def draw_skills(ax: Axes, skill: xr.DataArray, style: str = "-", label: bool = True) -> None:
    """s_i vs step for every task of one member (dims step, task)."""
    colours = plt.cm.viridis(np.linspace(0, 0.9, skill.sizes["task"]))
    for colour, task in zip(colours, skill["task"].values, strict=True):
        ax.plot(skill["step"], skill.sel(task=task), style, color=colour, lw=1.5,
                label=f"task {task}" if label else None)


def label(value) -> str:
    return f"{value:g}" if isinstance(value, float | np.floating) else str(value)


def skill_grid(skill: xr.DataArray, row: str, col: str, title: str = "", ylabel: str = "skill") -> Figure:
    """A grid of skill-curve panels: one row per value of `row`, one column per value of `col`."""
    rows, cols = skill[row].values, skill[col].values
    fig, axes = plt.subplots(len(rows), len(cols), figsize=(3 * len(cols), 2.4 * len(rows)),
                             sharex=True, sharey=True, constrained_layout=True, squeeze=False)
    for i, r in enumerate(rows):
        for j, c in enumerate(cols):
            ax = axes[i, j]
            draw_skills(ax, skill.sel({row: r, col: c}), label=(i == j == 0))
            ax.set_title(f"{row}={label(r)}, {col}={label(c)}", fontsize=8)
    for ax in axes[-1]:
        ax.set_xlabel("step")
    for ax in axes[:, 0]:
        ax.set_ylabel(ylabel)
    axes[0, 0].legend(fontsize=7)
    if title:
        fig.suptitle(title)
    return fig


def ratio_plot(ratio: xr.DataArray, x: xr.DataArray,
               lines: Mapping[str, tuple[np.ndarray, np.ndarray]], xlabel: str,
               ylabel: str) -> Figure:
    """`ratio` (dims: hue, x-dim, …members) vs `x`, log-log; mean and min–max; reference lines."""
    hue = ratio.dims[0]
    fig, ax = plt.subplots(figsize=(5.5, 4.2), constrained_layout=True)
    for k, h in enumerate(ratio[hue].values):
        sub = ratio.sel({hue: h})
        others = [d for d in sub.dims if d != x.dims[0]]
        mean, lo, hi = sub.mean(others), sub.min(others), sub.max(others)
        ax.errorbar(x, mean, yerr=[mean - lo, hi - mean], fmt="o-", color=f"C{k}", label=str(h),
                    capsize=2, ms=4)
    for k, (name, (xs, ys)) in enumerate(lines.items()):
        ax.plot(xs, ys, linestyle=LINE_STYLES[k % len(LINE_STYLES)], color="0.35", lw=1, label=name)
    ax.set(xscale="log", yscale="log", xlabel=xlabel, ylabel=ylabel)
    ax.legend(fontsize=8)
    return fig


def model_panels(panels: Mapping[str, xr.DataArray], ylabel: str = "skill",
                 yscale: str = "linear") -> Figure:
    """Side-by-side skill curves (dims step, task), one panel per model; dashed overlays allowed.

    A panel value may be a DataArray or a pair (solid, dashed) to overlay a prediction.
    """
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.4), sharey=True,
                             constrained_layout=True, squeeze=False)
    for ax, (name, curves) in zip(axes[0], panels.items(), strict=True):
        solid, dashed = curves if isinstance(curves, tuple) else (curves, None)
        draw_skills(ax, solid, label=ax is axes[0, 0])
        if dashed is not None:
            draw_skills(ax, dashed, style="--", label=False)
        ax.set(title=name, xlabel="step", yscale=yscale)
    axes[0, 0].set_ylabel(ylabel)
    axes[0, 0].legend(fontsize=7)
    return fig


def scaling_panels(final_vs_d: xr.DataArray, loss_vs_step: xr.DataArray, hue: str) -> Figure:
    """Final loss vs d and loss vs step (log-log), one curve per value of `hue`."""
    fig, (ax_d, ax_t) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    colours = plt.cm.plasma(np.linspace(0, 0.85, final_vs_d.sizes[hue]))
    for colour, h in zip(colours, final_vs_d[hue].values, strict=True):
        ax_d.plot(final_vs_d["d"], final_vs_d.sel({hue: h}), "o-", color=colour,
                  label=f"{hue}={h:g}")
        curve = loss_vs_step.sel({hue: h}).isel(step=slice(1, None))
        ax_t.plot(curve["step"], curve, color=colour, label=f"{hue}={h:g}")
    ax_d.set(xscale="log", yscale="log", xlabel="d (parameters)", ylabel="final loss")
    ax_t.set(xscale="log", yscale="log", xlabel="step", ylabel="loss")
    ax_d.legend(fontsize=7)
    return fig


def exponent_panels(exponents: Mapping[str, xr.DataArray],
                    lines: Mapping[str, Mapping[str, tuple[np.ndarray, np.ndarray]]]) -> Figure:
    """Measured exponents (dims hue × alpha) vs alpha, one panel per exponent, with theory lines."""
    fig, axes = plt.subplots(1, len(exponents), figsize=(5 * len(exponents), 4),
                             constrained_layout=True, squeeze=False)
    for ax, (name, values) in zip(axes[0], exponents.items(), strict=True):
        hue = values.dims[0]
        for k, h in enumerate(values[hue].values):
            ax.plot(values["alpha"], values.sel({hue: h}), "o-", color=f"C{k}", label=f"{hue}={h}")
        for k, (label, (xs, ys)) in enumerate(lines.get(name, {}).items()):
            ax.plot(xs, ys, linestyle=LINE_STYLES[k % len(LINE_STYLES)], color="0.35", lw=1,
                    label=label)
        ax.set(xlabel=r"$\alpha$ (Zipf exponent)", ylabel=name)
        ax.legend(fontsize=7)
    return fig


def learning_times(t1: xr.DataArray, t2: xr.DataArray, hue: str) -> Figure:
    """t2 vs t1 per member, one panel per value of `hue`, with the lines t2 = t1 and t2 = 2 t1 (Fig19)."""
    values = t1[hue].values
    fig, axes = plt.subplots(1, len(values), figsize=(4 * len(values), 4), sharex=True, sharey=True,
                             constrained_layout=True, squeeze=False)
    top = float(max(t1.max(), t2.max())) * 1.05
    for ax, v in zip(axes[0], values, strict=True):
        ax.scatter(t1.sel({hue: v}), t2.sel({hue: v}), alpha=0.6)
        ax.plot([0, top], [0, top], "--", color="C3", lw=1, label="t2 = t1")
        ax.plot([0, top / 2], [0, top], ":", color="C3", lw=1, label="t2 = 2 t1")
        ax.set(title=f"{hue}={label(v)}", xlabel="t1 (steps)", xlim=(0, top), ylim=(0, top))
    axes[0, 0].set_ylabel("t2 (steps)")
    axes[0, 0].legend(fontsize=8)
    return fig


def prediction_scatter(observed: xr.DataArray, predicted: Mapping[str, np.ndarray]) -> Figure:
    """Predicted vs observed learning time per skill: each held-out seed's time (dims seed, task)
    against each method's prediction (task,) or (seed, task), with the line y = x and ±20 % lines."""
    fig, ax = plt.subplots(figsize=(5, 4.5), constrained_layout=True)
    obs = observed.transpose("seed", "task").values
    for k, (name, values) in enumerate(predicted.items()):
        xs = np.broadcast_to(np.asarray(values), obs.shape)
        ax.scatter(obs.ravel(), xs.ravel(), s=12, alpha=0.6, color=f"C{k}", label=name)
    finite = obs[np.isfinite(obs)]
    top = float(finite.max()) * 1.1 if finite.size else 1.0   # a run too short to learn any skill: empty axes
    ax.plot([0, top], [0, top], "--", color="0.3", lw=1, label="exact")
    for f in (0.8, 1.2):
        ax.plot([0, top], [0, f * top], ":", color="0.6", lw=1)
    ax.set(xlabel="held-out learning time (steps)", ylabel="predicted (steps)", xlim=(0, top), ylim=(0, top))
    ax.legend(fontsize=7)
    return fig


def optimizer_panels(loss: xr.DataArray, skill: xr.DataArray) -> Figure:
    """Fig15's grid: one row per (n, noise); the loss of every optimizer (log scale), then each
    optimizer's skill curves (tasks a model does not have are NaN and not drawn).

    `loss` dims (optimizer, n, noise, step); `skill` the same plus task.
    """
    rows = [(n, s) for n in loss["n"].values for s in loss["noise"].values]
    optimizers = loss["optimizer"].values
    fig, axes = plt.subplots(len(rows), 1 + len(optimizers), figsize=(3.2 * (1 + len(optimizers)), 2.2 * len(rows)),
                             sharex=True, constrained_layout=True, squeeze=False)
    for r, (n, s) in enumerate(rows):
        ax = axes[r, 0]
        for k, o in enumerate(optimizers):
            ax.plot(loss["step"], loss.sel(optimizer=o, n=n, noise=s), color=f"C{k}", lw=1, label=str(o))
        ax.set(yscale="log", ylabel=f"n={n}, noise={s:g}")
        for c, o in enumerate(optimizers, start=1):
            draw_skills(axes[r, c], skill.sel(optimizer=o, n=n, noise=s).dropna("task", how="all"), label=False)
            axes[r, c].set_yticks([] if c > 1 else [0, 0.5, 1])
    axes[0, 0].set_title("loss")
    axes[0, 0].legend(fontsize=7)
    for c, o in enumerate(optimizers, start=1):
        axes[0, c].set_title(f"skills ({o})")
    for ax in axes[-1]:
        ax.set_xlabel("step")
    return fig
