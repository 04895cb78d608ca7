"""Mirroring, witnessing and gossip.

A witness keeps, in its state folder, a mirror of the board up to the last checkpoint
it cosigned (``mirror/``, a record folder any ``observe`` command or ``verify`` reads)
and ``state.json`` (the board key and origin it pinned, its last cosigned checkpoint,
the peers' checkpoints it has seen). It cosigns a new checkpoint only when the board's
entries up to it extend its mirror and hash to the checkpoint's root; otherwise it
refuses and, when the board signed two histories, writes a fraud proof.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from plebiscite.board.checkpoint import Checkpoint, verify_checkpoint
from plebiscite.board.cosign import Cosignature, cosign
from plebiscite.board.fraud import make_fraud_proof
from plebiscite.board.merkle import MerkleTree, leaf_hash
from plebiscite.record.canonical import canonical_bytes, loads
from plebiscite.record.entries import b64decode


class WitnessError(RuntimeError):
    """The witness refuses (the message says why); ``fraud`` holds a proof when the
    refusal comes from a fork."""

    def __init__(self, message: str, fraud: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.fraud = fraud


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


@dataclass
class Board:
    """A board as read, checked to hold together: signed checkpoints whose roots match
    the entries."""

    key: bytes
    origin: str
    entries: list[bytes]
    checkpoints: list[Checkpoint]
    cosignatures: list[bytes]

    @property
    def latest(self) -> Checkpoint:
        return self.checkpoints[-1]


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
    return Board(key, origin, entries, cps, source.cosignatures())


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

    def save(self, board: Board, cp: Checkpoint, cosig: Cosignature | None) -> None:
        """Keep the board up to ``cp`` as the mirror and ``cp`` as the last cosigned."""
        self.mirror.mkdir(parents=True, exist_ok=True)
        _write_lines(self.mirror / "entries.jsonl", board.entries[: cp.size])
        _write_lines(
            self.mirror / "checkpoints.jsonl",
            [canonical_bytes(c.to_json()) for c in board.checkpoints if c.size <= cp.size],
        )
        cosigs = [x for x in board.cosignatures]
        if cosig is not None:
            cosigs.append(canonical_bytes(cosig.to_json()))
        _write_lines(self.mirror / "cosignatures.jsonl", sorted(set(cosigs)))
        self.data.update(
            {"board_key": _b64(board.key), "origin": board.origin, "last": cp.to_json()}
        )
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


def witness(
    source: Source, key: Ed25519PrivateKey, witness_id: str, state: WitnessState
) -> Cosignature:
    """Check the board's latest checkpoint against the last one cosigned, then cosign."""
    board = read_board(source)
    _pinned(state, board)
    cp = board.latest
    last = state.last
    if last is not None:
        mine = state.mirror_entries()
        proof = fork_proof(board.key, mine, last, board.entries, cp)
        if proof is not None:
            raise WitnessError(
                f"the board's checkpoint {cp.size} is not consistent with the checkpoint"
                f" {last.size} this witness cosigned: the board forked",
                proof,
            )
        if cp.size < last.size:
            raise WitnessError(f"the board shows checkpoint {cp.size}, older than {last.size}")
    cosig = cosign(key, witness_id, cp)
    state.save(board, cp, cosig)
    return cosig


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
