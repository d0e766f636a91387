"""Exception types shared by every layer.

Each layer raises these rather than library-specific errors so that the
services can map them to clear 4xx answers and the CLI to readable messages
without knowing which primitive failed.
"""


class ConsilienceError(Exception):
    """Base class for every error this package raises on purpose."""


class InvalidInput(ConsilienceError, ValueError):
    """Input that is malformed or outside the protocol's bounds."""


class VerificationError(ConsilienceError):
    """A proof, signature, MAC or consistency check did not hold."""


class DecryptionError(VerificationError):
    """A ciphertext could not be opened: wrong key or tampered data."""
