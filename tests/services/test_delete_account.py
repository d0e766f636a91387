"""Delete my account (PROTOCOL.md §14.2): ``DELETE /v2/account``.

What is checked, each as the party who would look: the reporter (every entry withdrawn with its log
leaf, the answer, never signing in again, and no way to tell whether an entry had been released —
probed twice as tests/services/test_escrow_oracle.py probes, once released and once not); the
operator (the database rows: tombstones, no backup, key, address or session left); someone holding a
copy of the SQLite files (a raw search of the database, its -wal and -shm finds none of the erased
bytes, after a positive control found them); and anyone checking the log (it still verifies: every
old receipt is a prefix of the new head, each withdrawal leaf opens as a withdrawal of its entry).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from consilience.clients import receipts
from consilience.protocol import sessions
from consilience.protocol.conversations import MessagingKey
from consilience.protocol.encoding import b64u_decode, b64u_encode
from consilience.services.escrow import transparency
from consilience.storage import deletion, log
from consilience.storage.models import Account, AccountSession, Entry, EntryEnvelope, EntryTag
from consilience.tlog import checkpoint as cp
from consilience.tlog import merkle

from .harness import API, Escrow, Reporter, build, registration
from .messaging import messenger

EMAIL = "deleting.reporter.5521@example.org"


def login(escrow: Escrow, reporter: Reporter) -> Any:
    proof = sessions.sign_login(reporter.seed, escrow.deployment.deployment_id)
    return escrow.client.post(f"{API}/login", json={
        "account_key": b64u_encode(proof.account_key), "issued_at": proof.issued_at,
        "nonce": b64u_encode(proof.nonce), "signature": b64u_encode(proof.signature)})


def put_backup(escrow: Escrow, reporter: Reporter, document: bytes) -> None:
    """A backup row as H1's ``PUT /v2/account/backup`` stores it (its checks are tested with it, not here)."""
    with escrow.db.write() as session:
        session.execute(text("INSERT INTO backups (account_id, handle_bytes, version, document, updated_at) "
                             "VALUES (:a, :h, 1, :d, :t)"),
                        {"a": reporter.account_id, "h": os.urandom(10), "d": document, "t": datetime.now(UTC)})


def head_size(escrow: Escrow) -> int:
    return cp.parse_signed_checkpoint(escrow.client.get(f"{API}/log/checkpoint").text)[0].size


def test_deleting_erases_every_entry_the_backup_and_the_account_and_the_log_still_verifies(any_escrow: Escrow) -> None:
    escrow = any_escrow
    me = messenger(escrow)
    reporter = me.reporter
    other = escrow.reporter()
    shared = os.urandom(32)
    released = escrow.submission(tags=[shared], quorum=2)
    waiting = escrow.submission(tags=[os.urandom(32)], quorum=5)
    earlier = escrow.submission(tags=[os.urandom(32)])
    entry_receipts = [escrow.submit(reporter, s).json()["receipt"] for s in (released, waiting, earlier)]
    assert escrow.submit(other, escrow.submission(tags=[shared], quorum=2)).status_code == 201
    escrow.run_pass()
    assert escrow.stored_status(released["entry_id"]) == "released"  # the deletion below is not vacuous
    assert escrow.client.delete(f"{API}/entries/{earlier['entry_id']}", headers=reporter.headers).status_code == 200
    assert escrow.client.put(f"{API}/account/notify", json={"email": EMAIL}, headers=reporter.headers).status_code \
        == 200
    put_backup(escrow, reporter, os.urandom(500))
    size_before = head_size(escrow)

    answer = escrow.client.delete(f"{API}/account", headers=reporter.headers)
    assert answer.status_code == 200, answer.text
    # the one withdrawn before is not counted again; the released one is counted like the waiting one
    assert answer.json() == {"erased_entries": 2, "what_stays": list(deletion.WHAT_STAYS)}

    with escrow.db.read() as session:
        account = session.get(Account, reporter.account_id)
        assert account is not None and account.deleted_at is not None
        assert (account.message_key, account.notify_email) == (None, None)
        assert session.scalars(select(AccountSession).where(AccountSession.account_id == reporter.account_id)).all() \
            == []
        assert session.execute(text("SELECT count(*) FROM backups WHERE account_id = :a"),
                               {"a": reporter.account_id}).scalar() == 0
        mine = session.scalars(select(Entry).where(Entry.account_id == reporter.account_id)).all()
        assert {e.status for e in mine} == {"withdrawn"} and len(mine) == 3
        assert all(e.body is None and e.content_hash is None for e in mine)
        ids = [e.entry_id for e in mine]
        assert session.scalars(select(EntryEnvelope).where(EntryEnvelope.entry_id.in_(ids))).all() == []
        assert session.scalars(select(EntryTag).where(EntryTag.account_id == reporter.account_id)).all() == []
        # each entry's latest leaf is its withdrawal, and its receipt verifies against the log's key
        for submission in (released, waiting, earlier):
            entry_id = b64u_decode(submission["entry_id"])
            receipt = transparency.latest_receipt(session, entry_id)
            assert receipt is not None
            receipts.check(receipt, escrow.deployment, entry_id, kind="withdrawal")
        tree = merkle.MemoryTree()
        for leaf in log.leaves(session):
            tree.append(leaf.data)

    # two withdrawal leaves, under one new checkpoint; the whole log is still one append-only tree
    head_text = escrow.client.get(f"{API}/log/checkpoint").text
    head = cp.open_checkpoint(head_text, escrow.deployment.log_vkey).checkpoint
    assert head.size == size_before + 2 and head.root_hash == tree.root()
    for old in entry_receipts:
        old_size = cp.parse_signed_checkpoint(receipts.parse_receipt(old).checkpoint)[0].size
        proof = escrow.client.get(f"{API}/log/consistency", params={"old": old_size, "new": head.size}).json()
        receipts.open_receipt(old, escrow.deployment.log_vkey, against=head_text,
                              consistency_proof=[b64u_decode(p) for p in proof["proof"]])

    # never again: the old session is unknown, signing in is refused by name, the invite cannot register again
    assert escrow.client.get(f"{API}/entries", headers=reporter.headers).status_code == 401
    refused = login(escrow, reporter)
    assert refused.status_code == 401 and refused.json()["error"] == "account_deleted"
    again = escrow.client.post(f"{API}/register", json=registration(reporter.seed, escrow.deployment.deployment_id)
                               | {"message_key": b64u_encode(MessagingKey.generate().encode_public())})
    assert again.status_code == 403
    # the other reporter is untouched
    assert escrow.client.get(f"{API}/entries", headers=other.headers).status_code == 200


def test_a_counselor_cannot_delete_and_a_refusal_changes_nothing(escrow: Escrow) -> None:
    counselor = escrow.counselor_headers(escrow.counselors[0])
    before = escrow.counts()
    assert escrow.client.delete(f"{API}/account", headers=counselor).status_code == 403
    assert escrow.client.delete(f"{API}/account").status_code == 401
    assert escrow.counts() == before


# -- property (e): the deletion does not tell whether an entry was released -------------------------


def probe(tmp_path: Path, *, someone_named_x_first: bool) -> tuple[list[object], str]:
    escrow = build(tmp_path / ("named" if someone_named_x_first else "not-named"))
    seen: list[object] = []
    with escrow.client:
        x = os.urandom(32)
        escrow.submit(escrow.reporter(), escrow.submission(tags=[x if someone_named_x_first else os.urandom(32)],
                                                           quorum=2))
        escrow.run_pass()
        me = escrow.reporter()
        mine = escrow.submission(tags=[x], quorum=2)
        escrow.submit(me, mine)
        escrow.run_pass()
        stored = escrow.stored_status(mine["entry_id"])  # the truth, which the reporter must not see
        before = head_size(escrow)
        answer = escrow.client.delete(f"{API}/account", headers=me.headers)
        seen += [answer.status_code, answer.json(), dict(answer.headers).get("content-length"),
                 head_size(escrow) - before]
        escrow.run_pass()
        seen.append(head_size(escrow) - before)
        seen += [escrow.client.delete(f"{API}/account", headers=me.headers).status_code,
                 login(escrow, me).json()]
    escrow.db.dispose()
    return seen, stored


def test_deleting_does_not_tell_whether_an_entry_was_released(tmp_path: Path) -> None:
    named, released = probe(tmp_path, someone_named_x_first=True)
    not_named, escrowed = probe(tmp_path, someone_named_x_first=False)
    assert (released, escrowed) == ("released", "escrowed")
    assert named == not_named


# -- a copy of the SQLite files ---------------------------------------------------------------------


PIECE = 32


def found_in(database: Path, secret: bytes) -> list[str]:
    """The files of the data folder (database, -wal, -shm) holding any 32-byte piece of ``secret``."""
    pieces = [secret[i:i + PIECE] for i in range(0, len(secret) - PIECE + 1, PIECE)] or [secret]
    return [p.name for p in sorted(database.parent.glob(database.name + "*"))
            if any(piece in p.read_bytes() for piece in pieces)]


@pytest.mark.parametrize("escrow", ["sqlite"], indirect=True)  # the SQLite files themselves
def test_deleted_content_is_gone_from_the_sqlite_files_while_the_server_runs(escrow: Escrow) -> None:
    database = Path(escrow.settings.database_url.removeprefix("sqlite:///"))
    me = messenger(escrow)
    submissions = [escrow.submission(tags=[os.urandom(32), os.urandom(32)], body=os.urandom(9000), quorum=5)
                   for _ in range(2)]
    for s in submissions:
        assert escrow.submit(me.reporter, s).status_code == 201
    escrow.run_pass()
    assert escrow.client.put(f"{API}/account/notify", json={"email": EMAIL},
                             headers=me.reporter.headers).status_code == 200
    backup = os.urandom(6000)
    put_backup(escrow, me.reporter, backup)
    secrets: dict[str, bytes] = {"backup": backup, "address": EMAIL.encode(), "message key": me.key.encode_public()}
    for n, s in enumerate(submissions):
        secrets[f"body {n}"] = b64u_decode(s["body"])
        secrets |= {f"envelope {n}.{i}": b64u_decode(e["ciphertext"]) for i, e in enumerate(s["envelopes"])}
        secrets |= {f"tag {n}.{i}": b64u_decode(t) for i, t in enumerate(s["tags"])}
    missing = [name for name, secret in secrets.items() if not found_in(database, secret)]
    assert not missing, f"the positive control failed: {missing}"

    assert escrow.client.delete(f"{API}/account", headers=me.reporter.headers).status_code == 200
    escrow.run_pass()  # the pass must not write anything back
    left = {name: where for name, secret in secrets.items() if (where := found_in(database, secret))}
    assert not left, f"still readable in the data folder: {left}"
