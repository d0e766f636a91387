"""A retry after a lost answer never counts twice (PROTOCOL.md §8).

The reporter's wallet keeps the exact submission until the server's answer
arrives; ``reporter.retry_pending`` resends those bytes. Two ways to lose an
answer, each with real key servers and a real escrow server on loopback:

* the server commits and answers, the connection breaks before the answer
  arrives (the client's ``send`` goes through and then fails);
* the request seems not to have left, the wallet keeps it pending, and the
  same bytes reach the server anyway (sent here by hand); the wallet's own
  retry then meets an entry that the release pass already released into a match.

Either way the retry is answered 200 with the status a reporter may see
("escrowed": protocol v2 never tells a reporter of a release), the wallet
ends up with that status and a verified receipt, and nothing the server
counts or logs for entries changes: entries, tag rows, accounts under the
tag, matches, entry and release leaves. (The log's size does change: the
release pass appends its padded batch every few tens of milliseconds here.)
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

import pg_cluster
from consilience.clients import receipts
from consilience.clients import reporter as reporter_client
from consilience.clients.escrow_client import ApiError, EscrowClient
from consilience.clients.receipts import expected_content
from consilience.operator.deployment import DATABASE_URL_ENV
from consilience.operator.invites import issue_invites
from consilience.protocol import events
from consilience.protocol.encoding import b64u_decode
from consilience.storage import repository
from consilience.storage.models import Entry, EntryTag, LogLeaf, Match

from . import (
    ADMIN_SECRET,
    FAST_KDF,
    HTTP_TIMEOUT,
    Site,
    auth,
    check_store,
    make_site,
    same_content,
    sqlite_checks,
    start_with_quorum_keys,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


def _server_view(site: Site, tag: bytes) -> dict[str, Any]:
    with site.db() as database, database.read() as session:
        return {
            "entries": session.scalar(select(func.count()).select_from(Entry)),
            "statuses": dict(session.execute(select(Entry.entry_id, Entry.status)).all()),
            "tag_rows": session.scalar(select(func.count()).select_from(EntryTag).where(EntryTag.tag == tag)),
            "accounts_under_tag": repository.count_accounts(session, tag),
            "matches": session.scalar(select(func.count()).select_from(Match)),
            "entry_leaves": session.scalar(select(func.count()).select_from(LogLeaf)
                                           .where(LogLeaf.kind == events.ENTRY)),
            "release_leaves": session.scalar(select(func.count()).select_from(LogLeaf)
                                             .where(LogLeaf.kind == events.RELEASE)),
        }


def _wait_for_release(site: Site, tag: bytes, timeout: float = 20.0) -> dict[str, Any]:
    """The server's view once the background release pass has released the match under ``tag``."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        view = _server_view(site, tag)
        if view["matches"] == 1 and view["release_leaves"] == 1:
            return view
        assert time.monotonic() < deadline, f"the release pass did not release the match: {view}"
        time.sleep(0.05)


def _check_kept_receipts(state: Any, payload: dict[str, Any]) -> None:
    assert state.receipts, "no receipt kept"
    for path in state.receipts:
        kept = Path(path).parent / receipts.VKEY_FILE  # written by this test's own client
        verified = receipts.verify_file(Path(path), receipts.LogKey(kept.read_text().strip(), str(kept)))
        assert verified.event.kind == "entry"
        assert verified.event.entry_id == b64u_decode(payload["entry_id"])
        assert verified.event.content_hash == expected_content(payload)


@pytest.fixture(scope="module")
def postgres_admin_url() -> Iterator[str]:
    yield from pg_cluster.admin_url_fixture()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_retry_after_lost_answer_counts_once(backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             request: pytest.FixtureRequest) -> None:
    database_url = None
    if backend == "postgresql":
        database_url = pg_cluster.fresh_database(request.getfixturevalue("postgres_admin_url"))
        monkeypatch.setenv(DATABASE_URL_ENV, database_url)  # where the administrator's invites go
    site = make_site(tmp_path / "deploy", quorum=2, database_url=database_url)
    try:
        start_with_quorum_keys(site)
        _lost_answers(site, tmp_path, monkeypatch)
    finally:
        site.stop()


def _lost_answers(site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    invite_a, invite_b = issue_invites(site.root, ADMIN_SECRET, 2)
    ana = reporter_client.register(site.url, invite_a, "signal: @ana", tmp_path / "ana" / "wallet", "ana pw",
                                   kdf_params=FAST_KDF)
    bo = reporter_client.register(site.url, invite_b, "bo@example.org", tmp_path / "bo" / "wallet", "bo pw",
                                  kdf_params=FAST_KDF)
    real_send = EscrowClient.send

    # 1. Ana's answer is lost after the server committed.
    def answer_lost(self: EscrowClient, payload: dict[str, Any], *, replace: bool = False) -> Any:
        real_send(self, payload, replace=replace)
        raise ApiError(0, "unreachable", "connection reset before the answer arrived")

    record = reporter_client.write(ana, "He followed me home after the party.")
    with monkeypatch.context() as patch:
        patch.setattr(EscrowClient, "send", answer_lost)
        with pytest.raises(ApiError):
            reporter_client.escrow(ana, record.record_id, ["dana@example.com"])
    ana = reporter_client.open_session(ana.path, "ana pw", kdf_params=FAST_KDF)  # the wallet as saved
    state = ana.wallet.record(record.record_id).escrow
    assert state is not None and state.status == "sending" and state.pending is not None
    payload_a = state.pending
    tag = b64u_decode(payload_a["tags"][0])
    before = _server_view(site, tag)
    assert before["statuses"] == {b64u_decode(payload_a["entry_id"]): "escrowed"}
    assert before["accounts_under_tag"] == 1 and before["tag_rows"] == 1 and before["entry_leaves"] == 1

    retried = reporter_client.retry_pending(ana)
    assert [r.record_id for r in retried] == [record.record_id]
    state = ana.wallet.record(record.record_id).escrow
    assert state is not None and state.pending is None and state.status == "escrowed"
    assert _server_view(site, tag) == before, "the retry changed what the server counts or logs"
    _check_kept_receipts(state, payload_a)
    assert reporter_client.retry_pending(reporter_client.open_session(ana.path, "ana pw")) == []

    # 2. Bo's request seems lost; the same bytes arrive anyway and release the match; then Bo's retry.
    def request_lost(self: EscrowClient, payload: dict[str, Any], *, replace: bool = False) -> Any:
        raise ApiError(0, "unreachable", "connection reset while sending")

    record_b = reporter_client.write(bo, "The same happened to me in May.")
    with monkeypatch.context() as patch:
        patch.setattr(EscrowClient, "send", request_lost)
        with pytest.raises(ApiError):
            reporter_client.escrow(bo, record_b.record_id, ["Dana@EXAMPLE.com"])
    bo = reporter_client.open_session(bo.path, "bo pw", kdf_params=FAST_KDF)
    state_b = bo.wallet.record(record_b.record_id).escrow
    assert state_b is not None and state_b.pending is not None
    payload_b = state_b.pending
    assert b64u_decode(payload_b["tags"][0]) == tag  # the same person, typed differently
    with httpx.Client(base_url=site.url, headers=auth(bo.wallet.token), timeout=HTTP_TIMEOUT) as http:
        sent = http.post("/v2/entries", json=payload_b)
        assert sent.status_code == 201, sent.text
        assert sent.json()["status"] == "escrowed"
        after_release = _wait_for_release(site, tag)
        assert after_release["accounts_under_tag"] == 2 and after_release["matches"] == 1
        assert after_release["release_leaves"] == 1
        assert set(after_release["statuses"].values()) == {"released"}

        retried = reporter_client.retry_pending(bo)
        assert [r.record_id for r in retried] == [record_b.record_id]
        state_b = bo.wallet.record(record_b.record_id).escrow
        assert state_b is not None and state_b.pending is None and state_b.status == "escrowed"
        assert datetime.fromisoformat(state_b.received_at) == datetime.fromisoformat(sent.json()["received_at"])
        assert _server_view(site, tag) == after_release, "the retry changed what the server counts or logs"
        _check_kept_receipts(state_b, payload_b)
        detail = http.get(f"/v2/entries/{payload_b['entry_id']}")
        assert detail.status_code == 200 and same_content(detail.json(), payload_b)

    # Ana is not told of the release (no matching oracle); the store holds the two entries, whole.
    [mine] = [r for r in reporter_client.refresh(ana) if r.record_id == record.record_id]
    assert mine.escrow is not None and mine.escrow.status == "escrowed"
    check_store(site, {p["entry_id"]: p for p in (payload_a, payload_b)})
    if site.sqlite_path is not None:
        sqlite_checks(site.sqlite_path)
