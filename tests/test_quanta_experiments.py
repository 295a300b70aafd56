"""The quanta experiments end to end through the command line (tiny presets)."""

from __future__ import annotations

import json

import pytest

from toymodels.experiments.cli import main


@pytest.mark.slow
def test_quanta_scaling_tiny_writes_the_exponents(tmp_path):
    """Two widths = two compiled programs (~45 s of CPU), so it is in the slow suite."""
    out = tmp_path / "scaling"
    assert main(["run", "quanta-scaling", "--preset", "tiny", "--out", str(out), "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary) == {"alpha", "alpha_N", "alpha_S", "alpha_D", "beta"}
    assert summary["alpha"] == {"value": 0.4, "code_alpha": 1.4}
    assert summary["alpha_N"]["predicted"] == 0.4
    assert abs(summary["alpha_D"]["predicted"] - 0.4 / 1.4) < 1e-9
    assert summary["alpha_N"]["points"] == 2 and summary["alpha_N"]["value"] is not None
    for key in ("alpha_N", "alpha_S", "alpha_D", "beta"):
        assert len(summary[key]["ci"]) == 2
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
