"""Invite strings v2 (PROTOCOL.md §6): the account's 32-byte seed and the administrator's fingerprint."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consilience.errors import InvalidInput
from consilience.protocol import accounts, invites
from consilience.protocol.encoding import b64u_encode
from consilience.protocol.invites import Invite


@given(st.binary(min_size=32, max_size=32), st.binary(min_size=16, max_size=16))
def test_invite_round_trip(seed: bytes, fingerprint: bytes) -> None:
    invite = Invite(seed, fingerprint)
    text = str(invite)
    assert text == f"cnsl2.{b64u_encode(seed)}.{b64u_encode(fingerprint)}"
    assert invites.parse(text) == invite
    assert invites.parse(f"  {text}\n") == invite  # pasted with whitespace around it


def test_the_invite_is_the_account() -> None:
    seed = bytes(range(32))
    invite = invites.parse(str(Invite(seed, bytes(16))))
    assert accounts.account_key(invite.seed) == accounts.account_key(seed)
    # the seed is a password: never in a repr
    assert seed.hex() not in repr(invite) and "hidden" in repr(invite)


GOOD = str(Invite(bytes(range(32)), bytes(range(32, 48))))
V1 = f"cnsl1.{b64u_encode(bytes(16))}.{b64u_encode(bytes(16))}"


@pytest.mark.parametrize("text", [V1, "cnsl1.", "CNSL1." + V1[6:], "  cnsl1.anything\n",
                                  "cnsl1." + GOOD[6:]])
def test_a_v1_invite_is_refused_naming_v1(text: str) -> None:
    with pytest.raises(InvalidInput) as info:
        invites.parse(text)
    assert str(info.value) == invites.OLD_VERSION
    assert "protocol v1" in str(info.value) and "new invite" in str(info.value)


def test_a_counselor_credential_is_named() -> None:
    with pytest.raises(InvalidInput) as info:
        invites.parse("cnslc1.whatever")
    assert str(info.value) == invites.CREDENTIAL


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_no_invite_at_all(text: str) -> None:
    with pytest.raises(InvalidInput) as info:
        invites.parse(text)
    assert str(info.value) == invites.EMPTY


@pytest.mark.parametrize(
    "text",
    [
        "cnsl2",
        "cnsl2..",
        "cnsl3" + GOOD[5:],
        "CNSL2" + GOOD[5:],
        GOOD + ".extra",
        GOOD.replace(".", ":"),
        GOOD[:-1],  # fingerprint one character short
        GOOD[:6] + GOOD[7:],  # seed one character short
        f"cnsl2.{b64u_encode(bytes(16))}.{b64u_encode(bytes(16))}",  # a v1-sized code under the v2 prefix
        f"cnsl2.{b64u_encode(bytes(31))}.{b64u_encode(bytes(16))}",
        f"cnsl2.{b64u_encode(bytes(33))}.{b64u_encode(bytes(16))}",
        f"cnsl2.{b64u_encode(bytes(32))}.{b64u_encode(bytes(15))}",
        f"cnsl2.{b64u_encode(bytes(32))}.{b64u_encode(bytes(17))}",
        f"cnsl2.{b64u_encode(bytes(32))}=.{b64u_encode(bytes(16))}",  # padding
        GOOD.replace(GOOD[6], "+", 1),
        GOOD.replace(GOOD[6], "/", 1),
        f"cnsl2.{'A' * 42}B.{'A' * 22}",  # non-canonical trailing bits
        f"cnsl2.Ä{'A' * 42}.{'A' * 22}",
        f"cnsl2.AAAA {'A' * 39}.{'A' * 22}",
    ],
)
def test_invite_garbage_is_refused_as_mistyped(text: str) -> None:
    with pytest.raises(InvalidInput) as info:
        invites.parse(text)
    assert str(info.value) == invites.MISTYPED


def test_parse_refuses_non_text() -> None:
    with pytest.raises(InvalidInput):
        invites.parse(GOOD.encode())  # type: ignore[arg-type]


@st.composite
def mutated_good(draw: st.DrawFn) -> str:
    pos = draw(st.integers(0, len(GOOD) - 1))
    return GOOD[:pos] + draw(st.text(max_size=2)) + GOOD[pos + 1:]


@settings(max_examples=200)
@given(st.one_of(st.text(max_size=80), st.text(alphabet="cnsl12.AZaz09-_=+/ ", max_size=80), mutated_good()))
def test_invite_parse_only_accepts_what_str_produces(text: str) -> None:
    try:
        invite = invites.parse(text)
    except InvalidInput:
        return
    assert str(invite) == text.strip()
