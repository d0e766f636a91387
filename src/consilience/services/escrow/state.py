"""What every request handler and the release pass share: database, deployment, the log's key, notifier."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request

from consilience.protocol.deployment import Counselor
from consilience.services.escrow.notifier import MatchEvent, Notifier, recipient_label, sends_mail
from consilience.services.escrow.published import DeploymentStore
from consilience.services.escrow.settings import Settings
from consilience.services.limits import Budgets
from consilience.storage.database import Database
from consilience.storage.repository import MatchChange

log = logging.getLogger(__name__)


def match_label(match_id: bytes) -> str:
    """How every log line names a match: its 16 bytes as 32 lowercase hex digits, as the CLI's text
    output shows match ids (the API and the inbox files carry them in base64url)."""
    return match_id.hex()


@dataclass
class ServerState:
    settings: Settings
    db: Database
    deployments: DeploymentStore
    log_private: bytes
    notifier: Notifier
    #: the budgets of ``settings.limits``
    limits: Budgets
    #: when each account was last told that something is waiting (waiting.py: not told again soon)
    waiting_told: dict[bytes, datetime] = field(default_factory=dict)

    def notify(self, changes: Iterable[MatchChange], at: datetime) -> None:
        """Pass committed match changes on; a failing notifier is logged, not raised."""
        counselors = self.deployments.current().deployment.counselors
        recipients = tuple(dict.fromkeys(recipient_label(c.name, c.key_id) for c in counselors))
        addresses = self._mail_addresses(counselors) if changes and sends_mail(self.notifier) else ()
        for change in changes:
            log.info("match %s: %d released%s", match_label(change.match_id), change.released,
                     " (new)" if change.created else "")
            event = MatchEvent(change.match_id, change.released, change.created, at, recipients, addresses)
            try:
                self.notifier.notify(event)
            except Exception:
                log.exception("notifier failed for match %s", match_label(change.match_id))

    def _mail_addresses(self, counselors: Sequence[Counselor]) -> tuple[tuple[str, str], ...]:
        """Counselors' notification addresses (``admin counselor notify``), for a notifier that mails."""
        from consilience.services.escrow.waiting import counselor_addresses

        try:
            with self.db.read() as session:
                return counselor_addresses(session, counselors)
        except Exception as exc:  # the inbox file still tells them
            log.error("could not read counselors' notification addresses (%s)", type(exc).__name__)
            return ()


def get_state(request: Request) -> ServerState:
    state: ServerState = request.app.state.escrow
    return state


#: Handler parameter type: the application's shared state.
State = Annotated[ServerState, Depends(get_state)]
