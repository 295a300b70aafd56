"""Figures of the modular-arithmetic progress measures and of circle survival."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.figure import Figure

OBSERVED = (("train_loss", "train", "C0"), ("test_loss", "test", "C3"))
MEASURED = (("restricted_loss", "restricted", "C2"), ("excluded_loss", "excluded", "C1"))
GINIS = (("gini_embed", r"Gini of $W_E$ Fourier norms", "C5"), ("gini_logit_map", r"Gini of $W_L$ Fourier norms", "C4"))
PHASES = (("memorisation", "0.7"), ("circuit formation", "#9ecae1"), ("cleanup", "#fdae6b"))


def shade_phases(axes, boundaries: tuple[float, float, float]) -> None:
    """Shade [0, b0], [b0, b1], [b1, b2] as the three phases on every axis (NaN bounds skipped)."""
    edges = [0.0, *boundaries]
    for (name, colour), lo, hi in zip(PHASES, edges[:-1], edges[1:], strict=True):
        if np.isfinite(lo) and np.isfinite(hi) and hi > lo:
            for axis in axes:
                axis.axvspan(lo, hi, color=colour, alpha=0.35, lw=0, label=name if axis is axes[0] else None)


def progress_curves(
    observed: xr.Dataset, measured: xr.Dataset, boundaries: tuple[float, float, float], title: str = ""
) -> Figure:
    """One member: train/test loss (every log step) and the fixed-K restricted/excluded loss (snapshots),
    log scale; the Gini coefficients (snapshots) and Σθ²; the three phases shaded.

    `boundaries` = (end of memorisation, start of cleanup, end of cleanup); NaN ones are skipped.
    """
    fig, (ax, ax_g) = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    shade_phases((ax, ax_g), boundaries)
    for name, label, colour in OBSERVED:
        ax.plot(observed["step"], observed[name], color=colour, lw=1.5, label=label)
    for name, label, colour in MEASURED:
        ax.plot(measured["step"], measured[name], color=colour, lw=1.5, marker=".", ms=4, label=label)
    ax.set(yscale="log", xlabel="step", ylabel="cross-entropy loss", title=title or "progress measures")
    ax.legend(fontsize=7, ncol=2)
    for name, label, colour in GINIS:
        ax_g.plot(measured["step"], measured[name], color=colour, lw=1.5, marker=".", ms=4, label=label)
    ax_g.set(xlabel="step", ylabel="Gini coefficient", ylim=(0, 1))
    twin = ax_g.twinx()
    twin.plot(observed["step"], observed["weight_sq_sum"], color="k", lw=1.2, ls="--", label=r"$\sum\theta^2$")
    twin.set_ylabel(r"sum of squared weights (dashed)")
    ax_g.legend(fontsize=7, loc="upper left")
    return fig


def key_frequency_map(neurons: xr.DataArray, key_freqs: list[int], title: str = "") -> Figure:
    """Neurons per frequency (dims step, freq) as an image, the final model's key frequencies marked."""
    fig, ax = plt.subplots(figsize=(6, 4), constrained_layout=True)
    image = ax.pcolormesh(
        neurons["step"], neurons["freq"], neurons.transpose("freq", "step"), cmap="magma", shading="nearest"
    )
    fig.colorbar(image, ax=ax, label="neurons (≥ 85 % of energy at k)")
    last = float(neurons["step"].max())
    ax.plot([last] * len(key_freqs), key_freqs, ls="none", marker="<", color="C2", ms=8, clip_on=False,
            label="key frequencies K (final model)")
    ax.legend(fontsize=7, loc="upper left")
    ax.set(xlabel="step", ylabel="frequency k", title=title or "frequencies of the MLP neurons (snapshots)")
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
