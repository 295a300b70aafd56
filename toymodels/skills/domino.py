"""The Domino model (Liu et al. 2025, `domino_model.ipynb`): skills learned strictly one by one.

    t0 = 1/η' = 1/(2η√d),   s_i(t) = clip((t − (i − 1) t0) / t0, 0, 1),   loss = Σ_i p_i (1 − s_i)²
Each skill takes t0 steps regardless of its frequency (the N0 → 0, p_1 ≫ p_2 ≫ … limit of the
Resource model). Skills are learned in the order of their index (most frequent first for Zipf).
The state is the step counter; it still runs through the engine as a population.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from toymodels.skills.common import check_frequencies, frequencies
from toymodels.spec import require


@dataclass(frozen=True)
class Domino:
    """Static settings of the Domino model (see module docstring)."""

    n: int = 10
    d: int = 1000
    frequencies: str = "zipf"

    divergence_key: ClassVar[str] = "loss"

    def __post_init__(self) -> None:
        require(self.n >= 1, f"n must be >= 1, got {self.n}")
        require(self.d >= 1, f"d must be >= 1, got {self.d}")
        check_frequencies(self.frequencies, self.n)

    def hparams(self) -> dict[str, float]:
        return {"lr": 3e-4, "alpha": 2.0, "p1": 0.9}

    def check(self, hp: Mapping[str, float]) -> None:
        require(hp["lr"] > 0, f"lr must be > 0, got {hp['lr']}")
        require(hp["alpha"] >= 0, f"alpha must be >= 0, got {hp['alpha']}")
        require(0 < hp["p1"] < 1, f"p1 must be in (0, 1), got {hp['p1']}")

    def observables(self) -> dict[str, tuple[str, ...]]:
        return {"skill": ("task",)}

    def coords(self) -> dict[str, np.ndarray]:
        return {"task": np.arange(1, self.n + 1)}

    def init(self, key: jax.Array, hp: Mapping[str, jax.Array]) -> jax.Array:
        return jnp.zeros((), jnp.int32)

    def step(self, t: jax.Array, hp: Mapping[str, jax.Array]) -> jax.Array:
        return t + 1

    def observe(self, t: jax.Array, hp: Mapping[str, jax.Array]) -> dict[str, jax.Array]:
        eta = 2.0 * hp["lr"] * jnp.sqrt(float(self.d))
        skill = jnp.clip(eta * t - jnp.arange(self.n), 0.0, 1.0)
        p = frequencies(self.frequencies, self.n, hp["alpha"], hp["p1"])
        return {"skill": skill, "loss": jnp.sum(p * (1.0 - skill) ** 2)}
