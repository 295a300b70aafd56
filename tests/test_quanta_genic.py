"""quanta-genic: the emergence width of step and ramp curves, polygenic composites, the summary of a
hand-built run, and the tiny preset end to end."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import toymodels as tm
from toymodels.experiments.cli import main
from toymodels.experiments.quanta_genic import summarize
from toymodels.theory.genic import composite, drop_time, emergence_width, groups_of

STEPS = np.arange(0, 1001, 10)


def step_curve(at: int) -> np.ndarray:
    """1 bit until logged step `at`, 0 from the next logged step on."""
    return np.where(at >= STEPS, 1.0, 0.0)


def test_a_step_between_two_logs_has_the_width_of_its_interpolation():
    # f rises linearly from 0 at t = 500 to 1 at t = 510: t_0.1 = 501, t_0.9 = 509
    assert drop_time(STEPS, step_curve(500), 0.1) == pytest.approx(501)
    assert emergence_width(STEPS, step_curve(500)) == pytest.approx(math.log(509 / 501))


def test_a_linear_ramp_from_zero_has_width_ln_9():
    assert emergence_width(STEPS, 1 - STEPS / STEPS[-1]) == pytest.approx(math.log(9))


def test_a_curve_that_does_not_fall_has_no_width():
    assert math.isnan(emergence_width(STEPS, np.ones(len(STEPS))))
    assert math.isnan(emergence_width(STEPS, STEPS / STEPS[-1]))


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 98), st.integers(1, 98))
def test_two_quanta_learned_at_different_times_emerge_no_sharper_than_either(i, j):
    first, second = sorted((int(STEPS[i]), int(STEPS[j])))
    curves = np.stack([step_curve(first), step_curve(second)])
    both = composite(curves, [[0, 1]])[0]
    assert emergence_width(STEPS, both) >= max(emergence_width(STEPS, c) for c in curves) - 1e-12
    if second >= 2 * first + 20:  # far apart in log time: the composite spans both
        assert emergence_width(STEPS, both) >= math.log((second + 1) / (first + 9)) - 1e-12


def test_groups_are_disjoint_draws_of_the_members_and_drop_the_leftovers():
    groups = groups_of(np.arange(10, 20), 3, seed=4)
    assert len(groups) == 3 and all(len(g) == 3 for g in groups)
    flat = sum(groups, [])
    assert len(set(flat)) == 9 and set(flat) <= set(range(10, 20))
    assert groups == groups_of(np.arange(10, 20), 3, seed=4)


def hand_built_run(seeds: int = 3) -> xr.Dataset:
    """6 subtasks that drop as steps at logged times 100..600 (subtask 5 never falls, so it is not
    learned), the shape of a quanta-genic run."""
    loss = np.stack([step_curve(100 * (k + 1)) for k in range(5)] + [np.ones(len(STEPS))])
    data = np.broadcast_to(loss, (seeds, *loss.shape))
    return xr.Dataset({"subtask_loss": (("seed", "subtask", "step"), data),
                     "diverged_step": ("seed", np.full(seeds, -1.0))},
                    coords={"seed": np.arange(seeds), "subtask": np.arange(6), "step": STEPS})


def test_the_summary_of_a_hand_built_run_compares_groups_of_three_steps_with_single_steps():
    summary = summarize(hand_built_run()).to_json()
    single = np.median([math.log((100 * k + 9) / (100 * k + 1)) for k in range(1, 6)])
    assert summary["mono_width"]["value"] == pytest.approx(single)
    for row in summary["per_seed"]:
        assert row["n_mono"] == 5 and row["n_poly"] == 1   # 5 learned subtasks: one group of 3
        assert row["width_ratio"] > 1
    assert summary["width_ratio"]["n"] == 3


def test_tiny_preset_runs_end_to_end(tmp_path):
    assert main(["run", "quanta-genic", "--preset", "tiny", "--out", str(tmp_path), "--quiet"]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["genes"] == 3 and summary["mono_width"]["n"] == 3
    assert summary["figures"] == ["genic_curves"] and (tmp_path / "genic_curves.png").exists()
    assert len(summary["per_seed"]) == 3 and all(r["n_mono"] >= 1 for r in summary["per_seed"])
    ds = tm.load(tmp_path)
    assert ds["subtask_loss"].sizes["subtask"] == 6


def test_a_sweep_is_a_one_line_error(tmp_path, capsys):
    out = tmp_path / "bad"
    assert main(["run", "quanta-genic", "--preset", "tiny", "--sweep", "lr=0.01,0.02", "--out", str(out)]) == 2
    assert "sweep nothing" in capsys.readouterr().err
    assert not out.exists()
