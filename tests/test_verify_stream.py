"""The streaming verifier: a record read line by line, ballots checked in batches on
worker processes, gives the same report as the record held in memory and checked in
one process; the shortcut for ballot signatures agrees with the entry's own check."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import tamperlib as tl
from plebiscite.election.demo import DemoOutcome
from plebiscite.record.entries import election_id_of, parse_entry, verify_entry_signature
from plebiscite.verify import checks, walk
from plebiscite.verify.ballots import line_signature_ok
from plebiscite.verify.reader import RecordError, read_record


def _both(record: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    held = checks.verify_record(read_record(record), workers=1).to_json()
    streamed = checks.verify_record(read_record(record, stream=True), workers=2).to_json()
    return held, streamed


def test_streamed_report_equals_in_memory(
    demo_outcome: DemoOutcome, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(walk, "BATCH", 3)  # many batches, revotes across batches
    held, streamed = _both(demo_outcome.record)
    assert held["verdict"] == "verified"
    assert streamed == held
    assert streamed["forensics"]["totals"]["revotes"] > 0  # revotes were divided out


def test_streamed_report_names_the_same_bad_ballots(
    demo_outcome: DemoOutcome, record_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(walk, "BATCH", 3)
    entries = tl.load_entries(record_copy)
    ballots = tl.indices_of(entries, "ballot")
    for i in (ballots[1], ballots[-2]):
        d = json.loads(json.dumps(entries[i].data))
        branch = d["answers"][0]["choices"][0]["proof"][0]
        branch["s"] = tl.bump_scalar(tl.group(demo_outcome), branch["s"])
        entries[i] = tl.resign_as_owner(demo_outcome, entries[i], d)
    tl.save(record_copy, entries, tl.board_key(demo_outcome), tl.witness_keys(demo_outcome))
    held, streamed = _both(record_copy)
    assert streamed == held
    v13 = next(c for c in streamed["checks"] if c["id"] == "V13")
    assert [d.split(":")[0] for d in v13["details"]] == [
        f"entry {ballots[1]}",
        f"entry {ballots[-2]}",
    ]


def test_line_signature_agrees_with_the_entry_check(demo_outcome: DemoOutcome) -> None:
    lines = (demo_outcome.record / "entries.jsonl").read_bytes().split(b"\n")[:-1]
    eid = election_id_of(parse_entry(lines[0]).data)
    seen = 0
    for raw in lines:
        if not raw.endswith(checks.BALLOT_TAIL):
            continue
        e = parse_entry(raw)
        assert line_signature_ok(e, raw, eid) == verify_entry_signature(e, eid) is True
        assert not line_signature_ok(e, raw, "00" + eid[2:])  # another election
        forged = raw.replace(b'"tracking_code":"', b'"tracking_code":"0', 1)
        assert not line_signature_ok(e, forged, eid)
        seen += 1
    assert seen > 0


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "empty"), (b'{"a":1}', "truncated"), (None, "missing")],
)
def test_streamed_read_refuses_unusable_files(
    record_copy: Path, content: bytes | None, message: str
) -> None:
    path = record_copy / "entries.jsonl"
    if content is None:
        path.unlink()
    else:
        path.write_bytes(content)
    with pytest.raises(RecordError, match=message):
        read_record(record_copy, stream=True)
