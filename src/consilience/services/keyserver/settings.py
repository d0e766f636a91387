"""Configuration of a key server: which share it serves, whom browsers may call it from, its budgets.

In a deployment's data folder the share and the web origins sit in ``keyserver-N/``
(``datadir.KeyServerFolder``); ``for_data_dir`` reads the origins from there unless the
operator names them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from consilience.datadir import DataDir
from consilience.datadir import web_origins as web_origins_file
from consilience.services.keyserver.limits import LimitSettings

#: A full batch of 16 base64url elements is under 1 KiB; anything far larger is not a request.
MAX_REQUEST_BYTES = 16 * 1024


@dataclass(frozen=True)
class Settings:
    #: The share file (``keyserver-N/share.json``), re-read when it changes, so a refresh needs no restart.
    share_path: Path
    #: The index the operator started this server as, which its share must carry; None: the share's own.
    index: int | None = None
    #: Origins (scheme://host[:port]) of web apps allowed to call /v1/evaluate from a browser,
    #: e.g. the escrow server's; none means no cross-origin access.
    web_origins: tuple[str, ...] = ()
    #: evaluations per account and per address
    limits: LimitSettings = field(default_factory=LimitSettings)
    max_request_bytes: int = MAX_REQUEST_BYTES

    def __post_init__(self) -> None:
        object.__setattr__(self, "share_path", Path(self.share_path))
        object.__setattr__(self, "web_origins", tuple(self.web_origins))

    @classmethod
    def for_data_dir(cls, data_dir: Path | str, index: int, *, web_origins: Sequence[str] | None = None,
                     limits: LimitSettings | None = None) -> Settings:
        """Key server ``index`` of the deployment in ``data_dir``; no ``web_origins``: those in its folder."""
        folder = DataDir(Path(data_dir)).keyserver(index)
        origins = web_origins or web_origins_file.read(folder.web_origins)
        return cls(share_path=folder.share, index=index, web_origins=tuple(origins),
                   limits=limits or LimitSettings())
