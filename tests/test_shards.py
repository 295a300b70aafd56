"""Sharded sweeps: shards trained apart (by hand or as a submitit job array) and merged equal the
unsharded run bit for bit; a merge before every shard has finished is refused, naming the shards."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import toymodels as tm
from toymodels.experiments.cli import main

ARGS = ["run", "modular-addition", "--preset", "tiny", "--set", "p=7", "--set", "width=8", "--sweep", "d=4,6,8",
        "--set", "steps=20", "--set", "log_every=10", "--seeds", "2", "--quiet"]


INDEPENDENT = ["--set", "init=independent"]  # each cell's members their own init: the member key folds the cell in


@pytest.fixture(scope="module", params=[[], INDEPENDENT], ids=["paired", "independent"])
def whole(request, tmp_path_factory):
    out = tmp_path_factory.mktemp("whole") / "run"
    assert main([*ARGS, *request.param, "--out", str(out)]) == 0
    return request.param, tm.load(out)


def assert_same_results(a, b):
    assert set(a.data_vars) == set(b.data_vars)
    for name in a.data_vars:
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)


def test_shards_merged_equal_the_unsharded_run(whole, tmp_path, capsys):
    init, whole = whole
    out = tmp_path / "run"
    assert main([*ARGS, *init, "--out", str(out), "--shard", "0/2"]) == 0
    capsys.readouterr()
    assert main(["merge", str(out)]) == 2
    assert "shard(s) 1/2 still to run" in capsys.readouterr().err
    assert not (out / "summary.json").exists()
    assert main([*ARGS, *init, "--out", str(out), "--shard", "1/2"]) == 0
    assert main(["merge", str(out)]) == 0
    assert_same_results(tm.load(out), whole)
    assert json.loads((out / "summary.json").read_text())["n_members"] == 12


def test_a_job_array_of_shards_on_the_local_launcher_is_merged(tmp_path):
    """The array's tasks are fresh processes (one CPU device per core): compare with an unsharded run
    made the same way, so both have the same device layout."""
    out, alone = tmp_path / "run", tmp_path / "alone"
    assert main([*ARGS, "--out", str(out), "--shards", "3", "--launcher", "local"]) == 0
    command = [sys.executable, "-m", "toymodels.experiments.cli", *ARGS, "--out", str(alone)]
    subprocess.run(command, check=True, capture_output=True, timeout=600)
    assert_same_results(tm.load(out), tm.load(alone))
    assert (out / "summary.json").exists()


@pytest.mark.parametrize("extra, message", [
    (["--shard", "2/2"], "0 <= I < N <= 3"),
    (["--shard", "0/4"], "0 <= I < N <= 3"),
    (["--shard", "x"], "I/N"),
    (["--shards", "2"], "go together"),
    (["--shard", "0/2", "--shards", "2", "--launcher", "local"], "not both"),
])
def test_bad_shard_settings_are_one_line_and_write_nothing(extra, message, tmp_path, capsys):
    out = tmp_path / "run"
    assert main([*ARGS, "--out", str(out), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not out.exists()


def test_a_killed_shard_resumes_and_the_merge_equals_an_unsharded_run(tmp_path):
    """Shard 0/2 killed (SIGKILL) after its first checkpoint, re-run, then shard 1/2 and the merge:
    the numbers of an unsharded run made the same way (fresh processes, same device layout), with
    independent inits per cell (resume and sharding must rebuild each member's cell-folded key)."""
    import signal
    import time

    args = [*(a.replace("steps=20", "steps=2000") for a in ARGS), *INDEPENDENT]
    out, alone = tmp_path / "run", tmp_path / "alone"

    def cli(*extra: str) -> list[str]:
        return [sys.executable, "-m", "toymodels.experiments.cli", *args, *extra]

    process = subprocess.Popen(cli("--out", str(out), "--shard", "0/2", "--checkpoint-seconds", "0"),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    checkpoint = out / "points" / "point-000.checkpoint.npz"
    deadline = time.time() + 240
    while not checkpoint.exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    assert process.poll() is None, f"the shard ended before it could be killed: {process.stderr.read()[-2000:]!r}"
    process.send_signal(signal.SIGKILL)
    process.wait()
    resumed = subprocess.run(cli("--out", str(out), "--shard", "0/2"), capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0 and "resumed" in resumed.stderr, resumed.stderr
    for command in (cli("--out", str(out), "--shard", "1/2"), cli("--out", str(alone))):
        subprocess.run(command, check=True, capture_output=True, timeout=600)
    assert main(["merge", str(out)]) == 0
    assert_same_results(tm.load(out), tm.load(alone))
