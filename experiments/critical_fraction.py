"""`critical-fraction`: P(unique linear representation) vs training fraction, and r_c (Liu et al. 2022).

No training: for every training-set size n = 0..N (N = p(p+1)/2 samples of p-symbol addition),
`n_splits` random training sets are drawn and tested for a unique linear representation
(λ₃(A_Dᵀ A_D) > 1e-8, `theory.representation`). Each seed is an independent batch of splits.
The result is stored like any run (results.zarr with dims seed × n_train, config, timings).

summary.json keys:
    p, n_samples, n_splits, seeds     the settings
    r_c                               n*/N where the pooled P(unique) crosses ½ (interpolated)
    n_critical                        n* (in samples)
    r_c_per_seed                      the same per seed
    n_unique                          {n: number of unique splits, pooled over seeds}
    p_unique                          {n: pooled P(unique)}
    paper_n_unique                    the authors' counts per 10 000 splits (p = 10 only, else {})
    paper_r_c                         0.4 (p = 10 only, else null)
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import xarray as xr

from toymodels import Spec, store
from toymodels.experiments import Experiment, register
from toymodels.plots.phases import unique_probability
from toymodels.spec import require
from toymodels.tasks.addition_pairs import n_samples
from toymodels.theory.representation import critical_fraction, crossing

# effective_linear_eq.ipynb, 10 000 random training sets per size (p = 10); n ≤ 13 → 0, n ≥ 40 → 10 000.
PAPER_COUNTS = {13: 0, 16: 51, 18: 373, 20: 1754, 21: 2863, 22: 4270, 23: 5795, 24: 7085,
                26: 8666, 28: 9488, 30: 9814, 40: 10000}
PAPER_SPLITS = 10000
PAPER_R_C = 0.4


@dataclass(frozen=True)
class SplitCensus:
    """Static settings of the census: p symbols, `n_splits` random training sets per size.

    Not a trained system: it has no dynamic hyperparameters, and `train` below never calls
    the engine (so `init/step/observe` are absent on purpose).
    """

    p: int = 10
    n_splits: int = 10000

    divergence_key: ClassVar[str] = "n_unique"

    def __post_init__(self) -> None:
        require(self.p >= 3, f"p must be >= 3, got {self.p}")
        require(self.n_splits >= 1, f"n_splits must be >= 1, got {self.n_splits}")

    def hparams(self) -> dict[str, float]:
        return {}

    def check(self, hp: dict[str, float]) -> None:
        """No dynamic hyperparameters to check."""


def census_spec(p: int, n_splits: int, seeds: int) -> Spec:
    return Spec(SplitCensus(p, n_splits), {}, seeds=seeds, steps=1, log_every=1)


def tiny() -> Spec:
    return census_spec(10, 300, 2)


def default() -> Spec:
    return census_spec(10, 10000, 1)


def paper() -> Spec:
    return census_spec(10, 10000, 10)


def census(spec: Spec) -> xr.Dataset:
    """Counts of unique splits, dims (seed, n_train), with train_fraction = n/N as a coordinate."""
    p, n_splits = spec.system.p, spec.system.n_splits
    sizes = np.arange(n_samples(p) + 1)
    counts = np.stack([critical_fraction(p, sizes, n_splits, seed).n_unique
                       for seed in range(spec.seeds)])
    return xr.Dataset(
        {"n_unique": (("seed", "n_train"), counts),
         "p_unique": (("seed", "n_train"), counts / n_splits)},
        coords={"seed": np.arange(spec.seeds), "n_train": sizes,
                "train_fraction": ("n_train", sizes / n_samples(p))},
    )


def train(spec: Spec, out: str | Path | None = None, *, quiet: bool = False,
          checkpoint_seconds: float = 10.0, metadata: dict[str, Any] | None = None) -> xr.Dataset:
    """Build the census Dataset and store it in `out` as the engine stores a run."""
    spec.validate()
    require(not spec.sweep, "critical-fraction takes no --sweep (it tries every training size)")
    config = {**(metadata or {}), "spec": spec.to_dict()}
    path = None
    if out is not None:
        out = Path(out)
        store.claim_run_folder(out, config)
        path = out / store.RESULTS
        if store.is_complete(path):
            return store.load(out)
    start = time.perf_counter()
    ds = census(spec)
    ds.attrs = {**store.provenance(config),
                "timings": json.dumps({"total_seconds": time.perf_counter() - start})}
    if path is not None:
        store.save_complete(path, ds)
    ds.attrs["complete"] = True
    return ds


def report(ds: xr.Dataset, out: Path) -> dict[str, Any]:
    """P(unique) vs training fraction with the paper's counts; r_c pooled and per seed."""
    static = json.loads(ds.attrs["config"])["spec"]["static"]
    p, n_splits = static["p"], static["n_splits"]
    n_all = n_samples(p)
    pooled = ds["n_unique"].sum("seed") / (n_splits * ds.sizes["seed"])
    n_critical = crossing(ds["n_train"].values, pooled.values)
    per_seed = [crossing(ds["n_train"].values, ds["p_unique"].isel(seed=s).values) / n_all
                for s in range(ds.sizes["seed"])]
    reference = None
    if p == 10:
        sizes = np.array(list(PAPER_COUNTS))
        reference = xr.DataArray(np.array(list(PAPER_COUNTS.values())) / PAPER_SPLITS,
                                 coords={"train_fraction": sizes / n_all}, dims="train_fraction")
    r_c = n_critical / n_all
    unique_probability(pooled.swap_dims(n_train="train_fraction"), r_c, reference).savefig(
        out / "critical-fraction.png", dpi=120)
    return {
        "p": p, "n_samples": n_all, "n_splits": n_splits, "seeds": ds.sizes["seed"],
        "r_c": r_c, "n_critical": n_critical, "r_c_per_seed": per_seed,
        "n_unique": {str(n): int(c) for n, c in zip(ds["n_train"].values,
                                                     ds["n_unique"].sum("seed").values, strict=True)},
        "p_unique": {str(n): float(v) for n, v in zip(ds["n_train"].values, pooled.values,
                                                      strict=True)},
        "paper_n_unique": {str(n): c for n, c in PAPER_COUNTS.items()} if p == 10 else {},
        "paper_r_c": PAPER_R_C if p == 10 else None,
    }


register(Experiment(
    name="critical-fraction",
    description="P(unique linear representation) vs training fraction for p-symbol addition "
                "(Liu et al. 2022): r_c",
    presets={"tiny": tiny, "default": default, "paper": paper},
    report=report,
    train=train,
))
