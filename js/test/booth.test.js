// Round trips: proofs made in JS verify in JS, JS-encrypted ballots check as the
// verifier checks them (proofs, tracking code), cast signatures verify, challenged
// ballots open; the worker's message handler; one ballot's time per group.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

import {
  BallotError,
  GROUP_NAMES,
  ballotFromJson,
  ballotToJson,
  bytesToHex,
  castSubmission,
  challengeSubmission,
  checkBallot,
  codec,
  contextHash,
  decryptWithSecret,
  encrypt,
  encryptBallot,
  getGroup,
  openChallenged,
  proveEquality,
  proveRange,
  proveSchnorr,
  publicCredential,
  regionQuestions,
  parseManifest,
  sign,
  signedMessage,
  threshold,
  verifyEquality,
  verifyRange,
  verifySchnorr,
  verifySignature,
  canonicalJson,
  utf8,
  hashParts,
} from '../src/index.js';
import { handle } from '../src/worker.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const DEMO = JSON.parse(readFileSync(path.join(here, '../../src/plebiscite/data/demo-referendum.json'), 'utf8'));
const ELECTION = 'a'.repeat(64);
const CRED = 'E6VXP-D4XN5-KEGMU-2J2WC-QCQU6';

/** A key ceremony in miniature: 3 guardians, quorum 2; the joint secret for checking. */
function setup(name, manifest = DEMO) {
  const g = getGroup(name);
  const polys = [0, 1, 2].map(() => [g.randomScalar(), g.randomScalar()]);
  const commitments = polys.map((p) => threshold.commit(g, p));
  const joint = threshold.jointKey(g, commitments);
  const secret = polys.reduce((acc, p) => acc + p[0], 0n) % g.q;
  const ctx = contextHash(g, ELECTION, 2, commitments, joint);
  return { g, manifest: { ...manifest, group: name }, contextHex: bytesToHex(ctx), keyHex: joint.hex(), secret };
}

function decryptSlots(s, data) {
  return data.answers.map((a) =>
    a.choices.map((c) => decryptWithSecret(s.g, s.secret, codec.ctFromJson(s.g, { alpha: c.alpha, beta: c.beta }), 1)),
  );
}

const MULTI = {
  title: 'multi',
  questions: [
    { id: 'pick', text: 'Pick up to two', options: ['a', 'b', 'c', 'd'], min: 0, max: 2, blank: true },
    { id: 'rank', text: 'Exactly two', options: ['x', 'y', 'z'], min: 2, max: 2 },
    { id: 'one', text: 'Defaults', options: ['only'] },
  ],
  regions: [{ id: 'r1', name: 'R1', questions: ['rank', 'pick', 'one'] }],
  opens: '2027-01-01T00:00:00Z',
  closes: '2027-01-02T00:00:00Z',
  guardians: { count: 3, quorum: 2 },
};

for (const name of GROUP_NAMES) {
  test(`${name}: proofs made in JS verify in JS`, () => {
    const g = getGroup(name);
    const ctx = hashParts('plebiscite/v1/test-context', name);
    const other = hashParts('plebiscite/v1/test-context', 'other');
    const x = g.randomScalar();
    const X = g.gPow(x);
    const sp = proveSchnorr(g, 'plebiscite/v1/test', ctx, x, X, ['guardian-1', 0]);
    assert.ok(verifySchnorr(g, 'plebiscite/v1/test', ctx, X, sp, ['guardian-1', 0]));
    assert.ok(!verifySchnorr(g, 'plebiscite/v1/test', other, X, sp, ['guardian-1', 0]));
    assert.ok(!verifySchnorr(g, 'plebiscite/v1/test', ctx, X, sp, ['guardian-1', 1]));
    assert.ok(!verifySchnorr(g, 'plebiscite/v1/test', ctx, X, { ...sp, response: (sp.response + 1n) % g.q }, ['guardian-1', 0]));
    const roundTrip = codec.schnorrFromJson(g, codec.schnorrToJson(g, sp));
    assert.ok(verifySchnorr(g, 'plebiscite/v1/test', ctx, X, roundTrip, ['guardian-1', 0]));

    const A = g.gPow(g.randomScalar());
    const M = g.pow(A, x);
    const ep = proveEquality(g, 'plebiscite/v1/decryption-share', ctx, x, g.generator(), X, A, M, ['g', 'r', 'q', 's']);
    assert.ok(verifyEquality(g, 'plebiscite/v1/decryption-share', ctx, g.generator(), X, A, M, ep, ['g', 'r', 'q', 's']));
    assert.ok(!verifyEquality(g, 'plebiscite/v1/decryption-share', ctx, g.generator(), X, A, g.mul(M, g.generator()), ep, ['g', 'r', 'q', 's']));

    const key = g.gPow(g.randomScalar());
    for (const [values, m] of [[[0, 1], 0], [[0, 1], 1], [[1, 2, 3], 2], [[0, 1, 2, 3, 4], 4], [[2], 2]]) {
      const r = g.randomScalar();
      const ct = encrypt(g, key, m, r);
      for (const generic of [false, true]) {
        const p = proveRange(g, 'plebiscite/v1/ballot-question', ctx, key, ct, r, m, values, ['c', 'r', 'q'], undefined, { generic });
        assert.ok(verifyRange(g, 'plebiscite/v1/ballot-question', ctx, key, ct, p, values, ['c', 'r', 'q']));
        assert.ok(!verifyRange(g, 'plebiscite/v1/ballot-question', ctx, key, ct, p, values, ['c', 'r', 'q2']));
        const bumped = { alpha: ct.alpha, beta: g.mul(ct.beta, g.generator()) };
        assert.ok(!verifyRange(g, 'plebiscite/v1/ballot-question', ctx, key, bumped, p, values, ['c', 'r', 'q']));
        const rt = codec.rangeFromJson(g, codec.rangeToJson(g, p));
        assert.ok(verifyRange(g, 'plebiscite/v1/ballot-question', ctx, key, ct, rt, values, ['c', 'r', 'q']));
      }
      assert.throws(() => proveRange(g, 'x', ctx, key, ct, r, 7, values), RangeError);
    }
  });

  test(`${name}: a JS ballot checks, casts, challenges and opens`, () => {
    const s = setup(name);
    const pub = publicCredential(ELECTION, CRED);
    const choices = { status: ['yes'], capital: ['lerwick'] };
    const progress = [];
    const t0 = performance.now();
    const ballot = encryptBallot(s.g, s.manifest, s.contextHex, s.keyHex, 'orkney', choices, pub, {
      onProgress: (p) => progress.push(p),
    });
    const ms = performance.now() - t0;
    console.log(`# ${name}: one demo ballot (2 questions: 2 options + blank, 3 options) encrypted in ${ms.toFixed(0)} ms (first, with key tables)`);
    assert.deepEqual(progress.at(-1), { done: 8, total: 8 });

    // The shape Python's encrypt_ballot produces.
    const d = ballot.data;
    assert.deepEqual(Object.keys(d).sort(), ['answers', 'credential', 'region', 'replaces', 'tracking_code']);
    assert.equal(d.replaces, null);
    assert.equal(d.region, 'orkney');
    assert.equal(d.credential, pub);
    assert.deepEqual(d.answers.map((a) => a.question), ['status', 'capital']);
    for (const a of d.answers) {
      assert.deepEqual(Object.keys(a), ['question', 'choices', 'proof']);
      for (const c of a.choices) {
        assert.deepEqual(Object.keys(c), ['alpha', 'beta', 'proof']);
        assert.equal(c.proof.length, 2);
        for (const br of c.proof) assert.deepEqual(Object.keys(br), ['a', 'b', 'c', 's']);
      }
      assert.equal(a.proof.length, 1);
    }
    assert.equal(d.answers[0].choices.length, 3);
    assert.equal(d.answers[1].choices.length, 3);
    assert.match(d.tracking_code, /^[0-9a-f]{64}$/);
    assert.deepEqual(checkBallot(s.g, s.manifest, s.contextHex, s.keyHex, d), []);
    assert.deepEqual(decryptSlots(s, d), [[1, 0, 0], [0, 1, 0]]);
    assert.deepEqual(ballot.choices, choices);
    assert.equal(ballot.nonces.status.length, 3);

    // Canonical JSON of the data is stable under a JSON round trip.
    assert.equal(canonicalJson(JSON.parse(JSON.stringify(d))), canonicalJson(d));

    // Cast: signed by the credential's key over the canonical message.
    const sub = castSubmission(ballot, ELECTION, CRED);
    assert.deepEqual(Object.keys(sub), ['type', 'data', 'signer', 'signature']);
    assert.equal(sub.type, 'ballot');
    assert.equal(sub.signer, pub);
    assert.ok(verifySignature(sub, ELECTION));
    assert.ok(!verifySignature(sub, 'b'.repeat(64)));
    assert.ok(!verifySignature({ ...sub, data: { ...sub.data, region: 'lewis' } }, ELECTION));
    assert.throws(() => castSubmission(ballot, ELECTION, 'ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZ'), BallotError);
    // Credential normalisation: the same credential typed loosely signs the same.
    assert.ok(verifySignature(castSubmission(ballot, ELECTION, ' e6vxp d4xn5-kegmu 2j2wc-qcqu6\n'), ELECTION));
    // Signed again on another head (a 409 "stale"): same encryption and tracking code,
    // `replaces` signed with the rest; a head that is no tracking code is refused.
    const head = 'ab'.repeat(32);
    const again = castSubmission(ballot, ELECTION, CRED, head);
    assert.equal(again.data.replaces, head);
    assert.equal(again.data.tracking_code, d.tracking_code);
    assert.deepEqual(again.data.answers, d.answers);
    assert.ok(verifySignature(again, ELECTION));
    assert.ok(!verifySignature({ ...again, data: { ...again.data, replaces: null } }, ELECTION));
    assert.deepEqual(checkBallot(s.g, s.manifest, s.contextHex, s.keyHex, again.data), []);
    assert.throws(() => castSubmission(ballot, ELECTION, CRED, 'AB'.repeat(32)), BallotError);
    assert.equal(d.replaces, null); // the ballot itself is unchanged
    const chained = encryptBallot(s.g, s.manifest, s.contextHex, s.keyHex, 'orkney', choices, pub, { replaces: head });
    assert.equal(chained.data.replaces, head);
    assert.deepEqual(checkBallot(s.g, s.manifest, s.contextHex, s.keyHex, { ...d, replaces: 7 }).length, 1);

    // Challenge: anonymous, opens to the claimed choices, shows the same tracking code.
    const ch = challengeSubmission(s.g, ballot);
    assert.equal(ch.type, 'challenged_ballot');
    assert.equal(ch.signer, null);
    assert.equal(ch.signature, null);
    assert.deepEqual(Object.keys(ch.data).sort(), ['answers', 'region', 'tracking_code']);
    assert.equal(ch.data.tracking_code, d.tracking_code);
    assert.ok(!JSON.stringify(ch).includes(pub));
    const opened = openChallenged(s.g, s.manifest, s.contextHex, s.keyHex, ch.data);
    assert.equal(opened.problem, null);
    assert.ok(opened.ok);
    assert.deepEqual(opened.answers, [{ question: 'status', choices: ['yes'] }, { question: 'capital', choices: ['lerwick'] }]);

    // A lying challenged ballot does not open.
    const lie = structuredClone(ch.data);
    lie.answers[0].choices = ['no'];
    assert.match(openChallenged(s.g, s.manifest, s.contextHex, s.keyHex, lie).problem, /does not open/);
    const swapped = structuredClone(ch.data);
    swapped.answers[1].nonces.reverse();
    assert.match(openChallenged(s.g, s.manifest, s.contextHex, s.keyHex, swapped).problem, /nonce/);
    const code = structuredClone(ch.data);
    code.tracking_code = '0'.repeat(64);
    assert.match(openChallenged(s.g, s.manifest, s.contextHex, s.keyHex, code).problem, /tracking code/);

    // The ballot survives the JSON form the worker sends.
    const back = ballotFromJson(s.g, ballotToJson(s.g, ballot));
    assert.deepEqual(back.nonces, ballot.nonces);
    assert.deepEqual(challengeSubmission(s.g, back), ch);

    // Tampering shows.
    const t1 = structuredClone(d);
    t1.answers[1].choices[0].proof[0].s = t1.answers[1].choices[0].proof[1].s;
    assert.equal(checkBallot(s.g, s.manifest, s.contextHex, s.keyHex, t1)[0].kind, 'proofs');
    const t2 = structuredClone(d);
    t2.tracking_code = 'f'.repeat(64);
    assert.deepEqual(checkBallot(s.g, s.manifest, s.contextHex, s.keyHex, t2).map((f) => f.kind), ['tracking']);
    const t3 = structuredClone(d);
    t3.credential = publicCredential(ELECTION, 'ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZ');
    assert.equal(checkBallot(s.g, s.manifest, s.contextHex, s.keyHex, t3)[0].kind, 'proofs');
    const t4 = structuredClone(d);
    [t4.answers[0].choices[0], t4.answers[0].choices[1]] = [t4.answers[0].choices[1], t4.answers[0].choices[0]];
    assert.deepEqual(checkBallot(s.g, s.manifest, s.contextHex, s.keyHex, t4).map((f) => f.kind), ['proofs', 'tracking']);
  });

  test(`${name}: blank, ranges with several values, defaults, refusals`, () => {
    const s = setup(name);
    const pub = publicCredential(ELECTION, CRED);
    const blank = encryptBallot(s.g, s.manifest, s.contextHex, s.keyHex, 'mainland', { status: ['blank'] }, pub);
    assert.deepEqual(checkBallot(s.g, s.manifest, s.contextHex, s.keyHex, blank.data), []);
    assert.deepEqual(decryptSlots(s, blank.data), [[0, 0, 1]]);

    const m = setup(name, MULTI);
    for (const pick of [[], ['a'], ['d', 'b'], ['blank']]) {
      const choices = { pick, rank: ['z', 'x'], one: ['only'] };
      const b = encryptBallot(m.g, m.manifest, m.contextHex, m.keyHex, 'r1', choices, pub);
      assert.deepEqual(b.data.answers.map((a) => [a.question, a.choices.length, a.proof.length]), [
        ['rank', 3, 1],
        ['pick', 5, 3],
        ['one', 1, 1],
      ]);
      assert.deepEqual(checkBallot(m.g, m.manifest, m.contextHex, m.keyHex, b.data), [], JSON.stringify(pick));
      const ch = challengeSubmission(m.g, b);
      assert.deepEqual(ch.data.answers[1].choices, [...pick].sort());
      const opened = openChallenged(m.g, m.manifest, m.contextHex, m.keyHex, ch.data);
      assert.ok(opened.ok, opened.problem);
      assert.deepEqual(opened.answers[1].choices, ['a', 'b', 'c', 'd', 'blank'].filter((x) => pick.includes(x)));
    }
    const q = regionQuestions(parseManifest(m.manifest), 'r1');
    assert.deepEqual(q.map((x) => [x.id, x.min, x.max, x.blank]), [
      ['rank', 2, 2, false],
      ['pick', 0, 2, true],
      ['one', 1, 1, false],
    ]);

    const bad = [
      [{ status: ['yes', 'no'], capital: ['lerwick'] }, 'orkney'],
      [{ status: ['blank', 'yes'], capital: ['lerwick'] }, 'orkney'],
      [{ status: ['yes'] }, 'orkney'],
      [{ status: ['yes'], capital: ['lerwick', 'lerwick'] }, 'orkney'],
      [{ status: ['maybe'], capital: ['lerwick'] }, 'orkney'],
      [{ status: ['yes'], capital: ['lerwick'] }, 'atlantis'],
    ];
    for (const [choices, region] of bad) {
      assert.throws(() => encryptBallot(s.g, s.manifest, s.contextHex, s.keyHex, region, choices, pub), BallotError, JSON.stringify(choices));
    }
    const ok = { status: ['yes'], capital: ['lerwick'] };
    assert.throws(() => encryptBallot(s.g, s.manifest, s.contextHex.toUpperCase(), s.keyHex, 'orkney', ok, pub), BallotError);
    assert.throws(() => encryptBallot(s.g, s.manifest, s.contextHex.slice(2), s.keyHex, 'orkney', ok, pub), BallotError);
    assert.throws(() => encryptBallot(s.g, s.manifest, s.contextHex, s.keyHex, 'orkney', ok, 'not base64'), BallotError);
    assert.throws(() => encryptBallot(s.g, s.manifest, s.contextHex, s.g.identity().hex(), 'orkney', ok, pub), BallotError);
    assert.throws(() => encryptBallot(s.g, { ...s.manifest, group: name === 'ristretto255' ? 'modp-4096' : 'ristretto255' }, s.contextHex, s.keyHex, 'orkney', ok, pub), BallotError);
  });

  test(`${name}: the worker's handler`, () => {
    const s = setup(name);
    const posted = [];
    handle(
      {
        id: 7,
        manifest: s.manifest,
        group: name,
        contextHex: s.contextHex,
        jointKeyHex: s.keyHex,
        region: 'mainland',
        choices: { status: ['no'] },
        credential: CRED,
        electionId: ELECTION,
        replaces: 'cd'.repeat(32),
      },
      (m) => posted.push(structuredClone(m)),
    );
    const last = posted.at(-1);
    assert.equal(last.type, 'ballot', last.message);
    assert.equal(last.id, 7);
    assert.deepEqual(posted.slice(0, -1).map((p) => [p.type, p.done, p.total]), [
      ['progress', 1, 4],
      ['progress', 2, 4],
      ['progress', 3, 4],
      ['progress', 4, 4],
    ]);
    assert.equal(last.trackingCode, last.cast.data.tracking_code);
    assert.ok(verifySignature(last.cast, ELECTION));
    assert.deepEqual(checkBallot(s.g, s.manifest, s.contextHex, s.keyHex, last.cast.data), []);
    assert.ok(openChallenged(s.g, s.manifest, s.contextHex, s.keyHex, last.challenge.data).ok);
    assert.deepEqual(last.ballot.data, last.cast.data);
    assert.equal(last.cast.data.replaces, 'cd'.repeat(32));

    const errors = [];
    handle({ id: 8, group: 'nope' }, (m) => errors.push(m));
    assert.equal(errors.length, 1);
    assert.equal(errors[0].type, 'error');
    assert.equal(errors[0].id, 8);
  });
}

test('signed_message and sign', () => {
  const data = { b: [1, 'ü'], a: null };
  const msg = signedMessage('open', ELECTION, data);
  assert.equal(new TextDecoder().decode(msg), `plebiscite-entry/v1\nopen\n${ELECTION}\n{"a":null,"b":[1,"ü"]}`);
  assert.deepEqual(sign('challenged_ballot', data, ELECTION, null), { type: 'challenged_ballot', data, signer: null, signature: null });
  assert.throws(() => sign('nonsense', data, ELECTION, null));
  const seed = utf8('0123456789abcdef0123456789abcdef');
  const sub = sign('open', data, ELECTION, seed);
  assert.ok(verifySignature(sub, ELECTION));
  // The public key of the all-zero seed (as Python's cryptography computes it).
  const rfc = sign('referendum', {}, '', new Uint8Array(32));
  assert.equal(rfc.signer, 'O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik=');
});
