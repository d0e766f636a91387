"""A witness cosigns only checkpoints that extend the last one it cosigned."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from consilience.errors import VerificationError
from consilience.tlog import merkle
from consilience.tlog.checkpoint import Checkpoint
from consilience.tlog.witness import Seen, check_extends

ORIGIN = "example.org/log"


def _tree(n: int, tag: bytes = b"leaf") -> merkle.MemoryTree:
    tree = merkle.MemoryTree()
    for i in range(n):
        tree.append(tag + i.to_bytes(4, "big"))
    return tree


def _head(tree: merkle.MemoryTree) -> Checkpoint:
    return Checkpoint(ORIGIN, len(tree), tree.root())


def _proofs(tree: merkle.MemoryTree, asked: list[tuple[int, int]]) -> Callable[[int, int], list[bytes]]:
    """The tree's consistency proofs, noting each request in ASKED."""
    def consistency(old: int, new: int) -> list[bytes]:
        asked.append((old, new))
        return merkle.consistency_proof(tree, old, new)
    return consistency


def test_first_checkpoint_is_taken_on_trust_without_a_proof() -> None:
    asked: list[tuple[int, int]] = []
    tree = _tree(5)
    check_extends(None, _head(tree), _proofs(tree, asked))
    assert asked == []


def test_a_grown_log_is_cosigned_after_its_consistency_proof_verifies() -> None:
    asked: list[tuple[int, int]] = []
    tree = _tree(3)
    seen = Seen(3, tree.root())
    for i in range(3, 12):
        tree.append(b"leaf" + i.to_bytes(4, "big"))
    check_extends(seen, _head(tree), _proofs(tree, asked))
    assert asked == [(3, 12)]


def test_an_unchanged_log_needs_no_proof_but_must_have_the_same_root() -> None:
    asked: list[tuple[int, int]] = []
    tree = _tree(4)
    check_extends(Seen(4, tree.root()), _head(tree), _proofs(tree, asked))
    assert asked == []
    with pytest.raises(VerificationError):
        check_extends(Seen(4, _tree(4, b"other").root()), _head(tree), _proofs(tree, asked))
    assert asked == []


def test_a_shrunken_log_is_refused_before_anything_is_fetched() -> None:
    asked: list[tuple[int, int]] = []
    big, small = _tree(8), _tree(5)
    with pytest.raises(VerificationError, match="shrank from 8 to 5"):
        check_extends(Seen(8, big.root()), _head(small), _proofs(small, asked))
    assert asked == []


def test_a_fork_is_refused() -> None:
    """Same size history, different leaves: no consistency proof from the old root exists."""
    asked: list[tuple[int, int]] = []
    seen = Seen(5, _tree(5).root())
    fork = _tree(9, b"fork")
    with pytest.raises(VerificationError):
        check_extends(seen, _head(fork), _proofs(fork, asked))
    assert asked == [(5, 9)]
