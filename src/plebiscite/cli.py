"""The plebiscite command line: one Typer app, a thin layer over the library.

Heavy modules are imported inside commands, so a short command stays quick. Errors on
bad input are one line on stderr and exit 2; a failed verification exits 1.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, NoReturn

import typer

from plebiscite import __version__

app = typer.Typer(
    name="plebiscite",
    help="A referendum platform whose result nobody has to take on trust.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

EXIT_FAILED = 1
EXIT_UNUSABLE = 2


def _err(message: str, code: int = EXIT_UNUSABLE) -> NoReturn:
    typer.echo(f"plebiscite: {message}", err=True)
    raise typer.Exit(code)


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


def _progress() -> Any:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("{task.description:<12}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=_stderr_console(),
        transient=True,
    )


def _load_json(path: Path, what: str) -> Any:
    from plebiscite.record.canonical import CanonicalError, loads

    try:
        return loads(Path(path).read_bytes())
    except FileNotFoundError:
        _err(f"{path}: no such {what}")
    except OSError as exc:
        _err(f"{path}: cannot read {what} ({exc.strerror})")
    except CanonicalError as exc:
        _err(f"{path}: {what} is {exc}")


def _load_manifest(path: Path) -> dict[str, Any]:
    from plebiscite.record.manifest import ManifestError, parse_manifest

    data = _load_json(path, "referendum file")
    try:
        parse_manifest(data)
    except ManifestError as exc:
        _err(f"{path}: {exc}")
    result: dict[str, Any] = data
    return result


def version_callback(value: bool) -> None:
    if value:
        typer.echo(f"plebiscite {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: bool = typer.Option(
        False, "--version", callback=version_callback, is_eager=True, help="Print the version."
    ),
) -> None:
    """A referendum platform whose result nobody has to take on trust."""


# --- demo ----------------------------------------------------------------------------


@app.command()
def demo(
    manifest: Path | None = typer.Option(
        None, "--manifest", help="Referendum file (JSON); default: the built-in one."
    ),
    votes: Path | None = typer.Option(
        None, "--votes", help="Test deck: CSV 'region,<question id>,...', one row per voter."
    ),
    voters: int = typer.Option(
        20, "--voters", min=1, help="Simulated voters per region (without --votes)."
    ),
    group: str | None = typer.Option(
        None, "--group", help="Group: ristretto255, modp-4096 or belenios-2048."
    ),
    seed: int | None = typer.Option(None, "--seed", help="Seed for the simulated voters' choices."),
    record: Path = typer.Option(
        Path("demo-record"), "--record", help="Where to publish the record."
    ),
    data: Path | None = typer.Option(
        None,
        "--data",
        help="Keep the organiser's board and keys here (default: a temporary folder).",
    ),
    force: bool = typer.Option(False, "--force", help="Replace an existing record folder."),
    workers: int | None = typer.Option(
        None, "--workers", min=1, help="Verifier processes (default: all cores)."
    ),
) -> None:
    """Run a whole referendum in one process, publish its record, verify it, print the results."""
    import shutil

    from plebiscite.crypto.group import GROUP_NAMES
    from plebiscite.election.demo import DeckError, read_deck, run_demo
    from plebiscite.election.organiser import OrganiserError
    from plebiscite.record.manifest import ManifestError, parse_manifest

    if group is not None and group not in GROUP_NAMES:
        _err(f"--group: {group!r} is not one of {', '.join(GROUP_NAMES)}")
    raw = _load_manifest(manifest) if manifest else None
    deck = None
    if votes is not None:
        from plebiscite.election.demo import builtin_manifest

        m = dict(raw or builtin_manifest())
        if group:
            m["group"] = group
        try:
            deck = read_deck(votes, parse_manifest(m))
        except (DeckError, ManifestError) as exc:
            _err(str(exc))
    if record.exists() and any(record.iterdir()):
        if not force:
            _err(f"{record} exists and is not empty (use --force to replace it)")
        shutil.rmtree(record)
    if data is not None and data.exists() and any(data.iterdir()):
        _err(f"{data} exists and is not empty")
    tmp = None
    if data is None:
        tmp = tempfile.TemporaryDirectory(prefix="plebiscite-demo-")
        data = Path(tmp.name)
    con = _stderr_console()
    try:
        with _progress() as bar:
            tasks: dict[str, Any] = {}

            def tick(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(stage, total=total)
                bar.update(tasks[stage], completed=done)

            try:
                out = run_demo(data, record, raw, deck, voters, group, seed, tick)
            except (DeckError, ManifestError, OrganiserError) as exc:
                _err(str(exc))
        out.organiser.close_store()
        con.print(f"[green]record published[/] to {record}")
        code = _verify_and_print(record, workers, human=True, results=True)
    finally:
        if tmp is not None:
            tmp.cleanup()
    raise typer.Exit(code)


# --- verify / results ----------------------------------------------------------------


FORMATS = ("plebiscite", "belenios", "electionguard")


def _run_verifier(
    record: Path, workers: int | None, fmt: str = "plebiscite", scheduler: str | None = None
) -> Any:
    from plebiscite.verify.checks import verify_record
    from plebiscite.verify.reader import RecordError, read_record

    if fmt not in FORMATS:
        _err(f"--format: {fmt!r} is not one of {', '.join(FORMATS)}")
    if scheduler is not None and fmt != "plebiscite":
        _err(f"--scheduler: not available with --format {fmt}")
    if fmt != "plebiscite":
        # Foreign records are read by interop/ into the same check framework.
        import importlib

        try:
            mod = importlib.import_module(f"plebiscite.interop.{fmt}")
        except ImportError:
            _err(f"--format {fmt}: not available in this build")
        try:
            return mod.verify_foreign(record, workers)
        except RecordError as exc:
            _err(str(exc))
    try:
        raw = read_record(record, stream=True)  # read line by line, as often as needed
    except RecordError as exc:
        _err(str(exc))
    _note_slow_path(raw)
    with _progress() as bar:
        task = None

        def tick(done: int, total: int) -> None:
            nonlocal task
            if task is None:
                task = bar.add_task("ballots", total=total)
            bar.update(task, completed=done)

        try:
            return verify_record(raw, workers, tick, scheduler)
        except ConnectionError as exc:  # only raised for an unusable --scheduler
            bar.stop()
            _err(f"--scheduler: {exc}")
        except RecordError as exc:  # e.g. a record of another format
            bar.stop()
            _err(str(exc))


def _note_slow_path(raw: Any) -> None:
    """One line on stderr when a ristretto255 record will be checked without the native
    library (not built: no C compiler when plebiscite was installed): same verdict,
    about five times slower."""
    from plebiscite.crypto import native

    if native.available() or os.environ.get("PLEBISCITE_NATIVE") == "0":
        return
    try:
        first = json.loads(next(iter(raw.entries)))
        group = first["data"]["manifest"]["group"]
    except (StopIteration, ValueError, KeyError, TypeError):
        return  # the checks will say what is wrong with it
    if group == "ristretto255":
        typer.echo(
            "plebiscite: note: the native ristretto255 library is not built (make setup, or a"
            " C compiler when installing), so ballots are checked one by one through"
            " libsodium: same verdict, about 5x slower",
            err=True,
        )


def _print_report(report: Any) -> None:
    from rich.console import Console

    con = Console()
    marks = {
        "passed": "[green]✓[/]",
        "failed": "[red]✗[/]",
        "not_applicable": "[dim]–[/]",
        "pending": "[yellow]…[/]",
    }
    s = report.summary
    con.print(
        f"[bold]{s.get('title') or 'referendum'}[/]  ({s.get('group')}, "
        f"{s['entries']} entries, {s['ballots']} ballots, {s['counted']} counted, "
        f"{s['challenged']} challenged)"
    )
    for c in report.checks:
        con.print(f" {marks[c.status]} {c.id} {c.title}")
        for d in c.details[:5]:
            con.print(f"      {d}", markup=False, highlight=False)
        if len(c.details) > 5:
            con.print(f"      … and {len(c.details) - 5} more")
    for note in s.get("notes", []):
        con.print(f"note: {note}", markup=False, highlight=False)
    stage = s.get("stage")
    if report.ok and stage != "decided":
        con.print(
            f"[bold green]verified so far[/]: the referendum is at stage {stage!r}, no result yet"
        )
    elif report.ok:
        con.print("[bold green]verified[/]: every check passed")
    else:
        names = ", ".join(c.id for c in report.failed)
        con.print(f"[bold red]FAILED[/]: {names}")


def _print_results(record: Path, report: Any) -> None:
    from rich.console import Console

    from plebiscite.record.entries import parse_entry
    from plebiscite.record.manifest import parse_manifest
    from plebiscite.verify.checks import BALLOT_TAIL
    from plebiscite.verify.reader import read_record

    con = Console()
    raw = read_record(record, stream=True)
    # Verified already: only the referendum, lists, tally and disputes are read again
    # (ballot lines, the bulk of the file, end so and are skipped unparsed).
    entries = (parse_entry(line) for line in raw.entries if not line.endswith(BALLOT_TAIL))
    ref = next(entries)
    m = parse_manifest(ref.data["manifest"])
    creds: dict[str, int] = {}
    counted: dict[str, int] = {}
    disputes: dict[str, int] = {}
    for e in entries:
        if e.type == "credential_list":
            creds[e.data["region"]] = int(e.data["count"])
        elif e.type == "tally":
            counted = e.data["counted"]
        elif e.type == "dispute":
            key = str(e.data.get("region") or "(no region)")
            disputes[key] = disputes.get(key, 0) + 1
    rule = m.raw.get("rule", {})
    quorum = int(m.raw.get("witness_quorum", 0))
    if quorum:
        con.print(
            f"Board witnessed: {quorum} witness cosignatures needed on the close"
            " and final checkpoints (V22)"
        )
    else:
        con.print("[yellow]Board unwitnessed[/]: the referendum sets no witness quorum")
    _print_observers(con, record, report)
    for rid, region in m.regions.items():
        n, c = counted.get(rid, 0), creds.get(rid, 0)
        share = n / c if c else 0.0
        con.print(f"\n[bold]{region.name}[/] ({rid}): turnout {n} of {c} credentials ({share:.1%})")
        if disputes.get(rid):
            con.print(
                f"  [yellow]{disputes[rid]} dispute(s)[/] posted for this region (see the board)"
            )
        for q in m.region_questions(rid):
            counts = report.results[rid][q.id]
            valid = sum(v for k, v in counts.items() if k != "blank")
            con.print(f"  {q.id}: {q.text}")
            for slot in q.slots:
                v = counts[slot]
                pct = f"{v / valid:.1%}" if valid and slot != "blank" else ""
                con.print(f"    {slot:<14}{v:>8}  {pct}")
            con.print(f"    {_outcome(q, counts, share, rule)}")


def _print_observers(con: Any, record: Path, report: Any) -> None:
    """Each observer's verdict and recognition statement, and how many independent
    observers verified these results."""
    from plebiscite.observe.attest import (
        latest_by_observer,
        results_digest,
        summarise,
        verified_count,
    )

    items = summarise(record)
    digest = results_digest(report.results) if report.results is not None else None
    n = verified_count(items, digest)
    latest = latest_by_observer(items)
    con.print(
        f"\n[bold]Observers[/]: {n} independent observer(s) declared in the referendum file"
        " verified these results"
    )
    later = verified_count(items, digest, declared=False)
    if later:
        con.print(f"  and {later} observer(s) accredited later by the organiser")
    for oid, it in sorted(latest.items(), key=lambda kv: (not kv[1].get("declared"), kv[0])):
        reason = f" ({it['reason']})" if it.get("reason") else ""
        who = "" if it.get("declared") else " (accredited by the organiser)"
        con.print(
            f"  {it.get('name') or oid} [{it.get('kind')}, {it.get('jurisdiction')}]{who}: "
            f"{it['verdict']}, {it['recognition']}{reason}",
            markup=False,
            highlight=False,
        )
    invalid = [it for it in items if not it["valid"]]
    if invalid:
        con.print(f"  {len(invalid)} attestation file(s) do not check against this record")


def _outcome(q: Any, counts: dict[str, int], turnout: float, rule: dict[str, float]) -> str:
    if not rule:
        return ""
    tmin = rule.get("turnout_min")
    if tmin is not None and turnout < tmin:
        return f"outcome: not valid, turnout {turnout:.1%} is below {tmin:.0%}"
    maj = rule.get("majority")
    valid = sum(v for k, v in counts.items() if k != "blank")
    if maj is None or not valid:
        return "outcome: no valid answers" if not valid else ""
    for opt in q.options:
        if counts[opt] / valid > maj:
            return (
                f"outcome: {opt!r} carries ({counts[opt] / valid:.1%} > {maj:.0%} of valid answers)"
            )
    return f"outcome: no option reaches {maj:.0%} of valid answers"


def _verify_and_print(record: Path, workers: int | None, human: bool, results: bool) -> int:
    report = _run_verifier(record, workers)
    if human:
        _print_report(report)
        if results and report.ok and report.results is not None:
            _print_results(record, report)
    return 0 if report.ok else EXIT_FAILED


@app.command()
def verify(
    record: Path = typer.Argument(..., help="The published record (a folder)."),
    json_out: bool = typer.Option(False, "--json", help="Print the report as JSON on stdout."),
    workers: int | None = typer.Option(
        None, "--workers", min=1, help="Processes for ballot checks (default: all cores)."
    ),
    fmt: str = typer.Option(
        "plebiscite",
        "--format",
        help="The record's format: plebiscite, belenios (the folder holding the .bel file)"
        " or electionguard (an ElectionGuard 1.x export).",
    ),
    scheduler: str | None = typer.Option(
        None,
        "--scheduler",
        help="Check the ballots on a Dask cluster instead of local processes: the address of"
        " its scheduler, tcp://HOST:PORT (start one with `dask scheduler` and `dask worker`)."
        " Same report, same verdict.",
    ),
) -> None:
    """Verify a published record: every numbered check, then the verdict.

    Exit 0 when no check failed, 1 when one failed (named), 2 when the input is unusable.
    """
    report = _run_verifier(record, workers, fmt, scheduler)
    if json_out:
        typer.echo(json.dumps(report.to_json(), indent=1))
    else:
        _print_report(report)
    if not report.ok:
        if json_out:
            typer.echo(
                f"plebiscite: verification failed: {', '.join(c.id for c in report.failed)}",
                err=True,
            )
        raise typer.Exit(EXIT_FAILED)


@app.command()
def results(
    record: Path = typer.Argument(..., help="The published record (a folder)."),
    json_out: bool = typer.Option(
        False, "--json", help='Print {"<region>": {"<question>": {"<option>": count}}} only.'
    ),
    workers: int | None = typer.Option(
        None, "--workers", min=1, help="Verifier processes (default: all cores)."
    ),
    fmt: str = typer.Option(
        "plebiscite", "--format", help="The record's format: plebiscite, belenios or electionguard."
    ),
) -> None:
    """Verify the record, then print its results per region."""
    report = _run_verifier(record, workers, fmt)
    if not report.ok:
        _err(
            "verification failed: " + ", ".join(f"{c.id} {c.title}" for c in report.failed),
            EXIT_FAILED,
        )
    if report.results is None:
        _err("the record holds no result yet", EXIT_FAILED)
    if json_out or fmt != "plebiscite":  # foreign records: the counts as JSON
        typer.echo(json.dumps(report.results, indent=1, sort_keys=True))
    else:
        _print_results(record, report)


def _register_roles() -> None:
    from plebiscite.cli_roles import ballot_command, credentials_app, guardian_app, organiser_app

    app.add_typer(organiser_app, name="organiser")
    app.add_typer(guardian_app, name="guardian")
    app.add_typer(credentials_app, name="credentials")
    app.command("ballot")(ballot_command)

    from plebiscite.cli_server import register

    register(app)

    from plebiscite.cli_simulate import simulate_command

    app.command("simulate")(simulate_command)

    from plebiscite.cli_observe import observe_app
    from plebiscite.cli_observe_attest import (
        attest_command,
        check_attestation_command,
        publish_command,
    )

    observe_app.command("attest")(attest_command)
    observe_app.command("publish")(publish_command)
    observe_app.command("check-attestation")(check_attestation_command)
    app.add_typer(observe_app, name="observe")

    from plebiscite.cli_keys import keys_app

    app.add_typer(keys_app, name="keys")


_register_roles()


EXIT_INTERNAL = 70  # EX_SOFTWARE: a bug, not the input's fault


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("plebiscite: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # a bug: one line, a distinct exit code; details on request
        if os.environ.get("PLEBISCITE_DEBUG"):
            raise
        typer.echo(
            f"plebiscite: internal error: {type(exc).__name__}: {exc} "
            "(set PLEBISCITE_DEBUG=1 for details, and please report it)",
            err=True,
        )
        sys.exit(EXIT_INTERNAL)


if __name__ == "__main__":  # pragma: no cover
    main()
