"""Which web origins a key server lets browsers call it from (CORS), kept beside its share.

``consilience admin init`` writes ``keyserver-N/web-origins.json`` naming the escrow
server's origin, where the web app is served; ``consilience keyserver`` reads it unless
``--web-origin`` is given. Not secret: plain JSON.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from consilience.datadir.layout import WEB_ORIGINS_FILE
from consilience.errors import InvalidInput
from consilience.web import parse_origin

FILE_NAME = WEB_ORIGINS_FILE
FORMAT = "consilience-web-origins/v1"


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
        raise InvalidInput(f"cannot read web origins from {path}: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or not isinstance(doc.get("web_origins"), list):
        raise InvalidInput(f"{path} is not a {FORMAT} file")
    return [parse_origin(str(o)) for o in doc["web_origins"]]
