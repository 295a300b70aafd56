"""Snapshots of the training state at chosen steps: stored, loaded with the member dims, refused when ill-posed.

(Resume after SIGKILL with snapshots: tests/test_engine.py::test_resume_after_sigkill_equals_an_uninterrupted_run.)
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import toymodels as tm

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_engine import Decay  # noqa: E402
from test_schedules import ScaledDecay  # noqa: E402


@dataclass(frozen=True)
class SnapshotDecay(ScaledDecay):
    """ScaledDecay that keeps {"head": x[:2], "pair": [x[0], 2 x[0]]} at each snapshot."""

    def snapshot(self, x):
        return {"head": x[:2], "pair": [x[0], 2 * x[0]]}


def decay_spec(system, **sweep) -> tm.Spec:
    return tm.Spec(system, {"lr": 0.5, "shift": 0.0}, sweep={"lr": (0.1, 0.2), **sweep}, seeds=2, steps=30,
                   log_every=10, snapshot_steps=(0, 10, 30))


def test_snapshots_have_the_member_dims_and_equal_the_state_then(tmp_path):
    ds = tm.run(decay_spec(SnapshotDecay(), scale=(2.0, 1.0)), tmp_path / "run", quiet=True)
    steps, tree = tm.load_snapshots(tmp_path / "run")
    assert list(steps) == [0, 10, 30]
    assert set(tree) == {"head", "pair"} and len(tree["pair"]) == 2
    x = ds["x"].sel(step=steps).transpose("scale", "seed", "lr", "step", "coordinate").values
    assert tree["head"].shape == (*ds["diverged_step"].shape, 3, 2)
    np.testing.assert_array_equal(tree["head"], x[..., :2])
    np.testing.assert_array_equal(tree["pair"][1], 2 * x[..., 0])


def test_without_a_snapshot_method_the_whole_state_is_kept(tmp_path):
    spec = tm.Spec(Decay(), {"lr": 0.5}, seeds=3, steps=20, log_every=10, snapshot_steps=(20,))
    ds = tm.run(spec, tmp_path / "run", quiet=True)
    steps, x = tm.load_snapshots(tmp_path / "run")
    assert list(steps) == [20]
    np.testing.assert_array_equal(x, ds["x"].sel(step=[20]).values)


def test_static_points_with_different_leaf_shapes_cannot_be_stacked(tmp_path):
    tm.run(decay_spec(Decay(), dim=(2, 3)).set("snapshot_steps", "30"), tmp_path / "run", quiet=True)
    with pytest.raises(tm.ConfigError, match="different leaf shapes"):
        tm.load_snapshots(tmp_path / "run")


def test_snapshots_need_a_run_folder_and_logged_steps(tmp_path):
    with pytest.raises(tm.ConfigError, match="need a run folder"):
        tm.run(decay_spec(SnapshotDecay()), quiet=True)
    with pytest.raises(tm.ConfigError, match="not a logged step"):
        tm.run(decay_spec(SnapshotDecay()).set("snapshot_steps", "15"), tmp_path / "run", quiet=True)


def test_a_run_without_snapshots_says_so(tmp_path):
    tm.run(tm.Spec(Decay(), {"lr": 0.5}, steps=10, log_every=10), tmp_path / "run", quiet=True)
    with pytest.raises(tm.ConfigError, match="kept no snapshots"):
        tm.load_snapshots(tmp_path / "run")


def test_a_study_finds_the_snapshots_of_a_loaded_run_through_its_folder(tmp_path):
    """`RunFolder.of(load(out))` is the folder the run was loaded from, so a report that needs the final
    parameters (sae-toy) reads the snapshots of exactly the run it summarises."""
    tm.run(decay_spec(SnapshotDecay()), tmp_path / "run", quiet=True)
    ds = tm.load(tmp_path / "run")
    steps, tree = tm.load_snapshots(tm.RunFolder.of(ds).path)
    np.testing.assert_array_equal(tree["head"][..., -1, :], ds["x"].sel(step=30).values[..., :2])
