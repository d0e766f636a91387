"""Every default a deployment falls back to when the operator names none: host, ports, URLs.

The escrow server listens on 8100 and key server N on 8100 + N; ``admin init`` writes those
URLs into the deployment document and ``serve`` and ``keyserver`` bind to them, so the
numbers must come from one place or a default deployment would point at ports nothing
listens on.
"""

from __future__ import annotations

from pathlib import Path

#: Loopback: a server reachable from elsewhere is a decision to make explicitly (and behind TLS).
HOST = "127.0.0.1"
ESCROW_PORT = 8100
#: ``consilience`` commands' ``--data-dir`` when none is given.
DATA_DIR = Path("consilience-data")


def keyserver_port(index: int, escrow_port: int = ESCROW_PORT) -> int:
    """Key server ``index`` (1..n) listens just above the escrow server."""
    return escrow_port + index


def url(host: str = HOST, port: int = ESCROW_PORT) -> str:
    """The http URL a service on ``host:port`` is reached at (TLS is put in front by the operator);
    an IPv6 address goes in brackets (``http://[::1]:8100``)."""
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


#: Where the escrow server, hence the web app, is reached with every default.
ESCROW_URL = url()
