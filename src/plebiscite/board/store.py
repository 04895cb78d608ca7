"""Durable storage behind the board.

``Store`` is the interface; ``SQLiteStore`` is the default, embedded implementation
(WAL journal, ``synchronous=FULL``: a transaction is on disk when ``COMMIT`` returns).
A PostgreSQL store for large elections implements the same protocol.

The store keeps, for entry ``i`` (0-based, contiguous), its bytes and its RFC 6962 leaf
hash; the signed checkpoints (their JSON bytes) in insertion order; and a small
key/value table for metadata. Entries and checkpoints are append-only: the SQLite schema
refuses updates and deletes with triggers.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from plebiscite.board.merkle import leaf_hash

__all__ = ["SQLiteStore", "Store", "check_namespace", "open_store"]


@runtime_checkable
class Store(Protocol):
    """What the board needs from storage. Every write is durable when it returns."""

    def append_entries(self, entries: Sequence[bytes]) -> int:
        """Append entries atomically; return the index of the first one."""
        ...

    def size(self) -> int:
        """Number of entries."""
        ...

    def entry(self, index: int) -> bytes:
        """Bytes of entry ``index``; ``IndexError`` if there is none."""
        ...

    def iter_entries(
        self, start: int = 0, stop: int | None = None, batch: int = 1000
    ) -> Iterator[bytes]:
        """Entries ``start`` .. ``stop - 1`` in order, read ``batch`` at a time."""
        ...

    def leaf_hashes(self) -> list[bytes]:
        """Leaf hashes of all entries, in order."""
        ...

    def add_checkpoint(self, cp_json: bytes) -> None:
        """Store a signed checkpoint (its JSON bytes)."""
        ...

    def checkpoints(self) -> list[bytes]:
        """All stored checkpoints, in insertion order."""
        ...

    def get_meta(self, key: str) -> bytes | None:
        """Metadata value, or None."""
        ...

    def set_meta(self, key: str, value: bytes) -> None:
        """Set a metadata value."""
        ...

    def close(self) -> None:
        """Release the store."""
        ...


_SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    idx       INTEGER PRIMARY KEY,
    data      BLOB NOT NULL,
    leaf_hash BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS checkpoints (
    seq  INTEGER PRIMARY KEY AUTOINCREMENT,
    body BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
CREATE TRIGGER IF NOT EXISTS entries_no_update BEFORE UPDATE ON entries
BEGIN SELECT RAISE(ABORT, 'board entries are append-only'); END;
CREATE TRIGGER IF NOT EXISTS entries_no_delete BEFORE DELETE ON entries
BEGIN SELECT RAISE(ABORT, 'board entries are append-only'); END;
CREATE TRIGGER IF NOT EXISTS checkpoints_no_update BEFORE UPDATE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'board checkpoints are append-only'); END;
CREATE TRIGGER IF NOT EXISTS checkpoints_no_delete BEFORE DELETE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'board checkpoints are append-only'); END;
"""


def _as_bytes(value: object, what: str) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    raise TypeError(f"{what} must be bytes, not {type(value).__name__}")


class SQLiteStore(Store):
    """SQLite implementation of ``Store``; safe to share between threads."""

    def __init__(self, path: str | Path) -> None:
        self._path = str(path)
        self._lock = threading.RLock()
        # isolation_level=None: no implicit transactions; we issue BEGIN/COMMIT ourselves.
        self._conn: sqlite3.Connection | None = sqlite3.connect(
            self._path, check_same_thread=False, isolation_level=None
        )
        try:
            conn = self._conn
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, _SCHEMA_VERSION):
                raise ValueError(f"{self._path}: board schema version {version} is not supported")
            conn.executescript(
                "BEGIN IMMEDIATE;\n"
                + _SCHEMA
                + f"PRAGMA user_version={_SCHEMA_VERSION};\nCOMMIT;\n"
            )
        except BaseException:
            self.close()
            raise

    # -- helpers -----------------------------------------------------------------------

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise ValueError("the store is closed")
        return self._conn

    def _size_locked(self, conn: sqlite3.Connection) -> int:
        row = conn.execute("SELECT MAX(idx) FROM entries").fetchone()
        return 0 if row[0] is None else int(row[0]) + 1

    # -- Store --------------------------------------------------------------------------

    def append_entries(self, entries: Sequence[bytes]) -> int:
        rows = [_as_bytes(e, "an entry") for e in entries]
        with self._lock:
            conn = self._db()
            conn.execute("BEGIN IMMEDIATE")
            try:
                first = self._size_locked(conn)
                conn.executemany(
                    "INSERT INTO entries (idx, data, leaf_hash) VALUES (?, ?, ?)",
                    ((first + i, data, leaf_hash(data)) for i, data in enumerate(rows)),
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            return first

    def size(self) -> int:
        with self._lock:
            return self._size_locked(self._db())

    def entry(self, index: int) -> bytes:
        if not isinstance(index, int) or isinstance(index, bool) or index < 0:
            raise IndexError(f"no board entry {index!r}")
        with self._lock:
            row = self._db().execute("SELECT data FROM entries WHERE idx = ?", (index,)).fetchone()
        if row is None:
            raise IndexError(f"no board entry {index}")
        return bytes(row[0])

    def iter_entries(
        self, start: int = 0, stop: int | None = None, batch: int = 1000
    ) -> Iterator[bytes]:
        if start < 0 or (stop is not None and stop < 0) or batch < 1:
            raise ValueError("start and stop must be non-negative and batch positive")
        return self._iter_entries(start, stop, batch)

    def _iter_entries(self, start: int, stop: int | None, batch: int) -> Iterator[bytes]:
        with self._lock:
            end = self._size_locked(self._db())
        if stop is not None:
            end = min(end, stop)
        pos = start
        while pos < end:
            limit = min(batch, end - pos)
            with self._lock:
                rows = (
                    self._db()
                    .execute(
                        "SELECT data FROM entries WHERE idx >= ? AND idx < ? ORDER BY idx",
                        (pos, pos + limit),
                    )
                    .fetchall()
                )
            if len(rows) != limit:
                raise RuntimeError(f"board entries {pos}..{pos + limit - 1} are not contiguous")
            for (data,) in rows:
                yield bytes(data)
            pos += limit

    def leaf_hashes(self) -> list[bytes]:
        with self._lock:
            rows = self._db().execute("SELECT leaf_hash FROM entries ORDER BY idx").fetchall()
        return [bytes(h) for (h,) in rows]

    def add_checkpoint(self, cp_json: bytes) -> None:
        body = _as_bytes(cp_json, "a checkpoint")
        with self._lock:
            self._db().execute("INSERT INTO checkpoints (body) VALUES (?)", (body,))

    def checkpoints(self) -> list[bytes]:
        with self._lock:
            rows = self._db().execute("SELECT body FROM checkpoints ORDER BY seq").fetchall()
        return [bytes(b) for (b,) in rows]

    def get_meta(self, key: str) -> bytes | None:
        with self._lock:
            row = self._db().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else bytes(row[0])

    def set_meta(self, key: str, value: bytes) -> None:
        if not isinstance(key, str):
            raise TypeError("a metadata key must be a string")
        data = _as_bytes(value, "a metadata value")
        with self._lock:
            self._db().execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, data),
            )

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # -- conveniences -------------------------------------------------------------------

    @property
    def path(self) -> str:
        return self._path

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- choosing a store ------------------------------------------------------------------

_POSTGRES_SCHEMES = ("postgresql://", "postgres://")
_NAMESPACE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")


def check_namespace(namespace: str) -> str:
    """Return ``namespace`` if it can name a board in a shared database, else ValueError.

    A namespace is a lower-case SQL identifier (``[a-z_][a-z0-9_]*``, at most 63 bytes),
    not reserved by PostgreSQL (``pg_*``, ``public``, ``information_schema``).
    """
    if (
        not isinstance(namespace, str)
        or not 0 < len(namespace) <= 63
        or not set(namespace) <= _NAMESPACE_CHARS
        or namespace[0].isdigit()
        or namespace.startswith("pg_")
        or namespace in ("public", "information_schema")
    ):
        raise ValueError(
            f"board namespace {namespace!r} must be a lower-case identifier "
            "([a-z_][a-z0-9_]*, at most 63 characters, not pg_*, public or information_schema)"
        )
    return namespace


def open_store(url_or_path: str | Path, namespace: str) -> Store:
    """Open a board's store: PostgreSQL for a ``postgresql://`` URL (the board lives in
    the schema ``namespace``, so several boards can share a database), else SQLite at the
    path (one file per board; ``namespace`` is only checked, so that a configuration
    works with either)."""
    check_namespace(namespace)
    if isinstance(url_or_path, str) and url_or_path.startswith(_POSTGRES_SCHEMES):
        from plebiscite.board.pgstore import PostgresStore  # psycopg only when needed

        return PostgresStore(url_or_path, namespace)
    return SQLiteStore(url_or_path)
