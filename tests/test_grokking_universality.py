"""The S_n task, the toy's permutation group, and `grokking-universality` (Liu et al. 2022, Fig. 6)."""

import itertools
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from toymodels import tasks
from toymodels.experiments.cli import main
from toymodels.experiments.grokking_universality import PANELS, combine, diagonal, panel_of, present
from toymodels.grokking_toy import GrokkingToy, matrix_rqi
from toymodels.spec import ConfigError
from toymodels.tasks import permutation_pairs as pp
from toymodels.theory.phases import COMPREHENSION, CONFUSION, GROKKING, MEMORIZATION


def compose(first: tuple, second: tuple) -> tuple:
    """(first ∘ second)(k) = second(first(k)), the authors' p2[p1]."""
    return tuple(second[first[k]] for k in range(len(first)))


@pytest.mark.parametrize("n", [3, 4])
def test_product_table_is_composition_of_itertools_permutations(n):
    perms = list(itertools.permutations(range(n)))
    table = pp.product_table(n)
    assert table.shape == (len(perms), len(perms))
    for a, b in itertools.product(range(len(perms)), repeat=2):
        assert perms[table[a, b]] == compose(perms[a], perms[b])


@pytest.mark.parametrize("n", [3, 4])
def test_group_axioms(n):
    t = pp.product_table(n)
    order = len(t)
    assert t.min() >= 0 and t.max() < order                          # closure
    identity = [e for e in range(order) if np.all(t[e] == np.arange(order)) and np.all(t[:, e] == np.arange(order))]
    assert identity == [0]                                          # (0, 1, …, n−1) comes first
    assert all(np.any(t[a] == 0) for a in range(order))             # inverses
    for row in t:                                                   # Latin square: each product once
        assert sorted(row) == list(range(order))
    a, b, c = np.meshgrid(*(np.arange(order),) * 3, indexing="ij")
    assert np.array_equal(t[t[a, b], c], t[a, t[b, c]])             # associativity
    assert not np.array_equal(t, t.T)                                # S_n, n ≥ 3, is not abelian


def test_product_by_hand_on_s3():
    # σ1 = (0, 2, 1), σ2 = (1, 0, 2): σ1 ∘ σ2 = σ2[σ1] = (1, 2, 0) = element 3; σ2 ∘ σ1 = (2, 0, 1) = element 4
    assert pp.elements(3)[1].tolist() == [0, 2, 1] and pp.elements(3)[2].tolist() == [1, 0, 2]
    assert pp.product_table(3)[1, 2] == 3 and pp.product_table(3)[2, 1] == 4


def test_parallelograms_on_s3():
    quads = pp.parallelograms(3)
    t = pp.product_table(3)
    assert len(quads) == 6 * 15                                      # 6 products × C(6, 2) sample pairs
    assert np.all(t[quads[:, 0], quads[:, 1]] == t[quads[:, 2], quads[:, 3]])
    rows = {tuple(r) for r in quads.tolist()}
    assert (0, 1, 1, 0) in rows                                      # e ∘ σ1 = σ1 ∘ e
    assert (1, 2, 2, 3) not in rows and (0, 3, 1, 2) in rows          # σ1 ∘ σ2 = σ3 = e ∘ σ3
    assert all(r[0] * 6 + r[1] < r[2] * 6 + r[3] for r in rows)       # each unordered pair once


def test_permutation_matrices_are_faithful_and_have_rqi_one():
    mats = pp.permutation_matrices(3)
    t = pp.product_table(3)
    for a, b in itertools.product(range(6), repeat=2):
        assert np.array_equal(mats[a] @ mats[b], mats[t[a, b]])
    quads = pp.parallelograms(3)
    assert float(matrix_rqi(jnp.asarray(mats.reshape(6, 9)), quads, 0.5)) == 1.0
    noise = jax.random.normal(jax.random.PRNGKey(0), (6, 9))
    assert float(matrix_rqi(noise, quads, 0.5)) < 0.5


@settings(max_examples=10, deadline=None)
@given(st.floats(0.1, 10.0))
def test_matrix_rqi_is_scale_free(scale):
    e = jnp.asarray(pp.permutation_matrices(3).reshape(6, 9)) + 0.3 * jax.random.normal(jax.random.PRNGKey(1), (6, 9))
    quads = pp.parallelograms(3)
    assert float(matrix_rqi(e * scale, quads, 0.5)) == pytest.approx(float(matrix_rqi(e, quads, 0.5)), abs=1e-6)


def test_task_matches_the_toy_and_registry():
    toy = GrokkingToy(group="permutation", p=3, d=9, width=8)
    hp = {**toy.hparams(), "train_fraction": 0.67}
    for seed in (0, 5):
        task = tasks.make("permutation-pairs-v1", seed=seed)
        state = toy.init(jax.random.PRNGKey(seed), {k: jnp.float32(v) for k, v in hp.items()})
        assert np.array_equal(np.asarray(state.train), task.train) and task.train.sum() == 24
        assert np.array_equal(toy.labels(), task.labels)
    logits = np.eye(6)[task.labels] * 5.0
    assert task.evaluate(logits)["test_acc"] == 1.0


def test_evaluate_equals_the_toys_observations():
    from toymodels.grokking_toy import decode

    toy = GrokkingToy(group="permutation", p=3, d=9, width=8, loss="ce")
    hp = {k: jnp.float32(v) for k, v in {**toy.hparams(), "train_fraction": 0.67}.items()}
    state = toy.init(jax.random.PRNGKey(4), hp)
    logits = decode(state.params["decoder"], toy.inputs(state.params["embedding"]))
    scores, seen = tasks.make("permutation-pairs-v1", seed=4).evaluate(np.asarray(logits)), toy.observe(state, hp)
    for name in ("train_loss", "test_loss", "train_acc", "test_acc"):
        assert scores[name] == pytest.approx(float(seen[name]), rel=1e-5, abs=1e-6)


def test_authors_permutation_split():
    """`Figure5d_permutation.ipynb`: np.random.seed(0); targets normal(0, 1, (6, 30)); choice(36, 24)."""
    np.random.seed(0)
    targets = np.random.normal(0, 1, size=(6, 30))
    train_id = np.random.choice(36, 24, replace=False)
    toy = GrokkingToy(group="permutation", p=3, d=9, width=8, split_seed=0, n_train=24)
    hp = {k: jnp.float32(v) for k, v in {**toy.hparams(), "train_fraction": 0.67}.items()}
    state = toy.init(jax.random.PRNGKey(0), hp)
    assert set(np.flatnonzero(np.asarray(state.train))) == set(train_id.tolist())
    assert np.allclose(np.asarray(state.targets), targets, atol=1e-6)


def test_permutation_inputs_are_matrix_products():
    toy = GrokkingToy(group="permutation", p=3, d=9, width=8)
    e = jax.random.normal(jax.random.PRNGKey(2), (6, 9))
    x = np.asarray(toy.inputs(e))
    a, b = pp.pairs(3)
    m = np.asarray(e).reshape(6, 3, 3)
    assert np.allclose(x[7], (m[a[7]] @ m[b[7]]).ravel(), atol=1e-6) and x.shape == (36, 9)
    assert np.allclose(np.asarray(toy.inputs(e, jnp.array([7, 30]))), x[[7, 30]])


def test_l1_penalty_enters_the_objective_only():
    toy = GrokkingToy(group="permutation", p=3, d=9, width=8, repr_l1=0.5)
    plain = GrokkingToy(group="permutation", p=3, d=9, width=8)
    hp = {k: jnp.float32(v) for k, v in {**toy.hparams(), "train_fraction": 0.67}.items()}
    state = toy.init(jax.random.PRNGKey(0), hp)
    gap = toy.objective(state.params, state, None) - plain.objective(state.params, state, None)
    assert float(gap) == pytest.approx(0.5 * float(jnp.mean(jnp.abs(state.params["embedding"]))), rel=1e-5)
    assert float(toy.observe(state, hp)["train_loss"]) == float(plain.observe(state, hp)["train_loss"])


def test_addition_default_unchanged():
    """The default group leaves the toy as it was: 20 steps of seed 3 (values recorded with the code
    before `group` existed; the same float32 numbers bit for bit on the machine that recorded them)."""
    for kwargs, train_loss, test_loss in ((dict(width=16), 1.12140691280365, 1.1380054950714111),
                                          (dict(width=16, split_seed=58), 1.0341194868087769, 0.8421484231948853)):
        toy = GrokkingToy(**kwargs)
        assert toy.group == "addition" and toy.repr_l1 == 0.0 and toy.n_symbols == 10 and toy.n_samples == 55
        hp = {k: jnp.float32(v) for k, v in toy.hparams().items()}
        state = toy.init(jax.random.PRNGKey(3), hp)
        for _ in range(20):
            state = toy.step(state, hp)
        seen = toy.observe(state, hp)
        assert float(seen["train_loss"]) == pytest.approx(train_loss, rel=1e-5)
        assert float(seen["test_loss"]) == pytest.approx(test_loss, rel=1e-5)
        assert "eff_loss" in seen


@pytest.mark.parametrize("kwargs, message", [
    (dict(group="rotation"), "group must be one of"),
    (dict(group="permutation", p=3, d=1), "d = p²"),
    (dict(group="permutation", p=5, d=25), "p <= 4"),
    (dict(repr_l1=-1.0), "repr_l1"),
])
def test_bad_settings_are_config_errors(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        GrokkingToy(**kwargs)


def test_present_and_diagonal_by_hand():
    assert present(np.array([[COMPREHENSION, GROKKING], [MEMORIZATION, MEMORIZATION]])) == 3
    majority = xr.DataArray([[CONFUSION, COMPREHENSION], [MEMORIZATION, GROKKING]],
                            dims=("repr_lr", "dec_lr"))
    pmap = xr.Dataset({"majority": majority}, coords={"repr_lr": [1e-5, 1e-3], "dec_lr": [1e-4, 1e-5]})
    # repr 1e-5: dec 1e-4 (slower, X: right), dec 1e-5 (equal, C: wrong); repr 1e-3: both faster, M wrong, G right
    est = diagonal(pmap)
    assert est.value == 0.5 and est.n == 4


def test_combine_and_panel_of_round_trip():
    def run(axes: dict, shift: float) -> xr.Dataset:
        shape = (2, *(len(v) for v in axes.values()), 3)
        dims = ("seed", *axes, "step")
        rng = np.random.default_rng(int(shift))
        data = {v: (dims, rng.random(shape) + shift) for v in ("train_acc", "test_acc", "rqi")}
        data["diverged_step"] = (dims[:-1], np.full(shape[:-1], -1))
        data["embedding"] = ((*dims, "symbol"), np.zeros((*shape, 4)))
        return xr.Dataset(data, coords={"seed": [0, 1], "step": [0, 100, 200], **axes})

    results = {"repr_dec_lr": run({"repr_lr": [1e-5, 1e-3], "dec_lr": [1e-4]}, 0.0),
               "addition_regression": run({"dec_lr": [1e-4, 1e-3, 1e-2], "dec_wd": [0.0, 5.0]}, 1.0)}
    ds = combine(results)
    for name, original in results.items():
        back = panel_of(ds, name)
        for v in ("train_acc", "test_acc", "rqi", "diverged_step"):
            xr.testing.assert_equal(back[v], original[v])


def test_tiny_preset_end_to_end(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "grokking-universality", "--preset", "tiny", "--out", str(out), "--quiet"]) in (0, None)
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["panels"]) == set(PANELS)
    for name, panel in summary["panels"].items():
        assert panel["n_members"] == 2 * 4 and panel["rule"]["budget"] == 601
        assert sum(panel["phase_counts"].values()) == panel["n_members"]
        assert 1 <= panel["phases_present"]["value"] <= 4
        for cell in panel["grid"]:
            assert sum(cell["fractions"].values()) == pytest.approx(1.0)
        assert (out / "parts" / name / "config.json").exists()
    assert "diagonal" in summary["panels"]["repr_dec_lr"]
    assert {f"{p}-map" for p in PANELS} | {f"{p}-shares" for p in PANELS} <= set(summary["figures"])
