"""What the checks establish and share: the record's entries, the referendum, the
election context, the credential lists, the counted ballots and the tally."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from plebiscite.crypto.elgamal import Ciphertext
from plebiscite.crypto.group import Element, Group
from plebiscite.record.entries import Entry
from plebiscite.record.manifest import Manifest
from plebiscite.verify.ballots import BallotFinding
from plebiscite.verify.reader import RawRecord
from plebiscite.verify.report import CannotRun, Status

if TYPE_CHECKING:
    from plebiscite.board.checkpoint import Checkpoint
    from plebiscite.board.merkle import MerkleTree
    from plebiscite.verify.forensics import Accumulator
    from plebiscite.verify.walk import Walk

DETAILS = 50  # details kept per check (the report shows no more)


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


class CheckHost:
    """What the phases' checks (``checks_*.py``, mixed into ``Verifier``) use of the
    verifier: declared for the type checker only, so each name has one definition."""

    if TYPE_CHECKING:
        s: State
        notes: list[str]
        _cps: list[str] | CannotRun | None
        _intervals: list[tuple[int, int, int | None, int]] | None
        _tree: MerkleTree
        _checkpoints: list[Checkpoint]
        _final: Checkpoint | None
        _checkpoint_lines: int
        _good_shares: dict[str, dict[str, Any]]

        def _scan(self) -> None:
            raise NotImplementedError

        def _walk(self, full: bool) -> Walk:
            raise NotImplementedError

        def _outcome(self, check_id: str) -> tuple[Status, list[str]]:
            raise NotImplementedError

        def _until_posted(self, problems: list[str], absent: list[str]) -> list[str]:
            raise NotImplementedError

        def _pending_after(self, check_id: str) -> None:
            raise NotImplementedError

        def _read_checkpoints(self) -> list[str]:
            raise NotImplementedError

        def witnesses(self) -> dict[str, str]:
            raise NotImplementedError
