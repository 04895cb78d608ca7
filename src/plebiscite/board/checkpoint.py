"""Signed checkpoints (signed tree heads) of the board.

A checkpoint commits the board's operator to the tree of its first ``size`` entries,
whose root is ``root``, at ``time``. The signed body is plain text, one field a line::

    plebiscite-checkpoint/v1
    <origin>
    <size in decimal>
    <root in lowercase hex>
    <time>

signed with Ed25519. The JSON form carries the same fields, the root in lowercase hex
and the signature in standard padded base64.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

__all__ = [
    "CHECKPOINT_HEADER",
    "Checkpoint",
    "public_key_bytes",
    "sign_checkpoint",
    "verify_checkpoint",
]

CHECKPOINT_HEADER = b"plebiscite-checkpoint/v1\n"
ROOT_SIZE = 32
SIGNATURE_SIZE = 64
PUBLIC_KEY_SIZE = 32

_JSON_KEYS = frozenset({"origin", "size", "root", "time", "signature"})
_HEX_ROOT = re.compile(r"[0-9a-f]{64}")
_BASE64_SIGNATURE = re.compile(r"[A-Za-z0-9+/]{86}==")


def _field_problem(name: str, value: object) -> str | None:
    """Why a text field cannot be put on a line of the body, or None if it can."""
    if not isinstance(value, str):
        return f"checkpoint {name} must be a string"
    if not value:
        return f"checkpoint {name} must not be empty"
    if "\n" in value or "\r" in value:
        return f"checkpoint {name} must not contain a line break"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return f"checkpoint {name} is not valid Unicode"
    return None


def _size_ok(size: object) -> bool:
    return isinstance(size, int) and not isinstance(size, bool) and size >= 0


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement of the board's size and root at a given time."""

    origin: str
    size: int
    root: bytes
    time: str
    signature: bytes

    def body(self) -> bytes:
        """The exact bytes that are signed."""
        return (
            CHECKPOINT_HEADER
            + (f"{self.origin}\n{self.size}\n{self.root.hex()}\n{self.time}\n").encode()
        )

    def to_json(self) -> dict[str, object]:
        """JSON-ready dictionary (root in hex, signature in padded standard base64)."""
        return {
            "origin": self.origin,
            "size": self.size,
            "root": self.root.hex(),
            "time": self.time,
            "signature": base64.b64encode(self.signature).decode("ascii"),
        }

    @classmethod
    def from_json(cls, d: object) -> Checkpoint:
        """Parse and validate the JSON form; raise ``ValueError`` on anything malformed."""
        if not isinstance(d, dict):
            raise ValueError("checkpoint must be a JSON object")
        keys = set(d)
        if keys != _JSON_KEYS:
            missing = sorted(_JSON_KEYS - keys)
            extra = sorted(str(k) for k in keys - _JSON_KEYS)
            parts = []
            if missing:
                parts.append("missing " + ", ".join(missing))
            if extra:
                parts.append("unexpected " + ", ".join(extra))
            raise ValueError("checkpoint keys: " + "; ".join(parts))
        for name in ("origin", "time"):
            problem = _field_problem(name, d[name])
            if problem:
                raise ValueError(problem)
        size = d["size"]
        if not _size_ok(size):
            raise ValueError("checkpoint size must be a non-negative integer")
        root_hex = d["root"]
        if not isinstance(root_hex, str) or not _HEX_ROOT.fullmatch(root_hex):
            raise ValueError("checkpoint root must be 64 lowercase hex digits (32 bytes)")
        sig_b64 = d["signature"]
        if not isinstance(sig_b64, str) or not _BASE64_SIGNATURE.fullmatch(sig_b64):
            raise ValueError("checkpoint signature must be 64 bytes in padded standard base64")
        try:
            signature = base64.b64decode(sig_b64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError(f"checkpoint signature is not valid base64: {exc}") from None
        if len(signature) != SIGNATURE_SIZE or base64.b64encode(signature).decode() != sig_b64:
            raise ValueError("checkpoint signature must be 64 bytes in canonical base64")
        return cls(
            origin=d["origin"],
            size=size,
            root=bytes.fromhex(root_hex),
            time=d["time"],
            signature=signature,
        )


def public_key_bytes(key: Ed25519PrivateKey) -> bytes:
    """Raw 32-byte Ed25519 public key of a private key."""
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def sign_checkpoint(
    key: Ed25519PrivateKey, origin: str, size: int, root: bytes, time: str
) -> Checkpoint:
    """Sign (origin, size, root, time); raise ``ValueError`` if a field is malformed."""
    for name, value in (("origin", origin), ("time", time)):
        problem = _field_problem(name, value)
        if problem:
            raise ValueError(problem)
    if not _size_ok(size):
        raise ValueError("checkpoint size must be a non-negative integer")
    if not isinstance(root, bytes | bytearray) or len(root) != ROOT_SIZE:
        raise ValueError("checkpoint root must be 32 bytes")
    unsigned = Checkpoint(origin, size, bytes(root), time, b"")
    return Checkpoint(origin, size, bytes(root), time, key.sign(unsigned.body()))


def verify_checkpoint(cp: Checkpoint, public_key: bytes) -> bool:
    """True iff ``cp`` is well formed and signed by the raw Ed25519 ``public_key``."""
    try:
        if _field_problem("origin", cp.origin) or _field_problem("time", cp.time):
            return False
        if not _size_ok(cp.size):
            return False
        if not isinstance(cp.root, bytes) or len(cp.root) != ROOT_SIZE:
            return False
        if not isinstance(cp.signature, bytes) or len(cp.signature) != SIGNATURE_SIZE:
            return False
        if not isinstance(public_key, bytes) or len(public_key) != PUBLIC_KEY_SIZE:
            return False
        Ed25519PublicKey.from_public_bytes(public_key).verify(cp.signature, cp.body())
        return True
    except InvalidSignature:
        return False
    except Exception:  # malformed key or fields: never raise from a verifier
        return False
