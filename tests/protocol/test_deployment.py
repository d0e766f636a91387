"""The signed deployment document (PROTOCOL.md §4)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consilience.crypto import hpke, signing, threshold_oprf
from consilience.errors import ConsilienceError, InvalidInput, VerificationError
from consilience.protocol import deployment as dep
from consilience.protocol.deployment import Counselor, Deployment, KeyServer
from consilience.protocol.encoding import b64u_decode, b64u_encode

from .conftest import World, make_counselor, make_world


def sign_raw(document: bytes, admin_private: bytes) -> dict[str, str]:
    """Sign arbitrary bytes the way ``dep.sign`` does, without its validation."""
    return {
        "document": b64u_encode(document),
        "signature": b64u_encode(signing.sign(admin_private, dep.SIGNING_PREFIX + document)),
        "admin_key": b64u_encode(signing.public_key(admin_private)),
    }


def sign_unchecked(d: Deployment, admin_private: bytes) -> dict[str, str]:
    return sign_raw(d.canonical_bytes(), admin_private)


# --- signing and verification ----------------------------------------------


def test_sign_verify_round_trip(world: World) -> None:
    published = world.published()
    assert set(published) == {"document", "signature", "admin_key"}
    assert dep.verify(published, world.fingerprint) == world.deployment


def test_published_form_matches_the_spec(world: World) -> None:
    published = world.published()
    document = b64u_decode(published["document"])
    admin_key = b64u_decode(published["admin_key"], length=32)
    # signed bytes are the prefix plus the canonical document
    signing.verify(admin_key, b"consilience-v1 deployment\n" + document, b64u_decode(published["signature"]))
    assert admin_key == signing.public_key(world.admin_private)
    assert world.fingerprint == hashlib.sha256(b"consilience-v1 admin key" + admin_key).digest()[:16]
    # canonical JSON: sorted keys, no spaces, ASCII only
    doc = json.loads(document)
    assert document == json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()
    assert doc["format"] == "consilience-deployment/v1"
    assert doc["oprf"]["suite"] == "ristretto255-SHA512" and doc["oprf"]["mode"] == 1
    assert doc["oprf"]["threshold"] == world.deployment.threshold
    assert [s["index"] for s in doc["oprf"]["servers"]] == [1, 2, 3]
    assert [b64u_decode(c["key_id"]) for c in doc["counselors"]] == [c.key_id for c in world.counselors]


def test_non_ascii_names_survive_canonicalisation() -> None:
    w = make_world(label="non-ascii")
    c = w.deployment.counselors[0]
    d = replace(w.deployment, counselors=(replace(c, name="Zoë Ångström ☂"),))
    published = dep.sign(d, w.admin_private)
    assert b64u_decode(published["document"]).isascii()
    assert dep.verify(published, w.fingerprint).counselors[0].name == "Zoë Ångström ☂"


@settings(max_examples=50, deadline=None)
@given(st.data())
def test_any_document_byte_changed_is_refused(world: World, data: st.DataObject) -> None:
    published = world.published()
    document = bytearray(b64u_decode(published["document"]))
    pos = data.draw(st.integers(0, len(document) - 1))
    document[pos] ^= data.draw(st.integers(1, 255))
    with pytest.raises(VerificationError):
        dep.verify({**published, "document": b64u_encode(bytes(document))}, world.fingerprint)


@settings(max_examples=50, deadline=None)
@given(st.data())
def test_any_signature_byte_changed_is_refused(world: World, data: st.DataObject) -> None:
    published = world.published()
    signature = bytearray(b64u_decode(published["signature"]))
    pos = data.draw(st.integers(0, 63))
    signature[pos] ^= data.draw(st.integers(1, 255))
    with pytest.raises(VerificationError):
        dep.verify({**published, "signature": b64u_encode(bytes(signature))}, world.fingerprint)


def test_truncated_or_extended_document_is_refused(world: World) -> None:
    published = world.published()
    document = b64u_decode(published["document"])
    for changed in [document[:-1], document + b" ", b" " + document, b""]:
        with pytest.raises(VerificationError):
            dep.verify({**published, "document": b64u_encode(changed)}, world.fingerprint)


def test_document_signed_by_another_admin_is_refused(world: World) -> None:
    impostor = signing.generate()
    # a perfectly valid document, signed correctly, but not by the pinned administrator
    with pytest.raises(VerificationError):
        dep.verify(dep.sign(world.deployment, impostor), world.fingerprint)
    # swapping in the impostor's key while keeping the real signature does not help either
    published = world.published()
    with pytest.raises(VerificationError):
        dep.verify({**published, "admin_key": b64u_encode(signing.public_key(impostor))}, world.fingerprint)
    # it verifies when the impostor's own fingerprint is pinned (the check is the fingerprint)
    assert dep.verify(dep.sign(world.deployment, impostor),
                      dep.admin_fingerprint(signing.public_key(impostor))) == world.deployment


def test_serial_rollback_is_refused() -> None:
    w = make_world(serial=5, label="serial")
    published = w.published()
    assert dep.verify(published, w.fingerprint, min_serial=5).serial == 5
    assert dep.verify(published, w.fingerprint, min_serial=4).serial == 5
    with pytest.raises(VerificationError):
        dep.verify(published, w.fingerprint, min_serial=6)


@pytest.mark.parametrize("missing", ["document", "signature", "admin_key"])
def test_missing_published_fields(world: World, missing: str) -> None:
    published = world.published()
    del published[missing]
    with pytest.raises(InvalidInput):
        dep.verify(published, world.fingerprint)


@pytest.mark.parametrize("field,value", [("signature", "AAAA"), ("admin_key", "AAAA"), ("document", "a+b/"),
                                         ("signature", "!!")])
def test_malformed_published_fields(world: World, field: str, value: str) -> None:
    with pytest.raises(ConsilienceError):
        dep.verify({**world.published(), field: value}, world.fingerprint)


# --- contents checked even when the signature is good -----------------------


def test_non_canonical_document_bytes_are_refused(world: World) -> None:
    doc = world.deployment.to_json()
    variants = [
        json.dumps(doc, sort_keys=True, indent=1).encode(),
        json.dumps(doc, sort_keys=False, separators=(",", ":")).encode(),
        json.dumps(doc, sort_keys=True, separators=(",", ":")).encode() + b"\n",
        json.dumps({**doc, "serial": "1"}, sort_keys=True, separators=(",", ":")).encode(),
        json.dumps({**doc, "serial": True}, sort_keys=True, separators=(",", ":")).encode(),
        json.dumps({**doc, "extra": 1}, sort_keys=True, separators=(",", ":")).encode(),
    ]
    for document in variants:
        assert document != world.deployment.canonical_bytes()
        with pytest.raises(ConsilienceError):
            dep.verify(sign_raw(document, world.admin_private), world.fingerprint)


def test_canonical_unicode_escapes_are_required() -> None:
    w = make_world(label="escape")
    d = replace(w.deployment, counselors=(replace(w.deployment.counselors[0], name="Zoë"),))
    utf8 = json.dumps(d.to_json(), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert utf8 != d.canonical_bytes()
    with pytest.raises(VerificationError):
        dep.verify(sign_raw(utf8, w.admin_private), w.fingerprint)


@pytest.mark.parametrize("document", [b"not json", b"\xff\xfe", b"[]", b"{}", b"null", b'{"format": 1}',
                                      b"[" * 100_000 + b"]" * 100_000])
def test_signed_garbage_is_refused_cleanly(world: World, document: bytes) -> None:
    with pytest.raises(ConsilienceError):
        dep.verify(sign_raw(document, world.admin_private), world.fingerprint)


@pytest.mark.parametrize(
    "edit",
    [
        lambda doc: doc.update(format="consilience-deployment/v2"),
        lambda doc: doc["oprf"].update(suite="P256-SHA256"),
        lambda doc: doc["oprf"].update(mode=0),
        lambda doc: doc.pop("counselors"),
        lambda doc: doc["oprf"].pop("servers"),
        lambda doc: doc.update(deployment_id=b64u_encode(bytes(15))),
        lambda doc: doc.update(token_issuer_key="x"),
        lambda doc: doc["oprf"]["servers"][0].update(public_share=b64u_encode(bytes(31))),
        lambda doc: doc.update(serial=float("inf")),
        lambda doc: doc.update(quorum=float("nan")),
        lambda doc: doc["oprf"].update(servers=[1, 2]),
        lambda doc: doc.update(oprf=[]),
    ],
)
def test_parse_rejects_malformed_fields(world: World, edit) -> None:
    doc = json.loads(world.deployment.canonical_bytes())
    edit(doc)
    with pytest.raises(InvalidInput):
        dep.parse(doc)
    with pytest.raises(ConsilienceError):
        dep.verify(sign_raw(dep.canonical_json(doc), world.admin_private), world.fingerprint)


def test_parse_inverts_to_json(world: World) -> None:
    assert dep.parse(world.deployment.to_json()) == world.deployment


# --- validate ---------------------------------------------------------------


def _bad(world: World, exc: type[Exception], **changes: object) -> None:
    d = replace(world.deployment, **changes)  # type: ignore[arg-type]
    with pytest.raises(exc):
        dep.validate(d)
    with pytest.raises(exc):
        dep.sign(d, world.admin_private)
    # and a client refuses it even when the administrator did sign it
    with pytest.raises(exc):
        dep.verify(sign_unchecked(d, world.admin_private), world.fingerprint)


@pytest.mark.parametrize(
    "changes",
    [
        {"quorum": 1},
        {"quorum": 0},
        {"quorum": 6, "max_quorum": 5},
        {"max_quorum": 33},
        {"quorum": 2, "max_quorum": 1},
        {"serial": 0},
        {"threshold": 4},
        {"threshold": 0},
        {"key_servers": ()},
    ],
)
def test_validate_rejects_bounds(world: World, changes: dict) -> None:
    _bad(world, InvalidInput, **changes)


def test_validate_accepts_boundaries() -> None:
    w = make_world(n=1, t=1, quorum=32, max_quorum=32, label="edges")
    dep.validate(w.deployment)
    assert dep.verify(w.published(), w.fingerprint).quorum_range == range(32, 33)
    dep.validate(replace(w.deployment, quorum=2))
    dep.validate(replace(w.deployment, counselors=()))


def test_validate_rejects_duplicate_or_non_positive_indices(world: World) -> None:
    servers = world.deployment.key_servers
    _bad(world, InvalidInput, key_servers=(servers[0], servers[1], replace(servers[2], index=2)))
    _bad(world, InvalidInput, key_servers=(replace(servers[0], index=0), servers[1], servers[2]))
    _bad(world, InvalidInput, key_servers=(replace(servers[0], index=-1), servers[1], servers[2]))


@pytest.mark.parametrize(("i", "j"), [(0, 1), (0, 2), (1, 2)])
def test_validate_rejects_swapped_public_shares(world: World, i: int, j: int) -> None:
    servers = list(world.deployment.key_servers)
    a, b = servers[i], servers[j]
    servers[i], servers[j] = replace(a, public_share=b.public_share), replace(b, public_share=a.public_share)
    _bad(world, VerificationError, key_servers=tuple(servers))


@pytest.mark.parametrize("i", [0, 1, 2])
def test_validate_rejects_a_foreign_public_share(world: World, i: int) -> None:
    other = make_world(label="foreign shares")
    servers = list(world.deployment.key_servers)
    servers[i] = replace(servers[i], public_share=other.deployment.key_servers[i].public_share)
    _bad(world, VerificationError, key_servers=tuple(servers))


def test_validate_rejects_a_foreign_group_key(world: World) -> None:
    other = make_world(label="foreign group key")
    _bad(world, VerificationError, oprf_public_key=other.deployment.oprf_public_key)


def test_validate_rejects_public_shares_of_a_higher_threshold() -> None:
    # shares dealt 3-of-3 do not lie on a degree-1 polynomial through pkS
    w = make_world(n=3, t=3, label="t3")
    with pytest.raises(VerificationError):
        dep.validate(replace(w.deployment, threshold=2))


def test_public_shares_of_dealt_key_check_out() -> None:
    pk, shares = threshold_oprf.deal_key(3, 5)
    servers = tuple(KeyServer(i, f"http://ks{i}", threshold_oprf.public_share(s)) for i, s in shares.items())
    w = make_world(label="dealt")
    d = replace(w.deployment, threshold=3, oprf_public_key=pk, key_servers=servers)
    dep.validate(d)
    # any order of the server list is fine
    dep.validate(replace(d, key_servers=tuple(reversed(servers))))


def test_validate_rejects_counselor_key_id_mismatch(world: World) -> None:
    c0, c1 = world.deployment.counselors
    _bad(world, VerificationError, counselors=(replace(c0, key_id=c1.key_id), c1))
    _bad(world, VerificationError, counselors=(replace(c0, key_id=bytes(16)), c1))
    # the key swapped under a name: the id no longer matches
    _bad(world, VerificationError, counselors=(replace(c0, public_key=c1.public_key), c1))


def test_validate_rejects_duplicate_counselor(world: World) -> None:
    c0 = world.deployment.counselors[0]
    _bad(world, InvalidInput, counselors=(c0, replace(c0, name="again")))


def test_validate_rejects_unusable_counselor_key(world: World) -> None:
    bad_key = bytes(hpke.PUBLIC_KEY_BYTES)  # low-order X25519 half
    _bad(world, InvalidInput, counselors=(Counselor("zero", bytes(16), bad_key),))
    short = make_counselor("short").public_key[:-1]
    _bad(world, InvalidInput, counselors=(Counselor("short", bytes(16), short),))
