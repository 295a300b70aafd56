"""NumPy metrics shared by the tasks' `evaluate` methods (float64, no JAX needed)."""

from __future__ import annotations

import numpy as np

from toymodels.spec import require

BITS = 1.0 / np.log(2.0)  # nats → bits


def as_array(predictions, shape: tuple[int, ...], what: str) -> np.ndarray:
    """`predictions` as a float64 array of `shape` (one-line ConfigError otherwise)."""
    x = np.asarray(predictions, np.float64)
    require(x.shape == tuple(shape), f"{what} must have shape {tuple(shape)}, got {x.shape}")
    return x


def masked_mean(x: np.ndarray, mask: np.ndarray, axis=None) -> np.ndarray | float:
    """Σ_mask x / #mask (NaN where the mask is empty); a float when `axis` is None."""
    mask = np.asarray(mask, bool)
    n = mask.sum(axis)
    total = np.where(mask, x, 0.0).sum(axis)
    out = np.where(n > 0, total / np.maximum(n, 1), np.nan)
    return float(out) if axis is None else out


def cross_entropy(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """−log softmax(logits)[label] in nats, over the last axis of `logits`."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_z = np.log(np.exp(shifted).sum(axis=-1))
    return log_z - np.take_along_axis(shifted, labels[..., None].astype(np.int64), axis=-1)[..., 0]


def softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, x)


def classification(predictions, labels: np.ndarray, train: np.ndarray, n_classes: int) -> dict[str, float]:
    """train/test accuracy (and cross-entropy in nats when `predictions` are logits).

    predictions: logits (N, n_classes) or predicted class ids (N,), N = len(labels).
    """
    x = np.asarray(predictions)
    n = len(labels)
    if x.shape == (n,):
        require(np.issubdtype(x.dtype, np.integer), "class predictions (N,) must be integers")
        correct = (x == labels).astype(float)
        return {"train_acc": masked_mean(correct, train), "test_acc": masked_mean(correct, ~train)}
    logits = as_array(x, (n, n_classes), "predictions (logits)")
    ce = cross_entropy(logits, labels)
    correct = (np.argmax(logits, axis=-1) == labels).astype(float)
    return {"train_loss": masked_mean(ce, train), "test_loss": masked_mean(ce, ~train),
            "train_acc": masked_mean(correct, train), "test_acc": masked_mean(correct, ~train)}
