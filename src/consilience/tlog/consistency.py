"""A newer checkpoint bundled with the consistency proof from an older size.

A receipt proves a leaf is in the tree the log signed at size *m*. To show
years later that the log has not forked since, a verifier needs a newer
signed checkpoint *and* the consistency proof from *m* to it; this text file
carries both so the check can run offline (``consilience verify --against``).
The layout mirrors tlog-proof (PROTOCOL.md §11)::

    consilience-v1/consistency
    old <decimal size>
    <base64 hash>                  (zero or more, RFC 9162 consistency proof)
                                   (empty line)
    <signed checkpoint, verbatim>
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from consilience.errors import InvalidInput
from consilience.i18n import N_, _
from consilience.tlog import checkpoint as cp

HEADER = "consilience-v1/consistency"


@dataclass(frozen=True)
class ConsistencyBundle:
    old_size: int
    proof: tuple[bytes, ...]
    checkpoint: str

    def encode(self) -> str:
        lines = [HEADER, f"old {self.old_size}", *(base64.b64encode(h).decode() for h in self.proof)]
        return "\n".join(lines) + "\n\n" + self.checkpoint


def parse(text: str) -> ConsistencyBundle:
    if not text.startswith(HEADER + "\n"):
        raise InvalidInput(_("not a consistency bundle (it should start with {HEADER})", HEADER=repr(HEADER)))
    head, sep, note = text.partition("\n\n")
    if not sep or not note:
        raise InvalidInput(_("consistency bundle lacks its checkpoint"))
    lines = head.split("\n")[1:]
    if not lines or not lines[0].startswith("old "):
        raise InvalidInput(_("consistency bundle lacks its 'old' line"))
    old = cp.parse_decimal(lines[0][4:], N_("old size"))
    proof = []
    for line in lines[1:]:
        try:
            value = base64.b64decode(line, validate=True)
        except ValueError as exc:  # binascii.Error, or text that is not ASCII
            raise InvalidInput(_("consistency bundle: a proof line is not base64")) from exc
        if len(value) != 32 or base64.b64encode(value).decode() != line:
            raise InvalidInput(_("consistency bundle: a proof line is not a 32-byte hash"))
        proof.append(value)
    cp.parse_signed_checkpoint(note)
    return ConsistencyBundle(old, tuple(proof), note)
