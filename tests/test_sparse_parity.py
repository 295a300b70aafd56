"""Multitask sparse parity: task invariants, the Zipf law, and the MLP system on it."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import toymodels as tm
from toymodels import sparse_parity
from toymodels.sparse_parity import SparseParityMLP
from toymodels.tasks.sparse_parity import (
    TEST,
    code_alpha,
    inputs,
    multitask_sparse_parity,
    parity,
    per_task_bits,
    sample_tasks,
    task_probabilities,
)

# (n_tasks, n, k); a few shapes so that compiled sampling code is reused across examples
sizes = st.sampled_from([(1, 3, 1), (3, 3, 2), (5, 8, 3)])


@settings(max_examples=8, deadline=None)
@given(sizes=sizes, alpha=st.floats(0.1, 2.0), seed=st.integers(0, 2**16))
def test_labels_are_parities_of_the_chosen_bits_and_control_is_one_hot(sizes, alpha, seed):
    n_tasks, n, k = sizes
    task = multitask_sparse_parity(n_tasks, n, k, alpha, samples=64, test_per_task=8, seed=seed)
    subsets = task.subsets
    assert subsets.shape == (n_tasks, k)
    assert len({tuple(s) for s in subsets}) == n_tasks                       # distinct subsets
    assert np.all(np.diff(subsets, axis=1) > 0) and subsets.min() >= 0 and subsets.max() < n
    control, bits = task.train_x[:, :n_tasks], task.train_x[:, n_tasks:]
    np.testing.assert_array_equal(control.sum(axis=1), 1)
    np.testing.assert_array_equal(control.argmax(axis=1), task.train_task)
    chosen = np.take_along_axis(bits, subsets[task.train_task], axis=1)
    np.testing.assert_array_equal(task.train_y, chosen.sum(axis=1) % 2)
    for i in range(n_tasks):
        test_control, test_bits = task.test_x[i, :, :n_tasks], task.test_x[i, :, n_tasks:]
        np.testing.assert_array_equal(test_control, np.eye(n_tasks, dtype=np.uint8)[[i] * 8])
        np.testing.assert_array_equal(task.test_y[i], test_bits[:, subsets[i]].sum(axis=1) % 2)


@settings(max_examples=5, deadline=None)
@given(n_tasks=st.just(20), alpha=st.floats(0.1, 1.5), seed=st.integers(0, 2**16))
def test_empirical_task_frequencies_follow_the_zipf_law(n_tasks, alpha, seed):
    draws = 200_000
    probs = np.asarray(task_probabilities(n_tasks, alpha))
    ranks = np.arange(1, n_tasks + 1)
    zipf = ranks ** -(alpha + 1.0)
    np.testing.assert_allclose(probs, zipf / zipf.sum(), rtol=1e-5)
    tasks = np.asarray(sample_tasks(jax.random.PRNGKey(seed), jnp.asarray(probs), draws))
    frequency = np.bincount(tasks, minlength=n_tasks) / draws
    tolerance = 5 * np.sqrt(probs * (1 - probs) / draws) + 1e-6
    assert np.all(np.abs(frequency - probs) < tolerance)


def test_alpha_convention_of_the_original_code():
    """The code's `alpha` is the exponent α + 1: its alpha 1.4 is the paper's α = 0.4."""
    assert code_alpha(0.4) == pytest.approx(1.4)
    probs = np.asarray(task_probabilities(500, 0.4))
    assert probs[0] == pytest.approx(1 / 2.8975, rel=1e-3)   # Σ_{j≤500} j^−1.4 = 2.8975
    assert probs[9] == pytest.approx(0.0137, rel=1e-2)


def test_finite_dataset_is_prefix_stable_and_balanced():
    small = multitask_sparse_parity(4, 10, 3, 0.4, samples=40, seed=3)   # same shapes as below
    large = multitask_sparse_parity(4, 10, 3, 0.4, samples=4000, seed=3)
    np.testing.assert_array_equal(small.train_x, large.train_x[:40])
    for i in range(4):
        labels = large.train_y[large.train_task == i]
        assert abs(labels.mean() - 0.5) < 5 * 0.5 / np.sqrt(len(labels))


def test_a_member_trains_on_the_task_dataset_of_its_seed():
    system = SparseParityMLP(n_tasks=4, n=10, k=3, width=8, batch=64, test_per_task=8,
                             finite_data=True)
    hp = {**system.hparams(), "data": 40.0}
    state = jax.jit(system.init)(jax.random.PRNGKey(7), hp)
    tasks, bits, weights = jax.jit(system.batch_of)(state, hp)
    task = multitask_sparse_parity(4, 10, 3, 0.4, samples=40, seed=7)
    np.testing.assert_array_equal(np.asarray(state.subsets), task.subsets)
    np.testing.assert_array_equal(np.asarray(tasks)[:40], task.train_task)
    np.testing.assert_array_equal(np.asarray(bits)[:40], task.train_x[:, 4:])
    np.testing.assert_array_equal(np.asarray(weights), np.arange(64) < 40)


@pytest.mark.parametrize("chunk", [1, 10, 24, 10_000])
def test_test_sets_in_chunks_give_every_subtask_its_own_loss(chunk, monkeypatch):
    """Chunks of ⌊chunk / test_per_task⌋ tasks (the last one padded) = one pass over all test sets."""
    monkeypatch.setattr(sparse_parity, "TEST_CHUNK", chunk)
    system = SparseParityMLP(n_tasks=7, n=10, k=3, width=16, batch=32, test_per_task=5)
    hp = system.hparams()
    state = system.init(jax.random.PRNGKey(3), hp)
    loss, acc = jax.jit(system.test_metrics)(state)
    bits = per_task_bits(jax.random.fold_in(state.key, TEST), 7, 5, 10).reshape(-1, 10)
    tasks = jnp.repeat(jnp.arange(7), 5)
    logits = system.logits(state.params, inputs(tasks, bits, 7))
    labels = parity(bits, state.subsets, tasks)
    nats = -jnp.take_along_axis(jax.nn.log_softmax(logits), labels[:, None], axis=1)[:, 0]
    np.testing.assert_allclose(loss, nats.reshape(7, 5).mean(1) / np.log(2), rtol=1e-5)
    np.testing.assert_array_equal(acc, (logits.argmax(1) == labels).reshape(7, 5).mean(1))


def test_bad_settings_are_config_errors():
    with pytest.raises(tm.ConfigError, match="k must be"):
        SparseParityMLP(n=5, k=6)
    with pytest.raises(tm.ConfigError, match="exceeds"):
        SparseParityMLP(n_tasks=11, n=5, k=2)
    with pytest.raises(tm.ConfigError, match="finite_data"):
        SparseParityMLP(n_tasks=4, n=8).check({"lr": 1e-3, "alpha": 0.4, "data": 100.0})
    with pytest.raises(tm.ConfigError, match="alpha"):
        SparseParityMLP(n_tasks=4, n=8).check({"lr": 1e-3, "alpha": 0.0, "data": 0.0})


def test_training_learns_the_frequent_subtask_from_chance():
    """Loss starts at ≈ 1 bit (chance) and the most frequent parity is learned (Bayes loss 0)."""
    system = SparseParityMLP(n_tasks=2, n=6, k=2, width=32, batch=256, test_per_task=128)
    spec = tm.Spec(system, {**system.hparams(), "lr": 1e-2}, seeds=1, steps=300, log_every=150)
    ds = tm.run(spec, quiet=True)
    loss = ds["subtask_loss"].isel(seed=0)
    assert np.all(np.abs(loss.isel(step=0).values - 1.0) < 0.2)
    assert float(loss.isel(step=-1, subtask=0)) < 0.1
    weighted = float((loss.isel(step=-1) * task_probabilities(2, 0.4)).sum())
    assert float(ds["test_loss"].isel(seed=0, step=-1)) == pytest.approx(weighted, rel=1e-5)


def test_initial_parameters_are_those_of_the_flax_version():
    """Regression pin: the first values of each parameter at PRNGKey(0), as drawn by the former Flax
    MLP (same names, same per-parameter keys), and the network is Linear → ReLU → Linear."""
    system = SparseParityMLP(n_tasks=7, n=10, k=3, width=8, batch=32, test_per_task=5)
    params = system.init_params(jax.random.PRNGKey(0))
    first = {f"{layer}/{w}": np.asarray(params[layer][w]).ravel()[:2].tolist()
             for layer in ("Dense_0", "Dense_1") for w in ("bias", "kernel")}
    assert first == {"Dense_0/bias": [0.046889133751392365, 0.17326532304286957],
                     "Dense_0/kernel": [-0.21693961322307587, 0.1253034770488739],
                     "Dense_1/bias": [0.3134094476699829, 0.04276016727089882],
                     "Dense_1/kernel": [0.0008650218951515853, 0.08216654509305954]}
    assert sum(x.size for x in jax.tree.leaves(params)) == system.parameters
    x = jax.random.uniform(jax.random.PRNGKey(1), (4, 17))
    hidden = np.maximum(np.asarray(x) @ params["Dense_0"]["kernel"] + params["Dense_0"]["bias"], 0)
    expected = hidden @ np.asarray(params["Dense_1"]["kernel"]) + np.asarray(params["Dense_1"]["bias"])
    np.testing.assert_allclose(system.logits(params, x), expected, rtol=1e-5, atol=1e-6)
