"""Shared by the end-to-end tests: one run of ``consilience demo`` that several files read (never change)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """``consilience demo --json`` on a data folder of its own; its result, whose data_dir holds every file."""
    root = tmp_path_factory.mktemp("demo")
    proc = subprocess.run([sys.executable, "-m", "consilience", "demo", "--json", "--data-dir", str(root)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout)
    return result
