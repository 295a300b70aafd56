"""Tasks as benchmarks: the registry, determinism, agreement with each system's own training data,
and `evaluate` on hand-built predictions with known scores."""

from __future__ import annotations

import re
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import toymodels as tm
from toymodels.tasks import make, modular_arithmetic

DOCS = Path(__file__).resolve().parents[1] / "docs"

# Small settings of every registered task (a new registration must add itself here).
SMALL = {
    "modular-arithmetic-v1": {"p": 7, "op": "multiply"},
    "modular-addition-v1": {"p": 7},
    "addition-pairs-v1": {},
    "permutation-pairs-v1": {},
    "precision-teacher-v1": {"n_train": 100, "n_test": 20},
    "sae-synthetic-v1": {"d": 4, "n_features": 12, "n_parents": 2, "n_children": 2, "mean_active": 1.0,
                         "eval_batch": 64},
    "family-graph-v1": {"n_generations": 3, "generation_size": 4},
    "graph-stitching-v1": {"n_generations": 3, "generation_size": 4},
    "multitask-sparse-parity-v1": {"n_tasks": 5, "n": 12, "k": 3, "samples": 50, "test_per_task": 8},
    "compositional-parity-v1": {"samples": 64},
    "rare-parity-v1": {"samples": 64},
    "square-tasks-v1": {"samples": 64, "p2": 0.25},
    "skill-geometry-v1": {"d": 20, "n": 4},
    "skill-resource-v1": {"d": 20, "n": 4, "interaction": "random"},
    "skill-domino-v1": {"n": 4},
    "superposition-features-v1": {"eval_samples": 256},
    "sae-features-v1": {"d": 4, "n_features": 6, "eval_batch": 64},
    "deep-linear-teacher-v1": {},
}


def f32(hp: dict) -> dict:
    return {k: jnp.float32(v) for k, v in hp.items()}


def key(seed: int) -> jax.Array:
    return jax.random.PRNGKey(seed)


def close(a, b, rtol=1e-5, atol=1e-6):
    np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float), rtol=rtol, atol=atol)


def data(task) -> dict[str, np.ndarray]:
    """The task's arrays, plus the first sample of its stream when it is one."""
    out = dict(task.arrays())
    if hasattr(task, "step_key"):
        out["stream"] = np.asarray(jax.tree.leaves(task.sample(task.step_key(0), 4))[0])
    return out


# --- registry -------------------------------------------------------------------------------------
def test_every_registered_task_is_tested():
    assert set(tm.tasks.list()) == set(SMALL)


def test_list_and_describe():
    registry = tm.tasks.list()
    assert registry["modular-arithmetic-v1"]["settings"] == {"p": 59, "op": "add", "train_fraction": 0.8,
                                                             "seed": 0}
    assert "test_acc" in registry["modular-arithmetic-v1"]["metrics"]
    text = tm.tasks.describe_tasks()
    assert all(name in text for name in registry)
    assert all(re.fullmatch(r"[a-z0-9-]+-v\d+", name) for name in registry)


def test_only_public_names_are_exported():
    import types

    public = {k for k, v in vars(tm.tasks).items() if not k.startswith("_") and not isinstance(v, types.ModuleType)}
    assert public == set(tm.tasks.__all__)
    assert "Callable" not in vars(tm.tasks)
    assert all(hasattr(tm.tasks, name) for name in tm.tasks.__all__)


@pytest.mark.parametrize(("name", "settings", "message"), [
    ("nope-v1", {}, "unknown task 'nope-v1'"),
    ("modular-arithmetic-v1", {"q": 3}, "has no setting q"),
    ("modular-arithmetic-v1", {"p": "abc"}, "setting p must be a int"),
    ("modular-arithmetic-v1", {"p": 7.5}, "setting p must be a int"),
    ("modular-arithmetic-v1", {"p": 2}, "p must be >= 3"),
    ("modular-addition-v1", {"op": "add"}, "has no setting op"),
    ("skill-geometry-v1", {"vectors": "diagonal"}, "vectors must be one of"),
    ("deep-linear-teacher-v1", {"spectrum": "3,x"}, "spectrum must be"),
    ("sae-features-v1", {"density": 0.0}, "density must be"),
])
def test_bad_names_and_settings_are_one_line_config_errors(name, settings, message):
    with pytest.raises(tm.ConfigError, match=re.escape(message)) as info:
        make(name, **settings)
    assert "\n" not in str(info.value)


def test_settings_from_strings_are_parsed():
    task = make("modular-arithmetic-v1", p="7", train_fraction="0.5", seed="3")
    np.testing.assert_array_equal(task.train, modular_arithmetic(p=7, train_fraction=0.5, seed=3).train)


def test_registry_refuses_a_second_meaning_for_a_name():
    entry = tm.tasks.TaskEntry("modular-arithmetic-v1", modular_arithmetic, "", "", ())
    with pytest.raises(tm.ConfigError, match="already registered"):
        tm.tasks.register(entry)


# --- determinism ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(SMALL))
def test_same_name_and_seed_give_the_same_arrays(name):
    first, again = data(make(name, **SMALL[name])), data(make(name, **SMALL[name]))
    assert first and first.keys() == again.keys()
    for field in first:
        np.testing.assert_array_equal(first[field], again[field], err_msg=field)
    if "seed" in tm.tasks.list()[name]["settings"]:
        other = data(make(name, **{**SMALL[name], "seed": 1}))
        assert any(not np.array_equal(first[f], other[f]) for f in first), "the seed changes nothing"


# --- agreement with each system's own data, and evaluate == the system's observations -------------
@pytest.mark.parametrize("op", ["add", "subtract"])
def test_modular_is_the_data_of_modular_mlp_and_transformer(op):
    system = tm.ModularMLP(p=7, d=4, width=8, op=op)
    hp = f32({**system.hparams(), "train_fraction": 0.5})
    for seed in (0, 5):
        task = make("modular-arithmetic-v1", p=7, op=op, train_fraction=0.5, seed=seed)
        state = system.init(key(seed), hp)
        np.testing.assert_array_equal(task.train, state.train)
        obs = system.observe(state, hp)
        scores = task.evaluate(system.logits(state.params))
        for name in ("train_loss", "test_loss", "train_acc", "test_acc"):
            close(scores[name], obs[name])
    transformer = tm.Transformer(p=7, d_model=8, n_heads=2, d_mlp=16)
    hp = f32({**transformer.hparams(), "train_fraction": 0.3})
    np.testing.assert_array_equal(make("modular-addition-v1", p=7, train_fraction=0.3, seed=2).train,
                                  transformer.split(key(2), hp))


def test_addition_pairs_is_the_data_of_grokking_toy():
    from toymodels.grokking_toy import decode
    from toymodels.tasks.addition_pairs import sum_matrix

    system = tm.GrokkingToy(width=8, loss="ce")
    hp = f32(system.hparams())
    for seed in (0, 58):
        task = make("addition-pairs-v1", seed=seed)
        state = system.init(key(seed), hp)
        np.testing.assert_array_equal(task.train, state.train)
        logits = decode(state.params["decoder"], jnp.asarray(sum_matrix(10)) @ state.params["embedding"])
        obs, scores = system.observe(state, hp), task.evaluate(logits)
        for name in ("train_loss", "test_loss", "train_acc", "test_acc"):
            close(scores[name], obs[name])


def test_family_graph_is_the_data_of_graph_mlp():
    system = tm.GraphMLP(n_generations=3, generation_size=4, graph_seed=2, d=4, width=8)
    hp = f32(system.hparams())
    task = make("family-graph-v1", n_generations=3, generation_size=4, seed=2)
    state = system.init(key(7), hp)  # the member seed draws only the initialisation
    np.testing.assert_array_equal(task.truth, system.truth)
    np.testing.assert_array_equal(task.train, state.train)
    np.testing.assert_array_equal(task.inferable, state.inferable)
    obs, scores = system.observe(state, hp), task.evaluate(system.logits(state.params))
    for name in scores:
        close(scores[name], obs[name])


def test_graph_stitching_is_the_shared_split_of_the_study():
    from toymodels.experiments import graph_stitching
    from toymodels.graph_mlp import balanced_accuracy

    spec = graph_stitching.tiny()
    truth, train, _ = graph_stitching.shared_split(spec)
    system = spec.system
    task = make("graph-stitching-v1", n_generations=system.n_generations,
                generation_size=system.generation_size, train_fraction=spec.hparams["train_fraction"],
                seed=system.graph_seed)
    np.testing.assert_array_equal(task.truth, truth)
    np.testing.assert_array_equal(task.train, train)
    z = np.asarray(system.logits(system.init_params(key(0))))
    close(task.evaluate(z)["test_acc"], balanced_accuracy(jnp.asarray(z), jnp.asarray(truth), ~jnp.asarray(train)))


def test_sparse_parity_is_the_data_of_sparse_parity_mlp():
    small = SMALL["multitask-sparse-parity-v1"]
    task = make("multitask-sparse-parity-v1", **small, seed=3)
    system = tm.SparseParityMLP(n_tasks=5, n=12, k=3, width=8, batch=16, test_per_task=8)
    hp = f32({**system.hparams(), "alpha": task.alpha})
    state = system.init(key(3), hp)
    np.testing.assert_array_equal(task.subsets, state.subsets)
    close(task.probs, np.asarray(tm.tasks.sparse_parity.task_probabilities(5, hp["alpha"])))
    obs = system.observe(state, hp)  # the fixed per-task test sets
    scores = task.evaluate(system.logits(state.params, jnp.asarray(task.test_x, jnp.float32)))
    for name in ("test_loss", "test_acc", "subtask_loss", "subtask_acc"):
        close(scores[name], obs[name], rtol=1e-4)
    # the online stream: the batch of step 4
    tasks, bits, _ = system.batch_of(state._replace(step=jnp.int32(4)), hp)
    x, y, ids = jax.jit(task.sample, static_argnums=1)(task.step_key(4), 16)
    np.testing.assert_array_equal(ids, tasks)
    np.testing.assert_array_equal(x, tm.tasks.sparse_parity.inputs(tasks, bits, 5))
    np.testing.assert_array_equal(y, tm.tasks.sparse_parity.parity(bits, state.subsets, tasks))
    # the finite dataset: a member with data = D ≤ batch trains on the first D samples
    finite = tm.SparseParityMLP(n_tasks=5, n=12, k=3, width=8, batch=50, test_per_task=8, finite_data=True)
    hp = f32({**finite.hparams(), "alpha": task.alpha, "data": 50.0})
    tasks, bits, weights = finite.batch_of(finite.init(key(3), hp), hp)
    np.testing.assert_array_equal(task.train_task, tasks)
    np.testing.assert_array_equal(task.train_x[:, 5:], bits)
    assert np.all(np.asarray(weights) == 1)


@pytest.mark.parametrize(("name", "task_set", "fraction"), [("compositional-parity-v1", "composed", 0.8),
                                                            ("rare-parity-v1", "pair", 1.0)])
def test_parities_are_the_data_of_parity_tasks_mlp(name, task_set, fraction):
    from toymodels.skills.mlp import forward

    system = tm.ParityTasksMLP(tasks=task_set, samples=64, width=4, train_fraction=fraction)
    hp = f32({**system.hparams(), "p_rare": 0.1 if name == "rare-parity-v1" else 1.0})
    task = make(name, samples=64, seed=4)
    state = system.init(key(4), hp)
    for ours, theirs in ((task.x, state.x), (task.y, state.y), (task.train, state.split)):
        np.testing.assert_array_equal(ours, theirs)
    obs, scores = system.observe(state, hp), task.evaluate(forward(state.params, state.x, jax.nn.relu))
    for metric in ("acc", "test_acc", "loss") if fraction < 1 else ("acc", "loss"):
        close(scores[metric], obs[metric])
    if fraction == 1:  # no held-out inputs: NaN here, 0 in the system's record
        assert np.isnan(scores["test_acc"]).all()
    # the rare task's mask: one system step equals one Adam step on the task's masked loss
    weight = task.loss_mask(0) * jnp.asarray(task.train)[:, None]

    def loss_fn(params):
        err = (forward(params, jnp.asarray(task.x), jax.nn.relu) - task.y) ** 2
        return jnp.sum(err * weight) / (task.train.sum() * task.y.shape[1])

    grads = jax.grad(loss_fn)(state.params)
    updates, _ = tm.skills.mlp.adam(hp).update(grads, state.opt_state, state.params)
    for a, b in zip(jax.tree.leaves(system.step(state, hp).params),
                    jax.tree.leaves(jax.tree.map(jnp.add, state.params, updates)), strict=True):
        close(a, b)


def test_square_tasks_are_the_data_of_square_tasks_mlp():
    from toymodels.skills.mlp import forward

    system = tm.SquareTasksMLP(samples=64, width=4, modular=True)
    hp = f32({**system.hparams(), "p2": 0.25})
    task = make("square-tasks-v1", samples=64, p2=0.25, seed=1)
    state = system.init(key(1), hp)
    for ours, theirs in ((task.x, state.x), (task.y, state.y), (task.task2, state.split)):
        np.testing.assert_array_equal(ours, theirs)
    obs = system.observe(state, hp)
    scores = task.evaluate(forward(state.params, state.x, jax.nn.silu, system.masks()))
    for metric in ("task_loss", "loss"):
        close(scores[metric], obs[metric])


@pytest.mark.parametrize(("vectors", "loss"), [("ortho", "mse"), ("random", "ce")])
def test_skill_geometry_is_the_data_of_geometry(vectors, loss):
    system = tm.Geometry(d=20, n=4, vectors=vectors, loss=loss)
    hp = f32({**system.hparams(), "alpha": 1.5})
    task = make("skill-geometry-v1", d=20, n=4, vectors=vectors, loss=loss, alpha=1.5, seed=6)
    state = system.init(key(6), hp)
    np.testing.assert_array_equal(task.vectors, state.vectors)
    np.testing.assert_array_equal(task.probs, system.task_frequencies(hp))
    for _ in range(3):
        state = system.step(state, hp)
    obs, scores = system.observe(state, hp), task.evaluate(state.x)
    close(scores["skill"], obs["skill"])
    close(scores["loss"], obs["loss"])


@pytest.mark.parametrize(("interaction", "loss"), [("random", "mse"), ("identity", "ce")])
def test_skill_resource_and_domino_are_the_data_of_their_models(interaction, loss):
    system = tm.Resource(n=4, d=20, interaction=interaction, loss=loss)
    hp = f32(system.hparams())
    task = make("skill-resource-v1", n=4, d=20, interaction=interaction, loss=loss, seed=2)
    state = system.init(key(2), hp)
    close(task.interaction, state.interaction)
    np.testing.assert_array_equal(task.probs, system.task_frequencies(hp))
    for _ in range(50):
        state = system.step(state, hp)
    obs = system.observe(state, hp)
    close(task.evaluate(obs["skill"])["loss"], obs["loss"], rtol=1e-4)
    domino = tm.Domino(n=4, d=20)
    hp = f32(domino.hparams())
    obs = domino.observe(jnp.int32(400), hp)
    close(make("skill-domino-v1", n=4).evaluate(obs["skill"])["loss"], obs["loss"])


def test_superposition_features_are_the_stream_of_superposition():
    from toymodels.superposition import fixed_sample_losses, reconstruct

    system = tm.Superposition(n=5, m=2, batch=64)
    hp = f32({**system.hparams(), "density": 0.3, "importance": 0.8})
    task = make("superposition-features-v1", density=0.3, importance=0.8, eval_samples=512, seed=3)
    state = system.init(key(3), hp)
    for t in (0, 7):
        np.testing.assert_array_equal(task.sample(task.step_key(t), 64),
                                      system.batch_at(state._replace(t=jnp.int32(t)), hp))
    w, b = np.asarray(state.params["W"]), np.asarray(state.params["b"]) + 0.1
    loss = task.evaluate(reconstruct({"W": w, "b": b}, task.eval_x))["loss"]
    close(loss, fixed_sample_losses(w[None], b[None], 0.3, 0.8, samples=512, seed=3)[0], rtol=1e-4)


def test_sae_features_are_the_data_of_the_sparse_autoencoder():
    system = tm.SparseAutoencoder(d=4, n_features=6, max_ratio=2.0, eval_batch=64, data_seed=1)
    hp = f32({**system.hparams(), "density": 0.3, "noise": 0.05})
    task = make("sae-features-v1", d=4, n_features=6, density=0.3, noise=0.05, eval_batch=64,
                data_seed=1, seed=5)
    state = system.init(key(5), hp)
    np.testing.assert_array_equal(task.features, tm.sae.true_features(6, 4, 1))
    np.testing.assert_array_equal(task.eval_x, system.evaluation_batch(hp))
    np.testing.assert_array_equal(task.step_key(3), jax.random.fold_in(state["key"], 3))
    params, mask = state["params"], system.mask(hp)
    live = np.asarray(mask) > 0
    z = system.encode(params, jnp.asarray(task.eval_x), mask)
    x_hat = z @ params["decoder"].T + params["b_dec"]
    obs = system.observe(state, hp)
    scores = task.evaluate(x_hat, latents=np.asarray(z)[:, live], decoder=np.asarray(params["decoder"])[:, live])
    for metric in ("mse", "shrinkage", "l0", "dead", "mmcs"):
        close(scores[metric], obs[metric], rtol=1e-4)


def test_deep_linear_teacher_is_the_data_of_deep_linear():
    system = tm.DeepLinear(n=6, spectrum="2,1", data_seed=4)
    hp = f32({**system.hparams(), "init_scale": 0.3})
    task = make("deep-linear-teacher-v1", n=6, spectrum="2,1", seed=4)
    np.testing.assert_array_equal(task.correlation, system.correlation())
    params = system.init(key(0), hp)
    obs, scores = system.observe(params, hp), task.evaluate(params["w2"] @ params["w1"])
    close(scores["loss"], obs["loss"], rtol=1e-4)
    close(scores["strength"], obs["strength"], atol=1e-5)


# --- evaluate on hand-built predictions ----------------------------------------------------------
def test_classification_scores():
    task = make("modular-arithmetic-v1", p=7, train_fraction=0.5)
    perfect = 50.0 * np.eye(7)[task.labels]
    scores = task.evaluate(perfect)
    assert scores["train_acc"] == scores["test_acc"] == 1.0 and scores["test_loss"] < 1e-12
    assert task.evaluate(perfect.reshape(7, 7, 7)) == scores
    uniform = task.evaluate(np.zeros((49, 7)))
    close(uniform["train_loss"], np.log(7))
    wrong = task.evaluate((task.labels + 1) % 7)
    assert wrong == {"train_acc": 0.0, "test_acc": 0.0}
    pairs = make("addition-pairs-v1")
    assert pairs.evaluate(pairs.labels) == {"train_acc": 1.0, "test_acc": 1.0}
    with pytest.raises(tm.ConfigError, match="shape"):
        pairs.evaluate(np.zeros((55, 3)))


def test_graph_scores():
    task = make("family-graph-v1", n_generations=3, generation_size=4)
    perfect = task.evaluate(np.where(task.truth, 10.0, -10.0))
    assert perfect["test_acc"] == perfect["train_acc"] == 1.0
    assert perfect["heldout_recall"] == perfect["inferable_recall"] == 1.0
    assert perfect["test_specificity"] == 1.0 and perfect["test_loss"] < 1e-4
    negative = task.evaluate(np.full(task.truth.shape, -1.0))
    assert negative["heldout_recall"] == 0.0 and negative["test_acc"] == 0.5
    stitching = make("graph-stitching-v1", n_generations=3, generation_size=4)
    scores = stitching.evaluate(np.full(task.truth.shape, -1.0), reference=np.where(task.truth, 1.0, -1.0))
    assert scores == {"test_acc": 0.5, "own_acc": 1.0, "penalty": 0.5}


def test_sparse_parity_scores():
    task = make("multitask-sparse-parity-v1", **SMALL["multitask-sparse-parity-v1"])
    perfect = task.evaluate(30.0 * np.eye(2)[task.test_y])
    assert perfect["test_acc"] == 1.0 and perfect["test_loss"] < 1e-10
    chance = task.evaluate(np.zeros((*task.test_y.shape, 2)))
    close(chance["subtask_loss"], np.ones(5))   # 1 bit
    close(chance["subtask_acc"], (task.test_y == 0).mean(axis=1))   # argmax of ties is class 0


def test_skill_scores():
    parity = make("compositional-parity-v1", samples=64)
    assert parity.evaluate(parity.y)["loss"] == 0.0 and (parity.evaluate(parity.y)["acc"] == 1).all()
    flipped = parity.evaluate(1.0 - parity.y)
    assert flipped["loss"] == 1.0 and (flipped["test_acc"] == 0).all()
    square = make("square-tasks-v1", samples=64, p2=0.25)
    assert square.evaluate(square.y)["loss"] == 0.0
    close(square.evaluate(np.zeros((64, 2)))["task_loss"],
          [np.mean(square.y[~square.task2, 0] ** 2), np.mean(square.y[square.task2, 1] ** 2)])
    geometry = make("skill-geometry-v1", d=20, n=4)
    solved = geometry.evaluate(geometry.vectors.sum(axis=0))   # orthonormal: u_i·Σu_j = 1
    close(solved["skill"], np.ones(4))
    assert solved["loss"] < 1e-10
    close(geometry.evaluate(np.zeros(20))["loss"], 1.0)          # Σ p_i (1 − 0)² = 1
    for name in ("skill-resource-v1", "skill-domino-v1"):
        levels = make(name, n=4)
        assert levels.evaluate(np.ones(4))["loss"] == 0.0
        close(levels.evaluate(np.zeros(4))["loss"], 1.0)


def test_feature_scores():
    features = make("superposition-features-v1", importance=0.5, eval_samples=256)
    assert features.evaluate(features.eval_x)["loss"] == 0.0
    close(features.evaluate(np.zeros_like(features.eval_x))["loss"],
          np.mean((features.eval_x.astype(float) ** 2) @ (0.5 ** np.arange(5))))
    sae = make("sae-features-v1")
    scores = sae.evaluate(sae.eval_x, latents=np.eye(32)[np.arange(2048) % 32], decoder=sae.features.T)
    assert scores["mse"] == 0.0 and abs(scores["shrinkage"] - 1) < 1e-12
    assert abs(scores["mmcs"] - 1) < 1e-6 and scores["l0"] == 1.0 and scores["dead"] == 0.0
    teacher = make("deep-linear-teacher-v1")
    scores = teacher.evaluate(teacher.correlation)
    assert scores["loss"] == 0.0 and scores["relative_error"] == 0.0
    close(scores["strength"], [3, 2, 1, 0.5], atol=1e-5)
    close(teacher.evaluate(np.zeros((8, 8)))["loss"], 0.5 * (9 + 4 + 1 + 0.25), rtol=1e-5)


# --- the worked example of docs/tasks.md ---------------------------------------------------------
def test_docs_optax_example_runs_and_learns():
    blocks = re.findall(r"```python\n(.*?)```", (DOCS / "tasks.md").read_text(), re.S)
    example = next(b for b in blocks if "optax" in b)
    namespace: dict = {}
    exec(compile(example, "docs/tasks.md", "exec"), namespace)  # noqa: S102
    assert namespace["scores"]["train_acc"] == 1.0


# --- the task functions (legacy registry kept working) -------------------------------------------
@settings(max_examples=15, deadline=None)
@given(p=st.integers(3, 40), op=st.sampled_from(["add", "subtract", "multiply"]),
       fraction=st.floats(0.05, 1.0), seed=st.integers(0, 2**31 - 1))
def test_modular_task_invariants(p, op, fraction, seed):
    task = modular_arithmetic(p=p, op=op, train_fraction=fraction, seed=seed)
    for array in (task.a, task.b, task.labels, task.train):
        assert array.shape == (p * p,)
    expected = {"add": task.a + task.b, "subtract": task.a - task.b, "multiply": task.a * task.b}[op] % p
    np.testing.assert_array_equal(task.labels, expected)
    assert task.train.sum() == int(np.floor(fraction * p * p + 1e-6))
    assert ((task.labels >= 0) & (task.labels < p)).all()
    again = modular_arithmetic(p=p, op=op, train_fraction=fraction, seed=seed)
    np.testing.assert_array_equal(task.train, again.train)


def test_every_pair_appears_once_and_seeds_change_the_split():
    task = modular_arithmetic(p=7, seed=0)
    assert len(set(zip(task.a.tolist(), task.b.tolist(), strict=True))) == 49
    assert (task.train != modular_arithmetic(p=7, seed=1).train).any()


def test_legacy_registry_and_metric():
    task = tm.tasks.get("modular_arithmetic")(p=5, seed=3)
    logits = np.eye(5)[task.labels]
    assert task.accuracy(logits, task.labels) == 1.0
    np.testing.assert_array_equal(task.train, make("modular-arithmetic-v1", p=5, seed=3).train)
    with pytest.raises(tm.ConfigError, match="unknown task"):
        tm.tasks.get("nope")


@pytest.mark.parametrize(("kwargs", "message"), [({"p": 2}, "p must be"), ({"op": "divide"}, "op must"),
                                                 ({"train_fraction": 0.0}, "train_fraction")])
def test_bad_task_arguments(kwargs, message):
    with pytest.raises(tm.ConfigError, match=message):
        modular_arithmetic(**kwargs)
