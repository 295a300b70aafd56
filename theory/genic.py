"""Monogenic vs polygenic samples (Michaud et al. 2023, the quantization model): how sharply a
per-sample loss curve L(t) falls.

    f(t)    = (L(0) − L(t)) / (L(0) − L(T))            share of the total drop reached at t
    t_q     = first t with f(t) ≥ q, linear between logged steps
    width   = ln(t_0.9 / t_0.1)                          emergence width on a log-time axis

A step between logged steps t_a and t_b has width ln((t_a + 0.9Δ)/(t_a + 0.1Δ)), Δ = t_b − t_a; a
linear ramp from 0 to T has width ln 9. A polygenic sample's loss is the mean of the losses of the
quanta it needs (`composite`): each quantum lowers it when it is learned.
"""

from __future__ import annotations

import numpy as np

LOW, HIGH = 0.1, 0.9


def drop_time(steps: np.ndarray, loss: np.ndarray, share: float) -> float:
    """t_q for q = `share` (NaN when the curve does not fall: L(T) ≥ L(0), or L is not finite)."""
    drop = loss[0] - loss[-1]
    if not (np.all(np.isfinite(loss)) and drop > 0):
        return float("nan")
    reached = (loss[0] - loss) / drop
    i = int(np.argmax(reached >= share))  # reached[-1] = 1 ≥ share, so some index qualifies
    if i == 0:
        return float(steps[0])
    t0, t1, f0, f1 = steps[i - 1], steps[i], reached[i - 1], reached[i]
    return float(t0 + (share - f0) / (f1 - f0) * (t1 - t0))


def emergence_width(steps: np.ndarray, loss: np.ndarray, low: float = LOW, high: float = HIGH) -> float:
    """ln(t_high / t_low) of one curve L(t) logged at `steps` (NaN when it does not fall)."""
    t_low, t_high = drop_time(steps, loss, low), drop_time(steps, loss, high)
    return float(np.log(t_high / t_low)) if t_low > 0 else float("nan")


def composite(curves: np.ndarray, groups: list[list[int]]) -> np.ndarray:
    """Polygenic curves: row g is the mean of the rows `groups[g]` of `curves` (n_curves, n_steps)."""
    return np.stack([curves[group].mean(axis=0) for group in groups])


def groups_of(members: np.ndarray, size: int, seed: int) -> list[list[int]]:
    """Disjoint groups of `size` drawn at random (numpy `default_rng(seed)`) from `members`;
    leftovers are dropped."""
    order = np.random.default_rng(seed).permutation(members)
    return [order[i:i + size].tolist() for i in range(0, len(order) - size + 1, size)]
