"""Reference scores of the registered tasks: our own models' final metrics, read from stored runs.

    python -m toymodels.experiments.task_scores RUNS [--page docs/tasks.md]

RUNS holds the default-preset runs as `toymodels reproduce --out RUNS` leaves them
(`RUNS/<experiment>-default/`). For each task, `SOURCES` names the study whose members trained on
it and the recorded observables that are the task's metrics (the same numbers the task's
`evaluate` gives on that member's predictions: tests/test_tasks.py checks each system against its
task). The table gives each metric's final value over the run's members, as the mean and the
range over members (every swept cell and seed of the default preset, diverged members left out),
with the run's settings that the task also takes. The section "## Reference scores" of the page
is rewritten; every number in it comes from a stored run.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import toymodels as tm
from toymodels.experiments.common import spec_of
from toymodels.spec import require


@dataclass(frozen=True)
class Source:
    experiment: str
    metrics: tuple[str, ...]          # recorded observables (final step, averaged over any extra dims)


SOURCES = {
    "modular-addition-v1": Source("modular-addition", ("train_acc", "test_acc", "test_loss")),
    "addition-pairs-v1": Source("grokking-phases", ("train_acc", "test_acc", "rqi")),
    "family-graph-v1": Source("graph-generalization", ("heldout_recall", "inferable_recall", "noninferable_recall")),
    "graph-stitching-v1": Source("graph-stitching", ("heldout_recall", "inferable_recall")),
    "multitask-sparse-parity-v1": Source("quanta-scaling", ("test_loss", "test_acc")),
    "compositional-parity-v1": Source("skills-composition", ("acc", "test_acc")),
    "rare-parity-v1": Source("skills-rare-task", ("acc", "loss")),
    "square-tasks-v1": Source("skills-modular-mlp", ("loss", "task_loss")),
    "skill-geometry-v1": Source("skills-modularity", ("loss", "skill")),
    "superposition-features-v1": Source("superposition-intro", ("loss",)),
    "sae-features-v1": Source("sae-toy", ("mse", "mmcs", "l0", "dead")),
    "deep-linear-teacher-v1": Source("deep-linear", ("loss",)),
}
BEGIN, END = "## Reference scores", "## The task functions"


def final_values(ds, metric: str) -> np.ndarray:
    """The metric's final value per healthy member (extra dims averaged)."""
    final = ds[metric].isel(step=-1)
    members = [d for d in ds["diverged_step"].dims]
    extra = [d for d in final.dims if d not in members]
    values = (final.mean(extra) if extra else final).where(ds["diverged_step"] < 0)
    values = values.values.ravel()
    return values[np.isfinite(values)]


def settings_text(task: str, ds) -> str:
    """The run's values of the settings the task takes (static fields and hyperparameters)."""
    spec = spec_of(ds)
    names = tm.tasks.list()[task]["settings"]
    given = {k: spec.value_of(k) for k in names if k != "seed" and k in (*spec.static_keys(), *spec.hparams)}
    swept = {k: v for k, v in spec.sweep.items() if k in names}
    parts = [f"{k}={v}" for k, v in given.items() if k not in swept]
    parts += [f"{k}∈{{{', '.join(map(str, v))}}}" for k, v in swept.items()]
    return ", ".join(parts) or "defaults"


def rows(runs: Path) -> list[str]:
    lines = ["| task | our model (run) | task settings of the run | metric: mean [min, max] over members |",
             "|---|---|---|---|"]
    for task, source in SOURCES.items():
        folder = runs / f"{source.experiment}-default"
        require((folder / "results.zarr").exists(), f"no stored run {folder} (toymodels reproduce --out {runs})")
        ds = tm.load(folder)
        spec = spec_of(ds)
        scores = []
        for metric in source.metrics:
            values = final_values(ds, metric)
            scores.append(f"{metric} {values.mean():.4g} [{values.min():.4g}, {values.max():.4g}]" if values.size
                          else f"{metric} n/a")
        lines.append(f"| `{task}` | {type(spec.system).__name__}, `{source.experiment}` default "
                     f"({spec.seeds} seeds, {spec.steps} steps, {len(final_values(ds, source.metrics[0]))} members) | "
                     f"{settings_text(task, ds)} | {'; '.join(scores)} |")
    return lines


def section(runs: Path) -> str:
    return "\n".join([
        BEGIN, "",
        "Written by `python -m toymodels.experiments.task_scores RUNS` from the default runs that",
        "`toymodels reproduce --out RUNS` stores (do not edit by hand). Final values of each metric over the",
        "run's members (every swept cell and seed, diverged members left out): place your model's `evaluate`",
        "next to these, at the same settings. Tasks without a row (skill-resource, skill-domino,",
        "modular-arithmetic's other operations) are trained only inside other studies' combined runs.", "",
        *rows(runs), "", ""])


def rewrite(page: Path, runs: Path) -> None:
    """Replace the page's reference-score section (up to the next section) by a fresh one."""
    text = page.read_text()
    start, end = text.index(BEGIN), text.index(END)
    page.write_text(text[:start] + section(runs) + text[end:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path)
    parser.add_argument("--page", type=Path, default=Path("docs/tasks.md"))
    args = parser.parse_args()
    rewrite(args.page, args.runs)
    print(f"reference scores: {args.page}")


if __name__ == "__main__":
    main()
