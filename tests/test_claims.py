"""The reproduction ledger: grading rules, and every declared claim checked on a fresh run.

`test_claims_hold` runs each experiment's claimed preset once (as `toymodels reproduce` does) and
fails when a claim's status differs from the one the experiment declares: a reproduced number
that leaves its tolerance, or a not-reproduced one that starts to hold (then update the claim).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from toymodels.experiments import Claim, discover
from toymodels.experiments.cli import main
from toymodels.experiments.ledger import Estimate, check, estimate, grade, lookup, markdown, reproduce

CLAIMED = sorted(name for name, experiment in discover().items() if experiment.claims)


def claim(accept, partly=None) -> Claim:
    return Claim(source="A et al., Fig. 1", text="x", key="a/b", paper="1", accept=accept, partly=partly)


@given(st.floats(-1e6, 1e6), st.floats(-1e6, 1e6), st.floats(-1e6, 1e6))
def test_grade_is_reproduced_exactly_inside_the_band(value, a, b):
    low, high = min(a, b), max(a, b)
    status = grade(claim((low, high)), Estimate(value))
    assert (status == "reproduced") == (low <= value <= high)


def test_grade_partly_and_missing():
    c = claim((0.9, 1.1), partly=(0.5, 2.0))
    assert grade(c, Estimate(1.5)) == "partly"
    assert grade(c, Estimate(3.0)) == "not reproduced"
    assert grade(c, None) == "not reproduced"
    assert grade(claim((0.0, None)), Estimate(1e9)) == "reproduced"


def test_summary_values_are_read_from_paths_and_interval_dicts():
    summary = {"a": {"b": {"mean": 2.0, "lo": 1.0, "hi": 3.0, "n": 5}}, "c": float("nan"), "d": None}
    assert estimate(lookup(summary, "a/b")) == Estimate(2.0, 1.0, 3.0, 5)
    assert lookup(summary, "a/x") is None and estimate(lookup(summary, "c")) is None
    assert estimate(lookup(summary, "d")) is None
    rows = check("demo", [claim((1.5, 2.5)), claim((0, 1))], summary)
    assert [r.status for r in rows] == ["reproduced", "not reproduced"]
    page = markdown(rows)
    assert page.count("| `demo` |") == 2 and "1 reproduced, 0 partly, 1 not reproduced of 2 claims" in page


def test_reproduce_rejects_unknown_names(tmp_path, capsys):
    assert main(["reproduce", "--only", "no-such-study", "--out", str(tmp_path), "--ledger",
                 str(tmp_path / "r.md")]) == 2
    assert "unknown experiment" in capsys.readouterr().err
    assert not (tmp_path / "r.md").exists()


@pytest.fixture(scope="session")
def ledger_dir(tmp_path_factory):
    """A fresh folder; $TOYMODELS_LEDGER_DIR reuses the finished runs of `toymodels reproduce --out DIR`."""
    reuse = os.environ.get("TOYMODELS_LEDGER_DIR")
    return Path(reuse) if reuse else tmp_path_factory.mktemp("ledger")


@pytest.mark.parametrize("name", CLAIMED)
def test_claims_hold(name, ledger_dir):
    rows = reproduce(ledger_dir, [name])
    assert rows, f"{name} declares claims but none was checked"
    wrong = [f"{r.claim.key}: {r.status} (declared {r.claim.expected}), ours {r.ours}" for r in rows
             if r.status != r.claim.expected]
    assert not wrong, "; ".join(wrong)
