"""Shared fixtures: small demo referendums run in-process through the role functions."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from plebiscite.election.demo import DemoOutcome, run_demo

# Secret files sealed during the tests use scrypt's cheap test cost (election/keys.py);
# subprocesses (the live server) inherit it.
os.environ.setdefault("PLEBISCITE_KDF_COST", "test")
# The passphrase run_cli gives every command, as a role would through the environment.
TEST_PASSPHRASE = "correct horse battery staple"


@pytest.fixture(scope="session")
def demo_outcome(tmp_path_factory: pytest.TempPathFactory) -> DemoOutcome:
    """A finished ristretto255 demo (built-in referendum, 6 voters per region, seeded),
    with challenged ballots and revotes; its record must not be modified: copy it."""
    base = tmp_path_factory.mktemp("demo")
    out = run_demo(base / "data", base / "record", voters=6, seed=1)
    out.organiser.close_store()
    return out


@pytest.fixture
def record_copy(demo_outcome: DemoOutcome, tmp_path: Path) -> Path:
    """A fresh copy of the demo record that a test may tamper with."""
    dst = tmp_path / "record"
    shutil.copytree(demo_outcome.record, dst)
    return dst


@pytest.fixture
def run_cli() -> Callable[..., tuple[int, str, str]]:
    """Run the CLI in-process, with PLEBISCITE_PASSPHRASE set (so the keys the commands
    make are sealed); returns (exit code, stdout, stderr)."""
    from typer.testing import CliRunner

    from plebiscite.cli import app

    env = {"PLEBISCITE_PASSPHRASE": TEST_PASSPHRASE}

    def run(*args: str) -> tuple[int, str, str]:
        result = CliRunner().invoke(app, [str(a) for a in args], env=env)
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, result.stdout, result.stderr

    return run


@pytest.fixture
def role_passphrase() -> str:
    """The passphrase ``run_cli`` gives the commands (to open what they sealed)."""
    return TEST_PASSPHRASE


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """``plebiscite serve --demo`` running as a separate process on a free port."""

    def __init__(self, data: Path, count: int = 6, extra: tuple[str, ...] = ()) -> None:
        import csv
        import subprocess
        import sys
        import time

        import httpx

        self.data = data
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        voters_csv = data.parent / f"{data.name}-voters.csv"
        self.log = (data.parent / f"{data.name}-server.log").open("w")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "plebiscite.cli",
                "serve",
                "--demo",
                "--data",
                str(data),
                "--port",
                str(self.port),
                "--demo-count",
                str(count),
                "--demo-voters",
                str(voters_csv),
                *extra,
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.time() + 60
        while True:
            try:
                if httpx.get(self.url + "/api/referendums", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(
                    "the server did not start: "
                    + (data.parent / f"{data.name}-server.log").read_text()
                )
            time.sleep(0.1)
        with voters_csv.open() as f:
            self.voters = list(csv.DictReader(f))
        self.rid = httpx.get(self.url + "/api/referendums").json()[0]["id"]
        self.admin_token = (data / "admin-token").read_text().strip()

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except Exception:
            self.proc.kill()
        self.log.close()


@pytest.fixture
def live_server(tmp_path: Path):
    server = LiveServer(tmp_path / "server-data")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def pg_url():  # -> Iterator[str]
    """URL of a database in a throwaway PostgreSQL cluster, started for this test session
    (one cluster per pytest-xdist worker: each listens on a Unix socket in its own
    temporary directory) and removed afterwards. Fails, never skips, without PostgreSQL."""
    import os

    from pgcluster import PostgresCluster, PostgresUnavailable

    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    cluster = PostgresCluster(prefix=f"plebiscite-pg-{worker}-")
    try:
        url = cluster.start()
    except PostgresUnavailable as exc:
        pytest.fail(f"cannot start a test PostgreSQL cluster: {exc}", pytrace=False)
    try:
        yield url
    finally:
        cluster.stop()
