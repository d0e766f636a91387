"""`consilience serve` and `consilience keyserver`: run the services."""

from __future__ import annotations

from pathlib import Path

import typer

from consilience.cli.common import DATA_DIR, JSON, handled
from consilience.errors import ConsilienceError


@handled
def serve(data_dir: Path = DATA_DIR, host: str = typer.Option("127.0.0.1", help="Address to bind."),
          port: int = typer.Option(8100, help="Port to bind."),
          database_url: str = typer.Option(None, "--database-url",
                                           help="SQLAlchemy URL; default SQLite in DATA_DIR/escrow."),
          as_json: bool = JSON) -> None:
    """Run the escrow server."""
    from consilience.services.escrow import server
    from consilience.services.escrow.settings import Settings

    server.run(Settings.for_data_dir(data_dir / "escrow", database_url=database_url), host=host, port=port)


@handled
def keyserver(index: int = typer.Option(..., help="Which key server (1..n)."), data_dir: Path = DATA_DIR,
              host: str = typer.Option("127.0.0.1", help="Address to bind."),
              port: int = typer.Option(None, help="Port to bind; default 8100 + index."),
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
                                                        "a browser (CORS), e.g. http://127.0.0.1:8100; "
                                                        "repeatable. Default: those in "
                                                        "DATA_DIR/keyserver-INDEX/web-origins.json (admin init "
                                                        "writes the escrow server's)."),
              as_json: bool = JSON) -> None:
    """Run key server INDEX with its share from DATA_DIR/keyserver-INDEX."""
    import uvicorn

    from consilience.services.keyserver import web_origins
    from consilience.services.keyserver.app import create_app, settings_with
    from consilience.services.keyserver.share_file import ShareStore

    settings = settings_with(per_account_per_hour=rate_per_hour, per_account_burst=burst,
                             per_address_per_hour=address_rate_per_hour, per_address_burst=address_burst)
    store = ShareStore(data_dir / f"keyserver-{index}" / "share.json")
    if store.current().index != index:
        raise ConsilienceError(f"the share in keyserver-{index} is for index {store.current().index}")
    origins = web_origin or web_origins.read(data_dir / f"keyserver-{index}" / web_origins.FILE_NAME)
    uvicorn.run(create_app(store, settings, origins), host=host, port=port or 8100 + index, log_level="warning")
