"""The four phases of learning (Liu et al. 2022): comprehension, grokking, memorization, confusion.

With t_train, t_test = first step at which train / test accuracy ≥ threshold (= B − 1 if never
within the budget B) and a delay Δ, the rule of the authors' `simple_phase_diagram.ipynb` is

    comprehension: t_train < B−1 and t_test < B−1 and t_test − t_train < Δ
    grokking     : t_train < B−1 and t_test < B−1 and t_test − t_train > Δ
    memorization : t_train < B−1 and t_test = B−1
    confusion    : t_train = B−1 and t_test = B−1

Defaults as in the reference: threshold 0.9, Δ = 10³ (B = 10⁵ there; here B defaults to the
run's last recorded step + 1, so a threshold first met at that very step counts as "never", as
`iter = steps − 1` does in the authors' code). The rule leaves two gaps, classified explicitly:
    t_test − t_train = Δ                 → comprehension (the delay does not *exceed* Δ);
    t_test < B−1 but t_train = B−1       → comprehension (test generalises; the few train samples
                                           below threshold are not memorisation). Both agree with
                                           the authors' code, where they fall into index 0.
Diverged members (NaN accuracies) never reach a threshold, hence confusion.

Phase boundaries on a 2-D grid (`phase_boundaries`): each cell gets its majority phase over seeds;
every pair of grid-adjacent cells with different phases contributes the midpoint between them (in
grid-index coordinates, i.e. log-lr if the lr axis is log-spaced); the midpoints of each pair of
phases are fitted by a straight line by total least squares (principal axis of the points).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

PHASES = ("comprehension", "grokking", "memorization", "confusion")
COMPREHENSION, GROKKING, MEMORIZATION, CONFUSION = range(4)


def phase_rule(t_train: np.ndarray, t_test: np.ndarray, budget: int, delay: float) -> np.ndarray:
    """Phase index (0..3, order of `PHASES`) from first-success steps (B − 1 = never)."""
    t_train, t_test = np.asarray(t_train), np.asarray(t_test)
    train_ok, test_ok = t_train < budget - 1, t_test < budget - 1
    late = (t_test - t_train) > delay
    return np.select(
        [train_ok & test_ok & late, train_ok & ~test_ok, ~train_ok & ~test_ok],
        [GROKKING, MEMORIZATION, CONFUSION],
        default=COMPREHENSION,
    )


def first_step(accuracy: xr.DataArray, threshold: float, budget: int) -> xr.DataArray:
    """First recorded step with accuracy ≥ threshold and step < B − 1, else B − 1 (dim `step`)."""
    hit = (accuracy >= threshold) & (accuracy["step"] < budget - 1)
    steps = accuracy["step"].where(hit)
    return steps.min("step").fillna(budget - 1).astype(np.int64)


def classify(ds: xr.Dataset, threshold: float = 0.9, delay: float = 1000.0,
             budget: int | None = None) -> xr.DataArray:
    """Phase index of every member of a sweep Dataset (train_acc/test_acc over `step`)."""
    budget = int(ds["step"].values[-1]) + 1 if budget is None else budget
    t_train = first_step(ds["train_acc"], threshold, budget)
    t_test = first_step(ds["test_acc"], threshold, budget)
    phase = xr.apply_ufunc(phase_rule, t_train, t_test, kwargs={"budget": budget, "delay": delay})
    phase.attrs = {"phases": list(PHASES), "threshold": threshold, "delay": delay, "budget": budget}
    return phase.rename("phase")


def phase_fractions(phase: xr.DataArray, over: str = "seed") -> xr.DataArray:
    """Fraction of members in each phase along `over` (new dim `phase`, labelled by name)."""
    counts = [(phase == k).mean(over) for k in range(len(PHASES))]
    return xr.concat(counts, dim=xr.DataArray(list(PHASES), dims="phase", name="phase"))


def majority_phase(fractions: xr.DataArray) -> xr.DataArray:
    """Most frequent phase index per cell (ties → the earlier phase in `PHASES`)."""
    return fractions.argmax("phase")


@dataclass(frozen=True)
class Boundary:
    """A straight line between two phases in grid-index coordinates (x = axis 0, y = axis 1).

    points: (n, 2) midpoints between adjacent cells of the two phases; the line passes through
    `centre` along the unit vector `direction`; `rms` = RMS perpendicular distance of the points.
    """

    phases: tuple[str, str]
    points: np.ndarray
    centre: np.ndarray
    direction: np.ndarray
    rms: float


def boundary_points(cells: np.ndarray) -> dict[tuple[int, int], list[tuple[float, float]]]:
    """Midpoints between grid-adjacent cells of different phase, keyed by (lower, higher) phase."""
    points: dict[tuple[int, int], list[tuple[float, float]]] = {}
    nx, ny = cells.shape
    for i in range(nx):
        for j in range(ny):
            for di, dj in ((1, 0), (0, 1)):
                k, m = i + di, j + dj
                if k < nx and m < ny and cells[i, j] != cells[k, m]:
                    key = tuple(sorted((int(cells[i, j]), int(cells[k, m]))))
                    points.setdefault(key, []).append(((i + k) / 2, (j + m) / 2))
    return points


def fit_line(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Total least squares: centre, unit direction (principal axis), RMS perpendicular residual."""
    centre = points.mean(axis=0)
    _, singular, vt = np.linalg.svd(points - centre, full_matrices=True)
    residual = singular[1] if len(singular) > 1 else 0.0
    return centre, vt[0], float(residual / np.sqrt(len(points)))


def phase_boundaries(cells: np.ndarray) -> list[Boundary]:
    """A fitted line for every pair of phases that touch on the grid (at least 2 midpoints)."""
    lines = []
    for (a, b), pts in sorted(boundary_points(np.asarray(cells)).items()):
        if len(pts) >= 2:
            centre, direction, rms = fit_line(np.array(pts))
            lines.append(Boundary((PHASES[a], PHASES[b]), np.array(pts), centre, direction, rms))
    return lines
