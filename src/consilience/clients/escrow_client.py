"""Typed HTTP client for the escrow server's API (protocol v2).

Translates HTTP failures into ``ApiError``: a message in plain words (what
happened, what to do), with the server's own status, code and ``detail``
kept beside it for scripts.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import httpx

from consilience.clients.http import UntrustedCertificate
from consilience.clients.http import client as http_client
from consilience.errors import ConsilienceError
from consilience.i18n import _, _n
from consilience.protocol import deployment as deployment_doc
from consilience.protocol import messages as m
from consilience.protocol import sessions
from consilience.protocol.deployment import Deployment
from consilience.protocol.encoding import b64u_decode, b64u_encode
from consilience.protocol.entry import SealedEntry

ModelT = TypeVar("ModelT", bound=m.Strict)


class ApiError(ConsilienceError):
    """The escrow server answered with an error (its status, code and detail), or was not reached (status 0).

    What the server raised as a ``Refusal`` (or a storage refusal) arrives here; see the tree in
    ``consilience.errors``. The message says in plain words what happened and what to do
    (:func:`describe`); the status, code and the server's own detail stay on the exception for
    scripts (``--json`` prints them beside the message). Status 0 codes: ``unreachable`` (no
    connection was made, so nothing was sent), ``no_answer`` (the request may have arrived, the
    answer did not), ``bad_address`` (not an http(s) address).
    """

    def __init__(self, status: int, code: str, detail: str, *, server: str | None = None,
                 retry_after: float | None = None, current_serial: int | None = None,
                 message: str | None = None) -> None:
        super().__init__(message or describe(status, code, detail, server=server, retry_after=retry_after,
                                             current_serial=current_serial))
        self.status = status
        self.code = code
        self.detail = detail
        self.server = server
        self.retry_after = retry_after
        self.current_serial = current_serial

    def json_fields(self) -> dict[str, object]:
        """What ``--json`` prints beside the message: ``status``, ``code``, the server's ``detail``..."""
        fields: dict[str, object] = {"status": self.status, "code": self.code, "detail": self.detail}
        for name in ("server", "retry_after", "current_serial"):
            if getattr(self, name) is not None:
                fields[name] = getattr(self, name)
        return fields


def wait_text(seconds: float | None) -> str:
    """"about 30 seconds", "a minute", "5 minutes"; "a little while" when the server did not say."""
    if seconds is None or seconds <= 0:
        return _("a little while")
    whole = max(1, math.ceil(seconds))
    if whole < 60:
        return _n("about {n} second", "about {n} seconds", whole)
    minutes = math.ceil(whole / 60)
    return _n("a minute", "{n} minutes", minutes)


def describe(status: int, code: str, detail: str, *, server: str | None = None, retry_after: float | None = None,
             current_serial: int | None = None) -> str:
    """An escrow server's error answer (or its absence) as a person reads it: what happened, what to do."""
    where = _("the escrow server at {server}", server=server) if server else _("the escrow server")
    cap = _("The escrow server at {server}", server=server) if server else _("The escrow server")
    if status == 0:
        if code == "bad_address":
            return _("{server} is not an address this program can use: it should start with https:// (or http:// "
                     "for this machine), e.g. https://escrow.example.org. Nothing was sent.",
                     server=server or _("The server address"))
        if code == "no_answer":
            return _("{cap} did not answer in time, or the connection broke before its answer arrived. Check "
                     "your connection and try again.", cap=cap)
        return _("Cannot reach {where}. Check the address and your connection; nothing was sent.", where=where)
    if code == "unexpected_answer":
        return _("{cap} answered in a way this program does not understand ({detail}). Check the address; if it "
                 "is right, this program and the server may be different versions.", cap=cap, detail=detail)
    if status == 400:
        return _("{cap} could not read the request ({detail}). This program and the server may be different "
                 "versions: update consilience, or tell the administrator.", cap=cap, detail=detail)
    if status == 401 and code == "account_revoked":
        return _("The administrator of this deployment revoked this account, so it can no longer sign in. If you "
                 "think this is a mistake, ask the administrator. Nothing was changed.")
    if status == 401 and code == "account_deleted":
        return _("This account was deleted, so it can no longer be used or signed in to. Nothing was sent.")
    if status == 401 and code == "session_expired":
        return _("Your sign-in at {where} expired and signing in again did not work ({detail}). Try again.",
                 where=where, detail=detail)
    if status == 401:
        return _("{cap} did not accept your sign-in ({detail}). The account may have been closed, or this wallet "
                 "or key may belong to another deployment; ask the administrator.", cap=cap, detail=detail)
    if status == 403 and detail.startswith("invite refused"):
        return invite_refused()
    if status == 403:
        return _("{cap} refused this: {detail}. If you think it should be allowed, ask the administrator.",
                 cap=cap, detail=detail)
    if status == 404:
        return _("{cap} has nothing there ({detail}). Check the id, or the address of the server.",
                 cap=cap, detail=detail)
    if status == 409 and current_serial is not None:
        return _("The deployment changed while this was being prepared (its document is now at serial "
                 "{current_serial}). Run the command again: it will use the new document. Nothing was counted.",
                 current_serial=current_serial)
    if status == 409:
        return _("{cap} refused this because it conflicts with what it already holds: {detail}.",
                 cap=cap, detail=detail)
    if status == 413 and code in ("over_storage_quota", "too_many_entries"):  # the account's quotas (§9)
        return _("{cap} did not store this, because {detail}. Nothing was stored; your record is as it was.",
                 cap=cap, detail=detail)
    if status == 413:
        return _("That is too large for {where} ({detail}). Remove or shrink some attachments and try again.",
                 where=where, detail=detail)
    if status == 422:
        return _("{cap} refused what was sent: {detail}.", cap=cap, detail=detail)
    if status == 429:
        return _("Too many attempts for now ({detail}). Wait {wait} and try again.",
                 detail=detail, wait=wait_text(retry_after))
    if status == 503:
        return _("{cap} is unavailable for the moment. Try again in a few minutes; nothing was lost.", cap=cap)
    if status >= 500:
        return _("{cap} had a problem (HTTP {status}). Try again later; if it keeps happening, tell the "
                 "administrator.", cap=cap, status=status)
    return _("{cap} answered HTTP {status} ({code}): {detail}.", cap=cap, status=status, code=code, detail=detail)


def invite_refused() -> str:
    """What a refused invite says (its detail may come in the server's language, so ``register`` says it too)."""
    return _("This invite was not accepted: it may have been used already, have expired, or have a mistyped "
             "character. Check it against the one you were given, or ask for a new one. Nothing was created.")


#: How a client signs in again when its session has expired (PROTOCOL.md §6.1): called with the client,
#: it returns a new session token (``reporter_login``, ``counselor_login``).
SignIn = Callable[["EscrowClient"], bytes]


def reporter_login(seed: bytes, deployment_id: bytes) -> SignIn:
    """Sign in with the account key (the wallet's seed), as ``POST /v2/login``."""
    def sign_in(client: EscrowClient) -> bytes:
        return client.login(sessions.sign_login(seed, deployment_id))
    return sign_in


def counselor_login(credential: bytes) -> SignIn:
    """Sign in with the credential the administrator gave (``cnslc1.``'s token), as ``POST /v2/login/counselor``."""
    def sign_in(client: EscrowClient) -> bytes:
        return client.login_counselor(credential)
    return sign_in


class EscrowClient:
    """The escrow server's API. ``token``: the session to use; ``sign_in``: how to get a new one.

    With ``sign_in``, a request that needs an account and is answered 401 because the session
    expired (or is unknown: e.g. one from before the server's upgrade) signs in again and is sent
    once more, so nobody sees an expiry mid-task; ``token`` then holds the new session. A revoked
    or deleted account's refusal is not retried.
    """

    def __init__(self, base_url: str, token: bytes | None = None, *, timeout: float = 30.0,
                 transport: httpx.BaseTransport | None = None, sign_in: SignIn | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self._sign_in = sign_in
        self._http = http_client(base_url=base_url.rstrip("/"), headers={}, timeout=timeout,
                                 transport=transport)
        if token:
            self._use(token)

    def _use(self, token: bytes) -> None:
        self.token = token
        self._http.headers["Authorization"] = f"Bearer {b64u_encode(token)}"

    def _authed(self, method: str, path: str, json: Any = None, ok: tuple[int, ...] = (200, 201)) -> Any:
        """A request made as the account: signs in first if there is no session, and again once if it expired."""
        if self.token is None and self._sign_in is not None:
            self._use(self._sign_in(self))
        try:
            return self._call(method, path, json, ok)
        except ApiError as exc:
            if exc.status != 401 or exc.code in ("account_revoked", "account_deleted") or self._sign_in is None:
                raise
        self._use(self._sign_in(self))
        return self._call(method, path, json, ok)

    def login(self, login: sessions.Login) -> bytes:
        """``POST /v2/login``: a new session for the reporter account that signed ``login``."""
        doc = self._call("POST", "/v2/login", {
            "account_key": b64u_encode(login.account_key), "issued_at": login.issued_at,
            "nonce": b64u_encode(login.nonce), "signature": b64u_encode(login.signature)})
        return self._session_token(doc)

    def login_counselor(self, credential: bytes) -> bytes:
        """``POST /v2/login/counselor``: a new session for the counselor whose credential this is."""
        doc = self._call("POST", "/v2/login/counselor", headers={"Authorization": f"Bearer {b64u_encode(credential)}"})
        return self._session_token(doc)

    def _session_token(self, doc: Any) -> bytes:
        try:
            return b64u_decode(str(doc["token"]), length=32, field="token")
        except (KeyError, TypeError, ConsilienceError) as exc:
            raise ApiError(200, "unexpected_answer", _("the sign-in answer is not what the protocol describes"),
                           server=self.base_url) from exc

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> EscrowClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, json: Any = None, ok: tuple[int, ...] = (200, 201),
              params: dict[str, Any] | None = None, text: bool = False,
              headers: dict[str, str] | None = None) -> Any:
        try:
            response = self._http.request(method, path, json=json, params=params, headers=headers)
        except httpx.UnsupportedProtocol as exc:
            raise ApiError(0, "bad_address", str(exc), server=self.base_url) from exc
        except UntrustedCertificate as exc:
            raise ApiError(0, "untrusted_certificate", exc.reason, server=self.base_url,
                           message=_("{refusal}. Nothing was sent.",
                                     refusal=exc.describe(_("The escrow server")))) from exc
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise ApiError(0, "unreachable", _("cannot reach {base_url}: {exc}",
                                               base_url=self.base_url, exc=exc), server=self.base_url) from exc
        except httpx.HTTPError as exc:
            raise ApiError(0, "no_answer", _("no answer from {base_url}: {kind} {exc}", base_url=self.base_url,
                                             kind=type(exc).__name__, exc=exc).strip(),
                           server=self.base_url) from exc
        if response.status_code not in ok:
            serial = None
            try:
                doc = response.json()
                code, detail = str(doc.get("error", "error")), str(doc.get("detail", doc))
                serial = doc.get("current_serial") if isinstance(doc.get("current_serial"), int) else None
            except (ValueError, AttributeError):
                code, detail = "error", response.text[:300]
            raise ApiError(response.status_code, code, detail, server=self.base_url,
                           retry_after=_retry_after(response), current_serial=serial)
        if text:
            return response.text
        try:
            return response.json() if response.content else None
        except ValueError as exc:
            raise ApiError(response.status_code, "unexpected_answer", _("{method} {path}: not JSON",
                                                                        method=method, path=path),
                           server=self.base_url) from exc

    def _model(self, model: type[ModelT], doc: Any, what: str) -> ModelT:
        """``doc`` as ``model``; an answer of another shape is an ApiError, not a traceback."""
        try:
            return model.model_validate(doc)
        except ValueError as exc:
            raise ApiError(200, "unexpected_answer", _("{what} is not what the protocol describes", what=what),
                           server=self.base_url) from exc

    # -- public ------------------------------------------------------------
    def published_deployment(self) -> m.SignedDeployment:
        """The signed deployment document as served, unchecked (see :meth:`deployment`)."""
        return self._model(m.SignedDeployment, self._call("GET", "/v2/deployment"), _("the deployment document"))

    def backup(self, handle: str) -> Any:
        """The sealed backup of an account handle (PROTOCOL.md §14.1), unchecked; needs no sign-in."""
        return self._call("GET", f"/v2/backup/{handle}")

    def put_backup(self, document: dict[str, Any]) -> Any:
        """Store this account's backup document (``PUT /v2/account/backup``); 409 ``stale_backup`` if older."""
        return self._authed("PUT", "/v2/account/backup", document, ok=(200,))

    def delete_backup(self) -> None:
        self._authed("DELETE", "/v2/account/backup", ok=(204,))

    def deployment(self, admin_fingerprint: bytes, *, min_serial: int = 0,
                   published: m.SignedDeployment | None = None) -> Deployment:
        published = published or self.published_deployment()
        return deployment_doc.verify(published.model_dump(), admin_fingerprint, min_serial=min_serial)

    def register(self, account_key: bytes, proof: bytes, *, message_key: bytes | None = None) -> Registered:
        """Use an invite: the escrow account's id and token, and the administrator's certificate of the key.

        ``message_key`` is the wallet's messaging key (PROTOCOL.md §13.1), so a counselor's messages carry a
        wrap this account is handed."""
        request = {"account_key": b64u_encode(account_key), "proof": b64u_encode(proof)}
        if message_key is not None:
            request["message_key"] = b64u_encode(message_key)
        try:
            answer = self._call("POST", "/v2/register", request)
        except ApiError as exc:
            if exc.status != 403:
                raise
            raise ApiError(exc.status, exc.code, exc.detail, server=exc.server,
                           message=invite_refused()) from exc
        doc = self._model(m.RegisterResponseV2, answer, _("the registration answer"))
        return Registered(b64u_decode(doc.account_id, length=16), b64u_decode(doc.token),
                          b64u_decode(doc.certificate, length=120))

    def submit(self, sealed: SealedEntry, *, replace: bool = False) -> m.EntryReceipt:
        return self.send(submission_payload(sealed), replace=replace)

    def send(self, payload: dict[str, Any], *, replace: bool = False) -> m.EntryReceipt:
        """Send a prepared submission; resending identical bytes is idempotent."""
        if replace:
            doc = self._authed("PUT", f"/v2/entries/{payload['entry_id']}", payload)
        else:
            doc = self._authed("POST", "/v2/entries", payload)
        return m.EntryReceipt.model_validate(doc)

    def entries(self) -> list[m.EntrySummary]:
        return [m.EntrySummary.model_validate(e) for e in self._authed("GET", "/v2/entries")]

    def entry(self, entry_id: bytes) -> m.EntryDetail:
        return m.EntryDetail.model_validate(self._authed("GET", f"/v2/entries/{b64u_encode(entry_id)}"))

    def withdraw(self, entry_id: bytes) -> m.EntryReceipt:
        return m.EntryReceipt.model_validate(
            self._authed("DELETE", f"/v2/entries/{b64u_encode(entry_id)}"))

    def receipt(self, entry_id: bytes) -> m.EntryReceipt:
        return m.EntryReceipt.model_validate(
            self._authed("GET", f"/v2/entries/{b64u_encode(entry_id)}/receipt"))

    def delete_account(self) -> m.AccountDeletion:
        """``DELETE /v2/account`` (PROTOCOL.md §14.2): every entry withdrawn, the backup and the account gone."""
        return self._model(m.AccountDeletion, self._authed("DELETE", "/v2/account"),
                           _("the answer to deleting the account"))

    # -- handover and readers (PROTOCOL.md §13.6) --------------------------------
    def readers(self, entry_id: bytes) -> m.Readers:
        """The counselor openings of this reporter's own entry (each with a receipt once it is logged)."""
        return self._model(m.Readers, self._authed("GET", f"/v2/entries/{b64u_encode(entry_id)}/readers"),
                           _("the list of who read the record"))

    def handover_page(self, key_id: bytes, after: str = "") -> m.HandoverPage:
        """One page of what this counselor holds and the counselor ``key_id`` lacks."""
        path = f"/v2/handover/{b64u_encode(key_id)}" + (f"?after={after}" if after else "")
        return self._model(m.HandoverPage, self._authed("GET", path), _("the handover page"))

    def hand_over(self, key_id: bytes, submission: m.HandoverSubmission) -> int:
        """Store envelopes and wraps re-sealed to ``key_id``; how many the server did not have yet."""
        doc = self._authed("POST", f"/v2/handover/{b64u_encode(key_id)}", submission.model_dump(mode="json"))
        return self._model(m.HandoverStored, doc, _("the handover answer")).stored

    # -- transparency log (public) ------------------------------------------------
    def checkpoint(self, size: int | None = None) -> str:
        """The newest signed checkpoint note (or the one of ``size``), with cosignatures."""
        return str(self._call("GET", "/v2/log/checkpoint", params={"size": size} if size else None, text=True))

    def cosigned_checkpoint(self) -> str | None:
        """The newest checkpoint a listed witness cosigned (``?cosigned=1``, PROTOCOL.md §14.3); None if none has."""
        try:
            return str(self._call("GET", "/v2/log/checkpoint", params={"cosigned": 1}, text=True))
        except ApiError as exc:
            if exc.status == 404 and exc.detail != "Not Found":  # no cosigned checkpoint, not a missing route
                return None
            raise

    def consistency(self, old: int, new: int) -> list[bytes]:
        doc = m.ConsistencyProof.model_validate(
            self._call("GET", "/v2/log/consistency", params={"old": old, "new": new}))
        return [b64u_decode(h, length=32) for h in doc.proof]

    def cosign(self, size: int, cosignature_line: str) -> None:
        self._call("POST", "/v2/log/cosignatures", {"size": size, "cosignature": cosignature_line})

    # -- counselor -----------------------------------------------------------
    def matches(self) -> list[m.MatchSummary]:
        return [m.MatchSummary.model_validate(x) for x in self._authed("GET", "/v2/matches")]

    def match(self, match_id: bytes) -> m.MatchDetail:
        return m.MatchDetail.model_validate(self._authed("GET", f"/v2/matches/{b64u_encode(match_id)}"))

    # -- notification address (PROTOCOL.md §13.7) ------------------------------------
    def notify_address(self) -> m.NotifyAddress:
        """``GET /v2/account/notify``: the address this account gave, if any."""
        return self._model(m.NotifyAddress, self._authed("GET", "/v2/account/notify"), _("the notification address"))

    def set_notify_address(self, email: str | None) -> m.NotifyAddress:
        """``PUT /v2/account/notify``; None removes the address."""
        return self._model(m.NotifyAddress, self._authed("PUT", "/v2/account/notify", {"email": email}),
                           _("the notification address"))

    # -- conversations and introductions (PROTOCOL.md §13.3, §13.4) -------------
    def set_message_key(self, message_key: bytes) -> None:
        """``PUT /v2/account/message-key``: the messaging key of a wallet made before messaging existed."""
        self._authed("PUT", "/v2/account/message-key", {"message_key": b64u_encode(message_key)}, ok=(200, 204))

    def create_conversation(self, conversation_id: bytes, match_id: bytes, entry_id: bytes) -> m.Conversation:
        """``POST /v2/conversations`` (counselor): the direct conversation with the reporter of a released entry."""
        doc = self._authed("POST", "/v2/conversations", {
            "conversation_id": b64u_encode(conversation_id), "match_id": b64u_encode(match_id),
            "entry_id": b64u_encode(entry_id)})
        return self._model(m.Conversation, doc, _("the conversation"))

    def conversations(self, match_id: bytes | None = None) -> list[m.Conversation]:
        """``GET /v2/conversations``: a reporter's own conversations; for a counselor all, or one match's."""
        path = "/v2/conversations" + (f"?match_id={b64u_encode(match_id)}" if match_id is not None else "")
        doc = self._authed("GET", path)
        if not isinstance(doc, list):
            raise ApiError(200, "unexpected_answer", _("the conversation list is not a list"), server=self.base_url)
        return [self._model(m.Conversation, c, _("a conversation")) for c in doc]

    def messages(self, conversation_id: bytes, after: int = 0, limit: int = 100) -> m.MessagePage:
        """One page of a conversation's sealed messages after seq ``after``, each with the caller's own wrap."""
        doc = self._authed("GET", f"/v2/conversations/{b64u_encode(conversation_id)}/messages"
                                  f"?after={int(after)}&limit={int(limit)}")
        return self._model(m.MessagePage, doc, _("the messages"))

    def all_messages(self, conversation_id: bytes, after: int = 0) -> list[m.StoredMessage]:
        """Every message after seq ``after``, page by page (a page that does not move on ends the loop)."""
        out: list[m.StoredMessage] = []
        while True:
            page = self.messages(conversation_id, after)
            out.extend(page.messages)
            if not page.messages or page.next_after <= after:
                return out
            after = page.next_after

    def post_message(self, conversation_id: bytes, message_id: bytes, item: m.SealedItem) -> m.PostedMessage:
        """``POST /v2/conversations/{cid}/messages``: the same message id and content again is answered 200."""
        doc = self._authed("POST", f"/v2/conversations/{b64u_encode(conversation_id)}/messages",
                           {"message_id": b64u_encode(message_id), **item.model_dump()})
        return self._model(m.PostedMessage, doc, _("the stored message"))

    def propose_introduction(self, match_id: bytes, introduction_id: bytes, group_conversation_id: bytes,
                             conversation_ids: list[bytes]) -> None:
        """``POST /v2/matches/{mid}/introductions`` (counselor): the group and its invites, nothing sealed yet."""
        self._authed("POST", f"/v2/matches/{b64u_encode(match_id)}/introductions", {
            "introduction_id": b64u_encode(introduction_id),
            "group_conversation_id": b64u_encode(group_conversation_id),
            "conversation_ids": [b64u_encode(c) for c in conversation_ids]})

    def introduction(self, introduction_id: bytes) -> m.IntroductionDetail:
        """``GET /v2/introductions/{iid}`` as a counselor: who is invited, and the cards of those who accepted."""
        doc = self._authed("GET", f"/v2/introductions/{b64u_encode(introduction_id)}")
        return self._model(m.IntroductionDetail, doc, _("the introduction"))

    def my_introduction(self, introduction_id: bytes) -> m.IntroductionForReporter:
        """``GET /v2/introductions/{iid}`` as a reporter: its group conversation and whether this account accepted."""
        doc = self._authed("GET", f"/v2/introductions/{b64u_encode(introduction_id)}")
        return self._model(m.IntroductionForReporter, doc, _("the introduction"))

    def accept_introduction(self, introduction_id: bytes, conversation_id: bytes, card: m.SealedItem) -> None:
        """``POST /v2/introductions/{iid}/accept`` (reporter): the card with this reporter's chosen name."""
        self._authed("POST", f"/v2/introductions/{b64u_encode(introduction_id)}/accept",
                     {"conversation_id": b64u_encode(conversation_id), "card": card.model_dump()})

    # -- cases (PROTOCOL.md §13.5) ----------------------------------------------------
    def cases(self) -> list[m.Case]:
        """``GET /v2/cases`` (counselor): every case, most urgent first."""
        doc = self._authed("GET", "/v2/cases")
        if not isinstance(doc, list):
            raise ApiError(200, "unexpected_answer", _("the case list is not a list"), server=self.base_url)
        return [self._model(m.Case, c, _("a case")) for c in doc]

    def update_case(self, case_id: bytes, *, owner_key_id: bytes | None | Literal["keep"] = "keep",
                    state: str | None = None) -> m.Case:
        """``PUT /v2/cases/{id}``: ``owner_key_id`` a counselor's key id, or None for no one; ``"keep"`` leaves it."""
        body: dict[str, Any] = {}
        if owner_key_id != "keep":
            body["owner_key_id"] = None if owner_key_id is None else b64u_encode(owner_key_id)
        if state is not None:
            body["state"] = state
        return self._model(m.Case, self._authed("PUT", f"/v2/cases/{b64u_encode(case_id)}", body), _("the case"))

    def link_case(self, case_id: bytes, match_id: bytes) -> m.Case:
        """``POST /v2/cases/{id}/links``: the match names this case's person too (its own case is merged in)."""
        doc = self._authed("POST", f"/v2/cases/{b64u_encode(case_id)}/links", {"match_id": b64u_encode(match_id)})
        return self._model(m.Case, doc, _("the case"))

    def case_notes(self, case_id: bytes) -> list[m.CaseNote]:
        """``GET /v2/cases/{id}/notes``: the sealed notes, each with this counselor's wrap."""
        doc = self._authed("GET", f"/v2/cases/{b64u_encode(case_id)}/notes")
        if not isinstance(doc, list):
            raise ApiError(200, "unexpected_answer", _("the note list is not a list"), server=self.base_url)
        return [self._model(m.CaseNote, n, _("a note")) for n in doc]

    def add_case_note(self, case_id: bytes, note_id: bytes, item: m.SealedItem) -> None:
        """``POST /v2/cases/{id}/notes``: the same note again is answered 200."""
        self._authed("POST", f"/v2/cases/{b64u_encode(case_id)}/notes",
                     {"note_id": b64u_encode(note_id), **item.model_dump()})


@dataclass(frozen=True)
class Registered:
    account_id: bytes
    token: bytes = field(repr=False)
    certificate: bytes


def submission_payload(sealed: SealedEntry) -> dict[str, Any]:
    """The JSON body of POST/PUT /v2/entries (PROTOCOL.md §8)."""
    return {
        "entry_id": b64u_encode(sealed.entry_id),
        "quorum": sealed.quorum,
        "tags": [b64u_encode(t) for t in sealed.tags],
        "body": b64u_encode(sealed.body),
        "envelopes": [{"key_id": b64u_encode(k), "ciphertext": b64u_encode(c)}
                      for k, c in sealed.envelopes.items()],
        "deployment_serial": sealed.deployment_serial,
    }


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers["Retry-After"])
    except (KeyError, ValueError):
        return None
