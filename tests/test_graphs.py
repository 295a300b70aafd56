"""Family-tree knowledge graphs, their splits and the graph MLP."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toymodels.graph_mlp import GraphMLP, balanced_accuracy, head, hidden
from toymodels.spec import ConfigError
from toymodels.tasks import get
from toymodels.tasks.graphs import (
    ANCESTOR,
    CHILD,
    DESCENDANT,
    GRANDPARENT,
    PARENT,
    RANDOM,
    SIBLING,
    derivable,
    family_graph,
    family_truth,
    random_parents,
    transitive_closure,
)

# few distinct shapes: each new shape compiles the jnp rules in `derivable` once
sizes = st.tuples(st.integers(2, 3), st.integers(2, 4), st.integers(0, 10_000))
SETTINGS = settings(max_examples=15, deadline=None)


def compose(a, b):
    return (a.astype(int) @ b.astype(int)) > 0


@SETTINGS
@given(sizes)
def test_relations_have_their_properties(size):
    truth = family_truth(*size)
    parent = truth[PARENT]
    n = parent.shape[0]
    assert (truth[CHILD] == parent.T).all()
    assert (truth[SIBLING] == truth[SIBLING].T).all()
    assert not truth[SIBLING].diagonal().any()
    assert (truth[GRANDPARENT] == compose(parent, parent)).all()
    ancestor = truth[ANCESTOR]
    assert (ancestor == transitive_closure(parent)).all()
    assert not (compose(ancestor, ancestor) & ~ancestor).any()  # transitive
    assert (truth[DESCENDANT] == ancestor.T).all()
    assert not (ancestor & ancestor.T).any()  # antisymmetric: no cycles
    # every person outside generation 0 has exactly one parent, in the previous generation
    assert (parent.sum(0)[size[1]:] == 1).all() and not parent[:, : size[1]].any()
    assert not truth[RANDOM].diagonal().any()
    assert truth[RANDOM].sum() == round(truth[:RANDOM].sum() / RANDOM)
    assert truth.shape == (7, n, n)


def test_siblings_share_a_parent():
    truth = family_truth(3, 5, 7)
    parents = random_parents(3, 5, 7)
    xs, ys = np.nonzero(truth[SIBLING])
    assert len(xs) > 0 and (parents[xs] == parents[ys]).all()


@SETTINGS
@given(sizes, st.floats(0.05, 0.95))
def test_rules_are_sound(size, fraction):
    truth = family_truth(*size)
    known = truth & (np.random.default_rng(size[2]).random(truth.shape) < fraction)
    derived = np.asarray(derivable(known))
    assert not (derived & ~truth).any()
    assert not derived[RANDOM].any()


def test_full_knowledge_derives_every_structured_edge():
    truth = family_truth(4, 5, 3)
    derived = np.asarray(derivable(truth))
    assert (derived[:RANDOM] == truth[:RANDOM]).all()


@SETTINGS
@given(sizes, st.floats(0.1, 0.9))
def test_split_leaks_no_test_edge(size, fraction):
    task = family_graph(*size[:2], train_fraction=fraction, seed=size[2])
    truth, train, inferable = task.truth, task.train, task.inferable
    assert train.sum() == int(np.floor(fraction * truth.size + 1e-6))
    assert not (inferable & train).any()
    assert not (inferable & ~truth).any()
    # a non-inferable held-out edge has no inverse or symmetric copy among the training edges
    hidden_edges = truth & ~train & ~inferable
    known = truth & train
    for relation, source in ((PARENT, CHILD), (CHILD, PARENT), (SIBLING, SIBLING),
                             (ANCESTOR, DESCENDANT), (DESCENDANT, ANCESTOR)):
        assert not (hidden_edges[relation] & known[source].T).any()
    # an inferable edge really is derived from training edges alone
    assert not (inferable & ~np.asarray(derivable(known))).any()


def test_same_seed_same_task_and_registry():
    a, b = family_graph(seed=3), get("family_graph")(seed=3)
    assert (a.truth == b.truth).all() and (a.train == b.train).all()
    assert not (family_graph(seed=4).truth == a.truth).all()
    assert 0 < a.ideal_recall < 1


@pytest.mark.parametrize("kwargs", [{"n_generations": 1}, {"generation_size": 1},
                                    {"train_fraction": 0.0}, {"train_fraction": 1.5}])
def test_bad_task_input(kwargs):
    with pytest.raises(ConfigError):
        family_graph(**kwargs)


@pytest.mark.parametrize("kwargs", [{"width": 0}, {"depth": 0}, {"d": 0}, {"activation": "x"},
                                    {"graph_seed": -1}])
def test_bad_system_input(kwargs):
    with pytest.raises(ConfigError):
        GraphMLP(**kwargs)


def test_bad_hparams():
    system = GraphMLP()
    for key, value in (("lr", 0.0), ("wd", -1.0), ("train_fraction", 1.0)):
        with pytest.raises(ConfigError):
            system.check({**system.hparams(), key: value})


def test_system_split_is_the_task_split_and_observations_are_consistent():
    system = GraphMLP(n_generations=3, generation_size=4, d=4, width=6, depth=3, record_params=True)
    hp = {k: jnp.float32(v) for k, v in system.hparams().items()}
    state = system.init(jax.random.PRNGKey(5), hp)
    task = family_graph(3, 4, 0.8, seed=0)
    assert (np.asarray(state.train) == task.train).all()
    assert (np.asarray(state.inferable) == task.inferable).all()
    z = system.logits(state.params)
    assert z.shape == task.truth.shape
    assert np.allclose(head(state.params, hidden(state.params)), z)
    obs = system.observe(state, hp)
    dims = system.observables()
    for name, value in obs.items():
        assert np.ndim(value) == len(dims.get(name, ())), name
    assert np.isclose(obs["ideal_recall"], task.ideal_recall)
    test = jnp.asarray(~task.train)
    assert np.isclose(obs["test_acc"], balanced_accuracy(z, jnp.asarray(task.truth), test))
    again = system.init(jax.random.PRNGKey(5), hp)
    assert all(np.array_equal(a, b) for a, b in zip(jax.tree.leaves(state), jax.tree.leaves(again),
                                                    strict=True))
