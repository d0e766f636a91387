"""Repository behaviour on SQLite and PostgreSQL: certified invites, one entry per account and person,
counting in the release pass (``count_queued``), release, erasure, the board."""

from __future__ import annotations

import os
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from consilience.crypto import signing
from consilience.protocol import accounts
from consilience.storage import repository as repo
from consilience.storage import revocations
from consilience.storage.database import Database
from consilience.storage.models import Entry, EntryEnvelope, EntryTag, InviteRow, Match, RecountQueue, Tag

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
KEY = b"k" * 16
ADMIN = signing.generate()
DEPLOYMENT_ID = b"deployment-0001!"


def certificate(seed: bytes | None = None) -> bytes:
    return accounts.issue_certificate(ADMIN, DEPLOYMENT_ID, accounts.account_key(seed or os.urandom(32)))


def reporter(db: Database) -> bytes:
    with db.write() as s:
        key = repo.create_invite(s, certificate(), timedelta(days=1), now=NOW)
    with db.write() as s:
        account_id, _ = repo.register(s, key, now=NOW)
    return account_id


def new_entry(account_id: bytes, tags: list[bytes], quorum: int = 2, body: bytes | None = None) -> repo.NewEntry:
    return repo.NewEntry(entry_id=os.urandom(16), account_id=account_id, quorum=quorum, tags=tuple(tags),
                         body=body if body is not None else os.urandom(64), envelopes=((KEY, os.urandom(80)),))


def submit(db: Database, new: repo.NewEntry) -> list[repo.MatchChange]:
    """The entry in its own transaction, then a release pass's counting in another."""
    with db.write() as s:
        repo.create_entry(s, new, NOW)
    return count(db)


def count(db: Database, now: datetime = NOW) -> list[repo.MatchChange]:
    with db.write() as s:
        return repo.count_queued(s, now)


def status(db: Database, entry_id: bytes) -> str:
    with db.read() as s:
        entry = repo.get_entry(s, entry_id)
        assert entry is not None
        return entry.status


def test_invites_hold_the_certificate_and_are_single_use_and_expire(db: Database) -> None:
    seed = os.urandom(32)
    cert = certificate(seed)
    with db.write() as s:
        key = repo.create_invite(s, cert, timedelta(days=14), now=NOW)
        expired = repo.create_invite(s, certificate(), timedelta(minutes=1), now=NOW - timedelta(hours=1))
    assert key == accounts.account_key(seed)
    with db.read() as s:
        assert repo.invite_certificate(s, key, now=NOW) == cert
        with pytest.raises(repo.InviteRefused):
            repo.invite_certificate(s, expired, now=NOW)
    with db.write() as s:
        account_id, token = repo.register(s, key, now=NOW)
    assert len(account_id) == 16 and len(token) == 32
    before = _counts(db)
    for bad in (key, expired, os.urandom(32)):
        with pytest.raises(repo.InviteRefused), db.write() as s:
            repo.register(s, bad, now=NOW)
    with pytest.raises(repo.InviteRefused), db.read() as s:
        repo.invite_certificate(s, key, now=NOW)  # used
    assert _counts(db) == before
    with db.write() as s:
        session_token, _ = revocations.create_session(s, account_id, timedelta(hours=12), now=NOW)
    with db.read() as s:
        assert repo.authenticate(s, token, now=NOW) is None  # the account's own secret is not a session
        found = repo.authenticate(s, session_token, now=NOW)
        assert found is not None and found.account_id == account_id and found.role == "reporter"
        assert repo.authenticate(s, os.urandom(32)) is None
        invite = s.get(InviteRow, key)
        assert invite is not None and invite.account_id == account_id and invite.certificate == cert
        assert invite.used_at == NOW and invite.used_at.tzinfo is not None
    for bad_cert, error in ((cert, repo.Conflict), (cert[:-1], ValueError)):
        with pytest.raises(error), db.write() as s:
            repo.create_invite(s, bad_cert, now=NOW)
    with pytest.raises(ValueError, match="future"), db.write() as s:
        repo.create_invite(s, certificate(), timedelta(0), now=NOW)


def test_counselor_accounts_and_stats(db: Database) -> None:
    with db.write() as s:
        token = repo.add_counselor_account(s, "Ana", KEY, now=NOW)
        with pytest.raises(ValueError):
            repo.add_counselor_account(s, "Bad", b"short")
        counselor_id = revocations.counselor_by_credential(s, token).account_id
        session_token, _ = revocations.create_session(s, counselor_id, timedelta(hours=2), now=NOW)
    with db.read() as s:
        counselors = repo.list_counselor_accounts(s)
        assert repo.authenticate(s, token, now=NOW) is None  # the credential only signs in
        info = repo.authenticate(s, session_token, now=NOW)
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
    a1 = new_entry(a, [tag, os.urandom(32)])
    assert submit(db, a1) == []
    with pytest.raises(repo.PersonAlreadyNamed) as named, db.write() as s:
        repo.create_entry(s, new_entry(a, [tag]), NOW)  # (d): one active entry per account and person
    assert named.value.entry_id == a1.entry_id
    with db.read() as s:
        assert repo.count_accounts(s, tag) == 1
    b3 = new_entry(b, [tag], quorum=3)
    with db.write() as s:
        repo.create_entry(s, b3, NOW)
    assert status(db, a1.entry_id) == "escrowed"  # nothing is counted in the submitter's transaction
    changes = count(db, NOW + timedelta(hours=1))
    assert [(ch.released, ch.created) for ch in changes] == [(1, True)]  # a1 only: b3 waits for a third
    with db.read() as s:
        released = s.get(Entry, a1.entry_id)
        assert released is not None and released.released_at == NOW + timedelta(hours=1)
        assert released.updated_at == NOW  # what the reporter sees of the entry does not show the release
    assert status(db, a1.entry_id) == "released"
    assert status(db, b3.entry_id) == "escrowed"
    assert count(db) == []  # the queue was emptied
    with db.write() as s:
        repo.create_entry(s, new_entry(c, [tag], quorum=3), NOW)
    changes2 = count(db, NOW + timedelta(hours=2))
    assert [(ch.match_id, ch.released, ch.created) for ch in changes2] == [(changes[0].match_id, 3, False)]
    assert status(db, b3.entry_id) == "released"
    with db.read() as s:
        match = s.get(Match, changes[0].match_id)
        assert match is not None and match.tag == tag and match.updated_at >= match.created_at
        assert s.get(Tag, tag).match_id == match.match_id  # type: ignore[union-attr]
        assert {m.match_id for m in repo.list_matches(s)} == {match.match_id}
        assert repo.list_matches(s)[0].released == 3


def test_withdrawal_erases_released_or_not(db: Database) -> None:
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
    # (e): a released entry is edited and withdrawn like any other
    with db.write() as s:
        edited = repo.replace_entry(s, replace(new_entry(a, [shared]), entry_id=first.entry_id), NOW)
        assert edited.status == "escrowed"
    assert [ch.released for ch in count(db)] == [2]  # still two accounts under the tag: released again
    with db.write() as s:
        assert repo.withdraw_entry(s, a, first.entry_id, NOW).status == "withdrawn"
    with pytest.raises(repo.Conflict, match="withdrawn"), db.write() as s:
        repo.replace_entry(s, replace(new_entry(a, [os.urandom(32)]), entry_id=first.entry_id), NOW)
    with pytest.raises(repo.NotFound), db.write() as s:
        repo.withdraw_entry(s, b, first.entry_id, NOW)  # not b's entry


def test_a_tag_withdrawn_before_the_pass_is_not_kept(db: Database) -> None:
    a = reporter(db)
    tag = os.urandom(32)
    entry = new_entry(a, [tag])
    with db.write() as s:
        repo.create_entry(s, entry, NOW)
    with db.write() as s:
        repo.withdraw_entry(s, a, entry.entry_id, NOW)
    with db.read() as s:  # nobody names it any more: out of the queue and the tags with the withdrawal
        assert s.get(RecountQueue, tag) is None and s.get(Tag, tag) is None
    assert count(db) == []
    with db.read() as s:
        assert s.get(RecountQueue, tag) is None and s.get(Tag, tag) is None


def test_replacing_moves_an_entry_to_other_tags(db: Database) -> None:
    a, b = reporter(db), reporter(db)
    old, new = os.urandom(32), os.urandom(32)
    entry = new_entry(a, [old])
    submit(db, entry)
    submit(db, new_entry(b, [new]))
    replacement = repo.NewEntry(entry.entry_id, a, 2, (new,), b"replaced", ((KEY, b"envelope"),))
    with db.write() as s:
        stored = repo.replace_entry(s, replacement, NOW + timedelta(minutes=1))
        assert stored.status == "escrowed"
    assert len(count(db)) == 1 and status(db, entry.entry_id) == "released"
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
    assert not hasattr(rows[0], "account_id")  # (f): counselors see no account ids
    with pytest.raises(repo.NotFound), db.write() as s:
        repo.open_match(s, os.urandom(16), counselor_id, KEY, NOW)
    with db.read() as s:
        assert repo.row_counts(s)["match_openings"] == 1


def test_concurrent_submissions_and_passes_under_one_tag_all_see_each_other(db: Database) -> None:
    """Without serialised counting, the last committer can miss the others and nobody is released; here
    passes run while the submissions commit, and one last pass after them."""
    n = 6
    reporters = [reporter(db) for _ in range(n)]
    tag = os.urandom(32)
    barrier = threading.Barrier(n + 1)
    errors: list[BaseException] = []

    def worker(account_id: bytes) -> None:
        try:
            barrier.wait()
            with db.write() as s:
                repo.create_entry(s, new_entry(account_id, [tag, os.urandom(32)], quorum=n), NOW)
        except BaseException as exc:
            errors.append(exc)

    def passes() -> None:
        try:
            barrier.wait()
            for _ in range(n):
                count(db)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(a,)) for a in reporters] + [threading.Thread(target=passes)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    count(db)
    with db.read() as s:
        statuses = s.scalars(select(Entry.status)).all()
        assert statuses == ["released"] * n
        assert len(s.scalars(select(Match)).all()) == 1


def test_a_board_reader_paging_on_never_misses_a_post_that_commits_late(db: Database) -> None:
    """Two key servers post at once; the first to be given a seq commits last. A reader (a key server
    refreshing its board) that reads in between must not page past the first post."""
    seen: list[bytes] = []
    after = 0

    def read_on() -> None:
        nonlocal after
        with db.read() as s:
            rows = repo.board_messages(s, 1, after, 100)
        seen.extend(r.message for r in rows)
        after = rows[-1].seq if rows else after

    second_done = threading.Event()

    def post_second() -> None:
        with db.write() as s:
            repo.post_board_message(s, 1, b"second", NOW)
        second_done.set()

    with db.write() as first:
        repo.post_board_message(first, 1, b"first", NOW)  # given its seq, not committed yet
        poster = threading.Thread(target=post_second)
        poster.start()
        second_done.wait(2.0)  # without the board's lock, the second post commits here, ahead of the first
        read_on()
    poster.join(30)
    assert second_done.is_set()
    read_on()
    with db.read() as s:
        everything = [r.message for r in repo.board_messages(s, 1, 0, 100)]
    assert sorted(everything) == [b"first", b"second"]
    assert seen == everything, "the reader paged past a message that was committed after a later one"


def test_the_board_keeps_each_message_once_in_order(db: Database) -> None:
    with db.write() as s:
        first, created = repo.post_board_message(s, 1, b"one", NOW)
        again, created_again = repo.post_board_message(s, 1, b"one", NOW)
        other_epoch, _ = repo.post_board_message(s, 2, b"one", NOW)
        second, _ = repo.post_board_message(s, 1, b"two", NOW)
    assert created and not created_again and again == first and first < second
    with db.read() as s:
        assert [(r.seq, r.message) for r in repo.board_messages(s, 1, 0, 10)] == [(first, b"one"), (second, b"two")]
        assert [r.message for r in repo.board_messages(s, 1, first, 10)] == [b"two"]
        assert [r.message for r in repo.board_messages(s, 1, 0, 1)] == [b"one"]
        assert [r.seq for r in repo.board_messages(s, 2, 0, 10)] == [other_epoch]
        assert repo.board_messages(s, 3, 0, 10) == []
        with pytest.raises(ValueError):
            repo.board_messages(s, 1, 0, 0)


def _counts(db: Database) -> dict[str, int]:
    with db.read() as s:
        return repo.row_counts(s)
