"""Notifications say only that something is waiting (PROTOCOL.md §13.7): the inbox for counselors by
default, mail by a real SMTP server the tests start, and nothing for a reporter who gave no address."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from consilience.services.escrow import waiting
from consilience.services.escrow.notifier import WAITING_TEXT
from consilience.storage.models import Account

from .harness import Escrow


def account_id_of_counselor(escrow: Escrow, index: int) -> bytes:
    escrow.counselor_credential(escrow.counselors[index])
    with escrow.db.read() as session:
        return next(a.account_id for a in session.query(Account).filter_by(
            counselor_key_id=escrow.counselors[index].key_id))


def inbox_files(escrow: Escrow) -> dict[str, list[dict[str, str]]]:
    inbox = Path(escrow.settings.inbox_dir)
    return {folder.name: [json.loads(f.read_text()) for f in sorted(folder.iterdir())]
            for folder in sorted(inbox.iterdir())} if inbox.exists() else {}


def test_a_counselor_finds_a_generic_notice_in_the_inbox(escrow: Escrow) -> None:
    counselor = account_id_of_counselor(escrow, 0)
    reporter = escrow.reporter()
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    waiting.something_waiting(escrow.state, [counselor, reporter.account_id], now)
    files = inbox_files(escrow)
    assert files == {"Ana-Counselor": [{"waiting": WAITING_TEXT, "time": "2026-12-01T12:00:00Z"}]}
    assert WAITING_TEXT == "There is something waiting for you in Consilience. Open the app to see it."
    # told again soon after: nothing more; after the quiet time: once more
    waiting.something_waiting(escrow.state, [counselor], now + timedelta(minutes=5))
    assert len(inbox_files(escrow)["Ana-Counselor"]) == 1
    waiting.something_waiting(escrow.state, [counselor], now + timedelta(seconds=waiting.QUIET_SECONDS))
    assert len(inbox_files(escrow)["Ana-Counselor"]) == 2
