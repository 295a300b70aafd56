"""Figures of the Fourier circles of modular arithmetic vs p: circle counts with their ln p trend,
and loss / accuracy as the strongest circles are kept one by one (Ding et al. 2024)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter


def circles_vs_p_figure(primes: np.ndarray, counts: np.ndarray, slope: float | None,
                        lo: float | None, hi: float | None) -> Figure:
    """Circles of every member (dots) and their mean (markers) vs p (rows of `counts`: p, columns:
    seeds), with the least-squares line a + b·ln p through the means' centre of mass."""
    fig, ax = plt.subplots(figsize=(5.5, 3.8), constrained_layout=True)
    primes = np.asarray(primes, float)
    jitter = np.linspace(-0.15, 0.15, counts.shape[1]) if counts.shape[1] > 1 else np.zeros(1)
    for row, p in zip(counts, primes, strict=True):
        ax.plot(p + jitter * p / 30, row, ".", color="0.6", ms=5)
    means = np.nanmean(counts, axis=1)
    ax.plot(primes, means, "o", color="C0", label="mean over seeds")
    if slope is not None:
        x = np.log(primes)
        keep = np.isfinite(means)
        centre = np.mean(means[keep]) - slope * np.mean(x[keep])
        grid = np.geomspace(primes.min(), primes.max(), 50)
        ci = f" [{lo:.2f}, {hi:.2f}]" if lo is not None and hi is not None else ""
        ax.plot(grid, centre + slope * np.log(grid), "-", color="C1", label=f"slope per ln p {slope:.2f}{ci}")
    ax.set(xscale="log", xlabel="prime p", ylabel="circles of the final embedding")
    ax.set_xticks(primes, [f"{p:g}" for p in primes])
    ax.xaxis.set_minor_formatter(NullFormatter())
    fig.suptitle("circles of the final embedding vs prime p", fontsize=9)
    ax.legend(fontsize=7)
    return fig


def collaboration_figure(kept: Sequence[int], loss: Sequence[Any], accuracy: Sequence[Any],
                         full_loss: Any, full_accuracy: Any, title: str = "") -> Figure:
    """Cross-entropy and accuracy on all pairs vs the number m of strongest circles kept (mean and
    95 % interval of `Estimate`s), the untouched embedding as a dashed line."""
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.4), constrained_layout=True)
    for ax, estimates, full, label in ((axes[0], loss, full_loss, "loss (nats), all p² pairs"),
                                       (axes[1], accuracy, full_accuracy, "accuracy, all p² pairs")):
        value = np.array([np.nan if e.value is None else e.value for e in estimates])
        low = np.array([np.nan if e.lo is None else e.lo for e in estimates])
        high = np.array([np.nan if e.hi is None else e.hi for e in estimates])
        ax.errorbar(kept, value, yerr=[value - low, high - value], fmt="o-", capsize=3)
        if full.value is not None:
            ax.axhline(full.value, ls="--", color="0.4", label="all frequencies")
            ax.legend(fontsize=7)
        ax.set(xlabel="strongest circles kept", ylabel=label, xticks=list(kept))
    if title:
        fig.suptitle(title, fontsize=9)
    return fig
