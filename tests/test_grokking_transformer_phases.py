"""grokking-transformer-phases: the closeness of grokking to memorization vs comprehension on hand-built
maps with known answers, the summary of a hand-built run, and the tiny preset end to end."""

import json

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import toymodels.experiments as experiments
from toymodels.experiments import grokking_transformer_phases as gtp
from toymodels.spec import ConfigError
from toymodels.theory.phases import COMPREHENSION as C
from toymodels.theory.phases import CONFUSION as X
from toymodels.theory.phases import GROKKING as G
from toymodels.theory.phases import MEMORIZATION as M

NAME = "grokking-transformer-phases"


def row(*codes: int) -> np.ndarray:
    """One seed, one lr, the given phases along wd: shape (1, 1, n)."""
    return np.array(codes)[None, None, :]


# --- closeness on hand-built maps ---------------------------------------------------------------
def test_grid_units_put_log_spaced_axes_in_decades_and_linear_ones_in_steps():
    np.testing.assert_allclose(gtp.grid_units(np.array([1e-3, 1e-2, 1e-1])), [-3, -2, -1])
    np.testing.assert_allclose(gtp.grid_units(np.array([0.0, 2.0, 4.0, 6.0])), [0, 1, 2, 3])
    np.testing.assert_allclose(gtp.grid_units(np.array([5.0])), [5.0])


def test_a_grokking_cell_next_to_memorization_and_two_steps_from_comprehension():
    # wd axis: M G X C: the grokking member is 1 step from memorization, 2 from comprehension
    phases, z = row(M, G, X, C), np.arange(4.0)
    np.testing.assert_allclose(gtp.nearest_distances(phases, np.zeros(1), z, G, M), [1.0])
    np.testing.assert_allclose(gtp.nearest_distances(phases, np.zeros(1), z, G, C), [2.0])
    out = gtp.closeness(phases, np.zeros(1), z)
    assert out["memorization_minus_comprehension"].value == pytest.approx(1.0)
    assert out["share_closer_to_memorization"].value == 1.0
    assert out["share_closer_to_comprehension"].value == 0.0
    assert out["n_grokking"] == 1


def test_a_band_of_grokking_between_the_two_phases_is_equally_close_to_both():
    # M G G G C: distances to M are 1, 2, 3 and to C 3, 2, 1: the mean difference is 0
    out = gtp.closeness(row(M, G, G, G, C), np.zeros(1), np.arange(5.0))
    assert out["memorization"].value == pytest.approx(2.0)
    assert out["comprehension"].value == pytest.approx(2.0)
    assert out["memorization_minus_comprehension"].value == pytest.approx(0.0)
    assert out["share_closer_to_memorization"].value == pytest.approx(1 / 3)


def test_seeds_of_the_grokking_cell_itself_count_at_distance_zero():
    # two seeds on a 2 × 2 grid: the grokking cell (0, 0) also holds a memorizing seed; comprehension
    # sits diagonally at (1, 1), √2 away in grid steps
    phases = np.array([[[G, X], [X, C]],
                       [[M, X], [X, X]]])
    z = np.array([0.0, 1.0])
    out = gtp.closeness(phases, z, z)
    assert out["memorization"].value == 0.0
    assert out["comprehension"].value == pytest.approx(np.sqrt(2))
    assert out["memorization_minus_comprehension"].value == pytest.approx(np.sqrt(2))


def test_without_comprehension_the_difference_is_undefined_not_zero():
    out = gtp.closeness(row(M, G, G), np.zeros(1), np.arange(3.0))
    assert out["memorization"].value == pytest.approx(1.5)
    assert out["comprehension"].value is None and out["memorization_minus_comprehension"].value is None
    assert gtp.closeness(row(M, C, X), np.zeros(1), np.arange(3.0))["n_grokking"] == 0


maps = st.integers(1, 3).flatmap(lambda s: st.integers(1, 4).flatmap(lambda nx: st.integers(2, 5).flatmap(
    lambda ny: st.lists(st.sampled_from((C, G, M, X)), min_size=s * nx * ny, max_size=s * nx * ny).map(
        lambda v: np.array(v).reshape(s, nx, ny)))))


@settings(max_examples=60, deadline=None)
@given(maps)
def test_swapping_memorization_and_comprehension_negates_the_difference(phases):
    swapped = np.where(phases == M, C, np.where(phases == C, M, phases))
    zx, zy = np.arange(phases.shape[1]) * 1.0, np.arange(phases.shape[2]) * 0.5
    a = gtp.closeness(phases, zx, zy)["memorization_minus_comprehension"].value
    b = gtp.closeness(swapped, zx, zy)["memorization_minus_comprehension"].value
    assert (a is None) == (b is None)
    if a is not None:
        assert a == pytest.approx(-b, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(maps, st.floats(-5, 5), st.floats(-5, 5))
def test_distances_do_not_depend_on_where_the_grid_sits_or_on_its_orientation(phases, dx, dy):
    zx, zy = np.arange(phases.shape[1]) * 1.0, np.arange(phases.shape[2]) * 1.0
    for target in (M, C):
        base = gtp.nearest_distances(phases, zx, zy, G, target)
        np.testing.assert_allclose(gtp.nearest_distances(phases, zx + dx, zy + dy, G, target), base, atol=1e-9)
        mirrored = gtp.nearest_distances(phases[:, ::-1, :], zx, zy, G, target)  # lr axis reversed
        np.testing.assert_allclose(np.sort(mirrored), np.sort(base))
        assert np.all(np.isnan(base)) or np.all(base >= 0)


# --- the summary of a hand-built run ------------------------------------------------------------
def built_run(t_train: np.ndarray, t_test: np.ndarray, steps: int = 1000, every: int = 50) -> xr.Dataset:
    """A run over (seed, lr, wd) whose accuracies jump from 0 to 1 at the given steps (-1: never)."""
    grid = np.arange(0, steps + 1, every)
    dims = ("seed", "lr", "wd")

    def acc(t: np.ndarray) -> np.ndarray:
        return ((grid >= t[..., None]) & (t[..., None] >= 0)).astype(float)

    coords = {"seed": np.arange(t_train.shape[0]), "lr": [1e-3, 1e-2], "wd": [0.1, 1.0, 10.0], "step": grid}
    return xr.Dataset({"train_acc": (dims + ("step",), acc(t_train)), "test_acc": (dims + ("step",), acc(t_test)),
                       "diverged_step": (dims, np.full(t_train.shape, -1))}, coords=coords)


def test_summary_of_a_hand_built_run_counts_phases_and_measures_closeness():
    # B = 1001, Δ = 100.1. lr 1e-3: memorization | grokking | comprehension along wd; lr 1e-2: all confusion
    # except a grokking seed at wd 0.1 (its other seed memorizes)
    t_train = np.array([[[100, 100, 100], [-1, -1, -1]], [[100, 100, 100], [100, -1, -1]]])
    t_test = np.array([[[-1, 600, 150], [-1, -1, -1]], [[-1, 700, 200], [-1, -1, -1]]])
    t_test[1, 1, 0] = 800
    t_train[0, 1, 0] = 100
    s = gtp.summarize(built_run(t_train, t_test))
    assert s.rule == {"threshold": 0.9, "delay": pytest.approx(100.1), "budget": 1001}
    assert s.phase_counts == {"comprehension": 2, "grokking": 3, "memorization": 3, "confusion": 4}
    assert s.phases_present == {"members": 4, "cells": 4}
    assert s.cell_phase_counts == {"comprehension": 1, "grokking": 2, "memorization": 1, "confusion": 2}
    # lr 1e-2, wd 0.1: one memorizing, one grokking seed -> tie goes to the earlier phase, grokking
    cell = next(c for c in s.grid if c["lr"] == 1e-2 and c["wd"] == 0.1)
    assert cell["fractions"]["grokking"] == 0.5 and cell["phase"] == "grokking" and cell["agreement"] == 0.5
    # grokking members: (lr 1e-3, wd 1) × 2 seeds: d_M = 1, d_C = 1; (lr 1e-2, wd 0.1): d_M = 0, d_C = √5
    close = s.closer_to
    assert close["n_grokking"] == 3
    assert close["memorization"].value == pytest.approx(2 / 3)
    assert close["comprehension"].value == pytest.approx((2 + np.sqrt(5)) / 3)
    assert close["memorization_minus_comprehension"].value == pytest.approx(np.sqrt(5) / 3)
    assert close["share_closer_to_memorization"].value == pytest.approx(1 / 3)
    comp = next(c for c in s.grid if c["lr"] == 1e-3 and c["wd"] == 10.0)
    assert comp["t_train"] == 100 and comp["t_test"] == 175


def test_check_needs_lr_and_wd_swept():
    spec = gtp.tiny()
    gtp.check(spec)
    with pytest.raises(ConfigError, match="needs lr and wd swept"):
        gtp.check(spec.set("wd", "1.0"))


def test_presets_are_valid_and_use_independent_inits():
    for preset in (gtp.tiny, gtp.default, gtp.paper):
        spec = preset()
        spec.validate()
        assert spec.init == "independent" and set(spec.sweep) == {"lr", "wd"}


# --- the tiny preset end to end -----------------------------------------------------------------
def test_tiny_preset_writes_its_summary_and_figures(tmp_path, monkeypatch):
    monkeypatch.setattr(experiments, "discover", lambda: experiments.REGISTRY)
    out = tmp_path / "run"
    summary = experiments.run_and_report(NAME, "tiny", experiments.REGISTRY[NAME].spec("tiny"), out, quiet=True)
    assert {"phase-diagram", "phase-examples"} <= set(summary["figures"])
    assert {p.stem for p in out.glob("*.png")} == set(summary["figures"])
    assert json.loads((out / "summary.json").read_text()) == summary
    assert summary["n_members"] == 8 and sum(summary["phase_counts"].values()) == 8
    assert len(summary["grid"]) == 4
    for claim in experiments.REGISTRY[NAME].claims:   # every claimed key is in the summary
        node = summary
        for part in claim.key.split("/"):
            node = node[part]
        assert node is None or isinstance(node, int | float) or "value" in node
