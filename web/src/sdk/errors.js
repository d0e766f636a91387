// Exception types shared by every SDK module, mirroring src/consilience/errors.py.
// Library errors are translated into these so callers (and the UI) can tell
// "bad input" from "did not verify" from "could not decrypt" without knowing
// which primitive failed.

export class ConsilienceError extends Error {
  constructor(message) {
    super(message);
    this.name = new.target.name;
  }
}

/** Input that is malformed or outside the protocol's bounds. */
export class InvalidInput extends ConsilienceError {}

/** A proof, signature, MAC or consistency check did not hold. */
export class VerificationError extends ConsilienceError {}

/** A ciphertext could not be opened: wrong key or tampered data. */
export class DecryptionError extends VerificationError {}
