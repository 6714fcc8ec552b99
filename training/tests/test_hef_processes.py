"""Recipe.hef_at_once: the sidecar's CLI as processes side by side (the export's groups), their
summaries in order, failures named with their stderr, and no process left running when one fails to start."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hef_training.config import smoke
from hef_training.recipe import Recipe, RecipeError, TrainInputs

# Stands in for `node bin/hef.mjs`: argv is [name, value, "--json"].
FAKE_HEF = """
import json, sys, time
name, value = sys.argv[1], sys.argv[2]
if name == "fail":
    print("no such repository: " + value, file=sys.stderr)
    sys.exit(3)
if name == "sleep":
    time.sleep(float(value))
print("progress line")
print(json.dumps({"name": name, "value": value}))
"""


def recipe(tmp_path: Path) -> Recipe:
    return Recipe(TrainInputs(repos=[], out=tmp_path, config=smoke(), device="cpu", hef_cli=[sys.executable, "-c", FAKE_HEF], progress=False))


def test_summaries_come_back_in_the_order_of_the_calls(tmp_path: Path) -> None:
    results = recipe(tmp_path).hef_at_once([["sleep", "0.3"], ["tasks", "a"], ["export", "b"]])
    assert results == [{"name": "sleep", "value": "0.3"}, {"name": "tasks", "value": "a"}, {"name": "export", "value": "b"}]


def test_a_failed_call_is_named_with_its_stderr(tmp_path: Path) -> None:
    with pytest.raises(RecipeError, match=r"hef fail failed \(exit 3\): no such repository: x"):
        recipe(tmp_path).hef_at_once([["tasks", "a"], ["fail", "x"]])


def test_the_started_processes_stop_when_a_later_one_cannot_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[subprocess.Popen] = []
    real = subprocess.Popen

    def popen(*args, **kwargs):
        if started:
            raise OSError("no more processes")
        started.append(real(*args, **kwargs))
        return started[0]

    monkeypatch.setattr(subprocess, "Popen", popen)
    with pytest.raises(OSError, match="no more processes"):
        recipe(tmp_path).hef_at_once([["sleep", "60"], ["tasks", "a"]])
    assert started[0].wait(timeout=10) != 0
