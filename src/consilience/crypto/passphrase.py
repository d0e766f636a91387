"""Private material at rest, encrypted under a passphrase (Argon2id + ChaCha20-Poly1305).

Counselor seeds, server key shares and similar secrets live in files that an
attacker may copy. Argon2id (RFC 9106) makes every passphrase guess cost
memory and time; the default parameters are RFC 9106's second recommended
option (64 MiB, t=3, p=4).

The file is a small self-describing JSON document, so parameters can be
raised later without breaking old files::

    {"format": "consilience-sealed/v1",
     "kdf": {"name": "argon2id", "memory_cost_kib": 65536, "iterations": 3,
             "lanes": 4, "salt": "<base64, 16 bytes>"},
     "aead": "chacha20-poly1305",
     "nonce": "<base64, 12 bytes>",
     "ciphertext": "<base64, ciphertext || tag>"}

The ``purpose`` (e.g. ``"counselor-key"``) is not stored; it is bound as AEAD
associated data, ``I2OSP(len(format), 2) || format || I2OSP(len(purpose), 2)
|| purpose``, so a file sealed for one purpose cannot be loaded as another.
The kdf parameters and salt are not in the associated data because they
already determine the key: changing them makes decryption fail.

Because the parameters come from the file, they are bounds-checked before
Argon2 runs; otherwise a crafted file could ask for terabytes of memory.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
import unicodedata
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from consilience import files
from consilience.crypto import aead
from consilience.errors import DecryptionError, InvalidInput
from consilience.i18n import N_, _

FORMAT = "consilience-sealed/v1"
KDF_NAME = "argon2id"
AEAD_NAME = "chacha20-poly1305"
SALT_BYTES = 16

DEFAULT_MEMORY_COST_KIB = 65536
DEFAULT_ITERATIONS = 3
DEFAULT_LANES = 4

# Accepted parameter ranges, for sealing and for files read back. The floor
# keeps accidental toy settings out of real files (tests use the floor); the
# ceilings bound what a crafted file can make us spend: 1 GiB and a few
# seconds at most.
MIN_MEMORY_COST_KIB = 1024
MAX_MEMORY_COST_KIB = 1024 * 1024
MIN_ITERATIONS = 1
MAX_ITERATIONS = 16
MIN_LANES = 1
MAX_LANES = 16
#: Largest secret we seal; private material is small, and this bounds reads.
MAX_DATA_BYTES = 16 * 1024 * 1024
#: Largest file we parse (base64 of MAX_DATA_BYTES plus the JSON around it).
MAX_BLOB_BYTES = 4 * (MAX_DATA_BYTES // 3 + 1) + 4096

_WRONG = N_("wrong passphrase or damaged file")


def _passphrase_bytes(passphrase: str) -> bytes:
    """NFC-normalised UTF-8, so the same typed passphrase works on every OS/keyboard."""
    if not isinstance(passphrase, str) or not passphrase:
        raise InvalidInput(_("passphrase must be a non-empty string"))
    return unicodedata.normalize("NFC", passphrase).encode("utf-8")


def _aad(purpose: str) -> bytes:
    if not isinstance(purpose, str) or not purpose:
        raise InvalidInput(_("purpose must be a non-empty string"))
    fmt = FORMAT.encode("ascii")
    purpose_bytes = purpose.encode("utf-8")
    if len(purpose_bytes) > 0xFFFF:
        raise InvalidInput(_("purpose too long"))
    return len(fmt).to_bytes(2, "big") + fmt + len(purpose_bytes).to_bytes(2, "big") + purpose_bytes


def _check_params(memory_cost_kib: Any, iterations: Any, lanes: Any) -> tuple[int, int, int]:
    """The three Argon2id costs, each an int within bounds; they come from untrusted JSON when opening."""
    # Argon2 itself needs at least 8 KiB per lane: MIN_MEMORY_COST_KIB >= 8 * MAX_LANES.
    return (_check_param("memory_cost_kib", memory_cost_kib, MIN_MEMORY_COST_KIB, MAX_MEMORY_COST_KIB),
            _check_param("iterations", iterations, MIN_ITERATIONS, MAX_ITERATIONS),
            _check_param("lanes", lanes, MIN_LANES, MAX_LANES))


def _check_param(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(_("argon2id {name} must be an integer in [{low}, {high}]", name=name, low=low, high=high))
    return value


def _derive_key(passphrase: str, salt: bytes, memory_cost_kib: int, iterations: int, lanes: int) -> bytes:
    kdf = Argon2id(
        salt=salt,
        length=aead.KEY_BYTES,
        iterations=iterations,
        lanes=lanes,
        memory_cost=memory_cost_kib,
    )
    return kdf.derive(_passphrase_bytes(passphrase))


def argon2id(passphrase: str, salt: bytes, memory_cost_kib: int, iterations: int, lanes: int) -> bytes:
    """The raw 32-byte Argon2id of the NFC passphrase, within this module's cost limits.

    For callers that feed the hardened passphrase into something other than this module's AEAD
    (the recovery OPRF input, PROTOCOL.md §14.1); the same normalisation and limits keep one typed
    passphrase giving one value everywhere, and untrusted costs bounded.
    """
    if not isinstance(salt, (bytes, bytearray)) or len(salt) < 8:
        raise InvalidInput(_("an Argon2id salt is at least 8 bytes"))
    memory_cost_kib, iterations, lanes = _check_params(memory_cost_kib, iterations, lanes)
    return _derive_key(passphrase, bytes(salt), memory_cost_kib, iterations, lanes)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(value: Any, field: str) -> bytes:
    if not isinstance(value, str):
        raise InvalidInput(_("sealed file: {field} is not a base64 string", field=field))
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidInput(_("sealed file: {field} is not valid base64", field=field)) from exc


def seal(
    data: bytes,
    passphrase: str,
    purpose: str,
    *,
    memory_cost_kib: int = DEFAULT_MEMORY_COST_KIB,
    iterations: int = DEFAULT_ITERATIONS,
    lanes: int = DEFAULT_LANES,
) -> bytes:
    """Encrypt ``data`` under ``passphrase``; returns the JSON document as UTF-8 bytes."""
    _check_params(memory_cost_kib, iterations, lanes)
    if not isinstance(data, (bytes, bytearray)) or len(data) > MAX_DATA_BYTES:
        raise InvalidInput(_("data must be bytes of at most {MAX_DATA_BYTES} bytes", MAX_DATA_BYTES=MAX_DATA_BYTES))
    aad = _aad(purpose)
    salt = secrets.token_bytes(SALT_BYTES)
    key = _derive_key(passphrase, salt, memory_cost_kib, iterations, lanes)
    sealed = aead.seal(key, bytes(data), aad)
    document = {
        "format": FORMAT,
        "kdf": {
            "name": KDF_NAME,
            "memory_cost_kib": memory_cost_kib,
            "iterations": iterations,
            "lanes": lanes,
            "salt": _b64(salt),
        },
        "aead": AEAD_NAME,
        "nonce": _b64(sealed[: aead.NONCE_BYTES]),
        "ciphertext": _b64(sealed[aead.NONCE_BYTES :]),
    }
    return (json.dumps(document, indent=2) + "\n").encode("utf-8")


def open(blob: bytes, passphrase: str, purpose: str) -> bytes:  # noqa: A001
    """Decrypt a document made by ``seal``.

    InvalidInput if the document is malformed or its parameters are out of
    bounds (checked before any expensive work); DecryptionError("wrong
    passphrase or damaged file") if it does not authenticate, which includes
    a wrong ``purpose``.
    """
    aad = _aad(purpose)
    if not isinstance(blob, (bytes, bytearray)) or len(blob) > MAX_BLOB_BYTES:
        raise InvalidInput(_("sealed file: not bytes or too large"))
    try:
        document = json.loads(bytes(blob).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput(_("sealed file: not a JSON document")) from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise InvalidInput(_("sealed file: format is not {FORMAT}", FORMAT=FORMAT))
    kdf = document.get("kdf")
    if not isinstance(kdf, dict) or kdf.get("name") != KDF_NAME:
        raise InvalidInput(_("sealed file: kdf is not {KDF_NAME}", KDF_NAME=KDF_NAME))
    if document.get("aead") != AEAD_NAME:
        raise InvalidInput(_("sealed file: aead is not {AEAD_NAME}", AEAD_NAME=AEAD_NAME))
    memory_cost_kib, iterations, lanes = _check_params(kdf.get("memory_cost_kib"), kdf.get("iterations"),
                                                       kdf.get("lanes"))
    salt = _unb64(kdf.get("salt"), "salt")
    nonce = _unb64(document.get("nonce"), "nonce")
    ciphertext = _unb64(document.get("ciphertext"), "ciphertext")
    if len(salt) != SALT_BYTES:
        raise InvalidInput(_("sealed file: salt must be {SALT_BYTES} bytes", SALT_BYTES=SALT_BYTES))
    if len(nonce) != aead.NONCE_BYTES:
        raise InvalidInput(_("sealed file: nonce must be {NONCE_BYTES} bytes", NONCE_BYTES=aead.NONCE_BYTES))
    if len(ciphertext) < aead.TAG_BYTES:
        raise InvalidInput(_("sealed file: ciphertext too short"))
    key = _derive_key(passphrase, salt, memory_cost_kib, iterations, lanes)
    try:
        return aead.open(key, nonce + ciphertext, aad)
    except DecryptionError as exc:
        raise DecryptionError(_(_WRONG)) from exc


def write_sealed_file(
    path: str | os.PathLike[str],
    data: bytes,
    passphrase: str,
    purpose: str,
    *,
    memory_cost_kib: int = DEFAULT_MEMORY_COST_KIB,
    iterations: int = DEFAULT_ITERATIONS,
    lanes: int = DEFAULT_LANES,
) -> None:
    """Seal ``data`` and write it to ``path`` atomically, readable by the owner only.

    See ``consilience.files.write_private``: a crash leaves either the old
    file or the new one, never a torn or world-readable one. An existing
    file at ``path`` is replaced.
    """
    blob = seal(data, passphrase, purpose, memory_cost_kib=memory_cost_kib, iterations=iterations, lanes=lanes)
    files.write_private(path, blob)


def read_sealed_file(path: str | os.PathLike[str], passphrase: str, purpose: str) -> bytes:
    """Read and open a file written by ``write_sealed_file``."""
    with Path(path).open("rb") as handle:
        blob = handle.read(MAX_BLOB_BYTES + 1)
    if len(blob) > MAX_BLOB_BYTES:
        raise InvalidInput(_("sealed file: too large"))
    return open(blob, passphrase, purpose)
