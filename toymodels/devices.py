"""One JAX CPU device per core, so that the engine trains members on every core at once.

On CPU, XLA runs one member's small matmuls on 2+ threads poorly, and a vmapped batch of members
no faster per member; sharding the member axis over one CPU device per core (each device running
its own members) measured 2–2.5× the throughput of one device on 2 cores (docs/benchmarks.md).
GPU/TPU runs are unaffected: extra CPU devices are not used when an accelerator is present.
"""

from __future__ import annotations

import os

import jax

from toymodels.spec import require

ENV = "TOYMODELS_CPU_DEVICES"


def cores() -> int:
    """CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def use_cpu_cores(n: int | None = None) -> int:
    """Ask JAX for `n` CPU devices (default: $TOYMODELS_CPU_DEVICES, else one per core).

    Call before any JAX computation. Returns the device count asked for, or 0 when nothing was
    changed: XLA_FLAGS already forces a device count, or JAX has already started.
    """
    if "xla_force_host_platform_device_count" in os.environ.get("XLA_FLAGS", ""):
        return 0
    if n is None:
        text = os.environ.get(ENV, "")
        require(text == "" or text.isdigit(), f"{ENV} must be a positive integer, got {text!r}")
        n = int(text or 0) or cores()
    require(n >= 1, f"CPU devices must be >= 1, got {n}")
    try:
        jax.config.update("jax_num_cpu_devices", n)
    except RuntimeError:  # the backend is already running: keep its devices
        return 0
    return n
