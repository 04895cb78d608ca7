// The one canonical JSON encoding of everything on the board, as
// src/plebiscite/record/canonical.py: object keys sorted by Unicode code point (not UTF-16
// code unit), no insignificant white space, UTF-8, JSON.stringify's string escapes,
// integers with |n| < 2^53, and fractions only in [0, 1] (the manifest's shares), written
// as Number#toString writes them. Strings must be valid Unicode (no lone surrogates).
//
// JavaScript has one number type, so an integral value is an integer here (Python writes
// an integral float such as 1.0 as "1" too; a float like 2.0, which Python refuses as a
// non-share float, is the integer 2 to JavaScript).

import { utf8 } from './bytes.js';
import { isWellFormed } from './hashing.js';

export class CanonicalError extends Error {
  constructor(message) {
    super(message);
    this.name = 'CanonicalError';
  }
}

/** Compare two strings by Unicode code point (Python's str ordering). */
export function compareCodePoints(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // Only a surrogate against a unit in U+E000..U+FFFF orders differently by code point:
    // surrogates stand for code points above U+FFFF.
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? 1 : -1;
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

function isPlainObject(v) {
  if (v === null || typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function str(s, path) {
  if (!isWellFormed(s)) {
    throw new CanonicalError(`${path}: strings must be valid Unicode (no lone surrogates)`);
  }
  return JSON.stringify(s);
}

function encode(value, path) {
  if (value === null) return 'null';
  if (value === true) return 'true';
  if (value === false) return 'false';
  if (typeof value === 'string') return str(value, path);
  if (typeof value === 'bigint') {
    if (value >= 2n ** 53n || value <= -(2n ** 53n)) {
      throw new CanonicalError(`${path}: integer too large for JSON`);
    }
    return value.toString();
  }
  if (typeof value === 'number') {
    if (Number.isInteger(value)) {
      if (!Number.isSafeInteger(value)) throw new CanonicalError(`${path}: integer too large for JSON`);
      return String(value); // -0 -> "0"
    }
    if (!Number.isFinite(value) || !(value >= 0 && value <= 1)) {
      throw new CanonicalError(`${path}: only shares in [0, 1] may be fractional`);
    }
    return String(value);
  }
  if (Array.isArray(value)) {
    return '[' + value.map((v, i) => encode(v, `${path}[${i}]`)).join(',') + ']';
  }
  if (isPlainObject(value)) {
    const keys = Object.keys(value).sort(compareCodePoints);
    const items = [];
    for (const k of keys) {
      const v = value[k];
      if (v === undefined) throw new CanonicalError(`${path}.${k}: undefined is not JSON`);
      items.push(str(k, path) + ':' + encode(v, `${path}.${k}`));
    }
    return '{' + items.join(',') + '}';
  }
  throw new CanonicalError(`${path}: ${value === undefined ? 'undefined' : typeof value} is not JSON`);
}

/** The canonical JSON text of a value. */
export function canonicalJson(value) {
  return encode(value, '$');
}

/** The canonical JSON bytes (UTF-8) of a value. */
export function canonicalBytes(value) {
  return utf8(canonicalJson(value));
}
