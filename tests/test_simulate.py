"""``plebiscite simulate``: small simulated records pass the full verifier, results add
up to the voters of each region, and bad input gets one line and exit 2."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from plebiscite.cli_simulate import simulate_command
from plebiscite.election.demo import builtin_manifest
from plebiscite.election.simulate import _chunks, derive_credential, split_voters

Cli = Callable[..., tuple[int, str, str]]


def _one_line(err: str) -> None:
    assert err.count("\n") == 1 and err.startswith("plebiscite: ") and "Traceback" not in err


@pytest.fixture
def sim() -> Cli:
    """``plebiscite simulate ...`` in-process (the command on an app of its own)."""
    app = typer.Typer(pretty_exceptions_enable=False)

    @app.callback()
    def _main() -> None:
        """Test app."""

    app.command("simulate")(simulate_command)

    def run(*args: object) -> tuple[int, str, str]:
        result = CliRunner().invoke(app, ["simulate", *(str(a) for a in args)])
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, result.stdout, result.stderr

    return run


def _verified_results(run_cli: Cli, record: Path) -> dict[str, Any]:
    code, out, err = run_cli("verify", record, "--json", "--workers", 2)
    assert code == 0, err
    report = json.loads(out)
    assert report["verdict"] == "verified"
    assert not [c["id"] for c in report["checks"] if c["status"] == "failed"]
    results: dict[str, Any] = report["results"]
    return results


@pytest.mark.slow
@pytest.mark.parametrize(
    ("group", "voters", "regions"), [("ristretto255", 200, 3), ("modp-4096", 20, 2)]
)
def test_simulated_record_verifies(
    sim: Cli, run_cli: Cli, tmp_path: Path, group: str, voters: int, regions: int
) -> None:
    record = tmp_path / "record"
    code, _, err = sim(
        "--voters", voters, "--regions", regions, "--group", group, "--workers", 2,
        "--seed", 7, "--record", record,
    )  # fmt: skip
    assert code == 0, err
    assert "ballots/s" in err
    results = _verified_results(run_cli, record)
    sizes = split_voters(voters, [f"region-{k}" for k in range(1, regions + 1)])
    assert set(results) == set(sizes)
    for region, n in sizes.items():
        (counts,) = results[region].values()  # one yes/no question per region
        assert set(counts) == {"yes", "no"} and sum(counts.values()) == n
    assert sum(sizes.values()) == voters
    # Entries of the ballots are spread over the voting window, a batch at a time.
    lines = (record / "entries.jsonl").read_bytes().splitlines()
    times = {json.loads(x)["time"] for x in lines if b'"type":"ballot"' in x}
    assert len(times) > 1
    # Unwitnessed: no observers, no cosignatures.
    assert (record / "cosignatures.jsonl").read_bytes() == b""


@pytest.mark.slow
def test_simulate_with_a_manifest(sim: Cli, run_cli: Cli, tmp_path: Path) -> None:
    """The built-in referendum (without its demo observers): two questions, blank votes,
    one region asking a single question."""
    m = tmp_path / "referendum.json"
    raw = builtin_manifest()
    m.write_text(json.dumps(raw))
    record = tmp_path / "record"
    code, _, err = sim("--voters", 30, "--manifest", m, "--workers", 2, "--record", record)
    assert code == 0, err
    results = _verified_results(run_cli, record)
    sizes = split_voters(30, [r["id"] for r in raw["regions"]])
    for region, qs in results.items():
        for counts in qs.values():
            assert sum(counts.values()) == sizes[region]


def test_bad_input(sim: Cli, tmp_path: Path) -> None:
    record = tmp_path / "record"
    for args, message in [
        (["--voters", 0, "--regions", 3], "--voters"),
        (["--voters", 10, "--regions", 0], "--regions"),
        (["--voters", 10, "--group", "rsa-512"], "is not one of"),
        (["--voters", 10, "--workers", 0], "--workers"),
        (["--voters", 2, "--regions", 3], "cannot be spread"),
    ]:
        code, _, err = sim(*args, "--record", record)
        assert code == 2, (args, err)
        _one_line(err)
        assert message in err
    assert not record.exists()


def test_manifest_with_observers_is_refused(sim: Cli, tmp_path: Path) -> None:
    raw = builtin_manifest()
    raw["observers"] = [
        {
            "id": "civic-watch",
            "name": "Civic Watch",
            "kind": "NGO",
            "jurisdiction": "UK",
            "public_key": "A" * 43 + "=",
        }
    ]
    raw["witness_quorum"] = 1
    m = tmp_path / "referendum.json"
    m.write_text(json.dumps(raw))
    code, _, err = sim("--voters", 10, "--manifest", m, "--record", tmp_path / "r")
    assert code == 2
    _one_line(err)
    assert "observers" in err
    code, _, err = sim("--voters", 10, "--manifest", m, "--regions", 2, "--record", tmp_path / "r")
    assert code == 2
    _one_line(err)


def test_record_not_empty_is_refused(sim: Cli, tmp_path: Path) -> None:
    record = tmp_path / "record"
    record.mkdir()
    (record / "x").write_text("x")
    code, _, err = sim("--voters", 10, "--record", record)
    assert code == 2
    _one_line(err)


def test_credentials_and_chunks() -> None:
    from plebiscite.election.credentials import is_well_formed

    c = derive_credential(b"k" * 32, "region-1", 0)
    assert is_well_formed(c) and c == derive_credential(b"k" * 32, "region-1", 0)
    assert c != derive_credential(b"k" * 32, "region-1", 1)
    assert c != derive_credential(b"k" * 32, "region-2", 0)
    assert split_voters(10, ["a", "b", "c"]) == {"a": 4, "b": 3, "c": 3}
    chunks = _chunks({"a": 5, "b": 2}, 2)
    assert chunks == [("a", 0, 2), ("b", 0, 2), ("a", 2, 2), ("a", 4, 1)]
