"""Sigma-protocol proofs made non-interactive with strong Fiat-Shamir.

Proofs keep their commitments (not only the challenge), so that a verifier can later
check many of them at once by random linear combination. Every challenge hashes a
domain tag, the election context hash, the whole statement (bases, public values,
ciphertexts, allowed values and any binding data such as the voter's credential) and
the commitments. Responses follow one convention: ``s = w - c * x (mod q)``, checked
as ``base^s * public^c == commitment``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from plebiscite.crypto.batch import Claims
from plebiscite.crypto.elgamal import Ciphertext
from plebiscite.crypto.group import Element, Group
from plebiscite.crypto.hashing import Part, challenge, challenge_finish, challenge_state


@dataclass(frozen=True, slots=True)
class SchnorrProof:
    """Knowledge of ``x`` with ``X = g^x``."""

    commitment: Element
    response: int


def prove_schnorr(
    group: Group, tag: str, context: bytes, secret: int, public: Element, bind: Part = ()
) -> SchnorrProof:
    w = group.random_scalar()
    h = group.g_pow_secret(w)
    c = challenge(group, tag, context, group.generator(), public, bind, h)
    return SchnorrProof(h, (w - c * secret) % group.q)


def verify_schnorr(
    group: Group, tag: str, context: bytes, public: Element, proof: SchnorrProof, bind: Part = ()
) -> bool:
    c = challenge(group, tag, context, group.generator(), public, bind, proof.commitment)
    return group.mul(group.g_pow(proof.response), group.pow(public, c)) == proof.commitment


@dataclass(frozen=True, slots=True)
class EqualityProof:
    """Chaum-Pedersen: ``log_{g1} X1 == log_{g2} X2``."""

    a: Element
    b: Element
    response: int


def prove_equality(
    group: Group,
    tag: str,
    context: bytes,
    secret: int,
    g1: Element,
    x1: Element,
    g2: Element,
    x2: Element,
    bind: Part = (),
) -> EqualityProof:
    w = group.random_scalar()
    a = group.pow_secret(g1, w)
    b = group.pow_secret(g2, w)
    c = challenge(group, tag, context, g1, x1, g2, x2, bind, a, b)
    return EqualityProof(a, b, (w - c * secret) % group.q)


def verify_equality(
    group: Group,
    tag: str,
    context: bytes,
    g1: Element,
    x1: Element,
    g2: Element,
    x2: Element,
    proof: EqualityProof,
    bind: Part = (),
) -> bool:
    c = challenge(group, tag, context, g1, x1, g2, x2, bind, proof.a, proof.b)
    s = proof.response
    return (
        group.mul(group.pow(g1, s), group.pow(x1, c)) == proof.a
        and group.mul(group.pow(g2, s), group.pow(x2, c)) == proof.b
    )


@dataclass(frozen=True, slots=True)
class Branch:
    a: Element
    b: Element
    challenge: int
    response: int


@dataclass(frozen=True, slots=True)
class RangeProof:
    """Disjunctive Chaum-Pedersen: the ciphertext encrypts one of ``values``."""

    branches: tuple[Branch, ...]


def _shifted(group: Group, beta: Element, value: int) -> Element:
    return beta if value == 0 else group.div(beta, group.g_pow(value))


def _range_challenge(
    group: Group,
    tag: str,
    context: bytes,
    key: Element,
    ct: Ciphertext,
    values: Sequence[int],
    bind: Part,
    commitments: list[Element],
) -> int:
    state = _challenge_prefix(group, tag, context, key)
    return challenge_finish(group, state, ct.alpha, ct.beta, list(values), bind, commitments)


@lru_cache(maxsize=32)
def _challenge_prefix(group: Group, tag: str, context: bytes, key: Element) -> Any:
    """The hash state after the parts every range proof of one election shares."""
    return challenge_state(tag, context, group.generator(), key)


def prove_range(
    group: Group,
    tag: str,
    context: bytes,
    key: Element,
    ct: Ciphertext,
    nonce: int,
    message: int,
    values: Sequence[int],
    bind: Part = (),
) -> RangeProof:
    """Prove that ``ct = Enc(message; nonce)`` with ``message`` in ``values``."""
    if message not in values:
        raise ValueError("message is not among the allowed values")
    q = group.q
    real = list(values).index(message)
    w = group.random_scalar()
    sims: dict[int, tuple[int, int]] = {}
    commitments: list[Element] = []
    for j, v in enumerate(values):
        if j == real:
            commitments += [group.g_pow_secret(w), group.pow_secret(key, w)]
        else:
            cj, sj = group.random_scalar(), group.random_scalar()
            sims[j] = (cj, sj)
            commitments += [
                group.mul(group.g_pow(sj), group.pow(ct.alpha, cj)),
                group.mul(group.pow(key, sj), group.pow(_shifted(group, ct.beta, v), cj)),
            ]
    c = _range_challenge(group, tag, context, key, ct, values, bind, commitments)
    c_real = (c - sum(cj for cj, _ in sims.values())) % q
    branches = []
    for j in range(len(values)):
        cj, sj = sims.get(j, (c_real, (w - c_real * nonce) % q))
        branches.append(Branch(commitments[2 * j], commitments[2 * j + 1], cj, sj))
    return RangeProof(tuple(branches))


def _range_challenge_holds(
    group: Group,
    tag: str,
    context: bytes,
    key: Element,
    ct: Ciphertext,
    proof: RangeProof,
    values: Sequence[int],
    bind: Part,
) -> bool:
    """One branch per allowed value, and the branches' challenges sum to the strong
    Fiat-Shamir challenge of the statement and all commitments."""
    if len(proof.branches) != len(values):
        return False
    commitments: list[Element] = []
    for br in proof.branches:
        commitments += [br.a, br.b]
    c = _range_challenge(group, tag, context, key, ct, values, bind, commitments)
    return sum(br.challenge for br in proof.branches) % group.q == c


def verify_range(
    group: Group,
    tag: str,
    context: bytes,
    key: Element,
    ct: Ciphertext,
    proof: RangeProof,
    values: Sequence[int],
    bind: Part = (),
) -> bool:
    if not _range_challenge_holds(group, tag, context, key, ct, proof, values, bind):
        return False
    for br, v in zip(proof.branches, values, strict=True):
        if group.mul(group.g_pow(br.response), group.pow(ct.alpha, br.challenge)) != br.a:
            return False
        lhs = group.mul(
            group.pow(key, br.response), group.pow(_shifted(group, ct.beta, v), br.challenge)
        )
        if lhs != br.b:
            return False
    return True


def range_claims(
    group: Group,
    tag: str,
    context: bytes,
    key: Element,
    ct: Ciphertext,
    proof: RangeProof,
    values: Sequence[int],
    claims: Claims,
    bind: Part = (),
) -> bool:
    """:func:`verify_range` for a batch: the challenge (strong Fiat-Shamir, unchanged) is
    checked here, exactly; the branches' equations go to ``claims`` for a
    :class:`~plebiscite.crypto.batch.Batch`. False if the challenge check fails.

    ``ct``'s components must be claimed as members, or as products of members, in
    ``claims`` by the caller; ``key`` must be a fixed base of the batch.
    """
    if not _range_challenge_holds(group, tag, context, key, ct, proof, values, bind):
        return False
    q = group.q
    g = group.generator()
    for br, v in zip(proof.branches, values, strict=True):
        claims.equation(br.a, [(g, br.response), (ct.alpha, br.challenge)])
        # (beta / g^v)^c = beta^c * g^(-v c)
        terms = [(key, br.response), (ct.beta, br.challenge)]
        if v:
            terms.append((g, (-v * br.challenge) % q))
        claims.equation(br.b, terms)
    return True
