"""Realistic synthetic data for sparse autoencoders: Zipfian, correlated, hierarchical features (`sae-synthetic-v1`).

N true features f_j ∈ R^d (unit rows, random, fixed by `data_seed`). The first `n_top = N − P·C`
features are "top-level"; the last P·C are the children of the first P top-level features
(the parents, C children each). A sample is x = Σ_j c_j f_j + σ ε, ε ~ N(0, I_d), c_j = a_j 1[active_j]:

- Firing of top-level features (rank r = 1..n_top): p_r = s · r^(−zipf) with s chosen so that
  Σ_r p_r = `mean_active` (zipf = 0: uniform). Correlated through a Gaussian copula:
  g ~ N(0, Σ), active_r = [g_r < Φ⁻¹(p_r)], so every marginal is exactly p_r; Σ = I except
  Σ_{uv} = `correlation` (ρ) for the pairs (u, v) = (P + 2m, P + 2m + 1) of non-parent top-level
  features (ρ > 0: they fire together more often, ρ < 0: less often).
- Hierarchy: when parent q fires, with probability `child_prob` exactly one of its C children
  fires (chosen uniformly), so children never fire without their parent and never together;
  a child's marginal rate is p_q · child_prob / C. Child directions are orthogonalised to their
  parent's direction (so absorption of the parent into a child latent is visible as a cosine).
- Magnitudes: a_j = |μ_j + s_j n|, n ~ N(0, 1), with per-feature means μ_j = `magnitude_mean` ·
  exp(`magnitude_spread` · u_j), u_j ~ N(0, 1) fixed by `data_seed`, and s_j = `magnitude_std` · μ_j.

`sample(key, batch)` is pure JAX (jittable, `batch` static); a `SAESuite` member of seed s draws
step t's batch from `step_key(t)`; the evaluation batch is drawn from PRNGKey(data_seed + 1).
Registered as `sae-synthetic-v1` (`TASK`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import ndtri

from toymodels.spec import require
from toymodels.tasks.base import TaskData
from toymodels.tasks.metrics import as_array
from toymodels.tasks.registry import TaskEntry, register


def member_data_key(seed: int) -> jax.Array:
    """The data key of a `SAESuite` member of seed `seed`: split(PRNGKey(seed))[1]."""
    return jax.random.split(jax.random.PRNGKey(seed))[1]


def zipf_probabilities(n: int, zipf: float, mean_active: float) -> np.ndarray:
    """p_r = s · r^(−zipf), r = 1..n, with Σ p_r = mean_active."""
    weights = np.arange(1, n + 1, dtype=np.float64) ** -zipf
    return mean_active * weights / weights.sum()


def copula_factor(n_top: int, n_parents: int, correlation: float) -> np.ndarray:
    """Cholesky factor L of the copula's correlation matrix Σ (pairs (P + 2m, P + 2m + 1) at ρ)."""
    sigma = np.eye(n_top)
    for u in range(n_parents, n_top - 1, 2):
        sigma[u, u + 1] = sigma[u + 1, u] = correlation
    return np.linalg.cholesky(sigma)


def feature_directions(n_features: int, d: int, n_parents: int, n_children: int, data_seed: int) -> np.ndarray:
    """F ∈ R^{N×d}: random unit rows; each child row orthogonalised to its parent's row."""
    f = np.random.default_rng([data_seed, 7]).standard_normal((n_features, d))
    f /= np.linalg.norm(f, axis=1, keepdims=True)
    n_top = n_features - n_parents * n_children
    for q in range(n_parents):
        for i in range(n_children):
            j = n_top + q * n_children + i
            f[j] -= (f[j] @ f[q]) * f[q]
            f[j] /= np.linalg.norm(f[j])
    return f.astype(np.float32)


@dataclass(frozen=True)
class SAESynthetic(TaskData):
    """Ground truth and sampler of `sae-synthetic-v1` (see the module docstring).

    features (N, d); probability (N,) marginal firing rates; parent (N,) the parent of each child
    (−1 for top-level features); threshold (n_top,) Φ⁻¹(p_r); chol (n_top, n_top) the copula's
    Cholesky factor; magnitude_mean, magnitude_std (N,); eval_x (eval_batch, d) and eval_c
    (eval_batch, N): the evaluation batch and its true coefficients.
    Metric (`evaluate` of reconstructions x̂ of eval_x): mse = mean ‖x − x̂‖², explained_variance =
    1 − Σ‖x − x̂‖² / Σ‖x − x̄‖²; with latents z (eval_batch, M): l0, dead.
    """

    features: np.ndarray
    probability: np.ndarray
    parent: np.ndarray
    threshold: np.ndarray
    chol: np.ndarray
    magnitude_mean: np.ndarray
    magnitude_std: np.ndarray
    eval_x: np.ndarray
    eval_c: np.ndarray
    n_parents: int
    n_children: int
    child_prob: float
    noise: float
    seed: int = 0

    @property
    def n_top(self) -> int:
        return len(self.threshold)

    def step_key(self, step: int | jax.Array) -> jax.Array:
        return jax.random.fold_in(member_data_key(self.seed), step)

    def sample_with_coefficients(self, key: jax.Array, batch: int) -> tuple[jax.Array, jax.Array]:
        """(x (batch, d), c (batch, N)) drawn from `key` (pure JAX)."""
        return draw(key, batch, jnp.asarray(self.features), jnp.asarray(self.threshold), jnp.asarray(self.chol),
                    jnp.asarray(self.magnitude_mean), jnp.asarray(self.magnitude_std), self.n_parents,
                    self.n_children, self.child_prob, self.noise)

    def sample(self, key: jax.Array, batch: int) -> jax.Array:
        """(batch, d) inputs drawn from `key` (pure JAX)."""
        return self.sample_with_coefficients(key, batch)[0]

    def evaluate(self, predictions, latents=None) -> dict:
        """{mse, explained_variance} of reconstructions (eval_batch, d) of eval_x; {l0, dead} with latents."""
        x = self.eval_x.astype(np.float64)
        x_hat = as_array(predictions, x.shape, "predictions (reconstructions of eval_x)")
        error = ((x - x_hat) ** 2).sum(-1)
        out = {"mse": float(error.mean()), "explained_variance": float(1 - error.sum() / ((x - x.mean(0)) ** 2).sum())}
        if latents is not None:
            z = np.asarray(latents, np.float64)
            require(z.ndim == 2 and len(z) == len(x), f"latents must have shape ({len(x)}, M), got {z.shape}")
            out |= {"l0": float((z > 0).sum(-1).mean()), "dead": float((~(z > 0).any(0)).mean())}
        return out


def draw(key: jax.Array, batch: int, features: jax.Array, threshold: jax.Array, chol: jax.Array,
         magnitude_mean: jax.Array, magnitude_std: jax.Array, n_parents: int, n_children: int,
         child_prob: float, noise: float) -> tuple[jax.Array, jax.Array]:
    """x = Σ_j a_j 1[active_j] f_j + σ ε and the coefficients c (module docstring's equations)."""
    k_copula, k_fire, k_which, k_mag, k_noise = jax.random.split(key, 5)
    g = jax.random.normal(k_copula, (batch, len(threshold))) @ chol.T
    top = g < threshold
    fire = jax.random.uniform(k_fire, (batch, n_parents)) < child_prob
    which = jax.random.randint(k_which, (batch, n_parents), 0, max(n_children, 1))
    child = top[:, :n_parents, None] & fire[..., None] & (jnp.arange(n_children) == which[..., None])
    active = jnp.concatenate([top, child.reshape(batch, n_parents * n_children)], axis=1)
    magnitude = jnp.abs(magnitude_mean + magnitude_std * jax.random.normal(k_mag, active.shape))
    c = jnp.where(active, magnitude, 0.0)
    return c @ features + noise * jax.random.normal(k_noise, (batch, features.shape[1])), c


@functools.cache
def sae_synthetic(d: int = 16, n_features: int = 48, n_parents: int = 4, n_children: int = 3, zipf: float = 1.0,
                  mean_active: float = 3.0, correlation: float = 0.0, child_prob: float = 0.8,
                  magnitude_mean: float = 1.0, magnitude_spread: float = 0.3, magnitude_std: float = 0.2,
                  noise: float = 0.0, eval_batch: int = 2048, data_seed: int = 0, seed: int = 0) -> SAESynthetic:
    """The data a `SAESuite` member of seed `seed` trains on (the system's data settings of the same names)."""
    n_top = n_features - n_parents * n_children
    require(d >= 1, f"d must be >= 1, got {d}")
    require(n_parents >= 0 and n_children >= 0, "n_parents and n_children must be >= 0")
    require(n_top >= max(n_parents, 1), f"n_features = {n_features} leaves no top-level features for "
            f"{n_parents} parents × {n_children} children")
    require(zipf >= 0, f"zipf must be >= 0, got {zipf}")
    probability = zipf_probabilities(n_top, zipf, mean_active)
    require(mean_active > 0 and probability.max() < 1, f"mean_active must be > 0 and give firing rates < 1, got "
            f"{mean_active} (largest rate {probability.max():.3g})")
    require(-1 < correlation < 1, f"correlation must be in (-1, 1), got {correlation}")
    require(0 <= child_prob <= 1, f"child_prob must be in [0, 1], got {child_prob}")
    require(magnitude_mean > 0 and magnitude_spread >= 0 and magnitude_std >= 0,
            "magnitude_mean must be > 0, magnitude_spread and magnitude_std >= 0")
    require(noise >= 0, f"noise must be >= 0, got {noise}")
    require(eval_batch >= 2 and data_seed >= 0, "eval_batch must be >= 2 and data_seed >= 0")
    parent = np.full(n_features, -1)
    parent[n_top:] = np.repeat(np.arange(n_parents), n_children)
    children = probability[parent[n_top:]] * child_prob / max(n_children, 1)
    spread = np.random.default_rng([data_seed, 11]).standard_normal(n_features)
    mean = magnitude_mean * np.exp(magnitude_spread * spread)
    task = SAESynthetic(
        features=feature_directions(n_features, d, n_parents, n_children, data_seed),
        probability=np.concatenate([probability, children]).astype(np.float32),
        parent=parent, threshold=np.asarray(ndtri(jnp.asarray(probability, jnp.float32))),
        chol=copula_factor(n_top, n_parents, correlation).astype(np.float32),
        magnitude_mean=mean.astype(np.float32), magnitude_std=(magnitude_std * mean).astype(np.float32),
        eval_x=np.zeros((0, d), np.float32), eval_c=np.zeros((0, n_features), np.float32),
        n_parents=n_parents, n_children=n_children, child_prob=child_prob, noise=noise, seed=seed)
    x, c = task.sample_with_coefficients(jax.random.PRNGKey(data_seed + 1), eval_batch)
    return SAESynthetic(**{**task.__dict__, "eval_x": np.asarray(x), "eval_c": np.asarray(c)})


TASK = register(TaskEntry("sae-synthetic-v1", sae_synthetic,
                          "Zipfian, correlated (Gaussian copula) and hierarchical sparse features with per-feature "
                          "magnitudes (SAE suite; after SAELens's synthetic data)",
                          "SAESuite (sae-suite)", ("mse", "explained_variance", "l0", "dead")))
