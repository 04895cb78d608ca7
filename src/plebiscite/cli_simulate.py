"""``plebiscite simulate``: generate a large valid record quickly (benchmarks, drills).

Command function only; ``plebiscite.cli`` registers it. Errors on bad input are one
line on stderr and exit 2. Progress goes to stderr, and so does the closing line with
the throughput.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NoReturn

import typer

EXIT_UNUSABLE = 2


def _err(message: str, code: int = EXIT_UNUSABLE) -> NoReturn:
    typer.echo(f"plebiscite: {message}", err=True)
    raise typer.Exit(code)


def simulate_command(
    voters: int = typer.Option(..., "--voters", help="Voters in total, spread over the regions."),
    regions: int | None = typer.Option(
        None,
        "--regions",
        help="Regions region-1..region-R, each with one yes/no question (default 1;"
        " not with --manifest).",
    ),
    group: str | None = typer.Option(
        None, "--group", help="Group: ristretto255 (default), modp-4096 or belenios-2048."
    ),
    workers: int | None = typer.Option(
        None, "--workers", help="Processes encrypting ballots (default: all cores)."
    ),
    manifest: Path | None = typer.Option(
        None,
        "--manifest",
        help="Referendum file (JSON) instead of the yes/no questions; no observers.",
    ),
    seed: int | None = typer.Option(None, "--seed", help="Seed for the voters' choices."),
    record: Path = typer.Option(..., "--record", help="Where to publish the record."),
    force: bool = typer.Option(False, "--force", help="Replace an existing record folder."),
) -> None:
    """Generate a large valid record quickly: random voters, real cryptography, in parallel.

    The record is unwitnessed (no observers) and passes 'plebiscite verify'.
    """
    import shutil
    import tempfile

    from plebiscite.cli import _load_manifest, _progress, _stderr_console
    from plebiscite.election.simulate import SimulateError, prepare, simulate

    if regions is not None and manifest is not None:
        _err("--regions: not with --manifest (the referendum file names its regions)")
    raw = _load_manifest(manifest) if manifest is not None else None
    try:
        prepare(voters, 1 if regions is None else regions, group, workers, raw)
    except SimulateError as exc:
        _err(str(exc))
    if record.exists() and (not record.is_dir() or any(record.iterdir())):
        if not force or not record.is_dir():
            _err(f"{record} exists and is not empty (use --force to replace it)")
        shutil.rmtree(record)

    con = _stderr_console()
    failed: SimulateError | None = None
    with tempfile.TemporaryDirectory(prefix="plebiscite-simulate-") as tmp, _progress() as bar:
        tasks: dict[str, Any] = {}

        def tick(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done)

        try:
            out = simulate(
                Path(tmp) / "data",
                record,
                voters,
                1 if regions is None else regions,
                group,
                workers,
                raw,
                seed,
                tick,
            )
        except SimulateError as exc:
            failed = exc  # reported once the progress display is gone
    if failed is not None:
        _err(str(failed))
    con.print(f"[green]record published[/] to {record}", highlight=False)
    rate = out.ballots / out.casting_seconds if out.casting_seconds > 0 else float("inf")
    typer.echo(
        f"plebiscite: simulated {out.ballots} ballots: {rate:.0f} ballots/s cast"
        f" (encrypted, signed, appended), {out.seconds:.1f} s in all",
        err=True,
    )
