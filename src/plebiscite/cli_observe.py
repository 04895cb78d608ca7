"""``plebiscite observe …``: what observers run on their own machines: keys, mirrors,
witnessing and gossip between witnesses, fraud proofs, attestations."""

from __future__ import annotations

import json
import time
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
        None, "--server", help="Witness this server's board (and post the cosignatures to it)."
    ),
    record: Path | None = typer.Option(
        None,
        "--record",
        help="Witness this record folder (the new cosignatures go to stdout, or to --out).",
    ),
    out: Path | None = typer.Option(
        None,
        "--out",
        help="Also append the new cosignatures here, one JSON per line (cosignatures.jsonl).",
    ),
    fraud_proof: Path | None = typer.Option(
        None, "--fraud-proof", help="Where to write a fraud proof if the board forked."
    ),
    witness_id: str | None = typer.Option(
        None, "--id", help="This observer's id (default: the declared observer with this key)."
    ),
    referendum: str | None = typer.Option(
        None, "--referendum", help="The referendum id (when the server holds several)."
    ),
    follow: bool = typer.Option(
        False,
        "--follow",
        help="Keep witnessing (polling) until the result is on the board and cosigned, or"
        " --until; Ctrl-C stops cleanly.",
    ),
    interval: float = typer.Option(
        5.0, "--interval", help="With --follow: seconds between polls.", min=0.1
    ),
    until: str | None = typer.Option(
        None,
        "--until",
        help="With --follow: stop at this time (ISO 8601 with a zone, e.g. 2027-03-08T20:00:00Z).",
    ),
    now: str | None = typer.Option(
        None,
        "--now",
        help="Drills on a recorded board only: this witness's clock reads this fixed time"
        " (ISO 8601 with a zone) instead of the system clock.",
    ),
    passphrase_file: Path | None = KEY_PASSPHRASE_OPT,
    insecure_plaintext: bool = KEY_PLAINTEXT_OPT,
) -> None:
    """Cosign every checkpoint since the last one this witness cosigned, after checking
    they extend it (sizes and times never decreasing) and that the board's times agree
    with this witness's clock within the referendum's max_skew_s; run checks V01-V06 on
    the new entries and post a signed dispute for each that fails (still cosigning).
    Exit 1 with a fraud proof when the board forked, 3 when the board's time and this
    witness's clock disagree (not now)."""
    from plebiscite.client import ClientError
    from plebiscite.election.clock import Clock, SimulatedClock
    from plebiscite.observe.keys import KeyFileError, load_observer_key
    from plebiscite.observe.witness import (
        SkewError,
        WitnessError,
        WitnessState,
        read_board,
        witness,
    )
    from plebiscite.record.canonical import canonical_bytes, loads
    from plebiscite.record.entries import key_to_b64

    if follow and now is not None:
        _err("--now fixes the clock, so --follow would never end: give one of them")
    if not follow and until is not None:
        _err("--until goes with --follow")
    stop_at = _when(until, "--until") if until is not None else None
    clock = SimulatedClock(_when(now, "--now")) if now is not None else Clock()
    try:
        sk = load_observer_key(
            key, observer_passphrase(passphrase_file), allow_plaintext=insecure_plaintext
        )
    except KeyFileError as exc:
        _err(str(exc))
    src = _source(server, record, referendum)
    st = WitnessState(state)
    wid = witness_id
    rounds = 0
    try:
        while True:
            rounds += 1
            try:
                if wid is None:
                    wid = _observer_id(read_board(src).entries, key_to_b64(sk), loads)
                done = witness(src, sk, wid, st, clock)
            except SkewError as exc:
                _err(str(exc), 3)
            except WitnessError as exc:
                _refuse(exc, fraud_proof)
            except ClientError as exc:
                if not follow:
                    _err(str(exc))
                typer.echo(f"plebiscite: {exc} (retrying)", err=True)
                done = None
            if done is not None:
                assert wid is not None
                _report(done, wid, out, record is not None, canonical_bytes, quiet=follow)
                result = done.board.index_of("result")
                if result is not None and done.last.size > result:
                    if follow:
                        typer.echo(
                            f"{wid}: the result is on the board and cosigned; done", err=True
                        )
                    return
            if not follow:
                return
            wait = interval
            if stop_at is not None:
                left = (stop_at - clock.now()).total_seconds()
                if left <= 0:
                    typer.echo(f"{wid}: reached --until {until}; stopping", err=True)
                    return
                wait = min(wait, left)
            time.sleep(wait)
    except KeyboardInterrupt:
        typer.echo(f"\nstopped after {rounds} round(s); state saved in {state}", err=True)
        return


def _when(text: str, option: str) -> Any:
    from datetime import datetime

    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        _err(f"{option}: {text!r} is not an ISO 8601 time")
    if t.tzinfo is None:
        _err(f"{option}: {text!r} has no zone (add Z for UTC)")
    return t


def _report(
    done: Any, wid: str, out: Path | None, to_stdout: bool, canonical: Any, quiet: bool = False
) -> None:
    lines = [canonical(cs.to_json()).decode() for cs in done.cosignatures]
    if out is not None and lines:
        with out.open("a") as f:
            f.write("".join(x + "\n" for x in lines))
    elif to_stdout:
        for x in lines:
            typer.echo(x)
    if done.cosignatures:
        first, last = done.cosignatures[0].checkpoint, done.cosignatures[-1].checkpoint
        span = f"checkpoint {last.size}" if len(lines) == 1 else f"{len(lines)} checkpoints"
        typer.echo(
            f"{wid} cosigned {span} (sizes {first.size}..{last.size}, times {first.time}"
            f" .. {last.time}) at {done.cosignatures[0].witness_time}",
            err=True,
        )
    elif not quiet:  # following, a quiet poll says nothing
        typer.echo(f"{wid}: nothing new since checkpoint {done.last.size}", err=True)
    for sub in done.disputes:
        typer.echo(f"{wid} disputed {sub.data['check']}: {sub.data['evidence']}", err=True)
    for path in done.dispute_files:
        typer.echo(f"dispute written to {path}; hand it to the organiser", err=True)


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
def check_proof(
    proof_file: Path = typer.Argument(..., help="A fraud proof (JSON)."),
    server: str | None = typer.Option(
        None, "--server", help="The referendum's board: the one this server publishes."
    ),
    record: Path | None = typer.Option(
        None, "--record", help="The referendum's board: this record (or mirror)."
    ),
    referendum: str | None = typer.Option(
        None, "--referendum", help="The referendum id (with --server, when several)."
    ),
) -> None:
    """Exit 0 if the fraud proof shows the board of this referendum (--record or
    --server) signed two histories; 1 if it does not, or is about another board."""
    from plebiscite.board.fraud import FraudProofError, check_fraud_proof, proof_board_problem

    if (server is None) == (record is None):
        _err("give exactly one of --server and --record: the referendum the proof is about")
    try:
        proof = json.loads(proof_file.read_text())
        problem = check_fraud_proof(proof)
    except (OSError, ValueError) as exc:
        _err(f"{proof_file}: {exc}")
    except FraudProofError as exc:
        _err(f"{proof_file}: {exc}")
    key, origin = _board_identity(server, record, referendum)
    other = proof_board_problem(proof, key, origin)
    if other:
        _err(f"not a fraud proof for this referendum: {other}", 1)
    if problem:
        _err(f"not a fraud proof: {problem}", 1)
    typer.echo(
        f"valid fraud proof: the board signed checkpoints {proof['a']['size']} and"
        f" {proof['b']['size']} of two different histories"
    )


def _board_identity(server: str | None, record: Path | None, referendum: str | None) -> Any:
    """(board key, origin) from the referendum entry of the board at --server or --record."""
    from plebiscite.client import ClientError
    from plebiscite.record.canonical import CanonicalError, loads
    from plebiscite.record.entries import EntryError, b64decode

    src = _source(server, record, referendum)
    try:
        first = next(iter(src.entries()), None)
        if first is None:
            _err("the board has no entries: no referendum to check the proof against")
        data = loads(first)["data"]
        return b64decode(data["board_key"], 32, "board key"), str(data["origin"])
    except ClientError as exc:
        _err(str(exc))
    except (OSError, KeyError, TypeError, CanonicalError, EntryError) as exc:
        _err(f"the board's referendum entry is unreadable: {exc}")
