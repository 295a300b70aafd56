"""toymodels: populations of tiny neural networks trained in one compiled JAX program."""

from toymodels import tasks
from toymodels.deep_linear import DeepLinear
from toymodels.devices import use_cpu_cores
from toymodels.engine import run
from toymodels.graph_mlp import GraphMLP
from toymodels.grokking_toy import GrokkingToy, SplitCensus
from toymodels.modular_mlp import ModularMLP
from toymodels.sae import SparseAutoencoder
from toymodels.skills import Domino, Geometry, ParityTasksMLP, Resource, SquareTasksMLP
from toymodels.sparse_parity import SparseParityMLP
from toymodels.spec import ConfigError, Spec, System, geometric_steps
from toymodels.store import RunFolder, finished_or, load, load_snapshots, load_spec
from toymodels.superposition import Superposition
from toymodels.transformer import Transformer

__version__ = "0.1.0"

SYSTEMS = (DeepLinear, Domino, Geometry, GraphMLP, GrokkingToy, ModularMLP, ParityTasksMLP, Resource,
           SparseAutoencoder, SparseParityMLP, SplitCensus, SquareTasksMLP, Superposition, Transformer)

__all__ = [
    "SYSTEMS", "ConfigError", "DeepLinear", "Domino", "Geometry", "GraphMLP", "GrokkingToy", "ModularMLP",
    "ParityTasksMLP", "Resource", "SparseAutoencoder", "SparseParityMLP", "Spec", "SplitCensus", "SquareTasksMLP",
    "Superposition", "System", "Transformer",
    "RunFolder", "finished_or", "load_spec",
    "geometric_steps", "load", "load_snapshots", "run", "tasks", "use_cpu_cores",
]
