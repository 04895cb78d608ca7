// Shared helpers for the tests: the vector files and their JSON forms.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { hexToBytes } from '../src/bytes.js';

export const VECTOR_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../tests/vectors');

export function load(name) {
  return JSON.parse(readFileSync(path.join(VECTOR_DIR, name), 'utf8'));
}

/** A 64-digit scalar hex as BigInt (no range check: vectors may hold any 32 bytes). */
export function sc(text) {
  if (typeof text !== 'string' || text.length !== 64) throw new Error(`bad scalar text ${text}`);
  return BigInt('0x' + text);
}

/** A hash part from its one-key JSON object. */
export function part(group, d) {
  const [[kind, value], ...rest] = Object.entries(d);
  if (rest.length) throw new Error('one key expected');
  if (kind === 'element') return group.elementFromHex(value);
  if (kind === 'int') return BigInt(value);
  if (kind === 'string') return value;
  if (kind === 'bytes') return hexToBytes(value);
  if (kind === 'list') return value.map((x) => part(group, x));
  throw new Error(`unknown part kind ${kind}`);
}

/** A draw function returning `draws` in order; `.done()` asserts all were used. */
export function scripted(draws) {
  let i = 0;
  const f = () => {
    if (i >= draws.length) throw new Error('the prover drew more scalars than recorded');
    return draws[i++];
  };
  f.done = () => i === draws.length;
  return f;
}
