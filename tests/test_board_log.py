"""Board: checkpoints, SQLite store, the log itself (durability, resume, proofs, threads)."""

from __future__ import annotations

import base64
import dataclasses
import json
import sqlite3
import threading
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from plebiscite.board import store as store_module
from plebiscite.board.checkpoint import (
    Checkpoint,
    public_key_bytes,
    sign_checkpoint,
    verify_checkpoint,
)
from plebiscite.board.log import Board
from plebiscite.board.merkle import (
    EMPTY_ROOT,
    leaf_hash,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)
from plebiscite.board.store import SQLiteStore, Store

ORIGIN = "plebiscite.example/referendum-2025"
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
PUB = public_key_bytes(KEY)
ROOT = bytes(range(32))


# --------------------------------------------------------------------------- checkpoints


def test_checkpoint_body_is_exact() -> None:
    cp = sign_checkpoint(KEY, "origin", 7, ROOT, "2025-01-01T00:00:00Z")
    assert cp.body() == (
        b"plebiscite-checkpoint/v1\norigin\n7\n" + ROOT.hex().encode() + b"\n2025-01-01T00:00:00Z\n"
    )
    assert len(cp.signature) == 64
    assert verify_checkpoint(cp, PUB)
    assert len(PUB) == 32


def test_checkpoint_json_round_trip() -> None:
    cp = sign_checkpoint(KEY, "orígin ✓", 0, EMPTY_ROOT, "t")
    d = cp.to_json()
    assert set(d) == {"origin", "size", "root", "time", "signature"}
    assert d["root"] == EMPTY_ROOT.hex()
    assert d["signature"] == base64.b64encode(cp.signature).decode()
    again = Checkpoint.from_json(json.loads(json.dumps(d)))
    assert again == cp
    assert verify_checkpoint(again, PUB)


def _good_json() -> dict[str, object]:
    return sign_checkpoint(KEY, "o", 3, ROOT, "t").to_json()


def _with(**changes: object) -> dict[str, object]:
    d = _good_json()
    d.update(changes)
    return d


def _without(key: str) -> dict[str, object]:
    d = _good_json()
    del d[key]
    return d


SIG = str(_good_json()["signature"])

MALFORMED: list[tuple[str, object]] = [
    ("not an object", [1, 2]),
    ("missing key", _without("time")),
    ("extra key", _with(witness="x")),
    ("origin not a string", _with(origin=1)),
    ("empty origin", _with(origin="")),
    ("origin with newline", _with(origin="a\nb")),
    ("time with newline", _with(time="t\n")),
    ("time not a string", _with(time=5)),
    ("size negative", _with(size=-1)),
    ("size a string", _with(size="3")),
    ("size a bool", _with(size=True)),
    ("size a float", _with(size=3.0)),
    ("root not hex", _with(root="zz" * 32)),
    ("root uppercase", _with(root=ROOT.hex().upper())),
    ("root 31 bytes", _with(root="00" * 31)),
    ("root 33 bytes", _with(root="00" * 33)),
    ("root with spaces", _with(root=" " + "00" * 32)),
    ("root not a string", _with(root=list(ROOT))),
    ("signature not base64", _with(signature="!" * 88)),
    ("signature unpadded", _with(signature=SIG.rstrip("="))),
    ("signature 63 bytes", _with(signature=base64.b64encode(bytes(63)).decode())),
    ("signature 65 bytes", _with(signature=base64.b64encode(bytes(65)).decode())),
    ("signature urlsafe", _with(signature=base64.urlsafe_b64encode(b"\xff" * 64).decode())),
    ("signature not a string", _with(signature=None)),
]


@pytest.mark.parametrize(("name", "obj"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_checkpoint_from_json_rejects(name: str, obj: object) -> None:
    with pytest.raises(ValueError) as info:
        Checkpoint.from_json(obj)
    message = str(info.value)
    assert message and "\n" not in message


def test_checkpoint_tampering_is_detected() -> None:
    cp = sign_checkpoint(KEY, "o", 3, ROOT, "t")
    other = Ed25519PrivateKey.from_private_bytes(b"\x01" * 32)
    assert not verify_checkpoint(cp, public_key_bytes(other))
    for change in [
        {"origin": "p"},
        {"size": 4},
        {"root": EMPTY_ROOT},
        {"time": "u"},
        {"signature": bytes(64)},
        {"signature": cp.signature[:63]},
        {"origin": "o\n3"},
    ]:
        assert not verify_checkpoint(dataclasses.replace(cp, **change), PUB)  # type: ignore[arg-type]
    for bad_key in [b"", PUB[:31], PUB + b"\x00", "not bytes", None]:
        assert verify_checkpoint(cp, bad_key) is False  # type: ignore[arg-type]


def test_sign_checkpoint_rejects_bad_fields() -> None:
    for args in [
        ("a\nb", 1, ROOT, "t"),
        ("o", -1, ROOT, "t"),
        ("o", 1, ROOT[:31], "t"),
        ("o", 1, ROOT, "t\n"),
        ("", 1, ROOT, "t"),
    ]:
        with pytest.raises(ValueError):
            sign_checkpoint(KEY, *args)


# --------------------------------------------------------------------------------- store


def test_sqlite_store(tmp_path: Path) -> None:
    path = tmp_path / "board.db"
    store = SQLiteStore(path)
    assert isinstance(store, Store)
    assert store.size() == 0
    assert store.append_entries([]) == 0
    assert store.append_entries([b"a", b"b"]) == 0
    assert store.append_entries([b"c"]) == 2
    assert store.size() == 3
    assert store.entry(1) == b"b"
    for bad in (3, -1):
        with pytest.raises(IndexError):
            store.entry(bad)
    assert store.leaf_hashes() == [leaf_hash(x) for x in (b"a", b"b", b"c")]
    store.add_checkpoint(b'{"n":1}')
    store.add_checkpoint(b'{"n":0}')
    assert store.checkpoints() == [b'{"n":1}', b'{"n":0}']
    assert store.get_meta("k") is None
    store.set_meta("k", b"v1")
    store.set_meta("k", b"v2")
    assert store.get_meta("k") == b"v2"
    store.close()
    store.close()  # idempotent

    store = SQLiteStore(str(path))
    assert store.size() == 3
    assert list(store.iter_entries()) == [b"a", b"b", b"c"]
    assert store.checkpoints() == [b'{"n":1}', b'{"n":0}']
    assert store.get_meta("k") == b"v2"
    store.close()

    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    for statement in (
        "UPDATE entries SET data = x'00' WHERE idx = 0",
        "DELETE FROM entries",
        "DELETE FROM checkpoints",
    ):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute(statement)
    conn.close()


def test_sqlite_store_streams_in_batches(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "b.db")
    entries = [b"%d" % i for i in range(2500)]
    store.append_entries(entries)
    assert list(store.iter_entries(batch=7)) == entries
    assert list(store.iter_entries(10, 20, batch=3)) == entries[10:20]
    assert list(store.iter_entries(2490, 9999)) == entries[2490:]
    assert list(store.iter_entries(3000)) == []
    with pytest.raises(ValueError):
        store.iter_entries(batch=0)
    store.close()


def test_sqlite_store_failed_append_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SQLiteStore(tmp_path / "b.db")
    store.append_entries([b"a"])
    with pytest.raises(TypeError):
        store.append_entries([b"b", "not bytes"])  # type: ignore[list-item]

    def failing(data: bytes) -> bytes:  # fails inside the transaction, after one insert
        if data == b"boom":
            raise RuntimeError("disk on fire")
        return leaf_hash(data)

    monkeypatch.setattr(store_module, "leaf_hash", failing)
    with pytest.raises(RuntimeError):
        store.append_entries([b"b", b"boom"])
    monkeypatch.undo()
    assert store.size() == 1
    assert store.append_entries([b"b"]) == 1
    assert list(store.iter_entries()) == [b"a", b"b"]
    store.close()


# --------------------------------------------------------------------------------- board


def open_board(
    path: Path, key: Ed25519PrivateKey = KEY, origin: str = ORIGIN
) -> tuple[Board, SQLiteStore]:
    store = SQLiteStore(path)
    try:
        return Board(store, key, origin), store
    except BaseException:
        store.close()
        raise


def test_board_appends_and_resumes(tmp_path: Path) -> None:
    path = tmp_path / "board.db"
    board, store = open_board(path)
    assert board.size == 0
    assert board.root() == EMPTY_ROOT
    assert board.latest_checkpoint() is None
    assert board.public_key == PUB
    assert board.append(b"first") == 0
    assert board.append_many([b"second", b"third"]) == [1, 2]
    assert board.append_many([]) == []
    cp = board.checkpoint("2025-05-01T10:00:00Z")
    board.append(b"fourth")
    root = board.root()
    store.close()

    board, store = open_board(path)
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


def test_board_checkpoints_and_proofs(tmp_path: Path) -> None:
    board, store = open_board(tmp_path / "board.db")
    empty = board.checkpoint("t0")
    assert (empty.size, empty.root) == (0, EMPTY_ROOT)
    entries: list[bytes] = []
    for batch in range(6):
        new = [b"ballot %d.%d" % (batch, i) for i in range(batch * 3 + 1)]
        board.append_many(new)
        entries.extend(new)
        board.checkpoint(f"t{batch + 1}")
    cps = board.checkpoints()
    assert [c.time for c in cps] == [f"t{i}" for i in range(7)]
    assert cps[0] == empty and board.latest_checkpoint() == cps[-1]

    for cp in cps:
        assert cp.origin == ORIGIN
        assert verify_checkpoint(cp, board.public_key)
        # every entry under each checkpoint is provably in it
        for i in range(cp.size):
            proof = board.inclusion_proof(i, cp.size)
            assert verify_inclusion(leaf_hash(entries[i]), i, cp.size, proof, cp.root)
            assert not verify_inclusion(leaf_hash(b"forged"), i, cp.size, proof, cp.root)
    # each checkpoint extends the previous one
    for old, new_cp in zip(cps, cps[1:], strict=False):
        proof = board.consistency_proof(old.size, new_cp.size)
        assert verify_consistency(old.size, old.root, new_cp.size, new_cp.root, proof)
    first, last = cps[1], cps[-1]
    assert verify_consistency(
        first.size, first.root, last.size, last.root, board.consistency_proof(first.size)
    )
    store.close()


def test_board_refuses_foreign_or_corrupt_store(tmp_path: Path) -> None:
    path = tmp_path / "board.db"
    board, store = open_board(path)
    board.append_many([b"a", b"b", b"c"])
    board.checkpoint("t")
    store.close()

    other_key = Ed25519PrivateKey.from_private_bytes(b"\x02" * 32)
    with pytest.raises(ValueError, match="store belongs"):
        open_board(path, key=other_key)
    with pytest.raises(ValueError, match="store belongs"):
        open_board(path, origin="another")
    with pytest.raises(ValueError), SQLiteStore(tmp_path / "x.db") as fresh:
        Board(fresh, KEY, "two\nlines")

    # tamper with an entry behind the board's back: the checkpoint no longer matches
    conn = sqlite3.connect(path)
    conn.execute("DROP TRIGGER entries_no_update")
    conn.execute(
        "UPDATE entries SET data = x'00', leaf_hash = ? WHERE idx = 1", (leaf_hash(b"\x00"),)
    )
    conn.commit()
    conn.close()
    with pytest.raises(ValueError, match="does not match"):
        open_board(path)


def test_board_concurrent_appends(tmp_path: Path) -> None:
    path = tmp_path / "board.db"
    board, store = open_board(path)
    threads_n, per_thread = 8, 15
    results: dict[int, list[int]] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(threads_n)

    def worker(t: int) -> None:
        try:
            start.wait()
            got: list[int] = []
            for i in range(per_thread):
                if i % 3 == 0:
                    got.extend(board.append_many([b"%d:%d" % (t, i), b"%d:%d+" % (t, i)]))
                else:
                    got.append(board.append(b"%d:%d" % (t, i)))
                if i % 5 == 0:
                    board.checkpoint(f"thread {t} step {i}")
            results[t] = got
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(threads_n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors

    per = per_thread + (per_thread + 2) // 3
    total = threads_n * per
    assert board.size == total
    indices = sorted(i for got in results.values() for i in got)
    assert indices == list(range(total))
    entries = list(board.entries())
    for t, got in results.items():  # each index holds what its thread appended
        assert all(entries[i].startswith(b"%d:" % t) for i in got)
        assert got == sorted(got)
    hashes = [leaf_hash(e) for e in entries]
    assert board.root() == root_from_leaf_hashes(hashes)

    cps = board.checkpoints()
    assert len(cps) == threads_n * 3
    for old, new_cp in zip(cps, cps[1:], strict=False):
        assert old.size <= new_cp.size
        assert verify_consistency(
            old.size,
            old.root,
            new_cp.size,
            new_cp.root,
            board.consistency_proof(old.size, new_cp.size),
        )
    store.close()

    reopened, store = open_board(path)
    assert reopened.size == total and reopened.root() == board.root()
    store.close()
