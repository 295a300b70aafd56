"""Time the trajectory fits of theory.odes on a population: M members × n variables × T steps.

    python benchmarks/ode_fit.py [--members 1000] [--vars 29] [--steps 1000] [--repeats 3]

Data: noisy linear trajectories x(t+1) = x(t) + A x(t) + b (the paper's shape: 29 frequencies,
1000 steps). Rows: least squares (α = 0) and Lasso (α = 0.01, sklearn's objective), one call each
for all members; the gLV ridge regression on log-differences (no trajectory refinement); its Diffrax
rollout; and the Levenberg–Marquardt trajectory refinement (`--refine-steps`, on `--refine-members`
members only: it costs one forward-mode ODE solve per parameter per step). Prints median wall
seconds; times include JAX compilation on the first call.
"""

from __future__ import annotations

import argparse
import statistics
import time

import jax.numpy as jnp
import numpy as np

from toymodels.theory.odes import fit_glv_arrays, fit_linear_arrays, glv_rollout


def population(members: int, n: int, steps: int, seed: int = 0) -> np.ndarray:
    """Positive, noisy trajectories of a contracting linear map (members, steps, n)."""
    rng = np.random.default_rng(seed)
    a = -0.01 * np.eye(n) + 0.001 * rng.normal(size=(members, n, n))
    b = 0.5 + 0.1 * rng.random((members, n))
    x = [80 + 5 * rng.random((members, n))]
    for _ in range(steps - 1):
        x.append(x[-1] + np.einsum("mij,mj->mi", a, x[-1]) + b + 0.05 * rng.normal(size=(members, n)))
    return np.stack(x, axis=1)


def median_seconds(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--vars", type=int, default=29)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--refine-members", type=int, default=4)
    parser.add_argument("--refine-steps", type=int, default=10)
    args = parser.parse_args()
    x = population(args.members, args.vars, args.steps)
    ts = np.arange(args.steps, dtype=np.float64)
    positive = np.abs(x) + 1e-3   # gLV needs x > 0
    shape = f"{args.members} members × {args.vars} vars × {args.steps} steps"
    glv = fit_glv_arrays(positive, ts, 1e-3)
    few = positive[: args.refine_members]
    rows = {
        "least squares (A, b, one-step R², spectral radius)": lambda: fit_linear_arrays(x, 0.0),
        "Lasso α=0.01 (same outputs)": lambda: fit_linear_arrays(x, 0.01),
        "gLV ridge regression on Δlog x (r, A, one-step R²)": lambda: fit_glv_arrays(positive, ts, 1e-3),
        "gLV rollout (Diffrax Tsit5, every member)":
            lambda: glv_rollout(*(jnp.asarray(v) for v in (glv.r, glv.a, positive[:, 0], ts))).block_until_ready(),
        f"gLV + {args.refine_steps} Levenberg–Marquardt steps, {args.refine_members} members":
            lambda: fit_glv_arrays(few, ts, 1e-3, args.refine_steps),
    }
    print(f"| fit ({shape}) | median seconds ({args.repeats} runs) |\n|---|---|")
    for name, fn in rows.items():
        print(f"| {name} | {median_seconds(fn, args.repeats):.2f} |", flush=True)


if __name__ == "__main__":
    main()
