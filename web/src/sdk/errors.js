// Exception types shared by every SDK module, mirroring src/consilience/errors.py.
// Library errors are translated into these so callers (and the UI) can tell
// "bad input" from "did not verify" from "could not decrypt" without knowing
// which primitive failed.
//
// The SDK speaks English only (its `message` is the Python SDK's sentence, word for word: the
// interop tests compare them). An error a person can cause or meet (something typed, a service's
// answer) also carries a stable machine `code` and the `params` of its sentence, so a page says it in
// its reader's language from its own catalog (web/src/app/locales/<lang>/app.json, key
// `app.sdk.<code>`, whose English is the same sentence with {param} where the values go):
//
//   throw new InvalidInput(`${quote(typed)} is not a valid email address: ${why}`,
//     { code: 'identifier.email.invalid', params: { typed: quote(typed), why } });
//
// A param is text, a number, or a phrase(code, english, params): a piece of the sentence said in the
// reader's language too (app.sdk.<its code>), e.g. the `why` above; or a list of those, which the SDK
// joins with "; " and a page with its language's separator (app.sdk.separator). Interpolating a
// phrase gives its English, so the message is built from the same pieces. A code is dotted lower camelCase words; a
// misuse (a code that is not one, a param of another type) throws a TypeError where it is written.
// An error without a code is one the person cannot fix (a proof that did not check): pages say a
// plain sentence of their own for it and keep its English as a technical detail.

const CODE = /^[a-z][A-Za-z0-9]*(?:\.[a-z][A-Za-z0-9]*)*$/;

function checkCode(code) {
  if (typeof code !== 'string' || !CODE.test(code)) throw new TypeError(`not an error code: ${String(code)}`);
  return code;
}

const isValue = (v) => typeof v === 'string' || typeof v === 'number' || v instanceof Phrase;

function checkParams(params) {
  if (params === null || typeof params !== 'object' || Array.isArray(params)) throw new TypeError('params is an object');
  const out = {};
  for (const [name, value] of Object.entries(params)) {
    if (Array.isArray(value) && value.every(isValue)) out[name] = Object.freeze([...value]);
    else if (isValue(value)) out[name] = value;
    else throw new TypeError(`param ${name} is text, a number, a phrase or a list of them`);
  }
  return Object.freeze(out);
}

/** A piece of a sentence with its own code: `${p}` is its English, a page says it in its own language. */
export class Phrase {
  constructor(code, text, params = {}) {
    if (typeof text !== 'string') throw new TypeError('a phrase has English text');
    this.code = checkCode(code);
    this.text = text;
    this.params = checkParams(params);
    Object.freeze(this);
  }

  toString() {
    return this.text;
  }
}

/** phrase(code, english, params): see the header. */
export function phrase(code, text, params = {}) {
  return new Phrase(code, text, params);
}

export class ConsilienceError extends Error {
  /** message: the English sentence; { code, params } when a person can meet it (see the header). */
  constructor(message, { code = undefined, params = {} } = {}) {
    super(message);
    this.name = new.target.name;
    if (code !== undefined) {
      this.code = checkCode(code);
      this.params = checkParams(params);
    }
  }
}

/** Input that is malformed or outside the protocol's bounds. */
export class InvalidInput extends ConsilienceError {}

/** A proof, signature, MAC or consistency check did not hold. */
export class VerificationError extends ConsilienceError {}

/** A ciphertext could not be opened: wrong key or tampered data. */
export class DecryptionError extends VerificationError {}
