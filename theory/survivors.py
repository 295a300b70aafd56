"""Which Fourier frequencies survive: predicted from an early-window ODE fit, scored vs circles.

Prediction: fit the linear one-step model x(t+1) − x(t) = A x(t) + b (theory.odes) to S_k(t),
k = 0..⌊p/2⌋, over the first `window` records; roll it out from S(t_0) up to record `horizon`
(default: the last record, a long integration); apply the circle rule of theory.circles
(S_k > 2·mean_j S_j) to the rolled-out signal. k = 0 is fitted too because the rule's threshold
includes S_0. Score: precision = |P ∩ C| / |P|, recall = |P ∩ C| / |C| per member (NaN when the
denominator is 0) and overall (pooled counts over members), C = circles of the final recorded S.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from toymodels.spec import require
from toymodels.theory.circles import circles
from toymodels.theory.odes import fit_linear, linear_rollout


def predict_survivors(signal: xr.DataArray, p: int, window: int, alpha: float = 0.0,
                      horizon: int | None = None) -> xr.DataArray:
    """Bool (…members, freq): circles of the linear fit's rollout at record `horizon`."""
    n = signal.sizes["step"]
    horizon = n - 1 if horizon is None else horizon
    require(3 <= window <= n, f"window must be in [3, {n}] records, got {window}")
    require(horizon >= 0, f"horizon must be >= 0, got {horizon}")
    fit = fit_linear(signal.isel(step=slice(0, window)), "freq", alpha)
    n_var = signal.sizes["freq"]
    start = signal.isel(step=0).transpose(*fit.b.dims).values.reshape(-1, n_var)
    with np.errstate(over="ignore", invalid="ignore"):
        a = fit.a.values.reshape(-1, n_var, n_var)
        path = linear_rollout(a, fit.b.values.reshape(-1, n_var), start.astype(np.float64),
                              horizon + 1)
    x = path[:, -1].reshape(fit.b.shape)
    finite = np.where(np.isfinite(x), x, np.inf)
    predicted = xr.DataArray(finite, dims=fit.b.dims, coords=fit.b.coords)
    return circles(predicted, p)


@dataclass(frozen=True)
class SurvivorScore:
    """Precision/recall per member (DataArrays over member dims) and pooled over all members."""

    precision: xr.DataArray
    recall: xr.DataArray
    overall_precision: float
    overall_recall: float


def score_survivors(predicted: xr.DataArray, actual: xr.DataArray) -> SurvivorScore:
    """Precision and recall of predicted survivors (bool over `freq`) against the actual ones."""
    hits = (predicted & actual).sum("freq")
    n_pred, n_true = predicted.sum("freq"), actual.sum("freq")
    total_hits = int(hits.sum())
    return SurvivorScore(
        precision=(hits / n_pred.where(n_pred > 0)),
        recall=(hits / n_true.where(n_true > 0)),
        overall_precision=total_hits / int(n_pred.sum()) if int(n_pred.sum()) else float("nan"),
        overall_recall=total_hits / int(n_true.sum()) if int(n_true.sum()) else float("nan"),
    )
