"""Multi-host: two processes joined by `jax.distributed.initialize` train one sweep together
(the member axis spans both processes' devices) and leave the same run folder as one process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np

import toymodels as tm

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = """
import sys
import jax
jax.config.update("jax_cpu_collectives_implementation", "gloo")
jax.config.update("jax_num_cpu_devices", 1)
jax.distributed.initialize("localhost:{port}", num_processes=2, process_id=int(sys.argv[1]))
sys.path.insert(0, {tests!r})
import toymodels as tm
from test_multihost import spec
tm.run(spec(), {out!r}, quiet=True, checkpoint_seconds=0)
"""


def spec() -> tm.Spec:
    """5 members: padded to 6 over the two processes' devices."""
    system = tm.ModularMLP(p=11, d=8, width=16)
    return tm.Spec(system, system.hparams(), sweep={"wd": (0.1, 1.0)}, seeds=3, steps=30, log_every=10)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def test_two_processes_give_the_same_run_folder_as_one(tmp_path):
    script = SCRIPT.format(port=free_port(), tests=str(ROOT / "tests"), out=str(tmp_path / "two"))
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"} | {"JAX_PLATFORMS": "cpu"}
    processes = [subprocess.Popen([sys.executable, "-c", script, str(i)], env=env, text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE) for i in range(2)]
    for process in processes:
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr[-2000:]
    two = tm.load(tmp_path / "two")
    one = tm.run(spec(), tmp_path / "one", quiet=True)
    assert '"devices": 2' in two.attrs["timings"]
    for name in ("train_loss", "test_acc", "signal"):
        np.testing.assert_allclose(two[name].values, one[name].values, rtol=1e-5)
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == sorted(p.name for p in (tmp_path / "one").iterdir())
