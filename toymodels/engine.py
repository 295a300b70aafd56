"""The population engine: the only training loop in toymodels.

Members are seeds × the dynamic sweep (product axes and tied groups). For each static point of
the sweep, one program is compiled,

    chunk = jit(shard_map(map_blocks(vmap(fori_loop(step, n) ; observe)))),

with the chunk length `n` a traced scalar, so that every logging schedule (every k steps, a list,
geometric) runs one compiled chunk. The member axis is sharded over all `jax.devices()`; each
device runs its members in blocks of `member_block` (vmapped inside a block, one block after
another), and the host only works between chunks: progress bar, one Zarr record of observations,
divergence flags, snapshots of the state at `snapshot_steps`, a state checkpoint. A run with a
folder resumes from its last checkpoint and finishes with the same numbers as an uninterrupted
run (same seed and config → identical results).

Precision is decided once per program (`uses_x64`: the system's `precision`, or the user's own
`jax_enable_x64`) and applied with a scoped `jax.enable_x64`, never by flipping the process-wide
flag: a run's numbers do not depend on what ran before in the process.

Multi-host (after `jax.distributed.initialize()`): the member axis spans every process's devices;
observations, snapshots and checkpoints are gathered to every process, and only process 0 writes
the run folder (which must be on a filesystem all processes see).

Stages of one program (`run_program`), top to bottom: the member table and its padding
(`lay_out`), the compiled programs (`compile_programs`), resume or init (`resume_or_init`), the
chunk loop (`train_chunks`), and finishing the store (`finish`).
"""

from __future__ import annotations

import itertools
import json
import math
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jax
import numpy as np
import xarray as xr
from jax.experimental import multihost_utils
from jax.sharding import Mesh, NamedSharding, PartitionSpec
from tqdm.auto import tqdm

from toymodels import store
from toymodels.spec import Point, Spec, System, require

MEMBERS = "members"
BLOCK_FLOPS = 4e6


# --- host helpers ---------------------------------------------------------------------------------
def uses_x64(system: System) -> bool:
    """Whether a program of `system` runs with 64-bit types: the system asks for float64 (its
    `precision` field), or the user enabled `jax_enable_x64` for the process. Decided once per program."""
    return getattr(system, "precision", "float32") == "float64" or bool(jax.config.jax_enable_x64)


def member_sharding() -> NamedSharding:
    """Shard axis 0 (members) over every device; one device is the special case."""
    return NamedSharding(Mesh(np.array(jax.devices()), (MEMBERS,)), PartitionSpec(MEMBERS))


def fetch(tree):
    """Host (numpy) copy of a member-sharded pytree, gathered from every process when there are several."""
    if jax.process_count() == 1:
        return jax.device_get(tree)
    return multihost_utils.process_allgather(tree, tiled=True)


def agree(flag: bool) -> bool:
    """Process 0's `flag` on every process (so that all of them enter the same collectives)."""
    if jax.process_count() == 1:
        return flag
    return bool(multihost_utils.broadcast_one_to_all(np.asarray(flag)))


def writer() -> bool:
    """Whether this process writes the run folder: the only process, or process 0 of several."""
    return jax.process_index() == 0


def pad_members(x: np.ndarray, n: int) -> np.ndarray:
    """Repeat the last member so the member axis has length `n` (a multiple of the devices)."""
    return np.concatenate([x, np.repeat(x[-1:], n - len(x), axis=0)]) if n > len(x) else x


# --- stage 1: the member table and its padding ------------------------------------------------------
@dataclass(frozen=True)
class Members:
    """The member table of one program: per-member seed and hyperparameters, flattened."""

    seeds: np.ndarray                 # (B,) int
    cells: np.ndarray                 # (B,) int: index over every swept dim but seed (static ones first)
    hparams: dict[str, np.ndarray]    # name -> (B,) float
    dims: tuple[str, ...]             # ("seed", *dynamic product axes, *dynamic tied dims)
    shape: tuple[int, ...]            # sizes of `dims`; prod(shape) == B
    coords: dict[str, Any]            # per dim; a tied dim also has one coordinate per key along it

    @property
    def size(self) -> int:
        return len(self.seeds)


def member_table(spec: Spec, dtype: np.dtype, fixed: Mapping[str, Any] | None = None,
                 point: int = 0) -> Members:
    """seeds × dynamic axes × dynamic tied rows, in row-major order of `dims`.

    `fixed`: the values a static point of the sweep sets (its dynamic ones apply to every member);
    `point`: that static point's row-major index (for the members' cells)."""
    base = spec.point_hparams(fixed or {})
    axes = {"seed": np.arange(spec.seeds), **{k: np.asarray(v) for k, v in spec.dynamic_axes().items()}}
    groups = spec.dynamic_tied()
    sizes = [len(v) for v in axes.values()] + [len(g.rows) for g in groups]
    index = np.array(list(itertools.product(*(range(n) for n in sizes))), dtype=np.int64).reshape(-1, len(sizes))
    hparams = {k: np.full(len(index), v, dtype=dtype) for k, v in base.items()}
    for j, (name, values) in enumerate(axes.items()):
        if name != "seed":
            hparams[name] = values[index[:, j]].astype(dtype)
    coords: dict[str, Any] = dict(axes)
    for j, group in enumerate(groups, start=len(axes)):
        for key in group.keys:
            hparams[key] = np.asarray(group.column(key), dtype=dtype)[index[:, j]]
            coords[key] = (group.dim, np.asarray(group.column(key)))
        coords[group.dim] = np.arange(len(group.rows))
    dynamic_cells = int(np.prod(sizes[1:], dtype=np.int64))
    within = np.ravel_multi_index(index[:, 1:].T, sizes[1:]) if len(sizes) > 1 else np.zeros(len(index), np.int64)
    return Members(
        seeds=axes["seed"][index[:, 0]].astype(np.uint32),
        cells=(point * dynamic_cells + within).astype(np.uint32),
        hparams=hparams,
        dims=(*axes, *(g.dim for g in groups)),
        shape=tuple(sizes),
        coords=coords,
    )


def member_keys(members: Members, init: str) -> np.ndarray:
    """PRNGKey(seed) per member ("paired"), or fold_in(PRNGKey(seed), cell) ("independent")."""
    keys = jax.vmap(jax.random.PRNGKey)(members.seeds)
    if init == "independent":
        keys = jax.vmap(jax.random.fold_in)(keys, members.cells)
    return np.asarray(keys)


@dataclass(frozen=True)
class Layout:
    """Members of one program on the devices: padded to devices × blocks × block."""

    members: Members
    devices: int
    block: int
    padded: int
    sharding: NamedSharding

    def put(self, x: np.ndarray) -> jax.Array:
        """A per-member host array, padded and sharded over the devices."""
        return jax.device_put(pad_members(x, self.padded), self.sharding)

    def replicated(self, x: Any) -> jax.Array:
        """A value every device gets whole (e.g. the chunk length)."""
        return jax.device_put(x, NamedSharding(self.sharding.mesh, PartitionSpec()))


def member_block(system: System, hp: Mapping[str, Any], local_members: int) -> int:
    """Members vmapped together on one device: all of them on GPU/TPU; on CPU, the smallest power
    of two whose block does ≥ BLOCK_FLOPS per step (by XLA's cost analysis of one member's step).

    On CPU, batching members only amortises per-operation overhead: once a block does a few MFLOP
    per step, larger blocks spill the cache and run slower per member (measured: docs/benchmarks.md).
    """
    if jax.default_backend() != "cpu":
        return local_members
    state = jax.eval_shape(system.init, jax.random.PRNGKey(0), hp)
    cost = jax.jit(system.step).lower(state, hp).cost_analysis() or {}
    flops = max(float(cost.get("flops", 0.0)), 1.0)
    return min(local_members, 2 ** max(0, math.ceil(math.log2(BLOCK_FLOPS / flops))))


def lay_out(system: System, spec: Spec, point: Point, block: int | None, dtype: np.dtype) -> Layout:
    """The member table of `point` (hyperparameters in `dtype`) and how it is padded, sharded and blocked."""
    flat = int(np.ravel_multi_index(tuple(point.index.values()), tuple(spec.static_dims().values()))) \
        if point.index else 0
    members = member_table(spec, dtype, point.fixed, flat)
    devices = len(jax.devices())
    local = -(-members.size // devices)
    block = block or member_block(system, {k: v[0] for k, v in members.hparams.items()}, local)
    n_blocks = -(-local // block)
    block = -(-local // n_blocks)  # equal blocks: one compiled block body, fewer than n_blocks padded members
    return Layout(members, devices, block, devices * n_blocks * block, member_sharding())


# --- stage 2: the compiled programs -----------------------------------------------------------------
def blocked(f, block: int, mesh: Mesh, shared: int = 0):
    """f over the sharded member axis: per device, `lax.map` over blocks of `block` vmapped members.

    The first `shared` arguments are not per member: every device and member gets them whole."""

    def program(*args):
        def local(*args):
            common, per_member = args[:shared], args[shared:]
            return jax.lax.map(lambda xs: f(*common, *xs), per_member, batch_size=block)

        specs = (PartitionSpec(),) * shared + (PartitionSpec(MEMBERS),) * (len(args) - shared)
        return jax.shard_map(local, mesh=mesh, in_specs=specs, out_specs=PartitionSpec(MEMBERS))(*args)

    return program


def chunk_program(system: System):
    """chunk(n, state, hp) = (state after `n` steps, observe(that state)); `n` may be traced."""

    def chunk(n, state, hp):
        state = jax.lax.fori_loop(0, n, lambda _, s: system.step(s, hp), state)
        return state, system.observe(state, hp)

    return chunk


@dataclass(frozen=True)
class Programs:
    """The jitted functions of one program (all over the sharded member axis)."""

    init: Callable        # (keys, hp) -> state
    observe: Callable     # (state, hp) -> observations
    chunk: Callable       # (n, state, hp) -> (state, observations); state donated
    snapshot: Callable    # state -> what a snapshot keeps


def compile_programs(system: System, layout: Layout) -> Programs:
    mesh = layout.sharding.mesh
    has_snapshot = callable(getattr(system, "snapshot", None))
    return Programs(
        init=jax.jit(blocked(system.init, layout.block, mesh)),
        observe=jax.jit(blocked(system.observe, layout.block, mesh)),
        chunk=jax.jit(blocked(chunk_program(system), layout.block, mesh, shared=1), donate_argnums=1),
        snapshot=jax.jit(blocked(system.snapshot, layout.block, mesh)) if has_snapshot else (lambda state: state),
    )


# --- the records of one program: observations, divergence, snapshots --------------------------------
def observation_template(system: System, members: Members, steps: np.ndarray, shapes) -> xr.Dataset:
    """All-NaN Dataset with the final layout: member dims, `step`, observable dims."""
    dims = system.observables()
    coords = {**members.coords, "step": steps, **system.coords()}
    data = {}
    for name, sds in shapes.items():
        dtype = np.result_type(sds.dtype, np.float32)
        shape = (*members.shape, len(steps), *sds.shape[1:])
        data[name] = ((*members.dims, "step", *dims.get(name, ())), np.full(shape, np.nan, dtype))
    data["diverged_step"] = (members.dims, np.full(members.shape, -1, np.int64))
    ds = xr.Dataset(data, coords=coords)
    ds["diverged_step"].attrs["description"] = "first logged step with a non-finite loss; -1 if none"
    return ds


def key_path(path) -> list:
    """A pytree key path as JSON: [["dict", name] or ["list", index], ...]."""
    entries = []
    for entry in path:
        if isinstance(entry, jax.tree_util.DictKey):
            entries.append(["dict", str(entry.key)])
        elif isinstance(entry, jax.tree_util.GetAttrKey):
            entries.append(["dict", entry.name])
        elif isinstance(entry, jax.tree_util.SequenceKey):
            entries.append(["list", entry.idx])
        else:
            entries.append(["list", int(entry.key)])
    return entries


class Recorder:
    """Host side of one program: observations (in memory and in the store), divergence flags,
    snapshots. Writes only when `path` is set and this process is the writer."""

    def __init__(self, system: System, spec: Spec, layout: Layout, path: Path | None, template: xr.Dataset,
                 snapshot_shape) -> None:
        self.system, self.layout, self.path = system, layout, path
        self.steps = template["step"].values
        self.template = template
        self.buffer = {name: template[name].values for name in template.data_vars if name != "diverged_step"}
        self.diverged = np.full(layout.members.size, -1, np.int64)
        self.write = path is not None and writer()
        self.snapshot_index = {int(s): i for i, s in enumerate(spec.snapshot_steps)}
        self.snapshot_shape = snapshot_shape

    def create(self) -> None:
        """A fresh store (and snapshot store) for this program."""
        if not self.write:
            return
        store.create_store(self.path, self.template)
        if self.snapshot_index:
            flat = jax.tree_util.tree_flatten_with_path(self.snapshot_shape)[0]
            store.create_snapshots(self.path, np.array(list(self.snapshot_index)),
                                   [(x.shape[1:], np.dtype(x.dtype)) for _, x in flat],
                                   [key_path(p) for p, _ in flat], self.layout.members.shape)

    def restore(self, diverged: np.ndarray) -> None:
        """Refill the buffer from the store of an interrupted run."""
        previous = store.read_records(self.path)
        for name in self.buffer:
            self.buffer[name][...] = previous[name].values
        self.diverged[:] = diverged

    def record(self, r: int, obs: Mapping[str, jax.Array]) -> None:
        """Keep observation `r` in memory and in the store; flag members that diverged."""
        members = self.layout.members
        values = {}
        for name, x in fetch(obs).items():
            x = np.asarray(x)[: members.size].astype(self.buffer[name].dtype)
            values[name] = x.reshape(*members.shape, *x.shape[1:])
            self.buffer[name][(slice(None),) * len(members.dims) + (r,)] = values[name]
        loss = np.asarray(values[self.system.divergence_key]).reshape(members.size, -1)
        bad = ~np.isfinite(loss).all(axis=1) & (self.diverged < 0)
        self.diverged[bad] = self.steps[r]
        if self.write:
            store.write_record(self.path, r, values, len(members.dims))

    def snapshot(self, r: int, state, programs: Programs) -> None:
        """Store the snapshot of `state` if step r is a snapshot step (a collective on every process)."""
        index = self.snapshot_index.get(int(self.steps[r]))
        if index is None:
            return
        leaves = [np.asarray(x)[: self.layout.members.size] for x in fetch(jax.tree.leaves(programs.snapshot(state)))]
        if self.write:
            store.write_snapshot(self.path, index, leaves)

    def result(self, attrs: Mapping[str, Any]) -> xr.Dataset:
        shape = self.layout.members.shape
        ds = self.template.copy(data={**self.buffer, "diverged_step": self.diverged.reshape(shape)})
        ds.attrs = dict(attrs)
        return ds


# --- stage 3: resume or init --------------------------------------------------------------------------
def load_resumable(path: Path | None, state_shape) -> tuple[list[np.ndarray], int, dict] | None:
    """The checkpoint of an unfinished store at `path`, if it matches this program's state."""
    if path is None:
        return None
    saved = store.load_checkpoint(path)
    if saved is None:
        return None
    leaves, _, _ = saved
    expected = jax.tree.leaves(state_shape)
    if len(leaves) != len(expected) or any(
        x.shape[1:] != e.shape[1:] or x.dtype != e.dtype for x, e in zip(leaves, expected, strict=True)
    ):
        return None
    return saved


def resume_or_init(recorder: Recorder, programs: Programs, layout: Layout, keys, hp, state_shape):
    """(state, first record to train, step resumed from or None): from the checkpoint, else initialised."""
    resumed = load_resumable(recorder.path, state_shape)
    if resumed is None:
        recorder.create()
        state = programs.init(keys, hp)
        recorder.record(0, programs.observe(state, hp))
        recorder.snapshot(0, state, programs)
        return state, 1, None
    leaves, last, extra = resumed
    state = jax.tree.unflatten(jax.tree.structure(state_shape),
                               [layout.put(x[: layout.members.size]) for x in leaves])
    recorder.restore(extra["diverged"])
    return state, last + 1, int(recorder.steps[last])


# --- stage 4: the chunk loop ------------------------------------------------------------------------
def train_chunks(recorder: Recorder, programs: Programs, layout: Layout, state, hp, first: int, *,
                 checkpoint_seconds: float, quiet: bool, label: str) -> tuple[Any, float, float]:
    """Advance `state` chunk by chunk from record `first`, recording after each; checkpoint at most
    every `checkpoint_seconds`. Returns (final state, compile seconds, train seconds)."""
    steps, size = recorder.steps, layout.members.size
    compile_start = time.perf_counter()
    compiled = programs.chunk.lower(layout.replicated(np.int32(1)), state, hp).compile()
    compile_seconds = time.perf_counter() - compile_start
    bar = tqdm(
        total=size * int(steps[-1]), initial=size * int(steps[first - 1]),
        unit="member-step", unit_scale=True, desc=label or None, dynamic_ncols=True,
        disable=quiet or not sys.stderr.isatty() or not writer(),
    )
    last_checkpoint = train_start = time.perf_counter()
    for r in range(first, len(steps)):
        n = int(steps[r] - steps[r - 1])
        state, obs = compiled(layout.replicated(np.int32(n)), state, hp)
        recorder.record(r, obs)
        recorder.snapshot(r, state, programs)
        bar.update(size * n)
        due = r < len(steps) - 1 and time.perf_counter() - last_checkpoint >= checkpoint_seconds
        if recorder.path is not None and agree(due):
            leaves = [np.asarray(x) for x in fetch(jax.tree.leaves(state))]  # every process: a collective
            if recorder.write:
                store.save_checkpoint(recorder.path, leaves, r, {"diverged": recorder.diverged})
            last_checkpoint = time.perf_counter()
    jax.block_until_ready(state)
    bar.close()
    return state, compile_seconds, time.perf_counter() - train_start


# --- stage 5: finish --------------------------------------------------------------------------------
def finish(recorder: Recorder, attrs: Mapping[str, Any], timings: Mapping[str, Any]) -> xr.Dataset:
    """The program's Dataset; its store (and snapshots) marked complete, the checkpoint dropped."""
    final_attrs = {**attrs, "timings": json.dumps(timings)}
    result = recorder.result({**final_attrs, "complete": True})
    if recorder.write:
        if recorder.snapshot_index:
            store.finish_snapshots(recorder.path)
        store.finish_store(recorder.path, {"diverged_step": result["diverged_step"].values}, final_attrs)
        store.drop_checkpoint(recorder.path)
    return result


def run_program(system: System, spec: Spec, point: Point, path: Path | None, *, quiet: bool,
                checkpoint_seconds: float, attrs: Mapping[str, Any], block: int | None = None,
                label: str = "") -> xr.Dataset:
    """Train all members of one static point of the sweep (one compiled program), in its precision."""
    if path is not None and store.is_complete(path):
        return store.read_records(path)
    x64 = uses_x64(system)
    with jax.enable_x64(x64):
        start = time.perf_counter()
        layout = lay_out(system, spec, point, block, np.float64 if x64 else np.float32)
        members = layout.members
        hp = {k: layout.put(v) for k, v in members.hparams.items()}
        keys = layout.put(member_keys(members, spec.init))
        programs = compile_programs(system, layout)
        # Every leaf of state, hp and observations has the member axis first: one sharding for all.
        state_shape = jax.eval_shape(jax.vmap(system.init), keys, hp)
        template = observation_template(system, members, spec.record_steps(),
                                        jax.eval_shape(programs.observe, state_shape, hp))
        recorder = Recorder(system, spec, layout, path, template, jax.eval_shape(programs.snapshot, state_shape))

        state, first, resumed_from = resume_or_init(recorder, programs, layout, keys, hp, state_shape)
        if resumed_from is not None and writer():  # one line even when quiet: resuming is never silent
            print(f"resumed {label or 'the run'} from step {resumed_from} of {spec.steps}", file=sys.stderr)
        state, compile_seconds, train_seconds = train_chunks(
            recorder, programs, layout, state, hp, first, checkpoint_seconds=checkpoint_seconds, quiet=quiet,
            label=label)

        steps = recorder.steps
        trained = int(members.size * (steps[-1] - steps[first - 1]))
        timings = {
            "compile_seconds": compile_seconds,
            "train_seconds": train_seconds,
            "total_seconds": time.perf_counter() - start,
            "member_steps": trained,
            "member_steps_per_second": trained / train_seconds if train_seconds > 0 else None,
            "members": members.size,
            "devices": layout.devices,
            "member_block": layout.block,
            "resumed_from_step": resumed_from,
        }
        return finish(recorder, attrs, timings)


# --- a whole spec: one program per static point, merged ----------------------------------------------
def run(
    spec: Spec,
    out: str | Path | None = None,
    *,
    quiet: bool = False,
    checkpoint_seconds: float = 10.0,
    metadata: Mapping[str, Any] | None = None,
    block: int | None = None,
) -> xr.Dataset:
    """Train every member of `spec`; return (and with `out`, store and resume) the results.

    Static sweep axes (and tied groups with a static key) run one compiled program each; their
    results are merged along their dims, which come first. `block` overrides the members
    vmapped together per device (default: `member_block`). `spec.snapshot_steps` needs `out`
    (read them back with `load_snapshots(out)`).
    """
    spec.validate()
    require(block is None or block >= 1, f"block must be >= 1, got {block}")
    require(out is not None or not spec.snapshot_steps, "snapshot_steps need a run folder (out)")
    config = {**(metadata or {}), "spec": spec.to_dict()}
    out = Path(out) if out is not None else None
    attrs = store.provenance(config)

    def compute() -> xr.Dataset:
        return train_points(spec, out, attrs, quiet=quiet, checkpoint_seconds=checkpoint_seconds, block=block)

    return store.finished_or(out, config, compute, write=writer())


def run_shard(
    spec: Spec,
    out: str | Path,
    index: int,
    count: int,
    *,
    quiet: bool = False,
    checkpoint_seconds: float = 10.0,
    metadata: Mapping[str, Any] | None = None,
    block: int | None = None,
) -> list[int]:
    """Train shard `index` of `count` of a sweep into `out`: the static points i ≡ index (mod count),
    each resumable, in the layout `run` uses. Returns the points it trained.

    The shards of one sweep run independently (job-array tasks: `toymodels run --shard I/N`); once
    every point is finished, `run(spec, out)` (`toymodels merge`) merges them without training,
    giving the numbers of an unsharded run on the same device layout."""
    spec.validate()
    check_shards(spec, index, count)
    points = math.prod(spec.static_dims().values())
    config = {**(metadata or {}), "spec": spec.to_dict()}
    folder = store.RunFolder(out)
    store.claim_run_folder(folder.path, config, write=writer())
    if writer():
        store.write_json_atomic(folder.shards, {"count": count})
    attrs = store.provenance(config)
    mine = [i for i in range(points) if i % count == index]
    for i, point in enumerate(spec.points()):
        if i in mine:
            label = ", ".join(f"{k}={v}" for k, v in point.fixed.items())
            run_program(point.system, spec, point, folder.point(i), attrs=attrs, label=label, quiet=quiet,
                        checkpoint_seconds=checkpoint_seconds, block=block)
    return mine


def check_shards(spec: Spec, index: int, count: int) -> None:
    """Shard `index` of `count` must exist and own at least one static point of the sweep."""
    points = math.prod(spec.static_dims().values()) if spec.static_dims() else 0
    require(points >= 1, "sharding needs a sweep with static axes (one program per point); this one has none")
    require(1 <= count <= points and 0 <= index < count,
            f"shard I/N needs 0 <= I < N <= {points} (the sweep's static points), got {index}/{count}")


def unfinished_points(spec: Spec, out: str | Path) -> list[int]:
    """The static points of `spec` whose store in `out` is not finished."""
    folder = store.RunFolder(out)
    return [i for i in range(math.prod(spec.static_dims().values())) if not store.is_complete(folder.point(i))]


def train_points(spec: Spec, out: Path | None, attrs: Mapping[str, Any], **options: Any) -> xr.Dataset:
    """Every program of `spec`; without static dims the one program stores into `out/results.zarr`."""
    static = spec.static_dims()
    parts = []
    for i, point in enumerate(spec.points()):
        path = None
        if out is not None:
            path = store.RunFolder(out).point(i) if static else store.RunFolder(out).results
        label = ", ".join(f"{k}={v}" for k, v in point.fixed.items())
        parts.append(run_program(point.system, spec, point, path, attrs=attrs, label=label, **options))
    if not static:
        return parts[0]
    return merge_points(spec, parts)


def merge_points(spec: Spec, parts: list[xr.Dataset]) -> xr.Dataset:
    """The programs' Datasets along the static dims (product axes by value, tied groups by row)."""
    axes, groups = spec.static_axes(), spec.static_tied()
    labelled = []
    for point, ds in zip(spec.points(), parts, strict=True):
        labels = {k: [point.fixed[k]] for k in axes} | {g.dim: [point.index[g.dim]] for g in groups}
        labelled.append(ds.expand_dims(labels))
    merged = xr.merge(labelled, join="outer", compat="no_conflicts", combine_attrs="drop")
    merged = merged.reindex({k: list(v) for k, v in axes.items()})
    merged = merged.assign_coords({k: (g.dim, list(g.column(k))) for g in groups for k in g.keys})
    merged = merged.transpose(*spec.static_dims(), *parts[0]["diverged_step"].dims, "step", ...)
    merged.attrs = {"timings": json.dumps([json.loads(p.attrs["timings"]) for p in parts])}
    return merged
