"""Shared fixtures: small demo referendums run in-process through the role functions."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from plebiscite.election.demo import DemoOutcome, run_demo


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
    """Run the CLI in-process; returns (exit code, stdout, stderr)."""
    from typer.testing import CliRunner

    from plebiscite.cli import app

    def run(*args: str) -> tuple[int, str, str]:
        result = CliRunner().invoke(app, [str(a) for a in args])
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, result.stdout, result.stderr

    return run
