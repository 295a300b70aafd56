"""Embedding-MLP link predictor on a family-tree knowledge graph (our protocol, tasks/graphs.py).

    x(h, r, t) = [E_h, Q_r, E_t] ∈ R^{3d},   E ∈ R^{N×d}, Q ∈ R^{R×d}, entries ~ N(0, 1)
    a_1 = σ(W_1 x + b_1),  a_k = σ(W_k a_{k−1} + b_k) (k = 2..depth),  z = w_out · a_depth + b_out
    loss = ½ mean_{train, T=1} softplus(−z) + ½ mean_{train, T=0} softplus(z)   (class-balanced BCE)

σ = SiLU, AdamW(lr, wd) on every parameter, full batch, Linear layers with PyTorch's default
init (as the embedding-MLP of modular_mlp.py). Baek, Li & Tegmark (2024) do not publish their
architecture: the embedding sizes, balanced loss and depth are our choices. The graph and its split
come from the static `graph_seed` (shared by all members, so that members can be stitched and
compared on the same triples); a member's seed only draws its initialisation.

Implementation: the whole (R, N, N) table is evaluated every step with no gathers — the first
layer is a broadcast sum of three tables, (Q W_1r)[r] + (E W_1h)[h] + (E W_1t)[t] — and the split
is a per-member mask. `hidden` (the first part, a_1) and `head` (the last part, a_1 → z) are
public so that theory/stitching.py can stitch members. With `record_params=True` every parameter
is also an observation `param_<name>` (dims entity/relation/emb/emb_in/hidden_in/hidden), so
a report can rebuild any member's network at any logged step (the engine keeps no final state).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from toymodels.masked import masked_mean
from toymodels.nn import ACTIVATIONS, torch_uniform
from toymodels.spec import require
from toymodels.tasks.graphs import RELATIONS, check_graph_size, family_truth, graph_split

Params = dict[str, jax.Array]
PARAM_PREFIX = "param_"  # observation name of parameter k is PARAM_PREFIX + k (record_params)


class State(NamedTuple):
    params: Params
    opt_state: optax.OptState
    train: jax.Array      # (R, N, N) bool: training triples
    inferable: jax.Array  # (R, N, N) bool: held-out true triples derivable from training ones


def layer_count(params: Mapping[str, jax.Array]) -> int:
    """depth = number of hidden layers (keys w1, w2, …)."""
    return sum(1 for k in params if k[0] == "w" and k[1:].isdigit())


def hidden(params: Mapping[str, jax.Array], activation: str = "silu") -> jax.Array:
    """a_1 for every triple: (R, N, N, width) = σ((Q W_1r)[r] + (E W_1h)[h] + (E W_1t)[t] + b_1)."""
    d = params["entity"].shape[1]
    w1 = params["w1"]
    head_part = params["entity"] @ w1[:d]
    relation_part = params["relation"] @ w1[d : 2 * d]
    tail_part = params["entity"] @ w1[2 * d :]
    pre = relation_part[:, None, None] + head_part[None, :, None] + tail_part[None, None]
    pre = pre + params["b1"]
    return ACTIVATIONS[activation](pre)


def head(params: Mapping[str, jax.Array], a: jax.Array, activation: str = "silu") -> jax.Array:
    """Logits z = w_out · a_depth + b_out from a_1 (any leading shape)."""
    act = ACTIVATIONS[activation]
    for k in range(2, layer_count(params) + 1):
        a = act(a @ params[f"w{k}"] + params[f"b{k}"])
    return a @ params["w_out"] + params["b_out"]


def balanced_bce(logits: jax.Array, truth: jax.Array, mask: jax.Array) -> jax.Array:
    """½ mean_{mask ∧ T} softplus(−z) + ½ mean_{mask ∧ ¬T} softplus(z); NaN if a class is empty."""
    return 0.5 * (masked_mean(jax.nn.softplus(-logits), mask & truth)
                  + masked_mean(jax.nn.softplus(logits), mask & ~truth))


def balanced_accuracy(logits: jax.Array, truth: jax.Array, mask: jax.Array) -> jax.Array:
    """½ (recall on mask ∧ T + specificity on mask ∧ ¬T), predicting true when z > 0."""
    said_true = logits > 0
    return 0.5 * (masked_mean(said_true, mask & truth) + masked_mean(~said_true, mask & ~truth))



@dataclass(frozen=True)
class GraphMLP:
    """Static settings of the link predictor (see module docstring)."""

    n_generations: int = 4
    generation_size: int = 8
    graph_seed: int = 0
    d: int = 16
    width: int = 32
    depth: int = 2
    activation: str = "silu"
    record_params: bool = False

    divergence_key: ClassVar[str] = "train_loss"

    def __post_init__(self) -> None:
        check_graph_size(self.n_generations, self.generation_size)
        require(self.graph_seed >= 0, f"graph_seed must be >= 0, got {self.graph_seed}")
        require(self.d >= 1, f"d must be >= 1, got {self.d}")
        require(self.width >= 1, f"width must be >= 1, got {self.width}")
        require(self.depth >= 1, f"depth must be >= 1, got {self.depth}")
        require(self.activation in ACTIVATIONS,
                f"activation must be one of {', '.join(ACTIVATIONS)}, got {self.activation!r}")

    @property
    def n_entities(self) -> int:
        return self.n_generations * self.generation_size

    @property
    def truth(self) -> np.ndarray:
        return family_truth(self.n_generations, self.generation_size, self.graph_seed)

    # --- contract -----------------------------------------------------------------------------
    def hparams(self) -> dict[str, float]:
        return {"lr": 0.01, "wd": 0.1, "train_fraction": 0.8}

    def check(self, hp: Mapping[str, float]) -> None:
        require(hp["lr"] > 0, f"lr must be > 0, got {hp['lr']}")
        require(hp["wd"] >= 0, f"wd must be >= 0, got {hp['wd']}")
        require(0 < hp["train_fraction"] < 1,
                f"train_fraction must be in (0, 1), got {hp['train_fraction']}")

    def observables(self) -> dict[str, tuple[str, ...]]:
        dims = {"relation_recall": ("relation",)}
        if self.record_params:
            dims |= {"param_entity": ("entity", "emb"), "param_relation": ("relation", "emb"),
                     "param_w1": ("emb_in", "hidden"), "param_w_out": ("hidden",)}
            dims |= {f"param_b{k}": ("hidden",) for k in range(1, self.depth + 1)}
            dims |= {f"param_w{k}": ("hidden_in", "hidden") for k in range(2, self.depth + 1)}
        return dims

    def coords(self) -> dict[str, np.ndarray]:
        coords = {"relation": np.array(RELATIONS)}
        if self.record_params:
            coords |= {"entity": np.arange(self.n_entities), "emb": np.arange(self.d),
                       "emb_in": np.arange(3 * self.d), "hidden": np.arange(self.width),
                       "hidden_in": np.arange(self.width)}
        return coords

    @staticmethod
    def optimizer(hp: Mapping[str, jax.Array]) -> optax.GradientTransformation:
        return optax.adamw(hp["lr"], weight_decay=hp["wd"])

    def init_params(self, key: jax.Array) -> Params:
        """E, Q ~ N(0, 1); W_k, b_k ~ U(±1/√fan_in) (PyTorch's Linear default)."""
        keys = iter(jax.random.split(key, 2 * self.depth + 4))
        n_in = (3 * self.d, *(self.width,) * self.depth)
        params = {"entity": jax.random.normal(next(keys), (self.n_entities, self.d)),
                  "relation": jax.random.normal(next(keys), (len(RELATIONS), self.d))}
        for k in range(1, self.depth + 1):
            init = torch_uniform(n_in[k - 1])
            params[f"w{k}"] = init(next(keys), (n_in[k - 1], self.width))
            params[f"b{k}"] = init(next(keys), (self.width,))
        init = torch_uniform(self.width)
        params["w_out"] = init(next(keys), (self.width,))
        params["b_out"] = init(next(keys), ())
        return params

    def init(self, key: jax.Array, hp: Mapping[str, jax.Array]) -> State:
        params = self.init_params(key)
        train, inferable = graph_split(self.truth, jax.random.PRNGKey(self.graph_seed),
                                       hp["train_fraction"])
        return State(params, self.optimizer(hp).init(params), train, inferable)

    def logits(self, params: Params) -> jax.Array:
        """z for every triple, shape (R, N, N)."""
        return head(params, hidden(params, self.activation), self.activation)

    def step(self, state: State, hp: Mapping[str, jax.Array]) -> State:
        truth = jnp.asarray(self.truth)
        grads = jax.grad(lambda p: balanced_bce(self.logits(p), truth, state.train))(state.params)
        updates, opt_state = self.optimizer(hp).update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        return state._replace(params=params, opt_state=opt_state)

    def observe(self, state: State, hp: Mapping[str, jax.Array]) -> dict[str, jax.Array]:
        truth = jnp.asarray(self.truth)
        z = self.logits(state.params)
        test = ~state.train
        said_true = z > 0
        held_out = truth & test
        obs = {
            "train_loss": balanced_bce(z, truth, state.train),
            "test_loss": balanced_bce(z, truth, test),
            "train_acc": balanced_accuracy(z, truth, state.train),
            "test_acc": balanced_accuracy(z, truth, test),
            "heldout_recall": masked_mean(said_true, held_out),
            "inferable_recall": masked_mean(said_true, state.inferable),
            "noninferable_recall": masked_mean(said_true, held_out & ~state.inferable),
            "test_specificity": masked_mean(~said_true, test & ~truth),
            "ideal_recall": state.inferable.sum() / jnp.maximum(held_out.sum(), 1),
            "relation_recall": masked_mean(said_true, held_out, axis=(1, 2)),
            "weight_norm": optax.tree.norm(state.params),
        }
        if self.record_params:
            obs |= {f"{PARAM_PREFIX}{k}": v for k, v in state.params.items()}
        return obs
