"""Plotting functions: results in, matplotlib figures out (matplotlib and xarray only)."""

from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from toymodels.plots.curves import signal_trajectories, sweep_scatter, training_curves


def save_figure(fig: Figure, path: str | Path, dpi: int = 120) -> Path:
    """Write `fig` to `path` and close it (figures are never left open after saving)."""
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return Path(path)


__all__ = ["save_figure", "signal_trajectories", "sweep_scatter", "training_curves"]
