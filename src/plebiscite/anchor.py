"""Anchoring voters and observers on the election they were told about.

A voter's letter (and an observer's accreditation) names the election by its id or its
fingerprint (the id's first 128 bits). The election id hashes the referendum entry (the
referendum file and the board's key and origin), so a board whose referendum entry gives
that id is the board of that election, whoever serves it. Everything a voter or an
observer then relies on is taken from that board through the checked view (the joint key
and context the checks recomputed from the ceremony, the witnesses the referendum file
declares, the booth digests of its open entry), never from what a server says beside it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from plebiscite.client import Client, ClientError
from plebiscite.record.canonical import CanonicalError, loads
from plebiscite.record.entries import (
    EntryError,
    anchored,
    election_fingerprint,
    election_id_of,
    parse_election_anchor,
)
from plebiscite.verify.checked import BEFORE_SETUP, CheckedBoard, Refused, check_board
from plebiscite.verify.reader import RawRecord, RecordError

NOT_ANCHORED = "warning: not anchored; pass --election from your letter"


class AnchorError(Exception):
    """Why a voter or observer will not act; ``code`` is the exit code (1 failed check,
    2 unusable input or unreachable server, 3 not yet: run again)."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def parse_anchor(text: str | None) -> str | None:
    """``--election`` as given (None when it was not): the id or fingerprint digits."""
    if text is None:
        return None
    try:
        return parse_election_anchor(text)
    except EntryError as exc:
        raise AnchorError(f"--election: {exc}", 2) from exc


def show(anchor: str) -> str:
    """An id or fingerprint as people compare them: the fingerprint's groups of four."""
    return election_fingerprint(anchor[:32])


def anchor_problem(
    election_id: str,
    anchor: str | None,
    whose: str = "this server's",
    source: str = "in your letter",
) -> str | None:
    """Why the board of ``election_id`` is not the anchored election (None when it is, or
    nothing anchors it)."""
    if anchor is None or anchored(election_id, anchor):
        return None
    return (
        f"{whose} election {show(election_id)} is not the one {source} ({show(anchor)}):"
        " do not use it"
    )


def referendum_election(first_entry: bytes) -> tuple[str, dict[str, object]]:
    """The election id a board's first entry (its referendum entry) gives, and its data."""
    try:
        obj = loads(first_entry)
        if not isinstance(obj, dict) or obj.get("type") != "referendum":
            raise AnchorError("the board does not start with a referendum entry", 1)
        data = obj["data"]
        if not isinstance(data, dict):
            raise AnchorError("the board's referendum entry has no data", 1)
        return election_id_of(data), data
    except (CanonicalError, KeyError, TypeError, ValueError) as exc:
        raise AnchorError(f"the board's referendum entry is unreadable: {exc}", 1) from exc


def server_record(client: Client, rid: str) -> RawRecord:
    """The board a server publishes for referendum ``rid``, as a record in memory."""
    try:
        entries = client.entries_raw(rid)
        checkpoints = client.checkpoints_raw(rid)
        cosignatures = client.cosignatures_raw(rid)
    except ClientError as exc:
        raise AnchorError(str(exc), 2) from exc
    if not entries:
        raise AnchorError(f"{client.base}: the board of referendum {rid} is empty", 1)
    return RawRecord(Path(client.base), entries, checkpoints, cosignatures)


def checked_server_board(client: Client, rid: str, anchor: str | None) -> CheckedBoard:
    """The board of ``rid`` through the checked view (the checks before any set-up step,
    V01-V10 and V23), refused unless it is the anchored election."""
    raw = server_record(client, rid)
    eid, _ = referendum_election(next(iter(raw.entries)))
    problem = anchor_problem(eid, anchor)
    if problem:  # before the checks: a fake election may fail them too, this says why
        raise AnchorError(problem, 1)
    try:
        board = check_board(raw, BEFORE_SETUP)
    except Refused as exc:
        raise AnchorError(str(exc), 1) from exc
    except RecordError as exc:
        raise AnchorError(f"{client.base}: {exc}", 1) from exc
    assert board.election_id == eid  # V04 computed it from the same entry
    return board


def voter_board(client: Client, rid: str, anchor: str | None) -> CheckedBoard:
    """The board a voter encrypts for: checked, anchored, its ceremony complete (V07-V09
    passed, so ``joint_key`` and ``context`` are the ones recomputed from it)."""
    board = checked_server_board(client, rid, anchor)
    ceremony = [board.status.get(c) for c in ("V07", "V08", "V09")]
    if board.joint_key is None or board.context is None or ceremony != ["passed"] * 3:
        raise AnchorError("the key ceremony is not finished: nothing to encrypt to yet", 2)
    return board


# --- the booth a server serves ----------------------------------------------------------

BOOTH_PATH = "/static/js/"  # where the server serves the booth bundle's files
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


@dataclass(frozen=True)
class BoothFile:
    name: str
    published: str  # SHA-256 (hex) in the open entry
    served: str | None  # SHA-256 (hex) of what the server serves; None: not served
    problem: str | None  # None when the served file is the published one


def booth_digests(board: CheckedBoard) -> dict[str, str]:
    """The booth files' digests the board's open entry commits to (``AnchorError``:
    3 before the open, or while the quorum has not witnessed it; 1 without digests)."""
    opens = board.indices("open")
    if not opens:
        raise AnchorError("voting is not open yet: no booth digests published; run again", 3)
    short = board.unwitnessed(opens[0])
    if short is not None:
        raise AnchorError(
            f"the open entry is not yet witnessed ({short[0]} of {short[1]}): run again", 3
        )
    entry = board.entries[opens[0]]
    booth = entry.data.get("booth") if entry is not None else None
    if not isinstance(booth, dict) or not booth:
        raise AnchorError("the open entry publishes no booth digests: the booth is unverifiable", 1)
    return {str(k): str(v) for k, v in booth.items()}


def check_served_booth(client: Client, digests: dict[str, str]) -> list[BoothFile]:
    """Fetch each booth file the open entry lists from the server and compare its
    SHA-256 with the published one (``AnchorError`` 2 when the server is unreachable)."""
    out = []
    for name, published in sorted(digests.items()):
        if not _NAME.fullmatch(name):
            out.append(BoothFile(name, published, None, "not a booth file name"))
            continue
        try:
            status, body = client.get_bytes(BOOTH_PATH + name)
        except ClientError as exc:
            raise AnchorError(str(exc), 2) from exc
        if status != 200:
            out.append(BoothFile(name, published, None, f"not served (HTTP {status})"))
            continue
        served = hashlib.sha256(body).hexdigest()
        problem = None if served == published else "differs from the open entry's digest"
        out.append(BoothFile(name, published, served, problem))
    return out
