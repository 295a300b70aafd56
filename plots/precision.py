"""Figures of `precision-fit`: learning curves on a log RMSE axis down to 1e−15, and RMSE vs data
size for simplex interpolation and networks with the predicted D^{−2/d} slopes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

FLOOR = 1e-15


def learning_curves(curves: Mapping[str, Mapping[str, list]]) -> Figure:
    """Test RMSE vs step/iteration per method (seed medians), log-log, y down to 1e−15."""
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for i, (name, curve) in enumerate(curves.items()):
        x = np.asarray(curve["iteration"], float) + 1
        y = np.asarray([np.nan if v is None else v for v in curve["test_rmse"]], float)
        style = {"color": f"C{i}", "lw": 1.2, "ls": ":" if name.startswith("adam") else "-"}
        ax.plot(x, np.maximum(y, FLOOR), label=name, **style)
    ax.set(xscale="log", yscale="log", ylim=(FLOOR, None), xlabel="step / iteration + 1",
           ylabel="test RMSE (median over seeds)")
    ax.axhline(1e-12, color="0.6", lw=0.8, ls="--")
    ax.legend(fontsize=7, loc="lower left")
    fig.suptitle("precision-fit: learning curves (low-curvature and boosting start after BFGS)")
    fig.tight_layout()
    return fig


def scaling_panel(scaling: Mapping[str, Any]) -> Figure:
    """Test RMSE vs D: interpolation in d = 1, 2 with the D^{−2/d} guide lines; networks (d = 1)."""
    fig, ax = plt.subplots(figsize=(6.0, 4.2))
    for i, (d, entry) in enumerate(scaling["interpolation"].items()):
        x, y = np.asarray(entry["sizes"], float), np.asarray(entry["rmse"], float)
        fitted = entry["exponent"]["value"]
        ax.plot(x, y, "o-", color=f"C{i}", label=f"simplex interpolation d={d} (exponent {fitted:.2f})")
        ax.plot(x, y[0] * (x / x[0]) ** -entry["predicted"], "--", color=f"C{i}", lw=0.8,
                label=f"D^-{entry['predicted']:g}")
    for i, (activation, entry) in enumerate(scaling["networks"].items(), start=2):
        x, y = np.asarray(entry["sizes"], float), np.asarray(entry["rmse"], float)
        ax.plot(x, y, "s:", color=f"C{i}", label=f"{activation} 1-20-20-1, BFGS, d=1")
    ax.set(xscale="log", yscale="log", xlabel="data size D", ylabel="test RMSE (median over draws)")
    ax.legend(fontsize=7)
    fig.suptitle("precision-fit: RMSE vs data size")
    fig.tight_layout()
    return fig
