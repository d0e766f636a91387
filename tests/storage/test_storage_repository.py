"""Repository behaviour on SQLite and PostgreSQL: accounts, counting, release, erasure."""

from __future__ import annotations

import os
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from consilience.storage import repository as repo
from consilience.storage.database import Database
from consilience.storage.models import Entry, EntryEnvelope, EntryTag, InviteRow, Match, Tag

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
KEY = b"k" * 16


def reporter(db: Database) -> bytes:
    with db.write() as s:
        code = repo.create_invite(s, timedelta(days=1), now=NOW)
    with db.write() as s:
        account_id, _ = repo.register(s, code, now=NOW)
    return account_id


def new_entry(account_id: bytes, tags: list[bytes], quorum: int = 2, body: bytes | None = None) -> repo.NewEntry:
    return repo.NewEntry(entry_id=os.urandom(16), account_id=account_id, quorum=quorum, tags=tuple(tags),
                         body=body if body is not None else os.urandom(64), envelopes=((KEY, os.urandom(80)),))


def submit(db: Database, new: repo.NewEntry) -> list[repo.MatchChange]:
    with db.write() as s:
        _, changes = repo.create_entry(s, new, NOW)
    return changes


def status(db: Database, entry_id: bytes) -> str:
    with db.read() as s:
        entry = repo.get_entry(s, entry_id)
        assert entry is not None
        return entry.status


def test_invites_are_hashed_single_use_and_expire(db: Database) -> None:
    with db.write() as s:
        code = repo.create_invite(s, timedelta(days=14), now=NOW)
        expired = repo.create_invite(s, timedelta(minutes=1), now=NOW - timedelta(hours=1))
    assert len(code) == 16
    with db.read() as s:
        stored = set(s.scalars(select(InviteRow.code_hash)))
    assert repo.sha256(code) in stored and code not in stored
    with db.write() as s:
        account_id, token = repo.register(s, code, now=NOW)
    assert len(account_id) == 16 and len(token) == 32
    before = _counts(db)
    for bad in (code, expired, os.urandom(16)):
        with pytest.raises(repo.InviteRefused), db.write() as s:
            repo.register(s, bad, now=NOW)
    assert _counts(db) == before
    with db.read() as s:
        found = repo.authenticate(s, token)
        assert found is not None and found.account_id == account_id and found.role == "reporter"
        assert repo.authenticate(s, os.urandom(32)) is None
        invite = s.get(InviteRow, repo.sha256(code))
        assert invite is not None and invite.account_id == account_id
        assert invite.used_at == NOW and invite.used_at.tzinfo is not None


def test_counselor_accounts_and_stats(db: Database) -> None:
    with db.write() as s:
        token = repo.add_counselor_account(s, "Ana", KEY, now=NOW)
        with pytest.raises(ValueError):
            repo.add_counselor_account(s, "Bad", b"short")
    with db.read() as s:
        counselors = repo.list_counselor_accounts(s)
        info = repo.authenticate(s, token)
    assert [(c.name, c.key_id) for c in counselors] == [("Ana", KEY)]
    assert info is not None and info.role == "counselor" and info.counselor_key_id == KEY
    a, b = reporter(db), reporter(db)
    tag = os.urandom(32)
    submit(db, new_entry(a, [tag]))
    submit(db, new_entry(b, [tag]))
    submit(db, new_entry(b, [os.urandom(32)]))
    with db.read() as s:
        stats = repo.stats(s, now=NOW)
    assert stats == {"entries": {"escrowed": 1, "released": 2, "withdrawn": 0}, "matches": 1,
                     "reporter_accounts": 2, "counselor_accounts": 1, "open_invites": 0}


def test_counting_is_by_distinct_account_and_release_is_per_quorum(db: Database) -> None:
    a, b, c = reporter(db), reporter(db), reporter(db)
    tag = os.urandom(32)
    a1, a2 = new_entry(a, [tag]), new_entry(a, [tag, os.urandom(32)])
    assert submit(db, a1) == [] and submit(db, a2) == []
    with db.read() as s:
        assert repo.count_accounts(s, tag) == 1
    b3 = new_entry(b, [tag], quorum=3)
    changes = submit(db, b3)
    assert [(ch.released, ch.created) for ch in changes] == [(2, True)]
    assert status(db, a1.entry_id) == status(db, a2.entry_id) == "released"
    assert status(db, b3.entry_id) == "escrowed"
    changes2 = submit(db, new_entry(c, [tag], quorum=3))
    assert [(ch.match_id, ch.released, ch.created) for ch in changes2] == [(changes[0].match_id, 4, False)]
    assert status(db, b3.entry_id) == "released"
    with db.read() as s:
        match = s.get(Match, changes[0].match_id)
        assert match is not None and match.tag == tag and match.updated_at >= match.created_at
        assert s.get(Tag, tag).match_id == match.match_id  # type: ignore[union-attr]
        assert {m.match_id for m in repo.list_matches(s)} == {match.match_id}
        assert repo.list_matches(s)[0].released == 4


def test_released_entries_are_final_and_withdrawal_erases(db: Database) -> None:
    a, b = reporter(db), reporter(db)
    shared, own = os.urandom(32), os.urandom(32)
    kept = new_entry(a, [shared, own], quorum=3)
    submit(db, kept)
    with db.write() as s:
        repo.withdraw_entry(s, a, kept.entry_id, NOW)
    with db.read() as s:
        entry = s.get(Entry, kept.entry_id)
        assert entry is not None and entry.status == "withdrawn" and entry.body is None
        assert entry.content_hash is None and entry.withdrawn_at == NOW
        assert s.scalars(select(EntryTag).where(EntryTag.entry_id == kept.entry_id)).all() == []
        assert s.scalars(select(EntryEnvelope).where(EntryEnvelope.entry_id == kept.entry_id)).all() == []
        assert s.get(Tag, own) is None and s.get(Tag, shared) is None  # no bare tag values left
    with db.write() as s:  # withdrawing twice is a no-op
        assert repo.withdraw_entry(s, a, kept.entry_id, NOW).status == "withdrawn"
    first = new_entry(a, [shared])
    submit(db, first)
    submit(db, new_entry(b, [shared]))
    assert status(db, first.entry_id) == "released"
    with pytest.raises(repo.Conflict, match="released"), db.write() as s:
        repo.withdraw_entry(s, a, first.entry_id, NOW)
    with pytest.raises(repo.Conflict, match="released"), db.write() as s:
        repo.replace_entry(s, replace(new_entry(a, [os.urandom(32)]), entry_id=first.entry_id), NOW)
    with pytest.raises(repo.NotFound), db.write() as s:
        repo.withdraw_entry(s, b, first.entry_id, NOW)  # not b's entry


def test_replacing_moves_an_entry_to_other_tags(db: Database) -> None:
    a, b = reporter(db), reporter(db)
    old, new = os.urandom(32), os.urandom(32)
    entry = new_entry(a, [old])
    submit(db, entry)
    submit(db, new_entry(b, [new]))
    replacement = repo.NewEntry(entry.entry_id, a, 2, (new,), b"replaced", ((KEY, b"envelope"),))
    with db.write() as s:
        stored, changes = repo.replace_entry(s, replacement, NOW + timedelta(minutes=1))
        assert stored.status == "released" and len(changes) == 1
    with db.read() as s:
        stored = s.get(Entry, entry.entry_id)
        assert stored is not None and stored.body == b"replaced"
        assert [t.tag for t in stored.tags] == [new] and stored.content_hash == replacement.content_hash()
        assert stored.received_at == NOW and stored.updated_at == NOW + timedelta(minutes=1)
        assert s.get(Tag, old) is None


def test_content_hash_ignores_order_but_not_content() -> None:
    t1, t2 = b"1" * 32, b"2" * 32
    base = repo.NewEntry(b"e" * 16, b"a" * 16, 2, (t1, t2), b"body", ((b"x" * 16, b"c1"), (b"y" * 16, b"c2")))
    same = repo.NewEntry(b"e" * 16, b"a" * 16, 2, (t2, t1), b"body", ((b"y" * 16, b"c2"), (b"x" * 16, b"c1")))
    assert base.content_hash() == same.content_hash()
    for changed in (
        repo.NewEntry(b"e" * 16, b"a" * 16, 3, (t1, t2), b"body", base.envelopes),
        repo.NewEntry(b"e" * 16, b"a" * 16, 2, (t1,), b"body", base.envelopes),
        repo.NewEntry(b"e" * 16, b"a" * 16, 2, (t1, t2), b"bodY", base.envelopes),
        repo.NewEntry(b"e" * 16, b"a" * 16, 2, (t1, t2), b"body", ((b"x" * 16, b"c1"),)),
    ):
        assert changed.content_hash() != base.content_hash()


def test_open_match_gives_one_counselors_envelopes_and_released_bodies(db: Database) -> None:
    other_key = b"o" * 16
    with db.write() as s:
        repo.add_counselor_account(s, "Ana", KEY, now=NOW)
        counselor_id = repo.list_counselor_accounts(s)[0].account_id
    a, b, c = reporter(db), reporter(db), reporter(db)
    tag = os.urandom(32)
    entries = [repo.NewEntry(os.urandom(16), acct, q, (tag,), f"body-{q}".encode(),
                             ((KEY, f"env-{q}".encode()), (other_key, b"not yours")))
               for acct, q in ((a, 2), (b, 2), (c, 4))]
    changes = []
    for e in entries:
        changes += submit(db, e)
    with db.write() as s:
        match, rows = repo.open_match(s, changes[0].match_id, counselor_id, KEY, NOW)
    rows = sorted(rows, key=lambda r: r.quorum)
    assert match.tag == tag
    assert [(r.quorum, r.released, r.envelope, r.body) for r in rows] == [
        (2, True, b"env-2", b"body-2"), (2, True, b"env-2", b"body-2"), (4, False, b"env-4", None)]
    with pytest.raises(repo.NotFound), db.write() as s:
        repo.open_match(s, os.urandom(16), counselor_id, KEY, NOW)
    with db.read() as s:
        assert repo.row_counts(s)["match_openings"] == 1


def test_concurrent_submissions_under_one_tag_all_see_each_other(db: Database) -> None:
    """Without serialised counting, the last committer can miss the others and nobody is released."""
    n = 6
    accounts = [reporter(db) for _ in range(n)]
    tag = os.urandom(32)
    barrier = threading.Barrier(n)
    errors: list[BaseException] = []

    def worker(account_id: bytes) -> None:
        try:
            barrier.wait()
            submit(db, new_entry(account_id, [tag, os.urandom(32)], quorum=n))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(a,)) for a in accounts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with db.read() as s:
        statuses = s.scalars(select(Entry.status)).all()
        assert statuses == ["released"] * n
        assert len(s.scalars(select(Match)).all()) == 1


def _counts(db: Database) -> dict[str, int]:
    with db.read() as s:
        return repo.row_counts(s)
