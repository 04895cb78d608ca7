// Prime-order groups behind one interface, as src/plebiscite/crypto/group.py.
//
// Protocol code sees a Group and its Elements only; it never knows whether it runs over
// ristretto255 (@noble/curves) or a Schnorr subgroup of Z_p^* (native BigInt). The group
// is written multiplicatively everywhere (mul, div, pow), as in the ElectionGuard and
// Belenios specifications. Every element read from outside goes through decodeElement,
// which checks membership; every exponent through decodeScalar, which checks range.
//
// Exponents are BigInt (a non-negative JavaScript integer Number is accepted too) and are
// reduced mod q, as Python does.
//
// Timing: noble's ristretto255 multiplication is constant time; BigInt arithmetic is not
// (no JavaScript engine promises it), so the modp groups are best-effort in the browser.

import { ristretto255 } from '@noble/curves/ed25519.js';
import {
  bigintToBytes,
  bytesToBigint,
  bytesToHex,
  hexToBytes,
  mod,
  invert,
  randomBytes,
} from './bytes.js';
import * as C from './constants.js';

export const SCALAR_BYTES = 32;
export const GROUP_NAMES = Object.freeze(['ristretto255', 'modp-4096', 'belenios-2048']);

/** A value is not a valid element or scalar of the group. */
export class GroupError extends Error {
  constructor(message) {
    super(message);
    this.name = 'GroupError';
  }
}

/** An element of a prime-order group; only ever built by a Group. */
export class Element {
  constructor(group, value) {
    this.group = group;
    this.value = value;
    this._bytes = undefined;
    this._hex = undefined;
  }

  toBytes() {
    if (this._bytes === undefined) this._bytes = this.group.encodeElement(this);
    return this._bytes;
  }

  hex() {
    if (this._hex === undefined) this._hex = bytesToHex(this.toBytes());
    return this._hex;
  }

  equals(other) {
    return other instanceof Element && other.group === this.group && this.group.eq(this, other);
  }

  mul(other) {
    return this.group.mul(this, other);
  }

  div(other) {
    return this.group.div(this, other);
  }

  pow(e) {
    return this.group.pow(this, e);
  }

  toString() {
    return `Element(${this.group.name}, ${this.hex().slice(0, 16)}…)`;
  }
}

function toBig(e) {
  if (typeof e === 'bigint') return e;
  if (typeof e === 'number' && Number.isSafeInteger(e)) return BigInt(e);
  throw new TypeError('an exponent must be a BigInt or a safe integer');
}

/** A cyclic group of prime order q with a fixed generator g (abstract). */
export class Group {
  // name, q, elementBytes are set by subclasses.

  /** a^e for a public exponent (variable time is fine). */
  pow(_a, _e) {
    throw new Error('abstract');
  }

  /** a^e for a secret exponent. */
  powSecret(a, e) {
    return this.pow(a, e);
  }

  gPow(e) {
    return this.pow(this.generator(), e);
  }

  gPowSecret(e) {
    return this.powSecret(this.generator(), e);
  }

  /** a^e1 * b^e2 (verification equations); groups may do it faster than two pows. */
  pow2(a, e1, b, e2) {
    return this.mul(this.pow(a, e1), this.pow(b, e2));
  }

  /** A hint that a will be raised to many exponents (the election key). */
  precompute(_a) {}

  eq(a, b) {
    const x = a.toBytes();
    const y = b.toBytes();
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
    return true;
  }

  isIdentity(a) {
    return this.eq(a, this.identity());
  }

  prod(items) {
    let acc = this.identity();
    for (const x of items) acc = this.mul(acc, x);
    return acc;
  }

  /** A uniformly random scalar in [1, q): 64 bytes from crypto.getRandomValues mod (q - 1), + 1. */
  randomScalar() {
    return mod(bytesToBigint(randomBytes(64)), this.q - 1n) + 1n;
  }

  reduce(e) {
    return mod(toBig(e), this.q);
  }

  decodeScalar(data) {
    if (!(data instanceof Uint8Array) || data.length !== SCALAR_BYTES) {
      throw new GroupError(`scalar must be ${SCALAR_BYTES} bytes, got ${data?.length}`);
    }
    const v = bytesToBigint(data);
    if (v >= this.q) throw new GroupError('scalar out of range (>= q)');
    return v;
  }

  encodeScalar(v) {
    return bigintToBytes(toBig(v), SCALAR_BYTES);
  }

  /** 64 lowercase hex digits of a scalar. */
  scalarHex(v) {
    const b = toBig(v);
    if (b < 0n || b >= 1n << 256n) throw new RangeError('scalar out of 32 bytes');
    return b.toString(16).padStart(64, '0');
  }

  elementFromHex(text, { memberCheck = true } = {}) {
    let data;
    try {
      data = hexToBytes(text);
    } catch {
      throw new GroupError('element is not hex');
    }
    return this.decodeElement(data, { memberCheck });
  }

  scalarFromHex(text) {
    if (typeof text !== 'string' || text.length !== 2 * SCALAR_BYTES) {
      throw new GroupError('scalar must be 64 hex digits');
    }
    let data;
    try {
      data = hexToBytes(text);
    } catch {
      throw new GroupError('scalar is not hex');
    }
    return this.decodeScalar(data);
  }

  /** The m in [0, bound] with g^m == target (baby-step giant-step), as Python's dlog. */
  dlog(target, bound) {
    const step = isqrt(bound + 1) + 1;
    const table = new Map();
    let acc = this.identity();
    const g = this.generator();
    for (let j = 0; j < step; j++) {
      const k = acc.hex();
      if (!table.has(k)) table.set(k, j);
      acc = this.mul(acc, g);
    }
    const giant = this.gPow(this.q - BigInt(step)); // g^(-step)
    let cur = target;
    for (let i = 0; i <= step; i++) {
      const found = table.get(cur.hex());
      if (found !== undefined && i * step + found <= bound) return i * step + found;
      cur = this.mul(cur, giant);
    }
    throw new GroupError(`no discrete logarithm in [0, ${bound}]`);
  }
}

function isqrt(n) {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError('bound must be a safe integer >= 0');
  let x = Math.floor(Math.sqrt(n));
  while (x * x > n) x--;
  while ((x + 1) * (x + 1) <= n) x++;
  return x;
}

// --- ristretto255 over @noble/curves ---------------------------------------------------

const Point = ristretto255.Point;
const ZERO32 = new Uint8Array(32);

export class Ristretto255 extends Group {
  constructor() {
    super();
    this.name = 'ristretto255';
    this.q = C.RISTRETTO_L;
    this.elementBytes = 32;
    if (Point.Fn.ORDER !== this.q) throw new Error('noble ristretto255 order mismatch');
    this._id = new Element(this, Point.ZERO);
    this._g = new Element(this, Point.BASE);
    if (this._g.hex() !== C.RISTRETTO_G_HEX) throw new Error('noble ristretto255 base mismatch');
  }

  identity() {
    return this._id;
  }

  generator() {
    return this._g;
  }

  mul(a, b) {
    return new Element(this, a.value.add(b.value));
  }

  div(a, b) {
    return new Element(this, a.value.subtract(b.value));
  }

  pow(a, e) {
    const k = this.reduce(e);
    if (k === 0n || a.value.is0()) return this._id;
    return new Element(this, a.value.multiplyUnsafe(k));
  }

  powSecret(a, e) {
    const k = this.reduce(e);
    if (k === 0n || a.value.is0()) return this._id;
    return new Element(this, a.value.multiply(k)); // constant time
  }

  precompute(a) {
    if (!a.value.is0() && a.value !== Point.BASE) a.value.precompute(8, false);
  }

  eq(a, b) {
    return a.value.equals(b.value);
  }

  isIdentity(a) {
    return a.value.is0();
  }

  encodeElement(a) {
    return a.value.is0() ? ZERO32.slice() : a.value.toBytes();
  }

  decodeElement(data, _opts) {
    if (!(data instanceof Uint8Array) || data.length !== 32) {
      throw new GroupError('ristretto255 element must be 32 bytes');
    }
    if (data[31] & 0x80) {
      // RFC 9496 requires rejecting it, else one point has two encodings.
      throw new GroupError('not a canonical ristretto255 encoding (top bit set)');
    }
    if (data.every((x) => x === 0)) return this._id;
    let p;
    try {
      p = Point.fromBytes(data);
    } catch {
      throw new GroupError('not a canonical ristretto255 encoding');
    }
    const e = new Element(this, p);
    e._bytes = data.slice();
    return e;
  }
}

// --- Schnorr subgroups of Z_p^* over BigInt -------------------------------------------

const SLIDING_W = 5; // variable-base exponentiation window
const TABLE_W = 5; // fixed-base table window (rows of 2^W entries)

export class ModpGroup extends Group {
  constructor(name, p, q, g) {
    super();
    this.name = name;
    this.p = p;
    this.q = q;
    this.elementBytes = Math.ceil(p.toString(2).length / 8);
    this._id = new Element(this, 1n);
    this._g = new Element(this, g);
    this._tables = new Map(); // element value -> fixed-base table
  }

  identity() {
    return this._id;
  }

  generator() {
    return this._g;
  }

  mul(a, b) {
    return new Element(this, (a.value * b.value) % this.p);
  }

  div(a, b) {
    return new Element(this, (a.value * invert(b.value, this.p)) % this.p);
  }

  pow(a, e) {
    const k = this.reduce(e);
    const table = this._tables.get(a.value);
    if (table !== undefined) return new Element(this, this._tablePow(table, k));
    return new Element(this, this._slidingPow(a.value, k));
  }

  // No separate constant-time path: BigInt gives no such guarantee (see the file header).
  powSecret(a, e) {
    return this.pow(a, e);
  }

  gPow(e) {
    if (!this._tables.has(this._g.value)) this.precompute(this._g);
    return this.pow(this._g, e);
  }

  gPowSecret(e) {
    return this.gPow(e);
  }

  pow2(a, e1, b, e2) {
    const ta = this._tables.get(a.value);
    const tb = this._tables.get(b.value);
    const k1 = this.reduce(e1);
    const k2 = this.reduce(e2);
    if (ta !== undefined || tb !== undefined) return this.mul(this.pow(a, k1), this.pow(b, k2));
    return new Element(this, this._straus2(a.value, k1, b.value, k2));
  }

  /** Fixed-base table for a: row i holds a^(d * 2^(W*i)) for d in [0, 2^W). */
  precompute(a) {
    if (this._tables.has(a.value)) return;
    const p = this.p;
    const rows = Math.ceil(this.q.toString(2).length / TABLE_W);
    const size = 1 << TABLE_W;
    const table = [];
    let base = a.value;
    for (let i = 0; i < rows; i++) {
      const row = new Array(size);
      row[0] = 1n;
      row[1] = base;
      for (let d = 2; d < size; d++) row[d] = (row[d - 1] * base) % p;
      table.push(row);
      base = (row[size - 1] * base) % p;
    }
    this._tables.set(a.value, table);
  }

  _tablePow(table, k) {
    const p = this.p;
    const mask = BigInt((1 << TABLE_W) - 1);
    const w = BigInt(TABLE_W);
    let acc = 1n;
    let i = 0;
    while (k > 0n) {
      const d = Number(k & mask);
      if (d) acc = acc === 1n ? table[i][d] : (acc * table[i][d]) % p;
      k >>= w;
      i++;
    }
    return acc;
  }

  _slidingPow(base, k) {
    if (k === 0n) return 1n;
    const p = this.p;
    base %= p;
    const bits = k.toString(2);
    const n = bits.length;
    // Odd powers base^1, base^3, ..., base^(2^W - 1).
    const sq = (base * base) % p;
    const odd = [base];
    for (let i = 1; i < 1 << (SLIDING_W - 1); i++) odd.push((odd[i - 1] * sq) % p);
    let acc = 1n;
    let i = 0;
    while (i < n) {
      if (bits[i] === '0') {
        acc = (acc * acc) % p;
        i++;
        continue;
      }
      // The longest window bits[i..j] of at most W bits ending in a 1.
      let j = Math.min(i + SLIDING_W, n) - 1;
      while (bits[j] === '0') j--;
      let val = 0;
      for (let t = i; t <= j; t++) {
        if (acc !== 1n) acc = (acc * acc) % p;
        val = (val << 1) | (bits[t] === '1' ? 1 : 0);
      }
      acc = acc === 1n ? odd[val >> 1] : (acc * odd[val >> 1]) % p;
      i = j + 1;
    }
    return acc;
  }

  // a^k1 * b^k2 by Straus's interleaving with 4-bit fixed windows.
  _straus2(a, k1, b, k2) {
    const p = this.p;
    const W = 4;
    const size = 1 << W;
    const ta = [1n, a % p];
    const tb = [1n, b % p];
    for (let d = 2; d < size; d++) {
      ta.push((ta[d - 1] * ta[1]) % p);
      tb.push((tb[d - 1] * tb[1]) % p);
    }
    const len = Math.max(k1.toString(2).length, k2.toString(2).length);
    const windows = Math.ceil(len / W);
    const mask = BigInt(size - 1);
    let acc = 1n;
    for (let i = windows - 1; i >= 0; i--) {
      if (acc !== 1n) for (let s = 0; s < W; s++) acc = (acc * acc) % p;
      const shift = BigInt(i * W);
      const d1 = Number((k1 >> shift) & mask);
      const d2 = Number((k2 >> shift) & mask);
      if (d1) acc = (acc * ta[d1]) % p;
      if (d2) acc = (acc * tb[d2]) % p;
    }
    return acc;
  }

  eq(a, b) {
    return a.value === b.value;
  }

  isIdentity(a) {
    return a.value === 1n;
  }

  encodeElement(a) {
    return bigintToBytes(a.value, this.elementBytes);
  }

  decodeElement(data, { memberCheck = true } = {}) {
    if (!(data instanceof Uint8Array) || data.length !== this.elementBytes) {
      throw new GroupError(`${this.name} element must be ${this.elementBytes} bytes`);
    }
    const v = bytesToBigint(data);
    if (!(v > 0n && v < this.p)) throw new GroupError(`${this.name} element out of range`);
    if (memberCheck && this._slidingPow(v, this.q) !== 1n) {
      throw new GroupError(`${this.name} element not in the order-q subgroup`);
    }
    const e = new Element(this, v);
    e._bytes = data.slice();
    return e;
  }
}

const cache = new Map();

/** The named group; GroupError for an unknown name. */
export function getGroup(name) {
  if (name instanceof Group) return name;
  let g = cache.get(name);
  if (g) return g;
  if (name === 'ristretto255') g = new Ristretto255();
  else if (name === 'modp-4096') g = new ModpGroup(name, C.MODP4096_P, C.MODP4096_Q, C.MODP4096_G);
  else if (name === 'belenios-2048') {
    g = new ModpGroup(name, C.BELENIOS2048_P, C.BELENIOS2048_Q, C.BELENIOS2048_G);
  } else throw new GroupError(`unknown group ${JSON.stringify(name)} (known: ${GROUP_NAMES.join(', ')})`);
  cache.set(name, g);
  return g;
}
