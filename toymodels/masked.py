"""Means over a per-member mask (train/test splits of a full table share one shape)."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def masked_mean(x: jax.Array, mask: jax.Array, axis=None) -> jax.Array:
    """Σ_{mask} x / #mask along `axis` (NaN where the mask is empty)."""
    n = mask.sum(axis)
    total = jnp.sum(jnp.where(mask, x, 0), axis)
    return jnp.where(n > 0, total / jnp.maximum(n, 1), jnp.nan)
