"""Sealed items after a match (PROTOCOL.md §13.1, §13.2): keys, sealing, strict opening and the sender checks.

The glue is checked against an independent computation: the keys and every layer of an item are
recomputed here with `cryptography`'s primitives directly (HKDF-SHA512, Ed25519, ChaCha20-Poly1305,
the HPKE suite with the X-Wing seed expanded by hand), not through consilience.crypto.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives import hpke as pyca_hpke
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from consilience.crypto import aead, hpke, signing
from consilience.errors import DecryptionError, InvalidInput, VerificationError
from consilience.protocol import conversations as cv
from consilience.protocol import deployment as dep
from consilience.protocol import messages
from consilience.protocol.conversations import Kind
from consilience.protocol.encoding import b64u_encode
from consilience.protocol.entry import Attachment, Body
from v2_world import V2World

ENTRY = bytes([0xE1]) * 16
OTHER_ENTRY = bytes([0xE2]) * 16
CONV = bytes([0xC1]) * 16
OTHER_CONV = bytes([0xC2]) * 16
GROUP = bytes([0x6A]) * 16
INTRO = bytes([0x17]) * 16
CASE = bytes([0xCA]) * 16
MSG = bytes([0x01]) * 16
SENT_AT = "2026-12-01T10:00:00Z"

R1, R2, R3 = (cv.MessagingKey(bytes([n]) * 32) for n in (0x11, 0x12, 0x13))


@pytest.fixture(scope="module")
def deployment(world: V2World) -> dep.Deployment:
    """The world's document with each counselor's signing key listed, as ``admin counselor add`` now writes it."""
    counselors = tuple(replace(c, signing_key=cv.counselor_signing_key(k.seed))
                       for c, k in zip(world.deployment.counselors, world.counselors, strict=True))
    d = replace(world.deployment, counselors=counselors)
    dep.validate(d)
    return d


@pytest.fixture(scope="module")
def c1(world: V2World) -> bytes:
    return world.counselors[0].seed


@pytest.fixture(scope="module")
def c2(world: V2World) -> bytes:
    return world.counselors[1].seed


def key_id(seed: bytes) -> bytes:
    return hpke.key_id(hpke.public_key_bytes(seed))


def direct(deployment: dep.Deployment, payload: cv.Payload, signer: bytes, *, to: cv.MessagingKey | None = R1,
           item_id: bytes = MSG, entry: bytes = ENTRY) -> cv.Sealed:
    return cv.seal_item(Kind.MESSAGE, CONV, item_id, payload, signer_seed=signer,
                        recipients=cv.direct_recipients(deployment, R1.public), sent_at=SENT_AT, entry=entry,
                        to=None if to is None else to.public)


def open_as(seed: bytes, sealed: cv.Sealed, *, kind: Kind = Kind.MESSAGE, scope: bytes = CONV,
            item_id: bytes = MSG) -> cv.Opened:
    return cv.open_item(kind, scope, item_id, sealed.content, sealed.wraps[key_id(seed)], seed)


# -- keys, against an independent computation ---------------------------------------------------


def _hkdf(ikm: bytes, label: str) -> bytes:
    info = len(label).to_bytes(2, "big") + label.encode()
    return HKDF(algorithm=hashes.SHA512(), length=32, salt=b"consilience-v1", info=info).derive(ikm)


def _ed25519_public(seed: bytes) -> bytes:
    return Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(serialization.Encoding.Raw,
                                                                                serialization.PublicFormat.Raw)


def _xwing(seed: bytes) -> tuple[mlkem.MLKEM768PrivateKey, x25519.X25519PrivateKey]:
    expanded = hashlib.shake_256(seed).digest(96)
    return mlkem.MLKEM768PrivateKey.from_seed_bytes(expanded[:64]), x25519.X25519PrivateKey.from_private_bytes(
        expanded[64:])


def _xwing_public(seed: bytes) -> bytes:
    m, x = _xwing(seed)
    return m.public_key().public_bytes_raw() + x.public_key().public_bytes_raw()


def test_a_messaging_key_is_what_the_spec_derives_from_its_seed() -> None:
    seed = bytes(range(32))
    key = cv.MessagingKey(seed)
    signing_seed = _hkdf(seed, "consilience-v2 message signing key")
    mpk = _xwing_public(seed)
    assert key.signing_seed == signing_seed
    assert key.verify_key == _ed25519_public(signing_seed)
    assert key.hpke_public == mpk and len(mpk) == 1216
    assert key.encode_public() == mpk + _ed25519_public(signing_seed) and len(key.encode_public()) == 1248
    label = b"consilience-v1 counselor key id"
    assert key.key_id == hashlib.sha256(len(label).to_bytes(2, "big") + label + hpke.SUITE_ID + mpk).digest()[:16]
    assert cv.MessagingPublicKey.parse(key.encode_public()) == key.public


def test_a_messaging_key_never_shows_its_seed() -> None:
    key = cv.MessagingKey(bytes([0xAB]) * 32)
    assert "ab" not in repr(key).lower() and "171" not in repr(key) and "seed" not in repr(key)


def test_a_counselor_signing_key_comes_from_the_hpke_seed_under_its_own_label() -> None:
    seed = bytes([7]) * 32
    assert cv.counselor_signing_seed(seed) == _hkdf(seed, "consilience-v2 counselor signing key")
    assert cv.counselor_signing_key(seed) == _ed25519_public(_hkdf(seed, "consilience-v2 counselor signing key"))
    # a reporter's and a counselor's derivations never coincide on one seed
    assert cv.counselor_signing_seed(seed) != cv.MessagingKey(seed).signing_seed


@pytest.mark.parametrize("mutate, says", [
    (lambda k: k[:-1], "1248 bytes"),
    (lambda k: k + b"\0", "1248 bytes"),
    (lambda k: k[:1184] + bytes(32) + k[1216:], "encryption half is invalid"),  # low-order X25519 point
    (lambda k: b"\xff" * 1184 + k[1184:], "encryption half is invalid"),  # ML-KEM coefficients out of range
])
def test_a_bad_messaging_key_is_refused(mutate, says: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput, match=says):
        cv.MessagingPublicKey.parse(mutate(R1.encode_public()))


# -- every type round trips ---------------------------------------------------------------------


def _cases(d: dep.Deployment, c1: bytes) -> list[tuple[str, Kind, bytes, bytes, cv.Payload, bytes, list[bytes],
                                                       bytes | None, cv.MessagingPublicKey | None]]:
    group = cv.group_recipients(d, cv.Roster(INTRO, (cv.RosterMember("Ana", R1.public),)), R2.hpke_public)
    photo = Attachment("photo.jpg", "image/jpeg", b"\xff\xd8" + bytes(100))
    direct_to = cv.direct_recipients(d, R1.public)
    return [
        ("text", Kind.MESSAGE, CONV, MSG, cv.Text("hello"), cv.counselor_signing_seed(c1), direct_to, ENTRY,
         R1.public),
        ("text with attachment", Kind.MESSAGE, CONV, MSG, cv.Text("", (photo,)), R1.signing_seed, direct_to, ENTRY,
         None),
        ("reveal", Kind.MESSAGE, CONV, MSG, cv.Reveal("ana@example.org", "write to me"), R1.signing_seed, direct_to,
         ENTRY, None),
        ("reveal without text", Kind.MESSAGE, CONV, MSG, cv.Reveal("+1 555 0100"), R1.signing_seed, direct_to,
         ENTRY, None),
        ("introduction", Kind.MESSAGE, CONV, MSG, cv.IntroductionMsg(INTRO, "meet the others?"),
         cv.counselor_signing_seed(c1), direct_to, ENTRY, R1.public),
        ("roster", Kind.MESSAGE, GROUP, MSG,
         cv.Roster(INTRO, (cv.RosterMember("Bea", R2.public), cv.RosterMember("Ana", R1.public))),
         cv.counselor_signing_seed(c1), group, None, None),
        ("group text", Kind.MESSAGE, GROUP, MSG, cv.Text("hi all"), R2.signing_seed, group, None, None),
        ("card", Kind.CARD, INTRO, CONV, cv.Card(INTRO, "Ana 🌻", R1.public), R1.signing_seed,
         cv.card_recipients(d, R1.public), None, None),
        ("note", Kind.NOTE, CASE, MSG, cv.Note("called back"), cv.counselor_signing_seed(c1), cv.note_recipients(d),
         None, None),
    ]


@pytest.mark.parametrize("index", range(9))
def test_every_type_round_trips_for_every_recipient(deployment: dep.Deployment, c1: bytes, c2: bytes,
                                                    index: int) -> None:
    what, kind, scope, item_id, payload, signer, recipients, entry, to = _cases(deployment, c1)[index]
    sealed = cv.seal_item(kind, scope, item_id, payload, signer_seed=signer, recipients=recipients,
                          sent_at=SENT_AT, entry=entry, to=to)
    assert set(sealed.wraps) == {hpke.key_id(pk) for pk in recipients}
    assert all(len(w) == messages.WRAP_BYTES for w in sealed.wraps.values())
    readers = {key_id(c1): c1, key_id(c2): c2, R1.key_id: R1.seed, R2.key_id: R2.seed}
    for kid in sealed.wraps:
        opened = cv.open_item(kind, scope, item_id, sealed.content, sealed.wraps[kid], readers[kid])
        assert opened.payload == payload, what
        assert opened.sender == signing.public_key(signer) and opened.inner.sent_at == SENT_AT
        assert opened.inner.entry == entry and opened.inner.to == to and opened.type == cv.Inner(
            payload, opened.sender, SENT_AT, entry, to).type
    # the wire form is what the server's model accepts
    model = messages.SealedItem.model_validate(sealed.to_json())
    assert len(model.wraps) == len(sealed.wraps)


def test_a_roster_is_sorted_by_key_bytes_whatever_order_it_is_given() -> None:
    roster = cv.Roster(INTRO, (cv.RosterMember("x", R3.public), cv.RosterMember("y", R1.public),
                               cv.RosterMember("z", R2.public)))
    encoded = [m.key.encode() for m in roster.members]
    assert encoded == sorted(encoded)


# -- the layers, recomputed by hand -----------------------------------------------------------------


def test_an_item_is_the_layers_the_spec_describes(deployment: dep.Deployment, c1: bytes) -> None:
    sealed = direct(deployment, cv.Text("Zoë \"x\"\n🌻"), cv.counselor_signing_seed(c1))
    ctx = bytes([1]) + CONV + MSG
    # HPKE, with the X-Wing private key expanded by hand
    suite = pyca_hpke.Suite(pyca_hpke.KEM.MLKEM768_X25519, pyca_hpke.KDF.HKDF_SHA256,
                            pyca_hpke.AEAD.CHACHA20_POLY1305)
    private = pyca_hpke.MLKEM768X25519PrivateKey(*_xwing(c1))
    wrap = sealed.wraps[key_id(c1)]
    k = suite.decrypt(wrap, private, info=b"consilience-v2 item key" + ctx + key_id(c1))
    assert len(k) == 32 and len(wrap) == 1120 + 32 + 16
    # ChaCha20-Poly1305, nonce in front
    plain = ChaCha20Poly1305(k).decrypt(sealed.content[:12], sealed.content[12:], b"consilience-v2 item" + ctx)
    signature, inner = plain[:64], plain[64:]
    expected = {"v": 1, "type": "text", "sender": b64u_encode(cv.counselor_signing_key(c1)), "sent_at": SENT_AT,
                "text": "Zoë \"x\"\n🌻", "entry": b64u_encode(ENTRY), "to": b64u_encode(R1.encode_public())}
    assert inner == json.dumps(expected, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    Ed25519PublicKey.from_public_bytes(cv.counselor_signing_key(c1)).verify(
        signature, b"consilience-v2 item signature" + ctx + inner)


# -- refusals -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sealed(deployment: dep.Deployment, c1: bytes) -> cv.Sealed:
    return direct(deployment, cv.Text("hello"), cv.counselor_signing_seed(c1))


def test_a_key_it_was_not_sealed_to_opens_nothing(sealed: cv.Sealed) -> None:
    with pytest.raises(DecryptionError, match="not sealed to your key"):
        cv.open_item(Kind.MESSAGE, CONV, MSG, sealed.content, sealed.wraps[R1.key_id], R2.seed)


@pytest.mark.parametrize("kind, scope, item_id", [
    (Kind.MESSAGE, OTHER_CONV, MSG),  # another conversation
    (Kind.MESSAGE, CONV, bytes(16)),  # another message id
    (Kind.CARD, CONV, MSG),  # another kind
    (Kind.NOTE, CONV, MSG),
])
def test_another_context_opens_nothing(sealed: cv.Sealed, c1: bytes, kind: Kind, scope: bytes,
                                       item_id: bytes) -> None:
    with pytest.raises(DecryptionError):
        cv.open_item(kind, scope, item_id, sealed.content, sealed.wraps[key_id(c1)], c1)


def test_the_content_under_another_context_does_not_open_even_with_the_item_key(sealed: cv.Sealed,
                                                                                 c1: bytes) -> None:
    """An attacker holding k (a recipient) who moves the content to another conversation with a fresh wrap."""
    k = hpke.open(c1, sealed.wraps[key_id(c1)], cv.wrap_info(cv.context(Kind.MESSAGE, CONV, MSG), key_id(c1)))
    moved = cv.context(Kind.MESSAGE, OTHER_CONV, MSG)
    new_wrap = hpke.seal(hpke.public_key_bytes(c1), k, cv.wrap_info(moved, key_id(c1)))
    with pytest.raises(DecryptionError, match="another conversation"):
        cv.open_item(Kind.MESSAGE, OTHER_CONV, MSG, sealed.content, new_wrap, c1)


def test_a_signed_inner_moved_to_another_conversation_does_not_check(sealed: cv.Sealed, c1: bytes) -> None:
    """Re-encrypting signature || inner under the new context: the AEAD opens, the signature does not hold."""
    ctx = cv.context(Kind.MESSAGE, CONV, MSG)
    k = hpke.open(c1, sealed.wraps[key_id(c1)], cv.wrap_info(ctx, key_id(c1)))
    plain = aead.open(k, sealed.content, cv.CONTENT_AAD + ctx)
    moved = cv.context(Kind.MESSAGE, OTHER_CONV, MSG)
    content = aead.seal(k, plain, cv.CONTENT_AAD + moved)
    wrap = hpke.seal(hpke.public_key_bytes(c1), k, cv.wrap_info(moved, key_id(c1)))
    with pytest.raises(VerificationError, match="signature does not hold"):
        cv.open_item(Kind.MESSAGE, OTHER_CONV, MSG, content, wrap, c1)


def test_a_swapped_wrap_opens_nothing(deployment: dep.Deployment, sealed: cv.Sealed, c1: bytes, c2: bytes) -> None:
    with pytest.raises(DecryptionError):  # another recipient's wrap of the same item
        cv.open_item(Kind.MESSAGE, CONV, MSG, sealed.content, sealed.wraps[key_id(c2)], c1)
    other = direct(deployment, cv.Text("other"), cv.counselor_signing_seed(c1), item_id=bytes([9]) * 16)
    with pytest.raises(DecryptionError):  # my wrap of another item
        cv.open_item(Kind.MESSAGE, CONV, MSG, sealed.content, other.wraps[key_id(c1)], c1)
    with pytest.raises(DecryptionError):  # my wrap of this item, with another item's content
        cv.open_item(Kind.MESSAGE, CONV, MSG, other.content, sealed.wraps[key_id(c1)], c1)


@pytest.mark.parametrize("position", [0, 11, 12, 40, -17, -1])  # nonce, ciphertext, tag
def test_tampered_content_opens_nothing(sealed: cv.Sealed, c1: bytes, position: int) -> None:
    content = bytearray(sealed.content)
    content[position] ^= 0x01
    with pytest.raises(DecryptionError, match="changed"):
        cv.open_item(Kind.MESSAGE, CONV, MSG, bytes(content), sealed.wraps[key_id(c1)], c1)


def test_a_wrap_of_the_wrong_size_is_refused(sealed: cv.Sealed, c1: bytes) -> None:
    with pytest.raises(InvalidInput, match="1168 bytes"):
        cv.open_item(Kind.MESSAGE, CONV, MSG, sealed.content, sealed.wraps[key_id(c1)] + b"\0", c1)


def _raw_item(inner: bytes, signer: bytes, opener: bytes, *, kind: Kind = Kind.MESSAGE) -> cv.Opened:
    """Every layer right around ``inner`` (as a buggy or hostile sender could make it), opened by ``opener``."""
    ctx = cv.context(kind, CONV, MSG)
    k = aead.new_key()
    content = aead.seal(k, signing.sign(signer, cv.signed_bytes(ctx, inner)) + inner, cv.CONTENT_AAD + ctx)
    wrap = hpke.seal(hpke.public_key_bytes(opener), k, cv.wrap_info(ctx, key_id(opener)))
    return cv.open_item(kind, CONV, MSG, content, wrap, opener)


def _doc(**fields: object) -> dict[str, object]:
    doc: dict[str, object] = {"v": 1, "type": "text", "sender": b64u_encode(R1.verify_key), "sent_at": SENT_AT,
                              "text": "hi", "entry": b64u_encode(ENTRY)}
    doc.update(fields)
    return {k: v for k, v in doc.items() if v is not None}


def _canon(doc: object) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def test_a_well_formed_inner_opens_so_the_refusals_below_are_about_their_one_change(c1: bytes) -> None:
    assert _raw_item(_canon(_doc()), R1.signing_seed, c1).payload == cv.Text("hi")


def test_a_signature_by_another_key_than_the_named_sender_is_refused(c1: bytes) -> None:
    with pytest.raises(VerificationError, match="not signed by the key it names"):
        _raw_item(_canon(_doc()), R2.signing_seed, c1)


@pytest.mark.parametrize("inner, says", [
    (_canon(_doc(type="poll")), "unknown type 'poll'"),
    (_canon(_doc(text=None)), "missing text"),
    (_canon(_doc(colour="red")), "unexpected colour"),
    (_canon(_doc(text=5)), "text is a string"),
    (_canon(_doc(v=2)), "unknown version"),
    (_canon(_doc(v=True)), "unknown version"),
    (_canon(_doc(v=1.0)), "unknown version"),
    (json.dumps(_doc(), sort_keys=True).encode(), "not canonical"),
    (json.dumps(_doc(text="ü"), sort_keys=True, separators=(",", ":")).encode(), "not canonical"),
    (json.dumps(dict(reversed(list(_doc().items()))), separators=(",", ":")).encode(), "not canonical"),
    (_canon(_doc())[:-1] + b',"v":1}', "not canonical"),  # a key twice
    (_canon(_doc()) + b" ", "not canonical"),
    (_canon(_doc(sent_at="2026-12-01T10:00:00.000Z")), "whole seconds"),
    (_canon(_doc(sent_at="2026-13-01T10:00:00Z")), "not a valid time"),
    (_canon(_doc(entry=b64u_encode(bytes(15)))), "expected 16 bytes"),
    (_canon(_doc(to=b64u_encode(bytes(1248)))), "messaging key"),
    (_canon(_doc(type="reveal", text=None, contact="")), "cannot be empty"),
    (_canon(_doc(type="reveal", text=None, contact="x", to=b64u_encode(R2.encode_public()))), "unexpected to"),
    (_canon(_doc(type="introduction", introduction=b64u_encode(INTRO))), "missing to"),
    (_canon(_doc(attachments=[])), "non-empty list"),
    (_canon(_doc(attachments=[{"name": "a", "type": "t"}])), "exactly name, type and data"),
    (_canon(_doc(text="")), "text or an attachment"),
    (_canon(_doc(type="note", entry=None, text="x")), "cannot be an item of kind message"),
    (_canon(_doc(type="roster", text=None, entry=None, introduction=b64u_encode(INTRO), members=[])),
     "1 to 32 members"),
    (b"\xff", "not UTF-8 JSON"),
    (b"[1]", "not a JSON object"),
])
def test_an_inner_that_is_not_exactly_what_a_sender_makes_is_refused(c1: bytes, inner: bytes, says: str) -> None:
    with pytest.raises(InvalidInput, match=says):
        _raw_item(inner, R1.signing_seed, c1)


def test_roster_members_out_of_order_or_twice_are_refused(c1: bytes) -> None:
    a, b = sorted([R1.encode_public(), R2.encode_public()])
    base = _doc(type="roster", text=None, entry=None, introduction=b64u_encode(INTRO))
    for members in ([{"name": "B", "key": b64u_encode(b)}, {"name": "A", "key": b64u_encode(a)}],
                    [{"name": "A", "key": b64u_encode(a)}, {"name": "A2", "key": b64u_encode(a)}]):
        with pytest.raises(InvalidInput, match="sorted by key, each once"):
            _raw_item(_canon({**base, "members": members}), R1.signing_seed, c1)


@pytest.mark.parametrize("name", ["", "a" * 65])
def test_a_display_name_has_1_to_64_characters(c1: bytes, name: str) -> None:
    doc = {"v": 1, "type": "card", "sender": b64u_encode(R1.verify_key), "sent_at": SENT_AT,
           "introduction": b64u_encode(INTRO), "name": name, "key": b64u_encode(R1.encode_public())}
    with pytest.raises(InvalidInput, match="1 to 64 characters"):
        _raw_item(_canon(doc), R1.signing_seed, c1, kind=Kind.CARD)
    assert cv.Card(INTRO, "🌻" * 64, R1.public).name  # 64 code points, 256 bytes: allowed


def test_a_type_sealed_as_another_kind_is_refused_before_anything_is_sent(deployment: dep.Deployment) -> None:
    with pytest.raises(InvalidInput, match="a note is sent as item kind note, not message"):
        cv.seal_item(Kind.MESSAGE, CONV, MSG, cv.Note("x"), signer_seed=R1.signing_seed,
                     recipients=cv.note_recipients(deployment))


def test_too_many_wraps_are_refused_and_one_key_twice_is_one_wrap(deployment: dep.Deployment) -> None:
    keys = [hpke.public_key_bytes(bytes([n]) * 32) for n in range(65)]
    with pytest.raises(InvalidInput, match="1 to 64 keys, not 65"):
        cv.seal_item(Kind.NOTE, CASE, MSG, cv.Note("x"), signer_seed=R1.signing_seed, recipients=keys)
    with pytest.raises(InvalidInput, match="1 to 64 keys, not 0"):
        cv.seal_item(Kind.NOTE, CASE, MSG, cv.Note("x"), signer_seed=R1.signing_seed, recipients=[])
    sealed = cv.seal_item(Kind.NOTE, CASE, MSG, cv.Note("x"), signer_seed=R1.signing_seed,
                          recipients=[keys[0], keys[0], keys[1]])
    assert len(sealed.wraps) == 2
    sealed64 = cv.seal_item(Kind.NOTE, CASE, MSG, cv.Note("x"), signer_seed=R1.signing_seed, recipients=keys[:64])
    assert len(messages.SealedItem.model_validate(sealed64.to_json()).wraps) == 64


def test_the_wire_model_refuses_too_many_wraps_duplicate_key_ids_and_odd_sizes(sealed: cv.Sealed) -> None:
    doc = sealed.to_json()
    one = doc["wraps"][0]
    for bad in ({**doc, "wraps": [one] * 2}, {**doc, "wraps": [one] * 65}, {**doc, "wraps": []},
                {**doc, "wraps": [{**one, "wrap": one["wrap"][:-2]}]},
                {**doc, "wraps": [{**one, "key_id": b64u_encode(bytes(15))}]},
                {**doc, "content": b64u_encode(bytes(messages.MAX_BODY_BYTES + 1))},
                {**doc, "extra": 1}):
        with pytest.raises(ValidationError):
            messages.SealedItem.model_validate(bad)
    assert messages.MessageKeyRequest(message_key=b64u_encode(R1.encode_public()))
    with pytest.raises(ValidationError):
        messages.MessageKeyRequest(message_key=b64u_encode(R1.encode_public()[:-1]))
    register = {"account_key": b64u_encode(bytes(32)), "proof": b64u_encode(bytes(64))}
    assert messages.RegisterRequestV2.model_validate(register).message_key is None  # older clients keep working
    assert messages.RegisterRequestV2.model_validate({**register, "message_key": b64u_encode(R1.encode_public())})


def test_an_item_larger_than_the_bound_is_refused(deployment: dep.Deployment, c1: bytes) -> None:
    with pytest.raises(InvalidInput, match="at most about 4 MiB"):
        direct(deployment, cv.Text("x" * messages.MAX_BODY_BYTES), R1.signing_seed, to=None)
    with pytest.raises(InvalidInput, match="at most"):
        cv.open_item(Kind.MESSAGE, CONV, MSG, bytes(messages.MAX_BODY_BYTES + 1), bytes(1168), c1)


# -- who may send what -------------------------------------------------------------------------------


def test_direct_messages_by_a_listed_counselor_and_by_the_pinned_reporter_check(deployment: dep.Deployment,
                                                                               c1: bytes) -> None:
    by_counselor = open_as(c1, direct(deployment, cv.Text("hi"), cv.counselor_signing_seed(c1)))
    assert cv.check_direct(by_counselor, deployment, entry_id=ENTRY, reporter_key=R1.public) == \
        deployment.counselors[0]
    by_reporter = open_as(c1, direct(deployment, cv.Reveal("me@example.org"), R1.signing_seed, to=None))
    assert cv.check_direct(by_reporter, deployment, entry_id=ENTRY, reporter_key=R1.public) is None
    assert cv.require_counselor(by_counselor, deployment) == deployment.counselors[0]


@pytest.mark.parametrize("what, signer, payload, to, entry, reporter, says", [
    ("another reporter's key", "c1", cv.Text("hi"), R1, ENTRY, R2, "another reporter's key"),
    ("another entry", "c1", cv.Text("hi"), R1, OTHER_ENTRY, R1, "about another entry"),
    ("a stranger", "r3", cv.Text("hi"), None, ENTRY, R1, "not signed by a counselor of this deployment nor by the"),
    ("an unlisted counselor", "unlisted", cv.Text("hi"), R1, ENTRY, R1, "not signed by a counselor"),
    ("a reporter's introduction", "r1", cv.IntroductionMsg(INTRO, "x"), R1, ENTRY, R1, "cannot send an intro"),
    ("a counselor's reveal", "c1", cv.Reveal("x"), None, ENTRY, R1, "counselor cannot send a reveal"),
    ("a reporter's text with a 'to'", "r1", cv.Text("hi"), R1, ENTRY, R1, "names no reporter key"),
])
def test_direct_messages_by_anyone_else_are_refused(deployment: dep.Deployment, c1: bytes, what: str, signer: str,
                                                    payload: cv.Payload, to: cv.MessagingKey | None, entry: bytes,
                                                    reporter: cv.MessagingKey, says: str) -> None:
    seeds = {"c1": cv.counselor_signing_seed(c1), "r1": R1.signing_seed, "r3": R3.signing_seed,
             "unlisted": cv.counselor_signing_seed(bytes([0x99]) * 32)}
    if isinstance(payload, cv.IntroductionMsg):  # a reporter cannot make one with seal_item's checks: by hand
        inner = cv.Inner(payload, R1.verify_key, SENT_AT, ENTRY, R1.public).to_bytes()
        opened = _raw_item(inner, R1.signing_seed, c1)
    else:
        opened = open_as(c1, direct(deployment, payload, seeds[signer], to=to, entry=entry))
    with pytest.raises(VerificationError, match=says):
        cv.check_direct(opened, deployment, entry_id=ENTRY, reporter_key=reporter.public)


def test_a_message_not_signed_by_a_counselor_is_refused_by_name(deployment: dep.Deployment, c1: bytes) -> None:
    opened = open_as(c1, direct(deployment, cv.Text("hi"), R3.signing_seed, to=None))
    with pytest.raises(VerificationError, match="this message is not signed by a counselor of this deployment"):
        cv.require_counselor(opened, deployment)
    with pytest.raises(VerificationError, match="not one of them"):
        cv.require_sender(opened, {R1.verify_key}, "not one of them")


def test_a_counselor_without_a_signing_key_in_the_document_cannot_be_trusted(world: V2World, c1: bytes) -> None:
    """The document of before §13 lists no signing key: nobody's message checks as a counselor's."""
    opened = open_as(c1, direct(world.deployment, cv.Text("hi"), cv.counselor_signing_seed(c1)))
    with pytest.raises(VerificationError, match="not signed by a counselor"):
        cv.check_direct(opened, world.deployment, entry_id=ENTRY, reporter_key=R1.public)


def test_a_later_counselor_pins_the_reporter_key_from_the_earliest_counselor_message(deployment: dep.Deployment,
                                                                                      c1: bytes, c2: bytes) -> None:
    first_by_reporter = open_as(c2, direct(deployment, cv.Text("a"), R1.signing_seed, to=None, item_id=bytes([1]) * 16),
                                item_id=bytes([1]) * 16)
    forged = cv.seal_item(Kind.MESSAGE, CONV, bytes([2]) * 16, cv.Text("b"),
                          signer_seed=cv.counselor_signing_seed(bytes([0x99]) * 32),
                          recipients=cv.direct_recipients(deployment, R2.public), entry=ENTRY, to=R2.public)
    by_unlisted = open_as(c2, forged, item_id=bytes([2]) * 16)
    by_c1 = open_as(c2, direct(deployment, cv.Text("c"), cv.counselor_signing_seed(c1), item_id=bytes([3]) * 16),
                    item_id=bytes([3]) * 16)
    assert cv.pinned_reporter_key([first_by_reporter, by_unlisted, by_c1], deployment, ENTRY) == R1.public
    assert cv.pinned_reporter_key([first_by_reporter, by_unlisted], deployment, ENTRY) is None
    assert cv.pinned_reporter_key([by_c1], deployment, OTHER_ENTRY) is None


def test_group_messages_come_from_counselors_or_roster_members(deployment: dep.Deployment, c1: bytes) -> None:
    roster = cv.Roster(INTRO, (cv.RosterMember("Ana", R1.public), cv.RosterMember("Bea", R2.public)))
    recipients = cv.group_recipients(deployment, roster)

    def group(payload: cv.Payload, signer: bytes) -> cv.Opened:
        item = cv.seal_item(Kind.MESSAGE, GROUP, MSG, payload, signer_seed=signer, recipients=recipients)
        return open_as(c1, item, scope=GROUP)

    assert cv.check_group(group(roster, cv.counselor_signing_seed(c1)), deployment, None) == deployment.counselors[0]
    member = cv.check_group(group(cv.Text("hi"), R2.signing_seed), deployment, roster)
    assert isinstance(member, cv.RosterMember) and member.name == "Bea"
    with pytest.raises(VerificationError, match="not signed by a counselor"):
        cv.check_group(group(roster, R1.signing_seed), deployment, roster)  # a roster forged by a member
    with pytest.raises(VerificationError, match="nor by a member"):
        cv.check_group(group(cv.Text("let me in"), R3.signing_seed), deployment, roster)
    with pytest.raises(VerificationError, match="nor by a member"):
        cv.check_group(group(cv.Text("hi"), R2.signing_seed), deployment, None)  # before any roster
    direct_one = open_as(c1, direct(deployment, cv.Text("hi"), cv.counselor_signing_seed(c1)))
    with pytest.raises(VerificationError, match="names no entry"):
        cv.check_group(direct_one, deployment, roster)


def test_a_card_checks_only_against_the_pinned_key_and_its_introduction(deployment: dep.Deployment,
                                                                          c1: bytes) -> None:
    def card(card_payload: cv.Card, signer: bytes) -> cv.Opened:
        item = cv.seal_item(Kind.CARD, INTRO, CONV, card_payload, signer_seed=signer,
                            recipients=cv.card_recipients(deployment, R1.public))
        return open_as(c1, item, kind=Kind.CARD, scope=INTRO, item_id=CONV)

    good = card(cv.Card(INTRO, "Ana", R1.public), R1.signing_seed)
    assert cv.check_card(good, introduction_id=INTRO, conversation_id=CONV, reporter_key=R1.public).name == "Ana"
    with pytest.raises(VerificationError, match="another introduction or conversation"):
        cv.check_card(good, introduction_id=INTRO, conversation_id=OTHER_CONV, reporter_key=R1.public)
    with pytest.raises(VerificationError, match="not signed by the reporter of that conversation"):
        cv.check_card(good, introduction_id=INTRO, conversation_id=CONV, reporter_key=R2.public)
    with pytest.raises(VerificationError, match="names another key"):  # R1 signs a card naming R2's key
        cv.check_card(card(cv.Card(INTRO, "Ana", R2.public), R1.signing_seed), introduction_id=INTRO,
                      conversation_id=CONV, reporter_key=R1.public)
    with pytest.raises(VerificationError, match="names another introduction"):
        cv.check_card(card(cv.Card(bytes(16), "Ana", R1.public), R1.signing_seed), introduction_id=INTRO,
                      conversation_id=CONV, reporter_key=R1.public)


def test_a_note_checks_only_if_a_listed_counselor_wrote_it(deployment: dep.Deployment, c1: bytes) -> None:
    def note(signer: bytes) -> cv.Opened:
        item = cv.seal_item(Kind.NOTE, CASE, MSG, cv.Note("n"), signer_seed=signer,
                            recipients=cv.note_recipients(deployment))
        return open_as(c1, item, kind=Kind.NOTE, scope=CASE)

    assert cv.check_note(note(cv.counselor_signing_seed(c1)), deployment) == deployment.counselors[0]
    with pytest.raises(VerificationError, match="note is not signed by a counselor"):
        cv.check_note(note(R1.signing_seed), deployment)


# -- handover -----------------------------------------------------------------------------------------


def test_a_rewrapped_key_opens_the_same_item_for_the_new_counselor(sealed: cv.Sealed, c1: bytes) -> None:
    newcomer = bytes([0x33]) * 32
    new_id, wrap = cv.rewrap(Kind.MESSAGE, CONV, MSG, sealed.wraps[key_id(c1)], c1, hpke.public_key_bytes(newcomer))
    assert new_id == key_id(newcomer) and len(wrap) == messages.WRAP_BYTES
    assert open_as(c1, sealed).inner == cv.open_item(Kind.MESSAGE, CONV, MSG, sealed.content, wrap, newcomer).inner
    with pytest.raises(DecryptionError):  # bound to this item: useless for another
        cv.open_item(Kind.MESSAGE, OTHER_CONV, MSG, sealed.content, wrap, newcomer)
    with pytest.raises(DecryptionError):  # only a holder of a wrap can rewrap
        cv.rewrap(Kind.MESSAGE, CONV, MSG, sealed.wraps[key_id(c1)], newcomer, hpke.public_key_bytes(newcomer))


# -- the entry body and the deployment document carry the public keys ---------------------------------


def _body(**kw: object) -> Body:
    return Body(record="r", identifiers=["a@example.org"], canonical=["email:a@example.org"], contact="c",
                written_at="2026-12-01T10:00:00+00:00", **kw)  # type: ignore[arg-type]


def test_a_body_carries_the_messaging_key_only_when_there_is_one() -> None:
    without = _body()
    assert b"messaging_key" not in without.to_bytes()
    with_key = _body(messaging_key=R1.encode_public())
    assert json.loads(with_key.to_bytes())["messaging_key"] == b64u_encode(R1.encode_public())
    assert Body.from_bytes(with_key.to_bytes()) == with_key
    assert Body.from_bytes(without.to_bytes()).messaging_key is None
    doc = json.loads(with_key.to_bytes())
    for bad, says in ((b64u_encode(R1.encode_public()[:-1]), "expected 1248 bytes"), (5, "base64url text")):
        with pytest.raises(InvalidInput, match=says):
            Body.from_bytes(json.dumps({**doc, "messaging_key": bad}).encode())
    with pytest.raises(InvalidInput, match="1248 bytes"):
        _body(messaging_key=bytes(10))


def test_a_counselor_signing_key_is_written_only_when_present_and_checked(world: V2World,
                                                                         deployment: dep.Deployment) -> None:
    assert all("signing_key" not in c for c in world.deployment.to_json()["counselors"])
    listed = deployment.to_json()["counselors"]
    assert [c["signing_key"] for c in listed] == [b64u_encode(cv.counselor_signing_key(k.seed))
                                                   for k in world.counselors]
    assert dep.parse(deployment.to_json()).counselors == deployment.counselors
    published = dep.sign(deployment, world.admin_private)
    assert dep.verify(published, world.fingerprint).counselors == deployment.counselors
    short = deployment.to_json()
    short["counselors"][0]["signing_key"] = b64u_encode(bytes(31))
    with pytest.raises(InvalidInput, match="signing_key: expected 32 bytes"):
        dep.parse(short)
    twice = replace(deployment, counselors=tuple(replace(c, signing_key=deployment.counselors[0].signing_key)
                                                 for c in deployment.counselors))
    with pytest.raises(InvalidInput, match="signing key appears twice"):
        dep.validate(twice)


# -- property: whatever the text, it comes back ------------------------------------------------------------


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(min_size=1, max_size=200), name=st.text(min_size=1, max_size=64),
       scope=st.binary(min_size=16, max_size=16), item_id=st.binary(min_size=16, max_size=16),
       data=st.binary(max_size=64))
def test_any_text_and_name_round_trip(deployment: dep.Deployment, c1: bytes, text: str, name: str, scope: bytes,
                                      item_id: bytes, data: bytes) -> None:
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in text + name):  # lone surrogates are not UTF-8: refused
        with pytest.raises(InvalidInput):
            cv.seal_item(Kind.MESSAGE, scope, item_id, cv.Text(text), signer_seed=R1.signing_seed,
                         recipients=[R1.hpke_public])
        return
    attachments = (Attachment("f", "application/octet-stream", data),) if data else ()
    message = cv.seal_item(Kind.MESSAGE, scope, item_id, cv.Text(text, attachments), signer_seed=R1.signing_seed,
                           recipients=cv.direct_recipients(deployment, R1.public), entry=ENTRY)
    opened = cv.open_item(Kind.MESSAGE, scope, item_id, message.content, message.wraps[R1.key_id], R1.seed)
    assert opened.payload == cv.Text(text, attachments) and opened.sender == R1.verify_key
    assert cv.Inner.from_bytes(opened.inner.to_bytes()) == opened.inner
    card = cv.seal_item(Kind.CARD, scope, item_id, cv.Card(INTRO, name, R1.public), signer_seed=R1.signing_seed,
                        recipients=[hpke.public_key_bytes(c1)])
    assert cv.open_item(Kind.CARD, scope, item_id, card.content, card.wraps[key_id(c1)], c1).payload == cv.Card(
        INTRO, name, R1.public)
