"""Precision machine learning (Michaud, Liu, Tegmark 2023): fitting a smooth 1-D function to float64 precision.

A tanh MLP f_θ (widths 1-20-20-1 by default, PyTorch's default Linear init) is fitted by
full-batch MSE, L(θ) = mean_i (f_θ(x_i) − y_i)², error RMSE = √L, to a teacher from the task
`precision-teacher-v1` (`toymodels.tasks.precision`). Everything is float64.

`PrecisionMLP` is the engine system (Adam, lr a dynamic hyperparameter; observes train/test RMSE).
Its fields `bfgs_maxiter`, `lc_steps`, `tau`, `boost_maxiter` configure the second-order stages
that `precision-fit` runs after it (they do not change `step`). The second-order methods are pure
functions of a flattened loss L(θ), θ ∈ R^P:

    bfgs             SciPy BFGS, gtol 1e-60 (never met): runs until its Wolfe line search makes no
                     progress ("precision loss") or `maxiter`, the reference's stopping rule
    low_curvature    H = ∇²L(θ) = Σ_j λ_j v_j v_jᵀ;  d = Σ_{|λ_j| < τ} (v_j·∇L) v_j;  θ ← θ − α* d,
                     α* = argmin_α L(θ − α d) by `log_line_search`; stops when L does not decrease
    log_line_search  15 log-spaced α in [1e-12, 1e12], then `depth` rounds zoomed to the best
                     point's neighbours (edge points extend the range by one grid step)
    boosting         c = 1 / mean|y − f₁(x)|, f₂ fitted to c (y − f₁(x)), prediction f₁ + f₂ / c
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
import optax
import scipy.optimize
from jax.flatten_util import ravel_pytree

from toymodels.nn import ACTIVATIONS, PRECISIONS, torch_uniform
from toymodels.spec import require

Params = list[dict[str, jax.Array]]


# --- networks -------------------------------------------------------------------------------------
def mlp_init(key: jax.Array, widths: Sequence[int], dtype=jnp.float64) -> Params:
    """Layers [{"w": (n_in, n_out), "b": (n_out,)}] with PyTorch's default init U(±1/√n_in)."""
    layers = []
    shapes = zip(widths[:-1], widths[1:], strict=False)
    for key_layer, (n_in, n_out) in zip(jax.random.split(key, len(widths) - 1), shapes, strict=True):
        kw, kb = jax.random.split(key_layer)
        init = torch_uniform(n_in)
        layers.append({"w": init(kw, (n_in, n_out), dtype), "b": init(kb, (n_out,), dtype)})
    return layers


def mlp_apply(params: Params, x: jax.Array, activation: str = "tanh") -> jax.Array:
    """f(x) = W_L σ(… σ(x W_1 + b_1) …) + b_L, x of shape (n, d_in)."""
    sigma = ACTIVATIONS[activation]
    for layer in params[:-1]:
        x = sigma(x @ layer["w"] + layer["b"])
    return x @ params[-1]["w"] + params[-1]["b"]


def rmse(prediction: jax.Array, target: jax.Array) -> jax.Array:
    """√mean((f − y)²)."""
    return jnp.sqrt(jnp.mean((prediction - target) ** 2))


def widths_of(width: int, depth: int, d_in: int = 1) -> tuple[int, ...]:
    return (d_in, *([width] * depth), 1)


def unravel(theta: jax.Array, widths: Sequence[int]) -> Params:
    """The layers of a network of `widths` from its flat parameter vector, in `ravel_pytree` order
    (per layer: "b" (n_out,), then "w" (n_in, n_out) row-major)."""
    layers, start = [], 0
    for n_in, n_out in zip(widths[:-1], widths[1:], strict=False):
        b = theta[start:start + n_out]
        w = theta[start + n_out:start + n_out + n_in * n_out].reshape(n_in, n_out)
        layers.append({"b": b, "w": w})
        start += n_out + n_in * n_out
    return layers


@functools.partial(jax.jit, static_argnames=("widths", "activation"))
def predict(theta: jax.Array, x: jax.Array, widths: tuple[int, ...], activation: str = "tanh") -> jax.Array:
    return mlp_apply(unravel(theta, widths), x, activation)


def mse(theta: jax.Array, x: jax.Array, y: jax.Array, widths: tuple[int, ...], activation: str) -> jax.Array:
    """L(θ) = mean (f_θ(x) − y)²."""
    return jnp.mean((mlp_apply(unravel(theta, widths), x, activation) - y) ** 2)


value_and_grad = jax.jit(jax.value_and_grad(mse), static_argnames=("widths", "activation"))
gradient = jax.jit(jax.grad(mse), static_argnames=("widths", "activation"))
hessian = jax.jit(jax.hessian(mse), static_argnames=("widths", "activation"))


@dataclass(frozen=True)
class Problem:
    """A flattened regression problem: θ ↦ MSE on (x, y) for a network of `widths`, and a test set.
    The compiled functions take the data as arguments, so problems of equal shapes share them."""

    widths: tuple[int, ...]
    x: np.ndarray
    y: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    activation: str = "tanh"

    def predict(self, theta: jax.Array, x: jax.Array) -> jax.Array:
        """f_θ(x), in float64 whatever the caller's precision setting."""
        with jax.enable_x64(True):
            return predict(jnp.asarray(theta, jnp.float64), jnp.asarray(x, jnp.float64), self.widths, self.activation)

    def loss(self, theta: jax.Array) -> jax.Array:
        """L(θ) = mean (f_θ(x) − y)² on the training set."""
        return mse(theta, self.x, self.y, self.widths, self.activation)

    def value_and_grad(self, theta: jax.Array) -> tuple[jax.Array, jax.Array]:
        return value_and_grad(theta, self.x, self.y, self.widths, self.activation)

    def gradient(self, theta: jax.Array) -> jax.Array:
        return gradient(theta, self.x, self.y, self.widths, self.activation)

    def hessian(self, theta: jax.Array) -> jax.Array:
        return hessian(theta, self.x, self.y, self.widths, self.activation)

    def test_rmse(self, theta: jax.Array) -> jax.Array:
        return rmse(self.predict(theta, self.x_test), self.y_test)


def initial_theta(key: jax.Array, widths: Sequence[int]) -> np.ndarray:
    """The flattened PyTorch-default init of a network of `widths` (float64)."""
    with jax.enable_x64(True):
        return np.asarray(ravel_pytree(mlp_init(key, widths))[0])


# --- BFGS -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Trace:
    """The result of a second-order stage: final θ, train/test RMSE after each iteration (index 0 =
    the start), and SciPy's or our exit message."""

    theta: np.ndarray
    train_rmse: np.ndarray
    test_rmse: np.ndarray
    message: str

    @property
    def iterations(self) -> int:
        return len(self.train_rmse) - 1


def bfgs(problem: Problem, theta0: np.ndarray, maxiter: int, gtol: float = 1e-60) -> Trace:
    """SciPy BFGS on L(θ) with the JAX float64 gradient, recording train/test RMSE every iteration.

    gtol = 1e-60 (the reference's) is never met: the run ends when the line search cannot lower L
    ("Desired error not necessarily achieved due to precision loss") or after `maxiter` iterations.
    """
    with jax.enable_x64(True):
        test = problem.test_rmse

        def fun(theta: np.ndarray) -> tuple[float, np.ndarray]:
            value, grad = problem.value_and_grad(jnp.asarray(theta))
            return float(value), np.asarray(grad)

        start = fun(theta0)[0]
        train, tested = [np.sqrt(start)], [float(test(jnp.asarray(theta0)))]

        def record(intermediate_result: scipy.optimize.OptimizeResult) -> None:
            train.append(np.sqrt(intermediate_result.fun))
            tested.append(float(test(jnp.asarray(intermediate_result.x))))

        result = scipy.optimize.minimize(fun, theta0, jac=True, method="BFGS", callback=record,
                                         options={"gtol": gtol, "maxiter": maxiter})
    return Trace(np.asarray(result.x), np.asarray(train), np.asarray(tested), str(result.message))


# --- low-curvature subspace steps -----------------------------------------------------------------
def low_curvature_direction(grad: jax.Array, hessian: jax.Array, tau: float) -> jax.Array:
    """d = Σ_{j: |λ_j| < τ} (v_j · g) v_j, (λ_j, v_j) the eigenpairs of the symmetric `hessian`."""
    eigenvalues, vectors = jnp.linalg.eigh(hessian)
    keep = jnp.abs(eigenvalues) < tau
    return vectors @ jnp.where(keep, vectors.T @ grad, 0.0)


def log_line_search(f: Callable[[jax.Array], jax.Array], low: float = 1e-12, high: float = 1e12,
                    points: int = 15, depth: int = 4) -> tuple[jax.Array, jax.Array]:
    """(α*, f(α*)): the best of `points` log-spaced α in [low, high], zoomed `depth` times to the
    interval between the best point's neighbours (an edge point extends the range by one grid
    step). `f` maps a vector of α to their objective values (vmapped by the caller's choice)."""

    def zoom(carry, _):
        log_low, log_high, best_alpha, best_value = carry
        grid = jnp.linspace(log_low, log_high, points)
        values = f(jnp.exp(grid))
        values = jnp.where(jnp.isfinite(values), values, jnp.inf)
        i = jnp.argmin(values)
        spacing = grid[1] - grid[0]
        better = values[i] < best_value
        best_alpha = jnp.where(better, jnp.exp(grid[i]), best_alpha)
        best_value = jnp.where(better, values[i], best_value)
        return (grid[i] - spacing, grid[i] + spacing, best_alpha, best_value), None

    start = (jnp.log(low), jnp.log(high), jnp.asarray(low), jnp.asarray(jnp.inf))
    (_, _, alpha, value), _ = jax.lax.scan(zoom, start, None, length=depth)
    return alpha, value


@functools.partial(jax.jit, static_argnames=("widths", "activation"))
def line_search(theta: jax.Array, direction: jax.Array, x: jax.Array, y: jax.Array, widths: tuple[int, ...],
                activation: str) -> tuple[jax.Array, jax.Array]:
    """`log_line_search` of α ↦ L(θ − α d), the 15 α of a round evaluated together (vmap)."""
    return log_line_search(jax.vmap(lambda a: mse(theta - a * direction, x, y, widths, activation)))


def low_curvature(problem: Problem, theta0: np.ndarray, steps: int, tau: float) -> Trace:
    """Up to `steps` low-curvature subspace steps from θ₀ (see the module docstring); a step that
    does not lower L is not taken and ends the stage (the reference notebook's rule)."""
    with jax.enable_x64(True):
        theta = jnp.asarray(theta0)
        current = float(problem.loss(theta))
        train, tested, message = [np.sqrt(current)], [float(problem.test_rmse(theta))], f"{steps} steps"
        for _ in range(steps):
            direction = low_curvature_direction(problem.gradient(theta), problem.hessian(theta), tau)
            alpha, value = line_search(theta, direction, problem.x, problem.y, problem.widths, problem.activation)
            if not float(value) < current:
                message = "no decrease along the low-curvature direction"
                break
            theta, current = theta - alpha * direction, float(value)
            train.append(np.sqrt(current))
            tested.append(float(problem.test_rmse(theta)))
    return Trace(np.asarray(theta), np.asarray(train), np.asarray(tested), message)


# --- boosting -------------------------------------------------------------------------------------
def residual_scale(y: np.ndarray, first: np.ndarray) -> float:
    """c = 1 / mean|y − f₁(x)| (training set)."""
    return float(1.0 / np.mean(np.abs(y - first)))


def boosted(first: np.ndarray, second: np.ndarray, c: float) -> np.ndarray:
    """f₁ + f₂ / c."""
    return first + second / c


@dataclass(frozen=True)
class Boosted:
    """Stage two of boosting: c, f₂'s BFGS trace on c(y − f₁) and the combined RMSEs per iteration."""

    c: float
    second: Trace
    train_rmse: np.ndarray     # √L₂ / c = RMSE of f₁ + f₂/c on the training set
    test_rmse: np.ndarray      # RMSE of f₁ + f₂/c on the test set


def boost(problem: Problem, first_theta: np.ndarray, key: jax.Array, maxiter: int) -> Boosted:
    """Fit a fresh network f₂ (init from `key`) to c (y − f₁(x)) by BFGS; RMSEs of f₁ + f₂/c."""
    with jax.enable_x64(True):
        first_train = np.asarray(problem.predict(jnp.asarray(first_theta), problem.x))
        first_test = np.asarray(problem.predict(jnp.asarray(first_theta), problem.x_test))
    c = residual_scale(problem.y, first_train)
    stage = Problem(problem.widths, problem.x, c * (problem.y - first_train), problem.x_test,
                    c * (problem.y_test - first_test), problem.activation)
    second = bfgs(stage, initial_theta(key, problem.widths), maxiter)
    # the stage's test target is c(y − f₁), so its test RMSE / c is that of f₁ + f₂/c
    return Boosted(c, second, second.train_rmse / c, second.test_rmse / c)


# --- the engine system (Adam) ---------------------------------------------------------------------
@functools.cache
def teacher_arrays(n_train: int, n_test: int, data_seed: int) -> tuple[np.ndarray, ...]:
    """(x_train, y_train, x_test, y_test) of `precision-teacher-v1` (float64, shapes (n, 1))."""
    from toymodels.tasks.precision import precision_teacher

    task = precision_teacher(n_train=n_train, n_test=n_test, seed=data_seed)
    return task.x_train, task.y_train, task.x_test, task.y_test


@dataclass(frozen=True)
class PrecisionMLP:
    """Static settings: student `width` × `depth` (tanh), data sizes, teacher seed, precision, and the
    settings of the second-order stages of `precision-fit` (unused by `step`)."""

    width: int = 20
    depth: int = 2
    n_train: int = 100_000
    n_test: int = 10_000
    data_seed: int = 0
    precision: str = "float64"
    bfgs_maxiter: int = 25_000
    lc_steps: int = 500
    tau: float = 1e-15
    boost_maxiter: int = 25_000

    divergence_key: ClassVar[str] = "train_rmse"

    def __post_init__(self) -> None:
        require(self.width >= 1 and self.depth >= 1, f"width and depth must be >= 1, got {self.width}, {self.depth}")
        require(self.n_train >= 2 and self.n_test >= 1,
                f"n_train >= 2 and n_test >= 1 needed, got {self.n_train}, {self.n_test}")
        require(self.precision in PRECISIONS, f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        require(self.bfgs_maxiter >= 1 and self.boost_maxiter >= 1, "bfgs_maxiter and boost_maxiter must be >= 1")
        require(self.lc_steps >= 0, f"lc_steps must be >= 0, got {self.lc_steps}")
        require(np.isfinite(self.tau) and self.tau > 0, f"tau must be > 0, got {self.tau}")

    @property
    def widths(self) -> tuple[int, ...]:
        return widths_of(self.width, self.depth)

    @property
    def dtype(self):
        return jnp.float64 if self.precision == "float64" else jnp.float32

    def problem(self) -> Problem:
        """The flattened float64 problem the second-order stages solve."""
        return Problem(self.widths, *teacher_arrays(self.n_train, self.n_test, self.data_seed))

    def data(self) -> tuple[jax.Array, ...]:
        return tuple(jnp.asarray(a, self.dtype) for a in teacher_arrays(self.n_train, self.n_test, self.data_seed))

    def hparams(self) -> dict[str, float]:
        return {"lr": 1e-3}

    def check(self, hp: Mapping[str, float]) -> None:
        require(hp["lr"] > 0, f"lr must be > 0, got {hp['lr']}")

    def observables(self) -> dict[str, tuple[str, ...]]:
        return {}

    def coords(self) -> dict[str, np.ndarray]:
        return {}

    def init(self, key: jax.Array, hp: Mapping[str, jax.Array]) -> dict:
        params = mlp_init(key, self.widths, self.dtype)
        return {"params": params, "opt": optax.adam(hp["lr"]).init(params)}

    def step(self, state: dict, hp: Mapping[str, jax.Array]) -> dict:
        """One full-batch Adam step on the training MSE."""
        x, y, _, _ = self.data()
        grads = jax.grad(lambda p: jnp.mean((mlp_apply(p, x) - y) ** 2))(state["params"])
        updates, opt = optax.adam(hp["lr"]).update(grads, state["opt"], state["params"])
        return {"params": optax.apply_updates(state["params"], updates), "opt": opt}

    def observe(self, state: dict, hp: Mapping[str, jax.Array]) -> dict[str, jax.Array]:
        x, y, x_test, y_test = self.data()
        return {"train_rmse": rmse(mlp_apply(state["params"], x), y),
                "test_rmse": rmse(mlp_apply(state["params"], x_test), y_test)}

    def snapshot(self, state: dict) -> Params:
        return state["params"]
