"""Observer attestations: a signed statement of what an observer's own run of the
verifier found on a record, and whether the observer recognises the result.

An attestation is a JSON document kept beside the board (in a record's
``attestations/`` folder, or by the server), outside the Merkle log: it is self-signed
and points at one of the board's checkpoints by (origin, size, root, time)::

    {"kind": "plebiscite-attestation/v1", "observer", "key", "record": {"origin",
     "size", "root", "time"}, "election_id", "results_digest", "verifier": {"name",
     "version"}, "checks": [{"id", "status"}], "verdict", "recognition", "reason",
     "time", "signature"}

``signature`` is Ed25519 (base64) over ``b"plebiscite-attestation/v1\\n"`` followed by
the canonical JSON of the document without ``signature``. The verdict comes from the
verifier, never from the observer: a failed verification, and unusable input (fields it
could not establish are null), still yield a signed attestation, since "we checked and
it failed" is exactly what an observer must be able to publish.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import itertools
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from plebiscite import __version__
from plebiscite.board.checkpoint import Checkpoint, verify_checkpoint
from plebiscite.record.canonical import CanonicalError, canonical_bytes, json_equal, loads
from plebiscite.record.entries import (
    EntryError,
    b64decode,
    election_id_of,
    format_time,
    key_to_b64,
    parse_entry,
    verify_entry_signature,
)
from plebiscite.record.manifest import ManifestError, observers, parse_manifest, parse_observer

KIND = "plebiscite-attestation/v1"
DOMAIN = b"plebiscite-attestation/v1\n"
ATTESTATIONS = "attestations"  # the folder beside the log, in a record or on a server
VERIFIED, FAILED = "verified", "failed"
RECOGNISE, NO_RECOGNISE = "recognise", "no-recognise"
MAX_REASON = 4000

EXIT_OK, EXIT_FAILED, EXIT_UNUSABLE = 0, 1, 2

_KEYS = frozenset(
    {
        "kind",
        "observer",
        "key",
        "record",
        "election_id",
        "results_digest",
        "verifier",
        "checks",
        "verdict",
        "recognition",
        "reason",
        "time",
        "signature",
    }
)
_RECORD_KEYS = frozenset({"origin", "size", "root", "time"})
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,160}\.json$")


class AttestationError(ValueError):
    """An attestation cannot be made, kept or read (the message says why)."""


# --- making ----------------------------------------------------------------------------


def results_digest(results: Any) -> str | None:
    """SHA-256 (hex) of the canonical JSON of the verified result counts."""
    return None if results is None else hashlib.sha256(canonical_bytes(results)).hexdigest()


def signed_message(doc: dict[str, Any]) -> bytes:
    body = {k: v for k, v in doc.items() if k != "signature"}
    return DOMAIN + canonical_bytes(body)


def sign_attestation(doc: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    """``doc`` with its ``key`` set to ``key``'s public key and signed by ``key``."""
    out = {k: v for k, v in doc.items() if k != "signature"}
    out["key"] = key_to_b64(key)
    out["signature"] = base64.b64encode(key.sign(signed_message(out))).decode()
    return out


def _final_checkpoint(lines: list[bytes]) -> dict[str, Any]:
    """The record's final checkpoint, or null fields when its last line is unreadable."""
    if lines:
        try:
            cp = Checkpoint.from_json(loads(lines[-1]))
            return {"origin": cp.origin, "size": cp.size, "root": cp.root.hex(), "time": cp.time}
        except (ValueError, CanonicalError):
            pass
    return dict.fromkeys(sorted(_RECORD_KEYS))


def _election_id(entries: list[bytes]) -> str | None:
    try:
        ref = parse_entry(entries[0])
    except (EntryError, IndexError):
        return None
    return election_id_of(ref.data) if ref.type == "referendum" else None


def make_attestation(
    record: Path,
    key: Ed25519PrivateKey,
    observer_id: str | None,
    recognise: bool,
    reason: str | None,
    workers: int | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
    now: datetime | None = None,
) -> tuple[dict[str, Any], int]:
    """Run the full verifier on ``record`` and sign what it found.

    Returns the signed attestation and the exit code: 0 verified, 1 failed, 2 unusable
    input (the record could not be read: the fields it could not establish are null and
    the verdict is ``failed``). ``observer_id`` may be None only when it could not be
    established (an unusable record without ``--id``)."""
    from plebiscite.verify.checks import verify_record
    from plebiscite.verify.reader import RecordError, read_record

    if observer_id is not None and not _ID.match(observer_id):
        raise AttestationError(f"{observer_id!r} is not a valid observer id")
    if reason is not None and len(reason) > MAX_REASON:
        raise AttestationError(f"the reason is longer than {MAX_REASON} characters")
    doc: dict[str, Any] = {
        "kind": KIND,
        "observer": observer_id,
        "key": key_to_b64(key),
        "record": dict.fromkeys(sorted(_RECORD_KEYS)),
        "election_id": None,
        "results_digest": None,
        "verifier": {"name": "plebiscite", "version": __version__},
        "checks": [],
        "verdict": FAILED,
        "recognition": RECOGNISE if recognise else NO_RECOGNISE,
        "reason": reason,
        "time": format_time(now or datetime.now(UTC)),
    }
    try:
        raw = read_record(Path(record), stream=True)  # bounded memory, whatever the size
    except RecordError:
        return sign_attestation(doc, key), EXIT_UNUSABLE
    try:
        report = verify_record(raw, workers, progress)
    except RecordError:  # e.g. a record of another format
        return sign_attestation(doc, key), EXIT_UNUSABLE
    doc["record"] = _final_checkpoint(list(raw.checkpoints))
    doc["election_id"] = _election_id(list(itertools.islice(raw.entries, 1)))
    doc["results_digest"] = results_digest(report.results)
    doc["checks"] = [{"id": c.id, "status": c.status} for c in report.checks]
    doc["verdict"] = VERIFIED if report.ok else FAILED
    return sign_attestation(doc, key), EXIT_OK if report.ok else EXIT_FAILED


# --- what a record says about observers and checkpoints --------------------------------


@dataclass
class RecordView:
    """What checking an attestation needs from a record: its election id, its declared
    and accredited observers (id -> {id, name, kind, jurisdiction, public_key}) and its
    board-signed checkpoints as (origin, size, root hex, time)."""

    election_id: str | None
    observers: dict[str, dict[str, str]] = field(default_factory=dict)
    checkpoints: set[tuple[str, int, str, str]] = field(default_factory=set)
    # the observers the (hashed) referendum file declares; the others were accredited
    # later by the organiser, which could accredit as many as it likes
    declared: set[str] = field(default_factory=set)

    @staticmethod
    def checkpoint_key(cp: Checkpoint) -> tuple[str, int, str, str]:
        return (cp.origin, cp.size, cp.root.hex(), cp.time)


_ACCREDITATION = b'"type":"observer_accreditation"'


def record_view(record: Path) -> RecordView:
    """Read a record folder (or mirror); raises ``RecordError`` when it is unusable.

    Only checkpoints signed by the board and accreditations signed by the board count:
    a record edited by hand cannot make an observer or a checkpoint up."""
    from plebiscite.verify.reader import read_record

    raw = read_record(Path(record), stream=True)
    try:
        ref = parse_entry(next(iter(raw.entries)))
        if ref.type != "referendum":
            raise EntryError("the first entry is not the referendum")
        board_key = b64decode(ref.data.get("board_key"), 32, "board_key")
        origin = ref.data.get("origin")
    except EntryError:
        return RecordView(None)
    view = RecordView(election_id_of(ref.data))
    try:
        view.observers = observers(parse_manifest(ref.data.get("manifest")))
    except (ValueError, TypeError, AttributeError, KeyError):  # ManifestError is a ValueError
        view.observers = {}
    view.declared = set(view.observers)
    board_b64 = base64.b64encode(board_key).decode()
    for line in itertools.islice(raw.entries, 1, None):
        if _ACCREDITATION not in line:
            continue  # cannot be an accreditation: skip parsing the ballots
        try:
            e = parse_entry(line)
        except EntryError:
            continue
        if e.type != "observer_accreditation" or e.signer != board_b64:
            continue
        if not verify_entry_signature(e, view.election_id or ""):
            continue
        try:
            obs = parse_observer(e.data.get("observer"), "observer")
        except (ManifestError, TypeError):
            continue
        view.observers.setdefault(obs["id"], obs)
    for line in raw.checkpoints:
        try:
            cp = Checkpoint.from_json(loads(line))
        except (ValueError, CanonicalError):
            continue
        if cp.origin == origin and verify_checkpoint(cp, board_key):
            view.checkpoints.add(RecordView.checkpoint_key(cp))
    return view


# --- checking --------------------------------------------------------------------------


def _shape_problems(doc: Any) -> list[str]:
    if not isinstance(doc, dict):
        return ["not an attestation: expected a JSON object"]
    if doc.get("kind") != KIND:
        return [f"not an attestation: kind is not {KIND!r}"]
    if set(doc) != _KEYS:
        missing, extra = sorted(_KEYS - set(doc)), sorted(str(k) for k in set(doc) - _KEYS)
        return [f"malformed attestation: missing {missing}, unexpected {extra}"]
    problems = []
    if doc["observer"] is not None and (
        not isinstance(doc["observer"], str) or not _ID.match(doc["observer"])
    ):
        problems.append("malformed attestation: observer is not an id")
    rec = doc["record"]
    if (
        not isinstance(rec, dict)
        or set(rec) != _RECORD_KEYS
        or not all(rec[k] is None or isinstance(rec[k], str) for k in ("origin", "root", "time"))
        or not (
            rec["size"] is None
            or (
                isinstance(rec["size"], int)
                and not isinstance(rec["size"], bool)
                and rec["size"] >= 0
            )
        )
    ):
        problems.append("malformed attestation: record needs origin, size, root, time")
    for k in ("election_id", "results_digest"):
        if doc[k] is not None and not (isinstance(doc[k], str) and _HEX64.match(doc[k])):
            problems.append(f"malformed attestation: {k} is not 64 hex digits")
    if not isinstance(doc["verifier"], dict):
        problems.append("malformed attestation: verifier is not an object")
    if doc["verdict"] not in (VERIFIED, FAILED):
        problems.append("malformed attestation: verdict is neither verified nor failed")
    if doc["recognition"] not in (RECOGNISE, NO_RECOGNISE):
        problems.append("malformed attestation: recognition is neither recognise nor no-recognise")
    if doc["reason"] is not None and not isinstance(doc["reason"], str):
        problems.append("malformed attestation: reason is not text")
    if not isinstance(doc["time"], str):
        problems.append("malformed attestation: time is not text")
    checks = doc["checks"]
    if not isinstance(checks, list) or not all(
        isinstance(c, dict)
        and set(c) == {"id", "status"}
        and c["status"] in ("passed", "failed", "not_applicable")
        for c in checks
    ):
        problems.append("malformed attestation: checks must be a list of {id, status}")
    elif doc["verdict"] == VERIFIED and (
        not checks or any(c["status"] == "failed" for c in checks)
    ):
        problems.append("inconsistent attestation: verdict verified, yet a check failed")
    return problems


def verify_signature(doc: dict[str, Any]) -> bool:
    """Whether ``doc`` is signed by the key it names (nothing about who that is)."""
    try:
        pub = Ed25519PublicKey.from_public_bytes(b64decode(doc.get("key"), 32, "key"))
        sig = b64decode(doc.get("signature"), 64, "signature")
        pub.verify(sig, signed_message(doc))
    except (EntryError, InvalidSignature, ValueError, CanonicalError, binascii.Error):
        return False
    return True


def check_against(doc: Any, view: RecordView) -> list[str]:
    """Problems with ``doc`` as an attestation of the record ``view`` describes (empty:
    valid). Does not re-run the verifier: the verdict is the observer's statement."""
    problems = _shape_problems(doc)
    if problems:
        return problems
    if not verify_signature(doc):
        problems.append("the signature is invalid (the attestation was changed or forged)")
    oid = doc["observer"]
    declared = view.observers.get(oid) if isinstance(oid, str) else None
    if declared is None:
        problems.append(f"{oid!r} is not a declared or accredited observer of this referendum")
    elif declared.get("public_key") != doc["key"]:
        problems.append(f"the attestation is not signed with observer {oid!r}'s key")
    rec = doc["record"]
    if rec["origin"] is None or rec["size"] is None:
        problems.append("the attestation names no checkpoint (its record was unusable)")
    elif (rec["origin"], rec["size"], rec["root"], rec["time"]) not in view.checkpoints:
        problems.append(
            f"the attestation is not about this record: its checkpoint (size {rec['size']},"
            f" root {str(rec['root'])[:16]}…) is none of the record's checkpoints"
        )
    if doc["election_id"] is not None and doc["election_id"] != view.election_id:
        problems.append("the attestation names another election id")
    return problems


def check_attestation(doc: Any, record: Path) -> list[str]:
    """Problems with ``doc`` as an attestation of ``record`` (empty: valid): the
    signature is valid, the key is a declared (referendum file) or accredited
    (``observer_accreditation`` entry) observer's and the id matches, and its checkpoint
    is one of the record's. Raises ``RecordError`` when the record is unusable."""
    return check_against(doc, record_view(record))


# --- keeping and reading ---------------------------------------------------------------


def file_name(doc: dict[str, Any]) -> str:
    """``<observer>-<time>.json``, the time without colons (portable file names)."""
    oid, when = doc.get("observer"), doc.get("time")
    if not isinstance(oid, str) or not _ID.match(oid) or not isinstance(when, str):
        raise AttestationError("the attestation names no valid observer id or time")
    name = f"{oid}-{when.replace(':', '')}.json"
    if not _FILE.match(name):
        raise AttestationError(f"the attestation's time {when!r} does not make a file name")
    return name


def attestation_bytes(doc: dict[str, Any]) -> bytes:
    return (json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()


def keep(folder: Path, doc: dict[str, Any]) -> tuple[str, bool]:
    """Write a checked attestation into ``folder``; returns its file name and whether it
    was new (False: the same attestation was already kept). Refuses to replace a
    different attestation of the same name."""
    name = file_name(doc)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if path.exists():
        try:
            old = loads(path.read_bytes())
        except (OSError, CanonicalError):
            old = None
        if old is not None and json_equal(old, doc):
            return name, False
        raise AttestationError(f"{path} already holds another attestation")
    tmp = folder / (name + ".tmp")
    with tmp.open("wb") as f:
        f.write(attestation_bytes(doc))
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)
    return name, True


def publish_attestation(doc: Any, record: Path) -> Path:
    """Add ``doc`` to ``record``'s ``attestations/`` folder after checking it against the
    record; raises ``AttestationError`` with the problems when it does not check."""
    problems = check_attestation(doc, record)
    if problems:
        raise AttestationError("; ".join(problems))
    name, _ = keep(Path(record) / ATTESTATIONS, doc)
    return Path(record) / ATTESTATIONS / name


def load_attestation(path: Path) -> Any:
    """Read an attestation file (strict JSON); ``AttestationError`` when unreadable."""
    try:
        return loads(Path(path).read_bytes())
    except FileNotFoundError as exc:
        raise AttestationError(f"{path}: no such attestation file") from exc
    except OSError as exc:
        raise AttestationError(f"{path}: cannot read ({exc.strerror})") from exc
    except CanonicalError as exc:
        raise AttestationError(f"{path}: {exc}") from exc


def summarise_folder(folder: Path, view: RecordView) -> list[dict[str, Any]]:
    """Every attestation file in ``folder``, for display, oldest first: observer, the
    declared name, kind and jurisdiction, verdict, recognition, reason, time, whether it
    is valid for this record, the checkpoint size and results digest, and the file."""
    out = []
    paths = sorted(Path(folder).glob("*.json")) if Path(folder).is_dir() else []
    for path in paths:
        try:
            doc = load_attestation(path)
        except AttestationError:
            doc = None
        d: dict[str, Any] = doc if isinstance(doc, dict) else {}
        oid = d.get("observer") if isinstance(d.get("observer"), str) else None
        who = view.observers.get(oid, {}) if oid else {}
        rec: dict[str, Any] = d["record"] if isinstance(d.get("record"), dict) else {}
        out.append(
            {
                "observer": oid,
                "name": who.get("name"),
                "kind": who.get("kind"),
                "jurisdiction": who.get("jurisdiction"),
                "declared": oid in view.declared,
                "verdict": d.get("verdict"),
                "recognition": d.get("recognition"),
                "reason": d.get("reason"),
                "time": d.get("time"),
                "valid": doc is not None and not check_against(doc, view),
                "size": rec.get("size"),
                "results_digest": d.get("results_digest"),
                "file": path.name,
            }
        )
    out.sort(key=lambda x: (str(x["time"]), str(x["file"])))
    return out


def summarise(record: Path) -> list[dict[str, Any]]:
    """The attestations in ``record``'s ``attestations/`` folder, for display."""
    return summarise_folder(Path(record) / ATTESTATIONS, record_view(record))


def latest_by_observer(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each observer's latest valid attestation (a later one supersedes an earlier)."""
    out: dict[str, dict[str, Any]] = {}
    for it in items:  # oldest first
        if it["valid"] and it["observer"]:
            out[it["observer"]] = it
    return out


def verified_count(
    items: list[dict[str, Any]], digest: str | None = None, declared: bool = True
) -> int:
    """How many independent observers verified: distinct observers declared in the
    referendum file (``declared`` False: accredited later by the organiser, counted
    apart, since the organiser chooses them) whose latest valid attestation has the
    verdict ``verified`` (and, given ``digest``, attests to those results: pass
    ``results_digest(report.results)`` to count only attestations of the result being
    shown)."""
    return sum(
        1
        for it in latest_by_observer(items).values()
        if it["verdict"] == VERIFIED
        and (digest is None or it["results_digest"] == digest)
        and bool(it.get("declared")) == declared
    )
