"""Witness cosignatures on the board's checkpoints.

A witness (an observer) cosigns a checkpoint only after checking it is consistent with
the last one it cosigned, so two cosigned checkpoints of one log that are not
consistent are a transferable proof that the board showed different histories. A
checkpoint is trusted once ``witness_quorum`` distinct witnesses cosigned it; a quorum
of more than half the witnesses makes a fork impossible to cosign on both branches.

A cosignature is self-contained: it repeats the checkpoint it is about, states the
witness's own clock when it cosigned (``witness_time``, the board's time form) and signs
``b"plebiscite-cosignature/v2\\n" + witness id + "\\n" + witness time + "\\n" +
checkpoint body``. A cosignature is *timely* when its witness time and the checkpoint's
time differ by at most the referendum's ``max_skew_s``: the witness then vouches that the
board signed that checkpoint at about the time it claims.
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
from plebiscite.record.entries import EntryError, parse_entry_time

COSIGNATURE_HEADER = b"plebiscite-cosignature/v2\n"
_KEYS = {"witness", "key", "origin", "size", "root", "time", "witness_time", "signature"}


@dataclass(frozen=True)
class Cosignature:
    witness: str
    key: str  # base64 Ed25519 public key
    checkpoint: Checkpoint  # its signature field is the board's
    witness_time: str  # the witness's clock when it cosigned (UTC, ms, Z)
    signature: bytes

    def message(self) -> bytes:
        return cosigned_message(self.witness, self.witness_time, self.checkpoint)

    def skew_s(self) -> float | None:
        """How far apart (seconds) the witness's time and the checkpoint's are; None
        when the checkpoint's time is not in the board's form."""
        try:
            board = parse_entry_time(self.checkpoint.time)
        except EntryError:
            return None
        return abs((parse_entry_time(self.witness_time) - board).total_seconds())

    def timely(self, max_skew_s: int) -> bool:
        skew = self.skew_s()
        return skew is not None and skew <= max_skew_s

    def to_json(self) -> dict[str, Any]:
        cp = self.checkpoint
        return {
            "witness": self.witness,
            "key": self.key,
            "origin": cp.origin,
            "size": cp.size,
            "root": cp.root.hex(),
            "time": cp.time,
            "witness_time": self.witness_time,
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
        if not isinstance(d["witness_time"], str):
            raise ValueError("cosignature: witness_time must be a string")
        try:
            parse_entry_time(d["witness_time"])
        except EntryError as exc:
            raise ValueError(f"cosignature: witness_time: {exc}") from None
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
        return cls(d["witness"], d["key"], cp, d["witness_time"], sig)


def cosigned_message(witness: str, witness_time: str, cp: Checkpoint) -> bytes:
    return COSIGNATURE_HEADER + f"{witness}\n{witness_time}\n".encode() + cp.body()


def cosign(key: Ed25519PrivateKey, witness: str, cp: Checkpoint, witness_time: str) -> Cosignature:
    """Cosign ``cp`` as ``witness`` whose clock reads ``witness_time`` (board form)."""
    parse_entry_time(witness_time)  # raises EntryError (a ValueError) when malformed
    pub = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    message = cosigned_message(witness, witness_time, cp)
    return Cosignature(witness, base64.b64encode(pub).decode(), cp, witness_time, key.sign(message))


def verify_cosignature(cs: Cosignature) -> bool:
    try:
        pub = Ed25519PublicKey.from_public_bytes(base64.b64decode(cs.key))
        pub.verify(cs.signature, cs.message())
    except (InvalidSignature, ValueError, binascii.Error):
        return False
    return True


def trusted_by(
    cp: Checkpoint,
    cosignatures: list[Cosignature],
    witnesses: dict[str, str],
    max_skew_s: int | None = None,
) -> set[str]:
    """The witnesses (id -> declared base64 key) with a valid cosignature on ``cp``;
    given ``max_skew_s``, only timely cosignatures count."""
    return {
        cs.witness
        for cs in cosignatures
        if cs.about(cp)
        and witnesses.get(cs.witness) == cs.key
        and (max_skew_s is None or cs.timely(max_skew_s))
        and verify_cosignature(cs)
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
