"""Submitting, retrying, editing and withdrawing entries (PROTOCOL.md §8, §9)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from consilience.crypto import aead
from consilience.protocol.encoding import b64u_decode
from consilience.protocol.messages import MAX_BODY_BYTES, EntryDetail, EntryReceipt, EntrySummary

from .harness import Escrow, b64


def test_submit_escrows_and_reads_back(escrow: Escrow) -> None:
    reporter = escrow.reporter()
    submission = escrow.submission(tags=[os.urandom(32), os.urandom(32)], quorum=3)
    response = escrow.submit(reporter, submission)
    assert response.status_code == 201, response.text
    receipt = EntryReceipt.model_validate(response.json())
    assert receipt.status == "escrowed" and receipt.entry_id == submission["entry_id"]
    listed = escrow.client.get("/v1/entries", headers=reporter.headers).json()
    assert [EntrySummary.model_validate(e).entry_id for e in listed] == [submission["entry_id"]]
    detail = EntryDetail.model_validate(
        escrow.client.get(f"/v1/entries/{submission['entry_id']}", headers=reporter.headers).json())
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
    # a second entry by the same account under the same tag is still one account
    assert escrow.submit(a, escrow.submission(tags=[tag], quorum=2)).json()["status"] == "escrowed"
    assert escrow.counts()["matches"] == 0
    assert escrow.submit(b, escrow.submission(tags=[tag], quorum=2)).json()["status"] == "released"
    retried = escrow.submit(a, submission)
    assert retried.status_code == 200 and retried.json()["status"] == "released"


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
    response = escrow.client.post("/v1/entries", content=b'{"entry_id": ',
                                  headers={**reporter.headers, "Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["error"] == "malformed"


def test_oversize_requests_are_413_before_parsing(escrow: Escrow) -> None:
    reporter = escrow.reporter()
    before = escrow.counts()
    limit = escrow.settings.max_request_bytes
    big = json.dumps({**escrow.submission(), "padding": "x" * limit}).encode()
    declared = escrow.client.post("/v1/entries", content=big,
                                  headers={**reporter.headers, "Content-Type": "application/json"})
    assert declared.status_code == 413 and declared.json()["error"] == "too_large"

    def chunks():  # no Content-Length: the server has to count
        for i in range(0, len(big), 64 * 1024):
            yield big[i:i + 64 * 1024]

    streamed = escrow.client.post("/v1/entries", content=chunks(),
                                  headers={**reporter.headers, "Content-Type": "application/json"})
    assert streamed.status_code == 413
    registered = escrow.client.post("/v1/accounts", content=b"{" + b" " * limit + b"}",
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
    response = escrow.client.put(f"/v1/entries/{entry_id}", json=edited, headers=a.headers)
    assert response.status_code == 200 and response.json()["received_at"] == received
    assert escrow.client.put(f"/v1/entries/{entry_id}", json=edited, headers=a.headers).status_code == 200
    detail = escrow.client.get(f"/v1/entries/{entry_id}", headers=a.headers).json()
    assert detail["tags"] == [b64(right)] and detail["body"] == edited["body"]
    # the old tag no longer counts, the new one does
    assert escrow.submit(b, escrow.submission(tags=[wrong])).json()["status"] == "escrowed"
    mismatched = escrow.client.put(f"/v1/entries/{b64(os.urandom(16))}", json=edited, headers=a.headers)
    assert mismatched.status_code == 422

    other = escrow.submission(tags=[os.urandom(32)])
    escrow.submit(a, other)
    withdrawn = escrow.client.delete(f"/v1/entries/{other['entry_id']}", headers=a.headers)
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    assert escrow.client.delete(f"/v1/entries/{other['entry_id']}", headers=a.headers).status_code == 200
    tomb = escrow.client.get(f"/v1/entries/{other['entry_id']}", headers=a.headers).json()
    assert tomb["status"] == "withdrawn" and tomb["body"] is None
    assert tomb["tags"] == [] and tomb["envelopes"] == []
    again = escrow.client.put(f"/v1/entries/{other['entry_id']}", json=other, headers=a.headers)
    assert again.status_code == 409
    assert escrow.submit(a, other).status_code == 409  # a withdrawn id stays used


def test_released_entries_can_no_longer_change(escrow: Escrow) -> None:
    a, b = escrow.reporter(), escrow.reporter()
    tag = os.urandom(32)
    submission = escrow.submission(tags=[tag])
    escrow.submit(a, submission)
    assert escrow.submit(b, escrow.submission(tags=[tag])).json()["status"] == "released"
    entry_id = submission["entry_id"]
    before = escrow.counts()
    edit = escrow.submission(tags=[os.urandom(32)], entry_id=b64u_decode(entry_id))
    for response in (escrow.client.put(f"/v1/entries/{entry_id}", json=edit, headers=a.headers),
                     escrow.client.delete(f"/v1/entries/{entry_id}", headers=a.headers)):
        assert response.status_code == 409
        assert response.json()["detail"] == "released entries can no longer be changed"
    assert escrow.counts() == before
    # a retried PUT with the stored content is not an edit
    assert escrow.client.put(f"/v1/entries/{entry_id}", json=submission, headers=a.headers).status_code == 200


def test_withdrawn_entries_do_not_count(escrow: Escrow) -> None:
    a, b = escrow.reporter(), escrow.reporter()
    tag = os.urandom(32)
    submission = escrow.submission(tags=[tag])
    escrow.submit(a, submission)
    escrow.client.delete(f"/v1/entries/{submission['entry_id']}", headers=a.headers)
    assert escrow.submit(b, escrow.submission(tags=[tag])).json()["status"] == "escrowed"


def test_other_reporters_entries_do_not_exist(escrow: Escrow) -> None:
    a, b = escrow.reporter(), escrow.reporter()
    submission = escrow.submission()
    escrow.submit(a, submission)
    entry_id = submission["entry_id"]
    missing = b64(os.urandom(16))
    for target in (entry_id, missing):
        responses = [
            escrow.client.get(f"/v1/entries/{target}", headers=b.headers),
            escrow.client.put(f"/v1/entries/{target}", json={**submission, "entry_id": target}, headers=b.headers),
            escrow.client.delete(f"/v1/entries/{target}", headers=b.headers),
        ]
        assert [r.status_code for r in responses] == [404, 404, 404]
        assert all(r.json() == {"error": "not_found", "detail": "no such entry"} for r in responses)
    assert escrow.client.get("/v1/entries", headers=b.headers).json() == []
    assert escrow.client.get("/v1/entries/not-an-id", headers=b.headers).status_code == 400
    assert escrow.client.get(f"/v1/entries/{entry_id}", headers=a.headers).json()["status"] == "escrowed"


def test_database_files_hold_no_plaintext_or_credentials(escrow: Escrow) -> None:
    """The server only ever receives ciphertext; its files must not hold the clear text either way."""
    reporter = escrow.reporter()
    plaintext = b'{"record": "the manager cornered me after the offsite", "contact": "me@example.org"}'
    entry_id = os.urandom(16)
    body = aead.seal(aead.new_key(), plaintext, b"consilience-v1 body" + entry_id)
    invite = escrow.invite()
    response = escrow.submit(reporter, escrow.submission(entry_id=entry_id, body=body))
    assert response.status_code == 201
    escrow.db.dispose()
    escrow.client.app.state.escrow.db.dispose()  # type: ignore[attr-defined]
    files = [p for p in Path(escrow.settings.data_dir).glob("escrow.sqlite*")]
    stored = b"".join(p.read_bytes() for p in files)
    assert body in stored  # the check below is looking at the right bytes
    for secret in (plaintext, b"cornered", b"me@example.org", reporter.token, invite,
                   b64(reporter.token).encode()):
        assert secret not in stored
