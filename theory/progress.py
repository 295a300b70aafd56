"""Progress measures of the one-layer transformer (Nanda, Chan, Lieberum, Smith, Steinhardt 2023).

Everything here reads a parameter pytree of `toymodels.transformer` (one model, or stacked
snapshots through `jax.vmap`) and a *fixed* key-frequency set K chosen once from the final model,
as the paper does. w_k = 2πk/p; L = the (p², p) answer logits over all pairs a·p + b (the "="
output is dropped, as in the authors' `test_logits`).

Key frequencies (the authors' `calculate_key_freqs`, on the final model): centre each MLP neuron's
activation n(a, b) over the p² pairs, transform it on both axes in the orthonormal real Fourier
basis B = {1, cos w_k·, sin w_k·}; the neuron's frequency is the k whose 3 × 3 block
(1, cos w_k, sin w_k)² holds the largest share of its energy; k ∈ K when at least one neuron has
frequency k with share ≥ 0.85.

    u_k^c(a, b) = cos(w_k(a+b))·√2/p,   u_k^s(a, b) = sin(w_k(a+b))·√2/p     (unit vectors over pairs)
    restricted logits = mean_pairs(L) + Σ_{k∈K} Σ_{c,s} u_k (u_kᵀ L)   → cross-entropy on all p² pairs
    excluded logits   = L − Σ_{k∈K} Σ_{c,s} u_k (u_kᵀ L)               → cross-entropy on the train pairs
    Gini(x) = 1 − 2 Σ_{i=1..N} (x_(i)/‖x‖₁)·(N − i + ½)/N   (Hurley & Rickard 2009; x sorted ascending)
of the Fourier norms ‖(B W_E[:p])_j‖₂ of the embedding (p basis rows j) and ‖(B W_Lᵀ)_j‖₂ of the
neuron-logit map W_L = (W_out W_U[:, :p])ᵀ (p × d_mlp, Fourier over the output c).

Phases (per member, from the observed curves; the paper reads them by eye):
    memorised     = first step with train accuracy ≥ 0.99                 (end of memorisation)
    drop_step(L, q) = first step after the maximum of L (from `start` on) where
                    log L ≤ log L_hi − q·(log L_hi − log L_lo), L_lo = min of L after the maximum
    cleanup_start = drop_step(test loss, 0.1)   (the test loss has begun to plunge)
    cleanup_end   = drop_step(test loss, 0.9)   (the plunge is over)
memorisation [0, memorised], circuit formation [memorised, cleanup_start], cleanup
[cleanup_start, cleanup_end]. A step that never comes is NaN.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import optax
import xarray as xr

from toymodels.theory.events import first_step
from toymodels.transformer import forward

MEMORISED_ACC = 0.99
KEY_FRACTION = 0.85  # share of a neuron's energy its frequency must explain (Nanda et al.)


# --- Fourier analysis ------------------------------------------------------------------------
def fourier_basis(p: int) -> np.ndarray:
    """Orthonormal real basis (p, p): rows 1/√p, √(2/p)·cos(w_k x), √(2/p)·sin(w_k x), k ≥ 1."""
    x = np.arange(p)
    rows = [np.full(p, 1 / np.sqrt(p))]
    for k in range(1, p // 2 + 1):
        rows += [np.cos(2 * np.pi * k * x / p), np.sin(2 * np.pi * k * x / p)]
    basis = np.stack(rows[:p])
    return basis / np.linalg.norm(basis, axis=1, keepdims=True)


def sum_directions(p: int) -> np.ndarray:
    """(⌊p/2⌋+1, 2, p²) unit vectors cos(w_k(a+b)), sin(w_k(a+b)) over pairs a·p+b; k = 0 → 0."""
    a, b = np.divmod(np.arange(p * p), p)
    k = np.arange(p // 2 + 1)[:, None]
    angle = 2 * np.pi * k * (a + b)[None] / p
    dirs = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    dirs[0] = 0.0
    return dirs / np.maximum(np.linalg.norm(dirs, axis=2, keepdims=True), 1e-30)


def key_components(logits: jax.Array, key: jax.Array) -> jax.Array:
    """Σ_k key_k Σ_{c∈{cos,sin}} u_k^c (u_k^cᵀ L), logits L (p², V), key weights (⌊p/2⌋+1,)."""
    p = int(round(np.sqrt(logits.shape[0])))
    dirs = jnp.asarray(sum_directions(p), logits.dtype)
    coeffs = jnp.einsum("kcn,nv->kcv", dirs, logits)
    return jnp.einsum("k,kcn,kcv->nv", key.astype(logits.dtype), dirs, coeffs)


def restricted_logits(logits: jax.Array, key: jax.Array) -> jax.Array:
    """mean over pairs of L (the authors' bias correction) + its key-frequency components."""
    return logits.mean(axis=0, keepdims=True) + key_components(logits, key)


def excluded_logits(logits: jax.Array, key: jax.Array) -> jax.Array:
    """L minus its key-frequency components."""
    return logits - key_components(logits, key)


def neuron_frequencies(acts: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(best frequency, share of energy it explains) per neuron, from acts (p², n) over pairs a·p+b.

    share_k = Σ_{i,j ∈ {0, cos k, sin k}} F[i, j]² / Σ F²,  F = B (n − mean) Bᵀ,  B = `fourier_basis`.
    """
    p = int(round(np.sqrt(acts.shape[0])))
    basis = jnp.asarray(fourier_basis(p), acts.dtype)
    centred = (acts - acts.mean(axis=0)).reshape(p, p, -1)
    power = jnp.einsum("ia,abn,jb->ijn", basis, centred, basis) ** 2
    k = np.arange(1, p // 2 + 1)
    rows = np.stack([np.zeros_like(k), 2 * k - 1, 2 * k], axis=1)  # (K, 3) basis rows of frequency k
    energy = power[rows[:, :, None], rows[:, None, :]].sum(axis=(1, 2))  # (K, n)
    share = energy / jnp.maximum(power.sum(axis=(0, 1)), 1e-30)
    return 1 + jnp.argmax(share, axis=0), share.max(axis=0)


def neurons_per_frequency(acts: jax.Array) -> jax.Array:
    """(⌊p/2⌋+1,) number of neurons whose best frequency k explains ≥ 85 % of their energy."""
    p = int(round(np.sqrt(acts.shape[0])))
    best, share = neuron_frequencies(acts)
    return jnp.zeros(p // 2 + 1, acts.dtype).at[best].add((share >= KEY_FRACTION).astype(acts.dtype))


def key_frequencies(params: Mapping[str, jax.Array]) -> jax.Array:
    """K of one model as a bool mask over k = 0..⌊p/2⌋ (module docstring; k = 0 is never in K)."""
    return neurons_per_frequency(forward(params)[1]) > 0


def gini(x: jax.Array) -> jax.Array:
    """Hurley–Rickard Gini of non-negative x along the last axis: 0 if flat, 1 − 1/N if one-hot."""
    n = x.shape[-1]
    ranked = jnp.sort(x, axis=-1)
    weights = (n - jnp.arange(1, n + 1) + 0.5) / n
    return 1 - 2 * jnp.sum(ranked * weights, axis=-1) / jnp.maximum(jnp.sum(x, axis=-1), 1e-30)


def fourier_norms(w: jax.Array) -> jax.Array:
    """‖(B W)_j‖₂ for the p rows j of the real Fourier basis B, W of shape (p, n)."""
    return jnp.linalg.norm(jnp.asarray(fourier_basis(w.shape[0]), w.dtype) @ w, axis=1)


def neuron_logit_map(params: Mapping[str, jax.Array]) -> jax.Array:
    """W_L as (p, d_mlp): the map from neuron activations to the p answer logits, W_out W_U[:, :p]."""
    p = params["W_E"].shape[0] - 1
    return (params["W_out"] @ params["W_U"][:, :p]).T


# --- the measures of one model with a fixed K -------------------------------------------------
def answer_logits(params: Mapping[str, jax.Array]) -> jax.Array:
    """(p², p) logits of the p answers (the "=" output dropped, as the authors' `test_logits`)."""
    logits, _ = forward(params)
    return logits[:, :-1]


def mean_loss(logits: jax.Array, labels: jax.Array, where: jax.Array) -> jax.Array:
    """Mean cross-entropy over the pairs where `where` holds."""
    ce = optax.losses.softmax_cross_entropy_with_integer_labels(logits, labels)
    return jnp.sum(jnp.where(where, ce, 0.0)) / jnp.maximum(jnp.sum(where), 1)


def measures(params: Mapping[str, jax.Array], key: jax.Array, train: jax.Array) -> dict[str, jax.Array]:
    """restricted_loss, excluded_loss, full_loss (all pairs), gini_embed, gini_logit_map of one model.

    `key` (⌊p/2⌋+1,) bool: the fixed K; `train` (p²,) bool: the member's training pairs.
    """
    p = params["W_E"].shape[0] - 1
    labels = jnp.asarray((np.arange(p * p) // p + np.arange(p * p) % p) % p)
    logits = answer_logits(params)
    everything = jnp.ones(p * p, bool)
    return {
        "restricted_loss": mean_loss(restricted_logits(logits, key), labels, everything),
        "excluded_loss": mean_loss(excluded_logits(logits, key), labels, train),
        "full_loss": mean_loss(logits, labels, everything),
        "gini_embed": gini(fourier_norms(params["W_E"][:p])),
        "gini_logit_map": gini(fourier_norms(neuron_logit_map(params))),
    }


# --- phases -----------------------------------------------------------------------------------
def _drop_step(log_loss: np.ndarray, steps: np.ndarray, start: float, fraction: float) -> float:
    """drop_step on one member's log-loss curve (see module docstring)."""
    if not np.isfinite(start):
        return np.nan
    after = (steps >= start) & np.isfinite(log_loss)
    if not after.any():
        return np.nan
    peak = int(np.argmax(np.where(after, log_loss, -np.inf)))
    tail = np.where((np.arange(len(steps)) >= peak) & np.isfinite(log_loss), log_loss, np.inf)
    hi, lo = log_loss[peak], tail.min()
    below = tail <= hi - fraction * (hi - lo)
    return float(steps[int(np.argmax(below))]) if hi > lo else np.nan


def drop_step(loss: xr.DataArray, start: xr.DataArray | float, fraction: float) -> xr.DataArray:
    """First step after the peak (from `start` on) where log loss fell by `fraction` of its drop."""
    with np.errstate(divide="ignore", invalid="ignore"):  # a float32 loss of 0 (or −0) has no log: skipped
        log_loss = np.log(loss)
    return xr.apply_ufunc(
        _drop_step,
        log_loss,
        loss["step"],
        start,
        fraction,
        input_core_dims=[["step"], ["step"], [], []],
        vectorize=True,
    )


@dataclass(frozen=True)
class ProgressPhases:
    """Phase boundaries (steps) per member: memorised → cleanup_start → cleanup_end."""

    memorised: xr.DataArray
    cleanup_start: xr.DataArray
    cleanup_end: xr.DataArray


def progress_phases(ds: xr.Dataset) -> ProgressPhases:
    """The three-phase boundaries of every member, from `train_acc` and `test_loss` (module docstring)."""
    memorised = first_step(ds["train_acc"] >= MEMORISED_ACC)
    return ProgressPhases(
        memorised=memorised,
        cleanup_start=drop_step(ds["test_loss"], memorised, 0.1),
        cleanup_end=drop_step(ds["test_loss"], memorised, 0.9),
    )
