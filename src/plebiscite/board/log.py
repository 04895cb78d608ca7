"""The board: an append-only Merkle log of entries with signed checkpoints.

Entries are acknowledged only once durable: ``append`` / ``append_many`` return after the
store has committed, and only then is the in-memory Merkle tree extended. One lock
serialises appends, checkpoints and tree reads, so the indices handed out, the tree and
the store always agree.

On construction the board rebuilds its tree from the store's leaf hashes and checks
that every stored checkpoint is signed by this board's key and matches the rebuilt tree,
so a restart resumes exactly the same board (or refuses to start). The store remembers
the board's origin and public key: reopening it with another origin or key is refused.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from plebiscite.board.checkpoint import (
    Checkpoint,
    public_key_bytes,
    sign_checkpoint,
    verify_checkpoint,
)
from plebiscite.board.merkle import MerkleTree, leaf_hash
from plebiscite.board.store import Store

__all__ = ["Board", "encode_checkpoint"]

META_ORIGIN = "board.origin"
META_PUBLIC_KEY = "board.public_key"


def encode_checkpoint(cp: Checkpoint) -> bytes:
    """Canonical JSON bytes of a checkpoint (sorted keys, no spaces, UTF-8)."""
    return json.dumps(
        cp.to_json(), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")


def _decode_checkpoint(raw: bytes) -> Checkpoint:
    try:
        obj = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"stored checkpoint is not JSON: {exc}") from None
    return Checkpoint.from_json(obj)


def _entry_bytes(entry: object) -> bytes:
    if isinstance(entry, bytes):
        return entry
    if isinstance(entry, bytearray | memoryview):
        return bytes(entry)
    raise TypeError(f"a board entry must be bytes, not {type(entry).__name__}")


class Board:
    """Append-only log over a ``Store``, signing checkpoints with an Ed25519 key."""

    def __init__(self, store: Store, signing_key: Ed25519PrivateKey, origin: str) -> None:
        if not isinstance(origin, str) or not origin or "\n" in origin or "\r" in origin:
            raise ValueError("board origin must be a non-empty single-line string")
        self._store = store
        self._key = signing_key
        self._origin = origin
        self._public_key = public_key_bytes(signing_key)
        self._lock = threading.RLock()
        self._bind_identity()
        self._tree = MerkleTree(store.leaf_hashes())
        self._latest: Checkpoint | None = None
        self._check_checkpoints()

    # -- start-up -----------------------------------------------------------------------

    def _bind_identity(self) -> None:
        store = self._store
        origin = self._origin.encode("utf-8")
        stored_origin = store.get_meta(META_ORIGIN)
        stored_key = store.get_meta(META_PUBLIC_KEY)
        if stored_origin is not None and stored_origin != origin:
            raise ValueError(
                f"store belongs to board {stored_origin.decode('utf-8', 'replace')!r}, "
                f"not {self._origin!r}"
            )
        if stored_key is not None and stored_key != self._public_key:
            raise ValueError("store belongs to a board with another signing key")
        if stored_origin is None:
            store.set_meta(META_ORIGIN, origin)
        if stored_key is None:
            store.set_meta(META_PUBLIC_KEY, self._public_key)

    def _check_checkpoints(self) -> None:
        for n, raw in enumerate(self._store.checkpoints()):
            cp = _decode_checkpoint(raw)
            if cp.origin != self._origin or not verify_checkpoint(cp, self._public_key):
                raise ValueError(f"stored checkpoint {n} is not signed by this board")
            if cp.size > self._tree.size:
                raise ValueError(
                    f"stored checkpoint {n} covers {cp.size} entries, "
                    f"the store holds only {self._tree.size}"
                )
            if self._tree.root(cp.size) != cp.root:
                raise ValueError(f"stored checkpoint {n} does not match the stored entries")
            self._latest = cp

    # -- identity -----------------------------------------------------------------------

    @property
    def store(self) -> Store:
        return self._store

    def close(self) -> None:
        self._store.close()

    @property
    def origin(self) -> str:
        return self._origin

    @property
    def public_key(self) -> bytes:
        """Raw 32-byte Ed25519 public key that signs this board's checkpoints."""
        return self._public_key

    # -- entries ------------------------------------------------------------------------

    @property
    def size(self) -> int:
        with self._lock:
            return self._tree.size

    def append(self, entry: bytes) -> int:
        """Append one entry; return its index once it is durable."""
        return self.append_many([entry])[0]

    def append_many(self, entries: Sequence[bytes]) -> list[int]:
        """Append entries in one durable transaction; return their indices."""
        data = [_entry_bytes(e) for e in entries]
        if not data:
            return []
        hashes = [leaf_hash(d) for d in data]
        with self._lock:
            expected = self._tree.size
            first = self._store.append_entries(data)
            if first != expected:
                # Someone else wrote to the store: our tree no longer describes it.
                raise RuntimeError(
                    f"store appended at {first}, board expected {expected}: "
                    "the store has another writer"
                )
            self._tree.extend(hashes)
            return list(range(first, first + len(data)))

    def entry(self, index: int) -> bytes:
        """Bytes of entry ``index`` (``IndexError`` if absent)."""
        return self._store.entry(index)

    def entries(self, start: int = 0, stop: int | None = None) -> Iterator[bytes]:
        """Stream entries ``start`` .. ``stop - 1`` (default: up to the current size)."""
        end = self.size if stop is None else min(stop, self.size)
        return self._store.iter_entries(start, end)

    # -- tree ---------------------------------------------------------------------------

    def root(self, size: int | None = None) -> bytes:
        """Merkle root of the first ``size`` entries (default: all)."""
        with self._lock:
            return self._tree.root(size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """Inclusion proof of entry ``index`` in the tree of ``size`` entries."""
        with self._lock:
            return self._tree.inclusion_proof(index, size)

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """Consistency proof from ``old_size`` to ``new_size`` (default: current size)."""
        with self._lock:
            return self._tree.consistency_proof(old_size, new_size)

    # -- checkpoints --------------------------------------------------------------------

    def checkpoint(self, time: str) -> Checkpoint:
        """Sign the current size and root at ``time``, store the checkpoint, return it."""
        with self._lock:
            cp = sign_checkpoint(self._key, self._origin, self._tree.size, self._tree.root(), time)
            self._store.add_checkpoint(encode_checkpoint(cp))
            self._latest = cp
            return cp

    def checkpoints(self) -> list[Checkpoint]:
        """All checkpoints issued by this board, oldest first."""
        return [_decode_checkpoint(raw) for raw in self._store.checkpoints()]

    def latest_checkpoint(self) -> Checkpoint | None:
        """Most recent checkpoint, or None if none was issued (kept in memory: this
        board is its store's only writer, so no read is needed)."""
        return self._latest
