"""Memory planning: bytes per member of a sweep, from shapes alone (nothing is trained).

For each static point of `spec` (one compiled program each), `memory_plan` reports

    state        bytes of one member's training state      Σ leaves of eval_shape(init)
    record       bytes of one member's observations at one logged step (as the engine stores them)
    records      R = steps / log_every + 1 (step 0 and after every chunk)
    results      bytes of one member's in-memory results    R · record + 8 (diverged_step)
    temporary    XLA scratch of one chunk per member        temp(2 members) − temp(1 member)
    fixed        XLA scratch not proportional to members    temp(1 member) − temporary

(temp = `memory_analysis().temp_size_in_bytes` of `jit(vmap(make_chunk(system, log_every)))`
compiled for this backend), and the planning estimate

    peak ≈ members · (state + results) + devices · (block · temporary + fixed),

where `block` is how many members one device advances at once (the engine's `member_block`, in
the `timings` attr of a result: 1 or a few on CPU, all of a device's members on GPU/TPU).
On a CPU the devices share the machine's RAM, so that whole sum is what RAM must hold; on
GPUs/TPUs the state and the scratch are per device and the results are host RAM.

Not counted: XLA/JAX runtime overhead and the compiled code, the Python process and its
libraries (a few hundred MB), the host copy of the state made at each checkpoint (one more
`members · state` on the host while it is written), the second copy made when the parts of a
sweep with static axes are merged, and padding members (< devices per program).
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import numpy as np

from toymodels.engine import make_chunk
from toymodels.spec import Spec, System

DIVERGED_BYTES = 8  # diverged_step: one int64 per member


def tree_bytes(tree: Any) -> int:
    """Σ size · itemsize over the leaves of a pytree of arrays or ShapeDtypeStructs."""
    return int(sum(np.prod(x.shape, dtype=np.int64) * np.dtype(x.dtype).itemsize
                   for x in jax.tree.leaves(tree)))


def member_inputs(names: tuple[str, ...], members: int, dtype: np.dtype):
    """Shapes of what the engine feeds its vmapped init: (keys, hp) for `members` members."""
    keys = jax.ShapeDtypeStruct((members, 2), np.uint32)
    return keys, {name: jax.ShapeDtypeStruct((members,), dtype) for name in names}


def chunk_temporary_bytes(system: System, names: tuple[str, ...], log_every: int, members: int,
                          dtype: np.dtype) -> int:
    """XLA scratch bytes of one compiled chunk (`log_every` steps + observe) for `members`."""
    keys, hp = member_inputs(names, members, dtype)
    state = jax.eval_shape(jax.vmap(system.init), keys, hp)
    chunk = jax.jit(jax.vmap(make_chunk(system, log_every)))
    return int(chunk.lower(state, hp).compile().memory_analysis().temp_size_in_bytes)


@functools.cache
def program_plan(system: System, names: tuple[str, ...], log_every: int, x64: bool) -> dict[str, int]:
    """Per-member bytes of one compiled program: state, one record, chunk scratch (cached)."""
    with jax.enable_x64(x64):  # as the engine: float64 for such a system, without a global switch
        dtype = np.float64 if x64 else np.float32
        keys, hp = member_inputs(names, 1, dtype)
        state = jax.eval_shape(jax.vmap(system.init), keys, hp)
        observed = jax.eval_shape(jax.vmap(system.observe), state, hp)
        one, two = (chunk_temporary_bytes(system, names, log_every, n, dtype) for n in (1, 2))
    # The engine records every observation as result_type(dtype, float32) (ints become float64).
    record = sum(int(np.prod(x.shape[1:], dtype=np.int64)) * np.result_type(x.dtype, np.float32).itemsize
                 for x in observed.values())
    return {"state_bytes": tree_bytes(state), "record_bytes": record, "temporary_bytes": two - one,
            "fixed_temporary_bytes": max(2 * one - two, 0)}


def point_plan(system: System, spec: Spec) -> dict[str, int]:
    """Per-member byte counts of one static point of `spec` (see the module docstring)."""
    x64 = jax.config.jax_enable_x64 or getattr(system, "precision", "float32") == "float64"
    plan = program_plan(system, tuple(sorted(spec.hparams)), spec.log_every, x64)
    records = spec.steps // spec.log_every + 1
    return {**plan, "records": records,
            "results_bytes": records * plan["record_bytes"] + DIVERGED_BYTES}


def memory_plan(spec: Spec) -> dict[str, Any]:
    """Bytes per member of every static point of `spec`, and the totals for its members.

    Returns {"members", "records", "points": [{"point", per-member bytes (see the module
    docstring), "state_total_bytes", "results_total_bytes"}], "state_total_bytes",
    "results_total_bytes"}. Totals over points add up: every point's results stay in memory
    until they are merged; points run one after the other, so the largest point's state is what
    is resident at once (`state_peak_bytes`).
    """
    spec.validate()
    members = spec.n_members
    points = []
    for point, system in spec.systems():
        plan = point_plan(system, spec)
        points.append({
            "point": point,
            **plan,
            "state_total_bytes": members * plan["state_bytes"],
            "results_total_bytes": members * plan["results_bytes"],
        })
    return {
        "members": members,
        "records": spec.steps // spec.log_every + 1,
        "points": points,
        "state_peak_bytes": max(p["state_total_bytes"] for p in points),
        "results_total_bytes": sum(p["results_total_bytes"] for p in points),
    }


def peak_bytes(plan: dict[str, Any], *, block: int, devices: int = 1) -> int:
    """peak ≈ largest point's state + all results + devices · (block · temporary + fixed).

    `block` is capped at the members one device holds, ⌈members / devices⌉."""
    block = min(block, -(-plan["members"] // devices))
    scratch = max(devices * (block * p["temporary_bytes"] + p["fixed_temporary_bytes"])
                  for p in plan["points"])
    return plan["state_peak_bytes"] + plan["results_total_bytes"] + scratch
