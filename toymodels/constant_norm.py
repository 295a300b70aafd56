"""Constant-norm training (Omnigrok, Liu, Michaud, Tegmark 2022) and the optimiser step that applies it.

After every optimiser step the parameters θ (or one part of them) are rescaled to a fixed global norm w:
    θ ← θ · w / ‖θ‖₂,     w = α · ‖θ₀‖₂  (α = `norm_scale`; Omnigrok uses α = 0.8 with wd = 0).
"""

from __future__ import annotations

from typing import Any

import jax
import optax


def rescale_to_norm(params, norm: jax.Array):
    """θ · norm / ‖θ‖₂ (global L2 norm over every leaf of the pytree)."""
    scale = norm / optax.tree.norm(params)
    return jax.tree.map(lambda x: x * scale.astype(x.dtype), params)


def scale_params(params, factor: jax.Array):
    """α θ for every leaf (the constant-norm start θ₀ ← α θ₀)."""
    return jax.tree.map(lambda x: x * jax.numpy.asarray(factor).astype(x.dtype), params)


def optimizer_step(optimizer: optax.GradientTransformation, params, grads, opt_state,
                   norm: jax.Array | None = None, part: Any = None):
    """One update θ ← θ + u(g); with `norm`, then θ ← θ · norm/‖θ‖₂ (constant-norm projection).

    `part` (a key of the params dict) restricts the projection to params[part]; None = all of θ.
    Returns (params, opt_state).
    """
    updates, opt_state = optimizer.update(grads, opt_state, params)
    params = optax.apply_updates(params, updates)
    if norm is not None:
        if part is None:
            params = rescale_to_norm(params, norm)
        else:
            params = {**params, part: rescale_to_norm(params[part], norm)}
    return params, opt_state
