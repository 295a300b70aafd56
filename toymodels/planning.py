"""Planning a sweep before running it: bytes per member, FLOPs per step and an estimated time.

For each static point of `spec` (one compiled program each), `memory_plan` reports

    state          bytes of one member's training state      Σ leaves of eval_shape(init)
    record         bytes of one member's observations at one logged step (as the engine stores them)
    records        R = number of recorded steps (step 0 and every logged step)
    results        bytes of one member's in-memory results    R · record + 8 (diverged_step)
    temporary      XLA scratch of one chunk for one member     temp(1 member)
    flops          FLOPs of one member's optimisation step     XLA cost analysis of the lowered step

`state`, `record` and `flops` come from abstract evaluation (`jax.eval_shape`, the cost analysis of
the *lowered*, uncompiled step): nothing is compiled for them. `temporary` is the
`memory_analysis().temp_size_in_bytes` of `jit(vmap(chunk))` for one member, compiled once per
static point (`chunk` = steps then `observe`, with a traced step count, as the engine runs it) and
dropped once read (a plan of 100 static points holds no 100 executables).
It counts all of one member's scratch as per-member: an upper bound for a block of several
members, exact for a block of one (the engine's CPU blocks are one or a few members).

The planning estimate of memory is

    peak ≈ largest point's (members · state) + all results + devices · block · temporary,

where `block` is how many members one device advances at once (the engine's `member_block`, in
the `timings` attr of a result: 1 or a few on CPU, all of a device's members on GPU/TPU).
On a CPU the devices share the machine's RAM, so that whole sum is what RAM must hold; on
GPUs/TPUs the state and the scratch are per device and the results are host RAM.

Not counted: XLA/JAX runtime overhead and the compiled code, the Python process and its
libraries (a few hundred MB), the host copy of the state made at each checkpoint (one more
`members · state` on the host while it is written), the second copy made when the parts of a
sweep with static axes are merged, and padding members (< devices per program).

`memory_plan(spec, timed=True)` also runs each point's compiled chunk (the same executable: no
second compile) for a few steps on one member, on the first device JAX sees, and records
`seconds_per_member_step`; `time_plan` turns those into the run's estimate Σ_points steps ·
⌈members / devices⌉ · seconds per member-step, an upper bound where the engine vmaps several
members per block (GPU/TPU; small systems on CPU).
"""

from __future__ import annotations

import math
import os
import time
import warnings
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from toymodels.engine import chunk_program, uses_x64
from toymodels.spec import ConfigError, Spec, System, require

DIVERGED_BYTES = 8  # diverged_step: one int64 per member
TIMED_SECONDS = 0.2  # time_plan runs a point's chunk for at least this long (or the whole run)


def tree_bytes(tree: Any) -> int:
    """Σ size · itemsize over the leaves of a pytree of arrays or ShapeDtypeStructs (exact integers)."""
    return sum(math.prod(x.shape) * np.dtype(x.dtype).itemsize for x in jax.tree.leaves(tree))


def trained(system: Any) -> bool:
    """Whether `system` is an engine system (has init, step and observe)."""
    return all(callable(getattr(system, name, None)) for name in ("init", "step", "observe"))


def member_inputs(names: tuple[str, ...], dtype: np.dtype):
    """Shapes of what the engine feeds its vmapped programs for one member: (key, hp)."""
    keys = jax.ShapeDtypeStruct((1, 2), np.uint32)
    return keys, {name: jax.ShapeDtypeStruct((1,), dtype) for name in names}


def abstract_point(system: System, names: tuple[str, ...]):
    """(abstract state, hp shapes, observation shapes) of one member, by `jax.eval_shape` only."""
    with jax.enable_x64(uses_x64(system)):
        keys, hp = member_inputs(names, np.float64 if uses_x64(system) else np.float32)
        state = jax.eval_shape(jax.vmap(system.init), keys, hp)
        return state, hp, jax.eval_shape(jax.vmap(system.observe), state, hp)


def record_bytes(observed: Any) -> int:
    """Bytes of one member's observations at one logged step, as the engine stores them
    (every observation as result_type(dtype, float32): ints become float64)."""
    return sum(math.prod(x.shape[1:]) * np.result_type(x.dtype, np.float32).itemsize for x in observed.values())


def compiled_point(system: System, names: tuple[str, ...], compile: bool = True):
    """(abstract state, hp shapes, observation shapes, flops per step, compiled one-member chunk or
    None when `compile` is False)."""
    state, hp, observed = abstract_point(system, names)
    with jax.enable_x64(uses_x64(system)):
        dtype = np.float64 if uses_x64(system) else np.float32
        one = {k: jax.ShapeDtypeStruct((), dtype) for k in hp}
        member_state = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape[1:], x.dtype), state)
        cost = jax.jit(system.step).lower(member_state, one).cost_analysis() or {}
        compiled = None
        if compile:
            chunk = jax.jit(jax.vmap(chunk_program(system), in_axes=(None, 0, 0)))
            compiled = chunk.lower(jax.ShapeDtypeStruct((), np.int32), state, hp).compile()
    return state, hp, observed, float(cost.get("flops", 0.0)), compiled


def program_plan(system: System, hparams: dict[str, float], timed_steps: int = 0,
                 compile: bool = True) -> dict[str, Any]:
    """Per-member bytes and FLOPs of one static point (compiled once, unless `compile` is False:
    then `temporary_bytes` is None), and its measured seconds per member-step when `timed_steps` > 0
    (timed for at most that many steps; needs `compile`)."""
    state, hp, observed, flops, compiled = compiled_point(system, tuple(sorted(hparams)), compile)
    plan = {"state_bytes": tree_bytes(state), "record_bytes": record_bytes(observed),
            "temporary_bytes": int(compiled.memory_analysis().temp_size_in_bytes) if compiled else None,
            "flops_per_step": flops}
    if timed_steps:
        with jax.enable_x64(uses_x64(system)):
            plan["seconds_per_member_step"] = seconds_per_member_step(compiled, state, hp, hparams, timed_steps)
    return plan


def point_hparams(spec: Spec, fixed: dict[str, Any]) -> dict[str, float]:
    """One member's hyperparameters at a static point (its values; the first of each dynamic axis)."""
    return {**spec.point_hparams(fixed), **{k: v[0] for k, v in spec.dynamic_axes().items()}}


def memory_plan(spec: Spec, *, timed: bool = False, compile: bool = True) -> dict[str, Any]:
    """Bytes and FLOPs per member of every static point of `spec`, and the totals for its members
    (with `timed`, also each point's measured `seconds_per_member_step`; `compile=False`: abstract
    evaluation only, in seconds, without the scratch bytes and the timing).

    Returns {"members" (per point), "records", "points": [{"point" (the values it fixes),
    per-member keys (see the module docstring), "state_total_bytes",
    "results_total_bytes", "flops_total_per_step"}], "state_peak_bytes", "results_total_bytes",
    "flops_per_step"}. Points run one after the other, so the largest point's state is what is
    resident at once (`state_peak_bytes`); every point's results stay in memory until they are
    merged (`results_total_bytes` adds up); `flops_per_step` is Σ over points of members · flops.
    """
    spec.validate()
    require(compile or not timed, "a timed plan needs compiling")
    require(all(trained(system) for _, system in spec.systems()),
            f"{type(spec.system).__name__} is not trained by the engine (no init/step/observe): nothing to plan")
    members = spec.n_members
    records = spec.n_records
    points = []
    for fixed, system in spec.systems():
        plan = program_plan(system, point_hparams(spec, fixed), spec.steps if timed else 0, compile)
        results = records * plan["record_bytes"] + DIVERGED_BYTES
        points.append({
            "point": fixed, **plan, "records": records, "results_bytes": results,
            "state_total_bytes": members * plan["state_bytes"],
            "results_total_bytes": members * results,
            "flops_total_per_step": members * plan["flops_per_step"],
        })
    return {
        "members": members,
        "records": records,
        "points": points,
        "state_peak_bytes": max(p["state_total_bytes"] for p in points),
        "results_total_bytes": sum(p["results_total_bytes"] for p in points),
        "flops_per_step": sum(p["flops_total_per_step"] for p in points),
    }


def available_bytes() -> int:
    """Memory this machine can give now (physical pages available; all of it where that is not known)."""
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 2**63 - 1


def check_fits(spec: Spec, available: int | None = None) -> None:
    """Refuse (ConfigError, before anything is allocated) a run whose members' state and results
    (`jax.eval_shape` only: nothing compiled or allocated) exceed the memory available: their sum
    is a lower bound of what the run holds at once. `spec` is validated already (the caller's
    boundary)."""
    state, results = 0, 0
    for fixed, system in spec.systems():
        try:
            with warnings.catch_warnings():  # e.g. JAX truncating an index dtype of a huge array
                warnings.simplefilter("ignore")
                shapes, _, observed = abstract_point(system, tuple(sorted(point_hparams(spec, fixed))))
        except (OverflowError, ValueError, MemoryError) as error:  # e.g. an array size past int64
            raise ConfigError(f"this run's arrays are too large to lay out ({error})") from None
        state = max(state, spec.n_members * tree_bytes(shapes))
        results += spec.n_members * (spec.n_records * record_bytes(observed) + DIVERGED_BYTES)
    need = state + results
    available = available_bytes() if available is None else available
    require(need <= available,
            f"this run needs at least {human_bytes(need)} (members' state {human_bytes(state)} + results "
            f"{human_bytes(results)}); {human_bytes(available)} is available: use fewer seeds, sweep values, "
            "logged steps or a smaller system, or shard it (--shard)")


def peak_bytes(plan: dict[str, Any], *, block: int, devices: int = 1) -> int:
    """peak ≈ largest point's state + all results + devices · block · temporary.

    `block` is capped at the members one device holds, ⌈members / devices⌉."""
    block = min(block, -(-plan["members"] // devices))
    scratch = max(devices * block * p["temporary_bytes"] for p in plan["points"])
    return plan["state_peak_bytes"] + plan["results_total_bytes"] + scratch


def seconds_per_member_step(compiled: Any, state: Any, hp: Any, hparams: dict[str, float], max_steps: int) -> float:
    """Run a point's compiled one-member chunk (zero state) and time it: seconds per step.

    Steps double from 1 until a run takes ≥ TIMED_SECONDS or reaches `max_steps`; the first
    (warm-up) call is not timed. The values of a zero state do not change the work done."""
    zeros = jax.tree.map(lambda x: jnp.zeros(x.shape, x.dtype), state)
    values = {k: jnp.full(x.shape, hparams[k], x.dtype) for k, x in hp.items()}
    jax.block_until_ready(compiled(np.int32(1), zeros, values))
    n = 1
    while True:
        start = time.perf_counter()
        jax.block_until_ready(compiled(np.int32(n), zeros, values))
        elapsed = time.perf_counter() - start
        if elapsed >= TIMED_SECONDS or n >= max_steps:
            return elapsed / n
        n = min(2 * n, max_steps)


def time_plan(spec: Spec, plan: dict[str, Any], devices: int | None = None) -> dict[str, Any]:
    """The estimated run time of `spec` on `devices` devices (default: those JAX sees) from its
    timed plan (`memory_plan(spec, timed=True)`): Σ_points steps · ⌈members / devices⌉ · seconds
    per member-step."""
    require(all("seconds_per_member_step" in p for p in plan["points"]),
            "time_plan needs memory_plan(spec, timed=True)")
    devices = devices or len(jax.devices())
    local = -(-spec.n_members // devices)
    per_point = [p["seconds_per_member_step"] for p in plan["points"]]
    return {"devices": devices, "backend": jax.default_backend(), "seconds_per_member_step": per_point,
            "seconds": float(sum(spec.steps * local * s for s in per_point))}


def human_bytes(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.3g} {unit}"
        n /= 1000
    raise AssertionError


def human_seconds(s: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if s >= size:
            return f"{s / size:.3g} {unit}"
    return f"{s:.3g} s"


def format_plan(spec: Spec, plan: dict[str, Any], timing: dict[str, Any] | None = None) -> str:
    """The `toymodels run --plan` text: one line per static point, then the totals (bytes exact)."""
    lines = [f"static points: {len(plan['points'])}   members per point: {plan['members']}   "
             f"members: {plan['members'] * len(plan['points'])}   steps: {spec.steps}   records: {plan['records']}",
             "point | state B/member | results B/member (record B) | scratch B/member | FLOP/step/member"
             + (" | est. time" if timing else "")]
    for i, p in enumerate(plan["points"]):
        point = ", ".join(f"{k}={v}" for k, v in p["point"].items()) or "-"
        time_text = (f" | {human_seconds(spec.steps * -(-plan['members'] // timing['devices']) * s)}"
                     if timing and (s := timing["seconds_per_member_step"][i]) else "")
        scratch = "not compiled" if p["temporary_bytes"] is None else p["temporary_bytes"]
        lines.append(f"{point} | {p['state_bytes']} | {p['results_bytes']} ({p['record_bytes']}) | "
                     f"{scratch} | {p['flops_per_step']:.4g}{time_text}")
    lines += [
        f"state (largest point): {plan['state_peak_bytes']} B ({human_bytes(plan['state_peak_bytes'])})",
        f"results (all points): {plan['results_total_bytes']} B ({human_bytes(plan['results_total_bytes'])})",
        (f"scratch per member in a block (largest point): {max(p['temporary_bytes'] for p in plan['points'])} B"
         if plan["points"][0]["temporary_bytes"] is not None
         else "scratch and time: not compiled (add --compile to compile each point, measure and time it)"),
        f"FLOPs per step (all members): {plan['flops_per_step']:.4g}",
    ]
    if timing:
        lines.append(f"estimated time on {timing['devices']} {timing['backend']} device(s): "
                     f"{human_seconds(timing['seconds'])} (measured steps of one member, "
                     f"members not vmapped together: an upper bound)")
    return "\n".join(lines)
