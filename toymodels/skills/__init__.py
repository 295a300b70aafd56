"""Skill-learning toy models (Liu et al. 2025): Geometry, Resource and Domino."""

from toymodels.skills.common import frequencies, optimizer
from toymodels.skills.domino import Domino
from toymodels.skills.geometry import Geometry, task_vectors
from toymodels.skills.mlp import ParityTasksMLP, SquareTasksMLP
from toymodels.skills.resource import Resource, resource_update

__all__ = [
    "Domino", "Geometry", "ParityTasksMLP", "Resource", "SquareTasksMLP", "frequencies", "optimizer",
    "resource_update", "task_vectors",
]
