// The ristretto255 group and its scalar field, from @noble/curves
// (crypto/ristretto.py). This module only validates encodings and converts
// between bytes and the library's Point / bigint scalars, so the rest of the
// SDK deals in checked values.
import { ristretto255 } from '@noble/curves/ed25519.js';
import { InvalidInput } from '../errors.js';

export const Point = ristretto255.Point;
/** The scalar field GF(ell) of @noble/curves (add/sub/mul/inv/create/toBytes/fromBytes). */
export const Fn = ristretto255.Point.Fn;
export const ORDER = Fn.ORDER;
export const ELEMENT_BYTES = 32;
export const SCALAR_BYTES = 32;

/** Canonical little-endian 32-byte encoding of an integer modulo the order. */
export function scalarFromInt(value) {
  return Fn.toBytes(Fn.create(BigInt(value)));
}

/** Integer of a canonical (reduced) 32-byte scalar; refuses anything else. */
export function scalarToInt(bytes) {
  if (!(bytes instanceof Uint8Array) || bytes.length !== SCALAR_BYTES) throw new InvalidInput('a scalar must be 32 bytes');
  try {
    return Fn.fromBytes(bytes);
  } catch {
    throw new InvalidInput('scalar is not reduced modulo the group order');
  }
}

/** Reduce a 64-byte uniform string to a scalar (libsodium's scalar_reduce). */
export function scalarReduce64(wide) {
  if (!(wide instanceof Uint8Array) || wide.length !== 64) throw new InvalidInput('wide reduction needs 64 bytes');
  let n = 0n;
  for (let i = wide.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(wide[i]);
  return Fn.create(n);
}

/** A canonical encoding of a non-identity element, decoded; InvalidInput otherwise. */
export function checkElement(bytes) {
  if (!(bytes instanceof Uint8Array) || bytes.length !== ELEMENT_BYTES) throw new InvalidInput('a group element must be 32 bytes');
  let point;
  try {
    point = Point.fromBytes(bytes);
  } catch {
    throw new InvalidInput('not a valid non-identity ristretto255 element');
  }
  if (point.is0()) throw new InvalidInput('not a valid non-identity ristretto255 element');
  return point;
}
