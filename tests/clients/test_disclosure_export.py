"""Which checkpoint an exported disclosure anchors to (PROTOCOL.md §14.3): the newest one a witness cosigned,
unless none is, or the cosigned one is older than the receipt; then the newest, said to be unwitnessed."""

from __future__ import annotations

from typing import Any, cast

from consilience.clients import disclosure
from consilience.clients.escrow_client import EscrowClient
from consilience.crypto import signing
from consilience.tlog import checkpoint as cp
from consilience.tlog import consistency, merkle, notes, receipt

LOG = bytes([0x10]) * 32
ORIGIN = "consilience.log/test"
WITNESS = bytes([0x77]) * 32


class FakeLog:
    """The escrow server's public log endpoints over an in-memory tree; ``cosigned`` is the size a witness signed."""

    def __init__(self, size: int, cosigned: int | None) -> None:
        self.tree = merkle.MemoryTree()
        for n in range(size):
            self.tree.append(bytes([n]) * 32)
        self.cosigned = cosigned

    def note(self, size: int, *, cosign: bool = False) -> str:
        text = cp.sign_checkpoint(cp.Checkpoint(ORIGIN, size, self.tree.root(size)), LOG)
        return cp.cosign(text, "w.example/w", WITNESS, 1_800_000_000) if cosign else text

    def checkpoint(self, size: int | None = None) -> str:
        return self.note(size or len(self.tree))

    def cosigned_checkpoint(self) -> str | None:
        return None if self.cosigned is None else self.note(self.cosigned, cosign=True)

    def consistency(self, old: int, new: int) -> list[bytes]:
        return merkle.consistency_proof(self.tree, old, new)

    def receipt(self, index: int, size: int) -> str:
        return receipt.issue_receipt(self.tree, index=index, leaf=bytes([index]) * 32, checkpoint=self.note(size))


def _anchor(log: FakeLog, at: int) -> tuple[int, bool, consistency.ConsistencyBundle]:
    text, witnessed = disclosure._bundle(cast(EscrowClient, cast(Any, log)), log.receipt(1, at))
    bundle = consistency.parse(text)
    assert bundle.old_size == at
    head = cp.parse_signed_checkpoint(bundle.checkpoint)[0]
    merkle.verify_consistency(at, head.size, list(bundle.proof), log.tree.root(at), head.root_hash)
    return head.size, witnessed, bundle


def test_the_newest_cosigned_checkpoint_is_the_anchor() -> None:
    size, witnessed, bundle = _anchor(FakeLog(9, cosigned=6), at=4)
    assert (size, witnessed) == (6, True)
    assert cp.open_checkpoint(bundle.checkpoint, notes.ed25519_vkey(ORIGIN, signing.public_key(LOG)),
                              witness_vkeys=[cp.cosignature_vkey("w.example/w", signing.public_key(WITNESS))]
                              ).cosignatures


def test_without_a_witness_the_newest_checkpoint_is_used_and_said_to_be_unwitnessed() -> None:
    assert _anchor(FakeLog(9, cosigned=None), at=4)[:2] == (9, False)


def test_a_cosigned_checkpoint_older_than_the_receipt_cannot_anchor_it() -> None:
    assert _anchor(FakeLog(9, cosigned=3), at=4)[:2] == (9, False)
