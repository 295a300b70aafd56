"""The quanta experiments end to end through the command line (tiny presets)."""

from __future__ import annotations

import json

from toymodels.experiments.cli import main


def test_quanta_scaling_report_writes_the_ledger_keys(tmp_path):
    """One compiled width (the default preset runs end to end in tests/test_claims.py)."""
    out = tmp_path / "scaling"
    argv = ["run", "quanta-scaling", "--preset", "tiny", "--sweep", "width=16", "--out", str(out), "--quiet"]
    assert main(argv) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary) >= {"alpha", "alpha_N", "alpha_S", "alpha_D", "beta", "n_learned",
                            "test_train_overlap"}
    assert summary["alpha"] == {"value": 0.4, "code_alpha": 1.4}
    assert summary["alpha_N"]["theory"] == 0.4
    assert abs(summary["alpha_D"]["theory"] - 0.4 / 1.4) < 1e-9
    # 3 D values (online, 128, 512) × 2 seeds: the tiny task's 2^8 inputs are mostly in a set of 512
    overlap = summary["test_train_overlap"]
    assert overlap["data"] == 512 and 0.3 < overlap["value"] <= 1 and overlap["online"] > 0.9
    assert summary["n_learned"]["n"] == 2 and summary["n_learned"]["n_tasks"] == 6
    for key in ("alpha_S", "alpha_D"):
        assert set(summary[key]) >= {"value", "lo", "hi", "n", "resampled"}
    assert (out / "quanta-scaling.png").stat().st_size > 0


def test_quanta_emergence_tiny_writes_heat_maps_and_learned_steps(tmp_path):
    out = tmp_path / "emergence"
    assert main(["run", "quanta-emergence", "--preset", "tiny", "--out", str(out), "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary) >= {"alpha", "beta", "probs", "learned_step", "learned_by_width"}
    assert len(summary["probs"]) == len(summary["learned_step"]) == 4
    assert abs(sum(summary["probs"]) - 1) < 1e-5
    assert summary["learned_by_width"]["parameters"] == [32 * (4 + 6 + 3) + 2]
    assert summary["learned_step"][0] is not None     # the most frequent parity is learned
    for name in ("quanta-emergence-steps.png", "quanta-learned-steps.png"):
        assert (out / name).stat().st_size > 0


def test_finite_data_without_the_switch_is_a_one_line_error(tmp_path, capsys):
    out = tmp_path / "bad"
    code = main(["run", "quanta-emergence", "--preset", "tiny", "--set", "data=100",
                 "--out", str(out)])
    assert code == 2
    assert "finite_data" in capsys.readouterr().err
    assert not out.exists()
