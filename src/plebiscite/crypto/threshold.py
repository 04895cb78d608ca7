"""Threshold keys: Feldman verifiable secret sharing (Pedersen's distributed key
generation without a dealer) and Lagrange recombination.

Guardian ``i`` (numbered 1..n) picks a random polynomial ``P_i`` of degree ``k - 1``
and publishes commitments ``C_{i,m} = g^{a_{i,m}}`` to its coefficients. It sends
``P_i(j)`` to guardian ``j``, who checks ``g^{P_i(j)} == prod_m C_{i,m}^{j^m}``.
Guardian ``j``'s share of the joint secret is ``s_j = sum_i P_i(j)``; the joint key is
``K = prod_i C_{i,0}`` and ``j``'s verification key ``K_j = g^{s_j}`` is public,
computable from the commitments alone. Any ``k`` shares recombine with Lagrange
coefficients at 0, so absent guardians are compensated without extra messages.
"""

from __future__ import annotations

from collections.abc import Sequence

from plebiscite.crypto.group import Element, Group


def random_polynomial(group: Group, degree: int) -> list[int]:
    return [group.random_scalar() for _ in range(degree + 1)]


def evaluate(group: Group, coefficients: Sequence[int], x: int) -> int:
    acc = 0
    for a in reversed(coefficients):
        acc = (acc * x + a) % group.q
    return acc


def commit(group: Group, coefficients: Sequence[int]) -> list[Element]:
    return [group.g_pow_secret(a) for a in coefficients]


def commitment_at(group: Group, commitments: Sequence[Element], x: int) -> Element:
    """``g^{P(x)}`` from the commitments to P's coefficients."""
    acc = group.identity()
    power = 1
    for c in commitments:
        acc = group.mul(acc, group.pow(c, power))
        power = power * x % group.q
    return acc


def share_is_valid(group: Group, commitments: Sequence[Element], x: int, share: int) -> bool:
    return group.g_pow(share) == commitment_at(group, commitments, x)


def verification_key(group: Group, all_commitments: Sequence[Sequence[Element]], x: int) -> Element:
    """``K_x = g^{s_x}`` where ``s_x`` is guardian x's combined share."""
    return group.prod(commitment_at(group, cs, x) for cs in all_commitments)


def joint_key(group: Group, all_commitments: Sequence[Sequence[Element]]) -> Element:
    return group.prod(cs[0] for cs in all_commitments)


def lagrange_at_zero(group: Group, index: int, present: Sequence[int]) -> int:
    """The Lagrange coefficient of ``index`` for interpolation at 0 over ``present``."""
    if len(set(present)) != len(present) or index not in present:
        raise ValueError("guardian indices must be distinct and include the index")
    if any(m % group.q == 0 for m in present):
        raise ValueError("guardian index 0 is the secret itself")
    q = group.q
    num, den = 1, 1
    for m in present:
        if m != index:
            num = num * m % q
            den = den * (m - index) % q
    return num * pow(den, -1, q) % q
