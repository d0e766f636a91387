"""A released match with real reporters who hold messaging keys, and real sealed items (PROTOCOL.md §13).

Shared by the conversation and introduction tests. Entries are the harness's (random bytes where
the server cannot read anyway); messages and cards are sealed with ``protocol/conversations.py``
exactly as the clients seal them, so that what the server stores is what it would store in use.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from consilience.protocol import conversations as items
from consilience.protocol.conversations import Kind, MessagingKey
from consilience.protocol.encoding import b64u_decode

from .harness import API, Escrow, Reporter, b64, registration


@dataclass
class Messenger:
    """A reporter account with a messaging key registered, and its entry in the match (if any)."""

    reporter: Reporter
    key: MessagingKey
    entry_id: str = ""

    @property
    def headers(self) -> dict[str, str]:
        return self.reporter.headers


@dataclass
class World:
    escrow: Escrow
    match_id: str
    tag: bytes
    counselor: dict[str, str]
    #: reporters whose entries are released in the match
    released: list[Messenger]
    #: a reporter with an entry under the same tag that is not released (its quorum is not reached)
    waiting: Messenger
    conversations: dict[str, str] = field(default_factory=dict)  # entry id -> conversation id

    @property
    def client(self) -> Any:
        return self.escrow.client


def messenger(escrow: Escrow) -> Messenger:
    """Registers as the app does now: with a messaging key made on the device."""
    key = MessagingKey.generate()
    seed = escrow.invite()
    body = registration(seed, escrow.deployment.deployment_id) | {"message_key": b64(key.encode_public())}
    answer = escrow.client.post(f"{API}/register", json=body)
    assert answer.status_code == 201, answer.text
    doc = answer.json()
    return Messenger(Reporter(b64u_decode(doc["account_id"]), b64u_decode(doc["token"]), seed,
                              b64u_decode(doc["certificate"])), key)


def world(escrow: Escrow, released: int = 3) -> World:
    """``released`` reporters release one another's quorum-2 entries under one tag; one more waits at quorum 5."""
    tag = os.urandom(32)
    people = [messenger(escrow) for _ in range(released)]
    for person in people:
        submission = escrow.submission(tags=[tag], quorum=2)
        assert escrow.submit(person.reporter, submission).status_code == 201
        person.entry_id = submission["entry_id"]
    waiting = messenger(escrow)
    pending = escrow.submission(tags=[tag], quorum=5)
    assert escrow.submit(waiting.reporter, pending).status_code == 201
    waiting.entry_id = pending["entry_id"]
    counselor = escrow.counselor_headers(escrow.counselors[0])
    before = {m["match_id"] for m in escrow.client.get(f"{API}/matches", headers=counselor).json()}
    escrow.run_pass()
    made = [m["match_id"] for m in escrow.client.get(f"{API}/matches", headers=counselor).json()
            if m["match_id"] not in before]
    assert len(made) == 1
    return World(escrow, made[0], tag, counselor, people, waiting)


def open_conversation(w: World, person: Messenger) -> str:
    cid = b64(os.urandom(16))
    answer = w.client.post(f"{API}/conversations", headers=w.counselor,
                           json={"conversation_id": cid, "match_id": w.match_id, "entry_id": person.entry_id})
    assert answer.status_code == 201, answer.text
    w.conversations[person.entry_id] = cid
    return cid


def counselor_seed(w: World) -> bytes:
    return w.escrow.counselors[0].seed


def counselor_message(w: World, cid: str, person: Messenger, text: str,
                      message_id: bytes | None = None) -> dict[str, Any]:
    """A counselor's text message in a direct conversation, sealed to every counselor and the reporter."""
    message_id = message_id or os.urandom(16)
    sealed = items.seal_item(
        Kind.MESSAGE, b64u_decode(cid), message_id, items.Text(text),
        signer_seed=items.counselor_signing_seed(counselor_seed(w)),
        recipients=[*(c.public_key for c in w.escrow.counselors), person.key.hpke_public],
        entry=b64u_decode(person.entry_id), to=person.key.public)
    return {"message_id": b64(message_id), **sealed.to_json()}


def reporter_message(w: World, cid: str, person: Messenger, text: str, *, group: bool = False,
                     message_id: bytes | None = None) -> dict[str, Any]:
    """A reporter's text message, sealed to every counselor and itself (and, in a group, nobody else here)."""
    message_id = message_id or os.urandom(16)
    sealed = items.seal_item(
        Kind.MESSAGE, b64u_decode(cid), message_id, items.Text(text), signer_seed=person.key.signing_seed,
        recipients=[*(c.public_key for c in w.escrow.counselors), person.key.hpke_public],
        entry=None if group else b64u_decode(person.entry_id))
    return {"message_id": b64(message_id), **sealed.to_json()}


def card(w: World, introduction_id: str, cid: str, person: Messenger, name: str) -> dict[str, Any]:
    """An accepting reporter's card: its display name and messaging key, sealed to the counselors and itself."""
    sealed = items.seal_item(
        Kind.CARD, b64u_decode(introduction_id), b64u_decode(cid),
        items.Card(b64u_decode(introduction_id), name, person.key.public), signer_seed=person.key.signing_seed,
        recipients=[*(c.public_key for c in w.escrow.counselors), person.key.hpke_public])
    return sealed.to_json()


def random_item(own_key_id: bytes, size: int = 200) -> dict[str, Any]:
    """Ciphertext-like bytes of the right sizes, with a wrap for the sender's own key: what a broken client sends."""
    return {"content": b64(os.urandom(size)),
            "wraps": [{"key_id": b64(own_key_id), "wrap": b64(os.urandom(1168))}]}


def read(w: World, cid: str, headers: dict[str, str], after: int = 0, limit: int | None = None) -> Any:
    params = f"?after={after}" + (f"&limit={limit}" if limit is not None else "")
    return w.client.get(f"{API}/conversations/{cid}/messages{params}", headers=headers)


def opened_text(w: World, cid: str, message: dict[str, Any], seed: bytes) -> str:
    """Open a stored message with ``seed`` (the reader's HPKE seed) and return its text."""
    opened = items.open_item(Kind.MESSAGE, b64u_decode(cid), b64u_decode(message["message_id"]),
                             b64u_decode(message["content"]), b64u_decode(message["wrap"]), seed)
    payload = opened.payload
    assert isinstance(payload, items.Text)
    return payload.text
