"""Crash safety (issue 7): SIGKILL the server while signed-in clients cast, restart it on
the same data folder (SQLite) or database (PostgreSQL), and check from the downloaded
board, with the project's own Merkle and checkpoint code, that nothing acknowledged was
lost and nothing published was rewritten.

Each run crashes the server twice mid-stream. After each restart:

* every checkpoint the board ever stored is signed and matches the entries;
* every checkpoint published before the crash (in receipts, or polled from
  ``/checkpoint``) is consistent with the recovered board's latest checkpoint;
* every acknowledged receipt holds (``verify.receipt.check_receipt``) and its ballot is
  included under the latest checkpoint (our proof and the server's);
* the only ballots on the board without a receipt are those in flight at a crash, and a
  voter who posts such a ballot again gets a receipt (or a 4xx, and then finds it by its
  tracking code);
* a credential whose ballot is on the board stays bound to its sign-in: another
  sign-in of its region cannot cast with it.

Then fresh voters and revoters cast, the admin closes (the demo tallies, decrypts and
publishes), and the record verifies with the results counting the last ballot of each
credential on the board.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from castlib import (
    STORES,
    Ballot,
    Board,
    Booth,
    Server,
    Stream,
    clear_error,
    head_of,
    interleave,
    post_ballot,
    remember_board,
    sign_in,
    verify_saved_record,
)

CLIENTS = 12  # concurrent connections, each casting back to back
VOTERS_PER_CLIENT = 3  # a client's ballots go to its voters in turn (first ballots, revotes)
BALLOTS_PER_CLIENT = 12  # the kill comes after 15-50 acknowledgements, mid-stream
CRASHES = 2
PER_REGION = 14  # 4 regions: 36 streaming voters, 8 fresh voters, 4 spare sign-ins


class Run:
    """What the clients saw across crashes: the test's only source of truth."""

    def __init__(self, server: Server, booth: Booth) -> None:
        self.server = server
        self.booth = booth
        self.acked: dict[str, tuple[Ballot, dict[str, Any]]] = {}  # tracking code ->
        self.published: dict[str, dict[str, Any]] = {}  # checkpoint signature -> checkpoint
        self.sent: dict[str, Ballot] = {}
        self.in_flight: set[str] = set()  # sent, unanswered when the server died

    def ack(self, ballot: Ballot, receipt: dict[str, Any]) -> None:
        assert receipt["tracking_code"] == ballot.tracking, "a receipt for another ballot"
        assert ballot.tracking not in self.acked, "a ballot acknowledged twice"
        self.acked[ballot.tracking] = (ballot, receipt)

    def stream(self, clients: list[list[dict[str, str]]], rnd: random.Random) -> Stream:
        """Sign every client's voters in and cast until the kill; returns the stream."""
        s = self.server
        with httpx.Client(base_url=s.url, timeout=60) as http:
            sessions = {v["code"]: sign_in(http, s.rid, v["code"]) for c in clients for v in c}
            # each voter's revote chain as the board holds it (ballots planned before an
            # earlier crash were not all sent)
            for v in (v for c in clients for v in c):
                self.booth.set_head(v, head_of(http, s.rid, s.info["election_id"], v))
        plans = []
        for voters in clients:
            plan = []
            for j in range(BALLOTS_PER_CLIENT):
                v = voters[j % len(voters)]
                b = self.booth.ballot(v)
                self.sent[b.tracking] = b
                plan.append((b, sessions[v["code"]]))
            plans.append(plan)
        stream = Stream(s.url, s.rid, plans)
        stream.start()
        stream.wait(acks=rnd.randint(15, 50), seconds=10)
        time.sleep(rnd.random() / 50)  # anywhere within a cast
        s.kill()
        stream.finish()
        for b, rc in stream.acked:
            self.ack(b, rc)
        for cp in stream.all_checkpoints():
            self.published[str(cp["signature"])] = cp
        self.in_flight |= {b.tracking for b in stream.pending}
        return stream

    def problems(self, board: Board) -> list[str]:
        """Everything the clients hold against the board the server now serves."""
        out = board.problems()
        latest = board.latest
        top = max(int(cp["size"]) for cp in self.published.values())
        if latest.size < top:
            out.append(f"the latest checkpoint covers {latest.size} entries, {top} were published")
        for cp in self.published.values():
            out += board.consistency_problems(cp)
        receipts = [rc for _, rc in self.acked.values()]
        for rc in receipts:
            out += board.receipt_problems(rc)
        codes = set(board.ballot_codes())
        lost = set(self.acked) - codes
        if lost:
            out.append(f"{len(lost)} acknowledged ballots are not on the board")
        strangers = codes - set(self.sent)
        if strangers:
            out.append(f"{len(strangers)} ballots on the board were never sent")
        unanswered = codes - set(self.acked) - self.in_flight
        if unanswered:
            out.append(f"{len(unanswered)} ballots on the board were answered without a receipt")
        out += board.server_proof_problems(
            self.server.url, self.server.rid, receipts, list(self.published.values())
        )
        return out

    def probe_bindings(
        self, board: Board, spares: dict[str, dict[str, str]], rnd: random.Random
    ) -> list[str]:
        """A credential with a ballot on the board is refused to another sign-in of its
        region: every credential whose ballot was in flight at the crash (on the board, its
        answer lost), and a sample of the others."""
        from plebiscite.election.credentials import public_credential

        s = self.server
        eid = s.info["election_id"]
        owners = {public_credential(eid, v["credential"]): v for v in s.voters}
        on_board = {e["data"]["credential"] for _, e in board.ballots()}
        at_risk = {
            e["data"]["credential"]
            for _, e in board.ballots()
            if e["data"]["tracking_code"] not in self.acked
        }
        others = sorted(on_board - at_risk)
        out = []
        with httpx.Client(base_url=s.url, timeout=60) as client:
            sessions = {r: sign_in(client, s.rid, v["code"]) for r, v in spares.items()}
            for cred in sorted(at_risk) + rnd.sample(others, min(8, len(others))):
                owner = owners[cred]
                b = self.booth.ballot(owner)
                answer = post_ballot(client, s.rid, b, sessions[owner["region"]])
                if answer.status != 403:
                    out.append(
                        f"another sign-in cast with {owner['region']} credential "
                        f"{cred[:12]} (on the board before the crash): "
                        f"{answer.status} {str(answer.body)[:120]}"
                    )
        return out

    def retry_in_flight(self, stream: Stream, codes: set[str]) -> list[str]:
        """Each voter posts again the ballot left unanswered by the crash."""
        s = self.server
        out = []
        with httpx.Client(base_url=s.url, timeout=60) as client:
            for b in stream.pending:
                answer = post_ballot(client, s.rid, b, sign_in(client, s.rid, b.voter["code"]))
                if answer.acknowledged:
                    self.ack(b, answer.body)
                elif clear_error(answer) and b.tracking in codes:
                    r = client.get(f"/api/referendums/{s.rid}/tracking/{b.tracking}")
                    if r.status_code != 200:
                        out.append(f"ballot {b.tracking[:12]} is on the board, not by tracking")
                    else:
                        self.ack(b, r.json())
                else:
                    out.append(
                        f"posting in-flight ballot {b.tracking[:12]} again: {answer.status} "
                        f"{str(answer.body)[:120]} (on the board: {b.tracking in codes})"
                    )
        return out


@pytest.mark.slow
@pytest.mark.parametrize("store", STORES)
def test_sigkill_mid_stream_loses_no_acknowledged_ballot(
    store: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    run_cli: Callable[..., tuple[int, str, str]],
) -> None:
    database = request.getfixturevalue("pg_url") if store == "postgresql" else None
    server = Server(tmp_path / "server", PER_REGION, database)
    server.start()
    try:
        _crash_and_recover(server, store, tmp_path, run_cli)
    except BaseException:
        print(server.log_tail())
        raise
    finally:
        server.stop()


def _crash_and_recover(
    server: Server, store: str, tmp_path: Path, run_cli: Callable[..., tuple[int, str, str]]
) -> None:
    rnd = random.Random()  # the moment of each kill varies from run to run
    run = Run(server, Booth(server.info, seed=rnd.randrange(1 << 30)))
    groups = server.by_region()
    spare_voters = {r: vs.pop() for r, vs in groups.items()}  # never vote with their own
    fresh = [groups[r].pop() for r in groups for _ in range(2)]  # first ballot at the end
    voters = interleave(groups)
    clients = [voters[i::CLIENTS][:VOTERS_PER_CLIENT] for i in range(CLIENTS)]
    assert all(len(c) == VOTERS_PER_CLIENT for c in clients)

    for crash in range(1, CRASHES + 1):
        stream = run.stream(clients, rnd)
        assert not stream.other, f"answers other than a receipt before crash {crash}: " + str(
            [(a.status, str(a.body)[:100]) for _, a in stream.other[:3]]
        )
        assert stream.acked, f"no ballot acknowledged before crash {crash}"
        assert stream.pending, f"crash {crash} did not hit casting clients"

        server.start()  # same data folder, same database
        board = Board.download(server.url, server.rid)
        problems = run.problems(board)
        assert not problems, f"after crash {crash}: " + "; ".join(problems[:10])

        problems = run.probe_bindings(board, spare_voters, rnd)
        assert not problems, f"after crash {crash}: " + "; ".join(problems[:5])

        problems = run.retry_in_flight(stream, set(board.ballot_codes()))
        assert not problems, f"after crash {crash}: " + "; ".join(problems[:5])

    # The restarted server takes first ballots and revotes, each with a receipt that holds
    # (each built on the voter's head as the server gives it: ballots planned before a
    # crash were not all sent).
    with httpx.Client(base_url=server.url, timeout=60) as client:
        for v in fresh + [c[0] for c in clients]:
            b = run.booth.ballot(v, head_of(client, server.rid, server.info["election_id"], v))
            run.sent[b.tracking] = b
            answer = post_ballot(client, server.rid, b, sign_in(client, server.rid, v["code"]))
            assert answer.acknowledged, f"after the restarts: {answer.status} {answer.body}"
            run.ack(b, answer.body)

    r = server.close_referendum()
    assert r.status_code == 200 and r.json()["stage"] == "decided", r.text
    board = Board.download(server.url, server.rid)
    problems = run.problems(board)
    assert not problems, "the closed board: " + "; ".join(problems[:10])
    assert set(board.ballot_codes()) == set(run.acked), "a ballot on the board without a receipt"
    assert board.latest.size == len(board.raw_entries), "the final checkpoint covers every entry"
    repeats = remember_board(board, f"test_crash[{store}]")
    assert not repeats, f"tracking codes repeated across boards: {repeats[:3]}"

    results = verify_saved_record(run_cli, board.save(tmp_path / "record"))
    assert results == run.booth.expected_counts(board), "the last ballots are not counted"
