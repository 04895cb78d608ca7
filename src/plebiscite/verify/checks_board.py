"""The board's checks: the entries and checkpoints hold together, the referendum file,
signers and the protocol's order (V01-V06), and the roles' enrolment (V23)."""

from __future__ import annotations

from typing import Any, cast

from plebiscite.board.checkpoint import Checkpoint, verify_checkpoint
from plebiscite.crypto.group import GroupError, get_group
from plebiscite.record.canonical import CanonicalError, canonical_bytes, json_equal, loads
from plebiscite.record.entries import (
    EntryError,
    b64decode,
    election_id_of,
    parse_entry_time,
)
from plebiscite.record.manifest import (
    guardian_ids,
    pinned_authority_key,
    pinned_guardian_key,
)
from plebiscite.record.vocab import (
    FormatError,
    parse_referendum,
)
from plebiscite.verify.ballots import entry_micros
from plebiscite.verify.reader import RecordError
from plebiscite.verify.report import CannotRun
from plebiscite.verify.state import DETAILS, CheckHost


class BoardChecks(CheckHost):
    def check_v01(self) -> list[str]:
        s = self.s
        problems = list(self._walk(full=False).problems["V01"])
        refs = s.by_type.get("referendum", [])
        if not refs or refs[0] != 0:
            problems.append("the first entry is not the referendum")
        if len(refs) > 1:
            problems.append(f"{len(refs)} referendum entries")
        return problems

    # V02 -------------------------------------------------------------------------------
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
        self._final = None
        self._checkpoints = []
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
        return problems + self._walk(full=False).problems["V02"]

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
        return problems + self._walk(full=True).problems["V05"]

    # V06 -------------------------------------------------------------------------------
    def check_v06(self) -> list[str]:
        s = self.s
        s.need_manifest()
        w = self._walk(full=True)
        problems = list(w.problems["V06"])
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
