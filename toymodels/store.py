"""The run folder on disk: observations in Zarr (one record per chunk), state checkpoints, load().

Layout of `<out>/` (`RunFolder` is the one place that names these paths):
    config.json              what was asked for (experiment, preset, spec); a re-run must match it
    results.zarr             the Dataset (dims seed, swept hyperparameters, step, observable dims)
    points/point-NNN.zarr    one store per static point, when the sweep has static axes
    shards.json              {"count": N} when the points were trained in N shards (job-array tasks)
    parts/<name>/            a whole run folder per engine run of a study that trains several
    *.snapshots.zarr         the training state (or `system.snapshot(state)`) at `snapshot_steps`
    *.checkpoint.npz         the latest state of an unfinished store (removed when it completes)
    summary.json, *.png      written by the experiment's report

Each record (and each snapshot) is its own Zarr chunk along `step`, so it is always written whole
and a process killed in the middle of a write only spoils one that the resumed run rewrites.
A finished store has consolidated metadata.

`finished_or(out, config, compute)` is the lifecycle of a run folder (claim, load if finished,
else compute, store with provenance, mark complete) for the engine and for studies that build
their Dataset some other way.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import subprocess
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
import zarr

from toymodels.spec import ConfigError, Spec, require

CONFIG_FILE = "config.json"
RESULTS = "results.zarr"
SUMMARY = "summary.json"


@dataclass(frozen=True)
class RunFolder:
    """The paths of one run folder (see the module docstring for the layout)."""

    path: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))

    @property
    def config_file(self) -> Path:
        return self.path / CONFIG_FILE

    @property
    def results(self) -> Path:
        return self.path / RESULTS

    @property
    def summary(self) -> Path:
        return self.path / SUMMARY

    def point(self, index: int) -> Path:
        """The store of static point `index` of a sweep with static axes."""
        return self.path / "points" / f"point-{index:03d}.zarr"

    @property
    def shards(self) -> Path:
        """{"count": N}: the sweep was trained in N shards (`toymodels run --shard I/N`)."""
        return self.path / "shards.json"

    def point_snapshots(self) -> list[Path]:
        return sorted((self.path / "points").glob("point-*.snapshots.zarr"))

    def part(self, name: str) -> RunFolder:
        """The run folder of engine run `name` of a study that trains several."""
        return RunFolder(self.path / "parts" / name)

    def figure(self, name: str) -> Path:
        return self.path / f"{name}.png"

    def figures(self) -> list[Path]:
        return sorted(self.path.glob("*.png"))

    def config(self) -> dict[str, Any]:
        return read_config(self.path)

    @classmethod
    def of(cls, ds: xr.Dataset) -> RunFolder:
        """The folder a Dataset was loaded from (`load` records it); ConfigError for one built in memory."""
        where = ds.encoding.get("run_folder")
        require(where is not None, "these results were not loaded from a run folder (use toymodels.load(out))")
        return cls(Path(where))


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
    """Make `out` the folder of the run `config`, or refuse if it holds something else or cannot
    be written (`write=False`: only check, as the processes of a multi-host run other than the writer do)."""
    try:
        claim(out, config, write)
    except OSError as error:
        raise ConfigError(f"cannot use {out} as the run folder: {error.strerror or error}") from None


def claim(out: Path, config: Mapping[str, Any], write: bool) -> None:
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
    ds = read_records(path)
    if not ds.attrs.get("complete"):
        raise ConfigError(f"the run in {out} is not finished; re-run the same command to resume")
    ds.encoding["run_folder"] = str(Path(out))
    return ds


def finished_or(out: str | os.PathLike | None, config: Mapping[str, Any], compute: Callable[[], xr.Dataset],
                *, write: bool = True) -> xr.Dataset:
    """The run `config` in folder `out`: loaded if it is finished, else `compute()`, stored, marked complete.

    Claims `out` first (a folder holding another run, or one that cannot be written, is a
    ConfigError). The result carries the provenance attrs (config, version, commit) over the
    attrs `compute` sets (e.g. "timings"), and `complete=True`. `compute` may store the results
    at `out/results.zarr` itself (the engine does, record by record); otherwise they are saved
    here. `out=None`: compute only. `write=False`: check the folder but write nothing (the
    processes of a multi-host run other than the writer).
    """
    if out is not None:
        out = Path(out)
        claim_run_folder(out, config, write=write)
        if is_complete(out / RESULTS):
            return load(out)
    ds = compute()
    ds.attrs = {**ds.attrs, **provenance(config)}
    ds.attrs.pop("complete", None)
    if out is not None and write and not is_complete(out / RESULTS):
        save_complete(out / RESULTS, ds)
    ds.attrs["complete"] = True
    return ds


# --- one store: create, write records, checkpoint -----------------------------------------------
@contextlib.contextmanager
def quiet_zarr() -> Iterator[None]:
    """Silence Zarr's format warnings while metadata is written.

    String coordinates (e.g. optimizer names) are fixed-length unicode, which Zarr v3 stores but
    warns about whenever their metadata is written (no v3 spec yet), and consolidated metadata is
    an extension of the format; xarray reads both back exactly, so neither is shown on every run."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", zarr.errors.UnstableSpecificationWarning)
        warnings.simplefilter("ignore", zarr.errors.ZarrUserWarning)
        yield


def create_store(path: Path, template: xr.Dataset) -> None:
    """Write `template` (all records NaN) with one chunk per record along `step`."""
    encoding = {
        name: {"chunks": tuple(1 if d == "step" else n for d, n in zip(var.dims, var.shape, strict=True))}
        for name, var in template.data_vars.items()
    }
    with quiet_zarr():
        template.to_zarr(path, mode="w", encoding=encoding, consolidated=False)


def write_record(path: Path, record: int, values: Mapping[str, np.ndarray], n_member_dims: int) -> None:
    """Write observation `record` (arrays with the member dims first) into the store."""
    group = zarr.open_group(path, mode="r+", use_consolidated=False)
    index = (slice(None),) * n_member_dims + (record,)
    for name, value in values.items():
        group[name][index] = value


def is_consolidated(path: Path) -> bool:
    return zarr.open_group(path, mode="r").metadata.consolidated_metadata is not None


def read_records(path: Path) -> xr.Dataset:
    """A store as an in-memory Dataset (consolidated metadata when it has them)."""
    return xr.open_zarr(path, chunks=None, consolidated=is_consolidated(path)).load()


def consolidate(path: Path) -> None:
    """Consolidate the store's metadata."""
    with quiet_zarr():
        zarr.consolidate_metadata(path)


def finish_store(path: Path, data: Mapping[str, np.ndarray], attrs: Mapping[str, Any]) -> None:
    """Write the final per-member variables and attrs, mark the store complete, consolidate."""
    group = zarr.open_group(path, mode="r+", use_consolidated=False)
    for name, value in data.items():
        group[name][...] = value
    group.attrs.update({**attrs, "complete": True})
    consolidate(path)


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


# --- snapshots: the state at chosen steps, beside a store -----------------------------------------
def snapshots_path(store: Path) -> Path:
    return store.with_name(store.stem + ".snapshots.zarr")


def create_snapshots(store: Path, steps: np.ndarray, shapes: list[tuple[tuple[int, ...], np.dtype]],
                     paths: list[list], member_shape: tuple[int, ...]) -> None:
    """An empty snapshot store: leaf i has shape (members, len(steps), *leaf shape), one chunk per step.

    `shapes` are (shape without the member axis, dtype) per leaf; `paths` their key paths."""
    group = zarr.open_group(snapshots_path(store), mode="w")
    members = int(np.prod(member_shape, dtype=np.int64))
    for i, (shape, dtype) in enumerate(shapes):
        group.create_array(f"leaf{i:04d}", shape=(members, len(steps), *shape), dtype=dtype,
                           chunks=(members, 1, *shape), fill_value=0)
    group.attrs.update({"steps": [int(s) for s in steps], "paths": paths, "member_shape": list(member_shape)})


def write_snapshot(store: Path, index: int, leaves: list[np.ndarray]) -> None:
    """Write snapshot `index` (leaves with the flat member axis first)."""
    group = zarr.open_group(snapshots_path(store), mode="r+", use_consolidated=False)
    for i, leaf in enumerate(leaves):
        group[f"leaf{i:04d}"][:, index] = leaf


def finish_snapshots(store: Path) -> None:
    group = zarr.open_group(snapshots_path(store), mode="r+", use_consolidated=False)
    group.attrs.update({"complete": True})
    consolidate(snapshots_path(store))


def read_snapshots(path: Path) -> tuple[np.ndarray, list[list], list[np.ndarray]]:
    """(steps, key paths, leaves of shape (members, n_snapshots, ...)) of a finished snapshot store."""
    group = zarr.open_group(path, mode="r")
    n = len(group.attrs["paths"])
    return (np.asarray(group.attrs["steps"], dtype=np.int64), group.attrs["paths"],
            [group[f"leaf{i:04d}"][...] for i in range(n)])


def nest(paths: list[list], leaves: list[Any]) -> Any:
    """Rebuild a tree of dicts and lists from key paths [[kind, key], ...] (kind "dict" or "list")."""
    if len(paths) == 1 and not paths[0]:
        return leaves[0]
    children: dict[Any, tuple[list, list]] = {}
    kind = paths[0][0][0]
    for path, leaf in zip(paths, leaves, strict=True):
        sub = children.setdefault(path[0][1], ([], []))
        sub[0].append(path[1:])
        sub[1].append(leaf)
    tree = {key: nest(*sub) for key, sub in children.items()}
    if kind == "list" and sorted(tree) == list(range(len(tree))):
        return [tree[i] for i in range(len(tree))]
    return tree


def load_snapshots(out: str | os.PathLike) -> tuple[np.ndarray, Any]:
    """The snapshots of the finished run in `out`: (steps, tree).

    Each leaf of `tree` has shape (*member shape, n_snapshots, *leaf shape), the member shape
    being that of `load(out)["diverged_step"]` (static sweep axes first). The tree is rebuilt as
    nested dicts (dict keys, attribute names) and lists (sequence positions) of the snapshotted
    pytree: `system.snapshot(state)` when the system defines it, else the whole state.
    """
    out = Path(out)
    results = out / RESULTS
    require(is_complete(results), f"{out} holds no finished run; re-run the same command to resume")
    member_shape = tuple(zarr.open_group(results, mode="r")["diverged_step"].shape)
    single = snapshots_path(results)
    stores = [single] if single.exists() else RunFolder(out).point_snapshots()
    require(len(stores) > 0, f"the run in {out} kept no snapshots (set snapshot_steps)")
    parts = [read_snapshots(path) for path in stores]
    steps, paths, _ = parts[0]
    for _, other_paths, leaves in parts[1:]:
        require(other_paths == paths and len(leaves) == len(parts[0][2]),
                "snapshots of the static sweep points have different structures; load each part")
        for a, b in zip(parts[0][2], leaves, strict=True):
            require(a.shape == b.shape, "snapshots of the static sweep points have different leaf shapes "
                    f"({a.shape[2:]} vs {b.shape[2:]}); load each part")
    stacked = [np.stack([part[2][i] for part in parts]) for i in range(len(paths))]
    leaves = [x.reshape(*member_shape, len(steps), *x.shape[3:]) for x in stacked]
    return steps, nest(paths, leaves)


def load_spec(out: str | os.PathLike, systems: Sequence[type] = ()) -> Spec:
    """The `Spec` of the run stored in `out`, exactly as it was run (`load_spec(out) == spec`).

    The system class is looked up by name among toymodels' systems and `systems` (a custom one)."""
    from toymodels import SYSTEMS

    return Spec.from_dict(RunFolder(out).config()["spec"], (*SYSTEMS, *systems))
