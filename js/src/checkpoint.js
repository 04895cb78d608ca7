// Signed checkpoints of the board, as src/plebiscite/board/checkpoint.py: the signed
// body is plain text, one field a line,
//
//   plebiscite-checkpoint/v1\n<origin>\n<size in decimal>\n<root in lowercase hex>\n<time>\n
//
// signed with Ed25519 (RFC 8032, strict encodings as Python's `cryptography`). The JSON
// form is {origin, size, root (hex), time, signature (padded standard base64)}.

import { ed25519 } from '@noble/curves/ed25519.js';
import { b64decode, utf8 } from './bytes.js';

export const CHECKPOINT_HEADER = 'plebiscite-checkpoint/v1\n';
const KEYS = ['origin', 'root', 'signature', 'size', 'time'];

/** Why a checkpoint's JSON form is malformed, or null when it is well formed. */
export function checkpointProblem(cp) {
  if (cp === null || typeof cp !== 'object' || Array.isArray(cp)) return 'checkpoint must be a JSON object';
  if (Object.keys(cp).sort().join() !== KEYS.join()) return `checkpoint keys must be ${KEYS.join(', ')}`;
  for (const name of ['origin', 'time']) {
    const v = cp[name];
    if (typeof v !== 'string' || !v) return `checkpoint ${name} must be a non-empty string`;
    if (v.includes('\n') || v.includes('\r')) return `checkpoint ${name} must not contain a line break`;
    if (/[\ud800-\udfff]/.test(v.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ''))) {
      return `checkpoint ${name} is not valid Unicode`;
    }
  }
  if (typeof cp.size !== 'number' || !Number.isSafeInteger(cp.size) || cp.size < 0) {
    return 'checkpoint size must be a non-negative integer';
  }
  if (typeof cp.root !== 'string' || !/^[0-9a-f]{64}$/.test(cp.root)) {
    return 'checkpoint root must be 64 lowercase hex digits (32 bytes)';
  }
  if (typeof cp.signature !== 'string' || !/^[A-Za-z0-9+/]{86}==$/.test(cp.signature)) {
    return 'checkpoint signature must be 64 bytes in padded standard base64';
  }
  try {
    b64decode(cp.signature);
  } catch {
    return 'checkpoint signature must be 64 bytes in canonical base64';
  }
  return null;
}

/** The exact bytes a checkpoint's signature covers. */
export function checkpointBody(cp) {
  return utf8(`${CHECKPOINT_HEADER}${cp.origin}\n${cp.size}\n${cp.root}\n${cp.time}\n`);
}

/**
 * True iff the checkpoint (JSON form) is well formed and signed by the board key (raw 32
 * bytes, or its standard base64 as the referendum entry publishes it). Never throws.
 */
export function verifyCheckpoint(cp, boardKey) {
  try {
    if (checkpointProblem(cp) !== null) return false;
    const key = typeof boardKey === 'string' ? b64decode(boardKey) : boardKey;
    if (!(key instanceof Uint8Array) || key.length !== 32) return false;
    return ed25519.verify(b64decode(cp.signature), checkpointBody(cp), key, { zip215: false });
  } catch {
    return false;
  }
}

