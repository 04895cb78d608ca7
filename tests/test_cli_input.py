"""Bad input gets one clear line on stderr and exit 2, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from plebiscite.election.demo import builtin_manifest
from plebiscite.record.manifest import ManifestError, parse_manifest


def _one_line(err: str) -> None:
    assert err.count("\n") == 1 and err.startswith("plebiscite: ") and "Traceback" not in err


def _with(**changes: object) -> dict:
    m = builtin_manifest()
    m.update(changes)
    return m


BAD_MANIFESTS = [
    (_with(extra=1), "unknown key 'extra'"),
    (_with(group="rsa-512"), "is not one of"),
    (_with(opens="2027-03-07T07:00:00"), "needs a 'Z' or an offset"),
    (_with(closes="2020-01-01T00:00:00Z"), "closes: must be after opens"),
    (_with(guardians={"count": 2, "quorum": 3}), "guardians.quorum"),
    (_with(regions=[{"id": "x", "name": "X", "questions": ["nope"]}]), "unknown question 'nope'"),
    (
        _with(questions=[{"id": "q", "text": "t", "options": ["yes", "blank"]}]),
        "'blank' is reserved",
    ),
    (
        _with(questions=[{"id": "q", "text": "t", "options": ["a", "b"], "min": 2, "max": 1}]),
        "greater than max",
    ),
    (_with(rule={"majority": 1.5}), "rule.majority"),
    (_with(regions=[{"id": "x", "name": "X", "questions": [["status"]]}]), "unknown question"),
    (_with(title=""), "title"),
]


@pytest.mark.parametrize(("manifest", "message"), BAD_MANIFESTS)
def test_bad_manifest(manifest: dict, message: str, tmp_path: Path, run_cli) -> None:
    with pytest.raises(ManifestError, match=message.replace("(", r"\(")):
        parse_manifest(manifest)
    f = tmp_path / "m.json"
    f.write_text(json.dumps(manifest))
    code, _, err = run_cli("demo", "--manifest", f, "--record", tmp_path / "r")
    assert code == 2 and message in err
    _one_line(err)


@pytest.mark.parametrize(
    "content", ["{", "[1, 2]", '{"title": NaN}', '{"a": 1, "a": 2}', "\xff\xfe"]
)
def test_unreadable_manifest(content: str, tmp_path: Path, run_cli) -> None:
    f = tmp_path / "m.json"
    f.write_bytes(content.encode("latin-1"))
    code, _, err = run_cli("organiser", "init", "--manifest", f, "--data", tmp_path / "d")
    assert code == 2
    _one_line(err)


def test_missing_files(tmp_path: Path, run_cli) -> None:
    for args in (
        ["demo", "--manifest", tmp_path / "none.json"],
        ["verify", tmp_path / "none"],
        ["results", tmp_path / "none", "--json"],
        ["organiser", "open", "--data", tmp_path / "none"],
        ["demo", "--group", "p-256"],
    ):
        code, out, err = run_cli(*args)
        assert code == 2, args
        _one_line(err)
        assert out == ""


def test_results_json_is_exactly_the_counts(demo_outcome, run_cli) -> None:
    code, out, err = run_cli("results", demo_outcome.record, "--json", "--workers", "1")
    assert code == 0
    assert json.loads(out) == demo_outcome.expected


def test_demo_command_end_to_end(tmp_path: Path, run_cli) -> None:
    rec = tmp_path / "rec"
    code, out, err = run_cli(
        "demo", "--record", rec, "--voters", "3", "--seed", "3", "--workers", "1"
    )
    assert code == 0, err
    assert "verified" in out and "Orkney" in out
    code, _, err = run_cli("demo", "--record", rec, "--voters", "3")
    assert code == 2 and "--force" in err
