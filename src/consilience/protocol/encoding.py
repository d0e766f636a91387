"""Byte-level encodings used by the v1 wire format and by every hash input.

Every value that crosses a trust boundary is either a fixed-size field or is
length-prefixed, so no two different tuples can encode to the same bytes.
JSON messages carry bytes as unpadded base64url.
"""

from __future__ import annotations

import base64
import binascii
import os

from consilience.errors import InvalidInput
from consilience.i18n import _


def i2osp(value: int, length: int) -> bytes:
    """RFC 8017 I2OSP: big-endian, fixed width; refuses values that do not fit."""
    if value < 0 or value >= 256**length:
        raise InvalidInput(_("{value} does not fit in {length} bytes", value=value, length=length))
    return value.to_bytes(length, "big")


def lp2(data: bytes) -> bytes:
    """Prefix with a 2-byte big-endian length, as RFC 9497 does for its inputs."""
    return i2osp(len(data), 2) + data


def b64u_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64u_decode(text: str, *, length: int | None = None, field: str = "value") -> bytes:
    """Strict unpadded base64url; optional exact length check with a named field."""
    if not isinstance(text, str) or any(c in text for c in "=+/ \n\r\t"):
        raise InvalidInput(_("{field}: not unpadded base64url", field=field))
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise InvalidInput(_("{field}: not unpadded base64url", field=field)) from exc
    if b64u_encode(data) != text:
        raise InvalidInput(_("{field}: non-canonical base64url", field=field))
    if length is not None and len(data) != length:
        raise InvalidInput(_("{field}: expected {length} bytes, got {len_data}",
                             field=field, length=length, len_data=len(data)))
    return data


def random_id(length: int = 16) -> bytes:
    """Random id bytes whose base64url never begins with "-", so a command line never reads one as an option.

    One draw in 64 is drawn again (first six bits 62); ids stay uniform over the rest.
    """
    while True:
        value = os.urandom(length)
        if value[0] >> 2 != 62:
            return value
