"""The quanta studies: their summaries recover the exponents of a hand-built run whose laws are known,
and the tiny presets run end to end."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import xarray as xr

import toymodels as tm
from toymodels.experiments import REGISTRY
from toymodels.experiments.cli import main
from toymodels.experiments.quanta_scaling import emergence_summarize, summarize
from toymodels.sparse_parity import SparseParityMLP
from toymodels.tasks.sparse_parity import task_probabilities

WIDTHS = (8, 16, 32, 64, 128)
DATA = (0.0, 1000.0, 2000.0, 4000.0, 8000.0, 16000.0)
STEPS = np.unique(np.r_[0, np.geomspace(1, 1000, 300).round()])
ALPHA_N, ALPHA_S, ALPHA_D, BETA, GAMMA_D = 0.4, 0.3, 0.25, 0.8, 0.7


def known_run() -> xr.Dataset:
    """A run of 40 subtasks, widths × data × 2 seeds, whose laws are set by hand:
    online test loss A(P)·S^−0.3 with A(P) = 2·P^−0.4·1000^0.3 (so the final loss is 2·P^−0.4);
    finite-data loss falling linearly to 3·D^−0.25 at the end; subtask k learned (loss 1 → 0.01 bits)
    at step S_k = 20·(p_k/p_1)^−0.8 by the networks that learn it at all: the first 2·width/8
    subtasks online, the first round(2·(D/1000)^0.7) with data D."""
    system = SparseParityMLP(n_tasks=40, n=12, k=2, width=128, batch=64, test_per_task=64, finite_data=True)
    spec = tm.Spec(system, {**system.hparams(), "lr": 1e-2}, sweep={"width": WIDTHS, "data": DATA}, seeds=2,
                   steps=1000, log_every=100)
    params = np.array([dataclasses.replace(system, width=w).parameters for w in WIDTHS])
    p = np.asarray(task_probabilities(40, 0.4), float)
    learned_at = 20 * (p / p[0]) ** -BETA
    step, data = STEPS[:, None], np.array(DATA)[:, None, None]
    amplitude = 2 * params.astype(float) ** -ALPHA_N * 1000**ALPHA_S
    online = amplitude[:, None] * np.where(step > 0, step, 1.0)[None, :, 0] ** -ALPHA_S     # (width, step)
    finite = 3 * data[1:, 0] ** -ALPHA_D + (1000 - STEPS[None, :]) / 1000                   # (data, step)
    loss = np.concatenate([np.broadcast_to(online[:, None], (5, 1, len(STEPS))),
                           np.broadcast_to(finite[None], (5, 5, len(STEPS)))], axis=1)     # (width, data, step)
    reach = np.concatenate([2 * np.array(WIDTHS)[:, None] // 8 * np.ones((1, 1)),
                            np.broadcast_to(np.round(2 * (data[1:, 0, 0] / 1000) ** GAMMA_D), (5, 5))], axis=1)
    k = np.arange(40)
    learned = (k[None, None, None, :] < reach[:, :, None, None]) & (STEPS[None, None, :, None] >= learned_at)
    subtask = np.where(learned, 0.01, 1.0)                                                 # (width, data, step, k)
    ds = xr.Dataset(
        {"test_loss": (("width", "seed", "data", "step"), np.stack([loss, loss], axis=1)),
         "subtask_loss": (("width", "seed", "data", "step", "subtask"), np.stack([subtask, subtask], axis=1)),
         "diverged_step": (("width", "seed", "data"), np.full((5, 2, 6), -1))},
        coords={"width": list(WIDTHS), "seed": [0, 1], "data": list(DATA), "step": STEPS, "subtask": k})
    ds.attrs["config"] = json.dumps({"experiment": "quanta-scaling", "preset": "fake", "spec": spec.to_dict()})
    return ds


@pytest.fixture(scope="module")
def run() -> xr.Dataset:
    return known_run()


def test_the_summary_recovers_the_exponents_it_was_built_with(run):
    summary = summarize(run).to_json()
    for key, exponent in (("alpha_N", ALPHA_N), ("alpha_S", ALPHA_S), ("alpha_D", ALPHA_D)):
        record = summary[key]
        assert record["value"] == pytest.approx(exponent, abs=1e-9)
        assert record["lo"] == pytest.approx(exponent, abs=1e-6) and record["hi"] == pytest.approx(exponent, abs=1e-6)
        assert (record["interval"], record["level"], record["resampled"]) == ("bootstrap", 0.95, "points")
    assert summary["alpha_N"]["n"] == 10                        # 5 widths × 2 seeds, online members only
    assert summary["alpha_D"]["n"] == 10 and summary["alpha_D"]["x_range"] == [1000.0, 16000.0]
    assert summary["beta"]["value"] == pytest.approx(BETA, abs=0.03)
    assert summary["alpha_N"]["quanta_exponent"] == pytest.approx(1.0, abs=0.03)
    assert summary["alpha_D"]["quanta_exponent"] == pytest.approx(GAMMA_D, abs=0.05)
    assert summary["alpha_S"]["theory_beta"] == pytest.approx(0.4 / (summary["beta"]["value"] * 1.4))
    assert summary["n_learned"] == {"value": 32.0, "lo": 32.0, "hi": 32.0, "n": 2, "interval": "range",
                                    "level": None, "n_tasks": 40}


def test_exponents_follow_the_members_they_are_measured_on(run):
    """Steeper loss in data, slower learning of rare subtasks: only the measured exponents move."""
    steeper = run.copy(deep=True)
    finite = steeper["data"] > 0
    steeper["test_loss"] = xr.where(finite, steeper["test_loss"] ** 2 / 3, steeper["test_loss"])
    summary = summarize(steeper).to_json()
    base = summarize(run).to_json()
    assert summary["alpha_D"]["value"] > base["alpha_D"]["value"] + 0.1
    assert summary["alpha_N"]["value"] == base["alpha_N"]["value"]
    assert summary["alpha_S"]["value"] == base["alpha_S"]["value"]


def test_emergence_reads_the_online_members_of_a_scaling_run(run):
    summary = emergence_summarize(run).to_json()
    p = np.asarray(task_probabilities(40, 0.4), float)
    assert summary["probs"] == pytest.approx(p.tolist())
    assert summary["learned_by_width"]["learned"] == [2.0, 4.0, 8.0, 16.0, 32.0]
    assert summary["learned_by_width"]["width"] == list(WIDTHS)
    steps = summary["learned_step"]
    assert all(s is None for s in steps[32:]) and all(s is not None for s in steps[:32])
    expected = STEPS[np.searchsorted(STEPS, 20 * (p[:32] / p[0]) ** -BETA)]   # first logged step at or after S_k
    assert steps[:32] == pytest.approx(expected.tolist())
    assert summary["beta"]["value"] == summarize(run).to_json()["beta"]["value"]


def test_quanta_scaling_tiny_runs_end_to_end(tmp_path):
    """One compiled width; summary and figures from the stored run (the default runs in test_claims.py)."""
    spec = REGISTRY["quanta-scaling"].spec("tiny").with_sweep("width", (16,))
    tm.run(spec, tmp_path, quiet=True, metadata={"experiment": "quanta-scaling", "preset": "tiny"})
    ds = tm.load(tmp_path)
    summary = summarize(ds)
    data = summary.to_json()
    # 3 D values (online, 128, 512) × 2 seeds: the tiny task's 2^8 inputs are mostly in a set of 512
    overlap = data["test_train_overlap"]
    assert overlap["data"] == 512 and 0.3 < overlap["value"] <= 1 and overlap["online"] > 0.9
    assert data["n_learned"]["n"] == 2 and data["n_learned"]["n_tasks"] == 6
    assert set(REGISTRY["quanta-scaling"].figures(ds, summary)) == {"quanta-scaling"}


def test_finite_data_without_the_switch_is_a_one_line_error(tmp_path, capsys):
    out = tmp_path / "bad"
    code = main(["run", "quanta-emergence", "--preset", "tiny", "--set", "data=100",
                 "--out", str(out)])
    assert code == 2
    assert "finite_data" in capsys.readouterr().err
    assert not out.exists()


def test_learning_order_is_the_rank_correlation_of_frequency_and_learned_step():
    """QH2: subtasks learned in order of decreasing p_k give ρ = 1, the reverse −1; unlearned ones are left out."""
    import xarray as xr

    from toymodels.experiments.quanta_scaling import learning_order

    probs = np.array([0.4, 0.3, 0.2, 0.1])
    steps = xr.DataArray([[100.0, 200.0, 300.0, np.nan], [400.0, 300.0, 200.0, 100.0]], dims=("seed", "subtask"))
    order = learning_order(steps, probs)
    assert (order.lo, order.hi, order.n) == (-1.0, 1.0, 2) and order.interval == "range"
