"""The three phases of grokking in the one-layer transformer (Nanda et al. 2023), from its curves.

Nanda et al. name three phases: memorisation (train loss falls, test loss stays high), circuit
formation (the Fourier circuit forms; restricted loss falls, excluded loss rises, test loss stays
high) and cleanup (weight decay removes the memorising components; test loss falls sharply). Their
boundaries are read off the curves of one member (every rule vectorised over members):

    t_memorised     = first step with train accuracy ≥ 0.99
    drop_step(L, q) = first step t ≥ argmax_{t ≥ t_memorised} L with
                      log L(t) ≤ log L_hi − q·(log L_hi − log L_lo),
                      L_hi = max of L from t_memorised on, L_lo = min of L after that maximum
    cleanup_start   = drop_step(test loss, 0.1)     (10 % of the log-drop: the plunge begins)
    cleanup_end     = drop_step(test loss, 0.9)     (90 % of the log-drop: the plunge is over)
Phases: memorisation [0, t_memorised], circuit formation [t_memorised, cleanup_start], cleanup
[cleanup_start, cleanup_end]. A step that never comes is NaN.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

MEMORISED_ACC = 0.99


def first_step(condition: xr.DataArray) -> xr.DataArray:
    """First `step` at which `condition` holds (NaN if never), for every member."""
    hit = condition.any("step")
    return condition["step"][condition.argmax("step")].where(hit).drop_vars("step", errors="ignore")


def _drop_step(log_loss: np.ndarray, steps: np.ndarray, start: float, fraction: float) -> float:
    """drop_step on one member's log-loss curve (see module docstring)."""
    if not np.isfinite(start):
        return np.nan
    after = (steps >= start) & np.isfinite(log_loss)
    if not after.any():
        return np.nan
    curve = np.where(after, log_loss, -np.inf)
    peak = int(np.argmax(curve))
    tail = np.where(
        np.arange(len(steps)) >= peak, np.where(np.isfinite(log_loss), log_loss, np.inf), np.inf
    )
    hi, lo = log_loss[peak], tail.min()
    below = tail <= hi - fraction * (hi - lo)
    return float(steps[int(np.argmax(below))]) if hi > lo else np.nan


def drop_step(loss: xr.DataArray, start: xr.DataArray, fraction: float) -> xr.DataArray:
    """First step after the peak (from `start` on) where log loss fell by `fraction` of its drop."""
    return xr.apply_ufunc(
        _drop_step,
        np.log(loss),
        loss["step"],
        start,
        fraction,
        input_core_dims=[["step"], ["step"], [], []],
        vectorize=True,
    )


@dataclass(frozen=True)
class ProgressPhases:
    """Phase boundaries (steps) per member: memorised → cleanup_start → cleanup_end."""

    memorised: xr.DataArray
    cleanup_start: xr.DataArray
    cleanup_end: xr.DataArray


def progress_phases(ds: xr.Dataset) -> ProgressPhases:
    """The three-phase boundaries of every member of a transformer run (module docstring)."""
    memorised = first_step(ds["train_acc"] >= MEMORISED_ACC)
    return ProgressPhases(
        memorised=memorised,
        cleanup_start=drop_step(ds["test_loss"], memorised, 0.1),
        cleanup_end=drop_step(ds["test_loss"], memorised, 0.9),
    )
