// Exponential ElGamal: Enc(m; r) = (g^r, K^r g^m), additively homomorphic in m, as
// src/plebiscite/crypto/elgamal.py. A ciphertext is {alpha, beta} of Elements.

import { GroupError } from './group.js';

export function ciphertext(alpha, beta) {
  return { alpha, beta };
}

/** Encrypt a small non-negative integer; the nonce and message are secret. */
export function encrypt(group, key, message, nonce) {
  return {
    alpha: group.gPowSecret(nonce),
    beta: group.mul(group.powSecret(key, nonce), group.gPowSecret(message)),
  };
}

export function identityCiphertext(group) {
  return { alpha: group.identity(), beta: group.identity() };
}

/** The homomorphic sum (component-wise product) of ciphertexts. */
export function combine(group, items) {
  let a = group.identity();
  let b = group.identity();
  for (const c of items) {
    a = group.mul(a, c.alpha);
    b = group.mul(b, c.beta);
  }
  return { alpha: a, beta: b };
}

export function ctPow(group, c, k) {
  return { alpha: group.pow(c.alpha, k), beta: group.pow(c.beta, k) };
}

/** Decrypt with the whole secret key (tests and single-key use only). */
export function decryptWithSecret(group, secret, c, bound) {
  return group.dlog(group.div(c.beta, group.powSecret(c.alpha, secret)), bound);
}

/** The message of c given its nonce (Benaloh challenge); throws if alpha mismatches. */
export function openWithNonce(group, key, c, nonce, bound) {
  if (!group.gPow(nonce).equals(c.alpha)) throw new GroupError('nonce does not match the ciphertext');
  return group.dlog(group.div(c.beta, group.pow(key, nonce)), bound);
}
