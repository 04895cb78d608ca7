"""Reading a published record: a directory with ``entries.jsonl`` and
``checkpoints.jsonl``. Only unusable input raises; a malformed entry is data for the
checks to report.

``read_record(path)`` holds every line in memory (small records, tests, tools that
index the entries). ``read_record(path, stream=True)`` checks the files the same way but
keeps none of their lines: each pass of the verifier reads the file again, line by
line, so its memory does not grow with the size of the record's lines.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ENTRIES = "entries.jsonl"
CHECKPOINTS = "checkpoints.jsonl"
COSIGNATURES = "cosignatures.jsonl"  # optional: witnesses' cosignatures, beside the log


class RecordError(ValueError):
    """The record cannot be read at all (exit 2)."""


class LineFile:
    """The lines of a file (without their ``\\n``), read again from disk on every
    iteration; ``len()`` counts them once. The file was checked by ``read_record``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._count: int | None = None

    def __iter__(self) -> Iterator[bytes]:
        try:
            with self.path.open("rb", buffering=1 << 20) as f:
                for line in f:
                    yield line[:-1] if line.endswith(b"\n") else line
        except OSError as exc:  # the file went away or broke while being read
            raise RecordError(f"{self.path}: cannot read ({exc.strerror})") from exc

    def __len__(self) -> int:
        if self._count is None:
            self._count = sum(1 for _ in self)
        return self._count


@dataclass
class RawRecord:
    path: Path
    entries: list[bytes] | LineFile
    checkpoints: list[bytes] | LineFile
    cosignatures: list[bytes] | LineFile

    @property
    def streamed(self) -> bool:
        return isinstance(self.entries, LineFile)


def _check_file(path: Path) -> int:
    """The file's size; RecordError if it is missing, unreadable or cut short."""
    try:
        with path.open("rb") as f:
            size = f.seek(0, 2)
            if size:
                f.seek(size - 1)
                if f.read(1) != b"\n":
                    raise RecordError(f"{path}: truncated (last line has no end)")
    except FileNotFoundError as exc:
        raise RecordError(f"{path}: missing (is this a plebiscite record?)") from exc
    except IsADirectoryError as exc:
        raise RecordError(f"{path}: cannot read (is a directory)") from exc
    except OSError as exc:
        raise RecordError(f"{path}: cannot read ({exc.strerror})") from exc
    return size


def _lines(path: Path) -> Iterator[bytes]:
    try:
        with path.open("rb") as f:
            data = f.read()
    except FileNotFoundError as exc:
        raise RecordError(f"{path}: missing (is this a plebiscite record?)") from exc
    except OSError as exc:
        raise RecordError(f"{path}: cannot read ({exc.strerror})") from exc
    if data and not data.endswith(b"\n"):
        raise RecordError(f"{path}: truncated (last line has no end)")
    if data:
        yield from data.split(b"\n")[:-1]


def read_record(path: Path, stream: bool = False) -> RawRecord:
    """The record at ``path``; with ``stream`` its files are checked now and read line
    by line later, as often as the verifier needs."""
    path = Path(path)
    if not path.is_dir():
        raise RecordError(f"{path}: not a directory")
    cos = path / COSIGNATURES
    if stream:
        if not _check_file(path / ENTRIES):
            raise RecordError(f"{path / ENTRIES}: empty")
        _check_file(path / CHECKPOINTS)
        cosignatures: list[bytes] | LineFile = []
        if cos.exists():
            _check_file(cos)
            cosignatures = LineFile(cos)
        return RawRecord(path, LineFile(path / ENTRIES), LineFile(path / CHECKPOINTS), cosignatures)
    entries = list(_lines(path / ENTRIES))
    if not entries:
        raise RecordError(f"{path / ENTRIES}: empty")
    checkpoints = list(_lines(path / CHECKPOINTS))
    cosignatures = list(_lines(cos)) if cos.exists() else []
    return RawRecord(path, entries, checkpoints, cosignatures)
