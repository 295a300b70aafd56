"""Composition in the symmetric group S_n (Liu et al. 2022, Fig. 6d: "permutation regression").

Elements: the n! permutations of (0, …, n−1) in lexicographic order (`itertools.permutations`,
the order of the authors' `permutation(lst)` in `toy/Figure5d_permutation.ipynb`); element k is the
tuple σ_k. Samples: all (n!)² ordered pairs (a, b), row-major (sample s = a · n! + b); label the
index of the product

    a ∘ b := σ_b[σ_a],   i.e. (a ∘ b)(k) = σ_b(σ_a(k))   (the authors' `p_out = p2[p1]`).

The structure a model can learn is the parallelogram a ∘ b = c ∘ d: with a faithful representation
L_k = the permutation matrix of σ_k (L_a L_b = the matrix of a ∘ b), every such pair of samples
has L_a L_b = L_c L_d. `parallelograms(n)` lists them as the authors' P₀: unordered pairs of
distinct samples with the same product, (K, 4) rows (a, b, c, d), sample(a, b) < sample(c, d);
K = n!·C(n!, 2) (90 for S_3). RQI counts the share of them the learned representation satisfies.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from functools import cache

import jax
import jax.numpy as jnp
import numpy as np

from toymodels.spec import require
from toymodels.tasks.base import TaskData
from toymodels.tasks.metrics import classification
from toymodels.tasks.modular import split_key, train_mask
from toymodels.tasks.registry import TaskEntry, register


@cache
def elements(n: int) -> np.ndarray:
    """(n!, n) int: the permutations of 0..n−1 in lexicographic order."""
    return np.array(list(itertools.permutations(range(n))), dtype=np.int32)


@cache
def product_table(n: int) -> np.ndarray:
    """(n!, n!) int: T[a, b] = index of σ_b[σ_a] (a ∘ b, see the module docstring)."""
    perms = elements(n)
    index = {tuple(p): k for k, p in enumerate(perms.tolist())}
    return np.array([[index[tuple(perms[b][perms[a]].tolist())] for b in range(len(perms))]
                     for a in range(len(perms))], dtype=np.int32)


def order(n: int) -> int:
    """|S_n| = n!."""
    return math.factorial(n)


def n_samples(n: int) -> int:
    return order(n) ** 2


def pairs(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(a, b) of the (n!)² ordered samples, row-major."""
    a, b = np.divmod(np.arange(n_samples(n)), order(n))
    return a.astype(np.int32), b.astype(np.int32)


def labels(n: int) -> np.ndarray:
    """(n!)² ints: the product index of each sample."""
    a, b = pairs(n)
    return product_table(n)[a, b]


@cache
def parallelograms(n: int) -> np.ndarray:
    """P₀: (K, 4) rows (a, b, c, d) with a ∘ b = c ∘ d for samples s = (a, b) < t = (c, d)."""
    a, b = pairs(n)
    y = labels(n)
    s, t = np.triu_indices(len(y), k=1)
    keep = y[s] == y[t]
    return np.stack([a[s[keep]], b[s[keep]], a[t[keep]], b[t[keep]]], axis=1).astype(np.int32)


def permutation_matrices(n: int) -> np.ndarray:
    """(n!, n, n): M_k with (M_a M_b) = M_{a ∘ b}, i.e. M_k[i, σ_k(i)] = 1 (a faithful representation)."""
    perms = elements(n)
    out = np.zeros((len(perms), n, n), np.float32)
    out[np.arange(len(perms))[:, None], np.arange(n)[None], perms] = 1.0
    return out


def split(key: jax.Array, n: int, fraction: jax.Array) -> jax.Array:
    """Train mask: floor(fraction · (n!)²) samples drawn from the split stream of `key` (the same
    rule and stream as `addition_pairs.split`)."""
    return train_mask(split_key(key), n_samples(n), fraction)


@dataclass(frozen=True)
class PermutationPairsTask(TaskData):
    """All ordered pairs of S_n and one train/test split.

    a, b, labels, train: arrays of shape ((n!)²,), labels = index of a ∘ b ∈ 0..n!−1.
    Metric: accuracy of predicted product indices (and the cross-entropy of logits over the n!
    elements) on the train and test samples.
    """

    n: int
    a: np.ndarray
    b: np.ndarray
    labels: np.ndarray
    train: np.ndarray

    def evaluate(self, predictions) -> dict[str, float]:
        """{train_acc, test_acc} of predicted products ((n!)²,) ints, or also {train_loss, test_loss}
        of logits ((n!)², n!); samples in the order of `a`, `b`."""
        return classification(predictions, self.labels, self.train, order(self.n))


def permutation_pairs(n: int = 3, train_fraction: float = 0.67, seed: int = 0) -> PermutationPairsTask:
    """The task with the split a `GrokkingToy(group="permutation", p=n)` member of seed `seed` uses
    (split_seed = −1). Default fraction 0.67: floor(0.67 · 36) = 24 training samples, the authors'
    `train_num` for S_3."""
    require(2 <= n <= 5, f"n must be between 2 and 5, got {n}")
    require(0 < train_fraction <= 1, f"train_fraction must be in (0, 1], got {train_fraction}")
    a, b = pairs(n)
    mask = split(jax.random.PRNGKey(seed), n, jnp.float32(train_fraction))
    return PermutationPairsTask(n, a, b, labels(n), np.asarray(mask))


ENTRY = register(TaskEntry(
    "permutation-pairs-v1", permutation_pairs,
    "a ∘ b over all ordered pairs of the symmetric group S_n (Liu et al. 2022, Fig. 6d)",
    "GrokkingToy(group='permutation')", ("train_acc", "test_acc", "train_loss", "test_loss")))
