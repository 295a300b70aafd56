"""Synthetic sparse features: the superposition toy's inputs and the SAE toy's ground truth.

Superposition (Elhage et al. 2022; `Superposition`): x ∈ R^n, x_i ~ U[0, 1) with probability
`density`, else 0; importance I_i = importance^(i − 1). A stream: a fresh batch every step.
SAE (after Sharkey et al. 2022; `SparseAutoencoder`): N random unit features f_j ∈ R^d
(`data_seed`), x = Σ_j a_j 1[active_j] f_j + σ ε, active_j ~ Bernoulli(density), a_j ~ U[0, 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from toymodels.sae import sample as sae_sample
from toymodels.sae import true_features
from toymodels.spec import require
from toymodels.superposition import importances, sample_features
from toymodels.tasks.base import TaskData
from toymodels.tasks.metrics import as_array


def member_data_key(seed: int) -> jax.Array:
    """The data key of a member of seed `seed` in both systems: split(PRNGKey(seed))[1]."""
    return jax.random.split(jax.random.PRNGKey(seed))[1]


@dataclass(frozen=True)
class SuperpositionFeatures(TaskData):
    """Sparse features for the toy model of superposition.

    importance (n,): I_i; eval_x (eval_samples, n) float32: a fixed evaluation sample (the one
    `superposition.fixed_sample_losses(..., seed=seed)` uses).
    Stream: `sample(key, batch)` (jittable, `batch` static), `step_key(t)` = the batch key of step t
    of a `Superposition` member of seed `seed`.
    Metric (`evaluate` of reconstructions x' of eval_x): loss = mean Σ_i I_i (x_i − x'_i)²,
    feature_loss (n,) = mean (x_i − x'_i)².
    """

    n: int
    density: float
    importance: np.ndarray
    eval_x: np.ndarray
    seed: int = 0

    def step_key(self, step: int | jax.Array) -> jax.Array:
        return jax.random.fold_in(member_data_key(self.seed), step)

    def sample(self, key: jax.Array, batch: int) -> jax.Array:
        """(batch, n) features drawn from `key` (pure JAX)."""
        return sample_features(key, jnp.float32(self.density), batch, self.n)

    def evaluate(self, predictions) -> dict:
        """{loss, feature_loss (n,)} of reconstructions x' (eval_samples, n) of `eval_x`."""
        x_hat = as_array(predictions, self.eval_x.shape, "predictions (reconstructions of eval_x)")
        err = (self.eval_x - x_hat) ** 2
        return {"loss": float((err @ self.importance).mean()), "feature_loss": err.mean(axis=0)}


def superposition_features(n: int = 5, density: float = 0.1, importance: float = 1.0,
                           eval_samples: int = 1 << 15, seed: int = 0) -> SuperpositionFeatures:
    """The feature stream of a `Superposition(n=n)` member of seed `seed` (hparams density,
    importance) and a fixed evaluation sample of `eval_samples` inputs."""
    require(n >= 1, f"n must be >= 1, got {n}")
    require(0 < density <= 1, f"density must be in (0, 1], got {density}")
    require(importance > 0, f"importance must be > 0, got {importance}")
    require(eval_samples >= 1, f"eval_samples must be >= 1, got {eval_samples}")
    eval_x = sample_features(jax.random.PRNGKey(seed), jnp.float32(density), eval_samples, n)
    return SuperpositionFeatures(n, density, np.asarray(importances(jnp.float32(importance), n)),
                                 np.asarray(eval_x), seed)


@dataclass(frozen=True)
class SAEFeatures(TaskData):
    """Ground-truth features and their sparse mixtures, for sparse autoencoders.

    features (N, d) float32 unit rows; eval_x (eval_batch, d): the fixed evaluation batch of
    `SparseAutoencoder` (drawn from PRNGKey(data_seed + 1)).
    Stream: `sample(key, batch)` (jittable, `batch` static), `step_key(t)` = the batch key of step t
    of a `SparseAutoencoder` member of seed `seed`.
    Metric (`evaluate`), as `SparseAutoencoder` observes: mse = mean ‖x − x̂‖², shrinkage = mean
    ‖x̂‖/‖x‖ (over ‖x‖ > 1e-3); with `latents` z (eval_batch, M): l0 = mean #(z > 0), dead = share of
    latents never active; with `decoder` (d, M): mmcs = mean over true features of the best cosine
    with a decoder column.
    """

    features: np.ndarray
    eval_x: np.ndarray
    density: float
    noise: float
    seed: int = 0

    def step_key(self, step: int | jax.Array) -> jax.Array:
        return jax.random.fold_in(member_data_key(self.seed), step)

    def sample(self, key: jax.Array, batch: int) -> jax.Array:
        """(batch, d) inputs drawn from `key` (pure JAX)."""
        return sae_sample(key, jnp.asarray(self.features), batch, jnp.float32(self.density),
                          jnp.float32(self.noise))

    def evaluate(self, predictions, latents=None, decoder=None) -> dict:
        """{mse, shrinkage} of reconstructions x̂ (eval_batch, d) of `eval_x`; {l0, dead} with
        latents (eval_batch, M); {mmcs} with decoder (d, M)."""
        x = self.eval_x.astype(np.float64)
        x_hat = as_array(predictions, x.shape, "predictions (reconstructions of eval_x)")
        norm = np.linalg.norm(x, axis=-1)
        valid = norm > 1e-3
        ratio = np.linalg.norm(x_hat, axis=-1) / np.where(valid, norm, 1.0)
        out = {"mse": float(((x - x_hat) ** 2).sum(-1).mean()),
               "shrinkage": float(ratio[valid].sum() / max(valid.sum(), 1))}
        if latents is not None:
            z = np.asarray(latents, np.float64)
            require(z.ndim == 2 and len(z) == len(x), f"latents must have shape ({len(x)}, M), got {z.shape}")
            out |= {"l0": float((z > 0).sum(-1).mean()), "dead": float((~(z > 0).any(0)).mean())}
        if decoder is not None:
            w = np.asarray(decoder, np.float64)
            require(w.ndim == 2 and w.shape[0] == x.shape[1],
                    f"decoder must have shape ({x.shape[1]}, M), got {w.shape}")
            w = w / np.maximum(np.linalg.norm(w, axis=0, keepdims=True), 1e-8)
            out["mmcs"] = float((self.features.astype(np.float64) @ w).max(axis=1).mean())
        return out


def sae_features(d: int = 16, n_features: int = 32, density: float = 0.08, noise: float = 0.0,
                 eval_batch: int = 2048, data_seed: int = 0, seed: int = 0) -> SAEFeatures:
    """The data of a `SparseAutoencoder(d, n_features, eval_batch=eval_batch, data_seed=data_seed)`
    member of seed `seed` (hparams density, noise)."""
    require(d >= 1 and n_features >= 1, f"d and n_features must be >= 1, got {d}, {n_features}")
    require(0 < density <= 1, f"density must be in (0, 1], got {density}")
    require(noise >= 0, f"noise must be >= 0, got {noise}")
    require(eval_batch >= 2, f"eval_batch must be >= 2, got {eval_batch}")
    require(data_seed >= 0, f"data_seed must be >= 0, got {data_seed}")
    features = true_features(n_features, d, data_seed)
    eval_x = sae_sample(jax.random.PRNGKey(data_seed + 1), jnp.asarray(features), eval_batch,
                        jnp.float32(density), jnp.float32(noise))
    return SAEFeatures(np.array(features), np.asarray(eval_x), density, noise, seed)
