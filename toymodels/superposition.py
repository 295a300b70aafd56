"""The toy model of superposition (Elhage et al. 2022, "Toy Models of Superposition").

    x ∈ R^n,  x_i = u_i with probability p (the feature density, p = 1 − S), else 0,  u_i ~ U[0, 1)
    h = W x,  x' = ReLU(Wᵀ h + b),  W ∈ R^{m×n} (column W_i is feature i's direction), b ∈ R^n
    L = E_x Σ_i I_i (x_i − x'_i)²,  I_i = importance^(i − 1)   (i = 1..n; mean over a batch of B)

Trained with AdamW (lr 1e-3, weight decay 0.01, PyTorch's AdamW default as in the paper's
public notebook) on a fresh batch of B = 1024 every step, drawn from `fold_in(key, t)`. A feature
is sampled with one uniform number: v ~ U[0, 1), x_i = v / p if v < p else 0 (given v < p, v / p
is U[0, 1), so this is the paper's distribution with half the random numbers). The batch's
uniforms come from a counter-based SplitMix32 stream seeded by two threefry words of
`fold_in(key, t)`: v_k = mix(s_0 + k·φ) ⊕ s_1 with the lowbias32 mixer, φ = 0x9E3779B9
(2^32 / golden ratio), 24 bits per value. Measured: threefry for every entry was ~90 % of a step
of the n = 2 model; this stream is ~8× cheaper (docs/superposition.md).
Init: W ~ N(0, init_scale² · 2 / (n + m)) (Xavier normal), b = 0.

Dynamic (vmapped): density p, importance ratio, lr, wd, init_scale. Static: n, m, batch.
Observations: loss (on the batch of the next step), W (hidden, feature), b, and per feature
    norm_i = ‖W_i‖,  interference_i = Σ_{j≠i} (Ŵ_i·W_j)²,
    dimensionality_i  D_i = ‖W_i‖² / Σ_j (Ŵ_i·W_j)²  (0 for a feature with W_i = 0).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from toymodels.spec import require


class SuperpositionState(NamedTuple):
    params: dict[str, jax.Array]     # {"W": (m, n), "b": (n,)}
    opt_state: optax.OptState
    key: jax.Array
    t: jax.Array                     # updates done so far


GOLDEN = 0x9E3779B9


def mix32(x: jax.Array) -> jax.Array:
    """lowbias32 hash (uint32 → uint32): x ^= x>>16; x *= 0x7feb352d; x ^= x>>15; x *= 0x846ca68b; x ^= x>>16."""
    x = x ^ (x >> 16)
    x = x * jnp.uint32(0x7FEB352D)
    x = x ^ (x >> 15)
    x = x * jnp.uint32(0x846CA68B)
    return x ^ (x >> 16)


def uniform_stream(key: jax.Array, shape: tuple[int, ...]) -> jax.Array:
    """U[0, 1) values (24-bit) from a SplitMix32 counter stream seeded by two threefry words of `key`."""
    seed = jax.random.bits(key, (2,), jnp.uint32)
    counter = jnp.arange(int(np.prod(shape)), dtype=jnp.uint32).reshape(shape)
    bits = mix32(seed[0] + counter * jnp.uint32(GOLDEN)) ^ seed[1]
    return (bits >> 8).astype(jnp.float32) * (1.0 / (1 << 24))


def sample_features(key: jax.Array, density: jax.Array, batch: int, n: int) -> jax.Array:
    """(batch, n) features: U[0, 1) with probability `density`, else 0 (one uniform per entry)."""
    v = uniform_stream(key, (batch, n))
    return jnp.where(v < density, v / density, 0.0)


def importances(importance: jax.Array, n: int) -> jax.Array:
    """I_i = importance^(i − 1), i = 1..n."""
    return importance ** jnp.arange(n, dtype=jnp.result_type(importance, jnp.float32))


def reconstruct(params: Mapping[str, jax.Array], x: jax.Array) -> jax.Array:
    """x' = ReLU(Wᵀ W x + b) for a batch x of shape (B, n)."""
    w = params["W"]
    return jax.nn.relu((x @ w.T) @ w + params["b"])


def weighted_loss(params: Mapping[str, jax.Array], x: jax.Array, weights: jax.Array) -> jax.Array:
    """mean over the batch of Σ_i I_i (x_i − x'_i)²."""
    return jnp.mean(jnp.sum(weights * (x - reconstruct(params, x)) ** 2, axis=-1))


def feature_geometry(w: jax.Array) -> dict[str, jax.Array]:
    """Per-feature norm ‖W_i‖, interference Σ_{j≠i}(Ŵ_i·W_j)² and dimensionality D_i of W (m, n).

    With G = WᵀW: (Ŵ_i·W_j)² = G_ij² / G_ii, so Σ_j (Ŵ_i·W_j)² = Σ_j G_ij² / G_ii and
    D_i = G_ii² / Σ_j G_ij². A feature with W_i = 0 gets interference 0 and D_i = 0.
    """
    gram = w.T @ w
    sq = jnp.diag(gram)
    alive = sq > 1e-12
    safe = jnp.where(alive, sq, 1.0)
    total = jnp.sum(gram**2, axis=1)
    return {
        "norm": jnp.sqrt(sq),
        "interference": jnp.where(alive, (total - sq**2) / safe, 0.0),
        "dimensionality": jnp.where(alive, sq**2 / jnp.where(alive, total, 1.0), 0.0),
    }


def fixed_sample_losses(w: np.ndarray, b: np.ndarray, density: float, importance, samples: int = 1 << 15,
                        seed: int = 0) -> np.ndarray:
    """Loss of each (W, b) of a batch, W (k, m, n) and b (k, n), on one fixed sample of `samples`
    inputs at `density` shared by all k (common random numbers: differences between the k are
    estimated much better than each loss); `importance` is a scalar or one ratio per k."""
    k, _, n = np.shape(w)
    x = sample_features(jax.random.PRNGKey(seed), jnp.float32(density), samples, n)
    ratios = jnp.broadcast_to(jnp.asarray(importance, jnp.float32), (k,))

    def one(wk, bk, r):
        return weighted_loss({"W": wk, "b": bk}, x, importances(r, n))

    return np.asarray(jax.jit(jax.vmap(one))(jnp.asarray(w, jnp.float32), jnp.asarray(b, jnp.float32), ratios))


@dataclass(frozen=True)
class Superposition:
    """Static settings: n features, m hidden dimensions, batch size (see module docstring)."""

    n: int = 5
    m: int = 2
    batch: int = 1024

    divergence_key: ClassVar[str] = "loss"

    def __post_init__(self) -> None:
        require(self.n >= 1, f"n must be >= 1, got {self.n}")
        require(self.m >= 1, f"m must be >= 1, got {self.m}")
        require(self.batch >= 1, f"batch must be >= 1, got {self.batch}")

    # --- contract -----------------------------------------------------------------------------
    def hparams(self) -> dict[str, float]:
        return {"density": 0.1, "importance": 1.0, "lr": 1e-3, "wd": 0.01, "init_scale": 1.0}

    def check(self, hp: Mapping[str, float]) -> None:
        require(0 < hp["density"] <= 1, f"density must be in (0, 1], got {hp['density']}")
        require(hp["importance"] > 0, f"importance must be > 0, got {hp['importance']}")
        require(hp["lr"] > 0, f"lr must be > 0, got {hp['lr']}")
        require(hp["wd"] >= 0, f"wd must be >= 0, got {hp['wd']}")
        require(hp["init_scale"] >= 0, f"init_scale must be >= 0, got {hp['init_scale']}")

    def observables(self) -> dict[str, tuple[str, ...]]:
        per_feature = ("feature",)
        return {"W": ("hidden", "feature"), "b": per_feature, "norm": per_feature,
                "interference": per_feature, "dimensionality": per_feature}

    def coords(self) -> dict[str, np.ndarray]:
        return {"feature": np.arange(1, self.n + 1), "hidden": np.arange(1, self.m + 1)}

    def init(self, key: jax.Array, hp: Mapping[str, jax.Array]) -> SuperpositionState:
        w_key, data_key = jax.random.split(key)
        std = hp["init_scale"] * jnp.sqrt(2.0 / (self.n + self.m))
        params = {"W": std * jax.random.normal(w_key, (self.m, self.n)), "b": jnp.zeros(self.n)}
        opt_state = self.optimizer(hp).init(params)
        return SuperpositionState(params, opt_state, data_key, jnp.zeros((), jnp.int32))

    def step(self, state: SuperpositionState, hp: Mapping[str, jax.Array]) -> SuperpositionState:
        x = self.batch_at(state, hp)
        grads = jax.grad(weighted_loss)(state.params, x, importances(hp["importance"], self.n))
        opt = self.optimizer(hp)
        updates, opt_state = opt.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        return SuperpositionState(params, opt_state, state.key, state.t + 1)

    def observe(self, state: SuperpositionState, hp: Mapping[str, jax.Array]) -> dict[str, jax.Array]:
        x = self.batch_at(state, hp)
        loss = weighted_loss(state.params, x, importances(hp["importance"], self.n))
        return {"loss": loss, "W": state.params["W"], "b": state.params["b"],
                **feature_geometry(state.params["W"])}

    # --- pieces -------------------------------------------------------------------------------
    def optimizer(self, hp: Mapping[str, jax.Array]) -> optax.GradientTransformation:
        return optax.adamw(hp["lr"], weight_decay=hp["wd"])

    def batch_at(self, state: SuperpositionState, hp: Mapping[str, jax.Array]) -> jax.Array:
        """The batch of step t: features drawn from fold_in(key, t)."""
        return sample_features(jax.random.fold_in(state.key, state.t), hp["density"], self.batch, self.n)
