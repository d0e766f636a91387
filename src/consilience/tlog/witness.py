"""The decision a witness makes before it cosigns (C2SP tlog-cosignature).

A witness is worth something only if it never signs two views of one log. So it remembers
the last checkpoint it cosigned and cosigns a newer one only after the consistency proof
from that one verifies: a log that forks or rolls back can no longer collect its signature.
This module is that decision and nothing else; fetching checkpoints and proofs, keeping the
remembered state and handing the cosignature line (``checkpoint.cosignature_line``) back to
the log are the caller's, as in ``clients/witness.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from consilience.errors import VerificationError
from consilience.i18n import _
from consilience.tlog import merkle
from consilience.tlog.checkpoint import Checkpoint


@dataclass(frozen=True)
class Seen:
    """The last checkpoint a witness cosigned: all it has to remember."""

    size: int
    root: bytes


def check_extends(seen: Seen | None, head: Checkpoint,
                  consistency: Callable[[int, int], Sequence[bytes]]) -> None:
    """Raise ``VerificationError`` unless ``head`` extends ``seen``.

    ``consistency(old, new)`` supplies the proof and is called only when the tree grew, so
    a shrunken log is refused before anything is fetched and an unchanged one costs nothing.
    With nothing seen yet there is nothing to contradict: the first checkpoint is taken on trust.
    """
    if seen is None:
        return
    if head.size < seen.size:
        raise VerificationError(_("the log shrank from {size} to {head_size}: refusing to cosign",
                                  size=seen.size, head_size=head.size))
    proof = consistency(seen.size, head.size) if head.size > seen.size else []
    merkle.verify_consistency(seen.size, head.size, proof, seen.root, head.root_hash)
