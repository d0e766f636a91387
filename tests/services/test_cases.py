"""Cases (PROTOCOL.md §13.5): every match has one, the list shows what needs attention first, a case nobody
reached out to is flagged after ``reach_out_days``, counselors link matches that name one person, notes are
kept sealed. Reporters have no way in; bad input changes nothing."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from consilience.protocol import conversations
from consilience.protocol.encoding import b64u_decode
from consilience.protocol.messages import Case
from consilience.services.escrow.settings import ConfigurationError, Settings
from consilience.storage import cases as case_storage
from consilience.storage.models import Account, CaseNote, Conversation, Entry, Match, Message, SealedWrap
from consilience.storage.models import Case as CaseRow
from consilience.storage.repository import utcnow

from .harness import API, Escrow, b64, build


def make_match(escrow: Escrow, tag: bytes | None = None, reporters: int = 2) -> str:
    """A match of ``reporters`` records naming one person (one tag); its id."""
    tag = tag or os.urandom(32)
    for _ in range(reporters):
        assert escrow.submit(escrow.reporter(), escrow.submission(tags=[tag])).status_code == 201
    changes = escrow.run_pass().changes
    assert len(changes) == 1
    return b64(changes[0].match_id)


def backdate(escrow: Escrow, match_id: str, days: float) -> None:
    """As if the release pass had made this match ``days`` ago (before any case was made for it)."""
    with escrow.db.write() as session:
        session.execute(update(Match).where(Match.match_id == _raw(match_id))
                        .values(created_at=utcnow() - timedelta(days=days)))


def _raw(value: str) -> bytes:
    return b64u_decode(value)


def listed(escrow: Escrow, headers: dict[str, str]) -> list[Case]:
    response = escrow.client.get(f"{API}/cases", headers=headers)
    assert response.status_code == 200, response.text
    return [Case.model_validate(c) for c in response.json()]


def case_of(cases: list[Case], match_id: str) -> Case:
    (found,) = [c for c in cases if any(m.match_id == match_id for m in c.matches)]
    return found


def put(escrow: Escrow, headers: dict[str, str], case_id: str, body: dict[str, Any]) -> Any:
    return escrow.client.put(f"{API}/cases/{case_id}", json=body, headers=headers)


def counselor_writes(escrow: Escrow, match_id: str, *, reporter_after: bool) -> None:
    """A direct conversation of the match with a counselor message (and a reporter's answer after it), stored
    as the conversations endpoint stores them (ciphertexts in order), reached_out called as it calls it."""
    with escrow.db.write() as session:
        entry = session.scalars(select(Entry).where(Entry.match_id == _raw(match_id))).first()
        counselor = session.scalars(select(Account).where(Account.role == "counselor")).first()
        assert entry is not None and counselor is not None
        now = utcnow()
        cid = os.urandom(16)
        session.add(Conversation(conversation_id=cid, kind="direct", match_id=_raw(match_id), entry_id=entry.entry_id,
                                 created_by=counselor.account_id, created_at=now, updated_at=now))
        session.flush()
        session.add(Message(message_id=os.urandom(16), conversation_id=cid, sender_account_id=counselor.account_id,
                            sender_role="counselor", content=os.urandom(100), created_at=now))
        session.flush()
        case_storage.reached_out(session, _raw(match_id), now)
        if reporter_after:
            session.add(Message(message_id=os.urandom(16), conversation_id=cid, sender_account_id=entry.account_id,
                                sender_role="reporter", content=os.urandom(100), created_at=now))


def test_every_match_has_a_case_and_the_most_urgent_come_first(any_escrow: Escrow) -> None:
    escrow = any_escrow
    ana, bo = escrow.counselors
    headers = escrow.counselor_headers(ana)
    escrow.counselor_headers(bo)  # bo has an account, so cases can be given to bo
    assert listed(escrow, headers) == []
    # made in this order; each ends in a different rank
    closed = make_match(escrow)
    in_contact = make_match(escrow)
    reaching_out = make_match(escrow)
    waiting = make_match(escrow)
    new_owned = make_match(escrow)
    unowned = make_match(escrow)
    overdue = make_match(escrow)
    backdate(escrow, overdue, 4)
    cases = listed(escrow, headers)
    assert len(cases) == 7 and all(len(c.matches) == 1 and c.matches[0].released == 2 for c in cases)
    assert all(c.state == "new" and c.owner is None and c.owner_key_id is None for c in cases)
    assert cases[0].matches[0].match_id == overdue and cases[0].overdue and cases[0].attention == 0
    assert [c.overdue for c in cases[1:]] == [False] * 6
    assert listed(escrow, headers) == cases  # listing again makes nothing new

    bo_key = b64(bo.key_id)
    for match_id, state in ((closed, "closed"), (in_contact, "in_contact"), (reaching_out, "reaching_out"),
                            (waiting, "reaching_out"), (new_owned, "new")):
        answer = put(escrow, headers, case_of(cases, match_id).case_id, {"owner_key_id": bo_key, "state": state})
        assert answer.status_code == 200, answer.text
        assert answer.json()["owner"] == "bo" and answer.json()["owner_key_id"] == bo_key
    counselor_writes(escrow, waiting, reporter_after=True)  # a reporter answered: waiting for a reply
    counselor_writes(escrow, reaching_out, reporter_after=False)  # the counselor wrote last: not waiting

    cases = listed(escrow, headers)
    order = [c.matches[0].match_id for c in cases]
    assert order == [overdue, unowned, new_owned, waiting, reaching_out, in_contact, closed]
    assert [c.attention for c in cases] == [0, 1, 2, 3, 4, 5, 6]
    assert [c.waiting_reply for c in cases] == [False, False, False, True, False, False, False]
    # moving off "new" is reaching out; a case left at "new" with an owner has not reached out yet
    by_match = {c.matches[0].match_id: c for c in cases}
    assert by_match[in_contact].reached_out_at is not None and by_match[new_owned].reached_out_at is None

    # within a rank, oldest first: an older unowned case goes before the one made earlier in this test
    older = make_match(escrow)
    backdate(escrow, older, 1)
    cases = listed(escrow, headers)
    assert [c.matches[0].match_id for c in cases][:3] == [overdue, older, unowned]


def test_overdue_is_after_reach_out_days_and_ends_when_someone_reaches_out(tmp_path: Path) -> None:
    escrow = build(tmp_path / "data", reach_out_days=2)
    with escrow.client:
        headers = escrow.counselor_headers(escrow.counselors[0])
        young, old, written = make_match(escrow), make_match(escrow), make_match(escrow)
        backdate(escrow, young, 1.9)
        backdate(escrow, old, 2.1)
        backdate(escrow, written, 10)
        counselor_writes(escrow, written, reporter_after=False)  # the counselor's first message
        cases = listed(escrow, headers)
        assert case_of(cases, young).overdue is False
        assert case_of(cases, old).overdue is True
        reached = case_of(cases, written)
        assert reached.overdue is False and reached.state == "reaching_out" and reached.reached_out_at is not None
        # setting a state by hand counts too (the counselor phoned), and going back to "new" does not flag it again
        case_id = case_of(cases, old).case_id
        assert put(escrow, headers, case_id, {"state": "in_contact"}).json()["overdue"] is False
        again = put(escrow, headers, case_id, {"state": "new"}).json()
        assert again["state"] == "new" and again["overdue"] is False and again["reached_out_at"] is not None
    escrow.db.dispose()


def test_reach_out_days_is_a_positive_number_of_days(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings.for_data_dir(tmp_path).reach_out_days == 3
    monkeypatch.setenv("CONSILIENCE_REACH_OUT_DAYS", "1.5")
    assert Settings.from_env({"CONSILIENCE_DATA_DIR": str(tmp_path), "CONSILIENCE_REACH_OUT_DAYS": "1.5"}) \
        .reach_out_days == 1.5
    for bad in ("0", "-2", "three", "inf"):
        with pytest.raises(ConfigurationError, match="CONSILIENCE_REACH_OUT_DAYS .* a positive number"):
            Settings.from_env({"CONSILIENCE_DATA_DIR": str(tmp_path), "CONSILIENCE_REACH_OUT_DAYS": bad})
    with pytest.raises(ConfigurationError, match="a positive number"):
        Settings.for_data_dir(tmp_path, reach_out_days=0)


def fake_note(escrow: Escrow, note_id: bytes | None = None, content: bytes | None = None) -> dict[str, Any]:
    """A note as the server sees one: ciphertext and one wrap per counselor key (it opens none of them)."""
    return {"note_id": b64(note_id or os.urandom(16)), "content": b64(content or os.urandom(200)),
            "wraps": [{"key_id": b64(c.key_id), "wrap": b64(os.urandom(1168))} for c in escrow.counselors]}


def test_linking_two_matches_of_one_person_makes_one_case(any_escrow: Escrow) -> None:
    """One person named by email in some entries and by handle in others: two tags, two matches; a counselor
    who sees it links them, and the list shows one case, with the notes of both."""
    escrow = any_escrow
    ana, bo = escrow.counselors
    headers = escrow.counselor_headers(ana)
    by_email, by_handle = os.urandom(32), os.urandom(32)
    email_match = make_match(escrow, by_email, reporters=2)
    handle_match = make_match(escrow, by_handle, reporters=3)
    backdate(escrow, handle_match, 1)
    cases = listed(escrow, headers)
    assert len(cases) == 2
    email_case, handle_case = case_of(cases, email_match), case_of(cases, handle_match)
    note = fake_note(escrow)
    assert escrow.client.post(f"{API}/cases/{handle_case.case_id}/notes", json=note,
                              headers=headers).status_code == 201
    put(escrow, headers, handle_case.case_id, {"state": "reaching_out"})

    answer = escrow.client.post(f"{API}/cases/{email_case.case_id}/links", json={"match_id": handle_match},
                                headers=headers)
    assert answer.status_code == 200, answer.text
    merged = Case.model_validate(answer.json())
    assert merged.case_id == email_case.case_id
    assert [m.match_id for m in merged.matches] == [handle_match, email_match]  # oldest first
    assert [m.released for m in merged.matches] == [3, 2]
    assert merged.created_at == handle_case.created_at  # waiting since the earlier match
    assert merged.reached_out_at is not None  # someone reached out in the merged-in case
    assert listed(escrow, headers) == [merged]
    with escrow.db.read() as session:  # the emptied case is gone; its note moved along, still openable
        assert session.get(CaseRow, _raw(handle_case.case_id)) is None
        (stored,) = session.scalars(select(CaseNote)).all()
        assert stored.case_id == _raw(email_case.case_id)
    (moved,) = escrow.client.get(f"{API}/cases/{email_case.case_id}/notes", headers=headers).json()
    assert moved["note_id"] == note["note_id"] and moved["content"] == note["content"]
    assert moved["scope"] == handle_case.case_id  # the case id it was sealed under
    assert moved["author_key_id"] == b64(ana.key_id) and moved["wrap"] == note["wraps"][0]["wrap"]

    # linking a match already in the case is a no-op; so is linking it again from the other side
    again = escrow.client.post(f"{API}/cases/{email_case.case_id}/links", json={"match_id": email_match},
                               headers=headers)
    assert again.status_code == 200 and Case.model_validate(again.json()) == merged
    assert escrow.client.post(f"{API}/cases/{handle_case.case_id}/links", json={"match_id": email_match},
                              headers=headers).status_code == 404  # the merged-away case is no more


def every_request(case_id: str, match_id: str, note: dict[str, Any]) -> list[tuple[str, str, Any]]:
    return [("GET", f"{API}/cases", None),
            ("PUT", f"{API}/cases/{case_id}", {"state": "closed"}),
            ("POST", f"{API}/cases/{case_id}/links", {"match_id": match_id}),
            ("GET", f"{API}/cases/{case_id}/notes", None),
            ("POST", f"{API}/cases/{case_id}/notes", note)]


def snapshot(escrow: Escrow) -> tuple[Any, ...]:
    with escrow.db.read() as session:
        return (
            sorted((c.case_id, c.owner_account_id, c.state, c.reached_out_at, c.updated_at)
                   for c in session.scalars(select(CaseRow))),
            sorted((m.match_id, m.case_id) for m in session.scalars(select(Match))),
            sorted((n.note_id, n.case_id, n.content) for n in session.scalars(select(CaseNote))),
            sorted((w.item_kind, w.item_id, w.key_id) for w in session.scalars(select(SealedWrap))),
        )


def test_reporters_and_strangers_are_refused_everywhere(escrow: Escrow) -> None:
    """A reporter's real token, sent as a reporter would send it, gets 403 from every case endpoint; no token
    401; and nothing changes."""
    headers = escrow.counselor_headers(escrow.counselors[0])
    first, second = make_match(escrow), make_match(escrow)
    case_id = case_of(listed(escrow, headers), first).case_id
    reporter = escrow.reporter()
    before = snapshot(escrow)
    for method, url, body in every_request(case_id, second, fake_note(escrow)):
        assert escrow.client.request(method, url, json=body, headers=reporter.headers).status_code == 403, url
        assert escrow.client.request(method, url, json=body).status_code == 401, url
    assert snapshot(escrow) == before


def test_bad_input_is_refused_and_changes_nothing(any_escrow: Escrow) -> None:
    escrow = any_escrow
    ana, bo = escrow.counselors
    headers = escrow.counselor_headers(ana)
    first, second = make_match(escrow), make_match(escrow)
    cases = listed(escrow, headers)
    case_id = case_of(cases, first).case_id
    note_id = os.urandom(16)
    kept = fake_note(escrow, note_id)
    assert escrow.client.post(f"{API}/cases/{case_id}/notes", json=kept, headers=headers).status_code == 201
    before = snapshot(escrow)
    stranger_key = b64(os.urandom(16))
    unknown_case = b64(os.urandom(16))
    refused = [
        (put(escrow, headers, case_id, {"state": "done"}), 422),
        (put(escrow, headers, case_id, {}), 422),
        (put(escrow, headers, case_id, {"state": None}), 422),
        (put(escrow, headers, case_id, {"state": "closed", "owner_key_id": stranger_key}), 400),  # all or nothing
        (put(escrow, headers, case_id, {"owner_key_id": b64(bo.key_id)}), 400),  # bo has no account yet
        (put(escrow, headers, case_id, {"owner": "ana"}), 422),
        (put(escrow, headers, "not-an-id", {"state": "closed"}), 400),
        (put(escrow, headers, unknown_case, {"state": "closed"}), 404),
        (escrow.client.post(f"{API}/cases/{case_id}/links", json={"match_id": b64(os.urandom(16))},
                            headers=headers), 404),
        (escrow.client.post(f"{API}/cases/{unknown_case}/links", json={"match_id": second}, headers=headers), 404),
        (escrow.client.post(f"{API}/cases/{case_id}/links", json={"match_id": "x"}, headers=headers), 422),
        (escrow.client.get(f"{API}/cases/{unknown_case}/notes", headers=headers), 404),
        (escrow.client.post(f"{API}/cases/{unknown_case}/notes", json=fake_note(escrow), headers=headers), 404),
        # the same note id with other content
        (escrow.client.post(f"{API}/cases/{case_id}/notes", json=fake_note(escrow, note_id), headers=headers), 409),
    ]
    missing_bo = fake_note(escrow)
    missing_bo["wraps"] = missing_bo["wraps"][:1]
    extra = fake_note(escrow)
    extra["wraps"].append({"key_id": stranger_key, "wrap": b64(os.urandom(1168))})
    twice = fake_note(escrow)
    twice["wraps"][1]["key_id"] = twice["wraps"][0]["key_id"]
    short = fake_note(escrow)
    short["wraps"][0]["wrap"] = b64(os.urandom(100))
    refused += [(escrow.client.post(f"{API}/cases/{case_id}/notes", json=n, headers=headers), code)
                for n, code in ((missing_bo, 400), (extra, 400), (twice, 422), (short, 422))]
    for response, code in refused:
        assert response.status_code == code, (response.request.url, response.text)
        assert response.json()["detail"]
    assert snapshot(escrow) == before
    # the same note again (a retry after a lost answer) is 200 and stores nothing twice
    assert escrow.client.post(f"{API}/cases/{case_id}/notes", json=kept, headers=headers).status_code == 200
    assert snapshot(escrow) == before


@pytest.mark.parametrize("escrow", ["sqlite"], indirect=True)  # reads the SQLite files in the data folder
def test_notes_are_kept_only_as_ciphertext_and_open_for_every_counselor(escrow: Escrow) -> None:
    """A note sealed as a counselor's client seals it: the server stores it and hands each counselor its wrap;
    its text is nowhere in the database's bytes, and the other counselor opens it with their own key."""
    ana, bo = escrow.counselors
    headers, bo_headers = escrow.counselor_headers(ana), escrow.counselor_headers(bo)
    match_id = make_match(escrow)
    case_id = case_of(listed(escrow, headers), match_id).case_id
    text = "The second reporter asked to be called only after six in the evening."
    note_id = conversations.new_id()
    sealed = conversations.seal_item(conversations.Kind.NOTE, _raw(case_id), note_id, conversations.Note(text),
                                     signer_seed=conversations.counselor_signing_seed(ana.seed),
                                     recipients=[ana.public_key, bo.public_key])
    answer = escrow.client.post(f"{API}/cases/{case_id}/notes", json={"note_id": b64(note_id), **sealed.to_json()},
                                headers=headers)
    assert answer.status_code == 201, answer.text

    escrow.db.dispose()  # SQLite writes everything back into the file
    stored = b"".join(p.read_bytes() for p in escrow.settings.data_dir.rglob("*") if p.is_file())
    assert sealed.content in stored  # the ciphertext is there...
    for needle in (text, "six in the evening"):  # ...and the text is not, in any file of the server
        assert needle.encode() not in stored

    (note,) = escrow.client.get(f"{API}/cases/{case_id}/notes", headers=bo_headers).json()
    assert note["wrap"] == b64(sealed.wraps[bo.key_id])  # bo's own wrap, not ana's
    opened = conversations.open_item(conversations.Kind.NOTE, _raw(note["scope"]), _raw(note["note_id"]),
                                     _raw(note["content"]), _raw(note["wrap"]), bo.seed)
    assert opened.payload == conversations.Note(text)
    assert opened.sender == conversations.counselor_signing_key(ana.seed)


def test_counselors_listing_at_once_make_one_case_per_match(any_escrow: Escrow) -> None:
    """The first listings after a release pass race to make the new matches' cases: one case each, no leftovers."""
    from concurrent.futures import ThreadPoolExecutor

    escrow = any_escrow
    headers = escrow.counselor_headers(escrow.counselors[0])
    made = {make_match(escrow) for _ in range(3)}
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: escrow.client.get(f"{API}/cases", headers=headers), range(8)))
    assert [a.status_code for a in answers] == [200] * 8
    assert len({a.text for a in answers}) == 1
    with escrow.db.read() as session:
        assert session.scalar(select(func.count()).select_from(CaseRow)) == 3
        assert {b64(m.match_id) for m in session.scalars(select(Match).where(Match.case_id.is_not(None)))} == made
