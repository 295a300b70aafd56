"""The skill experiments run from the command line (tiny presets), write their summaries, and show
the behaviour each study is about (their default presets are checked by tests/test_claims.py)."""

from __future__ import annotations

import json

import numpy as np

from toymodels.experiments.cli import main


def run_cli(name: str, out, *extra: str) -> dict:
    assert main(["run", name, "--preset", "tiny", "--out", str(out), "--quiet", *extra]) == 0
    return json.loads((out / "summary.json").read_text())


def test_domino_two_tasks(tmp_path):
    """t2_over_t1[optimizer][p1]: SGD pays ≈ p1/p2, SignGD far less (Domino); batch control keys."""
    summary = run_cli("domino-two-tasks", tmp_path)
    ratio = summary["t2_over_t1"]
    assert set(ratio) == {"sgd", "signgd", "adam"}
    assert all(set(v) == {"0.5", "0.9"} for v in ratio.values())
    assert all(abs(v["0.5"] - 1) < 0.2 for v in ratio.values())
    assert ratio["sgd"]["0.9"] > 6 > 2.5 > ratio["signgd"]["0.9"] > 1.3
    assert ratio["signgd"]["0.9"] < ratio["adam"]["0.9"] < ratio["sgd"]["0.9"]
    control = summary["batch_control"]
    sampled = control[f"batch_{control['batch']}"]
    assert min(sampled["n"], control["full_batch"]["n"]) >= 10
    # a rare task missing from some batches is learned later than with the full batch
    assert sampled["mean"] > control["full_batch"]["mean"]
    assert (tmp_path / "domino-ratio.png").exists() and (tmp_path / "domino-skills.png").exists()


def test_bad_option_is_a_one_line_error(tmp_path, capsys):
    assert main(["run", "domino-two-tasks", "--preset", "tiny", "--set", "vectors=spiral",
                 "--out", str(tmp_path / "x")]) == 2
    assert "vectors must be one of" in capsys.readouterr().err


def test_skills_zipf(tmp_path):
    """N0 fitted per seed predicts the Geometry crossing steps out of sample (it was fitted to the
    skill curves, not to the crossings); the Resource closed form collapses exactly."""
    summary = run_cli("skills-zipf", tmp_path)
    assert set(summary["N0_fit"]) == {"0", "1"}
    geometry = np.array([summary["t90_geometry"][str(i)] for i in range(1, 6)], float)
    fitted = np.array([summary["t90_resource_fit"][str(i)] for i in range(1, 6)], float)
    np.testing.assert_allclose(fitted, geometry, rtol=0.25)
    assert summary["collapse_spread_resource_fit"] < 1e-6 < summary["collapse_spread"]
    t90 = [summary["t90_domino"][str(i)] for i in range(1, 6)]
    assert t90 == sorted(t90)


def test_skills_scaling(tmp_path):
    """alpha_N and alpha_S per optimizer and alpha; steeper Zipf tails give larger exponents, and
    SignGD's α_S exceeds Adam's at α = 2 (the paper's Fig10 ordering)."""
    summary = run_cli("skills-scaling", tmp_path)
    for key in ("alpha_N", "alpha_S"):
        assert set(summary[key]) == {"signgd", "adam"}
        assert all(set(v) == {"1", "2"} for v in summary[key].values())
    for name in ("signgd", "adam"):
        assert summary["alpha_S"][name]["2"] > summary["alpha_S"][name]["1"]
        assert summary["alpha_N"][name]["2"] > summary["alpha_N"][name]["1"]
    assert summary["alpha_S"]["signgd"]["2"] > summary["alpha_S"]["adam"]["2"]
    assert summary["alpha_S_interval"]["adam"]["1"]["n"] == 2
    assert summary["alpha_N_dims"] == [40, 220] and summary["alpha_S_window"] == [80, 200, 100]


def test_skills_modularity(tmp_path):
    """Basis-aligned vectors reach a lower loss than random ones (speed-up > 1)."""
    summary = run_cli("skills-modularity", tmp_path)
    assert all(v > 1 for table in summary["speedup"].values() for v in table.values())


def test_mlp_experiments_write_their_keys(tmp_path):
    """The three MLP studies run end to end (tiny) and report per-task learning times."""
    composition = run_cli("skills-composition", tmp_path / "c")
    assert set(composition["t90"]) == {"composed", "separate"}
    rare = run_cli("skills-rare-task", tmp_path / "r")
    assert set(rare["t2_over_t1"]) == {"1", "0.1"}
    modular = run_cli("skills-modular-mlp", tmp_path / "m")
    assert set(modular["t2_over_t1"]) == {"dense", "modular"}
    assert (tmp_path / "m" / "skills-modular-mlp.png").exists()
