"""The share in force, re-read when its file changes (after ``admin refresh-shares``).

A file that does not parse, or names another index or another deployment, is ignored with the
previous share kept: a half-written file must not take a server down, nor a foreign one change
whom it trusts (``services.config.ReloadingFile``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from consilience.datadir import share_file
from consilience.datadir.share_file import KeyShare
from consilience.errors import InvalidInput
from consilience.services.config import ReloadingFile


@dataclass(frozen=True)
class ServedShare:
    key: KeyShare
    #: k_i*G, computed once per share file rather than once per request
    public_share: bytes


class ShareStore(ReloadingFile[ServedShare]):
    kept_on = (InvalidInput, KeyError, ValueError)

    def load(self, path: Path) -> ServedShare:
        key = share_file.read(path)
        return ServedShare(key, key.public_share)

    def check(self, current: ServedShare, fresh: ServedShare) -> None:
        if fresh.key.index != current.key.index:
            raise InvalidInput(f"{self.path} now holds the share of key server {fresh.key.index}")
        if (fresh.key.admin_key, fresh.key.deployment_id) != (current.key.admin_key, current.key.deployment_id):
            raise InvalidInput(f"{self.path} now names another administrator or deployment")
