"""The effective-theory toy (Liu et al. 2022): task, RQI, ℓ_eff, training, and `grokking-phases`."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import toymodels as tm
from toymodels.experiments import grokking_phases
from toymodels.experiments.grokking_phases import (
    AUTHORS_TEST_STEPS,
    AUTHORS_TRAIN_STEPS,
    authors_comparison,
    grokking_cells,
)
from toymodels.grokking_toy import GrokkingToy, authors_split, authors_train_mask, effective_loss, rqi
from toymodels.spec import ConfigError
from toymodels.tasks import get
from toymodels.tasks.addition_pairs import parallelogram_matrix, parallelograms, rqi_quadruples
from toymodels.theory.phases import (
    COMPREHENSION,
    CONFUSION,
    GROKKING,
    MEMORIZATION,
    PHASES,
    phase_map,
    phase_rule,
)
from toymodels.theory.representation import implied_parallelograms, predicted_accuracy


def test_task_matches_the_paper_setup():
    task = get("addition_pairs")(p=10, seed=58)
    assert len(task.a) == 55 and np.all(task.a <= task.b)
    assert task.labels.min() == 0 and task.labels.max() == 18
    assert task.train.sum() == 45  # the paper's train_num
    assert len(parallelograms(10)) == 70 and len(rqi_quadruples(10)) == 70


@given(st.integers(3, 14))
def test_parallelogram_sets_are_consistent(p):
    """|P₀| = |RQI set| (pairs of nested equal-sum samples) and rows of A_{P₀} sum to zero."""
    assert len(parallelograms(p)) == len(rqi_quadruples(p))
    rows = parallelogram_matrix(p)
    assert np.all(rows.sum(axis=1) == 0)
    i, j, m, n = rqi_quadruples(p).T
    assert np.all(i + n == j + m)


@settings(deadline=None, max_examples=15)
@given(st.sampled_from([4, 7, 10]), st.sampled_from([1, 3]), st.floats(0.1, 10), st.floats(-5, 5),
       st.integers(0, 2**16))
def test_rqi_is_one_and_effective_loss_zero_for_a_linear_embedding(p, d, slope, offset, seed):
    """E_k = slope·k·u + offset (any direction u): every parallelogram holds exactly."""
    u = jax.random.normal(jax.random.PRNGKey(seed), (d,))
    embedding = slope * jnp.arange(p)[:, None] * u + offset
    assert float(rqi(embedding, rqi_quadruples(p), 0.01)) == 1.0
    assert float(effective_loss(embedding, parallelogram_matrix(p))) < 1e-8


def test_rqi_of_non_linear_embeddings_is_below_one():
    square = jnp.arange(10.0)[:, None] ** 2
    assert float(rqi(square, rqi_quadruples(10), 0.01)) < 1.0
    random = jax.random.normal(jax.random.PRNGKey(0), (10, 2))
    assert float(rqi(random, rqi_quadruples(10), 0.01)) < 0.5
    scaled = effective_loss(3.0 * random, parallelogram_matrix(10))
    np.testing.assert_allclose(scaled, effective_loss(random, parallelogram_matrix(10)), rtol=1e-5)


def spec(**changes) -> tm.Spec:
    system = GrokkingToy(width=64)
    base = tm.Spec(system, system.hparams(), seeds=2, steps=20, log_every=10)
    for key, value in changes.items():
        base = base.set(key, value)
    return base


def test_split_observables_and_constant_norm():
    """Each member trains on its task split; constant-norm training fixes ‖θ_dec‖ = α ‖θ_dec,0‖."""
    ds = tm.run(spec(constant_norm="true", dec_lr=1e-2).with_sweep("norm_scale", ["0.8", "1.0"]),
                quiet=True)
    assert ds["embedding"].dims == ("seed", "norm_scale", "step", "symbol", "repr_dim")
    for seed in range(2):  # the task function gives the member's split: 45 train, 10 test
        task = get("addition_pairs")(p=10, train_fraction=0.82, seed=seed)
        correct = ds["test_acc"].isel(seed=seed).values * (~task.train).sum()
        np.testing.assert_allclose(correct, np.round(correct), atol=1e-4)
    norms = ds["decoder_norm"].values
    np.testing.assert_allclose(norms, norms[..., :1] * np.ones_like(norms), rtol=1e-4)
    np.testing.assert_allclose(norms[:, 0, 0], 0.8 * norms[:, 1, 0], rtol=1e-4)
    assert np.all(ds["rqi"].values >= 0) and np.all(ds["rqi"].values <= 1)


@pytest.mark.parametrize("key, value", [("loss", "l1"), ("dec_lr", "-1"), ("repr_wd", "-0.1"),
                                        ("train_fraction", "0"), ("d", "0")])
def test_bad_input_is_a_config_error(key, value):
    with pytest.raises(ConfigError):
        spec().set(key, value).validate()


def test_authors_split_is_numpy_legacy_choice_after_the_targets():
    """split_seed = 58: the training set train_add draws (targets first, then choice(55, 45))."""
    rs = np.random.RandomState(58)
    targets = rs.normal(0, 1, size=(19, 30))
    chosen = rs.choice(55, 45, replace=False)
    mask = authors_train_mask(10, 58, 30, 0.82)
    assert mask.sum() == 45 and set(np.flatnonzero(mask)) == set(chosen.tolist())
    np.testing.assert_allclose(authors_split(10, 58, 30)[0], targets)
    ideal = predicted_accuracy(10, mask, implied_parallelograms(10, mask))
    assert ideal == 1.0  # every test sum is implied by the training parallelograms


def test_members_with_a_split_seed_share_the_authors_split_and_targets():
    system = GrokkingToy(width=8, split_seed=58)
    hp = {k: jnp.float32(v) for k, v in system.hparams().items()}
    a, b = (system.init(jax.random.PRNGKey(k), hp) for k in (0, 1))
    assert np.array_equal(np.asarray(a.train), authors_train_mask(10, 58, 30, 0.82))
    np.testing.assert_array_equal(np.asarray(a.train), np.asarray(b.train))
    np.testing.assert_allclose(np.asarray(a.targets), authors_split(10, 58, 30)[0], rtol=1e-6)
    assert not np.allclose(np.asarray(a.params["embedding"]), np.asarray(b.params["embedding"]))


def phase_grid(codes: np.ndarray, lrs, wds) -> xr.Dataset:
    """A phase map whose every cell has the phase `codes[i, j]` for both of its 2 seeds."""
    phase = xr.DataArray(np.repeat(codes[None], 2, axis=0), dims=("seed", "dec_lr", "dec_wd"),
                         coords={"seed": [0, 1], "dec_lr": list(lrs), "dec_wd": list(wds)},
                         attrs={"phases": list(PHASES)})
    return phase_map(phase, "dec_lr", "dec_wd")


def test_grokking_cells_between_comprehension_and_memorization_in_their_lr_row():
    """Row 0: C G G M → both grokking cells are between; row 1: G C M (grokking before any
    comprehension) → not between; row 2: C G C (no memorization/confusion at larger wd) → not."""
    C, G, M, F = COMPREHENSION, GROKKING, MEMORIZATION, CONFUSION
    cells = np.array([[C, G, G, M], [G, C, M, F], [C, G, C, C]])
    counted = grokking_cells(cells, np.array([1e-4, 2e-4, 3e-4]), np.arange(4.0), ("dec_lr", "dec_wd"))
    assert (counted["value"], counted["between"]) == (4, 2)
    assert {(c["dec_lr"], c["dec_wd"]) for c in counted["cells"]} == {(1e-4, 1.0), (1e-4, 2.0), (2e-4, 0.0),
                                                                       (3e-4, 1.0)}


def test_the_authors_own_map_agrees_with_itself_and_a_flipped_cell_costs_one_cell():
    """Our map set to the authors' phases (their step counts, B = 1e4, Δ = 1e3) on the default sub-grid
    agrees everywhere; flipping one cell costs exactly 1/18; off the paper's axes there is no comparison."""
    lrs = grokking_phases.default().sweep["dec_lr"]
    wds = grokking_phases.default().sweep["dec_wd"]
    rows = [round((np.log10(lr) + 4) * 5) for lr in lrs]
    theirs = np.array([[phase_rule(min(AUTHORS_TRAIN_STEPS[i, int(w)], 9999), min(AUTHORS_TEST_STEPS[i, int(w)], 9999),
                                   10000, 1000.0) for w in wds] for i in rows])
    # the sub-grid crosses the authors' band: all four phases, 4 Goldilocks cells (the claim's band)
    assert set(np.unique(theirs)) == {COMPREHENSION, GROKKING, MEMORIZATION, CONFUSION}
    counted = grokking_cells(theirs, np.array(lrs), np.array(wds), ("dec_lr", "dec_wd"))
    assert (counted["value"], counted["between"]) == (4, 4)
    same = authors_comparison(phase_grid(theirs, lrs, wds), 10000, 1000.0)
    assert same["agreement"] == same["seed_agreement"] == 1.0 and len(same["cells"]) == 18
    flipped = theirs.copy()
    flipped[0, 0] = CONFUSION if theirs[0, 0] != CONFUSION else COMPREHENSION
    assert authors_comparison(phase_grid(flipped, lrs, wds), 10000, 1000.0)["agreement"] == pytest.approx(17 / 18)
    assert authors_comparison(phase_grid(theirs, [2e-4, 3e-4, 5e-4], wds), 10000, 1000.0) is None


def test_seed_agreement_counts_the_seeds_in_the_authors_phase():
    """One cell, 4 seeds: 3 in the authors' phase → majority agrees (1.0), seed agreement 3/4; the cell's
    fractions are reported beside the authors' phase."""
    lr, wd = 1e-4, 2.0  # the authors comprehend here at B = 1e4
    codes = np.array([COMPREHENSION, COMPREHENSION, GROKKING, COMPREHENSION]).reshape(4, 1, 1)
    phase = xr.DataArray(codes, dims=("seed", "dec_lr", "dec_wd"),
                         coords={"seed": range(4), "dec_lr": [lr], "dec_wd": [wd]}, attrs={"phases": list(PHASES)})
    got = authors_comparison(phase_map(phase, "dec_lr", "dec_wd"), 10000, 1000.0)
    assert got["agreement"] == 1.0 and got["seed_agreement"] == 0.75
    cell = got["cells"][0]
    assert cell["authors_phase"] == "comprehension" and cell["fractions"]["grokking"] == 0.25


@given(st.lists(st.tuples(st.integers(0, 99), st.integers(0, 99), st.integers(0, 99)), min_size=1, max_size=30))
def test_ordering_is_the_share_of_reaching_members_with_rqi_before_train_before_test(steps):
    """Fig. 4c/d: members that never reach a threshold (99 = B − 1) are left out; of the rest, the
    share with t_rqi < t_train ≤ t_test, computed by hand."""
    rqi, train, test = (xr.DataArray(np.array(col), dims="seed") for col in zip(*steps, strict=True))
    got = grokking_phases.ordering({"rqi": rqi, "train": train, "test": test}, budget=100)
    reached = [(r, a, b) for r, a, b in steps if max(r, a, b) < 99]
    assert got.n == len(reached)
    if reached:
        assert got.value == pytest.approx(np.mean([r < a <= b for r, a, b in reached]))
    else:
        assert got.value is None


def test_training_on_the_training_samples_only_gives_the_masked_loss_and_gradient():
    """n_train = 45 gathers the 45 training samples: loss and gradient equal the masked step's (float
    summation order aside), for the authors' split and for a per-seed random split."""
    for split_seed in (58, -1):
        masked, gathered = GrokkingToy(width=16, split_seed=split_seed), GrokkingToy(width=16, split_seed=split_seed,
                                                                                    n_train=45)
        hp = {k: jnp.float32(v) for k, v in masked.hparams().items()}
        state = masked.init(jax.random.PRNGKey(3), hp)
        index = jnp.nonzero(state.train, size=45)[0]
        np.testing.assert_allclose(gathered.train_loss(state.params, index, state.targets),
                                   masked.losses(state.params, state.train, state.targets)[0], rtol=1e-6)
        a, b = (jax.tree.leaves(system.step(state, hp).params) for system in (masked, gathered))
        for x, y in zip(a, b, strict=True):
            np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-7)


def test_a_static_training_size_must_match_every_members_fraction():
    system = GrokkingToy(split_seed=58, n_train=45)
    tm.Spec(system, system.hparams()).validate()
    with pytest.raises(ConfigError, match="n_train"):
        tm.Spec(system, system.hparams(), sweep={"train_fraction": (0.82, 0.5)}).validate()
    with pytest.raises(ConfigError):
        GrokkingToy(n_train=56)


def test_grokking_phases_tiny_preset(tmp_path):
    out = tmp_path / "run"
    spec = grokking_phases.tiny()
    tm.run(spec, out, quiet=True, metadata={"experiment": "grokking-phases", "preset": "tiny"})
    ds = tm.load(out)
    summary = grokking_phases.summarize(ds).to_json()
    assert sum(summary["phase_counts"].values()) == summary["n_members"] == 8
    assert summary["rule"] == {"threshold": 0.9, "delay": 500.0, "budget": 1501}
    assert summary["ideal_test_acc"] == 1.0  # the authors' CE split of seed 7
    cells = {(c["dec_lr"], c["dec_wd"]): c for c in summary["grid"]}
    assert cells[(3e-4, 10.0)]["phase"] == cells[(1e-2, 10.0)]["phase"] == "confusion"  # wd 10 cannot fit
    assert cells[(3e-4, 10.0)]["t_train"] is None  # never reached: no median step
    assert cells[(1e-2, 1.0)]["phase"] == "memorization"  # fast decoder: memorises
    # the slow decoder at wd 1 has already learned a linear representation (RQI → 1), early
    final = ds.sel(dec_lr=3e-4, dec_wd=1.0).isel(step=-1)
    assert np.all(final["rqi"].values >= 0.95) and np.all(final["eff_loss"].values < 1e-2)
    assert cells[(3e-4, 1.0)]["t_rqi"] < 1500
    assert 0 <= summary["linear_share"]["value"] <= 1 and summary["ordering"]["n"] <= 8
    assert all(0 <= c["linear_share"] <= 1 for c in summary["grid"])
    drawn = grokking_phases.figures(ds, grokking_phases.summarize(ds))
    assert set(drawn) == {"phase-examples", "phase-shares", "phase-diagram"}
    plt.close("all")
