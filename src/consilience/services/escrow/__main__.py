"""``python -m consilience.services.escrow [--host H] [--port P]``; data dir from the environment."""

from __future__ import annotations

import argparse
import os

from consilience.datadir import defaults
from consilience.i18n import _
from consilience.services.escrow.server import run
from consilience.services.escrow.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m consilience.services.escrow")
    parser.add_argument("--data-dir",
                        help=_("defaults to $CONSILIENCE_DATA_DIR or ./{folder}", folder=defaults.DATA_DIR))
    parser.add_argument("--host", default=defaults.HOST)
    parser.add_argument("--port", type=int, default=defaults.ESCROW_PORT)
    args = parser.parse_args()
    environ = dict(os.environ)
    if args.data_dir is not None:
        environ["CONSILIENCE_DATA_DIR"] = args.data_dir
    settings = Settings.from_env(environ)
    run(settings, host=args.host, port=args.port)


if __name__ == "__main__":
    main()
