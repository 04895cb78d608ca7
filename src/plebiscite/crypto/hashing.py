"""Canonical hashing for Fiat-Shamir challenges and identifiers.

Every hash input is a sequence of typed, length-prefixed parts, so no two different
statements share an encoding, and the JavaScript booth can reproduce the bytes exactly:

- element:  ``b"E"`` + 4-byte big-endian length + the group's canonical encoding
- integer:  ``b"I"`` + length + minimal big-endian bytes (non-negative only)
- string:   ``b"S"`` + length + UTF-8
- bytes:    ``b"B"`` + length + raw bytes
- list:     ``b"L"`` + 4-byte item count + each item's encoding

A challenge hashes a domain tag, the election context hash, the full statement and the
commitments (strong Fiat-Shamir); SHA-512 reduced mod q keeps the bias negligible.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any, Union

from plebiscite.crypto.group import Element, Group

Part = Union[Element, int, str, bytes, Sequence["Part"]]  # noqa: UP007 (recursive alias)


def encode_part(part: Part) -> bytes:
    if isinstance(part, Element):
        data = part.to_bytes()
        return b"E" + len(data).to_bytes(4, "big") + data
    if isinstance(part, bool):
        raise TypeError("booleans are not hashed; use 0 or 1")
    if isinstance(part, int):
        if part < 0:
            raise ValueError("negative integers are not hashed")
        data = part.to_bytes((part.bit_length() + 7) // 8, "big")
        return b"I" + len(data).to_bytes(4, "big") + data
    if isinstance(part, str):
        data = part.encode("utf-8")
        return b"S" + len(data).to_bytes(4, "big") + data
    if isinstance(part, bytes | bytearray):
        return b"B" + len(part).to_bytes(4, "big") + bytes(part)
    if isinstance(part, list | tuple):
        return b"L" + len(part).to_bytes(4, "big") + b"".join(encode_part(p) for p in part)
    raise TypeError(f"cannot hash {type(part).__name__}")


def hash_parts(tag: str, *parts: Part) -> bytes:
    """SHA-256 over the tag and the parts; 32 bytes."""
    h = hashlib.sha256(encode_part(tag))
    for p in parts:
        h.update(encode_part(p))
    return h.digest()


def challenge(group: Group, tag: str, context: bytes, *parts: Part) -> int:
    """A Fiat-Shamir challenge in [0, q): SHA-512 of tag, context hash and parts, mod q."""
    return challenge_finish(group, challenge_state(tag, context), *parts)


def challenge_state(tag: str, context: bytes, *parts: Part) -> Any:
    """The SHA-512 state after the tag, the context hash and the first ``parts`` of a
    challenge: for callers that hash many statements with the same beginning (the
    verifier: the same tag, context, generator and key for every ballot's proofs)."""
    h = hashlib.sha512(encode_part(tag))
    h.update(encode_part(context))
    for p in parts:
        h.update(encode_part(p))
    return h


def challenge_finish(group: Group, state: Any, *parts: Part) -> int:
    """The challenge of ``state`` (left unchanged) followed by ``parts``: the same
    value as :func:`challenge` over all the parts."""
    h = state.copy()
    for p in parts:
        h.update(encode_part(p))
    return int.from_bytes(h.digest(), "big") % group.q
