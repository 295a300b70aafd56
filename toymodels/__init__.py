"""toymodels: populations of tiny neural networks trained in one compiled JAX program.

Every public name is imported on first use (PEP 562), so `import toymodels` and the command
line's `list`/`--help` do not pay for JAX until something needs it.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# name -> module that defines it
PUBLIC = {
    "DeepLinear": "deep_linear", "Domino": "skills", "Geometry": "skills", "GraphMLP": "graph_mlp",
    "GrokkingToy": "grokking_toy", "ModularMLP": "modular_mlp", "ParityTasksMLP": "skills", "PrecisionMLP": "precision",
    "Resource": "skills", "SAESuite": "sae_suite", "SparseAutoencoder": "sae", "SparseParityMLP": "sparse_parity",
    "SplitCensus": "grokking_toy", "SquareTasksMLP": "skills", "Superposition": "superposition",
    "Transformer": "transformer",
    "ConfigError": "spec", "Spec": "spec", "System": "spec", "geometric_steps": "spec",
    "RunFolder": "store", "finished_or": "store", "load": "store", "load_snapshots": "store",
    "load_spec": "store",
    "run": "engine", "use_cpu_cores": "devices",
}
SYSTEM_NAMES = ("DeepLinear", "Domino", "Geometry", "GraphMLP", "GrokkingToy", "ModularMLP", "ParityTasksMLP",
                "PrecisionMLP", "Resource", "SAESuite", "SparseAutoencoder", "SparseParityMLP", "SplitCensus",
                "SquareTasksMLP", "Superposition", "Transformer")


def __getattr__(name: str) -> Any:
    if name == "SYSTEMS":
        return tuple(__getattr__(n) for n in SYSTEM_NAMES)
    if name == "tasks":
        return importlib.import_module("toymodels.tasks")
    if name in PUBLIC:
        return getattr(importlib.import_module(f"toymodels.{PUBLIC[name]}"), name)
    raise AttributeError(f"module 'toymodels' has no attribute {name!r}")


__all__ = ["SYSTEMS", "tasks", *PUBLIC]
