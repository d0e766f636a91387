"""Who read a record (PROTOCOL.md §13.6): a reporter sees each counselor opening of their entry, nothing else.

A reading is a counselor's opening that handed out the entry's body. The list names the counselor by
key id, which the opening event in the log carries too (it used to carry the counselor's account
id, which no reporter can map to anyone), and each reading's receipt, once a release pass has
logged the opening, opens that leaf. An entry that was released but not opened, or whose shares a
counselor fetched without its body (not released in that match), has no reader: the list must not
tell a reporter that a match exists before a counselor acted on it.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

import pytest

from consilience.clients import receipts
from consilience.errors import VerificationError
from consilience.protocol import events
from consilience.protocol.deployment import Counselor
from consilience.protocol.encoding import b64u_decode
from consilience.protocol.messages import Readers
from consilience.storage import log

from .harness import API, Escrow, Reporter, b64, newer


def readers(escrow: Escrow, headers: dict[str, str], entry_id: str) -> Readers:
    answer = escrow.client.get(f"{API}/entries/{entry_id}/readers", headers=headers)
    assert answer.status_code == 200, answer.text
    return Readers.model_validate(answer.json())


def matched(escrow: Escrow, *quorums: int) -> tuple[list[Reporter], list[dict[str, Any]], str]:
    """Reporters naming one person with these quorums, after the release pass: (reporters, submissions, match)."""
    tag = os.urandom(32)
    people = [escrow.reporter() for _ in quorums]
    sent = [escrow.submission(tags=[tag], quorum=q) for q in quorums]
    for who, submission in zip(people, sent, strict=True):
        assert escrow.submit(who, submission).status_code == 201
    escrow.run_pass()
    counselor = escrow.counselor_headers(escrow.counselors[0])
    [match] = escrow.client.get(f"{API}/matches", headers=counselor).json()
    return people, sent, match["match_id"]


def test_a_reporter_sees_each_counselor_opening_of_their_entry_with_a_receipt_that_verifies(escrow: Escrow) -> None:
    (a, b), (first, second), match_id = matched(escrow, 2, 2)
    assert readers(escrow, a.headers, first["entry_id"]).readers == []  # released, not read: nothing to see
    ana, bo = escrow.counselors
    for counselor in (ana, bo, ana):
        opened = escrow.client.get(f"{API}/matches/{match_id}", headers=escrow.counselor_headers(counselor))
        assert opened.status_code == 200

    listed = readers(escrow, a.headers, first["entry_id"]).readers
    assert [b64u_decode(r.counselor_key_id) for r in listed] == [ana.key_id, bo.key_id, ana.key_id]
    assert all(r.receipt is None for r in listed)  # the openings wait for the next release pass
    escrow.run_pass()
    listed = readers(escrow, a.headers, first["entry_id"]).readers
    assert all(r.receipt is not None for r in listed)
    for reading in listed:
        assert reading.receipt is not None
        checked = receipts.check_reading(reading.receipt, escrow.deployment, b64u_decode(reading.counselor_key_id),
                                         reading.opened_at)
        assert checked.event.kind == "opening" and checked.event.match_id == b64u_decode(match_id)
        assert checked.event.counselor_id == b64u_decode(reading.counselor_key_id)
    # a receipt does not pass for another counselor's reading, nor for another time
    assert listed[0].receipt is not None
    with pytest.raises(VerificationError, match="another counselor"):
        receipts.check_reading(listed[0].receipt, escrow.deployment, bo.key_id, listed[0].opened_at)
    with pytest.raises(VerificationError, match="another time"):
        receipts.check_reading(listed[0].receipt, escrow.deployment, ana.key_id,
                               listed[0].opened_at - timedelta(seconds=5))
    # the other reporter of the match sees the same readings of their own entry
    assert len(readers(escrow, b.headers, second["entry_id"]).readers) == 3


def test_the_opening_event_names_the_counselors_key_id_not_their_account(escrow: Escrow) -> None:
    _, _, match_id = matched(escrow, 2, 2)
    ana = escrow.counselors[0]
    escrow.client.get(f"{API}/matches/{match_id}", headers=escrow.counselor_headers(ana))
    escrow.run_pass()
    with escrow.db.read() as session:
        found = [events.parse_event(events.parse_opening(leaf.opening).event) for leaf in log.leaves(session)]
    [opening] = [e for e in found if e.kind == "opening"]
    assert opening.counselor_id == ana.key_id and opening.match_id == b64u_decode(match_id)


def test_an_entry_whose_shares_were_fetched_but_not_its_body_shows_no_reader(escrow: Escrow) -> None:
    """Its reporter must not learn that a match exists under the tag: a counselor saw only its shares."""
    (a, _, c), (first, _, waiting), match_id = matched(escrow, 2, 2, 5)
    for counselor in escrow.counselors:
        escrow.client.get(f"{API}/matches/{match_id}", headers=escrow.counselor_headers(counselor))
    escrow.run_pass()
    assert escrow.stored_status(waiting["entry_id"]) == "escrowed"
    unread = escrow.client.get(f"{API}/entries/{waiting['entry_id']}/readers", headers=c.headers)
    assert unread.status_code == 200 and unread.json() == {"readers": []}
    never_matched = escrow.reporter()
    alone = escrow.submission(tags=[os.urandom(32)])
    escrow.submit(never_matched, alone)
    lonely = escrow.client.get(f"{API}/entries/{alone['entry_id']}/readers", headers=never_matched.headers)
    assert lonely.json() == unread.json()  # the same answer as an entry no match ever touched
    assert len(readers(escrow, a.headers, first["entry_id"]).readers) == 2


def test_another_reporters_readers_are_404_like_an_entry_that_does_not_exist(escrow: Escrow) -> None:
    (a, b), (first, _), match_id = matched(escrow, 2, 2)
    escrow.client.get(f"{API}/matches/{match_id}", headers=escrow.counselor_headers(escrow.counselors[0]))
    theirs = escrow.client.get(f"{API}/entries/{first['entry_id']}/readers", headers=b.headers)
    nobody = escrow.client.get(f"{API}/entries/{b64(os.urandom(16))}/readers", headers=b.headers)
    assert theirs.status_code == nobody.status_code == 404
    assert theirs.json() == nobody.json()
    counselor = escrow.client.get(f"{API}/entries/{first['entry_id']}/readers",
                                  headers=escrow.counselor_headers(escrow.counselors[1]))
    assert counselor.status_code == 403
    assert escrow.client.get(f"{API}/entries/{first['entry_id']}/readers").status_code == 401
    assert escrow.client.get(f"{API}/entries/not-an-id/readers", headers=a.headers).status_code == 400


def test_a_withdrawn_entry_still_shows_who_read_it_before(escrow: Escrow) -> None:
    (a, _), (first, _), match_id = matched(escrow, 2, 2)
    escrow.client.get(f"{API}/matches/{match_id}", headers=escrow.counselor_headers(escrow.counselors[1]))
    assert escrow.client.delete(f"{API}/entries/{first['entry_id']}", headers=a.headers).status_code == 200
    [reading] = readers(escrow, a.headers, first["entry_id"]).readers
    assert b64u_decode(reading.counselor_key_id) == escrow.counselors[1].key_id


def test_a_counselor_without_an_envelope_of_the_entry_has_not_read_it(escrow: Escrow) -> None:
    """Escrowed before bo was listed: bo's opening hands out neither envelope nor body, so it is no reading."""
    ana, bo = escrow.counselors
    escrow.publish(newer(escrow.deployment, counselors=(Counselor(ana.name, ana.key_id, ana.public_key),)))
    tag, people = os.urandom(32), [escrow.reporter(), escrow.reporter()]
    sent = [escrow.submission(tags=[tag], key_ids=[ana.key_id]) for _ in people]
    for who, submission in zip(people, sent, strict=True):
        assert escrow.submit(who, submission).status_code == 201
    escrow.run_pass()
    escrow.publish(newer(escrow.deployment, counselors=tuple(Counselor(c.name, c.key_id, c.public_key)
                                                             for c in (ana, bo))))
    bo_headers = escrow.counselor_headers(bo)
    [match] = escrow.client.get(f"{API}/matches", headers=bo_headers).json()
    assert escrow.client.get(f"{API}/matches/{match['match_id']}", headers=bo_headers).json()["entries"] == []
    assert readers(escrow, people[0].headers, sent[0]["entry_id"]).readers == []
    escrow.client.get(f"{API}/matches/{match['match_id']}", headers=escrow.counselor_headers(ana))
    [reading] = readers(escrow, people[0].headers, sent[0]["entry_id"]).readers
    assert b64u_decode(reading.counselor_key_id) == ana.key_id
