"""A reporter's notification address (PROTOCOL.md §13.7): give one, remove it, or see what the server holds.

Giving an address is a trade the reporter makes knowingly: mail can reach them outside the app, and
the escrow server then knows that this address belongs to their account. So the command line says
so before anything is sent (``BEFORE_GIVING``), and the mail itself only ever says that something is
waiting. Without an address the server never contacts a reporter outside the app.
"""

from __future__ import annotations

from dataclasses import dataclass

from consilience.clients.reporter import Session
from consilience.clients.results import JsonObject
from consilience.i18n import N_
from consilience.protocol.messages import notify_address

#: Said before an address is sent, so the person knows what giving it means (shown through ``_()``).
BEFORE_GIVING = N_(
    "Before you give it: the escrow server will then know that this mail address belongs to your account. "
    "The mail it sends there only ever says that something is waiting for you in Consilience, never what "
    "and never who. You can remove the address at any time with 'consilience reporter notify --none'.")
#: Said when the server keeps the address but sends no mail at all (its operator has not set mail up).
NO_MAIL_HERE = N_("This server does not send mail at the moment, so nothing will arrive there until its operator "
                  "sets mail up. Look in the app from time to time.")


@dataclass(frozen=True)
class NotifyAddress:
    """The address the server holds for this account (None: none), and whether it sends mail at all."""

    email: str | None
    sends_mail: bool

    def to_json(self) -> JsonObject:
        return {"email": self.email, "sends_mail": self.sends_mail}


def check_address(typed: str) -> str:
    """The address as it will be sent (surrounding spaces dropped), or InvalidInput saying what is wrong."""
    return notify_address(typed.strip())


def set_address(session: Session, email: str | None) -> NotifyAddress:
    """Give the server ``email`` (checked first), or remove the address (None)."""
    address = check_address(email) if email is not None else None
    with session.client() as client:
        session.deployment(client)  # the administrator's server, before an address goes to it
        answer = client.set_notify_address(address)
    session.save()  # a renewed session token
    return NotifyAddress(answer.email, answer.sends_mail)


def show_address(session: Session) -> NotifyAddress:
    with session.client() as client:
        answer = client.notify_address()
    session.save()
    return NotifyAddress(answer.email, answer.sends_mail)
