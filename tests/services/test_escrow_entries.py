"""Submitting, retrying, editing and withdrawing entries (PROTOCOL.md §8, §9).

Protocol v2: one active entry per account and person (409 ``already_named``); reporters see only
"escrowed" or "withdrawn"; editing and withdrawing work the same before and after a release.
Releases happen in the release pass (``Escrow.run_pass``), never in the submitter's request.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from consilience.crypto import aead
from consilience.protocol.encoding import b64u_decode
from consilience.protocol.messages import MAX_BODY_BYTES, EntryDetail, EntryReceipt, EntrySummary

from .harness import API, Escrow, b64


def test_submit_escrows_and_reads_back(escrow: Escrow) -> None:
    reporter = escrow.reporter()
    submission = escrow.submission(tags=[os.urandom(32), os.urandom(32)], quorum=3)
    response = escrow.submit(reporter, submission)
    assert response.status_code == 201, response.text
    receipt = EntryReceipt.model_validate(response.json())
    assert receipt.status == "escrowed" and receipt.entry_id == submission["entry_id"]
    listed = escrow.client.get(f"{API}/entries", headers=reporter.headers).json()
    assert [EntrySummary.model_validate(e).entry_id for e in listed] == [submission["entry_id"]]
    detail = EntryDetail.model_validate(
        escrow.client.get(f"{API}/entries/{submission['entry_id']}", headers=reporter.headers).json())
    assert detail.body == submission["body"] and detail.quorum == 3
    assert sorted(detail.tags) == sorted(submission["tags"])
    assert {(e.key_id, e.ciphertext) for e in detail.envelopes} == {
        (e["key_id"], e["ciphertext"]) for e in submission["envelopes"]}


def test_retry_is_idempotent_and_counts_once(escrow: Escrow) -> None:
    a, b = escrow.reporter(), escrow.reporter()
    tag = os.urandom(32)
    submission = escrow.submission(tags=[tag], quorum=2)
    first = escrow.submit(a, submission)
    again = escrow.submit(a, submission)
    shuffled = {**submission, "tags": list(reversed(submission["tags"])),
                "envelopes": list(reversed(submission["envelopes"]))}
    third = escrow.submit(a, shuffled)
    assert first.status_code == 201 and again.status_code == 200 and third.status_code == 200
    assert first.json() == again.json() == third.json()
    assert escrow.counts()["entries"] == 1
    escrow.run_pass()
    assert escrow.counts()["matches"] == 0  # one account is one account, however often it retries
    assert escrow.submit(b, escrow.submission(tags=[tag], quorum=2)).json()["status"] == "escrowed"
    escrow.run_pass()
    assert escrow.stored_status(submission["entry_id"]) == "released"
    retried = escrow.submit(a, submission)
    assert retried.status_code == 200 and retried.json()["status"] == "escrowed"  # reporters never see "released"


def test_one_active_entry_per_account_and_person(escrow: Escrow) -> None:
    """(d): a second entry by the same account under a tag it already has is 409 already_named, on POST and PUT;
    the answer names the existing entry so the client can offer to add to it."""
    a, b = escrow.reporter(), escrow.reporter()
    tag, other_tag = os.urandom(32), os.urandom(32)
    first = escrow.submission(tags=[tag, os.urandom(32)])
    assert escrow.submit(a, first).status_code == 201
    before = escrow.counts()
    for tags in ([tag], [other_tag, tag]):
        refused = escrow.submit(a, escrow.submission(tags=tags))
        assert refused.status_code == 409, refused.text
        assert refused.json()["error"] == "already_named"
        assert refused.json()["entry_id"] == first["entry_id"]
        assert "add" in refused.json()["detail"]
    assert escrow.counts() == before
    # another account may name the same person; the same account may name someone else
    assert escrow.submit(b, escrow.submission(tags=[tag])).status_code == 201
    second = escrow.submission(tags=[other_tag])
    assert escrow.submit(a, second).status_code == 201
    # editing the second entry to name the first entry's person is refused too
    moved = escrow.submission(tags=[tag], entry_id=b64u_decode(second["entry_id"]))
    response = escrow.client.put(f"{API}/entries/{second['entry_id']}", json=moved, headers=a.headers)
    assert response.status_code == 409 and response.json()["error"] == "already_named"
    # re-sending or replacing the entry itself is fine
    assert escrow.submit(a, first).status_code == 200
    replaced = escrow.submission(tags=[tag], entry_id=b64u_decode(first["entry_id"]))
    assert escrow.client.put(f"{API}/entries/{first['entry_id']}", json=replaced, headers=a.headers).status_code == 200
    # after a withdrawal the account may name the person again
    assert escrow.client.delete(f"{API}/entries/{first['entry_id']}", headers=a.headers).status_code == 200
    assert escrow.submit(a, escrow.submission(tags=[tag])).status_code == 201


def test_concurrent_entries_naming_one_person_from_one_account_store_one(any_escrow: Escrow) -> None:
    from concurrent.futures import ThreadPoolExecutor

    escrow = any_escrow
    a = escrow.reporter()
    tag = os.urandom(32)
    submissions = [escrow.submission(tags=[tag]) for _ in range(6)]
    with ThreadPoolExecutor(6) as pool:
        codes = sorted(r.status_code for r in pool.map(lambda s: escrow.submit(a, s), submissions))
    assert codes == [201] + [409] * 5
    assert escrow.counts()["entries"] == 1


def test_reused_id_with_other_content_or_account_is_409(escrow: Escrow) -> None:
    a, b = escrow.reporter(), escrow.reporter()
    submission = escrow.submission()
    assert escrow.submit(a, submission).status_code == 201
    before = escrow.counts()
    for who, changed in ((a, {**submission, "quorum": 3}), (a, {**submission, "body": b64(os.urandom(300))}),
                         (b, submission)):
        response = escrow.submit(who, changed)
        assert response.status_code == 409 and response.json()["error"] == "conflict"
    assert escrow.counts() == before


def test_stale_serial_and_wrong_counselors_are_409_naming_the_serial(escrow: Escrow) -> None:
    reporter = escrow.reporter()
    keys = [c.key_id for c in escrow.counselors]
    before = escrow.counts()
    for submission in (escrow.submission(serial=escrow.deployment.serial + 1),
                       escrow.submission(key_ids=keys[:1]),
                       escrow.submission(key_ids=[*keys, os.urandom(16)]),
                       escrow.submission(key_ids=[keys[0], os.urandom(16)])):
        response = escrow.submit(reporter, submission)
        assert response.status_code == 409, response.text
        assert response.json()["current_serial"] == escrow.deployment.serial
        assert str(escrow.deployment.serial) in response.json()["detail"]
    assert escrow.counts() == before


@pytest.mark.parametrize("change", [
    {"quorum": 1}, {"quorum": 6}, {"quorum": 33},
    {"tags": []}, {"tags": [b64(os.urandom(32))] * 9}, {"tags": [b64(os.urandom(31))]},
    {"entry_id": b64(os.urandom(17))}, {"entry_id": "AAAA=AAAAAAAAAAAAAAAAA"},
    {"body": "not*base64"}, {"body": ""}, {"body": b64(os.urandom(MAX_BODY_BYTES + 1))},
    {"envelopes": []}, {"envelopes": [{"key_id": "x", "ciphertext": "AA"}]},
    {"envelopes": [{"key_id": b64(os.urandom(16)), "ciphertext": b64(os.urandom(16 * 1024 + 1))}]},
    {"deployment_serial": 0}, {"extra": 1}, {"quorum": "two"}, {"quorum": 2.5}, {"tags": "AAAA"},
])
def test_bad_input_is_refused_and_writes_nothing(escrow: Escrow, change: dict[str, object]) -> None:
    reporter = escrow.reporter()
    before = escrow.counts()
    response = escrow.submit(reporter, {**escrow.submission(), **change})
    assert response.status_code in (400, 413, 422), response.text
    assert set(response.json()) == {"error", "detail"}
    assert escrow.counts() == before


def test_duplicate_tags_or_envelopes_are_refused(escrow: Escrow) -> None:
    reporter = escrow.reporter()
    tag = os.urandom(32)
    before = escrow.counts()
    response = escrow.submit(reporter, escrow.submission(tags=[tag, tag]))
    assert response.status_code == 422 and "distinct" in response.json()["detail"]
    key = escrow.counselors[0].key_id
    assert escrow.submit(reporter, escrow.submission(key_ids=[key, key])).status_code == 422
    assert escrow.counts() == before


def test_error_details_do_not_echo_submitted_values(escrow: Escrow) -> None:
    reporter = escrow.reporter()
    secret = b64(os.urandom(31))
    response = escrow.submit(reporter, {**escrow.submission(), "tags": [secret]})
    assert response.status_code == 422 and secret not in response.text


def test_malformed_json_is_400(escrow: Escrow) -> None:
    reporter = escrow.reporter()
    response = escrow.client.post(f"{API}/entries", content=b'{"entry_id": ',
                                  headers={**reporter.headers, "Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["error"] == "malformed"


def test_oversize_requests_are_413_before_parsing(escrow: Escrow) -> None:
    reporter = escrow.reporter()
    before = escrow.counts()
    limit = escrow.settings.max_request_bytes
    big = json.dumps({**escrow.submission(), "padding": "x" * limit}).encode()
    declared = escrow.client.post(f"{API}/entries", content=big,
                                  headers={**reporter.headers, "Content-Type": "application/json"})
    assert declared.status_code == 413 and declared.json()["error"] == "too_large"

    def chunks():  # no Content-Length: the server has to count
        for i in range(0, len(big), 64 * 1024):
            yield big[i:i + 64 * 1024]

    streamed = escrow.client.post(f"{API}/entries", content=chunks(),
                                  headers={**reporter.headers, "Content-Type": "application/json"})
    assert streamed.status_code == 413
    registered = escrow.client.post(f"{API}/register", content=b"{" + b" " * limit + b"}",
                                    headers={"Content-Type": "application/json"})
    assert registered.status_code == 413
    assert escrow.counts() == before


def test_edit_and_withdraw_before_release(escrow: Escrow) -> None:
    a, b = escrow.reporter(), escrow.reporter()
    wrong, right = os.urandom(32), os.urandom(32)
    submission = escrow.submission(tags=[wrong], quorum=2)
    entry_id = submission["entry_id"]
    received = escrow.submit(a, submission).json()["received_at"]
    edited = escrow.submission(tags=[right], quorum=2, entry_id=b64u_decode(entry_id))
    response = escrow.client.put(f"{API}/entries/{entry_id}", json=edited, headers=a.headers)
    assert response.status_code == 200 and response.json()["received_at"] == received
    assert escrow.client.put(f"{API}/entries/{entry_id}", json=edited, headers=a.headers).status_code == 200
    detail = escrow.client.get(f"{API}/entries/{entry_id}", headers=a.headers).json()
    assert detail["tags"] == [b64(right)] and detail["body"] == edited["body"]
    # the old tag no longer counts
    lonely = escrow.submission(tags=[wrong])
    assert escrow.submit(b, lonely).json()["status"] == "escrowed"
    escrow.run_pass()
    assert escrow.stored_status(lonely["entry_id"]) == "escrowed" and escrow.counts()["matches"] == 0
    mismatched = escrow.client.put(f"{API}/entries/{b64(os.urandom(16))}", json=edited, headers=a.headers)
    assert mismatched.status_code == 422

    other = escrow.submission(tags=[os.urandom(32)])
    escrow.submit(a, other)
    withdrawn = escrow.client.delete(f"{API}/entries/{other['entry_id']}", headers=a.headers)
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    assert escrow.client.delete(f"{API}/entries/{other['entry_id']}", headers=a.headers).status_code == 200
    tomb = escrow.client.get(f"{API}/entries/{other['entry_id']}", headers=a.headers).json()
    assert tomb["status"] == "withdrawn" and tomb["body"] is None
    assert tomb["tags"] == [] and tomb["envelopes"] == []
    again = escrow.client.put(f"{API}/entries/{other['entry_id']}", json=other, headers=a.headers)
    assert again.status_code == 409
    assert escrow.submit(a, other).status_code == 409  # a withdrawn id stays used


def test_released_entries_can_be_edited_and_withdrawn_like_any_other(escrow: Escrow) -> None:
    """(e): what a reporter may do with an entry does not depend on whether it was released."""
    a, b = escrow.reporter(), escrow.reporter()
    tag = os.urandom(32)
    submission = escrow.submission(tags=[tag])
    escrow.submit(a, submission)
    escrow.submit(b, escrow.submission(tags=[tag]))
    escrow.run_pass()
    entry_id = submission["entry_id"]
    assert escrow.stored_status(entry_id) == "released"
    # a retried PUT with the stored content is not an edit
    assert escrow.client.put(f"{API}/entries/{entry_id}", json=submission, headers=a.headers).status_code == 200
    edit = escrow.submission(tags=[os.urandom(32)], entry_id=b64u_decode(entry_id))
    edited = escrow.client.put(f"{API}/entries/{entry_id}", json=edit, headers=a.headers)
    assert edited.status_code == 200 and edited.json()["status"] == "escrowed"
    escrow.run_pass()
    assert escrow.stored_status(entry_id) == "escrowed"  # its new tag has no match
    withdrawn = escrow.client.delete(f"{API}/entries/{entry_id}", headers=a.headers)
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"


def test_withdrawn_entries_do_not_count(escrow: Escrow) -> None:
    a, b = escrow.reporter(), escrow.reporter()
    tag = os.urandom(32)
    submission = escrow.submission(tags=[tag])
    escrow.submit(a, submission)
    escrow.client.delete(f"{API}/entries/{submission['entry_id']}", headers=a.headers)
    later = escrow.submission(tags=[tag])
    assert escrow.submit(b, later).json()["status"] == "escrowed"
    escrow.run_pass()
    assert escrow.stored_status(later["entry_id"]) == "escrowed" and escrow.counts()["matches"] == 0


def test_other_reporters_entries_do_not_exist(escrow: Escrow) -> None:
    a, b = escrow.reporter(), escrow.reporter()
    submission = escrow.submission()
    escrow.submit(a, submission)
    entry_id = submission["entry_id"]
    missing = b64(os.urandom(16))
    for target in (entry_id, missing):
        responses = [
            escrow.client.get(f"{API}/entries/{target}", headers=b.headers),
            escrow.client.put(f"{API}/entries/{target}", json={**submission, "entry_id": target}, headers=b.headers),
            escrow.client.delete(f"{API}/entries/{target}", headers=b.headers),
        ]
        assert [r.status_code for r in responses] == [404, 404, 404]
        assert all(r.json() == {"error": "not_found", "detail": "no such entry"} for r in responses)
    assert escrow.client.get(f"{API}/entries", headers=b.headers).json() == []
    assert escrow.client.get(f"{API}/entries/not-an-id", headers=b.headers).status_code == 400
    assert escrow.client.get(f"{API}/entries/{entry_id}", headers=a.headers).json()["status"] == "escrowed"


@pytest.mark.parametrize("escrow", ["sqlite"], indirect=True)  # the files of a SQLite database
def test_database_files_hold_no_plaintext_or_credentials(escrow: Escrow) -> None:
    """The server only ever receives ciphertext; its files must not hold the clear text either way."""
    reporter = escrow.reporter()
    plaintext = b'{"record": "the manager cornered me after the offsite", "contact": "me@example.org"}'
    entry_id = os.urandom(16)
    body = aead.seal(aead.new_key(), plaintext, b"consilience-v2 body" + entry_id)
    invite = escrow.invite()  # the invite's seed: the database holds its public key and certificate only
    response = escrow.submit(reporter, escrow.submission(entry_id=entry_id, body=body))
    assert response.status_code == 201
    escrow.db.dispose()
    escrow.state.db.dispose()
    files = [p for p in Path(escrow.settings.data_dir).glob("escrow.sqlite*")]
    stored = b"".join(p.read_bytes() for p in files)
    assert body in stored  # the check below is looking at the right bytes
    for secret in (plaintext, b"cornered", b"me@example.org", reporter.token, invite, reporter.seed,
                   b64(reporter.token).encode()):
        assert secret not in stored
