"""The study contract: `Claim`, `Summary`, `Experiment`, the registry, and the report framework.

Imported lazily through `toymodels.experiments` (whose names it provides).
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from toymodels import engine
from toymodels.experiments.catalog import catalog
from toymodels.spec import ConfigError, Spec
from toymodels.store import RunFolder, load, write_json_atomic

PRESETS = ("tiny", "default", "paper")


KINDS = ("paper", "target", "control")
STATUSES = ("reproduced", "partly", "not reproduced", "inconclusive")


@dataclass(frozen=True)
class Claim:
    """A claim checked against `summary.json` of a run of this experiment (`experiments.ledger`).

    `key` is a path into the summary, parts joined by "/" (e.g. "alpha_S/adam/1"); the value there
    is a number or an `Estimate` ({"value", "lo", "hi", "n", "interval", "level"}).
    `kind`: "paper" (a number or figure of a paper, or the authors' code), "target" (our own goal)
    or "control" (a check that the method can fail). The grade is *reproduced* when the value lies
    in `accept` = (low, high) (None: unbounded), *partly* when it lies in `partly` instead, else *not
    reproduced*; *inconclusive* when fewer than `min_n` values stand behind it, or its 95 % interval
    (student-t or bootstrap) is wider than a two-sided `accept` band. The page words the grades of
    targets and controls as met/passes (`ledger.WORDS`): only paper claims are "reproduced".
    `band` says where the tolerance band comes from (the paper's interval, a figure reading ± its
    resolution, the authors' code, a seed spread measured on other seeds).
    `expected` is the grade we stand behind today and `reason` says why in one line. `measured`
    is our value at the last deliberate change and `drift` how far a run may move from it (stated
    in `drift_source`, from the seed spread); the claim test fails beyond it, whatever the grade.
    """

    source: str                                   # paper and figure, e.g. "Nanda et al. 2023, Fig. 7"
    text: str                                     # the claim in words
    key: str                                      # summary path, "/"-separated
    paper: str                                    # the paper's value (or our target), as stated
    accept: tuple[float | None, float | None]     # tolerance band for ours
    band: str                                     # where `accept` (and `partly`) come from
    measured: float                               # our value when the claim was last changed
    drift: float                                  # |value − measured| allowed
    drift_source: str                             # where `drift` comes from
    kind: str = "paper"
    expected: str = "reproduced"
    reason: str = ""
    partly: tuple[float | None, float | None] | None = None
    min_n: int = 1
    preset: str = "default"

    def __post_init__(self) -> None:
        if self.kind not in KINDS or self.expected not in STATUSES:
            raise ValueError(f"claim {self.key!r}: kind {self.kind!r} / expected {self.expected!r} unknown")
        if not (math.isfinite(self.measured) and self.drift >= 0 and self.band and self.drift_source):
            raise ValueError(f"claim {self.key!r}: needs a finite measured value, drift >= 0, band and drift sources")


class Summary:
    """Base of every study's summary: subclass it as a frozen dataclass whose fields are the
    summary.json keys (numbers, `Estimate`s, lists and dicts of them, per-member rows)."""

    def to_json(self) -> dict[str, Any]:
        return to_json(self)


def to_json(obj: Any) -> Any:
    """JSON-ready form: dataclasses (a Summary, an Estimate) as dicts of their fields, NumPy values as
    Python ones, tuples as lists, keys as text, and every non-finite float as None."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_json(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        return {str(k): to_json(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | np.ndarray):
        return [to_json(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    return obj


Figures = Mapping[str, Figure]


def no_figures(ds: xr.Dataset, summary: Summary) -> Figures:
    return {}


@dataclass(frozen=True)
class Experiment:
    """A named study: presets (each a `Spec`), training, and the two halves of its report.

    `summarize(ds) -> Summary` computes every number (pure: no matplotlib, no files written);
    `figures(ds, summary) -> {name: Figure}` draws them; the framework (`write_report`) saves
    `<name>.png`, writes summary.json and closes every figure. A study that needs more than the
    Dataset (snapshots, the folder of a part) finds its folder with `RunFolder.of(ds)`.
    `train(spec, out, **options)` defaults to `toymodels.engine.run` (see `run`).
    `check(spec)` raises `ConfigError` when the report could not read a run of `spec` (too few
    seeds, a needed step not recorded, a needed axis not swept): it runs before any training.
    `parts(spec, preset)` names the engine runs that `train` makes (what `--plan` plans), when
    they are not the one run of `spec` itself (`train` = `engine.run`); {} when it trains nothing.
    """

    name: str
    description: str
    presets: Mapping[str, Callable[[], Spec]]
    summarize: Callable[[xr.Dataset], Summary]
    figures: Callable[[xr.Dataset, Summary], Figures] = field(default=no_figures)
    train: Callable[..., xr.Dataset] | None = None   # None: `toymodels.engine.run`
    claims: tuple[Claim, ...] = ()
    check: Callable[[Spec], None] = field(default=lambda spec: None)
    parts: Callable[[Spec, str], Mapping[str, Spec]] | None = None

    def __post_init__(self) -> None:
        for claim in self.claims:
            if claim.preset not in self.presets:
                raise ValueError(f"{self.name}: claim {claim.key!r} names unknown preset {claim.preset!r}")

    def spec(self, preset: str) -> Spec:
        if preset not in self.presets:
            raise ConfigError(f"unknown preset {preset!r} for {self.name}; presets: {', '.join(self.presets)}")
        return self.presets[preset]()

    def run(self, spec: Spec, out: Path | None, **options: Any) -> xr.Dataset:
        """Train `spec` into `out` with this study's `train` (the engine's `run` unless it has its own)."""
        return (self.train or engine.run)(spec, out, **options)

    def runs(self, spec: Spec, preset: str) -> dict[str, Spec]:
        """The engine runs that training `spec` (of `preset`) makes, by name ("" for the run itself)."""
        return {"": spec} if self.parts is None else dict(self.parts(spec, preset))


REGISTRY: dict[str, Experiment] = {}


def register(experiment: Experiment) -> Experiment:
    REGISTRY[experiment.name] = experiment
    return experiment


def discover() -> dict[str, Experiment]:
    """Import every study module (each registers its experiments) and return them all."""
    for module in sorted({entry.module for entry in catalog().values()}):
        importlib.import_module(module)
    return REGISTRY


def get(name: str) -> Experiment:
    """Experiment `name`, importing only the module that declares it."""
    entries = catalog()
    if name not in entries:
        raise ConfigError(f"unknown experiment {name!r}; known: {', '.join(sorted(entries))}")
    importlib.import_module(entries[name].module)
    return REGISTRY[name]


def write_report(name: str | None, out: Path, **sweep_options: Any) -> tuple[dict[str, Any], list[str]]:
    """Report on the finished run in `out`: experiment `name`'s summary and figures (for a plain
    engine run, `name` None: every scalar observable's curves), then the generic phase map and
    heatmaps (`experiments.sweep_report`; options axes, metric, fix, all checked before anything is
    drawn). Writes the figures and `summary.json`, removes the figures of an earlier report that
    this one did not draw, and returns (summary, names of the figures written)."""
    from toymodels.experiments.sweep_report import sweep_figures, sweep_summary, sweep_view

    run = RunFolder(out)
    ds = load(out)
    experiment = get(name) if name is not None else None
    summary = experiment.summarize(ds) if experiment else None
    data = summary.to_json() if summary else {}
    view = sweep_view(ds, data, **sweep_options)
    phase = sweep_summary(ds, view)
    try:
        drawn = {**(experiment.figures(ds, summary) if experiment else generic_figures(ds)),
                 **sweep_figures(ds, view)}
        for figure_name, figure in drawn.items():
            titled(figure, name or f"run {run.path.name}", figure_name).savefig(run.figure(figure_name), dpi=120)
    finally:
        plt.close("all")  # a report's figures never outlive it
    earlier = json.loads(run.summary.read_text()).get("figures", []) if run.summary.exists() else []
    for stale in set(earlier) - set(drawn):
        run.figure(stale).unlink(missing_ok=True)
    data = {**data, **(phase.to_json() if phase else {}), "figures": sorted(drawn)}
    write_json_atomic(run.summary, data)
    return data, sorted(drawn)


def titled(figure: Figure, study: str, name: str) -> Figure:
    """Every report figure names its study: suptitle "<study>: <its own suptitle, else its name>"."""
    own = figure.get_suptitle()
    if not own.startswith(study):
        figure.suptitle(f"{study}: {own or name}", fontsize=9, wrap=True)
    return figure


def generic_figures(ds: xr.Dataset) -> Figures:
    """A run with no experiment: "curves", every scalar observable of every member vs step."""
    from toymodels.plots.curves import observable_curves
    from toymodels.theory.phases import scalar_observable

    names = [n for n in ds.data_vars if scalar_observable(ds, n)]
    swept = [d for d in ds["diverged_step"].dims if d != "seed"] if "diverged_step" in ds else []
    return {"curves": observable_curves(ds, names, hue=swept[0] if swept else None)} if names else {}


def run_and_report(name: str, preset: str, spec: Spec, out: Path, **options: Any) -> dict[str, Any]:
    """Train `spec` as experiment `name` into `out` (resuming or reusing what is there), then report."""
    get(name).check(spec)
    get(name).run(spec, out, metadata={"experiment": name, "preset": preset}, **options)
    return write_report(name, out)[0]
