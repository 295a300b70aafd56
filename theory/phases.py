"""Phases of learning for any sweep: the four-phase rule of Liu et al. (2022), phase maps, boundaries.

**The four-phase rule.** With t_train, t_test = first step at which train / test accuracy ≥
threshold (= B − 1 if never within the budget B) and a delay Δ, the rule of the authors'
`simple_phase_diagram.ipynb` is

    comprehension: t_train < B−1 and t_test < B−1 and t_test − t_train ≤ Δ
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

**Any run** (`member_phases`): a system that observes scalar `train_acc` and `test_acc` gets the
rule above. One that observes scalar `train_loss` and `test_loss` instead gets the same rule with
"reached" meaning loss ≤ `loss_level` × its value at step 0 (default 0.1: the loss fell by 90 %).
One with a single scalar loss (`loss` or `train_loss`) gets two phases, `learned` (that loss
reached `loss_level` × its initial value within the budget) and `not learned`. When `delay` is
not given, Δ = B / 10 (the `Figure5` notebook's Δ = 10³ at B = 10⁴).

**Phase maps** (`phase_map`): over two swept axes x, y, each cell gets the fraction of seeds in
every phase, the majority phase (ties → the earlier phase) and its seed fraction (agreement).
Axes are in *real coordinates*: log10 of the values where these are log-spaced
(`axis_scale`), else the values themselves — never the grid index.

**Boundaries** (`phase_boundaries`): every pair of grid-adjacent cells with different majority
phases contributes the midpoint between them (in real coordinates); the midpoints of each pair of
phases are fitted by a straight line by total least squares (principal axis) in coordinates
scaled by each axis' span, so the fit does not depend on the axes' units.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from toymodels.theory.events import first_step

PHASES = ("comprehension", "grokking", "memorization", "confusion")
COMPREHENSION, GROKKING, MEMORIZATION, CONFUSION = range(4)
LEARNING = ("learned", "not learned")


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


def success_step(hit: xr.DataArray, budget: int) -> xr.DataArray:
    """First recorded step where `hit` holds and step < B − 1, else B − 1 (dim `step`)."""
    within = hit & (hit["step"] < budget - 1)
    return first_step(within).fillna(budget - 1).astype(np.int64)


def default_budget(ds: xr.Dataset) -> int:
    """B = last recorded step + 1."""
    return int(ds["step"].values[-1]) + 1


def classify(ds: xr.Dataset, threshold: float = 0.9, delay: float = 1000.0,
             budget: int | None = None) -> xr.DataArray:
    """Phase index of every member of a sweep Dataset (train_acc/test_acc over `step`)."""
    budget = default_budget(ds) if budget is None else budget
    t_train = success_step(ds["train_acc"] >= threshold, budget)
    t_test = success_step(ds["test_acc"] >= threshold, budget)
    phase = xr.apply_ufunc(phase_rule, t_train, t_test, kwargs={"budget": budget, "delay": delay})
    phase.attrs = {"phases": list(PHASES), "threshold": threshold, "delay": delay, "budget": budget}
    return phase.rename("phase")


def scalar_observable(ds: xr.Dataset, name: str) -> bool:
    """Whether `name` is recorded with no dims besides the member dims and `step`."""
    if name not in ds or "step" not in ds[name].dims:
        return False
    members = set(ds["diverged_step"].dims) if "diverged_step" in ds else set(ds[name].dims) - {"step"}
    return set(ds[name].dims) <= members | {"step"}


def loss_reached(loss: xr.DataArray, level: float) -> xr.DataArray:
    """loss(t) ≤ level · loss(0) (NaN → False)."""
    return loss <= level * loss.isel(step=0)


def member_phases(ds: xr.Dataset, *, threshold: float = 0.9, delay: float | None = None,
                  budget: int | None = None, loss_level: float = 0.1) -> xr.DataArray:
    """Phase code of every member of any run (dims: the member dims), rule in the module docstring.

    attrs: `phases` (names, indexed by the code), `rule` ("accuracy", "loss" or "learning"),
    `observables`, `threshold` or `loss_level`, `delay`, `budget`.
    """
    single = next((v for v in ("loss", "train_loss") if scalar_observable(ds, v)), None)
    if single is None and not scalar_observable(ds, "train_acc"):
        raise ValueError("no phase rule applies: the run observes neither train_acc/test_acc, "
                         "train_loss/test_loss nor a scalar loss")
    budget = default_budget(ds) if budget is None else int(budget)
    delay = budget / 10 if delay is None else float(delay)
    if scalar_observable(ds, "train_acc") and scalar_observable(ds, "test_acc"):
        phase = classify(ds, threshold, delay, budget)
        phase.attrs.update(rule="accuracy", observables=["train_acc", "test_acc"])
        return phase
    if scalar_observable(ds, "train_loss") and scalar_observable(ds, "test_loss"):
        t_train, t_test = (success_step(loss_reached(ds[v], loss_level), budget) for v in ("train_loss", "test_loss"))
        phase = xr.apply_ufunc(phase_rule, t_train, t_test, kwargs={"budget": budget, "delay": delay})
        phase.attrs = {"phases": list(PHASES), "rule": "loss", "observables": ["train_loss", "test_loss"],
                       "loss_level": loss_level, "delay": delay, "budget": budget}
        return phase.rename("phase")
    if single is None:
        raise ValueError("no phase rule applies: the run observes train_acc but no test_acc and no scalar loss")
    learned = success_step(loss_reached(ds[single], loss_level), budget) < budget - 1
    phase = xr.where(learned, 0, 1).astype(np.int64)
    phase.attrs = {"phases": list(LEARNING), "rule": "learning", "observables": [single],
                   "loss_level": loss_level, "delay": delay, "budget": budget}
    return phase.rename("phase")


def phase_names(phase: xr.DataArray) -> tuple[str, ...]:
    """The phase names a phase DataArray's codes index (the four phases unless attrs say otherwise)."""
    return tuple(phase.attrs.get("phases", PHASES))


def phase_fractions(phase: xr.DataArray, over: str = "seed") -> xr.DataArray:
    """Fraction of members in each phase along `over` (new dim `phase`, labelled by name)."""
    names = phase_names(phase)
    counts = [(phase == k).mean(over) if over in phase.dims else (phase == k).astype(float)
              for k in range(len(names))]
    return xr.concat(counts, dim=xr.DataArray(list(names), dims="phase", name="phase"))


def majority_phase(fractions: xr.DataArray) -> xr.DataArray:
    """Most frequent phase index per cell (ties → the earlier phase in `PHASES`)."""
    return fractions.argmax("phase")


def axis_scale(values: np.ndarray) -> str:
    """"log" if the values are positive and log-spaced, "category" if they are not numbers, else "linear".

    Log-spaced: positive values spanning at least a factor of 5 (10 for two values) whose
    steps in log10 are more uniform (smaller coefficient of variation) than their linear steps.
    """
    values = np.asarray(values)
    if not np.issubdtype(values.dtype, np.number) or np.issubdtype(values.dtype, np.bool_):
        return "category"
    values = np.sort(values.astype(float))
    if len(values) < 2 or values[0] <= 0 or values[-1] / values[0] < (10 if len(values) == 2 else 5):
        return "linear"
    if len(values) == 2:
        return "log"

    def spread(steps: np.ndarray) -> float:
        return float(np.std(steps) / np.mean(steps)) if np.mean(steps) > 0 else np.inf

    return "log" if spread(np.diff(np.log10(values))) < spread(np.diff(values)) else "linear"


def real_coordinates(values: np.ndarray) -> np.ndarray:
    """Coordinates of an axis' values: log10 where the axis is log-spaced, the index for
    categories (e.g. `op`), else the values."""
    scale = axis_scale(values)
    if scale == "category":
        return np.arange(len(values), dtype=float)
    values = np.asarray(values, dtype=float)
    return np.log10(values) if scale == "log" else values


def phase_map(phase: xr.DataArray, x: str, y: str) -> xr.Dataset:
    """Per cell of the (x, y) grid (and of any further member dims): seed fractions, majority, agreement.

    Returns a Dataset with `fractions` (dims phase, …, x, y), `majority` (phase code),
    `agreement` (fraction of seeds in the majority phase); attrs `phases`, `x`, `y`, `x_scale`,
    `y_scale` and the rule's attrs.
    """
    for axis in (x, y):
        if axis not in phase.dims or axis == "seed":
            raise ValueError(f"{axis!r} is not a swept axis of this run")
    fractions = phase_fractions(phase, "seed")
    order = ["phase", *(d for d in fractions.dims if d not in ("phase", x, y)), x, y]
    fractions = fractions.transpose(*order)
    attrs = {**phase.attrs, "phases": list(phase_names(phase)), "x": x, "y": y,
             "x_scale": axis_scale(phase[x].values), "y_scale": axis_scale(phase[y].values)}
    return xr.Dataset({"fractions": fractions, "majority": majority_phase(fractions),
                       "agreement": fractions.max("phase")}, attrs=attrs)


@dataclass(frozen=True)
class Boundary:
    """A straight line between two phases (x = axis 0, y = axis 1, in the coordinates given).

    points: (n, 2) midpoints between adjacent cells of the two phases; the line passes through
    `centre` along the unit vector `direction`; `rms` = RMS perpendicular distance of the points
    in span-scaled coordinates (1 = the whole axis).
    """

    phases: tuple[str, str]
    points: np.ndarray
    centre: np.ndarray
    direction: np.ndarray
    rms: float

    def segment(self, pad: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """End points of the line over the extent of its points, extended by `pad` at each end."""
        along = (self.points - self.centre) @ self.direction
        return (self.centre + (along.min() - pad) * self.direction,
                self.centre + (along.max() + pad) * self.direction)

    def slope(self) -> float:
        """dy/dx of the line (±inf when vertical)."""
        dx, dy = self.direction
        return float(dy / dx) if dx != 0 else float(np.copysign(np.inf, dy))


def boundary_points(cells: np.ndarray, x: np.ndarray | None = None, y: np.ndarray | None = None,
                    ) -> dict[tuple[int, int], list[tuple[float, float]]]:
    """Midpoints between grid-adjacent cells of different phase, keyed by (lower, higher) phase.

    x, y: the coordinates of the grid's rows and columns (default: the grid index).
    """
    nx, ny = cells.shape
    x = np.arange(nx, dtype=float) if x is None else np.asarray(x, dtype=float)
    y = np.arange(ny, dtype=float) if y is None else np.asarray(y, dtype=float)
    points: dict[tuple[int, int], list[tuple[float, float]]] = {}
    for i in range(nx):
        for j in range(ny):
            for di, dj in ((1, 0), (0, 1)):
                k, m = i + di, j + dj
                if k < nx and m < ny and cells[i, j] != cells[k, m]:
                    key = tuple(sorted((int(cells[i, j]), int(cells[k, m]))))
                    points.setdefault(key, []).append(((x[i] + x[k]) / 2, (y[j] + y[m]) / 2))
    return points


def fit_line(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Total least squares: centre, unit direction (principal axis), RMS perpendicular residual."""
    centre = points.mean(axis=0)
    _, singular, vt = np.linalg.svd(points - centre, full_matrices=True)
    residual = singular[1] if len(singular) > 1 else 0.0
    return centre, vt[0], float(residual / np.sqrt(len(points)))


def span(values: np.ndarray) -> float:
    """max − min of an axis' coordinates (1 for a single value)."""
    width = float(np.ptp(values)) if len(values) > 1 else 0.0
    return width if width > 0 else 1.0


def phase_boundaries(cells: np.ndarray, x: np.ndarray | None = None, y: np.ndarray | None = None,
                     names: tuple[str, ...] = PHASES) -> list[Boundary]:
    """A fitted line for every pair of phases that touch on the grid (at least 2 midpoints).

    cells: (nx, ny) majority phase codes; x, y: real coordinates of the rows / columns (default:
    grid index). The line is fitted in coordinates divided by each axis' span and returned in
    the coordinates given.
    """
    cells = np.asarray(cells)
    x = np.arange(cells.shape[0], dtype=float) if x is None else np.asarray(x, dtype=float)
    y = np.arange(cells.shape[1], dtype=float) if y is None else np.asarray(y, dtype=float)
    scale = np.array([span(x), span(y)])
    lines = []
    for (a, b), pts in sorted(boundary_points(cells, x, y).items()):
        if len(pts) >= 2:
            pts = np.array(pts)
            centre, direction, rms = fit_line(pts / scale)
            direction = direction * scale
            lines.append(Boundary((names[a], names[b]), pts, centre * scale,
                                  direction / np.linalg.norm(direction), rms))
    return lines


def map_boundaries(pmap: xr.Dataset) -> list[Boundary]:
    """Fitted boundaries of a 2-D phase map (`phase_map` with no further dims), in real coordinates."""
    x, y = pmap.attrs["x"], pmap.attrs["y"]
    cells = pmap["majority"].transpose(x, y).values
    return phase_boundaries(cells, real_coordinates(pmap[x].values), real_coordinates(pmap[y].values),
                            tuple(pmap.attrs["phases"]))


def member_metrics(ds: xr.Dataset, *, threshold: float = 0.9, budget: int | None = None) -> xr.Dataset:
    """Scalar per-member quantities of any run (dims: the member dims), for heatmaps and tables.

    `final_<name>` for every scalar observable (its last recorded value); where train_acc and
    test_acc are observed also `t_train`, `t_test` (first step with accuracy ≥ threshold, NaN if
    never within B) and `grokking_delay` = t_test − t_train (NaN unless both happen).
    """
    budget = default_budget(ds) if budget is None else int(budget)
    final = ds.isel(step=-1)
    out = {f"final_{name}": final[name].astype(float) for name in ds.data_vars
           if scalar_observable(ds, name)}
    if scalar_observable(ds, "train_acc") and scalar_observable(ds, "test_acc"):
        steps = {k: success_step(ds[v] >= threshold, budget)
                 for k, v in (("t_train", "train_acc"), ("t_test", "test_acc"))}
        steps = {k: v.where(v < budget - 1).astype(float) for k, v in steps.items()}
        out.update(steps, grokking_delay=steps["t_test"] - steps["t_train"])
    return xr.Dataset({k: v.drop_vars("step", errors="ignore") for k, v in out.items()})
