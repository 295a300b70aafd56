"""Representation similarity and stitching (theory/stitching.py)."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from toymodels.graph_mlp import GraphMLP, balanced_accuracy, balanced_bce, head, hidden
from toymodels.tasks.graphs import family_graph
from toymodels.theory.stitching import (
    activations,
    chunk_size,
    cka_matrix,
    class_balance,
    fit_rows,
    fit_task_loss_map,
    linear_cka,
    map_chunked,
    ridge_map,
    stitch,
    stitched_logits,
)

SYSTEM = GraphMLP(n_generations=3, generation_size=4, d=4, width=6)
TASK = family_graph(3, 4, 0.8, seed=0)


def stacked(*param_dicts):
    return {k: np.stack([np.asarray(p[k]) for p in param_dicts]) for k in param_dicts[0]}


def orthogonal(seed: int, n: int) -> np.ndarray:
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(n, n)))
    return q * np.sign(np.diag(r))


def permuted_copy(params, perm):
    """The same network with its first hidden layer's units permuted: a_1 ↦ a_1[:, perm]."""
    return {**params, "w1": params["w1"][:, perm], "b1": params["b1"][perm],
            "w2": params["w2"][perm]}


def test_identity_self_stitch_gives_own_accuracy():
    params = SYSTEM.init_params(jax.random.PRNGKey(1))
    h = hidden(params)
    truth, test = jnp.asarray(TASK.truth), jnp.asarray(~TASK.train)
    eye = jnp.eye(SYSTEM.width)
    stitched = stitched_logits(h, eye, jnp.zeros(SYSTEM.width), params)
    assert np.array_equal(stitched, head(params, h))
    own = balanced_accuracy(head(params, h), truth, test)
    assert balanced_accuracy(stitched, truth, test) == own


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 10_000))
def test_ridge_map_recovers_an_exact_rotation(seed):
    params = SYSTEM.init_params(jax.random.PRNGKey(seed))
    ha = np.asarray(hidden(params)).reshape(-1, SYSTEM.width).astype(np.float32)
    q = orthogonal(seed, SYSTEM.width)
    shift = np.random.default_rng(seed).normal(size=SYSTEM.width)
    w, b = ridge_map(jnp.asarray(ha), jnp.asarray(ha @ q + shift), 1e-7)
    assert np.allclose(w, q, atol=2e-3)
    assert np.allclose(b, shift, atol=2e-3)


def test_weighted_ridge_recovers_a_rotation_too():
    params = SYSTEM.init_params(jax.random.PRNGKey(3))
    ha = np.asarray(hidden(params)).reshape(-1, SYSTEM.width).astype(np.float32)
    q = orthogonal(3, SYSTEM.width)
    weights = class_balance(TASK.truth.ravel())
    assert np.isclose(weights.sum(), 1.0)
    assert np.isclose(weights[TASK.truth.ravel()].sum(), 0.5)
    w, _ = ridge_map(jnp.asarray(ha), jnp.asarray(ha @ q), 1e-7, jnp.asarray(weights))
    assert np.allclose(w, q, atol=2e-3)


def test_stitching_onto_a_permuted_copy_keeps_accuracy_and_padding_is_exact():
    """Every ordered pair in one call: A, a permuted copy of A, and a narrower member (padded)."""
    a = SYSTEM.init_params(jax.random.PRNGKey(0))
    copy = permuted_copy(a, np.random.default_rng(0).permutation(SYSTEM.width))
    narrow = GraphMLP(n_generations=3, generation_size=4, d=4, width=4).init_params(
        jax.random.PRNGKey(2))
    pads = {"w1": ((0, 0), (0, 2)), "w2": ((0, 2), (0, 2)), "b1": (0, 2), "b2": (0, 2),
            "w_out": (0, 2)}
    padded = {k: np.pad(np.asarray(v), pads.get(k, 0)) for k, v in narrow.items()}
    members = stacked(a, copy, padded)
    result = stitch(members, members, TASK.truth, TASK.train, ridge=1e-6, max_steps=5, n_fit=64)
    truth, test = jnp.asarray(TASK.truth), jnp.asarray(~TASK.train)
    own = [balanced_accuracy(head(p, hidden(p)), truth, test) for p in (a, copy, narrow)]
    assert np.allclose(result.own_acc, own)  # zero-padding changes nothing
    assert np.isclose(result.own_acc[0], result.own_acc[1])
    assert np.allclose(np.diag(result.ridge_acc), result.own_acc, atol=0.02)
    assert abs(result.ridge_acc[0, 1] - result.own_acc[1]) < 0.02
    assert (np.diag(result.ridge_r2) > 0.99).all()
    assert result.ridge_r2[0, 1] > 0.99
    assert result.ridge_acc.shape == result.task_acc.shape == (3, 3)
    assert np.allclose(result.ridge_penalty, result.own_acc[None] - result.ridge_acc)


def trained_params(seed: int, steps: int = 200) -> dict:
    """A briefly trained member (full-batch AdamW on its training triples)."""
    hp = {k: jnp.float32(v) for k, v in SYSTEM.hparams().items()}
    state = SYSTEM.init(jax.random.PRNGKey(seed), hp)
    state = jax.lax.fori_loop(0, steps, lambda _, s: SYSTEM.step(s, hp), state)
    return state.params


def test_training_fits_and_the_task_loss_fit_converges_to_a_stationary_point():
    params = trained_params(4)
    truth_all, train = jnp.asarray(TASK.truth), jnp.asarray(TASK.train)
    assert balanced_accuracy(SYSTEM.logits(params), truth_all, train) > 0.9
    rows = fit_rows(TASK.truth, TASK.train, 256)
    h = hidden(params).reshape(-1, SYSTEM.width)[rows]
    truth = jnp.asarray(TASK.truth.ravel()[rows])
    everywhere = jnp.ones_like(truth)

    def loss(w, b):
        return balanced_bce(stitched_logits(h, w, b, params), truth, everywhere)

    w, b, grad_norm, steps = fit_task_loss_map(h, params, truth, max_steps=300, tol=1e-4)
    zero = loss(jnp.zeros_like(w), jnp.zeros_like(b))
    assert loss(w, b) < 0.5 * zero
    gradient = jax.grad(loss, argnums=(0, 1))(w, b)
    assert float(grad_norm) < 1e-4 and 0 < int(steps) < 300       # converged, not out of steps
    assert np.isclose(float(jnp.sqrt(sum(jnp.sum(g**2) for g in gradient))), float(grad_norm), rtol=1e-3)
    _, _, capped, capped_steps = fit_task_loss_map(h, params, truth, max_steps=2, tol=1e-4)
    assert int(capped_steps) == 2 and float(capped) > 1e-4         # the cap is reported, not hidden


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 10_000), st.floats(0.1, 10.0))
def test_cka_is_invariant_to_rotation_and_scale(seed, scale):
    x = np.random.default_rng(seed).normal(size=(80, 5))
    y = np.random.default_rng(seed + 1).normal(size=(80, 5))
    q = orthogonal(seed, 5)
    assert np.isclose(linear_cka(x, x), 1.0, atol=1e-5)
    assert np.isclose(linear_cka(x, scale * x @ q), 1.0, atol=1e-4)
    assert np.isclose(linear_cka(x, y), linear_cka(x @ q, scale * y), atol=1e-4)
    assert 0 <= linear_cka(x, y) <= 1


def test_cka_matrix_is_symmetric_with_unit_diagonal():
    members = stacked(*(SYSTEM.init_params(jax.random.PRNGKey(i)) for i in range(3)))
    cka = cka_matrix(members)
    assert np.allclose(cka, cka.T, atol=1e-5) and np.allclose(np.diag(cka), 1, atol=1e-5)
    direct = np.asarray(activations(members))
    assert np.isclose(cka[0, 1], float(linear_cka(direct[0], direct[1])), atol=1e-5)


def test_fit_rows_keep_every_training_positive():
    rows = fit_rows(TASK.truth, TASK.train, 100)
    positives = np.flatnonzero(TASK.truth.ravel() & TASK.train.ravel())
    assert len(rows) == 100 and np.isin(positives, rows).all()
    assert TASK.train.ravel()[rows].all()


def test_chunk_size_follows_the_memory_budget():
    assert chunk_size(100, 1000, 50) == 10
    assert chunk_size(100, 50, 50) == 1           # never below one item
    assert chunk_size(100, 10**9, 7) == 7         # never above the items there are
    seen = []
    out = map_chunked(lambda x: x * 2, 7, lambda i: (seen.append(len(i)), np.arange(7.0)[i])[1],
                      max_bytes=1)               # a 1-byte budget: one item per chunk
    assert np.array_equal(out, 2 * np.arange(7.0))
    assert set(seen) == {1}


@functools.cache
def unchunked():
    """Two briefly trained members and an untrained one, every pair in one chunk of 9."""
    members = stacked(trained_params(5, steps=100), trained_params(6, steps=100),
                      SYSTEM.init_params(jax.random.PRNGKey(7)))
    return members, stitch(members, members, TASK.truth, TASK.train, n_fit=128, chunk=9)


@settings(max_examples=3, deadline=None)
@given(st.sampled_from([1, 2, 4]))
def test_chunked_stitching_equals_unchunked(chunk):
    """Pairs in chunks of any size give the numbers of all 9 pairs at once: ridge maps, R², own
    accuracy and CKA up to float rounding; the task-loss fit reaches the same tolerance."""
    members, whole = unchunked()
    result = stitch(members, members, TASK.truth, TASK.train, n_fit=128, chunk=chunk)
    for name in ("own_acc", "ridge_acc", "ridge_r2"):
        assert np.allclose(getattr(result, name), getattr(whole, name), atol=1e-5), name
    converged = (result.task_grad_norm < 1e-4) & (whole.task_grad_norm < 1e-4)
    assert converged.any()
    assert np.allclose(result.task_acc[converged], whole.task_acc[converged], atol=0.05)
    assert np.allclose(cka_matrix(members, chunk=chunk), cka_matrix(members, chunk=9), atol=1e-5)
