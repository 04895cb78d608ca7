"""Commands around the web server: serve it, vote through it from the command line, and
check receipts and challenged ballots independently."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NoReturn

import typer

from plebiscite.cli_secrets import CODE, CREDENTIAL, at_most_one_stdin, voter_secret


def _err(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"plebiscite: {message}", err=True)
    raise typer.Exit(code)


CODE_FILE_OPT = typer.Option(
    None,
    "--code-file",
    help="Read your sign-in code (from the organiser) from this file ('-' for standard "
    "input); else PLEBISCITE_CODE, else a prompt on a terminal.",
)
CREDENTIAL_FILE_OPT = typer.Option(
    None,
    "--credential-file",
    help="Read your voting credential (from the credential authority) from this file "
    "('-' for standard input); else PLEBISCITE_CREDENTIAL, else a prompt on a terminal.",
)
ELECTION_OPT = typer.Option(
    None,
    "--election",
    help="The election in your letter: its fingerprint (32 hex digits, as printed) or "
    "its id (64); anything else exits 2.",
)
CODE_OPT = typer.Option(
    None,
    "--code",
    help="Deprecated (visible to other users): use --code-file or PLEBISCITE_CODE.",
)
CREDENTIAL_OPT = typer.Option(
    None,
    "--credential",
    help="Deprecated (visible to other users): use --credential-file or PLEBISCITE_CREDENTIAL.",
)


def serve_command(
    demo: bool = typer.Option(
        False, "--demo", help="Open a demo referendum with its ceremony done and demo voters."
    ),
    data: Path = typer.Option(
        Path("plebiscite-data"),
        "--data",
        help="The server's data folder (boards, sign-in codes, keys).",
    ),
    database: str | None = typer.Option(
        None,
        "--database",
        help="Board database URL (postgresql://…); default: SQLite files under --data.",
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port to listen on."),
    manifest: Path | None = typer.Option(
        None, "--manifest", help="With --demo: the referendum file (default: the built-in one)."
    ),
    demo_count: int = typer.Option(
        50, "--demo-count", min=1, help="With --demo: voters per region."
    ),
    secure_cookies: bool = typer.Option(
        False, "--secure-cookies", help="Mark the session cookie Secure (serve behind HTTPS)."
    ),
    signin_limit: int = typer.Option(
        10, "--signin-limit", min=1, help="Sign-in attempts allowed per client address per minute."
    ),
    demo_voters: Path | None = typer.Option(
        None,
        "--demo-voters",
        help="With --demo: write every demo voter as CSV region,code,credential.",
    ),
    passphrase_file: Path | None = typer.Option(
        None,
        "--passphrase-file",
        help="Read the passphrase sealing the board keys and server secrets from this file "
        "(else PLEBISCITE_PASSPHRASE, else a prompt, only on a terminal; "
        "optional with --demo).",
    ),
    insecure_plaintext: bool = typer.Option(
        False,
        "--insecure-plaintext",
        help="Keep new board keys and server secrets unencrypted (throwaway servers only).",
    ),
    cast_queue: int = typer.Option(
        2048,
        "--cast-queue",
        min=1,
        help="Ballots that may wait for the board per referendum; beyond, casts get 503 "
        "with Retry-After (back-pressure) and nothing is accepted.",
    ),
    cast_batch: int = typer.Option(
        256,
        "--cast-batch",
        min=1,
        help="Most ballots committed together (one transaction and one checkpoint).",
    ),
) -> None:
    """Run the web server (API, booth and pages); restarting on the same --data resumes.
    The board keys are sealed under the passphrase (the demo's, without one, are not)."""
    if database is not None and not database.startswith(("postgresql://", "postgres://")):
        _err("--database: expected a postgresql:// URL (default: SQLite files under --data)")
    from plebiscite.election.keys import NO_PASSPHRASE, Passphrase, SecretFileError
    from plebiscite.server.registry import Registry

    raw = None
    if manifest is not None:
        if not demo:
            _err("--manifest goes with --demo (otherwise create referendums from the admin page)")
        from plebiscite.cli import _load_manifest

        raw = _load_manifest(manifest)
    source = Passphrase(passphrase_file)
    pp: Passphrase | None = source
    reason = "--insecure-plaintext"
    if insecure_plaintext:
        pp = None
    elif demo and not source.available():  # the demo never prompts
        pp, reason = None, "demo key"
    else:
        try:  # asked for once, now; twice when typed for a new data folder
            source.get(str(data), confirm=not (data / "server.json").exists())
        except SecretFileError as exc:
            hint = " (or --insecure-plaintext)" if str(exc) == NO_PASSPHRASE else ""
            _err(f"{exc}{hint}")
    try:
        registry = Registry(data, database=database, passphrase=pp, plaintext=reason)
    except SecretFileError as exc:
        _err(str(exc))
    except (OSError, ValueError) as exc:
        _err(f"{data}: cannot use this data folder ({exc})")
    except Exception as exc:  # the database driver's own errors (unreachable, refused)
        if type(exc).__module__.startswith("psycopg"):
            _err(f"--database: {type(exc).__name__}: {str(exc).splitlines()[0]}")
        raise
    token_file = data / "admin-token"
    if not registry.has_admin_token():
        token = registry.new_admin_token()
        token_file.write_text(token + "\n")
        token_file.chmod(0o600)
        typer.echo(f"admin token (also in {token_file}): {token}", err=True)
    if demo:
        _start_demo(registry, raw, demo_count, demo_voters, host, port)
    _run(registry, demo, host, port, secure_cookies, signin_limit, cast_queue, cast_batch)


def _start_demo(
    registry: Any, raw: dict[str, Any] | None, count: int, out: Path | None, host: str, port: int
) -> None:
    from plebiscite.election.demo import builtin_manifest
    from plebiscite.record.manifest import ManifestError
    from plebiscite.server.demo import create_demo, demo_voters, write_voters_csv

    existing = [r for r in registry.referendums.values() if r.demo]
    if existing:
        ref = existing[0]
        voters = demo_voters(ref)
        typer.echo(f"resuming demo referendum {ref.id} ({ref.stage()})", err=True)
    else:
        m = raw or builtin_manifest()
        pinned = any("public_key" in x for x in m["guardians"].get("members", []))
        if pinned or "credential_authority" in m:
            _err("the demo plays every role itself: the referendum file must not pin keys")
        from plebiscite.election.organiser import OrganiserError

        try:
            ref, voters = create_demo(registry, m, count)
        except (ManifestError, OrganiserError) as exc:
            _err(str(exc))
        typer.echo(f"demo referendum {ref.id} is open", err=True)
    if out is not None:
        write_voters_csv(out, voters)
        typer.echo(f"{len(voters)} demo voters written to {out}", err=True)
    from plebiscite.record.entries import election_fingerprint

    fp = election_fingerprint(ref.org.election_id)
    typer.echo(f"election fingerprint (the voters' --election): {fp}", err=True)
    url = f"http://{host}:{port}/r/{ref.id}/booth"
    typer.echo(f"\nVote now at {url} with one of these (sign-in code, then credential):", err=True)
    for v in voters[:5]:
        typer.echo(f"  {v['region']:<10} code {v['code']}   credential {v['credential']}", err=True)
    typer.echo("", err=True)


def _run(
    registry: Any,
    demo: bool,
    host: str,
    port: int,
    secure: bool,
    signin_limit: int,
    cast_queue: int,
    cast_batch: int,
) -> None:
    import uvicorn

    from plebiscite.server.app import create_app

    app = create_app(
        registry,
        demo=demo,
        secure_cookies=secure,
        signin_limit=signin_limit,
        cast_queue_limit=cast_queue,
        cast_batch=cast_batch,
    )
    typer.echo(f"plebiscite serving on http://{host}:{port}/", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")


# --- the command-line voter -----------------------------------------------------------


def vote_command(
    server: str = typer.Option(
        ..., "--server", help="The server's address, e.g. http://127.0.0.1:8000."
    ),
    code_file: Path | None = CODE_FILE_OPT,
    credential_file: Path | None = CREDENTIAL_FILE_OPT,
    code: str | None = CODE_OPT,
    credential: str | None = CREDENTIAL_OPT,
    answers: str = typer.Option(
        ...,
        "--answers",
        help="e.g. q1=yes,q2=no (';' between several options, 'blank' where allowed).",
    ),
    challenge: bool = typer.Option(
        False,
        "--challenge",
        help="Challenge instead of casting: post the opened ballot anonymously.",
    ),
    referendum: str | None = typer.Option(
        None, "--referendum", help="The referendum id (optional when the server holds one)."
    ),
    election: str | None = ELECTION_OPT,
) -> None:
    """Vote through the server's API with the Python booth; prints the receipt (JSON) on
    stdout once the server acknowledged the ballot and the receipt checked out. The
    joint key and context are recomputed from the board's ceremony (V07-V09), and the
    board must be the election --election names.

    The sign-in code and the credential come from --code-file and --credential-file
    ('-' for standard input), else PLEBISCITE_CODE and PLEBISCITE_CREDENTIAL, else a
    prompt on a terminal."""
    from plebiscite.anchor import NOT_ANCHORED, AnchorError, voter_board
    from plebiscite.board.checkpoint import Checkpoint
    from plebiscite.cli_roles import parse_answers
    from plebiscite.client import Client, ClientError
    from plebiscite.election.booth import BallotError, encrypt_ballot, signed_on
    from plebiscite.election.booth import challenge as make_challenge
    from plebiscite.election.credentials import credential_key, is_well_formed, public_credential
    from plebiscite.record.entries import b64decode
    from plebiscite.verify.receipt import check_receipt

    anchor = _anchor(election)
    at_most_one_stdin(code_file, credential_file)
    code = voter_secret(CODE, code_file, code)
    credential = voter_secret(CREDENTIAL, credential_file, credential)
    if not is_well_formed(credential):
        _err("the credential is not well formed (25 letters and digits in 5 groups)")
    client = Client(server)
    try:
        rid = client.referendum_for(referendum, anchor)
        if anchor is None:
            typer.echo(NOT_ANCHORED, err=True)
        try:  # the key and context the checks recomputed, never the server's say-so
            board = voter_board(client, rid, anchor)
        except AnchorError as exc:
            _err(str(exc), exc.code)
        manifest, group, eid = board.manifest, board.group, board.election_id
        ctx, key, info = board.context, board.joint_key, board.entries[0]
        assert ctx is not None and key is not None and info is not None
        signin = client.post(f"/api/referendums/{rid}/signin", {"code": code})
        region = signin["region"]
        pub = public_credential(eid, credential)
        try:
            choices = parse_answers(answers, manifest, region)
            ballot = encrypt_ballot(group, manifest, ctx, key, region, choices, pub)
        except (ValueError, BallotError) as exc:
            _err(f"--answers: {exc}")
        typer.echo(f"tracking code: {ballot.tracking_code}", err=True)
        if challenge:
            anon = Client(server)  # no cookies: the challenge is not tied to the sign-in
            sub = make_challenge(group, ballot)
            receipt = anon.post(f"/api/referendums/{rid}/challenges", sub.to_json())
            anon.close()
        else:
            receipt, _ = client.cast_on_head(
                rid, pub, signed_on(ballot, eid, credential_key(eid, credential)), signin["csrf"]
            )
        cp = Checkpoint.from_json(receipt["checkpoint"])
        entry = client.get(f"/api/referendums/{rid}/entries", start=receipt["index"], limit=1)
        from plebiscite.record.canonical import canonical_bytes

        raw = canonical_bytes(entry["entries"][0]) if entry["entries"] else None
        problems = check_receipt(receipt, b64decode(info.data["board_key"], 32), raw, cp, [])
        if receipt.get("election_id") != eid:
            problems.append("the receipt names another election")
    except ClientError as exc:
        _err(str(exc))
    finally:
        client.close()
    if problems:
        _err("the server's receipt does not check out: " + "; ".join(problems), 1)
    receipt = {**receipt, "referendum": rid}
    if challenge:
        receipt["challenged"] = sub.data
    typer.echo(json.dumps(receipt, indent=1, sort_keys=True))


def _anchor(election: str | None) -> str | None:
    """``--election`` parsed (exit 2 when it is neither an id nor a fingerprint)."""
    from plebiscite.anchor import AnchorError, parse_anchor

    try:
        return parse_anchor(election)
    except AnchorError as exc:
        _err(str(exc), exc.code)


# --- independent checks ---------------------------------------------------------------


def _board_source(
    server: str | None,
    record: Path | None,
    referendum: str | None,
    receipt: dict[str, Any] | None = None,
    anchor: str | None = None,
) -> tuple[list[bytes], list[bytes], list[bytes]]:
    """(entries, checkpoints, cosignatures) lines from a server or a record folder."""
    if (server is None) == (record is None):
        _err("give exactly one of --server and --record")
    if record is not None:
        from plebiscite.verify.reader import RecordError, read_record

        try:
            raw = read_record(record)
        except RecordError as exc:
            _err(str(exc))
        return list(raw.entries), list(raw.checkpoints), list(raw.cosignatures)
    from plebiscite.client import Client, ClientError

    assert server is not None
    client = Client(server)
    try:
        rid = client.referendum_for(referendum or (receipt or {}).get("referendum"), anchor)
        cosigs = client._call("GET", f"/api/referendums/{rid}/record/cosignatures.jsonl")
        lines = [x.encode() for x in str(cosigs).split("\n") if x]
        return client.entries_raw(rid), client.checkpoints_raw(rid), lines
    except ClientError as exc:
        _err(str(exc))
    finally:
        client.close()


def check_receipt_command(
    receipt_file: Path = typer.Argument(
        ..., help="The receipt (JSON) the booth or 'plebiscite vote' gave you."
    ),
    server: str | None = typer.Option(None, "--server", help="Check against this server's board."),
    record: Path | None = typer.Option(
        None, "--record", help="Check against this record (or mirror)."
    ),
    referendum: str | None = typer.Option(
        None, "--referendum", help="The referendum id (default: the receipt's, or the only one)."
    ),
    election: str | None = typer.Option(
        None,
        "--election",
        help="The election in your letter: its fingerprint (32 hex digits) or id (64); "
        "default: the receipt's election_id. Anything else exits 2.",
    ),
) -> None:
    """Exit 0 only if the receipt's ballot is on the board of its election (the one
    --election names, else the receipt's) with a valid inclusion proof under a
    checkpoint consistent with the board's latest one; with a witness quorum, a latest
    checkpoint that quorum of the witnesses declared in that referendum cosigned; and
    only if it extends its credential's revote chain (else it is not counted)."""
    from plebiscite.anchor import (
        NOT_ANCHORED,
        AnchorError,
        anchor_problem,
        referendum_election,
    )
    from plebiscite.board.checkpoint import Checkpoint
    from plebiscite.board.merkle import MerkleTree, leaf_hash
    from plebiscite.record.canonical import CanonicalError, loads
    from plebiscite.record.entries import EntryError, b64decode
    from plebiscite.verify.receipt import (
        ReceiptError,
        check_receipt,
        latest_witnessed,
        parse_receipt,
        receipt_election,
        receipt_off_chain,
    )

    anchor = _anchor(election)
    source = "in your letter" if anchor else "your receipt names"
    try:
        receipt = json.loads(receipt_file.read_text())
        _, cp, _ = parse_receipt(receipt)
        anchor = anchor or receipt_election(receipt)
    except (OSError, ValueError, ReceiptError) as exc:
        _err(f"{receipt_file}: {exc}")
    if anchor is None:
        typer.echo(NOT_ANCHORED, err=True)
    entries, cps, cosigs = _board_source(server, record, referendum, receipt, anchor)
    try:
        eid, ref = referendum_election(entries[0])
    except IndexError:
        _err("the board is unreadable: it has no entries")
    except AnchorError as exc:
        _err(str(exc), exc.code)
    problem = anchor_problem(eid, anchor, "the board's", source)
    if problem:
        _err(problem, 1)
    try:
        board_key = b64decode(ref["board_key"], 32, "board key")
        latest = latest_witnessed(ref, [Checkpoint.from_json(loads(x)) for x in cps], cosigs)
    except (KeyError, TypeError, ValueError, CanonicalError, EntryError) as exc:
        _err(f"the board is unreadable: {exc}")
    if latest is None or latest.size < cp.size:
        _err(
            "no checkpoint covering this ballot has the witness quorum yet: check again once"
            " the witnesses have cosigned",
            1,
        )
    tree = MerkleTree(leaf_hash(e) for e in entries[: latest.size])
    index = receipt["index"]
    entry = entries[index] if index < len(entries) else None
    consistency = (
        tree.consistency_proof(cp.size, latest.size) if cp.size <= latest.size <= tree.size else []
    )
    if latest.size > tree.size or tree.root(latest.size) != latest.root:
        _err("the board's entries do not match its latest checkpoint", 1)
    problems = check_receipt(receipt, board_key, entry, latest, consistency)
    if problems:
        for p in problems:
            typer.echo(f"plebiscite: receipt check failed: {p}", err=True)
        raise typer.Exit(1)
    off_chain = receipt_off_chain(entries[: latest.size], index)
    if off_chain:
        _err(off_chain, 1)
    typer.echo(
        f"receipt holds: ballot {receipt['tracking_code'][:16]}… is entry {index}, "
        f"under checkpoint {cp.size} consistent with the latest ({latest.size})"
    )


def check_challenge_command(
    challenge_file: Path = typer.Argument(
        ..., help="A challenged ballot: the entry, the submission or its data (JSON)."
    ),
    server: str | None = typer.Option(
        None, "--server", help="Take the election context from this server."
    ),
    record: Path | None = typer.Option(
        None, "--record", help="Take the election context from this record."
    ),
    referendum: str | None = typer.Option(
        None, "--referendum", help="The referendum id (with --server, when several)."
    ),
) -> None:
    """Check a challenged ballot independently: its ciphertexts open, with its nonces, to
    the claimed choices, which are a valid answer; prints the choices."""
    from plebiscite.record.canonical import CanonicalError, loads
    from plebiscite.verify.ballots import BallotContext, check_challenged

    try:
        obj = loads(challenge_file.read_bytes())
    except (OSError, CanonicalError) as exc:
        _err(f"{challenge_file}: {exc}")
    if isinstance(obj, dict) and "challenged" in obj:
        obj = obj["challenged"]
    data = obj.get("data", obj) if isinstance(obj, dict) else obj
    entries, _, _ = _board_source(server, record, referendum)
    try:
        parsed = [loads(e) for e in entries]
        manifest = parsed[0]["data"]["manifest"]
        ctx = next(e["data"] for e in parsed if e["type"] == "election_context")
    except (StopIteration, KeyError, TypeError, CanonicalError):
        _err("the board has no election context")
    bctx = BallotContext(
        manifest.get("group", "ristretto255"), manifest, ctx["context_hash"], ctx["joint_key"]
    )
    problem = check_challenged(bctx, 0, data)
    if problem:
        _err(f"the challenged ballot does not check out: {problem}", 1)
    for a in data["answers"]:
        typer.echo(f"{a['question']}: {', '.join(a['choices']) or '(none)'}")
    on_board = any(loads(e)["data"].get("tracking_code") == data["tracking_code"] for e in entries)
    typer.echo(
        f"tracking code {data['tracking_code'][:16]}… "
        + ("is on the board" if on_board else "is not on the board"),
        err=True,
    )


def check_booth_command(
    url: str = typer.Argument(..., help="The server's address, e.g. https://vote.example.org."),
    referendum: str | None = typer.Option(
        None, "--referendum", help="The referendum id (when the server holds several)."
    ),
    election: str | None = typer.Option(
        None,
        "--election",
        help="The election in your letter: its fingerprint (32 hex digits) or id (64); "
        "anything else exits 2.",
    ),
) -> None:
    """Check that the booth files the server serves are the ones its open entry commits
    to: exit 0 when every file's SHA-256 matches, 1 naming a file that differs (or when
    the board fails its checks), 2 when the server is unreachable, 3 before the open
    (or while the witnesses have not cosigned it)."""
    from plebiscite.anchor import (
        NOT_ANCHORED,
        AnchorError,
        booth_digests,
        check_served_booth,
        checked_server_board,
    )
    from plebiscite.client import Client, ClientError

    anchor = _anchor(election)
    if anchor is None:
        typer.echo(NOT_ANCHORED, err=True)
    client = Client(url)
    try:
        rid = client.referendum_for(referendum, anchor)
        files = check_served_booth(client, booth_digests(checked_server_board(client, rid, anchor)))
    except ClientError as exc:
        _err(str(exc))
    except AnchorError as exc:
        _err(str(exc), exc.code)
    finally:
        client.close()
    bad = [f for f in files if f.problem]
    for f in files:
        if f.problem is None:
            typer.echo(f"{f.name}: matches the open entry (sha256 {f.published[:16]}…)")
    for f in bad:
        typer.echo(f"plebiscite: booth file {f.name}: {f.problem}", err=True)
    if bad:
        raise typer.Exit(1)


def dispute_command(
    evidence: str = typer.Option(
        ..., "--evidence", help="What went wrong, in your words (public)."
    ),
    server: str | None = typer.Option(None, "--server", help="Post the dispute to this server."),
    record: Path | None = typer.Option(
        None, "--record", help="Read the board from this record and write the dispute to --out."
    ),
    out: Path | None = typer.Option(
        None, "--out", help="With --record: where to write the signed dispute for the organiser."
    ),
    credential_file: Path | None = typer.Option(
        None,
        "--credential-file",
        help="As a voter: sign with the voting credential in this file ('-' for standard "
        "input); else PLEBISCITE_CREDENTIAL, else a prompt on a terminal.",
    ),
    credential: str | None = typer.Option(
        None,
        "--credential",
        help="Deprecated (visible to other users): use --credential-file or PLEBISCITE_CREDENTIAL.",
    ),
    key: Path | None = typer.Option(
        None, "--key", help="As an observer: sign with your observer key file."
    ),
    receipt: Path | None = typer.Option(
        None, "--receipt", help="The receipt that does not verify."
    ),
    check: str | None = typer.Option(
        None, "--check", help="The verifier check that failed (e.g. V13)."
    ),
    region: str | None = typer.Option(
        None, "--region", help="The region concerned (default: your credential's)."
    ),
    referendum: str | None = typer.Option(
        None, "--referendum", help="The referendum id (with --server, when several)."
    ),
    passphrase_file: Path | None = typer.Option(
        None,
        "--passphrase-file",
        help="With --key: the passphrase sealing the observer's key, from this file "
        "(else PLEBISCITE_PASSPHRASE, else a prompt, only on a terminal).",
    ),
    insecure_plaintext: bool = typer.Option(
        False,
        "--insecure-plaintext",
        help="With --key: accept an unencrypted observer key (drills and tests only).",
    ),
) -> None:
    """Post a signed, public dispute: a receipt that does not verify, or a failed check.
    Disputes are counted per region and shown next to the results."""
    from plebiscite.client import Client, ClientError
    from plebiscite.election.credentials import credential_key, is_well_formed, public_credential
    from plebiscite.election.keys import Passphrase
    from plebiscite.observe.keys import KeyFileError, load_observer_key
    from plebiscite.record.canonical import loads
    from plebiscite.record.entries import sign
    from plebiscite.record.protocol import dispute_problem

    if key is not None and (credential is not None or credential_file is not None):
        _err("sign with exactly one of a credential (a voter) and --key (an observer)")
    if (server is None) == (record is None) or (record is not None and out is None):
        _err("give --server, or --record with --out")
    if key is None:
        credential = voter_secret(
            CREDENTIAL, credential_file, credential, otherwise=", or --key as an observer"
        )
    entries, _, _ = _board_source(server, record, referendum)
    ref = loads(entries[0])["data"]
    from plebiscite.record.entries import election_id_of

    eid = election_id_of(ref)
    regions = {r["id"] for r in ref["manifest"]["regions"]}
    if credential is not None:
        if not is_well_formed(credential):
            _err("the credential is not well formed (25 letters and digits in 5 groups)")
        signer = credential_key(eid, credential)
        pub = public_credential(eid, credential)
        if region is None:
            for line in entries:
                e = loads(line)
                if e["type"] == "credential_list" and pub in e["data"]["credentials"]:
                    region = e["data"]["region"]
    else:
        assert key is not None
        try:
            signer = load_observer_key(
                key, Passphrase(passphrase_file), allow_plaintext=insecure_plaintext
            )
        except KeyFileError as exc:
            _err(str(exc))
    receipt_data = None
    if receipt is not None:
        try:
            receipt_data = json.loads(receipt.read_text())
        except (OSError, ValueError) as exc:
            _err(f"{receipt}: {exc}")
    about = "receipt" if receipt_data is not None else "check" if check else "other"
    data = {
        "region": region,
        "about": about,
        "receipt": receipt_data,
        "check": check,
        "evidence": evidence,
    }
    problem = dispute_problem(data, regions)
    if problem:
        _err(problem)
    sub = sign("dispute", data, eid, signer)
    if out is not None:
        out.write_text(json.dumps(sub.to_json(), indent=1, sort_keys=True) + "\n")
        typer.echo(f"dispute written to {out}; hand it to the organiser", err=True)
        return
    assert server is not None
    client = Client(server)
    try:
        rid = client.referendum_id(referendum)
        receipt_out = client.post(f"/api/referendums/{rid}/disputes", sub.to_json())
    except ClientError as exc:
        _err(str(exc))
    finally:
        client.close()
    typer.echo(json.dumps(receipt_out, indent=1, sort_keys=True))


def register(app: typer.Typer) -> None:
    app.command("dispute")(dispute_command)
    app.command("serve")(serve_command)
    app.command("vote")(vote_command)
    app.command("check-receipt")(check_receipt_command)
    app.command("check-challenge")(check_challenge_command)
    app.command("check-booth")(check_booth_command)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(0)
