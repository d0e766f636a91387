"""Revoking accounts, counselors and witnesses (``consilience admin revoke …``, PROTOCOL.md §6.2).

Each revocation, in one transaction of the escrow database: the administrator signs a new
revocation list (``protocol/revocations.py``) holding everything revoked so far plus this one, with
the next serial; the revoked accounts are marked and every session of theirs ends, so the escrow
server refuses them on their next request; and a revocation event is queued for the log, which the
next release pass appends among its padded batch (its leaf hides its kind like every other). The
escrow server publishes the newest list at ``GET /v2/revocations``; every key server fetches it
every few seconds and refuses the revoked accounts' evaluation requests from then on.

A revoked counselor is also removed from the deployment document (reporters stop sealing to their
key) and every envelope and wrap addressed to their key is deleted; a revoked witness is removed
too (its cosignatures are no longer accepted). Key servers are not
revoked here: a key server leaves a deployment by resharing the keys among the others.

Bad input changes nothing: the subject is checked, the passphrase unsealed and the list built
before anything is written.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from consilience.crypto import signing
from consilience.datadir import DataDir
from consilience.errors import InvalidInput
from consilience.i18n import _
from consilience.operator.deployment import (
    database_url,
    escrow_database,
    load_deployment,
    next_serial,
    publish,
    unseal_admin_key,
)
from consilience.protocol import accounts, events, invites
from consilience.protocol import deployment as dep
from consilience.protocol import revocations as rl
from consilience.protocol.encoding import b64u_decode, b64u_encode
from consilience.storage import database, handover, log
from consilience.storage import revocations as stored
from consilience.tlog import checkpoint


@dataclass(frozen=True)
class Revocation:
    """What a revocation did: the new list's serial, whom it revoked, how many sessions ended."""

    what: str
    subject: str
    serial: int
    accounts_revoked: int
    sessions_ended: int
    deployment_serial: int | None = None
    #: a revoked counselor's entry envelopes and sealed item wraps, deleted with it (PROTOCOL.md §13.6)
    envelopes_deleted: int = 0
    wraps_deleted: int = 0


def account_key_of(text: str) -> bytes:
    """A reporter account named by its account key (base64url, 32 bytes) or by the invite it was made from."""
    value = text.strip()
    if value.startswith((invites.PREFIX + ".", invites.V1_PREFIX + ".")):
        return accounts.account_key(invites.parse(value).seed)
    try:
        return b64u_decode(value, length=accounts.ACCOUNT_KEY_BYTES, field="account key")
    except InvalidInput:
        raise InvalidInput(_("name the account by its account key (43 characters of base64url) or by the invite it "
                             "was registered with ({prefix}.…); nothing was revoked",
                             prefix=invites.PREFIX)) from None


def counselor_of(d: dep.Deployment, text: str) -> dep.Counselor:
    """A counselor of the document named by its name or its key id (base64url)."""
    value = text.strip()
    by_name = [c for c in d.counselors if c.name == value]
    by_key = [c for c in d.counselors if b64u_encode(c.key_id) == value]
    found = by_key or by_name
    if not found:
        raise InvalidInput(_("the deployment lists no counselor named {value} or with that key id ('consilience "
                             "admin status' lists them); nothing was revoked",
                             value=repr(value)))
    if len(found) > 1:
        raise InvalidInput(_("{found_count} counselors are named {value}: name the one to revoke by its key id; "
                             "nothing was revoked",
                             found_count=len(found), value=repr(value)))
    return found[0]


def witness_vkey_of(text: str) -> str:
    """A witness named by its verifier key (type 0x04 or 0x01, as ``admin witness add`` takes it)."""
    vkey = text.strip()
    try:
        checkpoint.CosignatureV1Verifier.from_vkey(vkey)
    except InvalidInput as exc:
        raise InvalidInput(_("that is not a witness's verifier key ({exc}); nothing was revoked", exc=exc)) from None
    return vkey


def _newest(session: Session, d: dep.Deployment, admin_public: bytes) -> rl.RevocationList:
    published = stored.newest_list(session)
    if published is None:
        return rl.empty(d.deployment_id)
    return rl.verify(published, admin_public, d.deployment_id)


def _sign_next(session: Session, d: dep.Deployment, admin_private: bytes,
               **added: frozenset[object]) -> rl.RevocationList:
    current = _newest(session, d, signing.public_key(admin_private))
    now = datetime.now(UTC)
    updated = replace(current, serial=current.serial + 1, issued_at=now.isoformat(timespec="seconds"),
                      **{k: getattr(current, k) | v for k, v in added.items()})
    stored.store_list(session, updated.serial, rl.sign(updated, admin_private), now=now)
    return updated


@contextmanager
def _transaction(root: Path) -> Iterator[Session]:
    """One write transaction of the escrow database; a revocation written at the same moment by another
    run of the command (the same serial twice) is refused with nothing changed, not a traceback."""
    try:
        with escrow_database(root) as db, db.write() as session:
            yield session
    except IntegrityError:
        raise InvalidInput(_("another revocation was written at the same moment; run the command again (nothing "
                             "was changed by this one)")) from None


def _open(root: Path) -> None:
    """The escrow database at the schema this software writes (the server migrates it too when it starts)."""
    database.upgrade(database_url(DataDir(Path(root))))


def revoke_account(root: Path, subject: str, admin_secret: str) -> Revocation:
    """Revoke a reporter account (or an invite not used yet): the escrow server and the key servers refuse it."""
    key = account_key_of(subject)
    d = load_deployment(root)
    admin_private = unseal_admin_key(root, admin_secret)
    _open(root)
    with _transaction(root) as session:
        if key in _newest(session, d, signing.public_key(admin_private)).accounts:
            raise InvalidInput(_("that account is already revoked; nothing was changed"))
        account_id = stored.reporter_account_id(session, key)
        unused = account_id is None and stored.refuse_unused_invite(session, key)
        if account_id is None and not unused:
            raise InvalidInput(_("no account and no unused invite of this deployment has that account key; nothing "
                                 "was revoked"))
        now = datetime.now(UTC)
        updated = _sign_next(session, d, admin_private, accounts=frozenset({key}))
        ended = stored.revoke_accounts(session, [account_id] if account_id else [], now=now)
        log.defer(session, events.revocation_event(events.REVOKED_ACCOUNT, key, updated.serial, now), now)
    return Revocation("account", b64u_encode(key), updated.serial, len(ended.account_ids), ended.sessions_ended)


def revoke_counselor(root: Path, who: str, admin_secret: str) -> Revocation:
    """Revoke a counselor: their sessions end, they sign in no more, the deployment no longer lists them, and
    every entry envelope and item wrap addressed to their key is deleted in the same transaction (erased from
    SQLite's -wal too): a key that left, or was lost or stolen, opens nothing the server still holds.

    Entries sealed only to them stay openable: the reporter's client seals them again for the counselors of
    the new document on its next refresh, and any other counselor can hand its own envelopes over
    (PROTOCOL.md §13.6)."""
    d = load_deployment(root)
    counselor = counselor_of(d, who)
    admin_private = unseal_admin_key(root, admin_secret)
    remaining = tuple(c for c in d.counselors if c.key_id != counselor.key_id)
    updated_doc = next_serial(d, counselors=remaining)  # checked before anything is written
    _open(root)
    with _transaction(root) as session:
        now = datetime.now(UTC)
        updated = _sign_next(session, d, admin_private, counselors=frozenset({counselor.key_id}))
        ended = stored.revoke_accounts(session, stored.counselor_account_ids(session, counselor.key_id), now=now)
        deleted = handover.delete_addressed_to(session, counselor.key_id)
        log.defer(session, events.revocation_event(events.REVOKED_COUNSELOR, counselor.key_id, updated.serial, now),
                  now)
    publish(DataDir(Path(root)), updated_doc, admin_private)
    return Revocation("counselor", counselor.name, updated.serial, len(ended.account_ids), ended.sessions_ended,
                      updated_doc.serial, deleted.envelopes, deleted.wraps)


def revoke_witness(root: Path, vkey: str, admin_secret: str) -> Revocation:
    """Revoke a witness: removed from the deployment document (its cosignatures are refused), recorded in the log."""
    vkey = witness_vkey_of(vkey)
    d = load_deployment(root)
    public = checkpoint.CosignatureV1Verifier.from_vkey(vkey).public_key  # either vkey form names the listed witness
    vkey = next((w for w in d.witnesses if checkpoint.CosignatureV1Verifier.from_vkey(w).public_key == public), vkey)
    if vkey not in d.witnesses:
        raise InvalidInput(_("the deployment lists no such witness; nothing was revoked"))
    admin_private = unseal_admin_key(root, admin_secret)
    updated_doc = next_serial(d, witnesses=tuple(w for w in d.witnesses if w != vkey))
    _open(root)
    with _transaction(root) as session:
        now = datetime.now(UTC)
        updated = _sign_next(session, d, admin_private, witnesses=frozenset({vkey}))
        log.defer(session, events.revocation_event(events.REVOKED_WITNESS, vkey.encode(), updated.serial, now), now)
    _remove_witness(root, d, updated_doc, vkey, admin_secret, admin_private)
    return Revocation("witness", vkey, updated.serial, 0, 0, updated_doc.serial)


def revoke_key_server(root: Path, index: int, admin_secret: str, *, threshold: int | None = None) -> Revocation:
    """Revoke key server INDEX: a resharing that leaves it out is asked for, clients stop asking it at
    once (the document says so), it answers no evaluation from its next look at the document, and the
    revocation is recorded in the log. Its shares stop mattering once the resharing is published."""
    from consilience.operator.key_changes import plan_key_servers

    d = load_deployment(root)
    server = d.key_server(index)  # a key server the document does not list: refused before the passphrase
    admin_private = unseal_admin_key(root, admin_secret)
    updated_doc = plan_key_servers(d, remove=[index], threshold=threshold)  # checked before anything is written
    _open(root)
    with _transaction(root) as session:
        now = datetime.now(UTC)
        log.defer(session, events.revocation_event(events.REVOKED_KEY_SERVER, server.identity_key, updated_doc.serial,
                                                   now), now)
    publish(DataDir(Path(root)), updated_doc, admin_private)
    # no revocation list changes (clients and key servers follow the deployment document): serial 0
    return Revocation("key server", b64u_encode(server.identity_key), 0, 0, 0, updated_doc.serial)


def _remove_witness(root: Path, d: dep.Deployment, updated_doc: dep.Deployment, vkey: str, admin_secret: str,
                    admin_private: bytes) -> None:
    """The document without the witness: through ``operator.witnesses`` when it offers a removal."""
    from consilience.operator import witnesses

    remove = getattr(witnesses, "remove_witness", None)
    if callable(remove):
        remove(root, vkey, admin_secret)
        return
    del d
    publish(DataDir(Path(root)), updated_doc, admin_private)
