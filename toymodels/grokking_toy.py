"""The effective-theory toy of grokking (Liu, Kitouni, Nolte, Michaud, Tegmark, Williams 2022).

Non-modular addition of symbols 0..p−1 over the p(p+1)/2 unordered pairs (task `addition_pairs`):

    x(a, b) = E_a + E_b,   E ∈ R^{p×d},  E_ij = (U(0, 1) − ½) · init_scale_reprs
    Dec(x)  = W₃ tanh(W₂ tanh(W₁ x + b₁) + b₂) + b₃   (hidden widths `width` × `depth`,
              PyTorch's default Linear init × init_scale_nn)
    "mse":  ℓ = mean_{train, dims} (Dec(x) − Y_{a+b})²,
            Y ∈ R^{(2p−1)×output_dim}, Y ~ N(0, 1)·label_scale (fixed random targets),
            prediction = argmin_c ‖Dec(x) − Y_c‖
    "ce":   ℓ = cross-entropy of Dec(x) ∈ R^{2p−1}, prediction = argmax
    E: AdamW(repr_lr, repr_wd);  decoder: AdamW(dec_lr, dec_wd, betas (0.9, 0.999)); full batch.

Observables (every `log_every` steps):
    RQI   = #{(i, j, m, n) ∈ Q : mean_dims (Ẽ_i + Ẽ_n − Ẽ_j − Ẽ_m)² < δ} / |Q|,
            Q = {i < j ≤ m < n, i + n = j + m}, Ẽ = (E − mean_symbols E) / std_symbols E (unbiased)
    ℓ_eff = ℓ₀ / Z₀,  ℓ₀ = Σ_{P₀} (E_i + E_j − E_m − E_n)²,  Z₀ = Σ_k ‖E_k‖²  (all of P₀, raw E)
    train/test loss and accuracy, the embedding E itself, the decoder's weight norm ‖θ_dec‖₂.

Defaults follow `train_add()` of the authors' code (p = 10, d = 1, width 200, MSE with 30-d targets,
lr 1e-3 / 1e-4, no weight decay, 45 of 55 samples for training). Deviations, stated: each member
draws its own split, E, decoder and targets from its seed (JAX RNG, so the exact step counts of the
paper's PyTorch stream are not reproduced); `split_seed = k ≥ 0` gives every member the split of
seed k (the authors' `--fix_dataset`), so seeds then vary only E, decoder and targets (the
paper's phase diagrams use one split); `constant_norm=True` (an Omnigrok option, not in the
2022 paper) rescales the *decoder* to norm_scale · ‖θ_dec,0‖₂ after every step, as the Omnigrok
landscape notebook does for this toy (the representation is left free: RQI is scale-free).
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
from toymodels.spec import require
from toymodels.tasks.addition_pairs import (
    pairs,
    parallelogram_matrix,
    rqi_quadruples,
    split,
    sum_matrix,
)

LOSSES = ("mse", "ce")
TARGET_STREAM = 2  # fold_in(PRNGKey(seed), TARGET_STREAM) draws the MSE targets


class State(NamedTuple):
    embedding: jax.Array      # (p, d)
    decoder: list[dict]       # [{"w": (n_in, n_out), "b": (n_out,)}, …]
    opt_embedding: optax.OptState
    opt_decoder: optax.OptState
    train: jax.Array          # (n_samples,) bool
    targets: jax.Array        # (2p−1, output_dim) MSE targets (unused for "ce")
    decoder_norm: jax.Array   # target norm of the decoder under constant-norm training


def standardise(embedding: jax.Array) -> jax.Array:
    """Ẽ = (E − mean over symbols) / unbiased std over symbols, per dimension."""
    centred = embedding - embedding.mean(axis=0)
    return centred / jnp.std(embedding, axis=0, ddof=1)


def rqi(embedding: jax.Array, quadruples: np.ndarray, delta: float) -> jax.Array:
    """Fraction of quadruples (i, j, m, n) with mean_dims (Ẽ_i + Ẽ_n − Ẽ_j − Ẽ_m)² < δ."""
    e = standardise(embedding)
    i, j, m, n = quadruples.T
    gap = jnp.mean((e[i] + e[n] - e[j] - e[m]) ** 2, axis=-1)
    return jnp.mean(gap < delta)


def effective_loss(embedding: jax.Array, rows: np.ndarray) -> jax.Array:
    """ℓ_eff = ‖A E‖² / ‖E‖² with A = A_{P₀} (rows e_i + e_j − e_m − e_n)."""
    return jnp.sum((rows @ embedding) ** 2) / jnp.sum(embedding**2)



def torch_linear(key: jax.Array, n_in: int, n_out: int, scale: jax.Array) -> dict:
    """PyTorch's default Linear init, U(−1/√n_in, 1/√n_in) for weights and bias, times `scale`."""
    bound = 1.0 / np.sqrt(n_in)
    kw, kb = jax.random.split(key)
    return {"w": scale * jax.random.uniform(kw, (n_in, n_out), minval=-bound, maxval=bound),
            "b": scale * jax.random.uniform(kb, (n_out,), minval=-bound, maxval=bound)}


def decode(decoder: list[dict], x: jax.Array) -> jax.Array:
    """W_L tanh(… tanh(W₁ x + b₁) …) + b_L."""
    for layer in decoder[:-1]:
        x = jnp.tanh(x @ layer["w"] + layer["b"])
    return x @ decoder[-1]["w"] + decoder[-1]["b"]


@dataclass(frozen=True)
class GrokkingToy:
    """Static settings of the toy (see module docstring)."""

    p: int = 10
    d: int = 1
    width: int = 200
    depth: int = 2
    loss: str = "mse"
    output_dim: int = 30
    constant_norm: bool = False
    rqi_delta: float = 0.01
    split_seed: int = -1

    divergence_key: ClassVar[str] = "train_loss"

    def __post_init__(self) -> None:
        require(self.p >= 3, f"p must be >= 3, got {self.p}")
        require(self.d >= 1, f"d must be >= 1, got {self.d}")
        require(self.width >= 1, f"width must be >= 1, got {self.width}")
        require(self.depth >= 1, f"depth must be >= 1, got {self.depth}")
        require(self.loss in LOSSES, f"loss must be one of {', '.join(LOSSES)}, got {self.loss!r}")
        require(self.output_dim >= 1, f"output_dim must be >= 1, got {self.output_dim}")
        require(self.rqi_delta > 0, f"rqi_delta must be > 0, got {self.rqi_delta}")
        require(self.split_seed >= -1, f"split_seed must be >= -1, got {self.split_seed}")

    # --- contract -----------------------------------------------------------------------------
    def hparams(self) -> dict[str, float]:
        return {"repr_lr": 1e-3, "repr_wd": 0.0, "dec_lr": 1e-4, "dec_wd": 0.0,
                "train_fraction": 0.82, "init_scale_reprs": 1.0, "init_scale_nn": 1.0,
                "label_scale": 1.0, "norm_scale": 1.0}

    def check(self, hp: Mapping[str, float]) -> None:
        for name in ("repr_lr", "dec_lr", "init_scale_reprs", "init_scale_nn", "label_scale",
                     "norm_scale"):
            require(hp[name] > 0, f"{name} must be > 0, got {hp[name]}")
        for name in ("repr_wd", "dec_wd"):
            require(hp[name] >= 0, f"{name} must be >= 0, got {hp[name]}")
        require(0 < hp["train_fraction"] <= 1,
                f"train_fraction must be in (0, 1], got {hp['train_fraction']}")

    def observables(self) -> dict[str, tuple[str, ...]]:
        return {"embedding": ("symbol", "repr_dim")}

    def coords(self) -> dict[str, np.ndarray]:
        return {"symbol": np.arange(self.p), "repr_dim": np.arange(self.d)}

    @property
    def n_classes(self) -> int:
        return 2 * self.p - 1

    @property
    def n_outputs(self) -> int:
        return self.output_dim if self.loss == "mse" else self.n_classes

    @staticmethod
    def optimizers(hp: Mapping[str, jax.Array]) -> tuple[optax.GradientTransformation, ...]:
        return (optax.adamw(hp["repr_lr"], weight_decay=hp["repr_wd"]),
                optax.adamw(hp["dec_lr"], b1=0.9, b2=0.999, weight_decay=hp["dec_wd"]))

    def init(self, key: jax.Array, hp: Mapping[str, jax.Array]) -> State:
        k_emb, k_dec = jax.random.split(key)
        embedding = (jax.random.uniform(k_emb, (self.p, self.d)) - 0.5) * hp["init_scale_reprs"]
        sizes = (self.d, *(self.width,) * self.depth, self.n_outputs)
        keys = jax.random.split(k_dec, len(sizes) - 1)
        decoder = [torch_linear(k, n_in, n_out, hp["init_scale_nn"])
                   for k, n_in, n_out in zip(keys, sizes[:-1], sizes[1:], strict=True)]
        norm = hp["norm_scale"] * optax.tree.norm(decoder)
        if self.constant_norm:
            decoder = rescale_to_norm(decoder, norm)
        targets = hp["label_scale"] * jax.random.normal(
            jax.random.fold_in(key, TARGET_STREAM), (self.n_classes, self.output_dim))
        split_from = key if self.split_seed < 0 else jax.random.PRNGKey(self.split_seed)
        opt_e, opt_d = self.optimizers(hp)
        return State(embedding, decoder, opt_e.init(embedding), opt_d.init(decoder),
                     split(split_from, self.p, hp["train_fraction"]), targets, norm)

    def step(self, state: State, hp: Mapping[str, jax.Array]) -> State:
        def train_loss(params):
            return self.losses(*params, state.train, state.targets)[0]

        g_emb, g_dec = jax.grad(train_loss)((state.embedding, state.decoder))
        opt_e, opt_d = self.optimizers(hp)
        u_emb, opt_embedding = opt_e.update(g_emb, state.opt_embedding, state.embedding)
        u_dec, opt_decoder = opt_d.update(g_dec, state.opt_decoder, state.decoder)
        decoder = optax.apply_updates(state.decoder, u_dec)
        if self.constant_norm:
            decoder = rescale_to_norm(decoder, state.decoder_norm)
        embedding = optax.apply_updates(state.embedding, u_emb)
        return state._replace(embedding=embedding, decoder=decoder,
                              opt_embedding=opt_embedding, opt_decoder=opt_decoder)

    def observe(self, state: State, hp: Mapping[str, jax.Array]) -> dict[str, jax.Array]:
        train_loss, test_loss, train_acc, test_acc = self.losses(
            state.embedding, state.decoder, state.train, state.targets)
        return {
            "train_loss": train_loss,
            "test_loss": test_loss,
            "train_acc": train_acc,
            "test_acc": test_acc,
            "rqi": rqi(state.embedding, rqi_quadruples(self.p), self.rqi_delta),
            "eff_loss": effective_loss(state.embedding, parallelogram_matrix(self.p)),
            "embedding": state.embedding,
            "decoder_norm": optax.tree.norm(state.decoder),
        }

    # --- pieces -------------------------------------------------------------------------------
    def losses(self, embedding: jax.Array, decoder: list[dict], train: jax.Array,
               targets: jax.Array) -> tuple[jax.Array, ...]:
        """(train loss, test loss, train accuracy, test accuracy) over all samples at once."""
        a, b = pairs(self.p)
        labels = jnp.asarray(a + b)
        out = decode(decoder, jnp.asarray(sum_matrix(self.p)) @ embedding)
        if self.loss == "mse":
            per_sample = jnp.mean((out - targets[labels]) ** 2, axis=1)
            distance = jnp.sum((out[:, None, :] - targets[None]) ** 2, axis=-1)
            predicted = jnp.argmin(distance, axis=1)
        else:
            logp = jax.nn.log_softmax(out)
            per_sample = -jnp.take_along_axis(logp, labels[:, None], axis=1)[:, 0]
            predicted = jnp.argmax(out, axis=1)
        correct = (predicted == labels).astype(out.dtype)
        test = ~train
        return (masked_mean(per_sample, train), masked_mean(per_sample, test),
                masked_mean(correct, train), masked_mean(correct, test))
