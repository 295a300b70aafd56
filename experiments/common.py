"""Helpers shared by the studies: the stored config and Spec, member dims, per-member rows, nested
summary dicts, and several engine runs stored as one run folder."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from toymodels import engine, store
from toymodels.spec import Spec


def config_of(ds: xr.Dataset) -> dict[str, Any]:
    """The config a run was made with (experiment, preset, spec), from the Dataset's attrs."""
    return json.loads(ds.attrs["config"])


def spec_of(ds: xr.Dataset) -> Spec:
    """The `Spec` the run was made with."""
    return spec_of_config(config_of(ds))


def spec_of_config(config: dict[str, Any]) -> Spec:
    """The `Spec` of a stored config (its system found by name among `toymodels.SYSTEMS`)."""
    from toymodels import SYSTEMS

    return Spec.from_dict(config["spec"], SYSTEMS)


def member_dims(ds: xr.Dataset) -> tuple[str, ...]:
    """The dims that index members (static axes, seed, dynamic axes): those of `diverged_step`."""
    return tuple(ds["diverged_step"].dims)


def sweep_dims(ds: xr.Dataset) -> tuple[str, ...]:
    """The member dims other than `seed`: the swept axes."""
    return tuple(d for d in member_dims(ds) if d != "seed")


def scalar(x: Any) -> Any:
    """A JSON-ready Python scalar (None for NaN/inf); lists stay lists."""
    value = np.asarray(x)
    if value.ndim:
        return [scalar(v) for v in value]
    item = value.item()
    return None if isinstance(item, float) and not np.isfinite(item) else item


def member_rows(ds: xr.Dataset, values: Mapping[str, xr.DataArray]) -> list[dict[str, Any]]:
    """One summary row per member: its coordinates, `diverged`, and each of `values` at that member.

    `values` maps a row key to a DataArray over (a subset of) the member dims, plus any further
    dims (then the row holds a list).
    """
    dims = member_dims(ds)
    rows = []
    for index in np.ndindex(*ds["diverged_step"].shape):
        at = dict(zip(dims, index, strict=True))
        row = {d: scalar(ds[d].values[i]) for d, i in at.items()}
        for key, da in values.items():
            row[key] = scalar(da.isel({d: i for d, i in at.items() if d in da.dims}).values)
        row["diverged"] = bool(ds["diverged_step"].isel(at) >= 0)
        rows.append(row)
    return rows


def nested(values: xr.DataArray, *dims: str) -> Any:
    """{dim0 value: {dim1 value: … float}} (NaN stays NaN: `to_json` writes it as null)."""
    if not dims:
        return float(values)
    keys = values[dims[0]].values
    return {key_text(k): nested(values.sel({dims[0]: k}), *dims[1:]) for k in keys}


def key_text(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float | np.floating) else str(value)


def train_parts(parts: Mapping[str, Spec], spec: Spec, out: Path | None, *,
                combine: Callable[[dict[str, xr.Dataset]], xr.Dataset], quiet: bool = False,
                checkpoint_seconds: float = 10.0, metadata: Mapping[str, Any] | None = None) -> xr.Dataset:
    """engine.run each part (into out/parts/<name>, each resumable), then `combine` and store.

    `combine(results: dict[str, Dataset]) -> Dataset`; the combined Dataset is what `load(out)`
    returns. `out` is claimed for `spec` first (`store.finished_or`), so a different run there
    is refused and a finished one is loaded.
    """
    def compute() -> xr.Dataset:
        results = {
            name: engine.run(part, None if out is None else store.RunFolder(out).part(name).path, quiet=quiet,
                             checkpoint_seconds=checkpoint_seconds,
                             metadata={**(metadata or {}), "part": name})
            for name, part in parts.items()
        }
        ds = combine(results)
        ds.attrs = {"timings": json.dumps({k: json.loads(v.attrs["timings"]) for k, v in results.items()})}
        return ds

    return store.finished_or(out, {**(metadata or {}), "spec": spec.to_dict()}, compute)
