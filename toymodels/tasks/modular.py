"""Modular arithmetic: c = a ∘ b (mod p) over all p² ordered pairs (Ding et al. 2024, Nanda et al. 2023)."""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from toymodels.spec import require
from toymodels.tasks.base import TaskData
from toymodels.tasks.metrics import classification

OPERATIONS = ("add", "subtract", "multiply")
SPLIT_STREAM = 1  # fold_in(PRNGKey(seed), SPLIT_STREAM) draws the train/test split


def operation_table(p: int, op: str) -> np.ndarray:
    """labels[a·p + b] = (a + b), (a − b) or (a·b) mod p, for all p² ordered pairs."""
    a, b = np.divmod(np.arange(p * p), p)
    result = {"add": a + b, "subtract": a - b, "multiply": a * b}[op]
    return np.mod(result, p).astype(np.int32)


def train_mask(key: jax.Array, n: int, fraction: jax.Array) -> jax.Array:
    """Boolean (n,) mask with floor(fraction·n) entries set, chosen uniformly at random.

    `fraction` may be traced (per-member train fractions share one shape).
    """
    rank = jnp.argsort(jax.random.permutation(key, n))
    return rank < jnp.floor(fraction * n + 1e-6).astype(jnp.int32)


def split_key(seed_key: jax.Array) -> jax.Array:
    return jax.random.fold_in(seed_key, SPLIT_STREAM)


@dataclass(frozen=True)
class ModularTask(TaskData):
    """All p² pairs of a modular operation and one train/test split.

    a, b, labels, train: int/int/int/bool arrays of shape (p²,), ordered by index a·p + b.
    Metric: accuracy = mean(argmax logits == labels) over the train or test pairs; cross-entropy
    (nats) of the logits, as `ModularMLP` and `Transformer` observe them.
    """

    p: int
    op: str
    a: np.ndarray
    b: np.ndarray
    labels: np.ndarray
    train: np.ndarray

    @staticmethod
    def accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
        return float(np.mean(np.argmax(logits, axis=-1) == labels))

    def evaluate(self, predictions) -> dict[str, float]:
        """{train_acc, test_acc} and, for logits, {train_loss, test_loss} (cross-entropy, nats).

        predictions: logits (p², p) or (p, p, p) indexed [a, b], or predicted labels (p²,) ints.
        """
        x = np.asarray(predictions)
        if x.shape == (self.p, self.p, self.p):
            x = x.reshape(self.p * self.p, self.p)
        return classification(x, self.labels, self.train, self.p)


def modular_arithmetic(p: int = 59, op: str = "add", train_fraction: float = 0.8, seed: int = 0) -> ModularTask:
    """The modular-arithmetic task with the same split a training member of seed `seed` uses."""
    require(p >= 3, f"p must be >= 3, got {p}")
    require(op in OPERATIONS, f"op must be one of {', '.join(OPERATIONS)}, got {op!r}")
    require(0 < train_fraction <= 1, f"train_fraction must be in (0, 1], got {train_fraction}")
    a, b = np.divmod(np.arange(p * p), p)
    mask = train_mask(split_key(jax.random.PRNGKey(seed)), p * p, jnp.float32(train_fraction))
    return ModularTask(p, op, a.astype(np.int32), b.astype(np.int32), operation_table(p, op), np.asarray(mask))
