"""`frequency-competition` end to end on the tiny preset, through the command line."""

from __future__ import annotations

import json

import numpy as np
import xarray as xr

from toymodels.experiments import get
from toymodels.experiments.cli import main
from toymodels.spec import ConfigError

KEYS = {"one_step_r2", "rollout_r2", "survivor_precision", "survivor_recall", "n_members"}


def test_tiny_run_writes_fits_figures_and_summary(tmp_path):
    out = tmp_path / "run"
    assert main(["run", "frequency-competition", "--preset", "tiny", "--out", str(out), "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary) == KEYS
    assert summary["n_members"] == 3
    fits = xr.open_zarr(out / "fits.zarr")
    assert fits["A"].dims == ("seed", "freq", "freq_in") and fits.sizes["freq"] == 5
    assert np.isclose(summary["one_step_r2"], float(fits["one_step_r2"].mean()))
    assert all(-np.inf < v <= 1 for v in fits["one_step_r2"].values)
    assert (fits["stable"] == (fits["spectral_radius"] <= 1 + 1e-9)).all()
    for name in ("overlay", "r2", "A"):
        assert (out / f"frequency-competition-{name}.png").stat().st_size > 0
    # the same seeds give the same numbers when the report is redone
    assert main(["report", str(out)]) == 0
    assert json.loads((out / "summary.json").read_text()) == summary


def test_unknown_preset_is_a_config_error():
    try:
        get("frequency-competition").spec("huge")
    except ConfigError as error:
        assert "huge" in str(error)
    else:
        raise AssertionError("expected ConfigError")
