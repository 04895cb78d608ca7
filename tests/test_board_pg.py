"""Board stores side by side: SQLite and PostgreSQL behave the same (resume, checkpoints,
proofs, streaming, append-only, identity), PostgreSQL keeps boards apart by namespace and
stays gap-free under concurrent appends from threads and processes."""

from __future__ import annotations

import itertools
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from plebiscite.board import pgstore as pgstore_module
from plebiscite.board import store as store_module
from plebiscite.board.checkpoint import public_key_bytes, verify_checkpoint
from plebiscite.board.log import Board
from plebiscite.board.merkle import (
    EMPTY_ROOT,
    leaf_hash,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)
from plebiscite.board.pgstore import PostgresStore
from plebiscite.board.store import SQLiteStore, Store, open_store

ORIGIN = "plebiscite.example/referendum-2025"
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
PUB = public_key_bytes(KEY)
OTHER_KEY = Ed25519PrivateKey.from_private_bytes(b"\x02" * 32)

_names = itertools.count()


def fresh_namespace() -> str:
    """A namespace no other test of this worker uses (each worker has its own cluster)."""
    return f"t{os.getpid()}_{next(_names)}"


class Backend:
    """Opens (and reopens) one board's store, and tampers with it behind its back."""

    def __init__(self, kind: str, location: str | Path, namespace: str) -> None:
        self.kind = kind
        self.location = location
        self.namespace = namespace
        self._opened: list[Store] = []

    def open(self) -> Store:
        store: Store
        if self.kind == "sqlite":
            store = SQLiteStore(self.location)
        else:
            store = PostgresStore(str(self.location), self.namespace)
        self._opened.append(store)
        return store

    def board(self, key: Ed25519PrivateKey = KEY, origin: str = ORIGIN) -> tuple[Board, Store]:
        store = self.open()
        try:
            return Board(store, key, origin), store
        except BaseException:
            store.close()
            raise

    def corrupt_entry(self, index: int, data: bytes) -> None:
        """Rewrite an entry as an administrator could, switching the guard off first."""
        if self.kind == "sqlite":
            conn = sqlite3.connect(self.location)
            conn.execute("DROP TRIGGER entries_no_update")
            conn.execute(
                "UPDATE entries SET data = ?, leaf_hash = ? WHERE idx = ?",
                (data, leaf_hash(data), index),
            )
            conn.commit()
            conn.close()
        else:
            with psycopg.connect(str(self.location), autocommit=True) as conn:
                ns = self.namespace
                conn.execute(f"ALTER TABLE {ns}.entries DISABLE TRIGGER entries_append_only")
                conn.execute(
                    f"UPDATE {ns}.entries SET data = %s, leaf_hash = %s WHERE idx = %s",
                    (data, leaf_hash(data), index),
                )

    def close_all(self) -> None:
        for store in self._opened:
            store.close()


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    location: str | Path
    if request.param == "sqlite":
        location = tmp_path / "board.db"
    else:
        location = request.getfixturevalue("pg_url")
    b = Backend(request.param, location, fresh_namespace())
    yield b
    b.close_all()


@pytest.fixture
def pg_backend(pg_url: str) -> Iterator[Backend]:
    b = Backend("postgres", pg_url, fresh_namespace())
    yield b
    b.close_all()


# --------------------------------------------------------------------------------- store


def test_store_basics(backend: Backend) -> None:
    store = backend.open()
    assert isinstance(store, Store)
    assert store.size() == 0
    assert store.append_entries([]) == 0
    assert store.append_entries([b"a", bytearray(b"b")]) == 0
    assert store.append_entries([memoryview(b"c")]) == 2
    assert store.append_entries([]) == 3
    assert store.append_entries([b""]) == 3
    assert store.size() == 4
    assert store.entry(1) == b"b" and store.entry(3) == b""
    for bad in (4, -1, True, "1"):
        with pytest.raises(IndexError):
            store.entry(bad)  # type: ignore[arg-type]
    if backend.kind == "postgres":  # (SQLite raises OverflowError beyond 64 bits)
        with pytest.raises(IndexError):
            store.entry(2**70)
    assert store.leaf_hashes() == [leaf_hash(x) for x in (b"a", b"b", b"c", b"")]
    store.add_checkpoint(b'{"n":1}')
    store.add_checkpoint(b'{"n":0}')
    assert store.checkpoints() == [b'{"n":1}', b'{"n":0}']
    assert store.get_meta("k") is None
    store.set_meta("k", b"v1")
    store.set_meta("k", b"v2")
    store.set_meta("empty", b"")
    store.set_meta("ключ ✓", b"\x00\xff")
    assert store.get_meta("k") == b"v2" and store.get_meta("empty") == b""
    assert store.get_meta("ключ ✓") == b"\x00\xff"
    assert store.get_meta(1) is None  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        store.set_meta(1, b"v")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        store.set_meta("k", "not bytes")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        store.add_checkpoint("not bytes")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        store.append_entries([b"x", "not bytes"])  # type: ignore[list-item]
    store.close()
    store.close()  # idempotent
    for call in (store.size, lambda: store.entry(0), lambda: store.append_entries([b"x"])):
        with pytest.raises(ValueError, match="closed"):
            call()

    store = backend.open()  # everything survived
    assert store.size() == 4
    assert list(store.iter_entries()) == [b"a", b"b", b"c", b""]
    assert store.checkpoints() == [b'{"n":1}', b'{"n":0}']
    assert store.get_meta("k") == b"v2"
    store.close()


def test_store_streams_in_batches(backend: Backend) -> None:
    store = backend.open()
    entries = [b"%d" % i for i in range(2500)]
    store.append_entries(entries[:1000])
    store.append_entries(entries[1000:])
    assert list(store.iter_entries(batch=7)) == entries
    assert list(store.iter_entries(10, 20, batch=3)) == entries[10:20]
    assert list(store.iter_entries(2490, 9999)) == entries[2490:]
    assert list(store.iter_entries(3000)) == []
    assert list(store.iter_entries(5, 5)) == []
    for bad in ({"batch": 0}, {"start": -1}, {"stop": -1}):
        with pytest.raises(ValueError):
            store.iter_entries(**bad)  # type: ignore[arg-type]
    # an iterator covers the entries there were when it started, and can be abandoned
    it = store.iter_entries(2495, batch=2)
    assert next(it) == entries[2495]
    store.append_entries([b"late"])
    assert list(it) == entries[2496:]
    half = store.iter_entries(batch=10)
    assert [next(half) for _ in range(15)] == entries[:15]
    del half
    assert store.size() == 2501 and store.entry(2500) == b"late"
    store.close()


def test_pg_leaf_hashes_stream_in_batches(
    pg_backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pgstore_module, "_LEAF_HASH_BATCH", 7)
    store = pg_backend.open()
    entries = [b"e%d" % i for i in range(100)]
    store.append_entries(entries)
    assert store.leaf_hashes() == [leaf_hash(e) for e in entries]


def test_failed_append_leaves_nothing(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> None:
    store = backend.open()
    store.append_entries([b"a"])

    def failing(data: bytes) -> bytes:
        if data == b"boom":
            raise RuntimeError("disk on fire")
        return leaf_hash(data)

    module = store_module if backend.kind == "sqlite" else pgstore_module
    monkeypatch.setattr(module, "leaf_hash", failing)
    with pytest.raises(RuntimeError):
        store.append_entries([b"b", b"boom"])
    monkeypatch.undo()
    assert store.size() == 1
    assert store.append_entries([b"b"]) == 1
    assert list(store.iter_entries()) == [b"a", b"b"]
    store.close()


def test_pg_failed_statement_leaves_nothing(pg_backend: Backend) -> None:
    """An append that fails inside PostgreSQL rolls back its counter with its rows."""
    store = pg_backend.open()
    assert store.append_entries([b"a"]) == 0
    with psycopg.connect(str(pg_backend.location), autocommit=True) as conn:
        # someone slips a row in at the next index: the next append collides with it
        conn.execute(
            f"INSERT INTO {pg_backend.namespace}.entries VALUES (1, 'x', %s)", (leaf_hash(b"x"),)
        )
    with pytest.raises(psycopg.errors.UniqueViolation):
        store.append_entries([b"b", b"c"])
    assert store.size() == 1  # the counter did not move
    assert store.append_entries([]) == 1


def test_pg_store_is_durable_and_append_only(pg_backend: Backend) -> None:
    store = pg_backend.open()
    store.append_entries([b"a", b"b"])
    store.add_checkpoint(b"{}")
    assert isinstance(store, PostgresStore)
    with store._conn() as conn:  # the store's own sessions
        assert conn.execute("SHOW synchronous_commit").fetchone() == ("on",)
        assert conn.execute("SHOW fsync").fetchone() == ("on",)
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE

    ns = pg_backend.namespace
    with psycopg.connect(str(pg_backend.location), autocommit=True) as conn:
        conn.execute("SET synchronous_commit TO off")  # a session default cannot leak in
        for statement, message in [
            (f"UPDATE {ns}.entries SET data = '\\x00' WHERE idx = 0", "append-only"),
            (f"DELETE FROM {ns}.entries WHERE idx = 1", "append-only"),
            (f"DELETE FROM {ns}.entries", "append-only"),
            (f"TRUNCATE {ns}.entries", "append-only"),
            (f"UPDATE {ns}.checkpoints SET body = '\\x00'", "append-only"),
            (f"DELETE FROM {ns}.checkpoints", "append-only"),
            (f"TRUNCATE {ns}.checkpoints", "append-only"),
            (f"UPDATE {ns}.head SET size = 1", "only grows"),
            (f"UPDATE {ns}.head SET checkpoints = 0", "only grows"),
            (f"UPDATE {ns}.head SET version = 2", "only grows"),
            (f"DELETE FROM {ns}.head", "append-only"),
            (f"TRUNCATE {ns}.head", "append-only"),
            (f"INSERT INTO {ns}.head VALUES (true, 1, 0, 0)", "duplicate key"),
            (f"INSERT INTO {ns}.entries VALUES (-1, 'x', 'x')", "check constraint"),
        ]:
            with pytest.raises(psycopg.DatabaseError, match=message):
                conn.execute(statement)
    assert list(store.iter_entries()) == [b"a", b"b"]
    assert store.checkpoints() == [b"{}"]
    assert store.get_meta("board.origin") is None


def test_pg_refuses_unknown_schema_version(pg_backend: Backend) -> None:
    pg_backend.open().close()
    with psycopg.connect(str(pg_backend.location), autocommit=True) as conn:
        ns = pg_backend.namespace
        conn.execute(f"ALTER TABLE {ns}.head DISABLE TRIGGER head_only_grows")
        conn.execute(f"UPDATE {ns}.head SET version = 99")
    with pytest.raises(ValueError, match="version 99"):
        pg_backend.open()


def test_pg_store_closes_connections(pg_backend: Backend) -> None:
    store = pg_backend.open()
    store.append_entries([b"%d" % i for i in range(30)])
    assert isinstance(store, PostgresStore)
    it = store.iter_entries(batch=10)
    next(it)  # between batches the iterator holds no connection
    assert all(c.info.transaction_status.name == "IDLE" for c in store._idle)
    conns = list(store._idle)
    store.close()
    assert conns and all(c.closed for c in conns)
    with pytest.raises(ValueError, match="closed"):
        list(it)


def test_namespaces(pg_url: str, tmp_path: Path) -> None:
    for bad in ["", "A", "1abc", "a-b", "a b", "pg_x", "public", "information_schema", "x" * 64]:
        with pytest.raises(ValueError, match="namespace"):
            PostgresStore(pg_url, bad)
        with pytest.raises(ValueError, match="namespace"):
            open_store(tmp_path / "x.db", bad)
    assert not (tmp_path / "x.db").exists()
    sqlite_store = open_store(tmp_path / "a.db", "any_name")
    assert isinstance(sqlite_store, SQLiteStore)
    sqlite_store.close()
    sqlite_store = open_store(str(tmp_path / "b.db"), "any_name")
    assert isinstance(sqlite_store, SQLiteStore)
    sqlite_store.close()
    pg_store = open_store(pg_url, "x" * 63)
    assert isinstance(pg_store, PostgresStore) and pg_store.namespace == "x" * 63
    pg_store.close()
    pg_store = open_store(pg_url.replace("postgresql://", "postgres://", 1), "_x")
    assert isinstance(pg_store, PostgresStore)
    pg_store.close()


def test_two_boards_share_a_database(pg_url: str) -> None:
    """Two referendums in one database: separate entries, checkpoints and identities."""
    a = Backend("postgres", pg_url, fresh_namespace())
    b = Backend("postgres", pg_url, fresh_namespace())
    try:
        board_a, _ = a.board(KEY, "referendum-a")
        board_b, _ = b.board(OTHER_KEY, "referendum-b")
        board_a.append_many([b"a0", b"a1", b"a2"])
        board_b.append(b"b0")
        board_a.checkpoint("ta")
        board_b.checkpoint("tb")
        board_b.append(b"b1")
        assert (board_a.size, board_b.size) == (3, 2)
        assert list(board_a.entries()) == [b"a0", b"a1", b"a2"]
        assert list(board_b.entries()) == [b"b0", b"b1"]
        assert [c.origin for c in board_a.checkpoints()] == ["referendum-a"]
        assert [c.origin for c in board_b.checkpoints()] == ["referendum-b"]
        a.close_all()
        b.close_all()
        with pytest.raises(ValueError, match="store belongs"):
            a.board(OTHER_KEY, "referendum-b")
        with pytest.raises(ValueError, match="store belongs"):
            b.board(KEY, "referendum-a")
        again_a, _ = a.board(KEY, "referendum-a")
        again_b, _ = b.board(OTHER_KEY, "referendum-b")
        assert again_a.root() == root_from_leaf_hashes(
            [leaf_hash(e) for e in (b"a0", b"a1", b"a2")]
        )
        assert again_b.root() == root_from_leaf_hashes([leaf_hash(e) for e in (b"b0", b"b1")])
    finally:
        a.close_all()
        b.close_all()


def test_pg_concurrent_first_open(pg_url: str) -> None:
    """Many stores creating the same new namespace at once: one schema, no error."""
    namespace = fresh_namespace()
    stores: list[PostgresStore] = []
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def opener() -> None:
        try:
            start.wait()
            store = PostgresStore(pg_url, namespace)
            stores.append(store)
            store.append_entries([b"x"])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=opener) for _ in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    assert stores[0].size() == 6
    for store in stores:
        store.close()


# --------------------------------------------------------------------------------- board


def test_board_appends_and_resumes(backend: Backend) -> None:
    board, store = backend.board()
    assert board.size == 0
    assert board.root() == EMPTY_ROOT
    assert board.latest_checkpoint() is None
    assert board.append(b"first") == 0
    assert board.append_many([b"second", b"third"]) == [1, 2]
    assert board.append_many([]) == []
    cp = board.checkpoint("2025-05-01T10:00:00Z")
    board.append(b"fourth")
    root = board.root()
    store.close()

    board, store = backend.board()
    assert store.get_meta("board.origin") == ORIGIN.encode()
    assert store.get_meta("board.public_key") == PUB
    assert board.size == 4
    assert board.root() == root
    assert board.root(3) == cp.root
    assert board.entry(0) == b"first"
    assert list(board.entries()) == [b"first", b"second", b"third", b"fourth"]
    assert list(board.entries(1, 3)) == [b"second", b"third"]
    assert board.latest_checkpoint() == cp
    assert board.append(b"fifth") == 4
    expected = root_from_leaf_hashes(
        [leaf_hash(e) for e in (b"first", b"second", b"third", b"fourth", b"fifth")]
    )
    assert board.root() == expected
    with pytest.raises(IndexError):
        board.entry(5)
    with pytest.raises(TypeError):
        board.append_many([b"ok", 3])  # type: ignore[list-item]
    assert board.size == 5
    store.close()


def test_board_checkpoints_and_proofs(backend: Backend) -> None:
    board, store = backend.board()
    empty = board.checkpoint("t0")
    assert (empty.size, empty.root) == (0, EMPTY_ROOT)
    entries: list[bytes] = []
    for batch in range(6):
        new = [b"ballot %d.%d" % (batch, i) for i in range(batch * 3 + 1)]
        board.append_many(new)
        entries.extend(new)
        board.checkpoint(f"t{batch + 1}")
    store.close()
    board, store = backend.board()  # proofs from a resumed board
    cps = board.checkpoints()
    assert [c.time for c in cps] == [f"t{i}" for i in range(7)]
    assert cps[0] == empty and board.latest_checkpoint() == cps[-1]
    for cp in cps:
        assert cp.origin == ORIGIN
        assert verify_checkpoint(cp, board.public_key)
        for i in range(cp.size):
            proof = board.inclusion_proof(i, cp.size)
            assert verify_inclusion(leaf_hash(entries[i]), i, cp.size, proof, cp.root)
            assert not verify_inclusion(leaf_hash(b"forged"), i, cp.size, proof, cp.root)
    for old, new_cp in zip(cps, cps[1:], strict=False):
        proof = board.consistency_proof(old.size, new_cp.size)
        assert verify_consistency(old.size, old.root, new_cp.size, new_cp.root, proof)
    store.close()


def test_board_refuses_foreign_or_corrupt_store(backend: Backend) -> None:
    board, store = backend.board()
    board.append_many([b"a", b"b", b"c"])
    board.checkpoint("t")
    store.close()
    with pytest.raises(ValueError, match="store belongs"):
        backend.board(key=OTHER_KEY)
    with pytest.raises(ValueError, match="store belongs"):
        backend.board(origin="another")
    backend.corrupt_entry(1, b"\x00")
    with pytest.raises(ValueError, match="does not match"):
        backend.board()


def _hammer(
    targets: list[Board] | list[Store], threads_n: int, per_thread: int, checkpoints: bool
) -> dict[str, list[int]]:
    """``threads_n`` threads (thread ``t`` on ``targets[t % len(targets)]``) appending
    singles and pairs at once; returns each thread's indices."""
    results: dict[str, list[int]] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(threads_n)

    def append(target: Board | Store, entries: list[bytes]) -> list[int]:
        if isinstance(target, Board):
            return target.append_many(entries)
        first = target.append_entries(entries)
        return list(range(first, first + len(entries)))

    def worker(t: int) -> None:
        target = targets[t % len(targets)]
        try:
            start.wait()
            got: list[int] = []
            for i in range(per_thread):
                if i % 3 == 0:
                    got.extend(append(target, [b"%d:%d" % (t, i), b"%d:%d+" % (t, i)]))
                else:
                    got.extend(append(target, [b"%d:%d" % (t, i)]))
                if checkpoints and i % 5 == 0:
                    assert isinstance(target, Board)
                    target.checkpoint(f"thread {t} step {i}")
            results[str(t)] = got
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(threads_n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors
    return results


def _check_gap_free(entries: list[bytes], results: dict[str, list[int]], total: int) -> None:
    """Every index handed out once, holding what its writer appended, pairs adjacent."""
    assert len(entries) == total
    assert sorted(i for got in results.values() for i in got) == list(range(total))
    for tag, got in results.items():
        assert got == sorted(got)
        for i in got:
            assert entries[i].startswith(tag.encode() + b":")
            if entries[i].endswith(b"+"):
                assert entries[i] == entries[i - 1] + b"+"


def test_board_concurrent_appends(backend: Backend) -> None:
    board, store = backend.board()
    threads_n, per_thread = 8, 15
    results = _hammer([board], threads_n, per_thread, checkpoints=True)
    total = threads_n * (per_thread + (per_thread + 2) // 3)
    entries = list(board.entries())
    _check_gap_free(entries, results, total)
    assert board.root() == root_from_leaf_hashes([leaf_hash(e) for e in entries])
    cps = board.checkpoints()
    assert len(cps) == threads_n * 3
    for old, new_cp in zip(cps, cps[1:], strict=False):
        assert old.size <= new_cp.size
        proof = board.consistency_proof(old.size, new_cp.size)
        assert verify_consistency(old.size, old.root, new_cp.size, new_cp.root, proof)
    store.close()
    reopened, store = backend.board()
    assert reopened.size == total and reopened.root() == board.root()
    store.close()


@pytest.mark.parametrize("shared", [True, False], ids=["one-store", "store-per-thread"])
def test_pg_store_concurrent_threads(pg_backend: Backend, shared: bool) -> None:
    """8 threads appending straight to the store (no board lock): the database alone
    serialises them, on one store's connection pool or on 8 separate stores."""
    threads_n, per_thread = 8, 25
    stores = [pg_backend.open() for _ in range(1 if shared else threads_n)]
    results = _hammer(stores, threads_n, per_thread, checkpoints=False)
    total = threads_n * (per_thread + (per_thread + 2) // 3)
    board, store = pg_backend.board()
    entries = list(board.entries())
    _check_gap_free(entries, results, total)
    assert board.root() == root_from_leaf_hashes([leaf_hash(e) for e in entries])
    assert store.leaf_hashes() == [leaf_hash(e) for e in entries]


_CHILD = textwrap.dedent(
    """
    import json, os, sys, time
    from plebiscite.board.pgstore import PostgresStore

    url, namespace, tag, count, go = sys.argv[1:]
    store = PostgresStore(url, namespace)
    print("ready", flush=True)
    while not os.path.exists(go):
        time.sleep(0.001)
    got = []
    for i in range(int(count)):
        if i % 3 == 0:
            entries = [b"%s:%d" % (tag.encode(), i), b"%s:%d+" % (tag.encode(), i)]
        else:
            entries = [b"%s:%d" % (tag.encode(), i)]
        first = store.append_entries(entries)
        got.extend(range(first, first + len(entries)))
    store.close()
    print(json.dumps(got), flush=True)
    """
)


def test_pg_concurrent_processes(pg_backend: Backend, tmp_path: Path) -> None:
    """Two processes appending to one board at once leave a gap-free log."""
    pg_backend.open()  # create the schema
    per_process = 150
    go = tmp_path / "go"
    procs = {
        tag: subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(pg_backend.location), pg_backend.namespace]
            + [tag, str(per_process), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for tag in ("p", "q")
    }
    try:
        for proc in procs.values():
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "ready", proc.stderr
        go.touch()
        results: dict[str, list[int]] = {}
        for tag, proc in procs.items():
            out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err
            results[tag] = json.loads(out)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
    total = 2 * (per_process + (per_process + 2) // 3)
    board, store = pg_backend.board()
    entries = list(board.entries())
    _check_gap_free(entries, results, total)
    assert board.root() == root_from_leaf_hashes([leaf_hash(e) for e in entries])
    assert store.leaf_hashes() == [leaf_hash(e) for e in entries]
    assert board.append(b"after") == total


def test_reference_root_over_both_stores(tmp_path: Path, pg_url: str) -> None:
    """The same appends give byte-identical entries, leaf hashes and roots in both."""
    stores: list[Store] = [SQLiteStore(tmp_path / "r.db"), PostgresStore(pg_url, fresh_namespace())]
    batches: list[list[bytes]] = [
        [bytes([i % 256]) * (i % 50) for i in range(k, k + k % 7)] for k in range(40)
    ]
    try:
        boards = [Board(s, KEY, ORIGIN) for s in stores]
        for batch in batches:
            assert boards[0].append_many(batch) == boards[1].append_many(batch)
        flat = [e for batch in batches for e in batch]
        expected = root_from_leaf_hashes([leaf_hash(e) for e in flat])
        for board, store in zip(boards, stores, strict=True):
            assert board.root() == expected
            assert list(store.iter_entries(batch=5)) == flat
            assert store.leaf_hashes() == [leaf_hash(e) for e in flat]
    finally:
        for s in stores:
            s.close()
