"""Non-modular addition over unordered pairs (Liu et al. 2022, "Towards Understanding Grokking").

Symbols 0..p−1; samples are the p(p+1)/2 unordered pairs (i, j) with i ≤ j (55 for p = 10),
label i + j ∈ 0..2p−2 (2p − 1 classes). The structure a model can learn is the parallelogram
i + j = m + n: an ideal linear representation E has E_i + E_j = E_m + E_n.

Two sets of parallelograms, both from the authors' code (`ejmichaud/grokking-squared`):
    P₀        = unordered pairs of distinct samples (i, j) ≠ (m, n) with i + j = m + n
                (70 for p = 10); its rows e_i + e_j − e_m − e_n form the matrix A_{P₀}.
    RQI set   = quadruples i < j ≤ m < n with i + n = j + m (70 for p = 10), used by RQI.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import jax
import jax.numpy as jnp
import numpy as np

from toymodels.spec import require
from toymodels.tasks.base import TaskData
from toymodels.tasks.metrics import classification
from toymodels.tasks.modular import split_key, train_mask


def pairs(p: int) -> tuple[np.ndarray, np.ndarray]:
    """(a, b) of the p(p+1)/2 samples a ≤ b, in lexicographic order."""
    a, b = np.triu_indices(p)
    return a.astype(np.int32), b.astype(np.int32)


def n_samples(p: int) -> int:
    return p * (p + 1) // 2


@cache
def parallelograms(p: int) -> np.ndarray:
    """P₀ as sample-index pairs (K, 2): samples s < t with a_s + b_s = a_t + b_t."""
    a, b = pairs(p)
    total = a + b
    s, t = np.triu_indices(len(a), k=1)
    keep = total[s] == total[t]
    return np.stack([s[keep], t[keep]], axis=1)


@cache
def parallelogram_matrix(p: int) -> np.ndarray:
    """A_{P₀} (K, p): row k = e_i + e_j − e_m − e_n for the k-th parallelogram of P₀."""
    a, b = pairs(p)
    s, t = parallelograms(p).T
    rows = np.zeros((len(s), p))
    k = np.arange(len(s))
    np.add.at(rows, (k, a[s]), 1.0)
    np.add.at(rows, (k, b[s]), 1.0)
    np.add.at(rows, (k, a[t]), -1.0)
    np.add.at(rows, (k, b[t]), -1.0)
    return rows


@cache
def rqi_quadruples(p: int) -> np.ndarray:
    """(Q, 4) symbols (i, j, m, n) with i < j ≤ m < n and i + n = j + m (RQI's parallelograms)."""
    i, j, m, n = np.meshgrid(*(np.arange(p),) * 4, indexing="ij")
    keep = (i < j) & (j <= m) & (m < n) & (i + n == j + m)
    return np.stack([i[keep], j[keep], m[keep], n[keep]], axis=1)


def sum_matrix(p: int) -> np.ndarray:
    """S (n_samples, p) with S[s, a_s] += 1 and S[s, b_s] += 1, so (S E)_s = E_a + E_b."""
    a, b = pairs(p)
    out = np.zeros((len(a), p), np.float32)
    np.add.at(out, (np.arange(len(a)), a), 1.0)
    np.add.at(out, (np.arange(len(a)), b), 1.0)
    return out


def split(key: jax.Array, p: int, fraction: jax.Array) -> jax.Array:
    """Train mask: floor(fraction · n_samples) samples drawn from the split stream of `key`."""
    return train_mask(split_key(key), n_samples(p), fraction)


@dataclass(frozen=True)
class AdditionPairsTask(TaskData):
    """All samples of p-symbol addition and one train/test split.

    a, b, labels, train: arrays of shape (p(p+1)/2,), a ≤ b, labels = a + b ∈ 0..2p−2.
    Metric: accuracy = mean(prediction == label) over the train or test samples (and the
    cross-entropy of logits over the 2p − 1 sums, as `GrokkingToy(loss="ce")` observes it).
    """

    p: int
    a: np.ndarray
    b: np.ndarray
    labels: np.ndarray
    train: np.ndarray

    def evaluate(self, predictions) -> dict[str, float]:
        """{train_acc, test_acc} of predicted sums (N,) ints, or also {train_loss, test_loss}
        (cross-entropy, nats) of logits (N, 2p − 1); N = p(p + 1)/2 in the order of `a`, `b`."""
        return classification(predictions, self.labels, self.train, 2 * self.p - 1)


def addition_pairs(p: int = 10, train_fraction: float = 0.82, seed: int = 0) -> AdditionPairsTask:
    """The task with the split a `GrokkingToy` member of seed `seed` uses.

    Default fraction 0.82: floor(0.82 · 55) = 45 training samples, the paper's `train_num`.
    """
    require(p >= 2, f"p must be >= 2, got {p}")
    require(0 < train_fraction <= 1, f"train_fraction must be in (0, 1], got {train_fraction}")
    a, b = pairs(p)
    mask = split(jax.random.PRNGKey(seed), p, jnp.float32(train_fraction))
    return AdditionPairsTask(p, a, b, a + b, np.asarray(mask))
