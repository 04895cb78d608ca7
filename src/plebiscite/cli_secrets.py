"""Where a voter's secrets come from on the command line: the sign-in code (``vote``)
and the voting credential (``vote``, ``ballot``, ``dispute``).

A secret given as an argument is visible to every user of the machine (``ps``) and stays
in the shell's history, so the commands take it, in this order, from:

1. ``--code-file`` / ``--credential-file`` (``-`` reads standard input; one final
   newline is the editor's and is dropped);
2. ``--code`` / ``--credential``, still accepted with a warning on stderr;
3. ``PLEBISCITE_CODE`` / ``PLEBISCITE_CREDENTIAL``;
4. a hidden prompt, only when standard input is a terminal: nothing ever waits on a
   prompt nobody can answer (one line on stderr and exit 2 instead).

Neither the secret nor any part of it goes into a message.
"""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import typer

_MAX_BYTES = 4096  # a code or a credential is a few dozen characters


@dataclass(frozen=True)
class VoterSecret:
    option: str  # the deprecated option, e.g. "--credential"
    env: str  # the variable, e.g. "PLEBISCITE_CREDENTIAL"
    label: str  # what it is, in messages and the prompt

    @property
    def file_option(self) -> str:
        return f"{self.option}-file"


CODE = VoterSecret("--code", "PLEBISCITE_CODE", "sign-in code")
CREDENTIAL = VoterSecret("--credential", "PLEBISCITE_CREDENTIAL", "voting credential")


def _err(message: str) -> NoReturn:
    typer.echo(f"plebiscite: {message}", err=True)
    raise typer.Exit(2)


def _stdin_is_a_terminal() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (AttributeError, ValueError):  # replaced or closed
        return False


def _read(kind: VoterSecret, path: Path) -> str:
    where = f"{kind.file_option} {path}"
    try:
        if str(path) == "-":
            raw = sys.stdin.buffer.read(_MAX_BYTES + 1) if sys.stdin is not None else b""
        else:
            with Path(path).open("rb") as f:
                raw = f.read(_MAX_BYTES + 1)
    except OSError as exc:
        _err(f"{where}: {exc.strerror or exc}")
    if len(raw) > _MAX_BYTES:
        _err(f"{where}: longer than {_MAX_BYTES} bytes: not a {kind.label}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        _err(f"{where}: not UTF-8 text")
    if text.endswith("\n"):
        text = text[:-1].removesuffix("\r")
    if not text:
        _err(f"{where}: empty")
    if "\n" in text:
        _err(f"{where}: more than one line (the file should hold the {kind.label} alone)")
    return text


def voter_secret(
    kind: VoterSecret,
    file: Path | None,
    value: str | None,
    *,
    otherwise: str = "",
    env: Mapping[str, str] | None = None,
    interactive: bool | None = None,
    prompt: Callable[[str], str] | None = None,
) -> str:
    """The secret, from (in order) ``file``, ``value`` (with a warning), the variable,
    a prompt on a terminal. Without any of them: one line on stderr (``otherwise`` adds
    another way out) and exit 2."""
    if file is not None:
        return _read(kind, file)
    if value is not None:
        typer.echo(
            f"warning: {kind.option} on the command line is visible to other users "
            f"(ps, shell history); use {kind.file_option} or {kind.env}",
            err=True,
        )
        return value
    env = os.environ if env is None else env
    if kind.env in env:
        if not env[kind.env]:
            _err(f"{kind.env} is set but empty")
        return env[kind.env]
    if interactive if interactive is not None else _stdin_is_a_terminal():
        try:
            text = (prompt or getpass.getpass)(f"{kind.label}: ")
        except EOFError:
            text = ""
        if not text:
            _err(f"no {kind.label} typed")
        return text
    _err(f"no {kind.label}: give {kind.file_option} or set {kind.env}{otherwise}")


def at_most_one_stdin(*files: Path | None) -> None:
    """Standard input can hold one secret only."""
    if sum(1 for f in files if f is not None and str(f) == "-") > 1:
        _err("only one of --code-file and --credential-file may be - (standard input)")
