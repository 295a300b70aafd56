"""The skill experiments run from the command line (tiny presets), write their summaries, and show
the behaviour each study is about. Every skills experiment's default preset runs end to end in
tests/test_claims.py (skills-modularity's speed-up > 1 and its growth with α are claims there)."""

from __future__ import annotations

import json

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
    """One fitted N0 per seed makes the Resource model follow the Geometry skill curves (RMS error
    below 0.15), the two seeds agree on it within a factor 2, both models learn the skills in the
    same order, and the Resource closed form collapses exactly while the Geometry run does not."""
    summary = run_cli("skills-zipf", tmp_path)
    assert set(summary["N0_fit"]) == {"0", "1"}
    assert max(summary["N0_fit_mse"].values()) < 0.15**2
    n0 = list(summary["N0_fit"].values())
    assert max(n0) < 2 * min(n0)
    for key in ("t90_geometry", "t90_resource_fit", "t90_domino"):
        t90 = [summary[key][str(i)] for i in range(1, 6)]
        assert t90 == sorted(t90), key
    assert summary["collapse_spread_resource_fit"] < 1e-6 < summary["collapse_spread"]


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
    assert summary["alpha_N_dims"] == [40, 220] and summary["alpha_S_window"] == [80, 200, 40]


def test_modular_mlp_experiment_writes_its_keys(tmp_path):
    """An MLP study end to end (tiny); the default presets of all three run in tests/test_claims.py."""
    modular = run_cli("skills-modular-mlp", tmp_path)
    assert set(modular["t2_over_t1"]) == {"dense", "modular"}
    assert set(modular["t_learn"]["dense"]) == {"1", "2"}
    assert (tmp_path / "skills-modular-mlp.png").exists()
