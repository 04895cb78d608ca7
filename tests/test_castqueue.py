"""Group commit on the cast path (server/castqueue.py): batches keep arrival order and
each ballot's checks, bindings made earlier in a batch count, a full queue refuses at
once, and a failed commit acknowledges nothing (a retry then gets the receipt)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from plebiscite.election.booth import cast, encrypt_ballot
from plebiscite.election.credentials import credential_key, public_credential
from plebiscite.election.demo import builtin_manifest
from plebiscite.election.intake import Stale, precheck_ballot
from plebiscite.record.entries import Submission
from plebiscite.server.castqueue import Busy, CastQueue, Unavailable
from plebiscite.server.demo import create_demo
from plebiscite.server.registry import Referendum, Registry
from plebiscite.server.voters import Voter, VoterError
from plebiscite.verify.receipt import check_receipt

CHOICES = {"status": ["yes"], "capital": ["lerwick"]}


@pytest.fixture
def demo(tmp_path: Path) -> Any:
    registry = Registry(tmp_path / "data")
    ref, voters = create_demo(registry, builtin_manifest(), 4)
    yield ref, voters
    registry.close()


def _voter(ref: Referendum, v: dict[str, str]) -> Voter:
    _, session = ref.voters.sign_in(v["code"])
    return session.voter


def _sub(
    ref: Referendum,
    v: dict[str, str],
    choices: dict[str, list[str]] = CHOICES,
    replaces: str | None = None,
) -> Submission:
    org = ref.org
    ctx, key = org.context()
    eid = org.election_id
    pub = public_credential(eid, v["credential"])
    b = encrypt_ballot(org.group, org.manifest, ctx, key, v["region"], choices, pub, replaces)
    return cast(b, eid, credential_key(eid, v["credential"]))


class _Gate:
    """Holds the referendum's lock so that submissions pile up into one batch."""

    def __init__(self, ref: Referendum) -> None:
        self.ref = ref

    def __enter__(self) -> None:
        self.ref.lock.acquire()

    def __exit__(self, *_: object) -> None:
        self.ref.lock.release()


def test_one_batch_one_checkpoint_and_every_receipt_checks(demo: Any) -> None:
    ref, voters = demo
    q = CastQueue(ref)
    try:
        subs = [(_voter(ref, v), _sub(ref, v)) for v in voters[:6]]
        for _, s in subs:
            precheck_ballot(ref.org, s)
        checkpoints = len(ref.org.board.checkpoints())
        with _Gate(ref):
            first = q.submit(*subs[0])
            # the appender has taken the first and waits for the lock: the rest queue up
            futures = [q.submit(v, s) for v, s in subs[1:]]
        receipts = [f.result(timeout=30) for f in [first, *futures]]
        assert [r["index"] for r in receipts] == sorted(r["index"] for r in receipts)
        assert len(ref.org.board.checkpoints()) - checkpoints <= 2
        assert q.batches <= 2 and q.ballots == 6
        board = ref.org.board
        latest = board.latest_checkpoint()
        assert latest is not None
        for r in receipts:
            consistency = board.consistency_proof(r["checkpoint"]["size"], latest.size)
            entry = board.entry(r["index"])
            assert check_receipt(r, board.public_key, entry, latest, consistency) == []
    finally:
        q.stop()


def test_bindings_earlier_in_the_batch_count(demo: Any) -> None:
    ref, voters = demo
    a, b = [x for x in voters if x["region"] == "shetland"][:2]
    va, vb = _voter(ref, a), _voter(ref, b)
    q = CastQueue(ref)
    try:
        first = _sub(ref, a)
        with _Gate(ref):
            ok = q.submit(va, first)
            # a's sign-in then tries b's credential, and b's sign-in tries a's
            stolen = q.submit(va, _sub(ref, b))
            borrowed = q.submit(vb, _sub(ref, a))
            again = {"status": ["no"], "capital": ["kirkwall"]}
            revote = q.submit(va, _sub(ref, a, again, first.data["tracking_code"]))
        assert ok.result(timeout=30)["index"] < revote.result(timeout=30)["index"]
        with pytest.raises(VoterError, match="another credential"):
            stolen.result(timeout=30)
        with pytest.raises(VoterError, match="another sign-in"):
            borrowed.result(timeout=30)
        assert (
            ref.org.last_ballot(public_credential(ref.org.election_id, a["credential"]))
            == (revote.result()["index"])
        )
    finally:
        q.stop()


def test_two_copies_in_one_batch_get_one_receipt(demo: Any) -> None:
    ref, voters = demo
    v = voters[0]
    voter = _voter(ref, v)
    sub = _sub(ref, v)
    q = CastQueue(ref)
    try:
        size = ref.org.size
        with _Gate(ref):
            one = q.submit(voter, sub)
            two = q.submit(voter, sub)
            three = q.submit(voter, sub)
        first = one.result(timeout=30)
        assert two.result(timeout=30) == first == three.result(timeout=30)
        assert ref.org.size == size + 1
        # sent again later (a lost acknowledgement): the same receipt, nothing appended
        again = q.submit(voter, sub).result(timeout=30)
        assert again["index"] == first["index"] and ref.org.size == size + 1
        # but not to another sign-in: the credential is bound to this one
        other = _voter(ref, next(x for x in voters if x["region"] == v["region"] and x != v))
        with pytest.raises(VoterError, match="another sign-in"):
            q.submit(other, sub).result(timeout=30)
    finally:
        q.stop()


def test_a_full_queue_refuses_at_once(demo: Any) -> None:
    ref, voters = demo
    voter = _voter(ref, voters[0])
    sub = _sub(ref, voters[0])
    q = CastQueue(ref, limit=2)
    try:
        with _Gate(ref):
            accepted = [q.submit(voter, sub)]
            # the appender holds one item; two more fill the queue
            got_busy = False
            for _ in range(5):
                try:
                    accepted.append(q.submit(voter, sub))
                except Busy:
                    got_busy = True
                    break
            assert got_busy
        for f in accepted:
            f.exception(timeout=30)  # each answered, one way or the other
    finally:
        q.stop()


def test_a_failed_commit_acknowledges_nothing(demo: Any, monkeypatch: Any) -> None:
    ref, voters = demo
    voter = _voter(ref, voters[1])
    sub = _sub(ref, voters[1])
    q = CastQueue(ref)
    store = ref.org.board.store
    real = store.append_entries
    calls = threading.Event()

    def broken(entries: Any) -> int:
        calls.set()
        raise OSError("disk full")

    try:
        size = ref.org.size
        monkeypatch.setattr(store, "append_entries", broken)
        with pytest.raises(Unavailable):
            q.submit(voter, sub).result(timeout=30)
        assert calls.is_set() and ref.org.size == size and ref.org.board.size == size
        monkeypatch.setattr(store, "append_entries", real)
        receipt = q.submit(voter, sub).result(timeout=30)
        assert receipt["index"] == size
    finally:
        q.stop()


def test_a_revote_in_the_same_batch_must_extend_the_first(demo: Any) -> None:
    """Two ballots of one credential in one batch: the second must replace the first
    (the head the batch made, at the index it is about to get), or it is stale; a
    ballot naming the board's head from before the batch is stale too."""
    ref, voters = demo
    v = [x for x in voters if x["region"] == "orkney"][0]
    voter = _voter(ref, v)
    pub = public_credential(ref.org.election_id, v["credential"])
    q = CastQueue(ref)
    try:
        first = _sub(ref, v)
        size = ref.org.size
        with _Gate(ref):
            one = q.submit(voter, first)
            stale = q.submit(voter, _sub(ref, v, {"status": ["no"], "capital": ["kirkwall"]}))
            chained = q.submit(voter, _sub(ref, v, CHOICES, first.data["tracking_code"]))
        code = first.data["tracking_code"]
        assert one.result(timeout=30)["index"] == size
        with pytest.raises(Stale) as exc:
            stale.result(timeout=30)
        assert exc.value.head == {"tracking_code": code, "index": size}
        second = chained.result(timeout=30)
        assert second["index"] == size + 1
        assert ref.org.head(pub) == (second["tracking_code"], size + 1)
        # a ballot still naming the first as head, after the revote: stale
        late = _sub(ref, v, CHOICES, code)
        with pytest.raises(Stale) as exc:
            q.submit(voter, late).result(timeout=30)
        assert exc.value.head == {"tracking_code": second["tracking_code"], "index": size + 1}
        assert ref.org.size == size + 2
        # the same first ballot sent again (a lost acknowledgement): still its receipt
        assert q.submit(voter, first).result(timeout=30)["index"] == size
    finally:
        q.stop()
