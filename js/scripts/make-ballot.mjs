#!/usr/bin/env node
// Encrypt a ballot in JavaScript for a Python test: reads a JSON spec on stdin,
//   {group, manifest, contextHex, jointKeyHex, region, choices, credential, electionId,
//    output?: "cast" (default) | "challenge" | "ballot" | "all",
//    draws?: [64-hex scalars]}
// and prints on stdout (canonical JSON, one line):
//   cast:      the signed "ballot" submission {type, data, signer, signature}
//   challenge: the anonymous "challenged_ballot" submission
//   ballot:    {data, nonces (hex), choices}
//   all:       {ballot, cast, challenge}
// `draws` replaces the random scalars, in the order Python's booth draws them (per slot:
// the nonce, then the 0/1 proof's w, c, s; per question: the range proof's w, then c_j,
// s_j per simulated branch), so the output can be compared byte for byte with Python's.
// Exit status 1 and a message on stderr when the spec is refused.

import {
  ballotToJson,
  canonicalJson,
  castSubmission,
  challengeSubmission,
  codec,
  encryptBallot,
  getGroup,
  publicCredential,
} from '../src/index.js';

async function readStdin() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

try {
  const spec = JSON.parse(await readStdin());
  const group = getGroup(spec.group);
  let draw;
  if (spec.draws) {
    const draws = spec.draws.map((h) => codec.scalar(group, h));
    let i = 0;
    draw = () => {
      if (i >= draws.length) throw new Error('the booth drew more scalars than given');
      return draws[i++];
    };
    draw.left = () => draws.length - i;
  }
  const pub = publicCredential(spec.electionId, spec.credential);
  const ballot = encryptBallot(group, spec.manifest, spec.contextHex, spec.jointKeyHex, spec.region, spec.choices, pub, { draw });
  if (draw && draw.left() !== 0) throw new Error(`${draw.left()} draws left unused`);
  const output = spec.output ?? 'cast';
  let out;
  if (output === 'cast') out = castSubmission(ballot, spec.electionId, spec.credential);
  else if (output === 'challenge') out = challengeSubmission(group, ballot);
  else if (output === 'ballot') out = ballotToJson(group, ballot);
  else if (output === 'all') {
    out = {
      ballot: ballotToJson(group, ballot),
      cast: castSubmission(ballot, spec.electionId, spec.credential),
      challenge: challengeSubmission(group, ballot),
    };
  } else throw new Error(`unknown output ${JSON.stringify(output)}`);
  process.stdout.write(canonicalJson(out) + '\n');
} catch (exc) {
  process.stderr.write(`make-ballot: ${exc?.message ?? exc}\n`);
  process.exit(1);
}
