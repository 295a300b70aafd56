"""Member-steps/s of the engine on the default modular-addition system for N members.

    python benchmarks/throughput.py [--members 1,64,1024] [--repeats 3] [--seconds 2]

Runs of different N are interleaved and repeated, each in a fresh process (see suite.py); the
table gives medians. Batching gain = (member-steps/s at N) / (member-steps/s at N = 1).
`python benchmarks/suite.py` runs this and every other benchmark and rewrites docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import statistics

from suite import measure


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", default="1,64,1024")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--system", default="modular-default")
    args = parser.parse_args()
    sizes = [int(n) for n in args.members.split(",")]
    rows = {n: [] for n in sizes}
    for _ in range(args.repeats):
        for n in sizes:
            rows[n].append(measure("engine", args.system, n, args.seconds))
    base = statistics.median(r["rate"] for r in rows[sizes[0]])
    print(f"{args.system}: | members N | member-steps/s (median) | batching gain | compile s |")
    for n in sizes:
        rate = statistics.median(r["rate"] for r in rows[n])
        compile_s = statistics.median(r["compile_seconds"] for r in rows[n])
        print(f"| {n} | {rate:,.1f} | {rate / base:.2f} | {compile_s:.1f} |")


if __name__ == "__main__":
    main()
