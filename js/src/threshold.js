// Threshold keys (Feldman VSS, Lagrange recombination), as
// src/plebiscite/crypto/threshold.py. Guardians are numbered from 1.

import { invert, mod } from './bytes.js';

export function evaluate(group, coefficients, x) {
  const q = group.q;
  const X = BigInt(x);
  let acc = 0n;
  for (let i = coefficients.length - 1; i >= 0; i--) acc = mod(acc * X + BigInt(coefficients[i]), q);
  return acc;
}

export function commit(group, coefficients) {
  return coefficients.map((a) => group.gPowSecret(a));
}

/** g^{P(x)} from the commitments to P's coefficients. */
export function commitmentAt(group, commitments, x) {
  let acc = group.identity();
  let power = 1n;
  const X = BigInt(x);
  for (const c of commitments) {
    acc = group.mul(acc, group.pow(c, power));
    power = mod(power * X, group.q);
  }
  return acc;
}

export function shareIsValid(group, commitments, x, share) {
  return group.gPow(share).equals(commitmentAt(group, commitments, x));
}

export function verificationKey(group, allCommitments, x) {
  return group.prod(allCommitments.map((cs) => commitmentAt(group, cs, x)));
}

export function jointKey(group, allCommitments) {
  return group.prod(allCommitments.map((cs) => cs[0]));
}

export function lagrangeAtZero(group, index, present) {
  const idx = present.map(BigInt);
  const i = BigInt(index);
  if (new Set(idx).size !== idx.length || !idx.includes(i)) {
    throw new RangeError('guardian indices must be distinct and include the index');
  }
  const q = group.q;
  if (idx.some((m) => mod(m, q) === 0n)) throw new RangeError('guardian index 0 is the secret itself');
  let num = 1n;
  let den = 1n;
  for (const m of idx) {
    if (m !== i) {
      num = mod(num * m, q);
      den = mod(den * (m - i), q);
    }
  }
  return mod(num * invert(den, q), q);
}
