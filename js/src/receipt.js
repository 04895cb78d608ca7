// Checking a voter's receipt in the browser, as src/plebiscite/verify/receipt.py: the
// receipt's checkpoint is the board's (signature), the inclusion proof puts the entry
// under its root, the board still has that entry at that index (when the entry is
// given), and the board's latest checkpoint is consistent with the receipt's (when
// given). Problems come back as codes for the page to translate.

import { canonicalBytes } from './canonical.js';
import { bytesToHex, equalBytes, hexToBytes } from './bytes.js';
import { checkpointProblem, verifyCheckpoint } from './checkpoint.js';
import { leafHash, verifyConsistency, verifyInclusion } from './merkle.js';

const NEED = ['checkpoint', 'entry_hash', 'inclusion_proof', 'index', 'tracking_code', 'type'];

/** Why this is not a receipt (a string), or null when it has a receipt's shape. */
export function receiptProblem(receipt) {
  if (receipt === null || typeof receipt !== 'object' || Array.isArray(receipt)) return 'a receipt is a JSON object';
  const missing = NEED.filter((k) => !Object.prototype.hasOwnProperty.call(receipt, k));
  if (missing.length) return `a receipt has the keys ${NEED.join(', ')} (missing ${missing.join(', ')})`;
  const cp = checkpointProblem(receipt.checkpoint);
  if (cp) return `malformed receipt: ${cp}`;
  if (!Array.isArray(receipt.inclusion_proof) || !receipt.inclusion_proof.every((h) => typeof h === 'string' && /^[0-9a-f]{64}$/.test(h))) {
    return 'malformed receipt: inclusion_proof';
  }
  if (typeof receipt.entry_hash !== 'string' || !/^[0-9a-f]{64}$/.test(receipt.entry_hash)) return 'malformed receipt: entry_hash';
  if (!Number.isSafeInteger(receipt.index) || receipt.index < 0) return 'malformed receipt: index';
  return null;
}

/** The leaf hash (hex) of an entry given as its JSON value or its canonical bytes. */
export function entryLeafHash(entry) {
  const raw = entry instanceof Uint8Array ? entry : canonicalBytes(entry);
  return bytesToHex(leafHash(raw));
}

/**
 * Check a receipt. `boardKey`: the board's Ed25519 key (base64 or 32 bytes). Optional
 * `opts.entry` (the board's entry at the receipt's index: JSON value or canonical bytes;
 * null when the board has none), `opts.latest` (the board's latest checkpoint, JSON) with
 * `opts.consistency` (hex proof from the receipt's size to the latest's).
 * Returns {problems: [code...], checks: {signature, inclusion, entry, consistency}}
 * where a check is true, false, or null when it was not run.
 */
export function checkReceipt(receipt, boardKey, opts = {}) {
  const checks = { signature: null, inclusion: null, entry: null, consistency: null };
  const problems = [];
  const shape = receiptProblem(receipt);
  if (shape) return { problems: ['malformed'], detail: shape, checks };
  const cp = receipt.checkpoint;
  checks.signature = verifyCheckpoint(cp, boardKey);
  if (!checks.signature) problems.push('checkpoint_signature');
  checks.inclusion = verifyInclusion(receipt.entry_hash, receipt.index, cp.size, receipt.inclusion_proof, cp.root);
  if (!checks.inclusion) problems.push('inclusion');
  if ('entry' in opts) {
    if (opts.entry == null) {
      checks.entry = false;
      problems.push('entry_missing');
    } else {
      let ok = false;
      try {
        ok = equalBytes(hexToBytes(entryLeafHash(opts.entry)), hexToBytes(receipt.entry_hash));
      } catch {
        ok = false;
      }
      if (!ok) problems.push('entry_mismatch');
      else {
        let code = null;
        try {
          const e = opts.entry instanceof Uint8Array ? JSON.parse(new TextDecoder().decode(opts.entry)) : opts.entry;
          code = e?.data?.tracking_code ?? null;
        } catch {
          code = null;
        }
        if (code !== receipt.tracking_code) {
          ok = false;
          problems.push('tracking_code');
        }
      }
      checks.entry = ok;
    }
  }
  if (opts.latest !== undefined) {
    const latest = opts.latest;
    if (!verifyCheckpoint(latest, boardKey)) {
      problems.push('latest_signature');
      checks.consistency = false;
    } else if (latest.origin !== cp.origin) {
      problems.push('other_board');
      checks.consistency = false;
    } else if (latest.size < cp.size || !verifyConsistency(cp.size, cp.root, latest.size, latest.root, opts.consistency ?? [])) {
      problems.push('consistency');
      checks.consistency = false;
    } else {
      checks.consistency = true;
    }
  }
  return { problems, checks };
}
