"""`toymodels fit RUN --var NAME --model M [--fit-fraction F] [--share DIM[,DIM] [--holdout H]]`: an ODE
fitted to any run.

The model names are command-line spellings of the model objects of `toymodels.theory.odes`
(`MODELS`: "linear" = `Linear()`, least squares; "glv" = `GLV()`, no ridge; "mean-field" =
`MeanField()`, floor 0). `--share seed`: one parameter set shared by the seeds (one per value of
the other member coordinates); `--holdout H`: the fraction H ∈ (0, 1) of the seeds held out of the
fit and only evaluated (evenly spread, `theory.odes.heldout_keys`). Loads the finished
run in RUN, takes the observable NAME (dims: member dims, `step`, at most one variable dim),
drops members with non-finite values (diverged), fits the model to the first F of the steps of
every member (`toymodels.theory.odes.fit_ode`), rolls it out to the last record, and
writes into RUN:
    fit-<var>-<model>.json   model, fit window, median one-step / in-window / out-of-window R²
                             (over the fitted members with a finite R²), `n_diverged_rollouts` (rollouts
                             that left the finite numbers: R² −inf, not in the medians), `n_params` (of
                             one parameter set), `share`, `holdout`, `n_heldout`, the held-out members'
                             median R² over every record (`r2_heldout`) and after the window
                             (`r2_out_heldout`) (None without holdout), one row per member (its
                             coordinates, R²s, parameters, `aic` of its set, `heldout`, `rollout_diverged`)
    (with --share the files are fit-<var>-<model>-shared-<dims>.*)
    fit-<var>-<model>.png    data vs rollout for the best, two typical and the worst member (by R²
                             after the window), fitted window shaded
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from toymodels.experiments import to_json
from toymodels.experiments.common import member_dims, scalar
from toymodels.plots import save_figure
from toymodels.plots.odes import fit_figure
from toymodels.spec import require
from toymodels.store import load, write_json_atomic
from toymodels.theory.estimate import member_range
from toymodels.theory.odes import GLV, Linear, MeanField, ODEFit, ODEModel, fit_ode

DEFAULT_FIT_FRACTION = 0.2
MODELS: dict[str, ODEModel] = {"linear": Linear(), "glv": GLV(), "mean-field": MeanField()}   # --model spellings


def observable(ds: xr.Dataset, var: str) -> tuple[xr.DataArray, str | None]:
    """The observable `var` over finite members stacked along `member`, and its variable dim."""
    known = ", ".join(sorted(map(str, ds.data_vars)))
    require(var in ds.data_vars, f"no variable {var!r} in the run; variables: {known}")
    da = ds[var]
    members = [d for d in member_dims(ds) if d in da.dims]
    require("step" in da.dims, f"{var!r} has no 'step' dim (dims {da.dims}); pick a recorded observable")
    var_dims = [d for d in da.dims if d not in members and d != "step"]
    require(len(var_dims) <= 1, f"{var!r} has {len(var_dims)} variable dims {var_dims}; fit needs at most one")
    require(np.issubdtype(da.dtype, np.number) and not np.issubdtype(da.dtype, np.bool_),
            f"{var!r} is not numeric")
    flat = da.astype(np.float64)
    flat = flat.stack(member=members).reset_index("member") if members else flat.expand_dims(member=[0])
    finite = np.isfinite(flat).all([d for d in flat.dims if d != "member"])
    require(bool(finite.any()), f"every member of {var!r} has non-finite values")
    flat = flat.isel(member=np.flatnonzero(finite.values))
    return flat.transpose("member", "step", *var_dims), (var_dims[0] if var_dims else None)


def member_table(flat: xr.DataArray, fit: ODEFit) -> list[dict[str, Any]]:
    """One row per member: its coordinates (seed, swept values), R²s and fitted parameters."""
    coords = [c for c in flat.coords if flat[c].dims == ("member",) and c != "member"]
    rows = []
    for i in range(flat.sizes["member"]):
        row = {c: scalar(flat[c].values[i]) for c in coords}
        for key, da in (("one_step_r2", fit.one_step_r2), ("r2_in", fit.r2_in), ("r2_out", fit.r2_out),
                        ("r2_heldout", fit.r2_heldout), ("aic", fit.aic), ("heldout", fit.heldout)):
            row[key] = scalar(da.values[i])
        row["params"] = {name: np.asarray(values.values[i]).tolist() for name, values in fit.params.items()}
        rows.append(row)
    return rows


def fit_stem(run: str | Path, var: str, model: str, share: tuple[str, ...] = ()) -> Path:
    """RUN/fit-<var>-<model>, or RUN/fit-<var>-<model>-shared-<dims> with shared parameters."""
    return Path(run) / (f"fit-{var}-{model}" + (f"-shared-{'-'.join(share)}" if share else ""))


def fit_run(run: str | Path, var: str, model: str, fit_fraction: float = DEFAULT_FIT_FRACTION,
            share: tuple[str, ...] = (), holdout: float | None = None) -> dict[str, Any]:
    """Fit model `model` (a `MODELS` spelling) to observable `var` of the finished run in `run`, one
    parameter set per member or shared over the dims `share` with a fraction `holdout` of them held
    out; write the JSON and PNG there."""
    require(model in MODELS, f"--model must be one of {', '.join(MODELS)}, got {model!r}")
    require(holdout is None or share, "--holdout needs --share (the held-out members are shared ones)")
    require(holdout is None or 0 < holdout < 1, f"--holdout must be in (0, 1), got {holdout}")
    run = Path(run)
    flat, var_dim = observable(load(run), var)
    fit = fit_ode(flat, MODELS[model], fit_fraction, var_dim, share=share, holdout=holdout)
    held = fit.heldout.values
    median = {key: member_range(getattr(fit, key).values[~held], center="median").value
              for key in ("one_step_r2", "r2_in", "r2_out")}
    diverged = diverged_rollouts(fit.rollout)
    result = {
        "var": var, "model": model, "fit_fraction": fit_fraction, "fit_records": fit.fit_records,
        "fit_end_step": fit.fit_end_step, "n_members": int(flat.sizes["member"]),
        "n_diverged_rollouts": int(diverged.sum()), **median, "n_params": fit.n_params,
        "share": list(share), "holdout": holdout, "n_heldout": int(held.sum()),
        "r2_heldout": member_range(fit.r2_heldout.values[held], center="median").value,
        "r2_out_heldout": member_range(fit.r2_out.values[held], center="median").value,
        "members": member_table(flat, fit),
    }
    for row, bad in zip(result["members"], diverged, strict=True):
        row["rollout_diverged"] = bool(bad)
    stem = fit_stem(run, var, model, share)
    write_json_atomic(stem.with_suffix(".json"), to_json(result))
    save_figure(fit_figure(flat, fit.rollout, fit.fit_end_step, var_dim, scores=fit.r2_out,
                           title=f"{var}: data (solid) vs {model} ODE rollout (dashed), fitted on the shaded window"
                                 f"{f' (shared over {share}, {int(held.sum())} members held out)' if share else ''}; "
                                 f"{int(diverged.sum())} of {len(diverged)} rollouts diverged"),
                stem.with_suffix(".png"))
    return result


def diverged_rollouts(rollout: xr.DataArray) -> np.ndarray:
    """Per member: whether its rollout left the finite numbers (its R² after the window is −inf)."""
    return ~np.isfinite(rollout).all([d for d in rollout.dims if d != "member"]).values
