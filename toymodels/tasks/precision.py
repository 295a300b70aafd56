"""The teacher of precision machine learning (Michaud, Liu, Tegmark 2023): a 1-3-3-1 tanh MLP.

Teacher parameters: PyTorch's default Linear init (`toymodels.precision.mlp_init`) from
PRNGKey(seed), float64. Inputs x ~ U(−1, 1): `n_train` then `n_test` draws of
numpy.random.default_rng(seed); targets y = teacher(x). Shapes (n, 1), float64.
(The reference seeds PyTorch and NumPy with 0; our generators differ, so the teacher is another
draw from the same distribution.)
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import numpy as np

from toymodels.spec import require
from toymodels.tasks.base import TaskData
from toymodels.tasks.metrics import as_array
from toymodels.tasks.registry import TaskEntry, register

TEACHER_WIDTHS = (1, 3, 3, 1)


@dataclass(frozen=True)
class PrecisionTeacher(TaskData):
    """x_train, y_train (n_train, 1); x_test, y_test (n_test, 1); teacher (22,) its flat parameters.

    Metric (`evaluate` of predictions on x_test, shape (n_test,) or (n_test, 1)): test_rmse =
    √mean((f(x) − y)²), as `PrecisionMLP` observes."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    teacher: np.ndarray

    def target(self, x: np.ndarray) -> np.ndarray:
        """The teacher at inputs x of shape (n, 1) (float64)."""
        from toymodels.precision import Problem

        with jax.enable_x64(True), jax.ensure_compile_time_eval():
            empty = np.zeros((0, 1))
            return np.asarray(Problem(TEACHER_WIDTHS, empty, empty, empty, empty).predict(self.teacher, x))

    def evaluate(self, predictions) -> dict[str, float]:
        f = as_array(np.reshape(predictions, (-1, 1)), self.y_test.shape, "predictions on x_test")
        return {"test_rmse": float(np.sqrt(np.mean((f - self.y_test) ** 2)))}


def precision_teacher(n_train: int = 100_000, n_test: int = 10_000, seed: int = 0) -> PrecisionTeacher:
    """The 1-3-3-1 tanh teacher of `seed` and its train/test data (float64)."""
    from jax.flatten_util import ravel_pytree

    from toymodels.precision import mlp_apply, mlp_init

    require(n_train >= 1 and n_test >= 1, f"n_train and n_test must be >= 1, got {n_train}, {n_test}")
    rng = np.random.default_rng(seed)
    x_train = rng.uniform(-1.0, 1.0, (n_train, 1))
    x_test = rng.uniform(-1.0, 1.0, (n_test, 1))
    with jax.enable_x64(True), jax.ensure_compile_time_eval():  # concrete even when called under a trace
        params = mlp_init(jax.random.PRNGKey(seed), TEACHER_WIDTHS)
        y_train, y_test = (np.asarray(mlp_apply(params, x)) for x in (x_train, x_test))
        flat = np.asarray(ravel_pytree(params)[0])
    return PrecisionTeacher(x_train, y_train, x_test, y_test, flat)


register(TaskEntry("precision-teacher-v1", precision_teacher,
                   "x ~ U(−1, 1), y = a 1-3-3-1 tanh teacher, float64 (Michaud et al. 2023)",
                   "PrecisionMLP (precision-fit)", ("test_rmse",)))
