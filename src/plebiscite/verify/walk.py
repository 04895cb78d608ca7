"""The streaming engine: the record's second pass, every entry in log order, ballots
checked in batches by a runner. It gathers the in-order checks' findings (V01, V02,
V05, V06, V12, V14 codes, V15, V16) and the per-credential state."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from plebiscite.crypto.group import Element
from plebiscite.record.entries import (
    ENTRY_TYPES,
    PHASES,
    Entry,
    format_time,
    verify_entry_signature,
)
from plebiscite.record.manifest import (
    Manifest,
    ManifestError,
    guardian_ids,
    observers,
    parse_observer,
    pinned_authority_key,
    pinned_guardian_key,
)
from plebiscite.record.protocol import RevoteChains, dispute_problem
from plebiscite.verify.ballots import (
    BallotContext,
    BallotFinding,
    BallotLine,
    LineResult,
    LineWork,
    Product,
    check_lines,
    entry_micros,
    product_lines,
)
from plebiscite.verify.runners import Runner
from plebiscite.verify.state import DETAILS

if TYPE_CHECKING:
    from plebiscite.verify.checks import Verifier

BATCH = 64  # ballots per task
# A ballot entry's canonical line ends so (keys are sorted, "type" is last): the scan
# skips such lines, the workers parse them (and report any that is not an entry).
BALLOT_TAIL = b'"type":"ballot"}'
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _short(code: Any) -> str:
    return "null" if code is None else f"{str(code)[:16]}…"


def _time_text(us: int) -> str:
    return format_time(_EPOCH + timedelta(microseconds=us))


@dataclass
class Segment:
    """A stretch of the log: its ballot lines (one batch) and the other entries' indices."""

    ballots: list[tuple[int, bytes]] = field(default_factory=list)
    others: list[int] = field(default_factory=list)


class Walk:
    """The second pass: every entry in log order, ballots checked in batches elsewhere.
    Gathers each in-order check's findings (at most DETAILS each) and the per-credential
    state. ``full`` False: only parsing and times (V01, V02)."""

    def __init__(self, verifier: Verifier, full: bool, runner: Runner) -> None:
        v = self.verifier = verifier
        s = self.state = v.s
        self.full, self.runner = full, runner
        # the in-order checks' findings, at most DETAILS each
        self.problems: dict[str, list[str]] = {
            c: [] for c in ("V01", "V02", "V05", "V06", "V12", "V15", "V16")
        }
        self.findings: dict[str, list[str]] = {"wellformed": [], "proofs": [], "tracking": []}
        self.kept_findings: list[BallotFinding] = []
        self.malformed: set[int] = set()  # ballots V11 finds malformed
        self.undecodable: set[int] = set()  # counting ballots that would not decode (no V11)
        self.last_time: int | None = None
        self.intervals = v._intervals or []
        self.interval = 0  # the checkpoint interval the walk is in
        n = len(s.entries)
        # the full checks need a valid referendum file (V04)
        self.manifest = m = s.manifest if full and s.group is not None else None
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
        s, runner = self.state, self.runner
        batch = BATCH * runner.scale  # read now: tests shrink it
        pending: deque[tuple[Segment, Any]] = deque()
        done = 0

        def consume() -> None:
            nonlocal done
            seg, handle = pending.popleft()
            res = runner.result(handle) if handle is not None else None
            self._merge(seg, res)
            if seg.ballots:
                done += len(seg.ballots)
                if self.verifier.progress:
                    self.verifier.progress(done, total)

        def close(seg: Segment) -> None:
            handle = runner.submit(check_lines, self.work, seg.ballots) if seg.ballots else None
            pending.append((seg, handle))
            while len(pending) > runner.limit:
                consume()

        seg = Segment()
        for i, line in enumerate(s.raw.entries):
            if line.endswith(BALLOT_TAIL):
                seg.ballots.append((i, line))
                if len(seg.ballots) >= batch:
                    close(seg)
                    seg = Segment()
            else:
                seg.others.append(i)
                if len(seg.others) >= 4096:
                    close(seg)
                    seg = Segment()
        close(seg)
        while pending:
            consume()
        if self.window is not None:
            self.divide_out_revotes(batch)

    def divide_out_revotes(self, batch: int) -> None:
        """The batch products hold every ballot in the window; divide out the ballots a
        later ballot of the same credential replaced, and those that do not extend
        their credential's chain (read from the file once more)."""
        drop = sorted(set(self.superseded) - self.malformed - self.undecodable)
        self.superseded = []
        if not drop:
            return
        runner, pending = self.runner, deque[Any]()
        k, items = 0, []
        for i, line in enumerate(self.state.raw.entries):
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
        g = self.state.group
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

    def _merge(self, seg: Segment, res: LineResult | None) -> None:
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
                self.malformed.add(f.index)
            kept = self.findings.setdefault(f.kind, [])
            if len(kept) < DETAILS:
                kept.append(f"entry {f.index}: {f.message}")
                self.kept_findings.append(f)
        self.undecodable.update(res.undecodable)
        if res.product:
            self._multiply(self.plus, res.product)
        if res.entries is not None:
            for i, e in res.entries:
                self.state.entries[i] = e
                self.state.by_type.setdefault("ballot", []).append(i)

    def _add(self, check: str, message: str) -> None:
        kept = self.problems[check]
        if len(kept) < DETAILS:
            kept.append(message)

    # -- one entry ------------------------------------------------------------------------

    def _time(self, i: int, when: int, text: str | None) -> None:
        """V01: times never go backwards; V02: the covering checkpoints bound them."""
        if self.last_time is not None and when < self.last_time:
            self._add("V01", f"entry {i}: time goes backwards")
        self.last_time = when
        iv = self.intervals
        k = self.interval
        while k < len(iv) and iv[k][1] <= i:
            k += 1
        self.interval = k
        if k < len(iv) and iv[k][0] <= i:
            _, _, lo, hi = iv[k]
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
        s = self.state
        e = s.entries[i]
        if e is None:
            hole = self.verifier._holes.get(i)
            if hole is not None:
                self._add("V01", hole)
            return
        self._time(i, entry_micros(e.when), e.time)
        if not self.full:
            return
        if e.type == "challenged_ballot":
            self._code(e.data.get("tracking_code"))
        m = self.manifest
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
        s, i = self.state, b.at
        if b.when is None:
            if b.error:
                self._add("V01", b.error)
            return
        s.ballots += 1
        self._time(i, b.when, None)
        if not self.full:
            return
        self._code(b.tracking_code)
        if self.manifest is None:
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
        s = self.state
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
        s, m = self.state, self.manifest
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
                self.dispute_signers = set(self.verifier.witnesses().values())
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
        m = self.manifest
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
