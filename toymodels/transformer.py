"""One-layer transformer on (a + b) mod p (Nanda, Chan, Lieberum, Smith, Steinhardt 2023).

Input tokens "a b =" (positions 0, 1, 2; "=" is token p; vocabulary p + 1); logits are read at the
last position. With residual stream x_i = W_E[t_i] + W_pos[i] and no LayerNorm,

    attn  = Σ_h softmax_j( (x_2 W_Q^h)·(x_j W_K^h) / √d_head ) (x_j W_V^h) W_O^h,   j = 0, 1, 2
    r     = x_2 + attn
    n     = ReLU(r W_in + b_in)                       (the d_mlp neuron activations)
    logit = (r + n W_out + b_out) W_U                 ∈ R^{p+1}
    loss  = cross-entropy of logit vs (a + b) mod p on the training pairs (full batch)

Defaults are the authors' `Config` (p = 113, d_model 128, 4 heads × 32, d_mlp 512, AdamW lr 1e-3,
wd 1.0, betas (0.9, 0.98), learning rate × min(step/10, 1), train fraction 0.3). Init: W_E, W_pos,
W_Q, W_K, W_V, W_O, W_in, W_out ~ N(0, 1/d_model); W_U ~ N(0, 1/(p+1)); biases 0.

Progress measures (reference section c.3), w_k = 2πk/p, on the (p², p+1) logits L over all pairs:
    u_k^c(a, b) = cos(w_k(a+b))·√2/p,  u_k^s(a, b) = sin(w_k(a+b))·√2/p   (unit vectors over pairs)
    restricted logits = mean_{pairs} L + Σ_{k∈K} u_k (u_kᵀ L)  (both directions) → loss on all pairs
    excluded logits   = L − Σ_{k∈K} u_k (u_kᵀ L)                              → loss on train pairs
Key frequencies K (Nanda's `calculate_key_freqs`, recomputed from the *current* model at every
observation): centre each neuron's activations n(a, b) over the p² pairs, take the 2-D transform
in the orthonormal real Fourier basis {1, cos w_k·, sin w_k·}; a neuron's frequency is the k whose
3×3 block (constant, cos, sin)² holds the largest share of its energy; k ∈ K when at least one
neuron has frequency k with share ≥ 0.85. Early in training no neuron qualifies, K = ∅, and the
restricted loss is that of the per-output mean logits.

Deviations, stated: each member draws its split with `toymodels.tasks.modular.train_mask` (not
Python's `random.shuffle`); float32 by default (`precision="float64"` available); the forward pass
computes only the last position, evaluating all p² pairs with no gathers (per-token key/value
tables broadcast over (a, b)), which is exactly the authors' output since later positions never
influence earlier ones under the causal mask.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from toymodels.constant_norm import rescale_to_norm
from toymodels.masked import masked_mean
from toymodels.modular_mlp import PRECISIONS, frequency_signal
from toymodels.spec import require
from toymodels.tasks.modular import operation_table, split_key, train_mask

KEY_FRACTION = 0.85  # share of a neuron's energy its frequency must explain (Nanda et al.)


class State(NamedTuple):
    params: dict
    opt_state: optax.OptState
    train: jax.Array  # (p²,) bool mask of training pairs
    norm: jax.Array  # global norm of the initial parameters (the target under constant_norm)


# --- Fourier analysis (pure; also used by theory/progress.py and the tests) -----------------------
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
    """mean over pairs of L (the bias correction) + its key-frequency components."""
    return logits.mean(axis=0, keepdims=True) + key_components(logits, key)


def excluded_logits(logits: jax.Array, key: jax.Array) -> jax.Array:
    """L minus its key-frequency components."""
    return logits - key_components(logits, key)


def neuron_frequencies(acts: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(best frequency, share of energy it explains) per neuron, from acts (p², n) over pairs a·p+b.

    share_k = Σ_{i,j ∈ {0, cos k, sin k}} F[i, j]² / Σ F²,  F = B (n − mean) Bᵀ,
    B = `fourier_basis`.
    """
    p = int(round(np.sqrt(acts.shape[0])))
    basis = jnp.asarray(fourier_basis(p), acts.dtype)
    centred = (acts - acts.mean(axis=0)).reshape(p, p, -1)
    power = jnp.einsum("ia,abn,jb->ijn", basis, centred, basis) ** 2
    k = np.arange(1, p // 2 + 1)
    rows = np.stack(
        [np.zeros_like(k), 2 * k - 1, 2 * k], axis=1
    )  # (K, 3) basis rows of frequency k
    energy = power[rows[:, :, None], rows[:, None, :]].sum(axis=(1, 2))  # (K, n)
    share = energy / jnp.maximum(power.sum(axis=(0, 1)), 1e-30)
    return 1 + jnp.argmax(share, axis=0), share.max(axis=0)


def neurons_per_frequency(acts: jax.Array) -> jax.Array:
    """(⌊p/2⌋+1,) number of neurons whose best frequency k explains ≥ 85 % of their energy."""
    p = int(round(np.sqrt(acts.shape[0])))
    best, share = neuron_frequencies(acts)
    return (
        jnp.zeros(p // 2 + 1, acts.dtype).at[best].add((share >= KEY_FRACTION).astype(acts.dtype))
    )


def cross_entropy(logits: jax.Array, labels: jax.Array) -> jax.Array:
    """Per-example −log softmax(logits)[label]."""
    return -jnp.take_along_axis(jax.nn.log_softmax(logits), labels[:, None], axis=1)[:, 0]



# --- the network ------------------------------------------------------------------------------
def init_params(key: jax.Array, p: int, d_model: int, n_heads: int, d_mlp: int, dtype) -> dict:
    """Nanda et al.'s init: N(0, 1/d_model) for every matrix but W_U ~ N(0, 1/(p+1)); biases 0."""
    d_head = d_model // n_heads
    shapes = {
        "W_E": (p + 1, d_model),
        "W_pos": (3, d_model),
        "W_Q": (n_heads, d_model, d_head),
        "W_K": (n_heads, d_model, d_head),
        "W_V": (n_heads, d_model, d_head),
        "W_O": (n_heads, d_head, d_model),
        "W_in": (d_model, d_mlp),
        "W_out": (d_mlp, d_model),
        "W_U": (d_model, p + 1),
    }
    keys = jax.random.split(key, len(shapes))
    params = {
        name: jax.random.normal(k, shape, dtype) / np.sqrt(p + 1 if name == "W_U" else d_model)
        for k, (name, shape) in zip(keys, shapes.items(), strict=True)
    }
    return {**params, "b_in": jnp.zeros(d_mlp, dtype), "b_out": jnp.zeros(d_model, dtype)}


def forward(params: dict) -> tuple[jax.Array, jax.Array]:
    """(logits (p², p+1), neuron activations (p², d_mlp)) at the "=" position, all pairs (a, b)."""
    p = params["W_E"].shape[0] - 1
    d_head = params["W_Q"].shape[-1]
    x = params["W_E"][:p, None, :] + params["W_pos"][None, :2, :]  # (p, 2, d): a at 0, b at 1
    x_eq = params["W_E"][p] + params["W_pos"][2]  # (d,)
    q = jnp.einsum("d,hde->he", x_eq, params["W_Q"])
    s = jnp.einsum("tid,hde,he->tih", x, params["W_K"], q) / np.sqrt(d_head)  # (p, 2, h)
    s_eq = jnp.einsum("d,hde,he->h", x_eq, params["W_K"], q) / np.sqrt(d_head)
    o = jnp.einsum("tid,hde,hef->tihf", x, params["W_V"], params["W_O"])  # (p, 2, h, d)
    o_eq = jnp.einsum("d,hde,hef->hf", x_eq, params["W_V"], params["W_O"])
    scores = jnp.stack(
        jnp.broadcast_arrays(s[:, None, 0], s[None, :, 1], s_eq[None, None]), axis=-1
    )
    w = jax.nn.softmax(scores, axis=-1)  # (p, p, h, 3)
    attn = (
        jnp.einsum("abh,ahf->abf", w[..., 0], o[:, 0])
        + jnp.einsum("abh,bhf->abf", w[..., 1], o[:, 1])
        + jnp.einsum("abh,hf->abf", w[..., 2], o_eq)
    )
    r = x_eq + attn
    n = jax.nn.relu(r @ params["W_in"] + params["b_in"])
    logits = (r + n @ params["W_out"] + params["b_out"]) @ params["W_U"]
    return logits.reshape(p * p, p + 1), n.reshape(p * p, -1)


@dataclass(frozen=True)
class Transformer:
    """Static settings of the one-layer transformer (see module docstring)."""

    p: int = 113
    d_model: int = 128
    n_heads: int = 4
    d_mlp: int = 512
    precision: str = "float32"
    constant_norm: bool = False

    divergence_key: ClassVar[str] = "train_loss"

    def __post_init__(self) -> None:
        require(self.p >= 3 and self.p % 2 == 1, f"p must be an odd number >= 3, got {self.p}")
        require(self.d_model >= 1, f"d_model must be >= 1, got {self.d_model}")
        require(
            self.n_heads >= 1 and self.d_model % self.n_heads == 0,
            f"n_heads must divide d_model ({self.d_model}), got {self.n_heads}",
        )
        require(self.d_mlp >= 1, f"d_mlp must be >= 1, got {self.d_mlp}")
        require(
            self.precision in PRECISIONS,
            f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}",
        )

    # --- contract -----------------------------------------------------------------------------
    def hparams(self) -> dict[str, float]:
        return {"lr": 1e-3, "wd": 1.0, "train_fraction": 0.3, "warmup": 10.0, "norm_scale": 0.8}

    def check(self, hp: Mapping[str, float]) -> None:
        require(hp["lr"] > 0, f"lr must be > 0, got {hp['lr']}")
        require(hp["wd"] >= 0, f"wd must be >= 0, got {hp['wd']}")
        require(
            0 < hp["train_fraction"] <= 1,
            f"train_fraction must be in (0, 1], got {hp['train_fraction']}",
        )
        require(hp["warmup"] >= 0, f"warmup must be >= 0, got {hp['warmup']}")
        require(hp["norm_scale"] > 0, f"norm_scale must be > 0, got {hp['norm_scale']}")

    def observables(self) -> dict[str, tuple[str, ...]]:
        return {"key_freqs": ("freq",), "neurons_per_freq": ("freq",), "embed_signal": ("freq",)}

    def coords(self) -> dict[str, np.ndarray]:
        return {"freq": np.arange(self.p // 2 + 1)}

    @staticmethod
    def optimizer(hp: Mapping[str, jax.Array]) -> optax.GradientTransformation:
        """AdamW(lr·min(t/warmup, 1), betas (0.9, 0.98), wd) — PyTorch's LambdaLR warm-up."""

        def schedule(count):
            return hp["lr"] * jnp.minimum(count / jnp.maximum(hp["warmup"], 1e-12), 1.0)

        return optax.adamw(schedule, b1=0.9, b2=0.98, eps=1e-8, weight_decay=hp["wd"])

    @property
    def dtype(self):
        return jnp.float64 if self.precision == "float64" else jnp.float32

    def init(self, key: jax.Array, hp: Mapping[str, jax.Array]) -> State:
        params = init_params(key, self.p, self.d_model, self.n_heads, self.d_mlp, self.dtype)
        if self.constant_norm:
            params = jax.tree.map(lambda x: x * hp["norm_scale"].astype(x.dtype), params)
        mask = train_mask(split_key(key), self.p * self.p, hp["train_fraction"])
        return State(params, self.optimizer(hp).init(params), mask, optax.tree.norm(params))

    def step(self, state: State, hp: Mapping[str, jax.Array]) -> State:
        labels = jnp.asarray(operation_table(self.p, "add"))
        grads = jax.grad(
            lambda prm: masked_mean(cross_entropy(forward(prm)[0], labels), state.train)
        )(state.params)
        updates, opt_state = self.optimizer(hp).update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        if self.constant_norm:
            params = rescale_to_norm(params, state.norm)
        return State(params, opt_state, state.train, state.norm)

    def observe(self, state: State, hp: Mapping[str, jax.Array]) -> dict[str, jax.Array]:
        labels = jnp.asarray(operation_table(self.p, "add"))
        logits, acts = forward(state.params)
        ce = cross_entropy(logits, labels)
        correct = (jnp.argmax(logits, axis=1) == labels).astype(logits.dtype)
        neurons = neurons_per_frequency(acts)
        key = neurons > 0
        everything = jnp.ones_like(state.train)
        sq = sum(jnp.sum(x**2) for x in jax.tree.leaves(state.params))
        return {
            "train_loss": masked_mean(ce, state.train),
            "test_loss": masked_mean(ce, ~state.train),
            "train_acc": masked_mean(correct, state.train),
            "test_acc": masked_mean(correct, ~state.train),
            "restricted_loss": masked_mean(
                cross_entropy(restricted_logits(logits, key), labels), everything
            ),
            "excluded_loss": masked_mean(
                cross_entropy(excluded_logits(logits, key), labels), state.train
            ),
            "key_freqs": key,
            "n_key_freqs": key.sum(),
            "neurons_per_freq": neurons,
            "embed_signal": frequency_signal(state.params["W_E"][: self.p]),
            "weight_sq_sum": sq,
            "weight_norm": jnp.sqrt(sq),
        }
