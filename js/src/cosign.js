// Witness cosignatures of the board's checkpoints, as src/plebiscite/board/cosign.py. A
// cosignature repeats the checkpoint it is about, states the witness's own clock when it
// cosigned (witness_time, the board's time form: UTC, milliseconds, Z) and signs, with
// Ed25519 (RFC 8032, strict encodings as Python's `cryptography`),
//
//   plebiscite-cosignature/v2\n<witness id>\n<witness time>\n<checkpoint body>
//
// where the checkpoint body is the one the board signs (checkpoint.js). The JSON form is
// {witness, key (the witness's public key, standard base64), origin, size, root (hex),
// time, witness_time, signature (standard base64)}: the board's own signature is not
// part of it.
//
// A receipt is only as good as the view of the board it was checked against: a board
// could show one voter a history nobody else sees. Witnesses cosign a checkpoint only
// after checking it extends the last one they cosigned, so a checkpoint cosigned by a
// quorum of them (a majority, the referendum file requires) is on the one history
// everybody sees. Only the witnesses the referendum file declares count toward that
// quorum: the organiser controls later accreditations, so it could give each branch of a
// split view witnesses of its own; a majority of a fixed set cannot be split.

import { ed25519 } from '@noble/curves/ed25519.js';
import { b64decode, concatBytes, utf8 } from './bytes.js';
import { checkpointBody, checkpointProblem } from './checkpoint.js';

export const COSIGNATURE_HEADER = 'plebiscite-cosignature/v2\n';
const KEYS = ['key', 'origin', 'root', 'signature', 'size', 'time', 'witness', 'witness_time'];
// The board's time form (record/entries.py format_time): UTC, milliseconds, Z.
const BOARD_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function isBoardTime(text) {
  if (typeof text !== 'string' || !BOARD_TIME.test(text)) return false;
  const t = new Date(text);
  return !Number.isNaN(t.getTime()) && t.toISOString() === text;
}
// checkpointProblem wants a signature; the board's is not in a cosignature (Python
// parses it with a placeholder too).
const NO_BOARD_SIGNATURE = 'A'.repeat(86) + '==';
const LONE_SURROGATE = /[\ud800-\udfff]/;

function hasLoneSurrogate(text) {
  return LONE_SURROGATE.test(text.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ''));
}

/**
 * Why the JSON value is not a well-formed cosignature (a string), or null when it is
 * one. The rules are Cosignature.from_json's, with one difference: the key and the
 * signature must be canonical base64 (Python ignores stray bits in the last digit; the
 * board re-encodes every cosignature it keeps, so none it serves has them).
 */
export function cosignatureProblem(cs) {
  if (cs === null || typeof cs !== 'object' || Array.isArray(cs)) return 'a cosignature must be a JSON object';
  const keys = Object.keys(cs).sort();
  if (keys.length !== KEYS.length || keys.some((k, i) => k !== KEYS[i])) {
    return `a cosignature has exactly the keys ${KEYS.join(', ')}`;
  }
  if (typeof cs.witness !== 'string' || typeof cs.key !== 'string') return 'cosignature: witness and key must be strings';
  if (typeof cs.witness_time !== 'string') return 'cosignature: witness_time must be a string';
  if (!isBoardTime(cs.witness_time)) return "cosignature: witness_time is not in the board's form (UTC, ms, Z)";
  let key;
  let sig;
  try {
    key = b64decode(cs.key);
    sig = b64decode(cs.signature);
  } catch {
    return 'cosignature: key and signature must be base64';
  }
  if (sig.length !== 64 || key.length !== 32) return 'cosignature: bad key or signature length';
  return checkpointProblem({ origin: cs.origin, size: cs.size, root: cs.root, time: cs.time, signature: NO_BOARD_SIGNATURE });
}

/**
 * The parts of a well-formed cosignature: {witness, key (base64 as given), witnessTime,
 * checkpoint ({origin, size, root, time}), publicKey and signature (bytes)}. Throws a TypeError
 * naming the problem otherwise.
 */
export function parseCosignature(cs) {
  const problem = cosignatureProblem(cs);
  if (problem !== null) throw new TypeError(problem);
  return {
    witness: cs.witness,
    key: cs.key,
    witnessTime: cs.witness_time,
    checkpoint: { origin: cs.origin, size: cs.size, root: cs.root, time: cs.time },
    publicKey: b64decode(cs.key),
    signature: b64decode(cs.signature),
  };
}

/** The well-formed cosignatures (JSON values) among the lines of cosignatures.jsonl. */
export function parseCosignatures(text) {
  const out = [];
  for (const line of String(text).split('\n')) {
    if (!line.trim()) continue;
    let value;
    try {
      value = JSON.parse(line);
    } catch {
      continue; // a malformed line is no cosignature (the verifier's V22 reports it)
    }
    if (cosignatureProblem(value) === null) out.push(value);
  }
  return out;
}

/**
 * The exact bytes a witness whose clock read `witnessTime` signs to cosign a checkpoint
 * ({origin, size, root, time}).
 */
export function cosignedMessage(witness, witnessTime, cp) {
  return concatBytes(utf8(`${COSIGNATURE_HEADER}${witness}\n${witnessTime}\n`), checkpointBody(cp));
}

// The signature check of a parsed cosignature.
function signatureHolds(p) {
  if (hasLoneSurrogate(p.witness)) return false; // Python cannot even encode the message
  try {
    return ed25519.verify(p.signature, cosignedMessage(p.witness, p.witnessTime, p.checkpoint), p.publicKey, { zip215: false });
  } catch {
    return false;
  }
}

/**
 * True iff the cosignature (JSON form) is well formed and its signature holds under the
 * key it names (verify_cosignature). Whether that key is a witness's is the caller's
 * question (witnessedCheckpoint asks it). Never throws.
 */
export function verifyCosignature(cs) {
  try {
    return signatureHolds(parseCosignature(cs));
  } catch {
    return false;
  }
}

/**
 * The witnesses a referendum file declares, as a Map id -> base64 public key (from
 * `manifest.observers`); observers accredited later on the board are not in it.
 */
export function declaredWitnesses(manifest) {
  const out = new Map();
  const list = manifest && Array.isArray(manifest.observers) ? manifest.observers : [];
  for (const o of list) {
    if (o && typeof o.id === 'string' && typeof o.public_key === 'string' && !out.has(o.id)) out.set(o.id, o.public_key);
  }
  return out;
}

function asWitnessMap(witnesses) {
  if (witnesses instanceof Map) return witnesses;
  const out = new Map();
  if (witnesses && typeof witnesses === 'object') {
    for (const [id, key] of Object.entries(witnesses)) if (typeof key === 'string') out.set(id, key);
  }
  return out;
}

/**
 * The largest checkpoint that at least `quorum` distinct witnesses cosigned, each with a
 * valid signature by the key `witnesses` gives for its id (a Map or object id -> base64
 * key: pass declaredWitnesses(manifest), never accredited observers). `cosignatures` are
 * JSON values (malformed ones are ignored). `opts.origin` keeps only checkpoints of that
 * log. Returns {checkpoint: {origin, size, root, time}, witnesses: [ids, sorted]} or null
 * when no checkpoint has the quorum (or `quorum` is not a positive integer: then the
 * referendum has no witnesses to rely on). Of two witnessed checkpoints of one size, the
 * later (then the larger root) wins. Never throws.
 */
export function witnessedCheckpoint(cosignatures, witnesses, quorum, opts = {}) {
  if (!Number.isSafeInteger(quorum) || quorum < 1 || !Array.isArray(cosignatures)) return null;
  const declared = asWitnessMap(witnesses);
  // Group by checkpoint (origin, size, root, time: Cosignature.about) before checking
  // any signature, then check the largest first: usually only `quorum` signatures.
  const groups = new Map();
  for (const cs of cosignatures) {
    let p;
    try {
      p = parseCosignature(cs);
    } catch {
      continue;
    }
    if (opts.origin !== undefined && p.checkpoint.origin !== opts.origin) continue;
    if (declared.get(p.witness) !== p.key) continue;
    const id = JSON.stringify([p.checkpoint.origin, p.checkpoint.size, p.checkpoint.root, p.checkpoint.time]);
    if (!groups.has(id)) groups.set(id, { checkpoint: p.checkpoint, by: [] });
    groups.get(id).by.push(p);
  }
  const order = [...groups.values()].sort((a, b) => {
    const x = a.checkpoint;
    const y = b.checkpoint;
    if (x.size !== y.size) return y.size - x.size;
    if (x.time !== y.time) return x.time < y.time ? 1 : -1;
    return x.root < y.root ? 1 : x.root > y.root ? -1 : 0;
  });
  for (const g of order) {
    const distinct = new Set(g.by.map((p) => p.witness));
    if (distinct.size < quorum) continue;
    const signed = new Set();
    for (const p of g.by) {
      if (!signed.has(p.witness) && signatureHolds(p)) signed.add(p.witness);
    }
    if (signed.size >= quorum) return { checkpoint: { ...g.checkpoint }, witnesses: [...signed].sort() };
  }
  return null;
}
