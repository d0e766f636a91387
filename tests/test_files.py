"""consilience.files: atomic, owner-only writes, and refusing to overwrite keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from consilience.files import write_private


def test_write_private_is_owner_only_and_replaces(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "secret.key"
    write_private(path, b"one")
    write_private(path, b"two")
    assert path.read_bytes() == b"two"
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["secret.key"]  # no temporary left behind


def test_exclusive_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "server.key"
    write_private(path, b"first", exclusive=True)
    with pytest.raises(FileExistsError):
        write_private(path, b"second", exclusive=True)
    assert path.read_bytes() == b"first"
    assert [p.name for p in tmp_path.iterdir()] == ["server.key"]
