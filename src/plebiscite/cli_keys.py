"""``plebiscite keys``: every role's secret files (a guardian's state, the credential
authority's key, the board key, the server secret, an observer's key): whether they are
sealed, sealing a plaintext one, changing a passphrase."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, NoReturn

import typer

keys_app = typer.Typer(
    help="Secret files: see whether they are sealed, seal them, change their passphrase.",
    no_args_is_help=True,
)

NEW_PASSPHRASE_ENV = "PLEBISCITE_NEW_PASSPHRASE"

FILES_ARG = typer.Argument(..., help="Secret files (any role's), one or more.")
JSON_OPT = typer.Option(False, "--json", help="One JSON object on stdout.")


def _err(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"plebiscite: {message}", err=True)
    raise typer.Exit(code)


def _load(path: Path) -> dict[str, Any]:
    from plebiscite.election.keys import SecretFileError, load_secret_file

    try:
        return load_secret_file(path)
    except FileNotFoundError:
        _err(f"{path}: no such file")
    except SecretFileError as exc:
        _err(str(exc))


@keys_app.command("status")
def keys_status(files: list[Path] = FILES_ARG, json_out: bool = JSON_OPT) -> None:
    """Say of each file whether it is sealed (and how) or plaintext (and why), without
    a passphrase. Exit 0; 2 if a file is missing, unreadable, readable by others or not
    a secret file."""
    from plebiscite.election.keys import NO_REASON, SEALED_FORMAT, is_sealed

    rows = []
    for f in files:
        obj = _load(f)
        if is_sealed(obj):
            if obj.get("format") != SEALED_FORMAT:
                _err(f"{f}: unknown secret file format {obj.get('format')!r}")
            raw_kdf = obj.get("kdf")
            kdf: dict[str, Any] = raw_kdf if isinstance(raw_kdf, dict) else {}
            rows.append(
                {
                    "file": str(f),
                    "sealed": True,
                    "kind": obj.get("kind", ""),
                    "kdf": {k: kdf.get(k) for k in ("name", "n", "r", "p")},
                }
            )
        else:
            why = obj.get("unencrypted", NO_REASON)
            rows.append(
                {"file": str(f), "sealed": False, "kind": obj.get("kind", ""), "unencrypted": why}
            )
    if json_out:
        typer.echo(json.dumps({"files": rows}, indent=1))
        return
    for r in rows:
        if r["sealed"]:
            k = r["kdf"]
            how = f"sealed ({k['name']} n={k['n']} r={k['r']} p={k['p']}, aes-256-gcm)"
        else:
            how = f"NOT sealed ({r['unencrypted']})"
        kind = f" [{r['kind']}]" if r["kind"] else ""
        typer.echo(f"{r['file']}: {how}{kind}")


@keys_app.command("reseal")
def keys_reseal(
    files: list[Path] = FILES_ARG,
    passphrase_file: Path | None = typer.Option(
        None,
        "--passphrase-file",
        help="The current passphrase of the sealed files, from this file "
        "(else PLEBISCITE_PASSPHRASE, else a prompt, only on a terminal). "
        "Not needed for plaintext files.",
    ),
    new_passphrase_file: Path | None = typer.Option(
        None,
        "--new-passphrase-file",
        help=f"The new passphrase, from this file (else {NEW_PASSPHRASE_ENV}, "
        "else a prompt, twice, only on a terminal).",
    ),
    json_out: bool = JSON_OPT,
) -> None:
    """Seal each file under a new passphrase: changes the passphrase of sealed files and
    seals plaintext ones (demo or --insecure-plaintext keys), in place, atomically.

    Every file is opened first, so a wrong passphrase changes nothing; then each is
    written under the new passphrase (a fresh salt and nonce), readable by its owner
    only. Exit 0; 2 for a missing or wrong passphrase or an unusable file."""
    from plebiscite.election.keys import (
        PASSPHRASE_ENV,
        Passphrase,
        SecretFileError,
        is_sealed,
        unseal,
        write_secret_json,
    )

    old = Passphrase(passphrase_file)
    opened: list[tuple[Path, dict[str, Any], bool]] = []
    for f in files:
        obj = _load(f)
        sealed = is_sealed(obj)
        try:
            data = unseal(f, obj, old) if sealed else dict(obj)
        except SecretFileError as exc:
            _err(str(exc))
        data.pop("unencrypted", None)
        if sealed and "kind" not in data and obj.get("kind"):
            data["kind"] = obj["kind"]
        opened.append((f, data, sealed))
    env = (
        {PASSPHRASE_ENV: os.environ[NEW_PASSPHRASE_ENV]} if NEW_PASSPHRASE_ENV in os.environ else {}
    )
    new = Passphrase(new_passphrase_file, env=env)
    try:
        new.get("the resealed files", confirm=True)
    except SecretFileError as exc:
        text = str(exc).replace("--passphrase-file", "--new-passphrase-file")
        _err(text.replace(PASSPHRASE_ENV, NEW_PASSPHRASE_ENV))
    rows = []
    for f, data, sealed in opened:
        try:
            write_secret_json(f, data, new)
        except (SecretFileError, OSError) as exc:
            _err(f"{f}: cannot write it ({exc})")
        rows.append({"file": str(f), "was": "sealed" if sealed else "plaintext", "now": "sealed"})
        if not json_out:
            verb = "resealed under the new passphrase" if sealed else "sealed"
            typer.echo(f"{f}: {verb}", err=True)
    if json_out:
        typer.echo(json.dumps({"files": rows}, indent=1))
