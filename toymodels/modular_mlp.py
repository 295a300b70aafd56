"""Embedding-MLP on modular arithmetic (Ding, Guo, Michaud, Liu, Tegmark 2024, "Survival of the
Fittest").

    x(a, b) = [E_a, E_b] ∈ R^{2d}   (or E_a + E_b with embed="sum"),   E ∈ R^{p×d}, E_ij ~ N(0, s²)
    logits  = W_L σ(… σ(W_1 x + b_1) …) + b_L,   σ = SiLU,  hidden widths `width` × `depth`
    loss    = cross-entropy on the train pairs (full batch), AdamW(lr, wd) on all parameters
    S_k     = ‖ Σ_n E[n, :] e^{−2πi k n / p} ‖₂,  k = 0..(p−1)/2   (per-frequency embedding signal)

Re-seeding controls (the authors' `--fix_embedding` / `--fix_mlp`; static `fix`, `init_seed`):
`fix="embedding"` takes E from PRNGKey(init_seed) and the MLP and split from the member's seed;
`fix="mlp"` takes the MLP and the split from PRNGKey(init_seed) and E from the member's seed.

Constant-norm option (Omnigrok, Liu et al. 2022; `constant_norm=True`): the initial parameters are
multiplied by α = `norm_scale` and, after every AdamW step, all parameters are rescaled back to
the global norm ‖α θ₀‖₂ (`toymodels.constant_norm.rescale_to_norm`). Omnigrok uses α = 0.8 with
wd = 0; `init_scale` still multiplies the embedding first, so θ₀ includes it.
`scale_init=True` multiplies the initial parameters by α = `norm_scale` without the projection
(Omnigrok's large initialisation, θ₀ ← α θ₀, then plain AdamW: weight decay pulls the norm down).

Defaults follow the authors' code (p = 59, d = 128, width 100, depth 2, lr 0.01, wd 0.5, train
fraction 0.8; Linear layers with PyTorch's default init). Deviations, stated: float32 by default
(the paper uses float64: `precision="float64"`); each member draws its own split from its seed.

Parameters (plain dicts, `init_params`): {"embedding": E (p, d), "w1": (n_in, width), "b1": (width,),
"Dense_0" … "Dense_{depth−1}": {"kernel", "bias"}} (the last Dense is the output layer). The
layer names are those of the former Flax module, and each parameter's key is derived from the
member's key as Flax did (`toymodels.nn.path_key`), so the same seed gives bit-identical parameters
and stored snapshots keep their tree.

Implementation: the whole p² table is evaluated every step with no gathers — the first layer is
W_1 [E_a, E_b] = (E W_1a)[a] + (E W_1b)[b], a broadcast sum of two (p, width) tables — and the
train/test split is a per-member mask, so test metrics cost nothing extra.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from toymodels.constant_norm import optimizer_step, scale_params
from toymodels.masked import masked_mean
from toymodels.nn import ACTIVATIONS, PRECISIONS, dense, dense_init, frequency_signal, path_key, torch_uniform
from toymodels.spec import require
from toymodels.tasks.modular import OPERATIONS, operation_table, split_key, train_mask

EMBEDS = ("concat", "sum")
FIXES = ("none", "embedding", "mlp")


class State(NamedTuple):
    params: dict
    opt_state: optax.OptState
    train: jax.Array  # (p²,) bool mask of training pairs
    norm: jax.Array   # global norm of the initial parameters (the target under constant_norm)


@dataclass(frozen=True)
class ModularMLP:
    """Static settings of the embedding-MLP (see module docstring)."""

    p: int = 59
    d: int = 128
    width: int = 100
    depth: int = 2
    op: str = "add"
    embed: str = "concat"
    activation: str = "silu"
    precision: str = "float32"
    constant_norm: bool = False
    scale_init: bool = False
    fix: str = "none"
    init_seed: int = 0

    divergence_key: ClassVar[str] = "train_loss"

    def __post_init__(self) -> None:
        require(self.p >= 3, f"p must be >= 3, got {self.p}")
        require(self.d >= 1, f"d must be >= 1, got {self.d}")
        require(self.width >= 1, f"width must be >= 1, got {self.width}")
        require(self.depth >= 1, f"depth must be >= 1, got {self.depth}")
        require(self.op in OPERATIONS,
                f"op must be one of {', '.join(OPERATIONS)}, got {self.op!r}")
        require(self.embed in EMBEDS,
                f"embed must be one of {', '.join(EMBEDS)}, got {self.embed!r}")
        require(self.activation in ACTIVATIONS,
                f"activation must be one of {', '.join(ACTIVATIONS)}, got {self.activation!r}")
        require(self.precision in PRECISIONS,
                f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        require(self.fix in FIXES, f"fix must be one of {', '.join(FIXES)}, got {self.fix!r}")
        require(self.init_seed >= 0, f"init_seed must be >= 0, got {self.init_seed}")

    # --- contract -----------------------------------------------------------------------------
    def hparams(self) -> dict[str, float]:
        return {"lr": 0.01, "wd": 0.5, "train_fraction": 0.8, "init_scale": 1.0, "norm_scale": 0.8}

    def check(self, hp: Mapping[str, float]) -> None:
        require(hp["lr"] > 0, f"lr must be > 0, got {hp['lr']}")
        require(hp["wd"] >= 0, f"wd must be >= 0, got {hp['wd']}")
        require(0 < hp["train_fraction"] <= 1,
                f"train_fraction must be in (0, 1], got {hp['train_fraction']}")
        require(hp["init_scale"] > 0, f"init_scale must be > 0, got {hp['init_scale']}")
        require(hp.get("norm_scale", 1.0) > 0,
                f"norm_scale must be > 0, got {hp.get('norm_scale')}")

    def observables(self) -> dict[str, tuple[str, ...]]:
        return {"signal": ("freq",)}

    def coords(self) -> dict[str, np.ndarray]:
        return {"freq": np.arange(self.p // 2 + 1)}

    @property
    def dtype(self) -> jnp.dtype:
        return jnp.float64 if self.precision == "float64" else jnp.float32

    def init_params(self, key: jax.Array) -> dict:
        """E ~ N(0, 1); W_1, b_1 and every Dense ~ U(±1/√fan_in) (PyTorch's Linear default)."""
        n_in = 2 * self.d if self.embed == "concat" else self.d
        first = torch_uniform(n_in)
        params = {"embedding": jax.random.normal(path_key(key, 1), (self.p, self.d), self.dtype)
                  * jnp.array(1.0, self.dtype),  # as Flax's normal(1.0) initializer: bit-identical
                  "w1": first(path_key(key, 2), (n_in, self.width), self.dtype),
                  "b1": first(path_key(key, 3), (self.width,), self.dtype)}
        for i in range(self.depth):
            n_out = self.width if i < self.depth - 1 else self.p
            params[f"Dense_{i}"] = dense_init(key, f"Dense_{i}", self.width, n_out, self.dtype)
        return params

    def logits(self, params: dict) -> jax.Array:
        """Logits (p, p, p) for every ordered pair (a, b)."""
        act = ACTIVATIONS[self.activation]
        emb, w1 = params["embedding"], params["w1"]
        if self.embed == "concat":
            left, right = emb @ w1[: self.d], emb @ w1[self.d :]
        else:
            left = right = emb @ w1
        h = act(left[:, None, :] + right[None, :, :] + params["b1"])
        for i in range(self.depth - 1):
            h = act(dense(params[f"Dense_{i}"], h))
        return dense(params[f"Dense_{self.depth - 1}"], h)

    @staticmethod
    def optimizer(hp: Mapping[str, jax.Array]) -> optax.GradientTransformation:
        return optax.adamw(hp["lr"], b1=0.9, b2=0.999, eps=1e-8, weight_decay=hp["wd"])

    def init(self, key: jax.Array, hp: Mapping[str, jax.Array]) -> State:
        params = self.init_params(key)
        fixed_key = jax.random.PRNGKey(self.init_seed)
        split_from = key
        if self.fix != "none":  # the authors' --fix_embedding / --fix_mlp re-seeding controls
            fixed = self.init_params(fixed_key)
            if self.fix == "embedding":
                params = {**params, "embedding": fixed["embedding"]}
            else:
                params = {**fixed, "embedding": params["embedding"]}
                split_from = fixed_key
        params = {**params, "embedding": params["embedding"] * hp["init_scale"]}
        if self.constant_norm or self.scale_init:
            params = scale_params(params, hp["norm_scale"])
        mask = train_mask(split_key(split_from), self.p * self.p, hp["train_fraction"])
        return State(params, self.optimizer(hp).init(params), mask, optax.tree.norm(params))

    def step(self, state: State, hp: Mapping[str, jax.Array]) -> State:
        grads = jax.grad(lambda params: self.losses(params, state.train)[0])(state.params)
        params, opt_state = optimizer_step(self.optimizer(hp), state.params, grads, state.opt_state,
                                           state.norm if self.constant_norm else None)
        return State(params, opt_state, state.train, state.norm)

    def observe(self, state: State, hp: Mapping[str, jax.Array]) -> dict[str, jax.Array]:
        train_loss, test_loss, train_acc, test_acc = self.losses(state.params, state.train)
        return {
            "train_loss": train_loss,
            "test_loss": test_loss,
            "train_acc": train_acc,
            "test_acc": test_acc,
            "signal": frequency_signal(state.params["embedding"]),
            "weight_norm": optax.tree.norm(state.params),
        }

    # --- pieces -------------------------------------------------------------------------------
    def losses(self, params: dict, train: jax.Array) -> tuple[jax.Array, ...]:
        """(train loss, test loss, train acc, test acc); test metrics NaN without test pairs."""
        logits = self.logits(params).reshape(self.p * self.p, self.p)
        labels = jnp.asarray(operation_table(self.p, self.op))
        ce = optax.losses.softmax_cross_entropy_with_integer_labels(logits, labels)
        correct = (jnp.argmax(logits, axis=1) == labels).astype(logits.dtype)
        test = ~train
        return masked_mean(ce, train), masked_mean(ce, test), masked_mean(correct, train), masked_mean(correct, test)
