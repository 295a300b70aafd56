"""Fixed-K progress measures, Gini, the phase rule (theory.progress) and `progress-measures` end to end."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import optax
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from toymodels import load, load_snapshots, run
from toymodels.experiments import progress_measures
from toymodels.theory.events import first_step
from toymodels.theory.progress import (
    drop_step,
    excluded_logits,
    fourier_basis,
    fourier_norms,
    gini,
    key_frequencies,
    measures,
    neuron_frequencies,
    progress_phases,
    restricted_logits,
)
from toymodels.transformer import Transformer, forward

P = 11
A, B = np.divmod(np.arange(P * P), P)
LABELS = (A + B) % P


def key_mask(freqs) -> jnp.ndarray:
    return jnp.zeros(P // 2 + 1, bool).at[jnp.asarray(sorted(freqs), int)].set(True) if freqs else jnp.zeros(
        P // 2 + 1, bool
    )


def fourier_logits(amplitudes: dict[int, float], offset: np.ndarray) -> np.ndarray:
    """L[(a, b), z] = offset_z + Σ_k α_k cos(w_k (a + b − z)), z = 0..p−1."""
    z = np.arange(P)
    logits = np.tile(offset, (P * P, 1)).astype(np.float64)
    for k, amp in amplitudes.items():
        logits += amp * np.cos(2 * np.pi * k * ((A + B)[:, None] - z[None]) / P)
    return logits


def ce(logits) -> float:
    return float(optax.losses.softmax_cross_entropy_with_integer_labels(jnp.asarray(logits), LABELS).mean())


# --- restricted / excluded logits -------------------------------------------------------------
@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_restricted_logits_with_every_frequency_average_over_pairs_with_the_same_sum(seed):
    logits = np.random.default_rng(seed).normal(size=(P * P, P))
    restricted = np.asarray(restricted_logits(jnp.asarray(logits), key_mask(range(1, P // 2 + 1))))
    for same in LABELS[None] == np.arange(P)[:, None]:
        np.testing.assert_allclose(restricted[same], np.broadcast_to(logits[same].mean(0), restricted[same].shape),
                                   atol=1e-4)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), scale=st.floats(0.1, 10.0))
def test_restricted_loss_with_every_frequency_is_the_full_loss_of_a_function_of_a_plus_b(seed, scale):
    table = scale * np.random.default_rng(seed).normal(size=(P, P))  # logit(s, c), s = (a + b) mod p
    logits = jnp.asarray(table[(A + B) % P])
    restricted = restricted_logits(logits, key_mask(range(1, P // 2 + 1)))
    assert ce(restricted) == pytest.approx(ce(logits), rel=1e-4, abs=1e-4)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_excluded_logits_with_no_key_frequency_are_the_logits(seed):
    logits = jnp.asarray(np.random.default_rng(seed).normal(size=(P * P, P)))
    np.testing.assert_allclose(excluded_logits(logits, key_mask(())), logits, atol=1e-6)


@settings(max_examples=15, deadline=None)
@given(
    keys=st.sets(st.integers(1, P // 2), min_size=1, max_size=3),
    others=st.sets(st.integers(1, P // 2), max_size=3),
    seed=st.integers(0, 100),
)
def test_restricted_and_excluded_split_a_fourier_sum_into_key_and_other_terms(keys, others, seed):
    offset = np.random.default_rng(seed).normal(size=P)
    others = others - keys
    logits = jnp.asarray(fourier_logits({**dict.fromkeys(keys, 2.0), **dict.fromkeys(others, 1.5)}, offset))
    np.testing.assert_allclose(excluded_logits(logits, key_mask(keys)), fourier_logits(dict.fromkeys(others, 1.5),
                                                                                         offset), atol=1e-4)
    np.testing.assert_allclose(restricted_logits(logits, key_mask(keys)), fourier_logits(dict.fromkeys(keys, 2.0),
                                                                                           offset), atol=1e-4)


def test_cross_frequency_terms_are_not_in_the_restricted_logits():
    """cos(w_k a)·cos(w_j b), k ≠ j, is no key direction: it must be removed (pitfall c.3)."""
    cross = np.cos(2 * np.pi * 2 * A / P) * np.cos(2 * np.pi * 3 * B / P)
    logits = jnp.asarray(np.tile(cross[:, None], (1, P)))
    np.testing.assert_allclose(restricted_logits(logits, key_mask({2, 3})), 0.0, atol=1e-5)


# --- measures of a model ----------------------------------------------------------------------
SMALL = Transformer(p=P, d_model=16, n_heads=2, d_mlp=32)


def small_state(seed: int):
    hp = {k: jnp.asarray(v) for k, v in {**SMALL.hparams(), "train_fraction": 0.5}.items()}
    return SMALL.init(jax.random.PRNGKey(seed), hp)


@settings(max_examples=3, deadline=None)
@given(seed=st.integers(0, 100))
def test_excluded_loss_with_empty_k_is_the_train_loss_of_the_answer_logits(seed):
    state = small_state(seed)
    m = measures(state.params, key_mask(()), state.train)
    answers = forward(state.params)[0][:, :P]
    per_pair = optax.losses.softmax_cross_entropy_with_integer_labels(answers, LABELS)
    assert float(m["excluded_loss"]) == pytest.approx(float(per_pair[state.train].mean()), rel=1e-5)
    assert float(m["full_loss"]) == pytest.approx(float(per_pair.mean()), rel=1e-5)


# --- the measures of a hand-built transformer whose logits are known ----------------------------
def lookup_transformer(table: np.ndarray, marker: int, p: int) -> dict:
    """A one-layer transformer (the `toymodels.transformer` layout) built by hand, logits = `table`.

    Head 0 attends only to position 0 and copies token a into block A of the residual, head 1 only to
    position 1 and copies b into block B (attention scores 0 vs 2000/√d_head: the softmax is exactly
    one-hot). Neuron (i, j) = ReLU(A_i + B_j − 1) = [a = i][b = j] writes table[(i, j)] into block L,
    which W_U reads out as the p answer logits. One more neuron, ReLU(cos(w_m a) + 2) = cos(w_m a) + 2
    (m = `marker`), is a pure frequency-m neuron with no output: the only neuron with a frequency.
    """
    d, heads = 3 * p + 3, 2
    dh = d // heads
    A, B, P, L = 0, p, 2 * p, 2 * p + 3
    rows = np.arange(p)
    w = {name: np.zeros(shape, np.float32) for name, shape in {
        "W_E": (p + 1, d), "W_pos": (3, d), "W_Q": (heads, d, dh), "W_K": (heads, d, dh), "W_V": (heads, d, dh),
        "W_O": (heads, dh, d), "W_in": (d, p * p + 1), "b_in": (p * p + 1,), "W_out": (p * p + 1, d),
        "b_out": (d,), "W_U": (d, p + 1)}.items()}
    w["W_E"][rows, A + rows] = 1.0
    w["W_pos"][np.arange(3), P + np.arange(3)] = 1.0
    w["W_Q"][:, P + 2, 0] = 1.0
    w["W_K"][0, P + 0, 0] = w["W_K"][1, P + 1, 0] = 2000.0
    w["W_V"][:, A + rows, rows] = 1.0
    w["W_O"][0, rows, A + rows] = 1.0
    w["W_O"][1, rows, B + rows] = 1.0
    i, j = np.divmod(np.arange(p * p), p)
    w["W_in"][A + i, np.arange(p * p)] = w["W_in"][B + j, np.arange(p * p)] = 1.0
    w["b_in"][: p * p] = -1.0
    w["W_in"][A + rows, p * p] = np.cos(2 * np.pi * marker * rows / p)
    w["b_in"][p * p] = 2.0
    w["W_out"][: p * p, L:L + p] = table
    w["W_U"][L + rows, rows] = 1.0
    return {name: jnp.asarray(v) for name, v in w.items()}


def wave(p: int, k: int, amplitude: float) -> np.ndarray:
    """(p², p) logits amplitude · cos(w_k(a + b − c)) over pairs a·p + b and answers c."""
    a, b = np.divmod(np.arange(p * p), p)
    return amplitude * np.cos(2 * np.pi * k * ((a + b)[:, None] - np.arange(p)[None]) / p)


def ring_loss(p: int, waves: dict[int, float]) -> float:
    """Cross-entropy of logits Σ_k α_k cos(w_k(s − c)) at the answer c = s, the same for every pair:
    log Σ_m exp(Σ_k α_k cos(2πkm/p)) − Σ_k α_k (gcd(k, p) = 1, so k·m runs over every residue)."""
    m = np.arange(p)
    return float(np.log(np.sum(np.exp(sum(a * np.cos(2 * np.pi * k * m / p) for k, a in waves.items()))))
                 - sum(waves.values()))


@settings(max_examples=8, deadline=None)
@given(p=st.sampled_from([5, 7, 11]), picks=st.lists(st.integers(1, 5), min_size=2, max_size=2, unique=True),
       alpha=st.floats(0.5, 4.0), gamma=st.floats(0.5, 4.0), seed=st.integers(0, 1000))
def test_progress_measures_of_a_hand_built_model_match_their_closed_forms(p, picks, alpha, gamma, seed):
    """Logits α cos(w_k(a+b−c)) + γ cos(w_j(a+b−c)), K = {k} (from the one frequency-k neuron):
    restricted loss = ring_loss(α at k) on all pairs, excluded loss = ring_loss(γ at j) on the train
    pairs, full loss = ring_loss(both); Gini of W_E = 0 (one-hot embedding: flat Fourier norms) and of
    W_L = 1 − (2/p)(3 small + large)/(small + large) (two norms ∝ α, two ∝ γ, p − 4 zeros)."""
    k, j = (x % (p // 2) + 1 for x in picks)
    if k == j:
        j = k % (p // 2) + 1
    params = lookup_transformer(wave(p, k, alpha) + wave(p, j, gamma), k, p)
    np.testing.assert_allclose(forward(params)[0][:, :p], wave(p, k, alpha) + wave(p, j, gamma), atol=1e-5)
    key = key_frequencies(params)
    assert np.flatnonzero(np.asarray(key)).tolist() == [k]
    train = jnp.asarray(np.random.default_rng(seed).random(p * p) < 0.5)
    m = {name: float(v) for name, v in measures(params, key, train).items()}
    assert m["restricted_loss"] == pytest.approx(ring_loss(p, {k: alpha}), rel=1e-4, abs=1e-5)
    assert m["excluded_loss"] == pytest.approx(ring_loss(p, {j: gamma}), rel=1e-4, abs=1e-5)
    assert m["full_loss"] == pytest.approx(ring_loss(p, {k: alpha, j: gamma}), rel=1e-4, abs=1e-5)
    assert m["gini_embed"] == pytest.approx(0.0, abs=1e-5)
    small, large = sorted((gamma, alpha))
    assert m["gini_logit_map"] == pytest.approx(1 - 2 / p * (3 * small + large) / (small + large), abs=1e-4)


def test_with_every_frequency_of_the_logits_in_k_the_excluded_loss_is_chance():
    """K = {k, j}: nothing is left once both waves are removed (uniform logits: loss log p), and the
    restricted loss is the full loss."""
    p, k, j = 7, 1, 3
    params = lookup_transformer(wave(p, k, 2.0) + wave(p, j, 1.0), k, p)
    m = measures(params, key_mask_p(p, {k, j}), jnp.ones(p * p, bool))
    assert float(m["excluded_loss"]) == pytest.approx(np.log(p), rel=1e-5)
    assert float(m["restricted_loss"]) == pytest.approx(float(m["full_loss"]), rel=1e-5)


def key_mask_p(p: int, freqs) -> jnp.ndarray:
    return jnp.zeros(p // 2 + 1, bool).at[jnp.asarray(sorted(freqs), int)].set(True)


# --- Gini and Fourier norms -------------------------------------------------------------------
@settings(max_examples=12, deadline=None)
@given(n=st.integers(2, 60), at=st.integers(0, 59), scale=st.floats(1e-3, 1e3), seed=st.integers(0, 1000))
def test_gini_is_zero_when_flat_and_maximal_one_hot(n, at, scale, seed):
    one_hot = np.zeros(n)
    one_hot[at % n] = scale
    assert float(gini(jnp.full(n, scale))) == pytest.approx(0.0, abs=1e-5)
    assert float(gini(jnp.asarray(one_hot))) == pytest.approx(1 - 1 / n, abs=1e-5)
    x = np.abs(np.random.default_rng(seed).normal(size=n)) * scale
    value = float(gini(jnp.asarray(x)))
    assert 0.0 <= value <= 1 - 1 / n + 1e-5
    assert float(gini(jnp.asarray(np.random.default_rng(seed).permutation(x)))) == pytest.approx(value, abs=1e-5)


def test_a_single_frequency_embedding_has_one_fourier_norm():
    k = 3
    w = np.cos(2 * np.pi * k * np.arange(P) / P)[:, None] * np.random.default_rng(0).normal(size=(1, 8))
    norms = np.asarray(fourier_norms(jnp.asarray(w)))
    assert int(np.argmax(norms)) == 2 * k - 1 and np.sort(norms)[-2] < 1e-5 * norms.max()
    assert float(gini(jnp.asarray(norms))) == pytest.approx(1 - 1 / P, abs=1e-5)


def test_fourier_basis_is_orthonormal():
    basis = fourier_basis(P)
    np.testing.assert_allclose(basis @ basis.T, np.eye(P), atol=1e-12)


@settings(max_examples=10, deadline=None)
@given(k=st.integers(1, P // 2), phase=st.floats(0, 2 * np.pi), linear=st.floats(0, 1))
def test_a_pure_frequency_neuron_is_assigned_its_frequency(k, phase, linear):
    w = 2 * np.pi * k / P
    neuron = np.cos(w * (A + B) + phase) + linear * np.sin(w * A)
    noise = np.random.default_rng(0).normal(size=P * P)
    best, share = neuron_frequencies(jnp.asarray(np.stack([neuron, noise], axis=1)))
    assert int(best[0]) == k and float(share[0]) == pytest.approx(1.0, abs=1e-5)
    assert float(share[1]) < 0.85


# --- phases on synthetic curves ---------------------------------------------------------------
STEPS = np.arange(0, 4001, 100)


def grokking_curves(memorised: int, plunge: int) -> tuple[np.ndarray, np.ndarray]:
    """train_acc hits 1 at `memorised`; test loss 1 → 10, then log-linearly → 0.01 in 1000 steps."""
    train_acc = np.where(memorised <= STEPS, 1.0, 0.5)
    log_test = np.where(memorised > STEPS, 0.0, np.log(10.0))
    falling = (STEPS - plunge) / 1000 * np.log(1000.0)
    log_test = np.where(plunge <= STEPS, np.log(10.0) - np.minimum(falling, np.log(1000.0)), log_test)
    return train_acc, np.exp(log_test)


def dataset(members: list[tuple[int, int]]) -> xr.Dataset:
    train, test = zip(*(grokking_curves(*m) for m in members), strict=True)
    return xr.Dataset(
        {"train_acc": (("seed", "step"), np.stack(train)), "test_loss": (("seed", "step"), np.stack(test))},
        coords={"seed": np.arange(len(members)), "step": STEPS},
    )


def test_phase_boundaries_of_hand_made_curves():
    phases = progress_phases(dataset([(300, 2000), (1000, 2500)]))
    np.testing.assert_array_equal(phases.memorised.values, [300, 1000])
    np.testing.assert_array_equal(phases.cleanup_start.values, [2100, 2600])  # 10 % of the log-drop
    np.testing.assert_array_equal(phases.cleanup_end.values, [2900, 3400])  # 90 % of the log-drop


def test_phase_timing_is_each_boundary_over_the_end_of_cleanup():
    """Members at (300, 2000) and (1000, 2500): memorised 300, 1000; cleanup 2100–2900, 2600–3400."""
    timing = progress_measures.phase_timing(progress_phases(dataset([(300, 2000), (1000, 2500)])))
    shares = {"memorised_share": [300 / 2900, 1000 / 3400], "cleanup_start_share": [2100 / 2900, 2600 / 3400]}
    for name, values in shares.items():
        assert timing[name].n == 2 and timing[name].interval == "range"
        assert timing[name].value == pytest.approx(np.mean(values))
        assert (timing[name].lo, timing[name].hi) == pytest.approx((min(values), max(values)))


def test_a_member_that_never_memorises_has_no_phases():
    ds = dataset([(300, 2000)])
    ds["train_acc"][:] = 0.5
    phases = progress_phases(ds)
    assert np.isnan(phases.memorised.item()) and np.isnan(phases.cleanup_start.item())


def test_drop_step_agrees_with_a_direct_search():
    ds = dataset([(500, 1500)])
    assert first_step(ds["test_loss"] < 1.0).item() == 1900  # log-drop of 1/3 at 1500 + 333
    assert drop_step(ds["test_loss"], xr.DataArray([500.0], dims="seed"), 0.5).item() == 2000


def test_a_test_loss_that_never_falls_has_no_cleanup():
    ds = dataset([(300, 2000)])
    ds["test_loss"][:] = np.where(STEPS >= 300, 10.0, 1.0)
    phases = progress_phases(ds)
    assert phases.memorised.item() == 300 and np.isnan(phases.cleanup_start.item())


# --- end to end -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("progress") / "run"
    run(progress_measures.tiny(), out, quiet=True)
    return out


def test_tiny_preset_chooses_k_on_the_final_snapshot_and_draws_its_figures(tiny_run):
    """K of each member is the key-frequency set of its *last* snapshot (the final model), and the
    summary's member range of |K| is made of those sets."""
    ds = load(tiny_run)
    summary = progress_measures.summarize(ds).to_json()
    steps, params = load_snapshots(tiny_run)
    final = jax.tree.map(lambda x: jnp.asarray(x)[0, -1], params)  # member 0, last snapshot
    assert summary["key_freqs"][0] == np.flatnonzero(np.asarray(key_frequencies(final))).tolist()
    sizes = [len(k) for k in summary["key_freqs"]]
    estimate = summary["n_key_freqs_mean"]
    assert (estimate["value"], estimate["lo"], estimate["hi"], estimate["interval"]) == (
        np.mean(sizes), min(sizes), max(sizes), "range")
    assert summary["members"][0]["final_train_acc"] > 0.9  # the tiny transformer memorises
    drawn = progress_measures.figures(ds, progress_measures.summarize(ds))
    assert set(drawn) == {"progress", "key_freqs"}
    plt.close("all")
