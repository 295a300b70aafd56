"""Toy tasks as plain functions returning arrays, usable without the engine.

`get(name)(**kwargs)` returns a task dataclass; each task documents its array shapes and metric.
"""

from collections.abc import Callable

from toymodels.spec import ConfigError
from toymodels.tasks.addition_pairs import addition_pairs
from toymodels.tasks.graphs import family_graph
from toymodels.tasks.modular import ModularTask, modular_arithmetic
from toymodels.tasks.sparse_parity import multitask_sparse_parity

TASKS: dict[str, Callable] = {
    "addition_pairs": addition_pairs,
    "modular_arithmetic": modular_arithmetic,
    "family_graph": family_graph,
    "multitask_sparse_parity": multitask_sparse_parity,
}


def get(name: str) -> Callable:
    """The task function registered as `name`."""
    if name not in TASKS:
        raise ConfigError(f"unknown task {name!r}; known tasks: {', '.join(sorted(TASKS))}")
    return TASKS[name]


__all__ = ["TASKS", "ModularTask", "get", "modular_arithmetic"]
