"""The one key-derivation function of the protocol: labelled HKDF-SHA512.

Every symmetric key Consilience uses is derived here, each with its own
label, so keys for different purposes are independent even when they come
from the same input keying material, and a key can never be confused with
one for another purpose. Labels are fixed ASCII strings chosen in code;
``context`` carries the variable part (record id, epoch, ...).

    derive(ikm, label, context, L) = HKDF-SHA512(
        salt = "consilience-v1",
        ikm  = ikm,
        info = I2OSP(len(label), 2) || label || context,
        L    = L)

The label is length-prefixed, so (label, context) pairs cannot collide;
a context made of several fields must be encoded unambiguously by the
caller (fixed sizes or length prefixes). HKDF is RFC 5869; the salt fixes
the protocol version, so a future v2 derives unrelated keys.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from consilience.errors import InvalidInput
from consilience.i18n import _

SALT = b"consilience-v1"
#: RFC 5869 limit: 255 blocks of the hash output (64 bytes for SHA-512).
MAX_LENGTH = 255 * 64


def derive(ikm: bytes, label: str, context: bytes, length: int) -> bytes:
    """Derive ``length`` bytes for the purpose named by ``label``.

    Refuses an empty ``ikm`` (always a bug: the output would be public) and
    non-ASCII or empty labels (labels are protocol constants, and ASCII rules
    out Unicode normalisation surprises).
    """
    if not isinstance(ikm, (bytes, bytearray)) or not ikm:
        raise InvalidInput(_("ikm must be non-empty bytes"))
    if not isinstance(label, str) or not label or not label.isascii():
        raise InvalidInput(_("label must be a non-empty ASCII string"))
    label_bytes = label.encode("ascii")
    if len(label_bytes) > 0xFFFF:
        raise InvalidInput(_("label too long"))
    if not isinstance(context, (bytes, bytearray)):
        raise InvalidInput(_("context must be bytes"))
    if isinstance(length, bool) or not isinstance(length, int) or not 1 <= length <= MAX_LENGTH:
        raise InvalidInput(_("length must be between 1 and {MAX_LENGTH}", MAX_LENGTH=MAX_LENGTH))
    info = len(label_bytes).to_bytes(2, "big") + label_bytes + bytes(context)
    return HKDF(algorithm=hashes.SHA512(), length=length, salt=SALT, info=info).derive(bytes(ikm))
