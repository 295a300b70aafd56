"""A non-editable install provides only `toymodels*` names: a user's own `plots.py` and `experiments/`
in the working folder keep their names, and ours live under `toymodels.theory`, `.experiments`, `.plots`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

CHECK = """
import importlib.util, os, sys
import plots, experiments
assert plots.MINE and experiments.MINE, "the user's modules must answer to the bare names"
import toymodels, toymodels.theory, toymodels.plots, toymodels.experiments
from toymodels.experiments import discover
target = os.environ["TARGET"]
for module in (toymodels, toymodels.theory, toymodels.plots, toymodels.experiments):
    assert module.__file__.startswith(target), module.__file__
assert importlib.util.find_spec("theory") is None, "a bare 'theory' is importable"
assert "modular-addition" in discover()
print("ok")
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", str(target), str(REPO)],
                   check=True, capture_output=True)
    return target


@pytest.fixture()
def user_folder(tmp_path) -> Path:
    (tmp_path / "plots.py").write_text("MINE = True\n")
    (tmp_path / "experiments").mkdir()
    (tmp_path / "experiments" / "__init__.py").write_text("MINE = True\n")
    return tmp_path


def run_in(folder: Path, target: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(target), "TARGET": str(target)}
    return subprocess.run([sys.executable, *args], cwd=folder, env=env, capture_output=True, text=True)


def test_installed_package_does_not_take_bare_names(installed, user_folder):
    result = run_in(user_folder, installed, "-c", CHECK)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr


def test_installed_command_line_runs_beside_a_users_experiments_folder(installed, user_folder):
    names = {p.name for p in (installed / "bin").iterdir()}
    assert "toymodels" in names
    result = run_in(user_folder, installed, str(installed / "bin" / "toymodels"), "list")
    assert result.returncode == 0, result.stderr
    assert "modular-addition" in result.stdout
    bad = run_in(user_folder, installed, str(installed / "bin" / "toymodels"), "run", "no-such-study")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1, bad.stderr
