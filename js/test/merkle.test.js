// The browser's Merkle, checkpoint and receipt checks against tests/vectors/merkle.json
// and a checkpoint signed by Python (src/plebiscite/board/checkpoint.py).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { bytesToHex, hexToBytes } from '../src/bytes.js';
import { EMPTY_ROOT, leafHash, nodeHash, rootFromLeafHashes, verifyConsistency, verifyInclusion } from '../src/merkle.js';
import { checkpointBody, checkpointProblem, verifyCheckpoint } from '../src/checkpoint.js';
import { checkReceipt, entryLeafHash, receiptProblem } from '../src/receipt.js';
import { canonicalBytes } from '../src/canonical.js';
import { load } from '../testing/vectors.js';

const M = load('merkle.json');

test('leaf, node and empty hashes', () => {
  assert.equal(bytesToHex(EMPTY_ROOT), M.empty_root);
  for (const l of M.leaves) assert.equal(bytesToHex(leafHash(hexToBytes(l.data))), l.leaf_hash);
  for (const n of M.node_hash) assert.equal(bytesToHex(nodeHash(hexToBytes(n.left), hexToBytes(n.right))), n.hash);
});

test('roots', () => {
  const leaves = M.leaves.map((l) => l.leaf_hash);
  for (const r of M.roots) assert.equal(bytesToHex(rootFromLeafHashes(leaves.slice(0, r.size))), r.root, `size ${r.size}`);
});

test('inclusion proofs verify (hex and bytes)', () => {
  for (const c of M.inclusion) {
    assert.ok(verifyInclusion(c.leaf_hash, c.index, c.size, c.proof, c.root), `${c.index}/${c.size}`);
    assert.ok(verifyInclusion(hexToBytes(c.leaf_hash), BigInt(c.index), c.size, c.proof.map(hexToBytes), hexToBytes(c.root)));
  }
});

test('consistency proofs verify', () => {
  for (const c of M.consistency) {
    assert.ok(verifyConsistency(c.old_size, c.old_root, c.new_size, c.new_root, c.proof), `${c.old_size}->${c.new_size}`);
  }
});

test('invalid inclusion proofs are rejected, never thrown', () => {
  for (const c of M.invalid_inclusion) {
    assert.equal(verifyInclusion(c.leaf_hash, c.index, c.size, c.proof, c.root), false, c.description);
  }
  assert.equal(verifyInclusion(null, 0, 1, [], M.empty_root), false);
  assert.equal(verifyInclusion(M.empty_root, -1, 1, [], M.empty_root), false);
  assert.equal(verifyInclusion(M.empty_root, 0, 1.5, [], M.empty_root), false);
  assert.equal(verifyInclusion(M.empty_root, 0, 1, 'ab', M.empty_root), false);
  assert.equal(verifyInclusion(M.empty_root.toUpperCase(), 0, 1, [], M.empty_root), false);
});

test('invalid consistency proofs are rejected, never thrown', () => {
  for (const c of M.invalid_consistency) {
    assert.equal(verifyConsistency(c.old_size, c.old_root, c.new_size, c.new_root, c.proof), false, c.description);
  }
  assert.equal(verifyConsistency(1, M.empty_root, 2, M.empty_root, null), false);
  assert.equal(verifyConsistency('1', M.empty_root, 2, M.empty_root, []), false);
});

// Signed by Python: sign_checkpoint(Ed25519PrivateKey.from_private_bytes(bytes(range(32))), ...).
const PY_CHECKPOINT = {
  origin: 'plebiscite/test-origin é',
  size: 8,
  root: '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
  time: '2027-03-07T07:00:00.000Z',
  signature: 'MK5QbX+vALqZc+4XwldXZKEC2W+xHSVBnXWTpCPcvMKACbrQEMH3bzEh/1eOqJeH1PQZk7TWepf8FZAMMzI6BA==',
};
const PY_KEY = 'A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=';

test('checkpoint body and signature as Python signs them', () => {
  assert.equal(
    new TextDecoder().decode(checkpointBody(PY_CHECKPOINT)),
    'plebiscite-checkpoint/v1\nplebiscite/test-origin é\n8\n5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328\n2027-03-07T07:00:00.000Z\n',
  );
  assert.equal(checkpointProblem(PY_CHECKPOINT), null);
  assert.ok(verifyCheckpoint(PY_CHECKPOINT, PY_KEY));
  for (const [k, v] of Object.entries({ origin: 'x', size: 7, root: '00'.repeat(32), time: '2027-03-07T07:00:00.001Z' })) {
    assert.equal(verifyCheckpoint({ ...PY_CHECKPOINT, [k]: v }, PY_KEY), false, k);
  }
  const other = 'A'.repeat(43) + '=';
  assert.equal(verifyCheckpoint(PY_CHECKPOINT, other), false);
  assert.equal(verifyCheckpoint({ ...PY_CHECKPOINT, extra: 1 }, PY_KEY), false);
  assert.equal(verifyCheckpoint({ ...PY_CHECKPOINT, origin: 'a\nb' }, PY_KEY), false);
  assert.equal(verifyCheckpoint({ ...PY_CHECKPOINT, size: -1 }, PY_KEY), false);
  assert.equal(verifyCheckpoint({ ...PY_CHECKPOINT, root: PY_CHECKPOINT.root.toUpperCase() }, PY_KEY), false);
  assert.equal(verifyCheckpoint(null, PY_KEY), false);
});

test('receipts: inclusion under a checkpoint, the entry, consistency with the latest', () => {
  // A tree of 8 leaves whose entry 5 is an actual JSON entry: use the vector tree for
  // the proof shape and a receipt that points at leaf 5 of the vectors.
  const c = M.inclusion.find((x) => x.index === 5 && x.size === 8);
  const receipt = {
    type: 'ballot',
    tracking_code: 'ab'.repeat(32),
    index: 5,
    entry_hash: c.leaf_hash,
    checkpoint: PY_CHECKPOINT,
    inclusion_proof: c.proof,
  };
  assert.equal(receiptProblem(receipt), null);
  let r = checkReceipt(receipt, PY_KEY);
  assert.deepEqual(r.problems, []);
  assert.deepEqual(r.checks, { signature: true, inclusion: true, entry: null, consistency: null });
  // The latest checkpoint is the same one: consistent with an empty proof.
  r = checkReceipt(receipt, PY_KEY, { latest: PY_CHECKPOINT, consistency: [] });
  assert.deepEqual(r.problems, []);
  assert.equal(r.checks.consistency, true);
  // The board no longer has the entry, or has another one.
  assert.deepEqual(checkReceipt(receipt, PY_KEY, { entry: null }).problems, ['entry_missing']);
  assert.deepEqual(checkReceipt(receipt, PY_KEY, { entry: { type: 'x', data: {} } }).problems, ['entry_mismatch']);
  // A tampered proof or key.
  const bad = { ...receipt, inclusion_proof: [...c.proof].reverse() };
  assert.deepEqual(checkReceipt(bad, PY_KEY).problems, ['inclusion']);
  assert.deepEqual(checkReceipt(receipt, 'A'.repeat(43) + '=').problems, ['checkpoint_signature']);
  assert.deepEqual(checkReceipt({ ...receipt, index: -1 }, PY_KEY).problems, ['malformed']);
  // A latest checkpoint from a smaller tree is not consistent.
  assert.deepEqual(checkReceipt(receipt, PY_KEY, { latest: { ...PY_CHECKPOINT, size: 7 }, consistency: [] }).problems, ['latest_signature']);
});

test('entry leaf hash of a JSON entry is the hash of its canonical bytes', () => {
  const e = { type: 'ballot', data: { tracking_code: 'ab'.repeat(32), b: [1, 2] }, signer: null, signature: null, time: 't' };
  assert.equal(entryLeafHash(e), bytesToHex(leafHash(canonicalBytes(e))));
  assert.equal(entryLeafHash(canonicalBytes(e)), entryLeafHash(e));
  const receipt = {
    type: 'ballot', tracking_code: 'ab'.repeat(32), index: 0, entry_hash: entryLeafHash(e), checkpoint: PY_CHECKPOINT, inclusion_proof: [],
  };
  const r = checkReceipt(receipt, PY_KEY, { entry: e });
  assert.equal(r.checks.entry, true);
  assert.deepEqual(checkReceipt(receipt, PY_KEY, { entry: { ...e, data: { ...e.data, tracking_code: 'cd'.repeat(32) } } }).checks.entry, false);
});
