// The voting booth, as src/plebiscite/election/booth.py: encrypt every slot of each
// question (options, then blank if allowed) as 0 or 1, prove each is 0 or 1, prove the
// question's total lies in [min, max] (blank counting max), bind all proofs to the
// voter's credential, compute the tracking code. The voter then casts (signs with the
// credential) or challenges (reveals the nonces, anonymously).

import { b64decode, hexToBytes } from './bytes.js';
import * as codec from './codec.js';
import { encrypt } from './elgamal.js';
import { EntryError, publicKeyB64, sign } from './entries.js';
import { Group, GroupError, getGroup } from './group.js';
import { proveRange } from './proofs.js';
import {
  BLANK,
  TAG_OPTION,
  TAG_QUESTION,
  credentialSeed,
  isTrackingCode,
  optionBind,
  parseManifest,
  questionBind,
  questionTotal,
  questionTotalValue,
  questionValues,
  regionQuestions,
  trackingCode,
  validSelection,
} from './protocol.js';
import { compareCodePoints } from './canonical.js';

/** The voter's choices do not fit the question (or the booth's inputs are wrong). */
export class BallotError extends Error {
  constructor(message) {
    super(message);
    this.name = 'BallotError';
  }
}

function groupOf(group) {
  return group instanceof Group ? group : getGroup(group);
}

function contextBytes(contextHex) {
  let ctx;
  try {
    ctx = hexToBytes(contextHex);
  } catch {
    ctx = null;
  }
  if (!ctx || ctx.length !== 32 || contextHex !== contextHex.toLowerCase()) {
    throw new BallotError('the context hash must be 64 lowercase hex digits');
  }
  return ctx;
}

// Decoding the joint key checks membership and builds a fixed-base table: keep a few.
const keyCache = new Map();

/** The joint key as an element, membership-checked, not the identity, precomputed. */
export function jointKeyElement(group, jointKeyHex) {
  const g = groupOf(group);
  const id = `${g.name}:${jointKeyHex}`;
  let key = keyCache.get(id);
  if (key === undefined) {
    key = codec.element(g, jointKeyHex, 'joint key');
    if (g.isIdentity(key)) throw new BallotError('the joint key is the identity');
    g.precompute(key);
    if (keyCache.size >= 4) keyCache.delete(keyCache.keys().next().value);
    keyCache.set(id, key);
  }
  return key;
}

/** Base64 public credential of a voting credential (the secret string) for an election. */
export function publicCredential(electionId, credential) {
  return publicKeyB64(credentialSeed(electionId, credential));
}

/**
 * Encrypt and prove a ballot. Returns {data, nonces, choices}: `data` is exactly what
 * Python's encrypt_ballot produces (region, credential, answers, tracking_code,
 * replaces), `nonces` maps question id -> BigInt nonce per slot (never to leave the booth
 * unless challenged).
 *
 * options.replaces is the tracking code of the credential's head on the board (what this
 * ballot replaces; null, the default, for a first ballot). options.onProgress({done,
 * total}) is called after each proof; options.draw replaces the random scalars (tests).
 */
export function encryptBallot(group, manifest, contextHex, jointKeyHex, region, choices, credentialPubB64, options = {}) {
  const g = groupOf(group);
  const m = parseManifest(manifest);
  if (m.group !== g.name) {
    throw new BallotError(`the referendum uses ${m.group}, not ${g.name}`);
  }
  const context = contextBytes(contextHex);
  const key = jointKeyElement(g, jointKeyHex);
  try {
    if (b64decode(credentialPubB64).length !== 32) throw new Error();
  } catch {
    throw new BallotError('the public credential must be the base64 of 32 bytes');
  }
  if (!m.regions.has(region)) throw new BallotError(`unknown region ${JSON.stringify(region)}`);
  const draw = options.draw ?? (() => g.randomScalar());
  const onProgress = options.onProgress ?? (() => {});
  const choicesIn = choices ?? {};
  const questions = regionQuestions(m, region);
  const total = questions.reduce((n, q) => n + q.slots.length + 1, 0);
  let done = 0;
  const step = () => onProgress({ done: ++done, total });

  const answers = [];
  const ctsForCode = [];
  const nonces = {};
  for (const q of questions) {
    const chosen = Object.prototype.hasOwnProperty.call(choicesIn, q.id) ? [...choicesIn[q.id]] : [];
    if (!validSelection(q, chosen)) {
      throw new BallotError(`question ${JSON.stringify(q.id)}: ${JSON.stringify(chosen)} is not a valid answer`);
    }
    const rs = [];
    const cts = [];
    const slotsJson = [];
    for (const slot of q.slots) {
      const msg = chosen.includes(slot) ? 1 : 0;
      const r = draw();
      const ct = encrypt(g, key, msg, r);
      const proof = proveRange(g, TAG_OPTION, context, key, ct, r, msg, [0, 1], optionBind(credentialPubB64, region, q.id, slot), draw);
      rs.push(r);
      cts.push(ct);
      slotsJson.push({ ...codec.ctToJson(ct), proof: codec.rangeToJson(g, proof) });
      step();
    }
    const totalCt = questionTotal(g, q, cts);
    let rTotal = 0n;
    q.slots.forEach((s, i) => {
      rTotal += rs[i] * BigInt(s === BLANK ? q.max : 1);
    });
    const qproof = proveRange(
      g,
      TAG_QUESTION,
      context,
      key,
      totalCt,
      rTotal % g.q,
      questionTotalValue(q, chosen),
      questionValues(q),
      questionBind(credentialPubB64, region, q.id),
      draw,
    );
    step();
    answers.push({ question: q.id, choices: slotsJson, proof: codec.rangeToJson(g, qproof) });
    ctsForCode.push([q.id, cts]);
    nonces[q.id] = rs;
  }
  const data = {
    region,
    credential: credentialPubB64,
    answers,
    tracking_code: trackingCode(context, region, ctsForCode),
    replaces: replacesOf(options.replaces ?? null),
  };
  const outChoices = {};
  for (const [k, v] of Object.entries(choicesIn)) outChoices[k] = [...v];
  return { data, nonces, choices: outChoices };
}

function replacesOf(code) {
  if (code !== null && !isTrackingCode(code)) {
    throw new BallotError('replaces must be null or a tracking code (64 lowercase hex digits)');
  }
  return code;
}

/**
 * Sign the ballot with the voter's credential; the nonces are dropped. `replaces`
 * (optional) signs the same encryption to replace another head, e.g. the one a 409
 * "stale" answer names: same ciphertexts, proofs and tracking code.
 */
export function castSubmission(ballot, electionId, credential, replaces = undefined) {
  const seed = credentialSeed(electionId, credential);
  if (publicKeyB64(seed) !== ballot.data.credential) {
    throw new BallotError('this credential is not the one the ballot was encrypted for');
  }
  const data = replaces === undefined ? ballot.data : { ...ballot.data, replaces: replacesOf(replaces) };
  return sign('ballot', data, electionId, seed);
}

/** The anonymous challenged ballot: ciphertexts, nonces and claimed choices only. */
export function challengeSubmission(group, ballot) {
  const g = groupOf(group);
  const answers = ballot.data.answers.map((a) => {
    const qid = a.question;
    const claimed = Object.prototype.hasOwnProperty.call(ballot.choices, qid) ? [...ballot.choices[qid]] : [];
    return {
      question: qid,
      ciphertexts: a.choices.map((c) => ({ alpha: c.alpha, beta: c.beta })),
      nonces: ballot.nonces[qid].map((r) => g.scalarHex(r)),
      choices: claimed.sort(compareCodePoints),
    };
  });
  return {
    type: 'challenged_ballot',
    data: { region: ballot.data.region, answers, tracking_code: ballot.data.tracking_code },
    signer: null,
    signature: null,
  };
}

/**
 * Open a challenged ballot's data (the `data` of a challenged_ballot submission) with its
 * nonces, for the booth to show what the ciphertexts hold. Mirrors the verifier's check:
 * returns {ok, problem, region, tracking_code, answers: [{question, choices}]}, where
 * `choices` are the slots that decrypt to 1 and `problem` says the first thing wrong
 * (null when the ballot opens to its claimed choices and its tracking code matches).
 */
export function openChallenged(group, manifest, contextHex, jointKeyHex, data) {
  const g = groupOf(group);
  const m = parseManifest(manifest);
  const context = contextBytes(contextHex);
  const key = jointKeyElement(g, jointKeyHex);
  const result = { ok: false, problem: null, region: data?.region, tracking_code: data?.tracking_code, answers: [] };
  const fail = (problem) => ({ ...result, problem });
  try {
    if (data === null || typeof data !== 'object' || Object.keys(data).sort().join() !== 'answers,region,tracking_code') {
      return fail('expected keys answers, region, tracking_code');
    }
    if (!m.regions.has(data.region)) return fail(`unknown region ${JSON.stringify(data.region)}`);
    const qs = regionQuestions(m, data.region);
    if (!Array.isArray(data.answers) || data.answers.length !== qs.length) {
      return fail('expected one answer per question of the region');
    }
    const ctsForCode = [];
    for (let i = 0; i < qs.length; i++) {
      const q = qs[i];
      const a = data.answers[i];
      if (a === null || typeof a !== 'object' || Object.keys(a).sort().join() !== 'choices,ciphertexts,nonces,question') {
        return fail('answer: expected keys choices, ciphertexts, nonces, question');
      }
      if (a.question !== q.id) return fail(`answers out of order (expected ${JSON.stringify(q.id)})`);
      if (!Array.isArray(a.ciphertexts) || !Array.isArray(a.nonces) || a.ciphertexts.length !== q.slots.length || a.nonces.length !== q.slots.length) {
        return fail(`question ${JSON.stringify(q.id)}: expected ${q.slots.length} ciphertexts and nonces`);
      }
      const opened = [];
      const cts = [];
      for (let j = 0; j < q.slots.length; j++) {
        const ct = codec.ctFromJson(g, a.ciphertexts[j]);
        const r = codec.scalar(g, a.nonces[j]);
        if (!g.gPow(r).equals(ct.alpha)) {
          return fail(`question ${JSON.stringify(q.id)} option ${JSON.stringify(q.slots[j])}: the nonce does not match`);
        }
        const mask = g.div(ct.beta, g.pow(key, r));
        if (g.isIdentity(mask)) {
          // 0
        } else if (mask.equals(g.generator())) {
          opened.push(q.slots[j]);
        } else {
          return fail(`question ${JSON.stringify(q.id)} option ${JSON.stringify(q.slots[j])}: holds neither 0 nor 1`);
        }
        cts.push(ct);
      }
      result.answers.push({ question: q.id, choices: opened });
      ctsForCode.push([q.id, cts]);
      const claimed = a.choices;
      if (!Array.isArray(claimed) || !validSelection(q, claimed)) {
        return fail(`question ${JSON.stringify(q.id)}: claimed choices are not a valid answer`);
      }
      if (claimed.join('\u0000') !== [...claimed].sort(compareCodePoints).join('\u0000')) {
        return fail(`question ${JSON.stringify(q.id)}: claimed choices not sorted`);
      }
      if (q.slots.some((s) => claimed.includes(s) !== opened.includes(s))) {
        return fail(`question ${JSON.stringify(q.id)}: does not open to the claimed choices`);
      }
    }
    if (trackingCode(context, data.region, ctsForCode) !== data.tracking_code) {
      return fail('tracking code does not match ciphertexts');
    }
  } catch (exc) {
    if (exc instanceof EntryError || exc instanceof GroupError) return fail(exc.message);
    throw exc;
  }
  return { ...result, ok: true };
}

/** A ballot as plain JSON (nonces as scalar hex), e.g. to pass between worker and page. */
export function ballotToJson(group, ballot) {
  const g = groupOf(group);
  const nonces = {};
  for (const [k, rs] of Object.entries(ballot.nonces)) nonces[k] = rs.map((r) => g.scalarHex(r));
  return { data: ballot.data, nonces, choices: ballot.choices };
}

export function ballotFromJson(group, json) {
  const g = groupOf(group);
  const nonces = {};
  for (const [k, rs] of Object.entries(json.nonces)) nonces[k] = rs.map((r) => codec.scalar(g, r));
  return { data: json.data, nonces, choices: json.choices };
}
