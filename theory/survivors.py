"""Which Fourier frequencies survive: predictions, baselines, scores and a held-out-seed protocol.

A prediction is a bool mask over `freq` per member. Sources:
* an ODE rollout Ŝ(t_h) at a horizon t_h, with the circle rule of `theory.circles` scaled by a
  factor c: k ≥ 1 survives when Ŝ_k > c · mean_{j=0..p−1} Ŝ_j (c = 2 is the paper's rule). A rollout
  that overflows (non-finite) predicts no survivor;
* a score per frequency, top m (`top_m`): the initial signal S_k(0), or the early gradient
  g_k = [S_k(4) − S_k(3)] / S_k(0) (the authors' definition), with m = the true number of survivors
  of that member (an oracle count: precision = recall for these baselines).
Scores: precision |P ∩ C| / |P| and recall |P ∩ C| / |C|, pooled over members, C = the circles of
the final recorded S. Protocol: seeds are split in two disjoint halves (`split_seeds`); every choice
(horizon, threshold factor, regularisation) is the candidate with the best min(precision, recall)
on the calibration half (ties: higher F1, then the earlier candidate), and is reported on the other.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import xarray as xr

from toymodels.spec import require
from toymodels.theory.circles import circle_threshold, circles


def rule_survivors(signal: xr.DataArray, p: int, factor: float = 2.0) -> xr.DataArray:
    """Bool (…, freq): S_k > (factor/2) · circle threshold, k ≥ 1 (non-finite members: none)."""
    require(factor > 0, f"threshold factor must be > 0, got {factor}")
    finite = np.isfinite(signal).all("freq")
    alive = signal > 0.5 * factor * circle_threshold(signal, p)
    return alive & finite & (signal["freq"] >= 1) & (2 * signal["freq"] != p)


def top_m(score: xr.DataArray, m: xr.DataArray) -> xr.DataArray:
    """Bool (…, freq): the m[member] frequencies k ≥ 1 with the largest score (ties: lower k)."""
    candidates = score.where(score["freq"] >= 1, -np.inf).transpose(..., "freq")
    ranks = np.argsort(np.argsort(-candidates.values, axis=-1, kind="stable"), axis=-1)
    return (candidates.copy(data=ranks) < m) & (candidates["freq"] >= 1)


@dataclass(frozen=True)
class SurvivorScore:
    """Precision/recall per member (DataArrays over member dims) and pooled over all members."""

    precision: xr.DataArray
    recall: xr.DataArray
    overall_precision: float
    overall_recall: float

    @property
    def worst(self) -> float:
        return min(self.overall_precision, self.overall_recall)

    @property
    def f1(self) -> float:
        p, r = self.overall_precision, self.overall_recall
        return 2 * p * r / (p + r) if p + r > 0 else 0.0


def score_survivors(predicted: xr.DataArray, actual: xr.DataArray) -> SurvivorScore:
    """Precision and recall of predicted survivors (bool over `freq`) against the actual ones.

    Pooled: a value is 0 when nothing is predicted (precision) or nothing survives (recall).
    """
    hits = (predicted & actual).sum("freq")
    n_pred, n_true = predicted.sum("freq"), actual.sum("freq")
    total_hits, total_pred, total_true = int(hits.sum()), int(n_pred.sum()), int(n_true.sum())
    return SurvivorScore(
        precision=(hits / n_pred.where(n_pred > 0)),
        recall=(hits / n_true.where(n_true > 0)),
        overall_precision=total_hits / total_pred if total_pred else 0.0,
        overall_recall=total_hits / total_true if total_true else 0.0,
    )


def split_seeds(seeds: Sequence[int]) -> tuple[list[int], list[int]]:
    """(calibration, held-out): alternate seeds in sorted order, so both halves span the range."""
    ordered = sorted(int(s) for s in seeds)
    require(len(ordered) >= 2, f"need >= 2 seeds to hold half of them out, got {len(ordered)}")
    return ordered[0::2], ordered[1::2]


def calibrate(candidates: Mapping[Hashable, xr.DataArray], actual: xr.DataArray) -> Hashable:
    """The candidate key whose prediction has the best min(precision, recall) (then F1, then order)."""
    require(len(candidates) > 0, "no candidates to choose from")
    best, best_value = None, None
    for key, predicted in candidates.items():
        score = score_survivors(predicted, actual)
        value = (score.worst, score.f1)
        if best_value is None or value > best_value:
            best, best_value = key, value
    return best


def settled(signal: xr.DataArray, p: int, fraction: float = 0.75) -> xr.DataArray:
    """Bool per member: the circles at the last record equal those at `fraction` of the run."""
    n = signal.sizes["step"]
    earlier = circles(signal.isel(step=int(round(fraction * (n - 1)))), p)
    return (earlier == circles(signal.isel(step=-1), p)).all("freq")


def linear_svm(x: np.ndarray, y: np.ndarray, c: float = 1.0) -> tuple[np.ndarray, float]:
    """Class-balanced L2-SVM (squared hinge, LinearSVC's default loss) on features x (n, f), labels y ∈ {0, 1}.

    min_{w, b} ½‖w‖² + C Σ_i c_i max(0, 1 − s_i (w·x_i + b))²,  s_i = ±1, c_i = n / (2 n_{class(i)})
    (SciPy L-BFGS; the objective is convex and differentiable). Returns (w, b).
    """
    from scipy.optimize import minimize

    x, s = np.asarray(x, float), np.where(np.asarray(y, bool), 1.0, -1.0)
    counts = {v: max(int(np.sum(s == v)), 1) for v in (-1.0, 1.0)}
    weight = np.array([len(s) / (2 * counts[v]) for v in s])

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = theta[:-1], theta[-1]
        slack = np.maximum(0.0, 1.0 - s * (x @ w + b))
        grad_margin = -2 * c * weight * slack * s
        return (0.5 * w @ w + c * np.sum(weight * slack**2),
                np.concatenate([w + x.T @ grad_margin, [grad_margin.sum()]]))

    theta = minimize(objective, np.zeros(x.shape[1] + 1), jac=True, method="L-BFGS-B").x
    return theta[:-1], float(theta[-1])


def separability(features: np.ndarray, survived: np.ndarray, test_fraction: float = 0.2,
                 seed: int = 42) -> float:
    """Held-out balanced accuracy of a linear SVM separating survivors from casualties.

    Features (n, f) are standardised on the training part; a random `test_fraction` of the points
    (the authors' 80/20 split, seed 42) is held out. Balanced accuracy = mean of the recall of
    survivors and of casualties (0.5 = chance whatever the class sizes). NaN if a class is missing.
    """
    features = np.asarray(features, float).reshape(len(survived), -1)
    survived = np.asarray(survived, bool)
    order = np.random.default_rng(seed).permutation(len(survived))
    n_test = max(1, int(round(test_fraction * len(survived))))
    test, train = order[:n_test], order[n_test:]
    if len(set(survived[train])) < 2 or len(set(survived[test])) < 2:
        return float("nan")
    mean, std = features[train].mean(0), features[train].std(0)
    std = np.where(std > 0, std, 1.0)
    w, b = linear_svm((features[train] - mean) / std, survived[train])
    predicted = ((features[test] - mean) / std) @ w + b > 0
    truth = survived[test]
    return float(0.5 * (np.mean(predicted[truth]) + np.mean(~predicted[~truth])))
