"""A key server's count of recovery tries per account handle (PROTOCOL.md §14.1), in ``recovery.sqlite3``.

Why a file, synchronous
    The count is what stops someone from guessing a passphrase online; a count kept in memory would
    start again at 0 on every restart, so an attacker who can make a key server restart (or waits for
    one) gets ten more guesses each time. Every try is written with ``synchronous=FULL`` *before* the
    key server answers it, so an answer given was always counted. The unlock codes the key server
    accepted are kept too, so each works once. Stdlib sqlite3: the key server has no other database.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path


class RecoveryAttempts:
    """Tries per handle since its last reset, and the unlock codes used; safe across threads."""

    def __init__(self, path: Path | str) -> None:
        self._path = Path(path)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("CREATE TABLE IF NOT EXISTS attempts (handle BLOB PRIMARY KEY, tries INTEGER NOT NULL)")
        self._db.execute("CREATE TABLE IF NOT EXISTS unlock_codes (nonce BLOB PRIMARY KEY, used_at INTEGER NOT NULL)")

    def tries(self, handle: bytes) -> int:
        with self._lock:
            row = self._db.execute("SELECT tries FROM attempts WHERE handle = ?", (handle,)).fetchone()
        return int(row[0]) if row else 0

    def count(self, handle: bytes, limit: int) -> int | None:
        """Count one try durably and return how many were counted; None (nothing counted) at the limit.

        The check and the increment are one statement under the lock, so two parallel tries cannot
        both take the last one.
        """
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute("SELECT tries FROM attempts WHERE handle = ?", (handle,)).fetchone()
                tries = int(row[0]) if row else 0
                if tries >= limit:
                    self._db.execute("ROLLBACK")
                    return None
                self._db.execute("INSERT INTO attempts (handle, tries) VALUES (?, 1) "
                                 "ON CONFLICT (handle) DO UPDATE SET tries = tries + 1", (handle,))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return tries + 1

    def reset(self, handle: bytes) -> None:
        with self._lock:
            self._db.execute("DELETE FROM attempts WHERE handle = ?", (handle,))

    def use_unlock_code(self, nonce: bytes, now: int) -> bool:
        """Whether this code's nonce was unused (and is now used): an unlock code works once."""
        with self._lock:
            try:
                self._db.execute("INSERT INTO unlock_codes (nonce, used_at) VALUES (?, ?)", (nonce, now))
            except sqlite3.IntegrityError:
                return False
        return True

    def close(self) -> None:
        with self._lock:
            self._db.close()


__all__ = ["RecoveryAttempts"]
