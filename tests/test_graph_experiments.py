"""The graph studies: their summaries on hand-built runs with known answers, and the tiny presets
end to end (figures and summary.json written by the framework)."""

import json

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import toymodels as tm
import toymodels.experiments as experiments
from toymodels.experiments import graph_generalization, graph_stitching
from toymodels.spec import ConfigError
from toymodels.tasks.graphs import RELATIONS

RECALLS = ("heldout_recall", "inferable_recall", "noninferable_recall")


# --- graph-generalization on a hand-built final step ------------------------------------------
def generalization_run(values: dict[str, np.ndarray], diverged: np.ndarray, ideal: float) -> xr.Dataset:
    """A one-step Dataset over (seed, wd) ∈ 4 × {0, 1} with the given per-member recalls."""
    dims = ("seed", "wd")
    coords = {"seed": np.arange(4), "wd": [0.0, 1.0], "step": [100], "relation": list(RELATIONS)}
    data = {name: (dims + ("step",), values[name][..., None]) for name in values}
    data["relation_recall"] = (dims + ("step", "relation"),
                               np.repeat(values["heldout_recall"][..., None, None], len(RELATIONS), -1))
    data["ideal_recall"] = (dims + ("step",), np.full((4, 2, 1), ideal))
    data["diverged_step"] = (dims, np.where(diverged, 50, -1))
    return xr.Dataset(data, coords=coords)


recall = st.floats(0, 1, allow_nan=False, width=32)


@settings(max_examples=25, deadline=None)
@given(values=st.lists(recall, min_size=8 * 3, max_size=8 * 3),
       diverged=st.lists(st.booleans(), min_size=8, max_size=8).filter(lambda d: sum(d[1::2]) < 4 and sum(d[::2]) < 4),
       ideal=st.floats(0.1, 1))
def test_generalization_summary_leaves_out_diverged_members(values, diverged, ideal):
    """Effects, point means and per-relation recall use exactly the non-diverged members."""
    arrays = {name: np.array(values[8 * i: 8 * (i + 1)]).reshape(4, 2) for i, name in enumerate(RECALLS)}
    arrays |= {"train_acc": np.ones((4, 2)), "test_acc": np.full((4, 2), 0.75), "test_specificity": np.ones((4, 2))}
    bad = np.array(diverged).reshape(4, 2)
    summary = graph_generalization.summarize(generalization_run(arrays, bad, ideal))
    assert summary.n_members == 8 and summary.n_diverged == bad.sum()
    assert summary.weight_decay["wd"] == [0.0, 1.0]
    for name in RECALLS:
        low, high = arrays[name][~bad[:, 0], 0], arrays[name][~bad[:, 1], 1]
        effect, strongest = summary.weight_decay[name], summary.strongest_wd[name]
        assert effect.value == pytest.approx(high.mean() - low.mean(), abs=1e-12)
        assert effect.n == len(low) + len(high) and effect.interval == "bootstrap"
        assert strongest.value == pytest.approx(high.mean()) and strongest.n == len(high)
        assert effect.lo <= effect.hi and strongest.lo <= strongest.hi
        by_wd = {row["wd"]: row for row in summary.by_point}
        assert by_wd[1.0][f"{name}_mean"] == pytest.approx(high.mean())
    healthy = arrays["heldout_recall"][~bad]
    assert summary.strongest_wd["heldout_over_ideal"].value == pytest.approx(
        arrays["heldout_recall"][~bad[:, 1], 1].mean() / ideal)
    assert summary.relation_recall["parent"] == pytest.approx(healthy.mean())
    assert [r["diverged"] for r in summary.members] == list(bad.ravel())


def test_generalization_summary_of_a_known_run():
    """Recalls 0.2–0.4 at wd 0 and 0.6–0.8 at wd 1 (one diverged member left out): the rise is 0.4."""
    arrays = {"inferable_recall": np.array([[0.2, 0.8], [0.3, 0.7], [0.4, 0.6], [0.3, 0.0]]),
              "noninferable_recall": np.zeros((4, 2)), "train_acc": np.ones((4, 2)),
              "test_acc": np.ones((4, 2)), "test_specificity": np.ones((4, 2))}
    arrays["heldout_recall"] = 0.8 * arrays["inferable_recall"]   # ideal 0.8: a fifth is not inferable
    bad = np.array([[False, False], [False, False], [False, False], [False, True]])
    summary = graph_generalization.summarize(generalization_run(arrays, bad, ideal=0.8))
    assert summary.weight_decay["inferable_recall"].value == pytest.approx(0.7 - 0.3)
    assert summary.strongest_wd["heldout_over_ideal"].value == pytest.approx(0.7)
    assert summary.strongest_wd["noninferable_recall"].value == 0
    data = summary.to_json()
    assert data["weight_decay"]["inferable_recall"]["interval"] == "bootstrap"
    assert "mean" not in data["strongest_wd"]["heldout_over_ideal"]


# --- graph-stitching on members with known relations --------------------------------------------
def permuted(ds: xr.Dataset, seed: int, source: int, order: np.ndarray) -> xr.Dataset:
    """Member `seed`'s final parameters := member `source`'s with the first hidden layer's units
    permuted by `order` (the same function, a_1 permuted)."""
    ds = ds.copy(deep=True)
    final = {"seed": seed, "step": -1}
    src = ds.isel(seed=source, step=-1)
    ds["param_w1"][final] = src["param_w1"].values[:, order]
    ds["param_b1"][final] = src["param_b1"].values[order]
    ds["param_w2"][final] = src["param_w2"].values[order, :]
    for name in ("param_entity", "param_relation", "param_b2", "param_w_out", "param_b_out"):
        ds[name][final] = src[name].values
    return ds


@pytest.fixture(scope="module")
def stitching_run() -> xr.Dataset:
    return tm.run(graph_stitching.tiny(), quiet=True)


@pytest.mark.filterwarnings("ignore:invalid value encountered in divide")  # CKA ≡ 1: its correlation is NaN
def test_permuted_copies_stitch_perfectly_and_a_dead_bottom_cannot(stitching_run):
    """Seeds 1, 2 := seed 0 with its hidden units permuted: CKA 1 and ridge penalty ≈ 0 between all
    of them. The control bottom (seed 0 at step 0) := all-zero weights, whose a_1 is constant: every
    stitch through it predicts one class, balanced accuracy exactly ½."""
    rng = np.random.default_rng(0)
    width = stitching_run.sizes["hidden"]
    ds = permuted(permuted(stitching_run, 1, 0, rng.permutation(width)), 2, 0, rng.permutation(width))
    for name in (n for n in ds.data_vars if str(n).startswith("param_")):
        ds[name][{"seed": 0, "step": 0}] = 0.0
    summary = graph_stitching.summarize(ds)
    own = np.array(summary.own_acc)
    assert own == pytest.approx(np.full(3, own[0]), abs=1e-6) and own[0] > 0.5
    assert np.array(summary.cka) == pytest.approx(np.ones((3, 3)), abs=1e-4)
    assert np.array(summary.ridge_acc) == pytest.approx(np.full((3, 3), own[0]), abs=0.02)
    assert abs(summary.trained_penalty["ridge"].value) < 0.02
    assert summary.penalty["ridge"]["cross_size"] is None   # one width: every A ≠ B pair is same_size
    assert np.array(summary.control_ridge_acc) == pytest.approx(np.full((1, 3), 0.5), abs=1e-6)
    assert summary.penalty["ridge"]["control"] == pytest.approx(own[0] - 0.5, abs=1e-6)
    assert summary.control_gap["ridge"].value == pytest.approx(
        own[0] - 0.5 - summary.trained_penalty["ridge"].value, abs=1e-6)
    assert summary.cka_vs_acc_corr["ridge"] is None or np.isnan(summary.cka_vs_acc_corr["ridge"])
    fit = summary.task_fit
    assert (fit["converged"] == 1.0) == (fit["max_grad_norm"] < fit["tol"])
    assert summary.control_members == ["untrained seed=0"]


def test_stitching_needs_recorded_parameters():
    spec = graph_stitching.tiny().set("record_params", "false")
    with pytest.raises(ConfigError, match="record_params"):
        graph_stitching.check(spec)


def test_stitching_refuses_a_sweep_over_graphs():
    spec = graph_stitching.tiny().with_sweep("graph_seed", ["0", "1"])
    with pytest.raises(ConfigError, match="cannot stitch across"):
        graph_stitching.shared_split(spec)


# --- the tiny presets through the framework ----------------------------------------------------
@pytest.mark.parametrize(("name", "figures"), [
    ("graph-generalization", {"curves", "recall", "relations"}),
    ("graph-stitching", {"curves", "stitching", "cka", "similarity"}),
])
def test_tiny_preset_writes_its_summary_and_figures(tmp_path, monkeypatch, name, figures):
    monkeypatch.setattr(experiments, "discover", lambda: experiments.REGISTRY)  # only these studies
    out = tmp_path / "run"
    summary = experiments.run_and_report(name, "tiny", experiments.REGISTRY[name].spec("tiny"), out, quiet=True)
    assert set(summary["figures"]) >= figures
    assert {p.stem for p in out.glob("*.png")} == set(summary["figures"])
    assert json.loads((out / "summary.json").read_text()) == summary
    for claim in experiments.REGISTRY[name].claims:   # every claimed key is in the summary
        node = summary
        for part in claim.key.split("/"):
            node = node[part]
        assert set(node) == {"value", "lo", "hi", "n", "interval", "level"}


def test_presets_are_valid():
    for module in (graph_generalization, graph_stitching):
        for preset in (module.tiny, module.default, module.paper):
            preset().validate()
