"""JSON forms of the cryptographic objects, checked on the way in.

Elements and scalars are lowercase hex of their canonical bytes. Reading goes through
the group's membership and range checks, so nothing unchecked reaches the protocol.
"""

from __future__ import annotations

from typing import Any

from plebiscite.crypto.elgamal import Ciphertext
from plebiscite.crypto.group import Element, Group, GroupError
from plebiscite.crypto.proofs import Branch, EqualityProof, RangeProof, SchnorrProof
from plebiscite.record.entries import EntryError


def _obj(d: Any, keys: set[str], what: str) -> dict[str, Any]:
    if not isinstance(d, dict) or set(d) != keys:
        raise EntryError(f"{what}: expected an object with keys {sorted(keys)}")
    return d


def element(group: Group, text: Any, what: str = "element", *, commitment: bool = False) -> Element:
    """Decode an element; ``commitment=True`` for a proof's commitments only, whose
    membership the proof's verification equation establishes."""
    if not isinstance(text, str):
        raise EntryError(f"{what}: expected hex")
    try:
        e = group.element_from_hex(text, member_check=not commitment)
    except GroupError as exc:
        raise EntryError(f"{what}: {exc}") from exc
    if e.hex() != text:
        raise EntryError(f"{what}: not canonical hex")
    return e


def scalar(group: Group, text: Any, what: str = "scalar") -> int:
    if not isinstance(text, str) or text != text.lower():
        raise EntryError(f"{what}: expected lowercase hex")
    try:
        return group.scalar_from_hex(text)
    except GroupError as exc:
        raise EntryError(f"{what}: {exc}") from exc


def scalar_hex(group: Group, v: int) -> str:
    return group.encode_scalar(v).hex()


def ct_to_json(c: Ciphertext) -> dict[str, str]:
    return {"alpha": c.alpha.hex(), "beta": c.beta.hex()}


def ct_from_json(group: Group, d: Any, what: str = "ciphertext") -> Ciphertext:
    o = _obj(d, {"alpha", "beta"}, what)
    return Ciphertext(element(group, o["alpha"], what), element(group, o["beta"], what))


def range_to_json(group: Group, p: RangeProof) -> list[dict[str, str]]:
    return [
        {
            "a": b.a.hex(),
            "b": b.b.hex(),
            "c": scalar_hex(group, b.challenge),
            "s": scalar_hex(group, b.response),
        }
        for b in p.branches
    ]


def range_from_json(group: Group, d: Any, what: str = "proof") -> RangeProof:
    if not isinstance(d, list) or not d:
        raise EntryError(f"{what}: expected a list of branches")
    out = []
    for br in d:
        o = _obj(br, {"a", "b", "c", "s"}, what)
        out.append(
            Branch(
                element(group, o["a"], what, commitment=True),
                element(group, o["b"], what, commitment=True),
                scalar(group, o["c"], what),
                scalar(group, o["s"], what),
            )
        )
    return RangeProof(tuple(out))


def schnorr_to_json(group: Group, p: SchnorrProof) -> dict[str, str]:
    return {"commitment": p.commitment.hex(), "response": scalar_hex(group, p.response)}


def schnorr_from_json(group: Group, d: Any, what: str = "proof") -> SchnorrProof:
    o = _obj(d, {"commitment", "response"}, what)
    return SchnorrProof(
        element(group, o["commitment"], what, commitment=True), scalar(group, o["response"], what)
    )


def equality_to_json(group: Group, p: EqualityProof) -> dict[str, str]:
    return {"a": p.a.hex(), "b": p.b.hex(), "response": scalar_hex(group, p.response)}


def equality_from_json(group: Group, d: Any, what: str = "proof") -> EqualityProof:
    o = _obj(d, {"a", "b", "response"}, what)
    return EqualityProof(
        element(group, o["a"], what, commitment=True),
        element(group, o["b"], what, commitment=True),
        scalar(group, o["response"], what),
    )
