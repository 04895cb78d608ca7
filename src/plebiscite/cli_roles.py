"""Commands each role runs on its own machine: organiser, guardian, credential
authority, and the offline voter. Every role reads the board from a published record
(or a mirror); what a role produces is a signed submission file (JSON) that the
organiser checks and appends with ``plebiscite organiser accept``.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any, NoReturn

import typer

organiser_app = typer.Typer(
    help="The organiser's steps: init, accept, context, open, close, tally, result, publish.",
    no_args_is_help=True,
)
guardian_app = typer.Typer(
    help="A guardian's steps: keygen, shares, ready, decrypt.", no_args_is_help=True
)
credentials_app = typer.Typer(
    help="The credential authority's steps: keygen, generate.", no_args_is_help=True
)

DATA_OPT = typer.Option(
    ..., "--data", help="The organiser's data folder (board database and board key)."
)
RECORD_OPT = typer.Option(
    ..., "--record", help="The board as published (a record folder or a mirror)."
)
STATE_OPT = typer.Option(
    ..., "--state", help="This guardian's secret state file (keep it private)."
)
OUT_OPT = typer.Option(..., "--out", help="Where to write the signed submission for the organiser.")
PASSPHRASE_OPT = typer.Option(
    None,
    "--passphrase-file",
    help="Read the passphrase of the secret files from this file "
    "(else PLEBISCITE_PASSPHRASE, else a prompt, only on a terminal).",
)
PLAINTEXT_OPT = typer.Option(
    False,
    "--insecure-plaintext",
    help="Write the new secret file unencrypted, and accept unencrypted ones "
    "(throwaway keys only); by default it is sealed under the passphrase.",
)
READ_PLAINTEXT_OPT = typer.Option(
    False,
    "--insecure-plaintext",
    help="Accept an unencrypted secret file (throwaway keys only); by default a "
    "plaintext file where a sealed one belongs is refused.",
)


def _err(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"plebiscite: {message}", err=True)
    raise typer.Exit(code)


def _passphrase(file: Path | None) -> Any:
    from plebiscite.election.keys import Passphrase

    return Passphrase(file)


def _new_secret(file: Path | None, insecure: bool) -> Any:
    """The passphrase a new secret file is sealed under (asked for now, twice when typed,
    before any work), or None with --insecure-plaintext."""
    return None if insecure else _require(_passphrase(file))


def _require(pp: Any) -> Any:
    from plebiscite.election.keys import SecretFileError

    try:
        pp.get("the new secret file", confirm=True)
    except SecretFileError as exc:
        _secret_err(exc)
    return pp


def _secret_err(exc: Exception) -> NoReturn:
    from plebiscite.election.keys import NO_PASSPHRASE

    hint = " (or --insecure-plaintext to write it unencrypted)" if str(exc) == NO_PASSPHRASE else ""
    _err(f"{exc}{hint}")


def _read_secret(path: Path, passphrase: Any, allow_plaintext: bool) -> dict[str, Any]:
    from plebiscite.election.keys import SecretFileError, read_secret_json

    try:
        return read_secret_json(path, passphrase, allow_plaintext=allow_plaintext)
    except SecretFileError as exc:
        _err(str(exc))


def _organiser(data: Path, passphrase_file: Path | None, insecure_plaintext: bool) -> Any:
    from plebiscite.election.keys import SecretFileError
    from plebiscite.election.organiser import Organiser, OrganiserError

    try:
        pp = _passphrase(passphrase_file)
        return Organiser(data, passphrase=pp, allow_plaintext=insecure_plaintext)
    except (OrganiserError, SecretFileError) as exc:
        _err(str(exc))
    except ValueError as exc:  # the store refuses a key or origin that is not its board's
        _err(f"{data}: {exc}")


def _write_json(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=1, sort_keys=True) + "\n")


WAIT_OPT = typer.Option(
    120.0,
    "--wait",
    min=0,
    help="When the referendum sets a witness quorum: how many seconds to wait for the "
    "entries this step acts on to be witnessed (re-reading the record), then exit 3.",
)


def _board(
    record: Path,
    checks: Any = None,
    acts_on: Any = None,
    wait: float | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    progress: Any = None,
) -> Any:
    """The board in ``record`` through the checked view: the verifier's ``checks`` (by
    default those before any set-up step) must not fail (exit 1 naming the check); with
    ``acts_on`` (board -> entry index) and a witness quorum, the entries up to it must
    be under a quorum-cosigned checkpoint, waited for up to ``wait`` seconds (exit 3)."""
    from plebiscite.verify.checked import (
        BEFORE_SETUP,
        NotWitnessed,
        Refused,
        load_checked,
        wait_witnessed,
    )
    from plebiscite.verify.reader import RecordError

    def load() -> Any:
        return load_checked(
            record, checks or BEFORE_SETUP, workers=workers, scheduler=scheduler, progress=progress
        )

    try:
        if acts_on is None:
            return load()
        return wait_witnessed(
            load, acts_on, wait or 0.0, lambda m: typer.echo(f"plebiscite: {m}", err=True)
        )
    except RecordError as exc:
        _err(str(exc))
    except Refused as exc:
        _err(str(exc), 1)
    except NotWitnessed as exc:
        _err(str(exc), 3)
    except ConnectionError as exc:  # an unusable --scheduler
        _err(f"--scheduler: {exc}")


def _last(t: str) -> Any:
    """``acts_on`` for a step that acts on every entry of type ``t`` (the referendum
    entry when there is none yet)."""
    return lambda board: max(board.indices(t), default=0)


def _stages(bar: Any) -> Any:
    """A progress callback ``(stage, done, total)`` drawing one bar per stage."""
    tasks: dict[str, Any] = {}

    def tick(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bar.add_task(stage, total=total)
        bar.update(tasks[stage], completed=done, total=total)

    return tick


def _step(fn: Any, *args: Any) -> Any:
    """Run an organiser step, turning refusals into one line and exit 2."""
    from plebiscite.election.intake import Rejected
    from plebiscite.election.organiser import OrganiserError
    from plebiscite.election.tally import TallyError

    try:
        return fn(*args)
    except (OrganiserError, TallyError, Rejected) as exc:
        _err(str(exc))


# --- organiser -------------------------------------------------------------------------


@organiser_app.command("init")
def organiser_init(
    manifest: Path = typer.Option(..., "--manifest", help="The referendum file (JSON)."),
    data: Path = DATA_OPT,
    passphrase_file: Path | None = PASSPHRASE_OPT,
    insecure_plaintext: bool = PLAINTEXT_OPT,
) -> None:
    """Create the board for a referendum; prints the election id and its fingerprint
    (print the fingerprint on the voters' letters). The board's signing key is sealed
    under the passphrase."""
    from plebiscite.cli import _load_manifest
    from plebiscite.election.keys import SecretFileError
    from plebiscite.election.organiser import Organiser, OrganiserError
    from plebiscite.record.entries import election_fingerprint

    raw = _load_manifest(manifest)
    pp = None if insecure_plaintext else _passphrase(passphrase_file)
    try:
        org = Organiser.init(data, raw, passphrase=pp, plaintext="--insecure-plaintext")
    except OrganiserError as exc:
        _err(str(exc))
    except SecretFileError as exc:
        _secret_err(exc)
    typer.echo(f"election id  {org.election_id}")
    typer.echo(f"fingerprint  {election_fingerprint(org.election_id)}")
    typer.echo(
        "Print the fingerprint on the voters' letters: they pass it as --election.", err=True
    )


def _read_submissions(path: Path) -> list[Any]:
    from plebiscite.record.canonical import CanonicalError, loads
    from plebiscite.record.entries import Submission

    try:
        obj = loads(path.read_bytes())
    except (OSError, CanonicalError) as exc:
        _err(f"{path}: {exc}")
    items = obj if isinstance(obj, list) else [obj]
    out = []
    for it in items:
        if not isinstance(it, dict) or set(it) != {"type", "data", "signer", "signature"}:
            _err(f"{path}: not a submission (expected type, data, signer, signature)")
        out.append(Submission(it["type"], it["data"], it["signer"], it["signature"]))
    return out


@organiser_app.command("accept")
def organiser_accept(
    files: list[Path] = typer.Argument(
        ..., help="Submission files from guardians, the credential authority or voters."
    ),
    data: Path = DATA_OPT,
    passphrase_file: Path | None = PASSPHRASE_OPT,
    insecure_plaintext: bool = READ_PLAINTEXT_OPT,
) -> None:
    """Check and append signed submissions; print one receipt (JSON) per line on stdout."""
    from plebiscite.election.intake import Rejected

    org = _organiser(data, passphrase_file, insecure_plaintext)
    failed = 0
    for f in files:
        for sub in _read_submissions(f):
            try:
                receipt = org.accept(sub)
            except Rejected as exc:
                typer.echo(f"plebiscite: {f}: rejected: {exc}", err=True)
                failed += 1
                continue
            typer.echo(json.dumps(receipt, sort_keys=True))
    if failed:
        raise typer.Exit(2)


@organiser_app.command("context")
def organiser_context(
    data: Path = DATA_OPT,
    passphrase_file: Path | None = PASSPHRASE_OPT,
    insecure_plaintext: bool = READ_PLAINTEXT_OPT,
) -> None:
    """After the ceremony: post the joint key and context hash."""
    org = _organiser(data, passphrase_file, insecure_plaintext)
    d = _step(org.post_context)
    typer.echo(json.dumps(d, sort_keys=True))


@organiser_app.command("open")
def organiser_open(
    data: Path = DATA_OPT,
    passphrase_file: Path | None = PASSPHRASE_OPT,
    insecure_plaintext: bool = READ_PLAINTEXT_OPT,
) -> None:
    """Open voting (needs the election context and a credential list per region)."""
    org = _organiser(data, passphrase_file, insecure_plaintext)
    typer.echo(_step(org.open))


@organiser_app.command("close")
def organiser_close(
    data: Path = DATA_OPT,
    early: bool = typer.Option(
        False, "--early", help="Close before the referendum's closing time."
    ),
    passphrase_file: Path | None = PASSPHRASE_OPT,
    insecure_plaintext: bool = READ_PLAINTEXT_OPT,
) -> None:
    """Close voting: no ballot is accepted after the close entry."""
    org = _organiser(data, passphrase_file, insecure_plaintext)
    if not early and org.clock.now() < org.manifest.closes:
        _err(f"the referendum closes at {org.manifest.raw['closes']}; use --early to close now")
    typer.echo(_step(org.close))


@organiser_app.command("tally")
def organiser_tally(
    data: Path = DATA_OPT,
    passphrase_file: Path | None = PASSPHRASE_OPT,
    insecure_plaintext: bool = READ_PLAINTEXT_OPT,
) -> None:
    """Post the encrypted tally: the product of the last ballot of each credential."""
    org = _organiser(data, passphrase_file, insecure_plaintext)
    typer.echo(_step(org.tally))


@organiser_app.command("result")
def organiser_result(
    data: Path = DATA_OPT,
    passphrase_file: Path | None = PASSPHRASE_OPT,
    insecure_plaintext: bool = READ_PLAINTEXT_OPT,
) -> None:
    """Combine a quorum of decryption shares and post the result."""
    org = _organiser(data, passphrase_file, insecure_plaintext)
    d = _step(org.result)
    typer.echo(json.dumps(d["counts"], indent=1, sort_keys=True))


@organiser_app.command("publish")
def organiser_publish(
    data: Path = DATA_OPT,
    record: Path = typer.Option(..., "--record", help="Folder to publish the record into."),
    passphrase_file: Path | None = PASSPHRASE_OPT,
    insecure_plaintext: bool = READ_PLAINTEXT_OPT,
) -> None:
    """Write the record: entries.jsonl and checkpoints.jsonl (after a fresh checkpoint)."""
    org = _organiser(data, passphrase_file, insecure_plaintext)
    org.publish(record)
    typer.echo(str(record))


@organiser_app.command("accredit")
def organiser_accredit(
    data: Path = DATA_OPT,
    observer: Path = typer.Option(
        ...,
        "--observer",
        help="The observer (JSON: id, name, kind, jurisdiction, public_key from 'observe keygen').",
    ),
    passphrase_file: Path | None = PASSPHRASE_OPT,
    insecure_plaintext: bool = READ_PLAINTEXT_OPT,
) -> None:
    """Accredit an observer after set-up: a board entry (the referendum file is hashed
    into the election id and never changes)."""
    from plebiscite.cli import _load_json

    org = _organiser(data, passphrase_file, insecure_plaintext)
    typer.echo(_step(org.accredit, _load_json(observer, "observer file")))


@organiser_app.command("status")
def organiser_status(
    data: Path = DATA_OPT,
    passphrase_file: Path | None = PASSPHRASE_OPT,
    insecure_plaintext: bool = READ_PLAINTEXT_OPT,
) -> None:
    """Show where the referendum stands and what is missing."""
    from plebiscite.record.entries import election_fingerprint

    org = _organiser(data, passphrase_file, insecure_plaintext)
    counts = org.counts()
    typer.echo(f"election {org.election_id}")
    typer.echo(f"fingerprint {election_fingerprint(org.election_id)}")
    typer.echo(f"title    {org.manifest.title}")
    for t, n in counts.items():
        typer.echo(f"  {t:<18}{n}")


# --- guardian --------------------------------------------------------------------------


GUARDIAN_STATE = "plebiscite guardian secret state"


def _load_guardian(state: Path, passphrase: Any, allow_plaintext: bool) -> tuple[Any, str | None]:
    """The guardian, and why its state is unencrypted (None when it is sealed: it is
    saved again as it was read)."""
    from plebiscite.election.guardian import Guardian
    from plebiscite.election.keys import NO_REASON, SecretFileError, is_sealed, load_secret_file

    try:
        sealed = is_sealed(load_secret_file(state))
        d = _read_secret(state, passphrase, allow_plaintext)
        return Guardian.from_json(d), None if sealed else str(d.get("unencrypted", NO_REASON))
    except FileNotFoundError:
        _err(f"{state}: no guardian state (run 'plebiscite guardian keygen' first)")
    except SecretFileError as exc:
        _err(str(exc))
    except (ValueError, KeyError, TypeError) as exc:
        _err(f"{state}: not a guardian state file ({exc})")


def _save_guardian(state: Path, g: Any, passphrase: Any, plaintext: str | None) -> None:
    """Seal the state under ``passphrase``, or (``plaintext`` given) write it unencrypted."""
    from plebiscite.election.keys import SecretFileError, write_secret_json

    data = {**g.to_json(), "kind": GUARDIAN_STATE}
    try:
        if plaintext is not None:
            write_secret_json(state, data, plaintext=plaintext)
        else:
            write_secret_json(state, data, passphrase)
    except SecretFileError as exc:
        _err(str(exc))


def _read_signing_key(path: Path, passphrase: Any, allow_plaintext: bool) -> Any:
    from plebiscite.election.keys import key_from_seed

    try:
        return key_from_seed(_read_secret(path, passphrase, allow_plaintext)["signing_key"])
    except FileNotFoundError:
        _err(f"{path}: no such key file")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        _err(f"{path}: not a signing key file ({exc})")


@guardian_app.command("identity")
def guardian_identity(
    out: Path = typer.Option(..., "--out", help="Where to write this guardian's signing key."),
    passphrase_file: Path | None = PASSPHRASE_OPT,
    insecure_plaintext: bool = PLAINTEXT_OPT,
) -> None:
    """Before the referendum exists: make this guardian's signing key (sealed under the
    passphrase) and print its public key, for the organiser to pin in guardians.members."""
    if out.exists():
        _err(f"{out} exists: refusing to overwrite a key")
    pp = _new_secret(passphrase_file, insecure_plaintext)
    typer.echo(_new_signing_key(out, "plebiscite guardian signing key", pp))


def _new_signing_key(out: Path, kind: str, passphrase: Any) -> str:
    """Write a new Ed25519 key (sealed, or unencrypted without a passphrase); returns
    its public key."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from plebiscite.election.keys import SecretFileError, seed_of, write_secret_json
    from plebiscite.record.entries import key_to_b64

    key = Ed25519PrivateKey.generate()
    data = {"kind": kind, "signing_key": seed_of(key)}
    try:
        write_secret_json(out, data, passphrase, plaintext="--insecure-plaintext")
    except SecretFileError as exc:
        _err(str(exc))
    return key_to_b64(key)


@guardian_app.command("keygen")
def guardian_keygen(
    record: Path = RECORD_OPT,
    guardian_id: str = typer.Option(
        ..., "--id", help="This guardian's id (as in the referendum file)."
    ),
    state: Path = STATE_OPT,
    out: Path = OUT_OPT,
    signing_key: Path | None = typer.Option(
        None,
        "--signing-key",
        help="This guardian's key from 'guardian identity' (needed when the file pins it).",
    ),
    passphrase_file: Path | None = PASSPHRASE_OPT,
    insecure_plaintext: bool = PLAINTEXT_OPT,
    wait: float = WAIT_OPT,
) -> None:
    """Step 1: check the board, make this guardian's polynomial, commitments and proofs;
    the secrets go to the state file, sealed under the passphrase."""
    from plebiscite.election.guardian import Guardian
    from plebiscite.record.entries import key_to_b64, sign
    from plebiscite.record.manifest import guardian_ids, pinned_guardian_key

    view = _board(record, acts_on=_last("referendum"), wait=wait)
    ids = guardian_ids(view.manifest)
    if guardian_id not in ids:
        _err(f"--id: {guardian_id!r} is not a guardian of this referendum ({', '.join(ids)})")
    if state.exists():
        _err(f"{state} exists: refusing to overwrite a guardian's secrets")
    pp = _passphrase(passphrase_file)
    key = _read_signing_key(signing_key, pp, insecure_plaintext) if signing_key else None
    pinned = pinned_guardian_key(view.manifest, guardian_id)
    if pinned and (key is None or key_to_b64(key) != pinned):
        _err(f"the referendum pins {guardian_id}'s key: pass that key with --signing-key")
    if not insecure_plaintext:
        _require(pp)
    g = Guardian.create(
        view.election_id,
        view.group.name,
        guardian_id,
        ids.index(guardian_id) + 1,
        view.manifest.quorum,
        key,
        manifest=view.manifest,
    )
    if view.of_type("guardian_key") and any(
        e.data.get("guardian") == guardian_id for e in view.of_type("guardian_key")
    ):
        _err(f"guardian {guardian_id} already has a key on the board")
    data = g.key_data()
    _save_guardian(state, g, pp, "--insecure-plaintext" if insecure_plaintext else None)
    _write_json(out, sign("guardian_key", data, view.election_id, g.signing_key).to_json())
    typer.echo(f"guardian {guardian_id}: key posted to {out}; secrets in {state}", err=True)


def _guardian_on(view: Any, g: Any) -> None:
    """The guardian state and the board are of one referendum."""
    if g.election_id != view.election_id:
        _err("this guardian state belongs to another referendum")
    g.manifest = view.manifest


@guardian_app.command("shares")
def guardian_shares(
    record: Path = RECORD_OPT,
    state: Path = STATE_OPT,
    out: Path = OUT_OPT,
    passphrase_file: Path | None = PASSPHRASE_OPT,
    wait: float = WAIT_OPT,
    insecure_plaintext: bool = READ_PLAINTEXT_OPT,
) -> None:
    """Step 2: check the board and the other guardians' keys (their proofs bind their
    encryption keys), then encrypt a share to each."""
    from plebiscite.election.guardian import CeremonyError
    from plebiscite.record.entries import sign

    view = _board(record, acts_on=_last("guardian_key"), wait=wait)
    pp = _passphrase(passphrase_file)
    g, plaintext = _load_guardian(state, pp, insecure_plaintext)
    _guardian_on(view, g)
    keys = [e.data for e in view.of_type("guardian_key")]
    if len(keys) != view.manifest.guardian_count:
        _err(f"{len(keys)} of {view.manifest.guardian_count} guardians have posted keys; wait")
    try:
        data = g.shares_data(keys)
    except CeremonyError as exc:
        _err(str(exc), 1)
    _save_guardian(state, g, pp, plaintext)
    _write_json(out, sign("guardian_shares", data, view.election_id, g.signing_key).to_json())


@guardian_app.command("ready")
def guardian_ready(
    record: Path = RECORD_OPT,
    state: Path = STATE_OPT,
    out: Path = OUT_OPT,
    passphrase_file: Path | None = PASSPHRASE_OPT,
    wait: float = WAIT_OPT,
    insecure_plaintext: bool = READ_PLAINTEXT_OPT,
) -> None:
    """Step 3: check the board and the shares received, form this guardian's key share,
    prove it."""
    from plebiscite.election.guardian import CeremonyError
    from plebiscite.record.entries import sign

    view = _board(record, acts_on=_last("guardian_shares"), wait=wait)
    pp = _passphrase(passphrase_file)
    g, plaintext = _load_guardian(state, pp, insecure_plaintext)
    _guardian_on(view, g)
    keys = [e.data for e in view.of_type("guardian_key")]
    shares = [e.data for e in view.of_type("guardian_shares")]
    if len(shares) != view.manifest.guardian_count:
        _err(f"{len(shares)} of {view.manifest.guardian_count} guardians have posted shares; wait")
    try:
        data = g.ready_data(keys, shares)
    except CeremonyError as exc:
        _err(str(exc), 1)
    _save_guardian(state, g, pp, plaintext)
    _write_json(out, sign("guardian_ready", data, view.election_id, g.signing_key).to_json())


@guardian_app.command("decrypt")
def guardian_decrypt(
    record: Path = RECORD_OPT,
    state: Path = STATE_OPT,
    out: Path = OUT_OPT,
    passphrase_file: Path | None = PASSPHRASE_OPT,
    wait: float = WAIT_OPT,
    workers: int = typer.Option(
        os.cpu_count() or 1, "--workers", min=1, help="Processes checking the ballots."
    ),
    scheduler: str | None = typer.Option(
        None,
        "--scheduler",
        help="Check the ballots on a Dask cluster instead: its scheduler (tcp://HOST:PORT).",
    ),
    insecure_plaintext: bool = READ_PLAINTEXT_OPT,
) -> None:
    """Step 4: check the whole board up to the tally with the verifier's checks (every
    counted ballot, the posted tally against the product of exactly those), wait for the
    close to be witnessed, then decrypt that tally (only it)."""
    from plebiscite.cli import _progress
    from plebiscite.election.guardian import CeremonyError, decrypt_checked
    from plebiscite.record.entries import sign
    from plebiscite.verify.checked import BEFORE_DECRYPTION

    g, _ = _load_guardian(state, _passphrase(passphrase_file), insecure_plaintext)
    with _progress() as bar:  # on stderr, gone when done: a national board takes minutes
        task = bar.add_task("checking", total=None)
        view = _board(
            record,
            BEFORE_DECRYPTION,
            acts_on=_last("close"),
            wait=wait,
            workers=workers,
            scheduler=scheduler,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    _guardian_on(view, g)
    if not view.indices("close"):
        _err("voting is not closed yet (no close entry): nothing to decrypt")
    if not view.indices("tally"):
        _err("no tally on the board yet: run again once the organiser posts it")
    try:
        data = decrypt_checked(g, view)
    except CeremonyError as exc:
        _err(str(exc), 1)
    _write_json(out, sign("decryption_share", data, view.election_id, g.signing_key).to_json())


# --- credential authority --------------------------------------------------------------


@credentials_app.command("keygen")
def credentials_keygen(
    out: Path = typer.Option(..., "--out", help="Where to write the authority's signing key."),
    passphrase_file: Path | None = PASSPHRASE_OPT,
    insecure_plaintext: bool = PLAINTEXT_OPT,
) -> None:
    """Create the credential authority's signing key (sealed under the passphrase);
    prints its public key."""
    if out.exists():
        _err(f"{out} exists: refusing to overwrite a key")
    pp = _new_secret(passphrase_file, insecure_plaintext)
    typer.echo(_new_signing_key(out, "plebiscite credential authority key", pp))


@credentials_app.command("generate")
def credentials_generate(
    record: Path = RECORD_OPT,
    key: Path = typer.Option(
        ..., "--key", help="The authority's signing key (from 'credentials keygen')."
    ),
    roll: Path = typer.Option(
        ..., "--roll", help="Voter roll CSV with columns region,voter (one row per voter)."
    ),
    secrets_out: Path = typer.Option(
        ...,
        "--secrets",
        help="Where to write voter,region,credential,election (private: hand each voter "
        "theirs; election is the referendum's fingerprint).",
    ),
    out: Path = OUT_OPT,
    passphrase_file: Path | None = PASSPHRASE_OPT,
    wait: float = WAIT_OPT,
    insecure_plaintext: bool = READ_PLAINTEXT_OPT,
) -> None:
    """Check the board, then make one credential per voter of the roll; write the
    secrets, and the signed public lists (one per region) for the board."""
    from plebiscite.election.credentials import (
        credential_list_data,
        new_credential,
        public_credential,
    )
    from plebiscite.record.entries import election_fingerprint, key_to_b64, sign
    from plebiscite.record.manifest import pinned_authority_key

    view = _board(record, acts_on=_last("referendum"), wait=wait)
    ca = _read_signing_key(key, _passphrase(passphrase_file), insecure_plaintext)
    pinned = pinned_authority_key(view.manifest)
    if pinned is not None and key_to_b64(ca) != pinned:
        _err("--key: the referendum pins another credential authority key")
    try:
        with roll.open(newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        _err(f"{roll}: cannot read the roll ({exc})")
    if not rows or "region" not in rows[0] or "voter" not in rows[0]:
        _err(f"{roll}: the roll needs the columns region,voter")
    per_region: dict[str, list[tuple[str, str]]] = {r: [] for r in view.manifest.regions}
    for n, row in enumerate(rows, start=2):
        r = (row.get("region") or "").strip()
        if r not in per_region:
            _err(f"{roll}:{n}: unknown region {r!r}")
        per_region[r].append(((row.get("voter") or "").strip(), new_credential()))
    if secrets_out.exists():
        _err(f"{secrets_out} exists: refusing to overwrite credentials")
    secrets_out.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(secrets_out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["voter", "region", "credential", "election"])
        fingerprint = election_fingerprint(view.election_id)
        for r, items in per_region.items():
            for voter, cred in items:
                w.writerow([voter, r, cred, fingerprint])
    subs = []
    for r, items in per_region.items():
        pubs = [public_credential(view.election_id, c) for _, c in items]
        subs.append(
            sign("credential_list", credential_list_data(r, pubs), view.election_id, ca).to_json()
        )
    _write_json(out, subs)
    typer.echo(f"{sum(len(v) for v in per_region.values())} credentials in {secrets_out}", err=True)


# --- offline voter ---------------------------------------------------------------------


def parse_answers(text: str, manifest: Any, region: str) -> dict[str, list[str]]:
    """``q1=yes,q2=a;b,q3=blank`` -> choices per question of the region."""
    out: dict[str, list[str]] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        if "=" not in part:
            raise ValueError(f"{part!r}: expected question=option")
        qid, _, val = part.partition("=")
        qid = qid.strip()
        if qid not in manifest.regions[region].questions:
            raise ValueError(f"{qid!r} is not a question of region {region!r}")
        out[qid] = [v.strip() for v in val.split(";") if v.strip()]
    for qid in manifest.regions[region].questions:
        out.setdefault(qid, [])
    return out


def record_head(record: Path, credential: str) -> str | None:
    """The head of ``credential``'s revote chain in the record (what a new ballot
    replaces), read as a stream."""
    from plebiscite.verify.chain import follow_chain
    from plebiscite.verify.reader import RecordError, read_record

    try:
        raw = read_record(record, stream=True)
        return follow_chain(raw.entries, credential).head
    except (OSError, RecordError) as exc:
        _err(f"{record}: {exc}")


def ballot_command(
    record: Path = RECORD_OPT,
    credential_file: Path | None = typer.Option(
        None,
        "--credential-file",
        help="Read your voting credential (from the credential authority) from this file "
        "('-' for standard input); else PLEBISCITE_CREDENTIAL, else a prompt on a terminal.",
    ),
    credential: str | None = typer.Option(
        None,
        "--credential",
        help="Deprecated (visible to other users): use --credential-file or PLEBISCITE_CREDENTIAL.",
    ),
    answers: str = typer.Option(
        ...,
        "--answers",
        help="Your answers, e.g. status=yes,capital=lerwick (';' between several options).",
    ),
    challenge_it: bool = typer.Option(
        False,
        "--challenge",
        help="Challenge instead of casting: reveal the encryption to check it.",
    ),
    out: Path = OUT_OPT,
) -> None:
    """Encrypt a ballot offline for the board in RECORD; cast it (signed) or challenge it."""
    from plebiscite.cli_secrets import CREDENTIAL, voter_secret
    from plebiscite.election.booth import BallotError, cast, challenge, encrypt_ballot
    from plebiscite.election.credentials import credential_key, is_well_formed, public_credential

    credential = voter_secret(CREDENTIAL, credential_file, credential)
    view = _board(record)
    if not is_well_formed(credential):
        _err("the credential is not well formed (25 letters and digits in 5 groups)")
    pub = public_credential(view.election_id, credential)
    region = next((r for r, creds in view.credentials.items() if pub in creds), None)
    if region is None:
        _err("this credential is on no list of this referendum")
    if view.context is None or view.joint_key is None or view.status.get("V09") != "passed":
        _err("the key ceremony is not finished: nothing to encrypt to yet")
    # The joint key and context the checks recomputed from the ceremony (V07-V09), never
    # merely the ones the board posted.
    ctx, jk = view.context, view.joint_key
    head = record_head(record, pub)
    try:
        choices = parse_answers(answers, view.manifest, region)
        b = encrypt_ballot(view.group, view.manifest, ctx, jk, region, choices, pub, head)
    except (ValueError, BallotError) as exc:
        _err(f"--answers: {exc}")
    typer.echo(f"tracking code: {b.tracking_code}", err=True)
    if head is not None and not challenge_it:
        typer.echo(f"replaces your ballot {head}", err=True)
    if challenge_it:
        sub = challenge(view.group, b)
    else:
        sub = cast(b, view.election_id, credential_key(view.election_id, credential))
    _write_json(out, sub.to_json())
