"""A board can be verified at any stage: checks for stages not reached yet are
not_applicable, never passed and never failed."""

from __future__ import annotations

from pathlib import Path

import pytest

import tamperlib as tl
from plebiscite.verify.checks import verify_record
from plebiscite.verify.reader import read_record


@pytest.mark.parametrize(
    ("cut_before", "stage", "pending"),
    [
        ("close", "voting", {"V16", "V17", "V18", "V19"}),
        ("tally", "closed", {"V17", "V18", "V19"}),
        ("decryption_share", "tallied", {"V18", "V19"}),
        ("result", "tallied", {"V19"}),
    ],
)
def test_unfinished_board_verifies(
    demo_outcome, record_copy: Path, cut_before: str, stage: str, pending: set[str]
) -> None:
    entries = tl.load_entries(record_copy)
    cut = tl.indices_of(entries, cut_before)[0]
    tl.save(record_copy, entries[:cut], tl.board_key(demo_outcome), tl.witness_keys(demo_outcome))
    report = verify_record(read_record(record_copy), workers=1)
    assert report.ok, [c.details for c in report.failed]
    assert report.summary["stage"] == stage
    na = {c.id for c in report.checks if c.status == "not_applicable"}
    assert na == pending
    assert report.results is None
