// RFC 6962 / RFC 9162 Merkle tree hashing and proof verification (SHA-256), as
// src/plebiscite/board/merkle.py: leaf = H(0x00 || entry), node = H(0x01 || left || right).
// The verifiers follow RFC 9162 sections 2.1.3.2 and 2.1.4.2 and never throw: any
// malformed input (wrong hash length, index out of range, bad proof) gives false.
// Hashes may be given as Uint8Array or as lowercase hex.

import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, equalBytes, hexToBytes } from './bytes.js';

export const HASH_SIZE = 32;
export const EMPTY_ROOT = sha256(new Uint8Array(0));

/** Hash of a leaf: SHA-256(0x00 || data). */
export function leafHash(data) {
  return sha256(concatBytes(Uint8Array.of(0), data));
}

/** Hash of an interior node: SHA-256(0x01 || left || right). */
export function nodeHash(left, right) {
  return sha256(concatBytes(Uint8Array.of(1), left, right));
}

// A hash from bytes or hex, or null when it is not exactly 32 bytes.
function asHash(value) {
  let b = value;
  if (typeof value === 'string') {
    if (!/^[0-9a-f]*$/.test(value)) return null;
    try {
      b = hexToBytes(value);
    } catch {
      return null;
    }
  }
  return b instanceof Uint8Array && b.length === HASH_SIZE ? b : null;
}

// A tree size or index as BigInt, or null unless a non-negative integer.
function asSize(value) {
  if (typeof value === 'bigint') return value >= 0n ? value : null;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  return null;
}

function asPath(proof) {
  if (!Array.isArray(proof)) return null;
  const out = proof.map(asHash);
  return out.every((h) => h !== null) ? out : null;
}

/** Root of a list of leaf hashes (RFC 6962 MTH), for tests and small trees. */
export function rootFromLeafHashes(leaves) {
  const hs = leaves.map((l) => asHash(l));
  const mth = (a, b) => {
    const n = b - a;
    if (n === 0) return EMPTY_ROOT;
    if (n === 1) return hs[a];
    let k = 1;
    while (k * 2 < n) k *= 2;
    return nodeHash(mth(a, a + k), mth(a + k, b));
  };
  return mth(0, hs.length);
}

/** Is `leaf` (a leaf hash) at `index` in the tree of `size` whose root is `root`? */
export function verifyInclusion(leaf, index, size, proof, root) {
  try {
    const l = asHash(leaf);
    const r0 = asHash(root);
    const i = asSize(index);
    const n = asSize(size);
    const path = asPath(proof);
    if (!l || !r0 || i === null || n === null || !path || i >= n) return false;
    let fn = i;
    let sn = n - 1n;
    let r = l;
    for (const p of path) {
      if (sn === 0n) return false;
      if (fn & 1n || fn === sn) {
        r = nodeHash(p, r);
        while (fn !== 0n && !(fn & 1n)) {
          fn >>= 1n;
          sn >>= 1n;
        }
      } else {
        r = nodeHash(r, p);
      }
      fn >>= 1n;
      sn >>= 1n;
    }
    return sn === 0n && equalBytes(r, r0);
  } catch {
    return false;
  }
}

/** Is the tree (oldSize, oldRoot) a prefix of (newSize, newRoot)? */
export function verifyConsistency(oldSize, oldRoot, newSize, newRoot, proof) {
  try {
    const or = asHash(oldRoot);
    const nr = asHash(newRoot);
    const m = asSize(oldSize);
    const n = asSize(newSize);
    const path = asPath(proof);
    if (!or || !nr || m === null || n === null || !path || m > n) return false;
    if (m === n) return path.length === 0 && equalBytes(or, nr);
    if (m === 0n) return path.length === 0 && equalBytes(or, EMPTY_ROOT);
    if (path.length === 0) return false;
    if ((m & (m - 1n)) === 0n) path.unshift(or); // a power of two: the old root is a node
    let fn = m - 1n;
    let sn = n - 1n;
    while (fn & 1n) {
      fn >>= 1n;
      sn >>= 1n;
    }
    let fr = path[0];
    let sr = path[0];
    for (const c of path.slice(1)) {
      if (sn === 0n) return false;
      if (fn & 1n || fn === sn) {
        fr = nodeHash(c, fr);
        sr = nodeHash(c, sr);
        while (fn !== 0n && !(fn & 1n)) {
          fn >>= 1n;
          sn >>= 1n;
        }
      } else {
        sr = nodeHash(sr, c);
      }
      fn >>= 1n;
      sn >>= 1n;
    }
    return sn === 0n && equalBytes(fr, or) && equalBytes(sr, nr);
  } catch {
    return false;
  }
}
