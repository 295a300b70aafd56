"""One-hidden-layer ReLU MLP on multitask sparse parity (Michaud et al. 2023, §3).

    h = ReLU(W₁ x + b₁),  logits = W₂ h + b₂ ∈ R²,  x ∈ {0,1}^{n_tasks + n}  (tasks.sparse_parity)
    loss = cross-entropy of the 2 logits (not BCE), Adam(lr) (the code's AdamW with weight_decay 0)
    P = width·(n_tasks + n + 3) + 2 parameters; PyTorch's default Linear init; float32.
    Parameters: {"Dense_0": {"kernel", "bias"}, "Dense_1": {…}} (plain dicts, `init_params`; the
    names and the per-parameter keys of the former Flax module, so a seed gives the same numbers).

Static fields (shapes, compiled code): n_tasks, n, k, width, batch, test_per_task, finite_data.
Dynamic hparams (vmapped): `lr`, `alpha` (the paper's α; the code's `alpha` is α + 1) and `data`.

Training data. Online (the paper's D = −1, `data` ≤ 0): a fresh batch every step from
fold_in(TRAIN key, step). Finite data (multi-epoch, `data` = D > 0, needs the static switch
`finite_data=True`): sample j of the dataset is generated from fold_in(DATA key, j) whenever it is
used, so no buffer is stored, the first D samples are the same for every D, and D is a dynamic
hyperparameter (members with different D share one program). Batches from a finite set: when
D ≤ batch, the whole set every step (the code's batch = min(D, batch_size)); when D > batch,
`batch` indices drawn uniformly *with replacement* from the D samples (deviation: the code
reshuffles once per epoch; with replacement keeps one shape for every D).

Observations (losses in bits = nats / ln 2; the test sets are evaluated `TEST_CHUNK` samples at a time):
    subtask_loss[i]  mean CE on the fixed per-task test set of task i (`test_per_task` samples)
    subtask_acc[i]   accuracy on the same set
    test_loss        Σ_i p_i · subtask_loss[i]  (frequency-weighted; the code estimates it on a
                     batch of int(p_i·test_points) samples, this is its exact expectation)
    test_acc         Σ_i p_i · subtask_acc[i]
    train_loss       CE of the last training batch
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from toymodels.nn import dense, dense_init
from toymodels.spec import require
from toymodels.tasks.sparse_parity import (
    DATA,
    SUBSETS,
    TEST,
    TRAIN,
    check_sizes,
    draw_subsets,
    indexed_samples,
    inputs,
    parity,
    per_task_bits,
    sample,
    task_probabilities,
)

BITS = 1.0 / np.log(2.0)
TEST_CHUNK = 16384  # test samples evaluated at once by observe


class State(NamedTuple):
    params: dict
    opt_state: optax.OptState
    key: jax.Array            # the member's PRNGKey(seed)
    step: jax.Array           # steps taken
    subsets: jax.Array        # (n_tasks, k)
    train_loss: jax.Array     # nats, last batch


@dataclass(frozen=True)
class SparseParityMLP:
    """Static settings (see module docstring). Defaults: the paper's §3.2 setup (width 500)."""

    n_tasks: int = 500
    n: int = 100
    k: int = 3
    width: int = 500
    batch: int = 20000
    test_per_task: int = 1000
    finite_data: bool = False

    divergence_key: ClassVar[str] = "train_loss"

    def __post_init__(self) -> None:
        check_sizes(self.n_tasks, self.n, self.k)
        require(self.width >= 1, f"width must be >= 1, got {self.width}")
        require(self.batch >= 1, f"batch must be >= 1, got {self.batch}")
        require(self.test_per_task >= 1, f"test_per_task must be >= 1, got {self.test_per_task}")

    # --- contract -----------------------------------------------------------------------------
    def hparams(self) -> dict[str, float]:
        return {"lr": 1e-3, "alpha": 0.4, "data": 0.0}

    def check(self, hp: Mapping[str, float]) -> None:
        require(hp["lr"] > 0, f"lr must be > 0, got {hp['lr']}")
        require(hp["alpha"] > 0,
                f"alpha (the paper's α; the code's alpha is α+1) must be > 0, got {hp['alpha']}")
        require(hp["data"] <= 0 or self.finite_data,
                f"data = {hp['data']:g} needs finite_data=true (data <= 0 means online)")
        require(float(hp["data"]).is_integer() and hp["data"] < 2**24,
                f"data must be a whole number below 2^24, got {hp['data']}")

    def observables(self) -> dict[str, tuple[str, ...]]:
        return {"subtask_loss": ("subtask",), "subtask_acc": ("subtask",)}

    def coords(self) -> dict[str, np.ndarray]:
        return {"subtask": np.arange(self.n_tasks)}

    @property
    def parameters(self) -> int:
        """P = width·(n_tasks + n + 3) + 2."""
        return self.width * (self.n_tasks + self.n + 3) + 2

    def init_params(self, key: jax.Array) -> dict:
        """Linear(n_tasks + n, width) → ReLU → Linear(width, 2), PyTorch's default init."""
        n_in = self.n_tasks + self.n
        return {"Dense_0": dense_init(key, "Dense_0", n_in, self.width),
                "Dense_1": dense_init(key, "Dense_1", self.width, 2)}

    @staticmethod
    def logits(params: dict, x: jax.Array) -> jax.Array:
        """The two logits of each input row x (…, n_tasks + n)."""
        return dense(params["Dense_1"], jax.nn.relu(dense(params["Dense_0"], x)))

    @staticmethod
    def optimizer(hp: Mapping[str, jax.Array]) -> optax.GradientTransformation:
        return optax.adam(hp["lr"], b1=0.9, b2=0.999, eps=1e-8)

    def init(self, key: jax.Array, hp: Mapping[str, jax.Array]) -> State:
        params = self.init_params(key)
        subsets = draw_subsets(jax.random.fold_in(key, SUBSETS), self.n_tasks, self.n, self.k)
        return State(params, self.optimizer(hp).init(params), key, jnp.zeros((), jnp.int32),
                     subsets, jnp.asarray(jnp.log(2.0)))

    def step(self, state: State, hp: Mapping[str, jax.Array]) -> State:
        tasks, bits, weights = self.batch_of(state, hp)
        x, y = inputs(tasks, bits, self.n_tasks), parity(bits, state.subsets, tasks)

        def loss_fn(params):
            logits = self.logits(params, x)
            ce = optax.losses.softmax_cross_entropy_with_integer_labels(logits, y)
            return jnp.sum(ce * weights) / jnp.sum(weights)

        loss, grads = jax.value_and_grad(loss_fn)(state.params)
        updates, opt_state = self.optimizer(hp).update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        return state._replace(params=params, opt_state=opt_state, step=state.step + 1,
                              train_loss=loss)

    def observe(self, state: State, hp: Mapping[str, jax.Array]) -> dict[str, jax.Array]:
        loss, acc = self.test_metrics(state)
        probs = task_probabilities(self.n_tasks, hp["alpha"])
        return {
            "train_loss": BITS * state.train_loss,
            "test_loss": probs @ loss,
            "test_acc": probs @ acc,
            "subtask_loss": loss,
            "subtask_acc": acc,
        }

    # --- pieces -------------------------------------------------------------------------------
    def test_metrics(self, state: State) -> tuple[jax.Array, jax.Array]:
        """(loss in bits, accuracy) per subtask on the fixed per-task test sets, evaluated
        ⌊TEST_CHUNK / test_per_task⌋ tasks at a time (`lax.map`), so observe's scratch stays
        ≈ TEST_CHUNK samples' activations however large the test set (500 × 1000 at paper scale)."""
        bits = per_task_bits(jax.random.fold_in(state.key, TEST), self.n_tasks, self.test_per_task, self.n)
        group = min(self.n_tasks, max(1, TEST_CHUNK // self.test_per_task))
        starts = jnp.arange(0, self.n_tasks, group)

        def chunk(start: jax.Array) -> tuple[jax.Array, jax.Array]:
            ids = jnp.minimum(start + jnp.arange(group), self.n_tasks - 1)  # the last chunk repeats its last task
            tasks = jnp.repeat(ids, self.test_per_task)
            chunk_bits = bits[ids].reshape(-1, self.n)
            logits = self.logits(state.params, inputs(tasks, chunk_bits, self.n_tasks))
            labels = parity(chunk_bits, state.subsets, tasks)
            ce = optax.losses.softmax_cross_entropy_with_integer_labels(logits, labels)
            per_task = (group, self.test_per_task)
            return (BITS * ce.reshape(per_task).mean(axis=1),
                    (jnp.argmax(logits, axis=1) == labels).reshape(per_task).mean(axis=1))

        loss, acc = jax.lax.map(chunk, starts)
        return loss.reshape(-1)[: self.n_tasks], acc.reshape(-1)[: self.n_tasks]

    def batch_of(self, state: State, hp: Mapping[str, jax.Array]) -> tuple[jax.Array, ...]:
        """(tasks (batch,), bits (batch, n), weights (batch,)) of this step's training batch."""
        key = jax.random.fold_in(jax.random.fold_in(state.key, TRAIN), state.step)
        probs = task_probabilities(self.n_tasks, hp["alpha"])
        tasks, bits = sample(key, probs, self.batch, self.n)
        weights = jnp.ones(self.batch)
        if not self.finite_data:
            return tasks, bits, weights
        size = jnp.maximum(hp["data"], 1).astype(jnp.int32)
        full = size <= self.batch
        slots = jnp.arange(self.batch)
        index = jnp.where(full, jnp.minimum(slots, size - 1),
                          jax.random.randint(jax.random.fold_in(key, 1), (self.batch,), 0, size))
        data_key = jax.random.fold_in(state.key, DATA)
        data_tasks, data_bits = indexed_samples(data_key, probs, index, self.n)
        finite = hp["data"] > 0
        tasks = jnp.where(finite, data_tasks, tasks)
        bits = jnp.where(finite, data_bits, bits)
        weights = jnp.where(finite & full, (slots < size).astype(jnp.float32), weights)
        return tasks, bits, weights
