"""A receipt not ready with the answer (PROTOCOL.md §11): the client asks for it a few times, never sends again."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from consilience.clients import reporter
from consilience.protocol import messages as m
from consilience.protocol.encoding import b64u_encode

ENTRY = b64u_encode(os.urandom(16))
WHEN = datetime(2026, 12, 2, tzinfo=UTC)


def answer(receipt: str | None, sequenced: bool) -> m.EntryReceipt:
    return m.EntryReceipt(entry_id=ENTRY, status="escrowed", received_at=WHEN, receipt=receipt, sequenced=sequenced)


class Server:
    """Answers GET /v2/entries/{id}/receipt from a script; anything else would be an AttributeError."""

    def __init__(self, *answers: m.EntryReceipt) -> None:
        self.answers = list(answers)
        self.asked: list[bytes] = []

    def receipt(self, entry_id: bytes) -> m.EntryReceipt:
        self.asked.append(entry_id)
        return self.answers.pop(0)


def test_a_sequenced_answer_is_followed_by_asks_until_the_receipt_comes() -> None:
    server = Server(answer(None, True), answer("RECEIPT", False))
    got = reporter.late_receipt(server, answer(None, True), delays=(0, 0, 0))  # type: ignore[arg-type]
    assert got == "RECEIPT" and len(server.asked) == 2 and server.answers == []


def test_a_receipt_still_missing_after_the_last_ask_is_none() -> None:
    server = Server(*[answer(None, True)] * 3)
    assert reporter.late_receipt(server, answer(None, True), delays=(0, 0, 0)) is None  # type: ignore[arg-type]
    assert len(server.asked) == 3


def test_an_answer_with_its_receipt_or_without_sequencing_asks_nothing() -> None:
    server: Any = Server()
    assert reporter.late_receipt(server, answer("RECEIPT", False)) == "RECEIPT"
    assert reporter.late_receipt(server, answer(None, False)) is None
    assert server.asked == []
    assert sum(reporter.RECEIPT_POLL_DELAYS) < 5  # "briefly": a few seconds at most
