// Witness cosignatures against tests/vectors/cosignatures.json (written by the Python
// side, src/plebiscite/board/cosign.py), and the witnessed checkpoint a receipt check
// relies on.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ed25519 } from '@noble/curves/ed25519.js';

import { b64encode, bytesToHex } from '../src/bytes.js';
import {
  COSIGNATURE_HEADER,
  cosignatureProblem,
  cosignedMessage,
  declaredWitnesses,
  parseCosignature,
  parseCosignatures,
  verifyCosignature,
  witnessedCheckpoint,
} from '../src/cosign.js';
import { load } from '../testing/vectors.js';

const V = load('cosignatures.json');

test('the signed message and the verdict of every single cosignature', () => {
  assert.equal(COSIGNATURE_HEADER, V.header);
  assert.ok(V.cases.filter((c) => c.valid).length >= 2 && V.cases.filter((c) => !c.valid).length >= 8);
  for (const c of V.cases) {
    assert.equal(cosignatureProblem(c.cosignature) === null, c.well_formed, c.name);
    assert.equal(verifyCosignature(c.cosignature), c.valid, c.name);
    if (c.well_formed) {
      const p = parseCosignature(c.cosignature);
      assert.equal(bytesToHex(cosignedMessage(p.witness, p.witnessTime, p.checkpoint)), c.message, c.name);
    } else {
      assert.throws(() => parseCosignature(c.cosignature), TypeError, c.name);
    }
  }
});

test('the witnessed checkpoint of every set of cosignatures', () => {
  for (const w of V.witnessed) {
    const opts = w.origin === null ? {} : { origin: w.origin };
    const got = witnessedCheckpoint(w.cosignatures, V.declared, w.quorum, opts);
    const want = w.witnessed === null ? null : { checkpoint: { origin: w.witnessed.origin, size: w.witnessed.size, root: w.witnessed.root, time: w.witnessed.time }, witnesses: w.witnessed.witnesses };
    assert.deepEqual(got, want, w.name);
    // The same with the witnesses as a Map, as declaredWitnesses gives them.
    assert.deepEqual(witnessedCheckpoint(w.cosignatures, new Map(Object.entries(V.declared)), w.quorum, opts), want, w.name);
  }
});

test('only the witnesses given count: the declared ones, not accredited ones', () => {
  const set = V.witnessed.find((w) => w.name.includes('does not declare'));
  const delta = set.cosignatures.find((c) => c.witness === 'delta');
  // Wrongly counting the accredited observer would move the trust to size 10.
  const wrong = witnessedCheckpoint(set.cosignatures, { ...V.declared, delta: delta.key }, 2);
  assert.equal(wrong.checkpoint.size, 10);
  assert.equal(witnessedCheckpoint(set.cosignatures, V.declared, 2).checkpoint.size, 8);
  // declaredWitnesses reads manifest.observers and nothing else.
  const observers = Object.entries(V.declared).map(([id, key]) => ({ id, name: id, kind: 'ngo', jurisdiction: 'x', public_key: key }));
  const manifest = { observers, witness_quorum: 2, accredited: [{ id: 'delta', public_key: delta.key }] };
  assert.deepEqual(Object.fromEntries(declaredWitnesses(manifest)), V.declared);
  assert.equal(declaredWitnesses({}).size, 0);
  assert.equal(declaredWitnesses(null).size, 0);
});

test('no quorum, no witnessed checkpoint; junk never throws', () => {
  const base = V.witnessed[0].cosignatures;
  for (const q of [0, -1, 1.5, '2', null, undefined]) assert.equal(witnessedCheckpoint(base, V.declared, q), null, String(q));
  assert.equal(witnessedCheckpoint(null, V.declared, 2), null);
  assert.equal(witnessedCheckpoint([null, 1, 'x', [], {}], V.declared, 1), null);
  assert.equal(witnessedCheckpoint(base, null, 1), null);
  assert.equal(witnessedCheckpoint(base, { __proto__: null, alpha: V.declared.alpha }, 1).checkpoint.size, 8);
  assert.equal(witnessedCheckpoint(base, V.declared, 2, { origin: 'plebiscite/nowhere' }), null);
  for (const junk of [null, 1, 'x', [], {}, { witness: 'a' }]) assert.equal(verifyCosignature(junk), false);
});

test('cosignatures.jsonl: one per line, malformed lines dropped', () => {
  const good = V.cases.filter((c) => c.well_formed).map((c) => c.cosignature);
  const text = [...good.map((c) => JSON.stringify(c)), '{not json', JSON.stringify({ junk: 1 }), ''].join('\n') + '\n';
  assert.deepEqual(parseCosignatures(text), good);
  assert.deepEqual(parseCosignatures(''), []);
});

test('a cosignature made here verifies as Python would (same message, strict Ed25519)', () => {
  const secret = new Uint8Array(32).fill(7);
  const key = b64encode(ed25519.getPublicKey(secret));
  const cp = { origin: 'plebiscite/js é', size: 3, root: 'ab'.repeat(32), time: '2027-03-07T10:00:00Z' };
  const at = '2027-03-07T10:00:01.500Z';
  const cs = { witness: 'w-1', key, ...cp, witness_time: at, signature: b64encode(ed25519.sign(cosignedMessage('w-1', at, cp), secret)) };
  assert.ok(verifyCosignature(cs));
  // The witness's time is signed: another time, or one not in the board's form, fails.
  assert.equal(verifyCosignature({ ...cs, witness_time: '2027-03-07T10:00:02.500Z' }), false);
  assert.equal(verifyCosignature({ ...cs, witness_time: '2027-03-07T10:00:01.5Z' }), false);
  assert.equal(verifyCosignature({ ...cs, witness_time: '2027-02-30T10:00:01.500Z' }), false);
  assert.deepEqual(witnessedCheckpoint([cs], { 'w-1': key }, 1), { checkpoint: cp, witnesses: ['w-1'] });
  // A witness id with an unpaired surrogate: Python cannot encode the message at all.
  const lone = { ...cs, witness: 'w\ud800' };
  lone.signature = b64encode(ed25519.sign(cosignedMessage(lone.witness, at, cp), secret));
  assert.equal(verifyCosignature(lone), false);
});
