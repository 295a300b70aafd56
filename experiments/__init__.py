"""The studies, by name. Each module registers its `Experiment`s when imported."""

from __future__ import annotations

import importlib
import math
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import xarray as xr

from toymodels import engine
from toymodels.spec import ConfigError, Spec
from toymodels.store import load, write_json_atomic

SUMMARY = "summary.json"

PRESETS = ("tiny", "default", "paper")


@dataclass(frozen=True)
class Claim:
    """A paper's headline number, checked against `summary.json` of a run of this experiment.

    `key` is a path into the summary, parts joined by "/" (e.g. "alpha_S/adam/1"). The value
    there is a number, or a dict {"mean" or "value", optional "lo", "hi", "n"}: our estimate and
    its 95 % interval (or seed range, said in `interval`). The claim is *reproduced* when the
    value lies in `accept` = (low, high) (None: unbounded), *partly* when it lies in `partly`
    instead, else *not reproduced*. `expected` is the status we stand behind today; the ledger's
    test fails when a run's status differs, and `reason` says in one line why it is what it is.
    """

    source: str                                   # paper and figure, e.g. "Nanda et al. 2023, Fig. 7"
    text: str                                     # the claim in words
    key: str                                      # summary path, "/"-separated
    paper: str                                    # the paper's value, as the paper states it
    accept: tuple[float | None, float | None]     # tolerance band for ours
    expected: str = "reproduced"                  # "reproduced", "partly" or "not reproduced"
    reason: str = ""
    partly: tuple[float | None, float | None] | None = None
    interval: str = "95 % interval"               # what "lo".."hi" in the summary is
    preset: str = "default"


STATUSES = ("reproduced", "partly", "not reproduced")


@dataclass(frozen=True)
class Experiment:
    """A named study: presets (each a `Spec`), a training function and a report.

    `report(ds, out)` writes figures into `out` and returns the summary (JSON-ready dict).
    `train(spec, out, **options)` defaults to `toymodels.engine.run`.
    `check(spec)` raises `ConfigError` when the report could not read a run of `spec` (too few
    seeds, a needed step not recorded, a needed axis not swept): it runs before any training.
    `parts(spec, preset)` names the engine runs that `train` makes (what `--plan` plans), when
    they are not the one run of `spec` itself (`train` = `engine.run`); {} when it trains nothing.
    """

    name: str
    description: str
    presets: Mapping[str, Callable[[], Spec]]
    report: Callable[[xr.Dataset, Path], dict[str, Any]]
    train: Callable[..., xr.Dataset] = field(default=engine.run)
    claims: tuple[Claim, ...] = ()
    check: Callable[[Spec], None] = field(default=lambda spec: None)
    parts: Callable[[Spec, str], Mapping[str, Spec]] | None = None

    def __post_init__(self) -> None:
        for claim in self.claims:
            if claim.expected not in STATUSES or claim.preset not in self.presets:
                raise ValueError(f"{self.name}: bad claim {claim.key!r} ({claim.expected}, {claim.preset})")

    def spec(self, preset: str) -> Spec:
        if preset not in self.presets:
            raise ConfigError(f"unknown preset {preset!r} for {self.name}; presets: {', '.join(self.presets)}")
        return self.presets[preset]()

    def runs(self, spec: Spec, preset: str) -> dict[str, Spec]:
        """The engine runs that training `spec` (of `preset`) makes, by name ("" for the run itself)."""
        return {"": spec} if self.parts is None else dict(self.parts(spec, preset))


REGISTRY: dict[str, Experiment] = {}


def register(experiment: Experiment) -> Experiment:
    REGISTRY[experiment.name] = experiment
    return experiment


def discover() -> dict[str, Experiment]:
    """Import every module of this package (each registers its experiments) and return them."""
    for module in pkgutil.iter_modules(__path__):
        if module.name not in ("cli", "ledger"):
            importlib.import_module(f"{__name__}.{module.name}")
    return REGISTRY


def get(name: str) -> Experiment:
    experiments = discover()
    if name not in experiments:
        raise ConfigError(f"unknown experiment {name!r}; known: {', '.join(sorted(experiments))}")
    return experiments[name]


def json_ready(obj: Any) -> Any:
    """Replace non-finite floats (not valid JSON) by None, recursively."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): json_ready(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_ready(v) for v in obj]
    return obj


def write_report(name: str, out: Path, **sweep_options: Any) -> dict[str, Any]:
    """Run experiment `name`'s report on the finished run in `out`, then the generic phase map and
    heatmaps (`experiments.sweep_report`; options: axes, metric, fix); write and return `summary.json`."""
    import matplotlib.pyplot as plt

    from toymodels.experiments.sweep_report import sweep_report

    ds = load(out)
    try:
        summary = get(name).report(ds, out)
        summary = json_ready({**summary, **sweep_report(ds, out, summary, **sweep_options)})
    finally:
        plt.close("all")  # a report's figures never outlive it
    write_json_atomic(out / SUMMARY, summary)
    return summary


def run_and_report(name: str, preset: str, spec: Spec, out: Path, **options: Any) -> dict[str, Any]:
    """Train `spec` as experiment `name` into `out` (resuming or reusing what is there), then report."""
    get(name).check(spec)
    get(name).train(spec, out, metadata={"experiment": name, "preset": preset}, **options)
    return write_report(name, out)
