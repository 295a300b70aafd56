"""One command for every benchmark; rewrites docs/benchmarks.md (table + plot).

    python benchmarks/suite.py [--quick] [--repeats 3] [--systems geometry,sparse-parity]

Rows (member-steps/s = optimisation steps of one network per second, summed over members):
- engine, N members in one compiled program (`toymodels.run`, compile time excluded, reported apart),
  with one JAX CPU device per core as `toymodels run` sets up, and N = 1 on a single device too;
- PyTorch, the usual per-member loop (one network at a time), 1 thread and the default threads;
- PyTorch ensemble: `torch.func.stack_module_state` + `vmap` over N members.
Each measurement runs in a fresh subprocess (clean compile caches, its own peak RSS), and the
repetitions are interleaved across rows so that machine noise hits every row alike; tables give
medians. Peak matmul GFLOP/s (float32, 2048², JAX) is measured in the same run.
Then the scale-out table of benchmarks/scaleout.py (1, 2, 4 CPU devices).
PyTorch rows are skipped when torch is not installed (`pip install -e '.[bench]'`).
`--systems` measures a subset of `configs.SYSTEMS`; the rewritten docs/benchmarks.md then holds
only those tables (the notes below `<!-- notes -->` are kept either way).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import configs  # noqa: E402  (benchmarks/configs.py: the systems measured, in JAX and PyTorch)
import scaleout  # noqa: E402  (benchmarks/scaleout.py: 1, 2, 4 CPU devices)


def worker(kind: str, name: str, members: int, seconds: float, threads: int) -> dict:
    """Measure one row in this process; return a JSON-ready dict."""
    import resource

    if kind == "peak":
        result = configs.peak_matmul_gflops()
    elif kind.startswith("engine"):
        import toymodels

        toymodels.use_cpu_cores(1 if kind == "engine-1-device" else None)  # else: one device per core, as the CLI
        result = configs.engine_rate(name, members, seconds)
    else:
        result = configs.torch_rate(name, members, seconds, threads, ensemble=(kind == "torch-ensemble"))
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def measure(kind: str, name: str, members: int, seconds: float, threads: int = 0) -> dict | None:
    env = dict(os.environ)
    if kind.startswith("torch") and threads:
        env["OMP_NUM_THREADS"] = str(threads)
    command = [sys.executable, __file__, "--worker", kind, name, str(members), str(seconds), str(threads)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=900)
    except subprocess.TimeoutExpired:
        print(f"  {kind} {name} N={members}: no result within 15 min", file=sys.stderr)
        return None
    if done.returncode != 0:
        print(f"  {kind} {name} N={members}: failed: {done.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def rows_to_measure(quick: bool, systems: list[str]) -> list[tuple[str, str, int, int]]:
    sizes = (1, 64) if quick else (1, 64, 1024)
    rows = []
    have_torch = configs.torch_available()
    for name in systems:
        rows.append(("engine-1-device", name, 1, 0))
        for n in configs.sizes_for(name, sizes):
            rows.append(("engine", name, n, 0))
        if have_torch:
            rows += [("torch-loop", name, 1, 1), ("torch-loop", name, 1, 0)]
            for n in configs.sizes_for(name, sizes, "torch-ensemble"):
                if n > 1:
                    rows.append(("torch-ensemble", name, n, 0))
    return rows


def machine() -> str:
    import jax

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    torch = configs.torch_version()
    return (f"{cpu}; {os.cpu_count()} cores; Python {platform.python_version()}; jax {jax.__version__} "
            f"({jax.devices()[0].platform}); torch {torch or 'not installed'}")


def main() -> None:
    parser = argparse.ArgumentParser(description="Run every benchmark and rewrite docs/benchmarks.md")
    parser.add_argument("--quick", action="store_true", help="N ∈ {1, 64}, 1 s per measurement")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=2.0, help="target seconds per measurement")
    parser.add_argument("--systems", default=",".join(configs.SYSTEMS),
                        help=f"comma-separated subset of {', '.join(configs.SYSTEMS)} (default: all)")
    parser.add_argument("--worker", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kind, name, members, seconds, threads = args.worker
        print(json.dumps(worker(kind, name, int(members), float(seconds), int(threads))))
        return
    systems = args.systems.split(",")
    unknown = sorted(set(systems) - set(configs.SYSTEMS))
    if unknown:
        parser.error(f"unknown systems {', '.join(unknown)}; choose from {', '.join(configs.SYSTEMS)}")
    seconds = 1.0 if args.quick else args.seconds
    rows = rows_to_measure(args.quick, systems)
    results: dict[tuple, list[dict]] = {row: [] for row in rows}
    peaks = []
    start = time.time()
    for repeat in range(args.repeats):
        peaks.append(measure("peak", "-", 1, seconds))
        for row in rows:
            kind, name, n, threads = row
            print(f"[{repeat + 1}/{args.repeats}] {kind} {name} N={n} threads={threads or 'default'}",
                  file=sys.stderr)
            got = measure(kind, name, n, seconds, threads)
            if got:
                results[row].append(got)
    peak = statistics.median(p["gflops"] for p in peaks if p)
    devices = (1, 2) if args.quick else (1, 2, 4)
    extra = scaleout.scaleout_markdown(devices=devices, repeats=args.repeats, seconds=seconds)
    report = configs.write_report(results, peak, machine(), time.time() - start, ROOT / "docs", extra)
    print(report)


if __name__ == "__main__":
    main()
