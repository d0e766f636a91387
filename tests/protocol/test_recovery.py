"""protocol/recovery.py (PROTOCOL.md §14.1): handles, the backup document's checks, sealing, reset, unlock.

Also checks tests/vectors/recovery_interop.json against the Python SDK: every deterministic value is
recomputed, the sealed shares are opened with the key servers' test HPKE seeds, the wallet is opened.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from consilience.crypto import hpke, oprf, signing, threshold_oprf
from consilience.errors import DecryptionError, InvalidInput, VerificationError
from consilience.protocol import accounts, recovery
from consilience.protocol.encoding import b64u_decode, b64u_encode

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
KDF = recovery.KdfParams(memory_kib=1024, iterations=1, lanes=1)
DEPLOYMENT_ID = bytes(range(16))


def _vector() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((VECTORS / "recovery_interop.json").read_text(encoding="utf-8"))
    return doc


def test_vector_file_is_what_the_generator_writes() -> None:
    """Everything but the X-Wing-sealed shares is reproducible, so compare it all."""
    sys.path.insert(0, str(VECTORS))
    try:
        import make_recovery
    finally:
        sys.path.remove(str(VECTORS))
    fresh = make_recovery.build()
    stored = _vector()
    for doc in (fresh, stored):
        for s in doc["outputs"]["backup"]["servers"]:
            s.pop("sealed_share")
    assert fresh == stored


def test_vector_opens_with_the_python_sdk() -> None:
    v = _vector()
    inputs, out = v["inputs"], v["outputs"]
    deployment_id = b64u_decode(inputs["deployment_id"])
    backup = recovery.parse_json(out["backup"])
    handle = recovery.parse_handle(out["handle"])
    assert b64u_encode(handle) == out["handle_bytes"]
    partials = []
    for server, answer in zip(inputs["servers"], out["evaluations"], strict=True):
        entry = backup.keys.server(server["index"])
        share = recovery.open_share(b64u_decode(server["hpke_seed"]), deployment_id, handle, server["index"],
                                    entry.public_share, entry.sealed_share)
        assert b64u_encode(share) == server["share"]
        partials.append(threshold_oprf.PartialEvaluation(server["index"], [b64u_decode(answer["evaluated"])],
                                                         b64u_decode(answer["proof"])))
    hardened = recovery.harden(inputs["passphrase"], deployment_id, handle, backup.keys.kdf)
    rwd = recovery.rwd_from_partials(hardened, b64u_decode(inputs["blind"]), b64u_decode(out["blinded"]),
                                     partials[1:], backup.keys)  # a different pair from the file's: same rwd
    assert b64u_encode(rwd) == out["rwd"]
    key = recovery.backup_key(rwd, deployment_id, handle)
    assert recovery.open_wallet(key, backup.wallet, deployment_id, handle, backup.version) == \
        b64u_decode(inputs["wallet"])
    code = recovery.parse_unlock_code(out["unlock_code"])
    recovery.verify_unlock_code(code, admin_public=b64u_decode(inputs["admin_key"]), deployment_id=deployment_id,
                                now=inputs["now"])


def test_handle_round_trip_and_forgiving_parsing() -> None:
    handle = recovery.handle_bytes(DEPLOYMENT_ID, bytes(32))
    text = recovery.format_handle(handle)
    assert len(text) == 19 and text.count("-") == 3
    assert recovery.parse_handle(text) == handle
    assert recovery.parse_handle(text.lower().replace("-", " ")) == handle
    assert recovery.parse_handle("oooo-iiii-llll-0000") == recovery.parse_handle("0000-1111-1111-0000")


@pytest.mark.parametrize("text", ["", "7KQ2-M9XD-4RTA-HW3", "7KQ2-M9XD-4RTA-HW3EE", "7KQ2-M9XD-4RTA-HW3U",
                                  "7KQ2_M9XD_4RTA_HW3E", None, 12])
def test_bad_handles_are_refused_with_the_plain_message(text: Any) -> None:
    with pytest.raises(InvalidInput) as caught:
        recovery.parse_handle(text)
    assert str(caught.value) == recovery.BAD_HANDLE


def _setup(n: int = 3, t: int = 2) -> tuple[bytes, list[bytes], recovery.Dealt]:
    handle = recovery.handle_bytes(DEPLOYMENT_ID, bytes([7]) * 32)
    seeds = [hpke.generate_private_key() for _ in range(n)]
    recipients = [recovery.Recipient(i + 1, signing.public_key(bytes([i + 1]) * 32), hpke.public_key_bytes(s))
                  for i, s in enumerate(seeds)]
    return handle, seeds, recovery.deal("a passphrase", DEPLOYMENT_ID, handle, t, recipients, KDF)


def _document(dealt: recovery.Dealt, handle: bytes) -> dict[str, Any]:
    ct = recovery.seal_wallet(dealt.backup_key, b"{}", DEPLOYMENT_ID, handle, 1)
    return recovery.Backup(dealt.keys, 1, ct).to_json()


def test_a_dealt_backup_recovers_with_t_key_servers() -> None:
    handle, seeds, dealt = _setup()
    backup = recovery.parse(recovery.Backup.to_bytes(recovery.parse_json(_document(dealt, handle))))
    hardened = recovery.harden("a passphrase", DEPLOYMENT_ID, handle, KDF)
    blind, blinded = oprf.blind(hardened, oprf.MODE_VOPRF)
    partials = []
    for index in (1, 3):
        s = backup.keys.server(index)
        share = recovery.open_share(seeds[index - 1], DEPLOYMENT_ID, handle, index, s.public_share, s.sealed_share)
        evaluated, proof = oprf.voprf_blind_evaluate(share, s.public_share, [blinded])
        partials.append(threshold_oprf.PartialEvaluation(index, evaluated, proof))
    rwd = recovery.rwd_from_partials(hardened, blind, blinded, partials, backup.keys)
    key = recovery.backup_key(rwd, DEPLOYMENT_ID, handle)
    assert key == dealt.backup_key
    assert recovery.open_wallet(key, backup.wallet, DEPLOYMENT_ID, handle, 1) == b"{}"
    with pytest.raises(DecryptionError):  # the version is bound: a replayed older document does not pass as newer
        recovery.open_wallet(key, backup.wallet, DEPLOYMENT_ID, handle, 2)


def test_a_share_sealed_for_another_handle_or_index_does_not_open() -> None:
    handle, seeds, dealt = _setup()
    s = dealt.keys.server(1)
    other = recovery.handle_bytes(DEPLOYMENT_ID, bytes([8]) * 32)
    with pytest.raises(VerificationError, match="does not open here"):
        recovery.open_share(seeds[0], DEPLOYMENT_ID, other, 1, s.public_share, s.sealed_share)
    with pytest.raises(VerificationError, match="does not open here"):
        recovery.open_share(seeds[1], DEPLOYMENT_ID, handle, 1, s.public_share, s.sealed_share)
    with pytest.raises(VerificationError):
        recovery.open_share(seeds[0], DEPLOYMENT_ID, handle, 1, dealt.keys.server(2).public_share, s.sealed_share)


def _tamper(doc: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(doc)
    target = changed
    for key in path[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return changed


_DELETE = object()


def test_every_field_tampered_is_refused() -> None:
    handle, _seeds, dealt = _setup()
    doc = _document(dealt, handle)
    other_element = b64u_encode(threshold_oprf.public_share(b"\x05" + bytes(31)))
    cases: list[tuple[tuple[Any, ...], Any]] = [
        (("format",), "consilience-backup/v2"), (("deployment_id",), "AAAA"), (("handle",), "7KQ2-M9XD-4RTA-HW3"),
        (("handle",), recovery.format_handle(handle).lower()), (("version",), 0), (("version",), "1"),
        (("version",), True), (("threshold",), 0), (("threshold",), 4), (("threshold",), 1),
        (("group_key",), other_element), (("group_key",), "x"), (("kdf", "memory_kib"), 1 << 30),
        (("kdf", "iterations"), 0), (("kdf", "extra"), 1), (("servers",), []),
        (("servers", 0, "index"), 2), (("servers", 0, "index"), 0), (("servers", 0, "identity_key"), "short"),
        (("servers", 1, "public_share"), other_element), (("servers", 0, "sealed_share"), "AAAA"),
        (("servers", 0, "extra"), 1), (("wallet",), "AA"), (("wallet",), _DELETE), (("extra",), 1),
        (("version",), _DELETE), (("servers", 0, "public_share"), _DELETE),
    ]
    recovery.parse_json(doc)
    for path, value in cases:
        with pytest.raises(InvalidInput):
            recovery.parse_json(_tamper(doc, path, value))
            pytest.fail(f"tampered {path} = {value!r} was accepted")
    servers = doc["servers"]
    with pytest.raises(InvalidInput, match="same key server"):
        recovery.parse_json({**doc, "servers": [servers[0], servers[0], servers[1]]})


def test_tampered_sealed_wallet_or_wrong_passphrase_does_not_open() -> None:
    handle, _seeds, dealt = _setup()
    backup = recovery.parse_json(_document(dealt, handle))
    flipped = bytearray(backup.wallet)
    flipped[-1] ^= 1
    with pytest.raises(DecryptionError):
        recovery.open_wallet(dealt.backup_key, bytes(flipped), DEPLOYMENT_ID, handle, 1)
    other = recovery.handle_bytes(DEPLOYMENT_ID, bytes([9]) * 32)
    with pytest.raises(DecryptionError):
        recovery.open_wallet(dealt.backup_key, backup.wallet, DEPLOYMENT_ID, other, 1)


def test_reset_requests_are_bound_to_the_key_server_time_and_account() -> None:
    admin = signing.generate()
    seed = bytes([3]) * 32
    cert = accounts.issue_certificate(admin, DEPLOYMENT_ID, accounts.account_key(seed), now=1000)
    audience = bytes([1]) * 32
    req = recovery.make_reset(seed, cert, DEPLOYMENT_ID, audience, now=1000)
    got = recovery.verify_reset(req, admin_public=signing.public_key(admin), deployment_id=DEPLOYMENT_ID,
                                audience=audience, now=1010)
    assert got.account_key == accounts.account_key(seed)
    with pytest.raises(VerificationError, match="another key server"):
        recovery.verify_reset(req, admin_public=signing.public_key(admin), deployment_id=DEPLOYMENT_ID,
                              audience=bytes([2]) * 32, now=1010)
    with pytest.raises(VerificationError, match="too old"):
        recovery.verify_reset(req, admin_public=signing.public_key(admin), deployment_id=DEPLOYMENT_ID,
                              audience=audience, now=1200)
    forged = recovery.ResetRequest(cert, audience, 1000, bytes(16), req.signature)
    with pytest.raises(VerificationError, match="not signed"):
        recovery.verify_reset(forged, admin_public=signing.public_key(admin), deployment_id=DEPLOYMENT_ID,
                              audience=audience, now=1010)


def test_unlock_codes_are_the_administrators_and_expire() -> None:
    admin = signing.generate()
    handle = bytes(range(10))
    code = recovery.parse_unlock_code(recovery.make_unlock_code(admin, DEPLOYMENT_ID, handle, now=5000))
    assert code.handle == handle
    recovery.verify_unlock_code(code, admin_public=signing.public_key(admin), deployment_id=DEPLOYMENT_ID, now=5001)
    with pytest.raises(VerificationError, match="7 days"):
        recovery.verify_unlock_code(code, admin_public=signing.public_key(admin), deployment_id=DEPLOYMENT_ID,
                                    now=5000 + recovery.UNLOCK_VALID_SECONDS + 1)
    with pytest.raises(VerificationError, match="administrator"):
        recovery.verify_unlock_code(code, admin_public=signing.public_key(signing.generate()),
                                    deployment_id=DEPLOYMENT_ID, now=5001)
    for bad in ("", "cnslu1.", "cnslu2.AAAA", "cnslu1.!!!"):
        with pytest.raises(InvalidInput, match="unlock code"):
            recovery.parse_unlock_code(bad)
