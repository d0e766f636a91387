"""The signed deployment document, protocol v2 (PROTOCOL.md §4), with the key servers' published quorum keys."""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consilience.crypto import hpke, ristretto, signing
from consilience.crypto.bls12381 import G2Point, Scalar
from consilience.errors import ConsilienceError, InvalidInput, VerificationError
from consilience.operator.quorum_keys import quorum_keys_from_board
from consilience.protocol import deployment as dep
from consilience.protocol import dkg
from consilience.protocol.deployment import Counselor, Deployment, KeyChange, KeyServer, QuorumKeys
from consilience.protocol.encoding import b64u_decode, b64u_encode
from consilience.protocol.quorum import DishonestKeyServers
from v2_world import run_dkg

from .conftest import V2World, ident, make_v2_world


def sign_raw(document: bytes, admin_private: bytes) -> dict[str, str]:
    """Sign arbitrary bytes the way ``dep.sign`` does, without its validation."""
    return {
        "document": b64u_encode(document),
        "signature": b64u_encode(signing.sign(admin_private, dep.SIGNING_PREFIX + document)),
        "admin_key": b64u_encode(signing.public_key(admin_private)),
    }


def sign_unchecked(d: Deployment, admin_private: bytes) -> dict[str, str]:
    return sign_raw(d.canonical_bytes(), admin_private)


def keys_of(world: V2World) -> QuorumKeys:
    keys = world.deployment.quorum_keys
    assert keys is not None
    return keys


def requested(world: V2World) -> Deployment:
    """The world's document before the result was published: it asks its key servers to generate."""
    assert world.requested is not None
    return world.requested


def asking(d: Deployment, servers: tuple[KeyServer, ...]) -> Deployment:
    """``d`` (before any result) listing ``servers``, and asking those to generate."""
    assert d.key_change is not None
    return replace(d, key_servers=servers, key_change=replace(d.key_change, servers=servers))


def with_keys(world: V2World, **changes: object) -> Deployment:
    """The world's deployment with its quorum keys changed (a fresh instance: nothing cached)."""
    return replace(world.deployment, quorum_keys=replace(keys_of(world), **changes))  # type: ignore[arg-type]


@functools.cache
def second_run(label: str = "v2world") -> QuorumKeys:
    """Another honest key generation by the same key servers under the same parameters (another transcript)."""
    w = make_v2_world(label=label) if label != "v2world" else make_v2_world()
    identities = {i: s.identity for i, s in w.servers.items()}
    hpke_seeds = {i: s.hpke_seed for i, s in w.servers.items()}
    _, published = run_dkg(requested(w), identities, hpke_seeds)
    return published.keys


# --- signing and verification ----------------------------------------------


def test_sign_verify_round_trip(world: V2World) -> None:
    published = world.published()
    assert set(published) == {"document", "signature", "admin_key"}
    got = dep.verify(published, world.fingerprint)
    assert got == world.deployment
    assert got.quorum_keys == world.deployment.quorum_keys and got.ready and got.key_epoch == 1
    # what clients take from it: the same checked commitments
    params = got.quorum_parameters()
    assert params.levels.keys() == set(world.deployment.quorum_range)
    assert all(params.levels[q].coefficients == world.deployment.quorum_parameters().levels[q].coefficients
               for q in params.levels)


def test_published_form_matches_the_spec(world: V2World) -> None:
    published = world.published()
    document = b64u_decode(published["document"])
    admin_key = b64u_decode(published["admin_key"], length=32)
    signing.verify(admin_key, b"consilience-v2 deployment\n" + document, b64u_decode(published["signature"]))
    assert admin_key == signing.public_key(world.admin_private)
    # the fingerprint invites carry is unchanged from v1
    assert world.fingerprint == hashlib.sha256(b"consilience-v1 admin key" + admin_key).digest()[:16]
    doc = json.loads(document)
    assert document == json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()
    assert doc["format"] == "consilience-deployment/v2"
    assert "token_issuer_key" not in doc  # the escrow server issues nothing to key servers any more
    assert doc["oprf"]["suite"] == "ristretto255-SHA512" and doc["oprf"]["mode"] == 1
    assert doc["oprf"]["threshold"] == world.deployment.threshold
    servers = doc["oprf"]["servers"]
    assert [s["index"] for s in servers] == [1, 2, 3]
    for s in servers:
        ks = world.servers[s["index"]]
        assert b64u_decode(s["identity_key"], length=32) == signing.public_key(ks.identity)
        assert b64u_decode(s["hpke_public_key"]) == hpke.public_key_bytes(ks.hpke_seed)
        assert len(b64u_decode(s["hpke_public_key"])) == 1216
    assert [b64u_decode(c["key_id"]) for c in doc["counselors"]] == [c.key_id for c in world.counselors]
    qk = doc["quorum_keys"]
    assert set(qk) == {"epoch", "generation", "kind", "renewed_from", "transcript", "qualified", "dealers", "levels",
                       "servers", "abscissa_check", "confirmations"}
    assert qk["epoch"] == 1 and qk["qualified"] == [1, 2, 3] and len(b64u_decode(qk["transcript"])) == 32
    # generated (not renewed): its own generation, dealt by its holders, renewing nothing
    assert (qk["generation"], qk["kind"], qk["renewed_from"], qk["dealers"]) == (1, "generate", None, [1, 2, 3])
    assert b64u_decode(qk["abscissa_check"], length=32) == dkg.abscissa_check(
        world.deployment.deployment_id, world.servers[1].result.abscissa_key)
    # the VOPRF key and its public shares are the key servers' result, published with it; nothing is asked now
    assert b64u_decode(doc["oprf"]["public_key"], length=32) == world.deployment.oprf_public_key
    assert [b64u_decode(s["public_share"], length=32) for s in servers] == [
        ristretto.scalar_mult_base(world.servers[i].oprf_share) for i in (1, 2, 3)]
    assert doc["key_change"] is None
    assert sorted(qk["levels"]) == ["2", "3", "4", "5"]
    assert all(len(cs) == int(q) and all(len(b64u_decode(c)) == 96 for c in cs) for q, cs in qk["levels"].items())
    assert sorted(qk["servers"]) == ["1", "2", "3"] and len(qk["confirmations"]) == 3


def test_non_ascii_names_survive_canonicalisation(world: V2World) -> None:
    c = world.deployment.counselors[0]
    d = replace(world.deployment, counselors=(replace(c, name="Zoë Ångström ☂"),))
    published = dep.sign(d, world.admin_private)
    assert b64u_decode(published["document"]).isascii()
    assert dep.verify(published, world.fingerprint).counselors[0].name == "Zoë Ångström ☂"


@settings(max_examples=50, deadline=None)
@given(st.data())
def test_any_document_byte_changed_is_refused(world: V2World, data: st.DataObject) -> None:
    published = world.published()
    document = bytearray(b64u_decode(published["document"]))
    pos = data.draw(st.integers(0, len(document) - 1))
    document[pos] ^= data.draw(st.integers(1, 255))
    with pytest.raises(VerificationError):
        dep.verify({**published, "document": b64u_encode(bytes(document))}, world.fingerprint)


@settings(max_examples=50, deadline=None)
@given(st.data())
def test_any_signature_byte_changed_is_refused(world: V2World, data: st.DataObject) -> None:
    published = world.published()
    signature = bytearray(b64u_decode(published["signature"]))
    signature[data.draw(st.integers(0, 63))] ^= data.draw(st.integers(1, 255))
    with pytest.raises(VerificationError):
        dep.verify({**published, "signature": b64u_encode(bytes(signature))}, world.fingerprint)


def test_truncated_or_extended_document_is_refused(world: V2World) -> None:
    published = world.published()
    document = b64u_decode(published["document"])
    for changed in [document[:-1], document + b" ", b" " + document, b""]:
        with pytest.raises(VerificationError):
            dep.verify({**published, "document": b64u_encode(changed)}, world.fingerprint)


def test_a_v1_signature_prefix_is_refused(world: V2World) -> None:
    document = world.deployment.canonical_bytes()
    v1_signed = {**world.published(),
                 "signature": b64u_encode(signing.sign(world.admin_private, b"consilience-v1 deployment\n" + document))}
    with pytest.raises(VerificationError):
        dep.verify(v1_signed, world.fingerprint)


def test_document_signed_by_another_admin_is_refused(world: V2World) -> None:
    impostor = signing.generate()
    with pytest.raises(VerificationError):
        dep.verify(dep.sign(world.deployment, impostor), world.fingerprint)
    published = world.published()
    with pytest.raises(VerificationError):
        dep.verify({**published, "admin_key": b64u_encode(signing.public_key(impostor))}, world.fingerprint)
    assert dep.verify(dep.sign(world.deployment, impostor),
                      dep.admin_fingerprint(signing.public_key(impostor))) == world.deployment


def test_serial_rollback_is_refused(world: V2World) -> None:
    published = dep.sign(replace(world.deployment, serial=5), world.admin_private)
    assert dep.verify(published, world.fingerprint, min_serial=5).serial == 5
    assert dep.verify(published, world.fingerprint, min_serial=4).serial == 5
    with pytest.raises(VerificationError):
        dep.verify(published, world.fingerprint, min_serial=6)


@pytest.mark.parametrize("missing", ["document", "signature", "admin_key"])
def test_missing_published_fields(world: V2World, missing: str) -> None:
    published = world.published()
    del published[missing]
    with pytest.raises(InvalidInput):
        dep.verify(published, world.fingerprint)


@pytest.mark.parametrize("field,value", [("signature", "AAAA"), ("admin_key", "AAAA"), ("document", "a+b/"),
                                         ("signature", "!!")])
def test_malformed_published_fields(world: V2World, field: str, value: str) -> None:
    with pytest.raises(ConsilienceError):
        dep.verify({**world.published(), field: value}, world.fingerprint)


def test_verify_refuses_a_non_object(world: V2World) -> None:
    with pytest.raises(InvalidInput):
        dep.verify([world.published()], world.fingerprint)  # type: ignore[arg-type]


# --- contents checked even when the signature is good -----------------------


def test_non_canonical_document_bytes_are_refused(world: V2World) -> None:
    doc = world.deployment.to_json()
    variants = [
        json.dumps(doc, sort_keys=True, indent=1).encode(),
        json.dumps(doc, sort_keys=False, separators=(",", ":")).encode(),
        json.dumps(doc, sort_keys=True, separators=(",", ":")).encode() + b"\n",
        json.dumps({**doc, "serial": "2"}, sort_keys=True, separators=(",", ":")).encode(),
        json.dumps({**doc, "serial": True}, sort_keys=True, separators=(",", ":")).encode(),
        json.dumps({**doc, "extra": 1}, sort_keys=True, separators=(",", ":")).encode(),
        json.dumps({**doc, "quorum_keys": {**doc["quorum_keys"], "epoch": "1"}}, sort_keys=True,
                   separators=(",", ":")).encode(),
        json.dumps({**doc, "quorum_keys": {**doc["quorum_keys"], "extra": 1}}, sort_keys=True,
                   separators=(",", ":")).encode(),
    ]
    for document in variants:
        assert document != world.deployment.canonical_bytes()
        with pytest.raises(ConsilienceError):
            dep.verify(sign_raw(document, world.admin_private), world.fingerprint)


def test_canonical_unicode_escapes_are_required(world: V2World) -> None:
    d = replace(world.deployment, counselors=(replace(world.deployment.counselors[0], name="Zoë"),))
    utf8 = json.dumps(d.to_json(), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert utf8 != d.canonical_bytes()
    with pytest.raises(VerificationError):
        dep.verify(sign_raw(utf8, world.admin_private), world.fingerprint)


@pytest.mark.parametrize("document", [b"not json", b"\xff\xfe", b"[]", b"{}", b"null", b'{"format": 1}',
                                      b"[" * 100_000 + b"]" * 100_000])
def test_signed_garbage_is_refused_cleanly(world: V2World, document: bytes) -> None:
    with pytest.raises(ConsilienceError):
        dep.verify(sign_raw(document, world.admin_private), world.fingerprint)


def test_a_v1_document_is_refused_naming_v1(world: V2World) -> None:
    doc = json.loads(world.deployment.canonical_bytes())
    v1 = {k: v for k, v in doc.items() if k != "quorum_keys"}
    v1["format"] = "consilience-deployment/v1"
    v1["token_issuer_key"] = b64u_encode(bytes(32))
    for s in v1["oprf"]["servers"]:
        del s["identity_key"], s["hpke_public_key"]
    with pytest.raises(InvalidInput, match="v1") as info:
        dep.parse(v1)
    assert str(info.value) == dep.V1_REFUSAL and "protocol v2" in str(info.value)
    with pytest.raises(InvalidInput, match="Consilience v1 deployment document"):
        dep.verify(sign_raw(dep.canonical_json(v1), world.admin_private), world.fingerprint)
    # any other format is unknown, not v1
    with pytest.raises(InvalidInput, match="unknown deployment format"):
        dep.parse({**doc, "format": "consilience-deployment/v3"})


@pytest.mark.parametrize(
    "edit",
    [
        lambda doc: doc["oprf"].update(suite="P256-SHA256"),
        lambda doc: doc["oprf"].update(mode=0),
        lambda doc: doc.pop("counselors"),
        lambda doc: doc["oprf"].pop("servers"),
        lambda doc: doc.pop("quorum_keys"),
        lambda doc: doc.update(deployment_id=b64u_encode(bytes(15))),
        lambda doc: doc["oprf"]["servers"][0].update(public_share=b64u_encode(bytes(31))),
        lambda doc: doc["oprf"]["servers"][0].update(identity_key=b64u_encode(bytes(31))),
        lambda doc: doc["oprf"]["servers"][0].pop("identity_key"),
        lambda doc: doc["oprf"]["servers"][0].pop("hpke_public_key"),
        lambda doc: doc.update(serial=float("inf")),
        lambda doc: doc.update(quorum=float("nan")),
        lambda doc: doc["oprf"].update(servers=[1, 2]),
        lambda doc: doc.update(oprf=[]),
        lambda doc: doc["quorum_keys"].update(transcript=b64u_encode(bytes(31))),
        lambda doc: doc["quorum_keys"]["levels"]["2"].__setitem__(0, b64u_encode(bytes(95))),
        lambda doc: doc["quorum_keys"]["servers"]["1"]["2"].__setitem__(0, "not base64!"),
        lambda doc: doc["quorum_keys"].pop("confirmations"),
        lambda doc: doc["quorum_keys"].update(qualified=None),
        lambda doc: doc["quorum_keys"].update(levels=[]),
        lambda doc: doc["quorum_keys"].update(epoch=None),
    ],
)
def test_parse_rejects_malformed_fields(world: V2World, edit) -> None:
    doc = json.loads(world.deployment.canonical_bytes())
    edit(doc)
    with pytest.raises(InvalidInput):
        dep.parse(doc)
    with pytest.raises(ConsilienceError):
        dep.verify(sign_raw(dep.canonical_json(doc), world.admin_private), world.fingerprint)


def test_parse_inverts_to_json(world: V2World) -> None:
    assert dep.parse(world.deployment.to_json()) == world.deployment
    before = requested(world)
    assert dep.parse(before.to_json()) == before
    # no VOPRF key nor public shares before the result: JSON null, not empty strings
    doc = before.to_json()
    assert doc["oprf"]["public_key"] is None and all(s["public_share"] is None for s in doc["oprf"]["servers"])
    assert doc["key_change"]["kind"] == "generate" and doc["key_change"]["epoch"] == 1


# --- before the key servers' key generation is published --------------------


def test_a_deployment_before_its_quorum_keys_verifies_but_cannot_seal(world: V2World) -> None:
    before = requested(world)
    assert before.serial == 1 and before.quorum_keys is None
    got = dep.verify(dep.sign(before, world.admin_private), world.fingerprint)
    assert got.quorum_keys is None and not got.ready
    assert json.loads(got.canonical_bytes())["quorum_keys"] is None
    with pytest.raises(InvalidInput, match="not finished generating"):
        got.quorum_parameters()
    with pytest.raises(InvalidInput, match="not finished generating"):
        _ = got.key_epoch


def test_dkg_parameters_follow_the_document(world: V2World) -> None:
    # the run asked for (key_change), and the one published (to read its confirmations)
    for d in (requested(world), world.deployment):
        params = d.dkg_parameters(1)
        assert (params.deployment_id, params.epoch, params.threshold, params.low, params.high) == (
            d.deployment_id, 1, d.threshold, d.quorum, d.max_quorum)
        assert params.kind == dkg.GENERATE and params.previous_digest == bytes(32)
        assert [(p.index, p.identity_key, p.hpke_public_key) for p in params.participants] == [
            (s.index, s.identity_key, s.hpke_public_key) for s in d.key_servers]
    assert requested(world).board_epoch == world.deployment.board_epoch == 1
    # no other epoch: a key server never runs a board the document does not ask for
    for d in (requested(world), world.deployment):
        with pytest.raises(InvalidInput, match="no key generation at epoch 7"):
            d.dkg_parameters(7)


def test_a_document_without_quorum_keys_asks_its_key_servers_to_generate(world: V2World) -> None:
    before = requested(world)
    _bad(world, InvalidInput, "asks its key servers to generate", d=replace(before, key_change=None))
    assert before.key_change is not None
    _bad(world, InvalidInput, "asks its key servers to generate",
         d=replace(before, key_change=replace(before.key_change, kind="refresh")))
    # the first run is the listed key servers' own, at their threshold
    _bad(world, InvalidInput, "the key servers the document lists",
         d=replace(before, key_change=replace(before.key_change, servers=before.key_servers[:2])))
    _bad(world, InvalidInput, "the key servers the document lists",
         d=replace(before, key_change=replace(before.key_change, threshold=3)))
    # a VOPRF key or public share before the key servers produced one: someone dealt it
    dealt = ristretto.scalar_mult_base(ristretto.scalar_random())
    _bad(world, InvalidInput, "come from the key servers' key generation", d=replace(before, oprf_public_key=dealt))
    one = (replace(before.key_servers[0], public_share=dealt), *before.key_servers[1:])
    _bad(world, InvalidInput, "come from the key servers' key generation", d=replace(before, key_servers=one))
    # once published, nothing may ask to generate again (every entry would become unopenable)
    again = KeyChange(2, "generate", world.deployment.threshold,
                      tuple(replace(s, public_share=b"") for s in world.deployment.key_servers))
    _bad(world, InvalidInput, "refresh or reshare", d=replace(world.deployment, key_change=again))


# --- validate ---------------------------------------------------------------


def _bad(world: V2World, exc: type[Exception], match: str | None = None, *, d: Deployment | None = None,
         **changes: object) -> None:
    d = d or replace(world.deployment, **changes)  # type: ignore[arg-type]
    with pytest.raises(exc, match=match):
        dep.validate(d)
    with pytest.raises(exc, match=match):
        dep.sign(d, world.admin_private)
    # and a client refuses it even when the administrator did sign it
    with pytest.raises(exc, match=match):
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
def test_validate_rejects_bounds(world: V2World, changes: dict) -> None:
    _bad(world, InvalidInput, **changes)


def test_validate_accepts_boundaries() -> None:
    w = make_v2_world(n=1, t=1, quorum_low=32, quorum_high=32, counselors=1, label="edges")
    dep.validate(w.deployment)
    got = dep.verify(w.published(), w.fingerprint)
    assert got.quorum_range == range(32, 33) and set(got.quorum_parameters().levels) == {32}
    before = requested(w)
    dep.validate(before)
    dep.validate(replace(before, quorum=2))
    dep.validate(replace(before, counselors=()))


def test_validate_rejects_duplicate_or_non_positive_indices(world: V2World) -> None:
    servers = world.deployment.key_servers
    _bad(world, InvalidInput, key_servers=(servers[0], servers[1], replace(servers[2], index=2)))
    _bad(world, InvalidInput, key_servers=(replace(servers[0], index=0), servers[1], servers[2]))
    _bad(world, InvalidInput, key_servers=(replace(servers[0], index=-1), servers[1], servers[2]))


@pytest.mark.parametrize(("i", "j"), [(0, 1), (0, 2), (1, 2)])
def test_validate_rejects_swapped_public_shares(world: V2World, i: int, j: int) -> None:
    servers = list(world.deployment.key_servers)
    a, b = servers[i], servers[j]
    servers[i], servers[j] = replace(a, public_share=b.public_share), replace(b, public_share=a.public_share)
    _bad(world, VerificationError, key_servers=tuple(servers))


@pytest.mark.parametrize("i", [0, 1, 2])
def test_validate_rejects_a_foreign_public_share(world: V2World, i: int) -> None:
    other = make_v2_world(label="foreign")
    servers = list(world.deployment.key_servers)
    servers[i] = replace(servers[i], public_share=other.deployment.key_servers[i].public_share)
    _bad(world, VerificationError, key_servers=tuple(servers))


def test_validate_rejects_a_foreign_group_key(world: V2World) -> None:
    other = make_v2_world(label="foreign")
    _bad(world, VerificationError, oprf_public_key=other.deployment.oprf_public_key)


def test_validate_rejects_public_shares_of_a_higher_threshold() -> None:
    # shares dealt 3-of-3 do not lie on a degree-1 polynomial through pkS
    w = make_v2_world(n=3, t=3, label="t3")
    with pytest.raises(VerificationError):
        dep.validate(replace(w.deployment, threshold=2))


def test_public_shares_of_the_generated_key_check_out() -> None:
    w = make_v2_world(n=5, t=3, label="five")
    d = w.deployment
    dep.validate(d)
    assert d.threshold == 3 and len(d.public_shares()) == 5
    for i, s in w.servers.items():
        assert d.key_server(i).public_share == ristretto.scalar_mult_base(s.oprf_share)
    # v2 lists key servers 1..n in order (they are the DKG's participants, in that order)
    _bad(w, InvalidInput, "in order", d=replace(d, key_servers=tuple(reversed(d.key_servers))))
    before = requested(w)
    _bad(w, InvalidInput, "in order", d=asking(before, tuple(reversed(before.key_servers))))


def test_validate_rejects_bad_or_repeated_key_server_identities(world: V2World) -> None:
    before = requested(world)
    servers = list(before.key_servers)
    _bad(world, InvalidInput, "identity.key", d=asking(
        before, (replace(servers[0], identity_key=servers[0].identity_key[:31]), *servers[1:])))
    _bad(world, InvalidInput, "identity key", d=asking(
        before, (servers[0], replace(servers[1], identity_key=servers[0].identity_key), servers[2])))
    _bad(world, InvalidInput, "HPKE", d=asking(
        before, (replace(servers[0], hpke_public_key=b""), *servers[1:])))


def test_validate_rejects_counselor_key_id_mismatch(world: V2World) -> None:
    c0, c1 = world.deployment.counselors
    _bad(world, VerificationError, counselors=(replace(c0, key_id=c1.key_id), c1))
    _bad(world, VerificationError, counselors=(replace(c0, key_id=bytes(16)), c1))
    _bad(world, VerificationError, counselors=(replace(c0, public_key=c1.public_key), c1))


def test_validate_rejects_duplicate_counselor(world: V2World) -> None:
    c0 = world.deployment.counselors[0]
    _bad(world, InvalidInput, counselors=(c0, replace(c0, name="again")))


def test_validate_rejects_unusable_counselor_key(world: V2World) -> None:
    bad_key = bytes(hpke.PUBLIC_KEY_BYTES)  # low-order X25519 half
    _bad(world, InvalidInput, counselors=(Counselor("zero", bytes(16), bad_key),))
    short = world.deployment.counselors[0].public_key[:-1]
    _bad(world, InvalidInput, counselors=(Counselor("short", bytes(16), short),))


# --- the quorum keys: the key servers' confirmations and the commitments -----------------------------


def test_a_missing_confirmation_is_refused(world: V2World) -> None:
    keys = keys_of(world)
    for k in range(3):
        dropped = keys.confirmations[:k] + keys.confirmations[k + 1:]
        _bad(world, VerificationError, f"no confirmation of the quorum keys from key server\\(s\\) {k + 1}",
             d=with_keys(world, confirmations=dropped))
    # one server's confirmation twice does not stand in for another's
    _bad(world, VerificationError, "key server\\(s\\) 3",
         d=with_keys(world, confirmations=(*keys.confirmations[:2], keys.confirmations[0])))
    _bad(world, VerificationError, "1, 2, 3", d=with_keys(world, confirmations=()))


def test_a_forged_confirmation_is_refused(world: V2World) -> None:
    """The administrator (or whoever publishes) signs a confirmation in key server 2's name."""
    keys = keys_of(world)
    body = keys.confirmations[1][:-64]
    forged = body + signing.sign(world.admin_private, body)  # the right bytes, signed by the wrong key
    _bad(world, VerificationError, d=with_keys(world, confirmations=(keys.confirmations[0], forged,
                                                                     keys.confirmations[2])))
    tampered = bytearray(keys.confirmations[1])
    tampered[-1] ^= 1
    _bad(world, VerificationError, d=with_keys(world, confirmations=(keys.confirmations[0], bytes(tampered),
                                                                     keys.confirmations[2])))


def test_a_confirmation_of_another_transcript_is_refused(world: V2World) -> None:
    other = second_run()
    assert other.transcript != keys_of(world).transcript
    keys = keys_of(world)
    _bad(world, VerificationError, "key server 2 confirmed another key generation",
         d=with_keys(world, confirmations=(keys.confirmations[0], other.confirmations[1], keys.confirmations[2])))
    # and the other run's confirmations do not vouch for this run's transcript
    _bad(world, VerificationError, "confirmed another key generation", d=with_keys(
        world, confirmations=other.confirmations))


def test_a_confirmation_of_another_qualified_set_or_epoch_is_refused(world: V2World) -> None:
    _bad(world, InvalidInput, "qualified", d=with_keys(world, qualified=(1, 2)))
    keys = keys_of(world)
    servers12 = {i: keys.servers[i] for i in (1, 2)}
    # a generated result's holders are its dealers
    _bad(world, InvalidInput, "dealt by their holders", d=with_keys(world, qualified=(1, 2), servers=servers12))
    # key server 3 dropped from the result altogether (its public share too): the confirmations name QUAL 1, 2, 3
    three = replace(world.deployment.key_servers[2], public_share=b"")
    dropped = replace(with_keys(world, qualified=(1, 2), dealers=(1, 2), servers=servers12),
                      key_servers=(*world.deployment.key_servers[:2], three))
    _bad(world, VerificationError, "confirmed another key generation", d=dropped)
    # the same confirmations published as another epoch's: their header names epoch 1
    _bad(world, InvalidInput, "their own generation", d=with_keys(world, epoch=2))
    _bad(world, ConsilienceError, "another deployment, epoch", d=with_keys(world, epoch=2, generation=2))


def test_something_else_in_place_of_a_confirmation_is_refused(world: V2World) -> None:
    keys = keys_of(world)
    params = world.deployment.dkg_parameters(keys.epoch)
    a_deal = dkg.deal(params, 3, world.servers[3].identity, dkg.DealerSeed.fresh())
    _bad(world, VerificationError, "not a confirmation",
         d=with_keys(world, confirmations=(*keys.confirmations[:2], a_deal)))
    _bad(world, ConsilienceError, d=with_keys(world, confirmations=(*keys.confirmations[:2], b"garbage")))


@pytest.mark.parametrize("level", [2, 3, 5])
def test_a_level_missing_is_refused(world: V2World, level: int) -> None:
    keys = keys_of(world)
    levels = {q: cs for q, cs in keys.levels.items() if q != level}
    _bad(world, InvalidInput, "exactly the levels of the quorum range", d=with_keys(world, levels=levels))


def test_a_level_outside_the_range_is_refused(world: V2World) -> None:
    keys = keys_of(world)
    extra = {**keys.levels, 6: keys.levels[5] + keys.levels[2][:1]}
    _bad(world, InvalidInput, "exactly the levels", d=with_keys(world, levels=extra))


def _g2(k: int) -> bytes:
    return G2Point.generator().mul_public(Scalar(k)).to_bytes()


def test_commitments_that_do_not_interpolate_are_refused(world: V2World) -> None:
    keys = keys_of(world)
    # a master commitment changed
    levels = {**keys.levels, 3: (keys.levels[3][0], _g2(12345), keys.levels[3][2])}
    _bad(world, VerificationError, "interpolate", d=with_keys(world, levels=levels))
    # two key servers' commitments swapped
    swapped = {**keys.servers, 1: keys.servers[2], 2: keys.servers[1]}
    _bad(world, VerificationError, d=with_keys(world, servers=swapped))
    # one server's commitment to one coefficient changed
    three = {**keys.servers[3], 4: (keys.servers[3][4][0], _g2(7), *keys.servers[3][4][2:])}
    _bad(world, VerificationError, "key server 3", d=with_keys(world, servers={**keys.servers, 3: three}))
    # a level with one commitment too few
    short = {**keys.levels, 4: keys.levels[4][:3]}
    _bad(world, VerificationError, "exactly 4", d=with_keys(world, levels=short))


def _run_without(silent: int) -> tuple[V2World, Deployment]:
    """A key generation in which key server ``silent`` never dealt: it is disqualified, the others confirm;
    the document that publishes it, as ``admin publish-keys`` makes it."""
    w = make_v2_world(label="one silent")
    before = requested(w)
    params = before.dkg_parameters(1)
    servers = {i: s for i, s in w.servers.items() if i != silent}
    seeds = {i: dkg.DealerSeed.fresh() for i in servers}
    board = [dkg.deal(params, i, s.identity, seeds[i]) for i, s in servers.items()]
    board += [c for i, s in w.servers.items()
              for c in dkg.complaints_for(params, i, s.identity, s.hpke_seed, list(board))]
    board += [a for i, s in servers.items() for a in dkg.answer(params, i, s.identity, seeds[i], list(board))]
    results = {i: dkg.finalize(params, i, s.hpke_seed, list(board)) for i, s in servers.items()}
    confirmations = [dkg.confirm(params, servers[i].identity, r) for i, r in results.items()]
    published = quorum_keys_from_board(before, 1, board + confirmations)
    return w, replace(before, serial=2, **published.apply(before))  # type: ignore[arg-type]


def test_a_server_listed_that_is_not_qualified_is_refused() -> None:
    w, good = _run_without(3)
    keys = good.quorum_keys
    assert keys is not None
    assert keys.qualified == keys.dealers == (1, 2) and sorted(keys.servers) == [1, 2]
    # the disqualified server stays listed, without a VOPRF public share (it holds no share)
    assert good.key_server(3).public_share == b"" and all(good.key_server(i).public_share for i in (1, 2))
    dep.validate(good)  # two of three qualified, at the threshold: usable
    assert dep.verify(dep.sign(good, w.admin_private), w.fingerprint).quorum_keys == keys
    # commitments listed for the disqualified server (any: here the first's) are refused
    listed = replace(good, quorum_keys=replace(keys, servers={**keys.servers, 3: keys.servers[1]}))
    _bad(w, InvalidInput, "exactly the qualified key servers", d=listed)
    # nor may the document call it qualified: it never confirmed
    claimed = replace(listed, quorum_keys=replace(listed.quorum_keys, qualified=(1, 2, 3)))  # type: ignore[arg-type]
    _bad(w, InvalidInput, "dealt by their holders", d=claimed)
    claimed = replace(listed, quorum_keys=replace(keys, servers={**keys.servers, 3: keys.servers[1]},
                                                  qualified=(1, 2, 3), dealers=(1, 2, 3)))
    _bad(w, VerificationError, d=claimed)
    # fewer qualified than the threshold is refused too
    one = replace(good, quorum_keys=replace(keys, qualified=(1,), servers={1: keys.servers[1]}))
    _bad(w, InvalidInput, "at least the threshold", d=one)
    # nor may it get a VOPRF public share: here one on the polynomial of the others (the VOPRF key's
    # sharing is degree t-1, so any third point interpolates), still not a share anyone holds
    from consilience.crypto import threshold_oprf as toprf

    public = {i: good.key_server(i).public_share for i in (1, 2)}
    third = toprf._interpolate_in_exponent(public, 3)
    given = tuple(replace(s, public_share=third) if s.index == 3 else s for s in good.key_servers)
    _bad(w, InvalidInput, "only key servers holding shares", d=replace(good, key_servers=given))


def test_commitments_substituted_under_genuine_confirmations_are_refused(world: V2World) -> None:
    """Whoever publishes keeps the key servers' real confirmations but publishes other commitments.

    The confirmations sign the transcript digest and the qualified set only, and the document
    carries nothing that ties the commitments to that transcript; so commitments from another
    run (here an honest second run by the same servers, internally consistent) pass validate().
    The module's docstring says the publisher "cannot substitute commitments of their own choosing
    without the key servers' agreement"; this test holds it to that.
    """
    other = second_run()
    substituted = with_keys(world, levels=other.levels, servers=other.servers)
    _bad(world, VerificationError, d=substituted)


def test_substituted_commitments_fail_at_the_first_evaluation(world: V2World) -> None:
    """What the gap above costs today: no secrecy (honest key servers answer on their real shares), but every
    reporter's first evaluation fails, and it names the honest key servers as the liars."""
    other = second_run()
    substituted = with_keys(world, levels=other.levels, servers=other.servers)
    fooled = replace(world, deployment=substituted, guard={})
    with pytest.raises(DishonestKeyServers) as info:
        fooled.evaluate(world.account("deployment/fooled"), [ident("x:fooled")])
    assert set(info.value.dishonest) == {1, 2}


def test_a_checked_document_is_kept_but_every_signature_and_pin_is_still_checked(world: V2World) -> None:
    """verify() keeps what it checked per exact signed bytes (clients fetch the document before every
    submission); the cache must not let another signature, another pinned administrator or an older
    serial through."""
    published = world.published()
    first = dep.verify(published, world.fingerprint)
    assert dep.verify(published, world.fingerprint) is first
    forged = bytearray(b64u_decode(published["signature"]))
    forged[0] ^= 1
    with pytest.raises(VerificationError, match="signature"):
        dep.verify({**published, "signature": b64u_encode(bytes(forged))}, world.fingerprint)
    with pytest.raises(VerificationError, match="different administrator"):
        dep.verify(published, bytes(16))
    with pytest.raises(VerificationError, match="older than one already seen"):
        dep.verify(published, world.fingerprint, min_serial=first.serial + 1)
    other_admin = signing.generate()
    resigned = dep.sign(first, other_admin)
    assert dep.verify(resigned, dep.admin_fingerprint(signing.public_key(other_admin))) == first
