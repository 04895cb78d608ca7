"""ElectionGuard 1.x hashing, value parsing and proof checks, in the pinned group.

Written from the ElectionGuard 1.0 specification and the record format of
electionguard-python 1.4.0; plebiscite's own hashing and proof formats differ and are
not used here. Only the group arithmetic comes from :mod:`plebiscite.crypto`.

Values in a 1.x record are hex strings of the integer (upper case, even length, no
leading zero bytes). Every element read goes through :func:`element`, which checks
range and subgroup membership (``member=False`` only for a proof's commitments, whose
membership the verification equation implies); every exponent through :func:`scalar`,
which checks ``0 <= x < q``.

The ballot proofs can also be checked in batches (:mod:`plebiscite.crypto.batch`): with
``claims``, :func:`ciphertext` leaves the membership test and :func:`check_disjunctive`
and :func:`check_constant` leave their equations (never their challenge hashes) to the
batch.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from plebiscite.crypto.batch import Claims
from plebiscite.crypto.group import Element, Group, GroupError, get_group

GROUP_NAME = "electionguard-1"
_HEX = re.compile(r"[0-9A-Fa-f]+")


class Bad(ValueError):
    """A value of the record is malformed, out of range or not a group member."""


class Hx(int):
    """An integer hashed as an ElectionGuard element (hex), not as a decimal number."""

    __slots__ = ()


def group() -> Group:
    return get_group(GROUP_NAME)


def to_hex(value: int) -> str:
    """electionguard-python's element encoding: upper-case hex, padded to even length."""
    text = format(value, "02X")
    return "0" + text if len(text) % 2 else text


def hash_elems(*items: Any) -> int:
    """ElectionGuard 1.x ``H``: SHA-256 over ``|``-separated item texts, reduced mod q.

    Elements (:class:`Hx`) hash as their hex, strings as themselves, integers in decimal,
    ``None`` and empty sequences as ``null``, and non-empty sequences as the hex of their
    own hash (recursively). An object's ``crypto_hash`` is passed as an :class:`Hx`.
    """
    h = hashlib.sha256(b"|")
    for x in items:
        if isinstance(x, Hx):
            text = to_hex(int(x))
        elif isinstance(x, str):
            text = x
        elif isinstance(x, bool):
            raise TypeError("booleans are not hashed by ElectionGuard 1.x")
        elif isinstance(x, int):
            text = str(x)
        elif not x:
            text = "null"
        elif isinstance(x, list | tuple):
            text = to_hex(hash_elems(*x))
        else:
            raise TypeError(f"cannot hash {type(x).__name__}")
        h.update((text + "|").encode("utf-8"))
    return int.from_bytes(h.digest(), "big") % group().q


# --- parsing ------------------------------------------------------------------------


def _int(text: Any, what: str) -> int:
    if not isinstance(text, str) or not _HEX.fullmatch(text):
        raise Bad(f"{what}: not a hex number")
    return int(text, 16)


def element(text: Any, what: str, *, member: bool = True) -> Element:
    """An element of the pinned group, checked for range and (by default) membership."""
    g = group()
    v = _int(text, what)
    if v.bit_length() > 8 * g.element_bytes:
        raise Bad(f"{what}: out of range")
    try:
        return g.decode_element(v.to_bytes(g.element_bytes, "big"), member_check=member)
    except GroupError as exc:
        raise Bad(f"{what}: {exc}") from exc


def scalar(text: Any, what: str) -> int:
    """An exponent, checked to lie in ``[0, q)``."""
    v = _int(text, what)
    if v >= group().q:
        raise Bad(f"{what}: out of range (>= q)")
    return v


def integer(value: Any, what: str, lo: int = 0, hi: int | None = None) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise Bad(f"{what}: not an integer")
    if value < lo or (hi is not None and value > hi):
        raise Bad(f"{what}: {value} out of range")
    return value


def text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise Bad(f"{what}: not a string")
    return value


def obj(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise Bad(f"{what}: not an object")
    return value


def field(d: Mapping[str, Any], key: str, what: str) -> Any:
    if key not in d:
        raise Bad(f"{what}: missing {key!r}")
    return d[key]


def hx(e: Element) -> Hx:
    return Hx(int(e.value))


def ciphertext(d: Any, what: str, claims: Claims | None = None) -> tuple[Element, Element]:
    """A ciphertext's two elements; with ``claims``, their membership is claimed there
    (tested by the batch) instead of tested here."""
    d = obj(d, what)
    member = claims is None
    pad = element(field(d, "pad", what), f"{what} pad", member=member)
    data = element(field(d, "data", what), f"{what} data", member=member)
    if claims is not None:
        claims.member(pad)
        claims.member(data)
    return pad, data


# --- proofs -------------------------------------------------------------------------


def check_schnorr(key: Element, proof: Any, what: str) -> None:
    """A guardian's proof of knowledge of the secret behind ``key`` (spec step 2):
    ``c = H(K, h)`` and ``g^u = h * K^c``."""
    g = group()
    p = obj(proof, what)
    if element(field(p, "public_key", what), f"{what} public_key") != key:
        raise Bad(f"{what}: proves a different key than the commitment")
    h = element(field(p, "commitment", what), f"{what} commitment", member=False)
    c = scalar(field(p, "challenge", what), f"{what} challenge")
    u = scalar(field(p, "response", what), f"{what} response")
    if c != hash_elems(hx(key), hx(h)):
        raise Bad(f"{what}: challenge is not H(K, h)")
    if g.g_pow(u) != h * key**c:
        raise Bad(f"{what}: g^u != h * K^c")


def check_disjunctive(
    key: Element,
    qbar: int,
    alpha: Element,
    beta: Element,
    proof: Any,
    what: str,
    claims: Claims | None = None,
) -> None:
    """A selection encrypts 0 or 1 (spec step 4). With ``claims``, the four equations
    are added there instead of checked here."""
    g = group()
    p = obj(proof, what)
    a0 = element(field(p, "proof_zero_pad", what), f"{what} a0", member=False)
    b0 = element(field(p, "proof_zero_data", what), f"{what} b0", member=False)
    a1 = element(field(p, "proof_one_pad", what), f"{what} a1", member=False)
    b1 = element(field(p, "proof_one_data", what), f"{what} b1", member=False)
    c0 = scalar(field(p, "proof_zero_challenge", what), f"{what} c0")
    c1 = scalar(field(p, "proof_one_challenge", what), f"{what} c1")
    c = scalar(field(p, "challenge", what), f"{what} challenge")
    v0 = scalar(field(p, "proof_zero_response", what), f"{what} v0")
    v1 = scalar(field(p, "proof_one_response", what), f"{what} v1")
    if (c0 + c1) % g.q != c:
        raise Bad(f"{what}: c0 + c1 != c")
    if c != hash_elems(Hx(qbar), hx(alpha), hx(beta), hx(a0), hx(b0), hx(a1), hx(b1)):
        raise Bad(f"{what}: challenge is not H(Q', alpha, beta, a0, b0, a1, b1)")
    if claims is not None:
        gen, q = g.generator(), g.q
        claims.equation(a0, [(gen, v0), (alpha, q - c0)])
        claims.equation(a1, [(gen, v1), (alpha, q - c1)])
        claims.equation(b0, [(key, v0), (beta, q - c0)])
        claims.equation(b1, [(gen, c1), (key, v1), (beta, q - c1)])
        return
    if g.g_pow(v0) != a0 * alpha**c0:
        raise Bad(f"{what}: g^v0 != a0 * alpha^c0")
    if g.g_pow(v1) != a1 * alpha**c1:
        raise Bad(f"{what}: g^v1 != a1 * alpha^c1")
    if key**v0 != b0 * beta**c0:
        raise Bad(f"{what}: K^v0 != b0 * beta^c0")
    if g.g_pow(c1) * key**v1 != b1 * beta**c1:
        raise Bad(f"{what}: g^c1 * K^v1 != b1 * beta^c1")


def check_constant(
    key: Element,
    qbar: int,
    alpha: Element,
    beta: Element,
    proof: Any,
    limit: int,
    what: str,
    claims: Claims | None = None,
) -> None:
    """A contest's selections (placeholders included) add up to exactly ``limit``
    (spec step 5). With ``claims``, the two equations are added there (``alpha`` and
    ``beta`` must be claimed members or products of them)."""
    g = group()
    p = obj(proof, what)
    constant = integer(field(p, "constant", what), f"{what} constant")
    if constant != limit:
        raise Bad(f"{what}: constant {constant} is not the contest's limit {limit}")
    a = element(field(p, "pad", what), f"{what} a", member=False)
    b = element(field(p, "data", what), f"{what} b", member=False)
    c = scalar(field(p, "challenge", what), f"{what} challenge")
    v = scalar(field(p, "response", what), f"{what} response")
    if c != hash_elems(Hx(qbar), hx(alpha), hx(beta), hx(a), hx(b)):
        raise Bad(f"{what}: challenge is not H(Q', alpha, beta, a, b)")
    if claims is not None:
        gen, q = g.generator(), g.q
        claims.equation(a, [(gen, v), (alpha, q - c)])
        claims.equation(b, [(gen, c * limit), (key, v), (beta, q - c)])
        return
    if g.g_pow(v) != a * alpha**c:
        raise Bad(f"{what}: g^v != a * alpha^c")
    if g.g_pow(c * limit) * key**v != b * beta**c:
        raise Bad(f"{what}: g^(cL) * K^v != b * beta^c")


def check_share_proof(
    key: Element,
    qbar: int,
    pad: Element,
    data: Element,
    share: Element,
    proof: Any,
    what: str,
) -> None:
    """A decryption share ``M = A^s`` for the ``s`` behind ``key = g^s`` (spec steps 8,
    9): ``c = H(Q', (A, B), (a, b), M)``, ``g^v = a * K^c``, ``A^v = b * M^c``."""
    g = group()
    p = obj(proof, what)
    a = element(field(p, "pad", what), f"{what} a", member=False)
    b = element(field(p, "data", what), f"{what} b", member=False)
    c = scalar(field(p, "challenge", what), f"{what} challenge")
    v = scalar(field(p, "response", what), f"{what} response")
    if c != hash_elems(Hx(qbar), hx(pad), hx(data), hx(a), hx(b), hx(share)):
        raise Bad(f"{what}: challenge is not H(Q', A, B, a, b, M)")
    if g.g_pow(v) != a * key**c:
        raise Bad(f"{what}: g^v != a * K^c")
    if pad**v != b * share**c:
        raise Bad(f"{what}: A^v != b * M^c")


def lagrange(order: int, others: list[int]) -> int:
    """``w = prod(j) / prod(j - order)`` over the other available guardians, mod q."""
    q = group().q
    num = 1
    den = 1
    for j in others:
        num = num * j % q
        den = den * (j - order) % q
    return num * pow(den, -1, q) % q
