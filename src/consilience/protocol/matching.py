"""From an OPRF output to a matching tag (PROTOCOL.md §5).

The tag is the only thing the escrow server counts by: a deterministic
function of the RFC 9497 VOPRF output, so two reporters who name the same
person derive the same tag without ever talking to each other, and nobody
without the key servers' help can compute it for a guessed name.

Protocol v1 also derived the quorum shares and secrets from the OPRF output
here; anyone who could evaluate the OPRF on a guess then held the quorum
secret. Protocol v2's shares come from the key servers (protocol/quorum.py).
"""

from __future__ import annotations

from consilience.crypto import kdf

TAG_BYTES = 32


def match_tag(oprf_output: bytes) -> bytes:
    """The value the escrow server counts by; pseudorandom without the OPRF key."""
    return kdf.derive(oprf_output, "match tag", b"", TAG_BYTES)
