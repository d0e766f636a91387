"""Node.js for the tests that run the browser SDK outside a browser (JS → Python interop).

Without node or the web app's npm modules those tests skip with the reason, except under
CI=true, where .ci/run installs both and a missing one fails the run instead.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def node_for(what: str) -> str:
    """The node executable, for WHAT (named in the skip or failure), with web/node_modules in place."""
    node = shutil.which("node")
    if node is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"node is required under CI=true ({what})")
        pytest.skip(f"node is not installed: cannot run the browser SDK ({what})")
    if not (ROOT / "web" / "node_modules" / "@noble" / "curves").exists():
        if os.environ.get("CI") == "true":
            pytest.fail("web/node_modules is missing under CI=true: run npm ci --prefix web")
        pytest.skip("web/node_modules is missing: run npm ci --prefix web")
    return node
