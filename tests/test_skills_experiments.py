"""The skill studies: tiny presets trained end to end through each experiment's own train/summarize/
figures (what `toymodels run` calls), and hand-built Datasets with known crossing steps and losses,
whose summaries are known in advance. Every default preset runs in tests/test_claims.py."""

from __future__ import annotations

import json

import matplotlib.pyplot as plt
import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import toymodels as tm
from toymodels.experiments import (  # noqa: F401 (importing a study registers it)
    REGISTRY,
    domino_two_tasks,
    skills_mlp,
    skills_modularity,
    skills_scaling,
    skills_zipf,
)
from toymodels.spec import ConfigError


def run_tiny(name: str, out) -> tuple[dict, list[str]]:
    """Train the tiny preset of `name` into `out`, then its summary (as JSON) and figure names."""
    experiment = REGISTRY[name]
    spec = experiment.spec("tiny")
    experiment.check(spec)
    experiment.run(spec, out, quiet=True, metadata={"experiment": name, "preset": "tiny"})
    ds = tm.load(out)
    summary = experiment.summarize(ds)
    try:
        names = sorted(experiment.figures(ds, summary))
    finally:
        plt.close("all")
    return json.loads(json.dumps(summary.to_json())), names


def hand_built(spec: tm.Spec, **variables: xr.DataArray) -> xr.Dataset:
    """A Dataset as a run of `spec` would store it (its config in the attrs), with the given variables."""
    ds = xr.Dataset(variables)
    ds.attrs["config"] = json.dumps({"experiment": "hand-built", "preset": "tiny", "spec": spec.to_dict()})
    return ds


def test_domino_two_tasks(tmp_path):
    """SGD pays t2/t1 ≈ p1/p2, SignGD far less (Domino), Adam in between; a rare task missing from some
    sampled batches is learned later than with the full batch."""
    summary, figures = run_tiny("domino-two-tasks", tmp_path)
    assert figures == ["domino-ratio", "domino-skills"]
    ratio = summary["t2_over_t1"]
    assert all(abs(v["0.5"] - 1) < 0.2 for v in ratio.values())
    assert ratio["sgd"]["0.9"] > 6 > 2.5 > ratio["signgd"]["0.9"] > 1.3
    assert ratio["signgd"]["0.9"] < ratio["adam"]["0.9"] < ratio["sgd"]["0.9"]
    control = summary["batch_control"]
    sampled, full = control[f"batch_{control['batch']}"], control["full_batch"]
    assert min(sampled["n"], full["n"]) >= 10 and sampled["interval"] == "student-t"
    assert sampled["value"] > full["value"]


def test_bad_option_is_a_config_error():
    with pytest.raises(ConfigError, match="vectors must be one of"):
        REGISTRY["domino-two-tasks"].spec("tiny").set("vectors", "spiral").validate()


def test_skills_zipf(tmp_path):
    """One fitted N0 per seed makes the Resource model follow the Geometry skill curves (RMS error
    below 0.15), the two seeds agree on it within a factor 2, both models learn the skills in the
    same order, and the Resource closed form collapses exactly while the Geometry run does not."""
    summary, figures = run_tiny("skills-zipf", tmp_path)
    assert figures == ["skills-zipf-collapse", "skills-zipf-models", "skills-zipf-n0"]
    assert max(summary["N0_fit_mse"].values()) < 0.15**2
    n0 = list(summary["N0_fit"].values())
    assert max(n0) < 2 * min(n0)
    assert summary["N0_fit_interval"]["value"] == pytest.approx(np.mean(n0)) == summary["N0_fit_mean"]
    for key in ("t90_geometry", "t90_resource_fit", "t90_resource_N0_0.003", "t90_domino"):
        t90 = [summary[key][str(i)] for i in range(1, 6)]
        assert t90 == sorted(t90), key
    assert summary["collapse_spread_resource_fit"] < 1e-6 < summary["collapse_spread"]


def test_skills_scaling(tmp_path):
    """Steeper Zipf tails give larger exponents, and SignGD's α_S exceeds Adam's at α = 2 (the paper's
    Fig10 ordering); the exponents carry a bootstrap interval over the 2 seeds around them."""
    summary, figures = run_tiny("skills-scaling", tmp_path)
    assert figures == ["skills-scaling-adam", "skills-scaling-exponents", "skills-scaling-signgd"]
    for name in ("signgd", "adam"):
        assert summary["alpha_S"][name]["2"] > summary["alpha_S"][name]["1"]
        assert summary["alpha_N"][name]["2"] > summary["alpha_N"][name]["1"]
        for key in ("alpha_N", "alpha_S"):
            estimate = summary[f"{key}_interval"][name]["2"]
            assert estimate["interval"] == "bootstrap" and estimate["n"] == 2
            assert estimate["value"] == summary[key][name]["2"]
    gap = summary["alpha_S"]["signgd"]["2"] - summary["alpha_S"]["adam"]["2"]
    assert summary["alpha_S_gap"]["2"] == pytest.approx(gap) and gap > 0
    assert summary["alpha_N_dims"] == [40, 220] and summary["alpha_S_window"] == [80, 200, 40]


def test_modular_mlp_tiny_run(tmp_path):
    """End to end (tiny): the dense network learns the frequent task before the rare one."""
    summary, figures = run_tiny("skills-modular-mlp", tmp_path)
    assert figures == ["skills-modular-mlp"]
    assert summary["t_learn"]["dense"]["1"] <= summary["t_learn"]["dense"]["2"]


# --- hand-built runs: known crossing steps give known summaries -------------------------------
def step_curves(crossing: np.ndarray, steps: np.ndarray, before: float, after: float) -> np.ndarray:
    """Curves over `steps` (last axis) equal to `before` until index `crossing`, `after` from it on."""
    return np.where(np.arange(len(steps)) >= crossing[..., None], after, before)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(1, 21), min_size=12, max_size=12))
def test_modular_mlp_summary_of_known_crossings(indices):
    """t_k = first logged step with task MSE < 1e-3, the last step when never (index 21 = never):
    t2/t1 is the seed median with the seed range, above_2t1 the fraction of seeds with t2 > 2 t1."""
    spec = skills_mlp.modular(seeds=3, steps=200, log_every=10)
    steps = np.arange(0, 201, 10)
    index = np.array(indices).reshape(3, 2, 2)                    # seed, modular, task
    loss = step_curves(index, steps, 1.0, 1e-4)
    ds = hand_built(spec, task_loss=xr.DataArray(loss, dims=("seed", "modular", "task", "step"), coords={
        "seed": [0, 1, 2], "modular": [False, True], "task": [1, 2], "step": steps}))
    summary = skills_mlp.modular_summary(ds)
    t = np.where(index < len(steps), steps[np.minimum(index, len(steps) - 1)], 200).astype(float)
    for m, net in enumerate(("dense", "modular")):
        ratio = t[:, m, 1] / t[:, m, 0]
        estimate = summary.t2_over_t1[net]
        assert (estimate.value, estimate.lo, estimate.hi, estimate.n) == (np.median(ratio), ratio.min(),
                                                                          ratio.max(), 3)
        assert summary.above_2t1[net] == np.mean(ratio > 2)
        assert summary.t_learn[net] == {"1": np.median(t[:, m, 0]), "2": np.median(t[:, m, 1])}


def test_composition_and_rare_task_summaries_of_known_crossings():
    """Accuracy crossing 0.9 at known steps: t3 / max(t1, t2) per seed (two seeds: a mean, no
    interval), t3 of the separate parity over the composed one, and t2/t1 per rare fraction."""
    steps = np.arange(0, 101, 10)
    crossing = np.array([[[1, 2, 5], [2, 1, 8]],                      # seed 0: composed, separate
                         [[1, 4, 6], [3, 1, 10]]])                    # seed 1
    acc = step_curves(crossing, steps, 0.5, 1.0)
    coords = {"seed": [0, 1], "tasks": ["composed", "separate"], "task": [1, 2, 3], "step": steps}
    ds = hand_built(skills_mlp.composition(2, 100), acc=xr.DataArray(acc, dims=tuple(coords), coords=coords))
    summary = json.loads(json.dumps(skills_mlp.composition_summary(ds).to_json()))
    assert summary["t90"]["composed"] == {"1": 10.0, "2": 30.0, "3": 55.0}
    assert summary["t3_over_parts"]["composed"] == {"value": (50 / 20 + 60 / 40) / 2, "lo": None, "hi": None,
                                                    "n": 2, "interval": "student-t", "level": 0.95}
    assert summary["separate_over_composed"] == pytest.approx(90 / 55)

    crossing = np.array([[[2, 4], [2, 10]], [[1, 3], [2, 11]], [[3, 3], [1, 7]]])  # seed, p_rare, task
    coords = {"seed": [0, 1, 2], "p_rare": [1.0, 0.1], "task": [1, 2], "step": steps}
    acc = step_curves(crossing, steps, 0.5, 1.0)
    ds = hand_built(skills_mlp.rare((1.0, 0.1), 3), acc=xr.DataArray(acc, dims=tuple(coords), coords=coords))
    summary = skills_mlp.rare_summary(ds)
    common, rare = summary.t2_over_t1["1"], summary.t2_over_t1["0.1"]
    assert common.value == pytest.approx(2.0) and common.lo < 2 < common.hi   # ratios 2, 3, 1
    assert rare.n == 2 and rare.value == pytest.approx(6.0)                   # task 2 never learned by seed 1
    assert summary.p1_over_p2 == {"1": 1.0, "0.1": 10.0}


def test_modularity_summary_of_known_losses():
    """L_random / L_modular at the last step, from the seed-mean loss of non-diverged members."""
    spec = skills_modularity.tiny()
    steps = np.array([0, 100, 200])
    speedup = np.array([[1.5, 3.0], [2.0, 5.0]])                      # d × alpha
    modular = np.full((2, 2, 3), 0.01)
    final = np.stack([modular * speedup[..., None], modular])        # vectors, d, alpha, step
    loss = np.stack([final, final, final])                            # 3 seeds
    loss[2, 0, 1, 1] = 99.0                                           # a diverged member: left out
    coords = {"seed": [0, 1, 2], "vectors": ["random", "modular"], "d": [5, 10], "alpha": [1.0, 2.0], "step": steps}
    diverged = np.full(loss.shape[:-1], -1)
    diverged[2, 0, 1, 1] = 100
    ds = hand_built(spec, loss=xr.DataArray(loss, dims=tuple(coords), coords=coords),
                    diverged_step=xr.DataArray(diverged, dims=tuple(coords)[:-1]))
    summary = skills_modularity.summarize(ds)
    for d, row in (("5", (1.5, 3.0)), ("10", (2.0, 5.0))):
        assert [summary.speedup[d][a] for a in ("1", "2")] == pytest.approx(row)
    assert summary.speedup_largest_alpha == pytest.approx(5.0)
    assert summary.speedup_growth == pytest.approx(2.5)
