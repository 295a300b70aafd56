"""Scale-out: 1, 2 and 4 CPU devices give the same numbers; memory planning adds up.

The Geometry sweep runs with 1, 2 and 4 forced CPU devices, the modular one with 1 and 2
(tests/test_engine.py has it with 4): compiling is most of the cost of these tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest

import toymodels as tm
from toymodels.planning import memory_plan, peak_bytes
from toymodels.skills.geometry import Geometry

ROOT = Path(__file__).resolve().parents[1]
DEVICE_COUNTS = (1, 2, 4)
SWEEPS = {1: ("modular", "geometry"), 2: ("modular", "geometry"), 4: ("geometry",)}


def modular_spec(seeds: int = 3) -> tm.Spec:
    """3 seeds × 3 weight decays = 9 members: padded to 10 on 2 devices and to 12 on 4."""
    system = tm.ModularMLP(p=11, d=8, width=16)
    return tm.Spec(system, system.hparams(), sweep={"wd": (0.1, 0.5, 1.0)}, seeds=seeds, steps=40,
                   log_every=10)


def geometry_spec(seeds: int = 5) -> tm.Spec:
    """5 seeds (padded on 2 and 4 devices), sampled batches and gradient noise: the random path."""
    system = Geometry(d=50, n=5, batch=32)
    hp = {**system.hparams(), "lr": 1e-2, "noise": 0.1}
    return tm.Spec(system, hp, seeds=seeds, steps=60, log_every=20)


SCRIPT = """
import json, sys
import jax
import toymodels as tm
tm.use_cpu_cores({devices})
sys.path.insert(0, {tests!r})
from test_scaleout import geometry_spec, modular_spec
specs = {{"modular": modular_spec, "geometry": geometry_spec}}
for name in {names!r}:
    tm.run(specs[name](), {out!r} + "/" + name, quiet=True)
print(json.dumps({{"devices": len(jax.devices())}}))
"""


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[int, Path]:
    """The sweeps with 1, 2 and 4 forced CPU devices, each device count in its own process."""
    base = tmp_path_factory.mktemp("scaleout")
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    env["JAX_PLATFORMS"] = "cpu"
    processes = {}
    for n in DEVICE_COUNTS:
        script = SCRIPT.format(devices=n, names=SWEEPS[n], tests=str(ROOT / "tests"), out=str(base / str(n)))
        processes[n] = subprocess.Popen([sys.executable, "-c", script], env=env, text=True,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    for n, process in processes.items():
        stdout, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr
        assert json.loads(stdout.strip().splitlines()[-1])["devices"] == n
    return {n: base / str(n) for n in DEVICE_COUNTS}


@pytest.mark.parametrize("name", ["modular", "geometry"])
def test_one_two_and_four_devices_give_the_same_numbers(runs, name):
    one = tm.load(runs[1] / name)
    for n in (n for n in DEVICE_COUNTS if name in SWEEPS[n]):
        ds = tm.load(runs[n] / name)
        timings = json.loads(ds.attrs["timings"])
        assert timings["devices"] == n
        assert timings["members"] == (9 if name == "modular" else 5)
        assert set(ds.data_vars) == set(one.data_vars)
        for var in one.data_vars:
            np.testing.assert_allclose(ds[var].values, one[var].values, rtol=1e-5, atol=1e-6,
                                       err_msg=f"{name} {var} with {n} devices")
        assert np.isfinite(ds["train_loss" if name == "modular" else "loss"].values).all()


def test_state_bytes_are_the_bytes_of_a_real_init():
    spec = geometry_spec()
    real = spec.system.init(jax.random.PRNGKey(0), {k: np.float32(v) for k, v in spec.hparams.items()})
    plan = memory_plan(spec.set("steps", 100))
    assert plan["points"][0]["state_bytes"] == sum(x.nbytes for x in jax.tree.leaves(real))
    assert plan["records"] == plan["points"][0]["records"] == 100 // spec.log_every + 1


def test_results_bytes_are_the_engine_results_per_member(runs):
    ds = tm.load(runs[1] / "geometry")
    plan = memory_plan(geometry_spec())
    assert plan["results_total_bytes"] == sum(ds[v].nbytes for v in ds.data_vars)
    point = plan["points"][0]
    assert point["temporary_bytes"] > 0


def test_totals_scale_linearly_in_seeds_and_per_member_bytes_do_not_change():
    small, large = memory_plan(geometry_spec(seeds=3)), memory_plan(geometry_spec(seeds=12))
    assert large["members"] == 4 * small["members"] == 12
    for key in ("state_peak_bytes", "results_total_bytes"):
        assert large[key] == 4 * small[key]
    per_member = ("state_bytes", "results_bytes", "temporary_bytes", "flops_per_step")
    assert [small["points"][0][k] for k in per_member] == [large["points"][0][k] for k in per_member]
    assert peak_bytes(large, block=12) > peak_bytes(large, block=1)
    assert peak_bytes(large, block=100) == peak_bytes(large, block=12)


def test_a_static_axis_gives_one_plan_per_compiled_program():
    plan = memory_plan(geometry_spec().with_sweep("d", [20, 50]))
    assert [p["point"]["d"] for p in plan["points"]] == [20, 50]
    small, large = plan["points"]
    assert small["state_bytes"] < large["state_bytes"]
    assert plan["results_total_bytes"] == small["results_total_bytes"] + large["results_total_bytes"]
    assert plan["state_peak_bytes"] == large["state_total_bytes"]


def test_a_bad_spec_is_a_config_error():
    with pytest.raises(tm.ConfigError):
        memory_plan(geometry_spec().set("steps", 45))
