// Checking one ballot's data as the verifier does (src/plebiscite/record/protocol.py
// parse_ballot, src/plebiscite/verify/ballots.py check_ballot): shape, membership and
// range of every value, every proof, the tracking code. The booth may check its own
// ballot before showing the tracking code; the tests check JS ballots with it.

import * as codec from './codec.js';
import { EntryError, b64decodeChecked } from './entries.js';
import { GroupError } from './group.js';
import { verifyRange } from './proofs.js';
import {
  TAG_OPTION,
  TAG_QUESTION,
  isTrackingCode,
  optionBind,
  parseManifest,
  questionBind,
  questionTotal,
  questionValues,
  regionQuestions,
  trackingCode,
} from './protocol.js';
import { hexToBytes } from './bytes.js';

function keysAre(d, keys, what) {
  if (d === null || typeof d !== 'object' || Array.isArray(d) || Object.keys(d).sort().join() !== [...keys].sort().join()) {
    throw new EntryError(`${what}: expected keys ${[...keys].sort().join(', ')}`);
  }
  return d;
}

/** Decode a ballot's data, checking shape, membership and range (not proofs). */
export function parseBallot(group, manifest, data) {
  const m = parseManifest(manifest);
  const d = keysAre(data, ['region', 'credential', 'answers', 'tracking_code', 'replaces'], 'ballot');
  if (typeof d.region !== 'string' || !m.regions.has(d.region)) {
    throw new EntryError(`ballot: unknown region ${JSON.stringify(d.region)}`);
  }
  b64decodeChecked(d.credential, 32, 'ballot credential');
  const questions = regionQuestions(m, d.region);
  if (!Array.isArray(d.answers) || d.answers.length !== questions.length) {
    throw new EntryError('ballot: expected one answer per question of the region');
  }
  const answers = questions.map((q, i) => {
    const a = keysAre(d.answers[i], ['question', 'choices', 'proof'], 'ballot answer');
    if (a.question !== q.id) throw new EntryError(`ballot: answers out of order (expected ${JSON.stringify(q.id)})`);
    if (!Array.isArray(a.choices) || a.choices.length !== q.slots.length) {
      throw new EntryError(`ballot: question ${JSON.stringify(q.id)} needs ${q.slots.length} ciphertexts`);
    }
    const cts = [];
    const proofs = [];
    for (const c of a.choices) {
      const co = keysAre(c, ['alpha', 'beta', 'proof'], 'ballot choice');
      cts.push(codec.ctFromJson(group, { alpha: co.alpha, beta: co.beta }));
      proofs.push(codec.rangeFromJson(group, co.proof));
    }
    return { question: q, ciphertexts: cts, optionProofs: proofs, proof: codec.rangeFromJson(group, a.proof) };
  });
  if (typeof d.tracking_code !== 'string') throw new EntryError('ballot: tracking_code must be a string');
  if (d.replaces !== null && !isTrackingCode(d.replaces)) {
    throw new EntryError('ballot: replaces must be null or a tracking code (64 lowercase hex)');
  }
  return { region: d.region, credential: d.credential, answers, trackingCode: d.tracking_code, replaces: d.replaces };
}

/**
 * What is wrong with a ballot's data, as a list of {kind, message} ("wellformed",
 * "proofs", "tracking"); empty when it is a good ballot.
 */
export function checkBallot(group, manifest, contextHex, jointKey, data) {
  const context = hexToBytes(contextHex);
  const key = typeof jointKey === 'string' ? codec.element(group, jointKey, 'joint key') : jointKey;
  let ballot;
  try {
    ballot = parseBallot(group, manifest, data);
  } catch (exc) {
    if (exc instanceof EntryError || exc instanceof GroupError) return [{ kind: 'wellformed', message: exc.message }];
    throw exc;
  }
  const out = [];
  const problem = (() => {
    for (const a of ballot.answers) {
      const q = a.question;
      for (let i = 0; i < q.slots.length; i++) {
        const bind = optionBind(ballot.credential, ballot.region, q.id, q.slots[i]);
        if (!verifyRange(group, TAG_OPTION, context, key, a.ciphertexts[i], a.optionProofs[i], [0, 1], bind)) {
          return `question ${JSON.stringify(q.id)} option ${JSON.stringify(q.slots[i])}: 0/1 proof fails`;
        }
      }
      const total = questionTotal(group, q, a.ciphertexts);
      const bind = questionBind(ballot.credential, ballot.region, q.id);
      if (!verifyRange(group, TAG_QUESTION, context, key, total, a.proof, questionValues(q), bind)) {
        return `question ${JSON.stringify(q.id)}: proof of ${q.min}..${q.max} selections fails`;
      }
    }
    return null;
  })();
  if (problem) out.push({ kind: 'proofs', message: problem });
  const code = trackingCode(context, ballot.region, ballot.answers.map((a) => [a.question.id, a.ciphertexts]));
  if (code !== ballot.trackingCode) out.push({ kind: 'tracking', message: 'tracking code does not match ciphertexts' });
  return out;
}
