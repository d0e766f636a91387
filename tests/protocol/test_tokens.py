"""Key-server access tokens (PROTOCOL.md §5) and invite strings (§6)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consilience.crypto import signing
from consilience.errors import InvalidInput, VerificationError
from consilience.protocol import invites, tokens
from consilience.protocol.encoding import b64u_encode
from consilience.protocol.invites import Invite

ISSUER = signing.generate()
ISSUER_PUB = signing.public_key(ISSUER)
NOW = 1_800_000_000
accounts = st.binary(min_size=16, max_size=16)


@given(accounts, st.integers(0, 2**40), st.integers(1, 10**6))
def test_issue_verify_round_trip(account_id: bytes, now: int, lifetime: int) -> None:
    token = tokens.issue(ISSUER, account_id, now=now, lifetime=lifetime)
    assert len(token) == tokens.TOKEN_BYTES == 88
    checked = tokens.verify(ISSUER_PUB, token, now=now)
    assert checked == tokens.AccessToken(account_id=account_id, expires_at=now + lifetime)
    # still valid just before it expires
    assert tokens.verify(ISSUER_PUB, token, now=now + lifetime - 1).account_id == account_id


def test_token_layout_matches_the_spec() -> None:
    account_id = bytes(range(16))
    token = tokens.issue(ISSUER, account_id, now=NOW, lifetime=600)
    expires = (NOW + 600).to_bytes(8, "big")
    assert token[:16] == account_id and token[16:24] == expires
    signing.verify(ISSUER_PUB, b"consilience-v1 keyserver token" + account_id + expires, token[24:])


def test_default_lifetime_and_clock() -> None:
    token = tokens.issue(ISSUER, bytes(16))
    checked = tokens.verify(ISSUER_PUB, token)
    import time

    assert abs(checked.expires_at - (time.time() + tokens.DEFAULT_LIFETIME_SECONDS)) < 5


@pytest.mark.parametrize("after", [1, 2, 3600, 10**9])
def test_expired_token_is_refused(after: int) -> None:
    token = tokens.issue(ISSUER, bytes(16), now=NOW, lifetime=600)
    with pytest.raises(VerificationError):
        tokens.verify(ISSUER_PUB, token, now=NOW + 600 + after)


@settings(max_examples=50)
@given(st.integers(0, tokens.TOKEN_BYTES - 1), st.integers(1, 255))
def test_any_changed_byte_is_refused(position: int, mask: int) -> None:
    # covers the account id (0..15), the expiry (16..23) and the signature (24..87)
    token = bytearray(tokens.issue(ISSUER, bytes(range(16)), now=NOW))
    token[position] ^= mask
    with pytest.raises(VerificationError):
        tokens.verify(ISSUER_PUB, bytes(token), now=NOW)


def test_extended_expiry_is_refused() -> None:
    token = tokens.issue(ISSUER, bytes(16), now=NOW, lifetime=60)
    forged = token[:16] + (NOW + 10**6).to_bytes(8, "big") + token[24:]
    with pytest.raises(VerificationError):
        tokens.verify(ISSUER_PUB, forged, now=NOW + 120)


def test_another_issuer_is_refused() -> None:
    other = signing.generate()
    token = tokens.issue(other, bytes(16), now=NOW)
    with pytest.raises(VerificationError):
        tokens.verify(ISSUER_PUB, token, now=NOW)
    assert tokens.verify(signing.public_key(other), token, now=NOW).account_id == bytes(16)


def test_signature_from_another_context_is_refused() -> None:
    # an Ed25519 signature by the same key over the same bytes without the label
    signed = bytes(16) + (NOW + 600).to_bytes(8, "big")
    token = signed + signing.sign(ISSUER, signed)
    with pytest.raises(VerificationError):
        tokens.verify(ISSUER_PUB, token, now=NOW)


@pytest.mark.parametrize("length", [0, 1, 24, 87, 89, 176])
def test_wrong_length_is_refused(length: int) -> None:
    token = tokens.issue(ISSUER, bytes(16), now=NOW)
    candidate = (token * 2)[:length]
    with pytest.raises(VerificationError):
        tokens.verify(ISSUER_PUB, candidate, now=NOW)


@pytest.mark.parametrize("account_id", [b"", bytes(15), bytes(17), bytes(32)])
def test_issue_needs_a_16_byte_account(account_id: bytes) -> None:
    with pytest.raises(InvalidInput):
        tokens.issue(ISSUER, account_id, now=NOW)


def test_malformed_issuer_key_is_refused() -> None:
    token = tokens.issue(ISSUER, bytes(16), now=NOW)
    for key in [b"", ISSUER_PUB[:31], ISSUER_PUB + b"\0"]:
        with pytest.raises(VerificationError):
            tokens.verify(key, token, now=NOW)


# --- invites ----------------------------------------------------------------


@given(st.binary(min_size=16, max_size=16), st.binary(min_size=16, max_size=16))
def test_invite_round_trip(code: bytes, fingerprint: bytes) -> None:
    invite = Invite(code, fingerprint)
    text = str(invite)
    assert text == f"cnsl1.{b64u_encode(code)}.{b64u_encode(fingerprint)}"
    assert invites.parse(text) == invite
    assert invites.parse(f"  {text}\n") == invite  # pasted with whitespace around it


GOOD = str(Invite(bytes(range(16)), bytes(range(16, 32))))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "cnsl1",
        "cnsl1..",
        "cnsl2" + GOOD[5:],
        "CNSL1" + GOOD[5:],
        GOOD + ".extra",
        GOOD.replace(".", ":"),
        GOOD[:-1],  # fingerprint one character short
        GOOD[:6] + GOOD[7:],  # code one character short
        f"cnsl1.{b64u_encode(bytes(15))}.{b64u_encode(bytes(16))}",
        f"cnsl1.{b64u_encode(bytes(16))}.{b64u_encode(bytes(17))}",
        f"cnsl1.{b64u_encode(bytes(16))}==.{b64u_encode(bytes(16))}",  # padding
        GOOD.replace(GOOD[6], "+", 1),
        GOOD.replace(GOOD[6], "/", 1),
        "cnsl1.AAAAAAAAAAAAAAAAAAAAAB.AAAAAAAAAAAAAAAAAAAAAA",  # non-canonical trailing bits
        "cnsl1.ÄAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA",
        "cnsl1.AAAA AAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA",
    ],
)
def test_invite_garbage_is_refused(text: str) -> None:
    with pytest.raises(InvalidInput):
        invites.parse(text)


@st.composite
def mutated_good(draw: st.DrawFn) -> str:
    pos = draw(st.integers(0, len(GOOD) - 1))
    return GOOD[:pos] + draw(st.text(max_size=2)) + GOOD[pos + 1:]


@settings(max_examples=200)
@given(st.one_of(st.text(max_size=80), st.text(alphabet="cnsl1.AZaz09-_=+/ ", max_size=80), mutated_good()))
def test_invite_parse_only_accepts_what_str_produces(text: str) -> None:
    try:
        invite = invites.parse(text)
    except InvalidInput:
        return
    assert str(invite) == text.strip()
