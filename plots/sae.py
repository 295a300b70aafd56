"""Sparse autoencoders on toy data: recovery and the sparsity–reconstruction trade-off over L1."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.figure import Figure


def tradeoff_figure(mean: xr.Dataset) -> Figure:
    """MMCS and MCC vs L1, dead latents vs L1, and MSE vs L0 (the frontier), one colour per dictionary ratio."""
    fig, (ax_rec, ax_dead, ax_front) = plt.subplots(1, 3, figsize=(14, 4), constrained_layout=True)
    ratios = mean["dict_ratio"].values
    for colour, r in zip(plt.cm.viridis(np.linspace(0, 0.85, len(ratios))), ratios, strict=True):
        at = mean.sel(dict_ratio=r)
        ax_rec.plot(at["l1"], at["mmcs"], "o-", color=colour, label=f"M/N = {r:g} (MMCS)")
        ax_rec.plot(at["l1"], at["mcc"], "s--", color=colour, alpha=0.6, label=f"M/N = {r:g} (MCC)")
        ax_dead.plot(at["l1"], at["dead"], "o-", color=colour, label=f"M/N = {r:g}")
        ax_front.plot(at["l0"], at["mse"], "o-", color=colour, label=f"M/N = {r:g}")
    ax_rec.axhline(0.9, color="grey", lw=0.8, ls=":")
    ax_rec.set(xscale="log", xlabel="L1 coefficient", ylabel="recovery", title="feature recovery (mean over seeds)")
    ax_dead.set(xscale="log", xlabel="L1 coefficient", ylabel="fraction of dead latents", title="dead latents")
    ax_front.set(xlabel="L0 (active latents per sample)", ylabel="reconstruction MSE", yscale="log",
                 title="sparsity vs reconstruction")
    ax_rec.legend(fontsize=6, ncol=2)
    ax_front.legend(fontsize=7)
    return fig
