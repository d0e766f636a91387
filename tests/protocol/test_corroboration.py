"""Corroboration statements checked offline (PROTOCOL.md §14.4): a valid one verifies, and every field an attacker
could change is refused, naming the field and the reason.

The statement is built here as the escrow server and the counselor's client build it: a real signed deployment
document (with a witness), a log (``tlog.merkle.MemoryTree``) of committed leaves, entries of certified accounts
with their consents, the match's release leaf, and one checkpoint signed by the log and cosigned by the witness.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import pytest

from consilience.crypto import hpke, signing
from consilience.protocol import accounts, events
from consilience.protocol import corroboration as co
from consilience.protocol import deployment as deployment_doc
from consilience.protocol.deployment import Deployment, KeyChange, KeyServer
from consilience.protocol.encoding import b64u_decode, b64u_encode
from consilience.tlog import checkpoint as cp
from consilience.tlog import merkle

T0 = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
WITNESS_TIME = int((T0 + timedelta(days=2)).timestamp())


@cache
def key_server_keys() -> tuple[tuple[bytes, bytes], ...]:
    """X-Wing key generation is the slow part: one set of key-server keys for the module."""
    return tuple((signing.public_key(signing.generate()), hpke.public_key_bytes(hpke.generate_private_key()))
                 for _ in range(3))


@dataclass
class Log:
    """The escrow's log: leaves are commitments, openings kept beside them (PROTOCOL.md §11)."""

    tree: merkle.MemoryTree = field(default_factory=merkle.MemoryTree)
    openings: list[events.Opening] = field(default_factory=list)

    def append(self, event: bytes) -> int:
        opening = events.Opening.fresh(event)
        self.openings.append(opening)
        return self.tree.append(opening.leaf)

    def leaf(self, index: int, size: int) -> dict[str, Any]:
        return {"leaf_index": index, "opening": b64u_encode(self.openings[index].encoded),
                "proof": [b64u_encode(h) for h in merkle.inclusion_proof(self.tree, index, size)]}


@dataclass
class World:
    admin: bytes
    log_key: bytes
    witness: bytes
    deployment: Deployment
    published: dict[str, str]
    log: Log
    tag: bytes
    match_id: bytes
    statement_id: bytes
    seeds: list[bytes] = field(default_factory=list)

    def entry(self, seed: bytes, *, tags: list[bytes] | None = None, when: datetime = T0,
              entry_id: bytes | None = None, body: bytes | None = None) -> dict[str, Any]:
        """An entry escrowed by the account of ``seed`` (logged now), with its certificate; consent added later."""
        entry_id, quorum = entry_id or os.urandom(16), 2
        tags = tags if tags is not None else [self.tag, os.urandom(32)]
        body = body if body is not None else os.urandom(300)
        envelopes = [(c.key_id, os.urandom(200)) for c in self.deployment.counselors]
        index = self.log.append(events.entry_event(entry_id, events.content_hash(quorum, tags, body, envelopes),
                                                   when))
        cert = accounts.issue_certificate(self.admin, self.deployment.deployment_id, accounts.account_key(seed),
                                          now=T0.timestamp() - 86400)
        return {"entry_id": b64u_encode(entry_id), "quorum": quorum, "tags": [b64u_encode(t) for t in tags],
                "body": b64u_encode(body),
                "envelopes": [{"key_id": b64u_encode(k), "ciphertext": b64u_encode(c)} for k, c in envelopes],
                "leaf_index": index, "certificate": b64u_encode(cert), "_seed": seed}

    def statement(self, entries: list[dict[str, Any]], release_index: int) -> dict[str, Any]:
        """Proofs against one checkpoint, consents signed, cosigned by the witness."""
        size = len(self.log.tree)
        note = cp.sign_checkpoint(cp.Checkpoint(self.deployment.log_origin, size, self.log.tree.root()),
                                  self.log_key)
        note = cp.cosign(note, "witness.example", self.witness, WITNESS_TIME)
        done = []
        for e in entries:
            e = dict(e)
            seed = e.pop("_seed")
            leaf = self.log.leaf(e["leaf_index"], size)
            content = events.parse_event(self.log.openings[e["leaf_index"]].event).content_hash
            assert content is not None
            consent = co.sign_consent(seed, self.deployment.deployment_id, self.statement_id, self.match_id,
                                      b64u_decode(e["entry_id"]), content, e["leaf_index"])
            done.append({**e, "opening": leaf["opening"], "proof": leaf["proof"], "consent": b64u_encode(consent)})
        return co.make_statement(statement_id=self.statement_id, match_id=self.match_id, tag=self.tag,
                                 made_at="2026-03-10T12:00:00+00:00", published=self.published, checkpoint=note,
                                 release=self.log.leaf(release_index, size), entries=done)


def make_world() -> World:
    admin, log_key, witness = signing.generate(), signing.generate(), signing.generate()
    deployment_id = os.urandom(16)
    servers = tuple(KeyServer(i + 1, f"http://127.0.0.1:{8101 + i}", b"", identity, public)
                    for i, (identity, public) in enumerate(key_server_keys()))
    counselor = hpke.public_key_bytes(hpke.generate_private_key())
    d = Deployment(
        deployment_id=deployment_id, serial=1, issued_at="2026-01-01T00:00:00Z", quorum=2, max_quorum=5,
        escrow_url="http://127.0.0.1:8100", threshold=2, oprf_public_key=b"", key_servers=servers,
        counselors=(deployment_doc.Counselor("Robin", hpke.key_id(counselor), counselor),),
        log_origin=f"consilience.log/{deployment_id.hex()}", log_public_key=signing.public_key(log_key),
        witnesses=(cp.cosignature_vkey("witness.example", signing.public_key(witness)),),
        key_change=KeyChange(1, "generate", 2, servers))
    return World(admin, log_key, witness, d, deployment_doc.sign(d, admin), Log(), os.urandom(32), os.urandom(16),
                 os.urandom(16))


def released(world: World, count: int = 3) -> tuple[list[dict[str, Any]], int]:
    """``count`` accounts escrow under the tag, then the release pass logs the match's release."""
    entries = [world.entry(signing.generate(), when=T0 + timedelta(hours=n)) for n in range(count)]
    world.log.append(events.padding_event(T0 + timedelta(hours=5)))
    release_index = world.log.append(events.release_event(world.match_id, count, T0 + timedelta(hours=5)))
    world.log.append(events.padding_event(T0 + timedelta(hours=5)))
    return entries, release_index


@pytest.fixture
def world() -> World:
    return make_world()


@pytest.fixture
def valid(world: World) -> dict[str, Any]:
    entries, release_index = released(world)
    return world.statement(entries, release_index)


def refused(statement: Any) -> co.CorroborationRefused:
    with pytest.raises(co.CorroborationRefused) as caught:
        co.verify(statement)
    return caught.value


def test_a_valid_statement_verifies_and_says_what_it_shows(world: World, valid: dict[str, Any]) -> None:
    check = co.verify(valid, expected_fingerprint=deployment_doc.admin_fingerprint(signing.public_key(world.admin)))
    assert check.k == 3
    assert check.match_id == world.match_id and check.tag == world.tag
    assert check.release_at == T0 + timedelta(hours=5) and check.released == 3
    assert [e.logged_at for e in check.entries] == [T0 + timedelta(hours=n) for n in range(3)]
    assert all(e.leaf_index < check.release_index for e in check.entries)
    assert [(w.name, w.timestamp) for w in check.witnesses] == [("witness.example", WITNESS_TIME)]
    assert len({e.account_key for e in check.entries}) == 3
    as_json = check.to_json()
    assert as_json["k"] == 3 and as_json["witnesses"][0]["name"] == "witness.example"


def _set(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        target: Any = doc
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value(target[path[-1]]) if callable(value) else value
    return change


def _flip(text: str) -> str:
    """The same field with one byte changed (still well-formed base64url of the same length)."""
    raw = bytearray(b64u_decode(text))
    raw[len(raw) // 2] ^= 0x01
    return b64u_encode(bytes(raw))


def _other_document(doc: dict[str, Any]) -> None:
    """A deployment document re-signed by another administrator (an attacker's own)."""
    other = signing.generate()
    doc["deployment"] = deployment_doc.sign(deployment_doc.verify(
        doc["deployment"], b64u_decode(doc["admin_fingerprint"])), other)


def _swap_release_for_entry(doc: dict[str, Any]) -> None:
    """The release replaced by another leaf of the log (an entry's) that does not release this match."""
    e = doc["entries"][0]
    doc["release"] = {"leaf_index": e["leaf_index"], "opening": e["opening"], "proof": e["proof"]}


TAMPERED: list[tuple[str, Callable[[dict[str, Any]], None], str, str]] = [
    ("format", _set(("format",), "consilience-corroboration/v0"), "format", "not a corroboration statement"),
    ("statement_id", _set(("statement_id",), _flip), "entries[0].consent", "not signed"),
    ("match_id", _set(("match_id",), _flip), "release.opening", "not the release of this match"),
    ("tag", _set(("tag",), _flip), "entries[0].tags", "tag is not among"),
    ("made_at", _set(("made_at",), "yesterday"), "made_at", "RFC 3339"),
    ("admin_fingerprint", _set(("admin_fingerprint",), _flip), "deployment", "not signed by the administrator"),
    ("deployment signature", _set(("deployment", "signature"), _flip), "deployment", "does not verify"),
    ("deployment by another administrator", _other_document, "deployment", "not signed by the administrator"),
    ("checkpoint root", _set(("checkpoint",), lambda note: note.replace("\n", "\nx", 1)), "checkpoint",
     "not a checkpoint signed"),
    ("checkpoint without the witness", _set(("checkpoint",), lambda note: note[:note.rindex("\u2014")]),
     "checkpoint", "no witness"),
    ("release leaf_index", _set(("release", "leaf_index"), lambda i: i - 1), "release.proof", "not at this index"),
    ("release opening", _set(("release", "opening"), _flip), "release.", ""),
    ("release proof", _set(("release", "proof", 0), _flip), "release.proof", "not at this index"),
    ("release of another leaf", _swap_release_for_entry, "release.opening", "not the release"),
    ("entry_id", _set(("entries", 1, "entry_id"), _flip), "entries[1].opening", "not an entry event of this"),
    ("quorum", _set(("entries", 1, "quorum"), 3), "entries[1]", "do not hash to the content"),
    ("tags", _set(("entries", 1, "tags", 1), _flip), "entries[1]", "do not hash to the content"),
    ("body", _set(("entries", 1, "body"), _flip), "entries[1]", "do not hash to the content"),
    ("envelope", _set(("entries", 1, "envelopes", 0, "ciphertext"), _flip), "entries[1]", "do not hash"),
    ("entry leaf_index", _set(("entries", 1, "leaf_index"), lambda i: i + 1), "entries[1].proof", "not at this"),
    ("entry opening", _set(("entries", 1, "opening"), _flip), "entries[1].", ""),
    ("entry proof", _set(("entries", 1, "proof", 0), _flip), "entries[1].proof", "not at this index"),
    ("certificate", _set(("entries", 1, "certificate"), _flip), "entries[1].", ""),
    ("consent", _set(("entries", 1, "consent"), _flip), "entries[1].consent", "not signed"),
    ("a text field added", _set(("entries", 1, "text"), "what happened"), "entries[1].text", "no such field"),
    ("a field left out", lambda doc: doc["entries"][1].pop("consent"), "entries[1].consent", "missing"),
    ("one entry only", lambda doc: doc.update(entries=doc["entries"][:1]), "entries", "2 to 32 entries"),
    ("an entry listed twice", lambda doc: doc["entries"].append(copy.deepcopy(doc["entries"][0])),
     "entries[3].entry_id", "listed twice"),
    ("disclosures not a list", _set(("disclosures",), None), "disclosures", "list of disclosures"),
]


@pytest.mark.parametrize(("what", "change", "field", "reason"), TAMPERED, ids=[t[0] for t in TAMPERED])
def test_every_field_tampered_is_refused_with_its_reason(valid: dict[str, Any], what: str,
                                                         change: Callable[[dict[str, Any]], None],
                                                         field: str, reason: str) -> None:
    co.verify(valid)
    tampered = copy.deepcopy(valid)
    change(tampered)
    assert tampered != valid, what
    refusal = refused(tampered)
    assert refusal.field.startswith(field), (what, str(refusal))
    assert reason in refusal.reason, (what, str(refusal))


def test_a_certificate_by_another_administrator_is_refused(world: World) -> None:
    entries, release_index = released(world)
    seed = entries[2]["_seed"]
    entries[2]["certificate"] = b64u_encode(accounts.issue_certificate(
        signing.generate(), world.deployment.deployment_id, accounts.account_key(seed)))
    refusal = refused(world.statement(entries, release_index))
    assert refusal.field == "entries[2].certificate" and "administrator" in refusal.reason


def test_two_entries_from_one_account_are_refused(world: World) -> None:
    """One account escrowed twice under the tag (e.g. once per identifier, then edited): it counts once."""
    seed = signing.generate()
    first = world.entry(seed)
    other = world.entry(signing.generate())
    second = world.entry(seed, when=T0 + timedelta(hours=1))
    release_index = world.log.append(events.release_event(world.match_id, 2, T0 + timedelta(hours=5)))
    refusal = refused(world.statement([first, other, second], release_index))
    assert refusal.field == "entries[2].certificate" and "same account as entries[0]" in refusal.reason


def test_an_entry_logged_after_the_release_is_refused(world: World) -> None:
    entries, release_index = released(world, 2)
    late = world.entry(signing.generate(), when=T0 + timedelta(hours=6))
    refusal = refused(world.statement([*entries, late], release_index))
    assert refusal.field == "entries[2].leaf_index" and "after the match's release" in refusal.reason


def test_an_entry_dated_after_the_release_is_refused(world: World) -> None:
    """A leaf placed before the release but dated after it: the log's times disagree with its order."""
    early = world.entry(signing.generate())
    odd = world.entry(signing.generate(), when=T0 + timedelta(hours=9))
    release_index = world.log.append(events.release_event(world.match_id, 2, T0 + timedelta(hours=5)))
    refusal = refused(world.statement([early, odd], release_index))
    assert refusal.field == "entries[1].opening" and "later than the match's release" in refusal.reason


def test_an_entry_without_the_tag_is_refused(world: World) -> None:
    entries, _ = released(world, 2)
    stranger = world.entry(signing.generate(), tags=[os.urandom(32)])
    release_index = world.log.append(events.release_event(world.match_id, 2, T0 + timedelta(hours=5)))
    refusal = refused(world.statement([*entries, stranger], release_index))
    assert refusal.field == "entries[2].tags" and "the match's tag is not among" in refusal.reason


def test_a_consent_for_another_statement_is_refused(world: World) -> None:
    """A consent a reporter gave one counselor's statement does not carry over to another statement."""
    entries, release_index = released(world)
    first = world.statement(entries, release_index)
    world.statement_id = os.urandom(16)
    second = world.statement(entries, release_index)
    second["entries"][1]["consent"] = first["entries"][1]["consent"]
    refusal = refused(second)
    assert refusal.field == "entries[1].consent"


def test_an_attached_disclosure_must_be_of_a_listed_entry_with_the_same_content(world: World) -> None:
    """A reporter's own disclosure (§14.3) beside the statement: its text and receipt check, and it is of a listed
    entry with the same ciphertexts."""
    from consilience.crypto import aead
    from consilience.protocol import disclosure
    from consilience.protocol.entry import BODY_AAD, Body
    from consilience.tlog.receipt import Receipt

    entry_id, body_key = os.urandom(16), os.urandom(32)
    plain = Body("What I remember.", ["sam@example.org"], ["email:sam@example.org"], "", "2026-03-03T09:00:00Z")
    own = world.entry(signing.generate(), entry_id=entry_id, body=aead.seal(body_key, plain.to_bytes(),
                                                                             BODY_AAD + entry_id))
    others = [world.entry(signing.generate(), when=T0 + timedelta(hours=1)) for _ in range(2)]
    release_index = world.log.append(events.release_event(world.match_id, 3, T0 + timedelta(hours=5)))
    statement = world.statement([own, *others], release_index)
    listed = statement["entries"][0]
    leaf = world.log.leaf(listed["leaf_index"], len(world.log.tree))
    receipt = Receipt(listed["leaf_index"], tuple(b64u_decode(h) for h in leaf["proof"]), statement["checkpoint"],
                      b64u_decode(leaf["opening"])).encode()

    def disclosed(entry: dict[str, Any]) -> dict[str, Any]:
        return disclosure.make(published=world.published, entry=entry, body_key=body_key, receipt=receipt,
                               consistency_bundle=None, made_at="2026-03-10T12:00:00+00:00")

    statement["disclosures"] = [disclosed(listed)]
    check = co.verify(statement)
    assert [e.disclosed for e in check.entries] == [True, False, False]

    other = copy.deepcopy(statement)
    other["disclosures"] = [disclosed({**listed, "entry_id": statement["entries"][1]["entry_id"]})]
    assert refused(other).field == "disclosures[0]"  # it does not verify: the receipt is for another entry

    twice = copy.deepcopy(statement)
    twice["disclosures"] = [disclosed(listed), disclosed(listed)]
    assert "attached twice" in refused(twice).reason

    elsewhere = copy.deepcopy(statement)
    elsewhere["entries"] = elsewhere["entries"][1:]
    assert "does not list" in refused(elsewhere).reason


def test_the_consent_is_the_bytes_the_spec_gives(world: World) -> None:
    seed = signing.generate()
    d, s, m, e, h = os.urandom(16), os.urandom(16), os.urandom(16), os.urandom(16), os.urandom(32)
    message = b"consilience-v2 corroboration consent" + d + s + m + e + h + (7).to_bytes(8, "big")
    assert co.consent_message(d, s, m, e, h, 7) == message
    signing.verify(accounts.account_key(seed), message, co.sign_consent(seed, d, s, m, e, h, 7))


def test_verify_corroboration_exits_0_only_when_every_check_holds(valid: dict[str, Any], world: World,
                                                                  tmp_path: Any) -> None:
    """The command a third party runs, offline: what it shows a person, and a refusal naming the field."""
    import json

    from typer.testing import CliRunner

    from consilience.cli.app import app

    good, bad = tmp_path / "statement.json", tmp_path / "changed.json"
    good.write_text(json.dumps(valid), encoding="utf-8")
    shown = CliRunner().invoke(app, ["verify-corroboration", str(good)])
    assert shown.exit_code == 0, shown.output
    assert "k = 3" in shown.output and "witness.example" in shown.output and "What it does not show" in shown.output
    fingerprint = b64u_encode(deployment_doc.admin_fingerprint(signing.public_key(world.admin)))
    as_json = CliRunner().invoke(app, ["verify-corroboration", str(good), "--admin-fingerprint", fingerprint,
                                       "--json"])
    assert as_json.exit_code == 0 and json.loads(as_json.output)["k"] == 3

    changed = copy.deepcopy(valid)
    changed["entries"][2]["consent"] = _flip(changed["entries"][2]["consent"])
    bad.write_text(json.dumps(changed), encoding="utf-8")
    refused_here = CliRunner().invoke(app, ["verify-corroboration", str(bad), "--json"])
    assert refused_here.exit_code == 1
    doc = json.loads(refused_here.stdout.splitlines()[0])
    assert doc["error"].startswith("entries[2].consent: ") and doc["field"] == "entries[2].consent"
    assert "not signed" in doc["reason"]
    other = b64u_encode(os.urandom(16))
    wrong_admin = CliRunner().invoke(app, ["verify-corroboration", str(good), "--admin-fingerprint", other])
    assert wrong_admin.exit_code == 1
