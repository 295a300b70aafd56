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
lr 1e-3 / 1e-4, no weight decay, 45 of 55 samples for training). Deviations, stated: by default
each member draws its own split, E, decoder and targets from its seed (JAX RNG, so the exact step
counts of the paper's PyTorch stream are not reproduced).

`split_seed = k ≥ 0` gives every member the authors' split and targets of seed k, drawn exactly as
`train_add` draws them with NumPy's legacy generator: `np.random.seed(k)`, then the targets
`normal(0, 1, (2p−1, output_dim))` (output_dim = 2p−1 for "ce"), then
`choice(N, n_train, replace=False)` = the first n_train entries of `permutation(N)`
(`authors_split`). Seeds then vary only E and the decoder (the paper's phase diagrams use seed 58).

`n_train = k > 0` makes a training step evaluate the k training samples only (gathered), instead
of every sample under the training mask: the same loss and gradient up to float summation order
(not bit-identical: members whose phase is marginal can flip), ≈ 20 % fewer FLOPs at the paper's
45 of 55. Every member's train_fraction must then give exactly k samples (checked), so the training
fraction cannot be swept; 0 (default) keeps the masked step over all samples. Observations
always evaluate every sample.

`constant_norm=True` (an Omnigrok option, not in the 2022 paper) rescales the *decoder* to
norm_scale · ‖θ_dec,0‖₂ after every step, as the Omnigrok landscape notebook does for this toy
(the representation is left free: RQI is scale-free).

`group="permutation"` (Fig. 6d of the paper, `toy/Figure5d_permutation.ipynb`) trains the same
decoder on composition in the symmetric group S_p (task `permutation_pairs`, p = 3: 6 elements,
all 36 ordered pairs, label the index of a ∘ b): every element k has a p × p matrix L_k (E's row
k, d = p² entries; init (U(0, 1) − ½) · init_scale_reprs, the authors use 0.1) and

    x(a, b) = vec(L_a L_b),   decoder and losses as above with p! classes (targets Y ∈ R^{p!×output_dim})
    RQI     = #{(a, b, c, d) ∈ P₀ : mean_entries (L̃_a L̃_b − L̃_c L̃_d)² < δ} / |P₀|,
              P₀ = sample pairs with a ∘ b = c ∘ d, L̃ = L / sqrt(mean_all L²)  (authors: δ = 0.5)

ℓ_eff is defined for addition only and not observed for this group. `split_seed = k` draws the
authors' targets normal(0, 1, (p!, output_dim)) and then choice((p!)², n_train) with
`np.random.seed(k)`, as their notebook does (seed 0, 24 of 36).

`repr_l1 = λ > 0` adds λ · mean |E| to the training loss (the permutation notebook's `lamb` = 1e-3);
the observed train_loss stays the data loss. 0 (default) leaves the step as it was.

`SplitCensus` holds the settings of the `critical-fraction` study of this toy's task (a census of
random training sets, plus an engine run of `GrokkingToy` over training fractions): it is a
system only in the sense of a `Spec`'s static settings, so that `toymodels.load_spec` rebuilds it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from toymodels.constant_norm import optimizer_step, rescale_to_norm
from toymodels.masked import masked_mean
from toymodels.nn import torch_linear
from toymodels.spec import require
from toymodels.tasks import permutation_pairs
from toymodels.tasks.addition_pairs import (
    n_samples,
    pairs,
    parallelogram_matrix,
    rqi_quadruples,
    split,
    sum_matrix,
)

LOSSES = ("mse", "ce")
GROUPS = ("addition", "permutation")
MAX_PERMUTATION_P = 4  # S_4: 576 samples; S_5 would be 14 400
TARGET_STREAM = 2  # fold_in(PRNGKey(seed), TARGET_STREAM) draws the MSE targets
DYNAMICS_LOG_EVERY = 50  # logging interval of the census's dynamics part (`SplitCensus`)


class State(NamedTuple):
    params: dict              # {"embedding": (p, d), "decoder": [{"w": (n_in, n_out), "b": (n_out,)}, …]}
    opt_state: optax.OptState
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


def authors_split(p: int, seed: int, output_dim: int) -> tuple[np.ndarray, np.ndarray]:
    """(targets (2p−1, output_dim), rank (N,)) as `train_add(seed=seed)` draws them with NumPy.

    `np.random.seed(seed)`; targets = normal(0, 1, (2p−1, output_dim)); then
    choice(N, n, replace=False) = permutation(N)[:n], so sample s is in the training set of size n
    iff rank[s] < n (rank[permutation[i]] = i).
    """
    return numpy_split(2 * p - 1, n_samples(p), seed, output_dim)


def numpy_split(n_classes: int, n: int, seed: int, output_dim: int) -> tuple[np.ndarray, np.ndarray]:
    """(targets (n_classes, output_dim), rank (n,)): `np.random.seed(seed)`, then
    normal(0, 1, (n_classes, output_dim)), then permutation(n) (see `authors_split`)."""
    rs = np.random.RandomState(seed)
    targets = rs.normal(0, 1, size=(n_classes, output_dim))
    order = rs.permutation(n)
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return targets, rank


def matrix_rqi(embedding: jax.Array, quads: np.ndarray, delta: float) -> jax.Array:
    """Share of (a, b, c, d) ∈ P₀ with mean (L̃_a L̃_b − L̃_c L̃_d)² < δ, L̃ = L / sqrt(mean L²),
    L_k = row k of E as a square matrix."""
    n = int(round(embedding.shape[1] ** 0.5))
    mats = (embedding / jnp.sqrt(jnp.mean(embedding**2))).reshape(-1, n, n)
    a, b, c, d = quads.T
    gap = jnp.mean((mats[a] @ mats[b] - mats[c] @ mats[d]) ** 2, axis=(-2, -1))
    return jnp.mean(gap < delta)


def authors_train_mask(p: int, seed: int, output_dim: int, train_fraction: float) -> np.ndarray:
    """The authors' training set of floor(train_fraction · N) samples (see `authors_split`)."""
    n_train = int(np.floor(np.float32(train_fraction) * np.float32(n_samples(p))))
    return authors_split(p, seed, output_dim)[1] < n_train


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
    n_train: int = 0
    group: str = "addition"
    repr_l1: float = 0.0

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
        require(self.group in GROUPS, f"group must be one of {', '.join(GROUPS)}, got {self.group!r}")
        if self.group == "permutation":
            require(self.p <= MAX_PERMUTATION_P,
                    f"group 'permutation' needs p <= {MAX_PERMUTATION_P} (S_p), got {self.p}")
            require(self.d == self.p**2, f"group 'permutation' needs d = p² = {self.p**2} (a p × p "
                                         f"matrix per element), got {self.d}")
        require(self.repr_l1 >= 0, f"repr_l1 must be >= 0, got {self.repr_l1}")
        require(0 <= self.n_train <= self.n_samples,
                f"n_train must be between 0 and {self.n_samples}, got {self.n_train}")

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
        if self.n_train:
            count = self.train_count(hp["train_fraction"])
            require(count == self.n_train, f"n_train = {self.n_train} needs a train_fraction giving "
                                           f"{self.n_train} samples, got {hp['train_fraction']} ({count})")

    def train_count(self, fraction: float) -> int:
        """Training samples of a member with this fraction, computed as `init` draws its split."""
        n = self.n_samples
        if self.split_seed >= 0:
            return int(np.floor(np.float32(fraction) * np.float32(n)))
        return int(np.floor(np.float32(fraction) * np.float32(n) + np.float32(1e-6)))

    def observables(self) -> dict[str, tuple[str, ...]]:
        return {"embedding": ("symbol", "repr_dim")}

    def coords(self) -> dict[str, np.ndarray]:
        return {"symbol": np.arange(self.n_symbols), "repr_dim": np.arange(self.d)}

    @property
    def n_symbols(self) -> int:
        """Rows of E: p symbols (addition) or the p! elements of S_p."""
        return self.p if self.group == "addition" else permutation_pairs.order(self.p)

    @property
    def n_samples(self) -> int:
        """p(p+1)/2 unordered pairs (addition) or (p!)² ordered pairs (permutation)."""
        return n_samples(self.p) if self.group == "addition" else permutation_pairs.n_samples(self.p)

    @property
    def n_classes(self) -> int:
        return 2 * self.p - 1 if self.group == "addition" else permutation_pairs.order(self.p)

    @property
    def n_outputs(self) -> int:
        return self.output_dim if self.loss == "mse" else self.n_classes

    @staticmethod
    def optimizer(hp: Mapping[str, jax.Array]) -> optax.GradientTransformation:
        """AdamW(repr_lr, repr_wd) on E and AdamW(dec_lr, dec_wd, betas (0.9, 0.999)) on the decoder."""
        return optax.multi_transform(
            {"embedding": optax.adamw(hp["repr_lr"], weight_decay=hp["repr_wd"]),
             "decoder": optax.adamw(hp["dec_lr"], b1=0.9, b2=0.999, weight_decay=hp["dec_wd"])},
            {"embedding": "embedding", "decoder": "decoder"})

    def init(self, key: jax.Array, hp: Mapping[str, jax.Array]) -> State:
        k_emb, k_dec = jax.random.split(key)
        embedding = (jax.random.uniform(k_emb, (self.n_symbols, self.d)) - 0.5) * hp["init_scale_reprs"]
        sizes = (self.d, *(self.width,) * self.depth, self.n_outputs)
        keys = jax.random.split(k_dec, len(sizes) - 1)
        decoder = [torch_linear(k, n_in, n_out, hp["init_scale_nn"])
                   for k, n_in, n_out in zip(keys, sizes[:-1], sizes[1:], strict=True)]
        norm = hp["norm_scale"] * optax.tree.norm(decoder)
        if self.constant_norm:
            decoder = rescale_to_norm(decoder, norm)
        if self.split_seed < 0:
            targets = jax.random.normal(jax.random.fold_in(key, TARGET_STREAM),
                                        (self.n_classes, self.output_dim))
            train = (split if self.group == "addition" else permutation_pairs.split)(
                key, self.p, hp["train_fraction"])
        else:
            fixed_targets, rank = numpy_split(self.n_classes, self.n_samples, self.split_seed, self.n_outputs)
            targets = jnp.asarray(fixed_targets if self.loss == "mse" else
                                  np.zeros((self.n_classes, self.output_dim)), jnp.float32)
            n_train = jnp.floor(hp["train_fraction"] * self.n_samples)
            train = jnp.asarray(rank) < n_train
        params = {"embedding": embedding, "decoder": decoder}
        return State(params, self.optimizer(hp).init(params), train, hp["label_scale"] * targets,
                     norm)

    def step(self, state: State, hp: Mapping[str, jax.Array]) -> State:
        index = jnp.nonzero(state.train, size=self.n_train)[0] if self.n_train else None
        grads = jax.grad(lambda prm: self.objective(prm, state, index))(state.params)
        params, opt_state = optimizer_step(self.optimizer(hp), state.params, grads, state.opt_state,
                                           state.decoder_norm if self.constant_norm else None,
                                           part="decoder")
        return state._replace(params=params, opt_state=opt_state)

    def observe(self, state: State, hp: Mapping[str, jax.Array]) -> dict[str, jax.Array]:
        train_loss, test_loss, train_acc, test_acc = self.losses(state.params, state.train,
                                                                 state.targets)
        embedding = state.params["embedding"]
        if self.group == "addition":
            shape = {"rqi": rqi(embedding, rqi_quadruples(self.p), self.rqi_delta),
                     "eff_loss": effective_loss(embedding, parallelogram_matrix(self.p))}
        else:
            shape = {"rqi": matrix_rqi(embedding, permutation_pairs.parallelograms(self.p), self.rqi_delta)}
        return {
            "train_loss": train_loss,
            "test_loss": test_loss,
            "train_acc": train_acc,
            "test_acc": test_acc,
            **shape,
            "embedding": embedding,
            "decoder_norm": optax.tree.norm(state.params["decoder"]),
        }

    # --- pieces -------------------------------------------------------------------------------
    def objective(self, params: dict, state: State, index: jax.Array | None) -> jax.Array:
        """What a step minimises: the training loss (on the gathered samples `index`, or over all
        samples under the training mask), + repr_l1 · mean |E| when repr_l1 > 0."""
        data = (self.losses(params, state.train, state.targets)[0] if index is None
                else self.train_loss(params, index, state.targets))
        return data + self.repr_l1 * jnp.mean(jnp.abs(params["embedding"])) if self.repr_l1 else data

    def labels(self) -> np.ndarray:
        """Class of every sample: a + b (addition) or the index of a ∘ b (permutation)."""
        if self.group == "addition":
            a, b = pairs(self.p)
            return a + b
        return permutation_pairs.labels(self.p)

    def inputs(self, embedding: jax.Array, index: jax.Array | None = None) -> jax.Array:
        """Decoder inputs of all samples (or of `index`): E_a + E_b, or vec(L_a L_b)."""
        if self.group == "addition":
            rows = jnp.asarray(sum_matrix(self.p))
            return (rows if index is None else rows[index]) @ embedding
        a, b = (jnp.asarray(v) for v in permutation_pairs.pairs(self.p))
        if index is not None:
            a, b = a[index], b[index]
        mats = embedding.reshape(-1, self.p, self.p)
        return (mats[a] @ mats[b]).reshape(a.shape[0], self.d)

    def train_loss(self, params: dict, index: jax.Array, targets: jax.Array) -> jax.Array:
        """The training loss evaluated on the samples `index` only (the training set, gathered)."""
        labels = jnp.asarray(self.labels())[index]
        out = decode(params["decoder"], self.inputs(params["embedding"], index))
        if self.loss == "mse":
            return jnp.mean((out - targets[labels]) ** 2)
        return jnp.mean(optax.losses.softmax_cross_entropy_with_integer_labels(out, labels))

    def losses(self, params: dict, train: jax.Array, targets: jax.Array) -> tuple[jax.Array, ...]:
        """(train loss, test loss, train accuracy, test accuracy) over all samples at once."""
        labels = jnp.asarray(self.labels())
        out = decode(params["decoder"], self.inputs(params["embedding"]))
        if self.loss == "mse":
            per_sample = jnp.mean((out - targets[labels]) ** 2, axis=1)
            distance = jnp.sum((out[:, None, :] - targets[None]) ** 2, axis=-1)
            predicted = jnp.argmin(distance, axis=1)
        else:
            per_sample = optax.losses.softmax_cross_entropy_with_integer_labels(out, labels)
            predicted = jnp.argmax(out, axis=1)
        correct = (predicted == labels).astype(out.dtype)
        test = ~train
        return (masked_mean(per_sample, train), masked_mean(per_sample, test),
                masked_mean(correct, train), masked_mean(correct, test))


@dataclass(frozen=True)
class SplitCensus:
    """Static settings of the `critical-fraction` census: p symbols, `n_splits` random training sets
    per size; and of its dynamics part: `dynamics_seeds` × the preset's training sizes,
    `dynamics_steps` steps (0: no dynamics part).

    Not a trained system: it has no dynamic hyperparameters, and the census never calls the
    engine (so `init/step/observe` are absent on purpose).
    """

    p: int = 10
    n_splits: int = 10000
    dynamics_seeds: int = 2
    dynamics_steps: int = 300

    divergence_key: ClassVar[str] = "n_unique"

    def __post_init__(self) -> None:
        require(self.p >= 3, f"p must be >= 3, got {self.p}")
        require(self.n_splits >= 1, f"n_splits must be >= 1, got {self.n_splits}")
        require(self.dynamics_seeds >= 1, f"dynamics_seeds must be >= 1, got {self.dynamics_seeds}")
        require(self.dynamics_steps >= 0 and self.dynamics_steps % DYNAMICS_LOG_EVERY == 0,
                f"dynamics_steps must be a multiple of {DYNAMICS_LOG_EVERY} (0: no dynamics part), "
                f"got {self.dynamics_steps}")

    def hparams(self) -> dict[str, float]:
        return {}

    def check(self, hp: Mapping[str, float]) -> None:
        """No dynamic hyperparameters to check."""
