"""Run folders and precision: the lifecycle helper, consolidated stores, scoped float64, finite hyperparameters."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import jax
import numpy as np
import pytest
import xarray as xr
import zarr

import toymodels as tm
from toymodels import store
from toymodels.experiments import Summary, discover
from toymodels.theory.estimate import Estimate, student_t

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from test_engine import Decay  # noqa: E402

FLOAT32_RUN = """
import toymodels as tm
from toymodels.devices import use_cpu_cores
use_cpu_cores({devices})
system = tm.ModularMLP(p=7, d=4, width=8)
tm.run(tm.Spec(system, system.hparams(), sweep={{"wd": (0.1, 1.0)}}, seeds=2, steps=20, log_every=10), {out!r},
       quiet=True)
"""


def float32_spec() -> tm.Spec:
    system = tm.ModularMLP(p=7, d=4, width=8)
    return tm.Spec(system, system.hparams(), sweep={"wd": (0.1, 1.0)}, seeds=2, steps=20, log_every=10)


def test_a_float32_run_after_a_float64_run_equals_it_in_a_fresh_process(tmp_path):
    """Same devices as this process (an earlier CLI test may have asked for one per core: members
    are then laid out in other blocks, which moves float32 results by an ulp)."""
    script = FLOAT32_RUN.format(out=str(tmp_path / "fresh"), devices=len(jax.devices()))
    fresh = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert fresh.returncode == 0, fresh.stderr
    spec64 = float32_spec().set("precision", "float64")
    assert tm.run(spec64, quiet=True)["train_loss"].dtype == np.float64
    after = tm.run(float32_spec(), quiet=True)
    expected = tm.load(tmp_path / "fresh")
    for name in expected.data_vars:
        assert after[name].dtype == expected[name].dtype, name
        np.testing.assert_array_equal(after[name].values, expected[name].values, err_msg=name)


def test_finished_or_computes_once_then_loads(tmp_path):
    calls = []

    def compute() -> xr.Dataset:
        calls.append(1)
        return xr.Dataset({"a": ("x", np.arange(3.0))}, attrs={"timings": "{}"})

    config = {"experiment": "census"}
    first = tm.finished_or(tmp_path / "run", config, compute)
    again = tm.finished_or(tmp_path / "run", config, compute)
    assert len(calls) == 1
    assert first.attrs["complete"] and again.attrs["complete"] and again.attrs["timings"] == "{}"
    assert json.loads(again.attrs["config"]) == config
    np.testing.assert_array_equal(again["a"].values, [0.0, 1.0, 2.0])
    with pytest.raises(tm.ConfigError, match="different run"):
        tm.finished_or(tmp_path / "run", {"experiment": "other"}, compute)


def test_finished_runs_are_consolidated_and_load_without_a_warning(tmp_path):
    tm.run(tm.Spec(Decay(), {"lr": 0.5}, seeds=2, steps=20, log_every=10), tmp_path / "run", quiet=True)
    assert zarr.open_group(tmp_path / "run" / "results.zarr", mode="r").metadata.consolidated_metadata is not None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tm.load(tmp_path / "run")
        xr.open_zarr(tmp_path / "run" / "results.zarr").load()


def test_an_unwritable_run_folder_is_a_config_error():
    with pytest.raises(tm.ConfigError, match="cannot use /proc/toymodels-run"):
        tm.run(float32_spec(), "/proc/toymodels-run", quiet=True)


TUNED = [s for s in tm.SYSTEMS if any(isinstance(v, float) for v in s().hparams().values())]


def test_only_the_census_has_no_float_hyperparameters():
    assert set(tm.SYSTEMS) - set(TUNED) == {tm.SplitCensus}


@pytest.mark.parametrize("system", TUNED, ids=lambda s: s.__name__)
@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan")])
def test_every_system_refuses_non_finite_hyperparameters(system, value):
    spec = tm.Spec(system(), system().hparams())
    floats = [k for k, v in spec.hparams.items() if isinstance(v, float)]
    for key in floats:
        with pytest.raises(tm.ConfigError, match=f"{key} must be finite"):
            spec.set(key, value).validate()
        with pytest.raises(tm.ConfigError, match=f"{key} must be finite"):
            spec.with_sweep(key, [spec.hparams[key], value]).validate()


@pytest.mark.parametrize("name", sorted(discover()))
def test_a_stored_run_gives_back_its_spec(name, tmp_path):
    """config.json as the engine writes it (`claim_run_folder`) gives back the tiny preset's Spec exactly."""
    spec = discover()[name].spec("tiny")
    store.claim_run_folder(tmp_path, {"experiment": name, "preset": "tiny", "spec": spec.to_dict()})
    assert tm.load_spec(tmp_path) == spec


def test_a_trained_run_gives_back_its_spec_and_reports_without_an_experiment(tmp_path, capsys):
    """A folder written by `tm.run` (no experiment): its Spec, and the generic report (every
    observable's curves, phase map and heatmaps over its two swept axes)."""
    from toymodels.experiments.cli import main

    system = tm.ModularMLP(p=7, d=4, width=8)
    spec = tm.Spec(system, system.hparams(), sweep={"wd": (0.1, 1.0), "lr": (1e-3, 1e-2)}, seeds=1, steps=20,
                   log_every=10)
    ds = tm.run(spec, tmp_path, quiet=True)
    assert tm.load_spec(tmp_path) == spec
    assert tm.RunFolder.of(tm.load(tmp_path)).path == tmp_path
    with pytest.raises(tm.ConfigError, match="not loaded from a run folder"):
        tm.RunFolder.of(ds.copy())
    assert main(["report", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["phase_map"]["axes"] == ["wd", "lr"] and "curves" in summary["figures"]
    assert {f"{name}.png" for name in summary["figures"]} == {p.name for p in tmp_path.glob("*.png")}
    assert "phase-map.png" in capsys.readouterr().out


def test_report_figures_name_their_study():
    import matplotlib.pyplot as plt

    from toymodels.experiments.study import titled

    fig = plt.figure()
    assert titled(fig, "demo", "curves").get_suptitle() == "demo: curves"
    fig.suptitle("loss per member")
    assert titled(fig, "demo", "curves").get_suptitle() == "demo: loss per member"
    assert titled(fig, "demo", "curves").get_suptitle() == "demo: loss per member"   # not twice
    plt.close(fig)


def test_summary_json_turns_estimates_and_non_finite_numbers_into_json():
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Demo(Summary):
        x: Estimate
        rows: list
        table: dict

    data = Demo(student_t([1.0, 2.0, np.nan, 3.0]), [np.float32(np.inf), (1, 2)], {0.5: np.int64(3)}).to_json()
    assert data["x"]["n"] == 3 and data["x"]["value"] == 2.0 and data["x"]["interval"] == "student-t"
    assert data["rows"] == [None, [1, 2]] and data["table"] == {"0.5": 3}
    json.dumps(data, allow_nan=False)
