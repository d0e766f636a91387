"""The key server's only secret, on disk.

Plain JSON readable by the owner only: a key server must restart unattended,
and its protection is the host (and that t-1 stolen shares are useless).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from consilience import files
from consilience.crypto import ristretto
from consilience.errors import InvalidInput
from consilience.protocol.encoding import b64u_decode, b64u_encode

FORMAT = "consilience-keyshare/v1"


@dataclass(frozen=True)
class KeyShare:
    index: int
    share: bytes
    token_issuer_key: bytes

    @property
    def public_share(self) -> bytes:
        return ristretto.scalar_mult_base(self.share)


def write(path: Path, share: KeyShare) -> None:
    doc = {"format": FORMAT, "index": share.index, "share": b64u_encode(share.share),
           "token_issuer_key": b64u_encode(share.token_issuer_key)}
    files.write_private(path, json.dumps(doc).encode())


def read(path: Path) -> KeyShare:
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
                                                             field="token_issuer_key"))


class ShareStore:
    """The share in force, re-read when its file changes (after a proactive refresh).

    A file that does not parse, or names another index, is ignored with the
    previous share kept: a half-written file must not take a server down.
    """

    def __init__(self, path: Path) -> None:
        self._path = Path(path)
        self._stamp = self._read_stamp()
        self._share = read(self._path)

    def _read_stamp(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self._path)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def current(self) -> KeyShare:
        stamp = self._read_stamp()
        if stamp is not None and stamp != self._stamp:
            self._stamp = stamp
            try:
                fresh = read(self._path)
            except (InvalidInput, KeyError, ValueError):
                return self._share
            if fresh.index == self._share.index:
                self._share = fresh
        return self._share
