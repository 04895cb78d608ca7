"""Witness cosignatures on the board's checkpoints.

A witness (an observer) cosigns a checkpoint only after checking it is consistent with
the last one it cosigned, so two cosigned checkpoints of one log that are not
consistent are a transferable proof that the board showed different histories. A
checkpoint is trusted once ``witness_quorum`` distinct witnesses cosigned it; a quorum
of more than half the witnesses makes a fork impossible to cosign on both branches.

A cosignature is self-contained: it repeats the checkpoint it is about and signs
``b"plebiscite-cosignature/v1\\n" + witness id + "\\n" + checkpoint body``.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from plebiscite.board.checkpoint import Checkpoint

_KEYS = {"witness", "key", "origin", "size", "root", "time", "signature"}


@dataclass(frozen=True)
class Cosignature:
    witness: str
    key: str  # base64 Ed25519 public key
    checkpoint: Checkpoint  # its signature field is the board's
    signature: bytes

    def message(self) -> bytes:
        return cosigned_message(self.witness, self.checkpoint)

    def to_json(self) -> dict[str, Any]:
        cp = self.checkpoint
        return {
            "witness": self.witness,
            "key": self.key,
            "origin": cp.origin,
            "size": cp.size,
            "root": cp.root.hex(),
            "time": cp.time,
            "signature": base64.b64encode(self.signature).decode(),
        }

    def about(self, cp: Checkpoint) -> bool:
        c = self.checkpoint
        return (c.origin, c.size, c.root, c.time) == (cp.origin, cp.size, cp.root, cp.time)

    @classmethod
    def from_json(cls, d: Any, board_signature: bytes = bytes(64)) -> Cosignature:
        if not isinstance(d, dict) or set(d) != _KEYS:
            raise ValueError(f"a cosignature has exactly the keys {', '.join(sorted(_KEYS))}")
        if not isinstance(d["witness"], str) or not isinstance(d["key"], str):
            raise ValueError("cosignature: witness and key must be strings")
        try:
            sig = base64.b64decode(d["signature"], validate=True)
            key = base64.b64decode(d["key"], validate=True)
        except (binascii.Error, ValueError, TypeError) as exc:
            raise ValueError("cosignature: key and signature must be base64") from exc
        if len(sig) != 64 or len(key) != 32:
            raise ValueError("cosignature: bad key or signature length")
        cp = Checkpoint.from_json(
            {
                "origin": d["origin"],
                "size": d["size"],
                "root": d["root"],
                "time": d["time"],
                "signature": base64.b64encode(board_signature).decode(),
            }
        )
        return cls(d["witness"], d["key"], cp, sig)


def cosigned_message(witness: str, cp: Checkpoint) -> bytes:
    return f"plebiscite-cosignature/v1\n{witness}\n".encode() + cp.body()


def cosign(key: Ed25519PrivateKey, witness: str, cp: Checkpoint) -> Cosignature:
    pub = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return Cosignature(
        witness, base64.b64encode(pub).decode(), cp, key.sign(cosigned_message(witness, cp))
    )


def verify_cosignature(cs: Cosignature) -> bool:
    try:
        pub = Ed25519PublicKey.from_public_bytes(base64.b64decode(cs.key))
        pub.verify(cs.signature, cs.message())
    except (InvalidSignature, ValueError, binascii.Error):
        return False
    return True


def trusted_by(
    cp: Checkpoint, cosignatures: list[Cosignature], witnesses: dict[str, str]
) -> set[str]:
    """The witnesses (id -> declared base64 key) with a valid cosignature on ``cp``."""
    return {
        cs.witness
        for cs in cosignatures
        if cs.about(cp) and witnesses.get(cs.witness) == cs.key and verify_cosignature(cs)
    }


def parse_cosignatures(lines: list[bytes]) -> list[Cosignature]:
    """The well-formed cosignatures among ``lines`` (a malformed one is no cosignature;
    the verifier's V22 reports it)."""
    from plebiscite.record.canonical import CanonicalError, loads

    out = []
    for line in lines:
        try:
            out.append(Cosignature.from_json(loads(line)))
        except (ValueError, CanonicalError):
            continue
    return out
