"""The board's vocabulary: a closed set of entry types, their envelope and signatures.

An entry is the canonical JSON of ``{"type", "time", "data", "signer", "signature"}``.
``time`` is set by the board when it appends (only the organiser vouches for it; the
witnessed checkpoints bound it). ``signer`` is the base64 Ed25519 public key of the
party that vouches for ``data`` and ``signature`` its signature over
``b"plebiscite-entry/v1\\n" + type + "\\n" + election id + "\\n" + canonical(data)``;
both are ``null`` for entries nobody signs (anonymous challenged ballots).
"""

from __future__ import annotations

import base64
import binascii
from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, overload

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from plebiscite.record.canonical import CanonicalError, canonical_bytes, loads

# The closed set of entry types: who vouches for each (signs it), and its phase in the
# protocol (entries of a phase never follow a later phase's; None: allowed at any time
# within the bounds the type's own rules set, e.g. credential lists before the open).
KINDS: Final[dict[str, tuple[str, int | None]]] = {
    "referendum": ("organiser", 0),
    "guardian_key": ("guardian", 1),
    "guardian_shares": ("guardian", 2),
    "guardian_ready": ("guardian", 3),
    "election_context": ("organiser", 4),
    "credential_list": ("credential_authority", None),
    "voter_roll": ("organiser", None),
    "observer_accreditation": ("organiser", None),
    "dispute": ("voter or observer", None),
    "open": ("organiser", 5),
    "ballot": ("voter", 6),
    "challenged_ballot": ("nobody", 6),
    "close": ("organiser", 7),
    "tally": ("organiser", 8),
    "decryption_share": ("guardian", 9),
    "result": ("organiser", 10),
}
ENTRY_TYPES: Final[dict[str, str]] = {t: role for t, (role, _) in KINDS.items()}
PHASES: Final[dict[str, int | None]] = {t: phase for t, (_, phase) in KINDS.items()}


class EntryError(ValueError):
    """An entry is malformed."""


@dataclass(frozen=True)
class Entry:
    type: str
    time: str
    data: dict[str, Any]
    signer: str | None
    signature: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "time": self.time,
            "data": self.data,
            "signer": self.signer,
            "signature": self.signature,
        }

    def to_bytes(self) -> bytes:
        return canonical_bytes(self.to_json())

    @property
    def when(self) -> datetime:
        return parse_entry_time(self.time)


def parse_entry_time(text: str) -> datetime:
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, AttributeError) as exc:
        raise EntryError(f"bad entry time {text!r}") from exc
    if t.tzinfo is None:
        raise EntryError(f"entry time {text!r} has no zone")
    if format_time(t) != text:
        raise EntryError(f"entry time {text!r} is not in the board's form (UTC, ms, Z)")
    return t


def format_time(t: datetime) -> str:
    """UTC, millisecond precision, with a ``Z``: the board's way of writing times."""
    if t.tzinfo is None:
        raise EntryError("times must carry a zone")
    return t.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def signed_message(type_: str, election_id: str, data: dict[str, Any]) -> bytes:
    head = f"plebiscite-entry/v1\n{type_}\n{election_id}\n".encode()
    return head + canonical_bytes(data)


def key_to_b64(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return base64.b64encode(pub.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


def b64decode(text: Any, length: int | None = None, what: str = "value") -> bytes:
    if not isinstance(text, str):
        raise EntryError(f"{what}: expected base64 text")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise EntryError(f"{what}: not base64") from exc
    if length is not None and len(raw) != length:
        raise EntryError(f"{what}: expected {length} bytes, got {len(raw)}")
    if base64.b64encode(raw).decode() != text:
        raise EntryError(f"{what}: not canonical base64")
    return raw


class EntrySequence(Sequence[Entry]):
    """A board's entries as a sequence whose entries may be read on demand (from a
    store, from a file): subclasses give ``__len__``, ``_entry(i)`` for ``0 <= i <
    len`` and, where they can stream, a faster ``__iter__``."""

    @abstractmethod
    def __len__(self) -> int: ...

    @abstractmethod
    def _entry(self, index: int) -> Entry: ...

    @overload
    def __getitem__(self, index: int) -> Entry: ...

    @overload
    def __getitem__(self, index: slice) -> list[Entry]: ...

    def __getitem__(self, index: int | slice) -> Entry | list[Entry]:
        if isinstance(index, slice):
            return [self._entry(i) for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("board entry index out of range")
        return self._entry(index)


@dataclass(frozen=True)
class Submission:
    """A signed entry before the board stamps its time: what a role hands the board."""

    type: str
    data: dict[str, Any]
    signer: str | None
    signature: str | None

    def at(self, time: str) -> Entry:
        return Entry(self.type, time, self.data, self.signer, self.signature)

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "data": self.data,
            "signer": self.signer,
            "signature": self.signature,
        }


def sign(
    type_: str, data: dict[str, Any], election_id: str, key: Ed25519PrivateKey | None
) -> Submission:
    if type_ not in ENTRY_TYPES:
        raise EntryError(f"unknown entry type {type_!r}")
    if key is None:
        return Submission(type_, data, None, None)
    sig = key.sign(signed_message(type_, election_id, data))
    return Submission(type_, data, key_to_b64(key), base64.b64encode(sig).decode())


def make_entry(
    type_: str,
    time: str,
    data: dict[str, Any],
    election_id: str,
    key: Ed25519PrivateKey | None,
) -> Entry:
    return sign(type_, data, election_id, key).at(time)


def verify_entry_signature(entry: Entry, election_id: str) -> bool:
    if entry.signer is None or entry.signature is None:
        return False
    try:
        pub = Ed25519PublicKey.from_public_bytes(b64decode(entry.signer, 32, "signer"))
        sig = b64decode(entry.signature, 64, "signature")
        pub.verify(sig, signed_message(entry.type, election_id, entry.data))
    except (EntryError, InvalidSignature, ValueError, CanonicalError):
        return False
    return True


def parse_entry(raw: bytes) -> Entry:
    """Parse one entry line; :class:`EntryError` if it is not a well-formed envelope."""
    try:
        obj = loads(raw)
    except CanonicalError as exc:
        raise EntryError(str(exc)) from exc
    if not isinstance(obj, dict) or set(obj) != {"type", "time", "data", "signer", "signature"}:
        raise EntryError("an entry has exactly the keys type, time, data, signer, signature")
    t, tm, data, signer, sig = (obj[k] for k in ("type", "time", "data", "signer", "signature"))
    if not isinstance(t, str) or t not in ENTRY_TYPES:
        raise EntryError(f"unknown entry type {t!r}")
    if not isinstance(tm, str):
        raise EntryError("entry time must be a string")
    parse_entry_time(tm)
    if not isinstance(data, dict):
        raise EntryError("entry data must be an object")
    if (signer is None) != (sig is None) or not all(
        x is None or isinstance(x, str) for x in (signer, sig)
    ):
        raise EntryError("signer and signature must both be strings or both null")
    entry = Entry(t, tm, data, signer, sig)
    try:
        if entry.to_bytes() != raw.rstrip(b"\n"):
            raise EntryError("entry is not in canonical form")
    except CanonicalError as exc:
        raise EntryError(str(exc)) from exc
    return entry


def election_id_of(referendum_data: dict[str, Any]) -> str:
    """The election id: a hash of the referendum entry's data (manifest, board key)."""
    from plebiscite.crypto.hashing import hash_parts

    return hash_parts("plebiscite/election-id", canonical_bytes(referendum_data)).hex()


_FINGERPRINT_HEX = 32  # 128 bits: enough to tell referendums apart, short enough to read


def election_fingerprint(election_id: str) -> str:
    """The election id's first 32 hex digits in groups of four ("3f2a 9c1b ..."): what a
    voter can read aloud or compare by eye to tell which referendum a credential is for."""
    head = election_id[:_FINGERPRINT_HEX].lower()
    if len(head) != _FINGERPRINT_HEX or any(c not in "0123456789abcdef" for c in head):
        raise EntryError("an election id is 64 hex digits")
    return " ".join(head[i : i + 4] for i in range(0, _FINGERPRINT_HEX, 4))


def parse_election_anchor(text: str) -> str:
    """An election as a person may give it: the full id (64 hex digits) or its
    fingerprint (32), in either case, with or without spaces and dashes. Returns the
    digits in lower case; raises EntryError for anything else."""
    digits = "".join(c for c in text.strip() if c not in " -").lower()
    if len(digits) not in (_FINGERPRINT_HEX, 64) or any(
        c not in "0123456789abcdef" for c in digits
    ):
        raise EntryError("not an election id (64 hex digits) or its fingerprint (32 hex digits)")
    return digits


def anchored(election_id: str, anchor: str) -> bool:
    """Whether ``election_id`` is the election ``anchor`` names (a parsed id or
    fingerprint, as ``parse_election_anchor`` returns it)."""
    return len(anchor) in (_FINGERPRINT_HEX, 64) and election_id.lower().startswith(anchor)
