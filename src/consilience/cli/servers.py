"""`consilience serve` and `consilience keyserver`: run the services.

Each command parses its options and hands off to the service's ``server.run``; defaults
(ports, where files are) come from ``datadir``.
"""

from __future__ import annotations

from pathlib import Path

import typer

from consilience.cli.common import DATA_DIR, JSON, handled
from consilience.datadir import DataDir, defaults


@handled
def serve(data_dir: Path = DATA_DIR, host: str = typer.Option(defaults.HOST, help="Address to bind."),
          port: int = typer.Option(defaults.ESCROW_PORT, help="Port to bind."),
          database_url: str = typer.Option(None, "--database-url",
                                           help="SQLAlchemy URL; default SQLite in DATA_DIR/escrow."),
          as_json: bool = JSON) -> None:
    """Run the escrow server."""
    from consilience.services.escrow import server
    from consilience.services.escrow.settings import Settings

    server.run(Settings.for_data_dir(DataDir(data_dir).escrow.root, database_url=database_url),
               host=host, port=port)


@handled
def keyserver(index: int = typer.Option(..., help="Which key server (1..n)."), data_dir: Path = DATA_DIR,
              host: str = typer.Option(defaults.HOST, help="Address to bind."),
              port: int = typer.Option(None, help=f"Port to bind; default {defaults.ESCROW_PORT} + index."),
              rate_per_hour: float = typer.Option(None, "--rate-per-hour",
                                                  help="Evaluations one account may ask for per hour "
                                                       "(default 120)."),
              burst: float = typer.Option(None, "--burst",
                                          help="Evaluations one account may ask for at once (default 60)."),
              address_rate_per_hour: float = typer.Option(None, "--address-rate-per-hour",
                                                          help="Evaluations one client address may ask for "
                                                               "per hour (default 2000)."),
              address_burst: float = typer.Option(None, "--address-burst",
                                                  help="Evaluations one client address may ask for at once "
                                                       "(default 500)."),
              web_origin: list[str] = typer.Option(None, "--web-origin",
                                                   help="Origin of a web app allowed to call this server from "
                                                        f"a browser (CORS), e.g. {defaults.ESCROW_URL}; "
                                                        "repeatable. Default: those in "
                                                        "DATA_DIR/keyserver-INDEX/web-origins.json (admin init "
                                                        "writes the escrow server's)."),
              as_json: bool = JSON) -> None:
    """Run key server INDEX with its share from DATA_DIR/keyserver-INDEX."""
    from consilience.services.keyserver import server
    from consilience.services.keyserver.limits import limits_with
    from consilience.services.keyserver.settings import Settings

    limits = limits_with(per_account_per_hour=rate_per_hour, per_account_burst=burst,
                         per_address_per_hour=address_rate_per_hour, per_address_burst=address_burst)
    server.run(Settings.for_data_dir(data_dir, index, web_origins=web_origin, limits=limits), host=host, port=port)
