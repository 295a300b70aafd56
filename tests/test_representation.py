"""Linear-representation uniqueness, r_c and predicted accuracy (Liu et al. 2022), and the
`critical-fraction` experiment end to end."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import toymodels as tm
from toymodels.experiments import critical_fraction as critical_fraction_study
from toymodels.spec import ConfigError
from toymodels.store import load
from toymodels.tasks.addition_pairs import n_samples, pairs
from toymodels.theory.representation import (
    adam_effective_flow,
    constraint_matrices,
    critical_fraction,
    crossing,
    effective_flow,
    implied_parallelograms,
    is_unique,
    predicted_accuracy,
    present_parallelograms,
    standardised,
    training_rows,
)

P = 10
N = n_samples(P)


def mask_of(samples: list[tuple[int, int]]) -> np.ndarray:
    """Training mask holding exactly the samples (i, j), i ≤ j."""
    a, b = pairs(P)
    index = {(int(i), int(j)): k for k, (i, j) in enumerate(zip(a, b, strict=True))}
    mask = np.zeros(N, bool)
    mask[[index[s] for s in samples]] = True
    return mask


# E_k + E_{k+2} = 2 E_{k+1} for k = 0..7: eight independent constraints on ten symbols.
CHAIN = [s for k in range(P - 2) for s in ((k, k + 2), (k + 1, k + 1))]


def test_chain_of_parallelograms_is_unique_and_every_link_is_needed():
    assert is_unique(P, mask_of(CHAIN))
    for k in range(P - 2):
        broken = [s for s in CHAIN if s not in ((k, k + 2), (k + 1, k + 1))]
        assert not is_unique(P, mask_of(broken)), k


def test_an_unconstrained_symbol_breaks_uniqueness():
    everything_but_8 = [(int(i), int(j)) for i, j in zip(*pairs(P), strict=True)
                        if 8 not in (i, j)]
    assert not is_unique(P, mask_of(everything_but_8))
    assert not is_unique(P, np.zeros(N, bool))
    assert is_unique(P, np.ones(N, bool))


@settings(max_examples=25, deadline=None)
@given(st.lists(st.booleans(), min_size=N, max_size=N))
def test_translation_and_scale_are_always_free(bits):
    """λ₁ = λ₂ = 0 for every training set: E ↦ αE + β leaves every parallelogram intact."""
    values = np.linalg.eigvalsh(constraint_matrices(P, np.array(bits)))
    assert np.all(np.abs(values[:2]) < 1e-8)
    if is_unique(P, np.array(bits)):
        assert implied_parallelograms(P, np.array(bits)).all()  # unique ⇒ every one implied


def test_census_agrees_with_the_paper_counts():
    """P(unique | n) within 4 binomial σ of the notebook's counts per 10 000 splits; r_c ≈ 0.4."""
    paper = {16: 51, 20: 1754, 22: 4270, 23: 5795, 26: 8666, 30: 9814}
    splits = 2000
    result = critical_fraction(P, np.array(sorted(paper)), splits, seed=1)
    for n, count in zip(result.n_train, result.n_unique, strict=True):
        q = paper[int(n)] / 10_000
        assert abs(count / splits - q) <= 4 * np.sqrt(q * (1 - q) / splits) + 1e-3, n
    assert 0.38 < result.r_c < 0.43


@settings(max_examples=8, deadline=None)
@given(st.integers(0, 2**16), st.sampled_from([1, 2]))
def test_effective_flow_keeps_the_norm_descends_and_reaches_the_linear_representation(seed, d):
    """ℓ_eff = ‖A E‖²/‖E‖² is scale-invariant: the flow keeps ‖E‖, ℓ_eff never rises, and with every
    parallelogram in D the flow ends in the null space of A (RQI-linear: E_k affine in k)."""
    rng = np.random.default_rng(seed)
    start = standardised(rng.uniform(-0.5, 0.5, (P, d)))
    rows = training_rows(P, np.ones(N, bool))
    times = np.linspace(0.0, 20.0, 21)
    path = effective_flow(start, rows, times)
    norms = np.linalg.norm(path, axis=(1, 2))
    np.testing.assert_allclose(norms, norms[0], rtol=1e-3)
    loss = np.array([np.sum((rows @ e) ** 2) / np.sum(e**2) for e in path])
    assert np.all(np.diff(loss) <= 1e-4 * loss[0])
    assert loss[-1] < 1e-4 * loss[0] or loss[0] < 1e-8
    final = path[-1]
    second_difference = final[2:] - 2 * final[1:-1] + final[:-2]
    assert np.abs(second_difference).max() < 1e-2 * np.abs(final).max()


@settings(max_examples=6, deadline=None)
@given(st.integers(0, 2**16), st.sampled_from([1, 2]), st.sampled_from([1e-3, 3e-3]))
def test_adam_on_the_effective_loss_runs_on_the_network_clock_and_reaches_the_linear_representation(seed, d, lr):
    """Adam's first step moves every coordinate with a non-zero gradient by lr whatever the scale of E
    (the clock the network runs on: t = step, not lr · step), so E₀ → cE₀ with lr → c·lr gives the path
    c·E_t; with every parallelogram in D, 3000 steps end near the null space of A (ℓ_eff < 10⁻³ ℓ_eff(E₀))."""
    rng = np.random.default_rng(seed)
    start = rng.uniform(-0.5, 0.5, (P, d)) * 10.0 ** rng.uniform(-1, 0)
    rows = training_rows(P, np.ones(N, bool))
    path = adam_effective_flow(start, rows, 3000, lr)
    assert path.shape == (3001, P, d)
    np.testing.assert_array_equal(path[0], start.astype(np.float32))
    np.testing.assert_allclose(np.abs(path[1] - path[0]), lr, rtol=1e-3)
    np.testing.assert_allclose(adam_effective_flow(4 * start, rows, 300, 4 * lr), 4 * path[:301], rtol=1e-3, atol=1e-5)
    loss = np.array([np.sum((rows @ e) ** 2) / np.sum(e**2) for e in path[[0, -1]]])
    assert loss[-1] < 1e-3 * loss[0]


def test_crossing_interpolates():
    assert crossing(np.array([0, 10, 20]), np.array([0.0, 0.25, 0.75])) == 15.0
    assert np.isnan(crossing(np.array([0, 1]), np.array([0.1, 0.2])))


def test_predicted_accuracy_of_a_linear_representation():
    """With every parallelogram present, a test sample is reached iff its sum occurs in D."""
    linear = np.arange(P, dtype=float)[:, None] * 0.7 - 2.0
    present = present_parallelograms(linear)
    assert present.all()
    train = mask_of(CHAIN)
    a, b = pairs(P)
    sums_in_train = set((a + b)[train].tolist())
    expected = np.mean([s in sums_in_train for s in (a + b)[~train]])
    assert predicted_accuracy(P, train, present) == expected
    assert predicted_accuracy(P, train, np.zeros_like(present)) == 0.0


def test_ideal_accuracy_never_below_predicted_for_a_random_representation():
    rng = np.random.default_rng(0)
    for _ in range(20):
        train = rng.random(N) < 0.6
        random_present = present_parallelograms(rng.normal(size=(P, 1)), delta=0.5)
        ideal = predicted_accuracy(P, train, implied_parallelograms(P, train))
        predicted = predicted_accuracy(P, train, random_present & implied_parallelograms(P, train))
        assert ideal >= predicted


def train_census(spec, out, preset="tiny"):
    return critical_fraction_study.train(spec, out, quiet=True,
                                         metadata={"experiment": "critical-fraction", "preset": preset})


def test_critical_fraction_tiny_preset(tmp_path):
    out = tmp_path / "run"
    spec = critical_fraction_study.tiny()
    train_census(spec, out)
    assert tm.load_spec(out) == spec  # the census's settings come back from the folder alone
    ds = load(out)
    summary = critical_fraction_study.summarize(ds).to_json()
    assert 0.35 < summary["r_c"] < 0.45  # the paper: r_c ≈ 0.4 for p = 10
    assert summary["n_unique"]["13"] == 0 and summary["p_unique"]["55"] == 1.0
    assert set(summary["rqi_steps_vs_fraction"]) == {"0.5545", "0.9909"}  # n_train 30 and 54
    lam = summary["lambda3_vs_fraction"]
    assert lam["0.9909"]["value"] > lam["0.5545"]["value"] > 1e-8  # more data, stiffer constraints
    assert lam["0.9909"]["interval"] == "range" and lam["0.9909"]["n"] == 2
    assert len(summary["flow_r2"]["members"]) == 4
    dynamics = load(out / "parts" / "dynamics")  # the dynamics part lives where RunFolder.part puts it
    steps = summary["rqi_steps_vs_fraction"]["0.9909"]
    t = critical_fraction_study.rqi_steps(dynamics).sel(train_fraction=0.9909).values
    assert (steps["lo"], steps["hi"]) == (t.min(), t.max())
    drawn = critical_fraction_study.figures(ds, critical_fraction_study.summarize(ds))
    assert set(drawn) == {"critical-fraction", "rqi-steps", "effective-flow", "effective-flow-adam"}
    plt.close("all")


def test_critical_fraction_refuses_sweeps_and_bad_dynamics_settings(tmp_path):
    spec = critical_fraction_study.tiny()
    with pytest.raises(ConfigError):
        train_census(spec.with_sweep("p", ["5", "7"]), tmp_path / "bad")
    for key, value in (("dynamics_steps", "120"), ("dynamics_seeds", "0")):
        with pytest.raises(ConfigError):
            spec.set(key, value)
    assert not (tmp_path / "bad").exists()


def test_critical_fraction_dynamics_settings_size_its_dynamics_part(tmp_path):
    out = tmp_path / "run"
    spec = critical_fraction_study.tiny().set("dynamics_seeds", "1").set("dynamics_steps", "100")
    train_census(spec, out)
    dynamics = load(out / "parts" / "dynamics")
    assert dynamics.sizes["seed"] == 1 and int(dynamics["step"].max()) == 100
    none = critical_fraction_study.tiny().set("dynamics_steps", "0")
    assert critical_fraction_study.parts(none, "tiny") == {}
    train_census(none, tmp_path / "none")
    assert not (tmp_path / "none" / "parts").exists()
    summary = critical_fraction_study.summarize(load(tmp_path / "none")).to_json()
    assert summary["rqi_steps_vs_fraction"] is None and summary["flow_r2"] is None
    assert set(critical_fraction_study.figures(load(tmp_path / "none"), critical_fraction_study.summarize(
        load(tmp_path / "none")))) == {"critical-fraction"}
    plt.close("all")
