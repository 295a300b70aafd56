"""The Geometry model of skill learning (Liu, Liu, Michaud, Gore, Tegmark 2025, arXiv 2501.12391).

    x ∈ R^d, x(0) = 0;  task vectors u_i ∈ R^d (i = 1..n);  frequencies p_i (Σ p_i = 1)
    MSE:  s_i = u_i·x,       ℓ_i = (1 − s_i)²
    CE:   s_i = σ(u_i·x),    ℓ_i = −log s_i
    −∇ = k Σ_i w_i (1 − s_i) u_i + σ ξ,   ξ ~ N(0, I_d)
         w_i = p_i (full batch, `batch=0`) or n_i / B with n ~ Multinomial(B, p) (sampled batch)
         k = 1 for gradient="mimic" (the paper's Fig4–7 "mimic gradient", MSE only) and for CE,
         k = 2 for gradient="autograd" with MSE (the derivative of (1 − s)²)
    loss = Σ_i p_i ℓ_i  (expected loss; the logged quantity of Fig4–7)
    n_align_i = #{j : u_ij · (−∇)_j > 0}   ("aligned dimensions", the resource of skill i)

Task vectors: "ortho" (a Haar-random orthonormal n-frame, n ≤ d), "random" (Gaussian rows
normalised to 1), "modular" (u_i = e_i for i ≤ d, zero beyond: the basis-aligned vectors of
`run_nsl_ortho.py`). Optimizers: sgd, signgd (Adam with β = (0, 0)), adam, or any optax name.
`per_task=False` records only the loss (no per-task `skill`, `n_align`): for n = 1000 scaling sweeps.

Deviations, stated: (1) full batch uses Σ p_i ℓ_i, the B → ∞ limit of the sampled loss, not the
notebook's `mean(ℓ·p)` (a 1/n factor: irrelevant for SignGD, relevant for SGD); (2) orthonormal
frames come from a QR of a d×n Gaussian (same Haar distribution as the notebook's SVD of a d×d
Gaussian, cheaper); (3) n_align is measured on the expected (full-batch, noise-free) gradient at
the observed state, so it is deterministic; (4) row t of the results is the state after t updates
(the notebook's convention); randomness of step t is `fold_in(key, t)`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from toymodels.skills.common import check_frequencies, frequencies, is_optimizer, optimizer
from toymodels.spec import require

VECTORS = ("ortho", "random", "modular", "gauss", "hadamard")
LOSSES = ("mse", "ce")
GRADIENTS = ("mimic", "autograd")


class GeometryState(NamedTuple):
    x: jax.Array            # (d,)
    opt_state: optax.OptState
    vectors: jax.Array      # (n, d) task vectors u_i
    key: jax.Array
    t: jax.Array            # updates done so far


def task_vectors(key: jax.Array, kind: str, n: int, d: int) -> jax.Array:
    """Task vectors (n, d): orthonormal, random unit, basis-aligned ("modular"), Gaussian / √d, or
    sign-flipped Hadamard rows (see the module docstring)."""
    if kind == "modular":
        return jnp.eye(n, d)
    if kind == "hadamard":
        return jnp.asarray(hadamard(d)[:n])
    gauss = jax.random.normal(key, (d, n) if kind == "ortho" else (n, d))
    if kind == "gauss":
        return gauss / jnp.sqrt(d)
    if kind == "random":
        return gauss / jnp.linalg.norm(gauss, axis=1, keepdims=True)
    return orthonormal_columns(gauss).T


def hadamard(d: int) -> np.ndarray:
    """diag(1, …, 1, −1) H_d / √d, H_d the Sylvester–Hadamard matrix (H_1 = 1, H_2k = [[H, H], [H, −H]]).

    Orthogonal. With u_i its rows, (1 − u_i·x)² = ((R θ)_i)² for R = H_d/√d, x = θ0 − θ and
    θ0 = Rᵀσ = (1, …, 1, −1) at d = 4: the paper's Fig12 start. (The notebook lists rows 2 and 3
    of H_4 the other way round; swapping θ_2 and θ_3 maps one onto the other and leaves θ0 and
    every coordinate-wise optimizer unchanged.)
    """
    h = np.ones((1, 1))
    while h.shape[0] < d:
        h = np.block([[h, h], [h, -h]])
    sign = np.ones(d)
    sign[-1] = -1.0
    return sign[:, None] * h / np.sqrt(d)


def orthonormal_columns(g: jax.Array) -> jax.Array:
    """Q of g = QR with diag(R) > 0 (unique), by Gram–Schmidt with one re-orthogonalisation:

        v_j = g_j − Q_{<j} Q_{<j}ᵀ g_j  (twice),   q_j = v_j / ‖v_j‖.

    Written with matmuls instead of LAPACK's batched QR, whose CPU kernel shares XLA's thread pool
    and deadlocked when several CPU devices ran it at once (one per core, as the CLI sets up).
    """

    def column(j, q):
        v = g[:, j]
        for _ in range(2):
            v = v - q @ (q.T @ v)
        return q.at[:, j].set(v / jnp.linalg.norm(v))

    return jax.lax.fori_loop(0, g.shape[1], column, jnp.zeros_like(g))


def sample_weights(key: jax.Array, p: jax.Array, batch: int) -> jax.Array:
    """n_i / B for a batch of B task ids drawn i.i.d. from p (inverse-CDF sampling)."""
    ids = jnp.searchsorted(jnp.cumsum(p), jax.random.uniform(key, (batch,)), side="right")
    counts = jnp.bincount(jnp.minimum(ids, p.shape[0] - 1), length=p.shape[0])
    return counts.astype(p.dtype) / batch


@dataclass(frozen=True)
class Geometry:
    """Static settings of the Geometry model (see module docstring)."""

    d: int = 1000
    n: int = 10
    vectors: str = "ortho"
    frequencies: str = "zipf"
    loss: str = "mse"
    gradient: str = "autograd"
    batch: int = 0
    optimizer: str = "signgd"
    per_task: bool = True

    divergence_key: ClassVar[str] = "loss"

    def __post_init__(self) -> None:
        require(self.d >= 1, f"d must be >= 1, got {self.d}")
        require(self.n >= 1, f"n must be >= 1, got {self.n}")
        require(self.vectors in VECTORS,
                f"vectors must be one of {', '.join(VECTORS)}, got {self.vectors!r}")
        require(self.vectors != "ortho" or self.n <= self.d,
                f"orthonormal vectors need n <= d, got n={self.n}, d={self.d}")
        require(self.vectors != "hadamard" or (self.n <= self.d and self.d & (self.d - 1) == 0),
                f"hadamard vectors need d a power of 2 and n <= d, got n={self.n}, d={self.d}")
        check_frequencies(self.frequencies, self.n)
        require(self.loss in LOSSES, f"loss must be one of {', '.join(LOSSES)}, got {self.loss!r}")
        require(self.gradient in GRADIENTS,
                f"gradient must be one of {', '.join(GRADIENTS)}, got {self.gradient!r}")
        require(self.gradient == "autograd" or self.loss == "mse",
                "gradient='mimic' needs loss='mse'")
        require(self.batch >= 0, f"batch must be >= 0 (0 = full batch), got {self.batch}")
        require(is_optimizer(self.optimizer),
                f"optimizer must be sgd, signgd, adam or an optax name, got {self.optimizer!r}")

    # --- contract -----------------------------------------------------------------------------
    def hparams(self) -> dict[str, float]:
        return {"lr": 3e-4, "alpha": 2.0, "p1": 0.9, "noise": 0.0}

    def check(self, hp: Mapping[str, float]) -> None:
        require(hp["lr"] > 0, f"lr must be > 0, got {hp['lr']}")
        require(hp["alpha"] >= 0, f"alpha must be >= 0, got {hp['alpha']}")
        require(0 < hp["p1"] < 1, f"p1 must be in (0, 1), got {hp['p1']}")
        require(hp["noise"] >= 0, f"noise must be >= 0, got {hp['noise']}")

    def observables(self) -> dict[str, tuple[str, ...]]:
        return {"skill": ("task",), "n_align": ("task",)} if self.per_task else {}

    def coords(self) -> dict[str, np.ndarray]:
        return {"task": np.arange(1, self.n + 1)} if self.per_task else {}

    def init(self, key: jax.Array, hp: Mapping[str, jax.Array]) -> GeometryState:
        vector_key, data_key = jax.random.split(key)
        x = jnp.zeros(self.d)
        opt_state = optimizer(self.optimizer, hp["lr"]).init(x)
        vectors = task_vectors(vector_key, self.vectors, self.n, self.d)
        return GeometryState(x, opt_state, vectors, data_key, jnp.zeros((), jnp.int32))

    def step(self, state: GeometryState, hp: Mapping[str, jax.Array]) -> GeometryState:
        batch_key, noise_key = jax.random.split(jax.random.fold_in(state.key, state.t))
        p = self.task_frequencies(hp)
        weights = sample_weights(batch_key, p, self.batch) if self.batch else p
        noise = hp["noise"] * jax.random.normal(noise_key, (self.d,))
        grad = noise - self.descent_direction(state, weights)
        opt = optimizer(self.optimizer, hp["lr"])
        updates, opt_state = opt.update(grad, state.opt_state, state.x)
        return GeometryState(state.x + updates, opt_state, state.vectors, state.key, state.t + 1)

    def observe(self, state: GeometryState, hp: Mapping[str, jax.Array]) -> dict[str, jax.Array]:
        p = self.task_frequencies(hp)
        skill = self.skills(state)
        z = state.vectors @ state.x
        losses = (1.0 - skill) ** 2 if self.loss == "mse" else jax.nn.softplus(-z)  # −log σ(z)
        if not self.per_task:
            return {"loss": jnp.sum(p * losses)}
        aligned = state.vectors * self.descent_direction(state, p)[None, :] > 0
        return {"skill": skill, "loss": jnp.sum(p * losses), "n_align": aligned.sum(axis=1)}

    # --- pieces -------------------------------------------------------------------------------
    def task_frequencies(self, hp: Mapping[str, jax.Array]) -> jax.Array:
        return frequencies(self.frequencies, self.n, hp["alpha"], hp["p1"])

    def skills(self, state: GeometryState) -> jax.Array:
        """s_i = u_i·x (MSE) or σ(u_i·x) (CE)."""
        z = state.vectors @ state.x
        return z if self.loss == "mse" else jax.nn.sigmoid(z)

    def descent_direction(self, state: GeometryState, weights: jax.Array) -> jax.Array:
        """k Σ_i w_i (1 − s_i) u_i (the negative loss gradient without noise).

        For CE, 1 − s_i = σ(−u_i·x) is computed as such (as autograd of −log σ does), so it does not
        round to 0 in float32 once s_i is within 6e-8 of 1."""
        k = 2.0 if (self.loss == "mse" and self.gradient == "autograd") else 1.0
        residual = 1.0 - self.skills(state) if self.loss == "mse" else jax.nn.sigmoid(-(state.vectors @ state.x))
        return state.vectors.T @ (k * weights * residual)
