"""Counting, release, matches, counselor views and notifications (PROTOCOL.md §8).

Protocol v2: counting and release happen in the release pass (``Escrow.run_pass``), which also
sends the notifications; counselors never see account ids (property (f)).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from consilience.protocol.messages import MatchDetail, MatchSummary
from consilience.services.escrow.notifier import InboxNotifier, MatchEvent, load_notifier
from consilience.services.escrow.settings import ConfigurationError, Settings

from .harness import API, Escrow, b64, build


class Recorder:
    def __init__(self) -> None:
        self.events: list[MatchEvent] = []

    def notify(self, event: MatchEvent) -> None:
        self.events.append(event)


def inbox_files(escrow: Escrow) -> dict[str, list[dict[str, object]]]:
    inbox = escrow.settings.inbox_dir
    if not inbox.exists():
        return {}
    return {d.name: [json.loads(f.read_text()) for f in sorted(d.glob("*.json"))]
            for d in sorted(inbox.iterdir())}


def test_second_account_releases_and_creates_a_match(any_escrow: Escrow) -> None:
    escrow = any_escrow
    a, b, c = escrow.reporter(), escrow.reporter(), escrow.reporter()
    tag = os.urandom(32)
    first = escrow.submission(tags=[tag, os.urandom(32)], quorum=2)
    assert escrow.submit(a, first).json()["status"] == "escrowed"
    escrow.run_pass()
    assert inbox_files(escrow) == {}
    second = escrow.submission(tags=[tag], quorum=2)
    assert escrow.submit(b, second).json()["status"] == "escrowed"
    assert escrow.counts()["matches"] == 0 and inbox_files(escrow) == {}  # nothing happens in the request
    escrow.run_pass()
    assert escrow.stored_status(first["entry_id"]) == escrow.stored_status(second["entry_id"]) == "released"
    assert escrow.client.get(f"{API}/entries/{first['entry_id']}", headers=a.headers).json()["status"] == "escrowed"
    assert escrow.counts()["matches"] == 1

    files = inbox_files(escrow)
    assert sorted(files) == ["Ana-Counselor", "bo"]
    for notes in files.values():
        assert len(notes) == 1 and set(notes[0]) == {"match_id", "released", "time"}
        assert notes[0]["released"] == 2
    match_id = files["bo"][0]["match_id"]

    # a third account joins the same match; a higher quorum waits for more
    waiting = escrow.submission(tags=[tag], quorum=4)
    escrow.submit(c, waiting)
    escrow.run_pass()
    assert escrow.stored_status(waiting["entry_id"]) == "escrowed"
    assert escrow.counts()["matches"] == 1 and len(inbox_files(escrow)["bo"]) == 1
    fourth = escrow.reporter()
    last = escrow.submission(tags=[tag], quorum=5)
    escrow.submit(fourth, last)
    escrow.run_pass()
    # the fourth account releases the waiting quorum-4 entry, not its own quorum-5 one
    assert escrow.stored_status(waiting["entry_id"]) == "released" and escrow.stored_status(last["entry_id"]) == \
        "escrowed"
    notes = inbox_files(escrow)["bo"]
    assert [n["match_id"] for n in notes] == [match_id, match_id] and notes[-1]["released"] == 3


def test_counselor_sees_own_envelopes_and_only_released_bodies(any_escrow: Escrow) -> None:
    escrow = any_escrow
    ana, bo = escrow.counselors
    ana_headers, bo_headers = escrow.counselor_headers(ana), escrow.counselor_headers(bo)
    assert escrow.client.get(f"{API}/matches", headers=ana_headers).json() == []
    tag = os.urandom(32)
    reporters = [escrow.reporter() for _ in range(3)]
    submissions = [escrow.submission(tags=[tag], quorum=q) for q in (2, 2, 5)]
    for reporter, submission in zip(reporters, submissions, strict=False):
        escrow.submit(reporter, submission)
    escrow.submit(reporters[0], escrow.submission(tags=[os.urandom(32)]))  # unrelated, escrowed
    escrow.run_pass()

    listed = [MatchSummary.model_validate(m) for m in escrow.client.get(f"{API}/matches", headers=ana_headers).json()]
    assert len(listed) == 1 and listed[0].released == 2
    before = escrow.counts()["match_openings"]
    for counselor, headers in ((ana, ana_headers), (bo, bo_headers)):
        response = escrow.client.get(f"{API}/matches/{listed[0].match_id}", headers=headers)
        assert response.status_code == 200
        detail = MatchDetail.model_validate(response.json())
        assert detail.tag == b64(tag)
        by_id = {e.entry_id: e for e in detail.entries}
        assert set(by_id) == {s["entry_id"] for s in submissions}
        index = [c.key_id for c in escrow.counselors].index(counselor.key_id)
        for submission in submissions:
            entry = by_id[submission["entry_id"]]
            assert entry.envelope == submission["envelopes"][index]["ciphertext"]
            if submission["quorum"] == 2:
                assert entry.released and entry.body == submission["body"]
            else:
                assert not entry.released and entry.body is None
    assert escrow.counts()["match_openings"] == before + 2
    assert escrow.client.get(f"{API}/matches/{b64(os.urandom(16))}", headers=ana_headers).status_code == 404
    assert escrow.client.get(f"{API}/matches/bad", headers=ana_headers).status_code == 400


def test_withdrawn_entries_leave_the_match_view(escrow: Escrow) -> None:
    headers = escrow.counselor_headers(escrow.counselors[0])
    tag = os.urandom(32)
    a, b, c = escrow.reporter(), escrow.reporter(), escrow.reporter()
    escrow.submit(a, escrow.submission(tags=[tag]))
    escrow.submit(b, escrow.submission(tags=[tag]))
    pending = escrow.submission(tags=[tag], quorum=5)
    escrow.submit(c, pending)
    escrow.run_pass()
    match_id = escrow.client.get(f"{API}/matches", headers=headers).json()[0]["match_id"]
    assert len(escrow.client.get(f"{API}/matches/{match_id}", headers=headers).json()["entries"]) == 3
    escrow.client.delete(f"{API}/entries/{pending['entry_id']}", headers=c.headers)
    assert len(escrow.client.get(f"{API}/matches/{match_id}", headers=headers).json()["entries"]) == 2


def test_notifier_is_pluggable_and_its_failures_do_not_fail_submissions(tmp_path: Path) -> None:
    recorder = Recorder()
    escrow = build(tmp_path / "data", notifier=recorder)
    with escrow.client:
        tag = os.urandom(32)
        a, b = escrow.reporter(), escrow.reporter()
        escrow.submit(a, escrow.submission(tags=[tag]))
        escrow.submit(b, escrow.submission(tags=[tag]))
        assert recorder.events == []  # not from the submitter's request
        escrow.run_pass()
        assert [(e.released, e.created) for e in recorder.events] == [(2, True)]
        assert recorder.events[0].recipients == ("Ana-Counselor", "bo")

        def explode(event: MatchEvent) -> None:
            raise OSError("disk full")

        recorder.notify = explode  # type: ignore[method-assign]
        c = escrow.reporter()
        late = escrow.submission(tags=[tag])
        assert escrow.submit(c, late).status_code == 201
        result = escrow.run_pass()  # the pass commits and carries on
        assert len(result.changes) == 1 and escrow.stored_status(late["entry_id"]) == "released"
    escrow.db.dispose()


def test_notifier_loading(tmp_path: Path) -> None:
    settings = Settings.for_data_dir(tmp_path)
    assert isinstance(load_notifier(settings), InboxNotifier)
    null = Settings.for_data_dir(tmp_path, notifier="consilience.services.escrow.notifier:NullNotifier")
    assert type(load_notifier(null)).__name__ == "NullNotifier"
    dotted = Settings.for_data_dir(tmp_path,
                                   notifier="consilience.services.escrow.notifier.InboxNotifier.from_settings")
    assert isinstance(load_notifier(dotted), InboxNotifier)
    for bad in ("no.such.module:thing", "consilience.services.escrow.notifier:MatchEvent.nope", "json:dumps"):
        with pytest.raises(ConfigurationError):
            load_notifier(Settings.for_data_dir(tmp_path, notifier=bad))


def test_concurrent_retries_of_one_entry_store_it_once(any_escrow: Escrow) -> None:
    """Lost-answer retries racing each other: one 201, the others 200 with the same receipt."""
    from concurrent.futures import ThreadPoolExecutor

    escrow = any_escrow
    reporter, other = escrow.reporter(), escrow.reporter()
    submission = escrow.submission()
    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(lambda _: escrow.submit(reporter, submission), range(8)))
        thief = pool.submit(escrow.submit, other, submission).result()
    assert sorted(r.status_code for r in responses) == [200] * 7 + [201]
    assert len({r.text for r in responses}) == 1
    assert thief.status_code == 409
    assert escrow.counts()["entries"] == 1


def test_the_counselor_api_carries_no_account_ids(escrow: Escrow) -> None:
    """(f), as a counselor would look: nothing in any answer is a reporter's account id or account key,
    and two entries of one account in two matches carry nothing in common but what the envelopes hold."""
    headers = escrow.counselor_headers(escrow.counselors[0])
    a, b = escrow.reporter(), escrow.reporter()
    tags = [os.urandom(32), os.urandom(32)]
    for tag in tags:
        for reporter in (a, b):
            escrow.submit(reporter, escrow.submission(tags=[tag]))
    escrow.run_pass()
    listed = escrow.client.get(f"{API}/matches", headers=headers)
    details = [escrow.client.get(f"{API}/matches/{m['match_id']}", headers=headers) for m in listed.json()]
    assert len(details) == 2
    from consilience.protocol import accounts

    secrets = [r.account_id for r in (a, b)] + [accounts.account_key(r.seed) for r in (a, b)]
    for response in [listed, *details]:
        for secret in secrets:
            assert b64(secret) not in response.text and secret.hex() not in response.text
    for detail in details:
        for entry in detail.json()["entries"]:
            assert set(entry) == {"entry_id", "quorum", "released", "envelope", "body"}
    schema = escrow.client.get(f"{API}/openapi.json").json()["components"]["schemas"]
    assert "account_id" not in schema["MatchEntry"]["properties"]
