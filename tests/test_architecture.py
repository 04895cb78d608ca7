"""The layering the design promises, checked: dependencies point downward, and the
verifier never imports the producing side (so a bug there cannot hide itself)."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src" / "plebiscite"

# package -> packages it must never import
FORBIDDEN = {
    "crypto": {"record", "board", "election", "verify", "observe", "interop", "server", "cli"},
    "record": {"board", "election", "verify", "observe", "interop", "server", "cli"},
    "board": {"election", "verify", "observe", "interop", "server", "cli"},
    "verify": {"election", "observe", "interop", "server", "cli"},
    "interop": {"election", "observe", "server", "cli"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    out = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.module.startswith("plebiscite.")
        ):
            out.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("plebiscite."):
                    out.add(a.name.split(".")[1])
    return {m.split("_")[0] if m.startswith("cli") else m for m in out}


def test_layers_point_downward() -> None:
    breaches = []
    for package, forbidden in FORBIDDEN.items():
        for path in sorted((SRC / package).glob("*.py")):
            bad = _imports(path) & forbidden
            if bad:
                breaches.append(f"{path.relative_to(SRC)} imports {sorted(bad)}")
    assert not breaches, breaches


def test_the_check_can_fail(tmp_path: Path) -> None:
    f = tmp_path / "x.py"
    f.write_text("from plebiscite.election.demo import run_demo\n")
    assert _imports(f) & FORBIDDEN["verify"] == {"election"}
