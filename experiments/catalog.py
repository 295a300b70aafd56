"""The experiments' names, descriptions and presets, read from the study modules' source without
importing them (so `toymodels list` and `--help` need neither JAX nor the studies).

Every study module registers with a literal call, `register(Experiment(name="…", description="…",
presets={"tiny": …, …}, …))`; `catalog()` finds those calls with `ast`. `tests/test_cli.py` checks
that the catalog equals the registry the imported modules build.
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "toymodels.experiments"
NOT_STUDIES = ("__init__", "catalog", "study", "cli", "ledger", "common", "sweep_report", "fit", "paper_presets",
               "shards", "task_scores")


@dataclass(frozen=True)
class Entry:
    module: str                    # the module that registers the experiment
    description: str
    presets: tuple[str, ...]


def registrations(source: str) -> list[tuple[str, str, tuple[str, ...]]]:
    """(name, description, preset names) of every `register(Experiment(...))` call in `source`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "register" and node.args
                and isinstance(node.args[0], ast.Call) and getattr(node.args[0].func, "id", None) == "Experiment"):
            keywords = {k.arg: k.value for k in node.args[0].keywords}
            presets = keywords["presets"]
            found.append((ast.literal_eval(keywords["name"]), ast.literal_eval(keywords["description"]),
                          tuple(ast.literal_eval(k) for k in presets.keys)))
    return found


@functools.cache
def catalog() -> dict[str, Entry]:
    """{experiment name: Entry} over every study module of the package."""
    entries = {}
    for path in sorted(Path(__file__).parent.glob("*.py")):
        if path.stem not in NOT_STUDIES:
            for name, description, presets in registrations(path.read_text()):
                entries[name] = Entry(f"{PACKAGE}.{path.stem}", description, presets)
    return entries
