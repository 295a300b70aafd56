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
    task loss:                (W, b) = argmin of the class-balanced BCE of z_{A→B}, A and B frozen,
                              by L-BFGS (optax.lbfgs, zoom line search) from W = 0, b = 0, stopped
                              when ‖∇‖ < tol or after max_steps; the gradient norm reached and the
                              iterations are returned, so convergence is checked, not assumed.
Metric: balanced accuracy ½(recall + specificity) on held-out triples. Stitching penalty (Bansal et
al.): acc(B) − acc(A→B), relative to the network that supplies the top (positive = worse than B).
Similarity: linear CKA(X, Y) = ‖Ỹᵀ X̃‖²_F / (‖X̃ᵀ X̃‖_F ‖Ỹᵀ Ỹ‖_F) on centred activations.

Members of different widths are zero-padded to the largest width: padded units are exactly 0
through SiLU and meet zero weights, so every ordered pair runs through one compiled program.

Memory. Every all-member or pairwise computation (own accuracy, CKA, stitching) goes through
`map_chunked`: items are vmapped `chunk` at a time, with chunk = max(1, max_bytes // footprint),
footprint = the XLA memory analysis (arguments + outputs + scratch) of the computation for one
item. A report therefore needs at most ≈ `max_bytes` (default `MAX_BYTES` = 1 GiB) of device
memory for these computations, plus the stacked parameters; activations are recomputed per item
from the parameters, never held for all members at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
import xarray as xr

from toymodels.graph_mlp import PARAM_PREFIX, balanced_accuracy, balanced_bce, head, hidden

MAX_BYTES = 2**30  # default device-memory budget of one chunk of a pairwise computation (1 GiB)


# --- chunked maps -------------------------------------------------------------------------------
def footprint(fn: Callable, *args: Any) -> int:
    """Bytes XLA needs to run jit(fn)(*args): arguments + outputs + scratch (memory analysis of the
    compiled program); an upper bound from the shapes when the backend reports none."""
    compiled = jax.jit(fn).lower(*args).compile()
    analysis = compiled.memory_analysis()
    if analysis is not None:
        return int(analysis.argument_size_in_bytes + analysis.output_size_in_bytes
                   + analysis.temp_size_in_bytes)
    sizes = [np.prod(x.shape) * np.dtype(x.dtype).itemsize for x in jax.tree.leaves(args)]
    return int(16 * sum(sizes))  # no analysis: assume scratch ≤ 15 × the inputs


def chunk_size(per_item: int, max_bytes: int, n: int) -> int:
    """Items per chunk: ⌊max_bytes / per_item⌋, at least 1 and at most n."""
    return int(min(max(1, max_bytes // max(per_item, 1)), max(n, 1)))


def map_chunked(fn: Callable, n: int, take: Callable[[np.ndarray], Any], *shared: Any,
                max_bytes: int = MAX_BYTES, chunk: int | None = None) -> Any:
    """[fn(take(i), *shared) for i in 0..n−1] stacked along axis 0, as numpy arrays.

    `take(indices)` returns the items at `indices` stacked on axis 0 (a pytree). Items run through
    jit(vmap(fn)) `chunk` at a time (default: `chunk_size` of the one-item footprint and
    `max_bytes`); the last chunk is padded by repeating its last item, so one program serves all.
    """
    axes = (0, *(None,) * len(shared))
    batched = jax.vmap(fn, axes)
    if chunk is None:
        chunk = chunk_size(footprint(batched, take(np.zeros(1, int)), *shared), max_bytes, n)
    run = jax.jit(batched)
    parts = []
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        indices = np.minimum(np.arange(start, start + chunk), stop - 1)
        parts.append(jax.tree.map(lambda x, m=stop - start: np.asarray(x)[:m],
                                  run(take(indices), *shared)))
    return jax.tree.map(lambda *xs: np.concatenate(xs), *parts)


def take_rows(tree: dict[str, np.ndarray]) -> Callable[[np.ndarray], dict[str, np.ndarray]]:
    """`take` for map_chunked over the members of stacked parameters."""
    return lambda indices: {k: v[indices] for k, v in tree.items()}


def take_pairs(bottoms: dict[str, np.ndarray],
               tops: dict[str, np.ndarray]) -> tuple[int, Callable[[np.ndarray], tuple]]:
    """(number of ordered pairs A·B, `take` of the pairs (bottom a, top b) in row-major order)."""
    n_tops = len(next(iter(tops.values())))
    n_pairs = len(next(iter(bottoms.values()))) * n_tops

    def take(indices: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        return take_rows(bottoms)(indices // n_tops), take_rows(tops)(indices % n_tops)

    return n_pairs, take


# --- members ------------------------------------------------------------------------------------
def member_params(ds: xr.Dataset, step: int = -1) -> tuple[dict[str, np.ndarray], list[dict]]:
    """Parameters recorded by `GraphMLP(record_params=True)` at logged step index `step`,
    stacked over every member (axis 0, member dims row-major), zero-padded (NaN of merged widths
    → 0). Returns (params, one {dim: value} label per member)."""
    dims = list(ds["diverged_step"].dims)  # the member dims
    at = ds.isel(step=step)
    params = {}
    for name in (str(n) for n in ds.data_vars if str(n).startswith(PARAM_PREFIX)):
        da = at[name].stack(member=dims).transpose("member", ...)
        params[name.removeprefix(PARAM_PREFIX)] = np.nan_to_num(da.values.astype(np.float32))
    index = ds["diverged_step"].stack(member=dims)["member"].values
    labels = [dict(zip(dims, m if isinstance(m, tuple) else (m,), strict=True)) for m in index]
    return params, labels


def activations(params: dict[str, np.ndarray], activation: str = "silu") -> jax.Array:
    """a_1 of every member for every triple: (M, R·N², width) (small member sets only: the
    reports use the chunked `cka_matrix` and `stitch`, which recompute a_1 per item)."""
    a = jax.vmap(lambda p: hidden(p, activation))(params)
    return a.reshape(a.shape[0], -1, a.shape[-1])


def rows_of(params: dict[str, jax.Array], activation: str) -> jax.Array:
    """a_1 of one member as (R·N², width)."""
    a = hidden(params, activation)
    return a.reshape(-1, a.shape[-1])


# --- similarity ---------------------------------------------------------------------------------
def linear_cka(x: jax.Array, y: jax.Array) -> jax.Array:
    """Linear CKA of (n, p) and (n, q) activations of the same n inputs (0 if one is constant)."""
    x = x - x.mean(0)
    y = y - y.mean(0)
    cross = jnp.sum((y.T @ x) ** 2)
    norm = jnp.linalg.norm(x.T @ x) * jnp.linalg.norm(y.T @ y)
    return jnp.where(norm > 0, cross / jnp.where(norm > 0, norm, 1.0), 0.0)


def cka_matrix(params: dict[str, np.ndarray], activation: str = "silu",
               max_bytes: int = MAX_BYTES, chunk: int | None = None) -> np.ndarray:
    """CKA[a, b] of a_1 over all triples for every ordered pair of members (chunked pairs)."""
    n_pairs, take = take_pairs(params, params)

    def pair(ab):
        return linear_cka(rows_of(ab[0], activation), rows_of(ab[1], activation))

    m = len(next(iter(params.values())))
    return map_chunked(pair, n_pairs, take, max_bytes=max_bytes, chunk=chunk).reshape(m, m)


# --- maps ---------------------------------------------------------------------------------------
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


def fit_task_loss_map(ha: jax.Array, top: dict, truth: jax.Array, *, max_steps: int = 200,
                      tol: float = 1e-4, activation: str = "silu"):
    """(W, b) minimising the balanced BCE of z_{A→B} = head_B(H_A W + b) over the rows of `ha`
    (A and B frozen), by L-BFGS from W = 0, b = 0 until ‖∇‖ < tol or `max_steps` iterations.

    Returns (W, b, ‖∇‖ at the result, iterations): converged ⇔ ‖∇‖ < tol.
    """
    width_b = top["w_out"].shape[0]
    map0 = (jnp.zeros((ha.shape[1], width_b), ha.dtype), jnp.zeros(width_b, ha.dtype))
    everywhere = jnp.ones_like(truth)

    def loss(m):
        return balanced_bce(stitched_logits(ha, *m, top, activation), truth, everywhere)

    solver = optax.lbfgs(linesearch=optax.scale_by_backtracking_linesearch(
        max_backtracking_steps=20, store_grad=True))
    value_and_grad = optax.value_and_grad_from_state(loss)

    def iterate(carry):
        m, state = carry
        value, grad = value_and_grad(m, state=state)
        updates, state = solver.update(grad, state, m, value=value, grad=grad, value_fn=loss)
        return optax.apply_updates(m, updates), state

    def going(carry):
        _, state = carry
        count = optax.tree.get(state, "count")
        gradient = optax.tree.norm(optax.tree.get(state, "grad"))
        return (count == 0) | ((count < max_steps) & (gradient >= tol))

    fitted, state = jax.lax.while_loop(going, iterate, (map0, solver.init(map0)))
    grad_norm = optax.tree.norm(jax.grad(loss)(fitted))
    return fitted[0], fitted[1], grad_norm, optax.tree.get(state, "count")


# --- stitching ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class StitchResult:
    """Stitching of every bottom a onto every top b (arrays (A, B) unless noted).

    own_acc (B,): each top network's own balanced test accuracy.
    ridge_acc, task_acc: stitched balanced test accuracy with the ridge / task-loss map.
    ridge_penalty, task_penalty: own_acc[b] − stitched accuracy.
    ridge_r2: activation-space R² of the ridge map on held-out triples.
    task_grad_norm, task_steps: ‖∇‖ of the task loss at the fitted map and L-BFGS iterations.
    """

    own_acc: np.ndarray
    ridge_acc: np.ndarray
    task_acc: np.ndarray
    ridge_r2: np.ndarray
    task_grad_norm: np.ndarray
    task_steps: np.ndarray

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
    max_steps: int = 200,
    tol: float = 1e-4,
    n_fit: int = 1024,
    activation: str = "silu",
    max_bytes: int = MAX_BYTES,
    chunk: int | None = None,
) -> StitchResult:
    """Stitch every member of `bottoms` onto every member of `tops` (stacked, zero-padded params).

    truth, train: (R, N, N) bool. Ridge maps use every training triple; the task-loss map the
    `fit_rows(n_fit)` subset; all accuracies are on the held-out triples (~train). Pairs run in
    chunks of ≈ `max_bytes` (or `chunk` pairs, if given); the result does not depend on either."""
    truth_rows = jnp.asarray(truth.ravel())
    train_rows = jnp.asarray(np.flatnonzero(train.ravel()))
    test = jnp.asarray(~train.ravel())
    test_rows = jnp.asarray(np.flatnonzero(~train.ravel()))
    chosen = jnp.asarray(fit_rows(truth, train, n_fit))
    balance = jnp.asarray(class_balance(truth.ravel()[np.flatnonzero(train.ravel())]))

    def own(top):
        return balanced_accuracy(head(top, rows_of(top, activation), activation), truth_rows, test)

    def pair(ab):
        bottom, top = ab
        ha, hb = rows_of(bottom, activation), rows_of(top, activation)
        w, b = ridge_map(ha[train_rows], hb[train_rows], ridge, balance)
        ridge_acc = balanced_accuracy(stitched_logits(ha, w, b, top, activation), truth_rows, test)
        r2 = affine_r2(ha[test_rows], hb[test_rows], w, b)
        wt, bt, grad_norm, steps = fit_task_loss_map(ha[chosen], top, truth_rows[chosen],
                                                     max_steps=max_steps, tol=tol,
                                                     activation=activation)
        task_acc = balanced_accuracy(stitched_logits(ha, wt, bt, top, activation), truth_rows, test)
        return ridge_acc, task_acc, r2, grad_norm, steps

    n_bottoms, n_tops = (len(next(iter(t.values()))) for t in (bottoms, tops))
    n_pairs, take = take_pairs(bottoms, tops)
    pairs = map_chunked(pair, n_pairs, take, max_bytes=max_bytes, chunk=chunk)
    own_acc = map_chunked(own, n_tops, take_rows(tops), max_bytes=max_bytes, chunk=chunk)
    ridge_acc, task_acc, r2, grad_norm, steps = (x.reshape(n_bottoms, n_tops) for x in pairs)
    return StitchResult(own_acc, ridge_acc, task_acc, r2, grad_norm, steps)
