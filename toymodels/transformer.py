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

Observables are the cheap per-step curves (losses, accuracies, the embedding's Fourier signal,
Σθ²). The progress measures (restricted and excluded loss, Gini coefficients) need the key
frequencies of the *final* model, so they are computed after the run from parameter snapshots
(`snapshot` returns the parameters; see `toymodels.theory.progress`).

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

from toymodels.constant_norm import optimizer_step
from toymodels.masked import masked_mean
from toymodels.nn import PRECISIONS, frequency_signal
from toymodels.spec import require
from toymodels.tasks.modular import operation_table, split_key, train_mask


class State(NamedTuple):
    params: dict
    opt_state: optax.OptState
    train: jax.Array  # (p²,) bool mask of training pairs
    norm: jax.Array  # global norm of the initial parameters (the target under constant_norm)


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
        return {"embed_signal": ("freq",)}

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
        return State(params, self.optimizer(hp).init(params), self.split(key, hp), optax.tree.norm(params))

    def split(self, key: jax.Array, hp: Mapping[str, jax.Array]) -> jax.Array:
        """(p²,) bool mask of the training pairs of the member whose init key is `key`."""
        return train_mask(split_key(key), self.p * self.p, hp["train_fraction"])

    @staticmethod
    def loss_per_pair(params: dict, labels: jax.Array) -> jax.Array:
        """(p²,) cross-entropy of the p + 1 logits at "=" against (a + b) mod p, every pair."""
        return optax.losses.softmax_cross_entropy_with_integer_labels(forward(params)[0], labels)

    def step(self, state: State, hp: Mapping[str, jax.Array]) -> State:
        labels = jnp.asarray(operation_table(self.p, "add"))
        grads = jax.grad(lambda prm: masked_mean(self.loss_per_pair(prm, labels), state.train))(state.params)
        params, opt_state = optimizer_step(self.optimizer(hp), state.params, grads, state.opt_state,
                                           state.norm if self.constant_norm else None)
        return State(params, opt_state, state.train, state.norm)

    def observe(self, state: State, hp: Mapping[str, jax.Array]) -> dict[str, jax.Array]:
        labels = jnp.asarray(operation_table(self.p, "add"))
        logits, _ = forward(state.params)
        ce = optax.losses.softmax_cross_entropy_with_integer_labels(logits, labels)
        correct = (jnp.argmax(logits, axis=1) == labels).astype(logits.dtype)
        sq = sum(jnp.sum(x**2) for x in jax.tree.leaves(state.params))
        return {
            "train_loss": masked_mean(ce, state.train),
            "test_loss": masked_mean(ce, ~state.train),
            "train_acc": masked_mean(correct, state.train),
            "test_acc": masked_mean(correct, ~state.train),
            "embed_signal": frequency_signal(state.params["W_E"][: self.p]),
            "weight_sq_sum": sq,
            "weight_norm": jnp.sqrt(sq),
        }

    @staticmethod
    def snapshot(state: State) -> dict:
        """What the engine keeps at `Spec.snapshot_steps`: the parameters only."""
        return state.params
