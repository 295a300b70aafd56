"""Member-steps/s of the engine on the default modular-addition system for N members.

    python benchmarks/throughput.py [--members 1,64,1024] [--repeats 3] [--seconds 3]

For every N, the steps per run are chosen so that one run takes about `--seconds`; runs of
different N are interleaved and repeated; the table gives medians. Compile time is measured
separately (ahead-of-time compilation inside the engine) and is not part of the throughput.
Batching gain = (member-steps/s at N) / (member-steps/s at N = 1).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics

import jax

import toymodels as tm


def spec_for(members: int, steps: int) -> tm.Spec:
    system = tm.ModularMLP()
    return tm.Spec(system, system.hparams(), seeds=members, steps=steps, log_every=steps)


def measure(members: int, steps: int) -> dict:
    ds = tm.run(spec_for(members, steps), quiet=True)
    return json.loads(ds.attrs["timings"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", default="1,64,1024")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    sizes = [int(n) for n in args.members.split(",")]
    # Calibrate: a short probe per N gives its speed, then steps for ~`seconds` per run.
    steps = {}
    for n in sizes:
        probe = measure(n, 2)
        steps[n] = max(2, int(args.seconds * probe["member_steps_per_second"] / n))
    rates = {n: [] for n in sizes}
    compiles = {n: [] for n in sizes}
    for _ in range(args.repeats):
        for n in sizes:
            t = measure(n, steps[n])
            rates[n].append(t["member_steps_per_second"])
            compiles[n].append(t["compile_seconds"])
    base = statistics.median(rates[sizes[0]])
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"jax {jax.__version__}, devices {jax.devices()}")
    print("| members N | steps per run | member-steps/s (median) | batching gain vs N=1 | compile s |")
    print("|---:|---:|---:|---:|---:|")
    for n in sizes:
        rate = statistics.median(rates[n])
        print(f"| {n} | {steps[n]} | {rate:,.0f} | {rate / base:.2f} | {statistics.median(compiles[n]):.2f} |")


if __name__ == "__main__":
    main()
