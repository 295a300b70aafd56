"""Fourier circles in a modular-arithmetic embedding (Ding et al. 2024).

A frequency k ∈ 1..⌊(p−1)/2⌋ is a *circle* of the final embedding when
    S_k > 2 · mean_{j=0..p−1} S_j ,
the mean taken over all p Fourier components (k = 0 included; S_j = S_{p−j}), as in the authors'
`get_final_circle_freqs`. Deviation, stated: we pair k with p − k explicitly (one circle per
frequency above threshold) instead of counting sorted components two by two, which miscounts
when S_0 is large.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import xarray as xr


def component_weights(p: int) -> np.ndarray:
    """How many of the p FFT components each k = 0..⌊p/2⌋ stands for (1 or 2)."""
    weights = np.full(p // 2 + 1, 2.0)
    weights[0] = 1.0
    if p % 2 == 0:
        weights[-1] = 1.0
    return weights


def circle_threshold(signal: xr.DataArray, p: int) -> xr.DataArray:
    """2 · mean of S over all p components, from S_k for k = 0..⌊p/2⌋ (dim `freq`)."""
    weights = xr.DataArray(component_weights(p), coords={"freq": signal["freq"]})
    return 2.0 * (signal * weights).sum("freq") / p


def circles(signal: xr.DataArray, p: int) -> xr.DataArray:
    """Boolean mask over `freq`: which frequencies k ≥ 1 are circles."""
    alive = signal > circle_threshold(signal, p)
    return alive & (signal["freq"] >= 1) & (2 * signal["freq"] != p)



def keep_frequencies(embedding: np.ndarray, keep: Iterable[int]) -> np.ndarray:
    """The embedding with only the Fourier components k = 0 and k, p − k for k in `keep`:

        E' = Re IFFT_n( M_k · FFT_n(E) ),   M_k = 1 if k = 0 or min(k, p − k) ∈ keep, else 0,

    the FFT taken over the token axis n (axis −2 of `embedding`, shaped (…, p, d)), as the authors'
    `plot_loss_collaboration.py` (which also keeps k = 0)."""
    p = embedding.shape[-2]
    k = np.arange(p)
    kept = np.isin(np.minimum(k, p - k), [0, *keep])
    spectrum = np.fft.fft(embedding, axis=-2) * kept[:, None]
    return np.fft.ifft(spectrum, axis=-2).real


def strongest(signal: np.ndarray, p: int, count: int) -> list[int]:
    """The `count` frequencies 1 ≤ k < p/2 with the largest S_k, strongest first (ties: lower k
    first), from S_k for k = 0..⌊p/2⌋ (entries beyond are ignored: NaN padding of a merged sweep)."""
    ks = [k for k in range(1, (p + 1) // 2) if np.isfinite(signal[k])]
    return sorted(ks, key=lambda k: (-signal[k], k))[:count]
