"""Changing any single JSON value anywhere in a published record is caught.

``make test`` runs a seeded sample; ``make sweep`` (PLEBISCITE_FULL_SWEEP=1) every value.
The verifier runs in-process with one worker.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mutations import changed
from plebiscite.verify.checks import CHECKS, verify_record
from plebiscite.verify.reader import RecordError, read_record

FILES = ("entries.jsonl", "checkpoints.jsonl")
Path_ = tuple[str, int, tuple[Any, ...]]


def leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from leaves(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from leaves(v, (*path, i))
    else:
        yield path, value


def all_leaves(record: Path) -> list[Path_]:
    out = []
    for name in FILES:
        for n, line in enumerate((record / name).read_text().splitlines()):
            out += [(name, n, p) for p, _ in leaves(json.loads(line))]
    return out


def mutate(record: Path, target: Path_, rng: random.Random) -> None:
    name, n, path = target
    lines = (record / name).read_text().splitlines()
    obj = json.loads(lines[n])
    parent = obj
    for k in path[:-1]:
        parent = parent[k]
    parent[path[-1]] = changed(parent[path[-1]], rng)
    lines[n] = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    (record / name).write_text("\n".join(lines) + "\n")


def outcome(record: Path) -> str:
    try:
        report = verify_record(read_record(record), workers=1)
    except RecordError:
        return "unusable"
    return "verified" if report.ok else "failed:" + ",".join(c.id for c in report.failed)


def test_untouched_record_verifies(record_copy: Path) -> None:
    assert outcome(record_copy) == "verified"


def _targets(record: Path) -> list[Path_]:
    targets = all_leaves(record)
    if os.environ.get("PLEBISCITE_FULL_SWEEP"):
        return targets
    return random.Random(2027).sample(targets, 60)


def test_every_sampled_change_is_caught(demo_outcome, tmp_path: Path) -> None:
    import shutil

    rng = random.Random(1)
    targets = _targets(demo_outcome.record)
    caught: dict[str, int] = {}
    for k, target in enumerate(targets):
        rec = tmp_path / f"r{k}"
        shutil.copytree(demo_outcome.record, rec)
        mutate(rec, target, rng)
        result = outcome(rec)
        assert result != "verified", f"change at {target} was not caught"
        caught[result] = caught.get(result, 0) + 1
        shutil.rmtree(rec)
    assert sum(caught.values()) == len(targets)


@pytest.mark.parametrize("name", FILES)
def test_truncated_or_missing_file_is_unusable(record_copy: Path, name: str, run_cli) -> None:
    data = (record_copy / name).read_bytes()
    (record_copy / name).write_bytes(data[: len(data) // 2])
    code, out, err = run_cli("verify", record_copy)
    assert code == 2 and "truncated" in err and err.count("\n") == 1
    (record_copy / name).unlink()
    code, out, err = run_cli("verify", record_copy)
    assert code == 2 and "missing" in err


def test_verify_exit_codes_and_json(record_copy: Path, run_cli) -> None:
    code, out, err = run_cli("verify", record_copy, "--json", "--workers", "1")
    assert code == 0
    rep = json.loads(out)
    assert rep["verdict"] == "verified"
    assert {c["id"] for c in rep["checks"]} == {c.id for c in CHECKS}
    assert all(set(c) >= {"id", "title", "status", "details"} for c in rep["checks"])
    mutate(record_copy, ("entries.jsonl", 0, ("data", "manifest", "title")), random.Random(0))
    code, out, err = run_cli("verify", record_copy, "--json", "--workers", "1")
    assert code == 1
    rep = json.loads(out)
    assert rep["verdict"] == "failed"
    assert "V02" in err
