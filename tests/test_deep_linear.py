"""Deep linear network: the exact solution's invariants and the system's gradient flow."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import toymodels as tm
from toymodels.deep_linear import DeepLinear, frames
from toymodels.theory.deep_linear import exact_strength, half_time

positive = st.floats(0.1, 5.0)
small = st.floats(1e-6, 1e-2)


@given(positive, small, st.floats(0.0, 10.0))
def test_exact_solution_solves_the_mode_ode(s, u0, t):
    """du/dt = 2u(s − u) (τ = 1), by central differences; u(0) = u₀ and u stays in (0, s]."""
    h = 1e-5
    u = exact_strength(np.array([t - h, t, t + h]), s, u0)
    assert np.isclose((u[2] - u[0]) / (2 * h), 2 * u[1] * (s - u[1]), rtol=1e-3, atol=1e-7)
    assert np.isclose(exact_strength(0.0, s, u0), u0) and 0 < u[1] <= s


@given(positive, small)
def test_half_time_is_where_the_exact_curve_reaches_half(s, u0):
    assert np.isclose(exact_strength(half_time(s, u0), s, u0), s / 2, rtol=1e-6)


@given(st.integers(0, 1000))
def test_frames_are_orthonormal(seed):
    u, v = frames(6, seed)
    assert np.allclose(u.T @ u, np.eye(6), atol=1e-5) and np.allclose(v.T @ v, np.eye(6), atol=1e-5)


def test_the_target_map_has_zero_loss_and_the_given_mode_strengths():
    system = DeepLinear(n=5, hidden=5, spectrum="2,1,0.5")
    target = system.correlation()
    params = {"w1": np.eye(5, dtype=np.float32), "w2": target.astype(np.float32)}
    obs = system.observe(params, {})
    assert float(obs["loss"]) == pytest.approx(0.0, abs=1e-10)
    assert np.allclose(obs["strength"], [2, 1, 0.5], atol=1e-5)


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 100))
def test_a_gradient_step_lowers_the_loss(seed):
    system = DeepLinear(n=4, hidden=6, spectrum="2,1")
    hp = {"lr": 0.01, "init_scale": 0.1}
    params = system.init(jax.random.PRNGKey(seed), hp)
    assert system.loss(system.step(params, hp)) < system.loss(params)


def test_bad_spectrum_is_a_config_error():
    spec = tm.Spec(DeepLinear(), DeepLinear().hparams())
    for bad in ("3,-1", "a,b", "1,2,3,4,5,6,7,8,9"):
        with pytest.raises(tm.ConfigError):
            spec.set("spectrum", bad)
