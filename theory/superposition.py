"""Superposition theory: the analytic phase diagram for n = 2, m = 1, phase classification of W,
dimensions per feature and the geometry of features in two dimensions.

Analytic phase diagram (Elhage et al. 2022, "Superposition as a Phase Change"). Two features,
x_i = U[0, 1) with probability p else 0, importance I_1 = 1, I_2 = r, one hidden dimension. The
paper compares the expected loss of the candidate configurations:

  not represented  W = (1, 0), b = (0, p/2):  only feature 2 is lost; the best constant output
                   for it is its mean E x_2 = p/2, leaving its variance:
                   L_0 = r (E x² − (E x)²) = r (p/3 − p²/4)
  dedicated        W = (0, 1), b = (p/2, 0):  feature 2 alone owns the dimension, feature 1 is lost:
                   L_1 = p/3 − p²/4
  superposition    W = (1, −1), b = 0 (antipodal): x' = (ReLU(x_1 − x_2), ReLU(x_2 − x_1)) is exact
                   unless both features are active (probability p²); then each output loses
                   min(x_1, x_2), and E min(U, V)² = ∫ 2(1 − t) t² dt = 1/6:
                   L_2 = (1 + r) p² / 6

The predicted phase is argmin_k L_k. Boundaries: L_0 = L_1 at r = 1; L_0 = L_2 at
r = 2p / (4 − 5p) (p < 4/5); L_1 = L_2 at r = 2/p − 5/2. Superposition wins between the last two,
i.e. at low density and r not far from 1; the band closes at r = 1, p = 4/7.

Empirical classification of one W (feature k, default the second): not represented when
‖W_k‖ < 1/2; else shared when its interference Σ_{j≠k} (Ŵ_k·W_j)² > 1/4 (another represented
feature shares its direction), else dedicated. A shared feature is in superposition (antipodal)
when its overlaps point away from it, Σ_{j≠k} Ŵ_k·W_j < 0, and "same-sign shared" otherwise: a
state trained models reach from inits with W_1·W_2 > 0 that is none of the paper's candidates.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

PHASES = ("not represented", "dedicated", "superposition", "same-sign shared")
REPRESENTED = 0.5          # ‖W_i‖ above which a feature counts as represented
SHARED = 0.25              # interference above which a represented feature is in superposition


def phase_losses(density, importance) -> np.ndarray:
    """Expected losses (L_0, L_1, L_2) of the three candidate configurations, stacked on axis 0."""
    p, r = np.broadcast_arrays(np.asarray(density, float), np.asarray(importance, float))
    lost = p / 3 - p**2 / 4
    return np.stack([r * lost, lost, (1 + r) * p**2 / 6])


def analytic_phase(density, importance) -> np.ndarray:
    """Index into PHASES of the configuration with the lowest expected loss."""
    return np.argmin(phase_losses(density, importance), axis=0)


def superposition_band(density) -> tuple[np.ndarray, np.ndarray]:
    """(r_low, r_high): superposition wins for r_low < r < r_high (empty when r_low ≥ r_high).

    r_low = 2p / (4 − 5p) (superposition vs not represented; +inf for p ≥ 4/5),
    r_high = 2/p − 5/2 (superposition vs dedicated).
    """
    p = np.asarray(density, float)
    with np.errstate(divide="ignore"):
        low = np.where(p < 0.8, 2 * p / np.where(p < 0.8, 4 - 5 * p, 1.0), np.inf)
    return low, 2 / p - 2.5


def classify(w: xr.DataArray, feature: int = 2, hidden: str = "hidden", dim: str = "feature") -> xr.DataArray:
    """Phase index (PHASES) of `feature` for every W in `w` (dims `hidden`, `dim`, any others).

    The analytic diagram has the first three phases only; the fourth never matches it.
    """
    wk = w.sel({dim: feature})
    norm = np.sqrt((wk**2).sum(hidden))
    unit = wk / norm.where(norm > 0, 1.0)
    overlaps = (unit * w).sum(hidden)
    interference = (overlaps**2).sum(dim) - norm**2
    away = overlaps.sum(dim) - norm < 0
    represented = norm >= REPRESENTED
    shared = interference > SHARED
    return xr.where(~represented, 0, xr.where(shared, xr.where(away, 2, 3), 1))


def dims_per_feature(w: xr.DataArray, hidden: str = "hidden", dim: str = "feature") -> xr.DataArray:
    """D* = m / ‖W‖²_F (hidden dimensions per represented feature; ‖W‖²_F counts features)."""
    return w.sizes[hidden] / (w**2).sum((hidden, dim))


FRACTIONS = (3 / 4, 2 / 3, 1 / 2, 2 / 5, 3 / 8)
FRACTION_LABELS = ("3/4", "2/3", "1/2", "2/5", "3/8")


def polygon(w: np.ndarray, threshold: float = REPRESENTED) -> dict[str, float]:
    """Geometry of features in two dimensions, W of shape (2, n).

    Returns the number of represented features (‖W_i‖ ≥ threshold) and, over their angles
    θ_i = atan2(W_2i, W_1i) sorted around the circle, the smallest and largest gap between
    neighbours (degrees). A regular k-gon has every gap equal to 360°/k.
    """
    w = np.asarray(w, float)
    keep = np.hypot(w[0], w[1]) >= threshold
    k = int(keep.sum())
    if k < 2:
        return {"represented": k, "min_gap_deg": float("nan"), "max_gap_deg": float("nan")}
    angles = np.sort(np.degrees(np.arctan2(w[1, keep], w[0, keep])) % 360)
    gaps = np.diff(np.append(angles, angles[0] + 360))
    return {"represented": k, "min_gap_deg": float(gaps.min()), "max_gap_deg": float(gaps.max())}


def plateau_mode(values: np.ndarray, window: tuple[float, float], bandwidth: float = 0.02) -> float:
    """Mode of a Gaussian kernel density of `values` on `window` (grid step 0.001); NaN if empty.

    On a log-spaced sweep of sparsity, the density of D* values peaks where D* changes slowest:
    the plateau ("sticky" value).
    """
    values = np.asarray(values, float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return float("nan")
    grid = np.arange(window[0], window[1] + 1e-9, 1e-3)
    density = np.exp(-0.5 * ((grid[:, None] - values[None, :]) / bandwidth) ** 2).sum(axis=1)
    return float(grid[np.argmax(density)])
