"""Toy tasks as benchmarks: versioned, registered, each with one `evaluate`.

    task = toymodels.tasks.make("modular-arithmetic-v1", p=23, seed=0)   # frozen, NumPy arrays
    scores = task.evaluate(logits)                                         # {"test_acc": …, …}
    toymodels.tasks.list()                                                 # names, settings, metrics

A task made with `seed=s` holds exactly the data a training member of seed s of its system sees
(tests/test_tasks.py checks each against its system). The task functions themselves
(`modular_arithmetic`, …) and the legacy name registry `TASKS`/`get` stay available.
"""

from toymodels.spec import require as _require
from toymodels.tasks.addition_pairs import AdditionPairsTask, addition_pairs
from toymodels.tasks.deep_linear import LinearTeacher, linear_teacher
from toymodels.tasks.features import SAEFeatures, SuperpositionFeatures, sae_features, superposition_features
from toymodels.tasks.graphs import GraphStitchingTask, GraphTask, family_graph, graph_stitching
from toymodels.tasks.modular import ModularTask, modular_arithmetic
from toymodels.tasks.permutation_pairs import PermutationPairsTask  # the module stays toymodels.tasks.permutation_pairs
from toymodels.tasks.precision import PrecisionTeacher, precision_teacher
from toymodels.tasks.registry import TaskEntry, describe_tasks, list_tasks, make, register
from toymodels.tasks.sae_synthetic import SAESynthetic, sae_synthetic
from toymodels.tasks.skills import (
    ParityTasks,
    SkillLevels,
    SkillVectors,
    SquareTasks,
    parity_tasks,
    skill_domino,
    skill_resource,
    skill_vectors,
    square_tasks,
)
from toymodels.tasks.sparse_parity import SparseParityTask, multitask_sparse_parity

# Legacy names (unversioned, the task functions themselves): kept for code that imports them.
TASKS = {
    "addition_pairs": addition_pairs,
    "modular_arithmetic": modular_arithmetic,
    "family_graph": family_graph,
    "multitask_sparse_parity": multitask_sparse_parity,
}


def get(name: str):
    """The task function registered as the legacy name `name` (prefer `make("name-vN")`)."""
    _require(name in TASKS, f"unknown task {name!r}; known tasks: {', '.join(sorted(TASKS))}")
    return TASKS[name]


def _modular_addition(p: int = 59, train_fraction: float = 0.8, seed: int = 0) -> ModularTask:
    return modular_arithmetic(p=p, op="add", train_fraction=train_fraction, seed=seed)


def _rare_parity(n_bits: int = 32, samples: int = 10000, train_fraction: float = 1.0,
                 p_rare: float = 0.1, seed: int = 0) -> ParityTasks:
    return parity_tasks("pair", n_bits, samples, train_fraction, p_rare, seed)


def _compositional_parity(tasks: str = "composed", n_bits: int = 32, samples: int = 10000,
                          train_fraction: float = 0.8, seed: int = 0) -> ParityTasks:
    return parity_tasks(tasks, n_bits, samples, train_fraction, 1.0, seed)


_CLASSIFICATION = ("train_acc", "test_acc", "train_loss", "test_loss")
for _entry in (
    TaskEntry("modular-arithmetic-v1", modular_arithmetic,
              "c = a op b mod p over all p² pairs, op in add/subtract/multiply (Ding et al. 2024)",
              "ModularMLP, Transformer (op=add)", _CLASSIFICATION),
    TaskEntry("modular-addition-v1", _modular_addition,
              "c = a + b mod p over all p² pairs (Nanda et al. 2023; Ding et al. 2024)",
              "ModularMLP, Transformer", _CLASSIFICATION),
    TaskEntry("addition-pairs-v1", addition_pairs,
              "i + j over the p(p+1)/2 unordered pairs (Liu et al. 2022)",
              "GrokkingToy", _CLASSIFICATION),
    TaskEntry("family-graph-v1", family_graph,
              "family-tree link prediction, 7 relations (our protocol after Baek et al. 2024)",
              "GraphMLP (graph_seed=seed)",
              ("train_loss", "test_loss", "train_acc", "test_acc", "heldout_recall", "inferable_recall",
               "noninferable_recall", "test_specificity", "ideal_recall", "relation_recall")),
    TaskEntry("graph-stitching-v1", graph_stitching,
              "the family graph and shared split that stitched GraphMLPs are scored on",
              "GraphMLP in graph-stitching (train_fraction = the run's smallest)",
              ("test_acc", "own_acc", "penalty")),
    TaskEntry("multitask-sparse-parity-v1", multitask_sparse_parity,
              "the quanta task: Zipfian mixture of sparse parities (Michaud et al. 2023)",
              "SparseParityMLP", ("test_loss", "test_acc", "subtask_loss", "subtask_acc")),
    TaskEntry("compositional-parity-v1", _compositional_parity,
              "parities x3^x4, x1^x2 and a composed/separate third (Liu et al. 2025 Fig2-top)",
              "ParityTasksMLP (skills-composition)", ("acc", "test_acc", "loss")),
    TaskEntry("rare-parity-v1", _rare_parity,
              "two parities, the second's loss on a fraction p_rare of samples (Liu et al. 2025 Fig2-bottom)",
              "ParityTasksMLP (skills-rare-task)", ("acc", "test_acc", "loss")),
    TaskEntry("square-tasks-v1", square_tasks,
              "x1² on a fraction 1 − p2 of points, x2² on the rest (Liu et al. 2025 Fig19)",
              "SquareTasksMLP (skills-modular-mlp)", ("task_loss", "loss")),
    TaskEntry("skill-geometry-v1", skill_vectors,
              "task vectors u_i and Zipf/two/exp frequencies of the Geometry model (Liu et al. 2025)",
              "Geometry", ("skill", "loss")),
    TaskEntry("skill-resource-v1", skill_resource,
              "frequencies and interaction matrix of the Resource model (Liu et al. 2025)",
              "Resource", ("loss", "mean_skill")),
    TaskEntry("skill-domino-v1", skill_domino,
              "frequencies of the Domino model (Liu et al. 2025)", "Domino", ("loss", "mean_skill")),
    TaskEntry("superposition-features-v1", superposition_features,
              "sparse uniform features with importance decay (Elhage et al. 2022)",
              "Superposition", ("loss", "feature_loss")),
    TaskEntry("sae-features-v1", sae_features,
              "sparse mixtures of random unit features with known ground truth (after Sharkey et al. 2022)",
              "SparseAutoencoder", ("mse", "shrinkage", "l0", "dead", "mmcs")),
    TaskEntry("deep-linear-teacher-v1", linear_teacher,
              "linear teacher with known singular values (Saxe et al. 2014)",
              "DeepLinear (data_seed=seed)", ("loss", "strength", "relative_error")),
):
    register(_entry)
del _entry

list = list_tasks  # noqa: A001  (the issue's `tm.tasks.list()`; the builtin is not used below)

__all__ = [
    "TASKS", "AdditionPairsTask", "GraphStitchingTask", "GraphTask", "LinearTeacher", "ModularTask", "ParityTasks",
    "PermutationPairsTask", "PrecisionTeacher", "SAEFeatures", "SAESynthetic", "SkillLevels", "SkillVectors",
    "SparseParityTask", "SquareTasks", "SuperpositionFeatures", "TaskEntry", "addition_pairs", "describe_tasks",
    "family_graph", "get", "graph_stitching", "linear_teacher", "list", "list_tasks", "make", "modular_arithmetic",
    "multitask_sparse_parity", "parity_tasks", "precision_teacher", "register", "sae_features", "sae_synthetic",
    "skill_domino", "skill_resource", "skill_vectors", "square_tasks", "superposition_features",
]
