"""toymodels: populations of tiny neural networks trained in one compiled JAX program."""

from toymodels import tasks
from toymodels.deep_linear import DeepLinear
from toymodels.devices import use_cpu_cores
from toymodels.engine import run
from toymodels.modular_mlp import ModularMLP
from toymodels.spec import ConfigError, Spec, System
from toymodels.store import load

__version__ = "0.1.0"

__all__ = ["ConfigError", "DeepLinear", "ModularMLP", "Spec", "System", "load", "run", "tasks", "use_cpu_cores"]
