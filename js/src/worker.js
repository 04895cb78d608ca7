// Web Worker entry (bundled to static/js/worker.js): encrypts and proves a ballot off
// the page's thread.
//
// Message in:  {id?, manifest, group, contextHex, jointKeyHex, region, choices,
//               credential, electionId, replaces?}
//   (credential is the voter's secret credential string; its public key is derived here;
//   replaces is the tracking code of the credential's head on the board, null or absent
//   for a first ballot)
// Messages out: {id, type: "progress", done, total}, ... then either
//   {id, type: "ballot", trackingCode, ballot: {data, nonces (hex), choices},
//    cast: the signed "ballot" submission, challenge: the anonymous "challenged_ballot"
//    submission}
//   or {id, type: "error", name, message}.
// The page shows the tracking code, then posts `cast` or `challenge` as the voter decides;
// it must never post both (posting a challenge reveals the nonces).

import {
  ballotToJson,
  castSubmission,
  challengeSubmission,
  encryptBallot,
  publicCredential,
} from './booth.js';
import { getGroup } from './group.js';

export function handle(msg, post) {
  const id = msg?.id ?? null;
  try {
    const group = getGroup(msg.group);
    const pub = publicCredential(msg.electionId, msg.credential);
    const ballot = encryptBallot(
      group,
      msg.manifest,
      msg.contextHex,
      msg.jointKeyHex,
      msg.region,
      msg.choices,
      pub,
      {
        replaces: msg.replaces ?? null,
        onProgress: ({ done, total }) => post({ id, type: 'progress', done, total }),
      },
    );
    post({
      id,
      type: 'ballot',
      trackingCode: ballot.data.tracking_code,
      ballot: ballotToJson(group, ballot),
      cast: castSubmission(ballot, msg.electionId, msg.credential),
      challenge: challengeSubmission(group, ballot),
    });
  } catch (exc) {
    post({ id, type: 'error', name: exc?.name ?? 'Error', message: String(exc?.message ?? exc) });
  }
}

if (typeof self !== 'undefined' && typeof self.postMessage === 'function' && typeof window === 'undefined') {
  self.onmessage = (ev) => handle(ev.data, (m) => self.postMessage(m));
}
