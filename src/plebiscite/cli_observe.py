"""``plebiscite observe …``: what observers run on their own machines: keys, mirrors,
witnessing and gossip between witnesses, fraud proofs, attestations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NoReturn

import typer

observe_app = typer.Typer(
    help="Observers: keys, mirrors, witnessing, gossip, fraud proofs, attestations.",
    no_args_is_help=True,
)


def _err(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"plebiscite: {message}", err=True)
    raise typer.Exit(code)


KEY_PASSPHRASE_OPT = typer.Option(
    None,
    "--passphrase-file",
    help="Read the passphrase sealing the observer's key from this file "
    "(else PLEBISCITE_PASSPHRASE, else a prompt, only on a terminal).",
)


KEY_PLAINTEXT_OPT = typer.Option(
    False,
    "--insecure-plaintext",
    help="Accept an unencrypted observer key (drills and tests only); by default a "
    "plaintext key file is refused.",
)


def observer_passphrase(file: Path | None) -> Any:
    from plebiscite.election.keys import Passphrase

    return Passphrase(file)


@observe_app.command("keygen")
def keygen(
    out: Path = typer.Option(..., "--out", help="Where to write the observer's key pair."),
    passphrase_file: Path | None = KEY_PASSPHRASE_OPT,
    insecure_plaintext: bool = typer.Option(
        False, "--insecure-plaintext", help="Write the key unencrypted (drills and tests only)."
    ),
) -> None:
    """Make an observer's Ed25519 key pair, sealed under a passphrase; the last line on
    stdout is the public key (base64 of the raw 32 bytes), as the referendum file
    declares it."""
    from plebiscite.observe.keys import KeyFileError, new_observer_key

    try:
        if insecure_plaintext:
            pub = new_observer_key(out, plaintext="--insecure-plaintext")
        else:
            pub = new_observer_key(out, observer_passphrase(passphrase_file))
    except KeyFileError as exc:
        hint = "" if insecure_plaintext else " (or --insecure-plaintext)"
        _err(f"{exc}{hint}" if "no passphrase" in str(exc) else str(exc))
    typer.echo(f"observer key written to {out}; public key:", err=True)
    typer.echo(pub)


def _source(server: str | None, record: Path | None, referendum: str | None) -> Any:
    from plebiscite.client import ClientError
    from plebiscite.observe.witness import RecordSource, ServerSource

    if (server is None) == (record is None):
        _err("give exactly one of --server and --record")
    if record is not None:
        if not (record / "entries.jsonl").exists():
            _err(f"{record}: not a record folder (no entries.jsonl)")
        return RecordSource(record)
    assert server is not None
    try:
        return ServerSource(server, referendum)
    except ClientError as exc:
        _err(str(exc))


def _refuse(exc: Any, fraud_proof: Path | None) -> NoReturn:
    if exc.fraud is not None:
        if fraud_proof is not None:
            fraud_proof.write_text(json.dumps(exc.fraud, indent=1, sort_keys=True) + "\n")
            _err(f"{exc} (fraud proof written to {fraud_proof})", 1)
        _err(f"{exc} (give --fraud-proof FILE to keep the proof)", 1)
    _err(str(exc), 1)


@observe_app.command("fetch")
def fetch(
    server: str = typer.Option(..., "--server", help="The server to mirror."),
    out: Path = typer.Option(..., "--out", help="The mirror (a record folder); updated in place."),
    referendum: str | None = typer.Option(
        None, "--referendum", help="The referendum id (when the server holds several)."
    ),
    fraud_proof: Path | None = typer.Option(
        None, "--fraud-proof", help="Where to write a fraud proof if the board rewrote its history."
    ),
) -> None:
    """Mirror a server's board into a local record, checking every checkpoint and that
    the board still extends the previous copy."""
    from plebiscite.client import ClientError
    from plebiscite.observe.witness import WitnessError, mirror

    src = _source(server, None, referendum)
    try:
        board = mirror(src, out)
    except WitnessError as exc:
        _refuse(exc, fraud_proof)
    except ClientError as exc:
        _err(str(exc))
    typer.echo(f"mirrored {len(board.entries)} entries, checkpoint {board.latest.size}, into {out}")


@observe_app.command("witness")
def witness_command(
    key: Path = typer.Option(
        ..., "--key", help="This observer's key file (from 'observe keygen')."
    ),
    state: Path = typer.Option(
        ...,
        "--state",
        help="This witness's state folder (its mirror and last cosigned checkpoint).",
    ),
    server: str | None = typer.Option(
        None, "--server", help="Witness this server's board (and post the cosignature to it)."
    ),
    record: Path | None = typer.Option(
        None, "--record", help="Witness this record folder (write the cosignature with --out)."
    ),
    out: Path | None = typer.Option(None, "--out", help="Also write the cosignature (JSON) here."),
    fraud_proof: Path | None = typer.Option(
        None, "--fraud-proof", help="Where to write a fraud proof if the board forked."
    ),
    witness_id: str | None = typer.Option(
        None, "--id", help="This observer's id (default: the declared observer with this key)."
    ),
    referendum: str | None = typer.Option(
        None, "--referendum", help="The referendum id (when the server holds several)."
    ),
    passphrase_file: Path | None = KEY_PASSPHRASE_OPT,
    insecure_plaintext: bool = KEY_PLAINTEXT_OPT,
) -> None:
    """Check the latest checkpoint against the last one this witness cosigned, then cosign
    it; exit 1 with a fraud proof when the board forked."""
    from plebiscite.client import ClientError
    from plebiscite.observe.keys import KeyFileError, load_observer_key
    from plebiscite.observe.witness import WitnessError, WitnessState, read_board, witness
    from plebiscite.record.canonical import loads
    from plebiscite.record.entries import key_to_b64

    try:
        sk = load_observer_key(
            key, observer_passphrase(passphrase_file), allow_plaintext=insecure_plaintext
        )
    except KeyFileError as exc:
        _err(str(exc))
    src = _source(server, record, referendum)
    try:
        board = read_board(src)
        wid = witness_id or _observer_id(board.entries, key_to_b64(sk), loads)
        cosig = witness(src, sk, wid, WitnessState(state))
        if server is not None:
            src.post_cosignature(cosig)
    except WitnessError as exc:
        _refuse(exc, fraud_proof)
    except ClientError as exc:
        _err(str(exc))
    if out is not None:
        out.write_text(json.dumps(cosig.to_json(), indent=1, sort_keys=True) + "\n")
    elif record is not None:
        typer.echo(json.dumps(cosig.to_json(), sort_keys=True))
    typer.echo(f"{wid} cosigned checkpoint {cosig.checkpoint.size}", err=True)


def _observer_id(entries: list[bytes], pub: str, loads: Any) -> str:
    ref = loads(entries[0])["data"]["manifest"]
    found = [o["id"] for o in ref.get("observers", []) if o.get("public_key") == pub]
    for line in entries:
        e = loads(line)
        if e["type"] == "observer_accreditation" and e["data"]["observer"]["public_key"] == pub:
            found.append(e["data"]["observer"]["id"])
    if not found:
        _err("this key belongs to no observer of this referendum (declare or accredit it first)")
    return str(found[0])


@observe_app.command("gossip")
def gossip_command(
    state: Path = typer.Option(..., "--state", help="This witness's state folder."),
    peer: str = typer.Option(
        ..., "--peer", help="Another witness's state folder, or a server URL."
    ),
    fraud_proof: Path | None = typer.Option(
        None, "--fraud-proof", help="Where to write a fraud proof if the two views differ."
    ),
    referendum: str | None = typer.Option(
        None, "--referendum", help="With a URL peer: the referendum id."
    ),
) -> None:
    """Compare this witness's latest cosigned checkpoint with a peer's: a forking server
    never shows one witness both branches, so witnesses compare notes."""
    from plebiscite.client import ClientError
    from plebiscite.observe.witness import ServerSource, WitnessError, WitnessState, gossip

    mine = WitnessState(state)
    try:
        if peer.startswith(("http://", "https://")):
            other: Any = ServerSource(peer, referendum)
        else:
            if not (Path(peer) / "state.json").exists():
                _err(f"--peer: {peer} is neither a URL nor a witness state folder")
            other = WitnessState(Path(peer))
        cp = gossip(mine, other)
    except WitnessError as exc:
        _refuse(exc, fraud_proof)
    except ClientError as exc:
        _err(str(exc))
    typer.echo(f"consistent: the peer's checkpoint {cp.size} and ours agree")


@observe_app.command("check-proof")
def check_proof(proof_file: Path = typer.Argument(..., help="A fraud proof (JSON).")) -> None:
    """Exit 0 if the fraud proof shows the board signed two histories, 1 if it does not."""
    from plebiscite.board.fraud import FraudProofError, check_fraud_proof

    try:
        proof = json.loads(proof_file.read_text())
        problem = check_fraud_proof(proof)
    except (OSError, ValueError) as exc:
        _err(f"{proof_file}: {exc}")
    except FraudProofError as exc:
        _err(f"{proof_file}: {exc}")
    if problem:
        _err(f"not a fraud proof: {problem}", 1)
    typer.echo(
        f"valid fraud proof: the board signed checkpoints {proof['a']['size']} and"
        f" {proof['b']['size']} of two different histories"
    )
