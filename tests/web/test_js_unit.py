"""The JavaScript unit tests (web/test/**/*.test.js, node:test) run as part of the Python suite.

Each file runs in its own ``node --test`` process. The files are named explicitly: given the
folder, Node 20's runner would also execute every other .js file under web/test (the
JS-to-Python scripts in web/test/cli/, shared helpers) as if it were a test.
Without Node.js these skip locally and fail under CI=true.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from .browser import REPO, WEB, in_ci, node

JS_TESTS = sorted(p for p in (WEB / "test").rglob("*.test.js") if "node_modules" not in p.parts)


def test_there_are_js_unit_tests() -> None:
    assert JS_TESTS, "no web/test/**/*.test.js found"


@pytest.mark.parametrize("path", JS_TESTS, ids=[str(p.relative_to(WEB / "test")) for p in JS_TESTS])
def test_js_unit_file(path: Path) -> None:
    if not (WEB / "node_modules").is_dir():
        message = "web/node_modules is missing: run ./scripts/build-web (npm ci --prefix web)"
        pytest.fail(message) if in_ci() else pytest.skip(message)
    proc = subprocess.run([node(), "--test", str(path.relative_to(REPO))], cwd=REPO, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, (f"node --test {path.relative_to(REPO)} failed:\n"
                                  f"{proc.stdout[-8000:]}{proc.stderr[-4000:]}")
