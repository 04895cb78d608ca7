"""A role's view of the board it holds (a published record or a mirror).

Before a guardian, the credential authority or a voter acts on a board, the board
itself must hold together: entries well-formed, checkpoints signed by the board key
and covering every entry. Those are the verifier's own checks V01-V03, run here.

The record is read as a stream, as the verifier reads it: the view keeps every entry
but the ballots in memory and reads ballots from ``entries.jsonl`` when they are asked
for, so a guardian's decrypt step over millions of ballots needs memory for the voters'
credentials, not for the ballots.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from plebiscite.board.checkpoint import Checkpoint
from plebiscite.crypto.group import Group, get_group
from plebiscite.record.entries import (
    Entry,
    EntryError,
    EntrySequence,
    election_id_of,
    parse_entry,
)
from plebiscite.record.manifest import Manifest, parse_manifest
from plebiscite.verify.checks import Verifier
from plebiscite.verify.reader import ENTRIES, LineFile, RecordError, read_record
from plebiscite.verify.report import CannotRun


class BoardViewError(RuntimeError):
    """The board a role was given does not hold together."""


class RecordEntries(EntrySequence):
    """A record's entries: the ones ``kept`` (every entry but the ballots) from memory,
    the others parsed from the file when asked for. Iterating reads the file once; the
    first random access to a ballot indexes the lines' byte offsets (8 bytes a line)."""

    def __init__(self, path: Path, kept: list[Entry | None]) -> None:
        self.path = path
        self.kept = kept
        self._offsets: array[int] | None = None

    def __len__(self) -> int:
        return len(self.kept)

    def _entry(self, index: int) -> Entry:
        kept = self.kept[index]
        return kept if kept is not None else self._read(index)

    def __iter__(self) -> Iterator[Entry]:
        for i, line in enumerate(LineFile(self.path)):
            if i >= len(self.kept):
                break
            kept = self.kept[i]
            yield kept if kept is not None else self._parse(i, line)

    def _read(self, index: int) -> Entry:
        if self._offsets is None:
            offsets, at = array("q"), 0
            for line in LineFile(self.path):
                offsets.append(at)
                at += len(line) + 1
            self._offsets = offsets
        try:
            with self.path.open("rb") as f:
                f.seek(self._offsets[index])
                line = f.readline().rstrip(b"\n")
        except OSError as exc:
            raise RecordError(f"{self.path}: cannot read ({exc.strerror})") from exc
        return self._parse(index, line)

    def _parse(self, index: int, line: bytes) -> Entry:
        try:
            return parse_entry(line)
        except EntryError as exc:  # the file changed since the board was checked
            raise RecordError(f"{self.path}: entry {index} no longer parses ({exc})") from exc


@dataclass
class BoardView:
    entries: Sequence[Entry]
    manifest: Manifest
    election_id: str
    group: Group
    checkpoints: list[Checkpoint] = field(default_factory=list)
    cosignatures: list[bytes] = field(default_factory=list)
    by_type: dict[str, list[int]] | None = None  # indices of the entries kept in memory

    def of_type(self, t: str) -> list[Entry]:
        if self.by_type is not None and t not in ("ballot", "challenged_ballot"):
            return [self.entries[i] for i in self.by_type.get(t, [])]
        return [e for e in self.entries if e.type == t]


def load_board(record: Path, progress: Callable[[str, int, int], None] | None = None) -> BoardView:
    """Read and check a record (raises ``RecordError`` if unreadable); ``progress``
    hears ``("checking", ballots done, ballots)`` as the ballot lines are parsed."""
    raw = read_record(record, stream=True)
    v = Verifier(raw, workers=1, keep_entries=False)
    if progress is not None:
        v.progress = lambda done, total: progress("checking", done, total)
    for name in ("check_v01", "check_v02", "check_v03", "check_v04"):
        try:
            problems = getattr(v, name)()
        except CannotRun as exc:
            problems = [str(exc)]
        if problems:
            raise BoardViewError(f"{record}: the board does not hold together: {problems[0]}")
    entries = RecordEntries(Path(record) / ENTRIES, v.state.entries)
    ref = entries[0]
    manifest = parse_manifest(ref.data["manifest"])
    return BoardView(
        entries,
        manifest,
        election_id_of(ref.data),
        get_group(manifest.group),
        v.checkpoints,
        list(v.state.raw.cosignatures),
        dict(v.state.by_type),
    )
