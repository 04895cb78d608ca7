// JSON forms of the cryptographic objects, checked on the way in, as
// src/plebiscite/record/codec.py. Elements and scalars are lowercase hex of their
// canonical bytes; reading goes through the group's membership and range checks.

import { GroupError } from './group.js';
import { EntryError } from './entries.js';

function obj(d, keys, what) {
  if (d === null || typeof d !== 'object' || Array.isArray(d)) {
    throw new EntryError(`${what}: expected an object with keys ${[...keys].sort().join(', ')}`);
  }
  const have = Object.keys(d);
  if (have.length !== keys.length || !keys.every((k) => Object.prototype.hasOwnProperty.call(d, k))) {
    throw new EntryError(`${what}: expected an object with keys ${[...keys].sort().join(', ')}`);
  }
  return d;
}

/**
 * Decode an element from its hex; `commitment: true` for a proof's commitments only,
 * whose membership the proof's verification equation establishes.
 */
export function element(group, text, what = 'element', { commitment = false } = {}) {
  if (typeof text !== 'string') throw new EntryError(`${what}: expected hex`);
  let e;
  try {
    e = group.elementFromHex(text, { memberCheck: !commitment });
  } catch (exc) {
    if (exc instanceof GroupError) throw new EntryError(`${what}: ${exc.message}`);
    throw exc;
  }
  if (e.hex() !== text) throw new EntryError(`${what}: not canonical hex`);
  return e;
}

export function scalar(group, text, what = 'scalar') {
  if (typeof text !== 'string' || text !== text.toLowerCase()) {
    throw new EntryError(`${what}: expected lowercase hex`);
  }
  try {
    return group.scalarFromHex(text);
  } catch (exc) {
    if (exc instanceof GroupError) throw new EntryError(`${what}: ${exc.message}`);
    throw exc;
  }
}

export function scalarHex(group, v) {
  return group.scalarHex(v);
}

export function ctToJson(c) {
  return { alpha: c.alpha.hex(), beta: c.beta.hex() };
}

export function ctFromJson(group, d, what = 'ciphertext') {
  const o = obj(d, ['alpha', 'beta'], what);
  return { alpha: element(group, o.alpha, what), beta: element(group, o.beta, what) };
}

export function rangeToJson(group, p) {
  return p.branches.map((b) => ({
    a: b.a.hex(),
    b: b.b.hex(),
    c: group.scalarHex(b.challenge),
    s: group.scalarHex(b.response),
  }));
}

export function rangeFromJson(group, d, what = 'proof') {
  if (!Array.isArray(d) || d.length === 0) throw new EntryError(`${what}: expected a list of branches`);
  const branches = d.map((br) => {
    const o = obj(br, ['a', 'b', 'c', 's'], what);
    return {
      a: element(group, o.a, what, { commitment: true }),
      b: element(group, o.b, what, { commitment: true }),
      challenge: scalar(group, o.c, what),
      response: scalar(group, o.s, what),
    };
  });
  return { branches };
}

export function schnorrToJson(group, p) {
  return { commitment: p.commitment.hex(), response: group.scalarHex(p.response) };
}

export function schnorrFromJson(group, d, what = 'proof') {
  const o = obj(d, ['commitment', 'response'], what);
  return {
    commitment: element(group, o.commitment, what, { commitment: true }),
    response: scalar(group, o.response, what),
  };
}

export function equalityToJson(group, p) {
  return { a: p.a.hex(), b: p.b.hex(), response: group.scalarHex(p.response) };
}

export function equalityFromJson(group, d, what = 'proof') {
  const o = obj(d, ['a', 'b', 'response'], what);
  return {
    a: element(group, o.a, what, { commitment: true }),
    b: element(group, o.b, what, { commitment: true }),
    response: scalar(group, o.response, what),
  };
}
