"""Plotting functions: results in, matplotlib figures out (matplotlib and xarray only)."""

from toymodels.plots.curves import signal_trajectories, sweep_scatter, training_curves

__all__ = ["signal_trajectories", "sweep_scatter", "training_curves"]
