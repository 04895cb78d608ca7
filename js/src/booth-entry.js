// The page's entry point (bundled to static/js/booth.js): the booth functions, the
// pieces a page needs to show and check what it does, and a helper to run the
// encryption in the Web Worker (static/js/worker.js) so the page never blocks.

export {
  encryptBallot,
  castSubmission,
  challengeSubmission,
  openChallenged,
  publicCredential,
  ballotToJson,
  ballotFromJson,
  BallotError,
} from './booth.js';
export { getGroup, GROUP_NAMES, GroupError } from './group.js';
export { canonicalJson, canonicalBytes } from './canonical.js';
export { signedMessage, sign, verifySignature } from './entries.js';
export {
  credentialSeed,
  isWellFormedCredential,
  normaliseCredential,
  parseManifest,
  regionQuestions,
  validSelection,
  trackingCode,
  questionTotal,
  isTrackingCode,
  RevoteChains,
} from './protocol.js';
export { hashParts, challenge, encodePart } from './hashing.js';
export { checkBallot, parseBallot } from './check.js';
// What the pages check in the browser: receipts, inclusion and consistency proofs,
// checkpoint signatures, the witnesses' cosignatures, and the digests of the files the
// server serves.
export { leafHash, nodeHash, verifyInclusion, verifyConsistency, EMPTY_ROOT } from './merkle.js';
export { checkpointBody, checkpointProblem, verifyCheckpoint } from './checkpoint.js';
export { checkReceipt, receiptProblem, entryLeafHash } from './receipt.js';
export {
  cosignatureProblem,
  cosignedMessage,
  declaredWitnesses,
  parseCosignatures,
  verifyCosignature,
  witnessedCheckpoint,
} from './cosign.js';
export { bytesToHex, hexToBytes, utf8 } from './bytes.js';

import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex as _hex } from './bytes.js';

/** SHA-256 (lowercase hex) of bytes: works where crypto.subtle does not (plain http). */
export function sha256Hex(bytes) {
  return _hex(sha256(bytes));
}

/**
 * Encrypt in a worker: resolves with the worker's result message
 * ({type: "ballot", ballot, trackingCode, cast, challenge}); `onProgress({done, total})`.
 * `workerUrl` is the URL of the bundled worker.js.
 */
export function encryptInWorker(workerUrl, request, onProgress = () => {}) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(workerUrl);
    worker.onmessage = (ev) => {
      const msg = ev.data;
      if (msg.type === 'progress') onProgress(msg);
      else {
        worker.terminate();
        if (msg.type === 'error') reject(new Error(msg.message));
        else resolve(msg);
      }
    };
    worker.onerror = (ev) => {
      worker.terminate();
      reject(new Error(ev.message || 'worker failed'));
    };
    worker.postMessage(request);
  });
}
