"""Every experiment's `paper` preset end to end, cut down to the smallest shape that keeps each
static point and every report path; its `--plan` against `memory_plan`; a failed report keeps the
results and can be re-run.

Cut-down rule (`cut_down_args`): seeds 1 and three logging intervals (`steps = 3 · log_every`, or
the first three steps of an explicit `log_steps` schedule; snapshots at 0 and the end). Every value
of every dynamic axis is kept (vmapped: cheap). A static axis with more than `STATIC_KEEP` values
(quanta's 30 widths, the skills studies' 50 dimensions) keeps `STATIC_KEEP` of them, evenly spaced
from the first to the last: each value is its own compiled program, and the reports take the same
path (one fit over the swept values) with fewer of them. `OVERRIDES` lists the experiments whose
reports need more records or seeds than the rule gives, and why.

Status: `PASSED` lists the experiments whose cut-down run passed on this session's shared machine
before its deadline; every other one is skipped with its reason (`SKIPPED`, or not yet run to
completion), not assumed to pass: add each to `PASSED` once its case passes. The cut-down of
quanta-emergence held 5.4 GB of RAM and ran > 3 CPU-min without finishing.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import numpy as np
import pytest
from test_plan import plan_numbers

from toymodels.experiments import REGISTRY, discover
from toymodels.experiments.cli import build_parser, build_spec, main
from toymodels.planning import memory_plan, trained
from toymodels.spec import Spec

INTERVALS = 3
STATIC_KEEP = 4
OVERRIDES: dict[str, dict[str, str]] = {
    # early-step gradients read steps 1..4 and step 4; survivor overlap needs a pair of seeds
    "circle-survival": {"seeds": "2", "steps": "100", "log_steps": "1,2,3,4,100"},
    # half the seeds held out (≥ 2 seeds); the ODE fit window is the first 20 % of the steps
    "frequency-competition": {"seeds": "4", "steps": "200"},
}


def cut_down_args(name: str, spec: Spec) -> list[str]:
    """CLI settings for seeds 1, `INTERVALS` logging intervals and at most `STATIC_KEEP` values per
    static axis, then the experiment's `OVERRIDES`."""
    settings = {"seeds": "1"}
    if spec.log_steps is None:
        settings["steps"] = str(INTERVALS * spec.log_every)
    else:
        kept = [s for s in sorted(spec.log_steps) if s > 0][:INTERVALS]
        settings |= {"steps": str(kept[-1]), "log_steps": ",".join(map(str, kept))}
    settings |= OVERRIDES.get(name, {})
    if spec.snapshot_steps:
        settings["snapshot_steps"] = f"0,{settings['steps']}"
    args = ["--seeds", settings.pop("seeds")]
    for key, value in settings.items():
        args += ["--set", f"{key}={value}"]
    for key, values in spec.static_axes().items():
        if len(values) > STATIC_KEEP:
            kept = [values[i] for i in np.linspace(0, len(values) - 1, STATIC_KEEP).round().astype(int)]
            args += ["--sweep", f"{key}={','.join(map(str, kept))}"]
    return args


def cut_down(name: str) -> list[str]:
    return ["run", name, "--preset", "paper", *cut_down_args(name, discover()[name].spec("paper"))]

PASSED = frozenset({"circle-survival", "constant-norm", "deep-linear", "domino-two-tasks", "frequency-competition",
                    "skills-composition", "skills-modular-mlp", "skills-rare-task", "skills-zipf",
                    "superposition-intro"})
SKIPPED = {
    # passes (186 CPU-s): its report trains a dynamics run sized by the preset name (DYNAMICS_RUN),
    # which no CLI setting cuts down: over this file's CI budget
    "critical-fraction": "passes, but its report's paper-size dynamics run costs 186 CPU-s",
    "superposition-phases": "passes (run and report), but 8000 members cost 89 CPU-s",
    "quanta-emergence": "cut-down held 5.4 GB of RAM, > 3 CPU-min, unfinished",
}


def cases() -> list:
    return [pytest.param(name, marks=pytest.mark.skip(
                reason=SKIPPED.get(name, "cut-down not yet run to completion (UNVERIFIED)")))
            if name not in PASSED else name
            for name in sorted(name for name, e in discover().items() if "paper" in e.presets)]


@pytest.mark.parametrize("name", cases())
def test_paper_preset_end_to_end(name, tmp_path, capsys):
    args = cut_down(name)
    spec = build_spec(build_parser().parse_args(args))
    if all(trained(system) for _, system in spec.systems()):
        assert main([*args, "--plan"]) == 0
        printed = plan_numbers(capsys.readouterr().out)
        plan = memory_plan(spec)
        assert printed["members"] == plan["members"]
        assert [row[:4] for row in printed["rows"]] == [
            [p["state_bytes"], p["results_bytes"], p["record_bytes"], p["temporary_bytes"]] for p in plan["points"]]
        assert printed["totals"] == {k: plan[k] for k in printed["totals"]}
    else:
        assert main([*args, "--plan"]) == 2  # nothing to plan: one line, exit 2
    out = tmp_path / name
    assert main([*args, "--out", str(out), "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary, f"{name}: empty summary"


def test_the_paper_presets_page_lists_every_paper_preset():
    """docs/paper-presets.md has one row per paper preset with its static points and members
    (regenerate it with `python -m toymodels.experiments.paper_presets` when a preset changes)."""
    rows = {}
    for line in (Path(__file__).parents[1] / "docs" / "paper-presets.md").read_text().splitlines():
        if match := re.match(r"\| `([\w-]+)` \| ([^|]+) \| ([^|]+) \|", line):
            rows[match[1]] = (match[2].strip(), match[3].strip())
    expected = {}
    for name, experiment in discover().items():
        if "paper" in experiment.presets:
            spec = experiment.spec("paper")
            points = len(list(spec.points()))
            trains = all(trained(system) for _, system in spec.systems())
            expected[name] = (str(points), f"{spec.n_members * points:,}") if trains else ("–", "–")
    assert {name: rows.get(name) for name in expected} == expected


def test_a_failed_report_keeps_the_results_and_can_be_rerun(tmp_path, monkeypatch):
    experiment = discover()["modular-addition"]

    def broken(ds, out):
        raise RuntimeError("report failed")

    monkeypatch.setitem(REGISTRY, "modular-addition", dataclasses.replace(experiment, report=broken))
    out = tmp_path / "run"
    args = ["run", "modular-addition", "--preset", "tiny", "--set", "steps=50", "--out", str(out), "--quiet"]
    with pytest.raises(RuntimeError, match="report failed"):
        main(args)
    assert (out / "results.zarr").exists() and not (out / "summary.json").exists()
    monkeypatch.setitem(REGISTRY, "modular-addition", experiment)
    assert main(["report", str(out)]) == 0
    assert json.loads((out / "summary.json").read_text())["n_members"] == 4
