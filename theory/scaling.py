"""Power-law scaling and quanta emergence (Michaud et al. 2023, "The Quantization Model of
Neural Scaling").

Quanta used with frequency p_k ∝ k^{−(α+1)} and learned in order give, for the loss L against
parameters N, data D (multi-epoch) and steps S (single epoch):

    L − L_∞ ∝ N^{−α_N},  α_N = α;      L − L_∞ ∝ D^{−α_D},  L − L_∞ ∝ S^{−α_S},  α_D = α_S = α/(α+1)
    n_learned ∝ N  and  n_learned ∝ D^{1/(α+1)}, S^{1/(α+1)};    if S_k ∝ p_k^{−β}: α_S = α/(β(α+1))

This module is the one home of the power-law fit (the bootstrap is `toymodels.theory.estimate`):
    fit_power_law(x, y, offset=False) -> PowerLaw     L = a·x^{−e} (+ c), least squares on log L
    bootstrap_seeds(x, y_seeds) -> Exponent           resample seeds (rows), refit the seed mean
    bootstrap_points(x, y) -> Exponent                resample the fitted (x, y) points
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.optimize
import xarray as xr

from toymodels.theory.estimate import Estimate, bootstrap_interval, optional

LEARNED_BITS = 0.1  # a subtask is learned once its test loss is below 0.1 bits (paper, Fig A3)


@dataclass(frozen=True)
class PowerLaw:
    """L(x) = amplitude · x^{−exponent} + offset; `r2` is R² of log L."""

    amplitude: float
    exponent: float
    offset: float
    r2: float

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.amplitude * np.asarray(x, float) ** -self.exponent + self.offset


@dataclass(frozen=True)
class Exponent:
    """A fitted exponent, its percentile bootstrap interval (lo, hi) at `level`, the number n of
    resampled units (seeds or points, named by `resampled`) and the fit to the full data."""

    value: float
    lo: float
    hi: float
    n: int
    resampled: str
    fit: PowerLaw
    level: float = 0.95

    def estimate(self) -> Estimate:
        """The exponent as an `Estimate` (interval "bootstrap"; non-finite numbers as None)."""
        return Estimate(optional(self.value), optional(self.lo), optional(self.hi), self.n, "bootstrap", self.level)


def predicted_exponents(alpha: float) -> dict[str, float]:
    """α_N = α, α_D = α_S = α/(α+1), and the quanta-count exponent 1/(α+1) for D and S."""
    return {"alpha_N": alpha, "alpha_D": alpha / (alpha + 1), "alpha_S": alpha / (alpha + 1),
            "quanta_D": 1 / (alpha + 1), "quanta_S": 1 / (alpha + 1), "quanta_N": 1.0}


def r_squared(y: np.ndarray, prediction: np.ndarray) -> float:
    """1 − Σ(y − ŷ)² / Σ(y − ȳ)²."""
    total = np.sum((y - y.mean()) ** 2)
    return float(1 - np.sum((y - prediction) ** 2) / total) if total > 0 else float("nan")


def fit_power_law(x: np.ndarray, y: np.ndarray, offset: bool = False) -> PowerLaw:
    """Least-squares fit of log y = log(a·x^{−e} (+ c)); without offset, OLS of log y on log x.

    Points with non-finite or non-positive y are dropped; fewer than 2 (3 with offset) → NaNs.
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    keep = np.isfinite(y) & (y > 0) & np.isfinite(x) & (x > 0)
    x, y = x[keep], y[keep]
    if len(x) < (3 if offset else 2) or np.ptp(np.log(x)) == 0:
        return PowerLaw(np.nan, np.nan, 0.0, np.nan)
    slope, intercept = np.polyfit(np.log(x), np.log(y), 1)
    law = PowerLaw(float(np.exp(intercept)), float(-slope), 0.0, 0.0)
    if offset:
        def residuals(theta: np.ndarray) -> np.ndarray:
            a, e, c = np.exp(theta[0]), theta[1], theta[2]
            return np.log(np.maximum(a * x**-e + c, 1e-300)) - np.log(y)

        start = np.array([np.log(law.amplitude), law.exponent, 0.0])
        bounds = ([-np.inf, -np.inf, 0.0], [np.inf, np.inf, float(y.min())])
        theta = scipy.optimize.least_squares(residuals, start, bounds=bounds).x
        law = PowerLaw(float(np.exp(theta[0])), float(theta[1]), float(theta[2]), 0.0)
    return PowerLaw(law.amplitude, law.exponent, law.offset, r_squared(np.log(y), np.log(law(x))))


def bootstrap_seeds(x: np.ndarray, y: np.ndarray, offset: bool = False, samples: int = 1000,
                    level: float = 0.95, seed: int = 0) -> Exponent:
    """Exponent of the seed-mean curve of y (seeds × points) vs x; interval from resampling the
    seeds (rows) with replacement and refitting the seed-mean curve. Needs ≥ 2 seeds for an
    interval (one seed: lo = hi = NaN); an interval from fewer than 5 seeds is not a 95 % one."""
    x, y = np.asarray(x, float), np.atleast_2d(np.asarray(y, float))
    fit = fit_power_law(x, np.nanmean(y, axis=0), offset)

    def refit(rows: np.ndarray) -> float:
        return fit_power_law(x, np.nanmean(y[rows], axis=0), offset).exponent

    lo, hi = (bootstrap_interval(refit, y.shape[0], samples, level, seed) if y.shape[0] > 1
              else (float("nan"), float("nan")))
    return Exponent(fit.exponent, lo, hi, y.shape[0], "seeds", fit, level)


def bootstrap_points(x: np.ndarray, y: np.ndarray, offset: bool = False, samples: int = 1000,
                     level: float = 0.95, seed: int = 0) -> Exponent:
    """Exponent of y vs x (both flat: one fitted point each, e.g. every (seed, x) pair) with an
    interval from resampling the (x, y) points with replacement (the pairs bootstrap)."""
    x, y = np.ravel(np.asarray(x, float)), np.ravel(np.asarray(y, float))
    fit = fit_power_law(x, y, offset)

    def refit(points: np.ndarray) -> float:
        return fit_power_law(x[points], y[points], offset).exponent

    lo, hi = bootstrap_interval(refit, len(x), samples, level, seed)
    return Exponent(fit.exponent, lo, hi, len(x), "points", fit, level)


def learned_step(subtask_loss: xr.DataArray, threshold: float = LEARNED_BITS) -> xr.DataArray:
    """S_k: the first logged step with subtask loss < threshold (bits); NaN if never."""
    below = subtask_loss < threshold
    first = subtask_loss["step"].isel(step=below.argmax("step"))
    return first.where(below.any("step")).drop_vars("step", errors="ignore")


def quanta_learned(subtask_loss: xr.DataArray, threshold: float = LEARNED_BITS) -> xr.DataArray:
    """Number of subtasks with loss < threshold (bits), summed over dim `subtask`."""
    return (subtask_loss < threshold).sum("subtask")


def learned_points(steps: xr.DataArray, probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(p_k, S_k) of every learned (finite, > 0) S_k, members pooled: the points of the β fit
    S_k ∝ p_k^{−β} (β = fit_power_law(p, S).exponent, or bootstrap_points(p, S)).

    `steps` has dim `subtask` (and any member dims); `probs` is p_k along `subtask`.
    """
    p = (xr.DataArray(np.asarray(probs), dims="subtask") * xr.ones_like(steps)).transpose(*steps.dims)
    keep = np.isfinite(steps.values) & (steps.values > 0)
    return p.values[keep], steps.values[keep]
