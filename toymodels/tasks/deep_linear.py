"""The deep-linear teacher (Saxe, McClelland & Ganguli 2014; `DeepLinear`).

Whitened inputs (Σ¹¹ = I) and input–output correlation Σ³¹ = U diag(s) Vᵀ, U, V random orthonormal
frames fixed by the seed, s the singular values (`spectrum`). A network's map W (W = W₂W₁ for two
layers) has loss ½ ‖Σ³¹ − W‖²_F and mode strengths u_αᵀ W v_α.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from toymodels.deep_linear import frames
from toymodels.spec import require
from toymodels.tasks.base import TaskData
from toymodels.tasks.metrics import as_array


@dataclass(frozen=True)
class LinearTeacher(TaskData):
    """u, v (n, n) float32: orthonormal frames (columns); singular_values (k,); correlation (n, n) = Σ³¹.

    Metric (`evaluate` of the network's map W (n, n)), as `DeepLinear` observes: loss =
    ½ ‖Σ³¹ − W‖²_F, strength (k,) = u_αᵀ W v_α; relative_error = ‖Σ³¹ − W‖_F / ‖Σ³¹‖_F.
    """

    u: np.ndarray
    v: np.ndarray
    singular_values: np.ndarray
    correlation: np.ndarray

    def evaluate(self, predictions) -> dict:
        """{loss, strength (k,), relative_error} of the map W (n, n)."""
        w = as_array(predictions, self.correlation.shape, "predictions (the map W = W₂W₁)")
        k = len(self.singular_values)
        target = self.correlation.astype(np.float64)
        u, v = self.u[:, :k].astype(np.float64), self.v[:, :k].astype(np.float64)
        gap = np.linalg.norm(target - w)
        return {"loss": 0.5 * gap**2, "strength": np.einsum("ia,ij,ja->a", u, w, v),
                "relative_error": float(gap / np.linalg.norm(target))}


def parse_spectrum(spectrum: str) -> np.ndarray:
    try:
        values = [float(x) for x in str(spectrum).split(",")]
    except ValueError:
        values = []
    require(bool(values) and all(np.isfinite(v) and v > 0 for v in values),
            f"spectrum must be comma-separated positive numbers, got {spectrum!r}")
    return np.array(values, np.float32)


def linear_teacher(n: int = 8, spectrum: str = "3,2,1,0.5", seed: int = 0) -> LinearTeacher:
    """The teacher of `DeepLinear(n=n, spectrum=spectrum, data_seed=seed)`."""
    require(n >= 1, f"n must be >= 1, got {n}")
    s = parse_spectrum(spectrum)
    require(len(s) <= n, f"spectrum has {len(s)} values but n = {n}")
    u, v = frames(n, seed)
    correlation = (u[:, : len(s)] * s) @ v[:, : len(s)].T
    return LinearTeacher(u.copy(), v.copy(), s, correlation)
