"""Which web origins a key server lets browsers call it from (CORS), kept beside its share.

``consilience admin init`` writes ``keyserver-N/web-origins.json`` naming the escrow
server's origin, where the web app is served (``default_origins``); ``consilience keyserver``
reads it unless ``--web-origin`` is given. Not secret: plain JSON.

On loopback one server has several origins: the app opened at ``http://localhost:8100/`` is
another origin than ``http://127.0.0.1:8100/`` to a browser, and both are what people type, so
the default allows each name of the escrow server's address.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from consilience.datadir import defaults
from consilience.datadir.layout import WEB_ORIGINS_FILE
from consilience.errors import InvalidInput
from consilience.i18n import _
from consilience.web import parse_origin

FILE_NAME = WEB_ORIGINS_FILE
FORMAT = "consilience-web-origins/v1"


#: The names a browser reaches each loopback host by (``localhost`` resolves to both addresses).
_LOOPBACK_NAMES = {"127.0.0.1": ["127.0.0.1", "localhost"], "::1": ["::1", "localhost"],
                   "localhost": ["localhost", "127.0.0.1", "::1"]}


def default_origins(host: str, port: int) -> list[str]:
    """Where browsers open the web app of an escrow server reached at ``host:port``.

    A loopback host is reached by its address and by ``localhost`` alike (``127.0.0.1`` and
    ``localhost``; ``[::1]`` and ``localhost``; ``localhost`` binds both, so all three); any other
    host is the one origin ``http://host:port`` (an operator behind TLS names theirs with
    ``--web-origin``).
    """
    names = _LOOPBACK_NAMES.get(host.strip("[]").lower(), [host])
    return list(dict.fromkeys(parse_origin(defaults.url(name, port)) for name in names))


def write(path: Path, origins: Sequence[str]) -> None:
    """Origins are normalised on the way in, so the file holds exactly what CORS will compare."""
    doc = {"format": FORMAT, "web_origins": [parse_origin(o) for o in origins]}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=2) + "\n")
    tmp.replace(path)


def read(path: Path) -> list[str]:
    """The origins in the file; none when there is no file."""
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        raise InvalidInput(_("cannot read web origins from {path}: {exc}", path=path, exc=exc)) from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or not isinstance(doc.get("web_origins"), list):
        raise InvalidInput(_("{path} is not a {FORMAT} file", path=path, FORMAT=FORMAT))
    return [parse_origin(str(o)) for o in doc["web_origins"]]
