"""Four sparse-autoencoder variants in one program, on `sae-synthetic-v1` data (`SAESuite`).

Every member has a buffer of L = `latents` latents split into E = `experts` blocks of L/E; its
*dynamic* hyperparameters pick what it is (a masked variant field, so one compiled program trains
all variants, sparsity knobs and widths side by side, vmapped):

    variant 0  ReLU + L1    z = ReLU(u) ⊙ m,                L = ‖x − x̂‖² + knob · ‖z‖₁
    variant 1  TopK         z = TopK_k(ReLU(u) ⊙ m),  k = knob            (Gao et al. 2024)
    variant 2  JumpReLU     z = u ⊙ H(u − θ) ⊙ m,            L = ‖x − x̂‖² + knob · ‖H(u − θ) ⊙ m‖₀
               θ = exp(log θ) per latent, trained with the straight-through estimator of
               Rajamanoharan et al. 2024: ∂/∂θ H(u − θ) ≈ −K((u − θ)/ε)/ε and
               ∂/∂θ [u H(u − θ)] ≈ −θ K((u − θ)/ε)/ε with K the rectangle kernel 1[|v| < ½]
    variant 3  Switch       router p = softmax(W_r (x − b_d)), expert e* = argmax p; z = TopK_k of the
               latents of block e* only; x̂ = p_{e*} W_d z + b_d (Mudide et al. 2024), with the
               Switch-Transformer load-balancing loss  α · E · Σ_e f_e P_e  (f_e share of the batch
               routed to e, P_e the mean router probability of e), α = `balance`

with u = W_e (x − b_d) + b_e and x̂ = W_d z + b_d; the width mask m keeps the first `width`
latents (dense variants) or the first `width`/E latents of every block (Switch: `width` is its total).
Decoder columns are renormalised to unit norm after every Adam step. The compute of every member is
that of the full buffer (the cost of one program); FLOPs per token are the nominal formula `flops`.
Observed on the task's evaluation batch: mse, explained_variance, l0, dead (live latents never
active on the batch), shrinkage, mmcs. `snapshot` keeps the parameters for report-time metrics.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
import optax

from toymodels.sae import shrinkage, unit_columns
from toymodels.spec import require
from toymodels.tasks.sae_synthetic import SAESynthetic, sae_synthetic

VARIANTS = ("relu", "topk", "jumprelu", "switch")


def flops(variant: str, width: float, d: int, experts: int) -> float:
    """Multiply-adds per token: 2·d·M (encoder + decoder) for a dense SAE of M latents; for a Switch SAE
    of M latents in E experts, 2·d·M/E (the active expert) + d·E (the router)."""
    return 2 * d * width / experts + d * experts if variant == "switch" else 2 * d * width


def rectangle(v: jax.Array) -> jax.Array:
    return (jnp.abs(v) < 0.5).astype(v.dtype)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def step_ste(u: jax.Array, theta: jax.Array, bandwidth: float) -> jax.Array:
    """H(u − θ) with the pseudo-derivative ∂/∂θ = −K((u − θ)/ε)/ε (none with respect to u)."""
    return (u > theta).astype(u.dtype)


def _step_fwd(u, theta, bandwidth):
    return step_ste(u, theta, bandwidth), (u, theta)


def _step_bwd(bandwidth, residual, g):
    u, theta = residual
    return jnp.zeros_like(u), jnp.sum(-rectangle((u - theta) / bandwidth) / bandwidth * g,
                                      axis=tuple(range(g.ndim - theta.ndim)))


step_ste.defvjp(_step_fwd, _step_bwd)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def jumprelu(u: jax.Array, theta: jax.Array, bandwidth: float) -> jax.Array:
    """u · H(u − θ), with ∂/∂u = H(u − θ) and the pseudo-derivative ∂/∂θ = −θ K((u − θ)/ε)/ε."""
    return u * (u > theta)


def _jump_fwd(u, theta, bandwidth):
    return jumprelu(u, theta, bandwidth), (u, theta)


def _jump_bwd(bandwidth, residual, g):
    u, theta = residual
    d_theta = -theta / bandwidth * rectangle((u - theta) / bandwidth) * g
    return (u > theta) * g, jnp.sum(d_theta, axis=tuple(range(g.ndim - theta.ndim)))


jumprelu.defvjp(_jump_fwd, _jump_bwd)


def topk_mask(z: jax.Array, k: jax.Array, k_max: int) -> jax.Array:
    """Keep the k ≤ k_max largest entries of each row of z ≥ 0 (k traced, k_max static; ties at the k-th
    value all kept). The k-th value comes from `lax.top_k(·, k_max)` outside the gradient."""
    top = jax.lax.top_k(jax.lax.stop_gradient(z), k_max)[0]
    index = jnp.broadcast_to(k - 1, (*z.shape[:-1], 1)).astype(jnp.int32)
    kth = jnp.take_along_axis(top, index, axis=-1)
    return jnp.where((z >= kth) & (z > 0), z, 0.0)


@dataclass(frozen=True)
class SAESuite:
    """Static settings: the data (`sae-synthetic-v1`'s settings), buffer `latents`, `experts`, batches,
    JumpReLU bandwidth ε, the largest TopK k (`k_max`)."""

    d: int = 16
    n_features: int = 48
    n_parents: int = 4
    n_children: int = 3
    zipf: float = 1.0
    mean_active: float = 3.0
    correlation: float = 0.0
    child_prob: float = 0.8
    magnitude_mean: float = 1.0
    magnitude_spread: float = 0.3
    magnitude_std: float = 0.2
    noise: float = 0.0
    data_seed: int = 0
    latents: int = 256
    experts: int = 4
    batch: int = 128
    eval_batch: int = 2048
    bandwidth: float = 0.01
    k_max: int = 16

    divergence_key: ClassVar[str] = "mse"

    def __post_init__(self) -> None:
        self.data()  # validates the data settings
        require(self.experts >= 1 and self.latents >= self.experts and self.latents % self.experts == 0,
                f"latents ({self.latents}) must be a positive multiple of experts ({self.experts})")
        require(self.batch >= 1 and self.eval_batch >= 2, "batch must be >= 1 and eval_batch >= 2")
        require(self.bandwidth > 0, f"bandwidth must be > 0, got {self.bandwidth}")
        require(1 <= self.k_max <= self.latents, f"k_max must be in [1, latents], got {self.k_max}")

    def data(self, seed: int = 0) -> SAESynthetic:
        """The task `sae-synthetic-v1` with this system's data settings (member seed `seed`)."""
        return sae_synthetic(self.d, self.n_features, self.n_parents, self.n_children, self.zipf, self.mean_active,
                             self.correlation, self.child_prob, self.magnitude_mean, self.magnitude_spread,
                             self.magnitude_std, self.noise, self.eval_batch, self.data_seed, seed)

    @property
    def block(self) -> int:
        return self.latents // self.experts

    def hparams(self) -> dict[str, float]:
        return {"lr": 1e-3, "variant": 1.0, "knob": 3.0, "width": float(self.block), "balance": 0.01,
                "threshold": 0.1}

    def check(self, hp: Mapping[str, float]) -> None:
        require(hp["lr"] > 0, f"lr must be > 0, got {hp['lr']}")
        require(hp["variant"] in range(len(VARIANTS)), f"variant must be one of 0..3 ({', '.join(VARIANTS)}), "
                f"got {hp['variant']}")
        require(hp["knob"] >= 0, f"knob (L1 / k / L0 coefficient) must be >= 0, got {hp['knob']}")
        if VARIANTS[int(hp["variant"])] in ("topk", "switch"):
            require(float(hp["knob"]).is_integer() and 1 <= hp["knob"] <= self.k_max,
                    f"k (knob) must be an integer in [1, k_max = {self.k_max}], got {hp['knob']}")
        per = self.experts if VARIANTS[int(hp["variant"])] == "switch" else 1
        require(float(hp["width"] / per).is_integer() and 1 <= hp["width"] <= self.latents,
                f"width must be in [1, {self.latents}] (a multiple of experts for switch), got {hp['width']}")
        require(hp["balance"] >= 0 and hp["threshold"] > 0, "balance must be >= 0 and threshold > 0")

    def observables(self) -> dict[str, tuple[str, ...]]:
        return {}

    def coords(self) -> dict[str, np.ndarray]:
        return {}

    def mask(self, hp: Mapping[str, jax.Array]) -> jax.Array:
        """The live latents m: the first `width` (dense) or the first width/E of every block (Switch)."""
        j = jnp.arange(self.latents)
        switch = hp["variant"] == 3
        return jnp.where(switch, (j % self.block) < hp["width"] / self.experts, j < hp["width"]).astype(jnp.float32)

    def encode(self, params: Mapping[str, jax.Array], x: jax.Array, hp: Mapping[str, jax.Array]
               ) -> tuple[jax.Array, jax.Array, jax.Array]:
        """(z, gate, router probabilities): latents of the member's variant, the reconstruction's scale
        (p_{e*} for Switch, else 1) and p (B, E)."""
        mask = self.mask(hp)
        centred = x - params["b_dec"]
        u = centred @ params["encoder"].T + params["b_enc"]
        relu = jax.nn.relu(u) * mask
        k = jnp.round(hp["knob"]).astype(jnp.int32)
        p = jax.nn.softmax(centred @ params["router"].T, axis=-1)
        chosen = jnp.argmax(p, axis=-1)
        in_expert = (jnp.arange(self.latents) // self.block)[None, :] == chosen[:, None]
        theta = jnp.exp(params["log_threshold"])
        variant = hp["variant"]
        z = jnp.where(variant == 0, relu,
            jnp.where(variant == 1, topk_mask(relu, k, self.k_max),
            jnp.where(variant == 2, jumprelu(u, theta, self.bandwidth) * mask,
                      topk_mask(relu * in_expert, k, self.k_max))))
        gate = jnp.where(variant == 3, jnp.take_along_axis(p, chosen[:, None], axis=1), 1.0)
        return z, gate, p

    def reconstruct(self, params: Mapping[str, jax.Array], x: jax.Array, hp: Mapping[str, jax.Array]
                    ) -> tuple[jax.Array, jax.Array, jax.Array]:
        """(x̂, z, p)."""
        z, gate, p = self.encode(params, x, hp)
        return gate * (z @ params["decoder"].T) + params["b_dec"], z, p

    def loss(self, params: Mapping[str, jax.Array], x: jax.Array, hp: Mapping[str, jax.Array]) -> jax.Array:
        x_hat, z, p = self.reconstruct(params, x, hp)
        mse = ((x - x_hat) ** 2).sum(-1).mean()
        u = (x - params["b_dec"]) @ params["encoder"].T + params["b_enc"]
        l0 = (step_ste(u, jnp.exp(params["log_threshold"]), self.bandwidth) * self.mask(hp)).sum(-1).mean()
        routed = jax.nn.one_hot(jnp.argmax(p, axis=-1), self.experts).mean(0)
        balance = self.experts * jnp.sum(routed * p.mean(0))
        penalty = jnp.where(hp["variant"] == 0, hp["knob"] * jnp.abs(z).sum(-1).mean(),
                  jnp.where(hp["variant"] == 2, hp["knob"] * l0,
                  jnp.where(hp["variant"] == 3, hp["balance"] * balance, 0.0)))
        return mse + penalty

    def optimizer(self, lr: jax.Array) -> optax.GradientTransformation:
        return optax.adam(lr)

    def init(self, key: jax.Array, hp: Mapping[str, jax.Array]) -> dict:
        k_model, k_data = jax.random.split(key)
        k_dec, k_router = jax.random.split(k_model)
        decoder = unit_columns(jax.random.normal(k_dec, (self.d, self.latents)))
        params = {"encoder": decoder.T, "decoder": decoder, "b_enc": jnp.zeros(self.latents),
                  "b_dec": jnp.zeros(self.d), "router": 0.01 * jax.random.normal(k_router, (self.experts, self.d)),
                  "log_threshold": jnp.full(self.latents, jnp.log(hp["threshold"]))}
        return {"params": params, "opt": self.optimizer(hp["lr"]).init(params), "key": k_data,
                "t": jnp.zeros((), jnp.int32)}

    def step(self, state: dict, hp: Mapping[str, jax.Array]) -> dict:
        data = self.data()
        x = data.sample(jax.random.fold_in(state["key"], state["t"]), self.batch)
        grads = jax.grad(self.loss)(state["params"], x, hp)
        updates, opt = self.optimizer(hp["lr"]).update(grads, state["opt"], state["params"])
        params = optax.apply_updates(state["params"], updates)
        params = {**params, "decoder": unit_columns(params["decoder"])}
        return {**state, "params": params, "opt": opt, "t": state["t"] + 1}

    def observe(self, state: dict, hp: Mapping[str, jax.Array]) -> dict[str, jax.Array]:
        params, mask = state["params"], self.mask(hp)
        data = self.data()
        x = jnp.asarray(data.eval_x)
        x_hat, z, _ = self.reconstruct(params, x, hp)
        cosine = jnp.asarray(data.features) @ params["decoder"]
        error = ((x - x_hat) ** 2).sum(-1)
        return {
            "mse": error.mean(),
            "explained_variance": 1 - error.sum() / ((x - x.mean(0)) ** 2).sum(),
            "l0": (z > 0).sum(-1).mean(),
            "dead": ((~(z > 0).any(0)) * mask).sum() / mask.sum(),
            "shrinkage": shrinkage(x, x_hat),
            "mmcs": jnp.where(mask > 0, cosine, -jnp.inf).max(1).mean(),
        }

    @staticmethod
    def snapshot(state: dict) -> dict:
        """The parameters only (what `Spec.snapshot_steps` keep)."""
        return state["params"]
