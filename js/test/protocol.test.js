// Every value and verdict of tests/vectors/protocol.json (as tests/test_vectors.py).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sha256 } from '@noble/hashes/sha2.js';

import { b64decode, bytesToHex, hexToBytes, utf8 } from '../src/bytes.js';
import { CanonicalError, canonicalBytes, canonicalJson, compareCodePoints } from '../src/canonical.js';
import * as codec from '../src/codec.js';
import { encrypt } from '../src/elgamal.js';
import { GROUP_NAMES, getGroup } from '../src/group.js';
import { encodePart } from '../src/hashing.js';
import { publicCredential } from '../src/booth.js';
import * as protocol from '../src/protocol.js';
import { load, sc } from '../testing/vectors.js';

const P = load('protocol.json');
const hex = bytesToHex;

test('canonical_json', async (t) => {
  for (const [i, c] of P.canonical_json.entries()) {
    await t.test(`${i} ${c.canonical.slice(0, 24)}`, () => {
      assert.equal(hex(canonicalBytes(c.value)), c.canonical_hex);
      assert.equal(hex(utf8(c.canonical)), c.canonical_hex);
      assert.equal(canonicalJson(c.value), c.canonical);
      // The canonical form is a fixed point.
      assert.equal(hex(canonicalBytes(JSON.parse(c.canonical))), c.canonical_hex);
    });
  }
});

test('canonical_json_invalid', () => {
  for (const value of P.canonical_json_invalid) {
    assert.throws(() => canonicalBytes(value), CanonicalError, JSON.stringify(value));
  }
});

test('canonical JSON: code point order, lone surrogates, non-JSON values', () => {
  // U+FF01 sorts before U+1F600 by code point, after it by UTF-16 code unit.
  assert.equal(canonicalJson({ '😀': 1, '！': 2, a: 3 }), '{"a":3,"！":2,"😀":1}');
  assert.ok(compareCodePoints('\uffff', '\ud800\udc00') < 0);
  assert.ok(compareCodePoints('a', 'ab') < 0);
  assert.equal(compareCodePoints('x', 'x'), 0);
  assert.throws(() => canonicalJson('\ud800'), CanonicalError);
  assert.throws(() => canonicalJson({ '\udc00': 1 }), CanonicalError);
  assert.throws(() => canonicalJson({ a: undefined }), CanonicalError);
  assert.throws(() => canonicalJson(NaN), CanonicalError);
  assert.throws(() => canonicalJson(Infinity), CanonicalError);
  assert.throws(() => canonicalJson(new Uint8Array(1)), CanonicalError);
  assert.equal(canonicalJson(-0), '0');
  assert.equal(canonicalJson(1e-7), '1e-7');
  assert.equal(canonicalJson('\u2028\u007f/'), '"\u2028\u007f/"');
});

test('tags and binds', () => {
  assert.deepEqual(P.tags, {
    coefficient: protocol.TAG_COEFFICIENT,
    share_key: protocol.TAG_SHARE_KEY,
    option: protocol.TAG_OPTION,
    question: protocol.TAG_QUESTION,
    decryption: protocol.TAG_DECRYPTION,
    context: protocol.TAG_CONTEXT,
    tracking: protocol.TAG_TRACKING,
    credential: protocol.TAG_CREDENTIAL,
    share_encryption: protocol.TAG_SHARE_ENC,
  });
  const fns = {
    option_bind: protocol.optionBind,
    question_bind: protocol.questionBind,
    decryption_bind: protocol.decryptionBind,
  };
  for (const b of P.binds) assert.equal(hex(encodePart(fns[b.function](...b.args))), b.encoding);
});

test('context_hash', () => {
  assert.deepEqual(new Set(P.context_hash.map((c) => c.group)), new Set(GROUP_NAMES));
  for (const c of P.context_hash) {
    const g = getGroup(c.group);
    const commitments = c.commitments.map((cs) => cs.map((x) => g.elementFromHex(x)));
    assert.equal(commitments.length, c.guardians);
    const joint = g.elementFromHex(c.joint_key);
    const got = protocol.contextHash(g, c.election_id, c.quorum, commitments, joint);
    assert.equal(hex(got), c.context_hash);
    assert.equal(hex(sha256(hexToBytes(c.hash_input))), c.context_hash);
  }
});

test('tracking_code', () => {
  for (const c of P.tracking_code) {
    const g = getGroup(c.group);
    const answers = c.answers.map((a) => [a.question, a.ciphertexts.map((x) => codec.ctFromJson(g, x))]);
    const code = protocol.trackingCode(hexToBytes(c.context), c.region, answers);
    assert.equal(code, c.tracking_code);
    assert.equal(hex(sha256(hexToBytes(c.hash_input))), c.tracking_code);
  }
});

test('revote_chain', () => {
  const v = P.revote_chain;
  const chains = new protocol.RevoteChains();
  for (const b of v.ballots) {
    assert.equal(chains.extend(b.credential, b.replaces, b.tracking_code), b.extends, JSON.stringify(b));
  }
  for (const [c, head] of Object.entries(v.heads)) assert.equal(chains.head(c), head);
  for (const c of v.replaces) assert.equal(c.value === null || protocol.isTrackingCode(c.value), c.valid, JSON.stringify(c));
});

test('credentials', () => {
  const seeds = new Map();
  for (const c of P.credentials) {
    const seed = protocol.credentialSeed(c.election_id, c.credential);
    assert.equal(hex(seed), c.seed);
    assert.equal(hex(sha256(hexToBytes(c.seed_input))), c.seed);
    assert.equal(protocol.normaliseCredential(c.credential), c.normalised);
    assert.equal(c.seed_input, hex(utf8(`${protocol.TAG_CREDENTIAL}\n${c.election_id}\n${c.normalised}`)));
    assert.equal(publicCredential(c.election_id, c.credential), c.public_key);
    assert.equal(b64decode(c.public_key).length, 32);
    assert.equal(protocol.isWellFormedCredential(c.credential), c.well_formed);
    const k = `${c.election_id}\u0000${c.normalised}`;
    if (!seeds.has(k)) seeds.set(k, c.seed);
    assert.equal(seeds.get(k), c.seed);
  }
});

const question = (d) => protocol.makeQuestion(d);

test('question_total', () => {
  for (const v of P.question_total) {
    const g = getGroup(v.group);
    const q = question(v.question);
    assert.deepEqual(q.slots, v.slots);
    assert.deepEqual(protocol.questionValues(q), v.values);
    const key = g.elementFromHex(v.key);
    for (const c of v.cases) {
      const cts = c.ciphertexts.map((x) => codec.ctFromJson(g, x));
      c.messages.forEach((m, i) => {
        const e = encrypt(g, key, m, sc(c.nonces[i]));
        assert.deepEqual(codec.ctToJson(e), c.ciphertexts[i]);
      });
      const total = protocol.questionTotal(g, q, cts);
      assert.deepEqual(codec.ctToJson(total), c.total);
      assert.equal(protocol.questionTotalValue(q, c.choices), c.total_value);
      assert.deepEqual(codec.ctToJson(encrypt(g, key, c.total_value, sc(c.total_nonce))), c.total);
    }
  }
});

test('valid_selection', () => {
  const v = P.valid_selection;
  const q = question(v.question);
  for (const c of v.cases) assert.equal(protocol.validSelection(q, c.choices), c.valid, JSON.stringify(c.choices));
});
