"""The entry body's structured fields (PROTOCOL.md §8): details and attachments."""

from __future__ import annotations

import json

import pytest

from consilience.clients import wallet as wallet_mod
from consilience.errors import InvalidInput
from consilience.protocol import entry
from consilience.protocol.entry import Attachment, Body, make_details
from consilience.protocol.messages import MAX_BODY_BYTES

from .conftest import V2World, ident

BASE = dict(record="r\u00e9cit", identifiers=["A@x.org"], canonical=["email:a@x.org"], contact="c",
            written_at="2026-01-01T00:00:00+00:00")
# The bytes of a v2 body without details and attachments: the same as v1's but for "v" (must never change).
OLD_BYTES = ('{"canonical":["email:a@x.org"],"contact":"c","identifiers":["A@x.org"],"record":"r\u00e9cit",'
             '"v":2,"written_at":"2026-01-01T00:00:00+00:00"}').encode()


def test_body_without_structure_keeps_its_old_bytes() -> None:
    assert Body(**BASE).to_bytes() == OLD_BYTES
    assert Body(**BASE, details=None, attachments=()).to_bytes() == OLD_BYTES
    parsed = Body.from_bytes(OLD_BYTES)
    assert parsed == Body(**BASE) and parsed.details is None and parsed.attachments == ()


def test_body_with_details_and_attachments_round_trips() -> None:
    body = Body(**BASE, details={"what": "w", "witnesses": "Kim, Lee"},
                attachments=[Attachment("photo.jpg", "image/jpeg", bytes(range(256))), Attachment("e", "", b"")])
    raw = body.to_bytes()
    doc = json.loads(raw)
    assert doc["details"] == {"what": "w", "witnesses": "Kim, Lee"}
    assert doc["attachments"][1] == {"name": "e", "type": "", "data": ""}
    assert raw == json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    again = Body.from_bytes(raw)
    assert again == body and again.attachments[0].data == bytes(range(256))
    assert again.to_bytes() == raw


def test_make_details_keeps_only_filled_fields() -> None:
    assert make_details() is None and make_details(what="", where=None) is None
    assert make_details(what="a", when="", witnesses="b") == {"what": "a", "witnesses": "b"}


def _raw(**extra: object) -> bytes:
    return json.dumps({"v": 2, **BASE, **extra}).encode()


@pytest.mark.parametrize("version", [1, 3, 0, "2", None])
def test_a_body_of_another_version_is_refused(version: object) -> None:
    # a v1 body (the same fields under "v": 1) is never read as a v2 one
    with pytest.raises(InvalidInput, match="unknown body version"):
        Body.from_bytes(_raw(v=version))


@pytest.mark.parametrize("extra", [
    {"details": {}}, {"details": []}, {"details": "what"}, {"details": {"who": "x"}}, {"details": {"what": 1}},
    {"details": {"what": ""}}, {"details": {"what": None}},
    {"attachments": []}, {"attachments": {}}, {"attachments": [{}]},
    {"attachments": [{"name": "a", "type": "t"}]},
    {"attachments": [{"name": "a", "type": "t", "data": "AA", "extra": 1}]},
    {"attachments": [{"name": "", "type": "t", "data": "AA"}]},
    {"attachments": [{"name": 1, "type": "t", "data": "AA"}]},
    {"attachments": [{"name": "a", "type": None, "data": "AA"}]},
    {"attachments": [{"name": "a", "type": "t", "data": "AA=="}]},
    {"attachments": [{"name": "a", "type": "t", "data": "A+/B"}]},
    {"attachments": [{"name": "a", "type": "t", "data": "AB"}]},  # non-canonical base64url
    {"record": 5}, {"contact": None}, {"written_at": []}, {"identifiers": ["a", 1]}, {"canonical": "x"},
])
def test_body_types_are_checked_strictly(extra: dict[str, object]) -> None:
    with pytest.raises(InvalidInput):
        Body.from_bytes(_raw(**extra))


def test_unknown_fields_are_ignored_for_later_versions() -> None:
    assert Body.from_bytes(_raw(mood="calm")) == Body(**BASE)


def test_seal_entry_carries_structure_and_refuses_oversized_bodies(world: V2World) -> None:
    who = ident("x:someone")
    ev = world.evaluate(world.account("body/structure"), [who])
    common = dict(deployment=world.deployment, identifiers=[who], oprf_outputs=ev.outputs,
                  quorum_shares=ev.shares, record="r", contact="c")
    photo = Attachment("p.png", "image/png", b"\x89PNG" + bytes(1000))
    sealed = entry.seal_entry(**common, details={"where": "here"}, attachments=[photo])
    body = entry.open_body(sealed.body_key, sealed.entry_id, sealed.body)
    assert body.details == {"where": "here"} and body.attachments == (photo,)
    # about 3 MiB of files fit in a 4 MiB sealed body; more is refused before anything is sent
    fits = Attachment("big.jpg", "image/jpeg", bytes(3 * 1024 * 1024 - 4096))
    assert len(entry.seal_entry(**common, attachments=[fits]).body) <= MAX_BODY_BYTES
    too_big = Attachment("big.jpg", "image/jpeg", bytes(MAX_BODY_BYTES * 3 // 4))
    with pytest.raises(InvalidInput, match="at most"):
        entry.seal_entry(**common, attachments=[too_big])


def test_the_largest_v2_envelope_fits_the_envelope_limit() -> None:
    # eight identifiers, the widest range (2..32): abscissa, 31 shares, U and the wrapped key each
    from consilience.crypto import hpke
    from consilience.protocol.messages import MAX_ENVELOPE_BYTES, MAX_IDENTIFIERS

    header = 1 + 16 + 3 + 4 + 1
    section = 32 + 32 + 31 * entry.G1_BYTES + entry.G2_BYTES + entry.WRAPPED_BYTES
    assert header + MAX_IDENTIFIERS * section + hpke.CIPHERTEXT_OVERHEAD <= MAX_ENVELOPE_BYTES


def test_escrow_request_limit_is_above_the_largest_submission() -> None:
    from consilience.protocol.messages import MAX_COUNSELORS, MAX_ENVELOPE_BYTES
    from consilience.services.escrow.settings import MAX_REQUEST_BYTES

    b64 = lambda n: (n * 4 + 2) // 3  # noqa: E731
    largest = b64(MAX_BODY_BYTES) + MAX_COUNSELORS * (b64(MAX_ENVELOPE_BYTES) + 100) + 8 * 60 + 1000
    assert MAX_REQUEST_BYTES > largest


def _wallet() -> wallet_mod.Wallet:
    return wallet_mod.Wallet(server="http://s", admin_fingerprint="AAAAAAAAAAAAAAAAAAAAAA", account_id="a",
                             token="t", contact="c")


def test_wallet_keeps_details_and_attachments() -> None:
    w = _wallet()
    files = [Attachment("a.txt", "text/plain", b"hello")]
    r = w.add_record("", "2026-01-01T00:00:00+00:00", details={"what": "it"}, attachments=files)
    doc = json.loads(w.to_bytes())
    assert doc["records"][0]["details"] == {"what": "it"}
    assert doc["records"][0]["attachments"] == [{"name": "a.txt", "type": "text/plain", "data": "aGVsbG8"}]
    again = wallet_mod.Wallet.from_bytes(w.to_bytes())
    assert again.record(r.record_id).details == {"what": "it"}
    assert again.record(r.record_id).body_attachments() == tuple(files)
    with pytest.raises(InvalidInput):
        w.add_record("  ", "2026-01-01T00:00:00+00:00")
    with pytest.raises(InvalidInput):
        w.add_record("x", "2026-01-01T00:00:00+00:00", details={"who": "x"})


def test_wallet_without_structure_still_loads() -> None:
    # a record written before details and attachments existed has neither field
    doc = {"format": wallet_mod.FORMAT, "server": "http://s", "admin_fingerprint": "f", "account_id": "a",
           "token": "t", "contact": "c", "min_serial": 3,
           "records": [{"record_id": "ab12cd34", "text": "t", "written_at": "w", "escrow": None}]}
    w = wallet_mod.Wallet.from_bytes(json.dumps(doc).encode())
    r = w.record("ab12cd34")
    assert r.details is None and r.attachments == [] and r.body_attachments() == ()
    # a v1 wallet is refused by name, not misread
    with pytest.raises(InvalidInput, match="protocol v1"):
        wallet_mod.Wallet.from_bytes(json.dumps({**doc, "format": "consilience-wallet/v1"}).encode())
