"""The Python blocks of docs/custom-system.md and docs/tasks.md run, in order, as written."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib.pyplot as plt
import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"


def python_blocks(page: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", (DOCS / page).read_text(), re.S)


@pytest.mark.parametrize("page", ["custom-system.md", "tasks.md"])
def test_page_code_runs(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    blocks = python_blocks(page)
    assert blocks, f"{page} has no python blocks"
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(DOCS / page), "exec"), namespace)  # noqa: S102
    plt.close("all")


def test_custom_system_fits_in_40_lines():
    model = python_blocks("custom-system.md")[0]
    lines = model[model.index("@dataclass"):].strip().splitlines()
    assert len(lines) <= 40
