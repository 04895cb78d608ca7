// The bundles: they build reproducibly, import nothing, match what build.mjs last wrote
// to static/js (when it is there), and work: the page bundle encrypts a ballot the
// sources' checker accepts, and the worker bundle answers a message in a worker-like
// global scope.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import vm from 'node:vm';

import { STATIC_DIR, buildBundles } from '../build.mjs';
import { checkBallot, contextHash, getGroup, verifySignature, bytesToHex } from '../src/index.js';

const DEMO = JSON.parse(readFileSync(new URL('../../src/plebiscite/data/demo-referendum.json', import.meta.url), 'utf8'));
const ELECTION = 'b'.repeat(64);
const CRED = 'ABCDE-FGHJK-LMNPQ-RSTUV-WXYZ2';

const dir = mkdtempSync(path.join(tmpdir(), 'plebiscite-bundle-'));
const hashes = await buildBundles(dir);
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

function context(name) {
  const g = getGroup(name);
  const cs = [[g.gPow(g.randomScalar())], [g.gPow(g.randomScalar())]];
  const key = g.mul(cs[0][0], cs[1][0]);
  return { g, contextHex: bytesToHex(contextHash(g, ELECTION, 1, cs, key)), keyHex: key.hex(), manifest: { ...DEMO, group: name } };
}

test('the bundles build reproducibly and match static/js', async () => {
  const again = await buildBundles(path.join(dir, 'again'));
  assert.deepEqual(again, hashes);
  for (const h of Object.values(hashes)) {
    assert.match(h.sha256, /^[0-9a-f]{64}$/);
    assert.match(h.sri, /^sha384-[A-Za-z0-9+/]{64}$/);
  }
  const written = path.join(STATIC_DIR, 'bundle-hashes.json');
  if (existsSync(written)) {
    assert.deepEqual(JSON.parse(readFileSync(written, 'utf8')), hashes, 'static/js is stale: run npm run build');
  }
});

test('the page bundle encrypts, casts and challenges', async () => {
  const booth = await import(pathToFileURL(path.join(dir, 'booth.js')).href);
  for (const name of booth.GROUP_NAMES) {
    const s = context(name);
    const pub = booth.publicCredential(ELECTION, CRED);
    const ballot = booth.encryptBallot(name, s.manifest, s.contextHex, s.keyHex, 'lewis', { status: ['blank'], capital: ['kirkwall'] }, pub);
    assert.deepEqual(checkBallot(s.g, s.manifest, s.contextHex, s.keyHex, ballot.data), []);
    assert.deepEqual(booth.checkBallot(booth.getGroup(name), s.manifest, s.contextHex, s.keyHex, ballot.data), []);
    const cast = booth.castSubmission(ballot, ELECTION, CRED);
    assert.ok(verifySignature(cast, ELECTION));
    const ch = booth.challengeSubmission(name, ballot);
    assert.ok(booth.openChallenged(name, s.manifest, s.contextHex, s.keyHex, ch.data).ok);
  }
});

test('the worker bundle answers in a worker-like scope', () => {
  const code = readFileSync(path.join(dir, 'worker.js'), 'utf8');
  const posted = [];
  const self = { postMessage: (m) => posted.push(structuredClone(m)), crypto: globalThis.crypto };
  const sandbox = { self, crypto: globalThis.crypto, TextEncoder, TextDecoder, Uint8Array, DataView, console };
  sandbox.globalThis = sandbox;
  vm.runInNewContext(code, sandbox);
  assert.equal(typeof self.onmessage, 'function');
  const s = context('belenios-2048');
  self.onmessage({
    data: {
      id: 'x',
      manifest: s.manifest,
      group: 'belenios-2048',
      contextHex: s.contextHex,
      jointKeyHex: s.keyHex,
      region: 'mainland',
      choices: { status: ['yes'] },
      credential: CRED,
      electionId: ELECTION,
    },
  });
  const last = posted.at(-1);
  assert.equal(last.type, 'ballot', last.message);
  assert.equal(posted.filter((p) => p.type === 'progress').length, 4);
  assert.ok(verifySignature(last.cast, ELECTION));
  assert.deepEqual(checkBallot(s.g, s.manifest, s.contextHex, s.keyHex, last.cast.data), []);
});
