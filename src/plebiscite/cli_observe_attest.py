"""Observer commands around attestations: attest (verify, then sign what was found),
publish an attestation into a record, and check one against a record.

Command functions only; ``plebiscite.cli`` registers them into its ``observe`` group.
Errors on bad input are one line on stderr and exit 2; a failed verification (attest)
or an invalid attestation (check-attestation) exits 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NoReturn

import typer

from plebiscite.cli_observe import KEY_PASSPHRASE_OPT, KEY_PLAINTEXT_OPT, observer_passphrase

EXIT_FAILED = 1
EXIT_UNUSABLE = 2


def _err(message: str, code: int = EXIT_UNUSABLE) -> NoReturn:
    typer.echo(f"plebiscite: {message}", err=True)
    raise typer.Exit(code)


def _load_doc(path: Path) -> Any:
    from plebiscite.observe.attest import KIND, AttestationError, load_attestation

    try:
        doc = load_attestation(path)
    except AttestationError as exc:
        _err(str(exc))
    if not isinstance(doc, dict) or doc.get("kind") != KIND:
        _err(f"{path}: not a plebiscite attestation (kind {KIND!r})")
    return doc


def _default_observer(record: Path, public_key: str) -> str | None:
    """The declared or accredited observer whose public key is ``public_key``."""
    from plebiscite.observe.attest import record_view
    from plebiscite.verify.reader import RecordError

    try:
        view = record_view(record)
    except RecordError:
        return None
    for oid, obs in sorted(view.observers.items()):
        if obs.get("public_key") == public_key:
            return oid
    _err(
        "this key is not the key of any declared or accredited observer of the record;"
        " name the observer with --id"
    )


def _write(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    except OSError as exc:
        _err(f"{path}: cannot write ({exc.strerror})")


def attest_command(
    record: Path = typer.Argument(..., help="The record to verify (a folder or a mirror)."),
    key: Path = typer.Option(..., "--key", help="This observer's key file (from keygen)."),
    recognise: bool = typer.Option(
        False, "--recognise", help="State that you recognise the result."
    ),
    no_recognise: bool = typer.Option(
        False, "--no-recognise", help="State that you do not recognise the result."
    ),
    reason: str | None = typer.Option(None, "--reason", help="Why (published as given)."),
    out: Path = typer.Option(..., "--out", help="Where to write the signed attestation (JSON)."),
    server: str | None = typer.Option(
        None, "--server", help="Also post the attestation to this server."
    ),
    observer_id: str | None = typer.Option(
        None,
        "--id",
        help="Your observer id (default: the observer the record declares with this key).",
    ),
    referendum: str | None = typer.Option(
        None, "--referendum", help="With --server: the referendum id (if it holds several)."
    ),
    workers: int | None = typer.Option(
        None, "--workers", min=1, help="Verifier processes (default: all cores)."
    ),
    passphrase_file: Path | None = KEY_PASSPHRASE_OPT,
    insecure_plaintext: bool = KEY_PLAINTEXT_OPT,
) -> None:
    """Run the full verifier on RECORD, then sign an attestation of what it found: the
    final checkpoint, a digest of the results, every check's outcome, the verdict (from
    the verifier, never from you) and your recognition statement.

    A failed verification still writes a signed attestation (exit 1), and so does an
    unusable record (exit 2, with the fields it could not establish null).
    """
    from plebiscite.observe.attest import AttestationError, attestation_bytes, make_attestation
    from plebiscite.observe.keys import KeyFileError, load_observer_key
    from plebiscite.record.entries import key_to_b64

    if recognise == no_recognise:
        _err("give exactly one of --recognise and --no-recognise")
    try:
        signing_key = load_observer_key(
            key, observer_passphrase(passphrase_file), allow_plaintext=insecure_plaintext
        )
    except KeyFileError as exc:
        _err(str(exc))
    oid = observer_id or _default_observer(record, key_to_b64(signing_key))

    from plebiscite.cli import _progress

    with _progress() as bar:
        task = None

        def tick(done: int, total: int) -> None:
            nonlocal task
            if task is None:
                task = bar.add_task("ballots", total=total)
            bar.update(task, completed=done)

        try:
            doc, code = make_attestation(
                record, signing_key, oid, recognise, reason, workers, progress=tick
            )
        except AttestationError as exc:
            _err(str(exc))
    _write(out, attestation_bytes(doc))
    failed = [c["id"] for c in doc["checks"] if c["status"] == "failed"]
    typer.echo(f"{out}: verdict {doc['verdict']}, {doc['recognition']} (observer {oid})")
    if code == EXIT_UNUSABLE:
        from plebiscite.verify.reader import RecordError, read_record

        try:
            read_record(record)
            why = "unusable"
        except RecordError as exc:
            why = str(exc)
        _err(f"{why}; the signed attestation of this failure is in {out} (not posted)")
    if server is not None:
        _post(server, referendum, doc)
    if code == EXIT_FAILED:
        _err(f"verification failed: {', '.join(failed)}", EXIT_FAILED)


def _post(server: str, referendum: str | None, doc: dict[str, Any]) -> None:
    from plebiscite.client import Client, ClientError

    client = Client(server)
    try:
        rid = client.referendum_id(referendum)
        answer = client.post(f"/api/referendums/{rid}/attestations", doc)
    except ClientError as exc:
        _err(f"the server did not keep the attestation: {exc}")
    finally:
        client.close()
    name = answer.get("name") if isinstance(answer, dict) else None
    typer.echo(f"posted to {server} (referendum {rid}, {name})")


def publish_command(
    file: Path = typer.Argument(..., help="The attestation (JSON)."),
    record: Path = typer.Argument(..., help="The record folder to add it to."),
) -> None:
    """Add an attestation to RECORD's attestations/ folder, after checking that it is
    valid for this record (exit 1 with the problems when it is not)."""
    from plebiscite.observe.attest import AttestationError, check_attestation, keep
    from plebiscite.verify.reader import RecordError

    doc = _load_doc(file)
    try:
        problems = check_attestation(doc, record)
    except RecordError as exc:
        _err(str(exc))
    if problems:
        for p in problems:
            typer.echo(f"plebiscite: {file}: {p}", err=True)
        raise typer.Exit(EXIT_FAILED)
    try:
        name, added = keep(record / "attestations", doc)
    except (AttestationError, OSError) as exc:
        _err(str(exc))
    where = record / "attestations" / name
    typer.echo(f"{where}" if added else f"{where} (already there)")


def check_attestation_command(
    file: Path = typer.Argument(..., help="The attestation (JSON)."),
    record: Path = typer.Argument(..., help="The record it should be about (folder or mirror)."),
) -> None:
    """Check an attestation: its signature is valid, its key is a declared or accredited
    observer's, and it is about this record (its checkpoint is one of the record's).

    Exit 0 when valid; 1 with one line per problem; 2 on unusable input."""
    from plebiscite.observe.attest import check_attestation
    from plebiscite.verify.reader import RecordError

    doc = _load_doc(file)
    try:
        problems = check_attestation(doc, record)
    except RecordError as exc:
        _err(str(exc))
    if problems:
        for p in problems:
            typer.echo(f"plebiscite: {p}", err=True)
        raise typer.Exit(EXIT_FAILED)
    rec = doc["record"]
    typer.echo(
        f"valid: observer {doc['observer']} attests {doc['verdict']} and states"
        f" {doc['recognition']} for checkpoint {rec['size']} ({doc['time']})"
    )
