"""`Estimate`: one number with the interval behind it, the only interval record of a summary.

Three ways to get an interval, each named for what it is:

    student_t(x)         mean ± t_{(1+level)/2, n−1} · sd/√n          (interval "student-t")
    bootstrap(x)         mean, percentile bootstrap over the values     (interval "bootstrap")
    bootstrap_difference(a, b)  mean(a) − mean(b), both groups resampled (interval "bootstrap")
    welch_difference(a, b)      mean(a) − mean(b) ± t_ν √(s²_a/n_a + s²_b/n_b)  (interval "welch")
    wilson(k, n)         share k/n with Wilson's score interval          (interval "wilson")
    member_range(x)      mean (or median), lo..hi = min..max            (interval "range")

Every constructor drops non-finite values first and says how many it kept (`n`); with none left
the value is None (`member_range(keep_infinite=True)` keeps ±inf: a diverged rollout's R² = −inf
is the worst score, not a missing one). `point(v)` is a number with no interval.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import stats

Interval = Literal["student-t", "welch", "wilson", "bootstrap", "range", "none"]
INTERVALS: tuple[str, ...] = ("student-t", "welch", "wilson", "bootstrap", "range", "none")
CONFIDENCE: tuple[str, ...] = ("student-t", "welch", "wilson", "bootstrap")   # intervals with a level


@dataclass(frozen=True)
class Estimate:
    """`value` with the interval `lo`..`hi` of kind `interval` (at `level` for student-t and bootstrap)
    from `n` values. lo/hi are None when there is no interval (too few values, or kind "none")."""

    value: float | None
    lo: float | None = None
    hi: float | None = None
    n: int = 0
    interval: Interval = "none"
    level: float | None = None

    def __post_init__(self) -> None:
        if self.interval not in INTERVALS:
            raise ValueError(f"interval must be one of {', '.join(INTERVALS)}, got {self.interval!r}")

    @property
    def finite(self) -> bool:
        return self.value is not None and math.isfinite(self.value)

    def describe(self) -> str:
        """What lo..hi is, in words: "95 % student-t interval", "range over 8 values", …"""
        if self.interval == "range":
            return "range"
        if self.interval == "none" or self.level is None:
            return "no interval"
        return f"{100 * self.level:g} % {self.interval} interval"

    @classmethod
    def from_json(cls, node: Any) -> Estimate | None:
        """A summary.json node as an Estimate: a bare number, or {"value", "lo", "hi", "n", "interval",
        "level"}; None when it is neither or its value is not a finite number."""
        if isinstance(node, Mapping):
            value = node.get("value")
            if not is_number(value):
                return None
            return cls(float(value), optional(node.get("lo")), optional(node.get("hi")), int(node.get("n") or 0),
                       node.get("interval", "none"), node.get("level"))
        return cls(float(node), n=1) if is_number(node) else None


def is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def optional(x: Any) -> float | None:
    return float(x) if is_number(x) else None


def finite_values(values: Any) -> np.ndarray:
    x = np.ravel(np.asarray(values, float))
    return x[np.isfinite(x)]


def point(value: Any, n: int = 1) -> Estimate:
    """A number without an interval (None when it is not finite)."""
    value = float(value) if value is not None else math.nan
    return Estimate(value if math.isfinite(value) else None, n=n if math.isfinite(value) else 0)


def student_t(values: Any, level: float = 0.95) -> Estimate:
    """Mean of the finite values ± t_{(1+level)/2, n−1} · sd/√n (no interval for n < 3)."""
    x = finite_values(values)
    n = len(x)
    if n == 0:
        return Estimate(None, n=0, interval="student-t", level=level)
    mean = float(x.mean())
    if n < 3:
        return Estimate(mean, n=n, interval="student-t", level=level)
    half = float(stats.t.ppf((1 + level) / 2, n - 1) * x.std(ddof=1) / np.sqrt(n))
    return Estimate(mean, mean - half, mean + half, n, "student-t", level)


def member_range(values: Any, center: Literal["mean", "median"] = "mean", keep_infinite: bool = False) -> Estimate:
    """Mean (or median) of the finite values (with ±inf too if `keep_infinite`), lo..hi = min..max."""
    x = np.ravel(np.asarray(values, float))
    x = x[~np.isnan(x)] if keep_infinite else x[np.isfinite(x)]
    if not len(x):
        return Estimate(None, n=0, interval="range")
    value = float(np.median(x)) if center == "median" else float(x.mean())
    return Estimate(value, float(x.min()), float(x.max()), len(x), "range")


def welch_difference(a: Any, b: Any, level: float = 0.95) -> Estimate:
    """mean(a) − mean(b) ± t_{(1+level)/2, ν} √(s²_a/n_a + s²_b/n_b), ν by Welch–Satterthwaite
    (finite values only; lo = hi = value when a group has < 2 values or both have zero variance)."""
    a, b = finite_values(a), finite_values(b)
    n = len(a) + len(b)
    if not len(a) or not len(b):
        return Estimate(None, n=0, interval="welch", level=level)
    value = float(a.mean() - b.mean())
    if len(a) < 2 or len(b) < 2:
        return Estimate(value, value, value, n, "welch", level)
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    if va + vb == 0:
        return Estimate(value, value, value, n, "welch", level)
    dof = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    half = float(stats.t.ppf((1 + level) / 2, dof) * np.sqrt(va + vb))
    return Estimate(value, value - half, value + half, n, "welch", level)


def wilson(successes: int, n: int, level: float = 0.95) -> Estimate:
    """Share k/n with Wilson's score interval: (p̂ + z²/2n ± z √(p̂(1−p̂)/n + z²/4n²)) / (1 + z²/n)."""
    if n == 0:
        return Estimate(None, n=0, interval="wilson", level=level)
    z, share = float(stats.norm.ppf((1 + level) / 2)), successes / n
    centre = (share + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * math.sqrt(share * (1 - share) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    lo = 0.0 if successes == 0 else centre - half   # exact at the ends (no round-off past the share)
    hi = 1.0 if successes == n else centre + half
    return Estimate(share, lo, hi, n, "wilson", level)


def bootstrap_interval(statistic: Callable[[np.ndarray], float], n: int, samples: int = 1000,
                       level: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of `statistic(indices)` over `samples` draws of n indices
    from 0..n−1 with replacement (the units: seeds, points, …); non-finite draws are dropped.

    Memory is O(samples) floats whatever n: the draws are made one at a time.
    """
    rng = np.random.default_rng(seed)
    draws = np.array([statistic(rng.integers(0, n, n)) for _ in range(samples)], float)
    draws = draws[np.isfinite(draws)]
    if not len(draws):
        return float("nan"), float("nan")
    tail = 100 * (1 - level) / 2
    lo, hi = np.percentile(draws, [tail, 100 - tail])
    return float(lo), float(hi)


def bootstrap(values: Any, level: float = 0.95, seed: int = 0) -> Estimate:
    """Mean of the finite values with a percentile bootstrap interval resampling them."""
    x = finite_values(values)
    if not len(x):
        return Estimate(None, n=0, interval="bootstrap", level=level)
    lo, hi = bootstrap_interval(lambda i: x[i].mean(), len(x), level=level, seed=seed)
    return Estimate(float(x.mean()), lo, hi, len(x), "bootstrap", level)


def bootstrap_difference(a: Any, b: Any, level: float = 0.95, seed: int = 0) -> Estimate:
    """mean(a) − mean(b) with a percentile bootstrap interval resampling both groups independently;
    n = len(a) + len(b) (non-finite values dropped)."""
    a, b = finite_values(a), finite_values(b)
    if not len(a) or not len(b):
        return Estimate(None, n=0, interval="bootstrap", level=level)
    rng = np.random.default_rng([seed, 1])

    def draw(i: np.ndarray) -> float:
        return a[i].mean() - b[rng.integers(0, len(b), len(b))].mean()

    lo, hi = bootstrap_interval(draw, len(a), level=level, seed=seed)
    return Estimate(float(a.mean() - b.mean()), lo, hi, len(a) + len(b), "bootstrap", level)
