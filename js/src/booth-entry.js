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
} from './protocol.js';
export { hashParts, challenge, encodePart } from './hashing.js';
export { checkBallot, parseBallot } from './check.js';

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
