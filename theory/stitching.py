"""Representation similarity and model stitching between members (our protocol, after Bansal et al.
2021 and Csiszárik et al. 2021; Baek, Li & Tegmark 2024 publish no stitching protocol).

Stitch point: the first hidden activation a_1 of the graph MLP (toymodels.graph_mlp.hidden). The
stitched network A→B is A's first part, an affine map, B's last part:

    z_{A→B} = head_B(a_1^A W + b)

with (W, b) fitted on training triples only, two ways:
    ridge (direct matching):  W = (H̃_Aᵀ Ω H̃_A + λ I)⁻¹ H̃_Aᵀ Ω H̃_B,  b = μ_B − μ_A W,
                              Ω = class-balanced row weights (true and false triples ½ each; ours,
                              since 3 % of triples are true), λ = ridge · tr(H̃_Aᵀ Ω H̃_A) / width
                              (relative ridge, fixed, not tuned);
    task loss:                Adam on the class-balanced BCE of z_{A→B}, A and B frozen,
                              starting from W = 0, b = 0.
Metric: balanced accuracy ½(recall + specificity) on held-out triples. Stitching penalty (Bansal et
al.): acc(B) − acc(A→B), relative to the network that supplies the top (positive = worse than B).
Similarity: linear CKA(X, Y) = ‖Ỹᵀ X̃‖²_F / (‖X̃ᵀ X̃‖_F ‖Ỹᵀ Ỹ‖_F) on centred activations.

Members of different widths are zero-padded to the largest width: padded units are exactly 0
through SiLU and meet zero weights, so every ordered pair is computed in one vmapped program.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import optax
import xarray as xr

from toymodels.graph_mlp import PARAM_PREFIX, balanced_accuracy, balanced_bce, head, hidden


def member_params(ds: xr.Dataset, step: int = -1) -> tuple[dict[str, np.ndarray], list[dict]]:
    """Parameters recorded by `GraphMLP(record_params=True)` at logged step index `step`,
    stacked over every member (axis 0, member dims row-major), zero-padded (NaN of merged widths
    → 0). Returns (params, one {dim: value} label per member)."""
    member_dims = list(ds["diverged_step"].dims)
    at = ds.isel(step=step)
    params = {}
    for name in (str(n) for n in ds.data_vars if str(n).startswith(PARAM_PREFIX)):
        da = at[name].stack(member=member_dims).transpose("member", ...)
        params[name.removeprefix(PARAM_PREFIX)] = np.nan_to_num(da.values.astype(np.float32))
    index = ds["diverged_step"].stack(member=member_dims)["member"].values
    labels = [dict(zip(member_dims, m if isinstance(m, tuple) else (m,), strict=True))
              for m in index]
    return params, labels


def activations(params: dict[str, np.ndarray], activation: str = "silu") -> jax.Array:
    """a_1 of every member for every triple: (M, R·N², width)."""
    a = jax.vmap(lambda p: hidden(p, activation))(params)
    return a.reshape(a.shape[0], -1, a.shape[-1])


def linear_cka(x: jax.Array, y: jax.Array) -> jax.Array:
    """Linear CKA of (n, p) and (n, q) activations of the same n inputs (0 if one is constant)."""
    x = x - x.mean(0)
    y = y - y.mean(0)
    cross = jnp.sum((y.T @ x) ** 2)
    norm = jnp.linalg.norm(x.T @ x) * jnp.linalg.norm(y.T @ y)
    return jnp.where(norm > 0, cross / jnp.where(norm > 0, norm, 1.0), 0.0)


def cka_matrix(h: jax.Array) -> jax.Array:
    """CKA[a, b] for every pair of members of h (M, n, width)."""
    return jax.vmap(jax.vmap(linear_cka, (None, 0)), (0, None))(h, h)


def ridge_map(
    ha: jax.Array, hb: jax.Array, ridge: float, weights: jax.Array | None = None
) -> tuple[jax.Array, jax.Array]:
    """(W, b) minimising Σ_i ω_i ‖h_A,i W + b − h_B,i‖² + λ‖W‖² (ω uniform unless given, Σω = 1),
    λ = ridge · tr(H̃_Aᵀ Ω H̃_A) / width, H̃ centred with the ω-weighted means."""
    omega = jnp.full(ha.shape[0], 1.0 / ha.shape[0]) if weights is None else weights / weights.sum()
    mean_a, mean_b = omega @ ha, omega @ hb
    xa, xb = ha - mean_a, hb - mean_b
    gram = xa.T @ (omega[:, None] * xa)
    lam = ridge * jnp.trace(gram) / gram.shape[0] + 1e-12
    eye = jnp.eye(gram.shape[0], dtype=gram.dtype)
    w = jnp.linalg.solve(gram + lam * eye, xa.T @ (omega[:, None] * xb))
    return w, mean_b - mean_a @ w


def affine_r2(ha: jax.Array, hb: jax.Array, w: jax.Array, b: jax.Array) -> jax.Array:
    """Activation-space R² = 1 − ‖H_A W + b − H_B‖² / ‖H_B − mean(H_B)‖²."""
    residual = jnp.sum((ha @ w + b - hb) ** 2)
    return 1.0 - residual / jnp.maximum(jnp.sum((hb - hb.mean(0)) ** 2), 1e-30)


def stitched_logits(ha: jax.Array, w: jax.Array, b: jax.Array, top: dict, activation: str = "silu"):
    """z_{A→B} = head_B(H_A W + b)."""
    return head(top, ha @ w + b, activation)


def task_loss_map(ha, top, truth, steps: int, lr: float, activation: str = "silu"):
    """(W, b) trained by Adam(lr) for `steps` full-batch steps on the balanced BCE of z_{A→B} over
    the rows of `ha` (A and B frozen), starting from W = 0, b = 0."""
    width_b = top["w_out"].shape[0]
    map0 = (jnp.zeros((ha.shape[1], width_b), ha.dtype), jnp.zeros(width_b, ha.dtype))
    everywhere = jnp.ones_like(truth)
    optimizer = optax.adam(lr)

    def loss(m):
        return balanced_bce(stitched_logits(ha, *m, top, activation), truth, everywhere)

    def body(carry, _):
        m, opt = carry
        updates, opt = optimizer.update(jax.grad(loss)(m), opt)
        return (optax.apply_updates(m, updates), opt), None

    (fitted, _), _ = jax.lax.scan(body, (map0, optimizer.init(map0)), None, length=steps)
    return fitted


@dataclass(frozen=True)
class StitchResult:
    """Stitching of every bottom a onto every top b (arrays (A, B) unless noted).

    own_acc (B,): each top network's own balanced test accuracy.
    ridge_acc, task_acc: stitched balanced test accuracy with the ridge / task-loss map.
    ridge_penalty, task_penalty: own_acc[b] − stitched accuracy.
    ridge_r2: activation-space R² of the ridge map on held-out triples.
    """

    own_acc: np.ndarray
    ridge_acc: np.ndarray
    task_acc: np.ndarray
    ridge_r2: np.ndarray

    @property
    def ridge_penalty(self) -> np.ndarray:
        return self.own_acc[None, :] - self.ridge_acc

    @property
    def task_penalty(self) -> np.ndarray:
        return self.own_acc[None, :] - self.task_acc


def class_balance(labels: np.ndarray) -> np.ndarray:
    """Row weights ω_i = 1 / (2 · #rows of i's class): true and false triples weigh ½ each."""
    n_true = max(int(labels.sum()), 1)
    n_false = max(int((~labels).sum()), 1)
    return np.where(labels, 0.5 / n_true, 0.5 / n_false).astype(np.float32)


def fit_rows(truth: np.ndarray, train: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """Indices of the rows the task-loss map is trained on: every true training triple plus
    uniformly drawn false training triples, `n` rows in all (fewer if train is smaller)."""
    truth, train = truth.ravel(), train.ravel()
    positives = np.flatnonzero(train & truth)
    negatives = np.random.default_rng(seed).permutation(np.flatnonzero(train & ~truth))
    return np.sort(np.concatenate([positives, negatives[: max(n - len(positives), 0)]]))


def stitch(
    bottoms: dict[str, np.ndarray],
    tops: dict[str, np.ndarray],
    truth: np.ndarray,
    train: np.ndarray,
    *,
    ridge: float = 1e-3,
    steps: int = 300,
    lr: float = 0.01,
    n_fit: int = 1024,
    activation: str = "silu",
) -> StitchResult:
    """Stitch every member of `bottoms` onto every member of `tops` (stacked, zero-padded params).

    truth, train: (R, N, N) bool. Ridge maps use every training triple; the task-loss map the
    `fit_rows(n_fit)` subset; all accuracies are on the held-out triples (~train)."""
    truth_rows = jnp.asarray(truth.ravel())
    train_rows = np.flatnonzero(train.ravel())
    test = ~train.ravel()
    test_rows = np.flatnonzero(test)
    chosen = fit_rows(truth, train, n_fit)
    balance = class_balance(truth.ravel()[train_rows])
    h_bottom = activations(bottoms, activation)
    h_top = activations(tops, activation)

    def own(top, hb):
        return balanced_accuracy(head(top, hb, activation), truth_rows, test)

    def pair(ha, top, hb):
        w, b = ridge_map(ha[train_rows], hb[train_rows], ridge, balance)
        ridge_acc = balanced_accuracy(stitched_logits(ha, w, b, top, activation), truth_rows, test)
        r2 = affine_r2(ha[test_rows], hb[test_rows], w, b)
        wt, bt = task_loss_map(ha[chosen], top, truth_rows[chosen], steps, lr, activation)
        task_acc = balanced_accuracy(stitched_logits(ha, wt, bt, top, activation), truth_rows, test)
        return ridge_acc, task_acc, r2

    all_pairs = jax.jit(jax.vmap(jax.vmap(pair, (None, 0, 0)), (0, None, None)))
    ridge_acc, task_acc, r2 = all_pairs(h_bottom, tops, h_top)
    own_acc = jax.jit(jax.vmap(own))(tops, h_top)
    return StitchResult(*(np.asarray(x) for x in (own_acc, ridge_acc, task_acc, r2)))
