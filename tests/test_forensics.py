"""Forensics from the verifier's state: turnout, window, histogram, revotes,
challenges, disputes per region; warnings are data, never failures."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import tamperlib as tl
from plebiscite.election.demo import DemoOutcome, builtin_manifest
from plebiscite.record.entries import Entry, format_time
from plebiscite.record.manifest import parse_manifest
from plebiscite.verify.checks import State, Verifier
from plebiscite.verify.forensics import BUCKETS, forensics
from plebiscite.verify.reader import RawRecord, read_record


def _state(record: Path) -> State:
    v = Verifier(read_record(record), 1)
    v.run()
    return v.s


def test_demo_record_figures(demo_outcome: DemoOutcome) -> None:
    f = forensics(_state(demo_outcome.record))
    json.dumps(f)  # plain data, ready for verify --json
    entries = tl.load_entries(demo_outcome.record)
    tally = next(e for e in entries if e.type == "tally").data
    roll = next(e for e in entries if e.type == "voter_roll").data["regions"]
    lists = {e.data["region"]: e.data["count"] for e in entries if e.type == "credential_list"}
    ballots = [e for e in entries if e.type == "ballot"]
    challenged = Counter(e.data["region"] for e in entries if e.type == "challenged_ballot")
    assert set(f["regions"]) == set(lists)
    for r, x in f["regions"].items():
        mine = [b for b in ballots if b.data["region"] == r]
        assert x["credentials"] == lists[r]
        assert x["roll"] == roll[r]
        assert x["counted"] == tally["counted"][r]
        assert x["turnout"] == round(tally["counted"][r] / lists[r], 4)
        assert x["turnout_roll"] == round(tally["counted"][r] / roll[r], 4)
        assert x["ballots"] == len(mine)
        assert x["revotes"] == len(mine) - len({b.data["credential"] for b in mine})
        assert x["challenged"] == challenged[r]
        assert x["outside_window"] == 0
        assert len(x["histogram"]) == BUCKETS and sum(x["histogram"]) == len(mine)
        assert x["disputes"] == 0
    shares = [x["turnout_share"] for x in f["regions"].values()]
    assert abs(sum(shares) - 1) < 1e-3
    t = f["totals"]
    assert t["counted"] == sum(tally["counted"].values())
    assert t["revotes"] == sum(x["revotes"] for x in f["regions"].values())
    assert t["revotes"] + t["challenged"] > 0  # the seeded demo has both kinds
    assert f["window"]["buckets"] == BUCKETS
    assert isinstance(f["warnings"], list)


# --- synthetic states ---------------------------------------------------------------------


def _manifest() -> Any:
    return parse_manifest(builtin_manifest())


def _at(m: Any, minutes: float) -> str:
    return format_time(m.opens + timedelta(minutes=minutes))


def _e(type_: str, time: str, **data: Any) -> Entry:
    return Entry(type_, time, data, None, None)


def _synthetic(close: bool = True) -> State:
    m = _manifest()
    state = State(RawRecord(Path("."), [], [], []))
    state.manifest = m
    creds = {r: [f"{r}-{i}" for i in range(30)] for r in m.regions}
    state.credentials = {r: set(c) for r, c in creds.items()}
    before = _at(m, -30)
    entries: list[Entry | None] = [
        _e("referendum", before),
        _e("voter_roll", before, regions={"orkney": 25, "shetland": 40, "lewis": 40}),
        None,  # an unreadable entry is a hole
        _e("ballot", before, region="lewis", credential="lewis-0"),  # before the open
        _e("open", _at(m, 0)),
    ]
    # Orkney: 29 of 30 credentials vote within five minutes (a spike, high turnout).
    entries += [
        _e("ballot", _at(m, 1 + i / 10), region="orkney", credential=c)
        for i, c in enumerate(creds["orkney"][:29])
    ]
    # Shetland: 20 voters spread over the window, 5 of them vote again.
    span = (m.closes - m.opens).total_seconds() / 60
    entries += [
        _e("ballot", _at(m, span * (i + 0.5) / 20), region="shetland", credential=c)
        for i, c in enumerate(creds["shetland"][:20])
    ]
    entries += [
        _e("ballot", _at(m, span * (i * 4 + 0.7) / 20), region="shetland", credential=c)
        for i, c in enumerate(creds["shetland"][:5])
    ]
    # Lewis: challenged ballots and disputes; one ballot after the window's end.
    entries += [_e("challenged_ballot", _at(m, 60), region="lewis") for _ in range(3)]
    entries += [_e("ballot", _at(m, 61), region="lewis", credential="lewis-1")]
    entries += [_e("ballot", format_time(m.closes + timedelta(minutes=1)), region="lewis",
                   credential="lewis-2")]  # fmt: skip
    entries += [_e("dispute", _at(m, 62), region="lewis"), _e("dispute", _at(m, 63))]
    entries += [_e("ballot", _at(m, 64), region=["not", "a", "region"], credential=7)]
    if close:
        entries.append(_e("close", format_time(m.closes)))
    entries.append(_e("ballot", format_time(m.closes), region="lewis", credential="lewis-3"))
    state.entries = entries
    return state


def test_synthetic_figures_and_warnings() -> None:
    f = forensics(_synthetic())
    ork, she, lew, main = (f["regions"][r] for r in ("orkney", "shetland", "lewis", "mainland"))
    assert ork["counted"] == 29 and ork["turnout"] == round(29 / 30, 4)
    assert ork["turnout_roll"] == round(29 / 25, 4)
    assert she["ballots"] == 25 and she["revotes"] == 5 and she["revote_share"] == 0.2
    assert she["counted"] == 20
    assert sum(she["histogram"]) == 25 and max(she["histogram"]) <= 2
    # Before the open, after the window's end, after the close entry; as V16, what
    # counts is the place between the open and close entries (V15 fails on the time).
    assert lew["outside_window"] == 3 and lew["counted"] == 2
    assert lew["challenged"] == 3 and lew["challenge_share"] == round(3 / 7, 4)
    assert lew["disputes"] == 1
    assert main["ballots"] == 0 and main["turnout"] == 0 and main["roll"] is None
    assert main["revote_share"] is None
    assert f["totals"]["disputes"] == 2 and f["totals"]["outside_window"] == 3

    w = "\n".join(f["warnings"])
    assert "region orkney: turnout 96.7% of the credentials" in w
    assert "region orkney: 30 credentials for 25 voters on the roll" in w
    assert "region orkney: turnout 116.0% of the voter roll" in w
    assert "region orkney: a spike of 29 of 29 ballots" in w
    assert "region shetland: 20.0% of the ballots are revotes" in w
    assert "region shetland: a spike" not in w
    assert "region lewis: 3 ballot(s) outside the voting window" in w
    assert "region lewis: 1 dispute(s)" in w
    assert "1 dispute(s) name no region" in w
    assert "region mainland" not in w


def test_an_election_still_running_counts_the_latest_ballots() -> None:
    f = forensics(_synthetic(close=False))
    assert f["regions"]["shetland"]["counted"] == 20
    assert f["regions"]["lewis"]["counted"] == 3  # nothing closed: every ballot after open
    assert f["regions"]["lewis"]["outside_window"] == 2


def test_no_referendum_file_no_figures() -> None:
    state = State(RawRecord(Path("."), [], [], []))
    f = forensics(state)
    assert f["regions"] == {} and "no valid referendum file" in f["warnings"][0]


def test_turnout_above_the_credentials_is_flagged(demo_outcome: DemoOutcome) -> None:
    state = _state(demo_outcome.record)
    region = next(iter(state.credentials))
    state.credentials[region] = set(list(state.credentials[region])[:1])
    f = forensics(state)
    assert any(f"region {region}:" in w and "above 100%" in w for w in f["warnings"])


def test_a_tampered_record_does_not_break_forensics(record_copy: Path) -> None:
    (record_copy / "entries.jsonl").write_bytes(
        (record_copy / "entries.jsonl").read_bytes().replace(b'"region":"orkney"', b'"region":5')
    )
    f = forensics(_state(record_copy))
    assert f["regions"]["orkney"]["ballots"] == 0
