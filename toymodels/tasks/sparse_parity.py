"""Multitask sparse parity (Michaud, Liu, Girit, Tegmark 2023, "The Quantization Model of Neural
Scaling").

    x = [control ∈ {0,1}^{n_tasks} one-hot of task i,  bits ∈ {0,1}^n i.i.d. uniform]
    y = (Σ_{j ∈ S_i} bits_j) mod 2,    S_0 … S_{n_tasks−1}: distinct random k-subsets of {0..n−1}
    P(task i) = (i + 1)^{−(α+1)} / Σ_{j=1}^{n_tasks} j^{−(α+1)}   (task i is 0-based, rank i + 1)

α is the *paper's* Zipf exponent. Convention trap: the authors' code (`sparse-parity-v4.py`) calls
the exponent α + 1 `alpha` (their `alpha=1.4` is the paper's α = 0.4); `code_alpha(α)` converts.
The rank `offset` of their ablations is not implemented.

Randomness comes from `PRNGKey(seed)` split into streams (`fold_in(key, STREAM)`) so that a training
member of seed s and `multitask_sparse_parity(seed=s)` see the same subsets and the same dataset:
SUBSETS draws the subsets, DATA (folded with the sample number) the finite dataset, TRAIN (folded
with the step) the online batches, TEST the fixed per-task test sets. Deviation from the code,
stated: subsets are drawn as n_tasks distinct ranks of the C(n, k) subsets (uniform over sets of
distinct subsets, like the code's rejection sampling with Python `random`, but another stream).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from toymodels.spec import require
from toymodels.tasks.base import TaskData
from toymodels.tasks.metrics import BITS, as_array, cross_entropy

SUBSETS, DATA, TRAIN, TEST = 1, 2, 3, 4


def code_alpha(alpha: float) -> float:
    """The authors' code's `alpha` for the paper's α: the exponent α + 1 of P ∝ i^{−(α+1)}."""
    return alpha + 1.0


def task_probabilities(n_tasks: int, alpha: jax.Array | float) -> jax.Array:
    """p_i = (i + 1)^{−(α+1)} / Σ_{j=1}^{n_tasks} j^{−(α+1)}, i = 0..n_tasks−1 (α may be traced)."""
    weights = jnp.arange(1, n_tasks + 1, dtype=jnp.float32) ** -(alpha + 1.0)
    return weights / weights.sum()


def check_sizes(n_tasks: int, n: int, k: int) -> None:
    """Validate (n_tasks, n, k): 1 ≤ k ≤ n and n_tasks distinct k-subsets exist (C(n, k) < 2³¹)."""
    require(n_tasks >= 1, f"n_tasks must be >= 1, got {n_tasks}")
    require(n >= 1, f"n must be >= 1, got {n}")
    require(1 <= k <= n, f"k must be in 1..n ({n}), got {k}")
    require(math.comb(n, k) < 2**31, f"C(n, k) = C({n}, {k}) is too large (must be < 2^31)")
    require(n_tasks <= math.comb(n, k),
            f"n_tasks ({n_tasks}) exceeds the number of distinct {k}-subsets of {n} bits")


def draw_subsets(key: jax.Array, n_tasks: int, n: int, k: int) -> jax.Array:
    """(n_tasks, k) sorted bit indices: n_tasks distinct uniformly random k-subsets of {0..n−1}.

    Draws distinct ranks r of the colex order and unranks them: the largest c with C(c, j) ≤ r is
    the j-th element, r ← r − C(c, j), for j = k..1 (the combinatorial number system).
    """
    ranks = jax.random.choice(key, math.comb(n, k), (n_tasks,), replace=False)
    binom = jnp.asarray([[math.comb(c, j) for j in range(k + 1)] for c in range(n)], jnp.int32)
    elements = []
    for j in range(k, 0, -1):
        c = jnp.sum(binom[None, :, j] <= ranks[:, None], axis=1) - 1
        elements.append(c)
        ranks = ranks - binom[c, j]
    return jnp.sort(jnp.stack(elements, axis=1), axis=1).astype(jnp.int32)


def parity(bits: jax.Array, subsets: jax.Array, tasks: jax.Array) -> jax.Array:
    """y_b = (Σ_{j ∈ S_{task_b}} bits_{b, j}) mod 2 for bits (B, n) and tasks (B,)."""
    chosen = jnp.take_along_axis(bits, subsets[tasks], axis=1)
    return (chosen.sum(axis=1) % 2).astype(jnp.int32)


def inputs(tasks: jax.Array, bits: jax.Array, n_tasks: int) -> jax.Array:
    """x = [one-hot(task) ‖ bits] as float32, shape (B, n_tasks + n); control code first."""
    return jnp.concatenate([jax.nn.one_hot(tasks, n_tasks), bits.astype(jnp.float32)], axis=1)


def sample_tasks(key: jax.Array, probs: jax.Array, size: int) -> jax.Array:
    """Task ids ~ P(task i) = probs_i, by inverse CDF: searchsorted(cumsum(p), U), U ~ U(0, 1)."""
    u = jax.random.uniform(key, (size,))
    return jnp.minimum(jnp.searchsorted(jnp.cumsum(probs), u), probs.shape[0] - 1).astype(jnp.int32)


def random_bits(key: jax.Array, shape: tuple[int, ...], n: int) -> jax.Array:
    """(*shape, n) i.i.d. uniform bits, uint8: bit j = ⌊w_{⌊j/32⌋} / 2^{j mod 32}⌋ mod 2 of uniform
    32-bit words w — one random word per 32 bits (Bernoulli(½) draws cost one word each on CPU)."""
    words = jax.random.bits(key, (*shape, -(-n // 32)), jnp.uint32)
    bits = (words[..., None] >> jnp.arange(32, dtype=jnp.uint32)) & 1
    return bits.reshape(*shape, -1)[..., :n].astype(jnp.uint8)


def sample(key: jax.Array, probs: jax.Array, size: int, n: int) -> tuple[jax.Array, jax.Array]:
    """`size` samples of the task mixture: (task ids (size,), task bits (size, n) uint8)."""
    task_key, bit_key = jax.random.split(key)
    return sample_tasks(task_key, probs, size), random_bits(bit_key, (size,), n)


def indexed_samples(key: jax.Array, probs: jax.Array, index: jax.Array,
                    n: int) -> tuple[jax.Array, jax.Array]:
    """Samples number `index` (B,) of the finite dataset drawn with `key`: sample j comes from
    fold_in(key, j) alone, so the first D samples are the same for every D (no buffer is stored)."""
    cdf = jnp.cumsum(probs)

    def one(j: jax.Array) -> tuple[jax.Array, jax.Array]:
        task_key, bit_key = jax.random.split(jax.random.fold_in(key, j))
        task = jnp.minimum(jnp.searchsorted(cdf, jax.random.uniform(task_key)), probs.shape[0] - 1)
        return task.astype(jnp.int32), random_bits(bit_key, (), n)

    return jax.vmap(one)(index)


def per_task_bits(key: jax.Array, n_tasks: int, per_task: int, n: int) -> jax.Array:
    """Task bits of the exact per-task test sets: (n_tasks, per_task, n) uint8, task i in row i."""
    return random_bits(key, (n_tasks, per_task), n)


@dataclass(frozen=True)
class SparseParityTask(TaskData):
    """One draw of multitask sparse parity.

    subsets (n_tasks, k) int; probs (n_tasks,) = P(task i);
    train_x (D, n_tasks + n) uint8, train_y (D,) int, train_task (D,) int — the finite dataset;
    test_x (n_tasks, per_task, n_tasks + n) uint8, test_y (n_tasks, per_task) — per-task test sets.
    Metric: cross-entropy in bits of 2 logits; chance = 1 bit; Bayes loss 0 for every task.
    Stream: `sample(key, batch)` (jittable, `batch` static) draws an online batch;
    `step_key(t)` is the key of step t of a `SparseParityMLP` member of seed `seed`.
    """

    alpha: float
    subsets: np.ndarray
    probs: np.ndarray
    train_x: np.ndarray
    train_y: np.ndarray
    train_task: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    seed: int = 0

    @property
    def n_tasks(self) -> int:
        return len(self.probs)

    @property
    def n(self) -> int:
        return self.train_x.shape[1] - self.n_tasks

    def step_key(self, step: int | jax.Array) -> jax.Array:
        """fold_in(fold_in(PRNGKey(seed), TRAIN), step): the online batch key of training step `step`."""
        return jax.random.fold_in(jax.random.fold_in(jax.random.PRNGKey(self.seed), TRAIN), step)

    def sample(self, key: jax.Array, batch: int) -> tuple[jax.Array, jax.Array, jax.Array]:
        """(x (batch, n_tasks + n) float32, y (batch,) int32, task ids (batch,)): a fresh online
        batch, pure JAX (jit with `batch` static: `jax.jit(task.sample, static_argnums=1)`)."""
        tasks, bits = sample(key, jnp.asarray(self.probs), batch, self.n)
        return (inputs(tasks, bits, self.n_tasks), parity(bits, jnp.asarray(self.subsets), tasks),
                tasks)

    def evaluate(self, predictions) -> dict:
        """Metrics of logits (n_tasks, test_per_task, 2) on `test_x`, as `SparseParityMLP` observes:
        subtask_loss (n_tasks,) mean CE in bits, subtask_acc (n_tasks,), and their
        frequency-weighted means test_loss = Σ_i p_i subtask_loss_i, test_acc."""
        logits = as_array(predictions, (*self.test_y.shape, 2), "predictions (logits)")
        loss = BITS * cross_entropy(logits, self.test_y).mean(axis=1)
        acc = (np.argmax(logits, axis=-1) == self.test_y).mean(axis=1)
        probs = self.probs.astype(np.float64) / self.probs.astype(np.float64).sum()
        return {"test_loss": float(probs @ loss), "test_acc": float(probs @ acc),
                "subtask_loss": loss, "subtask_acc": acc}


def multitask_sparse_parity(
    n_tasks: int = 500, n: int = 100, k: int = 3, alpha: float = 0.4, samples: int = 1000,
    test_per_task: int = 100, seed: int = 0,
) -> SparseParityTask:
    """The task as a training member of seed `seed` sees it: its subsets, its finite dataset of
    `samples` examples (a member with `data` = D uses the first D of them) and the fixed test sets
    of `test_per_task` samples per task.
    `alpha` is the paper's α (the code's `alpha` is α + 1)."""
    check_sizes(n_tasks, n, k)
    require(alpha > 0, f"alpha must be > 0, got {alpha}")
    require(samples >= 1, f"samples must be >= 1, got {samples}")
    require(test_per_task >= 1, f"test_per_task must be >= 1, got {test_per_task}")
    arrays = draw_task(jax.random.PRNGKey(seed), jnp.float32(alpha), n_tasks, n, k, samples,
                       test_per_task)
    return SparseParityTask(alpha, *(np.asarray(a) for a in arrays), seed=seed)


@partial(jax.jit, static_argnums=(2, 3, 4, 5, 6))
def draw_task(key: jax.Array, alpha: jax.Array, n_tasks: int, n: int, k: int, samples: int,
              test_per_task: int) -> tuple[jax.Array, ...]:
    """The arrays of `SparseParityTask` (after `alpha`) from one seed key, compiled once per shape."""
    subsets = draw_subsets(jax.random.fold_in(key, SUBSETS), n_tasks, n, k)
    probs = task_probabilities(n_tasks, alpha)
    tasks, bits = indexed_samples(jax.random.fold_in(key, DATA), probs, jnp.arange(samples), n)
    test_bits = per_task_bits(jax.random.fold_in(key, TEST), n_tasks, test_per_task, n)
    test_tasks = jnp.repeat(jnp.arange(n_tasks), test_per_task)
    test_flat = test_bits.reshape(-1, n)
    test_x = inputs(test_tasks, test_flat, n_tasks).astype(jnp.uint8)
    return (
        subsets,
        probs,
        inputs(tasks, bits, n_tasks).astype(jnp.uint8),
        parity(bits, subsets, tasks),
        tasks,
        test_x.reshape(n_tasks, test_per_task, n_tasks + n),
        parity(test_flat, subsets, test_tasks).reshape(n_tasks, test_per_task),
    )


def overlap_with_training(n_tasks: int, n: int, k: int, alpha: float, samples: int, test_per_task: int,
                  seed: int, chunk: int = 2**16) -> np.ndarray:
    """Fraction of each task's test inputs (the fixed per-task test sets of seed `seed`) that are
    also among the first `samples` training samples of the finite dataset: (n_tasks,) floats.

    An input is (task, task bits); the training set is generated `chunk` samples at a time, so
    memory stays O(chunk + n_tasks · test_per_task) for any `samples`.
    """
    key = jax.random.PRNGKey(seed)
    probs = task_probabilities(n_tasks, jnp.float32(alpha))
    test_bits = np.asarray(per_task_bits(jax.random.fold_in(key, TEST), n_tasks, test_per_task, n))
    test_keys = {}
    for task in range(n_tasks):
        for j, row in enumerate(np.packbits(test_bits[task], axis=1)):
            test_keys.setdefault((task, row.tobytes()), []).append(task * test_per_task + j)
    hit = np.zeros(n_tasks * test_per_task, bool)
    draw = jax.jit(indexed_samples, static_argnums=3)
    for start in range(0, samples, chunk):
        index = jnp.arange(start, min(start + chunk, samples))
        tasks, bits = draw(jax.random.fold_in(key, DATA), probs, index, n)
        for task, row in zip(np.asarray(tasks), np.packbits(np.asarray(bits), axis=1), strict=True):
            hit[test_keys.get((int(task), row.tobytes()), [])] = True
    return hit.reshape(n_tasks, test_per_task).mean(axis=1)


def expected_online_overlap(probs: np.ndarray, n: int, seen: int) -> np.ndarray:
    """Expected fraction of task i's test inputs met among `seen` online training samples:
    1 − (1 − 2^{−n})^{seen · p_i} (each sample of task i is one of 2^n inputs, uniformly)."""
    return -np.expm1(seen * np.asarray(probs, float) * np.log1p(-(2.0**-n)))
