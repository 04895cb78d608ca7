"""Mirroring, witnessing and gossip.

A witness keeps, in its state folder, a mirror of the board up to the last checkpoint
it cosigned (``mirror/``, a record folder any ``observe`` command or ``verify`` reads)
and ``state.json`` (the board key and origin it pinned, its last cosigned checkpoint,
the checks it disputed, the peers' checkpoints it has seen). It cosigns every checkpoint
since the last one it cosigned, in order (sizes and times never decreasing), only when
the board's entries extend its mirror and hash to each checkpoint's root; otherwise it
refuses and, when the board signed two histories, writes a fraud proof.

A witness keeps time: each cosignature states the witness's own clock. It refuses a
checkpoint dated more than the referendum's ``max_skew_s`` ahead of its clock, and a
latest checkpoint more than ``max_skew_s`` behind it (after asking the board for a fresh
one), so a board cannot pass off an old view as current, nor date a checkpoint ahead.
It also runs the verifier's checks V01-V06 on what it mirrored; a failed check does not
stop it cosigning (a cosignature attests the log, not its content), but it posts a
signed dispute naming the check, once per check.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from plebiscite.board.checkpoint import Checkpoint, verify_checkpoint
from plebiscite.board.cosign import Cosignature, cosign
from plebiscite.board.fraud import make_fraud_proof
from plebiscite.board.merkle import MerkleTree, leaf_hash
from plebiscite.election.clock import Clock
from plebiscite.record.canonical import canonical_bytes, loads
from plebiscite.record.entries import (
    EntryError,
    Submission,
    b64decode,
    election_id_of,
    format_time,
    parse_entry_time,
    sign,
)
from plebiscite.record.manifest import ManifestError, max_skew_s, parse_manifest

# The checks a witness runs on what it mirrors: the log's own integrity and protocol order
# (well-formed entries, checkpoints, coverage, the referendum file, signatures, order).
WITNESS_CHECKS = ("V01", "V02", "V03", "V04", "V05", "V06")


class WitnessError(RuntimeError):
    """The witness refuses (the message says why); ``fraud`` holds a proof when the
    refusal comes from a fork."""

    def __init__(self, message: str, fraud: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.fraud = fraud


class SkewError(WitnessError):
    """The witness refuses because the board's time and its own clock disagree by more
    than ``max_skew_s``: not now (a later run, or a fresher checkpoint, may cosign)."""


class Source(Protocol):
    """Where a board is read from: a server or a record folder."""

    def entries(self) -> list[bytes]: ...
    def checkpoints(self) -> list[bytes]: ...
    def cosignatures(self) -> list[bytes]: ...


class RecordSource:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def _lines(self, name: str) -> list[bytes]:
        p = self.path / name
        return [x for x in p.read_bytes().split(b"\n") if x] if p.exists() else []

    def entries(self) -> list[bytes]:
        return self._lines("entries.jsonl")

    def checkpoints(self) -> list[bytes]:
        return self._lines("checkpoints.jsonl")

    def cosignatures(self) -> list[bytes]:
        return self._lines("cosignatures.jsonl")


class ServerSource:
    def __init__(self, server: str, referendum: str | None = None) -> None:
        from plebiscite.client import Client

        self.client = Client(server)
        self.rid = self.client.referendum_id(referendum)

    def _lines(self, name: str) -> list[bytes]:
        text = self.client._call("GET", f"/api/referendums/{self.rid}/record/{name}")
        return [line.encode() for line in str(text).split("\n") if line]

    def entries(self) -> list[bytes]:
        return self._lines("entries.jsonl")

    def checkpoints(self) -> list[bytes]:
        return self._lines("checkpoints.jsonl")

    def cosignatures(self) -> list[bytes]:
        return self._lines("cosignatures.jsonl")

    def post_cosignature(self, cs: Cosignature) -> None:
        self.client.post(f"/api/referendums/{self.rid}/cosignatures", cs.to_json())

    def post_dispute(self, sub: Submission) -> None:
        self.client.post(f"/api/referendums/{self.rid}/disputes", sub.to_json())

    def fresh(self) -> None:
        """Ask the board to sign a checkpoint of its current size now."""
        self.client._call("GET", f"/api/referendums/{self.rid}/checkpoint?fresh=1")


@dataclass
class Board:
    """A board as read, checked to hold together: signed checkpoints whose roots match
    the entries."""

    key: bytes
    origin: str
    entries: list[bytes]
    checkpoints: list[Checkpoint]
    cosignatures: list[bytes]
    referendum: dict[str, Any] = field(default_factory=dict)  # the first entry's data

    @property
    def latest(self) -> Checkpoint:
        return self.checkpoints[-1]

    def max_skew_s(self) -> int:
        try:
            return max_skew_s(parse_manifest(self.referendum["manifest"]))
        except (KeyError, TypeError, ManifestError) as exc:
            raise WitnessError(f"the board's referendum file is unusable: {exc}") from exc

    def index_of(self, type_: str) -> int | None:
        """The index of the first entry of ``type_`` (None when there is none)."""
        marker = f'"type":"{type_}"'.encode()
        for i, line in enumerate(self.entries):
            if marker in line and loads(line).get("type") == type_:
                return i
        return None


def read_board(source: Source) -> Board:
    entries = source.entries()
    if not entries:
        raise WitnessError("the board is empty")
    try:
        ref = loads(entries[0])["data"]
        key = b64decode(ref["board_key"], 32, "board key")
        origin = str(ref["origin"])
        cps = [Checkpoint.from_json(loads(x)) for x in source.checkpoints()]
    except (KeyError, TypeError, ValueError) as exc:
        raise WitnessError(f"the board is unreadable: {exc}") from exc
    if not cps:
        raise WitnessError("the board has no checkpoint")
    tree = MerkleTree(leaf_hash(e) for e in entries)
    for cp in cps:
        if cp.origin != origin or not verify_checkpoint(cp, key):
            raise WitnessError(f"checkpoint {cp.size} is not signed by the board")
        if cp.size > tree.size or tree.root(cp.size) != cp.root:
            raise WitnessError(f"the board's entries do not match its checkpoint {cp.size}")
    return Board(key, origin, entries, cps, source.cosignatures(), ref)


def first_difference(a: list[bytes], b: list[bytes]) -> int | None:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return i
    return None


def fork_proof(
    key: bytes, ea: list[bytes], a: Checkpoint, eb: list[bytes], b: Checkpoint
) -> dict[str, Any] | None:
    """A fraud proof when two checkpoints (with their entries) are not one history."""
    if a.size == b.size:
        return make_fraud_proof(key, a, b) if a.root != b.root else None
    n = min(a.size, b.size)
    i = first_difference(ea[:n], eb[:n])
    if i is None:
        return None
    ta = MerkleTree(leaf_hash(e) for e in ea[: a.size])
    tb = MerkleTree(leaf_hash(e) for e in eb[: b.size])
    return make_fraud_proof(
        key, a, b, (i, ea[i], ta.inclusion_proof(i, a.size), eb[i], tb.inclusion_proof(i, b.size))
    )


class WitnessState:
    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.file = self.folder / "state.json"
        self.mirror = self.folder / "mirror"
        self.data: dict[str, Any] = json.loads(self.file.read_text()) if self.file.exists() else {}

    @property
    def last(self) -> Checkpoint | None:
        d = self.data.get("last")
        return Checkpoint.from_json(d) if d else None

    def mirror_entries(self) -> list[bytes]:
        return RecordSource(self.mirror).entries()

    @property
    def disputed(self) -> list[str]:
        """The checks this witness already posted a dispute about."""
        return list(self.data.get("disputed", []))

    def save(self, board: Board, cp: Checkpoint, cosigs: list[Cosignature]) -> None:
        """Keep the board up to ``cp`` as the mirror and ``cp`` as the last cosigned."""
        self.mirror.mkdir(parents=True, exist_ok=True)
        _write_lines(self.mirror / "entries.jsonl", board.entries[: cp.size])
        kept = board.checkpoints[: board.checkpoints.index(cp) + 1]
        _write_lines(
            self.mirror / "checkpoints.jsonl", [canonical_bytes(c.to_json()) for c in kept]
        )
        lines = list(board.cosignatures) + [canonical_bytes(c.to_json()) for c in cosigs]
        _write_lines(self.mirror / "cosignatures.jsonl", sorted(set(lines)))
        self.data.update(
            {"board_key": _b64(board.key), "origin": board.origin, "last": cp.to_json()}
        )
        self.write()

    def write(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=1, sort_keys=True))
        tmp.replace(self.file)


def _b64(raw: bytes) -> str:
    import base64

    return base64.b64encode(raw).decode()


def _write_lines(path: Path, lines: list[bytes]) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(b"".join(x + b"\n" for x in lines))
    tmp.replace(path)


def _pinned(state: WitnessState, board: Board) -> None:
    if state.data.get("board_key") and state.data["board_key"] != _b64(board.key):
        raise WitnessError("this board's key is not the one this witness pinned: another board?")
    if state.data.get("origin") and state.data["origin"] != board.origin:
        raise WitnessError("this board's origin is not the one this witness pinned")


@dataclass
class Witnessed:
    """What one witnessing run did."""

    cosignatures: list[Cosignature]  # the new ones, oldest checkpoint first
    last: Checkpoint  # the latest checkpoint this witness has cosigned
    board: Board
    disputes: list[Submission] = field(default_factory=list)  # signed, new this run
    dispute_files: list[Path] = field(default_factory=list)  # kept for an offline board


def _when(cp: Checkpoint) -> datetime:
    try:
        return parse_entry_time(cp.time)
    except EntryError as exc:
        raise WitnessError(f"checkpoint {cp.size}: {exc}") from exc


def _ahead_problem(board: Board, now: datetime, skew: int) -> str | None:
    for cp in board.checkpoints:
        ahead = (_when(cp) - now).total_seconds()
        if ahead > skew:
            return (
                f"checkpoint {cp.size} time {cp.time} is {ahead:.0f} s ahead of this"
                f" witness's clock {format_time(now)} (max_skew_s {skew}): refusing"
            )
    return None


def _stale(board: Board, now: datetime, skew: int) -> float | None:
    behind = (now - _when(board.latest)).total_seconds()
    return behind if behind > skew else None


def read_timely_board(
    source: Source, now: datetime, check: Callable[[Board], None] | None = None
) -> Board:
    """The board, with a latest checkpoint within ``max_skew_s`` of ``now`` (asking the
    board for a fresh one when it is older) and none dated further ahead; raises
    ``SkewError`` otherwise. ``check`` runs on every board read first (so a fork is
    reported as a fork, whatever the board's clock says)."""
    board = read_board(source)
    if check is not None:
        check(board)
    skew = board.max_skew_s()
    problem = _ahead_problem(board, now, skew)
    if problem:
        raise SkewError(problem)
    if _stale(board, now, skew) is not None and hasattr(source, "fresh"):
        source.fresh()
        board = read_board(source)
        if check is not None:
            check(board)
        problem = _ahead_problem(board, now, skew)
        if problem:
            raise SkewError(problem)
    behind = _stale(board, now, skew)
    if behind is not None:
        asked = ", even after asking for a fresh one" if hasattr(source, "fresh") else ""
        raise SkewError(
            f"the board's latest checkpoint ({board.latest.size}, time {board.latest.time})"
            f" is {behind:.0f} s behind this witness's clock {format_time(now)} (max_skew_s"
            f" {skew}){asked}: refusing"
        )
    return board


def _since(board: Board, last: Checkpoint | None) -> list[Checkpoint]:
    """The board's checkpoints after ``last``, checked to go forward in size and time."""
    cps = board.checkpoints
    if last is None:
        todo, prev = cps, None
    else:
        same = [i for i, cp in enumerate(cps) if cp.to_json() == last.to_json()]
        if same:
            todo = cps[same[-1] + 1 :]
        else:  # the board no longer lists it: take what is not older
            todo = [cp for cp in cps if cp.size >= last.size and _when(cp) >= _when(last)]
        prev = last
    for cp in todo:
        if prev is not None and cp.size < prev.size:
            raise WitnessError(f"the board shows checkpoint {cp.size} after {prev.size}")
        if prev is not None and _when(cp) < _when(prev):
            raise WitnessError(
                f"checkpoint {cp.size} is dated {cp.time}, before the checkpoint"
                f" {prev.size} ({prev.time}): its times go backwards"
            )
        prev = cp
    return todo


def witness(
    source: Source,
    key: Ed25519PrivateKey,
    witness_id: str,
    state: WitnessState,
    clock: Clock | None = None,
) -> Witnessed:
    """Cosign every checkpoint since the last one this witness cosigned, after checking
    they extend it and that the board's times agree with ``clock`` (the system clock by
    default); post the cosignatures to the source when it takes them. Then run V01-V06
    on the mirror and dispute, once per check, each that fails."""
    now = (clock or Clock()).now()
    last = state.last

    def extends(board: Board) -> None:
        _pinned(state, board)
        if last is None:
            return
        mine = state.mirror_entries()
        proof = fork_proof(board.key, mine, last, board.entries, board.latest)
        if proof is not None:
            raise WitnessError(
                f"the board's checkpoint {board.latest.size} is not consistent with the"
                f" checkpoint {last.size} this witness cosigned: the board forked",
                proof,
            )
        if board.latest.size < last.size:
            raise WitnessError(
                f"the board shows checkpoint {board.latest.size}, older than {last.size}"
            )

    board = read_timely_board(source, now, extends)
    todo = _since(board, last)
    at = format_time(now)
    cosigs = [cosign(key, witness_id, cp, at) for cp in todo]
    post = getattr(source, "post_cosignature", None)
    if post is not None:
        for cs in cosigs:
            post(cs)
    if not todo:
        assert last is not None
        return Witnessed([], last, board)
    state.save(board, todo[-1], cosigs)
    done = Witnessed(cosigs, todo[-1], board)
    if last is None or todo[-1].size > last.size:
        _dispute_failed_checks(source, key, witness_id, state, board, done)
    return done


def _dispute_failed_checks(
    source: Source,
    key: Ed25519PrivateKey,
    witness_id: str,
    state: WitnessState,
    board: Board,
    done: Witnessed,
) -> None:
    """Run V01-V06 over the mirror; sign a dispute for each newly failed check and post
    it (or, for a board read from a folder, keep it in the state folder)."""
    from plebiscite.verify.checks import Verifier
    from plebiscite.verify.reader import RecordError, read_record

    verifier = Verifier(read_record(state.mirror), workers=1)
    try:
        verifier.outcome("V04")  # a record of another format is not checked here at all
    except RecordError:
        return
    disputed = state.disputed
    eid = election_id_of(board.referendum)
    post = getattr(source, "post_dispute", None)
    for check in WITNESS_CHECKS:
        if check in disputed:
            continue
        status, details = verifier.outcome(check)
        if status != "failed":
            continue
        first = details[0] if details else "failed"
        evidence = f"witness {witness_id}: check {check} failed on the board's log: {first}"
        data = {
            "region": None,
            "about": "check",
            "receipt": None,
            "check": check,
            "evidence": evidence[:10000],
        }
        sub = sign("dispute", data, eid, key)
        if post is not None:
            post(sub)
        else:
            folder = state.folder / "disputes"
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{check}.json"
            path.write_text(json.dumps(sub.to_json(), indent=1, sort_keys=True) + "\n")
            done.dispute_files.append(path)
        done.disputes.append(sub)
        disputed.append(check)
        state.data["disputed"] = disputed
        state.write()


def gossip(state: WitnessState, peer: Source | WitnessState) -> Checkpoint:
    """Compare this witness's last cosigned checkpoint with a peer's; raise with a fraud
    proof when they are not one history. Returns the peer's checkpoint."""
    mine = state.last
    if mine is None:
        raise WitnessError("this witness has cosigned nothing yet")
    key = b64decode(state.data["board_key"], 32, "board key")
    if isinstance(peer, WitnessState):
        theirs = peer.last
        if theirs is None:
            raise WitnessError("the peer has cosigned nothing yet")
        their_entries = peer.mirror_entries()
    else:
        board = read_board(peer)
        theirs, their_entries = board.latest, board.entries
    if not verify_checkpoint(theirs, key) or theirs.origin != mine.origin:
        raise WitnessError("the peer's checkpoint is not of this board")
    proof = fork_proof(key, state.mirror_entries(), mine, their_entries, theirs)
    if proof is not None:
        raise WitnessError(
            f"the peer's checkpoint {theirs.size} and this witness's {mine.size} are two"
            " histories of one board: the board forked",
            proof,
        )
    seen = state.data.setdefault("seen", [])
    if theirs.to_json() not in seen:
        seen.append(theirs.to_json())
    tmp = state.file.with_suffix(".tmp")
    tmp.write_text(json.dumps(state.data, indent=1, sort_keys=True))
    tmp.replace(state.file)
    return theirs


def mirror(source: Source, out: Path) -> Board:
    """Copy a board into a record folder, checking it holds together and that it extends
    what the folder held before (every old checkpoint is still a prefix)."""
    board = read_board(source)
    out = Path(out)
    if (out / "entries.jsonl").exists():
        old = read_board(RecordSource(out))
        if old.key != board.key or old.origin != board.origin:
            raise WitnessError(f"{out} mirrors another board")
        proof = fork_proof(board.key, old.entries, old.latest, board.entries, board.latest)
        if proof is not None or board.latest.size < old.latest.size:
            raise WitnessError(
                f"the board no longer extends the copy in {out}: it rewrote its history", proof
            )
    out.mkdir(parents=True, exist_ok=True)
    _write_lines(out / "entries.jsonl", board.entries)
    _write_lines(
        out / "checkpoints.jsonl", [canonical_bytes(c.to_json()) for c in board.checkpoints]
    )
    _write_lines(out / "cosignatures.jsonl", board.cosignatures)
    return board
