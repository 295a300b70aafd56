"""Task functions: shapes, labels and splits of modular arithmetic (hypothesis properties)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import toymodels as tm
from toymodels.tasks import modular_arithmetic


@settings(max_examples=15, deadline=None)
@given(p=st.integers(3, 40), op=st.sampled_from(["add", "subtract", "multiply"]),
       fraction=st.floats(0.05, 1.0), seed=st.integers(0, 2**31 - 1))
def test_modular_task_invariants(p, op, fraction, seed):
    task = modular_arithmetic(p=p, op=op, train_fraction=fraction, seed=seed)
    for array in (task.a, task.b, task.labels, task.train):
        assert array.shape == (p * p,)
    expected = {"add": task.a + task.b, "subtract": task.a - task.b, "multiply": task.a * task.b}[op] % p
    np.testing.assert_array_equal(task.labels, expected)
    assert task.train.sum() == int(np.floor(fraction * p * p + 1e-6))
    assert ((task.labels >= 0) & (task.labels < p)).all()
    again = modular_arithmetic(p=p, op=op, train_fraction=fraction, seed=seed)
    np.testing.assert_array_equal(task.train, again.train)


def test_every_pair_appears_once_and_seeds_change_the_split():
    task = modular_arithmetic(p=7, seed=0)
    assert len(set(zip(task.a.tolist(), task.b.tolist(), strict=True))) == 49
    assert (task.train != modular_arithmetic(p=7, seed=1).train).any()


def test_registry_and_metric():
    task = tm.tasks.get("modular_arithmetic")(p=5, seed=3)
    logits = np.eye(5)[task.labels]
    assert task.accuracy(logits, task.labels) == 1.0
    with pytest.raises(tm.ConfigError, match="unknown task"):
        tm.tasks.get("nope")


@pytest.mark.parametrize(("kwargs", "message"), [({"p": 2}, "p must be"), ({"op": "divide"}, "op must"),
                                                 ({"train_fraction": 0.0}, "train_fraction")])
def test_bad_task_arguments(kwargs, message):
    with pytest.raises(tm.ConfigError, match=message):
        modular_arithmetic(**kwargs)
