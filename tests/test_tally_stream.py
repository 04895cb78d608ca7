"""The producer-side tally (a guardian's recomputation before it decrypts, the
organiser's tally) streams the board: one pass, each credential's last ballot index
kept, replaced ballots read again by index; the same tally with the native sums of
ristretto255 ciphertexts on or off."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, overload

import pytest

from plebiscite.crypto import native
from plebiscite.crypto.group import get_group
from plebiscite.election.demo import DemoOutcome
from plebiscite.election.guardian import decrypt_from_board
from plebiscite.election.organiser import Organiser
from plebiscite.election.tally import TallyError, compute_tally, scan_board, tally_to_json
from plebiscite.record.entries import Entry, parse_entry
from plebiscite.record.manifest import parse_manifest
from plebiscite.verify.reader import read_record


class CountingView(Sequence[Entry]):
    """A record's entries, parsed when asked for, counting passes and random reads."""

    def __init__(self, lines: list[bytes]) -> None:
        self.lines = lines
        self.passes = 0
        self.reads: list[int] = []

    def __len__(self) -> int:
        return len(self.lines)

    @overload
    def __getitem__(self, i: int) -> Entry: ...

    @overload
    def __getitem__(self, i: slice) -> list[Entry]: ...

    def __getitem__(self, i: int | slice) -> Entry | list[Entry]:
        if isinstance(i, slice):
            raise AssertionError("the tally must not slice the board (it would load it)")
        self.reads.append(i)
        return parse_entry(self.lines[i])

    def __iter__(self) -> Iterator[Entry]:
        self.passes += 1
        return (parse_entry(x) for x in self.lines)


def record_lines(outcome: DemoOutcome) -> list[bytes]:
    return [x for x in (outcome.record / "entries.jsonl").read_bytes().split(b"\n") if x]


def posted_tally(lines: list[bytes]) -> dict[str, Any]:
    (data,) = [parse_entry(x).data for x in lines if b'"type":"tally"}' in x]
    return data  # type: ignore[no-any-return]


@pytest.mark.parametrize("use_native", [True, False])
def test_streamed_tally_is_the_posted_tally(demo_outcome: DemoOutcome, use_native: bool) -> None:
    lines = record_lines(demo_outcome)
    entries = [parse_entry(x) for x in lines]
    manifest = parse_manifest(entries[0].data["manifest"])
    g = get_group(manifest.group)
    view = CountingView(lines)
    native.set_enabled(use_native)
    try:
        tr, others = scan_board(g, manifest, view)
        assert tally_to_json(tr) == posted_tally(lines)
        assert tally_to_json(compute_tally(g, manifest, entries)) == posted_tally(lines)
    finally:
        native.set_enabled(True)
    assert view.passes == 1
    # the demo revotes: the replaced ballots, and only they, are read again
    replaced = view.reads
    assert replaced, "the demo record should hold revotes"
    assert all(entries[i].type == "ballot" for i in replaced)
    assert set(others) >= {"referendum", "open", "close", "tally", "guardian_key"}
    assert "ballot" not in others


def test_tally_of_an_open_board_is_refused(demo_outcome: DemoOutcome) -> None:
    lines = record_lines(demo_outcome)
    cut = next(i for i, x in enumerate(lines) if b'"type":"close"}' in x)
    entries = [parse_entry(x) for x in lines[:cut]]
    manifest = parse_manifest(entries[0].data["manifest"])
    with pytest.raises(TallyError, match="not closed"):
        compute_tally(get_group(manifest.group), manifest, entries)


def test_a_non_canonical_counted_ciphertext_is_a_tally_error(demo_outcome: DemoOutcome) -> None:
    lines = record_lines(demo_outcome)
    entries = [parse_entry(x) for x in lines]
    manifest = parse_manifest(entries[0].data["manifest"])
    i = next(
        k
        for k, e in enumerate(entries)
        if e.type == "ballot" and k > next(j for j, x in enumerate(entries) if x.type == "open")
    )
    data = dict(entries[i].data)
    answers = [dict(a) for a in data["answers"]]
    choices = [dict(c) for c in answers[0]["choices"]]
    choices[0]["alpha"] = choices[0]["alpha"].upper()
    answers[0]["choices"] = choices
    data["answers"] = answers
    entries[i] = Entry(entries[i].type, entries[i].time, data, entries[i].signer, None)
    with pytest.raises(Exception, match="canonical|hex|encoding"):
        compute_tally(get_group(manifest.group), manifest, entries)


def test_guardian_decrypts_from_the_organisers_streamed_view(
    demo_outcome: DemoOutcome,
) -> None:
    org = Organiser(demo_outcome.organiser.data_dir, passphrase=None, allow_plaintext=True)
    try:
        view = org.board_view()
        assert len(view) == org.size and view[0].type == "referendum"
        assert view[-1].type == org.entry(org.size - 1).type
        with pytest.raises(IndexError):
            view[org.size]
        gd = demo_outcome.guardians[0]
        streamed = decrypt_from_board(gd, org.raw_record())
        listed = decrypt_from_board(gd, read_record(demo_outcome.record))
        assert streamed.keys() == listed.keys()
        assert streamed["tally_index"] == listed["tally_index"]
    finally:
        org.close_store()


def test_a_guardian_decrypts_the_same_from_a_streamed_record(demo_outcome: DemoOutcome) -> None:
    """The checked view reads the record as a stream or from lines in memory: the same
    partial decryptions either way."""
    gd = demo_outcome.guardians[0]
    a = decrypt_from_board(gd, read_record(demo_outcome.record, stream=True))
    b = decrypt_from_board(gd, read_record(demo_outcome.record))
    assert a["tally_index"] == b["tally_index"] and a.keys() == b.keys()


def test_organiser_start_up_indexes_ballots_as_the_strict_parser_would(
    demo_outcome: DemoOutcome,
) -> None:
    """At start-up the organiser reads its own ballots with plain JSON (fast); the index
    must be what parsing every entry strictly gives."""
    org = Organiser(demo_outcome.organiser.data_dir, passphrase=None, allow_plaintext=True)
    try:
        parsed = [parse_entry(x) for x in record_lines(demo_outcome)]
        assert org.size == len(parsed)
        codes = {
            str(e.data["tracking_code"]): i
            for i, e in enumerate(parsed)
            if e.type in ("ballot", "challenged_ballot")
        }
        assert org.tracking_codes() == codes
        last: dict[str, int] = {}
        for i, e in enumerate(parsed):
            if e.type == "ballot":
                last[e.data["credential"]] = i
        assert {c: org.last_ballot(c) for c in last} == last
        types: dict[str, int] = {}
        for e in parsed:
            types[e.type] = types.get(e.type, 0) + 1
        assert org.counts() == types
        assert list(org.iter_entries()) == parsed
    finally:
        org.close_store()


def test_a_guardians_long_steps_report_progress(demo_outcome: DemoOutcome) -> None:
    heard: list[tuple[int, int]] = []
    gd = demo_outcome.guardians[0]
    raw = read_record(demo_outcome.record, stream=True)
    decrypt_from_board(gd, raw, progress=lambda *a: heard.append(a))
    ballots = sum(1 for x in record_lines(demo_outcome) if x.endswith(b'"type":"ballot"}'))
    assert heard and heard[-1] == (ballots, ballots) > (0, 0)  # every ballot line checked
