"""The docs cannot go stale: the CLI reference is generated from the commands, and
every command is named in a role guide or the README."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import typer.main

from plebiscite.cli import app

ROOT = Path(__file__).resolve().parent.parent


def _generated() -> str:
    spec = importlib.util.spec_from_file_location("gen_cli", ROOT / "docs" / "gen_cli.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return str(mod.render())


def test_cli_reference_is_current() -> None:
    current = (ROOT / "docs" / "cli.md").read_text()
    assert current == _generated(), "docs/cli.md is stale: run `make docs`"


def test_every_command_is_in_a_guide() -> None:
    guides = "\n".join(
        p.read_text()
        for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
        if p.name != "cli.md"
    )
    root = typer.main.get_command(app)
    missing = []
    for name, cmd in root.commands.items():
        subs = getattr(cmd, "commands", None) or {"": None}
        for sub in subs:
            words = f"plebiscite {name} {sub}".strip()
            if words not in guides:
                missing.append(words)
    assert not missing, f"commands no guide mentions: {missing}"


def test_every_check_is_documented() -> None:
    from plebiscite.verify.checks import CHECKS

    text = (ROOT / "docs" / "verification.md").read_text()
    assert all(c.id in text for c in CHECKS)
