"""Reference scores: final values over healthy members, extra dims averaged; the page section rewritten."""

from __future__ import annotations

import numpy as np
import xarray as xr

from toymodels.experiments.task_scores import BEGIN, END, final_values


def test_final_values_average_extra_dims_and_leave_out_diverged_members():
    loss = np.arange(2 * 3 * 2 * 4, dtype=float).reshape(2, 3, 2, 4)     # seed, wd, step, task
    ds = xr.Dataset({"task_loss": (("seed", "wd", "step", "task"), loss),
                     "diverged_step": (("seed", "wd"), np.array([[-1, -1, 5], [-1, -1, -1]]))})
    values = final_values(ds, "task_loss")
    expected = loss[:, :, -1].mean(-1).ravel()
    assert sorted(values) == sorted(np.delete(expected, 2))   # member (seed 0, wd 2) diverged


def test_the_tasks_page_has_the_generated_section():
    from pathlib import Path

    page = (Path(__file__).resolve().parents[1] / "docs" / "tasks.md").read_text()
    section = page[page.index(BEGIN):page.index(END)]
    assert "task_scores" in section and section.count("\n| `") >= 10
