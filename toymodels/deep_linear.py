"""Two-layer linear network (Saxe, McClelland & Ganguli 2014) on data with known singular values.

Data: whitened inputs (Σ¹¹ = I) and input–output correlation Σ³¹ = U diag(s) Vᵀ, with U, V random
orthonormal frames (fixed by `data_seed`) and singular values s_α (`spectrum`). For any data set
with these statistics the full-batch loss is, up to a constant,

    L(W₁, W₂) = ½ ‖Σ³¹ − W₂ W₁‖²_F ,        W₁ ∈ R^{h×n},  W₂ ∈ R^{n×h},

and gradient descent with step η samples the gradient flow τ dW/dt = −∂L/∂W at t = η · step
(τ = 1). Mode strengths u_α = u_αᵀ W₂ W₁ v_α. From small balanced decoupled initial conditions each
mode follows the exact sigmoid u(t) = s e^{2st/τ} / (e^{2st/τ} − 1 + s/u₀) (`theory.deep_linear`).

Init: W₁, W₂ entries i.i.d. N(0, init_scale²) (random, as in the paper's simulations). Besides
u_α the system observes a_α b_α = ‖W₂ᵀ u_α‖ ‖W₁ v_α‖, the strength mode α would have if its
hidden directions were aligned: its value at step 0 is the u₀ of the exact curve.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from toymodels.spec import require


@functools.cache
def frames(n: int, data_seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random orthonormal U, V ∈ R^{n×n} (columns are the singular vectors of Σ³¹)."""
    rng = np.random.default_rng(data_seed)
    u, _ = np.linalg.qr(rng.standard_normal((n, n)))
    v, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return u.astype(np.float32), v.astype(np.float32)


@dataclass(frozen=True)
class DeepLinear:
    """Static settings: input/output width `n`, hidden width `hidden`, the singular values."""

    n: int = 8
    hidden: int = 16
    spectrum: str = "3,2,1,0.5"
    data_seed: int = 0

    divergence_key: ClassVar[str] = "loss"

    def __post_init__(self) -> None:
        require(self.n >= 1 and self.hidden >= 1, f"n and hidden must be >= 1, got {self.n}, {self.hidden}")
        try:
            values = [float(x) for x in self.spectrum.split(",")]
        except ValueError:
            raise ValueError(f"spectrum must be comma-separated numbers, got {self.spectrum!r}") from None
        require(all(np.isfinite(v) and v > 0 for v in values), f"spectrum must be positive, got {self.spectrum!r}")
        require(len(values) <= self.n, f"spectrum has {len(values)} values but n = {self.n}")

    @property
    def singular_values(self) -> np.ndarray:
        return np.array([float(x) for x in self.spectrum.split(",")], np.float32)

    def correlation(self) -> np.ndarray:
        """Σ³¹ = U diag(s) Vᵀ (modes beyond the spectrum have s = 0)."""
        u, v = frames(self.n, self.data_seed)
        s = self.singular_values
        return (u[:, : len(s)] * s) @ v[:, : len(s)].T

    def hparams(self) -> dict[str, float]:
        return {"lr": 0.01, "init_scale": 1e-3}

    def check(self, hp: Mapping[str, float]) -> None:
        require(hp["lr"] > 0, f"lr must be > 0, got {hp['lr']}")
        require(hp["init_scale"] > 0, f"init_scale must be > 0, got {hp['init_scale']}")

    def observables(self) -> dict[str, tuple[str, ...]]:
        return {"strength": ("mode",), "aligned_strength": ("mode",)}

    def coords(self) -> dict[str, np.ndarray]:
        return {"mode": np.arange(len(self.singular_values))}

    def init(self, key: jax.Array, hp: Mapping[str, jax.Array]) -> dict[str, jax.Array]:
        k1, k2 = jax.random.split(key)
        return {"w1": hp["init_scale"] * jax.random.normal(k1, (self.hidden, self.n)),
                "w2": hp["init_scale"] * jax.random.normal(k2, (self.n, self.hidden))}

    def loss(self, params: Mapping[str, jax.Array]) -> jax.Array:
        return 0.5 * jnp.sum((self.correlation() - params["w2"] @ params["w1"]) ** 2)

    def step(self, params: dict[str, jax.Array], hp: Mapping[str, jax.Array]) -> dict[str, jax.Array]:
        grads = jax.grad(self.loss)(params)
        return jax.tree.map(lambda w, g: w - hp["lr"] * g, params, grads)

    def observe(self, params: dict[str, jax.Array], hp: Mapping[str, jax.Array]) -> dict[str, jax.Array]:
        u, v = frames(self.n, self.data_seed)
        k = len(self.singular_values)
        u, v = u[:, :k], v[:, :k]
        strength = jnp.einsum("ia,ij,ja->a", u, params["w2"] @ params["w1"], v)
        aligned = jnp.linalg.norm(params["w2"].T @ u, axis=0) * jnp.linalg.norm(params["w1"] @ v, axis=0)
        return {"loss": self.loss(params), "strength": strength, "aligned_strength": aligned}
