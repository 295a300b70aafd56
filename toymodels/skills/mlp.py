"""Small MLPs of the skill-learning paper (Liu et al. 2025): compositional parities and modularity.

`ParityTasksMLP` (Fig2, Fig16; `scripts/MLP.py`, `Fig2_*_sparse_parity.ipynb`):
    x ∈ {0,1}^32 (`samples` random inputs per seed, a `train_fraction` of them for training),
    task k's label y_k = ⊕_{j∈S_k} x_j for its set of bits S_k (`tasks`, a named set below),
    f = W₂ ReLU(W₁ x + b₁) + b₂ ∈ R^K (width 50, PyTorch's default init),
    loss = mean_{samples, k} m_k (f_k − y_k)²  (MSE on {0,1} labels), full batch, Adam(lr),
    m_k = 1, except for the last task when `p_rare` < 1: m = Bernoulli(p_rare) per sample, drawn
    afresh every step (Fig2-bottom: the rare task's loss falls on a fraction p2 of the samples).
    Observed: `acc[k]` = mean_train [(f_k > 0.5) = y_k], `test_acc[k]` on the held-out inputs,
    `loss` (train MSE, all masks 1).
Task sets (0-based bits): "pair" = (x1⊕x2, x3⊕x4) (Fig2-bottom); "composed" = (x3⊕x4, x1⊕x2,
x1⊕x2⊕x3⊕x4) (Fig2-top case 2: task 3 is the XOR of tasks 1 and 2); "separate" = (x3⊕x4, x1⊕x2,
x5⊕x6⊕x7⊕x8) (case 3: task 3 shares nothing with them).
Deviations: float32 (the code uses float64); the rare task's mask is a fresh Bernoulli(p_rare)
draw per step (the code's `fit` permutes the batch but not the mask, so a random p2-fraction of
samples carries the loss each step, as here, but of exactly ⌊p2·N⌋ samples).

`SquareTasksMLP` (Fig19; `Fig19_modularity.ipynb`):
    x ~ U(−1, 1)², N = `samples` points; a fraction p2 of them belongs to task 2 (x₁ := 0,
    target y₂ = x₂²), the rest to task 1 (x₂ := 0, y₁ = x₁²);
    f: Linear(2, 100) → SiLU → Linear(100, 100) → SiLU → Linear(100, 2) (PyTorch init);
    `modular=True`: block-diagonal weights (x₁ → 50 units → 50 units → f₁, x₂ → the other
    halves → f₂; the code's `MLP_Modular` with `Linear_Mask`), biases unmasked;
    loss = mean_{n, k} m_nk (f_k − y_k)² with m the task mask, full batch, Adam(lr = 5e-4).
    Observed: `task_loss[k]` = mean over task-k points of (f_k − y_k)² (t_k: first step < 1e-3).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from toymodels.nn import torch_linear
from toymodels.spec import require

TASK_SETS: dict[str, tuple[tuple[int, ...], ...]] = {
    "pair": ((0, 1), (2, 3)),
    "composed": ((2, 3), (0, 1), (0, 1, 2, 3)),
    "separate": ((2, 3), (0, 1), (4, 5, 6, 7)),
}
DATA, MASK = 0, 1  # fold_in tags of the member key


class MLPState(NamedTuple):
    params: list            # [{"w", "b"}, ...] per layer
    opt_state: optax.OptState
    x: jax.Array            # (samples, n_in) inputs
    y: jax.Array            # (samples, K) targets
    split: jax.Array        # (samples,) bool: training point (parity) / task-2 point (squares)
    key: jax.Array
    t: jax.Array


def forward(params: list, x: jax.Array, activation, masks: list | None = None) -> jax.Array:
    """Linear layers with `activation` between them; weights times `masks` when given."""
    for i, layer in enumerate(params):
        w = layer["w"] if masks is None else layer["w"] * masks[i]
        x = x @ w + layer["b"]
        if i < len(params) - 1:
            x = activation(x)
    return x


def adam(hp: Mapping[str, jax.Array]) -> optax.GradientTransformation:
    return optax.adam(hp["lr"], b1=0.9, b2=0.999, eps=1e-8)


def adam_step(state: MLPState, hp: Mapping[str, jax.Array], loss_fn) -> MLPState:
    """One full-batch Adam step on loss_fn(params)."""
    grads = jax.grad(loss_fn)(state.params)
    updates, opt_state = adam(hp).update(grads, state.opt_state, state.params)
    return state._replace(params=optax.apply_updates(state.params, updates), opt_state=opt_state,
                          t=state.t + 1)


def init_layers(key: jax.Array, widths: tuple[int, ...]) -> list:
    keys = jax.random.split(key, len(widths) - 1)
    return [torch_linear(k, a, b) for k, a, b in zip(keys, widths[:-1], widths[1:], strict=True)]


@dataclass(frozen=True)
class ParityTasksMLP:
    """Static settings (see module docstring). Defaults: the paper's Fig2-top case 2."""

    tasks: str = "composed"
    n_bits: int = 32
    width: int = 50
    samples: int = 10000
    train_fraction: float = 0.8

    divergence_key: ClassVar[str] = "loss"

    def __post_init__(self) -> None:
        require(self.tasks in TASK_SETS, f"tasks must be one of {', '.join(TASK_SETS)}, got {self.tasks!r}")
        require(self.n_bits > max(max(s) for s in TASK_SETS[self.tasks]),
                f"n_bits must exceed the highest task bit, got {self.n_bits}")
        require(self.width >= 1, f"width must be >= 1, got {self.width}")
        require(self.samples >= 2, f"samples must be >= 2, got {self.samples}")
        require(0 < self.train_fraction <= 1, f"train_fraction must be in (0, 1], got {self.train_fraction}")

    @property
    def n_tasks(self) -> int:
        return len(TASK_SETS[self.tasks])

    def hparams(self) -> dict[str, float]:
        return {"lr": 1e-3, "p_rare": 1.0}

    def check(self, hp: Mapping[str, float]) -> None:
        require(hp["lr"] > 0, f"lr must be > 0, got {hp['lr']}")
        require(0 < hp["p_rare"] <= 1, f"p_rare must be in (0, 1], got {hp['p_rare']}")

    def observables(self) -> dict[str, tuple[str, ...]]:
        return {"acc": ("task",), "test_acc": ("task",)}

    def coords(self) -> dict[str, np.ndarray]:
        return {"task": np.arange(1, self.n_tasks + 1)}

    def labels(self, x: jax.Array) -> jax.Array:
        """y_k = Σ_{j∈S_k} x_j mod 2, (samples, K)."""
        return jnp.stack([x[:, list(bits)].sum(axis=1) % 2 for bits in TASK_SETS[self.tasks]], axis=1)

    def init(self, key: jax.Array, hp: Mapping[str, jax.Array]) -> MLPState:
        data_key, split_key, net_key = jax.random.split(jax.random.fold_in(key, DATA), 3)
        x = jax.random.bernoulli(data_key, 0.5, (self.samples, self.n_bits)).astype(jnp.float32)
        rank = jnp.argsort(jax.random.uniform(split_key, (self.samples,)))
        train = rank < max(1, int(self.train_fraction * self.samples))
        params = init_layers(net_key, (self.n_bits, self.width, self.n_tasks))
        return MLPState(params, adam(hp).init(params), x, self.labels(x), train, key,
                        jnp.zeros((), jnp.int32))

    def step(self, state: MLPState, hp: Mapping[str, jax.Array]) -> MLPState:
        mask_key = jax.random.fold_in(jax.random.fold_in(state.key, MASK), state.t)
        rare = jax.random.bernoulli(mask_key, hp["p_rare"], (self.samples,))
        mask = jnp.ones((self.samples, self.n_tasks)).at[:, -1].set(rare.astype(jnp.float32))
        weight = mask * state.split[:, None]

        def loss_fn(params):
            err = (forward(params, state.x, jax.nn.relu) - state.y) ** 2
            return jnp.sum(err * weight) / (state.split.sum() * self.n_tasks)

        return adam_step(state, hp, loss_fn)

    def observe(self, state: MLPState, hp: Mapping[str, jax.Array]) -> dict[str, jax.Array]:
        f = forward(state.params, state.x, jax.nn.relu)
        right = ((f > 0.5) == (state.y > 0.5)).astype(jnp.float32)
        train, test = state.split[:, None], ~state.split[:, None]
        mean = lambda v, m: jnp.sum(v * m, axis=0) / jnp.maximum(m.sum(), 1)  # noqa: E731
        loss = jnp.sum((f - state.y) ** 2 * train) / (train.sum() * self.n_tasks)
        return {"acc": mean(right, train), "test_acc": mean(right, test), "loss": loss}


@dataclass(frozen=True)
class SquareTasksMLP:
    """Static settings (see module docstring). Defaults: the paper's Fig19 (non-modular)."""

    modular: bool = False
    width: int = 100
    samples: int = 1000

    divergence_key: ClassVar[str] = "loss"

    def __post_init__(self) -> None:
        require(self.width >= 2 and self.width % 2 == 0, f"width must be even and >= 2, got {self.width}")
        require(self.samples >= 2, f"samples must be >= 2, got {self.samples}")

    def hparams(self) -> dict[str, float]:
        return {"lr": 5e-4, "p2": 0.01}

    def check(self, hp: Mapping[str, float]) -> None:
        require(hp["lr"] > 0, f"lr must be > 0, got {hp['lr']}")
        require(0 < hp["p2"] < 1, f"p2 must be in (0, 1), got {hp['p2']}")

    def observables(self) -> dict[str, tuple[str, ...]]:
        return {"task_loss": ("task",)}

    def coords(self) -> dict[str, np.ndarray]:
        return {"task": np.array([1, 2])}

    def masks(self) -> list | None:
        """Block-diagonal weight masks: input k → hidden half k → hidden half k → output k."""
        if not self.modular:
            return None
        half = self.width // 2
        group = lambda a, b: jnp.kron(jnp.eye(2), jnp.ones((a, b)))  # noqa: E731
        return [group(1, half), group(half, half), group(half, 1)]

    def init(self, key: jax.Array, hp: Mapping[str, jax.Array]) -> MLPState:
        data_key, split_key, net_key = jax.random.split(jax.random.fold_in(key, DATA), 3)
        x = jax.random.uniform(data_key, (self.samples, 2), minval=-1.0, maxval=1.0)
        n_task1 = jnp.floor(self.samples * (1 - hp["p2"]))
        task2 = jnp.argsort(jax.random.uniform(split_key, (self.samples,))) >= n_task1
        x = jnp.where(task2[:, None], x * jnp.array([0.0, 1.0]), x * jnp.array([1.0, 0.0]))
        params = init_layers(net_key, (2, self.width, self.width, 2))
        return MLPState(params, adam(hp).init(params), x, x**2, task2, key, jnp.zeros((), jnp.int32))

    def task_mask(self, task2: jax.Array) -> jax.Array:
        return jnp.stack([~task2, task2], axis=1).astype(jnp.float32)

    def step(self, state: MLPState, hp: Mapping[str, jax.Array]) -> MLPState:
        mask, masks = self.task_mask(state.split), self.masks()

        def loss_fn(params):
            return jnp.mean((forward(params, state.x, jax.nn.silu, masks) - state.y) ** 2 * mask)

        return adam_step(state, hp, loss_fn)

    def observe(self, state: MLPState, hp: Mapping[str, jax.Array]) -> dict[str, jax.Array]:
        mask = self.task_mask(state.split)
        err = (forward(state.params, state.x, jax.nn.silu, self.masks()) - state.y) ** 2
        return {"task_loss": jnp.sum(err * mask, axis=0) / jnp.maximum(mask.sum(axis=0), 1),
                "loss": jnp.mean(err * mask)}
