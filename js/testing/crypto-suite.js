// Every value and verdict of tests/vectors/crypto-<group>.json, as tests/test_vectors.py
// checks them in Python. Each crypto-<group>.test.js runs this for its group.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sha256, sha512 } from '@noble/hashes/sha2.js';

import { bytesToHex, concatBytes, hexToBytes } from '../src/bytes.js';
import * as codec from '../src/codec.js';
import * as C from '../src/constants.js';
import { combine, decryptWithSecret, encrypt, identityCiphertext, openWithNonce } from '../src/elgamal.js';
import { EntryError } from '../src/entries.js';
import { GroupError, getGroup } from '../src/group.js';
import { challenge, encodePart, hashParts } from '../src/hashing.js';
import {
  proveEquality,
  proveRange,
  proveSchnorr,
  verifyEquality,
  verifyRange,
  verifySchnorr,
} from '../src/proofs.js';
import * as threshold from '../src/threshold.js';
import { load, part, sc, scripted } from './vectors.js';

const hex = (b) => bytesToHex(b);

function checkChallenge(g, c, parts) {
  const context = hexToBytes(c.context);
  assert.equal(challenge(g, c.tag, context, ...parts), sc(c.challenge), 'challenge');
  if ('challenge_input' in c) {
    const data = concatBytes(encodePart(c.tag), encodePart(context), ...parts.map((p) => encodePart(p)));
    assert.equal(hex(data), c.challenge_input, 'challenge input');
    assert.equal(BigInt('0x' + hex(sha512(data))) % g.q, sc(c.challenge));
  }
}

export function cryptoSuite(name) {
  const V = load(`crypto-${name}.json`);
  const g = getGroup(name);
  const el = (text) => g.elementFromHex(text);
  const started = performance.now();

  test(`${name}: group parameters`, () => {
    const v = V.group;
    assert.equal(v.name, g.name);
    assert.equal(sc(v.q), g.q);
    assert.equal(v.element_bytes, g.elementBytes);
    assert.equal(v.scalar_bytes, 32);
    assert.equal(v.generator, g.generator().hex());
    assert.equal(v.identity, g.identity().hex());
    if (name === 'ristretto255') {
      assert.ok(!('p' in v));
      assert.equal(v.identity, '00'.repeat(32));
      assert.equal(g.q, C.RISTRETTO_L);
    } else {
      const [p, q, gen] = {
        'modp-4096': [C.MODP4096_P, C.MODP4096_Q, C.MODP4096_G],
        'belenios-2048': [C.BELENIOS2048_P, C.BELENIOS2048_Q, C.BELENIOS2048_G],
      }[name];
      assert.equal(BigInt('0x' + v.p), p);
      assert.equal(v.p.length, 2 * g.elementBytes);
      assert.equal(g.p, p);
      assert.equal(sc(v.q), q);
      assert.equal(BigInt('0x' + v.generator), gen);
      assert.equal(BigInt('0x' + v.identity), 1n);
    }
  });

  test(`${name}: g_pow`, () => {
    for (const c of V.arithmetic.g_pow) {
      const k = sc(c.k);
      assert.equal(g.gPow(k).hex(), c.element);
      assert.equal(g.gPowSecret(k).hex(), c.element);
      assert.equal(g.pow(g.generator(), k).hex(), c.element);
      assert.equal(el(c.element).hex(), c.element);
    }
  });

  test(`${name}: pow`, () => {
    for (const c of V.arithmetic.pow) {
      const base = el(c.base);
      const k = sc(c.k);
      assert.equal(g.pow(base, k).hex(), c.element);
      assert.equal(g.powSecret(base, k).hex(), c.element);
      assert.equal(base.pow(k).hex(), c.element);
    }
  });

  test(`${name}: mul and div`, () => {
    for (const c of V.arithmetic.mul_div) {
      const a = el(c.a);
      const b = el(c.b);
      assert.equal(a.mul(b).hex(), c.product);
      assert.equal(a.div(b).hex(), c.quotient);
      assert.equal(g.prod([a, b]).hex(), c.product);
    }
  });

  test(`${name}: dlog`, () => {
    for (const c of V.arithmetic.dlog) assert.equal(g.dlog(el(c.element), c.bound), c.result);
    for (const c of V.arithmetic.dlog_failures) {
      assert.throws(() => g.dlog(el(c.element), c.bound), GroupError);
    }
  });

  test(`${name}: valid encodings`, () => {
    const enc = V.encoding;
    for (const h of enc.valid_elements) {
      const e = g.decodeElement(hexToBytes(h));
      assert.equal(hex(e.toBytes()), h);
      assert.equal(codec.element(g, h).hex(), h);
    }
    for (const h of enc.valid_scalars) {
      const v = g.decodeScalar(hexToBytes(h));
      assert.equal(hex(g.encodeScalar(v)), h);
      assert.equal(g.scalarHex(v), h);
      assert.equal(codec.scalar(g, h), v);
    }
  });

  test(`${name}: invalid elements`, async (t) => {
    for (const [i, c] of V.encoding.invalid_elements.entries()) {
      await t.test(`${i} ${c.reason}`, () => {
        assert.throws(() => g.decodeElement(hexToBytes(c.hex)), GroupError);
        assert.throws(() => g.elementFromHex(c.hex), GroupError);
        assert.throws(() => codec.element(g, c.hex), EntryError);
        // Commitments skip the (costly) subgroup test but never the encoding checks.
        if (name === 'ristretto255' || !/subgroup|order 2|generator of Z_p/.test(c.reason)) {
          assert.throws(() => codec.element(g, c.hex, 'x', { commitment: true }), EntryError);
        }
      });
    }
  });

  test(`${name}: invalid scalars and text`, () => {
    const enc = V.encoding;
    for (const c of enc.invalid_scalars) {
      assert.throws(() => g.decodeScalar(hexToBytes(c.hex)), GroupError, c.reason);
      assert.throws(() => g.scalarFromHex(c.hex), GroupError, c.reason);
      assert.throws(() => codec.scalar(g, c.hex), EntryError, c.reason);
    }
    for (const c of enc.invalid_element_text) {
      assert.throws(() => codec.element(g, c.text), EntryError, c.reason);
    }
    for (const c of enc.invalid_scalar_text) {
      assert.throws(() => codec.scalar(g, c.text), EntryError, c.reason);
    }
  });

  test(`${name}: encode_part`, () => {
    for (const c of V.hashing.encode_part) assert.equal(hex(encodePart(part(g, c.part))), c.encoding);
  });

  test(`${name}: hash_parts`, () => {
    for (const c of V.hashing.hash_parts) {
      const parts = c.parts.map((p) => part(g, p));
      const data = concatBytes(encodePart(c.tag), ...parts.map((p) => encodePart(p)));
      assert.equal(hex(data), c.input);
      assert.equal(hex(sha256(data)), c.digest);
      assert.equal(hex(hashParts(c.tag, ...parts)), c.digest);
    }
  });

  test(`${name}: challenge`, () => {
    for (const c of V.hashing.challenge) {
      const parts = c.parts.map((p) => part(g, p));
      const context = hexToBytes(c.context);
      const data = concatBytes(encodePart(c.tag), encodePart(context), ...parts.map((p) => encodePart(p)));
      assert.equal(hex(data), c.input);
      assert.equal(hex(sha512(data)), c.sha512);
      assert.equal(BigInt('0x' + c.sha512) % g.q, sc(c.challenge));
      assert.equal(challenge(g, c.tag, context, ...parts), sc(c.challenge));
    }
  });

  test(`${name}: elgamal`, () => {
    const v = V.elgamal;
    const secret = sc(v.secret);
    const key = el(v.key);
    assert.ok(g.gPow(secret).equals(key));
    const cts = [];
    for (const c of v.encryptions) {
      const expected = codec.ctFromJson(g, c.ciphertext);
      const got = encrypt(g, key, c.message, sc(c.nonce));
      assert.deepEqual(codec.ctToJson(got), c.ciphertext);
      assert.equal(decryptWithSecret(g, secret, expected, 100), c.message);
      assert.equal(openWithNonce(g, key, expected, sc(c.nonce), 100), c.message);
      cts.push(expected);
    }
    const total = combine(g, cts);
    assert.deepEqual(codec.ctToJson(total), v.sum.ciphertext);
    assert.equal(decryptWithSecret(g, secret, total, 1000), v.sum.message);
    assert.deepEqual(codec.ctToJson(identityCiphertext(g)), v.identity_ciphertext);
  });

  test(`${name}: schnorr`, async (t) => {
    for (const [i, c] of V.schnorr.entries()) {
      await t.test(`${i} ${c.name} (${c.valid ? 'valid' : 'invalid'})`, () => {
        const pub = el(c.public);
        const bind = part(g, c.bind);
        let proof;
        try {
          proof = codec.schnorrFromJson(g, c.proof);
        } catch (exc) {
          assert.ok(exc instanceof EntryError, String(exc));
          assert.equal(c.valid, false); // an encoding refused on the way in
          return;
        }
        assert.deepEqual(codec.schnorrToJson(g, proof), c.proof);
        const context = hexToBytes(c.context);
        assert.equal(verifySchnorr(g, c.tag, context, pub, proof, bind), c.valid);
        checkChallenge(g, c, [g.generator(), pub, bind, proof.commitment]);
        if (c.prover) {
          const secret = sc(c.prover.secret);
          assert.ok(g.gPow(secret).equals(pub));
          const draw = scripted([sc(c.prover.w)]);
          const again = proveSchnorr(g, c.tag, context, secret, pub, bind, draw);
          assert.ok(draw.done());
          assert.deepEqual(codec.schnorrToJson(g, again), c.proof);
        }
      });
    }
  });

  test(`${name}: equality`, async (t) => {
    for (const [i, c] of V.equality.entries()) {
      await t.test(`${i} ${c.name} (${c.valid ? 'valid' : 'invalid'})`, () => {
        const [g1, x1, g2, x2] = ['g1', 'x1', 'g2', 'x2'].map((k) => el(c[k]));
        const bind = part(g, c.bind);
        let proof;
        try {
          proof = codec.equalityFromJson(g, c.proof);
        } catch (exc) {
          assert.ok(exc instanceof EntryError, String(exc));
          assert.equal(c.valid, false);
          return;
        }
        assert.deepEqual(codec.equalityToJson(g, proof), c.proof);
        const context = hexToBytes(c.context);
        assert.equal(verifyEquality(g, c.tag, context, g1, x1, g2, x2, proof, bind), c.valid);
        checkChallenge(g, c, [g1, x1, g2, x2, bind, proof.a, proof.b]);
        if (c.prover) {
          const draw = scripted([sc(c.prover.w)]);
          const again = proveEquality(g, c.tag, context, sc(c.prover.secret), g1, x1, g2, x2, bind, draw);
          assert.ok(draw.done());
          assert.deepEqual(codec.equalityToJson(g, again), c.proof);
        }
      });
    }
  });

  test(`${name}: range`, async (t) => {
    const v = V.range;
    assert.equal(g.gPow(sc(v.secret)).hex(), v.key);
    assert.ok(v.cases.filter((c) => c.valid).length >= 8);
    assert.ok(v.cases.filter((c) => !c.valid).length >= 20);
    for (const [i, c] of v.cases.entries()) {
      await t.test(`${i} ${c.name} (${c.valid ? 'valid' : 'invalid'})`, () => {
        const key = el(c.key);
        const ct = codec.ctFromJson(g, c.ciphertext);
        const bind = part(g, c.bind);
        let proof;
        try {
          proof = codec.rangeFromJson(g, c.proof);
        } catch (exc) {
          assert.ok(exc instanceof EntryError, String(exc));
          assert.equal(c.valid, false);
          return;
        }
        assert.deepEqual(codec.rangeToJson(g, proof), c.proof);
        const context = hexToBytes(c.context);
        assert.equal(verifyRange(g, c.tag, context, key, ct, proof, c.values, bind), c.valid);
        const commitments = proof.branches.flatMap((br) => [br.a, br.b]);
        checkChallenge(g, c, [g.generator(), key, ct.alpha, ct.beta, c.values.map(BigInt), bind, commitments]);
        if (c.prover) {
          const pv = c.prover;
          const nonce = sc(pv.nonce);
          assert.deepEqual(codec.ctToJson(encrypt(g, key, pv.message, nonce)), c.ciphertext);
          assert.equal(c.values.indexOf(pv.message), pv.real_branch);
          const real = proof.branches[pv.real_branch];
          assert.equal((real.response + real.challenge * nonce) % g.q, sc(pv.w));
          for (const generic of [false, true]) {
            const draw = scripted(pv.draws.map(sc));
            const again = proveRange(g, c.tag, context, key, ct, nonce, pv.message, c.values, bind, draw, { generic });
            assert.ok(draw.done());
            assert.deepEqual(codec.rangeToJson(g, again), c.proof, generic ? 'generic prover' : 'fast prover');
          }
        }
      });
    }
  });

  test(`${name}: threshold`, () => {
    const v = V.threshold;
    const all = [];
    for (const poly of v.polynomials) {
      const coeffs = poly.coefficients.map(sc);
      assert.equal(coeffs.length, v.quorum);
      const cs = threshold.commit(g, coeffs);
      assert.deepEqual(cs.map((x) => x.hex()), poly.commitments);
      all.push(cs);
      for (const e of poly.evaluations) {
        assert.equal(threshold.evaluate(g, coeffs, e.x), sc(e.value));
        assert.equal(threshold.commitmentAt(g, cs, e.x).hex(), e.commitment_at);
        assert.ok(threshold.shareIsValid(g, cs, e.x, sc(e.value)));
      }
    }
    for (const bad of v.invalid_shares) {
      assert.ok(!threshold.shareIsValid(g, all[bad.guardian - 1], bad.x, sc(bad.share)));
    }
    assert.equal(threshold.jointKey(g, all).hex(), v.joint_key);
    assert.equal(g.gPow(sc(v.joint_secret)).hex(), v.joint_key);
    const shares = new Map();
    for (const s of v.shares) {
      shares.set(s.x, sc(s.share));
      const expected = v.polynomials.reduce((acc, p) => acc + sc(p.evaluations[s.x].value), 0n) % g.q;
      assert.equal(shares.get(s.x), expected);
      const vk = threshold.verificationKey(g, all, s.x);
      assert.equal(vk.hex(), s.verification_key);
      assert.equal(g.gPow(shares.get(s.x)).hex(), s.verification_key);
    }
    for (const lg of v.lagrange_at_zero) {
      const coeffs = lg.present.map((j) => threshold.lagrangeAtZero(g, j, lg.present));
      assert.deepEqual(coeffs, lg.coefficients.map(sc));
      const total = coeffs.reduce((acc, lam, i) => acc + lam * shares.get(lg.present[i]), 0n) % g.q;
      assert.equal(total, sc(lg.recombined));
      assert.equal(total, sc(v.joint_secret));
    }
    const d = v.decryption;
    const ct = codec.ctFromJson(g, d.ciphertext);
    const partials = new Map(d.partials.map((p) => [p.x, el(p.partial)]));
    for (const j of d.present) assert.ok(g.pow(ct.alpha, shares.get(j)).equals(partials.get(j)));
    const mask = g.prod(d.present.map((j) => g.pow(partials.get(j), threshold.lagrangeAtZero(g, j, d.present))));
    assert.equal(mask.hex(), d.combined_partial);
    assert.equal(g.div(ct.beta, mask).hex(), d.g_pow_message);
    assert.equal(g.dlog(g.div(ct.beta, mask), 100), d.message);
  });

  test(`${name}: timing`, () => {
    const ms = performance.now() - started;
    console.log(`# ${name}: vector checks took ${(ms / 1000).toFixed(2)} s`);
  });
}
