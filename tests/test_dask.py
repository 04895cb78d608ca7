"""``plebiscite verify --scheduler``: the ballot batches on a Dask cluster (a scheduler and
two one-thread workers started here as separate processes) give the same report and the
same verdict as local processes; an unusable scheduler address is one line and exit 2."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import tamperlib as tl
from plebiscite.election.demo import DemoOutcome
from plebiscite.verify import walk

Run = Callable[..., tuple[int, str, str]]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The address of a local Dask scheduler with two one-thread worker processes."""
    from distributed import Client

    dask = str(Path(sys.executable).parent / "dask")
    logs = tmp_path_factory.mktemp("dask")
    address = f"tcp://127.0.0.1:{_free_port()}"
    port = address.rsplit(":", 1)[1]
    procs: list[subprocess.Popen[bytes]] = []

    def start(name: str, *args: str) -> None:
        with (logs / f"{name}.log").open("wb") as log:
            procs.append(subprocess.Popen([dask, *args], stdout=log, stderr=subprocess.STDOUT))

    try:
        start("scheduler", "scheduler", "--host", "127.0.0.1", "--port", port, "--no-dashboard")
        for n in (1, 2):
            start(
                f"worker{n}",
                "worker",
                address,
                "--nworkers",
                "1",
                "--nthreads",
                "1",
                "--no-dashboard",
                "--host",
                "127.0.0.1",
            )
        deadline = time.monotonic() + 30
        while True:  # the scheduler's port opens a moment after the process starts
            try:
                socket.create_connection(("127.0.0.1", int(port)), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or procs[0].poll() is not None:
                    raise RuntimeError(
                        "the scheduler did not start: " + (logs / "scheduler.log").read_text()
                    ) from None
                time.sleep(0.1)
        with Client(address, timeout=30, set_as_default=False) as client:
            client.wait_for_workers(2, timeout=30)
            assert len(client.scheduler_info()["workers"]) == 2
        yield address
    finally:
        _stop(procs[::-1])  # workers first, then the scheduler


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    # Many batches from a small record: both workers busy, back-pressure and merging in
    # batch order exercised (both paths read the same module constant).
    monkeypatch.setattr(walk, "BATCH", 3)


def _report(run_cli: Run, record: Path, *args: str) -> tuple[int, dict[str, Any]]:
    code, out, _ = run_cli("verify", "--json", *args, record)
    return code, json.loads(out)


def test_same_report_through_dask(
    scheduler: str, demo_outcome: DemoOutcome, run_cli: Run, small_batches: None
) -> None:
    code, local = _report(run_cli, demo_outcome.record, "--workers", "2")
    assert code == 0 and local["verdict"] == "verified"
    assert local["summary"]["ballots"] > 2 * walk.BATCH
    code, remote = _report(run_cli, demo_outcome.record, "--scheduler", scheduler)
    assert code == 0
    assert remote == local  # the report holds no timing


def test_tampered_ballots_fail_v13_through_dask(
    scheduler: str,
    demo_outcome: DemoOutcome,
    record_copy: Path,
    run_cli: Run,
    small_batches: None,
) -> None:
    # One proof scalar changed in the first and in the last ballot (different batches),
    # each ballot re-signed with its voter's key: only V13 can catch it.
    entries = tl.load_entries(record_copy)
    ballots = tl.indices_of(entries, "ballot")
    for i in (ballots[0], ballots[-1]):
        d = json.loads(json.dumps(entries[i].data))
        branch = d["answers"][0]["choices"][0]["proof"][0]
        branch["s"] = tl.bump_scalar(tl.group(demo_outcome), branch["s"])
        entries[i] = tl.resign_as_owner(demo_outcome, entries[i], d)
    tl.save(record_copy, entries, tl.board_key(demo_outcome), tl.witness_keys(demo_outcome))

    code, local = _report(run_cli, record_copy, "--workers", "1")
    assert code == 1
    code, remote = _report(run_cli, record_copy, "--scheduler", scheduler)
    assert code == 1
    assert remote == local
    failed = [c for c in remote["checks"] if c["status"] == "failed"]
    assert [c["id"] for c in failed] == ["V13"]
    assert [d.split(":")[0] for d in failed[0]["details"]] == [
        f"entry {ballots[0]}",
        f"entry {ballots[-1]}",
    ]


@pytest.mark.parametrize("address", ["unreachable", "nonsense", "foo://127.0.0.1:1"])
def test_unusable_scheduler_is_one_line(
    address: str, demo_outcome: DemoOutcome, run_cli: Run
) -> None:
    if address == "unreachable":
        address = f"tcp://127.0.0.1:{_free_port()}"  # nothing listens there
    code, out, err = run_cli("verify", "--scheduler", address, demo_outcome.record)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("plebiscite: --scheduler:"), err
    assert "Traceback" not in err
