"""`toymodels run --plan`: nothing trained, one compile per static point, numbers = memory_plan."""

from __future__ import annotations

import re

import jax
import pytest

from toymodels.experiments import get
from toymodels.experiments.cli import main
from toymodels.planning import memory_plan, time_plan
from toymodels.spec import ConfigError


def plan_numbers(text: str) -> dict[str, list[float]]:
    """The per-point rows and the totals printed by --plan."""
    rows = re.findall(r"^(.*) \| (\d+) \| (\d+) \((\d+)\) \| (\d+|not compiled) \| ([\d.e+]+)", text, re.M)
    totals = {key: int(re.search(rf"^{label}: (\d+) B", text, re.M).group(1))
              for key, label in (("state_peak_bytes", r"state \(largest point\)"),
                                 ("results_total_bytes", r"results \(all points\)"))}
    members = int(re.search(r"members per point: (\d+)", text).group(1))
    return {"rows": [[int(r[1]), int(r[2]), int(r[3]), None if r[4] == "not compiled" else int(r[4]), float(r[5])]
                     for r in rows],
            "totals": totals, "members": members}


def test_plan_prints_memory_plan_and_trains_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = ["run", "modular-addition", "--preset", "tiny", "--sweep", "d=16,32", "--set", "steps=100"]
    compiles = []
    original = jax.stages.Lowered.compile

    def counted(self, *args, **kwargs):
        compiles.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(jax.stages.Lowered, "compile", counted)
    assert main([*args, "--plan"]) == 0
    assert len(compiles) == 0  # abstract evaluation only
    assert "not compiled" in capsys.readouterr().out
    assert main([*args, "--plan", "--compile"]) == 0
    assert len(compiles) == 2  # one per static point (d = 16, 32), timing included
    printed = plan_numbers(capsys.readouterr().out)
    spec = get("modular-addition").spec("tiny").with_sweep("d", ["16", "32"]).set("steps", "100")
    plan = memory_plan(spec)
    assert printed["members"] == plan["members"] == 4
    assert printed["rows"] == [[p["state_bytes"], p["results_bytes"], p["record_bytes"], p["temporary_bytes"],
                                pytest.approx(p["flops_per_step"], rel=1e-3)] for p in plan["points"]]
    assert printed["totals"] == {k: plan[k] for k in printed["totals"]}
    assert not any(tmp_path.iterdir())  # no run folder
    assert main([*args, "--compile"]) == 2  # --compile without --plan is refused


def test_larger_network_costs_more_and_time_is_measured():
    spec = get("modular-addition").spec("tiny").with_sweep("d", ["16", "64"]).set("steps", "100")
    small, large = memory_plan(spec)["points"]
    assert large["state_bytes"] > small["state_bytes"]
    assert large["flops_per_step"] > small["flops_per_step"] > 0
    assert small["temporary_bytes"] > 0
    with pytest.raises(ConfigError, match="timed=True"):
        time_plan(spec, memory_plan(spec))
    timing = time_plan(spec, memory_plan(spec, timed=True))
    assert len(timing["seconds_per_member_step"]) == 2 and all(s > 0 for s in timing["seconds_per_member_step"])
    assert timing["seconds"] == pytest.approx(100 * -(-spec.n_members // timing["devices"])
                                              * sum(timing["seconds_per_member_step"]))


def test_bad_plan_input_is_one_line(capsys):
    assert main(["run", "modular-addition", "--preset", "tiny", "--set", "nope=1", "--plan"]) == 2
    assert capsys.readouterr().err.count("\n") == 1
