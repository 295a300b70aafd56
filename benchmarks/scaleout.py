"""Scale-out: member-steps/s of one sweep with 1, 2 and 4 JAX CPU devices.

    python benchmarks/scaleout.py [--members 256] [--devices 1,2,4] [--repeats 3] [--seconds 2]

Each measurement runs `configs.engine_rate` (N members in one program, steps calibrated to about
`--seconds`, compile excluded) in a fresh process whose CPU device count is set with
`toymodels.use_cpu_cores(D)` (as the command line does) before JAX starts; repetitions are interleaved
over the rows and the table gives medians. `scaleout_markdown()` returns the same table for
benchmarks/suite.py. More devices than cores oversubscribe the machine (the table says so).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from toymodels.devices import cores as cores_available

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import configs  # noqa: E402  (benchmarks/configs.py: the systems measured)

SYSTEMS = ("modular-tiny", "geometry")


def worker(name: str, members: int, seconds: float, devices: int) -> dict:
    """Measure one row in this process (JAX not yet started) with `devices` CPU devices."""
    import jax

    import toymodels as tm

    tm.use_cpu_cores(devices)  # what the command line does, with `devices` instead of the cores
    result = configs.engine_rate(name, members, seconds)
    return {**result, "devices": len(jax.devices())}


def measure(name: str, members: int, seconds: float, devices: int) -> dict | None:
    """One row in a fresh process; None (and a line on stderr) if it failed."""
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    env["JAX_PLATFORMS"] = "cpu"
    command = [sys.executable, __file__, "--worker", name, str(members), str(seconds), str(devices)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=1800)
    if done.returncode != 0:
        print(f"  {name} devices={devices}: failed: {done.stderr.strip().splitlines()[-1:]}",
              file=sys.stderr)
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def scaleout_markdown(members: int = 256, devices: tuple[int, ...] = (1, 2, 4), repeats: int = 3,
                      seconds: float = 2.0) -> str:
    """Measure every (system, device count), interleaved `repeats` times; the markdown table."""
    rows = [(name, d) for name in SYSTEMS for d in devices]
    results: dict[tuple[str, int], list[dict]] = {row: [] for row in rows}
    for repeat in range(repeats):
        for name, d in rows:
            print(f"[{repeat + 1}/{repeats}] scale-out {name} N={members} devices={d}", file=sys.stderr)
            got = measure(name, members, seconds, d)
            if got:
                results[(name, d)].append(got)
    cores = cores_available()
    lines = [
        f"### Scale-out over CPU devices ({members} members, {cores} cores)",
        "",
        f"Medians of {repeats} interleaved repetitions, each in a fresh process; compile excluded. "
        f"Speed-up is against 1 device. Rows with more devices than the {cores} cores "
        "oversubscribe the machine: they show the cost of that, not a gain to expect.",
        "",
        "| system | devices | member-steps/s | speed-up vs 1 device | chunk compile s | runs |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name in SYSTEMS:
        base = None
        for d in devices:
            got = results[(name, d)]
            if not got:
                lines.append(f"| {name} | {d} | failed | | | 0 |")
                continue
            rate = statistics.median(r["rate"] for r in got)
            base = base or (rate if d == devices[0] else None)
            speedup = f"{rate / base:.2f}" if base else ""
            compile_s = statistics.median(r["compile_seconds"] for r in got)
            note = " (oversubscribed)" if d > cores else ""
            lines.append(f"| {name} | {d}{note} | {rate:,.0f} | {speedup} | {compile_s:.1f} | {len(got)} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=256)
    parser.add_argument("--devices", default="1,2,4")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        name, members, seconds, devices = args.worker
        print(json.dumps(worker(name, int(members), float(seconds), int(devices))))
        return
    devices = tuple(int(d) for d in args.devices.split(","))
    print(scaleout_markdown(args.members, devices, args.repeats, args.seconds))


if __name__ == "__main__":
    main()
