"""Belenios 2.0 public-data archives (``<uuid>.bel``): reading, events, canonical rebuild.

The archive (Belenios specification 2.0, section 4.4) is an old-style tar file: a
``BELENIOS`` header record ``{"version":1,"timestamp":"<t>"}`` followed by records named
``<sha256 hex>.data.json`` or ``<sha256 hex>.event.json``, each name the hash of its
contents. Events ``{"parent"?,"height","type","payload"?}`` form a hash chain.

belenios-tool's ``fsck`` rebuilds the whole archive from its last event (walking the
parents back, then writing every event's payload data before it, in a fixed order, with
fixed tar headers) and requires the result to be byte-identical to the file: this is
what makes an archive canonical (:func:`rebuild`).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any, Final

BLOCK: Final = 512
EVENT_TYPES: Final = (
    "Setup",
    "Ballot",
    "EndBallots",
    "EncryptedTally",
    "Shuffle",
    "EndShuffles",
    "PartialDecryption",
    "Result",
)
_NAME = re.compile(r"([0-9a-f]{64})\.(data|event)\.json")
_HASH = re.compile(r"[0-9a-f]{64}")


class ArchiveError(ValueError):
    """The archive cannot be read as a Belenios archive at all."""


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Record:
    name: str
    kind: str  # "data" or "event"
    hash: str  # the hash the name claims
    body: bytes

    @property
    def hash_ok(self) -> bool:
        return sha256_hex(self.body) == self.hash


@dataclass
class Event:
    """A parsed event; ``problem`` is set when its JSON is unusable."""

    record: Record
    parent: str | None = None
    height: int = -1
    type: str = ""
    payload: str | None = None
    problem: str | None = None

    def canonical(self) -> bytes:
        return event_bytes(self.parent, self.height, self.type, self.payload)


@dataclass
class Archive:
    raw: bytes
    header: bytes
    timestamp: int
    records: list[Record]
    problems: list[str]  # structural problems found while reading (not fatal)

    def events(self) -> list[Event]:
        return [parse_event(r) for r in self.records if r.kind == "event"]

    def index(self) -> dict[str, bytes]:
        """hash -> contents, the last record of a name winning (as belenios-tool's
        index does)."""
        return {r.hash: r.body for r in self.records}


def event_bytes(parent: str | None, height: int, typ: str, payload: str | None) -> bytes:
    parts = []
    if parent is not None:
        parts.append(f'"parent":"{parent}"')
    parts.append(f'"height":{height}')
    parts.append(f'"type":"{typ}"')
    if payload is not None:
        parts.append(f'"payload":"{payload}"')
    return ("{" + ",".join(parts) + "}").encode()


def parse_event(record: Record) -> Event:
    ev = Event(record)
    try:
        obj = json.loads(record.body)
    except (ValueError, UnicodeDecodeError):
        ev.problem = "not JSON"
        return ev
    if not isinstance(obj, dict):
        ev.problem = "not a JSON object"
        return ev
    parent, height, typ, payload = (obj.get(k) for k in ("parent", "height", "type", "payload"))
    if parent is not None and not (isinstance(parent, str) and _HASH.fullmatch(parent)):
        ev.problem = "parent is not a hash"
    elif payload is not None and not (isinstance(payload, str) and _HASH.fullmatch(payload)):
        ev.problem = "payload is not a hash"
    elif not isinstance(height, int) or isinstance(height, bool) or height < 0:
        ev.problem = "height is not a natural number"
    elif typ not in EVENT_TYPES:
        ev.problem = f"unknown event type {typ!r}"
    if ev.problem is None:
        assert isinstance(height, int) and isinstance(typ, str)
        ev.parent, ev.height, ev.type, ev.payload = parent, height, typ, payload
    return ev


def _octal(field: bytes) -> int:
    text = field.split(b"\0", 1)[0].strip(b" ")
    if not text or not all(48 <= c <= 55 for c in text):
        raise ArchiveError("tar header: size is not an octal number")
    return int(text, 8)


def read_archive(raw: bytes) -> Archive:
    """Split the archive into records; :class:`ArchiveError` when it is not even a
    sequence of tar records starting with the ``BELENIOS`` header."""
    problems: list[str] = []
    pos = 0
    items: list[tuple[str, bytes]] = []
    while pos < len(raw):
        block = raw[pos : pos + BLOCK]
        if len(block) < BLOCK:
            raise ArchiveError(f"truncated tar block at offset {pos}")
        if block == bytes(BLOCK):
            rest = raw[pos:]
            if rest != bytes(len(rest)):
                problems.append(f"data after an end-of-archive block at offset {pos}")
            else:
                problems.append("end-of-archive blocks (belenios-tool writes none)")
            break
        name_field = block[:100].split(b"\0", 1)[0]
        try:
            name = name_field.decode("ascii")
        except UnicodeDecodeError as exc:
            raise ArchiveError(f"tar header at offset {pos}: name is not ASCII") from exc
        size = _octal(block[124:136])
        body = raw[pos + BLOCK : pos + BLOCK + size]
        if len(body) < size:
            raise ArchiveError(f"truncated record {name!r}")
        items.append((name, body))
        pos += BLOCK + (size + BLOCK - 1) // BLOCK * BLOCK
    if not items or items[0][0] != "BELENIOS":
        raise ArchiveError("the archive does not start with a BELENIOS header record")
    header = items[0][1]
    try:
        hobj = json.loads(header)
        version, ts = hobj["version"], int(hobj["timestamp"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ArchiveError("the BELENIOS header is not {version, timestamp}") from exc
    if version != 1:
        raise ArchiveError(f"unsupported archive version {version!r}")
    records = []
    for name, body in items[1:]:
        m = _NAME.fullmatch(name)
        if m is None:
            problems.append(f"record {name!r}: not named <sha256>.data.json or .event.json")
            continue
        records.append(Record(name, m.group(2), m.group(1), body))
    return Archive(raw, header, ts, records, problems)


def header_bytes(timestamp: int) -> bytes:
    return f'{{"version":1,"timestamp":"{timestamp}"}}'.encode()


def tar_record(name: str, body: bytes, mtime: int) -> bytes:
    """One record exactly as belenios-tool writes it (old-style tar, no magic)."""
    h = bytearray(BLOCK)
    h[0 : len(name)] = name.encode()
    h[100:107] = b"0000644"
    h[108:115] = b"0000000"
    h[116:123] = b"0000000"
    h[124:135] = b"%011o" % len(body)
    h[136:147] = b"%011o" % mtime
    h[148:156] = b" " * 8
    h[156:157] = b"0"
    h[148:156] = b"%06o\0 " % sum(h)
    return bytes(h) + body + bytes((-len(body)) % BLOCK)


class RebuildError(ValueError):
    pass


def _sized_payload(body: bytes) -> str:
    obj: Any = json.loads(body)
    h = obj["encrypted_tally"]
    if not isinstance(h, str):
        raise ValueError("encrypted_tally is not a hash")
    return h


def _owned_payload(body: bytes) -> str:
    obj: Any = json.loads(body)
    h = obj["payload"]
    if not isinstance(h, str):
        raise ValueError("payload is not a hash")
    return h


def _setup_payloads(body: bytes) -> list[str]:
    obj: Any = json.loads(body)
    out = [obj["election"], obj["trustees"], obj["credentials"]]
    if not all(isinstance(h, str) for h in out):
        raise ValueError("setup data does not hold three hashes")
    return out


def rebuild(archive: Archive) -> bytes:
    """The archive belenios-tool's ``fsck`` regenerates from the last event;
    :class:`RebuildError` when it cannot be regenerated at all."""
    events = [r for r in archive.records if r.kind == "event"]
    if not events:
        raise RebuildError("no events")
    index = archive.index()

    def get(h: str) -> bytes:
        body = index.get(h)
        if body is None:
            raise RebuildError(f"hash {h} not found")
        if sha256_hex(body) != h:
            raise RebuildError(f"record {h} does not hash to its name")
        return body

    last = parse_event(events[-1])
    chain = [last]
    while chain[0].parent is not None:
        prev = parse_event(Record("", "event", chain[0].parent, get(chain[0].parent)))
        if prev.problem:
            raise RebuildError(f"event {chain[0].parent}: {prev.problem}")
        chain.insert(0, prev)
        if len(chain) > len(events) + 1:
            raise RebuildError("the parent links loop")
    if last.problem:
        raise RebuildError(f"last event: {last.problem}")
    ts = archive.timestamp
    out = [tar_record("BELENIOS", header_bytes(ts), ts)]

    def data(body: bytes) -> None:
        out.append(tar_record(f"{sha256_hex(body)}.data.json", body, ts))

    parent: str | None = None
    for height, ev in enumerate(chain):
        if ev.parent != parent or ev.height != height:
            raise RebuildError(f"inconsistency at height {height}")
        es = ev.canonical()
        try:
            if ev.type in ("Ballot", "Result"):
                data(get(_need(ev)))
            elif ev.type in ("EndBallots", "EndShuffles"):
                if ev.payload is not None:
                    raise RebuildError(f"extra payload found at height {height}")
            elif ev.type == "Setup":
                payload = get(_need(ev))
                for h in _setup_payloads(payload):
                    data(get(h))
                data(payload)
            elif ev.type == "EncryptedTally":
                payload = get(_need(ev))
                data(get(_sized_payload(payload)))
                data(payload)
            else:  # Shuffle, PartialDecryption
                payload = get(_need(ev))
                data(get(_owned_payload(payload)))
                data(payload)
        except (ValueError, KeyError, TypeError) as exc:
            if isinstance(exc, RebuildError):
                raise
            raise RebuildError(f"event at height {height}: payload unreadable ({exc})") from exc
        out.append(tar_record(f"{sha256_hex(es)}.event.json", es, ts))
        parent = sha256_hex(es)
    return b"".join(out)


def _need(ev: Event) -> str:
    if ev.payload is None:
        raise RebuildError(f"missing payload in event {ev.type}")
    return ev.payload
