"""Corroboration statements on the devices that make them (PROTOCOL.md §14.4).

The counselor's side asks for a statement on a match, and once reporters consented assembles it:
the consents, each entry's ciphertexts and leaf opening and the match's first release leaf from the
escrow server, inclusion proofs of all of them against **one** recent witness-cosigned checkpoint
from the public log, and the administrator-signed deployment document. It checks the whole
statement with ``protocol/corroboration.verify`` before writing it, so a server that handed out a
wrong leaf, ciphertext or consent is caught here and nothing is written.

The reporter's side lists the requests for its own entries and consents to one only after checking
that the entry is in this wallet and that the leaf and content hash named are those of the receipt
it checked when it escrowed (or last changed) the record: a reporter signs only for its own leaf.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from consilience.clients import receipts
from consilience.clients.counselor import CounselorKeys, _client
from consilience.clients.escrow_client import ApiError, EscrowClient
from consilience.clients.reporter import Session
from consilience.clients.results import JsonObject
from consilience.clients.wallet import Record
from consilience.errors import InvalidInput, VerificationError
from consilience.i18n import _, _n
from consilience.protocol import accounts
from consilience.protocol import corroboration as co
from consilience.protocol.deployment import Deployment
from consilience.protocol.encoding import b64u_decode, b64u_encode
from consilience.tlog import checkpoint as cp
from consilience.tlog.receipt import parse_receipt

# -- the counselor ------------------------------------------------------------------


def requests(keys: CounselorKeys, match_id: bytes) -> list[co.CorroborationSummary]:
    """The statement requests made on this match, oldest first."""
    with _client(keys) as client:
        doc = client._authed("GET", f"/v2/matches/{b64u_encode(match_id)}/corroborations")
    return [co.CorroborationSummary.model_validate(x) for x in doc]


def ask(keys: CounselorKeys, match_id: bytes) -> co.CorroborationSummary:
    """Ask the reporters of this match the counselors talk to; a fresh statement id, so a retry asks nobody twice."""
    statement_id = b64u_encode(os.urandom(16))
    with _client(keys) as client:
        doc = client._authed("POST", f"/v2/matches/{b64u_encode(match_id)}/corroborations",
                             {"statement_id": statement_id})
    return co.CorroborationSummary.model_validate(doc)


@dataclass(frozen=True)
class Assembled:
    """A statement that verified on this device, and what it shows."""

    statement: dict[str, Any]
    check: co.CorroborationCheck
    asked: int
    consented: int
    changed: int

    def to_json(self) -> JsonObject:
        return {**self.check.to_json(), "asked": self.asked, "consented": self.consented, "changed": self.changed}


def _recent_checkpoint(client: EscrowClient, deployment: Deployment) -> str:
    """The newest checkpoint a listed witness cosigned (``?cosigned=1``); the newest one when none is listed."""
    if not deployment.witnesses:
        return client.checkpoint()
    try:
        return str(client._call("GET", "/v2/log/checkpoint", params={"cosigned": 1}, text=True))
    except ApiError as exc:
        if exc.status == 404:
            raise InvalidInput(_("No checkpoint of the log is cosigned by a witness yet, so a statement could not "
                                 "be checked by anyone else. Try again after the witnesses' next cosignature "
                                 "(usually within minutes).")) from None
        raise


def _proof(client: EscrowClient, index: int, size: int) -> list[str]:
    """An inclusion proof by leaf index, from the public log (``GET /v2/log/inclusion``)."""
    try:
        doc = client._call("GET", "/v2/log/inclusion", params={"index": index, "size": size})
    except ApiError as exc:
        if exc.status == 404 and exc.detail == "Not Found":  # the route itself, not a leaf it lacks
            raise ApiError(404, "no_inclusion_proofs", exc.detail, server=client.base_url, message=(
                _("The escrow server at {base_url} does not hand out inclusion proofs by leaf index "
                  "(GET /v2/log/inclusion), which a statement needs; it may be an older version. Nothing was "
                  "written; ask the administrator to update it.", base_url=client.base_url))) from None
        raise
    if not isinstance(doc, dict) or not isinstance(doc.get("proof"), list):
        raise ApiError(200, "unexpected_answer", _("the inclusion proof is not what the protocol describes"),
                       server=client.base_url)
    return [str(h) for h in doc["proof"]]


def assemble(keys: CounselorKeys, match_id: bytes, statement_id: bytes) -> Assembled:
    """The statement of every consent in so far, checked here before it is returned."""
    if keys.admin_fingerprint is None:
        raise InvalidInput(_("this key is not connected to a deployment yet; run 'consilience counselor login'"))
    with _client(keys) as client:
        signed = client.published_deployment()
        published = signed.model_dump()
        deployment = client.deployment(keys.admin_fingerprint, min_serial=keys.min_serial, published=signed)
        detail = co.CorroborationDetail.model_validate(client._authed(
            "GET", f"/v2/matches/{b64u_encode(match_id)}/corroborations/{b64u_encode(statement_id)}"))
        if len(detail.entries) < co.MIN_ENTRIES:
            raise InvalidInput(_too_few(detail))
        note = _recent_checkpoint(client, deployment)
        size = cp.parse_signed_checkpoint(note)[0].size
        release = {"leaf_index": detail.release.leaf_index, "opening": detail.release.opening,
                   "proof": _proof(client, detail.release.leaf_index, size)}
        entries = [{**e.model_dump(mode="json"), "proof": _proof(client, e.leaf_index, size)}
                   for e in detail.entries]
    statement = co.make_statement(
        statement_id=statement_id, match_id=match_id, tag=b64u_decode(detail.tag),
        made_at=datetime.now(UTC).isoformat(timespec="seconds"), published=published, checkpoint=note,
        release=release, entries=entries)
    try:
        check = co.verify(statement, expected_fingerprint=keys.admin_fingerprint)
    except co.CorroborationRefused as exc:
        raise VerificationError(_("The statement the escrow server's answers make does not check ({exc}), so "
                                  "nothing was written. Tell the administrator.", exc=exc)) from exc
    return Assembled(statement, check, detail.asked, detail.consented, detail.changed)


def _too_few(detail: co.CorroborationDetail) -> str:
    if detail.changed:
        return _n("{consented} of the {n} reporters asked consented so far ({changed} changed their record since); "
                  "a statement needs at least 2. Ask again later: reporters answer in their own time.",
                  "{consented} of the {n} reporters asked consented so far ({changed} changed their record since); "
                  "a statement needs at least 2. Ask again later: reporters answer in their own time.",
                  detail.asked, consented=detail.consented, changed=detail.changed)
    return _n("{consented} of the {n} reporters asked consented so far; a statement needs at least 2. Ask again "
              "later: reporters answer in their own time.",
              "{consented} of the {n} reporters asked consented so far; a statement needs at least 2. Ask again "
              "later: reporters answer in their own time.", detail.asked, consented=detail.consented)


def write(path: Path, assembled: Assembled) -> Path:
    """Write the checked statement; an existing file is not overwritten."""
    import json

    path = Path(path)
    if path.exists():
        raise InvalidInput(_("{path} exists; choose another file name (nothing was written)", path=path))
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(assembled.statement, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


# -- the reporter -------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """One request for a record of this wallet, and whether this device could check it."""

    request: co.CorroborationRequest
    record: Record | None
    #: why this device will not sign it ("" when it will)
    problem: str

    @property
    def short_id(self) -> str:
        return b64u_decode(self.request.statement_id, length=16).hex()[:8]

    def to_json(self) -> JsonObject:
        return {"request_id": self.short_id, **self.request.model_dump(mode="json"),
                "record_id": self.record.record_id if self.record else None, "problem": self.problem or None}


@dataclass(frozen=True)
class RequestList:
    requests: tuple[Request, ...]

    def to_json(self) -> JsonObject:
        return {"requests": [r.to_json() for r in self.requests]}


def _own_leaf(session: Session, deployment: Deployment, record: Record) -> tuple[int, bytes] | None:
    """(index, content hash) of the newest entry leaf among this record's checked receipts."""
    assert record.escrow is not None
    best: tuple[int, bytes] | None = None
    for name in record.escrow.receipts:
        path = Path(name)
        if not path.is_absolute():
            path = session.receipts_dir / path
        try:
            text = path.read_text(encoding="utf-8")
            opened = receipts.open_receipt(text, deployment.log_vkey, origin=deployment.log_origin)
        except (OSError, UnicodeDecodeError, VerificationError, InvalidInput):
            continue
        event = opened.event
        if event.kind == "entry" and event.entry_id == b64u_decode(record.escrow.entry_id) \
                and event.content_hash is not None and (best is None or parse_receipt(text).index > best[0]):
            best = (parse_receipt(text).index, event.content_hash)
    return best


def _check(session: Session, deployment: Deployment, request: co.CorroborationRequest) -> tuple[Record | None, str]:
    record = next((r for r in session.wallet.records
                   if r.escrow is not None and r.escrow.entry_id == request.entry_id), None)
    if record is None or record.escrow is None:
        return None, _("it names a record that is not in this wallet")
    if record.escrow.status == "withdrawn":
        return record, _("this record was withdrawn")
    leaf = _own_leaf(session, deployment, record)
    if leaf is None:
        return record, _("this device has no receipt of this record to compare with")
    if leaf != (request.leaf_index, b64u_decode(request.content_hash, length=32)):
        return record, _("the log entry it names is not the one of your record's receipt on this device (the "
                         "record may have changed since it was asked for)")
    return record, ""


def pending(session: Session) -> RequestList:
    """The requests for this wallet's records, each checked against this device's receipts."""
    client = session.client()
    with client:
        deployment = session.deployment(client)
        doc = client._authed("GET", "/v2/corroborations")
    found = []
    for raw in doc:
        request = co.CorroborationRequest.model_validate(raw)
        record, problem = _check(session, deployment, request)
        found.append(Request(request, record, problem))
    return RequestList(tuple(found))


def find(listed: RequestList, request_id: str) -> Request:
    """The request ``request_id`` names: the 8 characters ``reporter consent`` shows (or more of them)."""
    wanted = request_id.strip().lower()
    matches = [r for r in listed.requests
               if len(wanted) >= 6 and b64u_decode(r.request.statement_id, length=16).hex().startswith(wanted)]
    if len({r.request.statement_id for r in matches}) != 1:
        raise InvalidInput(_("There is no request {request_id} for your records. Run 'consilience reporter consent' "
                             "to see the requests and their ids.", request_id=repr(request_id)))
    return matches[0]


def give_consent(session: Session, chosen: Request) -> co.CorroborationRequest:
    """Sign the consent with this account's key and send it; refused here unless the request checked."""
    if chosen.problem:
        raise InvalidInput(_("This request was not signed: {problem}. Nothing was sent.", problem=chosen.problem))
    r = chosen.request
    seed = b64u_decode(session.wallet.account_seed, length=32)
    deployment_id = accounts.parse_certificate(b64u_decode(session.wallet.certificate, length=120)).deployment_id
    signature = co.sign_consent(seed, deployment_id, b64u_decode(r.statement_id, length=16),
                                b64u_decode(r.match_id, length=16), b64u_decode(r.entry_id, length=16),
                                b64u_decode(r.content_hash, length=32), r.leaf_index)
    client = session.client()
    with client:
        doc = client._authed("POST", f"/v2/corroborations/{r.statement_id}/consent",
                             {"entry_id": r.entry_id, "consent": b64u_encode(signature)})
    session.save()  # a renewed session token is kept
    return co.CorroborationRequest.model_validate(doc)
