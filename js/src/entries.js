// The entry envelope and its signatures, as src/plebiscite/record/entries.py.
//
// The signature covers b"plebiscite-entry/v1\n" + type + "\n" + election id + "\n" +
// canonical(data); signer and signature are standard base64 (Ed25519, RFC 8032).

import { ed25519 } from '@noble/curves/ed25519.js';
import { b64decode, b64encode, concatBytes, utf8 } from './bytes.js';
import { canonicalBytes } from './canonical.js';

/** An entry (or a value inside one) is malformed. */
export class EntryError extends Error {
  constructor(message) {
    super(message);
    this.name = 'EntryError';
  }
}

// Who vouches for each type of entry.
export const ENTRY_TYPES = Object.freeze({
  referendum: 'organiser',
  guardian_key: 'guardian',
  guardian_shares: 'guardian',
  guardian_ready: 'guardian',
  election_context: 'organiser',
  credential_list: 'credential_authority',
  open: 'organiser',
  ballot: 'voter',
  challenged_ballot: 'nobody',
  close: 'organiser',
  tally: 'organiser',
  decryption_share: 'guardian',
  result: 'organiser',
});

/** The bytes an entry's signature covers. */
export function signedMessage(type, electionId, data) {
  return concatBytes(utf8(`plebiscite-entry/v1\n${type}\n${electionId}\n`), canonicalBytes(data));
}

/** Base64 of the Ed25519 public key of a 32-byte seed. */
export function publicKeyB64(seed) {
  return b64encode(ed25519.getPublicKey(seed));
}

/** Strict base64 of ``length`` bytes, as Python's b64decode helper; EntryError otherwise. */
export function b64decodeChecked(text, length, what = 'value') {
  if (typeof text !== 'string') throw new EntryError(`${what}: expected base64 text`);
  let raw;
  try {
    raw = b64decode(text);
  } catch (exc) {
    throw new EntryError(`${what}: ${exc.message}`);
  }
  if (length !== undefined && raw.length !== length) {
    throw new EntryError(`${what}: expected ${length} bytes, got ${raw.length}`);
  }
  return raw;
}

/**
 * A submission (an entry before the board stamps its time): {type, data, signer,
 * signature}, signed with the Ed25519 key of `seed`, or unsigned (nulls) without one.
 */
export function sign(type, data, electionId, seed) {
  if (!Object.prototype.hasOwnProperty.call(ENTRY_TYPES, type)) {
    throw new EntryError(`unknown entry type ${JSON.stringify(type)}`);
  }
  if (seed == null) return { type, data, signer: null, signature: null };
  const sig = ed25519.sign(signedMessage(type, electionId, data), seed);
  return { type, data, signer: publicKeyB64(seed), signature: b64encode(sig) };
}

/** Check an entry's or a submission's signature over its data. */
export function verifySignature(entry, electionId) {
  if (entry.signer == null || entry.signature == null) return false;
  try {
    const pub = b64decodeChecked(entry.signer, 32, 'signer');
    const sig = b64decodeChecked(entry.signature, 64, 'signature');
    return ed25519.verify(sig, signedMessage(entry.type, electionId, entry.data), pub);
  } catch {
    return false;
  }
}
