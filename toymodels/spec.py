"""What a run is: a system, its dynamic hyperparameters, a sweep, seeds and a step budget.

A `Spec` is plain data. Keys live in one flat namespace so the command line can address them:
fields of the system dataclass are *static* (they change shapes: one compiled program per
value), keys of `hparams` are *dynamic* (vmapped inside one program), and `seeds`, `steps`,
`log_every` are run settings.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import jax

RUN_KEYS = ("seeds", "steps", "log_every")


class ConfigError(ValueError):
    """Bad input: a one-line message meant for the user, never a traceback."""


def require(condition: bool, message: str) -> None:
    """Raise `ConfigError(message)` unless `condition` holds."""
    if not condition:
        raise ConfigError(message)


class System(Protocol):
    """A toy model: a frozen dataclass of static settings and three pure functions.

    init(key, hp) -> state; step(state, hp) -> state; observe(state, hp) -> {name: array}.
    `hp` maps names to scalar arrays (one member's dynamic hyperparameters).
    """

    divergence_key: ClassVar[str]

    def hparams(self) -> dict[str, float]: ...
    def check(self, hp: Mapping[str, float]) -> None: ...
    def observables(self) -> dict[str, tuple[str, ...]]: ...
    def coords(self) -> dict[str, Any]: ...
    def init(self, key: jax.Array, hp: Mapping[str, jax.Array]) -> Any: ...
    def step(self, state: Any, hp: Mapping[str, jax.Array]) -> Any: ...
    def observe(self, state: Any, hp: Mapping[str, jax.Array]) -> dict[str, jax.Array]: ...


def parse_value(text: str, like: Any, key: str) -> Any:
    """Parse a command-line string into the type of the default value `like`."""
    try:
        if isinstance(like, bool):
            lowered = text.strip().lower()
            require(lowered in ("true", "false", "1", "0"), f"{key} must be true or false, got {text!r}")
            return lowered in ("true", "1")
        if isinstance(like, int):
            return int(text)
        if isinstance(like, float):
            return float(text)
    except ValueError:
        raise ConfigError(f"{key} must be a {type(like).__name__}, got {text!r}") from None
    return text


@dataclass(frozen=True)
class Spec:
    """A sweep: `system` (static settings) × `sweep` axes × `seeds`, trained for `steps`."""

    system: System
    hparams: Mapping[str, float]
    sweep: Mapping[str, tuple] = field(default_factory=dict)
    seeds: int = 1
    steps: int = 1000
    log_every: int = 100

    # --- the flat key namespace -------------------------------------------------------------
    def static_keys(self) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(self.system))

    def value_of(self, key: str) -> Any:
        """Current (default) value of a key, for type coercion and messages."""
        if key in self.static_keys():
            return getattr(self.system, key)
        if key in self.hparams:
            return self.hparams[key]
        if key in RUN_KEYS:
            return getattr(self, key)
        known = ", ".join((*self.static_keys(), *self.hparams, *RUN_KEYS))
        raise ConfigError(f"unknown key {key!r}; known keys: {known}")

    def set(self, key: str, value: Any) -> Spec:
        """Return a copy with `key` set to `value` (strings are parsed to the key's type)."""
        default = self.value_of(key)
        if isinstance(value, str):
            value = parse_value(value, default, key)
        if key in self.static_keys():
            return dataclasses.replace(self, system=make_system(self.system, {key: value}))
        if key in self.hparams:
            return dataclasses.replace(self, hparams={**self.hparams, key: float(value)})
        return dataclasses.replace(self, **{key: value})

    def with_sweep(self, key: str, values: Sequence[Any]) -> Spec:
        """Return a copy sweeping `key` over `values` (strings are parsed to the key's type)."""
        require(key not in RUN_KEYS, f"{key} cannot be swept (use --seeds for seeds)")
        default = self.value_of(key)
        parsed = tuple(parse_value(v, default, key) if isinstance(v, str) else v for v in values)
        require(len(parsed) > 0, f"--sweep {key} needs at least one value")
        require(len(set(parsed)) == len(parsed), f"--sweep {key} repeats a value")
        return dataclasses.replace(self, sweep={**self.sweep, key: parsed})

    # --- derived views ----------------------------------------------------------------------
    def static_axes(self) -> dict[str, tuple]:
        return {k: v for k, v in self.sweep.items() if k in self.static_keys()}

    def dynamic_axes(self) -> dict[str, tuple]:
        return {k: tuple(float(x) for x in v) for k, v in self.sweep.items() if k in self.hparams}

    def systems(self) -> Iterator[tuple[dict[str, Any], System]]:
        """Every static point of the sweep: (its swept static values, the system)."""
        axes = self.static_axes()
        for values in itertools.product(*axes.values()):
            point = dict(zip(axes, values, strict=True))
            yield point, make_system(self.system, point)

    @property
    def n_members(self) -> int:
        """Members per compiled program: seeds × the dynamic grid."""
        return self.seeds * math.prod(len(v) for v in self.dynamic_axes().values())

    def validate(self) -> Spec:
        """Check every value the sweep will use; raise `ConfigError` naming the first bad one."""
        for key in self.sweep:
            self.value_of(key)
        require(self.seeds >= 1, f"seeds must be >= 1, got {self.seeds}")
        require(self.steps >= 1, f"steps must be >= 1, got {self.steps}")
        require(self.log_every >= 1, f"log_every must be >= 1, got {self.log_every}")
        require(
            self.steps % self.log_every == 0,
            f"steps ({self.steps}) must be a multiple of log_every ({self.log_every})",
        )
        dynamic = self.dynamic_axes()
        for _, system in self.systems():
            for key, values in dynamic.items():
                for value in values:
                    system.check({**self.hparams, key: value})
            system.check(self.hparams)
        return self

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description (stored with every result)."""
        return {
            "system": type(self.system).__name__,
            "static": dataclasses.asdict(self.system),
            "hparams": dict(self.hparams),
            "sweep": {k: list(v) for k, v in self.sweep.items()},
            "seeds": self.seeds,
            "steps": self.steps,
            "log_every": self.log_every,
        }


def make_system(system: System, changes: Mapping[str, Any]) -> System:
    """`dataclasses.replace`, with a constructor's `ValueError` turned into a `ConfigError`."""
    try:
        return dataclasses.replace(system, **changes)
    except ConfigError:
        raise
    except (TypeError, ValueError) as error:
        raise ConfigError(str(error)) from None
