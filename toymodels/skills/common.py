"""Pieces shared by the skill models: task frequencies and optimizers by name.

Frequencies (p_i > 0, Σ_i p_i = 1, i = 1..n):
    zipf:  p_i = i^{−α} / Σ_j j^{−α}
    two:   (p_1, 1 − p_1)                      (n = 2)
    exp:   p_i = 3^{−i} / Σ_j 3^{−j}
    decade: p_i = 10^{−(i−1)} / Σ_j 10^{−(j−1)}   (Fig12's loss weights 1, 0.1, 0.01, 0.001)
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax
import optax.contrib

from toymodels.spec import require

FREQUENCIES = ("zipf", "two", "exp", "decade")
NAMED_OPTIMIZERS = ("sgd", "signgd", "adam", "adam95", "ademamix", "lion")


def frequencies(kind: str, n: int, alpha: jax.Array, p1: jax.Array) -> jax.Array:
    """Task frequencies p (n,) of the given kind; `alpha` and `p1` may be traced."""
    i = jnp.arange(1, n + 1, dtype=jnp.result_type(float))
    if kind == "zipf":
        weights = i ** (-alpha)
    elif kind == "two":
        weights = jnp.stack([p1, 1.0 - p1])
    elif kind == "exp":
        weights = 3.0 ** (-i)
    else:
        weights = 10.0 ** (1 - i)
    return weights / weights.sum()


def check_frequencies(kind: str, n: int) -> None:
    """Validate a frequency kind for n tasks (`ConfigError` otherwise)."""
    require(kind in FREQUENCIES,
            f"frequencies must be one of {', '.join(FREQUENCIES)}, got {kind!r}")
    require(kind != "two" or n == 2, f"frequencies='two' needs n=2, got n={n}")


def is_optimizer(name: str) -> bool:
    """True for sgd/signgd/adam and for any optax optimizer built as `optax.<name>(lr)`."""
    if name in NAMED_OPTIMIZERS:
        return True
    factory = getattr(optax, name, None)
    try:
        return callable(factory) and isinstance(factory(1e-3), optax.GradientTransformation)
    except Exception:  # not an optimizer factory (wrong signature, not a transformation, ...)
        return False


def optimizer(name: str, lr: jax.Array) -> optax.GradientTransformation:
    """The optimizer `name` with learning rate `lr` (traced: one per member).

    signgd: Adam with β = (0, 0), ε = 1e-8, i.e. Δx = −lr · g / (|g| + 1e-8) (the paper's SignGD);
    adam: β = (0.9, 0.999); sgd: Δx = −lr · g; and the three of the paper's Fig15 (the authors'
    `scripts/{ademamix,lion}.py` defaults): adam95: β = (0.9, 0.95); ademamix:
    `optax.contrib.ademamix` with β = (0.9, 0.999, 0.9999), α = 2, no warm-up, no weight decay;
    lion: β = (0.9, 0.99), no weight decay (optax's default decay is 1e-3). Anything else:
    `optax.<name>(lr)`.
    """
    if name == "signgd":
        return optax.adam(lr, b1=0.0, b2=0.0, eps=1e-8)
    if name == "adam":
        return optax.adam(lr, b1=0.9, b2=0.999, eps=1e-8)
    if name == "adam95":
        return optax.adam(lr, b1=0.9, b2=0.95, eps=1e-8)
    if name == "ademamix":
        return optax.contrib.ademamix(lr, b1=0.9, b2=0.999, b3=0.9999, alpha=2.0, eps=1e-8)
    if name == "lion":
        return optax.lion(lr, b1=0.9, b2=0.99, weight_decay=0.0)
    return getattr(optax, name)(lr)
