"""The run folder on disk: observations in Zarr (one record per chunk), state checkpoints, load().

Layout of `<out>/`:
    config.json            what was asked for (experiment, preset, spec); a re-run must match it
    results.zarr           the Dataset (dims seed, swept hyperparameters, step, observable dims)
    parts/part-NNN.zarr    one store per static point, when the sweep has static axes
    *.checkpoint.npz       the latest state of an unfinished store (removed when it completes)
    summary.json, *.png    written by the experiment's report

Each record is its own Zarr chunk along `step`, so a record is always written whole and a
process killed in the middle of a write only spoils a record that the resumed run rewrites.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
import zarr

from toymodels.spec import ConfigError

CONFIG_FILE = "config.json"
RESULTS = "results.zarr"


@functools.cache
def package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("toymodels")
    except PackageNotFoundError:
        return "unknown"


@functools.cache
def git_commit() -> str:
    """Commit of the source tree the package runs from, with '+dirty' for local changes."""
    here = Path(__file__).resolve().parent
    try:
        head = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def provenance(config: Mapping[str, Any]) -> dict[str, str]:
    """The attrs every stored result carries: full config (JSON), package version, git commit."""
    return {"config": json.dumps(config, sort_keys=True), "toymodels_version": package_version(),
            "git_commit": git_commit()}


def write_json_atomic(path: Path, obj: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)


def claim_run_folder(out: Path, config: Mapping[str, Any], write: bool = True) -> None:
    """Make `out` the folder of the run `config`, or refuse if it holds something else
    (`write=False`: only check, as the processes of a multi-host run other than the writer do)."""
    path = out / CONFIG_FILE
    if path.exists():
        try:
            held = json.loads(path.read_text())
        except json.JSONDecodeError:
            held = None
        if held != json.loads(json.dumps(config)):
            raise ConfigError(f"{out} holds a different run (see {path}); choose another --out")
        return
    if out.exists() and any(out.iterdir()):
        raise ConfigError(f"{out} is not empty and holds no toymodels run; choose another --out")
    if write:
        out.mkdir(parents=True, exist_ok=True)
        write_json_atomic(path, config)


def read_config(out: Path) -> dict[str, Any]:
    path = Path(out) / CONFIG_FILE
    if not path.exists():
        raise ConfigError(f"{out} holds no toymodels run (no {CONFIG_FILE})")
    return json.loads(path.read_text())


def load(out: str | os.PathLike) -> xr.Dataset:
    """The finished results of the run in folder `out`, as an in-memory `xarray.Dataset`."""
    path = Path(out) / RESULTS
    if not path.exists():
        raise ConfigError(f"{out} has no {RESULTS}")
    ds = xr.open_zarr(path, chunks=None, consolidated=False).load()
    if not ds.attrs.get("complete"):
        raise ConfigError(f"the run in {out} is not finished; re-run the same command to resume")
    return ds


# --- one store: create, write records, checkpoint -----------------------------------------------
def create_store(path: Path, template: xr.Dataset) -> None:
    """Write `template` (all records NaN) with one chunk per record along `step`."""
    encoding = {
        name: {"chunks": tuple(1 if d == "step" else n for d, n in zip(var.dims, var.shape, strict=True))}
        for name, var in template.data_vars.items()
    }
    template.to_zarr(path, mode="w", encoding=encoding, consolidated=False)


def write_record(path: Path, record: int, values: Mapping[str, np.ndarray], n_member_dims: int) -> None:
    """Write observation `record` (arrays with the member dims first) into the store."""
    group = zarr.open_group(path, mode="r+")
    index = (slice(None),) * n_member_dims + (record,)
    for name, value in values.items():
        group[name][index] = value


def read_records(path: Path) -> xr.Dataset:
    return xr.open_zarr(path, chunks=None, consolidated=False).load()


def finish_store(path: Path, data: Mapping[str, np.ndarray], attrs: Mapping[str, Any]) -> None:
    """Write the final per-member variables and attrs, then mark the store complete."""
    group = zarr.open_group(path, mode="r+")
    for name, value in data.items():
        group[name][...] = value
    group.attrs.update({**attrs, "complete": True})


def save_complete(path: Path, ds: xr.Dataset) -> None:
    """Store a finished Dataset (with its attrs) and mark it complete."""
    create_store(path, ds)
    finish_store(path, {}, {})


def is_complete(path: Path) -> bool:
    try:
        return bool(zarr.open_group(path, mode="r").attrs.get("complete", False))
    except Exception:  # a missing or half-written store is simply not complete
        return False


def checkpoint_path(store: Path) -> Path:
    return store.with_name(store.stem + ".checkpoint.npz")


def save_checkpoint(store: Path, leaves: list[np.ndarray], record: int, extra: Mapping[str, np.ndarray]) -> None:
    """Atomically save the state leaves after `record` (the store holds records 0..record)."""
    path = checkpoint_path(store)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        np.savez(f, record=record, **{f"leaf{i}": x for i, x in enumerate(leaves)}, **extra)
    os.replace(tmp, path)


def load_checkpoint(store: Path) -> tuple[list[np.ndarray], int, dict[str, np.ndarray]] | None:
    path = checkpoint_path(store)
    if not path.exists():
        return None
    with np.load(path) as f:
        leaves = [f[f"leaf{i}"] for i in range(sum(k.startswith("leaf") for k in f.files))]
        extra = {k: f[k] for k in f.files if k != "record" and not k.startswith("leaf")}
        return leaves, int(f["record"]), extra


def drop_checkpoint(store: Path) -> None:
    checkpoint_path(store).unlink(missing_ok=True)
