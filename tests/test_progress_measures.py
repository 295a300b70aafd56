"""The three-phase rule (theory.progress) and the `progress-measures` experiment end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

from toymodels.experiments.cli import main
from toymodels.theory.progress import drop_step, first_step, progress_phases

STEPS = np.arange(0, 4001, 100)


def grokking_curves(memorised: int, plunge: int) -> tuple[np.ndarray, np.ndarray]:
    """train_acc hits 1 at `memorised`; test loss 1 → 10, then log-linearly → 0.01 in 1000 steps."""
    train_acc = np.where(memorised <= STEPS, 1.0, 0.5)
    log_test = np.where(memorised > STEPS, 0.0, np.log(10.0))
    falling = (STEPS - plunge) / 1000 * np.log(1000.0)
    log_test = np.where(
        plunge <= STEPS, np.log(10.0) - np.minimum(falling, np.log(1000.0)), log_test
    )
    return train_acc, np.exp(log_test)


def dataset(members: list[tuple[int, int]]) -> xr.Dataset:
    train, test = zip(*(grokking_curves(*m) for m in members), strict=True)
    coords = {"seed": np.arange(len(members)), "step": STEPS}
    return xr.Dataset(
        {
            "train_acc": (("seed", "step"), np.stack(train)),
            "test_loss": (("seed", "step"), np.stack(test)),
        },
        coords=coords,
    )


def test_phase_boundaries_of_hand_made_curves():
    phases = progress_phases(dataset([(300, 2000), (1000, 2500)]))
    np.testing.assert_array_equal(phases.memorised.values, [300, 1000])
    np.testing.assert_array_equal(phases.cleanup_start.values, [2100, 2600])  # 10 % of the log-drop
    np.testing.assert_array_equal(phases.cleanup_end.values, [2900, 3400])  # 90 % of the log-drop


def test_a_member_that_never_memorises_has_no_phases():
    ds = dataset([(300, 2000)])
    ds["train_acc"][:] = 0.5
    phases = progress_phases(ds)
    assert np.isnan(phases.memorised.item()) and np.isnan(phases.cleanup_start.item())


def test_first_step_and_drop_step_agree_with_a_direct_search():
    ds = dataset([(500, 1500)])
    assert first_step(ds["test_loss"] < 1.0).item() == 1900  # log-drop of 1/3 at 1500 + 333
    assert drop_step(ds["test_loss"], xr.DataArray([500.0], dims="seed"), 0.5).item() == 2000


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("progress") / "run"
    assert main(["run", "progress-measures", "--preset", "tiny", "--out", str(out), "--quiet"]) == 0
    return out


def test_tiny_preset_runs_through_the_cli(tiny_run):
    summary = json.loads((tiny_run / "summary.json").read_text())
    assert {"members", "phases_mean", "restricted_before_test", "n_key_freqs_final_mean"} <= set(
        summary
    )
    assert (tiny_run / "progress.png").exists() and (tiny_run / "key_freqs.png").exists()
    assert summary["members"][0]["final_train_acc"] > 0.9  # the tiny transformer memorises


def test_excluded_loss_is_the_train_loss_while_there_are_no_key_frequencies(tiny_run):
    from toymodels import load

    ds = load(tiny_run).isel(seed=0)
    none = ds["n_key_freqs"] == 0
    assert bool(none.isel(step=0))
    np.testing.assert_allclose(
        ds["excluded_loss"].where(none, drop=True),
        ds["train_loss"].where(none, drop=True),
        rtol=1e-5,
    )
