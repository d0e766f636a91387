"""Writing files that hold secrets or must survive a crash intact.

One implementation for every private file the project writes (wallets,
counselor and admin keys, key shares, server keys): a 0600 temporary file in
the same directory, fsynced, renamed over the target, then the directory
fsynced. A crash leaves the old file or the new one, never a torn or
world-readable one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from consilience.i18n import _


def write_private(path: str | os.PathLike[str], data: bytes, *, exclusive: bool = False) -> None:
    """Atomically write ``data`` to ``path``, readable by the owner only.

    With ``exclusive`` an existing file is never replaced (FileExistsError),
    for keys that must not be overwritten by accident.
    """
    target = Path(path)
    directory = target.parent
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    if exclusive and target.exists():
        raise FileExistsError(_("{target} exists; refusing to overwrite it", target=target))
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if exclusive:
            os.link(tmp_name, target)  # fails if the target appeared meanwhile
            os.unlink(tmp_name)
        else:
            os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    _fsync_directory(directory)


def _fsync_directory(directory: Path) -> None:
    """Make the rename durable; best effort where directories cannot be opened."""
    try:
        dir_fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)
