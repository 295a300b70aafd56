"""Network pieces shared by the systems: PyTorch's default Linear init, the activations, the
precisions, and the Fourier signal of an embedding table."""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

PRECISIONS = ("float32", "float64")
ACTIVATIONS = {"silu": nn.silu, "relu": nn.relu, "gelu": nn.gelu, "tanh": jnp.tanh}


def torch_uniform(fan_in: int):
    """PyTorch's default Linear init: U(−1/√fan_in, 1/√fan_in) for weights and biases (a Flax initializer)."""
    bound = 1.0 / np.sqrt(fan_in)

    def init(key, shape, dtype=jnp.float32):
        return jax.random.uniform(key, shape, dtype, -bound, bound)

    return init


def torch_linear(key: jax.Array, n_in: int, n_out: int, scale: jax.Array | float = 1.0) -> dict:
    """A Linear layer {"w": (n_in, n_out), "b": (n_out,)} with PyTorch's default init, times `scale`."""
    kw, kb = jax.random.split(key)
    init = torch_uniform(n_in)
    return {"w": scale * init(kw, (n_in, n_out)), "b": scale * init(kb, (n_out,))}


def frequency_signal(embedding: jax.Array) -> jax.Array:
    """S_k = ‖FFT_n(E)[k, :]‖₂ for k = 0..⌊p/2⌋ (real E ⇒ S_k = S_{p−k})."""
    p = embedding.shape[0]
    return jnp.linalg.norm(jnp.fft.fft(embedding, axis=0)[: p // 2 + 1], axis=1)
