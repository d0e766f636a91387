"""Per-account quotas at the escrow server: bytes and number of active entries (issue 12, item 4).

The attack: the per-account write budget (1,200 entry changes an hour, burst 300) bounds how fast
an account writes, not how much it keeps, so one account (or whoever stole its token) could store
about 5 GB an hour of 4 MiB entries until the escrow server's disk is full and nobody can put
anything in escrow. Here one account does exactly that against the default settings: it must be
stopped at the quota with 413 and a plain answer, the refused request must change nothing in the
database, and other accounts (and the same one, once it withdraws something) must still get in.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import pg_cluster
from consilience.clients.escrow_client import describe
from consilience.protocol.encoding import b64u_decode
from consilience.protocol.messages import MAX_BODY_BYTES
from consilience.services.config import ConfigurationError
from consilience.services.escrow.limits import QUOTA_BYTES, QUOTA_ENTRIES, Quotas, quotas_from_env
from consilience.services.escrow.settings import Settings
from consilience.storage import quotas as stored
from consilience.storage import repository

from .harness import API, Escrow, Reporter, build


def held(escrow: Escrow, reporter: Reporter) -> stored.Usage:
    with escrow.db.read() as session:
        return stored.usage(session, reporter.account_id)


def content_of(escrow: Escrow, entry_id: str) -> tuple[bytes | None, bytes | None]:
    with escrow.db.read() as session:
        entry = repository.get_entry(session, b64u_decode(entry_id))
        assert entry is not None
        return entry.body, entry.content_hash


def put(escrow: Escrow, reporter: Reporter, submission: dict[str, Any]) -> Any:
    return escrow.client.put(f"{API}/entries/{submission['entry_id']}", json=submission, headers=reporter.headers)


def test_one_account_cannot_fill_the_disk_with_largest_entries(tmp_path: Path) -> None:
    escrow = build(tmp_path)  # the defaults: 64 MiB and 200 entries an account
    mallory, alice = escrow.reporter(), escrow.reporter()
    answers = []
    for _ in range(40):  # 160 MiB, well within the write budget's burst of 300
        before = escrow.counts()
        answer = escrow.submit(mallory, escrow.submission(body=os.urandom(MAX_BODY_BYTES)))
        answers.append(answer.status_code)
        if answer.status_code != 201:
            break
    assert answers == [201] * 15 + [413], "15 largest entries and their envelopes fit in 64 MiB, the 16th does not"
    refused = answer.json()
    assert refused["error"] == "over_storage_quota" and refused["limit"] == QUOTA_BYTES
    assert "more than the 64 MiB one account may store" in refused["detail"]
    assert "withdraw an entry you no longer need, or shorten this one" in refused["detail"]
    assert escrow.counts() == before, "a refused submission changes nothing"
    assert held(escrow, mallory).bytes <= QUOTA_BYTES
    assert escrow.submit(alice, escrow.submission(body=os.urandom(MAX_BODY_BYTES))).status_code == 201
    # withdrawing frees the space at once
    first = escrow.client.get(f"{API}/entries", headers=mallory.headers).json()[0]["entry_id"]
    assert escrow.client.delete(f"{API}/entries/{first}", headers=mallory.headers).status_code == 200
    assert escrow.submit(mallory, escrow.submission(body=os.urandom(MAX_BODY_BYTES))).status_code == 201


def test_the_number_of_active_entries_is_bounded_and_withdrawn_ones_do_not_count(tmp_path: Path) -> None:
    escrow = build(tmp_path, quotas=Quotas(entries_per_account=3))
    mallory = escrow.reporter()
    kept = [escrow.submission() for _ in range(3)]
    assert [escrow.submit(mallory, s).status_code for s in kept] == [201] * 3
    before = escrow.counts()
    refused = escrow.submit(mallory, escrow.submission())
    assert refused.status_code == 413 and refused.json()["error"] == "too_many_entries"
    assert "already has 3 entries in escrow" in refused.json()["detail"]
    assert "withdraw one you no longer need" in refused.json()["detail"]
    assert escrow.counts() == before
    assert escrow.submit(mallory, kept[0]).status_code == 200, "a retry of a stored entry is not a new one"
    edited = {**kept[1], "body": escrow.submission()["body"]}
    assert put(escrow, mallory, edited).status_code == 200, "an edit does not add an entry"
    assert escrow.client.delete(f"{API}/entries/{kept[2]['entry_id']}", headers=mallory.headers).status_code == 200
    assert escrow.submit(mallory, escrow.submission()).status_code == 201
    assert escrow.submit(escrow.reporter(), escrow.submission()).status_code == 201, "per account, not in all"


def test_an_edit_that_grows_past_the_quota_is_refused_and_leaves_the_entry_as_it_was(tmp_path: Path) -> None:
    escrow = build(tmp_path, quotas=Quotas(bytes_per_account=10_000))
    mallory = escrow.reporter()
    small = escrow.submission(body=os.urandom(1000))
    assert escrow.submit(mallory, small).status_code == 201
    assert escrow.submit(mallory, escrow.submission(body=os.urandom(4000))).status_code == 201
    stored_before, counts = content_of(escrow, small["entry_id"]), escrow.counts()
    grown = {**small, "body": escrow.submission(body=os.urandom(6000))["body"]}
    refused = put(escrow, mallory, grown)
    assert refused.status_code == 413 and refused.json()["error"] == "over_storage_quota"
    assert content_of(escrow, small["entry_id"]) == stored_before and escrow.counts() == counts
    # its own old content is not counted against it: an edit to the same size, or up to the quota, passes
    fits = {**small, "body": escrow.submission(body=os.urandom(10_000 - 4000 - 4 * 200))["body"]}
    assert put(escrow, mallory, fits).status_code == 200
    assert held(escrow, mallory) == stored.Usage(entries=2, bytes=10_000)



@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str | None:
    if request.param == "sqlite":
        return None
    return pg_cluster.fresh_database(request.getfixturevalue("postgres_admin_url"))


def test_concurrent_submissions_cannot_each_take_the_last_place(tmp_path: Path, database_url: str | None) -> None:
    escrow = build(tmp_path, database_url=database_url, quotas=Quotas(entries_per_account=3))
    mallory = escrow.reporter()
    assert escrow.submit(mallory, escrow.submission()).status_code == 201
    submissions = [escrow.submission() for _ in range(8)]
    start = threading.Barrier(len(submissions))

    def send(submission: dict[str, Any]) -> int:
        start.wait()
        status: int = escrow.submit(mallory, submission).status_code
        return status

    with ThreadPoolExecutor(len(submissions)) as pool:
        answers = sorted(pool.map(send, submissions))
    assert answers == [201, 201] + [413] * 6
    assert held(escrow, mallory).entries == 3
    escrow.db.dispose()


def test_quotas_are_settings_with_one_default_each(tmp_path: Path) -> None:
    assert Quotas() == Quotas(bytes_per_account=64 * 2**20, entries_per_account=200)
    assert (QUOTA_BYTES, QUOTA_ENTRIES) == (64 * 2**20, 200)
    assert quotas_from_env({}) == Quotas()
    env = {"CONSILIENCE_DATA_DIR": str(tmp_path), "CONSILIENCE_QUOTA_BYTES": "1GiB", "CONSILIENCE_QUOTA_ENTRIES": "50"}
    assert Settings.from_env(env).quotas == Quotas(bytes_per_account=2**30, entries_per_account=50)
    assert quotas_from_env({"CONSILIENCE_QUOTA_BYTES": "123456"}).bytes_per_account == 123456
    assert quotas_from_env({"CONSILIENCE_QUOTA_BYTES": "16 MiB"}).bytes_per_account == 16 * 2**20
    for bad in ({"CONSILIENCE_QUOTA_BYTES": "lots"}, {"CONSILIENCE_QUOTA_BYTES": "0"},
                {"CONSILIENCE_QUOTA_ENTRIES": "-1"}, {"CONSILIENCE_QUOTA_ENTRIES": "2.5"}):
        with pytest.raises(ConfigurationError, match="CONSILIENCE_QUOTA|quota must be a positive whole number"):
            quotas_from_env(bad)


def test_clients_say_it_in_plain_words() -> None:
    detail = ("this account's entries in escrow would take 66.1 MiB, more than the 64 MiB one account may store; "
              "withdraw an entry you no longer need, or shorten this one (fewer or smaller attachments), then try "
              "again")
    said = describe(413, "over_storage_quota", detail, server="https://escrow.example.org")
    assert said.startswith("The escrow server at https://escrow.example.org did not store this") and detail in said
    assert "Nothing was stored" in said
    count = describe(413, "too_many_entries", "this account already has 200 entries in escrow, the most …")
    assert "did not store this" in count and "200 entries" in count
    assert "attachments" in describe(413, "too_large", "request body exceeds 8388608 bytes")
