"""The four-phase rule (Liu et al. 2022) on hand-made step counts, curves and grids."""

from __future__ import annotations

import numpy as np
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from toymodels.theory.phases import (
    COMPREHENSION,
    CONFUSION,
    GROKKING,
    MEMORIZATION,
    PHASES,
    classify,
    majority_phase,
    phase_boundaries,
    phase_fractions,
    phase_rule,
    success_step,
)


@st.composite
def labelled_counts(draw):
    """(t_train, t_test, budget, delay, expected phase), built from the phase's definition."""
    delay = draw(st.integers(1, 50))
    budget = draw(st.integers(delay + 10, 400))
    never = budget - 1
    phase = draw(st.sampled_from(PHASES + ("gap",)))
    if phase == "confusion":
        return never, never, budget, delay, CONFUSION
    if phase == "gap":  # test generalises, train never reaches the threshold
        return never, draw(st.integers(0, never - 1)), budget, delay, COMPREHENSION
    t_train = draw(st.integers(0, never - 1))
    if phase == "memorization":
        return t_train, never, budget, delay, MEMORIZATION
    if phase == "comprehension":
        t_test = draw(st.integers(0, min(t_train + delay, never - 1)))
        return t_train, t_test, budget, delay, COMPREHENSION
    t_train = draw(st.integers(0, never - delay - 2))
    return t_train, draw(st.integers(t_train + delay + 1, never - 1)), budget, delay, GROKKING


@given(labelled_counts())
def test_phase_rule_classifies_hand_made_counts(case):
    t_train, t_test, budget, delay, expected = case
    assert phase_rule(t_train, t_test, budget, delay) == expected


def test_delay_exactly_delta_is_comprehension():
    assert phase_rule(100, 1100, budget=10_000, delay=1000) == COMPREHENSION
    assert phase_rule(100, 1101, budget=10_000, delay=1000) == GROKKING


def curves(first_hits: list[tuple[int | None, int | None]], steps: np.ndarray) -> xr.Dataset:
    """Accuracy step functions: 0 before the hit, 1 from it on (None = never)."""
    def acc(hit):
        return np.zeros(len(steps)) if hit is None else (steps >= hit).astype(float)
    train = np.stack([acc(a) for a, _ in first_hits])
    test = np.stack([acc(b) for _, b in first_hits])
    coords = {"seed": np.arange(len(first_hits)), "step": steps}
    return xr.Dataset({"train_acc": (("seed", "step"), train),
                       "test_acc": (("seed", "step"), test)}, coords=coords)


@st.composite
def constructed_members(draw):
    """(phase name, first train hit, first test hit) on steps 0..4000 by 100, Δ = 1000 (None = never),
    built from the phase's meaning: both learn close together / test > Δ later / train only / neither."""
    name = draw(st.sampled_from(PHASES))
    if name == "confusion":
        return name, None, None
    train = 100 * draw(st.integers(0, 28))
    if name == "memorization":
        return name, train, None
    if name == "comprehension":
        return name, train, train + 100 * draw(st.integers(0, 10))
    return name, train, train + 100 * draw(st.integers(11, 39 - train // 100))


@settings(max_examples=30, deadline=None)
@given(st.lists(constructed_members(), min_size=1, max_size=6))
def test_classify_recovers_constructed_phases(members):
    ds = curves([(train, test) for _, train, test in members], np.arange(0, 4001, 100))
    assert [PHASES[k] for k in classify(ds, delay=1000).values] == [name for name, _, _ in members]


def test_classify_diverged_and_late_members():
    steps = np.arange(0, 4001, 100)
    ds = curves([(100, 4000), (100, 3900), (0, 0)], steps)
    ds["train_acc"][2] = np.nan  # a diverged member never reaches the threshold
    ds["test_acc"][2] = np.nan
    # a first hit at the last record (B − 1) counts as never, as in the authors' code
    assert [PHASES[k] for k in classify(ds, delay=1000).values] == ["memorization", "grokking", "confusion"]


def test_first_step_never_and_budget():
    steps = np.arange(0, 501, 100)
    acc = xr.DataArray([0, 0.5, 0.95, 1, 1, 1], coords={"step": steps}, dims="step")
    assert int(success_step(acc >= 0.9, budget=501)) == 200
    assert int(success_step(acc >= 0.99, budget=501)) == 300
    assert int(success_step(acc >= 0.9, budget=150)) == 149  # beyond the budget counts as never
    nan = xr.full_like(acc, np.nan)  # a diverged member never reaches the threshold
    assert int(success_step(nan >= 0.9, budget=501)) == 500


def test_fractions_and_majority():
    phase = xr.DataArray([[0, 1], [0, 3], [2, 3]], dims=("seed", "x"))
    frac = phase_fractions(phase)
    np.testing.assert_allclose(frac.sum("phase"), 1.0)
    np.testing.assert_allclose(frac.sel(phase="comprehension"), [2 / 3, 0])
    assert majority_phase(frac).values.tolist() == [COMPREHENSION, CONFUSION]


def test_boundary_of_a_straight_split_is_recovered():
    cells = np.zeros((4, 5), int)
    cells[2:] = MEMORIZATION  # phase changes between x = 1 and x = 2 for every y
    (line,) = phase_boundaries(cells)
    assert line.phases == ("comprehension", "memorization")
    np.testing.assert_allclose(line.centre, [1.5, 2.0])
    np.testing.assert_allclose(np.abs(line.direction), [0.0, 1.0], atol=1e-12)
    assert line.rms < 1e-12


def test_diagonal_boundary_slope():
    i, j = np.meshgrid(np.arange(6), np.arange(6), indexing="ij")
    cells = np.where(i > j, GROKKING, CONFUSION)
    (line,) = phase_boundaries(cells)
    assert line.phases == ("grokking", "confusion")
    assert abs(abs(line.direction[0]) - abs(line.direction[1])) < 1e-9  # slope ±1
