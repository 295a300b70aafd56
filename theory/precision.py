"""Scaling of linear simplex interpolation with data size (Michaud, Liu, Tegmark 2023, Conclusions).

Piecewise-linear interpolation on a triangulation of D points in [−1, 1]^d has error O(h²) with
mesh size h ∝ D^{−1/d}, so for a C² target

    RMSE(D) ∝ D^{−2/d}                        (predicted exponent of D: −2/d)

d = 1: `numpy.interp` on the sorted points; d ≥ 2: `scipy.interpolate.LinearNDInterpolator`
(Delaunay). The 2^d corners of the cube are added to the D random points so that nothing is
extrapolated, and the error is measured on test points uniform in the inner box [−0.8, 0.8]^d: the
Delaunay triangles that touch the cube's faces span between corners (no data point lies on a face),
their error is O(1) over an area ∝ 1/D, which alone would give RMSE ∝ D^{−1/2} in d = 2 (measured:
exponent 0.59 instead of 1 when the test points fill the whole cube).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
import scipy.interpolate

TEST_BOX = 0.8
Target = Callable[[np.ndarray], np.ndarray]   # (n, d) -> (n,)


def corners(d: int) -> np.ndarray:
    """The 2^d corners of [−1, 1]^d, shape (2^d, d)."""
    return np.array(list(itertools.product((-1.0, 1.0), repeat=d)))


def interpolate(x: np.ndarray, y: np.ndarray, x_new: np.ndarray) -> np.ndarray:
    """Piecewise-linear (simplex) interpolant of (x, y), x of shape (D, d), evaluated at x_new."""
    if x.shape[1] == 1:
        order = np.argsort(x[:, 0])
        return np.interp(x_new[:, 0], x[order, 0], y[order])
    return scipy.interpolate.LinearNDInterpolator(x, y)(x_new)


def interpolation_rmse(target: Target, d: int, size: int, n_test: int, seed: int) -> float:
    """Test RMSE of the simplex interpolant of `target` from `size` uniform points in [−1, 1]^d
    plus the cube's corners (fixed by `seed`), on `n_test` uniform test points in [−TEST_BOX, TEST_BOX]^d."""
    rng = np.random.default_rng(seed)
    x = np.concatenate([corners(d), rng.uniform(-1.0, 1.0, (size, d))])
    x_test = rng.uniform(-TEST_BOX, TEST_BOX, (n_test, d))
    error = interpolate(x, target(x), x_test) - target(x_test)
    return float(np.sqrt(np.mean(error ** 2)))


def predicted_slope(d: int) -> float:
    """The exponent of D in RMSE ∝ D^{−2/d}."""
    return -2.0 / d
