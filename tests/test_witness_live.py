"""Witnesses keep time against a real server: the real ``plebiscite observe witness``
command, run as its own process, refuses a board whose clock disagrees with its own
(``faketime`` sets the witness's clock two days back), cosigns on the board's clock, asks
for a fresh checkpoint, follows the board until ``--until`` or until the result is on it
and cosigned, and stops cleanly on Ctrl-C."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from conftest import LiveServer
from plebiscite.board.checkpoint import Checkpoint
from plebiscite.board.cosign import Cosignature, verify_cosignature
from plebiscite.record.entries import format_time, parse_entry_time
from plebiscite.server.app import FRESH_AFTER_S

pytestmark = pytest.mark.slow

PLEBISCITE = [sys.executable, "-m", "plebiscite.cli"]


def run(*args: object, clock: str | None = None, timeout: float = 120) -> tuple[int, str, str]:
    """The CLI as a separate process; with ``clock``, under ``faketime`` (e.g. "-2d")."""
    cmd = [*PLEBISCITE, *(str(a) for a in args)]
    if clock is not None:
        cmd = ["faketime", "-f", clock, *cmd]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    s = LiveServer(tmp_path_factory.mktemp("witness-live") / "data", count=2)
    yield s
    s.stop()


def _observer(server: LiveServer, folder: Path, oid: str) -> Path:
    """A new observer key, accredited on the server's board; returns the key file."""
    key = folder / f"{oid}.key"
    code, out, err = run("observe", "keygen", "--out", key, "--insecure-plaintext")
    assert code == 0, err
    observer = {
        "id": oid,
        "name": f"Observer {oid}",
        "kind": "NGO",
        "jurisdiction": "NO",
        "public_key": out.strip().splitlines()[-1],
    }
    r = httpx.post(
        f"{server.url}/api/admin/referendums/{server.rid}/observers",
        json=observer,
        headers={"Authorization": f"Bearer {server.admin_token}"},
    )
    assert r.status_code == 200, r.text
    return key


def _api(server: LiveServer, path: str) -> str:
    return httpx.get(f"{server.url}/api/referendums/{server.rid}/{path}").text


def _cosignatures(server: LiveServer, oid: str) -> list[Cosignature]:
    lines = _api(server, "record/cosignatures.jsonl").splitlines()
    out = [Cosignature.from_json(json.loads(x)) for x in lines if x]
    return [cs for cs in out if cs.witness == oid]


def require_faketime() -> None:
    if shutil.which("faketime") is None:
        pytest.fail("faketime is not installed (scripts/system-deps.sh installs it)")


def test_a_witness_two_days_behind_refuses_and_one_on_the_boards_clock_cosigns(
    server: LiveServer, tmp_path: Path
) -> None:
    require_faketime()
    key = _observer(server, tmp_path, "clockwatch")
    state = tmp_path / "state"
    witness = (
        "observe",
        "witness",
        "--insecure-plaintext",
        "--server",
        server.url,
        "--key",
        key,
        "--state",
        state,
    )

    code, out, err = run(*witness, clock="-2d")
    assert code == 3, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "ahead of this witness's clock" in lines[0] and "(max_skew_s 300)" in lines[0]
    assert "refusing" in lines[0] and "Traceback" not in err
    ahead = float(lines[0].split(" s ahead")[0].rsplit(" ", 1)[1])
    assert 172800 - 600 < ahead < 172800 + 600  # two days, give or take the run
    assert not (state / "state.json").exists() and _cosignatures(server, "clockwatch") == []

    code, out, err = run(*witness)
    assert code == 0, err
    assert "clockwatch cosigned" in err
    mine = _cosignatures(server, "clockwatch")
    cps = [
        Checkpoint.from_json(json.loads(x))
        for x in _api(server, "record/checkpoints.jsonl").splitlines()
    ]
    # Every checkpoint up to the latest, in order, each cosignature valid and the latest timely.
    assert [cs.checkpoint.size for cs in mine] == [cp.size for cp in cps[: len(mine)]]
    assert all(verify_cosignature(cs) for cs in mine)
    assert mine[-1].timely(300)
    now = datetime.now(UTC)
    assert abs((parse_entry_time(mine[-1].witness_time) - now).total_seconds()) < 60

    # Run again at once: nothing new to cosign (or the minute's checkpoint), never twice.
    code, _, err = run(*witness)
    assert code == 0, err
    again = _cosignatures(server, "clockwatch")
    assert len({(c.checkpoint.size, c.checkpoint.time) for c in again}) == len(again)


def test_a_witness_ahead_of_the_board_asks_for_a_fresh_checkpoint_then_refuses(
    server: LiveServer, tmp_path: Path
) -> None:
    require_faketime()
    key = _observer(server, tmp_path, "late")
    time.sleep(FRESH_AFTER_S + 0.5)  # the accreditation's checkpoint is no longer fresh
    state = tmp_path / "state"
    witness = (
        "observe",
        "witness",
        "--insecure-plaintext",
        "--server",
        server.url,
        "--key",
        key,
        "--state",
        state,
    )
    before = _api(server, "record/checkpoints.jsonl").splitlines()
    # Ten minutes ahead of the board: its latest checkpoint is too old for this witness,
    # which asks for a fresh one (signed by the board on its own clock, ten minutes
    # behind), and so still finds it too old: refused, naming the skew.
    code, _, err = run(*witness, clock="+10m")
    assert code == 3, err
    assert len(err.strip().splitlines()) == 1
    assert "behind this witness's clock" in err and "after asking for a fresh one" in err
    after = _api(server, "record/checkpoints.jsonl").splitlines()
    assert len(after) > len(before)  # the board signed a fresh one when asked
    old, new = (Checkpoint.from_json(json.loads(x)) for x in (before[-1], after[-1]))
    assert new.size == old.size and new.time > old.time

    # The endpoint itself: a fresh checkpoint is one of the current size, signed now
    # (at most one every few seconds, however often asked).
    r = httpx.get(f"{server.url}/api/referendums/{server.rid}/checkpoint", params={"fresh": 1})
    fresh = Checkpoint.from_json(r.json())
    assert fresh.size == new.size
    assert abs((parse_entry_time(fresh.time) - datetime.now(UTC)).total_seconds()) < 30
    r = httpx.get(f"{server.url}/api/referendums/{server.rid}/checkpoint", params={"fresh": 1})
    assert Checkpoint.from_json(r.json()) == fresh


def test_follow_until_then_ctrl_c_then_until_the_result(server: LiveServer, tmp_path: Path) -> None:
    key = _observer(server, tmp_path, "follower")
    state = tmp_path / "state"
    witness = (
        "observe",
        "witness",
        "--insecure-plaintext",
        "--server",
        server.url,
        "--key",
        key,
        "--state",
        state,
    )

    # --until: polls, cosigning as the board grows, and stops at that time.
    until = format_time(datetime.now(UTC) + timedelta(seconds=3))
    t0 = time.monotonic()
    code, _, err = run(*witness, "--follow", "--interval", "0.5", "--until", until)
    assert code == 0, err
    assert 2 < time.monotonic() - t0 < 60
    assert "reached --until" in err and "follower cosigned" in err
    assert json.loads((state / "state.json").read_text())["last"]

    # Ctrl-C: a clean stop, state saved, exit 0.
    saved = (state / "state.json").stat().st_mtime_ns
    _observer(server, tmp_path, "another")  # the board grows: the next round cosigns
    p = subprocess.Popen(
        [*PLEBISCITE, *(str(a) for a in witness), "--follow", "--interval", "0.5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # As from a terminal: a test suite started in the background (a CI job, `make
        # test &`) has SIGINT ignored, which a child inherits, and Python then keeps it
        # ignored.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    # Interrupt it while it follows, not while it is still starting (on a loaded machine
    # the interpreter and its imports can take seconds): once a round saved its state.
    deadline = time.monotonic() + 60
    while (state / "state.json").stat().st_mtime_ns == saved and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1)
    p.send_signal(signal.SIGINT)
    try:
        out, err = p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        raise AssertionError(f"still running 60 s after Ctrl-C: {err}") from None
    assert p.returncode == 0, err
    assert "stopped after" in err and "state saved" in err and "Traceback" not in err

    # The admin closes; the demo server tallies and posts the result. Following now ends
    # once this witness has cosigned a checkpoint covering the result.
    r = httpx.post(
        f"{server.url}/api/admin/referendums/{server.rid}/close",
        headers={"Authorization": f"Bearer {server.admin_token}"},
        timeout=120,
    )
    assert r.status_code == 200, r.text
    code, _, err = run(*witness, "--follow", "--interval", "0.5")
    assert code == 0, err
    assert "the result is on the board and cosigned; done" in err
    entries = _api(server, "record/entries.jsonl").splitlines()
    result = next(i for i, x in enumerate(entries) if json.loads(x)["type"] == "result")
    assert max(cs.checkpoint.size for cs in _cosignatures(server, "follower")) > result
