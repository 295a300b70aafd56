"""The Resource model of skill learning (Liu et al. 2025, `resource_model.ipynb`).

Each skill i gets the share c_i / (Σ_j c_j + N0) of a fixed per-step resource η' = 2η√d:
    MSE:  l_i = 1 − s_i,  c_i = g_i p_i l_i,       l ← max(l − η' C c / (Σ_j c_j + N0), 0)
          s_i = 1 − l_i,  loss = Σ_i p_i l_i²
    CE:   l_i = logit s_i, c_i = g_i p_i σ(−l_i),  l ← l + η' C c / (Σ_j c_j + N0)
          s_i = σ(l_i),   loss = Σ_i p_i log(1 + e^{−l_i})
N0 is the "wasted resource"; C is the interaction matrix (identity, or C_ij = u_i·u_j for random
unit vectors u_i ∈ R^d drawn from the member's seed, as in Fig8). The gate g_i of a skill with
parents (Fig17, Fig2-top) is AND: Π_{j∈parents} (1 − l_j^a) or OR: max_{j∈parents} (1 − l_j^a),
and 1 without parents (a = `gate_power`); `gate` is one kind for every skill or one per skill
(Fig17's OR tree gates T5 by AND and T6, T7 by OR). `weights` (optional) gives p as stated,
not normalised (Fig17's code: p = (0.3, 1, 3)); otherwise p comes from `frequencies`. `precision="float64"` runs
the program in double precision (the notebooks' NumPy): gates a = 1e-3 open only once l is ~0, so
when a parent's l reaches exactly 0 depends on the rounding. Defaults: n = 10, α = 2, η = 3e-4, d = 1000, N0 = 0.003.

Deviations, stated: row t of the results is the state after t updates (the notebook logs after
each update, i.e. one step later); the gate is computed from max(l, 0) so that it is defined
without the clamp.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from toymodels.skills.common import check_frequencies, frequencies
from toymodels.spec import require

LOSSES = ("mse", "ce")
INTERACTIONS = ("identity", "random")
GATES = ("and", "or")


class ResourceState(NamedTuple):
    level: jax.Array        # (n,) l: remaining 1 − s (MSE) or logit of s (CE)
    interaction: jax.Array  # (n, n) C


def resource_update(level: jax.Array, share: jax.Array, interaction: jax.Array, eta: jax.Array,
                    n0: jax.Array, loss: str, clamp: bool) -> jax.Array:
    """One step: level ∓ η' C c / (Σ c + N0) with c = `share` (MSE: minus, then clamp; CE: plus)."""
    delta = eta * (interaction @ share) / (share.sum() + n0)
    if loss == "ce":
        return level + delta
    level = level - delta
    return jnp.maximum(level, 0.0) if clamp else level


def gates(level: jax.Array, parents: jax.Array, kind: str | jax.Array, power: jax.Array) -> jax.Array:
    """g_i = Π_{j∈parents(i)} (1 − l_j^a) (AND) or max_j (1 − l_j^a) (OR); 1 without parents.

    `kind` is "and", "or", or a boolean array (n,) that is True where skill i's gate is OR.
    """
    done = 1.0 - jnp.maximum(level, 0.0) ** power
    all_of = jnp.where(parents, done[None, :], 1.0).prod(axis=1)
    has_parent = parents.any(axis=1)
    any_of = jnp.where(has_parent, jnp.where(parents, done[None, :], 0.0).max(axis=1), 1.0)
    if isinstance(kind, str):
        return all_of if kind == "and" else any_of
    return jnp.where(kind, any_of, all_of)


@dataclass(frozen=True)
class Resource:
    """Static settings of the Resource model (see module docstring).

    `parents[i]` lists the 0-based parents of skill i (empty tuple: no dependency).
    """

    n: int = 10
    d: int = 1000
    frequencies: str = "zipf"
    loss: str = "mse"
    clamp: bool = True
    interaction: str = "identity"
    parents: tuple[tuple[int, ...], ...] = ()
    gate: str | tuple[str, ...] = "and"
    weights: tuple[float, ...] = ()
    precision: str = "float32"

    divergence_key: ClassVar[str] = "loss"

    def __post_init__(self) -> None:
        require(self.n >= 1, f"n must be >= 1, got {self.n}")
        require(self.d >= 1, f"d must be >= 1, got {self.d}")
        check_frequencies(self.frequencies, self.n)
        require(self.loss in LOSSES, f"loss must be one of {', '.join(LOSSES)}, got {self.loss!r}")
        require(self.interaction in INTERACTIONS,
                f"interaction must be one of {', '.join(INTERACTIONS)}, got {self.interaction!r}")
        require(self.precision in ("float32", "float64"),
                f"precision must be float32 or float64, got {self.precision!r}")
        kinds = (self.gate,) if isinstance(self.gate, str) else self.gate
        require(all(g in GATES for g in kinds), f"gate must be one of {', '.join(GATES)} (or one per skill), "
                                                f"got {self.gate!r}")
        require(isinstance(self.gate, str) or len(self.gate) == self.n,
                f"gate needs one entry per skill ({self.n}), got {len(self.gate)}")
        require(not self.weights or (len(self.weights) == self.n and all(w > 0 for w in self.weights)),
                f"weights needs one positive value per skill ({self.n}), got {self.weights!r}")
        require(not self.parents or len(self.parents) == self.n,
                f"parents needs one entry per skill ({self.n}), got {len(self.parents)}")
        require(all(0 <= j < self.n and j != i for i, ps in enumerate(self.parents) for j in ps),
                "parents must be indices of other skills (0-based)")

    # --- contract -----------------------------------------------------------------------------
    def hparams(self) -> dict[str, float]:
        return {"lr": 3e-4, "N0": 0.003, "alpha": 2.0, "p1": 0.9, "gate_power": 1e-3}

    def check(self, hp: Mapping[str, float]) -> None:
        require(hp["lr"] > 0, f"lr must be > 0, got {hp['lr']}")
        require(hp["N0"] >= 0, f"N0 must be >= 0, got {hp['N0']}")
        require(hp["alpha"] >= 0, f"alpha must be >= 0, got {hp['alpha']}")
        require(0 < hp["p1"] < 1, f"p1 must be in (0, 1), got {hp['p1']}")
        require(hp["gate_power"] > 0, f"gate_power must be > 0, got {hp['gate_power']}")

    def observables(self) -> dict[str, tuple[str, ...]]:
        return {"skill": ("task",), "share": ("task",)}

    def coords(self) -> dict[str, np.ndarray]:
        return {"task": np.arange(1, self.n + 1)}

    def init(self, key: jax.Array, hp: Mapping[str, jax.Array]) -> ResourceState:
        l0 = jnp.ones(self.n) if self.loss == "mse" else jnp.zeros(self.n)
        if self.interaction == "identity":
            return ResourceState(l0, jnp.eye(self.n))
        u = jax.random.normal(key, (self.n, self.d))
        u = u / jnp.linalg.norm(u, axis=1, keepdims=True)
        return ResourceState(l0, u @ u.T)

    def step(self, state: ResourceState, hp: Mapping[str, jax.Array]) -> ResourceState:
        eta = 2.0 * hp["lr"] * jnp.sqrt(float(self.d))
        level = resource_update(state.level, self.shares(state, hp), state.interaction, eta,
                                hp["N0"], self.loss, self.clamp)
        return ResourceState(level, state.interaction)

    def observe(self, state: ResourceState, hp: Mapping[str, jax.Array]) -> dict[str, jax.Array]:
        p = self.task_frequencies(hp)
        c = self.shares(state, hp)
        if self.loss == "mse":
            skill, loss = 1.0 - state.level, jnp.sum(p * state.level**2)
        else:
            skill, loss = jax.nn.sigmoid(state.level), jnp.sum(p * jax.nn.softplus(-state.level))
        return {"skill": skill, "loss": loss, "share": c / (c.sum() + hp["N0"])}

    # --- pieces -------------------------------------------------------------------------------
    def task_frequencies(self, hp: Mapping[str, jax.Array]) -> jax.Array:
        """p: `weights` as given when set, else the normalised `frequencies`."""
        if self.weights:
            return jnp.asarray(self.weights, jnp.result_type(float))
        return frequencies(self.frequencies, self.n, hp["alpha"], hp["p1"])

    def gate_kind(self) -> str | np.ndarray:
        """The gate of every skill: "and", "or", or a boolean mask (True: OR)."""
        return self.gate if isinstance(self.gate, str) else np.array([g == "or" for g in self.gate])

    def parent_mask(self) -> np.ndarray:
        mask = np.zeros((self.n, self.n), bool)
        for i, ps in enumerate(self.parents):
            mask[i, list(ps)] = True
        return mask

    def shares(self, state: ResourceState, hp: Mapping[str, jax.Array]) -> jax.Array:
        """c_i = g_i p_i l_i (MSE) or g_i p_i σ(−l_i) (CE)."""
        p = self.task_frequencies(hp)
        demand = state.level if self.loss == "mse" else jax.nn.sigmoid(-state.level)
        if not self.parents:
            return p * demand
        gate = gates(state.level, jnp.asarray(self.parent_mask()), self.gate_kind(), hp["gate_power"])
        return gate * p * demand
