"""The versioned task registry: `make("name-vN", **settings)`, `list_tasks()`, `describe_tasks()`.

A registered name's meaning never changes: its settings, their defaults and the arrays a seed gives
are fixed. A new default or a new way of drawing the data is a new version (`-v2`), registered next
to the old one.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any

from toymodels.spec import ConfigError, require


@dataclass(frozen=True)
class TaskEntry:
    """One registered task: how to build it and what it measures.

    build: the task function; fixed: arguments of `build` this name pins (not settings);
    metrics: the keys of `evaluate`; system: the system (and study) that trains on it.
    """

    name: str
    build: Any
    description: str
    system: str
    metrics: tuple[str, ...]
    fixed: dict[str, Any] = field(default_factory=dict)

    @property
    def settings(self) -> dict[str, Any]:
        """Every setting with its default (the build function's keyword defaults minus `fixed`)."""
        params = inspect.signature(self.build).parameters.values()
        return {p.name: p.default for p in params if p.name not in self.fixed}


REGISTRY: dict[str, TaskEntry] = {}


def register(entry: TaskEntry) -> TaskEntry:
    """Add a task under a new name; re-registering a name is refused (versions never change)."""
    require(entry.name not in REGISTRY, f"task {entry.name!r} is already registered")
    require(entry.name.rsplit("-v", 1)[-1].isdigit(), f"task name {entry.name!r} must end in -vN")
    REGISTRY[entry.name] = entry
    return entry


def coerce(name: str, key: str, value: Any, default: Any) -> Any:
    """`value` as the type of `default` (strings from a command line are parsed); ConfigError otherwise."""
    kind = type(default)
    try:
        if kind is bool:
            if isinstance(value, str):
                require(value.lower() in ("true", "false", "1", "0"), "")
                return value.lower() in ("true", "1")
            require(isinstance(value, bool | int), "")
            return bool(value)
        if kind is int:
            number = float(value)
            require(number.is_integer() and not isinstance(value, bool), "")
            return int(number)
        if kind is float:
            require(not isinstance(value, bool), "")
            return float(value)
        return kind(value)
    except (ConfigError, TypeError, ValueError):
        raise ConfigError(f"task {name}: setting {key} must be a {kind.__name__}, got {value!r}") from None


def make(name: str, **settings: Any):
    """The task registered as `name` (e.g. "modular-arithmetic-v1") with `settings` over its
    defaults: a frozen dataclass of NumPy arrays with `evaluate(predictions) -> dict`."""
    if name not in REGISTRY:
        raise ConfigError(f"unknown task {name!r}; known tasks: {', '.join(sorted(REGISTRY))}")
    entry = REGISTRY[name]
    defaults = entry.settings
    unknown = sorted(set(settings) - set(defaults))
    require(not unknown, f"task {name} has no setting {', '.join(unknown)}; settings: {', '.join(defaults)}")
    values = {k: coerce(name, k, v, defaults[k]) for k, v in settings.items()}
    return entry.build(**entry.fixed, **{**defaults, **values})


def list_tasks() -> dict[str, dict[str, Any]]:
    """The registry: {name: {"settings": {setting: default}, "metrics": (...), "system": str,
    "description": str}}, names sorted."""
    return {name: {"settings": entry.settings, "metrics": entry.metrics, "system": entry.system,
                   "description": entry.description}
            for name, entry in sorted(REGISTRY.items())}


def describe_tasks() -> str:
    """The registry as text (what `toymodels tasks` prints): one block per task."""
    lines = []
    for name, info in list_tasks().items():
        settings = ", ".join(f"{k}={v!r}" for k, v in info["settings"].items())
        lines += [f"{name}: {info['description']}",
                  f"    settings: {settings}",
                  f"    metrics:  {', '.join(info['metrics'])}",
                  f"    trained by: {info['system']}"]
    return "\n".join(lines)
