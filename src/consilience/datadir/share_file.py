"""A key server's only secret on disk: ``keyserver-N/share.json``, its share of the OPRF key.

Written by ``admin init`` and ``admin refresh-shares``, read by the key server. Plain JSON
readable by the owner only, not sealed under a passphrase: a key server must restart
unattended, and its protection is the host (and that t-1 stolen shares are useless).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from consilience import files
from consilience.crypto import ristretto
from consilience.errors import InvalidInput
from consilience.protocol.encoding import b64u_decode, b64u_encode

FORMAT = "consilience-keyshare/v1"


@dataclass(frozen=True)
class KeyShare:
    """Key server ``index``'s share, with the key it accepts access tokens from."""

    index: int
    share: bytes
    token_issuer_key: bytes
    #: How many key servers the deployment has and how many must answer (n, t), for the key
    #: server to say which one of how many it is; None in files written before they were recorded.
    key_servers: int | None = None
    threshold: int | None = None

    @property
    def public_share(self) -> bytes:
        return ristretto.scalar_mult_base(self.share)


def write(path: Path, share: KeyShare) -> None:
    """Replace the file atomically, so a key server re-reading it sees the old share or the new one."""
    doc: dict[str, object] = {"format": FORMAT, "index": share.index, "share": b64u_encode(share.share),
                              "token_issuer_key": b64u_encode(share.token_issuer_key)}
    if share.key_servers is not None:
        doc["key_servers"] = share.key_servers
    if share.threshold is not None:
        doc["threshold"] = share.threshold
    files.write_private(path, json.dumps(doc).encode())


def read(path: Path) -> KeyShare:
    """The share in ``path``; InvalidInput names what to do when there is none."""
    try:
        doc = json.loads(Path(path).read_text())
    except FileNotFoundError as exc:
        raise InvalidInput(f"no key share at {path}; run 'consilience admin init' first") from exc
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{path} is not a key-share file") from exc
    if doc.get("format") != FORMAT:
        raise InvalidInput(f"{path} is not a {FORMAT} file")
    share = ristretto.check_scalar(b64u_decode(doc["share"], length=32, field="share"))
    return KeyShare(int(doc["index"]), share, b64u_decode(doc["token_issuer_key"], length=32,
                                                             field="token_issuer_key"),
                    key_servers=_count(doc.get("key_servers")), threshold=_count(doc.get("threshold")))


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None

