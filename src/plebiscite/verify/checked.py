"""A role's checked view of the board: every party verifies before it acts.

A guardian about to post its shares or decrypt, the credential authority about to issue
credentials, a voter about to encrypt: each reads the board through this view, which
runs the verifier's own numbered checks on the board it is about to act on and hands
back what those checks established (the referendum, the guardians' commitments and
verification keys, the joint key and context, the credential lists, the recomputed
tally), or refuses, naming the failed check and the entry. Nobody acts on raw board
JSON. Checks whose entries are not all posted yet are *pending*, not failed.

When the referendum sets a witness quorum, a role acts only on entries covered by a
checkpoint that quorum cosigned (so the board it saw is the one every witness saw):
``wait_witnessed`` waits for it, then gives up with ``NotWitnessed`` (exit 3).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plebiscite.board.checkpoint import Checkpoint
from plebiscite.board.cosign import parse_cosignatures, trusted_by
from plebiscite.crypto.elgamal import Ciphertext
from plebiscite.crypto.group import Element, Group
from plebiscite.record.entries import Entry
from plebiscite.record.manifest import Manifest, max_skew_s, quorum_witnesses, witness_quorum
from plebiscite.verify.checks import Verifier
from plebiscite.verify.reader import RawRecord, read_record
from plebiscite.verify.table import TITLES

# What each kind of step checks: the board's form and signatures, the ceremony and the
# lists (and that every role is enrolled) before any step; the ballots and the tally
# besides before a decryption (V05 and V06 cover every entry, ballots included).
BEFORE_SETUP: tuple[str, ...] = tuple(f"V{n:02}" for n in (*range(1, 11), 23))
BEFORE_DECRYPTION: tuple[str, ...] = (*BEFORE_SETUP, *(f"V{n}" for n in range(11, 18)))


class Refused(Exception):
    """A check failed on the board a role was about to act on (exit 1)."""

    def __init__(self, check: str, detail: str) -> None:
        self.check, self.detail = check, detail
        super().__init__(f"refusing to act: {check} failed ({TITLES.get(check, check)}): {detail}")


class NotWitnessed(Exception):
    """The entries a role acts on are not yet under a quorum-cosigned checkpoint (exit 3)."""

    def __init__(self, got: int, quorum: int) -> None:
        self.got, self.quorum = got, quorum
        super().__init__(f"not yet witnessed ({got} of {quorum}): run again")


@dataclass
class CheckedBoard:
    """What the checks established about a board (ballots are not kept: a decryption
    needs their product, which the checks recomputed, not the ballots)."""

    path: Path
    manifest: Manifest
    election_id: str
    group: Group
    demo: bool
    entries: list[Entry | None]  # every entry but the ballots, in log order
    by_type: dict[str, list[int]]
    checkpoints: list[Checkpoint]
    cosignatures: list[bytes]
    status: dict[str, str]
    commitments: dict[str, list[Element]] = field(default_factory=dict)
    verification_keys: dict[str, Element] = field(default_factory=dict)
    joint_key: Element | None = None
    context: bytes | None = None
    credentials: dict[str, set[str]] = field(default_factory=dict)
    tally: dict[str, dict[str, dict[str, Ciphertext]]] | None = None
    tally_index: int | None = None

    def of_type(self, t: str) -> list[Entry]:
        out = []
        for i in self.by_type.get(t, []):
            e = self.entries[i]
            if e is not None:
                out.append(e)
        return out

    def indices(self, t: str) -> list[int]:
        return list(self.by_type.get(t, []))

    def unwitnessed(self, index: int) -> tuple[int, int] | None:
        """``(cosignatures, quorum)`` when no checkpoint covering entry ``index`` carries
        the witness quorum of timely cosignatures by the witnesses the referendum file
        declares (None when one does, or the referendum sets no quorum)."""
        return witness_shortfall(self.manifest, self.checkpoints, self.cosignatures, index)


def witness_shortfall(
    manifest: Manifest, checkpoints: Sequence[Checkpoint], cosignatures: list[bytes], index: int
) -> tuple[int, int] | None:
    quorum = witness_quorum(manifest)
    if quorum == 0:
        return None
    declared = quorum_witnesses(manifest)
    cosigs = parse_cosignatures(cosignatures)
    best = 0
    for cp in checkpoints:
        if cp.size > index:
            got = len(trusted_by(cp, cosigs, declared, max_skew_s(manifest)))
            if got >= quorum:
                return None
            best = max(best, got)
    return best, quorum


def check_board(
    raw: RawRecord,
    checks: Sequence[str] = BEFORE_SETUP,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> CheckedBoard:
    """Run ``checks`` on the board in ``raw`` as a board still being written; raise
    ``Refused`` naming the first failed check and its first finding, ``RecordError``
    when the record cannot be read (or is of another format)."""
    v = Verifier(raw, workers, keep_entries=False)
    v.prefix = True
    v.scheduler = scheduler
    v.progress = progress
    outcomes = v.run_checks(list(checks))
    for cid in checks:
        status, details = outcomes[cid]
        if status == "failed":
            raise Refused(cid, details[0] if details else "failed")
    s = v.state
    assert s.manifest is not None and s.group is not None  # V04 passed
    return CheckedBoard(
        path=raw.path,
        manifest=s.manifest,
        election_id=s.election_id,
        group=s.group,
        demo=s.demo,
        entries=s.entries,
        by_type=s.by_type,
        checkpoints=v.checkpoints,
        cosignatures=list(s.raw.cosignatures),
        status={c: outcomes[c][0] for c in checks},
        commitments=dict(s.commitments),
        verification_keys=dict(s.verification_keys),
        joint_key=s.joint_key,
        context=s.context,
        credentials=dict(s.credentials),
        tally=s.tally,
        tally_index=s.tally_index,
    )


def load_checked(
    record: Path,
    checks: Sequence[str] = BEFORE_SETUP,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> CheckedBoard:
    """``check_board`` over a record folder (a published record or a mirror), read as a
    stream: memory for the voters, not the ballots."""
    raw = read_record(record, stream=True)
    return check_board(raw, checks, workers=workers, scheduler=scheduler, progress=progress)


def wait_witnessed(
    load: Callable[[], CheckedBoard],
    index: Callable[[CheckedBoard], int],
    wait: float,
    say: Callable[[str], None] | None = None,
    poll: float = 2.0,
) -> CheckedBoard:
    """Load and check the board until the entry at ``index(board)`` is covered by a
    quorum-cosigned checkpoint, for at most ``wait`` seconds; ``NotWitnessed`` after.
    Each round re-reads (and re-checks) the board, which a mirror may have refreshed."""
    deadline = time.monotonic() + wait
    while True:
        board = load()
        short = board.unwitnessed(index(board))
        if short is None:
            return board
        left = deadline - time.monotonic()
        if left <= 0:
            raise NotWitnessed(*short)
        if say is not None:
            say(f"waiting for witnesses ({short[0]} of {short[1]}), {int(left)} s left")
        time.sleep(min(poll, left))


def raw_lines(
    path: Path, entries: Any, checkpoints: list[bytes], cosignatures: list[bytes]
) -> RawRecord:
    """A record held by a process rather than a folder (the organiser's own board in a
    demo): ``entries`` is any re-iterable of lines."""
    return RawRecord(Path(path), entries, checkpoints, cosignatures)
