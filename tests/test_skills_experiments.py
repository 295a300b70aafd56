"""The four skill experiments run from the command line (tiny presets) and write their summaries."""

from __future__ import annotations

import json

import pytest

from toymodels.experiments.cli import main


def run_cli(name: str, out) -> dict:
    assert main(["run", name, "--preset", "tiny", "--out", str(out), "--quiet"]) == 0
    return json.loads((out / "summary.json").read_text())


def test_domino_two_tasks(tmp_path):
    """Summary keys t2_over_t1[optimizer][p1]; SGD pays ≈ p1/p2, SignGD far less (Domino)."""
    summary = run_cli("domino-two-tasks", tmp_path)
    ratio = summary["t2_over_t1"]
    assert set(ratio) == {"sgd", "signgd", "adam"}
    assert all(set(v) == {"0.5", "0.9"} for v in ratio.values())
    assert all(abs(v["0.5"] - 1) < 0.2 for v in ratio.values())
    assert ratio["sgd"]["0.9"] > 6 > 2.5 > ratio["signgd"]["0.9"] > 1.3
    assert ratio["signgd"]["0.9"] < ratio["adam"]["0.9"] < ratio["sgd"]["0.9"]
    assert (tmp_path / "domino-ratio.png").exists() and (tmp_path / "domino-skills.png").exists()


def test_bad_option_is_a_one_line_error(tmp_path, capsys):
    assert main(["run", "domino-two-tasks", "--preset", "tiny", "--set", "vectors=spiral",
                 "--out", str(tmp_path / "x")]) == 2
    assert "vectors must be one of" in capsys.readouterr().err


@pytest.mark.slow
def test_skills_zipf(tmp_path):
    """N0 fitted per seed; the Resource closed form collapses exactly, the Geometry run roughly."""
    summary = run_cli("skills-zipf", tmp_path)
    assert set(summary["N0_fit"]) == {"0", "1"}
    assert all(1e-4 <= v <= 100 for v in summary["N0_fit"].values())
    assert summary["collapse_spread_resource_fit"] < 1e-6 < summary["collapse_spread"]
    t90 = [summary["t90_domino"][str(i)] for i in range(1, 6)]
    assert t90 == sorted(t90)


@pytest.mark.slow
def test_skills_scaling(tmp_path):
    """alpha_N and alpha_S per optimizer and alpha; loss falls with d."""
    summary = run_cli("skills-scaling", tmp_path)
    for key in ("alpha_N", "alpha_S"):
        assert set(summary[key]) == {"signgd", "adam"}
        assert all(set(v) == {"1", "2"} for v in summary[key].values())
    assert all(v > 0 for table in summary["alpha_N"].values() for v in table.values())


@pytest.mark.slow
def test_skills_modularity(tmp_path):
    """Basis-aligned vectors reach a lower loss than random ones (speed-up > 1)."""
    summary = run_cli("skills-modularity", tmp_path)
    assert all(v > 1 for table in summary["speedup"].values() for v in table.values())
