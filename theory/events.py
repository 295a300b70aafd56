"""When things happen along a trajectory."""

from __future__ import annotations

import xarray as xr


def first_step(condition: xr.DataArray, dim: str = "step") -> xr.DataArray:
    """t* = min {t : condition(t)} for every member; NaN where the condition never holds."""
    hit = condition.any(dim)
    return condition[dim][condition.argmax(dim)].where(hit).drop_vars(dim, errors="ignore")
