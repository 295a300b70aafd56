"""Figures of the modular-arithmetic progress measures and of circle survival."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

LOSSES = (
    ("train_loss", "train", "C0"),
    ("test_loss", "test", "C3"),
    ("restricted_loss", "restricted", "C2"),
    ("excluded_loss", "excluded", "C1"),
)
PHASES = (("memorisation", "0.7"), ("circuit formation", "#9ecae1"), ("cleanup", "#fdae6b"))


def progress_curves(
    member: xr.Dataset, boundaries: tuple[float, float, float], title: str = ""
) -> Figure:
    """Train/test/restricted/excluded loss (log) and Σθ² of one member, phases shaded.

    `boundaries` = (end of memorisation, start of cleanup, end of cleanup); NaN ones are skipped.
    """
    fig, (ax, ax_w) = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    edges = [0.0, *boundaries]
    for (name, colour), lo, hi in zip(PHASES, edges[:-1], edges[1:], strict=True):
        if np.isfinite(lo) and np.isfinite(hi) and hi > lo:
            for axis in (ax, ax_w):
                axis.axvspan(
                    lo, hi, color=colour, alpha=0.35, lw=0, label=name if axis is ax else None
                )
    for name, label, colour in LOSSES:
        ax.plot(member["step"], member[name], color=colour, lw=1.5, label=label)
    ax.set(
        yscale="log", xlabel="step", ylabel="cross-entropy loss", title=title or "progress measures"
    )
    ax.legend(fontsize=7, ncol=2)
    ax_w.plot(member["step"], member["weight_sq_sum"], color="k", lw=1.5, label=r"$\sum\theta^2$")
    ax_w.set(xlabel="step", ylabel=r"sum of squared weights")
    twin = ax_w.twinx()
    twin.plot(member["step"], member["n_key_freqs"], color="C4", lw=1.2, drawstyle="steps-post")
    twin.set_ylabel("number of key frequencies", color="C4")
    return fig


def key_frequency_map(neurons: xr.DataArray, title: str = "") -> Figure:
    """Neurons per frequency (dims step, freq) as an image: which frequencies the MLP uses when."""
    fig, ax = plt.subplots(figsize=(6, 4), constrained_layout=True)
    image = ax.pcolormesh(
        neurons["step"],
        neurons["freq"],
        neurons.transpose("freq", "step"),
        cmap="magma",
        shading="nearest",
    )
    fig.colorbar(image, ax=ax, label="neurons (≥ 85 % of energy at k)")
    ax.set(xlabel="step", ylabel="frequency k", title=title or "key frequencies of the MLP neurons")
    return fig


def survival_scatter(init_signal: np.ndarray, gradient: np.ndarray, survived: np.ndarray) -> Figure:
    """Relative initial signal vs early gradient g_k per (member, k): survivors vs casualties."""
    fig, ax = plt.subplots(figsize=(5.5, 4), constrained_layout=True)
    ax.scatter(
        init_signal[~survived], gradient[~survived], s=8, color="0.6", alpha=0.6, label="casualty"
    )
    ax.scatter(init_signal[survived], gradient[survived], s=16, color="C3", label="survivor")
    ax.set(
        xlabel=r"relative initial signal $S_k(0)\,/\,\mathrm{rms}_j S_j(0)$",
        ylabel=r"early gradient $[S_k(4)-S_k(3)]/S_k(0)$",
        title="fitness of surviving frequencies",
    )
    ax.legend(fontsize=8)
    return fig
