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

Here: the ``Verifier`` (the scan, the walk driver, the report). The check table is in
``table.py``, the shared ``State`` in ``state.py``, the batch runners in ``runners.py``,
the walk in ``walk.py``, the checks by phase in ``checks_board.py``,
``checks_ceremony.py``, ``checks_ballots.py``, ``checks_tally.py`` and
``checks_witness.py``; the public names are importable from here too.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from plebiscite.board.checkpoint import Checkpoint
from plebiscite.board.merkle import MerkleTree, leaf_hash
from plebiscite.record.entries import Entry, EntryError, parse_entry
from plebiscite.verify import walk as engine
from plebiscite.verify.checks_ballots import BallotChecks
from plebiscite.verify.checks_board import BoardChecks
from plebiscite.verify.checks_ceremony import CeremonyChecks
from plebiscite.verify.checks_tally import TallyChecks
from plebiscite.verify.checks_witness import WitnessChecks
from plebiscite.verify.reader import RawRecord
from plebiscite.verify.report import CannotRun, CheckResult, Pending, Report, Status, run_check
from plebiscite.verify.runners import IN_FLIGHT, Dask, InProcess, Processes, Runner
from plebiscite.verify.state import DETAILS, State
from plebiscite.verify.table import CHECKS, TITLES
from plebiscite.verify.walk import BALLOT_TAIL, BATCH, Segment, Walk

__all__ = [
    "BALLOT_TAIL",
    "BATCH",
    "CHECKS",
    "DETAILS",
    "IN_FLIGHT",
    "TITLES",
    "Dask",
    "InProcess",
    "Processes",
    "Runner",
    "Segment",
    "State",
    "Verifier",
    "Walk",
    "region_turnout",
    "verify_record",
]


class Verifier(BoardChecks, CeremonyChecks, BallotChecks, TallyChecks, WitnessChecks):
    """The checks of one record, each run once and on demand; the phases' checks come
    from the mixins, the scan and the walk driver live here."""

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
        self._walked: Walk | None = None
        # V02's: the Merkle tree of the entries, the checkpoints read, the final one
        self._tree = MerkleTree()
        self._checkpoints: list[Checkpoint] = []
        self._final: Checkpoint | None = None
        self._checkpoint_lines = 0
        self._good_shares: dict[str, dict[str, Any]] = {}  # V18's, for V19
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
            return Dask(self.scheduler)
        if self.workers > 1:
            return Processes(self.workers)
        return InProcess()

    def _outcome(self, check_id: str) -> tuple[Status, list[str]]:
        """Run a check once; later calls give the same outcome."""
        got = self._outcomes.get(check_id)
        if got is not None:
            return got
        status, details = run_check(getattr(self, "check_" + check_id.lower()))
        self._outcomes[check_id] = (status, list(details))
        return status, list(details)

    @property
    def state(self) -> State:
        """What the checks run so far established (the referendum, the context, ...)."""
        return self.s

    @property
    def checkpoints(self) -> list[Checkpoint]:
        """The board's checkpoints V02 read (none before it ran), in the record's order."""
        return list(self._checkpoints)

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

    def _walk(self, full: bool) -> Walk:
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
        batches = math.ceil(self._ballot_lines / engine.BATCH)  # read now: tests shrink it
        if runner is None or (batches <= 1 and not isinstance(runner, Dask)):
            runner = InProcess()
        if full and w is not None:  # start again from a clean state
            self.s.ballots = 0
        w = Walk(self, full, runner)
        w.run(self._ballot_lines)
        self.s.ballot_findings = w.kept_findings if w.work.ballot_context else None
        self._walked = w
        return w


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
    # Kept for callers of the old name; the per-region figures are in the forensics.
    return defaultdict(int)
