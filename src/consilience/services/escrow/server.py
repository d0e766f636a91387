"""Entry point for ``consilience serve``: settings from a data directory, then ``app.run``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from consilience.services.escrow.app import DEFAULT_HOST, DEFAULT_PORT
from consilience.services.escrow.app import run as run_app
from consilience.services.escrow.settings import Settings


def run(data_dir: Path | str, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
        database_url: str | None = None, **settings: Any) -> None:
    """Serve the escrow in ``data_dir`` (deployment.signed.json, token-issuer.key, escrow.sqlite)."""
    run_app(Settings.for_data_dir(data_dir, database_url=database_url, **settings), host, port)
