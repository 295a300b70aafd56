"""Every experiment's `paper` preset end to end, cut down to the smallest shape that keeps each
static point and every report path; its `--plan` against `memory_plan`; a failed report keeps the
results and can be re-run.

Cut-down rule (`cut_down_args`): seeds 1 and three logged steps (`steps = 3`, `log_every = 1`, or
the first three steps of an explicit `log_steps` schedule; snapshots at 0 and the end). A swept
axis with more than `STATIC_KEEP` values (quanta's 30 widths, the skills studies' 50 dimensions,
sae-toy's 13 L1 coefficients) keeps `STATIC_KEEP` of them, evenly spaced from the first to the last:
a static value is its own compiled program and a dynamic one a block of members of the paper's
shapes, and the reports take the same path (one fit over the swept values) with fewer of them.
`OVERRIDES` lists the experiments whose reports need more records or seeds than the rule gives, or
whose cost is set by a size no static point depends on (test set, batch), and why.

Every paper preset runs here; none is skipped. A cut-down run costs at most about a CPU-minute
(graph-stitching's stitched pairs at width 256, quanta-scaling's 4 widths × data sizes).
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
from toymodels.planning import memory_plan
from toymodels.spec import Spec

INTERVALS = 3
STATIC_KEEP = 4
DOCS = Path(__file__).parents[1] / "docs"
OVERRIDES: dict[str, dict[str, str]] = {
    # early-step gradients read steps 1..4 and step 4; survivor overlap needs a pair of seeds
    "circle-survival": {"seeds": "2", "steps": "100", "log_steps": "1,2,3,4,100"},
    # half the seeds held out (≥ 2 seeds); the ODE fit window is the first 20 % of the steps
    "frequency-competition": {"seeds": "4", "steps": "200"},
    # the dynamics part (Fig. 4b) is sized by settings of the census, not by steps and seeds
    "critical-fraction": {"dynamics_seeds": "1", "dynamics_steps": "100"},
    # the test set (500 subtasks × 1000) dominates a cut-down run: 10 per subtask, smaller batches
    "quanta-emergence": {"test_per_task": "10", "batch": "1000"},
    "quanta-genic": {"test_per_task": "10", "batch": "1000"},
    # a 2048-latent buffer per member: its batches dominate, as for sae-toy
    "sae-suite": {"batch": "64", "eval_batch": "256"},
    # the second-order stages are sized by these, not by steps
    "precision-fit": {"n_train": "1000", "n_test": "1000", "bfgs_maxiter": "3", "lc_steps": "1", "boost_maxiter": "3"},
    # half the seeds calibrate, half are held out
    "skills-resource": {"seeds": "4"},
    "quanta-scaling": {"test_per_task": "10", "batch": "1000"},
    # L1 chosen on even seeds, reported on odd ones; batches of a 4096-latent dictionary dominate
    "sae-toy": {"seeds": "2", "batch": "64", "eval_batch": "256"},
    # α_S reads the loss at steps 80 and 200
    "skills-scaling": {"steps": "200", "log_every": "40"},
}


def cut_down_args(name: str, spec: Spec) -> list[str]:
    """CLI settings for seeds 1, `INTERVALS` logging intervals and at most `STATIC_KEEP` values per
    swept axis (static or dynamic: the members keep the paper's shapes), then the experiment's
    `OVERRIDES`."""
    settings = {"seeds": "1"}
    if spec.log_steps is None:
        settings |= {"steps": str(INTERVALS), "log_every": "1"}
    else:
        kept = [s for s in sorted(spec.log_steps) if s > 0][:INTERVALS]
        settings |= {"steps": str(kept[-1]), "log_steps": ",".join(map(str, kept))}
    settings |= OVERRIDES.get(name, {})
    if spec.snapshot_steps:
        settings["snapshot_steps"] = f"0,{settings['steps']}"
    args = ["--seeds", settings.pop("seeds")]
    for key, value in settings.items():
        args += ["--set", f"{key}={value}"]
    for key, values in spec.sweep.items():  # every member has the paper's shapes; fewer members
        if len(values) > STATIC_KEEP:
            kept = [values[i] for i in np.linspace(0, len(values) - 1, STATIC_KEEP).round().astype(int)]
            args += ["--sweep", f"{key}={','.join(map(str, kept))}"]
    return args


def cut_down(name: str) -> list[str]:
    return ["run", name, "--preset", "paper", *cut_down_args(name, discover()[name].spec("paper"))]


def cases() -> list[str]:
    return sorted(name for name, e in discover().items() if "paper" in e.presets)


@pytest.mark.parametrize("name", cases())
def test_paper_preset_end_to_end(name, tmp_path, capsys):
    args = cut_down(name)
    spec = build_spec(build_parser().parse_args(args))
    runs = discover()[name].runs(spec, "paper")  # what training makes: one plan per engine run
    assert main([*args, "--plan"]) == 0
    blocks = re.split(r"^plan of .*$", capsys.readouterr().out, flags=re.M)[1:]
    assert len(blocks) == len(runs) >= 1
    for block, run in zip(blocks, runs.values(), strict=True):
        printed, plan = plan_numbers(block), memory_plan(run, compile=False)
        assert printed["members"] == plan["members"]
        assert [row[:4] for row in printed["rows"]] == [
            [p["state_bytes"], p["results_bytes"], p["record_bytes"], p["temporary_bytes"]] for p in plan["points"]]
        assert printed["totals"] == {k: plan[k] for k in printed["totals"]}
    out = tmp_path / name
    assert main([*args, "--out", str(out), "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary, f"{name}: empty summary"


def paper_runs() -> dict[str, dict[str, Spec]]:
    return {name: e.runs(e.spec("paper"), "paper") for name, e in discover().items() if "paper" in e.presets}


def test_the_paper_presets_page_lists_every_paper_preset():
    """docs/paper-presets.md has one row per paper preset with the static points and members of all
    its engine runs (regenerate it with `python -m toymodels.experiments.paper_presets docs` when a
    preset changes)."""
    rows = {}
    for line in (DOCS / "paper-presets.md").read_text().splitlines():
        if match := re.match(r"\| `([\w-]+)` \| ([^|]+) \| ([^|]+) \|", line):
            rows[match[1]] = (match[2].strip(), match[3].strip())
    expected = {}
    for name, runs in paper_runs().items():
        points = sum(len(list(run.points())) for run in runs.values())
        members = sum(run.n_members * len(list(run.points())) for run in runs.values())
        expected[name] = (str(points), f"{members:,}") if runs else ("–", "–")
    assert {name: rows.get(name) for name in expected} == expected


def test_every_family_page_carries_its_paper_plan_line():
    """Each paper preset has exactly one generated plan line in the family pages, naming its members."""
    lines = [m for page in sorted(DOCS.glob("*.md")) for m in re.finditer(
        r"^- <!-- paper-plan ([\w-]+) --> (.*)$", page.read_text(), re.M)]
    named = [m[1] for m in lines]
    assert sorted(named) == sorted(paper_runs())
    for m in lines:
        runs = paper_runs()[m[1]]
        members = sum(run.n_members * len(list(run.points())) for run in runs.values())
        assert (f"{members:,} members" in m[2]) if runs else m[2].endswith("no training.")


def test_a_failed_report_keeps_the_results_and_can_be_rerun(tmp_path, monkeypatch):
    experiment = discover()["modular-addition"]

    def broken(ds):
        raise RuntimeError("report failed")

    monkeypatch.setitem(REGISTRY, "modular-addition", dataclasses.replace(experiment, summarize=broken))
    out = tmp_path / "run"
    args = ["run", "modular-addition", "--preset", "tiny", "--set", "steps=50", "--out", str(out), "--quiet"]
    with pytest.raises(RuntimeError, match="report failed"):
        main(args)
    assert (out / "results.zarr").exists() and not (out / "summary.json").exists()
    monkeypatch.setitem(REGISTRY, "modular-addition", experiment)
    assert main(["report", str(out)]) == 0
    assert json.loads((out / "summary.json").read_text())["n_members"] == 4
