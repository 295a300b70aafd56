"""Logging schedules (every k, a list, geometric), tied axes, member lists, and --set on a swept key."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import toymodels as tm
from toymodels.experiments.cli import build_parser, build_spec
from toymodels.spec import geometric_steps, require

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_engine import Decay, assert_same_data, modular_spec  # noqa: E402


@dataclass(frozen=True)
class ScaledDecay(Decay):
    """Decay from x₀ ~ scale · N(1, 0.1²), with a second dynamic hyperparameter `shift` added to the loss."""

    scale: float = 1.0
    divergence_key: ClassVar[str] = "loss"

    def hparams(self):
        return {"lr": 0.5, "shift": 0.0}

    def check(self, hp):
        require(hp["lr"] > 0, "lr must be > 0")

    def init(self, key, hp):
        return self.scale * super().init(key, hp)

    def observe(self, x, hp):
        return {"x": x, "loss": 0.5 * jnp.sum(x**2) + hp["shift"]}


@given(st.integers(1, 100_000), st.integers(1, 300))
def test_geometric_steps_are_distinct_increasing_and_end_at_steps(steps, count):
    chosen = np.array(geometric_steps(steps, count))
    assert len(chosen) == min(count, steps)
    assert chosen[-1] == steps and chosen[0] >= 1
    assert (np.diff(chosen) > 0).all()


def test_geometric_steps_are_dense_early_and_sparse_late():
    chosen = np.array(geometric_steps(10_000, 40))
    assert (chosen < 100).sum() > (chosen > 5000).sum() > 0


def test_explicit_steps_are_recorded_exactly_there():
    log_steps = (1, 2, 5, 13, 40)
    spec = tm.Spec(Decay(), {"lr": 0.5}, sweep={"lr": (0.1, 0.5)}, seeds=2, steps=40, log_steps=log_steps)
    ds = tm.run(spec, quiet=True)
    assert list(ds["step"].values) == [0, *log_steps]
    expected = ds["x"].sel(step=0) * (1 - ds["lr"]) ** ds["step"]
    np.testing.assert_allclose(ds["x"].values, expected.transpose(*ds["x"].dims).values, rtol=1e-5)


def test_every_k_equals_the_same_steps_given_as_a_list():
    spec = tm.Spec(Decay(), {"lr": 0.5}, sweep={"lr": (0.1, 0.5)}, seeds=2, steps=40, log_every=10)
    assert_same_data(tm.run(spec, quiet=True), tm.run(spec.set("log_steps", "10,20,30,40"), quiet=True))


def test_geometric_schedule_from_the_command_line_reads_the_final_steps():
    args = build_parser().parse_args(["run", "modular-addition", "--preset", "tiny",
                                      "--set", "log_steps=geometric:10", "--set", "steps=1000"])
    spec = build_spec(args)
    assert spec.log_steps == geometric_steps(1000, 10)
    assert list(spec.record_steps()) == [0, *geometric_steps(1000, 10)]


def test_setting_log_every_replaces_a_list_of_steps():
    spec = modular_spec().set("log_steps", "geometric:5").set("log_every", 20)
    assert spec.log_steps is None and list(spec.record_steps()) == [0, 20, 40]


@pytest.mark.parametrize("text", ["0,5,3", "5,10", "abc", "geometric:x", "linear:4"])
def test_bad_log_steps_are_refused(text):
    with pytest.raises(tm.ConfigError):
        modular_spec().set("log_steps", text).validate()


def test_dynamic_tied_members_equal_the_same_members_run_alone():
    spec = tm.Spec(ScaledDecay(), {"lr": 0.5, "shift": 0.0}, sweep={"shift": (0.0, 1.0)}, seeds=2, steps=20,
                   log_every=10)
    tied = spec.with_tied(("lr", "shift"), [(0.1, 0.5), (0.3, 2.0)])
    assert "shift" not in tied.sweep  # the tie replaces the sweep of shift
    ds = tm.run(tied, quiet=True)
    assert ds["loss"].dims == ("seed", "lr+shift", "step")
    assert list(ds["lr"].values) == [0.1, 0.3] and list(ds["shift"].values) == [0.5, 2.0]
    alone = tm.run(spec.set("lr", 0.3).set("shift", 2.0), quiet=True)
    assert_same_data(ds.isel({"lr+shift": 1}).drop_vars(["lr", "shift", "lr+shift"]), alone)


def test_a_member_list_is_a_tied_group_over_its_keys():
    listed = modular_spec().with_members([{"lr": 0.01, "wd": 0.1}, {"lr": 0.01, "wd": 1.0}])
    assert listed.tied == modular_spec().with_tied(("lr", "wd"), [(0.01, 0.1), (0.01, 1.0)]).tied
    assert listed.n_members == 3 * 2


def test_static_tied_rows_compile_one_program_each_and_equal_the_closed_form():
    spec = tm.Spec(ScaledDecay(), {"lr": 0.5, "shift": 0.0}, seeds=2, steps=20, log_every=10)
    spec = spec.with_tied(("scale", "lr"), [(1.0, 0.1), (2.0, 0.3), (3.0, 0.1)]).with_sweep("shift", [0.0, 1.0])
    ds = tm.run(spec, quiet=True)
    assert ds["x"].dims == ("scale+lr", "seed", "shift", "step", "coordinate")
    assert list(ds["scale"].values) == [1.0, 2.0, 3.0] and list(ds["lr"].values) == [0.1, 0.3, 0.1]
    x0 = ds["x"].sel(step=0)
    np.testing.assert_allclose(ds["x"].values, (x0 * (1 - ds["lr"]) ** ds["step"]).transpose(*ds["x"].dims).values,
                               rtol=1e-5)
    # the seed draws the same x₀ whatever the row: x₀ scales with `scale`
    np.testing.assert_allclose(x0.isel({"scale+lr": 2}).values, 3 * x0.isel({"scale+lr": 0}).values, rtol=1e-6)
    np.testing.assert_allclose((ds["loss"] - 0.5 * (ds["x"] ** 2).sum("coordinate") - ds["shift"]).values, 0,
                               atol=1e-5)


def test_set_on_a_swept_key_replaces_the_sweep():
    args = build_parser().parse_args(["run", "modular-addition", "--preset", "tiny", "--set", "wd=2"])
    spec = build_spec(args)
    assert "wd" not in spec.sweep and spec.hparams["wd"] == 2.0 and spec.n_members == spec.seeds


def test_tie_from_the_command_line():
    args = build_parser().parse_args(["run", "modular-addition", "--preset", "tiny", "--tie", "lr,wd=0.01:1,0.03:0.5"])
    spec = build_spec(args)
    assert spec.tied[0].keys == ("lr", "wd") and spec.tied[0].rows == ((0.01, 1.0), (0.03, 0.5))
    assert "wd" not in spec.sweep


def test_a_tied_key_cannot_be_set_alone():
    spec = modular_spec().with_tied(("lr", "wd"), [(0.01, 0.1), (0.03, 1.0)])
    with pytest.raises(tm.ConfigError, match="tied with wd"):
        spec.set("lr", 0.1)
