"""Network pieces shared by the systems: PyTorch's default Linear init, dense layers as plain dicts,
the activations, the precisions, and the Fourier signal of an embedding table.

Parameters are plain dict pytrees and networks pure functions of them (the engine vmaps `init` and
`step` over members and stores snapshots as nested dicts). A dense layer is {"kernel": (n_in,
n_out), "bias": (n_out,)}, applied as `dense(layer, x)` = x · kernel + bias over the last axis.
"""

from __future__ import annotations

import hashlib

import jax
import jax.numpy as jnp
import numpy as np

PRECISIONS = ("float32", "float64")
ACTIVATIONS = {"silu": jax.nn.silu, "relu": jax.nn.relu, "gelu": jax.nn.gelu, "tanh": jnp.tanh}


def torch_uniform(fan_in: int):
    """PyTorch's default Linear init: U(−1/√fan_in, 1/√fan_in) for weights and biases, as an
    initializer `init(key, shape, dtype=float32)`."""
    bound = 1.0 / np.sqrt(fan_in)

    def init(key, shape, dtype=jnp.float32):
        return jax.random.uniform(key, shape, dtype, -bound, bound)

    return init


def torch_linear(key: jax.Array, n_in: int, n_out: int, scale: jax.Array | float = 1.0) -> dict:
    """A Linear layer {"w": (n_in, n_out), "b": (n_out,)} with PyTorch's default init, times `scale`."""
    kw, kb = jax.random.split(key)
    init = torch_uniform(n_in)
    return {"w": scale * init(kw, (n_in, n_out)), "b": scale * init(kb, (n_out,))}


def path_key(key: jax.Array, *path: str | int) -> jax.Array:
    """The key of the parameter named by `path` (names and 1-based counters), derived from `key` as
    fold_in(key, first 4 bytes of SHA-1(path)), big-endian. This is Flax's per-parameter derivation
    (`flax.core.scope.LazyRng`), kept so that ModularMLP and SparseParityMLP, once Flax modules,
    draw bit-identical initial parameters for the same seed."""
    digest = hashlib.sha1()
    for part in path:
        digest.update(part.encode() if isinstance(part, str) else part.to_bytes((part.bit_length() + 7) // 8, "big"))
    return jax.random.fold_in(key, jnp.uint32(int.from_bytes(digest.digest()[:4], "big")))


def dense_init(key: jax.Array, name: str, n_in: int, n_out: int, dtype=jnp.float32) -> dict:
    """Dense layer `name` with PyTorch's default init, kernel and bias drawn from path_key(key, name, 1)
    and path_key(key, name, 2)."""
    init = torch_uniform(n_in)
    return {"kernel": init(path_key(key, name, 1), (n_in, n_out), dtype),
            "bias": init(path_key(key, name, 2), (n_out,), dtype)}


def dense(layer: dict, x: jax.Array) -> jax.Array:
    """x · kernel + bias, contracting the last axis of x (any leading shape)."""
    y = jax.lax.dot_general(x, layer["kernel"], (((x.ndim - 1,), (0,)), ((), ())))
    return y + layer["bias"].reshape((1,) * (y.ndim - 1) + (-1,))


def frequency_signal(embedding: jax.Array) -> jax.Array:
    """S_k = ‖FFT_n(E)[k, :]‖₂ for k = 0..⌊p/2⌋ (real E ⇒ S_k = S_{p−k})."""
    p = embedding.shape[0]
    return jnp.linalg.norm(jnp.fft.fft(embedding, axis=0)[: p // 2 + 1], axis=1)
