"""The reproduction ledger: every experiment's claims, checked against fresh runs.

`reproduce(out)` runs each experiment's preset named by its claims (reusing finished runs in
`out/<name>-<preset>/`; a folder made with other settings is deleted and re-run), reads the
numbers from `summary.json` and grades each claim:
reproduced when our value lies in the claim's `accept` band, partly when it lies in its
`partly` band, else not reproduced. `markdown(rows)` renders `docs/reproductions.md`.
Every number on that page comes from a run; the page types none.
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toymodels.experiments import Claim, discover, get, run_and_report
from toymodels.spec import ConfigError, Spec
from toymodels.store import CONFIG_FILE, git_commit, package_version


@dataclass(frozen=True)
class Estimate:
    """Our number for a claim: a value, optionally an interval (lo, hi) and the count n behind it."""

    value: float
    lo: float | None = None
    hi: float | None = None
    n: int | None = None


@dataclass(frozen=True)
class Row:
    experiment: str
    claim: Claim
    ours: Estimate | None
    status: str


def lookup(summary: Mapping[str, Any], key: str) -> Any:
    """summary["a"]["b"]... for key "a/b/..."; None when any part is missing."""
    node: Any = summary
    for part in key.split("/"):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def estimate(node: Any) -> Estimate | None:
    """A number, or {"mean"|"value", "lo", "hi", "n"}, as an `Estimate` (None if not a finite number)."""
    if isinstance(node, Mapping):
        value = node.get("mean", node.get("value"))
        if not isinstance(value, int | float) or not math.isfinite(value):
            return None
        n = node.get("n")
        return Estimate(float(value), node.get("lo"), node.get("hi"), int(n) if n is not None else None)
    if isinstance(node, bool) or not isinstance(node, int | float) or not math.isfinite(node):
        return None
    return Estimate(float(node))


def within(value: float, band: tuple[float | None, float | None] | None) -> bool:
    if band is None:
        return False
    low, high = band
    return (low is None or value >= low) and (high is None or value <= high)


def grade(claim: Claim, ours: Estimate | None) -> str:
    """reproduced if ours ∈ accept, partly if ours ∈ partly, else not reproduced (also when missing)."""
    if ours is None:
        return "not reproduced"
    if within(ours.value, claim.accept):
        return "reproduced"
    return "partly" if within(ours.value, claim.partly) else "not reproduced"


def check(experiment: str, claims: Sequence[Claim], summary: Mapping[str, Any]) -> list[Row]:
    rows = []
    for claim in claims:
        ours = estimate(lookup(summary, claim.key))
        rows.append(Row(experiment, claim, ours, grade(claim, ours)))
    return rows


def drop_if_stale(folder: Path, spec: Spec) -> None:
    """Delete a ledger run folder made with other settings (the preset changed since), so it is re-run."""
    config = folder / CONFIG_FILE
    if config.exists() and json.loads(config.read_text()).get("spec") != json.loads(json.dumps(spec.to_dict())):
        shutil.rmtree(folder)


def reproduce(out: Path, only: Sequence[str] | None = None, quiet: bool = True) -> list[Row]:
    """Run (or reuse) every preset the claims need, in `out/<experiment>-<preset>/`; grade every claim."""
    experiments = discover()
    names = sorted(only) if only else sorted(n for n, e in experiments.items() if e.claims)
    rows: list[Row] = []
    for name in names:
        experiment = get(name)
        if not experiment.claims:
            raise ConfigError(f"{name} declares no claims")
        for preset in dict.fromkeys(c.preset for c in experiment.claims):
            spec, folder = experiment.spec(preset), Path(out) / f"{name}-{preset}"
            drop_if_stale(folder, spec)
            summary = run_and_report(name, preset, spec, folder, quiet=quiet)
            rows += check(name, [c for c in experiment.claims if c.preset == preset], summary)
    return rows


def number(x: float | None) -> str:
    if x is None:
        return "?"
    return f"{x:.3g}"


def describe(ours: Estimate | None, interval: str) -> str:
    if ours is None:
        return "missing"
    text = number(ours.value)
    if ours.lo is not None and ours.hi is not None:
        text += f" [{number(ours.lo)}, {number(ours.hi)}] ({interval})"
    if ours.n is not None:
        text += f", n = {ours.n}"
    return text


def band(accept: tuple[float | None, float | None] | None) -> str:
    if accept is None:
        return "—"
    low, high = accept
    if low is None:
        return f"≤ {number(high)}"
    if high is None:
        return f"≥ {number(low)}"
    return f"[{number(low)}, {number(high)}]"


def markdown(rows: Sequence[Row]) -> str:
    """The ledger page: one row per claim, grouped by experiment, with a count of each status."""
    counts = {s: sum(r.status == s for r in rows) for s in ("reproduced", "partly", "not reproduced")}
    lines = [
        "# Reproductions",
        "",
        "Written by `toymodels reproduce` (do not edit by hand): each row is a paper's claim, our number",
        "from the `summary.json` of the named preset's run, and its status. A claim is *reproduced* when",
        "our number lies in the tolerance band, *partly* when it lies in the wider band of the partial",
        "claim. Each row is also a test (`tests/test_claims.py`) that fails when the status changes.",
        "",
        f"toymodels {package_version()}, commit `{git_commit()}`. "
        + ", ".join(f"{v} {k}" for k, v in counts.items()) + f" of {len(rows)} claims.",
        "",
        "| experiment | paper, figure | claim | paper's value | ours | tolerance | preset | status | reason |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        c = r.claim
        lines.append(f"| `{r.experiment}` | {c.source} | {c.text} (`{c.key}`) | {c.paper} | "
                     f"{describe(r.ours, c.interval)} | {band(c.accept)} | {c.preset} | **{r.status}** | {c.reason} |")
    return "\n".join(lines) + "\n"
