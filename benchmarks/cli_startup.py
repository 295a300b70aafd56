"""Start-up time of the command line: `toymodels list` and `toymodels --help`, each in a fresh process.

    python benchmarks/cli_startup.py [--repeats 10]

Prints a markdown table (median and max wall-clock seconds over the repeats); the import
profile of `toymodels list` shows that neither JAX nor a study module is imported.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

COMMANDS = {"toymodels list": ["list"], "toymodels --help": ["--help"]}
HEAVY = ("jax", "matplotlib", "xarray", "toymodels.experiments.study")


def seconds(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "toymodels.experiments.cli", *args], check=True, capture_output=True)
    return time.perf_counter() - start


def imported(args: list[str]) -> set[str]:
    """The heavy modules a command imports (from `python -X importtime`)."""
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "toymodels.experiments.cli", *args],
                            capture_output=True, text=True, check=True)
    names = {line.split("|")[-1].strip() for line in result.stderr.splitlines() if "|" in line}
    return {name for name in HEAVY if name in names}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=10)
    repeats = parser.parse_args().repeats
    print("| command | median s | max s | heavy imports |\n|---|---|---|---|")
    for label, args in COMMANDS.items():
        times = [seconds(args) for _ in range(repeats)]
        print(f"| `{label}` | {statistics.median(times):.2f} | {max(times):.2f} | "
              f"{', '.join(sorted(imported(args))) or 'none'} |")


if __name__ == "__main__":
    main()
