"""Figure of the transformer phase diagram: how close each grokking run lies to the nearest memorizing and
the nearest comprehending run."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from toymodels.plots.phases import PHASE_COLOURS


def closeness_figure(to_memorization: np.ndarray, to_comprehension: np.ndarray, title: str = "") -> Figure:
    """Per grokking member: distance to the nearest memorizing member (x) vs to the nearest
    comprehending member (y), in grid steps; points above the diagonal are closer to memorization.
    Points are jittered by ≤ 0.05 so that members of one cell do not hide each other."""
    fig, ax = plt.subplots(figsize=(4.6, 4.2), constrained_layout=True)
    x, y = np.asarray(to_memorization, float), np.asarray(to_comprehension, float)
    jitter = np.random.default_rng(0).uniform(-0.05, 0.05, (2, len(x)))
    ax.scatter(x + jitter[0], y + jitter[1], s=18, color=PHASE_COLOURS["grokking"], alpha=0.7,
               label=f"{len(x)} grokking members")
    finite = np.concatenate([x[np.isfinite(x)], y[np.isfinite(y)], [1.0]])
    top = float(finite.max()) + 0.3
    ax.plot([0, top], [0, top], "k--", lw=0.8, label="equally close")
    ax.set(xlim=(-0.15, top), ylim=(-0.15, top), xlabel="distance to nearest memorization member (grid steps)",
           ylabel="distance to nearest comprehension member (grid steps)")
    ax.set_title(title, fontsize=8)
    ax.legend(fontsize=7, loc="lower right")
    return fig
