"""The board's intake and the verifier agree: whatever the tamper generator makes of a
submission (values changed, retyped, deleted or added, elements that are not group
members, scalars out of range), re-signed by the party that vouches for it, is either
refused at the door or passes the verifier. Nothing is appended and then rejected.

For each kind of entry a party submits, the board is rebuilt with the record's entries
before it (written directly, as a board that skipped its intake would), on a clock at
that entry's time; each changed submission goes through ``Organiser.accept`` (the checks
the server runs). When one is accepted, the record that follows (the prefix and the
accepted entry) must fail no check that the same prefix with the genuine entry passes.
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import tamperlib as tl
from mutations import bad_scalars, changed, delete, is_leaf, non_members, put, retyped, walk
from plebiscite.board.log import Board
from plebiscite.election.clock import SimulatedClock
from plebiscite.election.demo import DemoOutcome
from plebiscite.election.intake import Rejected
from plebiscite.election.organiser import BOARD_KEY, Organiser, OrganiserError, _store
from plebiscite.record.entries import Entry, parse_entry_time, sign
from plebiscite.verify.checks import verify_record
from plebiscite.verify.reader import read_record

SUBMITTED = (
    "guardian_key",
    "guardian_shares",
    "guardian_ready",
    "credential_list",
    "ballot",
    "challenged_ballot",
    "decryption_share",
)


def variants(data: dict[str, Any], group: Any, seed: int) -> Iterator[tuple[str, Any]]:
    """Changed copies of an entry's data, each with a description."""
    rng = random.Random(seed)
    for path, value in walk(data):
        if not path:
            continue
        where = "/".join(map(str, path))
        if is_leaf(value):
            yield f"{where} changed", put(data, path, changed(value, rng))
            yield f"{where} retyped", put(data, path, retyped(value, rng))
            for what, text in _hostile(group, value):
                yield f"{where}: {what}", put(data, path, text)
        yield f"{where} deleted", delete(data, path)
    yield "a key added", {**data, "extra": 1}


def _hostile(group: Any, value: Any) -> list[tuple[str, str]]:
    """Non-members where a group element stands, bad scalars where a scalar does."""
    if not isinstance(value, str) or value != value.lower() or len(value) % 2:
        return []
    try:
        bytes.fromhex(value)
    except ValueError:
        return []
    try:
        group.element_from_hex(value)
    except Exception:
        return bad_scalars(group, value) if len(value) == 64 else []
    return non_members(group, value)


def prefix_board(outcome: DemoOutcome, entries: list[Entry], upto: int, folder: Path) -> Organiser:
    """An organiser whose board holds ``entries[:upto]`` (the record's own key and
    origin), on a simulated clock at the time of entry ``upto``."""
    src = outcome.organiser.data_dir
    folder.mkdir(parents=True)
    shutil.copy(src / BOARD_KEY, folder / BOARD_KEY)
    origin = outcome.organiser.origin
    board = Board(_store(folder, None, origin), tl.board_key(outcome), origin)
    board.append_many([e.to_bytes() for e in entries[:upto]])
    board.checkpoint(entries[upto - 1].time)
    board.store.close()
    clock = SimulatedClock(parse_entry_time(entries[upto].time))
    return Organiser(folder, clock, allow_plaintext=True)


def failed(org: Organiser) -> set[str]:
    """The checks the organiser's board fails, published as a record."""
    out = org.data_dir / "record"
    shutil.rmtree(out, ignore_errors=True)
    org.publish(out)
    return {c.id for c in verify_record(read_record(out), workers=1).failed}


@pytest.mark.slow
@pytest.mark.parametrize("type_", SUBMITTED)
def test_intake_appends_nothing_the_verifier_rejects(
    demo_outcome: DemoOutcome, tmp_path: Path, type_: str
) -> None:
    entries = tl.load_entries(demo_outcome.record)
    i = tl.indices_of(entries, type_)[0]
    genuine = entries[i]
    eid, g = tl.election_id(demo_outcome), tl.group(demo_outcome)
    key = tl.owner_key(demo_outcome, genuine)
    base = prefix_board(demo_outcome, entries, i, tmp_path / "base")
    base.accept(sign(type_, genuine.data, eid, key))
    expected = failed(base)
    base.close_store()

    accepted, refused, n = [], 0, 0
    org = None
    for what, data in variants(genuine.data, g, seed=i):
        n += 1
        if org is None:  # a fresh board after each acceptance
            shutil.rmtree(tmp_path / "board", ignore_errors=True)
            org = prefix_board(demo_outcome, entries, i, tmp_path / "board")
        try:
            org.accept(sign(type_, data, eid, key))
        except (Rejected, OrganiserError):
            refused += 1
            continue
        accepted.append((what, failed(org) - expected))
        org.close_store()
        org = None
    if org is not None:
        org.close_store()
    assert n > 5 and refused > 0
    wrong = [(what, extra) for what, extra in accepted if extra]
    assert not wrong, f"{type_}: appended, then rejected by the verifier: {wrong}"
