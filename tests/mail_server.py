"""A real SMTP server on loopback for the notification tests (aiosmtpd), and what it received.

The mail notifier is tested against a server that speaks SMTP, not a mock of ``smtplib``: what
it checks (STARTTLS, login, one message per recipient, the generic wording) is what a real mail
server would see.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller

from consilience.local import launcher


@dataclass
class Mailbox:
    """What the test SMTP server received: (envelope recipients, parsed message) per mail."""

    mails: list[tuple[list[str], Message]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        self.mails.append((list(envelope.rcpt_tos), message_from_bytes(envelope.original_content)))
        return "250 OK"

    def to(self, address: str) -> list[Message]:
        return [m for rcpts, m in self.mails if address in rcpts]


def free_port() -> int:
    (port,) = launcher.free_ports(1)
    return port


@contextmanager
def mail_server(**controller_options: Any) -> Iterator[tuple[Mailbox, int]]:
    """A running SMTP server on 127.0.0.1 (TLS options as aiosmtpd's Controller takes them): its mailbox and port."""
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port(), **controller_options)
    controller.start()
    try:
        yield box, controller.port
    finally:
        controller.stop()
