"""The reproduction ledger: grading rules, the page, and every declared claim checked on a fresh run.

`test_claims_hold` runs each experiment's claimed preset once (as `toymodels reproduce` does) and
fails when a claim's value is missing, its grade differs from the declared one, it drifted beyond
its declared tolerance, or the committed page (docs/reproductions.json) disagrees with it.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from toymodels.experiments import Claim, discover
from toymodels.experiments.cli import main
from toymodels.experiments.ledger import (
    Row,
    check,
    grade,
    load_rows,
    lookup,
    markdown,
    merge,
    problems,
)
from toymodels.theory.estimate import Estimate, point, student_t

CLAIMED = sorted(name for name, experiment in discover().items() if experiment.claims)
PAGE = Path(__file__).resolve().parents[1] / "docs" / "reproductions.json"


def claim(accept, partly=None, measured=2.0, drift=0.5, kind="paper", expected="reproduced", min_n=1) -> Claim:
    return Claim(source="A et al., Fig. 1", text="x", key="a/b", paper="1", accept=accept, partly=partly,
                 band="test", measured=measured, drift=drift, drift_source="test", kind=kind,
                 expected=expected, min_n=min_n)


@given(st.floats(-1e6, 1e6), st.floats(-1e6, 1e6), st.floats(-1e6, 1e6))
def test_grade_is_reproduced_exactly_inside_the_band(value, a, b):
    low, high = min(a, b), max(a, b)
    status = grade(claim((low, high)), point(value))
    assert (status == "reproduced") == (low <= value <= high)


def test_grade_partly_missing_and_inconclusive():
    c = claim((0.9, 1.1), partly=(0.5, 2.0))
    assert grade(c, point(1.5)) == "partly"
    assert grade(c, point(3.0)) == "not reproduced"
    assert grade(c, None) == "missing"
    assert grade(c, point(float("nan"))) == "missing"
    assert grade(claim((0.0, None)), point(1e9)) == "reproduced"
    assert grade(claim((0.0, None), min_n=5), student_t([1.0, 2.0, 3.0])) == "inconclusive"
    # a 95 % interval wider than a two-sided band cannot decide; a narrow one can
    assert grade(claim((0.9, 1.1)), student_t([0.0, 1.0, 2.0])) == "inconclusive"
    assert grade(claim((0.9, 1.1)), student_t([0.99, 1.0, 1.01])) == "reproduced"
    # a one-sided band: an interval straddling its edge cannot decide; one wholly on a side can
    assert grade(claim((0.0, None)), student_t([-1.0, 1.0, 3.0])) == "inconclusive"
    assert grade(claim((None, 0.0)), student_t([-1.0, 1.0, 3.0])) == "inconclusive"
    assert grade(claim((0.0, None)), student_t([1.0, 1.1, 1.2])) == "reproduced"
    assert grade(claim((0.0, None)), point(-1.0)) == "not reproduced"
    # a wide interval wholly outside the band decides
    assert grade(claim((0.9, 1.1)), student_t([3.0, 4.0, 5.0])) == "not reproduced"


def test_a_missing_or_broken_value_fails_its_claim_test_whatever_is_declared():
    """Deleting the key, or training that breaks (NaN), is red even for a declared 'not reproduced'."""
    declared = claim((10.0, 20.0), expected="not reproduced", measured=2.0)
    healthy = {"a": {"b": {"value": 2.0, "lo": 1.5, "hi": 2.5, "n": 8, "interval": "range"}}}
    assert problems(check("demo", [declared], healthy)[0]) == []
    for broken in ({"a": {}}, {"a": {"b": None}}, {"a": {"b": {"value": None, "n": 0}}}, {"a": {"b": math.nan}}):
        (row,) = check("demo", [declared], broken)
        assert row.status == "missing" and problems(row), broken


def test_a_drift_inside_the_same_grade_fails_and_names_old_and_new():
    c = claim((0.0, None), measured=2.0, drift=0.5)
    (row,) = check("demo", [c], {"a": {"b": 4.0}})
    assert row.status == "reproduced"
    (message,) = problems(row)
    assert "2 → 4" in message
    assert problems(check("demo", [c], {"a": {"b": 2.4}})[0]) == []


def test_summary_values_are_read_from_paths_and_estimates():
    summary = {"a": {"b": {"value": 2.0, "lo": 1.0, "hi": 3.0, "n": 5, "interval": "student-t", "level": 0.95}}}
    assert Estimate.from_json(lookup(summary, "a/b")) == Estimate(2.0, 1.0, 3.0, 5, "student-t", 0.95)
    assert lookup(summary, "a/x") is None


def test_page_counts_kinds_apart_and_words_targets_and_controls():
    rows = [Row("demo", claim((0, 1), kind=k), point(0.5), "reproduced") for k in ("paper", "target", "control")]
    page = markdown(rows, "abc")
    assert "## Paper claims" in page and "## Our targets" in page and "## Controls" in page
    assert "**met**" in page and "**passes**" in page and page.count("**reproduced**") == 1
    assert "commit `abc`" in page


def test_merge_keeps_other_experiments_rows():
    name = CLAIMED[0]
    experiment = discover()[name]
    kept = [Row(name, c, point(c.measured), "reproduced") for c in experiment.claims]
    other = CLAIMED[1]
    fresh = [Row(other, c, point(c.measured), "reproduced") for c in discover()[other].claims]
    merged = merge(kept, fresh)
    assert {r.experiment for r in merged} == {name, other}
    assert len(merged) == len(kept) + len(fresh)
    assert merge(merged, fresh[:1]) == [r for r in merged if r.experiment != other] + fresh[:1]


def test_reproduce_refuses_a_dirty_tree_unless_allowed(tmp_path, capsys, monkeypatch):
    import toymodels.store

    monkeypatch.setattr(toymodels.store, "git_commit", lambda: "abc+dirty")
    page = tmp_path / "r.md"
    assert main(["reproduce", "--only", CLAIMED[0], "--out", str(tmp_path), "--ledger", str(page)]) == 2
    assert "uncommitted changes" in capsys.readouterr().err and not page.exists()


def test_reproduce_rejects_unknown_names(tmp_path, capsys):
    assert main(["reproduce", "--only", "no-such-study", "--out", str(tmp_path), "--ledger",
                 str(tmp_path / "r.md")]) == 2
    assert "unknown experiment" in capsys.readouterr().err
    assert not (tmp_path / "r.md").exists()


def test_the_page_lists_exactly_the_declared_claims_from_a_clean_commit():
    declared = sorted((n, c.key, c.preset) for n, e in discover().items() for c in e.claims)
    stored = sorted((r.experiment, r.claim.key, r.claim.preset) for r in load_rows(PAGE))
    assert stored == declared
    assert "+dirty" not in PAGE.with_suffix(".md").read_text()


@pytest.fixture(scope="session")
def ledger_dir(tmp_path_factory):
    """A fresh folder; $TOYMODELS_LEDGER_DIR reuses the finished runs of `toymodels reproduce --out DIR`."""
    reuse = os.environ.get("TOYMODELS_LEDGER_DIR")
    return Path(reuse) if reuse else tmp_path_factory.mktemp("ledger")


@pytest.mark.parametrize("name", CLAIMED)
def test_claims_hold(name, ledger_dir):
    """Run `toymodels reproduce --only NAME` itself: its process has one CPU device per core, as the
    page's run had, so the members' float rounding (which the vmap batch per device decides) is the
    page's. Chaotic statistics still move with the rounding; their drifts say by how much."""
    written = ledger_dir / f"{name}.md"
    command = [sys.executable, "-m", "toymodels.experiments.cli", "reproduce", "--out", str(ledger_dir),
               "--only", name, "--ledger", str(written), "--quiet", "--allow-dirty"]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-4000:]
    rows = load_rows(written.with_suffix(".json"))
    assert rows, f"{name} declares claims but none was checked"
    wrong = [message for row in rows for message in problems(row)]
    page = {(r.claim.key, r.claim.preset): r.ours for r in load_rows(PAGE) if r.experiment == name}
    for row in rows:
        shown = page.get((row.claim.key, row.claim.preset))
        if shown is None or row.ours is None or abs(shown.value - row.ours.value) > row.claim.drift:
            wrong.append(f"{row.claim.key}: the page says {shown and shown.value}, this run "
                         f"{row.ours and row.ours.value} (regenerate it: toymodels reproduce --only {name})")
    assert not wrong, "; ".join(wrong)
