"""Phase maps for any run: member phases by rule, maps over two axes, boundaries in real coordinates,
the generic report step and its command line."""

from __future__ import annotations

import json

import matplotlib.pyplot as plt
import numpy as np
import pytest
import xarray as xr
from hypothesis import given
from hypothesis import strategies as st

from toymodels.experiments.sweep_report import sweep_figures, sweep_summary, sweep_view
from toymodels.plots.phases import cell_edges
from toymodels.spec import ConfigError
from toymodels.theory.phases import (
    axis_scale,
    map_boundaries,
    member_metrics,
    member_phases,
    phase_boundaries,
    phase_map,
    real_coordinates,
)

STEPS = np.arange(0, 4001, 100)


def step_curve(hit: int | None) -> np.ndarray:
    """0 before the first hit, 1 from it on (None = never)."""
    return np.zeros(len(STEPS)) if hit is None else (hit <= STEPS).astype(float)


def accuracy_run(hits: np.ndarray) -> xr.Dataset:
    """A Dataset like the engine's, from an array (seed, a, b) of (t_train, t_test) pairs."""
    shape = hits.shape[:-1]
    dims = ("seed", "a", "b")[: len(shape)]
    train = np.stack([step_curve(t) for t in hits[..., 0].ravel()]).reshape(*shape, len(STEPS))
    test = np.stack([step_curve(t) for t in hits[..., 1].ravel()]).reshape(*shape, len(STEPS))
    coords = {"seed": np.arange(shape[0]), "step": STEPS}
    if len(shape) > 1:
        coords["a"] = np.logspace(-3, -1, shape[1])
    if len(shape) > 2:
        coords["b"] = np.linspace(0.2, 0.8, shape[2])
    return xr.Dataset({"train_acc": ((*dims, "step"), train), "test_acc": ((*dims, "step"), test),
                       "diverged_step": (dims, np.full(shape, -1))}, coords=coords)


def test_member_phases_on_constructed_curves():
    # comprehension, grokking (delay 2900 > Δ), memorization, confusion, and the gap case
    hits = np.array([(100, 200), (100, 3000), (100, None), (None, None), (None, 500)], dtype=object)
    phase = member_phases(accuracy_run(hits), delay=1000)
    names = [phase.attrs["phases"][k] for k in phase.values]
    assert names == ["comprehension", "grokking", "memorization", "confusion", "comprehension"]


def name_of(phase: xr.DataArray) -> str:
    return phase.attrs["phases"][int(phase.item())]


def test_default_delay_is_a_tenth_of_the_budget():
    # a 300-step delay: grokking when Δ = B/10 = 100 (B = 1000), comprehension when Δ = 400 (B = 4001)
    run = accuracy_run(np.array([[(100, 400)]], dtype=object)).isel(seed=0)
    assert name_of(member_phases(run.sel(step=slice(0, 999)))) == "grokking"
    assert name_of(member_phases(run)) == "comprehension"


def test_loss_rule_and_learning_rule():
    decay = np.exp(-STEPS / 300.0)  # reaches 0.1 of its start at t = 691 → first logged step 700
    flat = np.ones(len(STEPS))
    ds = xr.Dataset({"train_loss": (("seed", "step"), np.stack([decay, decay, flat])),
                     "test_loss": (("seed", "step"), np.stack([decay, flat, flat])),
                     "diverged_step": ("seed", [-1, -1, -1])}, coords={"seed": [0, 1, 2], "step": STEPS})
    phase = member_phases(ds)
    assert phase.attrs["rule"] == "loss"
    assert [phase.attrs["phases"][k] for k in phase.values] == ["comprehension", "memorization", "confusion"]
    single = member_phases(ds[["train_loss", "diverged_step"]])
    assert single.attrs["rule"] == "learning"
    assert [single.attrs["phases"][k] for k in single.values] == ["learned", "learned", "not learned"]
    with pytest.raises(ValueError):
        member_phases(ds[["diverged_step"]])


@pytest.mark.parametrize(("values", "scale"), [
    (np.logspace(-4, -2, 11), "log"), ((0.1, 0.3, 1.0, 3.0), "log"), ((0.01, 0.1), "log"),
    ((0.0, 1.0, 2.0, 4.0), "linear"), ((0.2, 0.4, 0.6, 0.8), "linear"), ((0.3, 0.5, 0.8), "linear"),
    (("add", "multiply"), "category"),
])
def test_axis_scale(values, scale):
    assert axis_scale(np.array(values)) == scale


@given(st.lists(st.integers(-600, 600), min_size=1, max_size=8, unique=True), st.sampled_from(["log", "linear"]))
def test_cells_contain_their_values_at_true_positions(steps, scale):
    """Any sorted sweep from 1e-6 to 1e6 on a grid of 10^0.01 (log) or 0.01 (linear): values a sweep can
    tell apart (floats one ulp apart have one log10, so no edge fits between them)."""
    values = np.sort(10.0 ** (np.array(steps) / 100) if scale == "log" else np.array(steps) / 100)
    edges = cell_edges(values, scale)
    assert len(edges) == len(values) + 1
    assert np.all(np.diff(edges) > 0)
    assert np.all((edges[:-1] < values) & (values < edges[1:]))


def test_phase_map_majority_and_seed_fraction():
    # 3 seeds on a 2 × 2 grid: cell (0, 0) 2 of 3 grokking, the rest unanimous
    codes = np.array([[[1, 0], [2, 3]], [[1, 0], [2, 3]], [[0, 0], [2, 3]]])
    phase = xr.DataArray(codes, dims=("seed", "lr", "wd"),
                         coords={"seed": [0, 1, 2], "lr": [1e-3, 1e-2], "wd": [0.0, 1.0]})
    pmap = phase_map(phase, "lr", "wd")
    assert pmap["majority"].values.tolist() == [[1, 0], [2, 3]]
    np.testing.assert_allclose(pmap["agreement"].values, [[2 / 3, 1], [1, 1]])
    assert pmap.attrs["x_scale"] == "log" and pmap.attrs["y_scale"] == "linear"
    with pytest.raises(ValueError):
        phase_map(phase, "lr", "seed")


def test_boundary_fitted_in_real_coordinates():
    """Cells are comprehension below the line wd = 12 + 3·log10(lr), confusion above: the fitted
    boundary has slope 3 in (log10 lr, wd), which the grid index (11 lrs, 11 wds) would not give."""
    lrs, wds = np.logspace(-4, -2, 11), np.arange(11.0)
    above = wds[None, :] > 12 + 3 * np.log10(lrs)[:, None]
    cells = np.where(above, 3, 0)
    phase = xr.DataArray(cells[None], dims=("seed", "lr", "wd"), coords={"seed": [0], "lr": lrs, "wd": wds})
    (line,) = map_boundaries(phase_map(phase, "lr", "wd"))
    assert line.phases == ("comprehension", "confusion")
    assert line.slope() == pytest.approx(3.0, rel=0.1)
    assert line.centre[1] == pytest.approx(12 + 3 * line.centre[0], abs=0.6)  # within a cell of the line
    (index_line,) = phase_boundaries(cells)
    assert index_line.slope() == pytest.approx(3 * 0.2, rel=0.15)  # grid units: 0.2 decades per column


def test_member_metrics_grokking_delay():
    hits = np.array([(100, 3000), (100, None)], dtype=object)
    metrics = member_metrics(accuracy_run(hits))
    assert metrics["grokking_delay"].values[0] == 2900
    assert np.isnan(metrics["grokking_delay"].values[1])
    assert metrics["final_test_acc"].values.tolist() == [1.0, 0.0]


def grid_run() -> xr.Dataset:
    """3 seeds × 3 lrs × 2 fractions: generalises late at large lr, never at the smallest."""
    hits = np.empty((3, 3, 2, 2), dtype=object)
    for s in range(3):
        hits[s, 0] = (100, None)
        hits[s, 1] = (100, 300)
        hits[s, 2] = (100, 3000 if s < 2 else 300)
    ds = accuracy_run(hits)
    ds.attrs["config"] = json.dumps({"experiment": "none", "preset": "tiny", "spec": {}})
    return ds


def sweep_report(ds: xr.Dataset, summary: dict, **options) -> dict:
    """The phase_map key of the generic report (what `write_report` adds to summary.json)."""
    return sweep_summary(ds, sweep_view(ds, summary, **options)).to_json()


def test_sweep_report_draws_map_heatmaps_and_summarizes():
    ds = grid_run()
    rows = [{"seed": int(s), "a": float(a), "b": float(b), "circles": float(s), "diverged": False}
            for s in ds["seed"].values for a in ds["a"].values for b in ds["b"].values]
    result = sweep_report(ds, {"members": rows})["phase_map"]
    assert result["axes"] == ["a", "b"] and result["scales"] == {"a": "log", "b": "linear"}
    assert result["phase_counts"] == {"comprehension": 8, "grokking": 4, "memorization": 6, "confusion": 0}
    cell = next(c for c in result["cells"] if c["a"] == pytest.approx(0.1) and c["b"] == pytest.approx(0.2))
    assert cell["phase"] == "grokking" and cell["agreement"] == pytest.approx(2 / 3)
    assert result["metrics"] == ["final_test_acc", "grokking_delay", "circles"]
    figures = sweep_figures(ds, sweep_view(ds, {"members": rows}))
    assert sorted(figures) == ["heatmap-circles", "heatmap-final_test_acc", "heatmap-grokking_delay", "phase-map"]
    plt.close("all")


def test_sweep_report_fix_small_multiples_and_bad_input():
    ds = grid_run()
    with pytest.raises(ConfigError, match="not a swept axis"):
        sweep_report(ds, {}, axes=("a", "nope"))
    with pytest.raises(ConfigError, match="unknown metric"):
        sweep_report(ds, {}, metric="nope")
    with pytest.raises(ConfigError, match="not a value"):
        sweep_report(ds.expand_dims(c=[1.0, 2.0]).transpose("seed", "c", ...), {},
                     axes=("a", "b"), fix={"c": "3"})
    three = ds.expand_dims(c=[1.0, 2.0]).transpose("seed", "c", "a", "b", "step")
    many = sweep_report(three, {}, axes=("a", "b"))["phase_map"]
    assert len(many["cells"]) == 2 * 3 * 2  # one panel per value of c
    fixed = sweep_report(three, {}, axes=("a", "b"), fix={"c": "2"})["phase_map"]
    assert fixed["fixed"] == {"c": 2.0} and len(fixed["cells"]) == 3 * 2


def test_real_coordinates_of_log_axis():
    np.testing.assert_allclose(real_coordinates(np.array([1e-4, 1e-3, 1e-2])), [-4, -3, -2])


def test_phases_preset_mechanics_and_report_flags(tmp_path, capsys):
    """The `phases` preset cut to 2 × 2 cells, 1 seed, 100 steps: map, heatmaps, CLI flags."""
    from toymodels.experiments.cli import main

    out = tmp_path / "run"
    assert main(["run", "modular-addition", "--preset", "phases", "--set", "steps=100", "--sweep", "wd=0.1,1",
                 "--sweep", "train_fraction=0.3,0.8", "--seeds", "1", "--out", str(out), "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text())["phase_map"]
    assert summary["axes"] == ["wd", "train_fraction"] and summary["scales"]["wd"] == "log"
    assert len(summary["cells"]) == 4 and sum(summary["phase_counts"].values()) == 4
    assert "circles" in summary["metrics"] and (out / "heatmap-circles.png").exists()
    capsys.readouterr()
    assert main(["report", str(out), "--phase", "wd,nope"]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert main(["report", str(out), "--phase", "train_fraction,wd", "--metric", "grokking_delay"]) == 0
    assert json.loads((out / "summary.json").read_text())["phase_map"]["metrics"] == ["grokking_delay"]
    assert main(["report", str(out), "--fix", "seed=0"]) == 2
    # a bad flag is refused before anything is drawn: the figures of the last report stay as they were
    before = {p.name: p.stat().st_mtime_ns for p in out.glob("*.png")}
    assert main(["report", str(out), "--metric", "nope"]) == 2
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.png")} == before
    # the default report draws all heatmaps again; a --metric report removes the ones it no longer draws
    assert main(["report", str(out)]) == 0
    assert (out / "heatmap-circles.png").exists()
    assert main(["report", str(out), "--metric", "grokking_delay"]) == 0
    assert not (out / "heatmap-circles.png").exists() and (out / "heatmap-grokking_delay.png").exists()
