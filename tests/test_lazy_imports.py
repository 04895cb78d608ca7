"""A short command does not pay for the web stack or Dask: ``plebiscite --help``,
``plebiscite verify --help`` and a verification on local processes leave fastapi,
uvicorn, starlette, Dask and matplotlib unimported (checked in a fresh interpreter)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from plebiscite.election.demo import DemoOutcome

HEAVY = ("fastapi", "uvicorn", "starlette", "dask", "distributed", "matplotlib")

PROBE = """
import json, sys
from plebiscite.cli import main
sys.argv = ["plebiscite", *json.loads(sys.argv[1])]
try:
    main()
except SystemExit:
    pass
sys.stdout.flush()
print("\\nMODULES " + json.dumps(sorted(sys.modules)))
"""


def _modules_after(*args: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(list(args))],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("MODULES "))
    return set(json.loads(line.removeprefix("MODULES ")))


def _heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in HEAVY)


@pytest.mark.parametrize("args", [["--help"], ["verify", "--help"]], ids=["help", "verify-help"])
def test_help_imports_nothing_heavy(args: list[str]) -> None:
    modules = _modules_after(*args)
    assert "plebiscite.cli" in modules
    assert not _heavy(modules)


def test_verify_imports_nothing_heavy(demo_outcome: DemoOutcome) -> None:
    modules = _modules_after("verify", str(demo_outcome.record), "--workers", "2")
    assert "plebiscite.verify.checks" in modules  # it did verify
    assert not _heavy(modules)
