"""Dictionary recovery metrics for sparse autoencoders with known ground truth.

MMCS  = (1/N) Σ_j max_m cos(f_j, d_m)                       (best match per true feature)
MCC   = (1/N) Σ_{(j,m) ∈ π} cos(f_j, d_m)                   (one-to-one matching π maximising the sum,
        `scipy.optimize.linear_sum_assignment`; unmatched true features count 0, so a dictionary
        smaller than N cannot reach 1)
dark matter = R² of the best linear map e ≈ A x + c predicting the SAE error e = x − x̂ from x,
        fitted on one half of a batch and scored on the other (Engels et al. 2024).
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
