"""Cast throughput: ballots per second through a real ``plebiscite serve --demo``, with
latency percentiles, per board store (SQLite, PostgreSQL) and per number of concurrent
connections; then a check that every acknowledged receipt's ballot is on the board.

A benchmark, not a timed test: it asserts nothing about speed (it exits 1 only when a
ballot was refused or a receipt does not check out). For each run it:

1. starts ``plebiscite serve --demo`` as a subprocess on a free port, with a fresh data
   folder, the ballot shape's referendum file (``--manifest``), ``--demo-count`` voters
   per region written to ``--demo-voters``, and for PostgreSQL ``--database`` pointing at
   a throwaway cluster started with ``tests/pgcluster.py`` (one for the whole benchmark;
   each server's board gets a schema of its own);
2. encrypts and signs one ballot per voter beforehand, in a process pool (not timed), with
   the booth's own ``encrypt_ballot`` and ``cast``;
3. signs every voter in (not timed). The server allows 10 sign-in attempts per minute per
   client address and ``serve`` has no option to raise it, so sign-ins come from many
   loopback source addresses (127.x.y.z, 10 voters each);
4. casts: N asynchronous workers (``httpx.AsyncClient``, one keep-alive connection
   each), closed loop, each posting the next ballot as soon as its previous one was
   answered. Timed from the first request to the last answer; any non-200 answer or
   transport error counts as an error;
5. reads the server's CPU time (``/proc/PID/stat``) and, for PostgreSQL, its backends'
   around the timed phase, plus this process's and the whole machine's;
6. downloads the record (``entries.jsonl``, ``checkpoints.jsonl``) and checks every
   receipt with ``verify.receipt.check_receipt`` (signed checkpoint, inclusion proof,
   the entry at the receipt's index has its tracking code, consistency with the latest
   checkpoint), and counts the ballots' tracking codes on the board.

Every figure is the median of ``--repeat`` runs; stores and concurrency levels run side by
side within each repeat (order alternating), so drift on a shared machine hits them alike.
Each run starts from a fresh board, so runs are comparable (the board's growth is shown by
the first and last quarter's rates).

Diagnostics (not in the figures):

* ``--profile``: per store, two more runs at the highest concurrency with ``py-spy record``
  attached to the server for the timed phase (``.venv/bin/pip install py-spy``): with
  ``--idle`` (every thread at every tick: how long the referendum lock is held per ballot,
  on what, and how many requests wait for it) and with ``--gil`` (only the thread holding
  the GIL). Raw stacks are kept under the printed temporary folder.
* ``--breakdown``: the steps ``cast_ballot`` runs under the referendum lock, timed one
  ballot at a time in this process with the server's own objects (no HTTP, no threads):
  the serial cost per ballot, hence a ceiling on ballots/s through one lock.

    .venv/bin/python bench/bench_cast.py                    # 32 connections, 3 repeats
    .venv/bin/python bench/bench_cast.py --sweep --profile --breakdown
    .venv/bin/python bench/bench_cast.py --stores sqlite --concurrency 8 --repeat 1
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import platform
import random
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
SESSION_COOKIE = "plebiscite_session"  # server/app.py
SIGNIN_PER_ADDRESS = 10  # server/app.py: create_app(signin_limit=10), 60 s window
SWEEP = (1, 8, 32, 64)
TICKS = os.sysconf("SC_CLK_TCK")
TARGET_RATE, TARGET_P99_MS = 300.0, 250.0  # issue 6


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --- machine --------------------------------------------------------------------------


def machine_facts() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    with suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    source = None
    with suppress(OSError, subprocess.SubprocessError):
        git = ["git", "-C", str(REPO)]
        head = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            [*git, "status", "--porcelain", "--", "src"], capture_output=True, text=True
        ).stdout.strip()
        source = head + (" + uncommitted changes in src/" if dirty else "")
    versions = {}
    for mod in ("uvicorn", "fastapi", "starlette", "httpx", "psycopg"):
        with suppress(Exception):
            from importlib.metadata import version

            versions[mod] = version(mod)
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "sqlite": __import__("sqlite3").sqlite_version,
        "packages": versions,
        "source": source,
        "load_1min_at_start": round(os.getloadavg()[0], 2),
    }


# --- CPU accounting ---------------------------------------------------------------------


def proc_cpu(pid: int, part: str = "all") -> float:
    """utime + stime (or only ``part`` "sys") of one process, in seconds (0 if gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    if part == "sys":
        return int(fields[12]) / TICKS
    return (int(fields[11]) + int(fields[12])) / TICKS


def context_switches(pid: int) -> dict[int, int]:
    """Voluntary plus involuntary context switches of each live thread of a process."""
    out = {}
    with suppress(OSError):
        for tid in os.listdir(f"/proc/{pid}/task"):
            with suppress(OSError), open(f"/proc/{pid}/task/{tid}/status", encoding="ascii") as f:
                out[int(tid)] = sum(int(x.split()[-1]) for x in f if "ctxt_switches:" in x)
    return out


def children_cpu(ppid: int) -> dict[int, float]:
    """CPU seconds of each live child of ``ppid`` (PostgreSQL's backends and helpers)."""
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == ppid:
            out[int(entry)] = (int(fields[11]) + int(fields[12])) / TICKS
    return out


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    with open("/proc/stat", encoding="ascii") as f:
        vals = [int(x) for x in f.readline().split()[1:]]
    idle = vals[3] + (vals[4] if len(vals) > 4 else 0)
    total = sum(vals[:8])
    return (total - idle) / TICKS, total / TICKS


def self_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


@dataclass
class CpuSnapshot:
    server: float
    server_sys: float
    switches: dict[int, int]
    pg: dict[int, float]
    client: float
    busy: float
    total: float

    @classmethod
    def take(cls, server_pid: int, pg_pid: int | None) -> CpuSnapshot:
        busy, total = machine_busy()
        pg = children_cpu(pg_pid) if pg_pid else {}
        if pg_pid:
            pg[pg_pid] = proc_cpu(pg_pid)
        return cls(
            proc_cpu(server_pid),
            proc_cpu(server_pid, "sys"),
            context_switches(server_pid),
            pg,
            self_cpu(),
            busy,
            total,
        )


# --- referendum files -------------------------------------------------------------------


def shape_manifest(shape: str, group: str) -> dict[str, Any]:
    """``demo``: the built-in referendum (two questions in three regions, one in the
    fourth). ``yesno`` (issue-6 shape): the same four regions, each with one yes/no
    question (min 1, max 1, no blank)."""
    text = resources.files("plebiscite.data").joinpath("demo-referendum.json").read_text()
    raw: dict[str, Any] = json.loads(text)
    raw["group"] = group
    if shape == "yesno":
        raw["title"] = "Cast benchmark: one yes/no question"
        raw["questions"] = [
            {
                "id": "q",
                "text": "Yes or no?",
                "options": ["yes", "no"],
                "min": 1,
                "max": 1,
                "blank": False,
            }
        ]
        raw["regions"] = [{**r, "questions": ["q"]} for r in raw["regions"]]
    return raw


# --- encryption (process pool, before the run) -------------------------------------------

_ENC: dict[str, Any] = {}


def _enc_init(group: str, manifest: dict[str, Any], ctx: str, key: str, eid: str) -> None:
    from plebiscite.crypto.group import get_group
    from plebiscite.record import codec
    from plebiscite.record.manifest import parse_manifest

    g = get_group(group)
    _ENC.update(
        g=g,
        m=parse_manifest(manifest),
        ctx=bytes.fromhex(ctx),
        key=codec.element(g, key),
        eid=eid,
    )


def _enc_chunk(items: list[tuple[str, str, int]]) -> list[tuple[str, bytes]]:
    """(region, credential, seed) -> (tracking code, the cast submission as JSON)."""
    from plebiscite.election.booth import cast, encrypt_ballot
    from plebiscite.election.credentials import credential_key, public_credential

    g, m, ctx, key, eid = (_ENC[k] for k in ("g", "m", "ctx", "key", "eid"))
    out = []
    for region, credential, seed in items:
        rnd = random.Random(seed)
        choices = {}
        for q in m.region_questions(region):
            k = rnd.randint(max(q.min, 1), max(1, min(q.max, len(q.options))))
            choices[q.id] = rnd.sample(list(q.options), k)
        ballot = encrypt_ballot(g, m, ctx, key, region, choices, public_credential(eid, credential))
        sub = cast(ballot, eid, credential_key(eid, credential))
        body = json.dumps(sub.to_json(), separators=(",", ":")).encode()
        out.append((ballot.tracking_code, body))
    return out


# --- the server -------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """One ``plebiscite serve --demo`` subprocess with its own data folder."""

    def __init__(
        self,
        workdir: Path,
        manifest: Path,
        per_region: int,
        database: str | None,
    ) -> None:
        self.workdir = workdir
        self.data = workdir / "data"
        self.voters_csv = workdir / "voters.csv"
        self.logfile = workdir / "server.log"
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        exe = Path(sys.executable).with_name("plebiscite")
        self.cmd = [
            str(exe) if exe.exists() else "plebiscite",
            "serve",
            "--demo",
            "--data",
            str(self.data),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--manifest",
            str(manifest),
            "--demo-count",
            str(per_region),
            "--demo-voters",
            str(self.voters_csv),
        ]
        if database:
            self.cmd += ["--database", database]
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 180) -> None:
        with self.logfile.open("wb") as out:
            self.proc = subprocess.Popen(self.cmd, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"the server exited with {self.proc.returncode}:\n"
                    + self.logfile.read_text(errors="replace")[-3000:]
                )
            with suppress(httpx.HTTPError):
                r = httpx.get(self.base + "/api/referendums", timeout=2)
                if r.status_code == 200 and r.json():
                    return
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the server did not answer within {timeout:.0f} s")
            time.sleep(0.2)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)  # uvicorn shuts down gracefully
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


# --- one run ----------------------------------------------------------------------------


@dataclass
class Voter:
    region: str
    code: str
    credential: str
    tracking: str = ""
    body: bytes = b""
    token: str = ""
    csrf: str = ""


@dataclass
class Result:
    store: str
    concurrency: int
    ballots: int
    ok: int = 0
    errors: int = 0
    busy: int = 0
    error_kinds: Counter[str] = field(default_factory=Counter)
    wall: float = 0.0
    latencies: list[float] = field(default_factory=list)
    slice_rates: list[float] = field(default_factory=list)
    server_cpu: float = 0.0
    server_sys: float = 0.0
    switches: int = 0
    pg_cpu: float = 0.0
    client_cpu: float = 0.0
    machine_cpu: float = 0.0
    board_size: int = 0
    receipts_checked: int = 0
    receipt_problems: list[str] = field(default_factory=list)
    on_board: int = 0
    setup_s: float = 0.0

    @property
    def rate(self) -> float:
        return self.ok / self.wall if self.wall else 0.0

    def pct(self, p: float) -> float:
        return percentile(self.latencies, p) * 1000


def interleave(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """Voters taken region by region in turn, so every stretch of a run has them all."""
    by_region: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by_region.setdefault(row["region"], []).append(row)
    return [r for group in zip(*by_region.values(), strict=False) for r in group]


def percentile(values: Sequence[float], p: float) -> float:
    """Linear interpolation between closest ranks (p in 0..100)."""
    if not values:
        return float("nan")
    xs = sorted(values)
    k = (len(xs) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def loopback_address(i: int) -> str:
    """The i-th sign-in source address: 127.1.0.1, 127.1.0.2, …, skipping .0 and .255."""
    a, b = divmod(i, 250 * 250)
    c, d = divmod(b, 250)
    return f"127.{1 + a}.{c + 1}.{d + 1}"


async def sign_in_all(base: str, rid: str, voters: list[Voter], parallel: int = 32) -> None:
    """Sign every voter in, at most 10 per loopback source address (not timed)."""
    sem = asyncio.Semaphore(parallel)
    url = f"{base}/api/referendums/{rid}/signin"

    async def group(i: int, vs: list[Voter]) -> None:
        async with sem:
            transport = httpx.AsyncHTTPTransport(local_address=loopback_address(i))
            async with httpx.AsyncClient(transport=transport, timeout=60) as client:
                for v in vs:
                    r = await client.post(url, json={"code": v.code})
                    if r.status_code != 200:
                        raise RuntimeError(f"sign-in refused: {r.status_code} {r.text[:200]}")
                    v.token = r.cookies[SESSION_COOKIE]
                    v.csrf = r.json()["csrf"]
                    client.cookies.clear()

    chunks = [voters[i : i + SIGNIN_PER_ADDRESS] for i in range(0, len(voters), SIGNIN_PER_ADDRESS)]
    await asyncio.gather(*(group(i, vs) for i, vs in enumerate(chunks)))


async def cast_all(
    base: str,
    rid: str,
    voters: list[Voter],
    concurrency: int,
    res: Result,
    snapshot: Any,
    on_start: Any = None,
) -> tuple[list[dict[str, Any]], Any, Any]:
    """The timed phase: ``concurrency`` closed-loop workers, one connection each."""
    url = f"/api/referendums/{rid}/ballots"
    queue = iter(voters)
    receipts: list[dict[str, Any]] = []
    done_at: list[float] = []
    gate = asyncio.Event()
    # aiohttp rather than httpx: about a third of the client CPU per request, which
    # leaves the shared 2-core machine to the server. One connection per worker.
    import aiohttp

    clients = [
        aiohttp.ClientSession(
            base_url=base,
            connector=aiohttp.TCPConnector(limit=1),
            timeout=aiohttp.ClientTimeout(total=120),
        )
        for _ in range(concurrency)
    ]
    # Open every connection before the clock starts.
    for c in clients:
        async with c.get(f"/api/referendums/{rid}/checkpoint") as r:
            await r.read()

    async def worker(client: aiohttp.ClientSession) -> None:
        await gate.wait()
        for v in queue:
            headers = {
                "Content-Type": "application/json",
                "Cookie": f"{SESSION_COOKIE}={v.token}",
                "X-CSRF-Token": v.csrf,
            }
            t0 = time.perf_counter()
            while True:  # a 503 (queue full) means "not accepted, send it again"
                try:
                    async with client.post(url, data=v.body, headers=headers) as r:
                        status, text = r.status, await r.text()
                        retry = float(r.headers.get("Retry-After", "0.05") or 0.05)
                except aiohttp.ClientError as exc:
                    status, text, retry = -1, "", 0.0
                    res.error_kinds[type(exc).__name__] += 1
                if status != 503:
                    break
                res.busy += 1
                await asyncio.sleep(min(retry, 0.25))
            t1 = time.perf_counter()
            if status == 200:
                res.ok += 1
                res.latencies.append(t1 - t0)
                done_at.append(t1)
                receipt = json.loads(text)
                receipts.append(receipt)
                if receipt.get("tracking_code") != v.tracking:
                    res.receipt_problems.append(f"receipt for another ballot than {v.tracking}")
            else:
                res.errors += 1
                if status != -1:
                    res.error_kinds[f"{status} {text[:120]}"] += 1

    tasks = [asyncio.create_task(worker(c)) for c in clients]
    if on_start:
        on_start()
    before = snapshot()
    t_start = time.perf_counter()
    gate.set()
    await asyncio.gather(*tasks)
    t_end = time.perf_counter()
    after = snapshot()
    for c in clients:
        await c.close()
    res.wall = t_end - t_start
    slices = 4
    width = res.wall / slices
    counts = [0] * slices
    for t in done_at:
        counts[min(slices - 1, int((t - t_start) / width))] += 1
    res.slice_rates = [n / width for n in counts]
    return receipts, before, after


def check_receipts(base: str, rid: str, receipts: list[dict[str, Any]], res: Result) -> None:
    """Every receipt against the downloaded record (not timed)."""
    from plebiscite.board.checkpoint import Checkpoint
    from plebiscite.board.merkle import MerkleTree, leaf_hash
    from plebiscite.record.canonical import loads
    from plebiscite.record.entries import b64decode
    from plebiscite.verify.receipt import check_receipt

    with httpx.Client(base_url=base, timeout=120) as c:
        entries = c.get(f"/api/referendums/{rid}/record/entries.jsonl").content.splitlines()
        cps = c.get(f"/api/referendums/{rid}/record/checkpoints.jsonl").content.splitlines()
    parsed = [loads(e) for e in entries]
    board_key = b64decode(parsed[0]["data"]["board_key"], 32, "board key")
    latest = Checkpoint.from_json(loads(cps[-1]))
    tree = MerkleTree(leaf_hash(e) for e in entries[: latest.size])
    codes = {p["data"]["tracking_code"] for p in parsed if p["type"] == "ballot"}
    res.board_size = len(entries)
    problems = []
    acked = set()
    for rc in receipts:
        acked.add(rc["tracking_code"])
        i = rc["index"]
        size = rc["checkpoint"]["size"]
        consistency = tree.consistency_proof(size, latest.size) if size <= latest.size else []
        entry = entries[i] if i < len(entries) else None
        for p in check_receipt(rc, board_key, entry, latest, consistency):
            problems.append(f"receipt {rc['tracking_code'][:12]}: {p}")
        res.receipts_checked += 1
    missing = acked - codes
    if missing:
        problems.append(f"{len(missing)} acknowledged tracking codes are not on the board")
    if len(acked) != len(receipts):
        problems.append("two receipts carry the same tracking code")
    if len(codes) != len(receipts):
        problems.append(f"the board holds {len(codes)} ballots, {len(receipts)} acknowledged")
    res.on_board = len(acked & codes)
    res.receipt_problems += problems


def run_once(
    store: str,
    database: str | None,
    pg_pid: int | None,
    concurrency: int,
    args: argparse.Namespace,
    manifest_path: Path,
    workroot: Path,
    profile: str | None = None,
) -> tuple[Result, dict[str, Any] | None]:
    n = args.ballots
    t_setup = time.perf_counter()
    regions = len(json.loads(manifest_path.read_text())["regions"])
    per_region = -(-n // regions)
    workdir = Path(tempfile.mkdtemp(prefix=f"{store}-c{concurrency}-", dir=workroot))
    server = Server(workdir, manifest_path, per_region, database)
    res = Result(store, concurrency, n)
    prof: dict[str, Any] | None = None
    server.start()
    try:
        with httpx.Client(base_url=server.base, timeout=60) as c:
            rid = c.get("/api/referendums").json()[0]["id"]
            info = c.get(f"/api/referendums/{rid}").json()
        with server.voters_csv.open(newline="") as f:
            rows = list(csv.DictReader(f))
        voters = [Voter(r["region"], r["code"], r["credential"]) for r in interleave(rows)[:n]]
        ctx = info["context"]
        init = (
            info["manifest"]["group"],
            info["manifest"],
            ctx["context_hash"],
            ctx["joint_key"],
            info["election_id"],
        )
        items = [(v.region, v.credential, i) for i, v in enumerate(voters)]
        step = max(1, -(-len(items) // (4 * (os.cpu_count() or 1))))
        chunks = [items[i : i + step] for i in range(0, len(items), step)]
        with ProcessPoolExecutor(initializer=_enc_init, initargs=init) as pool:
            done = [x for part in pool.map(_enc_chunk, chunks) for x in part]
        for v, (code, body) in zip(voters, done, strict=True):
            v.tracking, v.body = code, body
        asyncio.run(sign_in_all(server.base, rid, voters))
        res.setup_s = time.perf_counter() - t_setup

        spy: subprocess.Popen[bytes] | None = None
        spy_out = workdir / f"pyspy-{profile}.txt"
        spy_t = [0.0]

        def start_spy() -> None:
            nonlocal spy
            if profile is None:
                return
            cmd = [
                str(Path(sys.executable).with_name("py-spy")),
                "record",
                "--pid",
                str(server.pid),
                "--format",
                "raw",
                "--rate",
                str(args.profile_rate),
                "--nonblocking",
                "--threads",
                "-o",
                str(spy_out),
            ]
            cmd.append("--idle" if profile == "wall" else "--gil")
            spy = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            spy_t[0] = time.perf_counter()
            time.sleep(0.5)  # let py-spy attach before the clock starts

        def snap() -> CpuSnapshot:
            return CpuSnapshot.take(server.pid, pg_pid)

        receipts, before, after = asyncio.run(
            cast_all(server.base, rid, voters, concurrency, res, snap, start_spy)
        )
        if spy is not None:
            span = time.perf_counter() - spy_t[0]
            spy.send_signal(signal.SIGINT)
            _, err = spy.communicate(timeout=60)
            if spy_out.exists():
                prof = analyse_profile(
                    spy_out.read_text(),
                    profile or "",
                    res.wall,
                    span,
                    res.ok,
                    args.profile_rate,
                )
                prof["file"] = str(spy_out)
            else:
                prof = {"error": err.decode(errors="replace")[-500:]}
        res.server_cpu = after.server - before.server
        res.server_sys = after.server_sys - before.server_sys
        # threads that ended during the run take their switches with them (undercount)
        res.switches = sum(v - before.switches.get(k, 0) for k, v in after.switches.items())
        res.pg_cpu = sum(v - before.pg.get(k, 0.0) for k, v in after.pg.items())
        res.client_cpu = after.client - before.client
        res.machine_cpu = after.busy - before.busy
        check_receipts(server.base, rid, receipts, res)
    finally:
        server.stop()
        if not args.keep and profile is None:
            shutil.rmtree(workdir, ignore_errors=True)
    return res, prof


# --- the locked section, in process ------------------------------------------------------

BREAKDOWN_STEPS = (
    ("session lookup (before the lock)", False),
    ("check_binding (voters.sqlite)", True),
    ("check_submission, all of intake", True),
    ("  of which: ballot signature", False),
    ("  of which: check_ballot (proofs, tracking code)", False),
    ("append: entry, leaf hash, store commit", True),
    ("checkpoint: sign + store commit", True),
    ("receipt: latest_checkpoint + inclusion proof", True),
    ("  of which: latest_checkpoint", False),
    ("bind (voters.sqlite commit)", True),
)


def lock_breakdown(
    store: str, database: str | None, manifest_path: Path, n: int, workroot: Path
) -> dict[str, Any]:
    """What ``cast_ballot`` does under the referendum lock, one ballot at a time in this
    process (no HTTP, no threads): the serial cost per ballot, step by step, with the
    server's own objects (``Registry``, ``create_demo``, ``Organiser``, ``VoterDB``)."""
    from plebiscite.election.intake import _ballot_context, check_submission
    from plebiscite.record.entries import Submission, verify_entry_signature
    from plebiscite.server.demo import create_demo
    from plebiscite.server.registry import Registry
    from plebiscite.verify.ballots import check_ballot

    raw = json.loads(manifest_path.read_text())
    data_dir = Path(tempfile.mkdtemp(prefix=f"breakdown-{store}-", dir=workroot))
    registry = Registry(data_dir, database=database)
    try:
        ref, voters = create_demo(registry, raw, -(-n // len(raw["regions"])))
        org, vdb = ref.org, ref.voters
        eid = org.election_id
        ctx, key = org.context()
        init = (org.group.name, org.manifest.raw, ctx.hex(), key.hex(), eid)
        chosen = interleave(voters)[:n]
        items = [(v["region"], v["credential"], i) for i, v in enumerate(chosen)]
        step = max(1, -(-len(items) // (4 * (os.cpu_count() or 1))))
        with ProcessPoolExecutor(initializer=_enc_init, initargs=init) as pool:
            bodies = [
                b
                for part in pool.map(
                    _enc_chunk, [items[i : i + step] for i in range(0, len(items), step)]
                )
                for _, b in part
            ]
        times: dict[str, list[tuple[float, float]]] = {name: [] for name, _ in BREAKDOWN_STEPS}

        def timed(name: str, fn: Any) -> Any:
            c0, w0 = time.thread_time(), time.perf_counter()
            out = fn()
            times[name].append((time.perf_counter() - w0, time.thread_time() - c0))
            return out

        for v, body in zip(chosen, bodies, strict=True):
            obj = json.loads(body)
            sub = Submission(obj["type"], obj["data"], obj["signer"], obj["signature"])
            token, _ = vdb.sign_in(v["code"])
            session = timed("session lookup (before the lock)", lambda t=token: vdb.session(t))
            cred = str(sub.data["credential"])
            timed(
                "check_binding (voters.sqlite)",
                lambda s=session, c=cred: vdb.check_binding(s.voter, c),
            )
            timed("check_submission, all of intake", lambda s=sub: check_submission(org, s))
            timed(
                "  of which: ballot signature", lambda s=sub: verify_entry_signature(s.at(""), eid)
            )
            timed(
                "  of which: check_ballot (proofs, tracking code)",
                lambda s=sub: check_ballot(_ballot_context(org), -1, s.data),
            )
            index = timed(
                "append: entry, leaf hash, store commit",
                lambda s=sub: org.append(s, checkpoint=False),
            )
            timed("checkpoint: sign + store commit", org.checkpoint)
            timed("receipt: latest_checkpoint + inclusion proof", lambda i=index: org.receipt(i))
            timed("  of which: latest_checkpoint", org.board.latest_checkpoint)
            timed("bind (voters.sqlite commit)", lambda s=session, c=cred: vdb.bind(s.voter, c))
        tenth = max(1, n // 10)
        steps = {}
        for name, locked in BREAKDOWN_STEPS:
            ws = [w for w, _ in times[name]]
            cs = [c for _, c in times[name]]
            steps[name] = {
                "locked": locked,
                "wall_ms": round(1000 * statistics.fmean(ws), 3),
                "cpu_ms": round(1000 * statistics.fmean(cs), 3),
                "first_tenth_ms": round(1000 * statistics.fmean(ws[:tenth]), 3),
                "last_tenth_ms": round(1000 * statistics.fmean(ws[-tenth:]), 3),
            }
        serial = sum(v["wall_ms"] for v in steps.values() if v["locked"])
        serial_cpu = sum(v["cpu_ms"] for v in steps.values() if v["locked"])
        return {
            "store": store,
            "ballots": n,
            "steps": steps,
            "locked_wall_ms": round(serial, 3),
            "locked_cpu_ms": round(serial_cpu, 3),
            "ceiling_ballots_per_s": round(1000 / serial, 1) if serial else None,
        }
    finally:
        registry.close()
        shutil.rmtree(data_dir, ignore_errors=True)


# --- profile analysis --------------------------------------------------------------------

# (bucket, function, file suffix): the first match from the leaf up names a sample taken
# inside the referendum lock of cast_ballot (server/app.py). Functions are compared by
# their last dotted part (py-spy prints ``SQLiteStore.append_entries``).
LOCKED_BUCKETS = (
    (
        "proofs: check_ballot (parse, 0/1 and sum proofs, tracking code)",
        "check_ballot",
        "verify/ballots.py",
    ),
    ("ballot signature (Ed25519)", "verify_entry_signature", "record/entries.py"),
    (
        "voting window checks (Organiser.has scans every entry)",
        "_voting_open",
        "election/intake.py",
    ),
    ("board append: store commit (entries)", "append_entries", ""),
    ("board append: leaf hash, tree", "append_many", "board/log.py"),
    ("checkpoint per ballot: store commit", "add_checkpoint", ""),
    ("checkpoint per ballot: sign", "checkpoint", "board/log.py"),
    ("receipt: latest_checkpoint reads every checkpoint", "latest_checkpoint", "board/log.py"),
    ("receipt: inclusion proof", "inclusion_proof", "board/log.py"),
    ("receipt: other", "receipt", "election/organiser.py"),
    ("voter binding: bind (voters.sqlite commit)", "bind", "server/voters.py"),
    ("voter binding: check_binding (voters.sqlite)", "check_binding", "server/voters.py"),
    ("intake: other", "check_submission", "election/intake.py"),
    ("organiser: entry bytes, bookkeeping", "append", "election/organiser.py"),
)
LOCKED_CALLS = ("accept", "check_binding", "bind")
LIBRARY_BUCKETS = (
    ("JSON encode/decode", ("json/",)),
    ("pydantic validation/serialisation", ("pydantic",)),
    ("HTTP parsing (h11)", ("h11/",)),
    ("FastAPI/Starlette routing, middleware, dependencies", ("fastapi/", "starlette/")),
    ("anyio thread hand-off", ("anyio/",)),
    ("uvicorn", ("uvicorn/",)),
    ("asyncio event loop, sockets", ("asyncio/", "selectors.py")),
    ("http.cookies", ("http/cookies",)),
)


def _frames(parts: list[str]) -> list[tuple[str, str, int]]:
    """py-spy raw frames ``func (file:line)`` -> (short func, file, line), root first."""
    out = []
    for part in parts:
        func, _, rest = part.partition(" (")
        path, _, line = rest.rstrip(")").rpartition(":")
        out.append((func.strip().rsplit(".", 1)[-1], path, int(line) if line.isdigit() else 0))
    return out


def classify(frames: list[tuple[str, str, int]]) -> tuple[str, str]:
    """(area, bucket) of one sample: "locked", "waiting", "idle" or "outside"."""
    names = [f for f, _, _ in frames]
    if "cast_ballot" in names:
        i = len(names) - 1 - names[::-1].index("cast_ballot")
        below = frames[i + 1 :]
        if not below:
            return "waiting", "parked on `with ref.lock` (server/app.py)"
        if below[0][0] not in LOCKED_CALLS:
            return "outside", f"cast_ballot before the lock: {below[0][0]} ({below[0][1]})"
        for f, p, _ in reversed(below):
            for bucket, fn, suffix in LOCKED_BUCKETS:
                if f == fn and p.endswith(suffix):
                    return "locked", bucket
        return "locked", "other (inside the lock)"
    if frames and frames[-1][0] == "select" and frames[-1][1].endswith("selectors.py"):
        return "idle", "event loop waiting in select()"
    if frames and frames[-1][1].endswith(("threading.py", "queue.py")) and "run" in names:
        return "idle", "worker thread waiting for work"
    for _f, p, _ in reversed(frames):
        for bucket, needles in LIBRARY_BUCKETS:
            if any(n in p for n in needles):
                return "outside", bucket
    return "outside", "other"


def analyse_profile(
    text: str, mode: str, wall: float, span: float, ok: int, rate: int
) -> dict[str, Any]:
    """Break py-spy samples down. ``wall`` (``--idle``: every thread at every tick): how
    long the referendum lock is held per ballot and on what, how many requests queue on
    it. ``gil`` (only the thread holding the GIL): where the interpreter's time goes.
    ``span`` is how long py-spy recorded (a little more than the timed ``wall``)."""
    ticks = 0
    areas: Counter[str] = Counter()
    buckets: dict[str, Counter[str]] = {
        "locked": Counter(),
        "waiting": Counter(),
        "idle": Counter(),
        "outside": Counter(),
    }
    lines: Counter[str] = Counter()
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        parts = stack.split(";")
        thread = parts[0]
        if thread.endswith("MainThread") and mode == "wall":
            ticks += n
        if "_scheduler" in stack:
            continue  # the open/close scheduler sleeps between its 2-second rounds
        frames = _frames(parts[1:])
        area, bucket = classify(frames)
        areas[area] += n
        buckets[area][bucket] += n
        if area == "locked" and frames:
            f, p, ln = frames[-1]
            lines[f"{f} ({'/'.join(p.split('/')[-2:])}:{ln})"] += n
    # One sample stands for this many ms of a thread's time, per ballot: in wall mode the
    # main thread is sampled at every tick py-spy managed; with --gil, at the nominal rate.
    interval = span / ticks if mode == "wall" and ticks else 1 / rate
    ms_per_sample = 1000 * interval / max(ok, 1)
    return {
        "mode": mode,
        "ticks": ticks,
        "ballots": ok,
        "wall_s": round(wall, 2),
        "effective_rate_hz": round(1 / interval),
        # thread-seconds in each area per second of the timed run (lock held: <= 1)
        "per_wall_second": {a: round(v * interval / wall, 3) for a, v in areas.items()},
        "ms_per_ballot": {
            a: {b: round(v * ms_per_sample, 3) for b, v in c.most_common()}
            for a, c in buckets.items()
        },
        "locked_leaf_lines_ms_per_ballot": {
            k: round(v * ms_per_sample, 3) for k, v in lines.most_common(12)
        },
    }


# --- report -----------------------------------------------------------------------------


def med(xs: Sequence[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def summarise(results: list[Result]) -> list[dict[str, Any]]:
    keys = sorted({(r.store, r.concurrency) for r in results}, key=lambda k: (k[0] != "sqlite", k))
    rows = []
    for store, c in keys:
        rs = [r for r in results if (r.store, r.concurrency) == (store, c)]
        rows.append(
            {
                "store": store,
                "concurrency": c,
                "runs": len(rs),
                "ballots_per_run": rs[0].ballots,
                "ballots_per_s": med([r.rate for r in rs]),
                "ballots_per_s_runs": [round(r.rate, 1) for r in rs],
                "p50_ms": med([r.pct(50) for r in rs]),
                "p95_ms": med([r.pct(95) for r in rs]),
                "p99_ms": med([r.pct(99) for r in rs]),
                "max_ms": med([max(r.latencies, default=0) * 1000 for r in rs]),
                "errors": sum(r.errors for r in rs),
                "busy_503": sum(r.busy for r in rs),
                "error_kinds": dict(sum((r.error_kinds for r in rs), Counter())),
                "first_to_last_quarter": [
                    round(med([r.slice_rates[0] for r in rs]), 1),
                    round(med([r.slice_rates[-1] for r in rs]), 1),
                ],
                "server_cores": med([r.server_cpu / r.wall for r in rs]),
                "server_cpu_ms_per_ballot": med([1000 * r.server_cpu / max(r.ok, 1) for r in rs]),
                "server_sys_share": med([r.server_sys / max(r.server_cpu, 1e-9) for r in rs]),
                "server_switches_per_ballot": med([r.switches / max(r.ok, 1) for r in rs]),
                "pg_cores": med([r.pg_cpu / r.wall for r in rs]),
                "client_cores": med([r.client_cpu / r.wall for r in rs]),
                "machine_cores": med([r.machine_cpu / r.wall for r in rs]),
                "other_cores": med(
                    [(r.machine_cpu - r.server_cpu - r.pg_cpu - r.client_cpu) / r.wall for r in rs]
                ),
                "receipts_checked": sum(r.receipts_checked for r in rs),
                "on_board": sum(r.on_board for r in rs),
                "receipt_problems": [p for r in rs for p in r.receipt_problems][:10],
                "wall_s": [round(r.wall, 2) for r in rs],
            }
        )
    return rows


def print_report(
    facts: dict[str, Any],
    args: argparse.Namespace,
    rows: list[dict[str, Any]],
    profiles: dict[str, dict[str, Any]],
    breakdowns: dict[str, dict[str, Any]],
    elapsed: float,
) -> None:
    print("# Cast throughput (bench/bench_cast.py)")
    print()
    for k, v in facts.items():
        print(f"{k:>20}: {v}")
    print(f"{'command':>20}: {' '.join([sys.executable, *sys.argv])}")
    print(
        f"{'shape':>20}: {args.shape} ({args.group}), {args.ballots} ballots a run, "
        f"median of {args.repeat}"
    )
    print(f"{'elapsed':>20}: {elapsed:.0f} s, load {os.getloadavg()[0]:.2f} at the end")
    print()
    if rows:
        head = (
            "store",
            "conn",
            "ballots/s",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "max ms",
            "errors",
            "503s",
            "Q1→Q4 /s",
            "srv cores",
            "srv ms/b",
            "pg cores",
            "client",
            "others",
            "sys %",
            "switches/b",
            "on board",
        )
        print("| " + " | ".join(head) + " |")
        print("|" + "|".join("---" for _ in head) + "|")
        for r in rows:
            q1, q4 = r["first_to_last_quarter"]
            cells = (
                r["store"],
                r["concurrency"],
                f"{r['ballots_per_s']:.1f}",
                f"{r['p50_ms']:.1f}",
                f"{r['p95_ms']:.1f}",
                f"{r['p99_ms']:.1f}",
                f"{r['max_ms']:.0f}",
                r["errors"],
                r["busy_503"],
                f"{q1:.0f}→{q4:.0f}",
                f"{r['server_cores']:.2f}",
                f"{r['server_cpu_ms_per_ballot']:.2f}",
                f"{r['pg_cores']:.2f}" if r["store"] == "postgresql" else "-",
                f"{r['client_cores']:.2f}",
                f"{r['other_cores']:.2f}",
                f"{100 * r['server_sys_share']:.0f}",
                f"{r['server_switches_per_ballot']:.0f}",
                f"{r['on_board']}/{r['receipts_checked']}",
            )
            print("| " + " | ".join(str(c) for c in cells) + " |")
        print()
        for r in rows:
            print(
                f"{r['store']} c={r['concurrency']}: runs {r['ballots_per_s_runs']} ballots/s, "
                f"wall {r['wall_s']} s"
            )
            if r["error_kinds"]:
                print(f"  errors: {r['error_kinds']}")
            if r["receipt_problems"]:
                print(f"  receipt problems: {r['receipt_problems']}")
        best = {
            s: max((r for r in rows if r["store"] == s), key=lambda r: r["ballots_per_s"])
            for s in {r["store"] for r in rows}
        }
        print()
        for s, r in sorted(best.items()):
            print(
                f"issue 6 ({s}): best {r['ballots_per_s']:.0f} ballots/s at {r['concurrency']} "
                f"connections = {100 * r['ballots_per_s'] / TARGET_RATE:.0f}% of "
                f"{TARGET_RATE:.0f}; "
                f"p99 {r['p99_ms']:.0f} ms against {TARGET_P99_MS:.0f}"
            )
    for name, b in breakdowns.items():
        print()
        print(
            f"## locked section in process, {name}: {b['locked_wall_ms']:.2f} ms per ballot "
            f"({b['locked_cpu_ms']:.2f} ms CPU): at most {b['ceiling_ballots_per_s']} ballots/s "
            "through one referendum lock, whatever the HTTP side does"
        )
        print("| step | under the lock | wall ms | CPU ms | first tenth | last tenth |")
        print("|---|---|---:|---:|---:|---:|")
        for step, v in b["steps"].items():
            print(
                f"| {step} | {'yes' if v['locked'] else ''} | {v['wall_ms']:.3f} | "
                f"{v['cpu_ms']:.3f} | {v['first_tenth_ms']:.3f} | {v['last_tenth_ms']:.3f} |"
            )
    for name, p in profiles.items():
        print()
        if "error" in p:
            print(f"## profile {name}: py-spy failed: {p['error']}")
            continue
        print(
            f"## profile {name}: {p['ballots']} ballots in {p['wall_s']} s under py-spy "
            f"({p['ballots_per_s_under_profiler']} ballots/s, sampled at "
            f"{p['effective_rate_hz']} Hz)"
        )
        per = p["per_wall_second"]
        if p["mode"] == "wall":
            print(
                f"referendum lock held {100 * per.get('locked', 0):.0f}% of the run; "
                f"{per.get('waiting', 0):.1f} requests parked on it on average"
            )
        else:
            print(
                f"GIL held {100 * sum(per.values()):.0f}% of the run: "
                f"{100 * per.get('locked', 0):.0f}% inside the referendum lock, "
                f"{100 * per.get('outside', 0):.0f}% outside it, "
                f"{100 * per.get('waiting', 0):.0f}% in cast_ballot's own lines"
            )
        for area in ("locked", "outside"):
            items = p["ms_per_ballot"].get(area, {})
            if not items:
                continue
            print(f"  {area} ({sum(items.values()):.2f} ms per ballot):")
            for k, v in list(items.items())[:12]:
                print(f"    {v:6.2f} ms  {k}")
        if p["mode"] == "wall":
            print("  hottest lines inside the lock (ms per ballot):")
            for k, v in list(p["locked_leaf_lines_ms_per_ballot"].items())[:8]:
                print(f"    {v:6.2f} ms  {k}")
        print(f"  raw stacks: {p.get('file')}")


# --- main -------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--stores",
        default="sqlite,postgresql",
        help="comma-separated: sqlite, postgresql (default both)",
    )
    ap.add_argument(
        "--concurrency", default="32", help="comma-separated connection counts (default 32)"
    )
    ap.add_argument("--sweep", action="store_true", help=f"concurrency {','.join(map(str, SWEEP))}")
    ap.add_argument("--ballots", type=int, default=1000, help="ballots per run (default 1000)")
    ap.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="runs per figure (default 3; 0 with --breakdown or --profile runs only those)",
    )
    ap.add_argument(
        "--shape",
        choices=("yesno", "demo"),
        default="yesno",
        help="yesno: one yes/no question per region (issue 6); demo: built-in",
    )
    ap.add_argument("--group", default="ristretto255")
    ap.add_argument(
        "--profile",
        action="store_true",
        help="per store, two extra runs under py-spy (--idle and --gil)",
    )
    ap.add_argument("--profile-rate", type=int, default=250)
    ap.add_argument(
        "--breakdown",
        action="store_true",
        help="also time the locked section step by step in this process (no HTTP)",
    )
    ap.add_argument("--keep", action="store_true", help="keep the servers' data folders")
    ap.add_argument("--json", action="store_true", help="figures as JSON on stdout")
    args = ap.parse_args(argv)

    stores = [s.strip() for s in args.stores.split(",") if s.strip()]
    if set(stores) - {"sqlite", "postgresql"}:
        ap.error("--stores: sqlite and/or postgresql")
    levels = list(SWEEP) if args.sweep else [int(x) for x in args.concurrency.split(",")]
    if args.repeat < 0 or args.ballots < 1:
        ap.error("--repeat must be >= 0 and --ballots >= 1")
    if args.profile and not Path(sys.executable).with_name("py-spy").exists():
        ap.error("--profile needs py-spy in the venv: .venv/bin/pip install py-spy")

    facts = machine_facts()
    t0 = time.perf_counter()
    workroot = Path(tempfile.mkdtemp(prefix="plebiscite-bench-cast-"))
    manifest_path = workroot / "referendum.json"
    manifest_path.write_text(json.dumps(shape_manifest(args.shape, args.group)))
    cluster = None
    database: str | None = None
    pg_pid: int | None = None
    results: list[Result] = []
    profiles: dict[str, dict[str, Any]] = {}
    breakdowns: dict[str, dict[str, Any]] = {}
    try:
        if "postgresql" in stores:
            sys.path.insert(0, str(REPO / "tests"))
            from pgcluster import PostgresCluster

            cluster = PostgresCluster(prefix="plebiscite-bench-pg-")
            database = cluster.start()
            with suppress(OSError, ValueError):
                pg_pid = int((cluster.datadir / "postmaster.pid").read_text().split()[0])
            log(f"PostgreSQL cluster at {cluster.base} (postmaster {pg_pid})")
        plan = []
        for r in range(args.repeat):
            order = [(s, c) for s in stores for c in levels]
            plan += [(r, s, c) for s, c in (order if r % 2 == 0 else order[::-1])]
        for k, (r, s, c) in enumerate(plan, 1):
            log(f"[{k}/{len(plan)}] repeat {r + 1}: {s}, {c} connections, {args.ballots} ballots")
            res, _ = run_once(
                s,
                database if s == "postgresql" else None,
                pg_pid if s == "postgresql" else None,
                c,
                args,
                manifest_path,
                workroot,
            )
            log(
                f"    {res.rate:.1f} ballots/s, p50 {res.pct(50):.0f} ms, p99 {res.pct(99):.0f} "
                f"ms, errors {res.errors}, 503s {res.busy}, "
                f"server {res.server_cpu / res.wall:.2f} cores, "
                f"setup {res.setup_s:.0f} s, receipts {res.on_board}/{res.receipts_checked}"
            )
            results.append(res)
        if args.breakdown:
            for s in stores:
                log(f"breakdown {s}: the locked section, in process, {args.ballots} ballots")
                breakdowns[s] = lock_breakdown(
                    s,
                    database if s == "postgresql" else None,
                    manifest_path,
                    args.ballots,
                    workroot,
                )
        if args.profile:
            for s in stores:
                for mode in ("wall", "gil"):
                    log(f"profile {s}, {max(levels)} connections, py-spy ({mode})")
                    res, prof = run_once(
                        s,
                        database if s == "postgresql" else None,
                        pg_pid if s == "postgresql" else None,
                        max(levels),
                        args,
                        manifest_path,
                        workroot,
                        profile=mode,
                    )
                    log(f"    {res.rate:.1f} ballots/s under py-spy, errors {res.errors}")
                    if prof is not None:
                        prof["ballots_per_s_under_profiler"] = round(res.rate, 1)
                        profiles[f"{s} {mode}"] = prof
    finally:
        if cluster is not None:
            cluster.stop()
        if not args.keep and not args.profile:
            shutil.rmtree(workroot, ignore_errors=True)
    rows = summarise(results)
    elapsed = time.perf_counter() - t0
    if args.json:
        json.dump(
            {
                "machine": facts,
                "args": vars(args),
                "rows": rows,
                "profiles": profiles,
                "breakdowns": breakdowns,
                "elapsed_s": round(elapsed, 1),
            },
            sys.stdout,
            indent=1,
            default=str,
        )
        print()
    else:
        print_report(facts, args, rows, profiles, breakdowns, elapsed)
    bad = any(
        r["errors"] or r["receipt_problems"] or r["on_board"] != r["receipts_checked"] for r in rows
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
