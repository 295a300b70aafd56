"""The graph experiments' tiny presets, run through the command line."""

import json

import numpy as np

from toymodels.experiments import get
from toymodels.experiments.cli import main


def test_graph_generalization_tiny(tmp_path):
    out = tmp_path / "run"
    argv = ["run", "graph-generalization", "--preset", "tiny", "--out", str(out), "--quiet"]
    assert main(argv) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_members"] == len(summary["members"]) == 2
    ideal = summary["ideal_recall"]
    assert 0 < ideal < 1
    for row in summary["members"]:
        # held-out true triples split into inferable (fraction `ideal`) and non-inferable ones
        mixed = ideal * row["inferable_recall"] + (1 - ideal) * row["noninferable_recall"]
        assert np.isclose(row["heldout_recall"], mixed, atol=1e-5)
    by_wd = {r["wd"]: r for r in summary["by_point"]}
    assert set(by_wd) == {0.0, 1.0}
    for row in summary["members"]:    # one seed: the point means are the members' values
        assert np.isclose(by_wd[row["wd"]]["inferable_recall_mean"], row["inferable_recall"])
    rows = {r["wd"]: r for r in summary["members"]}
    effect = summary["weight_decay"]
    assert effect["wd"] == [0.0, 1.0]
    assert np.isclose(effect["heldout_recall"]["value"],
                      rows[1.0]["heldout_recall"] - rows[0.0]["heldout_recall"])
    assert np.isclose(summary["strongest_wd"]["heldout_over_ideal"]["value"],
                      rows[1.0]["heldout_recall"] / ideal)
    assert set(summary["relation_recall"]) >= {"parent", "sibling", "random"}
    assert {p.name for p in out.glob("*.png")} >= {"curves.png", "recall.png", "relations.png"}


def test_graph_stitching_tiny(tmp_path):
    out = tmp_path / "run"
    assert main(["run", "graph-stitching", "--preset", "tiny", "--out", str(out), "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    m = summary["n_members"]
    assert m == 3 and len(summary["control_members"]) == 1
    ridge, cka = np.array(summary["ridge_acc"]), np.array(summary["cka"])
    assert ridge.shape == cka.shape == np.array(summary["task_acc"]).shape == (m, m)
    assert np.allclose(np.diag(cka), 1, atol=1e-4)
    # self-stitching through the (near-identity) ridge map keeps each member's own accuracy
    assert np.allclose(np.diag(ridge), summary["own_acc"], atol=0.02)
    assert summary["penalty"]["ridge"]["self"] < 0.02
    assert summary["task_fit"]["tol"] > 0 and 0 <= summary["task_fit"]["converged"] <= 1
    penalties = np.array(summary["own_acc"])[None] - ridge
    off = ~np.eye(m, dtype=bool)
    assert np.isclose(summary["trained_penalty"]["ridge"]["value"], penalties[off].mean())
    assert {p.name for p in out.glob("*.png")} >= {"curves.png", "stitching.png", "cka.png",
                                                    "similarity.png"}


def test_graph_stitching_needs_recorded_parameters(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["run", "graph-stitching", "--preset", "tiny", "--set", "record_params=false",
            "--out", str(out), "--quiet"]
    assert main(argv) == 2
    assert "record_params" in capsys.readouterr().err
    assert not out.exists()


def test_presets_are_valid():
    for name in ("graph-generalization", "graph-stitching"):
        for preset in ("tiny", "default", "paper"):
            get(name).spec(preset).validate()
