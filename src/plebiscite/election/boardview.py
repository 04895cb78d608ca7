"""A role's view of the board it holds (a published record or a mirror).

Before a guardian, the credential authority or a voter acts on a board, the board
itself must hold together: entries well-formed, checkpoints signed by the board key
and covering every entry. Those are the verifier's own checks V01-V03, run here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from plebiscite.board.checkpoint import Checkpoint
from plebiscite.crypto.group import Group, get_group
from plebiscite.record.entries import Entry, election_id_of
from plebiscite.record.manifest import Manifest, parse_manifest
from plebiscite.verify.checks import CannotRun, Verifier
from plebiscite.verify.reader import read_record


class BoardViewError(RuntimeError):
    """The board a role was given does not hold together."""


@dataclass
class BoardView:
    entries: list[Entry]
    manifest: Manifest
    election_id: str
    group: Group
    checkpoints: list[Checkpoint] = field(default_factory=list)
    cosignatures: list[bytes] = field(default_factory=list)

    def of_type(self, t: str) -> list[Entry]:
        return [e for e in self.entries if e.type == t]


def load_board(record: Path) -> BoardView:
    """Read and check a record (raises ``RecordError`` if unreadable)."""
    v = Verifier(read_record(record), workers=1)
    for name in ("check_v01", "check_v02", "check_v03", "check_v04"):
        try:
            problems = getattr(v, name)()
        except CannotRun as exc:
            problems = [str(exc)]
        if problems:
            raise BoardViewError(f"{record}: the board does not hold together: {problems[0]}")
    entries = [e for e in v.s.entries if e is not None]
    ref = entries[0]
    manifest = parse_manifest(ref.data["manifest"])
    return BoardView(
        entries,
        manifest,
        election_id_of(ref.data),
        get_group(manifest.group),
        list(v._checkpoints),
        list(v.s.raw.cosignatures),
    )
