"""Deep linear network: the exact solution's invariants and the system's gradient flow."""

from __future__ import annotations

import json

import jax
import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import toymodels as tm
from toymodels.deep_linear import DeepLinear, frames
from toymodels.experiments import REGISTRY
from toymodels.experiments.deep_linear import summarize
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


def curves_run(strength_of) -> xr.Dataset:
    """A Dataset shaped like a deep-linear tiny run (2 seeds × init 0.1, 1; logged every 5 steps) whose
    mode strengths are `strength_of(t, s, u0)` with initial strengths u0 = init² × (1, 0.5) for the two seeds."""
    spec = REGISTRY["deep-linear"].spec("tiny").set("log_every", 5).with_sweep("init_scale", (0.1, 1.0))
    s = spec.system.singular_values.astype(float)
    steps = np.arange(0, spec.steps + 1, spec.log_every)
    t = steps * spec.hparams["lr"]
    u0 = np.array([1.0, 0.5])[:, None] * np.array(spec.sweep["init_scale"])[None, :] ** 2      # (seed, init)
    strength = strength_of(t[None, None, :, None], s, u0[:, :, None, None])                 # (seed, init, step, mode)
    strength = np.broadcast_to(strength, (2, 2, len(steps), len(s)))
    dims = ("seed", "init_scale", "step", "mode")
    ds = xr.Dataset({"strength": (dims, strength), "aligned_strength": (dims, strength),
                     "loss": (dims[:3], np.ones(strength.shape[:3])),
                     "diverged_step": (dims[:2], np.full((2, 2), -1))},
                    coords={"seed": [0, 1], "init_scale": list(spec.sweep["init_scale"]), "step": steps,
                            "mode": np.arange(len(s))})
    ds.attrs["config"] = json.dumps({"experiment": "deep-linear", "preset": "tiny", "spec": spec.to_dict()})
    return ds


def test_exact_curves_score_r2_one_and_half_times_within_one_logging_interval():
    spec = REGISTRY["deep-linear"].spec("tiny")
    summary = summarize(curves_run(exact_strength)).to_json()
    assert summary["mode_r2"]["value"] == pytest.approx(1.0) and summary["mode_r2"]["n"] == 2
    assert summary["mode_r2"]["interval"] == "student-t" and summary["mode_r2"]["lo"] is None    # n < 3
    step = 5 * spec.hparams["lr"]
    for m, s in enumerate(spec.system.singular_values.astype(float)):
        shortest = float(half_time(s, 0.01))                  # the larger u0 of the small init reaches s/2 first
        assert 1.0 <= summary["learning_time_ratio"][str(m)]["value"] <= 1.0 + step / shortest


def test_the_large_init_control_passes_for_a_network_that_never_learns():
    """Strengths stuck at their initial values: R² is far below 0.5 at every init, so the init-1 control
    ("the curves leave the exact solution") passes although nothing was learned; the small-init claim fails."""
    summary = summarize(curves_run(lambda t, s, u0: u0 * s / s.max() + 0 * t)).to_json()
    control = next(c for c in REGISTRY["deep-linear"].claims if c.kind == "control")
    assert control.key == "mode_r2_by_init/1" and control.accept == (None, 0.5)
    assert summary["mode_r2_by_init"]["1"]["value"] < 0.5 and summary["mode_r2"]["value"] < 0.5
