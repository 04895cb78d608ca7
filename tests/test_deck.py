"""Logic-and-accuracy testing: a deck of known votes gives exactly its counts."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest

from plebiscite.election.demo import builtin_manifest, read_deck, run_demo
from plebiscite.record.manifest import parse_manifest


def write_deck(path: Path, n: int, seed: int) -> dict[str, dict[str, dict[str, int]]]:
    """A deck of ``n`` voters over the built-in referendum's four regions and two
    questions (one with blank); returns the counts it must give."""
    m = parse_manifest(builtin_manifest())
    rng = random.Random(seed)
    expected = {
        r: {q.id: dict.fromkeys(q.slots, 0) for q in m.region_questions(r)} for r in m.regions
    }
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["region", "status", "capital"])
        for _ in range(n):
            r = rng.choice(list(m.regions))
            row = [r]
            for qid in ("status", "capital"):
                if qid not in m.regions[r].questions:
                    row.append("")
                    continue
                choice = rng.choice(m.questions[qid].slots)
                expected[r][qid][choice] += 1
                row.append(choice)
            w.writerow(row)
    return expected


@pytest.mark.slow
@pytest.mark.parametrize(("group", "n"), [("ristretto255", 400), ("modp-4096", 200)])
def test_deck_counts_exact(group: str, n: int, tmp_path: Path, run_cli) -> None:
    deck = tmp_path / "deck.csv"
    expected = write_deck(deck, n, seed=n)
    raw = dict(builtin_manifest(), group=group)
    votes = read_deck(deck, parse_manifest(raw))
    assert len(votes) == n
    out = run_demo(tmp_path / "data", tmp_path / "record", raw, votes)
    out.organiser.close_store()
    code, stdout, stderr = run_cli("results", tmp_path / "record", "--json", "--workers", "2")
    assert code == 0, stderr
    assert json.loads(stdout) == expected


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("region,status,capital\natlantis,yes,lerwick\n", "unknown region 'atlantis'"),
        ("region,status,capital\norkney,maybe,lerwick\n", "'maybe' is not an option"),
        ("region,status,capital\norkney,,lerwick\n", "needs an answer"),
        ("region,status,capital\nmainland,yes,lerwick\n", "does not ask"),
        ("region,status,nope\norkney,yes,x\n", "unknown question 'nope'"),
        ("status,capital\nyes,lerwick\n", "must start with 'region'"),
        ("region,status,capital\norkney,yes;no,lerwick\n", "not a valid answer"),
        ("region,status,capital\norkney,yes\n", "expected 3 cells"),
    ],
)
def test_bad_deck_is_one_line_exit_2(rows: str, message: str, tmp_path: Path, run_cli) -> None:
    deck = tmp_path / "deck.csv"
    deck.write_text(rows)
    code, out, err = run_cli("demo", "--votes", deck, "--record", tmp_path / "r")
    assert code == 2
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "r").exists()
