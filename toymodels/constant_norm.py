"""Constant-norm training (Omnigrok, Liu, Michaud, Tegmark 2022).

After every optimiser step all parameters θ are rescaled to a fixed global norm w:
    θ ← θ · w / ‖θ‖₂,     w = α · ‖θ₀‖₂  (α = `norm_scale`; Omnigrok uses α = 0.8 with wd = 0).
"""

from __future__ import annotations

import jax
import optax


def rescale_to_norm(params, norm: jax.Array):
    """θ · norm / ‖θ‖₂ (global L2 norm over every leaf of the pytree)."""
    scale = norm / optax.tree.norm(params)
    return jax.tree.map(lambda x: x * scale.astype(x.dtype), params)
