// Canonical hashing for Fiat-Shamir challenges and identifiers, as
// src/plebiscite/crypto/hashing.py. Every hash input is a sequence of typed,
// length-prefixed parts:
//
//   element: "E" + 4-byte big-endian length + the group's canonical encoding
//   integer: "I" + length + minimal big-endian bytes (non-negative only; 0 is empty)
//   string:  "S" + length + UTF-8
//   bytes:   "B" + length + raw bytes
//   list:    "L" + 4-byte item count + each item's encoding
//
// In JavaScript an Element is an element, a BigInt or a safe non-negative integer Number
// an integer, a string a string, a Uint8Array bytes and an Array a list.

import { sha256 } from '@noble/hashes/sha2.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { bigintToBytes, bytesToBigint, concatBytes, utf8 } from './bytes.js';
import { Element } from './group.js';

function isWellFormed(text) {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = text.charCodeAt(i + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) return false;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) return false;
  }
  return true;
}

export { isWellFormed };

function header(type, length) {
  const h = new Uint8Array(5);
  h[0] = type.charCodeAt(0);
  new DataView(h.buffer).setUint32(1, length, false);
  return h;
}

function encodeInto(part, out) {
  if (part instanceof Element) {
    const data = part.toBytes();
    out.push(header('E', data.length), data);
  } else if (typeof part === 'boolean') {
    throw new TypeError('booleans are not hashed; use 0 or 1');
  } else if (typeof part === 'bigint' || typeof part === 'number') {
    if (typeof part === 'number' && !Number.isSafeInteger(part)) {
      throw new TypeError('only integers are hashed (a BigInt or a safe integer)');
    }
    const v = BigInt(part);
    if (v < 0n) throw new RangeError('negative integers are not hashed');
    const data = bigintToBytes(v);
    out.push(header('I', data.length), data);
  } else if (typeof part === 'string') {
    if (!isWellFormed(part)) throw new TypeError('strings must be valid Unicode');
    const data = utf8(part);
    out.push(header('S', data.length), data);
  } else if (part instanceof Uint8Array) {
    out.push(header('B', part.length), part);
  } else if (Array.isArray(part)) {
    out.push(header('L', part.length));
    for (const p of part) encodeInto(p, out);
  } else {
    throw new TypeError(`cannot hash ${part === null ? 'null' : typeof part}`);
  }
}

/** The typed encoding of one part. */
export function encodePart(part) {
  const out = [];
  encodeInto(part, out);
  return concatBytes(...out);
}

function feed(h, parts) {
  for (const p of parts) {
    const out = [];
    encodeInto(p, out);
    for (const chunk of out) h.update(chunk);
  }
  return h;
}

/** SHA-256 over the tag and the parts; 32 bytes. */
export function hashParts(tag, ...parts) {
  return feed(sha256.create(), [tag, ...parts]).digest();
}

/** A Fiat-Shamir challenge in [0, q): SHA-512 of tag, context hash and parts, mod q. */
export function challenge(group, tag, context, ...parts) {
  if (!(context instanceof Uint8Array)) throw new TypeError('the context is bytes');
  const digest = feed(sha512.create(), [tag, context, ...parts]).digest();
  return bytesToBigint(digest) % group.q;
}
