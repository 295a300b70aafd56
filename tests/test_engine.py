"""Engine contracts: determinism, divergence isolation, devices, resume after SIGKILL, static axes."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import toymodels as tm
from toymodels.spec import require

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Decay:
    """Gradient descent on ℓ = x²/2 from x₀ ~ N(1, 0.1²): x_t = x₀ (1 − lr)^t, diverges for lr > 2."""

    dim: int = 3
    divergence_key: ClassVar[str] = "loss"

    def hparams(self):
        return {"lr": 0.5}

    def check(self, hp):
        require(hp["lr"] > 0, "lr must be > 0")

    def observables(self):
        return {"x": ("coordinate",)}

    def coords(self):
        return {"coordinate": np.arange(self.dim)}

    def init(self, key, hp):
        return 1.0 + 0.1 * jax.random.normal(key, (self.dim,))

    def step(self, x, hp):
        return x - hp["lr"] * x

    def observe(self, x, hp):
        return {"x": x, "loss": 0.5 * jnp.sum(x**2)}


def modular_spec(**changes) -> tm.Spec:
    system = tm.ModularMLP(p=11, d=8, width=16)
    spec = tm.Spec(system, system.hparams(), sweep={"wd": (0.1, 1.0)}, seeds=3, steps=40, log_every=10)
    for key, value in changes.items():
        spec = spec.set(key, value)
    return spec


def assert_same_data(a, b):
    assert set(a.data_vars) == set(b.data_vars)
    for name in a.data_vars:
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)


def test_dims_coords_and_attrs():
    ds = tm.run(modular_spec(), quiet=True)
    assert ds["signal"].dims == ("seed", "wd", "step", "freq")
    assert ds["train_loss"].dims == ("seed", "wd", "step")
    assert list(ds["step"].values) == [0, 10, 20, 30, 40]
    assert list(ds["wd"].values) == [0.1, 1.0]
    config = json.loads(ds.attrs["config"])
    assert config["spec"]["static"]["p"] == 11 and config["spec"]["seeds"] == 3
    assert ds.attrs["toymodels_version"] and ds.attrs["git_commit"]
    assert json.loads(ds.attrs["timings"])["members"] == 6


def test_same_seed_and_config_give_identical_results():
    assert_same_data(tm.run(modular_spec(), quiet=True), tm.run(modular_spec(), quiet=True))


def test_members_are_independent_of_the_rest_of_the_sweep():
    alone = tm.run(modular_spec(seeds=1).with_sweep("wd", [1.0]), quiet=True)
    together = tm.run(modular_spec(), quiet=True)
    np.testing.assert_allclose(
        together["test_loss"].sel(seed=0, wd=1.0).values, alone["test_loss"].sel(seed=0, wd=1.0).values,
        rtol=1e-5,
    )


def test_diverged_members_are_flagged_and_the_rest_go_on():
    spec = tm.Spec(Decay(), {"lr": 0.5}, sweep={"lr": (0.5, 3.0)}, seeds=2, steps=200, log_every=10)
    ds = tm.run(spec, quiet=True)
    assert (ds["diverged_step"].sel(lr=3.0) > 0).all()
    assert (ds["diverged_step"].sel(lr=0.5) == -1).all()
    x0 = ds["x"].sel(lr=0.5, step=0)
    expected = x0 * 0.5 ** ds["step"]
    np.testing.assert_allclose(ds["x"].sel(lr=0.5).values, expected.transpose("seed", "step", ...).values,
                               rtol=1e-5, atol=1e-30)


def test_static_axis_compiles_one_program_per_value_and_merges(tmp_path):
    spec = tm.Spec(Decay(), {"lr": 0.5}, sweep={"dim": (2, 3), "lr": (0.1, 0.2)}, seeds=2, steps=20,
                   log_every=10)
    ds = tm.run(spec, tmp_path / "run", quiet=True)
    assert ds["x"].dims == ("dim", "seed", "lr", "step", "coordinate")
    assert np.isnan(ds["x"].sel(dim=2, coordinate=2)).all()
    assert np.isfinite(ds["x"].sel(dim=3)).all()
    assert_same_data(ds, tm.load(tmp_path / "run"))


def test_a_folder_holding_a_different_run_is_refused(tmp_path):
    tm.run(modular_spec(), tmp_path / "run", quiet=True)
    with pytest.raises(tm.ConfigError, match="different run"):
        tm.run(modular_spec(seeds=2), tmp_path / "run", quiet=True)


FOUR_DEVICES = """
import sys, json, jax
sys.path.insert(0, {tests!r})
from test_engine import modular_spec
import toymodels as tm
ds = tm.run(modular_spec(seeds=3), {out!r}, quiet=True)
print(json.dumps({{"devices": len(jax.devices())}}))
"""


def test_four_devices_give_the_same_numbers_as_one(tmp_path):
    out = tmp_path / "four"
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=4", "JAX_PLATFORMS": "cpu"}
    script = FOUR_DEVICES.format(tests=str(ROOT / "tests"), out=str(out))
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1])["devices"] == 4
    four = tm.load(out)
    assert json.loads(four.attrs["timings"])["devices"] == 4
    one = tm.run(modular_spec(seeds=3), quiet=True)
    assert len(jax.devices()) == 1
    for name in one.data_vars:
        np.testing.assert_allclose(four[name].values, one[name].values, rtol=1e-5, atol=1e-6, err_msg=name)


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "toymodels.experiments.cli", *args]


def test_resume_after_sigkill_equals_an_uninterrupted_run(tmp_path):
    """With a geometric logging schedule and snapshots: records and snapshots neither lost nor doubled."""
    logged = tm.geometric_steps(2000, 60)
    snapshots = ",".join(str(s) for s in (0, logged[10], logged[40], 2000))
    args = ["run", "modular-addition", "--preset", "tiny", "--set", "steps=2000", "--set", "log_steps=geometric:60",
            "--set", f"snapshot_steps={snapshots}", "--quiet"]
    killed = tmp_path / "killed"
    checkpoint = killed / "results.checkpoint.npz"
    process = subprocess.Popen(cli(*args, "--out", str(killed), "--checkpoint-seconds", "0"), cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 240
    while not checkpoint.exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)  # let it get further, maybe into the middle of a write
    assert process.poll() is None, f"the run ended before it could be killed: {process.stderr.read()[-2000:]!r}"
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert checkpoint.exists() and not (killed / "summary.json").exists()

    resumed = subprocess.run(cli(*args, "--out", str(killed)), cwd=ROOT, capture_output=True, text=True,
                             timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert re.search(r"resumed the run from step \d+ of 2000", resumed.stderr), resumed.stderr
    straight = subprocess.run(cli(*args, "--out", str(tmp_path / "straight")), cwd=ROOT,
                              capture_output=True, text=True, timeout=300)
    assert straight.returncode == 0, straight.stderr
    a, b = tm.load(killed), tm.load(tmp_path / "straight")
    assert json.loads(a.attrs["timings"])["resumed_from_step"] > 0
    assert not checkpoint.exists()
    assert_same_data(a, b)
    assert list(a["step"].values) == [0, *logged]
    assert json.loads((killed / "summary.json").read_text()) == json.loads(
        (tmp_path / "straight" / "summary.json").read_text())
    (steps_a, tree_a), (steps_b, tree_b) = tm.load_snapshots(killed), tm.load_snapshots(tmp_path / "straight")
    assert list(steps_a) == [int(s) for s in snapshots.split(",")] == list(steps_b)
    leaves_a, leaves_b = jax.tree.leaves(tree_a), jax.tree.leaves(tree_b)
    assert len(leaves_a) == len(leaves_b) > 0 and "params" in tree_a
    for x, y in zip(leaves_a, leaves_b, strict=True):
        assert x.shape[:3] == (*a["diverged_step"].shape, 4)
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("init", ["paired", "independent"])
def test_init_policy_pairs_or_separates_the_cells_of_a_seed(init, tmp_path):
    """Step-0 observations (the init) of two cells of one seed: equal when paired, different when
    independent — over a dynamic axis and a static one; blocking does not change them; config.json
    records the policy (only when not the default) and the Spec round-trips."""
    system = tm.ModularMLP(p=7, d=4, width=8)
    spec = tm.Spec(system, system.hparams(), sweep={"d": (4, 6), "wd": (0.1, 1.0)}, seeds=2, steps=10,
                   log_every=10).set("init", init)
    ds = tm.run(spec, tmp_path, quiet=True)
    start = ds["train_loss"].isel(step=0)
    same_dynamic = np.array_equal(start.isel(wd=0).values, start.isel(wd=1).values)
    assert same_dynamic == (init == "paired")
    assert not np.array_equal(start.isel(seed=0).values, start.isel(seed=1).values)
    again = tm.run(spec, None, quiet=True, block=1)
    np.testing.assert_array_equal(again["train_loss"].values, ds["train_loss"].values)
    assert ("init" in json.loads((tmp_path / "config.json").read_text())["spec"]) == (init == "independent")
    assert tm.load_spec(tmp_path) == spec


def test_an_unknown_init_policy_is_refused():
    system = tm.ModularMLP(p=7, d=4, width=8)
    with pytest.raises(tm.ConfigError, match="init must be one of"):
        tm.Spec(system, system.hparams(), init="shared").validate()
