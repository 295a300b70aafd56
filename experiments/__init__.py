"""The studies, by name. Each module registers its `Experiment`s when imported.

The contract (`Claim`, `Summary`, `Experiment`, `register`, `write_report`, …) lives in
`toymodels.experiments.study` and is imported on first use, so `toymodels list` and `--help`
stay fast (they read `toymodels.experiments.catalog` only).
"""

from __future__ import annotations

import importlib
from typing import Any

NAMES = ("KINDS", "PRESETS", "REGISTRY", "STATUSES", "Claim", "Experiment", "Figures", "Summary", "discover",
         "get", "no_figures", "register", "run_and_report", "to_json", "write_report")


def __getattr__(name: str) -> Any:
    if name in NAMES:
        return getattr(importlib.import_module("toymodels.experiments.study"), name)
    raise AttributeError(f"module 'toymodels.experiments' has no attribute {name!r}")


__all__ = list(NAMES)
