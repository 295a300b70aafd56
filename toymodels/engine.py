"""The population engine: the only training loop in toymodels.

Members are seeds × the grid of dynamic hyperparameters. For each static point of the sweep,
one program is compiled,

    chunk = jit(shard_map(map_blocks(vmap(scan(step, log_every) ; observe)))),

the member axis is sharded over all `jax.devices()`; each device runs its members in blocks of
`member_block` (vmapped inside a block, one block after another), and the host only works between chunks:
progress bar, one Zarr record of observations, divergence flags, a state checkpoint. A run with
a folder resumes from its last checkpoint and finishes with the same numbers as an uninterrupted
run (same seed and config → identical results).

Multi-host (after `jax.distributed.initialize()`): the member axis spans every process's devices;
observations and checkpoints are gathered to every process, and only process 0 writes the run
folder (which must be on a filesystem all processes see).
"""

from __future__ import annotations

import itertools
import json
import math
import sys
import time
from collections.abc import Mapping
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
from toymodels.spec import Spec, System, require

MEMBERS = "members"
BLOCK_FLOPS = 4e6


@dataclass(frozen=True)
class Members:
    """The member table of one program: per-member seed and hyperparameters, flattened."""

    seeds: np.ndarray                 # (B,) int
    hparams: dict[str, np.ndarray]    # name -> (B,) float
    dims: tuple[str, ...]             # ("seed", *swept dynamic names)
    shape: tuple[int, ...]            # sizes of `dims`; prod(shape) == B
    coords: dict[str, np.ndarray]

    @property
    def size(self) -> int:
        return len(self.seeds)


def member_table(spec: Spec, dtype: np.dtype) -> Members:
    """seeds × grid, in row-major order of (seed, *dynamic axes)."""
    axes = {"seed": np.arange(spec.seeds), **{k: np.asarray(v) for k, v in spec.dynamic_axes().items()}}
    rows = list(itertools.product(*axes.values()))
    hparams = {k: np.full(len(rows), v, dtype=dtype) for k, v in spec.hparams.items()}
    for j, name in enumerate(axes):
        if name != "seed":
            hparams[name] = np.array([row[j] for row in rows], dtype=dtype)
    return Members(
        seeds=np.array([row[0] for row in rows], dtype=np.uint32),
        hparams=hparams,
        dims=tuple(axes),
        shape=tuple(len(v) for v in axes.values()),
        coords=axes,
    )


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


def blocked(f, block: int, mesh: Mesh):
    """f over the sharded member axis: per device, `lax.map` over blocks of `block` vmapped members."""

    def local(*args):
        return jax.lax.map(lambda xs: f(*xs), args, batch_size=block)

    return jax.shard_map(local, mesh=mesh, in_specs=PartitionSpec(MEMBERS), out_specs=PartitionSpec(MEMBERS))


def make_chunk(system: System, log_every: int):
    """chunk(state, hp) = (state after `log_every` steps, observe(that state))."""

    def chunk(state, hp):
        def body(s, _):
            return system.step(s, hp), None

        state, _ = jax.lax.scan(body, state, None, length=log_every)
        return state, system.observe(state, hp)

    return chunk


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

    Static sweep axes run one compiled program each; their results are merged along their dims.
    `block` overrides the members vmapped together per device (default: `member_block`).
    """
    spec.validate()
    config = {**(metadata or {}), "spec": spec.to_dict()}
    out = Path(out) if out is not None else None
    if out is not None:
        store.claim_run_folder(out, config, write=writer())
        final = out / store.RESULTS
        if store.is_complete(final):
            return store.load(out)
    attrs = store.provenance(config)
    points = list(spec.systems())
    parts = []
    for i, (point, system) in enumerate(points):
        path = None
        if out is not None:
            path = out / store.RESULTS if len(points) == 1 else out / "parts" / f"part-{i:03d}.zarr"
        ds = run_program(system, spec, path, quiet=quiet, checkpoint_seconds=checkpoint_seconds,
                         attrs=attrs, block=block, label=", ".join(f"{k}={v}" for k, v in point.items()))
        parts.append(ds.expand_dims({k: [v] for k, v in point.items()}))
    if len(points) == 1:
        return parts[0]
    merged = xr.merge(parts, join="outer", compat="no_conflicts", combine_attrs="drop")
    member_dims = [d for d in parts[0]["diverged_step"].dims if d not in spec.static_axes()]
    merged = merged.transpose(*spec.static_axes(), *member_dims, "step", ...)
    merged.attrs = {**attrs, "timings": json.dumps([json.loads(p.attrs["timings"]) for p in parts])}
    if out is not None and writer():
        store.save_complete(out / store.RESULTS, merged)
    merged.attrs["complete"] = True
    return merged


def run_program(
    system: System,
    spec: Spec,
    path: Path | None,
    *,
    quiet: bool,
    checkpoint_seconds: float,
    attrs: Mapping[str, Any],
    block: int | None = None,
    label: str = "",
) -> xr.Dataset:
    """Train all members of one static point of the sweep (one compiled program)."""
    if path is not None and store.is_complete(path):
        return store.read_records(path)
    if getattr(system, "precision", "float32") == "float64":
        jax.config.update("jax_enable_x64", True)
    dtype = np.float64 if jax.config.jax_enable_x64 else np.float32
    members = member_table(spec, dtype)
    n_dev = len(jax.devices())
    local = -(-members.size // n_dev)
    require(block is None or block >= 1, f"block must be >= 1, got {block}")
    block = block or member_block(system, {k: v[0] for k, v in members.hparams.items()}, local)
    n_blocks = -(-local // block)
    block = -(-local // n_blocks)  # equal blocks: one compiled block body, fewer than n_blocks padded members
    padded = n_dev * n_blocks * block
    sharding = member_sharding()

    def put(x: np.ndarray) -> jax.Array:
        return jax.device_put(pad_members(x, padded), sharding)

    hp = {k: put(v) for k, v in members.hparams.items()}
    keys = put(np.asarray(jax.vmap(jax.random.PRNGKey)(members.seeds)))
    # Every leaf of state, hp and observations has the member axis first: one sharding for all.
    state_shape = jax.eval_shape(jax.vmap(system.init), keys, hp)
    init = jax.jit(blocked(system.init, block, sharding.mesh))
    observe = jax.jit(blocked(system.observe, block, sharding.mesh))
    chunk = jax.jit(blocked(make_chunk(system, spec.log_every), block, sharding.mesh), donate_argnums=0)
    obs_shapes = jax.eval_shape(observe, state_shape, hp)
    steps = np.arange(0, spec.steps + 1, spec.log_every)
    template = observation_template(system, members, steps, obs_shapes)
    buffer = {name: template[name].values for name in obs_shapes}
    diverged = np.full(members.size, -1, np.int64)
    n_member_dims = len(members.dims)
    write = path is not None and writer()

    def record(r: int, obs: Mapping[str, jax.Array]) -> None:
        """Keep observation `r` in memory and in the store; flag members that diverged."""
        values = {}
        for name, x in fetch(obs).items():
            x = np.asarray(x)[: members.size].astype(buffer[name].dtype)
            values[name] = x.reshape(*members.shape, *x.shape[1:])
            buffer[name][(slice(None),) * n_member_dims + (r,)] = values[name]
        loss = np.asarray(values[system.divergence_key]).reshape(members.size, -1)
        bad = ~np.isfinite(loss).all(axis=1) & (diverged < 0)
        diverged[bad] = steps[r]
        if write:
            store.write_record(path, r, values, n_member_dims)

    start = time.perf_counter()
    resumed = load_resumable(path, state_shape)
    if resumed is None:
        if write:
            store.create_store(path, template)
        state = init(keys, hp)
        record(0, observe(state, hp))
        first = 1
    else:
        leaves, last, extra = resumed
        state = jax.tree.unflatten(jax.tree.structure(state_shape), [put(x[: members.size]) for x in leaves])
        previous = store.read_records(path)
        for name in buffer:
            buffer[name][...] = previous[name].values
        diverged[:] = extra["diverged"]
        first = last + 1

    compile_start = time.perf_counter()
    compiled = chunk.lower(state, hp).compile()
    compile_seconds = time.perf_counter() - compile_start
    bar = tqdm(
        total=members.size * spec.steps, initial=members.size * steps[first - 1],
        unit="member-step", unit_scale=True, desc=label or None, dynamic_ncols=True,
        disable=quiet or not sys.stderr.isatty() or not writer(),
    )
    last_checkpoint = time.perf_counter()
    train_start = time.perf_counter()
    for r in range(first, len(steps)):
        state, obs = compiled(state, hp)
        record(r, obs)
        bar.update(members.size * spec.log_every)
        due = r < len(steps) - 1 and time.perf_counter() - last_checkpoint >= checkpoint_seconds
        if path is not None and agree(due):
            leaves = [np.asarray(x) for x in fetch(jax.tree.leaves(state))]  # every process: a collective
            if write:
                store.save_checkpoint(path, leaves, r, {"diverged": diverged})
            last_checkpoint = time.perf_counter()
    jax.block_until_ready(state)
    bar.close()
    train_seconds = time.perf_counter() - train_start
    trained_steps = int(members.size * (steps[-1] - steps[first - 1]))
    timings = {
        "compile_seconds": compile_seconds,
        "train_seconds": train_seconds,
        "total_seconds": time.perf_counter() - start,
        "member_steps": trained_steps,
        "member_steps_per_second": trained_steps / train_seconds if train_seconds > 0 else None,
        "members": members.size,
        "devices": n_dev,
        "member_block": block,
        "resumed_from_step": int(steps[first - 1]) if resumed is not None else None,
    }
    final_attrs = {**attrs, "timings": json.dumps(timings)}
    result = template.copy(data={**buffer, "diverged_step": diverged.reshape(members.shape)})
    result.attrs = {**final_attrs, "complete": True}
    if write:
        store.finish_store(path, {"diverged_step": diverged.reshape(members.shape)}, final_attrs)
        store.drop_checkpoint(path)
    return result


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
