"""The generic part of every report: a phase map and heatmaps over two swept axes of any run.

`write_report` calls `sweep_view` (checks the options), `sweep_summary` and `sweep_figures` after
the experiment's own summary, for every run with two or more swept axes (dims of ≥ 2 values other
than `seed`, static or dynamic), or when axes are asked for (`toymodels report RUN --phase X,Y`).
It draws

    phase-map.png         majority phase per cell (rule: `toymodels.theory.phases.member_phases`)
                          and its seed fraction; fitted boundaries; further axes as small multiples
    heatmap-<metric>.png  mean over seeds and seed range of a per-member quantity

and adds the key `phase_map` to summary.json: `axes` [x, y], `scales` {axis: log/linear/category},
`fixed` {axis: value}, `rule` (the phase rule and its options), `phase_counts` {phase: members},
`cells` (one row per cell: axis values, `phase`, `agreement`), `boundaries` (per panel: phases,
centre, direction, slope, rms, n_points, in real coordinates: log10 of a log axis), `metrics`
(the heatmaps drawn).

Metrics: `toymodels.theory.phases.member_metrics` (final value of every scalar observable,
t_train, t_test, grokking_delay), plus every numeric field of the study's own per-member rows
(`summary["members"]`, e.g. `circles`). Drawn by default: final_test_acc (or the final loss the
phase rule used), grokking_delay, and the study's own fields. Phase-rule options: a study whose
summary has `rule` {threshold, delay, budget} (e.g. grokking-phases) has its map drawn with them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from toymodels.experiments import Summary
from toymodels.experiments.common import scalar, sweep_dims
from toymodels.plots.phases import metric_heatmap, phase_map_figure
from toymodels.spec import ConfigError
from toymodels.theory.phases import (
    axis_scale,
    map_boundaries,
    member_metrics,
    member_phases,
    phase_map,
    phase_names,
)

RULE_KEYS = ("threshold", "delay", "budget")


def swept_axes(ds: xr.Dataset) -> list[str]:
    """Swept dims with at least two values, in the run's order."""
    return [d for d in sweep_dims(ds) if ds.sizes[d] >= 2]


def choose_axes(ds: xr.Dataset, axes: tuple[str, str] | None) -> tuple[str, str] | None:
    """The two map axes: those asked for (checked), else the two swept axes with most values."""
    if axes is None:
        swept = swept_axes(ds)
        if len(swept) < 2:
            return None
        ranked = sorted(swept, key=lambda d: -ds.sizes[d])[:2]
        return tuple(d for d in swept if d in ranked)
    known = sweep_dims(ds)
    for axis in axes:
        if axis not in known:
            raise ConfigError(f"--phase: {axis!r} is not a swept axis of this run; swept: {', '.join(known) or 'none'}")
    if len(set(axes)) != 2:
        raise ConfigError(f"--phase needs two different axes, got {','.join(axes)}")
    return axes


def coordinate_index(ds: xr.Dataset, key: str, text: Any) -> int:
    """Index along swept dim `key` of the value `text` (numbers matched to 1e-9 relative)."""
    if key not in sweep_dims(ds):
        raise ConfigError(f"--fix: {key!r} is not a swept axis of this run; swept: {', '.join(sweep_dims(ds))}")
    values = ds[key].values
    for i, v in enumerate(values):
        try:
            if np.isclose(float(v), float(text), rtol=1e-9, atol=0):
                return i
        except (TypeError, ValueError):
            if str(v) == str(text):
                return i
    raise ConfigError(f"--fix: {key}={text} is not a value of the run; values: {', '.join(map(str, values))}")


def rows_as_arrays(ds: xr.Dataset, rows: list[dict[str, Any]]) -> dict[str, xr.DataArray]:
    """Numeric scalar fields of a study's per-member rows, as DataArrays over the member dims."""
    template = ds["diverged_step"]
    dims = template.dims
    if not rows or not all(d in rows[0] for d in dims):
        return {}
    index = {d: {scalar(v): i for i, v in enumerate(ds[d].values)} for d in dims}
    keys = [k for k, v in rows[0].items() if k not in dims and k != "diverged"
            and isinstance(v, int | float) and not isinstance(v, bool)]
    arrays = {k: np.full(template.shape, np.nan) for k in keys}
    for row in rows:
        at = tuple(index[d].get(row[d]) for d in dims)
        if None in at:
            return {}
        for k in keys:
            value = row.get(k)
            arrays[k][at] = np.nan if value is None else float(value)
    return {k: xr.DataArray(v, coords=template.coords, dims=dims, name=k) for k, v in arrays.items()}


def cell_rows(pmap: xr.Dataset) -> list[dict[str, Any]]:
    """One row per cell of the map (all panels): axis values, majority phase, agreement."""
    names = pmap.attrs["phases"]
    majority, agreement = pmap["majority"], pmap["agreement"]
    rows = []
    for index in np.ndindex(*majority.shape):
        at = dict(zip(majority.dims, index, strict=True))
        rows.append({**{d: scalar(pmap[d].values[i]) for d, i in at.items()},
                     "phase": names[int(majority.isel(at))], "agreement": float(agreement.isel(at))})
    return rows


def panel_maps(pmap: xr.Dataset) -> list[tuple[dict[str, int], xr.Dataset]]:
    """The 2-D maps of each small multiple (order of `toymodels.plots.phases.panels`)."""
    x, y = pmap.attrs["x"], pmap.attrs["y"]
    extra = [d for d in pmap["majority"].dims if d not in (x, y)]
    return [(at := dict(zip(extra, index, strict=True)), pmap.isel(at))
            for index in np.ndindex(*(pmap.sizes[d] for d in extra))]


@dataclass(frozen=True)
class SweepView:
    """The checked choices of a sweep report: map axes, fixed axes, phase rule, metrics to draw."""

    x: str
    y: str
    fixed: dict[str, int]
    view: xr.Dataset
    rule: dict[str, Any]
    available: dict[str, xr.DataArray]
    drawn: list[str]


@dataclass(frozen=True)
class PhaseMapSummary(Summary):
    phase_map: dict[str, Any]


def sweep_view(ds: xr.Dataset, summary: dict[str, Any], *, axes: tuple[str, str] | None = None,
               metric: str | None = None, fix: dict[str, str] | None = None) -> SweepView | None:
    """Check the options against the run (ConfigError on a bad one); None when the run has < 2 swept
    axes and none are asked for, or no trained members (a study that stores only derived numbers)."""
    if "diverged_step" not in ds:
        if axes or metric or fix:
            raise ConfigError("--phase/--metric/--fix need a run of trained members; this study stores none")
        return None
    chosen = choose_axes(ds, axes)
    if chosen is None:
        if metric or fix:
            raise ConfigError("--metric/--fix need a run with two swept axes (or --phase X,Y)")
        return None
    x, y = chosen
    fixed = {key: coordinate_index(ds, key, value) for key, value in (fix or {}).items()}
    if set(fixed) & {x, y}:
        raise ConfigError(f"--fix: cannot fix a map axis ({', '.join(sorted(set(fixed) & {x, y}))})")
    view = ds.isel(fixed)
    given = summary.get("rule") if isinstance(summary.get("rule"), dict) else {}
    rule = {k: given[k] for k in RULE_KEYS if given.get(k) is not None}
    metrics = member_metrics(view, threshold=rule.get("threshold", 0.9), budget=rule.get("budget"))
    extra = {k: v.isel({d: i for d, i in fixed.items() if d in v.dims})
             for k, v in rows_as_arrays(ds, summary.get("members", [])).items()}
    available = {**{k: metrics[k] for k in metrics.data_vars}, **extra}
    if metric is not None and metric not in available:
        raise ConfigError(f"--metric: unknown metric {metric!r}; known: {', '.join(sorted(available))}")
    drawn = [metric] if metric else default_metrics(available, [k for k in extra if k not in metrics])
    return SweepView(x, y, fixed, view, rule, available, drawn)


def phases_of(view: SweepView) -> xr.DataArray | None:
    """Each member's phase under the view's rule (None when the run has no observable the rule reads)."""
    try:
        return member_phases(view.view, **view.rule)
    except ValueError:
        return None


def map_panels(phase: xr.DataArray, view: SweepView) -> tuple[xr.Dataset, list, list]:
    """The phase map, its small multiples and each panel's fitted boundaries."""
    pmap = phase_map(phase, view.x, view.y)
    panels = panel_maps(pmap)
    return pmap, panels, [map_boundaries(p) for _, p in panels]


def sweep_summary(ds: xr.Dataset, view: SweepView | None) -> PhaseMapSummary | None:
    """The `phase_map` key: axes, scales, fixed values, phase rule and counts, cells, boundaries, metrics."""
    if view is None:
        return None
    x, y = view.x, view.y
    scales = (axis_scale(ds[x].values), axis_scale(ds[y].values))
    result: dict[str, Any] = {"axes": [x, y], "scales": dict(zip((x, y), scales, strict=True)),
                              "fixed": {k: scalar(ds[k].values[i]) for k, i in view.fixed.items()}}
    phase = phases_of(view)
    if phase is not None:
        pmap, panels, bounds = map_panels(phase, view)
        result.update(
            rule={k: v for k, v in phase.attrs.items() if k != "phases"},
            phase_counts={n: int((phase == k).sum()) for k, n in enumerate(phase_names(phase))},
            cells=cell_rows(pmap),
            boundaries=[{**{d: scalar(pmap[d].values[i]) for d, i in at.items()}, "phases": list(b.phases),
                         "centre": b.centre.tolist(), "direction": b.direction.tolist(), "slope": b.slope(),
                         "rms": b.rms, "n_points": len(b.points)}
                        for (at, _), panel in zip(panels, bounds, strict=True) for b in panel],
        )
    result["metrics"] = view.drawn
    return PhaseMapSummary(result)


def sweep_figures(ds: xr.Dataset, view: SweepView | None) -> dict[str, Figure]:
    """phase-map (when a phase rule applies) and heatmap-<metric> for each metric drawn."""
    if view is None:
        return {}
    x, y = view.x, view.y
    scales = (axis_scale(ds[x].values), axis_scale(ds[y].values))
    figures = {}
    phase = phases_of(view)
    if phase is not None:
        pmap, _, bounds = map_panels(phase, view)
        lines = [[(" | ".join(b.phases), *b.segment()) for b in panel] for panel in bounds]
        figures["phase-map"] = phase_map_figure(pmap, lines, title=rule_title(phase.attrs,
                                                                              view.view.sizes.get("seed", 1)))
    for name in view.drawn:
        values = view.available[name]
        values = values.transpose(*(d for d in values.dims if d not in (x, y)), x, y)
        figures[f"heatmap-{name}"] = metric_heatmap(values, x, y, scales, title=f"{name} per member")
    return figures


def default_metrics(available: dict[str, xr.DataArray], extra: list[str]) -> list[str]:
    """final_test_acc (else the final loss), grokking_delay, and the study's own per-member fields."""
    first = next((m for m in ("final_test_acc", "final_test_loss", "final_loss", "final_train_loss")
                  if m in available), None)
    chosen = [m for m in (first, "grokking_delay") if m in available]
    return chosen + [k for k in extra if k not in chosen]


def rule_title(attrs: dict[str, Any], seeds: int) -> str:
    level = (f"acc ≥ {attrs['threshold']:g}" if attrs["rule"] == "accuracy"
             else f"loss ≤ {attrs['loss_level']:g}·initial")
    return (f"majority phase of {seeds} seed(s); % = its seed fraction < 100 %, bar = every phase's share\n"
            f"{attrs['rule']} rule: {level}, B = {attrs['budget']}, Δ = {attrs['delay']:g}")
