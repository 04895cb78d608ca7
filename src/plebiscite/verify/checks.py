"""The verifier's numbered checks.

The verifier re-derives everything from the record with ``crypto/``, ``record/`` and
``board/`` only; it never imports the producing side (``election/``), so a bug there
cannot hide itself. Each check returns data; a check whose inputs are missing because
an earlier check failed is reported as failed ("cannot run"), never as passed.

The record is read as a stream, so memory stays bounded by the voters, not by the
ballots' bytes:

1. *Scan* (this process, no cryptography): every line's Merkle leaf hash, and every
   entry but the ballots parsed and kept (ceremony, lists, tally, shares: a few).
   Ballot lines are recognised by their canonical ending and skipped.
2. The checks that need only those entries (V04, V07-V10) establish the referendum
   file, the joint key, the context hash and the credential lists.
3. *Walk*: the file is read again; ballot lines go in batches of ``BATCH`` to workers
   (``verify/ballots.py`` ``check_lines``: parse, signature, proofs, tracking code, and
   the product of the ciphertexts of the ballots in the counting window), a bounded
   number in flight. Their small per-ballot fields come back and are merged in log
   order with the other entries, for the checks that follow the board in order (V01,
   V02, V05, V06, V12, V14-V16) and for forensics. Only per-credential state is kept.
4. Revoted ballots (and any that does not extend its credential's revote chain) were
   multiplied into the batch products too; their ciphertexts are read once more and
   divided out, which leaves the product of the counted ballots (V17).
"""

from __future__ import annotations

import contextlib
import math
import os
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from plebiscite.board.checkpoint import Checkpoint, verify_checkpoint
from plebiscite.board.cosign import Cosignature, trusted_by, verify_cosignature
from plebiscite.board.merkle import MerkleTree, leaf_hash
from plebiscite.crypto import threshold
from plebiscite.crypto.elgamal import Ciphertext
from plebiscite.crypto.group import Element, Group, GroupError, get_group
from plebiscite.record import codec
from plebiscite.record.canonical import CanonicalError, canonical_bytes, json_equal, loads
from plebiscite.record.entries import (
    ENTRY_TYPES,
    PHASES,
    Entry,
    EntryError,
    b64decode,
    election_id_of,
    format_time,
    parse_entry,
    parse_entry_time,
    verify_entry_signature,
)
from plebiscite.record.manifest import (
    Manifest,
    ManifestError,
    guardian_ids,
    jurisdiction_problems,
    max_skew_s,
    observers,
    parse_observer,
    pinned_authority_key,
    pinned_guardian_key,
    quorum_witnesses,
    witness_keys,
    witness_quorum,
)
from plebiscite.record.protocol import RevoteChains, context_hash, dispute_problem
from plebiscite.record.vocab import (
    FormatError,
    decryption_share_problems,
    guardian_key_problems,
    guardian_ready_problems,
    parse_credential_list,
    parse_decryption_share,
    parse_guardian_key,
    parse_guardian_ready,
    parse_guardian_shares,
    parse_referendum,
)
from plebiscite.verify.ballots import (
    BallotContext,
    BallotFinding,
    BallotLine,
    LineResult,
    LineWork,
    Product,
    check_challenged,
    check_lines,
    entry_micros,
    product_lines,
)
from plebiscite.verify.reader import RawRecord, RecordError
from plebiscite.verify.report import (
    CannotRun,
    CheckResult,
    CheckSpec,
    NotApplicable,
    Pending,
    Report,
    Status,
    run_check,
)

if TYPE_CHECKING:
    from plebiscite.verify.forensics import Accumulator

# Mapping: ElectionGuard Design Specification v2.1.0, section 6.2 verification steps;
# the checks `belenios-tool election verify` makes (Belenios 2.x sources).
_S = CheckSpec
# fmt: off
CHECKS: list[CheckSpec] = [
    _S("V01", "Entries are well-formed and start with one referendum", "-",
       "fsck; check_rawballot NonCanonical"),
    _S("V02", "Checkpoints are signed by the board and match the entries", "-",
       "archive chain (event hashes)"),
    _S("V03", "The final checkpoint covers every entry", "-", "archive chain (last event)"),
    _S("V04", "The referendum file is valid",
       "1 (parameter validation; 1.B-1.D by group name)", "election.json well-formed"),
    _S("V05", "Every entry is signed by the party that vouches for it", "-",
       "signed ballots, trustee keys"),
    _S("V06", "Entries follow the protocol's order", "-", "-"),
    _S("V07", "Guardian commitments carry valid proofs of knowledge",
       "2 (2.A-2.C guardian public-key validation)",
       "trustee public keys / threshold certificates"),
    _S("V08", "Every guardian distributed shares and proved its key share",
       "- (guardians verify shares, section 3.2.2; cf. Note 3.7)",
       "threshold verification keys (check_pedersen)"),
    _S("V09", "Joint key and context hash recomputed",
       "3, 4 (election public key; extended base hash)", "election public key"),
    _S("V10", "Credential lists: one per region, signed, no duplicates", "-",
       "public credentials and weights"),
    _S("V11", "Ballots are well-formed, with valid group elements",
       "6.A-6.C, 7.A-7.C (membership, ranges)", "canonical ballots"),
    _S("V12", "Ballots use listed credentials of their region", "-", "ballot credential in list"),
    _S("V13", "Ballot proofs: each option 0 or 1, each question in min..max",
       "6, 7 (well-formedness of selection encryptions; adherence to vote limits)",
       "individual and overall proofs"),
    _S("V14", "Tracking codes match and never repeat", "8, 5.A (confirmation codes; uniqueness)",
       "ballot hashes unique"),
    _S("V15", "Ballots lie inside the voting window", "-", "-"),
    _S("V16", "One counted ballot per credential; turnout within credentials", "-",
       "last ballot per credential"),
    _S("V17", "The tally is the product of the counted ballots", "9 (ballot aggregation)",
       "encrypted tally (recomputed)"),
    _S("V18", "Decryption shares carry valid proofs from a quorum",
       "10.A-10.B (decryption proofs, per guardian as in Note 3.7)", "partial decryptions"),
    _S("V19", "The result is the decryption of the tally",
       "10.C, 11 (decrypted value; tally contents)", "result"),
    _S("V20", "Challenged ballots open to valid choices",
       "13, 14 (challenged ballots: decryption; well-formedness and content)", "-"),
    _S("V21", "Guardians meet the jurisdiction rules", "-", "-"),
    _S("V22", "Witness quorums: timely on the open and close, and on the final checkpoint",
       "-", "-"),
    _S("V23", "Every role is enrolled: pinned keys, no key in two roles", "-",
       "trustee and credential-authority keys in the election's setup"),
]
# fmt: on
TITLES = {c.id: c.title for c in CHECKS}

BATCH = 64  # ballots per task
IN_FLIGHT = 4  # tasks in flight per worker (back-pressure: bounded memory)
DETAILS = 50  # details kept per check (the report shows no more)
# A ballot entry's canonical line ends so (keys are sorted, "type" is last): the scan
# skips such lines, the workers parse them (and report any that is not an entry).
BALLOT_TAIL = b'"type":"ballot"}'
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _short(code: Any) -> str:
    return "null" if code is None else f"{str(code)[:16]}…"


def _time_text(us: int) -> str:
    return format_time(_EPOCH + timedelta(microseconds=us))


@dataclass
class State:
    raw: RawRecord
    # Every entry in log order, None where a line is not an entry. A ballot's place is
    # None too unless the verifier keeps entries (``keep_entries``): ballots are
    # checked in workers and only their small fields come back.
    entries: list[Entry | None] = field(default_factory=list)
    by_type: dict[str, list[int]] = field(default_factory=dict)  # indices, ballots aside
    ballots: int = 0  # ballot entries (lines that parse)
    manifest: Manifest | None = None
    referendum: Entry | None = None
    election_id: str = ""
    board_key: bytes = b""
    demo: bool = False  # the referendum entry says it is a demo (roles may be unpinned)
    group: Group | None = None
    commitments: dict[str, list[Element]] = field(default_factory=dict)
    indices: dict[str, int] = field(default_factory=dict)
    verification_keys: dict[str, Element] = field(default_factory=dict)
    joint_key: Element | None = None
    context: bytes | None = None
    credentials: dict[str, set[str]] = field(default_factory=dict)
    # the first DETAILS findings of each kind ("wellformed", "proofs", "tracking")
    ballot_findings: list[BallotFinding] | None = None
    # credential -> (index, region) of its last ballot before the close
    counted: dict[str, tuple[int, str]] = field(default_factory=dict)
    tally: dict[str, dict[str, dict[str, Ciphertext]]] | None = None
    tally_index: int | None = None
    results: dict[str, Any] | None = None
    forensic: Accumulator | None = None  # per-region figures, fed by the walk

    def of_type(self, t: str) -> list[tuple[int, Entry]]:
        if self.by_type:
            out = []
            for i in self.by_type.get(t, ()):
                e = self.entries[i]
                if e is not None:
                    out.append((i, e))
            return out
        return [(i, e) for i, e in enumerate(self.entries) if e is not None and e.type == t]

    def first(self, t: str) -> int | None:
        found = self.of_type(t)
        return found[0][0] if found else None

    def need_manifest(self) -> Manifest:
        if self.manifest is None or self.group is None:
            raise CannotRun("no valid referendum file (V04)")
        return self.manifest

    def need_group(self) -> Group:
        self.need_manifest()
        assert self.group is not None
        return self.group

    def need_context(self) -> tuple[bytes, Element]:
        if self.context is None or self.joint_key is None:
            raise CannotRun("no valid election context (V09)")
        return self.context, self.joint_key


# --- where the ballot batches run ------------------------------------------------------


class _InProcess:
    limit = 1
    scale = 1  # ballots per task: BATCH times this

    def submit(self, fn: Callable[..., Any], work: LineWork, batch: Any) -> Any:
        return fn(work, batch)

    def result(self, handle: Any) -> Any:
        return handle

    def close(self) -> None:
        pass


class _Processes:
    """Local worker processes, forked at once while this process is still small."""

    def __init__(self, workers: int) -> None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self.pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))
        self.pool.submit(int)  # starts every worker now
        self.limit = IN_FLIGHT * workers
        self.scale = 1

    def submit(self, fn: Callable[..., Any], work: LineWork, batch: Any) -> Any:
        return self.pool.submit(fn, work, batch)

    def result(self, handle: Any) -> Any:
        return handle.result()

    def close(self) -> None:
        self.pool.shutdown(cancel_futures=True)


class _Dask:
    """A Dask cluster: the work description scattered to every worker once, one task
    per batch."""

    def __init__(self, scheduler: str) -> None:
        import socket

        import dask.config
        import distributed  # lazily: only with a scheduler
        from distributed.comm.addressing import get_address_host_port

        dd: Any = distributed  # untyped
        # Dask keeps the last 1,000 messages to the scheduler for debugging; ours carry
        # 64 ballot lines each, over 100 MB in all.
        dask.config.set({"distributed.admin.low-level-log-length": 0})
        try:  # a quick probe first: a Client that fails to connect retries till its
            # timeout, then complains again on stderr when it is collected
            socket.create_connection(get_address_host_port(scheduler), timeout=5).close()
            client = dd.Client(scheduler, timeout=10, set_as_default=False)
        except (OSError, ValueError) as exc:
            raise ConnectionError(f"cannot reach scheduler {scheduler!r}: {exc}") from None
        try:
            client.wait_for_workers(1, timeout=60)
        except (OSError, TimeoutError) as exc:
            client.close()
            raise ConnectionError(f"no worker joined scheduler {scheduler!r}") from exc
        self.client = client
        self.limit = IN_FLIGHT * max(1, sum(client.nthreads().values()))
        # A task costs the scheduler, the client and the worker a few milliseconds
        # whatever its size: 512 ballots per task keep that a small share of the work
        # (bench_scale, 10,000 ristretto255 ballots: 0.86 of local-2's throughput,
        # against 0.73 with 64 per task).
        self.scale = 8
        self._scattered: dict[int, tuple[LineWork, Any]] = {}

    def submit(self, fn: Callable[..., Any], work: LineWork, batch: Any) -> Any:
        got = self._scattered.get(id(work))
        if got is None:
            got = (work, self.client.scatter(work, broadcast=True, hash=False))
            self._scattered[id(work)] = got
        return self.client.submit(fn, got[1], batch, pure=False)

    def result(self, handle: Any) -> Any:
        out = handle.result()
        handle.release()
        return out

    def close(self) -> None:
        self.client.close()


Runner = _InProcess | _Processes | _Dask


@dataclass
class _Segment:
    """A stretch of the log: its ballot lines (one batch) and the other entries' indices."""

    ballots: list[tuple[int, bytes]] = field(default_factory=list)
    others: list[int] = field(default_factory=list)


class _Walk:
    """The second pass: every entry in log order, ballots checked in batches elsewhere.
    Gathers each in-order check's findings (at most DETAILS each) and the per-credential
    state. ``full`` False: only parsing and times (V01, V02), as ``load_board`` needs."""

    def __init__(self, v: Verifier, full: bool, runner: Runner) -> None:
        s = self.s = v.s
        self.v, self.full, self.runner = v, full, runner
        self.p: dict[str, list[str]] = {
            c: [] for c in ("V01", "V02", "V05", "V06", "V12", "V15", "V16")
        }
        self.findings: dict[str, list[str]] = {"wellformed": [], "proofs": [], "tracking": []}
        self.kept_findings: list[BallotFinding] = []
        self.bad: set[int] = set()  # ballots V11 finds malformed
        self.undecodable: set[int] = set()  # counting ballots that would not decode (no V11)
        self.last_time: int | None = None
        self.intervals = v._intervals or []
        self.k = 0  # the interval the walk is in
        n = len(s.entries)
        self.m = m = s.manifest if full and s.group is not None else None
        self.opens_at, self.close_at = s.first("open"), s.first("close")
        # V14: tracking codes of ballots and challenged ballots
        self.codes: set[Any] = set()
        self.repeats: dict[str, int] = {}
        # V06: the close entries' ballot counts; V16/V17: the counting window
        self.closes: dict[int, int] = {}
        self.window: tuple[int, int] | None = None
        # V16: each credential's revote chain; the window's ballots that do not count
        # (replaced by a later one, or not extending the chain), divided out for V17
        self.chains = RevoteChains()
        self.superseded: list[int] = []
        self.plus: dict[tuple[str, str, str], tuple[Element, Element]] = {}
        self.minus: dict[tuple[str, str, str], tuple[Element, Element]] = {}
        work = LineWork(None, None, None, None, None, v.keep_entries)
        if v.keep_entries:
            s.by_type.pop("ballot", None)
        if m is not None:
            from plebiscite.verify.forensics import Accumulator

            g = s.group
            assert g is not None
            s.forensic = Accumulator(m, self.opens_at, self.close_at, n)
            s.counted = {}
            self.phase = -1
            self.opened = min(s.by_type.get("open", [n]))
            self.closed = min(s.by_type.get("close", [n]))
            self.accredited = set(observers(m))
            self.opens_us, self.closes_us = entry_micros(m.opens), entry_micros(m.closes)
            self._v05_setup(m)
            if self.close_at is not None:
                start = self.opens_at if self.opens_at is not None else self.close_at
                if len(s.by_type.get("tally", [])) == 1:
                    self.window = (start, self.close_at)
                self.start = start
            bctx = None
            if s.context is not None and s.joint_key is not None:
                bctx = BallotContext(g.name, m.raw, s.context.hex(), s.joint_key.hex())
            work = LineWork(g.name, m.raw, s.election_id, bctx, self.window, v.keep_entries)
        self.work = work

    # -- driving --------------------------------------------------------------------------

    def run(self, total: int) -> None:
        s, runner = self.s, self.runner
        batch = BATCH * runner.scale  # read now: tests shrink it
        pending: deque[tuple[_Segment, Any]] = deque()
        done = 0

        def consume() -> None:
            nonlocal done
            seg, handle = pending.popleft()
            res = runner.result(handle) if handle is not None else None
            self._merge(seg, res)
            if seg.ballots:
                done += len(seg.ballots)
                if self.v.progress:
                    self.v.progress(done, total)

        def close(seg: _Segment) -> None:
            handle = runner.submit(check_lines, self.work, seg.ballots) if seg.ballots else None
            pending.append((seg, handle))
            while len(pending) > runner.limit:
                consume()

        seg = _Segment()
        for i, line in enumerate(s.raw.entries):
            if line.endswith(BALLOT_TAIL):
                seg.ballots.append((i, line))
                if len(seg.ballots) >= batch:
                    close(seg)
                    seg = _Segment()
            else:
                seg.others.append(i)
                if len(seg.others) >= 4096:
                    close(seg)
                    seg = _Segment()
        close(seg)
        while pending:
            consume()
        if self.window is not None:
            self._divide_out_revotes(batch)

    def _divide_out_revotes(self, batch: int) -> None:
        """The batch products hold every ballot in the window; divide out the ballots a
        later ballot of the same credential replaced, and those that do not extend
        their credential's chain (read from the file once more)."""
        drop = sorted(set(self.superseded) - self.bad - self.undecodable)
        self.superseded = []
        if not drop:
            return
        runner, pending = self.runner, deque[Any]()
        k, items = 0, []
        for i, line in enumerate(self.s.raw.entries):
            if k < len(drop) and i == drop[k]:
                items.append((i, line))
                k += 1
                if len(items) >= batch or k == len(drop):
                    pending.append(runner.submit(product_lines, self.work, items))
                    items = []
                    while len(pending) > runner.limit:
                        self._multiply(self.minus, runner.result(pending.popleft())[0])
                if k == len(drop):
                    break
        while pending:
            self._multiply(self.minus, runner.result(pending.popleft())[0])

    def _multiply(self, into: dict[tuple[str, str, str], Any], product: Product) -> None:
        g = self.s.group
        assert g is not None
        for r, qs in product.items():
            for q, slots in qs.items():
                for slot, (a_hex, b_hex) in slots.items():
                    # Elements the workers computed from checked ballots: no new test.
                    a = g.element_from_hex(a_hex, member_check=False)
                    b = g.element_from_hex(b_hex, member_check=False)
                    k = (r, q, slot)
                    if k in into:
                        a0, b0 = into[k]
                        a, b = g.mul(a0, a), g.mul(b0, b)
                    into[k] = (a, b)

    def _merge(self, seg: _Segment, res: LineResult | None) -> None:
        ballots = res.ballots if res is not None else []
        others = seg.others
        bi = oi = 0
        while bi < len(ballots) or oi < len(others):
            if oi < len(others) and (bi == len(ballots) or others[oi] < ballots[bi].at):
                self._other(others[oi])
                oi += 1
            else:
                self._ballot(ballots[bi])
                bi += 1
        if res is None:
            return
        for f in res.findings:
            if f.kind == "wellformed":
                self.bad.add(f.index)
            kept = self.findings.setdefault(f.kind, [])
            if len(kept) < DETAILS:
                kept.append(f"entry {f.index}: {f.message}")
                self.kept_findings.append(f)
        self.undecodable.update(res.undecodable)
        if res.product:
            self._multiply(self.plus, res.product)
        if res.entries is not None:
            for i, e in res.entries:
                self.s.entries[i] = e
                self.s.by_type.setdefault("ballot", []).append(i)

    def _add(self, check: str, message: str) -> None:
        kept = self.p[check]
        if len(kept) < DETAILS:
            kept.append(message)

    # -- one entry ------------------------------------------------------------------------

    def _time(self, i: int, when: int, text: str | None) -> None:
        """V01: times never go backwards; V02: the covering checkpoints bound them."""
        if self.last_time is not None and when < self.last_time:
            self._add("V01", f"entry {i}: time goes backwards")
        self.last_time = when
        iv = self.intervals
        while self.k < len(iv) and iv[self.k][1] <= i:
            self.k += 1
        if self.k < len(iv) and iv[self.k][0] <= i:
            _, _, lo, hi = iv[self.k]
            if when > hi or (lo is not None and when < lo):
                shown = text or _time_text(when)
                self._add("V02", f"entry {i}: time {shown} outside its checkpoints' times")

    def _code(self, code: Any) -> None:
        """V14: a tracking code seen twice (kept as 32 bytes when it is lowercase hex)."""
        text = str(code)
        key: Any = text
        if len(text) == 64:
            try:
                raw = bytes.fromhex(text)
                if raw.hex() == text:
                    key = raw
            except ValueError:
                pass
        if key in self.codes:
            self.repeats[text] = self.repeats.get(text, 1) + 1
        else:
            self.codes.add(key)

    def _other(self, i: int) -> None:
        s = self.s
        e = s.entries[i]
        if e is None:
            hole = self.v._holes.get(i)
            if hole is not None:
                self._add("V01", hole)
            return
        self._time(i, entry_micros(e.when), e.time)
        if not self.full:
            return
        if e.type == "challenged_ballot":
            self._code(e.data.get("tracking_code"))
        m = self.m
        if m is None:
            return
        self._v05_other(i, e)
        self._v06_other(i, e)
        if e.type == "close":
            self.closes[i] = s.ballots
        acc = s.forensic
        assert acc is not None
        if e.type == "voter_roll":
            acc.voter_roll(e.data)
        acc.add(i, e.type, e.data.get("region"), e.data.get("credential"), entry_micros(e.when))

    def _ballot(self, b: BallotLine) -> None:
        s, i = self.s, b.at
        if b.when is None:
            if b.error:
                self._add("V01", b.error)
            return
        s.ballots += 1
        self._time(i, b.when, None)
        if not self.full:
            return
        self._code(b.tracking_code)
        if self.m is None:
            return
        if b.signature:
            self._add("V05", b.signature)
        if self.phase > 6:  # V06: ballots are phase 6
            self._add("V06", f"entry {i} (ballot) comes after a later phase")
        self.phase = max(self.phase, 6)
        r, c = b.region, b.credential
        # V12
        listed = s.credentials.get(r, set()) if isinstance(r, str) else set()
        if not isinstance(c, str) or c not in listed:
            self._add("V12", f"entry {i}: credential not in the list of region {r!r}")
        # V15
        lo, hi = self.opens_at, self.close_at
        if lo is None or i < lo:
            self._add("V15", f"entry {i}: ballot before the open entry")
        elif hi is not None and i > hi:
            self._add("V15", f"entry {i}: ballot after the close entry")
        elif not self.opens_us <= b.when <= self.closes_us:
            self._add(
                "V15", f"entry {i}: ballot cast at {_time_text(b.when)}, outside the voting window"
            )
        # V16: revotes are a chain (each ballot replaces its credential's head); of each
        # chain, the last ballot between open and close counts
        key = str(c)
        counting = hi is not None and self.start < i < hi
        if not self.chains.extend(key, b.replaces, str(b.tracking_code)):
            head = self.chains.head(key)
            self._add(
                "V16",
                f"entry {i}: ballot does not extend its credential's chain (it replaces "
                f"{_short(b.replaces)}, the head is {_short(head)})",
            )
            if counting:
                self.superseded.append(i)
        elif counting:
            before = s.counted.get(key)
            if before is not None:
                self.superseded.append(before[0])
            s.counted[key] = (i, str(r))
        acc = s.forensic
        assert acc is not None
        acc.add(i, "ballot", r, c, b.when)

    # -- V05 and V06 for the entries the scan kept ---------------------------------------

    def _v05_setup(self, m: Manifest) -> None:
        s = self.s
        self.board = s.referendum.data["board_key"] if s.referendum else None
        self.guardian_keys: dict[str, str] = {}
        for _, ke in s.of_type("guardian_key"):
            gid = ke.data.get("guardian")
            if isinstance(gid, str) and gid not in self.guardian_keys and ke.signer:
                self.guardian_keys[gid] = ke.signer
        # The authority's key: pinned, or (a demo) the first list's signer, which may not
        # be the board's or a guardian's: the organiser is never its own authority.
        self.ca_key = pinned_authority_key(m)
        if self.ca_key is None:
            first = next((ce.signer for _, ce in s.of_type("credential_list")), None)
            taken = set(self.guardian_keys.values()) | {self.board}
            taken |= {pinned_guardian_key(m, x) for x in guardian_ids(m)}
            self.ca_key = first if first not in taken else None
        self.dispute_signers: set[str] | None = None  # computed at the first dispute

    def _v05_other(self, i: int, e: Entry) -> None:
        s, m = self.s, self.m
        assert m is not None
        if e.type == "challenged_ballot":
            if e.signer is not None:
                self._add("V05", f"entry {i}: a challenged ballot must be anonymous")
            return
        if ENTRY_TYPES.get(e.type) == "organiser":
            expected = self.board
        elif e.type.startswith("guardian_") or e.type == "decryption_share":
            gid = e.data.get("guardian")
            expected = pinned_guardian_key(m, gid) if isinstance(gid, str) else None
            expected = expected or self.guardian_keys.get(gid) if isinstance(gid, str) else None
        elif e.type == "credential_list":
            expected = self.ca_key
        elif e.type == "dispute":
            # A voter signs with a listed credential, an observer with its key.
            if self.dispute_signers is None:
                self.dispute_signers = set(self.v.witnesses().values())
                for _, cl in s.of_type("credential_list"):
                    if isinstance(cl.data.get("credentials"), list):
                        self.dispute_signers |= {str(c) for c in cl.data["credentials"]}
            expected = e.signer if e.signer in self.dispute_signers else None
        else:  # pragma: no cover - closed set (ballots are checked in the workers)
            expected = None
        if expected is None or e.signer != expected:
            self._add("V05", f"entry {i} ({e.type}): not signed by the party that vouches for it")
            return
        eid = "" if e.type == "referendum" else s.election_id
        if not verify_entry_signature(e, eid):
            self._add("V05", f"entry {i} ({e.type}): invalid signature")

    def _v06_other(self, i: int, e: Entry) -> None:
        m = self.m
        assert m is not None
        if e.type == "credential_list":
            # The authority may post its lists any time before voting opens.
            if i > self.opened:
                self._add("V06", f"entry {i} (credential_list) comes after the open entry")
            return
        if e.type == "observer_accreditation":
            try:
                obs = parse_observer(e.data.get("observer"), f"entry {i} observer")
                if set(e.data) != {"observer"} or obs["id"] in self.accredited:
                    raise ManifestError(f"entry {i}: observer declared twice or malformed")
                self.accredited.add(obs["id"])
            except ManifestError as exc:
                self._add("V06", str(exc))
            return
        if e.type == "dispute":
            problem = dispute_problem(e.data, m.regions)
            if problem:
                self._add("V06", f"entry {i} (dispute): {problem}")
            return
        if e.type == "voter_roll":
            # The organiser may add voters to the roll until the close.
            if i > self.closed:
                self._add("V06", f"entry {i} (voter_roll) comes after the close entry")
            regions = e.data.get("regions")
            if (
                set(e.data) != {"regions"}
                or not isinstance(regions, dict)
                or not regions
                or any(r not in m.regions for r in regions)
                or any(
                    isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in regions.values()
                )
            ):
                self._add("V06", f"entry {i} (voter_roll): malformed")
            return
        p = PHASES[e.type]
        assert p is not None  # the types without a phase are handled above
        if p < self.phase:
            self._add("V06", f"entry {i} ({e.type}) comes after a later phase")
        self.phase = max(self.phase, p)


class Verifier:
    def __init__(self, raw: RawRecord, workers: int = 1, keep_entries: bool = True) -> None:
        self.s = State(raw)
        self.workers = max(1, workers)
        self.progress: Callable[[int, int], None] | None = None
        self.scheduler: str | None = None  # a Dask scheduler address, or local processes
        # Keep every parsed entry in ``s.entries`` (ballots too); ``verify_record`` does
        # not, so its memory does not grow with the ballots.
        self.keep_entries = keep_entries
        self._outcomes: dict[str, tuple[Status, list[str]]] = {}
        self._scanned = False
        self._ballot_lines = 0
        self._holes: dict[int, str] = {}  # the first lines (not ballots) that do not parse
        self._cps: list[str] | CannotRun | None = None
        self._intervals: list[tuple[int, int, int | None, int]] | None = None
        self._walked: _Walk | None = None
        self._runner: Runner | None = None
        # A board still being written (a role's checked view): checks whose entries are
        # not all posted yet are pending, not failed.
        self.prefix = False
        self.notes: list[str] = []  # said beside the checks (a demo's unpinned roles)

    def run(self) -> Report:
        runner = self._start_runner()
        try:
            self._runner = runner
            self._walk(full=True)
        finally:
            self._runner = None
            runner.close()
        out = []
        for spec in CHECKS:
            status, details = self._outcome(spec.id)
            out.append(CheckResult(spec.id, spec.title, status, details[:DETAILS], spec.references))
        s = self.s
        summary = {
            "entries": len(s.entries),
            "checkpoints": (
                self._checkpoint_lines if isinstance(self._cps, list) else len(s.raw.checkpoints)
            ),
            "ballots": s.ballots,
            "challenged": len(s.of_type("challenged_ballot")),
            "counted": len(s.counted),
            "group": s.group.name if s.group else None,
            "title": s.manifest.title if s.manifest else None,
            "stage": self._stage(),
            "demo": s.demo,
            "notes": self.notes,
        }
        from plebiscite.verify.forensics import forensics

        return Report(out, summary, s.results, forensics(s))

    def run_checks(self, check_ids: list[str]) -> dict[str, tuple[Status, list[str]]]:
        """Run only ``check_ids`` (with the workers or scheduler set), in order; what a
        role runs on the prefix of the board it is about to act on."""
        runner = self._start_runner()
        try:
            self._runner = runner
            return {c: self._outcome(c) for c in check_ids}
        finally:
            self._runner = None
            runner.close()

    def _until_posted(self, problems: list[str], absent: list[str]) -> list[str]:
        """A check's problems, where ``absent`` says what is not posted yet: a failure
        of a finished record, but only pending on a board still being written."""
        if self.prefix and absent and not problems:
            raise Pending(absent[0])
        return problems + absent

    def _pending_after(self, check_id: str) -> None:
        """A check that needs ``check_id``'s entries waits while that one is pending."""
        if self.prefix and self._outcome(check_id)[0] == "pending":
            raise Pending(f"waits for {check_id}")

    def _start_runner(self) -> Runner:
        """Before the scan, so local workers fork while this process is small, and an
        unusable scheduler is reported at once."""
        if self.scheduler:
            return _Dask(self.scheduler)
        if self.workers > 1:
            return _Processes(self.workers)
        return _InProcess()

    def _outcome(self, check_id: str) -> tuple[Status, list[str]]:
        """Run a check once; later calls give the same outcome."""
        got = self._outcomes.get(check_id)
        if got is not None:
            return got
        status, details = run_check(getattr(self, "check_" + check_id.lower()))
        self._outcomes[check_id] = (status, list(details))
        return status, list(details)

    def outcome(self, check_id: str) -> tuple[Status, list[str]]:
        """One check's (status, details), running only what it needs (a party that acts
        on the board runs the checks it relies on, not the whole report)."""
        if check_id not in TITLES:
            raise KeyError(f"no check {check_id}")
        return self._outcome(check_id)

    def _stage(self) -> str:
        """How far the referendum has got, from its latest milestone entry."""
        for t, stage in (
            ("result", "decided"),
            ("tally", "tallied"),
            ("close", "closed"),
            ("open", "voting"),
            ("election_context", "set up"),
        ):
            if self.s.of_type(t):
                return stage
        return "setting up"

    # The two passes -----------------------------------------------------------------------
    def _scan(self) -> None:
        """Pass one: leaf hashes of every line; every entry but the ballots parsed."""
        if self._scanned:
            return
        s = self.s
        tree, hashes = MerkleTree(), []
        entries: list[Entry | None] = []
        by_type: dict[str, list[int]] = {}
        for i, line in enumerate(s.raw.entries):
            hashes.append(leaf_hash(line))
            if len(hashes) >= 4096:
                tree.extend(hashes)
                hashes = []
            if line.endswith(BALLOT_TAIL):
                entries.append(None)
                self._ballot_lines += 1
                continue
            try:
                e = parse_entry(line)
            except EntryError as exc:
                entries.append(None)
                if len(self._holes) < DETAILS:
                    self._holes[i] = f"entry {i}: {exc}"
                continue
            entries.append(e)
            by_type.setdefault(e.type, []).append(i)
        tree.extend(hashes)
        s.entries, s.by_type, self._tree = entries, by_type, tree
        refs = by_type.get("referendum", [])
        if refs and refs[0] == 0:
            s.referendum = entries[0]
        self._scanned = True

    def _walk(self, full: bool) -> _Walk:
        """Pass two (once; again only if a full walk follows a parsing-only one)."""
        w = self._walked
        if w is not None and (w.full or not full):
            return w
        self._scan()
        with contextlib.suppress(CannotRun):  # V02 reports it
            self._read_checkpoints()
        if full:  # what the ballot checks need
            for check_id in ("V04", "V07", "V08", "V09", "V10"):
                self._outcome(check_id)
        runner = self._runner
        batches = math.ceil(self._ballot_lines / BATCH)
        if runner is None or (batches <= 1 and not isinstance(runner, _Dask)):
            runner = _InProcess()
        if full and w is not None:  # start again from a clean state
            self.s.ballots = 0
        w = _Walk(self, full, runner)
        w.run(self._ballot_lines)
        self.s.ballot_findings = w.kept_findings if w.work.ballot_context else None
        self._walked = w
        return w

    # V01 -------------------------------------------------------------------------------
    def check_v01(self) -> list[str]:
        s = self.s
        problems = list(self._walk(full=False).p["V01"])
        refs = s.by_type.get("referendum", [])
        if not refs or refs[0] != 0:
            problems.append("the first entry is not the referendum")
        if len(refs) > 1:
            problems.append(f"{len(refs)} referendum entries")
        return problems

    # V02 -------------------------------------------------------------------------------
    _checkpoint_lines = 0

    def _read_checkpoints(self) -> list[str]:
        """V02's checkpoints: signed, canonical, roots of the entries; and the intervals
        of entries each one first covers, whose times the walk checks."""
        if self._cps is None:
            try:
                self._cps = self._checkpoint_problems()
            except CannotRun as exc:
                self._cps = exc
        if isinstance(self._cps, CannotRun):
            raise self._cps
        return self._cps

    def _checkpoint_problems(self) -> list[str]:
        s, problems = self.s, list[str]()
        self._scan()
        ref = s.referendum
        if ref is None:
            raise CannotRun("no referendum entry (V01)")
        try:
            s.board_key = b64decode(ref.data.get("board_key"), 32, "board_key")
        except EntryError as exc:
            raise CannotRun(str(exc)) from exc
        origin = ref.data.get("origin")
        tree, n = self._tree, len(s.entries)
        prev_size, prev_time = 0, cast(int | None, None)
        self._final: Checkpoint | None = None
        self._checkpoints: list[Checkpoint] = []
        intervals: list[tuple[int, int, int | None, int]] = []
        count = 0
        for i, line in enumerate(s.raw.checkpoints):
            count += 1
            if len(problems) > 2 * DETAILS:  # a broken file: keep memory bounded
                del problems[DETAILS:]
            try:
                cp = Checkpoint.from_json(loads(line))
                when = entry_micros(parse_entry_time(cp.time))
            except (ValueError, CanonicalError) as exc:
                problems.append(f"checkpoint {i}: {exc}")
                continue
            if canonical_bytes(cp.to_json()) != line:
                problems.append(f"checkpoint {i}: not in canonical form")
            if not verify_checkpoint(cp, s.board_key):
                problems.append(f"checkpoint {i}: bad signature")
            if cp.origin != origin:
                problems.append(f"checkpoint {i}: origin {cp.origin!r} is not the board's")
            if cp.size > tree.size:
                problems.append(f"checkpoint {i}: size {cp.size} beyond the {tree.size} entries")
            elif cp.root != tree.root(cp.size):
                problems.append(f"checkpoint {i}: root does not match entries 0..{cp.size - 1}")
            if cp.size < prev_size:
                problems.append(f"checkpoint {i}: size goes backwards")
            if prev_time is not None and when < prev_time:
                problems.append(f"checkpoint {i}: time goes backwards")
            # Entry times are the board's word only; the checkpoints bound them: an entry
            # first covered by this checkpoint was appended after the previous one.
            end = min(cp.size, n)
            if end > prev_size:
                intervals.append((prev_size, end, prev_time, when))
            prev_size, prev_time = max(prev_size, cp.size), when
            self._final = cp
            self._checkpoints.append(cp)
        self._checkpoint_lines = count
        self._intervals = intervals
        if not count:
            return ["no checkpoints"]
        return problems

    def check_v02(self) -> list[str]:
        problems = self._read_checkpoints()
        if problems == ["no checkpoints"]:
            return problems
        return problems + self._walk(full=False).p["V02"]

    # V03 -------------------------------------------------------------------------------
    def check_v03(self) -> list[str]:
        final = getattr(self, "_final", None)
        if final is None:
            raise CannotRun("no readable checkpoint (V02)")
        n = len(self.s.entries)
        if final.size != n:
            return [f"the final checkpoint covers {final.size} of {n} entries"]
        if final.root != self._tree.root(n):
            return ["the final checkpoint's root does not match the entries"]
        return []

    # V04 -------------------------------------------------------------------------------
    def check_v04(self) -> list[str]:
        s = self.s
        self._scan()
        if s.referendum is None:
            raise CannotRun("no referendum entry (V01)")
        d = s.referendum.data
        try:
            ref = parse_referendum(d)
            s.group = get_group(ref.manifest.group)
        except FormatError as exc:  # not a record this verifier can read at all
            raise RecordError(f"{s.raw.path}: {exc}") from exc
        except (EntryError, GroupError) as exc:
            return [str(exc)]
        s.manifest, s.demo = ref.manifest, ref.demo
        s.election_id = election_id_of(d)
        return []

    # V05 -------------------------------------------------------------------------------
    def check_v05(self) -> list[str]:
        s = self.s
        m = s.need_manifest()
        problems = []
        ca_keys = {ce.signer for _, ce in s.of_type("credential_list")}
        if pinned_authority_key(m) is None and len(ca_keys) > 1:
            problems.append("credential lists are signed by different keys")
        return problems + self._walk(full=True).p["V05"]

    # V06 -------------------------------------------------------------------------------
    def check_v06(self) -> list[str]:
        s = self.s
        s.need_manifest()
        w = self._walk(full=True)
        problems = list(w.p["V06"])
        for t in ("election_context", "open", "close", "tally", "result"):
            n = len(s.of_type(t))
            if n > 1:
                problems.append(f"{n} {t} entries")
        for i, e in s.of_type("open"):
            booth = e.data.get("booth")
            ok = set(e.data) <= {"booth"} and (
                booth is None
                or (
                    isinstance(booth, dict)
                    and booth
                    and all(
                        isinstance(v, str)
                        and len(v) == 64
                        and all(c in "0123456789abcdef" for c in v)
                        for v in booth.values()
                    )
                )
            )
            if not ok:
                problems.append(f"entry {i} (open): data must be empty or a booth file digest map")
        for i, e in s.of_type("close"):
            ballots = w.closes.get(i, 0)
            if not json_equal(e.data, {"ballots": ballots, "size": i}):
                problems.append(f"close entry: expected ballots={ballots}, size={i}")
        return problems

    # V07 -------------------------------------------------------------------------------
    def check_v07(self) -> list[str]:
        s, problems = self.s, []
        m, g = s.need_manifest(), s.need_group()
        ids = guardian_ids(m)
        seen: dict[str, int] = {}
        for i, e in s.of_type("guardian_key"):
            try:
                gk = parse_guardian_key(g, m, e.data)
            except (EntryError, TypeError, ValueError) as exc:
                problems.append(f"entry {i}: {exc}")
                continue
            if gk.guardian in seen:
                problems.append(f"entry {i}: repeated guardian {gk.guardian!r}")
                continue
            problems += [f"entry {i}: {p}" for p in guardian_key_problems(g, s.election_id, gk)]
            seen[gk.guardian] = i
            s.commitments[gk.guardian] = list(gk.commitments)
            s.indices[gk.guardian] = gk.index
        missing = [x for x in ids if x not in seen]
        return self._until_posted(problems, [f"no key from guardians {missing}"] if missing else [])

    # V08 -------------------------------------------------------------------------------
    def check_v08(self) -> list[str]:
        s, problems, absent = self.s, list[str](), list[str]()
        m, g = s.need_manifest(), s.need_group()
        ids = guardian_ids(m)
        if set(s.commitments) != set(ids):
            self._pending_after("V07")
            raise CannotRun("guardian keys incomplete (V07)")
        for step, what in (("guardian_shares", "post its shares"), ("guardian_ready", "confirm")):
            posted: Counter[str] = Counter()
            for i, e in s.of_type(step):
                gid = str(e.data.get("guardian"))
                posted[gid] += 1
                try:
                    if step == "guardian_shares":
                        parse_guardian_shares(m, e.data)
                        continue
                    ready = parse_guardian_ready(g, m, e.data)
                except (EntryError, TypeError, ValueError) as exc:
                    problems.append(f"entry {i}: {exc}")
                    continue
                found = guardian_ready_problems(g, s.election_id, m, ready, s.commitments)
                problems += [f"entry {i}: {p}" for p in found]
                if not found and posted[gid] == 1:
                    s.verification_keys[gid] = ready.verification_key
            if any(n > 1 or x not in ids for x, n in posted.items()):
                problems.append(f"every guardian must {what} exactly once")
            elif set(posted) != set(ids):
                absent.append(f"every guardian must {what} exactly once")
        return self._until_posted(problems, absent)

    # V09 -------------------------------------------------------------------------------
    def check_v09(self) -> list[str]:
        s = self.s
        m, g = s.need_manifest(), s.need_group()
        ids = guardian_ids(m)
        if set(s.commitments) != set(ids):
            self._pending_after("V07")
            raise CannotRun("guardian keys incomplete (V07)")
        ctxs = s.of_type("election_context")
        if not ctxs:
            return self._until_posted([], ["0 election_context entries"])
        if len(ctxs) != 1:
            return [f"{len(ctxs)} election_context entries"]
        d = ctxs[0][1].data
        all_cs = [s.commitments[x] for x in ids]
        jk = threshold.joint_key(g, all_cs)
        ch = context_hash(g, s.election_id, m.quorum, all_cs, jk)
        problems = []
        if d != {"joint_key": jk.hex(), "context_hash": ch.hex()}:
            problems.append("posted joint key or context hash differs from the recomputed ones")
        if g.is_identity(jk):
            problems.append("the joint key is the identity")
        s.joint_key, s.context = jk, ch
        return problems

    # V10 -------------------------------------------------------------------------------
    def check_v10(self) -> list[str]:
        s, problems = self.s, []
        m = s.need_manifest()
        everywhere: Counter[str] = Counter()
        for i, e in s.of_type("credential_list"):
            try:
                cl = parse_credential_list(m, e.data)
            except (EntryError, TypeError, ValueError) as exc:
                problems.append(f"entry {i}: {exc}")
                # The later checks still judge ballots against the credentials it lists,
                # so that one broken list fails here only.
                r, creds = e.data.get("region"), e.data.get("credentials")
                if isinstance(r, str) and r in m.regions and isinstance(creds, list):
                    s.credentials.setdefault(r, {c for c in creds if isinstance(c, str)})
                continue
            if cl.region in s.credentials:
                problems.append(f"entry {i}: a second list for region {cl.region!r}")
                continue
            everywhere.update(cl.credentials)
            s.credentials[cl.region] = set(cl.credentials)
        dup = [c for c, n in everywhere.items() if n > 1]
        if dup:
            problems.append(f"{len(dup)} credentials listed in several regions")
        missing = set(m.regions) - set(s.credentials)
        absent = [f"no credential list for regions {sorted(missing)}"] if missing else []
        return self._until_posted(problems, absent)

    # V11 / V13 / V14 share one pass over the ballots (in the walk) ------------------------
    def _findings(self, kind: str) -> list[str] | None:
        s = self.s
        w = self._walk(full=True)
        if not s.ballots:
            return None
        s.need_manifest()
        s.need_group()
        s.need_context()
        return list(w.findings.get(kind, []))

    def check_v11(self) -> list[str] | None:
        return self._findings("wellformed")

    def check_v12(self) -> list[str] | None:
        s = self.s
        s.need_manifest()
        w = self._walk(full=True)
        if not s.ballots:
            return None
        return list(w.p["V12"])

    def check_v13(self) -> list[str] | None:
        return self._findings("proofs")

    def check_v14(self) -> list[str] | None:
        w = self._walk(full=True)
        if not self.s.ballots and not self.s.of_type("challenged_ballot"):
            return None
        found = self._findings("tracking") or []
        found += [f"tracking code {c[:16]}… appears {n} times" for c, n in w.repeats.items()]
        return found

    def check_v15(self) -> list[str] | None:
        s = self.s
        m = s.need_manifest()
        w = self._walk(full=True)
        if not s.ballots:
            return None
        problems = list(w.p["V15"])
        hi = s.first("close")
        closing = s.entries[hi] if hi is not None else None
        if closing is not None and closing.when < m.opens:
            problems.append("the close entry predates the opening time")
        return problems

    # V16 -------------------------------------------------------------------------------
    def check_v16(self) -> list[str] | None:
        s = self.s
        m = s.need_manifest()
        w = self._walk(full=True)  # fills s.counted, follows the revote chains
        problems = list(w.p["V16"])
        if not s.of_type("close"):
            # voting has not closed: nothing is counted yet, but a ballot that does not
            # extend its chain is already on the board
            return problems or None
        turnout: Counter[str] = Counter(r for _, r in s.counted.values())
        for r, n in turnout.items():
            if n > len(s.credentials.get(r, ())):
                have = len(s.credentials.get(r, ()))
                problems.append(f"region {r}: {n} counted ballots for {have} credentials")
        tallies = s.of_type("tally")
        if tallies:
            expected = {r: turnout.get(r, 0) for r in m.regions}
            posted = tallies[0][1].data.get("counted")
            if not json_equal(posted, expected):
                problems.append(
                    f"the tally counts {posted} ballots per region, expected {expected}"
                )
        return problems

    # V17 -------------------------------------------------------------------------------
    def check_v17(self) -> list[str] | None:
        s = self.s
        m, g = s.need_manifest(), s.need_group()
        tallies = s.of_type("tally")
        if not tallies:
            return None  # not tallied yet
        if len(tallies) != 1:
            return [f"{len(tallies)} tally entries"]
        closes = s.of_type("close")
        if not closes:
            raise CannotRun("no close entry")
        w = self._walk(full=True)
        for idx, _ in s.counted.values():
            if idx in w.bad:
                raise CannotRun(f"counted ballot {idx} is malformed (V11)")
            if idx in w.undecodable:
                raise CannotRun(f"counted ballot {idx} is malformed")
        # The workers multiplied every ballot of the window, batch by batch; the ballots
        # a revote replaced were divided out again (_Walk._divide_out_revotes).
        acc: dict[str, dict[str, dict[str, Ciphertext]]] = {}
        for r in m.regions:
            acc[r] = {}
            for q in m.region_questions(r):
                acc[r][q.id] = {}
                for x in q.slots:
                    a, b = w.plus.get((r, q.id, x), (g.identity(), g.identity()))
                    if (r, q.id, x) in w.minus:
                        a0, b0 = w.minus[(r, q.id, x)]
                        a, b = g.div(a, a0), g.div(b, b0)
                    acc[r][q.id][x] = Ciphertext(a, b)
        ti, te = tallies[0]
        d = te.data
        expected = {
            r: {q: {x: codec.ct_to_json(c) for x, c in sl.items()} for q, sl in qs.items()}
            for r, qs in acc.items()
        }
        problems = []
        if set(d) != {"close_index", "counted", "regions"} or not json_equal(
            d["close_index"], closes[0][0]
        ):
            problems.append("the tally does not name the close entry")
        if not json_equal(d.get("regions"), expected):
            problems.append("the posted tally differs from the product of the counted ballots")
        s.tally, s.tally_index = acc, ti
        return problems

    # V18 -------------------------------------------------------------------------------
    def check_v18(self) -> list[str] | None:
        s, problems = self.s, []
        m, g = s.need_manifest(), s.need_group()
        ctx, _ = s.need_context()
        self._good_shares: dict[str, dict[str, Any]] = {}
        if not s.of_type("decryption_share") and not s.of_type("result"):
            return None  # not decrypted yet
        if s.tally is None or s.tally_index is None:
            raise CannotRun("no valid tally (V17)")
        for i, e in s.of_type("decryption_share"):
            if not json_equal(e.data.get("tally_index"), s.tally_index):
                problems.append(f"entry {i}: not about the tally")
                continue
            try:
                ds = parse_decryption_share(g, m, e.data, s.tally)
            except (EntryError, TypeError, ValueError) as exc:
                problems.append(f"entry {i}: {exc}")
                continue
            gid = ds.guardian
            vk = s.verification_keys.get(gid)
            if vk is None:
                problems.append(f"entry {i}: {gid!r} has no verified key share (V08)")
                continue
            if gid in self._good_shares:
                problems.append(f"entry {i}: a second share set from {gid}")
                continue
            found = decryption_share_problems(g, ctx, vk, ds, s.tally)
            problems += [f"entry {i}: {p}" for p in found]
            if not found:
                self._good_shares[gid] = e.data["shares"]
        if len(self._good_shares) < m.quorum:
            problems.append(f"{len(self._good_shares)} valid share sets, the quorum is {m.quorum}")
        return problems

    # V19 -------------------------------------------------------------------------------
    def check_v19(self) -> list[str] | None:
        s = self.s
        m, g = s.need_manifest(), s.need_group()
        res = s.of_type("result")
        if not res:
            return None  # no result published yet
        if len(res) != 1:
            return [f"{len(res)} result entries"]
        if s.tally is None:
            raise CannotRun("no valid tally (V17)")
        d = res[0][1].data
        if set(d) != {"tally_index", "guardians", "counts"} or not json_equal(
            d["tally_index"], s.tally_index
        ):
            return ["the result is malformed or not about the tally"]
        used = d["guardians"]
        good = getattr(self, "_good_shares", {})
        if (
            not isinstance(used, list)
            or not all(isinstance(u, str) for u in used)
            or len(set(used)) != len(used)
            or len(used) < m.quorum
        ):
            return ["the result must name at least a quorum of distinct guardians"]
        if any(u not in good for u in used):
            return ["the result uses guardians without valid shares (V18)"]
        present = [s.indices[u] for u in used]
        lam = {u: threshold.lagrange_at_zero(g, s.indices[u], present) for u in used}
        counts = d["counts"]
        expected_shape = {r: {q: set(sl) for q, sl in qs.items()} for r, qs in s.tally.items()}
        try:
            shape = {r: {q: set(sl.keys()) for q, sl in qs.items()} for r, qs in counts.items()}
        except AttributeError:
            return ["result counts are malformed"]
        if shape != expected_shape:
            return ["result counts do not cover exactly the tally's regions, questions, options"]
        problems = []
        for r, qs in s.tally.items():
            for qid, slots in qs.items():
                for slot, ct in slots.items():
                    n = counts[r][qid][slot]
                    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
                        problems.append(f"{r}/{qid}/{slot}: count is not a natural number")
                        continue
                    dd = g.prod(
                        g.pow(codec.element(g, good[u][r][qid][slot]["share"]), lam[u])
                        for u in used
                    )
                    if g.div(ct.beta, dd) != g.g_pow(n):
                        problems.append(f"{r}/{qid}/{slot}: {n} is not the decryption of the tally")
        if not problems:
            s.results = counts
        return problems

    # V20 -------------------------------------------------------------------------------
    def check_v20(self) -> list[str] | None:
        s = self.s
        items = s.of_type("challenged_ballot")
        if not items:
            return None
        m, g = s.need_manifest(), s.need_group()
        ctx, jk = s.need_context()
        bctx = BallotContext(g.name, m.raw, ctx.hex(), jk.hex())
        problems = []
        for i, e in items:
            msg = check_challenged(bctx, i, e.data)
            if msg:
                problems.append(f"entry {i}: {msg}")
        return problems

    # V21 -------------------------------------------------------------------------------
    def check_v21(self) -> list[str] | None:
        m = self.s.need_manifest()
        g = m.raw["guardians"]
        if "min_jurisdictions" not in g and not g.get("organiser_cannot_decrypt"):
            raise NotApplicable("the referendum file sets no jurisdiction rule")
        return jurisdiction_problems(m)

    # V22 -------------------------------------------------------------------------------
    def witnesses(self) -> dict[str, str]:
        s = self.s
        accredited = [e.data.get("observer") for _, e in s.of_type("observer_accreditation")]
        return witness_keys(s.need_manifest(), accredited)

    def check_v22(self) -> list[str] | None:
        s = self.s
        m = s.need_manifest()
        quorum = witness_quorum(m)
        if quorum == 0:
            raise NotApplicable("unwitnessed: the referendum file sets no witness quorum")
        final = getattr(self, "_final", None)
        if final is None:
            raise CannotRun("no readable checkpoint (V02)")
        witnesses = self.witnesses()
        problems, cosigs = [], []
        for n, line in enumerate(s.raw.cosignatures):
            try:
                obj = loads(line)
                cs = Cosignature.from_json(obj)
                canonical = canonical_bytes(obj)  # raises for a lone surrogate
            except (ValueError, CanonicalError) as exc:
                problems.append(f"cosignature {n}: {exc}")
                continue
            if canonical != line:  # record format 17: one spelling per line
                problems.append(f"cosignature {n}: not in canonical form")
                continue
            if witnesses.get(cs.witness) != cs.key:
                problems.append(f"cosignature {n}: {cs.witness!r} is not a witness here")
            elif not verify_cosignature(cs):
                problems.append(f"cosignature {n}: invalid signature by {cs.witness}")
            elif not any(cs.about(cp) for cp in self._checkpoints):
                problems.append(
                    f"cosignature {n}: {cs.witness} cosigned a checkpoint (size"
                    f" {cs.checkpoint.size}) that is not in this record: the board may have"
                    " shown another history"
                )
            cosigs.append(cs)
        # The first checkpoints after the open and after the close need a quorum of
        # timely cosignatures: witnesses whose own clocks agreed (within max_skew_s) that
        # the board signed them when it says, so the window's edges are witnessed in time.
        skew = max_skew_s(m)
        targets: list[tuple[str, Checkpoint, int | None]] = []
        for kind in ("open", "close"):
            found = s.of_type(kind)
            if not found:
                continue
            cp = next((c for c in self._checkpoints if c.size > found[0][0]), None)
            if cp is None:
                problems.append(f"no checkpoint covers the {kind} entry")
            else:
                targets.append((f"first checkpoint after the {kind}", cp, skew))
        targets.append(("final checkpoint", final, None))
        # Only the witnesses the referendum file declares count toward the quorum: the
        # organiser controls accreditations, and could show each branch of a split view
        # its own accredited witnesses (a majority of a fixed set cannot be split).
        declared = quorum_witnesses(m)
        for name, cp, within in targets:
            got = trusted_by(cp, cosigs, declared, within)
            if len(got) < quorum:
                timely = "" if within is None else f" timely (within max_skew_s {within} s)"
                problems.append(
                    f"the {name} (size {cp.size}) has {len(got)} of the {quorum}{timely}"
                    " cosignatures it needs from the witnesses the referendum file declares"
                )
        return problems

    # V23 -------------------------------------------------------------------------------
    def check_v23(self) -> list[str]:
        """Roles are enrolled, never first-come: a referendum that is not a demo pins
        every guardian's and the credential authority's key in its (hashed) file, and no
        key serves two roles (board, authority, guardian, observer)."""
        s = self.s
        m = s.need_manifest()
        ids = guardian_ids(m)
        users: dict[str, list[str]] = {}

        def use(key: Any, role: str) -> None:
            if isinstance(key, str) and role not in users.setdefault(key, []):
                users[key].append(role)

        use(s.referendum.data.get("board_key") if s.referendum else None, "the board")
        ca = pinned_authority_key(m)
        use(ca, "the credential authority")
        if ca is None:
            for _, e in s.of_type("credential_list"):
                use(e.signer, "the credential authority")
        for gid in ids:
            use(pinned_guardian_key(m, gid), f"guardian {gid}")
        for t in ("guardian_key", "guardian_shares", "guardian_ready", "decryption_share"):
            for _, e in s.of_type(t):
                who = e.data.get("guardian")
                if isinstance(who, str) and who in ids and pinned_guardian_key(m, who) is None:
                    use(e.signer, f"guardian {who}")
        for oid, key in self.witnesses().items():
            use(key, f"observer {oid}")
        problems = [
            f"one key serves {' and '.join(roles)}" for roles in users.values() if len(roles) > 1
        ]
        unpinned = [gid for gid in ids if pinned_guardian_key(m, gid) is None]
        if ca is None:
            unpinned.append("the credential authority")
        if unpinned and not s.demo:
            problems.append(
                "not a demo, yet the referendum file pins no key for " + ", ".join(unpinned)
            )
        if unpinned and s.demo:
            self.notes.append("demo referendum: roles not pinned")
        return problems


def verify_record(
    raw: RawRecord,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    scheduler: str | None = None,
) -> Report:
    """Verify ``raw``; ballot batches on ``workers`` local processes, or, given a Dask
    ``scheduler`` address (tcp://HOST:PORT), on that cluster's workers (same report).
    An unreachable scheduler raises ConnectionError."""
    v = Verifier(raw, workers or os.cpu_count() or 1, keep_entries=False)
    v.progress = progress
    v.scheduler = scheduler
    return v.run()


def region_turnout(report: Report) -> dict[str, int]:
    return defaultdict(int)  # placeholder for forensics (issue 4)
