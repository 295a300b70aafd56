"""The studies, by name. Each module registers its `Experiment`s when imported."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import xarray as xr

from toymodels import engine
from toymodels.spec import ConfigError, Spec

PRESETS = ("tiny", "default", "paper")


@dataclass(frozen=True)
class Experiment:
    """A named study: presets (each a `Spec`), a training function and a report.

    `report(ds, out)` writes figures into `out` and returns the summary (JSON-ready dict).
    `train(spec, out, **options)` defaults to `toymodels.engine.run`.
    """

    name: str
    description: str
    presets: Mapping[str, Callable[[], Spec]]
    report: Callable[[xr.Dataset, Path], dict[str, Any]]
    train: Callable[..., xr.Dataset] = field(default=engine.run)

    def spec(self, preset: str) -> Spec:
        if preset not in self.presets:
            raise ConfigError(f"unknown preset {preset!r} for {self.name}; presets: {', '.join(self.presets)}")
        return self.presets[preset]()


REGISTRY: dict[str, Experiment] = {}


def register(experiment: Experiment) -> Experiment:
    REGISTRY[experiment.name] = experiment
    return experiment


def discover() -> dict[str, Experiment]:
    """Import every module of this package (each registers its experiments) and return them."""
    for module in pkgutil.iter_modules(__path__):
        if module.name != "cli":
            importlib.import_module(f"{__name__}.{module.name}")
    return REGISTRY


def get(name: str) -> Experiment:
    experiments = discover()
    if name not in experiments:
        raise ConfigError(f"unknown experiment {name!r}; known: {', '.join(sorted(experiments))}")
    return experiments[name]
