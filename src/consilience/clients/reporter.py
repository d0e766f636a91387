"""What a reporter does, as library calls the CLI and tests share.

Every step that touches an identifier or a record runs here, on the
reporter's device; only sealed outputs reach the servers.

The activities that change the wallet (``write``, ``escrow``, ``edit``, ``withdraw``, ``refresh``,
``retry_pending``) return its live records (``name_in_escrow`` returns what it added, kept and
dropped, see :class:`Escrowed`); :class:`RecordSummary` and :func:`list_records` give
the frozen view of them that the CLI shows and prints as JSON.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from consilience.clients import oprf_client, receipts
from consilience.clients import wallet as wallet_mod
from consilience.clients.escrow_client import ApiError, EscrowClient, reporter_login, submission_payload
from consilience.clients.results import AttachmentSummary, JsonObject
from consilience.errors import ConsilienceError, InvalidInput, VerificationError
from consilience.i18n import N_, _
from consilience.protocol import accounts, events, invites
from consilience.protocol import identifiers as ids
from consilience.protocol import messages as m
from consilience.protocol.conversations import MessagingKey
from consilience.protocol.deployment import Deployment
from consilience.protocol.encoding import b64u_decode, b64u_encode
from consilience.protocol.entry import Attachment, seal_entry
from consilience.tlog.receipt import parse_receipt


def status_word(status: str) -> str:
    """An entry's status (``withdrawn``, ``released``...) as the reader's language says it; the JSON keeps the code."""
    words = {"escrowed": _("in escrow"), "released": _("released"), "withdrawn": _("withdrawn"),
             "sending": _("being sent")}
    return words.get(status, status)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class Session:
    """An unlocked wallet plus where to save it."""

    path: Path
    secret: str
    wallet: wallet_mod.Wallet
    kdf_params: dict[str, int] | None = None
    #: the signed form of the deployment document last checked, kept beside the receipts (offline verify)
    signed_deployment: dict[str, str] | None = None

    #: what the last save said about the backup ("will be updated next time you are online"), or None
    backup_notice: str | None = None
    #: when (time.monotonic()) this session last checked the deployment document, and what it found
    _checked: tuple[float, Deployment] | None = field(default=None, repr=False)

    def save(self) -> None:
        """Write the wallet, then bring its backup up to date (PROTOCOL.md §14.1) if it has one."""
        from consilience.clients import recovery  # recovery uses Session: imported here, not at the top

        recovery.before_save(self)
        self.save_local()
        self.backup_notice = recovery.after_save(self)

    def save_local(self) -> None:
        wallet_mod.save(self.path, self.wallet, self.secret, kdf_params=self.kdf_params)

    @property
    def receipts_dir(self) -> Path:
        """Receipt files live beside the wallet, in clear: they hold hashes and ids, no content."""
        return self.path.parent / "receipts"

    def credentials(self) -> oprf_client.Credentials:
        """The account's key-server credentials, from the invite it registered with."""
        if not self.wallet.account_seed or not self.wallet.certificate:
            raise InvalidInput(_("this wallet holds no account key; register again with a new invite"))
        return oprf_client.Credentials(b64u_decode(self.wallet.account_seed, length=32),
                                       b64u_decode(self.wallet.certificate, length=120))

    def client(self) -> EscrowClient:
        """The escrow server as this account; an expired session is renewed by signing in with the account
        key (PROTOCOL.md §6.1), and the wallet keeps the new one when it is next saved."""
        sign_in = None
        if self.wallet.account_seed and self.wallet.certificate:
            seed = b64u_decode(self.wallet.account_seed, length=32)
            deployment_id = accounts.parse_certificate(b64u_decode(self.wallet.certificate, length=120)).deployment_id
            login = reporter_login(seed, deployment_id)

            def sign_in(client: EscrowClient) -> bytes:
                token = login(client)
                self.wallet.token = b64u_encode(token)
                return token
        return EscrowClient(self.wallet.server, b64u_decode(self.wallet.token), sign_in=sign_in)

    def deployment(self, client: EscrowClient) -> Deployment:
        published = client.published_deployment()
        d = client.deployment(b64u_decode(self.wallet.admin_fingerprint, length=16),
                              min_serial=self.wallet.min_serial, published=published)
        self.wallet.min_serial = d.serial
        self.signed_deployment = published.model_dump()
        self._checked = (time.monotonic(), d)
        return d

    def recent_deployment(self, client: EscrowClient, max_age: float = 60.0) -> Deployment:
        """The document this session checked within ``max_age`` seconds, else a fresh one.

        For the backup after each save: checking a document verifies every published commitment, and a
        command that just sealed an entry checked it a moment ago. A key-server change seen a minute late
        only moves the backup's new dealing to the next save.
        """
        if self._checked is not None and time.monotonic() - self._checked[0] <= max_age:
            return self._checked[1]
        return self.deployment(client)


#: What ``check_registration`` says when the server's deployment is signed by another administrator.
WRONG_DEPLOYMENT = N_("The server at {server} is not the deployment this invite is for: its administrator's key "
                      "does not match the invite. A character of the invite may be mistyped (check it against the "
                      "one you were given), or the server address may be wrong. Nothing was created.")


@dataclass(frozen=True)
class Registration:
    """An invite checked against the server's deployment document, before anything is created.

    Everything that can be checked without using the invite up is checked: the wallet path is
    free, the invite is well formed, and the server publishes a
    deployment signed by the administrator the invite names. ``complete`` then spends the
    invite and writes the wallet, so a person chooses a passphrase only for an invite that can work.
    """

    server: str
    invite: invites.Invite
    contact: str
    path: Path
    deployment: Deployment
    deployment_admin_key: bytes

    def complete(self, secret: str, *, kdf_params: dict[str, int] | None = None) -> Session:
        """Register with the invite (it is used up) and seal the new wallet under ``secret``."""
        _check_free(self.path)
        seed = self.invite.seed
        messaging = MessagingKey.generate()  # counselors will write to this key, never to the contact
        with EscrowClient(self.server) as anonymous:
            registered = anonymous.register(accounts.account_key(seed),
                                            accounts.registration_proof(seed, self.deployment.deployment_id),
                                            message_key=messaging.encode_public())
        # The certificate is checked here, not trusted: the key servers will check it too.
        accounts.verify_certificate(self.deployment_admin_key, self.deployment.deployment_id, registered.certificate)
        if accounts.parse_certificate(registered.certificate).account_key != accounts.account_key(seed):
            raise VerificationError(_("the escrow server returned a certificate for another account; nothing was "
                                      "saved"))
        w = wallet_mod.Wallet(server=self.server, admin_fingerprint=b64u_encode(self.invite.admin_fingerprint),
                              account_id=b64u_encode(registered.account_id), token=b64u_encode(registered.token),
                              contact=self.contact, account_seed=b64u_encode(seed),
                              certificate=b64u_encode(registered.certificate), min_serial=self.deployment.serial,
                              message_seed=b64u_encode(messaging.seed), message_key_registered=True)
        session = Session(self.path, secret, w, kdf_params)
        session.save()
        from consilience.clients import recovery  # recovery uses Session: imported here, not at the top

        w.backup_pending = True  # until the set-up below worked: the next save or command tries again
        try:
            recovery.set_up(session)
        except (ConsilienceError, OSError):  # offline, or key servers not ready: registered all the same
            session.backup_notice = _(recovery.PENDING)
            session.save_local()
        return session


def _check_free(path: Path) -> None:
    if Path(path).exists():
        raise InvalidInput(_("{path} already exists: it may be the wallet of an earlier registration, which the other "
                             "reporter commands open. To register again, choose another --wallet.", path=path))


def check_registration(server: str, invite_text: str, contact: str, path: Path) -> Registration:
    """Check what can be checked before an invite is used up (see :class:`Registration`)."""
    invite = invites.parse(invite_text)
    _check_free(Path(path))
    with EscrowClient(server) as anonymous:
        try:
            published = anonymous.published_deployment()
            deployment = anonymous.deployment(invite.admin_fingerprint, published=published)  # pin first
        except VerificationError as exc:
            if receipts.signed_by_another(exc):
                raise VerificationError(_(WRONG_DEPLOYMENT, server=anonymous.base_url)) from exc
            raise
        except ApiError as exc:
            if exc.status == 404:
                raise ApiError(exc.status, exc.code, exc.detail, server=exc.server, message=(
                    _("The server at {base_url} does not look like a Consilience escrow server: it "
                      "publishes no deployment document. Check the address you were given; nothing was "
                      "created.", base_url=anonymous.base_url))) from exc
            raise
    return Registration(anonymous.base_url, invite, contact.strip(), Path(path), deployment,
                        b64u_decode(published.admin_key, length=32))


def register(server: str, invite_text: str, contact: str, path: Path, secret: str,
             *, kdf_params: dict[str, int] | None = None) -> Session:
    """``check_registration`` then ``complete``: join with an invite, the new wallet sealed under ``secret``."""
    return check_registration(server, invite_text, contact, path).complete(secret, kdf_params=kdf_params)


def messaging_key(w: wallet_mod.Wallet) -> MessagingKey | None:
    """The wallet's messaging key pair (PROTOCOL.md §13.1); None for a wallet made before messaging existed."""
    return MessagingKey(b64u_decode(w.message_seed, length=32)) if w.message_seed else None


def ensure_message_key(session: Session, client: EscrowClient) -> MessagingKey:
    """The wallet's messaging key, made now if it has none, and registered with the account before it is used.

    Every entry sealed from now on carries it, so a counselor can write to the reporter of a released entry
    without the reporter ever giving a contact. The seed is saved before the server hears of the key, so
    a lost answer is mended by sending the same key again (the server answers that the same way).
    """
    key = messaging_key(session.wallet)
    if key is None:
        key = MessagingKey.generate()
        session.wallet.message_seed = b64u_encode(key.seed)
        session.wallet.message_key_registered = False
        session.save()
    if not session.wallet.message_key_registered:
        try:
            client.set_message_key(key.encode_public())
        except ApiError as exc:
            if exc.status == 409:
                raise ApiError(exc.status, exc.code, exc.detail, server=exc.server, message=(
                    _("The escrow server holds another messaging key for this account, so counselors' messages "
                      "would not reach this wallet. Was the account registered from another device? Ask the "
                      "administrator; nothing was sent."))) from exc
            raise
        session.wallet.message_key_registered = True
        session.save()
    return key


def open_session(path: Path, secret: str, *, kdf_params: dict[str, int] | None = None) -> Session:
    return Session(Path(path), secret, wallet_mod.load(Path(path), secret), kdf_params)


def write(session: Session, text: str, *, details: dict[str, str] | None = None,
          attachments: list[Attachment] | tuple[Attachment, ...] = ()) -> wallet_mod.Record:
    """Keep a private record: free text, optional details and attached files."""
    record = session.wallet.add_record(text, now(), details=details, attachments=attachments)
    session.save()
    return record


@dataclass(frozen=True)
class Escrowed:
    """What ``name_in_escrow`` did: the record as it now stands, the names it added, kept and dropped.

    ``receipt`` is the path of the receipt file kept for this submission (None when nothing was
    sent because nothing changed, or the log gave none).
    """

    record: RecordSummary
    added: tuple[str, ...]  # canonical forms newly named
    already: tuple[str, ...]  # canonical forms given that were already named
    removed: tuple[str, ...]  # canonical forms no longer named (only with replace=True)
    receipt: str | None
    sent: bool

    def to_json(self) -> JsonObject:
        return {**self.record.to_json(), "added": [*self.added], "already_named": [*self.already],
                "removed": [*self.removed], "receipt": self.receipt}


def _stored_names(state: wallet_mod.EscrowState) -> list[ids.Identifier]:
    """The names an entry already carries, as matched (never re-normalised: a phone number typed in
    national form needed the region given back then)."""
    out = []
    for typed, canonical in zip(state.identifiers, state.canonical, strict=True):
        kind, value = canonical.split(":", 1)
        out.append(ids.Identifier(kind=kind, value=value, typed=typed))
    return out


def name_in_escrow(session: Session, record_id: str, typed_identifiers: list[str], *, quorum: int | None = None,
                   default_region: str | None = None, replace: bool = False) -> Escrowed:
    """Put a record in escrow naming these identifiers; for a record already in escrow, add them.

    The names an escrowed record already carries are kept, and only new ones are added, unless
    ``replace``: then exactly the given names are carried and the others dropped (reported in
    ``removed``). When nothing would change, nothing is sent.
    """
    record = _finish_pending(session, session.wallet.record(record_id))
    previous = record.escrow
    if previous is not None and previous.status != "escrowed":
        raise InvalidInput(_("record {record_id} is {status}; it can no longer be changed",
                             record_id=record_id, status=status_word(previous.status)))
    given = ids.normalise_many(typed_identifiers, default_region=default_region)
    if not given:
        raise InvalidInput(_("name the person by at least one identifier (--name)"))
    before = _stored_names(previous) if previous is not None else []
    known = {i.canonical for i in before}
    if replace or previous is None:
        named = given
    else:
        named = before + [i for i in given if i.canonical not in known]
    _check_not_named_elsewhere(session, record, named)
    now_named = {i.canonical for i in named}
    added = tuple(i.canonical for i in named if i.canonical not in known)
    already = tuple(i.canonical for i in given if i.canonical in known)
    removed = tuple(i.canonical for i in before if i.canonical not in now_named)
    unchanged = previous is not None and not added and not removed and quorum in (None, previous.quorum) \
        and [i.canonical for i in named] == list(previous.canonical)
    if unchanged:
        return Escrowed(RecordSummary.of(record), (), already, (), None, False)
    receipt = _seal_and_send(session, record, named, quorum)
    return Escrowed(RecordSummary.of(record), added, already, removed, receipt, True)


class AlreadyNamed(InvalidInput):
    """Another record of this wallet already names the person; the server keeps one active entry per person.

    ``record_id`` is that record, so a caller can offer to add to it instead.
    """

    def __init__(self, record_id: str, canonical: str) -> None:
        super().__init__(_(
            "Your record {record_id} already names {canonical}. Each person can be named in one record of yours at a "
            "time, so that one account counts once. You can add what you wrote to record {record_id} instead "
            "('consilience reporter edit {record_id}'), or withdraw that record first.",
            record_id=record_id, canonical=canonical))
        self.record_id = record_id
        self.canonical = canonical

    def json_fields(self) -> dict[str, object]:
        return {"code": "already_named", "record_id": self.record_id, "canonical": self.canonical}


def _check_not_named_elsewhere(session: Session, record: wallet_mod.Record, named: list[ids.Identifier]) -> None:
    wanted = {i.canonical for i in named}
    for other in session.wallet.records:
        if other is record or other.escrow is None or other.escrow.status == "withdrawn":
            continue
        clash = sorted(wanted & set(other.escrow.canonical))
        if clash:
            raise AlreadyNamed(other.record_id, clash[0])


def escrow(session: Session, record_id: str, typed_identifiers: list[str], *, quorum: int | None = None,
           default_region: str | None = None, replace: bool = False) -> wallet_mod.Record:
    """``name_in_escrow``, returning the live record: in escrow, or an escrowed one with names added."""
    name_in_escrow(session, record_id, typed_identifiers, quorum=quorum, default_region=default_region,
                   replace=replace)
    return session.wallet.record(record_id)


def _finish_pending(session: Session, record: wallet_mod.Record) -> wallet_mod.Record:
    """Send the record's earlier, unacknowledged submission first, so a new one never races it."""
    if record.escrow is not None and record.escrow.pending is not None:
        with session.client() as client:
            _send_pending(session, client, record)
    return record


def _seal_and_send(session: Session, record: wallet_mod.Record, named: list[ids.Identifier],
                   quorum: int | None) -> str | None:
    """Seal ``record`` naming exactly ``named`` (re-sealing it if in escrow) and send it; the receipt's path."""
    previous = record.escrow
    with session.client() as client:
        deployment = session.deployment(client)
        messaging = ensure_message_key(session, client)
        result = oprf_client.evaluate(deployment, [i.oprf_input for i in named], session.credentials())
        sealed = seal_entry(
            deployment=deployment, identifiers=named, oprf_outputs=result.outputs, quorum_shares=result.shares,
            record=record.text, contact=session.wallet.contact,
            quorum=quorum if quorum is not None else (previous.quorum if previous else None),
            entry_id=b64u_decode(previous.entry_id, length=16) if previous else None,
            body_key=b64u_decode(previous.body_key, length=32) if previous else None,
            written_at=record.written_at, details=record.details, attachments=record.body_attachments(),
            messaging_key=messaging.encode_public(),
        )
        replace = previous is not None and previous.status == "escrowed"
        # Keep the exact submission before sending: a lost answer is retried byte for byte.
        record.escrow = wallet_mod.EscrowState(
            entry_id=b64u_encode(sealed.entry_id), identifiers=[i.typed for i in named],
            canonical=[i.canonical for i in named], quorum=sealed.quorum,
            body_key=b64u_encode(sealed.body_key), status="sending", received_at="",
            pending=submission_payload(sealed), pending_replace=replace,
            receipts=list(previous.receipts) if previous else [])
        session.save()
        try:
            return _send(session, client, record, deployment)
        except ApiError as exc:
            if _definitive(exc):  # the server stored nothing of it: the record stands as before
                record.escrow = previous
                session.save()
            raise


def _definitive(exc: ApiError) -> bool:
    """A refusal of these exact bytes that sending them again cannot change (not a lost answer, not a wait)."""
    return 400 <= exc.status < 500 and exc.status not in (408, 425, 429)


def retry_pending(session: Session) -> list[wallet_mod.Record]:
    """Resend every submission whose answer was lost (same bytes, so never counted twice)."""
    done = []
    with session.client() as client:
        for record in session.wallet.records:
            if record.escrow is not None and record.escrow.pending is not None:
                done.append(_send_pending(session, client, record))
    return done


def _send_pending(session: Session, client: EscrowClient, record: wallet_mod.Record,
                  deployment: Deployment | None = None) -> wallet_mod.Record:
    _send(session, client, record, deployment)
    return record


def _send(session: Session, client: EscrowClient, record: wallet_mod.Record,
          deployment: Deployment | None = None) -> str | None:
    """Send the record's pending submission; the path of the receipt kept for it (None if the log gave none)."""
    state = record.escrow
    assert state is not None and state.pending is not None
    deployment = deployment or session.deployment(client)
    answer = client.send(state.pending, replace=state.pending_replace)
    kept = None
    text = late_receipt(client, answer)
    if text is not None:
        content = receipts.expected_content(state.pending)
        receipts.check(text, deployment, b64u_decode(state.entry_id, length=16), kind="entry",
                       content=content)
        kept = _keep_receipt(session, state, text, deployment, "entry")
    state.status = answer.status
    state.received_at = answer.received_at.isoformat()
    state.pending = None
    state.pending_replace = False
    session.save()
    return kept


#: Seconds between the asks for a receipt that was not ready with the answer (PROTOCOL.md §11): about
#: three seconds in all, while the log's integrator runs at least once a second.
RECEIPT_POLL_DELAYS = (0.1, 0.2, 0.4, 0.8, 1.6)


def late_receipt(client: EscrowClient, answer: m.EntryReceipt,
                 delays: tuple[float, ...] = RECEIPT_POLL_DELAYS) -> str | None:
    """The answer's receipt, or, while its event is only sequenced, the one GET /v2/entries/{id}/receipt
    gives once the log integrated it; None if that takes longer (the entry stands all the same, and the
    receipt is fetched later: ``refreshed``). Never sends the submission again."""
    if answer.receipt is not None or not answer.sequenced:
        return answer.receipt
    entry_id = b64u_decode(answer.entry_id, length=16)
    for delay in delays:
        time.sleep(delay)
        again = client.receipt(entry_id)
        if again.receipt is not None or not again.sequenced:
            return again.receipt
    return None


def _keep_receipt(session: Session, state: wallet_mod.EscrowState, text: str, deployment: Deployment,
                  kind: str) -> str:
    path = str(receipts.save(session.receipts_dir, text, deployment, state.entry_id, kind,
                             signed=session.signed_deployment))
    if path not in state.receipts:
        state.receipts.append(path)
    return path


def edit(session: Session, record_id: str, text: str) -> wallet_mod.Record:
    record = _finish_pending(session, session.wallet.record(record_id))
    if not text.strip() and not record.details and not record.attachments:
        raise InvalidInput(_("the record is empty"))
    if record.escrow is not None and record.escrow.status != "escrowed":
        raise InvalidInput(_("record {record_id} is {status}; it can no longer be changed",
                             record_id=record_id, status=status_word(record.escrow.status)))
    record.text = text
    session.save()
    if record.escrow is not None:  # re-sealed naming exactly what it named (the names as matched then)
        _seal_and_send(session, record, _stored_names(record.escrow), record.escrow.quorum)
    return record


def refresh(session: Session) -> list[wallet_mod.Record]:
    """Pull each escrowed entry's status from the server into the wallet, and seal again any entry a
    counselor of the document in force cannot open (:func:`refreshed`)."""
    return refreshed(session).records


@dataclass(frozen=True)
class Refreshed:
    """What a refresh did: the live records, and which were sealed again for the counselors now listed."""

    records: list[wallet_mod.Record]
    #: record ids sealed again (the same record and names) for the counselors of the document in force
    resealed: tuple[str, ...] = ()
    #: record id -> why it could not be sealed again now (the next refresh tries again)
    not_resealed: Mapping[str, str] = field(default_factory=dict)


def refreshed(session: Session) -> Refreshed:
    """``refresh``, saying what it sealed again (PROTOCOL.md §13.6).

    An escrowed entry with no envelope for a counselor the document now lists (one added after it was
    escrowed, or every counselor it was sealed to revoked, which deletes their envelopes) is sealed again
    with the same record and names, so that it stays openable; this depends only on the document and the
    entry's own envelopes, never on whether anyone else named the same person.
    """
    with session.client() as client:
        listed = {e.entry_id: e for e in client.entries()}
        for r in session.wallet.records:
            if r.escrow and r.escrow.entry_id in listed:
                r.escrow.status = listed[r.escrow.entry_id].status
        _fetch_missing_receipts(session, client, listed)
        session.save()
        lacking = _lacking_envelopes(session, client, listed)
    resealed, failed = [], {}
    for record in lacking:
        state = record.escrow
        assert state is not None
        try:
            _seal_and_send(session, record, _stored_names(state), state.quorum)
        except ConsilienceError as exc:
            failed[record.record_id] = str(exc)
        else:
            resealed.append(record.record_id)
    return Refreshed(session.wallet.records, tuple(resealed), failed)


def _fetch_missing_receipts(session: Session, client: EscrowClient, listed: Mapping[str, m.EntrySummary]) -> None:
    """Receipts that were not ready when their answer came (``late_receipt``), fetched now if the log has
    them: an escrowed record with no receipt of its latest version (none at all, or only the versions
    before an edit, ``_has_receipt_of``), a withdrawn one with no withdrawal receipt."""
    for record in session.wallet.records:
        state = record.escrow
        if state is None or state.pending is not None or state.entry_id not in listed:
            continue
        kind = "withdrawal" if state.status == "withdrawn" else "entry"
        if _has_receipt_of(state.receipts, kind, listed[state.entry_id].updated_at):
            continue
        answer = client.receipt(b64u_decode(state.entry_id, length=16))
        if answer.receipt is None:
            continue
        deployment = session.deployment(client)
        receipts.check(answer.receipt, deployment, b64u_decode(state.entry_id, length=16), kind=kind)
        _keep_receipt(session, state, answer.receipt, deployment, kind)


def _has_receipt_of(paths: list[str], kind: str, changed_at: datetime) -> bool:
    """Whether a kept receipt of ``kind`` is for the entry's latest change: a withdrawal's, if any; an
    entry's, if its event's time (milliseconds, ``events.entry_event``) is the entry's ``updated_at``,
    which an edit moves (an edit answered without its receipt left only the earlier version's). A file
    that cannot be read counts as missing: the fetch replaces it."""
    named = [p for p in paths if f"-{kind}-" in Path(p).name]
    if kind != "entry":
        return bool(named)
    for path in named:
        try:
            extra = parse_receipt(Path(path).read_text()).extra
            at = events.parse_event(events.parse_opening(extra).event).at if extra is not None else None
        except (OSError, InvalidInput):
            continue
        if at is not None and changed_at - at < timedelta(milliseconds=1):
            return True
    return False


def _lacking_envelopes(session: Session, client: EscrowClient,
                       listed: Mapping[str, m.EntrySummary]) -> list[wallet_mod.Record]:
    """Escrowed records whose entry has no envelope for some counselor of the document in force (the
    entry list names the key ids each entry is sealed for)."""
    escrowed = [r for r in session.wallet.records
                if r.escrow is not None and r.escrow.status == "escrowed" and r.escrow.pending is None
                and r.escrow.entry_id in listed]
    if not escrowed:
        return []
    wanted = {c.key_id for c in session.deployment(client).counselors}
    lacking = []
    for record in escrowed:
        assert record.escrow is not None
        sealed_for = {b64u_decode(k, length=16) for k in listed[record.escrow.entry_id].sealed_for}
        if wanted - sealed_for:
            lacking.append(record)
    return lacking


def withdraw(session: Session, record_id: str) -> wallet_mod.Record:
    record = session.wallet.record(record_id)
    if record.escrow is None:
        raise InvalidInput(_("record {record_id} is private; there is nothing to withdraw", record_id=record_id))
    with session.client() as client:
        deployment = session.deployment(client)
        answer = client.withdraw(b64u_decode(record.escrow.entry_id, length=16))
        text = late_receipt(client, answer)
    if text is not None:
        receipts.check(text, deployment, b64u_decode(record.escrow.entry_id, length=16), kind="withdrawal")
        _keep_receipt(session, record.escrow, text, deployment, "withdrawal")
    record.escrow.status = answer.status
    session.save()
    return record


@dataclass(frozen=True)
class EscrowSummary:
    """Where a record stands in escrow, as the wallet last heard from the server."""

    entry_id: str  # b64u
    status: str  # "sending" until the server acknowledged, then the server's status
    quorum: int
    identifiers: tuple[str, ...]  # as typed
    canonical: tuple[str, ...]  # as matched
    received_at: str

    @classmethod
    def of(cls, state: wallet_mod.EscrowState) -> EscrowSummary:
        return cls(entry_id=state.entry_id, status=state.status, quorum=state.quorum,
                   identifiers=tuple(state.identifiers), canonical=tuple(state.canonical),
                   received_at=state.received_at)

    def to_json(self) -> JsonObject:
        return {"entry_id": self.entry_id, "status": self.status, "quorum": self.quorum,
                "identifiers": [*self.identifiers], "canonical": [*self.canonical],
                "received_at": self.received_at}


@dataclass(frozen=True)
class RecordSummary:
    """A record of the wallet as shown: its text, details, files (names and sizes) and escrow state."""

    record_id: str
    written_at: str
    text: str
    details: Mapping[str, str] | None
    attachments: tuple[AttachmentSummary, ...]
    escrow: EscrowSummary | None  # None while the record is private

    @classmethod
    def of(cls, record: wallet_mod.Record) -> RecordSummary:
        return cls(record_id=record.record_id, written_at=record.written_at, text=record.text,
                   details=record.details,
                   attachments=tuple(AttachmentSummary.of(a) for a in record.body_attachments()),
                   escrow=None if record.escrow is None else EscrowSummary.of(record.escrow))

    def to_json(self) -> JsonObject:
        return {"record_id": self.record_id, "written_at": self.written_at, "text": self.text,
                "details": None if self.details is None else {**self.details},
                "attachments": [a.to_json() for a in self.attachments],
                "escrow": None if self.escrow is None else self.escrow.to_json()}


@dataclass(frozen=True)
class RecordList:
    """Every record of a wallet, in the order written; and what the refresh sealed again (``Refreshed``)."""

    records: tuple[RecordSummary, ...]
    resealed: tuple[str, ...] = ()
    not_resealed: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> JsonObject:
        """``{"records": [...]}``, with ``"resealed"`` and ``"not_resealed"`` only when a refresh did either."""
        doc: JsonObject = {"records": [r.to_json() for r in self.records]}
        if self.resealed:
            doc["resealed"] = [*self.resealed]
        if self.not_resealed:
            doc["not_resealed"] = {**self.not_resealed}
        return doc


def list_records(session: Session, *, offline: bool = False) -> RecordList:
    """The wallet's records; unless ``offline``, with each escrowed entry's status fresh from the server
    (and entries sealed again for counselors who could not open them, see :func:`refreshed`)."""
    if offline:
        return RecordList(tuple(RecordSummary.of(r) for r in session.wallet.records))
    done = refreshed(session)
    return RecordList(tuple(RecordSummary.of(r) for r in done.records), done.resealed, done.not_resealed)
