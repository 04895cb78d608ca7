"""Casting through a real server process, for the crash-safety and concurrency tests.

* ``Server``: ``plebiscite serve --demo`` in a process group of its own, restartable on
  the same data folder (and PostgreSQL database), killable with SIGKILL.
* ``Booth``: encrypts and signs ballots with the Python booth, from the server's public
  referendum info, and remembers each ballot's choices by tracking code.
* ``sign_in``, ``post_ballot``: the voter's HTTP calls. A 503 means "not acknowledged":
  ``post_ballot`` waits (``Retry-After``, capped) and posts the same ballot again.
* ``Stream``: client threads casting back to back, each with its own connection, plus a
  thread polling the latest checkpoint; it keeps every acknowledged receipt, every
  checkpoint seen, and the ballots left without an answer (in flight at a crash).
* ``Board``: a board downloaded from the server and checked with the project's own
  Merkle and checkpoint code: receipts, pre-crash checkpoints and the server's proofs are
  verified against it, never taken on trust.

Every ballot tracking code of every board a test finished with is remembered for the
whole test session (``remember_board``), so a code that repeats across tests is caught.
"""

from __future__ import annotations

import csv
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from plebiscite.board.checkpoint import Checkpoint, verify_checkpoint
from plebiscite.board.merkle import MerkleTree, leaf_hash, verify_consistency, verify_inclusion
from plebiscite.record.canonical import loads
from plebiscite.record.entries import b64decode
from plebiscite.verify.receipt import check_receipt

SESSION_COOKIE = "plebiscite_session"  # server/app.py
STORES = ("sqlite", "postgresql")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- the server process ----------------------------------------------------------------


class Server:
    """``plebiscite serve --demo`` on a free port, in its own process group (so SIGKILL
    reaches it and nothing else); ``start`` again resumes the same referendum."""

    def __init__(
        self, data: Path, count: int, database: str | None = None, extra: tuple[str, ...] = ()
    ) -> None:
        self.extra = list(extra)
        self.data = data
        self.count = count
        self.database = database
        self.voters_csv = data.parent / f"{data.name}-voters.csv"
        self.logfile = data.parent / f"{data.name}-server.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.rid = ""
        self.voters: list[dict[str, str]] = []
        self.admin_token = ""
        self.info: dict[str, Any] = {}
        self.starts = 0

    def start(self, timeout: float = 60) -> None:
        port = free_port()
        cmd = [
            sys.executable,
            "-m",
            "plebiscite.cli",
            "serve",
            "--demo",
            "--data",
            str(self.data),
            "--port",
            str(port),
            "--demo-count",
            str(self.count),
            "--demo-voters",
            str(self.voters_csv),
            "--signin-limit",
            "1000000",  # every test voter signs in from 127.0.0.1
        ]
        if self.database:
            cmd += ["--database", self.database]
        cmd += self.extra
        self.starts += 1
        with self.logfile.open("ab") as log:
            log.write(f"--- start {self.starts}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout
        while True:
            try:
                r = httpx.get(url + "/api/referendums", timeout=2)
                if r.status_code == 200 and r.json():
                    break
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the server did not start:\n{self.log_tail()}")
            time.sleep(0.05)
        rid = r.json()[0]["id"]
        if self.rid and rid != self.rid:
            raise RuntimeError(f"restarted with referendum {rid}, not {self.rid}")
        self.url, self.rid = url, rid
        with self.voters_csv.open(newline="") as f:
            self.voters = list(csv.DictReader(f))
        self.admin_token = (self.data / "admin-token").read_text().strip()
        self.info = httpx.get(f"{url}/api/referendums/{rid}", timeout=30).json()

    def log_tail(self, chars: int = 4000) -> str:
        return self.logfile.read_text(errors="replace")[-chars:]

    def kill(self) -> None:
        """SIGKILL the server's process group: no shutdown code runs."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(15)

    def close_referendum(self) -> httpx.Response:
        """The admin's close (the demo then tallies, decrypts and posts the result)."""
        return httpx.post(
            f"{self.url}/api/admin/referendums/{self.rid}/close",
            headers={"Authorization": f"Bearer {self.admin_token}"},
            timeout=120,
        )

    def by_region(self) -> dict[str, list[dict[str, str]]]:
        out: dict[str, list[dict[str, str]]] = {}
        for v in self.voters:
            out.setdefault(v["region"], []).append(v)
        return out


def interleave(groups: dict[str, list[dict[str, str]]]) -> list[dict[str, str]]:
    """Voters taken region by region in turn."""
    return [v for row in zip(*groups.values(), strict=False) for v in row]


# --- ballots ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Ballot:
    voter: dict[str, str]  # region, code, credential (the voter whose credential signs)
    choices: dict[str, list[str]]
    tracking: str
    body: dict[str, Any]  # the signed submission, as posted


CHAINED = object()  # Booth.ballot: replace the last ballot built for the voter


class Booth:
    """The Python booth, set up from the server's public referendum info."""

    def __init__(self, info: dict[str, Any], seed: int = 0) -> None:
        from plebiscite.crypto.group import get_group
        from plebiscite.record import codec
        from plebiscite.record.manifest import parse_manifest

        self.manifest = parse_manifest(info["manifest"])
        self.group = get_group(self.manifest.group)
        self.ctx = bytes.fromhex(info["context"]["context_hash"])
        self.key = codec.element(self.group, info["context"]["joint_key"])
        self.eid = info["election_id"]
        self.rnd = random.Random(seed)
        self.choices: dict[str, dict[str, list[str]]] = {}  # tracking code -> choices
        self.built: dict[str, str] = {}  # public credential -> the last ballot built for it

    def random_choices(self, region: str) -> dict[str, list[str]]:
        out = {}
        for q in self.manifest.region_questions(region):
            if q.blank and self.rnd.random() < 0.2:
                out[q.id] = ["blank"]
            else:
                k = self.rnd.randint(max(q.min, 1), max(1, min(q.max, len(q.options))))
                out[q.id] = self.rnd.sample(list(q.options), k)
        return out

    def set_head(self, voter: dict[str, str], head: str | None) -> None:
        """The voter's next ballot (by default) replaces ``head``."""
        from plebiscite.election.credentials import public_credential

        pub = public_credential(self.eid, voter["credential"])
        if head is None:
            self.built.pop(pub, None)
        else:
            self.built[pub] = head

    def ballot(self, voter: dict[str, str], replaces: str | None | object = CHAINED) -> Ballot:
        """A ballot of random choices, signed with ``voter``'s credential. It replaces
        ``replaces`` (the head of the voter's revote chain), by default the last ballot
        this booth built for the voter (None for the first): right for ballots cast in
        the order they were built."""
        from plebiscite.election.booth import cast, encrypt_ballot
        from plebiscite.election.credentials import credential_key, public_credential

        region = voter["region"]
        choices = self.random_choices(region)
        pub = public_credential(self.eid, voter["credential"])
        head = self.built.get(pub) if replaces is CHAINED else replaces
        assert head is None or isinstance(head, str)
        enc = encrypt_ballot(
            self.group, self.manifest, self.ctx, self.key, region, choices, pub, head
        )
        sub = cast(enc, self.eid, credential_key(self.eid, voter["credential"]))
        self.choices[enc.tracking_code] = choices
        self.built[pub] = enc.tracking_code
        return Ballot(voter, choices, enc.tracking_code, sub.to_json())

    def expected_counts(self, board: Board) -> dict[str, dict[str, dict[str, int]]]:
        """Counts per region, question and slot if the last ballot of each credential on
        ``board`` counts, from the choices this booth encrypted."""
        last: dict[str, tuple[str, str]] = {}
        for _, e in board.ballots():
            previous = last.get(e["data"]["credential"], (None, None))[1]
            if e["data"]["replaces"] == previous:  # the revote chain
                last[e["data"]["credential"]] = (e["data"]["region"], e["data"]["tracking_code"])
        out = {
            r: {q.id: dict.fromkeys(q.slots, 0) for q in self.manifest.region_questions(r)}
            for r in self.manifest.regions
        }
        for region, code in last.values():
            for qid, picked in self.choices[code].items():
                for option in picked:
                    out[region][qid][option] += 1
        return out


# --- HTTP calls of a voter -------------------------------------------------------------


@dataclass(frozen=True)
class Session:
    token: str
    csrf: str

    def headers(self) -> dict[str, str]:
        return {"Cookie": f"{SESSION_COOKIE}={self.token}", "X-CSRF-Token": self.csrf}


def sign_in(client: httpx.Client, rid: str, code: str) -> Session:
    """A new session for the voter with this code (the client keeps no cookie)."""
    r = client.post(f"/api/referendums/{rid}/signin", json={"code": code})
    client.cookies.clear()
    if r.status_code != 200:
        raise RuntimeError(f"sign-in refused: {r.status_code} {r.text[:200]}")
    return Session(r.cookies[SESSION_COOKIE], r.json()["csrf"])


def head_of(client: httpx.Client, rid: str, eid: str, voter: dict[str, str]) -> str | None:
    """The tracking code at the head of the voter's revote chain, as the server says."""
    from urllib.parse import quote

    from plebiscite.election.credentials import public_credential

    pub = quote(public_credential(eid, voter["credential"]), safe="")
    r = client.get(f"/api/referendums/{rid}/credentials/{pub}/head")
    r.raise_for_status()
    code = r.json()["tracking_code"]
    return str(code) if code is not None else None


@dataclass
class Answer:
    """The server's last answer to a ballot (``status`` None: no answer at all)."""

    status: int | None
    body: Any = None
    busy: int = 0  # 503s answered before this

    @property
    def acknowledged(self) -> bool:
        return self.status == 200


def post_ballot(
    client: httpx.Client, rid: str, ballot: Ballot, session: Session, patience: float = 30.0
) -> Answer:
    """Post a ballot; on 503 (queue full: not acknowledged) wait and post it again."""
    deadline = time.monotonic() + patience
    busy = 0
    while True:
        try:
            r = client.post(
                f"/api/referendums/{rid}/ballots", json=ballot.body, headers=session.headers()
            )
        except httpx.HTTPError:
            return Answer(None, None, busy)
        if r.status_code == 503 and time.monotonic() < deadline:
            busy += 1
            try:
                wait = float(r.headers.get("retry-after", "0.1"))
            except ValueError:
                wait = 0.1
            time.sleep(min(max(wait, 0.02), 0.5))
            continue
        try:
            body = r.json()
        except ValueError:
            body = r.text[:300]
        return Answer(r.status_code, body, busy)


def race(url: str, rid: str, jobs: list[tuple[Ballot, Session]]) -> list[Answer]:
    """Post the ballots at the same moment, each from its own thread and connection
    (opened beforehand); returns the answers in order."""
    barrier = threading.Barrier(len(jobs))
    answers: list[Answer] = [Answer(None)] * len(jobs)

    def post(k: int, ballot: Ballot, session: Session) -> None:
        with httpx.Client(base_url=url, timeout=60) as client:
            client.get("/api/referendums")
            barrier.wait(30)
            answers[k] = post_ballot(client, rid, ballot, session)

    threads = [
        threading.Thread(target=post, args=(k, b, s), daemon=True) for k, (b, s) in enumerate(jobs)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return answers


def clear_error(answer: Answer) -> bool:
    """A refusal a client can act on: a 4xx with a JSON ``detail`` message."""
    return (
        answer.status is not None
        and 400 <= answer.status < 500
        and isinstance(answer.body, dict)
        and isinstance(answer.body.get("detail"), str)
    )


# --- many clients at once --------------------------------------------------------------


class Stream:
    """Client threads, each casting its own ballots back to back over one keep-alive
    connection, and a thread polling the board's latest checkpoint. Keeps every receipt
    (acknowledged ballots), the ballot each client had in flight when the server stopped
    answering, every other answer, and every checkpoint seen."""

    def __init__(
        self, url: str, rid: str, plans: list[list[tuple[Ballot, Session]]], poll: bool = True
    ) -> None:
        self.url, self.rid, self.plans = url, rid, plans
        self.acked: list[tuple[Ballot, dict[str, Any]]] = []
        self.pending: list[Ballot] = []  # sent, never answered
        self.other: list[tuple[Ballot, Answer]] = []  # answered, not acknowledged
        self.checkpoints: list[dict[str, Any]] = []  # polled (receipts carry the rest)
        self.busy = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._go = threading.Event()
        self._threads = [
            threading.Thread(target=self._client, args=(plan,), daemon=True) for plan in plans
        ]
        if poll:
            self._threads.append(threading.Thread(target=self._poller, daemon=True))

    def _client(self, plan: list[tuple[Ballot, Session]]) -> None:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        with httpx.Client(base_url=self.url, timeout=60, limits=limits) as client:
            self._go.wait()
            for ballot, session in plan:
                if self._stop.is_set():
                    return
                answer = post_ballot(client, self.rid, ballot, session)
                with self._lock:
                    self.busy += answer.busy
                    if answer.status is None:
                        self.pending.append(ballot)
                        return
                    if answer.acknowledged:
                        self.acked.append((ballot, answer.body))
                    else:
                        self.other.append((ballot, answer))

    def _poller(self) -> None:
        with httpx.Client(base_url=self.url, timeout=10) as client:
            self._go.wait()
            while not self._stop.is_set():
                try:
                    r = client.get(f"/api/referendums/{self.rid}/checkpoint")
                except httpx.HTTPError:
                    return
                if r.status_code == 200:
                    with self._lock:
                        self.checkpoints.append(r.json())
                time.sleep(0.02)

    def start(self) -> None:
        for t in self._threads:
            t.start()
        self._go.set()

    def wait(self, acks: int, seconds: float) -> None:
        """Until ``acks`` ballots are acknowledged, ``seconds`` pass or every client is done."""
        deadline = time.monotonic() + seconds
        clients = self._threads[: len(self.plans)]
        while (
            len(self.acked) < acks
            and time.monotonic() < deadline
            and any(t.is_alive() for t in clients)
        ):
            time.sleep(0.002)

    def finish(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(60)
            assert not t.is_alive(), "a client thread did not finish"

    def run_to_end(self, seconds: float = 120) -> None:
        """Wait until every client cast all its ballots, then stop."""
        self.wait(acks=sum(len(p) for p in self.plans), seconds=seconds)
        self.finish()

    def all_checkpoints(self) -> list[dict[str, Any]]:
        return self.checkpoints + [rc["checkpoint"] for _, rc in self.acked]


# --- a downloaded board, checked with our own code -------------------------------------


class Board:
    """A board downloaded from the server (the record's entries and checkpoints)."""

    def __init__(self, entries: list[bytes], checkpoints: list[bytes], cosigs: bytes) -> None:
        self.raw_entries = entries
        self.raw_checkpoints = checkpoints
        self.raw_cosignatures = cosigs
        self.parsed = [loads(e) for e in entries]
        head = self.parsed[0]["data"]
        self.board_key = b64decode(head["board_key"], 32, "board key")
        self.origin = head["origin"]
        self.checkpoints = [Checkpoint.from_json(loads(c)) for c in checkpoints]
        self.tree = MerkleTree(leaf_hash(e) for e in entries)

    @classmethod
    def download(cls, url: str, rid: str) -> Board:
        with httpx.Client(base_url=url, timeout=120) as c:
            base = f"/api/referendums/{rid}/record"
            entries = c.get(f"{base}/entries.jsonl").content.splitlines()
            cps = c.get(f"{base}/checkpoints.jsonl").content.splitlines()
            cosigs = c.get(f"{base}/cosignatures.jsonl").content
        return cls(entries, cps, cosigs)

    def save(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "entries.jsonl").write_bytes(b"".join(e + b"\n" for e in self.raw_entries))
        (folder / "checkpoints.jsonl").write_bytes(
            b"".join(c + b"\n" for c in self.raw_checkpoints)
        )
        (folder / "cosignatures.jsonl").write_bytes(self.raw_cosignatures)
        return folder

    @property
    def latest(self) -> Checkpoint:
        return self.checkpoints[-1]

    def ballots(self) -> list[tuple[int, dict[str, Any]]]:
        return [(i, e) for i, e in enumerate(self.parsed) if e["type"] == "ballot"]

    def ballot_codes(self) -> list[str]:
        return [e["data"]["tracking_code"] for _, e in self.ballots()]

    def problems(self) -> list[str]:
        """The board's own checkpoints: signed by its key, over its origin, never
        shrinking, each root recomputed from the entries."""
        out = []
        if not self.checkpoints:
            return ["the board has no checkpoint"]
        size = 0
        for n, cp in enumerate(self.checkpoints):
            if cp.origin != self.origin or not verify_checkpoint(cp, self.board_key):
                out.append(f"checkpoint {n} is not signed by this board")
            if cp.size < size:
                out.append(f"checkpoint {n} shrinks the board ({size} -> {cp.size})")
            size = max(size, cp.size)
            if cp.size > self.tree.size:
                out.append(f"checkpoint {n} covers {cp.size} entries, the board {self.tree.size}")
            elif self.tree.root(cp.size) != cp.root:
                out.append(f"checkpoint {n} does not match the entries")
        dup = [c for c, k in Counter(self.ballot_codes()).items() if k > 1]
        if dup:
            out.append(f"tracking codes repeated on the board: {dup[:3]}")
        return out

    def consistency_problems(self, cp_json: dict[str, Any]) -> list[str]:
        """A checkpoint published earlier: the board's, and the latest one extends it."""
        cp = Checkpoint.from_json(cp_json)
        latest = self.latest
        if cp.origin != self.origin or not verify_checkpoint(cp, self.board_key):
            return [f"checkpoint {cp.size} is not signed by this board"]
        if cp.size > latest.size:
            return [f"checkpoint {cp.size} is beyond the board's latest checkpoint {latest.size}"]
        proof = self.tree.consistency_proof(cp.size, latest.size)
        if not verify_consistency(cp.size, cp.root, latest.size, latest.root, proof):
            return [f"checkpoint {cp.size} is not consistent with the latest ({latest.size})"]
        return []

    def receipt_problems(self, receipt: dict[str, Any]) -> list[str]:
        """The voter's check (signed checkpoint, inclusion proof, the entry at the index,
        consistency with the latest checkpoint), then inclusion under the latest one."""
        size = int(receipt["checkpoint"]["size"])
        latest = self.latest
        index = int(receipt["index"])
        entry = self.raw_entries[index] if index < len(self.raw_entries) else None
        consistency = self.tree.consistency_proof(size, latest.size) if size <= latest.size else []
        out = check_receipt(receipt, self.board_key, entry, latest, consistency)
        if entry is not None and index < latest.size:
            proof = self.tree.inclusion_proof(index, latest.size)
            if not verify_inclusion(leaf_hash(entry), index, latest.size, proof, latest.root):
                out.append("the entry is not included under the latest checkpoint")
        elif entry is not None:
            out.append(f"entry {index} is not covered by the latest checkpoint ({latest.size})")
        return [f"receipt {receipt.get('tracking_code', '?')[:12]}: {p}" for p in out]

    def server_proof_problems(
        self,
        url: str,
        rid: str,
        receipts: list[dict[str, Any]],
        checkpoints: list[dict[str, Any]],
        sample: int = 40,
    ) -> list[str]:
        """The server's own inclusion and consistency proofs (from the tree it rebuilt at
        start), verified against the latest checkpoint; for a random ``sample`` of the
        receipts and of the checkpoints' sizes."""
        latest = self.latest
        rnd = random.Random()
        receipts = rnd.sample(receipts, min(sample, len(receipts)))
        by_size = {int(x["size"]): x for x in checkpoints}
        checkpoints = rnd.sample(list(by_size.values()), min(sample, len(by_size)))
        out = []
        with httpx.Client(base_url=url, timeout=60) as c:
            for rc in receipts:
                i = int(rc["index"])
                r = c.get(
                    f"/api/referendums/{rid}/proof/inclusion",
                    params={"index": i, "size": latest.size},
                )
                if r.status_code != 200:
                    out.append(f"inclusion proof of entry {i}: {r.status_code} {r.text[:100]}")
                    continue
                d = r.json()
                proof = [bytes.fromhex(h) for h in d["proof"]]
                h = bytes.fromhex(rc["entry_hash"])
                if d["entry_hash"] != rc["entry_hash"] or not verify_inclusion(
                    h, i, latest.size, proof, latest.root
                ):
                    out.append(f"the server's inclusion proof of entry {i} does not verify")
            for cp_json in checkpoints:
                size = int(cp_json["size"])
                r = c.get(
                    f"/api/referendums/{rid}/proof/consistency",
                    params={"old": size, "new": latest.size},
                )
                if r.status_code != 200:
                    out.append(f"consistency proof from {size}: {r.status_code} {r.text[:100]}")
                    continue
                proof = [bytes.fromhex(h) for h in r.json()["proof"]]
                root = bytes.fromhex(str(cp_json["root"]))
                if not verify_consistency(size, root, latest.size, latest.root, proof):
                    out.append(f"the server's consistency proof from {size} does not verify")
        return out


def verify_saved_record(run_cli: Callable[..., tuple[int, str, str]], folder: Path) -> Any:
    """``plebiscite verify --json`` on a saved record: verified, with the revote rule's
    check (V16) passed; returns the report's results."""
    code, out, err = run_cli("verify", folder, "--json", "--workers", "1")
    report = json.loads(out) if out.strip() else {}
    failed = [c["id"] for c in report.get("checks", []) if c["status"] == "failed"]
    assert code == 0 and report.get("verdict") == "verified", f"not verified: {failed} {err}"
    v16 = next(c for c in report["checks"] if c["id"] == "V16")
    assert v16["status"] == "passed", v16
    return report["results"]


# --- tracking codes across the session -------------------------------------------------

_SEEN: dict[str, str] = {}
_SEEN_LOCK = threading.Lock()


def remember_board(board: Board, where: str) -> list[str]:
    """Remember every ballot tracking code of a finished board; returns the codes seen on
    an earlier board of this test session (or twice on this one)."""
    repeats = []
    with _SEEN_LOCK:
        for code in board.ballot_codes():
            if code in _SEEN:
                repeats.append(f"{code[:16]} ({_SEEN[code]} and {where})")
            _SEEN[code] = where
    return repeats
