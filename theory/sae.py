"""Dictionary recovery metrics for sparse autoencoders with known ground truth.

MMCS  = (1/N) Σ_j max_m cos(f_j, d_m)                       (best match per true feature)
MCC   = (1/N) Σ_{(j,m) ∈ π} cos(f_j, d_m)                   (one-to-one matching π maximising the sum,
        `scipy.optimize.linear_sum_assignment`; unmatched true features count 0, so a dictionary
        smaller than N cannot reach 1)
dark matter = R² of the best linear map e ≈ A x + c predicting the SAE error e = x − x̂ from x,
        fitted on one half of a batch and scored on the other (Engels et al. 2024).
absorption = share of parent-and-child samples in which the parent's latent is silent while the
        child's latent fires and carries the parent's direction (after Chanin et al. 2024; `absorption`).
Matched-L0 values: interpolation of a metric over a sparsity sweep (`interpolate_at`, log-log).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment


def cosines(features: np.ndarray, decoder: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """cos(f_j, d_m) for the live atoms (mask > 0): (N, M_live)."""
    atoms = decoder[:, mask > 0]
    atoms = atoms / np.maximum(np.linalg.norm(atoms, axis=0, keepdims=True), 1e-12)
    return features @ atoms


def mcc(features: np.ndarray, decoder: np.ndarray, mask: np.ndarray) -> float:
    """Mean cosine under the best one-to-one matching of true features to atoms (unmatched = 0)."""
    c = cosines(features, decoder, mask)
    rows, cols = linear_sum_assignment(c, maximize=True)
    return float(c[rows, cols].sum() / len(features))


def dark_matter(x: np.ndarray, error: np.ndarray) -> float:
    """Out-of-sample R² of a linear map (with intercept) from x to the SAE error e."""
    half = len(x) // 2
    design = np.hstack([x, np.ones((len(x), 1))])
    coef, *_ = np.linalg.lstsq(design[:half], error[:half], rcond=None)
    residual = error[half:] - design[half:] @ coef
    spread = error[half:] - error[half:].mean(0)
    total = float((spread**2).sum())
    return 1.0 - float((residual**2).sum()) / total if total > 0 else float("nan")


def absorption(coefficients: np.ndarray, latents: np.ndarray, decoder: np.ndarray, features: np.ndarray,
               parent: np.ndarray, mask: np.ndarray, tau: float = 0.3) -> float:
    """Feature absorption on hierarchical features (after Chanin et al. 2024), mean over parents.

    For parent q, its latent ℓ_q and each child c's latent ℓ_c are the live atoms of largest cosine with
    f_q and f_c. Over the samples where q and one of its children c fire, the share in which ℓ_q is
    silent (z_{ℓ_q} = 0) while ℓ_c fires and carries the parent's direction (cos(d_{ℓ_c}, f_q) ≥ τ):
        A_q = #{q, c on; z_{ℓ_q} = 0; z_{ℓ_c} > 0; cos(d_{ℓ_c}, f_q) ≥ τ} / #{q, c on}.
    NaN when no parent fires with a child in the batch.
    """
    live = np.flatnonzero(mask > 0)
    c = cosines(features, decoder, mask)                       # (N, live)
    best = live[np.argmax(c, axis=1)]                          # each true feature's latent
    atoms = decoder / np.maximum(np.linalg.norm(decoder, axis=0, keepdims=True), 1e-12)
    rates = []
    for q in np.unique(parent[parent >= 0]):
        children = np.flatnonzero(parent == q)
        child_on = coefficients[:, children] > 0               # (B, C): at most one per row
        both = (coefficients[:, q] > 0) & child_on.any(1)
        if not both.any():
            continue
        child_latent = best[children][np.argmax(child_on, axis=1)]          # the active child's latent
        carries = features[q] @ atoms[:, child_latent] >= tau
        absorbed = (latents[:, best[q]] == 0) & (latents[np.arange(len(latents)), child_latent] > 0) & carries
        rates.append(absorbed[both].mean())
    return float(np.mean(rates)) if rates else float("nan")


def interpolate_at(x: np.ndarray, y: np.ndarray, target: float) -> float:
    """y at x = target by linear interpolation in (log x, log y) over the points sorted by x (finite,
    positive ones); NaN when target lies outside their range."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    keep = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    x, y = x[keep], y[keep]
    if len(x) == 0 or not x.min() <= target <= x.max():
        return float("nan")
    order = np.argsort(x)
    return float(np.exp(np.interp(np.log(target), np.log(x[order]), np.log(y[order]))))


def interpolate_linear_at(x: np.ndarray, y: np.ndarray, target: float) -> float:
    """y at x = target by linear interpolation in (log x, y) (for metrics that can be ≤ 0); NaN outside."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    keep = np.isfinite(x) & np.isfinite(y) & (x > 0)
    x, y = x[keep], y[keep]
    if len(x) == 0 or not x.min() <= target <= x.max():
        return float("nan")
    order = np.argsort(x)
    return float(np.interp(np.log(target), np.log(x[order]), y[order]))
