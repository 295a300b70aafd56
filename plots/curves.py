"""Curves of a run: losses and accuracies vs step, per-frequency signals, a quantity vs a swept axis."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.figure import Figure


def member_curves(da: xr.DataArray) -> tuple[np.ndarray, list[str]]:
    """Stack every member dim of a (…, step) DataArray into rows, with a label per row."""
    member_dims = [d for d in da.dims if d != "step"]
    if not member_dims:
        return da.values[None], [""]
    stacked = da.stack(member=member_dims).transpose("member", "step")
    labels = [", ".join(f"{d}={v}" for d, v in zip(member_dims, idx, strict=True))
              for idx in (m if isinstance(m, tuple) else (m,) for m in stacked["member"].values)]
    return stacked.values, labels


def training_curves(ds: xr.Dataset, hue: str | None = None, rows: str | None = None, title: str = "") -> Figure:
    """Train (dotted) / test (solid) loss (log) and accuracy vs step for every member; colour by the
    `hue` dim, one row of panels per value of the `rows` dim (a second swept axis)."""
    row_values = ds[rows].values if rows else [None]
    fig, axes = plt.subplots(len(row_values), 2, figsize=(11, 3.6 * len(row_values)), constrained_layout=True,
                             squeeze=False)
    hues = ds[hue].values if hue else [None]
    colours = plt.cm.viridis(np.linspace(0, 0.9, len(hues)))
    for (ax_loss, ax_acc), row_value in zip(axes, row_values, strict=True):
        panel = ds.sel({rows: row_value}) if rows else ds
        for colour, value in zip(colours, hues, strict=True):
            sub = panel.sel({hue: value}) if hue else panel
            for split, style in (("train", ":"), ("test", "-")):
                for name, ax in ((f"{split}_loss", ax_loss), (f"{split}_acc", ax_acc)):
                    curves, _ = member_curves(sub[name])
                    for i, curve in enumerate(curves):
                        label = f"{split}" + (f", {hue}={value:g}" if hue else "") if i == 0 else None
                        ax.plot(ds["step"], curve, style, color=colour, alpha=0.8, lw=1.2, label=label)
        where = f" ({rows}={row_value:g})" if rows else ""
        ax_loss.set(yscale="log", xlabel="step", ylabel="cross-entropy loss", title="loss" + where)
        ax_acc.set(xlabel="step", ylabel="accuracy", ylim=(-0.02, 1.02), title="accuracy" + where)
        ax_acc.legend(fontsize=7, ncol=2)
    fig.suptitle(title or "training curves: train dotted, test solid, one line per member", fontsize=9)
    return fig


def observable_curves(ds: xr.Dataset, names: list[str], hue: str | None = None, title: str = "") -> Figure:
    """Every member's curve of each scalar observable in `names` vs step (one panel each; log y when
    the values are positive and span a factor of 100); colour by the `hue` dim."""
    columns = min(3, len(names))
    rows = -(-len(names) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.6 * columns, 3.4 * rows), squeeze=False,
                             constrained_layout=True)
    hues = ds[hue].values if hue else [None]
    colours = plt.cm.viridis(np.linspace(0, 0.9, len(hues)))
    for ax, name in zip(axes.flat, names, strict=False):
        for colour, value in zip(colours, hues, strict=True):
            curves, _ = member_curves(ds[name].sel({hue: value}) if hue else ds[name])
            for i, curve in enumerate(curves):
                label = f"{hue}={value:g}" if hue and i == 0 else None
                ax.plot(ds["step"], curve, color=colour, alpha=0.7, lw=1, label=label)
        values = ds[name].values[np.isfinite(ds[name].values)]
        if values.size and values.min() > 0 and values.max() >= 100 * values.min():
            ax.set_yscale("log")
        ax.set(xlabel="step", title=name)
        if hue:
            ax.legend(fontsize=6)
    for ax in axes.flat[len(names):]:
        ax.set_visible(False)
    fig.suptitle(title or "every member's observables vs step", fontsize=9)
    return fig


def signal_trajectories(signal: xr.DataArray, alive: xr.DataArray, title: str = "") -> Figure:
    """S_k(t) of one member (dims step, freq); survivors (alive) in colour, casualties in grey."""
    fig, ax = plt.subplots(figsize=(6, 4), constrained_layout=True)
    survivors = [int(k) for k in signal["freq"].values if bool(alive.sel(freq=k))]
    colours = iter(plt.cm.tab10(np.arange(10)))
    for k in signal["freq"].values[1:]:
        curve = signal.sel(freq=k)
        if k in survivors:
            ax.plot(signal["step"], curve, lw=2, color=next(colours, "C0"), label=f"k={k}")
        else:
            ax.plot(signal["step"], curve, lw=0.8, color="0.7")
    ax.set(xlabel="step", ylabel=r"$S_k$", title=title or "per-frequency embedding signal")
    if survivors:
        ax.legend(fontsize=8, title="survivors")
    return fig


def sweep_scatter(values: xr.DataArray, x: str, ylabel: str, title: str = "") -> Figure:
    """A per-member quantity against the swept dim `x`: every member as a dot, the mean as a line;
    a log x axis when the swept values are positive and span a factor of 10 or more."""
    fig, ax = plt.subplots(figsize=(5, 4), constrained_layout=True)
    others = [d for d in values.dims if d != x]
    rows = values.transpose(x, *others).values.reshape(values.sizes[x], -1)
    xs = np.asarray(values[x].values, float)
    log = bool(xs.min() > 0 and xs.max() >= 10 * xs.min())
    spread = np.linspace(-0.02, 0.02, rows.shape[1])
    for i, xv in enumerate(xs):
        jittered = xv * 10 ** (spread * np.log10(xs.max() / xs.min())) if log else xv + spread * (np.ptp(xs) or 1)
        ax.scatter(jittered, rows[i], s=14, color="C0", alpha=0.6)
    ax.plot(xs, np.nanmean(rows, axis=1), "o-", color="C1", label="mean over members")
    ax.set(xlabel=x + (" (log)" if log else ""), ylabel=ylabel, xscale="log" if log else "linear",
           title=title or f"{ylabel} per member vs {x}")
    ax.legend(fontsize=8)
    return fig
