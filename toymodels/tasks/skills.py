"""The skill tasks of Liu et al. 2025 (arXiv 2501.12391), as the skill systems draw them.

Compositional / rare parities (`ParityTasksMLP`): x ∈ {0,1}^{n_bits} (`samples` random inputs per
seed, a `train_fraction` of them for training), task k's label y_k = ⊕_{j∈S_k} x_j. Task sets
(0-based bits): "pair" = (x1⊕x2, x3⊕x4); "composed" = (x3⊕x4, x1⊕x2, x1⊕x2⊕x3⊕x4);
"separate" = (x3⊕x4, x1⊕x2, x5⊕x6⊕x7⊕x8). Rare task: the last task's loss falls on a fresh
Bernoulli(p_rare) fraction of the samples every step (`loss_mask(step)`).

Square tasks (`SquareTasksMLP`): x ~ U(−1, 1)², a fraction p2 of the points belong to task 2
(x₁ := 0, y₂ = x₂²), the rest to task 1 (x₂ := 0, y₁ = x₁²).

Skill vectors (`Geometry`): task vectors u_i ∈ R^d ("ortho", "random", "modular") and frequencies
p_i; skill s_i = u_i·x (MSE) or σ(u_i·x) (CE); loss Σ_i p_i ℓ_i.
Skill levels (`Resource`, `Domino`): frequencies p_i and the interaction matrix C (identity, or
u_i·u_j for random unit u_i); loss Σ_i p_i (1 − s_i)² (MSE) or −Σ_i p_i log s_i (CE).
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from toymodels.skills.common import check_frequencies, frequencies
from toymodels.skills.geometry import LOSSES, VECTORS, task_vectors
from toymodels.skills.mlp import TASK_SETS
from toymodels.spec import require
from toymodels.tasks.base import TaskData
from toymodels.tasks.metrics import as_array, masked_mean, softplus

DATA, MASK = 0, 1  # fold_in tags of the member key (as `toymodels.skills.mlp`)
INTERACTIONS = ("identity", "random")


@dataclass(frozen=True)
class ParityTasks(TaskData):
    """Sparse parities on shared random inputs.

    x (samples, n_bits) float32 in {0, 1}; y (samples, K) float32 in {0, 1}; train (samples,) bool;
    bits: the K bit sets S_k; p_rare: the last task's loss share (1 = every sample).
    Metric (`evaluate`): acc[k] = mean_train [(f_k > 0.5) = y_k], test_acc[k] on the held-out
    inputs (NaN without held-out inputs; the system records 0), loss = train MSE
    mean_{train, k} (f_k − y_k)², as `ParityTasksMLP` observes.
    """

    task_set: str
    bits: tuple[tuple[int, ...], ...]
    x: np.ndarray
    y: np.ndarray
    train: np.ndarray
    p_rare: float = 1.0
    seed: int = 0

    def loss_mask(self, step: int | jax.Array) -> jax.Array:
        """(samples, K) float mask of training step `step`: ones, the last column Bernoulli(p_rare)
        drawn from fold_in(fold_in(PRNGKey(seed), MASK), step), as `ParityTasksMLP.step` (jittable)."""
        key = jax.random.fold_in(jax.random.fold_in(jax.random.PRNGKey(self.seed), MASK), step)
        rare = jax.random.bernoulli(key, jnp.float32(self.p_rare), (self.x.shape[0],))
        return jnp.ones(self.y.shape).at[:, -1].set(rare.astype(jnp.float32))

    def evaluate(self, predictions) -> dict:
        """{acc (K,), test_acc (K,), loss} of outputs f (samples, K)."""
        f = as_array(predictions, self.y.shape, "predictions (outputs f)")
        right = ((f > 0.5) == (self.y > 0.5)).astype(float)
        train = np.broadcast_to(self.train[:, None], f.shape)
        return {"acc": masked_mean(right, train, axis=0), "test_acc": masked_mean(right, ~train, axis=0),
                "loss": masked_mean((f - self.y) ** 2, train)}


def parity_tasks(tasks: str = "composed", n_bits: int = 32, samples: int = 10000,
                 train_fraction: float = 0.8, p_rare: float = 1.0, seed: int = 0) -> ParityTasks:
    """The data a `ParityTasksMLP(tasks, n_bits, samples=samples, train_fraction)` member of seed
    `seed` trains on."""
    require(tasks in TASK_SETS, f"tasks must be one of {', '.join(TASK_SETS)}, got {tasks!r}")
    bits = TASK_SETS[tasks]
    require(n_bits > max(max(s) for s in bits), f"n_bits must exceed the highest task bit, got {n_bits}")
    require(samples >= 2, f"samples must be >= 2, got {samples}")
    require(0 < train_fraction <= 1, f"train_fraction must be in (0, 1], got {train_fraction}")
    require(0 < p_rare <= 1, f"p_rare must be in (0, 1], got {p_rare}")
    data_key, split_key, _ = jax.random.split(jax.random.fold_in(jax.random.PRNGKey(seed), DATA), 3)
    x = np.asarray(jax.random.bernoulli(data_key, 0.5, (samples, n_bits)).astype(jnp.float32))
    rank = np.asarray(jnp.argsort(jax.random.uniform(split_key, (samples,))))
    train = rank < max(1, int(train_fraction * samples))
    y = np.stack([x[:, list(s)].sum(axis=1) % 2 for s in bits], axis=1).astype(np.float32)
    return ParityTasks(tasks, bits, x, y, train, p_rare, seed)


@dataclass(frozen=True)
class SquareTasks(TaskData):
    """Two square tasks on U(−1, 1)² points.

    x (samples, 2) float32 (task 1 points have x₂ = 0, task 2 points x₁ = 0); y = x² (samples, 2);
    task2 (samples,) bool. Metric (`evaluate`): task_loss[k] = mean over task-k points of
    (f_k − y_k)², loss = mean_{n, k} m_nk (f_k − y_k)², as `SquareTasksMLP` observes.
    """

    x: np.ndarray
    y: np.ndarray
    task2: np.ndarray
    p2: float

    def evaluate(self, predictions) -> dict:
        """{task_loss (2,), loss} of outputs f (samples, 2)."""
        f = as_array(predictions, self.y.shape, "predictions (outputs f)")
        mask = np.stack([~self.task2, self.task2], axis=1).astype(float)
        err = (f - self.y) ** 2
        return {"task_loss": (err * mask).sum(axis=0) / np.maximum(mask.sum(axis=0), 1),
                "loss": float((err * mask).mean())}


def square_tasks(samples: int = 1000, p2: float = 0.01, seed: int = 0) -> SquareTasks:
    """The data a `SquareTasksMLP(samples=samples)` member of seed `seed` with hparam p2 trains on."""
    require(samples >= 2, f"samples must be >= 2, got {samples}")
    require(0 < p2 < 1, f"p2 must be in (0, 1), got {p2}")
    data_key, split_key, _ = jax.random.split(jax.random.fold_in(jax.random.PRNGKey(seed), DATA), 3)
    x = jax.random.uniform(data_key, (samples, 2), minval=-1.0, maxval=1.0)
    n_task1 = jnp.floor(samples * (1 - jnp.float32(p2)))
    task2 = jnp.argsort(jax.random.uniform(split_key, (samples,))) >= n_task1
    x = jnp.where(task2[:, None], x * jnp.array([0.0, 1.0]), x * jnp.array([1.0, 0.0]))
    return SquareTasks(np.asarray(x), np.asarray(x**2), np.asarray(task2), p2)


@dataclass(frozen=True)
class SkillVectors(TaskData):
    """Task vectors and frequencies of the Geometry model.

    vectors (n, d) float32: u_i; probs (n,): p_i; loss: "mse" or "ce".
    Metric (`evaluate` of a point x ∈ R^d): skill s_i = u_i·x (MSE) or σ(u_i·x) (CE);
    loss = Σ_i p_i ℓ_i with ℓ_i = (1 − s_i)² or −log σ(u_i·x), as `Geometry` observes.
    """

    vectors: np.ndarray
    probs: np.ndarray
    loss: str

    def evaluate(self, predictions) -> dict:
        """{skill (n,), loss} of the model's point x (d,)."""
        x = as_array(predictions, self.vectors.shape[1:], "predictions (x)")
        z = self.vectors.astype(np.float64) @ x
        if self.loss == "mse":
            skill, losses = z, (1.0 - z) ** 2
        else:
            skill, losses = 1.0 / (1.0 + np.exp(-z)), softplus(-z)
        return {"skill": skill, "loss": float(self.probs @ losses)}


def check_skill_settings(n: int, d: int, kind: str, alpha: float, p1: float) -> None:
    require(n >= 1, f"n must be >= 1, got {n}")
    require(d >= 1, f"d must be >= 1, got {d}")
    check_frequencies(kind, n)
    require(alpha >= 0, f"alpha must be >= 0, got {alpha}")
    require(0 < p1 < 1, f"p1 must be in (0, 1), got {p1}")


def task_frequencies(kind: str, n: int, alpha: float, p1: float) -> np.ndarray:
    return np.asarray(frequencies(kind, n, jnp.float32(alpha), jnp.float32(p1)))


def skill_vectors(d: int = 1000, n: int = 10, vectors: str = "ortho", frequencies: str = "zipf",
                  alpha: float = 2.0, p1: float = 0.9, loss: str = "mse", seed: int = 0) -> SkillVectors:
    """The task vectors and frequencies a `Geometry(d, n, vectors, frequencies, loss)` member of seed
    `seed` (hparams alpha, p1) learns."""
    check_skill_settings(n, d, frequencies, alpha, p1)
    require(vectors in VECTORS, f"vectors must be one of {', '.join(VECTORS)}, got {vectors!r}")
    require(vectors != "ortho" or n <= d, f"orthonormal vectors need n <= d, got n={n}, d={d}")
    require(loss in LOSSES, f"loss must be one of {', '.join(LOSSES)}, got {loss!r}")
    vector_key, _ = jax.random.split(jax.random.PRNGKey(seed))
    return SkillVectors(np.asarray(task_vectors(vector_key, vectors, n, d)),
                        task_frequencies(frequencies, n, alpha, p1), loss)


@dataclass(frozen=True)
class SkillLevels(TaskData):
    """Frequencies and skill interactions of the Resource and Domino models.

    probs (n,): p_i; interaction (n, n): C (identity, or u_i·u_j of random unit vectors);
    loss: "mse" or "ce". Metric (`evaluate` of skills s ∈ (0, 1]^n): loss = Σ_i p_i (1 − s_i)²
    (MSE) or −Σ_i p_i log s_i (CE), as `Resource` and `Domino` observe; mean_skill = mean s_i.
    """

    probs: np.ndarray
    interaction: np.ndarray
    loss: str

    def evaluate(self, predictions) -> dict:
        """{loss, mean_skill} of skill levels s (n,)."""
        s = as_array(predictions, self.probs.shape, "predictions (skills s)")
        if self.loss == "mse":
            loss = float(self.probs @ (1.0 - s) ** 2)
        else:
            require(bool((s > 0).all()), "skills must be > 0 for the CE loss")
            loss = float(-(self.probs @ np.log(s)))
        return {"loss": loss, "mean_skill": float(s.mean())}


def skill_resource(n: int = 10, d: int = 1000, frequencies: str = "zipf", interaction: str = "identity",
                   alpha: float = 2.0, p1: float = 0.9, loss: str = "mse", seed: int = 0) -> SkillLevels:
    """The frequencies and interaction matrix of a `Resource(n, d, frequencies, loss, interaction)`
    member of seed `seed` (hparams alpha, p1)."""
    check_skill_settings(n, d, frequencies, alpha, p1)
    require(interaction in INTERACTIONS,
            f"interaction must be one of {', '.join(INTERACTIONS)}, got {interaction!r}")
    require(loss in LOSSES, f"loss must be one of {', '.join(LOSSES)}, got {loss!r}")
    if interaction == "identity":
        c = np.eye(n, dtype=np.float32)
    else:
        u = jax.random.normal(jax.random.PRNGKey(seed), (n, d))
        u = u / jnp.linalg.norm(u, axis=1, keepdims=True)
        c = np.asarray(u @ u.T)
    return SkillLevels(task_frequencies(frequencies, n, alpha, p1), c, loss)


def skill_domino(n: int = 10, frequencies: str = "zipf", alpha: float = 2.0, p1: float = 0.9) -> SkillLevels:
    """The frequencies of a `Domino(n, frequencies=frequencies)` member (hparams alpha, p1); no
    randomness (the Domino model has none), MSE loss, identity interactions."""
    check_skill_settings(n, 1, frequencies, alpha, p1)
    return SkillLevels(task_frequencies(frequencies, n, alpha, p1), np.eye(n, dtype=np.float32), "mse")
