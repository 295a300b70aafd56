"""skills-basis (Fig12), skills-optimizers (Fig15), skills-dependency (Fig17): the Hadamard frame, the
named optimizers, per-skill gates and given weights, and the tiny presets end to end."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_skills_experiments import run_tiny

import toymodels as tm
from toymodels.experiments import (  # noqa: F401 (importing a study registers it)
    REGISTRY,
    skills_basis,
    skills_dependency,
    skills_optimizers,
)
from toymodels.skills import Geometry, Resource, optimizer
from toymodels.skills.common import is_optimizer
from toymodels.skills.geometry import hadamard
from toymodels.skills.resource import gates


@given(k=st.integers(0, 5))
@settings(max_examples=6, deadline=None)
def test_hadamard_is_orthogonal(k):
    h = hadamard(2**k)
    np.testing.assert_allclose(h @ h.T, np.eye(2**k), atol=1e-12)


def test_hadamard_frame_starts_at_the_notebooks_theta0():
    """x = θ0 − θ with u_i = σ_i H_i/2: x = 0 is θ0 = Hᵀσ/2 = (1, 1, 1, −1), where every ℓ_i = 1."""
    np.testing.assert_allclose(hadamard(4).T @ np.ones(4), [1, 1, 1, -1])


@given(x=st.lists(st.floats(-2, 2), min_size=4, max_size=4))
@settings(max_examples=20, deadline=None)
def test_rotated_loss_equals_aligned_loss_at_rotated_points(x):
    """The Hadamard-frame Geometry model at x has the loss (and skills) of the aligned one at Ux."""
    rotated = Geometry(d=4, n=4, vectors="hadamard", frequencies="decade")
    aligned = Geometry(d=4, n=4, vectors="modular", frequencies="decade")
    hp = {k: jnp.asarray(v) for k, v in rotated.hparams().items()}
    key = jax.random.PRNGKey(0)
    point = jnp.asarray(x, jnp.float32)
    s_rot = rotated.init(key, hp)._replace(x=point)
    s_ali = aligned.init(key, hp)._replace(x=jnp.asarray(hadamard(4), jnp.float32) @ point)
    o_rot, o_ali = rotated.observe(s_rot, hp), aligned.observe(s_ali, hp)
    np.testing.assert_allclose(o_rot["loss"], o_ali["loss"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(o_rot["skill"], o_ali["skill"], atol=1e-5)


@pytest.mark.parametrize("name", ["adam95", "ademamix", "lion"])
def test_fig15_optimizers_exist(name):
    assert is_optimizer(name)


def first_update(name: str, grad: float, x: float = 3.0) -> float:
    opt = optimizer(name, 0.01)
    params = jnp.array([x])
    update, _ = opt.update(jnp.array([grad]), opt.init(params), params)
    return float(update[0])


def test_fig15_optimizer_first_steps():
    """First step from zero state: Adam (β2 = 0.95) moves −lr·sign(g); AdEMAMix −lr(1 + α(1 − β3));
    Lion −lr·sign(g) and nothing at zero gradient (no weight decay, unlike optax's default)."""
    assert np.isclose(first_update("adam95", 0.5), -0.01, rtol=1e-5)
    assert np.isclose(first_update("ademamix", 0.5), -0.01 * (1 + 2 * 1e-4), rtol=1e-5)
    assert np.isclose(first_update("lion", -0.5), 0.01)
    assert first_update("lion", 0.0) == 0.0


def test_gates_per_skill_and_given_weights():
    """Skill 2 has parents {0, 1}; AND multiplies their progress, OR takes the largest (hand values)."""
    level = jnp.array([0.0, 1.0, 1.0])          # parent 0 learned, parent 1 not
    parents = jnp.array([[False, False, False], [False, False, False], [True, True, False]])
    assert float(gates(level, parents, "and", 1.0)[2]) == 0.0
    assert float(gates(level, parents, "or", 1.0)[2]) == 1.0
    mixed = gates(level, parents, jnp.array([False, False, True]), 1.0)
    np.testing.assert_allclose(mixed, [1.0, 1.0, 1.0])
    system = Resource(n=3, d=1, weights=(0.3, 1.0, 3.0))
    hp = {k: jnp.asarray(v) for k, v in system.hparams().items()}
    np.testing.assert_allclose(system.task_frequencies(hp), [0.3, 1.0, 3.0])


@pytest.mark.parametrize("bad", [{"gate": ("and", "xor", "or")}, {"gate": ("and",)}, {"weights": (1.0, -1.0, 1.0)},
                                 {"precision": "float16"}])
def test_bad_resource_settings_are_config_errors(bad):
    with pytest.raises(tm.ConfigError):
        Resource(n=3, **bad)


def test_skills_basis_tiny(tmp_path):
    """SignGD learns the aligned skills at the same step; SGD's curves do not depend on the basis."""
    summary, names = run_tiny("skills-basis", tmp_path)
    assert names == ["skills-basis"]
    aligned = summary["t_learn"]["signgd"]["aligned"]
    assert max(aligned.values()) - min(aligned.values()) < 1.0
    assert summary["sgd_basis_difference"] < 1e-3 < summary["signgd_basis_difference"]


def test_skills_optimizers_tiny(tmp_path):
    summary, names = run_tiny("skills-optimizers", tmp_path)
    assert names == ["skills-optimizers"]
    assert set(summary["final_loss"]) == {"adam95", "ademamix", "lion"}
    assert summary["ademamix_vs_adam_noisy"]["n"] == 2


def test_skills_dependency_tiny(tmp_path):
    """The chain's gated T1 (p = 0.3) is learned before the ungated frequency order would allow."""
    summary, names = run_tiny("skills-dependency", tmp_path)
    assert names == ["skills-dependency", "skills-dependency-control"]
    assert summary["order"]["chain"][0] == "T1"
    assert summary["control_gates_respected"]["chain"] == 0.0
