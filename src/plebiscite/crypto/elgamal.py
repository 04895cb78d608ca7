"""Exponential ElGamal: Enc(m; r) = (g^r, K^r g^m), additively homomorphic in m."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from plebiscite.crypto.group import Element, Group


@dataclass(frozen=True, slots=True)
class Ciphertext:
    alpha: Element
    beta: Element

    def __mul__(self, other: Ciphertext) -> Ciphertext:
        return Ciphertext(self.alpha * other.alpha, self.beta * other.beta)

    def __truediv__(self, other: Ciphertext) -> Ciphertext:
        return Ciphertext(self.alpha / other.alpha, self.beta / other.beta)

    def __pow__(self, k: int) -> Ciphertext:
        return Ciphertext(self.alpha**k, self.beta**k)


def encrypt(group: Group, key: Element, message: int, nonce: int) -> Ciphertext:
    """Encrypt a small non-negative integer; the nonce and message are secret."""
    return Ciphertext(
        group.g_pow_secret(nonce),
        group.mul(group.pow_secret(key, nonce), group.g_pow_secret(message)),
    )


def identity_ciphertext(group: Group) -> Ciphertext:
    return Ciphertext(group.identity(), group.identity())


def combine(group: Group, items: Iterable[Ciphertext]) -> Ciphertext:
    """The homomorphic sum (component-wise product) of ciphertexts."""
    a = group.identity()
    b = group.identity()
    for c in items:
        a = group.mul(a, c.alpha)
        b = group.mul(b, c.beta)
    return Ciphertext(a, b)


def decrypt_with_secret(group: Group, secret: int, c: Ciphertext, bound: int) -> int:
    """Decrypt with the whole secret key (tests and single-key use only)."""
    return group.dlog(group.div(c.beta, group.pow_secret(c.alpha, secret)), bound)


def open_with_nonce(group: Group, key: Element, c: Ciphertext, nonce: int, bound: int) -> int:
    """The message of ``c`` given its nonce (Benaloh challenge); raise if alpha mismatches."""
    from plebiscite.crypto.group import GroupError

    if group.g_pow(nonce) != c.alpha:
        raise GroupError("nonce does not match the ciphertext")
    return group.dlog(group.div(c.beta, group.pow(key, nonce)), bound)
