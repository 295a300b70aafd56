"""Per-frequency signal at initialisation, the re-seeding controls, the linear SVM, and the
`circle-survival` experiment end to end."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from toymodels import ModularMLP
from toymodels.experiments.circle_survival import auc, overlap
from toymodels.experiments.cli import main
from toymodels.nn import frequency_signal
from toymodels.theory.estimate import welch_difference
from toymodels.theory.survivors import separability


@pytest.mark.parametrize(("d", "init_scale"), [(32, 1.0), (16, 0.5)])
def test_initial_signal_is_sqrt_p_d_in_expectation(d, init_scale):
    """E ~ N(0, s²) ⇒ E[S_k(0)²] = p·d·s² for every k."""
    system = ModularMLP(p=31, d=d, width=8)
    hp = {k: jnp.asarray(v, jnp.float32) for k, v in {**system.hparams(), "init_scale": init_scale}.items()}
    keys = jax.vmap(jax.random.PRNGKey)(jnp.arange(40))
    signal = jax.vmap(lambda k: frequency_signal(system.init(k, hp).params["embedding"]))(keys)
    assert float(jnp.mean(signal[:, 1:] ** 2)) == pytest.approx(31 * d * init_scale**2, rel=0.08)


def test_fix_embedding_and_fix_mlp_reseed_the_other_part():
    """--fix_embedding: same E, new MLP and split; --fix_mlp: same MLP and split, new E."""
    hp = {k: jnp.float32(v) for k, v in ModularMLP().hparams().items()}
    for fix, same, new in (("embedding", ["embedding"], ["w1", "Dense_0"]), ("mlp", ["w1", "Dense_0"], ["embedding"])):
        system = ModularMLP(p=7, d=4, width=6, fix=fix, init_seed=3)
        a, b = (system.init(jax.random.PRNGKey(k), hp) for k in (0, 1))
        for name in same:
            jax.tree.map(np.testing.assert_array_equal, a.params[name], b.params[name])
        for name in new:
            assert not np.allclose(jax.tree.leaves(a.params[name])[0], jax.tree.leaves(b.params[name])[0])
        assert np.array_equal(a.train, b.train) == (fix == "mlp")


@settings(max_examples=25, deadline=None)
@given(xs=st.lists(st.floats(-5, 5), min_size=1, max_size=20), ys=st.lists(st.floats(-5, 5), min_size=1, max_size=20),
       shift=st.floats(11, 20))
def test_auc_is_a_probability_that_is_symmetric_and_saturates(xs, ys, shift):
    x, y = np.array(xs), np.array(ys)
    assert auc(x, y) + auc(y, x) == pytest.approx(1.0)
    assert auc(x + shift, y) == 1.0


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), gap=st.floats(0.5, 5.0), scale=st.floats(0.01, 100.0),
       share=st.floats(0.15, 0.5))
def test_svm_separates_a_margin_and_is_chance_without_one(seed, gap, scale, share):
    """Two classes apart by a margin along a random direction: held-out balanced accuracy exactly 1,
    at any feature scale and class balance (1000 points: the 200 held out hold both classes, each
    class ≥ 150 points, so a missing class in the held-out part has probability < 1e-14);
    labels independent of the features: near chance."""
    rng = np.random.default_rng(seed)
    n = 1000
    labels = np.zeros(n, bool)
    labels[rng.permutation(n)[: int(round(share * n))]] = True
    direction = rng.normal(size=2)
    direction /= np.linalg.norm(direction)
    along = np.where(labels, 1.0, -1.0) * (gap / 2 + rng.random(n))
    features = scale * (along[:, None] * direction + rng.normal(size=(n, 1)) * direction[::-1] * [1, -1])
    assert separability(features, labels) == 1.0
    noise = separability(rng.normal(size=(2000, 2)), rng.random(2000) < share, seed=seed)
    assert 0.35 < noise < 0.65


def test_svm_without_both_classes_on_both_sides_is_nan():
    """One survivor cannot be both trained on and scored: the accuracy is undefined (NaN), never 0 or 1."""
    rng = np.random.default_rng(0)
    labels = np.zeros(50, bool)
    labels[7] = True
    assert np.isnan(separability(rng.normal(size=(50, 2)), labels))
    assert np.isnan(separability(rng.normal(size=(50, 2)), np.zeros(50, bool)))


@settings(max_examples=30, deadline=None)
@given(a=st.lists(st.integers(0, 30), min_size=2, max_size=30), b=st.lists(st.integers(0, 30), min_size=2,
                                                                             max_size=30))
def test_welch_difference_is_scipys_welch_interval(a, b):
    """circles_gain's interval (over circle counts) is Welch's: SciPy's ttest_ind(equal_var=False) interval."""
    a, b = np.array(a, float), np.array(b, float)
    estimate = welch_difference(a, b)
    assert estimate.value == pytest.approx(a.mean() - b.mean(), abs=1e-9)
    assert estimate.n == len(a) + len(b) and estimate.interval == "welch" and estimate.level == 0.95
    if a.var() + b.var() > 1e-6:
        lo, hi = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
        assert (estimate.lo, estimate.hi) == (pytest.approx(lo, abs=1e-6), pytest.approx(hi, abs=1e-6))


def test_overlap_of_survivor_sets():
    import xarray as xr

    same = xr.DataArray(np.array([[0, 1, 1, 0]] * 3, bool), dims=("seed", "freq"))
    assert overlap(same) == 1.0
    disjoint = xr.DataArray(np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]], bool), dims=("seed", "freq"))
    assert overlap(disjoint) == 0.0


def test_tiny_preset_runs_each_member_once_with_the_controls(tmp_path):
    out = tmp_path / "run"
    assert main(["run", "circle-survival", "--preset", "tiny", "--out", str(out), "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["circles_by_d"]) == {"4", "16"} and all(s["n"] == 3 for s in summary["circles_by_d"].values())
    by_member = {d: [r["circles"] for r in summary["members"] if r["fix"] == "none" and r["d"] == int(d)]
                 for d in ("4", "16")}
    for d, counts in by_member.items():   # the Student-t record is over the 3 re-seeded members at d
        assert summary["circles_by_d"][d]["value"] == pytest.approx(np.mean(counts))
        assert summary["circles_by_d"][d]["interval"] == "student-t"
    assert summary["circles_gain"]["value"] == pytest.approx(np.mean(by_member["16"]) - np.mean(by_member["4"]))
    for d, expected in summary["init_signal_expected"].items():
        assert expected == pytest.approx(np.sqrt(13 * int(d)))
        assert summary["init_signal_measured"][d] == pytest.approx(expected, rel=0.2)
    plain = [r for r in summary["members"] if r["fix"] == "none"]
    survival = summary["survival"]
    assert survival["survivors"]["n"] + survival["casualties"]["n"] == len(plain) * 6  # k = 1..6 of p = 13
    assert survival["survivors"]["n"] == sum(r["circles"] for r in plain)
    assert {r["fix"] for r in summary["members"]} == {"none", "embedding", "mlp"}
    assert set(summary["controls"]) == {"none", "fix_embedding", "fix_mlp"}
    assert set(summary["svm_accuracy"]) == {"signal", "gradient", "both"}
    overlaps = [summary["controls"][k]["overlap"] for k in ("fix_embedding", "fix_mlp")]
    if None not in overlaps:   # no overlap without any circle (tiny runs may keep none)
        assert summary["control_gap"] == pytest.approx(overlaps[0] - overlaps[1])
    else:
        assert summary["control_gap"] is None
    import toymodels as tm

    ds = tm.load(out)
    assert list(ds["step"].values[:5]) == [0, 1, 2, 3, 4] and int(ds["step"].values[-1]) == 200
    fixed = ds["signal"].isel(step=0).where(ds["fix"] == "embedding", drop=True)
    np.testing.assert_allclose(fixed.isel(seed=0), fixed.isel(seed=1), rtol=1e-6)  # the same E every seed
    names = ("circles_vs_d", "signal_d_smallest", "signal_d_largest", "survival_fitness")
    assert set(names) <= set(summary["figures"])
    for name in names:
        assert (out / f"{name}.png").stat().st_size > 0
