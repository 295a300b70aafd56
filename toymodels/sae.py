"""A sparse autoencoder trained on toy data with known ground-truth features (after Sharkey et al. 2022).

Data: N true features f_j ∈ R^d (random unit vectors fixed by `data_seed`, N > d). A sample is
x = Σ_j c_j f_j + σ ε with c_j = a_j · 1[active_j], active_j ~ Bernoulli(density), a_j ~ U[0, 1),
ε ~ N(0, I_d). A fresh batch every step.

SAE with dictionary size M (the first `dict_ratio` · N of `max_ratio` · N latents; the others are
masked, so the dictionary size is a dynamic, vmapped hyperparameter):

    z = ReLU(W_e x + b_e) ⊙ mask,   x̂ = W_d z + b_d,   L = ‖x − x̂‖² + l1 · ‖z‖₁   (batch mean)

with decoder columns renormalised to unit norm after every Adam step (so the L1 term cannot be
dodged by shrinking z and growing W_d). TopK variant (`topk` = k > 0): z keeps its k largest
pre-activations (after ReLU) and the L1 term is dropped.

Observed on a fixed evaluation batch: `mse`, `l0` (active latents per sample), `dead` (fraction of
the dictionary that never fires on the batch), `shrinkage` (mean ‖x̂‖ / ‖x‖), `mmcs` (mean over true
features of the best cosine with a live decoder atom). `snapshot` keeps the parameters (set
`Spec.snapshot_steps`) for report-time metrics: recording them at every logged step would hold
logs × members × 2·d·M floats in memory.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
import optax

from toymodels.spec import require


@functools.cache
def true_features(n_features: int, d: int, data_seed: int) -> np.ndarray:
    """F ∈ R^{N×d}: N random unit vectors (the ground truth)."""
    f = np.random.default_rng(data_seed).standard_normal((n_features, d))
    return (f / np.linalg.norm(f, axis=1, keepdims=True)).astype(np.float32)


def sample(key: jax.Array, features: jax.Array, batch: int, density: jax.Array, noise: jax.Array) -> jax.Array:
    """x = Σ_j a_j 1[active_j] f_j + σ ε for `batch` samples (see module docstring)."""
    k_on, k_mag, k_noise = jax.random.split(key, 3)
    n, d = features.shape
    active = jax.random.uniform(k_on, (batch, n)) < density
    coefficients = jnp.where(active, jax.random.uniform(k_mag, (batch, n)), 0.0)
    return coefficients @ features + noise * jax.random.normal(k_noise, (batch, d))


def shrinkage(x: jax.Array, x_hat: jax.Array) -> jax.Array:
    """Mean of ‖x̂‖ / ‖x‖ over the samples with ‖x‖ > 10⁻³ (1 = no shrinkage)."""
    norm = jnp.linalg.norm(x, axis=-1)
    valid = norm > 1e-3
    ratio = jnp.linalg.norm(x_hat, axis=-1) / jnp.where(valid, norm, 1.0)
    return jnp.sum(jnp.where(valid, ratio, 0.0)) / jnp.maximum(valid.sum(), 1)


def unit_columns(w: jax.Array) -> jax.Array:
    return w / jnp.maximum(jnp.linalg.norm(w, axis=0, keepdims=True), 1e-8)


@dataclass(frozen=True)
class SparseAutoencoder:
    """Static settings: data (d, n_features, data_seed), largest dictionary, TopK k (0 = L1), batch."""

    d: int = 16
    n_features: int = 32
    max_ratio: float = 4.0
    topk: int = 0
    batch: int = 256
    eval_batch: int = 2048
    data_seed: int = 0

    divergence_key: ClassVar[str] = "mse"

    def __post_init__(self) -> None:
        require(self.d >= 1 and self.n_features >= 1, "d and n_features must be >= 1")
        require(self.max_ratio > 0 and self.latents >= 1, f"max_ratio must give >= 1 latent, got {self.max_ratio}")
        require(0 <= self.topk <= self.latents, f"topk must be in [0, {self.latents}], got {self.topk}")
        require(self.batch >= 1 and self.eval_batch >= 2, "batch must be >= 1 and eval_batch >= 2")

    @property
    def latents(self) -> int:
        return int(round(self.max_ratio * self.n_features))

    def hparams(self) -> dict[str, float]:
        return {"lr": 1e-3, "l1": 0.1, "dict_ratio": 1.0, "density": 0.08, "noise": 0.0}

    def check(self, hp: Mapping[str, float]) -> None:
        require(hp["lr"] > 0, f"lr must be > 0, got {hp['lr']}")
        require(hp["l1"] >= 0, f"l1 must be >= 0, got {hp['l1']}")
        require(0 < hp["dict_ratio"] <= self.max_ratio and hp["dict_ratio"] * self.n_features >= 1,
                f"dict_ratio must be in (0, max_ratio = {self.max_ratio}] with >= 1 latent, got {hp['dict_ratio']}")
        require(0 < hp["density"] <= 1, f"density must be in (0, 1], got {hp['density']}")
        require(hp["noise"] >= 0, f"noise must be >= 0, got {hp['noise']}")

    def observables(self) -> dict[str, tuple[str, ...]]:
        return {}  # every observation is a scalar

    def coords(self) -> dict[str, np.ndarray]:
        return {}

    def optimizer(self, lr: jax.Array) -> optax.GradientTransformation:
        return optax.adam(lr)

    def mask(self, hp: Mapping[str, jax.Array]) -> jax.Array:
        return (jnp.arange(self.latents) < jnp.round(hp["dict_ratio"] * self.n_features)).astype(jnp.float32)

    def encode(self, params: Mapping[str, jax.Array], x: jax.Array, mask: jax.Array) -> jax.Array:
        z = jax.nn.relu(x @ params["encoder"].T + params["b_enc"]) * mask
        if self.topk:
            kth = jax.lax.top_k(z, self.topk)[0][..., -1:]
            z = jnp.where(z >= kth, z, 0.0)
        return z

    def loss(self, params: Mapping[str, jax.Array], x: jax.Array, hp: Mapping[str, jax.Array]) -> jax.Array:
        z = self.encode(params, x, self.mask(hp))
        x_hat = z @ params["decoder"].T + params["b_dec"]
        l1 = 0.0 if self.topk else hp["l1"] * jnp.abs(z).sum(-1).mean()
        return ((x - x_hat) ** 2).sum(-1).mean() + l1

    def init(self, key: jax.Array, hp: Mapping[str, jax.Array]) -> dict:
        k_dec, k_data = jax.random.split(key)
        decoder = unit_columns(jax.random.normal(k_dec, (self.d, self.latents)))
        params = {"encoder": decoder.T, "decoder": decoder, "b_enc": jnp.zeros(self.latents),
                  "b_dec": jnp.zeros(self.d)}
        return {"params": params, "opt": self.optimizer(hp["lr"]).init(params), "key": k_data,
                "t": jnp.zeros((), jnp.int32)}

    def step(self, state: dict, hp: Mapping[str, jax.Array]) -> dict:
        features = jnp.asarray(true_features(self.n_features, self.d, self.data_seed))
        x = sample(jax.random.fold_in(state["key"], state["t"]), features, self.batch, hp["density"], hp["noise"])
        grads = jax.grad(self.loss)(state["params"], x, hp)
        updates, opt = self.optimizer(hp["lr"]).update(grads, state["opt"], state["params"])
        params = optax.apply_updates(state["params"], updates)
        params = {**params, "decoder": unit_columns(params["decoder"])}
        return {**state, "params": params, "opt": opt, "t": state["t"] + 1}

    def evaluation_batch(self, hp: Mapping[str, jax.Array]) -> jax.Array:
        features = jnp.asarray(true_features(self.n_features, self.d, self.data_seed))
        return sample(jax.random.PRNGKey(self.data_seed + 1), features, self.eval_batch, hp["density"], hp["noise"])

    def observe(self, state: dict, hp: Mapping[str, jax.Array]) -> dict[str, jax.Array]:
        params, mask = state["params"], self.mask(hp)
        x = self.evaluation_batch(hp)
        z = self.encode(params, x, mask)
        x_hat = z @ params["decoder"].T + params["b_dec"]
        features = jnp.asarray(true_features(self.n_features, self.d, self.data_seed))
        cosine = features @ params["decoder"]                        # (N, M): decoder columns are unit
        fired = (z > 0).any(0)
        return {
            "mse": ((x - x_hat) ** 2).sum(-1).mean(),
            "l0": (z > 0).sum(-1).mean(),
            "dead": ((~fired) * mask).sum() / mask.sum(),
            "shrinkage": shrinkage(x, x_hat),
            "mmcs": jnp.where(mask > 0, cosine, -jnp.inf).max(1).mean(),
        }

    @staticmethod
    def snapshot(state: dict) -> dict:
        """What the engine keeps at `Spec.snapshot_steps`: the parameters only."""
        return state["params"]
