"""Family-tree knowledge graphs and link prediction (our protocol, after Baek, Li & Tegmark 2024).

The paper publishes neither its graphs nor its split, so everything here is **our protocol**:

Graph. `n_generations` generations of `generation_size` people each (N = product). Every person of
generation g ≥ 1 has one parent drawn uniformly from generation g − 1 (numpy `default_rng(seed)`).
Relations r(x, y) over ordered pairs of people, stored as a boolean truth table T[r, x, y]:

    parent(x, y)      x is y's parent                       inverse pair with child
    child(x, y)       = parent(y, x)
    sibling(x, y)     same parent, x ≠ y                    symmetric
    grandparent(x, y) = ∃z parent(x, z) ∧ parent(z, y)       composition of parent with itself
    ancestor(x, y)    transitive closure of parent          transitive: A ∘ A ⊆ A
    descendant(x, y)  = ancestor(y, x)                      inverse of a transitive relation
    random(x, y)      k uniform off-diagonal pairs          structure-free control

("Meta-transitive" in our reading: relations built by composing others — grandparent = parent ∘
parent, ancestor = ⋃ parentⁿ.) k is the mean edge count of the six structured relations.

Task. Link prediction over the full table: (head x, relation r, tail y) → T[r, x, y] ∈ {0, 1},
R·N² triples in row-major order (r, x, y). Split: a uniformly random fraction `train_fraction` of
all triples (true and false) is trained on; the split is drawn from `seed` like the modular task.

Inferable. A held-out true triple is *inferable* when one application of the rules in `derivable`
to the true training triples yields it (inverse/symmetric copies, compositions, transitivity);
the other held-out true triples are *non-inferable* (all of `random` and structured edges whose
support was held out too). Ideal recall on held-out positives = inferable / all held-out positives.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import jax
import jax.numpy as jnp
import numpy as np

from toymodels.spec import require
from toymodels.tasks.base import TaskData
from toymodels.tasks.metrics import as_array, masked_mean, softplus
from toymodels.tasks.modular import split_key, train_mask

RELATIONS = ("parent", "child", "sibling", "grandparent", "ancestor", "descendant", "random")
PARENT, CHILD, SIBLING, GRANDPARENT, ANCESTOR, DESCENDANT, RANDOM = range(len(RELATIONS))


def check_graph_size(n_generations: int, generation_size: int) -> None:
    require(n_generations >= 2, f"n_generations must be >= 2, got {n_generations}")
    require(generation_size >= 2, f"generation_size must be >= 2, got {generation_size}")


def random_parents(n_generations: int, generation_size: int, seed: int) -> np.ndarray:
    """parents[i] = i's parent (−1 in generation 0); person i is in generation i // size."""
    rng = np.random.default_rng(seed)
    n = n_generations * generation_size
    parents = np.full(n, -1, np.int64)
    for i in range(generation_size, n):
        previous = (i // generation_size - 1) * generation_size
        parents[i] = previous + rng.integers(generation_size)
    return parents


def transitive_closure(adjacency: np.ndarray) -> np.ndarray:
    """A⁺ = ⋃_{n≥1} Aⁿ by repeated squaring (boolean matrices)."""
    closure = adjacency.astype(bool)
    while True:
        grown = closure | ((closure.astype(np.int64) @ closure.astype(np.int64)) > 0)
        if (grown == closure).all():
            return closure
        closure = grown


@lru_cache(maxsize=32)
def family_truth(n_generations: int, generation_size: int, seed: int) -> np.ndarray:
    """Boolean truth table T[r, x, y] of shape (len(RELATIONS), N, N); see the module docstring."""
    check_graph_size(n_generations, generation_size)
    parents = random_parents(n_generations, generation_size, seed)
    n = len(parents)
    parent = np.zeros((n, n), bool)
    children = np.flatnonzero(parents >= 0)
    parent[parents[children], children] = True
    same_parent = (parents[:, None] == parents[None, :]) & (parents[:, None] >= 0)
    sibling = same_parent & ~np.eye(n, dtype=bool)
    grandparent = (parent.astype(np.int64) @ parent.astype(np.int64)) > 0
    ancestor = transitive_closure(parent)
    structured = np.stack([parent, parent.T, sibling, grandparent, ancestor, ancestor.T])
    k = int(round(structured.sum() / len(structured)))
    off_diagonal = np.flatnonzero(~np.eye(n, dtype=bool))
    rng = np.random.default_rng([seed, 1])
    random = np.zeros(n * n, bool)
    random[rng.choice(off_diagonal, size=k, replace=False)] = True
    truth = np.concatenate([structured, random.reshape(1, n, n)])
    truth.setflags(write=False)
    return truth


def compose(a: jax.Array, b: jax.Array) -> jax.Array:
    """(a ∘ b)(x, y) = ∃z a(x, z) ∧ b(z, y), for boolean (N, N) matrices."""
    return (a.astype(jnp.float32) @ b.astype(jnp.float32)) > 0


def derivable(known: jax.Array) -> jax.Array:
    """Triples implied by the true triples `known` (R, N, N) through one round of the rules:

        P = parent ∨ childᵀ               (known parent edges, through the inverse pair)
        A = ancestor ∨ descendantᵀ ∨ P ∨ grandparent
        parent ⇐ P,  child ⇐ Pᵀ,  sibling ⇐ siblingᵀ ∨ offdiag(Pᵀ ∘ P),  grandparent ⇐ P ∘ P,
        ancestor ⇐ A ∨ A ∘ A,  descendant ⇐ (A ∨ A ∘ A)ᵀ,  random ⇐ nothing.

    Every rule is sound for a family tree, so derivable(known) ⊆ truth whenever known ⊆ truth.
    Works on numpy or traced arrays (one member's split inside the engine).
    """
    known = jnp.asarray(known, bool)
    n = known.shape[-1]
    p = known[PARENT] | known[CHILD].T
    a = known[ANCESTOR] | known[DESCENDANT].T | p | known[GRANDPARENT]
    a = a | compose(a, a)
    sibling = known[SIBLING].T | (compose(p.T, p) & ~jnp.eye(n, dtype=bool))
    return jnp.stack([p, p.T, sibling, compose(p, p), a, a.T, jnp.zeros_like(p)])


def graph_split(
    truth: jax.Array, key: jax.Array, fraction: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """(train mask, inferable mask), both (R, N, N) bool, for one member's split.

    train: floor(fraction · R·N²) triples chosen uniformly (`modular.train_mask`).
    inferable: held-out true triples in derivable(truth ∧ train).
    """
    truth = jnp.asarray(truth, bool)
    train = train_mask(split_key(key), truth.size, fraction).reshape(truth.shape)
    inferable = derivable(truth & train) & truth & ~train
    return train, inferable


@dataclass(frozen=True)
class GraphTask(TaskData):
    """A family-tree link-prediction task and one split.

    truth, train, inferable: bool arrays (R, N, N) indexed [relation, head, tail].
    test = ~train; non-inferable held-out positives = truth & ~train & ~inferable.
    parents: (N,) parent index per person (−1 in generation 0). relations: names of the R relations.
    Metric: a triple is predicted true when its logit > 0; recall on positives, specificity
    on negatives (`evaluate`, the metrics `GraphMLP` observes).
    """

    relations: tuple[str, ...]
    parents: np.ndarray
    truth: np.ndarray
    train: np.ndarray
    inferable: np.ndarray

    @property
    def ideal_recall(self) -> float:
        """Fraction of held-out true triples that are inferable (a rule-follower's ceiling)."""
        held_out = self.truth & ~self.train
        return float(self.inferable.sum() / max(held_out.sum(), 1))

    def evaluate(self, predictions) -> dict:
        """Metrics of logits z (R, N, N) (a triple is said true when z > 0), as `GraphMLP` observes:

        train_loss, test_loss   class-balanced BCE ½ mean_T softplus(−z) + ½ mean_¬T softplus(z)
        train_acc, test_acc     balanced accuracy ½ (recall + specificity)
        heldout_recall          recall on held-out true triples
        inferable_recall, noninferable_recall   the same on inferable / non-inferable ones
        test_specificity        share of held-out false triples said false
        ideal_recall            share of held-out true triples that are inferable (no z needed)
        relation_recall         (R,) held-out recall per relation
        """
        z = as_array(predictions, self.truth.shape, "predictions (logits)")
        truth, train = self.truth, self.train
        test, said = ~train, z > 0
        held_out = truth & test

        def bce(mask):
            return 0.5 * (masked_mean(softplus(-z), mask & truth) + masked_mean(softplus(z), mask & ~truth))

        def balanced(mask):
            return 0.5 * (masked_mean(said, mask & truth) + masked_mean(~said, mask & ~truth))

        return {
            "train_loss": bce(train), "test_loss": bce(test),
            "train_acc": balanced(train), "test_acc": balanced(test),
            "heldout_recall": masked_mean(said, held_out),
            "inferable_recall": masked_mean(said, self.inferable),
            "noninferable_recall": masked_mean(said, held_out & ~self.inferable),
            "test_specificity": masked_mean(~said, test & ~truth),
            "ideal_recall": self.ideal_recall,
            "relation_recall": masked_mean(said, held_out, axis=(1, 2)),
        }


@dataclass(frozen=True)
class GraphStitchingTask(GraphTask):
    """The family-tree task of the `graph-stitching` study: one graph and one split shared by every
    member (the split of the smallest train fraction), on which stitched networks A → B are scored.

    Metric (`evaluate`): balanced test accuracy of the stitched logits; with `reference` (the top
    network B's own logits) also B's own accuracy and the stitching penalty acc(B) − acc(A → B).
    """

    def evaluate(self, predictions, reference=None) -> dict:
        """{test_acc} of stitched logits (R, N, N); with reference logits also
        {own_acc, penalty = own_acc − test_acc}."""
        out = {"test_acc": GraphTask.evaluate(self, predictions)["test_acc"]}
        if reference is not None:
            own = GraphTask.evaluate(self, reference)["test_acc"]
            out |= {"own_acc": own, "penalty": own - out["test_acc"]}
        return out


def family_graph(
    n_generations: int = 4, generation_size: int = 8, train_fraction: float = 0.8, seed: int = 0
) -> GraphTask:
    """The family-tree task and the split that a `GraphMLP` with `graph_seed=seed` uses."""
    check_graph_size(n_generations, generation_size)
    require(0 < train_fraction <= 1, f"train_fraction must be in (0, 1], got {train_fraction}")
    truth = family_truth(n_generations, generation_size, seed)
    train, inferable = graph_split(truth, jax.random.PRNGKey(seed), jnp.float32(train_fraction))
    return GraphTask(RELATIONS, random_parents(n_generations, generation_size, seed), truth,
                     np.asarray(train), np.asarray(inferable))


def graph_stitching(n_generations: int = 4, generation_size: int = 8, train_fraction: float = 0.8,
                    seed: int = 0) -> GraphStitchingTask:
    """The graph and shared split of a `graph-stitching` run: `GraphMLP(graph_seed=seed)` at the
    smallest train fraction of the run (`experiments.graph_stitching.shared_split`)."""
    task = family_graph(n_generations, generation_size, train_fraction, seed)
    return GraphStitchingTask(task.relations, task.parents, task.truth, task.train, task.inferable)
