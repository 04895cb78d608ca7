"""Reading a published record: a directory with ``entries.jsonl`` and
``checkpoints.jsonl``. Only unusable input raises; a malformed entry is data for the
checks to report."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ENTRIES = "entries.jsonl"
CHECKPOINTS = "checkpoints.jsonl"
COSIGNATURES = "cosignatures.jsonl"  # optional: witnesses' cosignatures, beside the log


class RecordError(ValueError):
    """The record cannot be read at all (exit 2)."""


@dataclass
class RawRecord:
    path: Path
    entries: list[bytes]
    checkpoints: list[bytes]
    cosignatures: list[bytes]


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


def read_record(path: Path) -> RawRecord:
    path = Path(path)
    if not path.is_dir():
        raise RecordError(f"{path}: not a directory")
    entries = list(_lines(path / ENTRIES))
    if not entries:
        raise RecordError(f"{path / ENTRIES}: empty")
    checkpoints = list(_lines(path / CHECKPOINTS))
    cosignatures = list(_lines(path / COSIGNATURES)) if (path / COSIGNATURES).exists() else []
    return RawRecord(path, entries, checkpoints, cosignatures)
