"""The reproduction ledger: every experiment's claims, checked against fresh runs.

`reproduce(out)` runs each experiment's preset named by its claims (reusing finished runs in
`out/<name>-<preset>/`; a folder made with other settings is deleted and re-run), reads the
numbers from `summary.json` and grades each claim (`grade`):

    missing          the key is absent or its value is not a finite number (always a failure)
    inconclusive     fewer than `min_n` values, or a 95 % interval wider than a two-sided band and
                     overlapping it
    reproduced       value ∈ accept          (worded "met" for targets, "passes" for controls)
    partly           value ∈ partly          ("partly met", "partly passes")
    not reproduced   otherwise               ("not met", "fails")

`problems(row)` lists what makes a claim test fail: a missing value, a grade other than the
declared one, or a value that moved more than `drift` from the declared `measured`.
The rows are kept in `docs/reproductions.json` (`save_rows`/`load_rows`); `reproduce --only A,B`
replaces the rows of A and B and keeps the rest; `markdown(rows)` renders `docs/reproductions.md`
with paper claims, targets and controls counted apart. Every number on that page comes from a run.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toymodels.experiments import KINDS, Claim, discover, get, run_and_report
from toymodels.spec import ConfigError, Spec
from toymodels.store import RunFolder, git_commit, package_version
from toymodels.theory.estimate import CONFIDENCE, Estimate

WORDS = {
    "paper": {"reproduced": "reproduced", "partly": "partly", "not reproduced": "not reproduced"},
    "target": {"reproduced": "met", "partly": "partly met", "not reproduced": "not met"},
    "control": {"reproduced": "passes", "partly": "partly passes", "not reproduced": "fails"},
}
HEADINGS = {"paper": "Paper claims", "target": "Our targets", "control": "Controls"}


@dataclass(frozen=True)
class Row:
    experiment: str
    claim: Claim
    ours: Estimate | None
    status: str                                   # a grade of `grade`, or "missing"


def lookup(summary: Mapping[str, Any], key: str) -> Any:
    """summary["a"]["b"]... for key "a/b/..."; None when any part is missing."""
    node: Any = summary
    for part in key.split("/"):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def within(value: float, band: tuple[float | None, float | None] | None) -> bool:
    if band is None:
        return False
    low, high = band
    return (low is None or value >= low) and (high is None or value <= high)


def undecided(claim: Claim, ours: Estimate) -> bool:
    """Too few values, or a confidence interval (student-t, Welch, Wilson, bootstrap) that cannot
    place the value: wider than a two-sided accept band and overlapping it (one wholly outside the
    band decides), or, for a one-sided band, straddling its edge."""
    if ours.n < claim.min_n:
        return True
    if ours.interval not in CONFIDENCE or None in (ours.lo, ours.hi):
        return False
    low, high = claim.accept
    if low is not None and high is not None:
        return ours.hi - ours.lo > high - low and ours.lo <= high and ours.hi >= low
    edge = low if high is None else high
    return edge is not None and ours.lo < edge < ours.hi


def grade(claim: Claim, ours: Estimate | None) -> str:
    """missing, inconclusive, reproduced (∈ accept), partly (∈ partly) or not reproduced."""
    if ours is None or not ours.finite:
        return "missing"
    if undecided(claim, ours):
        return "inconclusive"
    if within(ours.value, claim.accept):
        return "reproduced"
    return "partly" if within(ours.value, claim.partly) else "not reproduced"


def check(experiment: str, claims: Sequence[Claim], summary: Mapping[str, Any]) -> list[Row]:
    rows = []
    for claim in claims:
        ours = Estimate.from_json(lookup(summary, claim.key))
        rows.append(Row(experiment, claim, ours, grade(claim, ours)))
    return rows


def problems(row: Row) -> list[str]:
    """Why this row fails its claim test: missing value, another grade than declared, or drift."""
    c = row.claim
    if row.ours is None or not row.ours.finite:
        return [f"{c.key}: missing or not a finite number (declared {c.expected}, measured {c.measured:.6g})"]
    found = []
    if row.status != c.expected:
        found.append(f"{c.key}: {row.status} (declared {c.expected}), ours {row.ours.value:.6g}")
    if abs(row.ours.value - c.measured) > c.drift:
        found.append(f"{c.key}: moved {c.measured:.6g} → {row.ours.value:.6g}, beyond the drift "
                     f"±{c.drift:.3g} ({c.drift_source}); if the change is real, edit the declaration")
    return found


def drop_if_stale(folder: Path, spec: Spec) -> None:
    """Delete a ledger run folder made with other settings (the preset changed since), so it is re-run."""
    config = RunFolder(folder).config_file
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


# --- the stored rows and the page ------------------------------------------------------------------
def row_json(row: Row) -> dict[str, Any]:
    from toymodels.experiments import to_json

    return {"experiment": row.experiment, "key": row.claim.key, "preset": row.claim.preset,
            "ours": to_json(row.ours), "status": row.status}


def save_rows(path: Path, rows: Sequence[Row], commit: str) -> None:
    path.write_text(json.dumps({"commit": commit, "version": package_version(),
                                "rows": [row_json(r) for r in rows]}, indent=1, ensure_ascii=False) + "\n")


def load_rows(path: Path) -> list[Row]:
    """Rows stored by `save_rows`, matched to today's declarations (rows of claims no longer declared
    are dropped; a declared claim with no stored row is absent)."""
    if not path.exists():
        return []
    declared = {(n, c.key, c.preset): c for n, e in discover().items() for c in e.claims}
    rows = []
    for r in json.loads(path.read_text())["rows"]:
        claim = declared.get((r["experiment"], r["key"], r["preset"]))
        if claim is not None:
            ours = r["ours"] and Estimate.from_json(r["ours"])
            rows.append(Row(r["experiment"], claim, ours or None, grade(claim, ours or None)))
    return rows


def merge(kept: Sequence[Row], fresh: Sequence[Row]) -> list[Row]:
    """The fresh rows replace every row of their experiments; the order is that of the declarations."""
    redone = {r.experiment for r in fresh}
    by_claim = {(r.experiment, r.claim.key, r.claim.preset): r for r in kept if r.experiment not in redone}
    by_claim.update({(r.experiment, r.claim.key, r.claim.preset): r for r in fresh})
    order = [(n, c.key, c.preset) for n, e in sorted(discover().items()) for c in e.claims]
    return [by_claim[k] for k in order if k in by_claim]


def write_ledger(page: Path, rows: Sequence[Row], allow_dirty: bool = False) -> None:
    """Write the page and its rows (beside it, .json), refusing a dirty tree unless `allow_dirty`."""
    commit = git_commit()
    if commit.endswith("+dirty") and not allow_dirty:
        raise ConfigError("the source tree has uncommitted changes: commit first (or --allow-dirty)")
    page.parent.mkdir(parents=True, exist_ok=True)
    save_rows(page.with_suffix(".json"), rows, commit)
    page.write_text(markdown(rows, commit))


def number(x: float | None) -> str:
    return "?" if x is None else f"{x:.3g}"


def describe(ours: Estimate | None) -> str:
    if ours is None or not ours.finite:
        return "missing"
    text = number(ours.value)
    if ours.lo is not None and ours.hi is not None:
        text += f" [{number(ours.lo)}, {number(ours.hi)}] ({ours.describe()})"
    if ours.n > 1:
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


def word(row: Row) -> str:
    return WORDS[row.claim.kind].get(row.status, row.status)


def markdown(rows: Sequence[Row], commit: str) -> str:
    """The ledger page: a table per kind (paper claims, our targets, controls), each with its counts."""
    lines = [
        "# Reproductions",
        "",
        "Written by `toymodels reproduce` (do not edit by hand; the rows are also in `reproductions.json`).",
        "Each row is a claim, our number from the `summary.json` of the named preset's run, and its grade.",
        "*Paper claims* are a paper's numbers or figures: only these are ever called reproduced. *Targets*",
        "are our own goals (met / not met); *controls* check that a method can fail (passes / fails). A",
        "value is graded inside its tolerance band (reproduced, met, passes), inside the wider partial band",
        "(partly), outside (not reproduced, not met, fails), or *inconclusive* when too few values stand",
        "behind it or its 95 % interval is wider than the band. Each row is a test (`tests/test_claims.py`)",
        "that fails when the value is missing, the grade changes, or the value drifts beyond its tolerance.",
        "",
        f"toymodels {package_version()}, commit `{commit}`.",
    ]
    for kind in KINDS:
        chosen = [r for r in rows if r.claim.kind == kind]
        if not chosen:
            continue
        counts = {}
        for r in chosen:
            counts[word(r)] = counts.get(word(r), 0) + 1
        lines += ["", f"## {HEADINGS[kind]}", "",
                  ", ".join(f"{v} {k}" for k, v in counts.items()) + f" of {len(chosen)}.", "",
                  "| experiment | source | claim | stated value | ours | band (source) | preset | grade | reason |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for r in chosen:
            c = r.claim
            lines.append(f"| `{r.experiment}` | {c.source} | {c.text} (`{c.key}`) | {c.paper} | {describe(r.ours)} | "
                         f"{band(c.accept)} ({c.band}) | {c.preset} | **{word(r)}** | {c.reason} |")
    return "\n".join(lines) + "\n"
