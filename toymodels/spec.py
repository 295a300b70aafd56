"""What a run is: a system, its dynamic hyperparameters, a sweep, seeds and a step budget.

A `Spec` is plain data. Keys live in one flat namespace so the command line can address them:
fields of the system dataclass are *static* (they change shapes: one compiled program per
value), keys of `hparams` are *dynamic* (vmapped inside one program), and `seeds`, `steps`,
`log_every`, `log_steps`, `snapshot_steps`, `init` are run settings.

Members are seeds × the product of the `sweep` axes × the rows of each `Tied` group. A tied
group is a list of points over several keys that vary together (e.g. each optimizer with its own
lr); an explicit member list is a tied group over every key it names. A tied group has one dim,
named by its keys joined with "+", with a coordinate for each key along it.

Initial states: a member's key is PRNGKey(seed) under `init="paired"` (the members of one seed
share their init across the cells of the sweep: paired comparisons), or fold_in(PRNGKey(seed),
cell) under `init="independent"` (cell = the member's row-major index over every swept dim but
`seed`, static ones first): independent inits per cell, for phase diagrams.

Logged steps: every `log_every` steps, or the explicit `log_steps` (e.g. `geometric_steps`);
step 0 is always recorded.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import numpy as np

if TYPE_CHECKING:
    import jax

MAX_STEPS = 2**31 - 1   # the engine counts steps in int32
MAX_SEEDS = 2**32       # seeds are uint32 PRNG seeds
RUN_KEYS = ("seeds", "steps", "log_every", "log_steps", "snapshot_steps", "init")
INIT_POLICIES = ("paired", "independent")


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


def geometric_steps(steps: int, count: int) -> tuple[int, ...]:
    """`count` distinct steps in [1, steps] (all of them if `count` ≥ `steps`), dense early and sparse late.

    s₁ = 1 and then s_{i+1} = round(s_i · (steps / s_i)^(1/r)), r the number of steps still to
    place, at least s_i + 1 and leaving room for the rest: a geometric progression from 1 to
    `steps` wherever its gaps are ≥ 1, consecutive steps where they would not be. s_count = steps.
    """
    require(steps >= 1, f"steps must be >= 1, got {steps}")
    require(count >= 1, f"geometric schedule needs count >= 1, got {count}")
    count = min(count, steps)
    chosen = [1 if count > 1 else steps]
    for remaining in range(count - 1, 0, -1):
        last = chosen[-1]
        target = round(last * (steps / last) ** (1 / remaining))
        chosen.append(min(max(last + 1, target), steps - remaining + 1))
    return tuple(chosen)


def parse_steps(text: str, steps: int, key: str) -> tuple[int, ...]:
    """`geometric:N` (see `geometric_steps`) or a comma-separated list of steps."""
    kind, sep, count = text.partition(":")
    try:
        if sep:
            require(kind.strip() == "geometric", f"{key} must be geometric:N or a list of steps, got {text!r}")
            return geometric_steps(steps, int(count))
        return tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise ConfigError(f"{key} must be geometric:N or a comma-separated list of steps, got {text!r}") from None


@dataclass(frozen=True)
class Tied:
    """Keys that vary together: `rows[i]` gives the value of each of `keys` for point i."""

    keys: tuple[str, ...]
    rows: tuple[tuple, ...]

    @property
    def dim(self) -> str:
        return "+".join(self.keys)

    def column(self, key: str) -> tuple:
        j = self.keys.index(key)
        return tuple(row[j] for row in self.rows)

    def to_dict(self) -> dict[str, Any]:
        return {"keys": list(self.keys), "rows": [list(r) for r in self.rows]}


@dataclass(frozen=True)
class Point:
    """One compiled program of a sweep: its index along the static dims, the values it fixes, its system."""

    index: dict[str, int]            # static dim -> position along it
    fixed: dict[str, Any]            # every key this program fixes (static, and dynamic keys tied to them)
    system: System


@dataclass(frozen=True)
class Spec:
    """A sweep: `system` (static settings) × `sweep` axes × `tied` groups × `seeds`, trained for `steps`."""

    system: System
    hparams: Mapping[str, float]
    sweep: Mapping[str, tuple] = field(default_factory=dict)
    seeds: int = 1
    steps: int = 1000
    log_every: int = 100
    log_steps: tuple[int, ...] | None = None
    tied: tuple[Tied, ...] = ()
    snapshot_steps: tuple[int, ...] = ()
    init: str = "paired"             # "paired": a seed's members share their init across cells;
                                     # "independent": the member's cell is folded into its key

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

    def parse(self, key: str, value: Any) -> Any:
        """`value` as the type of `key`'s default (strings are parsed)."""
        return parse_value(value, self.value_of(key), key) if isinstance(value, str) else value

    def tied_group(self, key: str) -> Tied | None:
        return next((group for group in self.tied if key in group.keys), None)

    def set(self, key: str, value: Any) -> Spec:
        """Return a copy with `key` set to `value` (strings are parsed to the key's type).

        A swept key stops being swept: the single value replaces the sweep. A key of a tied group
        cannot be set alone (ConfigError). Setting `log_every` drops `log_steps` (every k replaces the list)."""
        if key in ("log_steps", "snapshot_steps"):
            return self.set_steps(key, value)
        value = self.parse(key, value)
        group = self.tied_group(key)
        if group is not None:
            others = ", ".join(k for k in group.keys if k != key)
            raise ConfigError(f"{key} is tied with {others}; set the tied group as a whole")
        spec = dataclasses.replace(self, sweep={k: v for k, v in self.sweep.items() if k != key})
        if key in self.static_keys():
            return dataclasses.replace(spec, system=make_system(self.system, {key: value}))
        if key in self.hparams:
            return dataclasses.replace(spec, hparams={**self.hparams, key: float(value)})
        if key == "log_every":
            spec = dataclasses.replace(spec, log_steps=None)
        return dataclasses.replace(spec, **{key: value})

    def set_steps(self, key: str, value: Any) -> Spec:
        """log_steps / snapshot_steps from a tuple, None, or text (`geometric:N`, `0,10,100`, `none`)."""
        if isinstance(value, str):
            value = None if value.strip().lower() in ("none", "") else parse_steps(value, self.steps, key)
        if value is not None:
            value = tuple(int(x) for x in value)
        if key == "snapshot_steps":
            value = value or ()
        return dataclasses.replace(self, **{key: value})

    def with_sweep(self, key: str, values: Sequence[Any]) -> Spec:
        """Return a copy sweeping `key` over `values` (strings are parsed to the key's type)."""
        require(key not in RUN_KEYS, f"{key} cannot be swept (use --seeds for seeds)")
        parsed = tuple(self.parse(key, v) for v in values)
        require(len(parsed) > 0, f"--sweep {key} needs at least one value")
        require(len(set(parsed)) == len(parsed), f"--sweep {key} repeats a value")
        require(self.tied_group(key) is None, f"{key} is tied; it cannot also be swept")
        return dataclasses.replace(self, sweep={**self.sweep, key: parsed})

    def with_tied(self, keys: Sequence[str], rows: Sequence[Sequence[Any]]) -> Spec:
        """Return a copy where `keys` vary together over `rows` (one member dim, named "+".join(keys)).

        E.g. `spec.with_tied(("optimizer", "lr"), [("adam", 0.01), ("sgd", 0.1)])`. Static keys
        among them compile one program per row. A swept key stops being swept (the rows replace it)."""
        keys = tuple(keys)
        require(len(keys) >= 2, f"a tied group needs two or more keys, got {', '.join(keys) or 'none'}")
        require(len(set(keys)) == len(keys), f"a tied group repeats a key: {', '.join(keys)}")
        for key in keys:
            self.value_of(key)
            require(key not in RUN_KEYS, f"{key} cannot be tied")
            require(self.tied_group(key) is None, f"{key} is already tied")
        require(len(rows) > 0, f"tied {', '.join(keys)} needs at least one row")
        parsed = []
        for row in rows:
            require(len(row) == len(keys), f"tied {', '.join(keys)}: row {tuple(row)} has {len(row)} values")
            parsed.append(tuple(self.parse(k, v) for k, v in zip(keys, row, strict=True)))
        require(len(set(parsed)) == len(parsed), f"tied {', '.join(keys)} repeats a row")
        sweep = {k: v for k, v in self.sweep.items() if k not in keys}
        return dataclasses.replace(self, sweep=sweep, tied=(*self.tied, Tied(keys, tuple(parsed))))

    def with_members(self, members: Sequence[Mapping[str, Any]]) -> Spec:
        """Return a copy with an explicit member list: each mapping gives the values of the same keys."""
        require(len(members) > 0, "a member list needs at least one member")
        keys = tuple(members[0])
        require(all(tuple(m) == keys for m in members), "every member of a list must name the same keys")
        return self.with_tied(keys, [tuple(m[k] for k in keys) for m in members])

    # --- derived views ----------------------------------------------------------------------
    def static_axes(self) -> dict[str, tuple]:
        """Product axes over static keys (one program per value)."""
        return {k: v for k, v in self.sweep.items() if k in self.static_keys()}

    def dynamic_axes(self) -> dict[str, tuple]:
        """Product axes over dynamic keys (vmapped members)."""
        return {k: tuple(float(x) for x in v) for k, v in self.sweep.items() if k in self.hparams}

    def static_tied(self) -> tuple[Tied, ...]:
        """Tied groups with a static key (one program per row)."""
        return tuple(g for g in self.tied if any(k in self.static_keys() for k in g.keys))

    def dynamic_tied(self) -> tuple[Tied, ...]:
        """Tied groups of dynamic keys only (vmapped members)."""
        return tuple(g for g in self.tied if g not in self.static_tied())

    def static_dims(self) -> dict[str, int]:
        """The dims that index programs, in order: static product axes, then static tied groups."""
        return {**{k: len(v) for k, v in self.static_axes().items()},
                **{g.dim: len(g.rows) for g in self.static_tied()}}

    def points(self) -> Iterator[Point]:
        """Every program of the sweep, in row-major order of `static_dims`."""
        axes = self.static_axes()
        groups = self.static_tied()
        for index in itertools.product(*(range(n) for n in self.static_dims().values())):
            fixed = {k: v[i] for (k, v), i in zip(axes.items(), index, strict=False)}
            for group, i in zip(groups, index[len(axes):], strict=True):
                fixed.update(zip(group.keys, group.rows[i], strict=True))
            static = {k: v for k, v in fixed.items() if k in self.static_keys()}
            yield Point(dict(zip(self.static_dims(), index, strict=True)), fixed, make_system(self.system, static))

    def systems(self) -> Iterator[tuple[dict[str, Any], System]]:
        """Every program of the sweep: (the values it fixes, its system)."""
        for point in self.points():
            yield point.fixed, point.system

    def record_steps(self) -> np.ndarray:
        """The steps at which observations are recorded: 0, then every `log_every` or each of `log_steps`."""
        if self.log_steps is None:
            return np.arange(0, self.steps + 1, self.log_every)
        return np.array(sorted({0, *self.log_steps}), dtype=np.int64)

    @property
    def n_members(self) -> int:
        """Members per compiled program: seeds × the dynamic grid × the dynamic tied rows."""
        return (self.seeds * math.prod(len(v) for v in self.dynamic_axes().values())
                * math.prod(len(g.rows) for g in self.dynamic_tied()))

    def point_hparams(self, fixed: Mapping[str, Any]) -> dict[str, float]:
        """The dynamic hyperparameters every member of a static point shares: `hparams`, with the
        values of the dynamic keys tied to the point (`fixed`) in place."""
        return {**self.hparams, **{k: float(v) for k, v in fixed.items() if k in self.hparams}}

    def validate(self) -> Spec:
        """Check every value the sweep will use; raise `ConfigError` naming the first bad one."""
        for key in self.sweep:
            self.value_of(key)
        self.check_finite()
        require(1 <= self.seeds <= MAX_SEEDS, f"seeds must be between 1 and 2^32, got {self.seeds}")
        require(self.init in INIT_POLICIES, f"init must be one of {', '.join(INIT_POLICIES)}, got {self.init!r}")
        require(1 <= self.steps <= MAX_STEPS, f"steps must be between 1 and 2^31 − 1, got {self.steps}")
        self.check_schedule()
        for point in self.points():
            base = self.point_hparams(point.fixed)
            point.system.check(base)
            for key, values in self.dynamic_axes().items():
                for value in values:
                    point.system.check({**base, key: value})
            for group in self.dynamic_tied():
                for row in group.rows:
                    point.system.check({**base, **{k: float(v) for k, v in zip(group.keys, row, strict=True)}})
        return self

    def check_finite(self) -> None:
        """Every float value (hyperparameter, static field, swept or tied value) must be finite."""
        values = [*self.hparams.items(), *dataclasses.asdict(self.system).items(),
                  *((k, v) for k, vs in self.sweep.items() for v in vs),
                  *((k, v) for g in self.tied for row in g.rows for k, v in zip(g.keys, row, strict=True))]
        for key, value in values:
            if isinstance(value, float | int) and not isinstance(value, bool):
                require(math.isfinite(value), f"{key} must be finite, got {value}")

    def check_schedule(self) -> None:
        """log_every / log_steps and snapshot_steps name valid steps."""
        if self.log_steps is None:
            require(self.log_every >= 1, f"log_every must be >= 1, got {self.log_every}")
            require(self.steps % self.log_every == 0,
                    f"steps ({self.steps}) must be a multiple of log_every ({self.log_every})")
        else:
            logged = [s for s in self.log_steps if s != 0]
            require(len(logged) > 0, "log_steps needs at least one step > 0")
            require(all(b > a for a, b in itertools.pairwise(logged)), "log_steps must be increasing")
            require(logged[0] >= 1, f"log_steps must be >= 0, got {logged[0]}")
            require(logged[-1] == self.steps,
                    f"log_steps must end at steps ({self.steps}), got {logged[-1]}; set log_steps after steps")
        snaps = self.snapshot_steps
        require(all(b > a for a, b in itertools.pairwise(snaps)), "snapshot_steps must be increasing")
        for s in snaps:
            require(self.is_recorded(s), f"snapshot step {s} is not a logged step")

    def is_recorded(self, step: int) -> bool:
        """Whether observations are recorded at `step` (without listing every recorded step)."""
        if self.log_steps is None:
            return 0 <= step <= self.steps and step % self.log_every == 0
        return step == 0 or step in self.log_steps

    @property
    def n_records(self) -> int:
        """How many steps are recorded (step 0 included)."""
        if self.log_steps is None:
            return self.steps // self.log_every + 1
        return len({0, *self.log_steps})

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description (stored with every result); the newer fields only when set."""
        data = {
            "system": type(self.system).__name__,
            "static": dataclasses.asdict(self.system),
            "hparams": dict(self.hparams),
            "sweep": {k: list(v) for k, v in self.sweep.items()},
            "seeds": self.seeds,
            "steps": self.steps,
            "log_every": self.log_every,
        }
        if self.log_steps is not None:
            data["log_steps"] = list(self.log_steps)
        if self.tied:
            data["tied"] = [g.to_dict() for g in self.tied]
        if self.snapshot_steps:
            data["snapshot_steps"] = list(self.snapshot_steps)
        if self.init != "paired":
            data["init"] = self.init
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], systems: Sequence[type] = ()) -> Spec:
        """The Spec that `to_dict` described; the system class is found by name among `systems`.

        `Spec.from_dict(spec.to_dict(), [type(spec.system)]) == spec` (JSON lists become tuples)."""
        by_name = {kind.__name__: kind for kind in systems}
        name = data["system"]
        require(name in by_name, f"unknown system {name!r}; known: {', '.join(sorted(by_name)) or 'none'} "
                                 "(pass a custom system's class)")
        return cls(
            system=by_name[name](**{k: as_tuples(v) for k, v in data["static"].items()}),
            hparams=dict(data["hparams"]),
            sweep={k: as_tuples(v) for k, v in data["sweep"].items()},
            seeds=data["seeds"],
            steps=data["steps"],
            log_every=data["log_every"],
            log_steps=as_tuples(data.get("log_steps")),
            tied=tuple(Tied(tuple(g["keys"]), as_tuples(g["rows"])) for g in data.get("tied", ())),
            snapshot_steps=as_tuples(data.get("snapshot_steps", ())),
            init=data.get("init", "paired"),
        )


def as_tuples(value: Any) -> Any:
    """JSON lists back to the tuples a Spec holds, recursively."""
    return tuple(as_tuples(v) for v in value) if isinstance(value, list | tuple) else value


def make_system(system: System, changes: Mapping[str, Any]) -> System:
    """`dataclasses.replace`, with a constructor's `ValueError` turned into a `ConfigError`."""
    try:
        return dataclasses.replace(system, **changes)
    except ConfigError:
        raise
    except (TypeError, ValueError) as error:
        raise ConfigError(str(error)) from None
