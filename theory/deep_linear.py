"""Exact learning dynamics of a two-layer linear network (Saxe, McClelland & Ganguli 2014, eq. 7).

For a mode with singular value s, balanced decoupled weights of strength u = a·b obey
τ du/dt = 2u(s − u), solved by

    u(t) = s e^{2st/τ} / (e^{2st/τ} − 1 + s/u₀),

and u reaches s/2 at t½ = (τ / 2s) ln(s/u₀ − 1): a mode's learning time grows as 1/s.
"""

from __future__ import annotations

import numpy as np
import xarray as xr


def exact_strength(t: np.ndarray, s: np.ndarray, u0: np.ndarray, tau: float = 1.0) -> np.ndarray:
    """u(t) = s e^{2st/τ} / (e^{2st/τ} − 1 + s/u₀), broadcast over t, s, u₀ (written stably for large t)."""
    decay = np.exp(-2.0 * s * t / tau)
    return s / (1.0 + (s / u0 - 1.0) * decay)


def half_time(s: np.ndarray, u0: np.ndarray, tau: float = 1.0) -> np.ndarray:
    """t½ = (τ / 2s) ln(s/u₀ − 1), the time at which u(t) = s/2 (NaN when u₀ ≥ s/2)."""
    ratio = np.asarray(s / u0 - 1.0, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(ratio > 1.0, tau / (2.0 * s) * np.log(ratio), np.nan)


def r_squared(simulated: xr.DataArray, exact: xr.DataArray, dims: tuple[str, ...]) -> xr.DataArray:
    """R² = 1 − Σ(sim − exact)² / Σ(sim − mean sim)² over `dims`."""
    residual = ((simulated - exact) ** 2).sum(dims)
    spread = ((simulated - simulated.mean(dims)) ** 2).sum(dims)
    return 1.0 - residual / spread
