"""Recovery on a new device, the reporter's side (PROTOCOL.md §14.1): set up, keep up to date, recover.

Set-up deals this backup's own VOPRF key to the deployment's key servers (sealed to their HPKE keys
from the signed document) and keeps only the backup key and the handle in the wallet; every save
then uploads the wallet sealed under that key, one version higher. A new device has the handle and
the passphrase: it fetches the backup, asks the key servers (each counts the try), combines t
answers whose proofs hold, opens the wallet, checks that the wallet's administrator signed the
deployment it talked to, tells the key servers the recovery worked (their counts go back to 0),
signs in afresh, fetches and checks every receipt again, and seals the wallet on this device.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from consilience.clients import receipts
from consilience.clients import wallet as wallet_mod
from consilience.clients.escrow_client import ApiError, EscrowClient, reporter_login
from consilience.clients.http import client as http_client
from consilience.clients.http import reason as http_reason
from consilience.crypto import oprf, threshold_oprf
from consilience.errors import ConsilienceError, DecryptionError, InvalidInput, VerificationError
from consilience.i18n import N_, _, _n
from consilience.protocol import accounts, recovery
from consilience.protocol import deployment as deployment_doc
from consilience.protocol.deployment import Deployment
from consilience.protocol.encoding import b64u_decode, b64u_encode

if TYPE_CHECKING:
    from consilience.clients.reporter import Session

log = logging.getLogger(__name__)

#: Said after a save whose backup has to wait (translate it with ``_()`` where it is shown).
PENDING = N_("Your backup will be updated next time you are online.")


class RecoveryFailed(ConsilienceError):
    """Recovery did not bring the wallet back; the message says why in plain words and what to do.

    ``code`` names the case for scripts: ``wrong_passphrase`` (with ``attempts_left``),
    ``recovery_locked`` (with the key servers' reason), ``key_servers_unavailable``.
    """

    def __init__(self, message: str, code: str, *, attempts_left: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.attempts_left = attempts_left

    def json_fields(self) -> dict[str, object]:
        return {"code": self.code, "attempts_left": self.attempts_left}


def _kdf(kdf_params: dict[str, int] | None) -> recovery.KdfParams:
    """The wallet file's Argon2id costs (tests lower them) as the backup's."""
    if not kdf_params:
        return recovery.KdfParams()
    return recovery.KdfParams(kdf_params.get("memory_cost_kib", recovery.KdfParams.memory_kib),
                              kdf_params.get("iterations", recovery.KdfParams.iterations),
                              kdf_params.get("lanes", recovery.KdfParams.lanes))


def _recipients(d: Deployment) -> list[recovery.Recipient]:
    return [recovery.Recipient(s.index, s.identity_key, s.hpke_public_key) for s in d.serving_key_servers]


def _dealt_for(keys: dict[str, Any] | None, d: Deployment) -> bool:
    """Whether the backup's shares are still dealt to the key servers (and threshold) the document names."""
    if not keys:
        return False
    try:
        parsed = recovery.BackupKeys.from_json(keys)
    except InvalidInput:
        return False
    now = {(s.index, s.identity_key) for s in d.serving_key_servers}
    return parsed.threshold == d.threshold and {(s.index, s.identity_key) for s in parsed.servers} == now


def handle_of(w: wallet_mod.Wallet) -> str:
    """The account handle of a wallet (computable before any set-up: it is a hash of the account key)."""
    cert = accounts.parse_certificate(b64u_decode(w.certificate, length=accounts.CERTIFICATE_BYTES))
    return recovery.format_handle(recovery.handle_bytes(cert.deployment_id, cert.account_key))


def set_up(session: Session, client: EscrowClient | None = None) -> str:
    """Deal a fresh backup key for this wallet and upload the first backup; the handle to write down."""
    own = client is None
    client = client or session.client()
    try:
        d = session.deployment(client)
        w = session.wallet
        cert = accounts.parse_certificate(b64u_decode(w.certificate, length=accounts.CERTIFICATE_BYTES))
        handle = recovery.handle_bytes(d.deployment_id, cert.account_key)
        recipients = _recipients(d)
        if len(recipients) < d.threshold:
            raise InvalidInput(_("the deployment's key servers have not finished setting up yet, so the backup "
                                 "cannot be made; it is made next time"))
        dealt = recovery.deal(session.secret, d.deployment_id, handle, d.threshold, recipients,
                              _kdf(session.kdf_params))
        w.backup_handle = recovery.format_handle(handle)
        w.backup_key = b64u_encode(dealt.backup_key)
        w.backup_keys = dealt.keys.to_json()
        upload(session, client)
        return w.backup_handle
    finally:
        if own:
            client.close()


def _document(w: wallet_mod.Wallet, version: int) -> dict[str, Any]:
    assert w.backup_keys is not None
    keys = recovery.BackupKeys.from_json(w.backup_keys)
    copy = replace(w, backup_key="")  # never the key under itself: recovery derives it again
    copy.backup_version = version
    sealed = recovery.seal_wallet(b64u_decode(w.backup_key, length=32), copy.to_bytes(), keys.deployment_id,
                                  keys.handle, version)
    return recovery.Backup(keys, version, sealed).to_json()


def upload(session: Session, client: EscrowClient, *, version: int | None = None) -> None:
    """Upload the wallet as ``version`` (default the next); a stale version (another device saved since) goes
    one above. The wallet is written again only when what it says changed: each write stretches the
    passphrase again (Argon2id), so a save that ``before_save`` already numbered costs one, not two."""
    w = session.wallet
    planned = w.backup_version + 1 if version is None else version
    final = planned
    try:
        client.put_backup(_document(w, planned))
    except ApiError as exc:
        if exc.status != 409 or exc.code != "stale_backup":
            raise
        final = max(planned, _stored_version(exc.detail) + 1)
        client.put_backup(_document(w, final))
    if version is not None and final == version and w.backup_version == version and not w.backup_pending:
        return  # the wallet on disk already says this version, uploaded
    w.backup_version = final
    w.backup_pending = False
    wallet_mod.save(session.path, w, session.secret, kdf_params=session.kdf_params)


def before_save(session: Session) -> None:
    """Number the version the coming save uploads, so the file written says so (PROTOCOL.md §14.1).

    Optimistic: if the upload then fails, ``after_save`` marks the wallet pending and writes it again
    (only then); if the process dies in between, the server holds an older version and the next save
    uploads one above the number written, which the server accepts.
    """
    w = session.wallet
    if w.backup_key and w.backup_keys and not w.backup_pending:
        w.backup_version += 1


def _stored_version(detail: str) -> int:
    digits = "".join(c if c.isdigit() else " " for c in detail).split()
    return int(digits[0]) if digits else 0


def after_save(session: Session) -> str | None:
    """Keep the backup up to date after the wallet was saved; a calm line if it has to wait, else None.

    Network trouble leaves ``backup_pending`` set (saved), and the next save or command tries again;
    the shares are dealt again when the document's key servers or threshold changed.
    """
    w = session.wallet
    if not w.backup_key and not w.backup_pending:
        return None  # no backup was ever set up for this wallet (``consilience reporter backup`` does it)
    try:
        with session.client() as client:
            d = session.recent_deployment(client)
            if not w.backup_key or not _dealt_for(w.backup_keys, d):
                set_up(session, client)
            elif w.backup_pending:
                upload(session, client)
            else:
                upload(session, client, version=w.backup_version)  # numbered by before_save
        return None
    except (ConsilienceError, httpx.HTTPError, OSError) as exc:
        log.info("backup upload deferred: %s", exc)
        if not w.backup_pending:
            w.backup_pending = True
            wallet_mod.save(session.path, w, session.secret, kdf_params=session.kdf_params)
        return _(PENDING)


@dataclass
class BackupStatus:
    handle: str
    set_up: bool
    version: int
    pending: bool

    def to_json(self) -> dict[str, object]:
        return {"handle": self.handle, "set_up": self.set_up, "version": self.version, "pending": self.pending}


def status(session: Session) -> BackupStatus:
    w = session.wallet
    return BackupStatus(w.backup_handle or handle_of(w), bool(w.backup_key), w.backup_version, w.backup_pending)


# -- recovery -----------------------------------------------------------------------------------


@dataclass
class Recovered:
    session: Session
    records: int
    escrowed: int
    receipts_checked: int
    reset_failed: list[int] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {"records": self.records, "escrowed": self.escrowed, "receipts_checked": self.receipts_checked,
                "wallet": str(self.session.path), "handle": self.session.wallet.backup_handle}


def _post(http: httpx.Client, url: str, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    try:
        r = http.post(url.rstrip("/") + path, json=body)
    except httpx.HTTPError as exc:
        return 0, {"detail": http_reason(exc)}
    try:
        return r.status_code, r.json() if r.content else {}
    except ValueError:
        return r.status_code, {"detail": r.text[:200]}


def recover(server: str, handle_text: str, secret: str, path: Path, *, unlock_code: str | None = None,
            kdf_params: dict[str, int] | None = None, timeout: float = 20.0) -> Recovered:
    """Bring the wallet of ``handle_text`` back onto this device at ``path``, sealed under ``secret``."""
    from consilience.clients.reporter import Session  # the session type; reporter imports this module

    if Path(path).exists():
        raise InvalidInput(_("{path} already exists. Recovery writes a new wallet; choose another --wallet, or "
                             "move that file away if it is an old copy.", path=path))
    handle = recovery.parse_handle(handle_text)
    code = recovery.parse_unlock_code(unlock_code) if unlock_code else None
    with EscrowClient(server) as client:
        published = client.published_deployment()
        admin_key = b64u_decode(published.admin_key, length=32)
        fingerprint = deployment_doc.admin_fingerprint(admin_key)
        d = client.deployment(fingerprint, published=published)  # signed by the key it names; checked below
        try:
            backup = recovery.parse_json(client.backup(recovery.format_handle(handle)))
        except ApiError as exc:
            if exc.status == 404:
                raise RecoveryFailed(exc.detail, "no_backup") from exc
            raise
        keys = backup.keys
        if keys.deployment_id != d.deployment_id or keys.handle != handle:
            raise VerificationError(_("the server sent a backup of another account or deployment; nothing was written"))
        serving = {s.identity_key: s for s in d.serving_key_servers}
        asked = [(s, serving[s.identity_key]) for s in keys.servers if s.identity_key in serving]
        with http_client(timeout=timeout) as http:
            if code is not None:
                for _index, ks in asked:
                    _post(http, ks.url, "/v2/recovery/unlock", {"code": unlock_code})
            hardened = recovery.harden(secret, keys.deployment_id, keys.handle, keys.kdf)
            blind, blinded = oprf.blind(hardened, oprf.MODE_VOPRF)

            def ask(pair: tuple[recovery.ServerShare, Any]) -> tuple[recovery.ServerShare, int, Any]:
                share, ks = pair
                status, doc = _post(http, ks.url, "/v2/recovery/evaluate", {
                    "handle": recovery.format_handle(handle), "sealed_share": b64u_encode(share.sealed_share),
                    "public_share": b64u_encode(share.public_share), "blinded": b64u_encode(blinded)})
                return share, status, doc

            with ThreadPoolExecutor(max_workers=max(1, len(asked))) as pool:
                answers = list(pool.map(ask, asked))
        partials, locked, skipped, lefts = [], None, {}, []
        for share, status, doc in answers:
            if status == 200:
                try:
                    partial = threshold_oprf.PartialEvaluation(
                        share.index, [b64u_decode(doc["evaluated"], length=32)], b64u_decode(doc["proof"], length=64))
                    if threshold_oprf.verify_partial([blinded], partial, keys.public_shares()) is None:
                        raise VerificationError(_("its proof does not verify"))
                except (InvalidInput, VerificationError, KeyError, TypeError) as exc:
                    skipped[share.index] = _("answered wrongly ({exc})", exc=exc)
                    continue
                partials.append(partial)
                lefts.append(int(doc.get("attempts_left", 0)))
            elif status == 423:
                locked = str(doc.get("detail", ""))
            else:
                skipped[share.index] = _("did not answer ({status}: {detail})", status=status or _("unreachable"),
                                         detail=doc.get("detail", ""))
        if len(partials) < keys.threshold:
            if locked:
                raise RecoveryFailed(locked, "recovery_locked")
            why = "; ".join(_("key server {index} {why}", index=i, why=w) for i, w in skipped.items())
            raise RecoveryFailed(
                _("Too few of the deployment's key servers answered ({count} of the {threshold} "
                  "needed), so the backup could not be opened. Nothing was changed. Try again in a while; if it "
                  "keeps happening, tell the administrator. ({why})",
                  count=len(partials), threshold=keys.threshold, why=why), "key_servers_unavailable")
        rwd = recovery.rwd_from_partials(hardened, blind, blinded, partials[:keys.threshold], keys)
        key = recovery.backup_key(rwd, keys.deployment_id, keys.handle)
        try:
            data = recovery.open_wallet(key, backup.wallet, keys.deployment_id, keys.handle, backup.version)
        except DecryptionError:
            left = min(lefts) if lefts else 0
            raise RecoveryFailed(
                _n("That passphrase did not open the backup. You have {n} tries left at this deployment before "
                   "recovery pauses.",
                   "That passphrase did not open the backup. You have {n} tries left at this deployment before "
                   "recovery pauses.", left), "wrong_passphrase", attempts_left=left) from None
        w = wallet_mod.Wallet.from_bytes(data)
        if w.admin_fingerprint != b64u_encode(fingerprint):
            raise VerificationError(_("the backup opened, but its administrator is not the one who signed this "
                                      "server's deployment document, so it was not written. Tell the administrator."))
        seed = b64u_decode(w.account_seed, length=32)
        cert = b64u_decode(w.certificate, length=accounts.CERTIFICATE_BYTES)
        reset_failed = []
        with http_client(timeout=timeout) as http:
            for _share, ks in asked:
                req = recovery.make_reset(seed, cert, d.deployment_id, ks.identity_key)
                status, _answer = _post(http, ks.url, "/v2/recovery/reset", {
                    "certificate": b64u_encode(req.certificate), "audience": b64u_encode(req.audience),
                    "issued_at": req.issued_at, "nonce": b64u_encode(req.nonce),
                    "signature": b64u_encode(req.signature)})
                if status != 204:
                    reset_failed.append(ks.index)
        w.server = client.base_url
        w.backup_key, w.backup_version = b64u_encode(key), backup.version
        w.backup_handle, w.backup_keys, w.backup_pending = recovery.format_handle(handle), keys.to_json(), False
        token = reporter_login(seed, d.deployment_id)(client)  # a fresh session: the old token stayed behind
        w.token = b64u_encode(token)
        session = Session(Path(path), secret, w, kdf_params)
        session.signed_deployment = published.model_dump()
        with EscrowClient(client.base_url, token) as signed_in:
            checked = _fetch_receipts(session, signed_in, d)
    session.save_local()
    records = len(w.records)
    escrowed = sum(1 for r in w.records if r.escrow is not None and r.escrow.status != "withdrawn")
    return Recovered(session, records, escrowed, checked, reset_failed)


def _fetch_receipts(session: Session, client: EscrowClient, d: Deployment) -> int:
    """The receipt of each escrowed entry's latest leaf, fetched and checked again (the files stayed behind)."""
    from consilience.clients.reporter import late_receipt

    checked = 0
    for record in session.wallet.records:
        state = record.escrow
        if state is None or state.pending is not None:
            continue
        entry_id = b64u_decode(state.entry_id, length=16)
        answer = client.receipt(entry_id)
        state.status = answer.status
        state.receipts = []
        text = late_receipt(client, answer)  # the latest event may be waiting for the log's integrator
        if text is None:
            continue
        kind = "withdrawal" if answer.status == "withdrawn" else "entry"
        receipts.check(text, d, entry_id, kind=kind)
        path = receipts.save(session.receipts_dir, text, d, state.entry_id, kind,
                             signed=session.signed_deployment)
        state.receipts.append(str(path))
        checked += 1
    return checked


__all__ = ["PENDING", "BackupStatus", "Recovered", "RecoveryFailed", "after_save", "handle_of", "recover",
           "set_up", "status", "upload"]
