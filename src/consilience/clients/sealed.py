"""Opening the device's passphrase-sealed files (wallet, counselor key, witness key) with a message that helps.

``crypto.passphrase`` says only "wrong passphrase or damaged file": it cannot know which file or
what the person can do. This names the file and says what to try.
"""

from __future__ import annotations

from pathlib import Path

from consilience.crypto import passphrase
from consilience.errors import DecryptionError, InvalidInput
from consilience.i18n import _


def read(path: Path, secret: str, purpose: str) -> bytes:
    """The plaintext of the sealed file at ``path``; :class:`DecryptionError` naming the file otherwise."""
    try:
        return passphrase.read_sealed_file(Path(path), secret, purpose)
    except DecryptionError as exc:
        raise DecryptionError(
            _("{path} did not open: the passphrase is not the one it was locked with, or the file is damaged. "
              "Try the passphrase again; if the file was copied from somewhere else, copy it again.",
              path=path)) from exc
    except InvalidInput as exc:
        raise InvalidInput(_("{path} is not a sealed Consilience file ({exc}). Check the file name; if the file was "
                             "copied from somewhere else, copy it again.", path=path, exc=exc)) from exc
