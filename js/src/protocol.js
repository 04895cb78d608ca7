// What the entries mean: domain tags, hashes and ballot structure, as
// src/plebiscite/record/protocol.py (and the ballot-relevant part of
// src/plebiscite/record/manifest.py).

import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8 } from './bytes.js';
import { hashParts } from './hashing.js';

export const TAG_COEFFICIENT = 'plebiscite/v1/guardian-coefficient';
export const TAG_SHARE_KEY = 'plebiscite/v1/guardian-share-key';
export const TAG_OPTION = 'plebiscite/v1/ballot-option';
export const TAG_QUESTION = 'plebiscite/v1/ballot-question';
export const TAG_DECRYPTION = 'plebiscite/v1/decryption-share';
export const TAG_CONTEXT = 'plebiscite/v1/context';
export const TAG_TRACKING = 'plebiscite/v1/tracking-code';
export const TAG_CREDENTIAL = 'plebiscite/v1/credential';
export const TAG_SHARE_ENC = 'plebiscite/v1/share-encryption';

export const BLANK = 'blank';
export const DEFAULT_GROUP = 'ristretto255';

/** The election context hash (32 bytes). */
export function contextHash(group, electionId, quorum, commitments, jointKey) {
  return hashParts(
    TAG_CONTEXT,
    electionId,
    group.name,
    commitments.length,
    quorum,
    commitments.map((cs) => [...cs]),
    jointKey,
  );
}

export const optionBind = (credential, region, question, slot) => [credential, region, question, slot];
export const questionBind = (credential, region, question) => [credential, region, question];
export const decryptionBind = (guardian, region, question, slot) => [guardian, region, question, slot];

// --- questions and regions of the referendum file

export class ManifestError extends Error {
  constructor(message) {
    super(message);
    this.name = 'ManifestError';
  }
}

const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** A question as the ballot sees it: {id, options, min, max, blank, slots}. */
export function makeQuestion({ id, options, min = 1, max = 1, blank = false }) {
  const opts = [...options];
  return Object.freeze({ id, options: opts, min, max, blank, slots: blank ? [...opts, BLANK] : opts });
}

function intIn(v, where, lo, hi) {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new ManifestError(`${where}: expected an integer`);
  if (v < lo || v > hi) throw new ManifestError(`${where}: ${v} must be between ${lo} and ${hi}`);
  return v;
}

function ident(v, where) {
  if (typeof v !== 'string' || !ID.test(v)) {
    throw new ManifestError(`${where}: ${JSON.stringify(v)} is not a valid id (letters, digits, _ . -)`);
  }
  return v;
}

/**
 * The questions and regions of a referendum file (its raw JSON), checked as Python's
 * parse_manifest checks them (ids, options, min/max defaults 1, blank default false,
 * region question lists). The rest of the file (times, guardians, rule) does not enter a
 * ballot and is not checked here.
 */
export function parseManifest(raw) {
  if (raw && raw.__parsed) return raw;
  if (raw === null || typeof raw !== 'object') throw new ManifestError('referendum: expected an object');
  const group = raw.group ?? DEFAULT_GROUP;
  if (!Array.isArray(raw.questions) || raw.questions.length === 0) {
    throw new ManifestError('questions: expected a non-empty list');
  }
  const questions = new Map();
  raw.questions.forEach((qd, i) => {
    const w = `questions[${i}]`;
    if (qd === null || typeof qd !== 'object') throw new ManifestError(`${w}: expected an object`);
    const id = ident(qd.id, `${w}.id`);
    if (questions.has(id)) throw new ManifestError(`${w}.id: duplicate question id ${JSON.stringify(id)}`);
    if (!Array.isArray(qd.options) || qd.options.length < 1) {
      throw new ManifestError(`${w}.options: expected a non-empty list of option ids`);
    }
    const opts = qd.options.map((o, j) => ident(o, `${w}.options[${j}]`));
    if (opts.includes(BLANK)) throw new ManifestError(`${w}.options: 'blank' is reserved; use "blank": true`);
    if (new Set(opts).size !== opts.length) throw new ManifestError(`${w}.options: duplicate option id`);
    const min = intIn(qd.min ?? 1, `${w}.min`, 0, opts.length);
    const max = intIn(qd.max ?? 1, `${w}.max`, 1, opts.length);
    if (min > max) throw new ManifestError(`${w}: min ${min} is greater than max ${max}`);
    const blank = qd.blank ?? false;
    if (typeof blank !== 'boolean') throw new ManifestError(`${w}.blank: expected true or false`);
    questions.set(id, makeQuestion({ id, options: opts, min, max, blank }));
  });
  if (!Array.isArray(raw.regions) || raw.regions.length === 0) {
    throw new ManifestError('regions: expected a non-empty list');
  }
  const regions = new Map();
  raw.regions.forEach((rd, i) => {
    const w = `regions[${i}]`;
    if (rd === null || typeof rd !== 'object') throw new ManifestError(`${w}: expected an object`);
    const id = ident(rd.id, `${w}.id`);
    if (regions.has(id)) throw new ManifestError(`${w}.id: duplicate region id ${JSON.stringify(id)}`);
    if (!Array.isArray(rd.questions) || rd.questions.length === 0) {
      throw new ManifestError(`${w}.questions: expected a non-empty list of question ids`);
    }
    for (const q of rd.questions) {
      if (!questions.has(q)) throw new ManifestError(`${w}.questions: unknown question ${JSON.stringify(q)}`);
    }
    if (new Set(rd.questions).size !== rd.questions.length) throw new ManifestError(`${w}.questions: duplicate question`);
    regions.set(id, { id, name: rd.name, questions: [...rd.questions] });
  });
  return Object.freeze({ __parsed: true, raw, group, questions, regions });
}

/** The region's questions, in the region's order. */
export function regionQuestions(manifest, region) {
  const r = manifest.regions.get(region);
  if (!r) throw new ManifestError(`unknown region ${JSON.stringify(region)}`);
  return r.questions.map((q) => manifest.questions.get(q));
}

/**
 * The ciphertext whose value the question's range proof bounds: options count once,
 * blank counts `max` times.
 */
export function questionTotal(group, q, cts) {
  if (cts.length !== q.slots.length) throw new RangeError('one ciphertext per slot');
  let a = group.identity();
  let b = group.identity();
  q.slots.forEach((slot, i) => {
    let { alpha, beta } = cts[i];
    if (slot === BLANK) {
      alpha = group.pow(alpha, q.max);
      beta = group.pow(beta, q.max);
    }
    a = group.mul(a, alpha);
    b = group.mul(b, beta);
  });
  return { alpha: a, beta: b };
}

export function questionValues(q) {
  const out = [];
  for (let v = q.min; v <= q.max; v++) out.push(v);
  return out;
}

export function questionTotalValue(q, choices) {
  return choices.includes(BLANK) ? q.max : choices.length;
}

export function validSelection(q, choices) {
  if (!Array.isArray(choices)) return false;
  if (new Set(choices).size !== choices.length || choices.some((c) => !q.slots.includes(c))) return false;
  if (choices.includes(BLANK)) return choices.length === 1;
  return q.min <= choices.length && choices.length <= q.max;
}

/** A ballot's tracking code (64 hex digits): the hash of its ciphertexts only. */
export function trackingCode(context, region, answers) {
  return bytesToHex(
    hashParts(
      TAG_TRACKING,
      context,
      region,
      answers.map(([qid, cts]) => [qid, cts.map((c) => [c.alpha, c.beta])]),
    ),
  );
}

// --- credentials

const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789'; // no 0/O, 1/I
// Python's str.strip() white space (str.isspace), which differs from String#trim's.
const PY_SPACE = '\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000';

function pyStrip(text) {
  let i = 0;
  let j = text.length;
  while (i < j && PY_SPACE.includes(text[i])) i++;
  while (j > i && PY_SPACE.includes(text[j - 1])) j--;
  return text.slice(i, j);
}

/** The credential as its seed hashes it: trimmed, without '-' and ' ', upper case. */
export function normaliseCredential(credential) {
  return pyStrip(credential).split('-').join('').split(' ').join('').toUpperCase();
}

export function isWellFormedCredential(credential) {
  const norm = [...normaliseCredential(credential)];
  return norm.length === 25 && norm.every((c) => ALPHABET.includes(c));
}

/** The Ed25519 seed of a voting credential (the secret string the voter holds). */
export function credentialSeed(electionId, credential) {
  return sha256(utf8(`${TAG_CREDENTIAL}\n${electionId}\n${normaliseCredential(credential)}`));
}

/** A tracking code as the record spells it: 64 lowercase hex digits. */
export function isTrackingCode(value) {
  return typeof value === 'string' && /^[0-9a-f]{64}$/.test(value);
}

/**
 * Revotes are a chain, per credential (record/protocol.py RevoteChains): the first
 * ballot replaces null, each later one the tracking code of the one before; the head is
 * the tracking code of the chain's last ballot. `extend` adds a ballot if it extends its
 * credential's chain (true) and leaves the chain as it was otherwise (false).
 */
export class RevoteChains {
  constructor() {
    this.heads = new Map();
  }

  head(credential) {
    return this.heads.get(credential) ?? null;
  }

  extend(credential, replaces, code) {
    if (replaces !== this.head(credential)) return false;
    this.heads.set(credential, code);
    return true;
  }
}
