"""PostgreSQL implementation of the board's ``Store`` (psycopg 3), for large elections.

It behaves exactly as ``SQLiteStore`` (same methods, results, exceptions and meta keys);
what differs is how:

* **One schema per board.** ``PostgresStore(url, namespace)`` keeps its tables in the
  schema ``namespace``, so several boards (referendums) share one database. The schema is
  created on first use, under a transaction-level advisory lock so that several processes
  opening the same new board do not race.
* **Durable.** Every session runs with ``synchronous_commit = on``; every write is a
  single autocommitted statement, so a call returns only after its commit is flushed to
  the WAL. (The server's ``fsync`` must be on too: it is PostgreSQL's default.)
* **Gap-free under concurrency.** The schema's one-row ``head`` table counts entries and
  checkpoints. An append is one statement: ``UPDATE head SET size = size + n RETURNING``
  (which row-locks the counter until commit) feeding the ``INSERT`` of the entries at
  ``first .. first + n - 1``. Concurrent appends from threads or processes therefore
  queue on that row lock, each sees the size its predecessor committed, and a failed
  append rolls its counter back with its rows: indices never skip or repeat. Checkpoint
  sequence numbers are taken from the same row, so they are also gap-free and visible in
  commit order.
* **Append-only.** Triggers refuse ``UPDATE``, ``DELETE`` and ``TRUNCATE`` on entries and
  checkpoints, and any change to ``head`` other than growth.
* **Bounded memory.** ``iter_entries`` reads ``batch`` entries per query by index range
  (keyset pagination) and holds no connection or transaction between batches, so an
  abandoned iterator costs nothing; ``leaf_hashes`` streams through a server-side cursor.
* **Thread-safe.** The store keeps a small pool of connections (one per concurrent call,
  at most ``max_connections``), so reads and appends from several threads run in
  parallel on the server.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import psycopg
from psycopg import sql

from plebiscite.board.merkle import leaf_hash
from plebiscite.board.store import Store, check_namespace

__all__ = ["PostgresStore"]

_SCHEMA_VERSION = 1
_LEAF_HASH_BATCH = 50_000
# First key of the advisory lock taken while creating a board's schema (the second is the
# schema name's hash): an arbitrary constant, "plebiscite" in ASCII.
_LOCK_CLASS = 0x706C6562

# {s} is the board's schema. The head row: version of this layout, number of entries,
# number of checkpoints.
_SCHEMA = """
CREATE SCHEMA IF NOT EXISTS {s};
CREATE TABLE {s}.head (
    one         boolean PRIMARY KEY DEFAULT true CHECK (one),
    version     integer NOT NULL,
    size        bigint  NOT NULL CHECK (size >= 0),
    checkpoints bigint  NOT NULL CHECK (checkpoints >= 0)
);
CREATE TABLE {s}.entries (
    idx       bigint PRIMARY KEY CHECK (idx >= 0),
    data      bytea  NOT NULL,
    leaf_hash bytea  NOT NULL
);
CREATE TABLE {s}.checkpoints (
    seq  bigint PRIMARY KEY CHECK (seq >= 0),
    body bytea  NOT NULL
);
CREATE TABLE {s}.meta (
    key   text  PRIMARY KEY,
    value bytea NOT NULL
);
CREATE FUNCTION {s}.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'board % are append-only', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END $$;
CREATE FUNCTION {s}.head_only_grows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.version <> OLD.version OR NEW.size < OLD.size
       OR NEW.checkpoints < OLD.checkpoints THEN
        RAISE EXCEPTION 'board head only grows' USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER entries_append_only BEFORE UPDATE OR DELETE ON {s}.entries
    FOR EACH ROW EXECUTE FUNCTION {s}.refuse_change();
CREATE TRIGGER entries_no_truncate BEFORE TRUNCATE ON {s}.entries
    FOR EACH STATEMENT EXECUTE FUNCTION {s}.refuse_change();
CREATE TRIGGER checkpoints_append_only BEFORE UPDATE OR DELETE ON {s}.checkpoints
    FOR EACH ROW EXECUTE FUNCTION {s}.refuse_change();
CREATE TRIGGER checkpoints_no_truncate BEFORE TRUNCATE ON {s}.checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION {s}.refuse_change();
CREATE TRIGGER head_only_grows BEFORE UPDATE ON {s}.head
    FOR EACH ROW EXECUTE FUNCTION {s}.head_only_grows();
CREATE TRIGGER head_no_delete BEFORE DELETE ON {s}.head
    FOR EACH ROW EXECUTE FUNCTION {s}.refuse_change();
CREATE TRIGGER head_no_truncate BEFORE TRUNCATE ON {s}.head
    FOR EACH STATEMENT EXECUTE FUNCTION {s}.refuse_change();
INSERT INTO {s}.head (version, size, checkpoints) VALUES ({version}, 0, 0);
"""

# One statement, hence one transaction: lock-and-bump the counter, insert at its old value.
_APPEND = """
WITH h AS (
    UPDATE {s}.head SET size = size + %(n)s RETURNING size - %(n)s AS first
), ins AS (
    INSERT INTO {s}.entries (idx, data, leaf_hash)
    SELECT h.first + t.ord - 1, t.data, t.leaf_hash
    FROM h, unnest(%(data)b::bytea[], %(hashes)b::bytea[]) WITH ORDINALITY
         AS t(data, leaf_hash, ord)
)
SELECT first FROM h
"""

_ADD_CHECKPOINT = """
WITH h AS (
    UPDATE {s}.head SET checkpoints = checkpoints + 1 RETURNING checkpoints - 1 AS seq
)
INSERT INTO {s}.checkpoints (seq, body) SELECT h.seq, %(body)b FROM h
"""


def _as_bytes(value: object, what: str) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    raise TypeError(f"{what} must be bytes, not {type(value).__name__}")


class PostgresStore(Store):
    """PostgreSQL implementation of ``Store``; safe to share between threads and to open
    from several processes at once."""

    def __init__(self, url: str, namespace: str, *, max_connections: int = 8) -> None:
        check_namespace(namespace)
        if max_connections < 1:
            raise ValueError("max_connections must be positive")
        self._url = url
        self._namespace = namespace
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max_connections)
        self._idle: list[psycopg.Connection] = []
        self._closed = False
        s = sql.Identifier(namespace)
        self._q_append = sql.SQL(_APPEND).format(s=s)
        self._q_checkpoint = sql.SQL(_ADD_CHECKPOINT).format(s=s)
        self._q_size = sql.SQL("SELECT size FROM {s}.head").format(s=s)
        self._q_entry = sql.SQL("SELECT data FROM {s}.entries WHERE idx = %s").format(s=s)
        self._q_range = sql.SQL(
            "SELECT data FROM {s}.entries WHERE idx >= %s AND idx < %s ORDER BY idx"
        ).format(s=s)
        self._q_hashes = sql.SQL("SELECT leaf_hash FROM {s}.entries ORDER BY idx").format(s=s)
        self._q_checkpoints = sql.SQL("SELECT body FROM {s}.checkpoints ORDER BY seq").format(s=s)
        self._q_get_meta = sql.SQL("SELECT value FROM {s}.meta WHERE key = %s").format(s=s)
        self._q_set_meta = sql.SQL(
            "INSERT INTO {s}.meta (key, value) VALUES (%s, %s) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
        ).format(s=s)
        try:
            self._create_schema()
        except BaseException:
            self.close()
            raise

    # -- connections --------------------------------------------------------------------

    def _connect(self) -> psycopg.Connection:
        conn = psycopg.connect(self._url, autocommit=True)
        try:
            # Durable acknowledgements whatever the server's or database's default says.
            conn.execute("SET synchronous_commit TO on")
        except BaseException:
            conn.close()
            raise
        return conn

    @contextmanager
    def _conn(self) -> Iterator[psycopg.Connection]:
        """A connection for the duration of one call (autocommit: each statement commits)."""
        if self._closed:
            raise ValueError("the store is closed")
        self._slots.acquire()
        try:
            with self._lock:
                if self._closed:
                    raise ValueError("the store is closed")
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                conn = self._connect()
            try:
                yield conn
            finally:
                with self._lock:
                    reuse = (
                        not self._closed
                        and not conn.closed
                        and not conn.broken
                        and conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
                    )
                    if reuse:
                        self._idle.append(conn)
                if not reuse:
                    conn.close()
        finally:
            self._slots.release()

    def _create_schema(self) -> None:
        namespace = self._namespace
        with self._conn() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (_LOCK_CLASS, namespace))
            exists = conn.execute(
                "SELECT to_regclass(format('%%I.head', %s::text)) IS NOT NULL", (namespace,)
            ).fetchone()
            if exists is not None and exists[0]:
                row = conn.execute(
                    sql.SQL("SELECT version FROM {s}.head").format(s=sql.Identifier(namespace))
                ).fetchone()
                version = None if row is None else row[0]
                if version != _SCHEMA_VERSION:
                    raise ValueError(
                        f"{namespace}: board schema version {version} is not supported"
                    )
                return
            conn.execute(
                sql.SQL(_SCHEMA).format(
                    s=sql.Identifier(namespace), version=sql.Literal(_SCHEMA_VERSION)
                )
            )

    def _size_on(self, conn: psycopg.Connection) -> int:
        row = conn.execute(self._q_size).fetchone()
        if row is None:
            raise RuntimeError(f"board {self._namespace}: the head row is missing")
        return int(row[0])

    # -- Store --------------------------------------------------------------------------

    def append_entries(self, entries: Sequence[bytes]) -> int:
        rows = [_as_bytes(e, "an entry") for e in entries]
        hashes = [leaf_hash(data) for data in rows]
        with self._conn() as conn:
            if not rows:
                return self._size_on(conn)
            row = conn.execute(
                self._q_append, {"n": len(rows), "data": rows, "hashes": hashes}
            ).fetchone()
        assert row is not None
        return int(row[0])

    def size(self) -> int:
        with self._conn() as conn:
            return self._size_on(conn)

    def entry(self, index: int) -> bytes:
        if not isinstance(index, int) or isinstance(index, bool) or index < 0:
            raise IndexError(f"no board entry {index!r}")
        if index >= 2**63:
            raise IndexError(f"no board entry {index}")
        with self._conn() as conn:
            row = conn.cursor(binary=True).execute(self._q_entry, (index,)).fetchone()
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
        with self._conn() as conn:
            end = self._size_on(conn)
        if stop is not None:
            end = min(end, stop)
        pos = start
        while pos < end:
            limit = min(batch, end - pos)
            with self._conn() as conn:
                rows = (
                    conn.cursor(binary=True).execute(self._q_range, (pos, pos + limit)).fetchall()
                )
            if len(rows) != limit:
                raise RuntimeError(f"board entries {pos}..{pos + limit - 1} are not contiguous")
            for (data,) in rows:
                yield bytes(data)
            pos += limit

    def leaf_hashes(self) -> list[bytes]:
        # One statement, so one snapshot: entries 0 .. size - 1 as of some commit (an append
        # commits its rows and the counter together), fetched in batches from the server.
        with (
            self._conn() as conn,
            conn.transaction(),
            conn.cursor("leaf_hashes", binary=True) as cur,
        ):
            cur.itersize = _LEAF_HASH_BATCH
            cur.execute(self._q_hashes)
            return [bytes(h) for (h,) in cur]

    def add_checkpoint(self, cp_json: bytes) -> None:
        body = _as_bytes(cp_json, "a checkpoint")
        with self._conn() as conn:
            conn.execute(self._q_checkpoint, {"body": body})

    def checkpoints(self) -> list[bytes]:
        with self._conn() as conn:
            rows = conn.cursor(binary=True).execute(self._q_checkpoints).fetchall()
        return [bytes(b) for (b,) in rows]

    def get_meta(self, key: str) -> bytes | None:
        if not isinstance(key, str):
            return None  # as SQLiteStore: keys are strings, nothing else is ever stored
        with self._conn() as conn:
            row = conn.cursor(binary=True).execute(self._q_get_meta, (key,)).fetchone()
        return None if row is None else bytes(row[0])

    def set_meta(self, key: str, value: bytes) -> None:
        if not isinstance(key, str):
            raise TypeError("a metadata key must be a string")
        data = _as_bytes(value, "a metadata value")
        with self._conn() as conn:
            conn.execute(self._q_set_meta, (key, data))

    def close(self) -> None:
        """Close idle connections now and busy ones when their call ends. Idempotent."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    # -- conveniences -------------------------------------------------------------------

    @property
    def url(self) -> str:
        return self._url

    @property
    def namespace(self) -> str:
        return self._namespace

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
