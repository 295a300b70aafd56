"""Sweeps beyond one machine: shards as independent jobs (Slurm job arrays via submitit), then a merge.

`toymodels run NAME --shard I/N` trains shard I of N (`toymodels.engine.run_shard`: the static
points i ≡ I mod N) into the run folder; `toymodels merge DIR` merges the finished points and
writes the report, refusing in one line while points are missing (naming the shards that owe
them). `toymodels run NAME --shards N --launcher slurm|local` submits the N shards as one job array
(`submitit`; `local` runs them as local processes, for laptops and tests), waits, resubmits each
failed shard once on its own, then merges — or, with `--no-wait`, returns after submitting.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toymodels import engine
from toymodels.spec import Spec, require
from toymodels.store import RunFolder, claim_run_folder


@dataclass(frozen=True)
class Launcher:
    """Where the shards run: "slurm" (a job array) or "local" (processes on this machine)."""

    kind: str
    partition: str | None = None
    time_min: int = 60
    gpus_per_task: int = 0
    parallelism: int = 16

    def executor(self, folder: Path):
        import submitit

        require(self.kind in ("slurm", "local"), f"--launcher must be slurm or local, got {self.kind!r}")
        executor = (submitit.LocalExecutor(folder=folder) if self.kind == "local"
                    else submitit.AutoExecutor(folder=folder, cluster="slurm"))
        options: dict[str, Any] = {"timeout_min": self.time_min}
        if self.kind == "slurm":
            options.update(slurm_array_parallelism=self.parallelism, gpus_per_node=self.gpus_per_task,
                           tasks_per_node=1, nodes=1)
            if self.partition:
                options["slurm_partition"] = self.partition
        executor.update_parameters(**options)
        return executor


def train_shard(spec: Spec, out: str, index: int, count: int, metadata: Mapping[str, Any],
                checkpoint_seconds: float) -> list[int]:
    """One job-array task: shard `index` of `count` (quiet: its output goes to the job's log)."""
    from toymodels.devices import use_cpu_cores

    use_cpu_cores()
    return engine.run_shard(spec, out, index, count, quiet=True, checkpoint_seconds=checkpoint_seconds,
                            metadata=metadata)


def launch(spec: Spec, out: Path, count: int, launcher: Launcher, metadata: Mapping[str, Any], *,
           wait: bool = True, checkpoint_seconds: float = 10.0) -> list[int]:
    """Submit the `count` shards as one job array; with `wait`, wait and resubmit each failed shard
    once on its own. Returns the shards that still failed (empty: all finished)."""
    claim_run_folder(out, {**metadata, "spec": spec.to_dict()})  # before the job logs go into it
    logs = out / "jobs"
    logs.mkdir(parents=True, exist_ok=True)
    executor = launcher.executor(logs)
    args = [(spec, str(out), i, count, dict(metadata), checkpoint_seconds) for i in range(count)]
    jobs = executor.map_array(train_shard, *zip(*args, strict=True))
    (logs / "submitted.json").write_text(json.dumps({"job_ids": [j.job_id for j in jobs]}))
    if not wait:
        return []
    failed = [i for i, job in enumerate(jobs) if not finished(job)]
    if failed:
        retried = [executor.submit(train_shard, *args[i]) for i in failed]
        failed = [i for i, job in zip(failed, retried, strict=True) if not finished(job)]
    return failed


def finished(job: Any) -> bool:
    """Wait for a submitit job; whether it ended without an exception."""
    try:
        job.result()
    except Exception:  # the job's own traceback is in its log folder
        return False
    return True


def missing_shards(spec: Spec, out: Path) -> Sequence[str]:
    """"I/N" of every shard that still owes a point ("point k" when the shard count is unknown)."""
    unfinished = engine.unfinished_points(spec, out)
    folder = RunFolder(out)
    if not folder.shards.exists():
        return [f"point {i}" for i in unfinished]
    count = json.loads(folder.shards.read_text())["count"]
    return [f"{i}/{count}" for i in sorted({k % count for k in unfinished})]


def parse_shard(text: str) -> tuple[int, int]:
    """"I/N" as (I, N)."""
    index, sep, count = text.partition("/")
    require(bool(sep) and index.strip().isdigit() and count.strip().isdigit(),
            f"--shard expects I/N (e.g. 0/4), got {text!r}")
    return int(index), int(count)
