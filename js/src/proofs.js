// Sigma-protocol proofs made non-interactive with strong Fiat-Shamir, as
// src/plebiscite/crypto/proofs.py. Every challenge hashes a domain tag, the context hash,
// the whole statement, the binding data and the commitments. Responses follow one
// convention: s = w - c * x (mod q), checked as base^s * public^c == commitment.
//
// Provers draw their random scalars from `draw` (default: group.randomScalar()), in the
// same order as Python does, so a scripted `draw` replays the shared vectors exactly.

import { mod } from './bytes.js';
import { challenge } from './hashing.js';

const defaultDraw = (group) => () => group.randomScalar();

// --- Schnorr: knowledge of x with X = g^x. Proof {commitment, response}.

export function proveSchnorr(group, tag, context, secret, pub, bind = [], draw = defaultDraw(group)) {
  const w = draw();
  const h = group.gPowSecret(w);
  const c = challenge(group, tag, context, group.generator(), pub, bind, h);
  return { commitment: h, response: mod(w - c * BigInt(secret), group.q) };
}

export function verifySchnorr(group, tag, context, pub, proof, bind = []) {
  const c = challenge(group, tag, context, group.generator(), pub, bind, proof.commitment);
  return group.pow2(group.generator(), proof.response, pub, c).equals(proof.commitment);
}

// --- Chaum-Pedersen: log_{g1} X1 == log_{g2} X2. Proof {a, b, response}.

export function proveEquality(group, tag, context, secret, g1, x1, g2, x2, bind = [], draw = defaultDraw(group)) {
  const w = draw();
  const a = group.powSecret(g1, w);
  const b = group.powSecret(g2, w);
  const c = challenge(group, tag, context, g1, x1, g2, x2, bind, a, b);
  return { a, b, response: mod(w - c * BigInt(secret), group.q) };
}

export function verifyEquality(group, tag, context, g1, x1, g2, x2, proof, bind = []) {
  const c = challenge(group, tag, context, g1, x1, g2, x2, bind, proof.a, proof.b);
  const s = proof.response;
  return group.pow2(g1, s, x1, c).equals(proof.a) && group.pow2(g2, s, x2, c).equals(proof.b);
}

// --- Disjunctive Chaum-Pedersen: the ciphertext encrypts one of `values`.
// Proof {branches: [{a, b, challenge, response}, ...]}, one branch per value.

function shifted(group, beta, value) {
  return value === 0 || value === 0n ? beta : group.div(beta, group.gPow(value));
}

function rangeChallenge(group, tag, context, key, ct, values, bind, commitments) {
  return challenge(group, tag, context, group.generator(), key, ct.alpha, ct.beta, [...values], bind, commitments);
}

/**
 * Prove that ct = Enc(message; nonce) under key with message in values.
 *
 * The simulated branches' commitments g^s alpha^c and K^s (beta / g^v)^c are computed as
 * g^(s + c r) and K^(s + c r) g^((m - v) c), the same group elements (the prover knows
 * r), so every exponentiation is by a fixed base (g or the key) and the bytes are
 * Python's. `generic: true` computes them literally, as Python does.
 */
export function proveRange(group, tag, context, key, ct, nonce, message, values, bind = [], draw = defaultDraw(group), { generic = false } = {}) {
  const vals = values.map(Number);
  const m = Number(message);
  const real = vals.indexOf(m);
  if (real < 0) throw new RangeError('message is not among the allowed values');
  const q = group.q;
  const r = BigInt(nonce);
  const w = draw();
  const sims = new Map();
  const commitments = [];
  for (let j = 0; j < vals.length; j++) {
    if (j === real) {
      commitments.push(group.gPowSecret(w), group.powSecret(key, w));
      continue;
    }
    const cj = draw();
    const sj = draw();
    sims.set(j, [cj, sj]);
    if (generic) {
      commitments.push(
        group.mul(group.gPow(sj), group.pow(ct.alpha, cj)),
        group.mul(group.pow(key, sj), group.pow(shifted(group, ct.beta, vals[j]), cj)),
      );
    } else {
      const t = mod(sj + cj * r, q);
      commitments.push(
        group.gPowSecret(t),
        group.mul(group.powSecret(key, t), group.gPowSecret(mod(BigInt(m - vals[j]) * cj, q))),
      );
    }
  }
  const c = rangeChallenge(group, tag, context, key, ct, vals, bind, commitments);
  let simSum = 0n;
  for (const [cj] of sims.values()) simSum += cj;
  const cReal = mod(c - simSum, q);
  const branches = [];
  for (let j = 0; j < vals.length; j++) {
    const [cj, sj] = sims.get(j) ?? [cReal, mod(w - cReal * r, q)];
    branches.push({ a: commitments[2 * j], b: commitments[2 * j + 1], challenge: cj, response: sj });
  }
  return { branches };
}

export function verifyRange(group, tag, context, key, ct, proof, values, bind = []) {
  const vals = values.map(Number);
  if (proof.branches.length !== vals.length) return false;
  const commitments = [];
  for (const br of proof.branches) commitments.push(br.a, br.b);
  const c = rangeChallenge(group, tag, context, key, ct, vals, bind, commitments);
  let sum = 0n;
  for (const br of proof.branches) sum += br.challenge;
  if (sum % group.q !== c) return false;
  for (let j = 0; j < vals.length; j++) {
    const br = proof.branches[j];
    if (!group.pow2(group.generator(), br.response, ct.alpha, br.challenge).equals(br.a)) return false;
    const lhs = group.pow2(key, br.response, shifted(group, ct.beta, vals[j]), br.challenge);
    if (!lhs.equals(br.b)) return false;
  }
  return true;
}
