"""``python -m consilience.services.escrow [--host H] [--port P]``; data dir from the environment."""

from __future__ import annotations

import argparse
import os

from consilience.services.escrow.app import DEFAULT_HOST, DEFAULT_PORT, run
from consilience.services.escrow.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m consilience.services.escrow")
    parser.add_argument("--data-dir", help="defaults to $CONSILIENCE_DATA_DIR or ./consilience-data")
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    args = parser.parse_args()
    environ = dict(os.environ)
    if args.data_dir is not None:
        environ["CONSILIENCE_DATA_DIR"] = args.data_dir
    settings = Settings.from_env(environ)
    run(settings, args.host, args.port)


if __name__ == "__main__":
    main()
