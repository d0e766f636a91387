"""Configuration of a key server: its folder, whom browsers may call it from, its budgets, the key generation.

Everything a key server holds sits in its own folder (``datadir.KeyServerFolder``: ``keyserver-N/``
of a data folder on one machine, or the operator's folder on theirs): which deployment it serves,
its identity and HPKE keys, the key generation's seed while it runs and its result (its shares).
``for_data_dir`` and ``for_folder`` read the web origins from there unless the operator names them.
Every default of the key server is here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from consilience.datadir import DataDir, KeyServerFolder
from consilience.datadir import web_origins as web_origins_file
from consilience.errors import InvalidInput
from consilience.i18n import _
from consilience.services.keyserver.limits import LimitSettings
from consilience.services.serving import TLSFiles

#: A full batch of 8 identifiers (element, point), the certificate and the signature is under 2 KiB.
MAX_REQUEST_BYTES = 16 * 1024
#: One round of the key generation: how long a key server waits for the others' complaints and answers.
ROUND_SECONDS = 20.0
#: How long a key server waits for every other key server's deal before going on without the missing ones:
#: the operator may start the key servers one after another, by hand.
DEAL_TIMEOUT_SECONDS = 3600.0
#: How many rounds a key server waits for every qualified key server's confirmation.
CONFIRM_ROUNDS = 15
#: How often a key server whose key generation is done looks for an operator's request to run it again.
REQUEST_POLL_SECONDS = 5.0
#: The same on one machine (``consilience demo``, tests): every key server is a process there, started together.
LOCAL_ROUND_SECONDS = 1.0
LOCAL_DEAL_TIMEOUT_SECONDS = 120.0
#: How long a key server waits before asking an unreachable (or refusing) escrow server again, doubling
#: up to the maximum.
RETRY_SECONDS = 1.0
MAX_RETRY_SECONDS = 30.0
#: What a client is told to wait while the key generation runs (503 Retry-After).
RETRY_AFTER_SECONDS = 30
#: Recovery tries per account handle, since its last reset, before this key server pauses recovery for it
#: (PROTOCOL.md §14.1); $CONSILIENCE_RECOVERY_ATTEMPTS changes it.
RECOVERY_ATTEMPTS = 10


def recovery_attempts_from_env() -> int:
    """$CONSILIENCE_RECOVERY_ATTEMPTS, else RECOVERY_ATTEMPTS; a bad value stops the start, named."""
    import os

    value = os.environ.get("CONSILIENCE_RECOVERY_ATTEMPTS")
    if value is None:
        return RECOVERY_ATTEMPTS
    if not value.strip().isdigit() or not 1 <= int(value) <= 1000:
        raise InvalidInput(_("CONSILIENCE_RECOVERY_ATTEMPTS must be a whole number from 1 to 1000, not {value}",
                             value=repr(value)))
    return int(value)


@dataclass(frozen=True)
class KeygenSettings:
    """The key generation's pace (``services/keyserver/dkg_runner.py``); small in local and test runs."""

    round_seconds: float = ROUND_SECONDS
    deal_timeout_seconds: float = DEAL_TIMEOUT_SECONDS
    confirm_rounds: int = CONFIRM_ROUNDS
    request_poll_seconds: float = REQUEST_POLL_SECONDS

    def __post_init__(self) -> None:
        if not (self.round_seconds > 0 and self.deal_timeout_seconds > 0 and self.confirm_rounds >= 1
                and self.request_poll_seconds > 0):
            raise InvalidInput(_("the key generation's round, deal timeout, confirmation rounds and poll interval "
                                 "must be positive"))

    @classmethod
    def local(cls) -> KeygenSettings:
        return cls(round_seconds=LOCAL_ROUND_SECONDS, deal_timeout_seconds=LOCAL_DEAL_TIMEOUT_SECONDS)

    def as_args(self) -> list[str]:
        """The ``consilience keyserver`` options that reproduce these settings (for the launcher)."""
        return ["--keygen-round-seconds", repr(self.round_seconds),
                "--keygen-deal-timeout", repr(self.deal_timeout_seconds)]


@dataclass(frozen=True)
class Settings:
    #: The key server's folder: membership, identity and HPKE keys, key-generation files, shares.
    folder: KeyServerFolder
    #: Key server N of a data folder on one machine (its default port); None: its own folder.
    index: int | None = None
    #: Origins (scheme://host[:port]) of web apps allowed to call /v2/evaluate from a browser,
    #: e.g. the escrow server's; none means no cross-origin access.
    web_origins: tuple[str, ...] = ()
    #: evaluations per account, per address and in all
    limits: LimitSettings = field(default_factory=LimitSettings)
    max_request_bytes: int = MAX_REQUEST_BYTES
    #: Addresses of reverse proxies whose X-Forwarded-For is believed; none (the default): the socket's
    #: peer is the client, whatever headers say, so nobody gets a fresh per-address budget by inventing one.
    trusted_proxies: tuple[str, ...] = ()
    #: The escrow server (deployment document, bulletin board); None: the one keyserver.json names.
    escrow_url: str | None = None
    #: Whether to run the key generation (off only in tests that hand a key server its result).
    run_keygen: bool = True
    keygen: KeygenSettings = field(default_factory=KeygenSettings)
    #: The certificate and key it serves HTTPS with (--tls-cert, --tls-key); None: plain HTTP.
    tls: TLSFiles | None = None
    #: recovery tries per account handle before recovery pauses for it (PROTOCOL.md §14.1)
    recovery_attempts: int = field(default_factory=recovery_attempts_from_env)

    def __post_init__(self) -> None:
        object.__setattr__(self, "web_origins", tuple(self.web_origins))
        object.__setattr__(self, "trusted_proxies", tuple(self.trusted_proxies))

    @classmethod
    def for_folder(cls, folder: Path | str, **options: object) -> Settings:
        """A key server in its own folder (each operator on their own machine)."""
        kf = KeyServerFolder(Path(folder), 0)
        origins = options.pop("web_origins", None) or web_origins_file.read(kf.web_origins)
        return cls(folder=kf, web_origins=tuple(origins), **options)  # type: ignore[arg-type]

    @classmethod
    def for_data_dir(cls, data_dir: Path | str, index: int, *, web_origins: Sequence[str] | None = None,
                     limits: LimitSettings | None = None, trusted_proxies: Sequence[str] = (),
                     escrow_url: str | None = None, keygen: KeygenSettings | None = None,
                     tls: TLSFiles | None = None) -> Settings:
        """Key server ``index`` of the deployment in ``data_dir``; no ``web_origins``: those in its folder."""
        folder = DataDir(Path(data_dir)).keyserver(index)
        origins = web_origins or web_origins_file.read(folder.web_origins)
        return cls(folder=folder, index=index, web_origins=tuple(origins), limits=limits or LimitSettings(),
                   trusted_proxies=tuple(trusted_proxies), escrow_url=escrow_url,
                   keygen=keygen or KeygenSettings(), tls=tls)


__all__ = ["KeygenSettings", "Settings"]
