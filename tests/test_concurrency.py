"""Concurrent casts through a real server process (issue 7), on SQLite and PostgreSQL.

Every request gets a receipt or a clear 4xx, never a 5xx (a 503 means "not
acknowledged" and is posted again); what the server acknowledged is exactly what the
downloaded board holds; and tracking codes never repeat, on a board or across the
boards of the test session (``castlib.remember_board``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from castlib import (
    STORES,
    Answer,
    Ballot,
    Board,
    Booth,
    Server,
    Stream,
    clear_error,
    interleave,
    post_ballot,
    race,
    remember_board,
    sign_in,
    verify_saved_record,
)

PER_REGION = 10


@pytest.fixture(params=STORES)
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    database = request.getfixturevalue("pg_url") if request.param == "postgresql" else None
    s = Server(tmp_path / "server", PER_REGION, database)
    s.start()
    try:
        yield s
    finally:
        s.stop()


def _answered(answers: list[Answer]) -> list[str]:
    """Problems: an answer other than a receipt or a clear 4xx."""
    return [
        f"{a.status} {str(a.body)[:160]}" for a in answers if not (a.acknowledged or clear_error(a))
    ]


def _ballots_of(board: Board, credential: str) -> list[tuple[int, str]]:
    return [
        (i, e["data"]["tracking_code"])
        for i, e in board.ballots()
        if e["data"]["credential"] == credential
    ]


def _finish(server: Server, board: Board, test: str) -> None:
    problems = board.problems()
    assert not problems, "; ".join(problems)
    repeats = remember_board(board, f"{test}[{'postgresql' if server.database else 'sqlite'}]")
    assert not repeats, f"tracking codes repeated across boards: {repeats[:3]}"


@pytest.mark.slow
def test_simultaneous_casts_with_one_credential_leave_one_last_ballot(
    server: Server, tmp_path: Path, run_cli: Callable[..., tuple[int, str, str]]
) -> None:
    """A voter's two ballots built on the same head and cast at the same moment (first
    ballots, then revotes; from one session or two): one gets a receipt, the other a
    409 "stale" naming it as the head (revotes are a chain); the credential's ballots on
    the board are exactly the acknowledged ones, the last of them is the one whose receipt
    has the higher index, the tracking page marks every other one superseded, and the
    verified result counts exactly the last ones."""
    booth = Booth(server.info, seed=7)
    voters = interleave(server.by_region())[:6]
    acked: dict[str, tuple[Ballot, dict[str, Any]]] = {}  # tracking code ->
    heads: dict[int, str | None] = {}
    with httpx.Client(base_url=server.url, timeout=60) as http:
        for rnd in ("first", "revote"):
            for k, v in enumerate(voters):
                one = sign_in(http, server.rid, v["code"])
                two = one if k % 2 else sign_in(http, server.rid, v["code"])
                head = heads.get(k)
                pair = [booth.ballot(v, head), booth.ballot(v, head)]
                answers = race(server.url, server.rid, [(pair[0], one), (pair[1], two)])
                bad = _answered(answers)
                assert not bad, f"{rnd} ballots of voter {k}: {bad}"
                ok = [(b, a.body) for b, a in zip(pair, answers, strict=True) if a.acknowledged]
                assert len(ok) == 1, f"{rnd} ballots of voter {k}: {len(ok)} acknowledged"
                [(b, rc)] = ok
                assert rc["tracking_code"] == b.tracking, "a receipt for another ballot"
                acked[b.tracking] = (b, rc)
                heads[k] = b.tracking
                [stale] = [a for a in answers if not a.acknowledged]
                assert stale.status == 409 and stale.body == {
                    "detail": "stale",
                    "head": {"tracking_code": b.tracking, "index": rc["index"]},
                }, (stale.status, stale.body)

    board = Board.download(server.url, server.rid)
    indices = [int(rc["index"]) for _, rc in acked.values()]
    assert len(set(indices)) == len(indices), "two receipts with one index"
    for _, rc in acked.values():
        problems = board.receipt_problems(rc)
        assert not problems, "; ".join(problems)
    with httpx.Client(base_url=server.url, timeout=60) as http:
        for k, v in enumerate(voters):
            mine = {code: int(rc["index"]) for code, (b, rc) in acked.items() if b.voter is v}
            cred = next(b.body["data"]["credential"] for b, _ in acked.values() if b.voter is v)
            on_board = _ballots_of(board, cred)
            assert {code for _, code in on_board} == set(mine), (
                f"voter {k}: the board's ballots of the credential are not the acknowledged ones"
            )
            last = max(on_board)[1]
            assert last == max(mine, key=lambda c: mine[c]), f"voter {k}: receipts disagree"
            for _, code in on_board:
                r = http.get(f"/api/referendums/{server.rid}/tracking/{code}")
                assert r.status_code == 200, r.text
                assert r.json()["superseded"] is (code != last), f"voter {k}: tracking page"

    r = server.close_referendum()
    assert r.status_code == 200, r.text
    board = Board.download(server.url, server.rid)
    _finish(server, board, "test_concurrency one credential")
    results = verify_saved_record(run_cli, board.save(tmp_path / "record"))
    assert results == booth.expected_counts(board), "the verifier counts other ballots"


@pytest.mark.slow
def test_one_credential_raced_from_two_signins(server: Server) -> None:
    """Two voters of a region cast with the same credential at the same moment: exactly
    one is acknowledged, the other refused with a 403; the credential then stays with the
    winner's sign-in, and its ballots on the board are the winner's only."""
    booth = Booth(server.info, seed=11)
    acked = []
    with httpx.Client(base_url=server.url, timeout=60) as http:
        for region, vs in server.by_region().items():
            owner, other = vs[0], vs[1]
            sessions = [sign_in(http, server.rid, x["code"]) for x in (owner, other)]
            # both with owner's credential, its first ballots
            pair = [booth.ballot(owner, None), booth.ballot(owner, None)]
            answers = race(server.url, server.rid, list(zip(pair, sessions, strict=True)))
            assert not _answered(answers), _answered(answers)
            statuses = sorted(a.status or 0 for a in answers)
            assert statuses == [200, 403], f"{region}: {[(a.status, a.body) for a in answers]}"
            won = next(k for k, a in enumerate(answers) if a.acknowledged)
            acked.append(pair[won].tracking)
            # The loser stays refused; the winner can vote again with the credential.
            again = [booth.ballot(owner, pair[won].tracking) for _ in range(2)]
            lost = post_ballot(http, server.rid, again[0], sessions[1 - won])
            assert lost.status == 403 and clear_error(lost), (lost.status, lost.body)
            revote = post_ballot(http, server.rid, again[1], sessions[won])
            assert revote.acknowledged, (revote.status, revote.body)
            acked.append(again[1].tracking)
    board = Board.download(server.url, server.rid)
    assert sorted(board.ballot_codes()) == sorted(acked)
    _finish(server, board, "test_concurrency two sign-ins")


@pytest.mark.slow
def test_the_same_ballot_posted_twice_at_once_is_on_the_board_once(server: Server) -> None:
    """One ballot posted twice at the same moment (two sessions of its voter): each post
    gets its receipt (a retry of a ballot on the board is answered with that ballot's
    receipt) or a clear 4xx; at least one receipt; every receipt names the same entry;
    its tracking code is on the board once."""
    booth = Booth(server.info, seed=13)
    acked = []
    with httpx.Client(base_url=server.url, timeout=60) as http:
        for v in interleave(server.by_region())[:6]:
            b = booth.ballot(v)
            sessions = [sign_in(http, server.rid, v["code"]) for _ in range(2)]
            answers = race(server.url, server.rid, [(b, sessions[0]), (b, sessions[1])])
            assert not _answered(answers), _answered(answers)
            receipts = [a.body for a in answers if a.acknowledged]
            assert receipts, [(a.status, a.body) for a in answers]
            assert {(rc["tracking_code"], rc["index"], rc["entry_hash"]) for rc in receipts} == {
                (b.tracking, receipts[0]["index"], receipts[0]["entry_hash"])
            }, "two receipts for one ballot name different entries"
            acked.append(b.tracking)
    board = Board.download(server.url, server.rid)
    assert sorted(board.ballot_codes()) == sorted(acked)
    _finish(server, board, "test_concurrency same ballot")


@pytest.mark.slow
def test_many_voters_at_once_lose_no_acknowledgement(server: Server) -> None:
    """12 connections cast back to back for 36 voters (a first ballot, then a revote
    each): every ballot is acknowledged, the receipts have distinct tracking codes and
    indices and hold against the board, and the board holds exactly those ballots."""
    booth = Booth(server.info, seed=17)
    voters = interleave(server.by_region())
    clients = [voters[i::12][:3] for i in range(12)]
    with httpx.Client(base_url=server.url, timeout=60) as http:
        sessions = {v["code"]: sign_in(http, server.rid, v["code"]) for c in clients for v in c}
    plans = [[(booth.ballot(v), sessions[v["code"]]) for v in c + c] for c in clients]
    stream = Stream(server.url, server.rid, plans, poll=False)
    stream.start()
    stream.run_to_end()
    assert not stream.pending and not stream.other, [
        (a.status, a.body) for _, a in stream.other[:3]
    ]
    assert len(stream.acked) == 72
    codes = [rc["tracking_code"] for _, rc in stream.acked]
    indices = [rc["index"] for _, rc in stream.acked]
    assert len(set(codes)) == len(codes) and len(set(indices)) == len(indices)
    board = Board.download(server.url, server.rid)
    for _, rc in stream.acked:
        problems = board.receipt_problems(rc)
        assert not problems, "; ".join(problems)
    assert sorted(board.ballot_codes()) == sorted(codes)
    _finish(server, board, "test_concurrency many voters")


def test_a_full_queue_answers_503_and_nothing_is_lost(tmp_path: Path) -> None:
    """With room for one waiting ballot (``serve --cast-queue 1``), 12 clients at once
    are told 503 with Retry-After (back-pressure, nothing accepted) and send again:
    every ballot ends acknowledged, once, and the board holds exactly those."""
    server = Server(tmp_path / "server", PER_REGION, extra=("--cast-queue", "1"))
    server.start()
    try:
        booth = Booth(server.info, seed=23)
        voters = interleave(server.by_region())
        clients = [voters[i::12][:2] for i in range(12)]
        with httpx.Client(base_url=server.url, timeout=60) as http:
            sessions = {v["code"]: sign_in(http, server.rid, v["code"]) for c in clients for v in c}
        plans = [[(booth.ballot(v), sessions[v["code"]]) for v in c] for c in clients]
        stream = Stream(server.url, server.rid, plans, poll=False)
        stream.start()
        stream.run_to_end()
        assert not stream.pending and not stream.other
        assert stream.busy > 0, "the queue never filled: back-pressure was not exercised"
        assert len(stream.acked) == 24
        board = Board.download(server.url, server.rid)
        assert sorted(board.ballot_codes()) == sorted(rc["tracking_code"] for _, rc in stream.acked)
    finally:
        server.stop()
