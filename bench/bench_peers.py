"""Our verifier against the peers' own verifiers, side by side in one run (issue 6).

A benchmark, not a timed test: it asserts nothing about speed.

(1) Belenios. One archive of N ballots (default 2,000; one homomorphic yes/no question,
    min 1, max 1, no blank; one trustee; tallied and decrypted) generated with
    ``belenios-tool`` 2.0, the way ``tests/belenios_gen.py`` drives it (its ``run_tool``
    is reused; ballots are generated on all cores, then appended in order). The archive
    is cached under ``/tmp/plebiscite-bench/`` and reused when present. Each repeat
    times, in alternating order: ``belenios-tool election verify --dir DIR`` (wall and
    CPU of the subprocess), our ``interop.belenios.verify_foreign`` in-process with 1
    and 2 workers, and ``plebiscite verify DIR --format belenios --workers 2`` as a
    subprocess (end to end: interpreter start, imports, report). Every run's verdict is
    recorded; the peers must agree. Target: ours / theirs <= 1/4 (wall time).

(2) ElectionGuard. A record of M ballots (default 32) made with electionguard 1.4.0
    through ``scripts/eg_make_record.py`` in ``.venv-eg`` (``scripts/eg-venv.sh``). The
    script's own manifest is one yes/no referendum plus 2-of-3 candidate contests, so by
    default (``--eg-shape yesno4``) the bench runs it with ``make_manifest`` replaced by
    four yes/no referendum contests (1 of 2 each): the issue-6 shape. ``--eg-shape
    script`` uses the script's manifest with ``--contests 4`` instead. Then, on the same
    ballot files: the SDK's own per-ballot check, ``SubmittedBallot.is_valid_encryption``
    (manifest hash, joint key, extended base hash: every selection's disjunctive proof
    with its residue checks, every contest's constant proof, the crypto hashes) in a
    ``.venv-eg`` subprocess, one process, as the SDK does it; against ours,
    ``interop.electionguard.time_ballots`` with 1 and 2 workers (the ballot pass E04-E06:
    reading and parsing the files, subgroup checks, proofs, hashes). The SDK's loading of
    the files (pydantic/dacite) is timed apart and left out of its verification figure,
    which favours the SDK. Target (modp-4096-equivalent groups; ElectionGuard's group is
    4096-bit): >= 10x the SDK's per-ballot throughput.

Before and after, in the same run: ``--baseline REV`` also times our verifiers as they
were at git revision REV (``git archive REV src``, extracted once under the cache and
imported from there in a subprocess that reports its own wall and CPU time, with 1 and 2
workers); for ElectionGuard, rows "exact" time the current code with batch verification
turned off (``crypto.batch.set_enabled(False)``).

Run from the repository root::

    .venv/bin/python bench/bench_peers.py [--ballots 2000] [--eg-ballots 32]
        [--repeat 3] [--eg-shape yesno4|script] [--only belenios|electionguard]
        [--baseline REV] [--json]

Progress goes to stderr; the table (or, with ``--json``, one JSON object) to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "src"))

import belenios_gen as bg  # noqa: E402  (tests/belenios_gen.py)

CACHE = Path("/tmp/plebiscite-bench")
PLEBISCITE = ROOT / ".venv" / "bin" / "plebiscite"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def cpu_now() -> float:
    """CPU seconds of this process plus its reaped children."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    ch = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + ch.ru_utime + ch.ru_stime


def measured(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """(wall seconds, CPU seconds incl. children, result) of one call."""
    c0, t0 = cpu_now(), time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, cpu_now() - c0, out


# --- machine ---------------------------------------------------------------------------


def machine_facts() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    with suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    source = None
    with suppress(OSError, subprocess.SubprocessError):
        git = ["git", "-C", str(ROOT)]
        head = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            [*git, "status", "--porcelain", "--", "src"], capture_output=True, text=True
        ).stdout.strip()
        source = head + (" + uncommitted changes in src/" if dirty else "")
    tool = None
    with suppress(OSError, subprocess.SubprocessError):
        tool = subprocess.run(
            [bg.TOOL, "--version"], capture_output=True, text=True, check=True
        ).stdout.strip()
    import gmpy2

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "load_1min_at_start": round(os.getloadavg()[0], 2),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "gmpy2": gmpy2.version(),
        "gmp": gmpy2.mp_version(),
        "belenios_tool": tool,
        "source": source,
    }


# --- (1) Belenios ----------------------------------------------------------------------


def belenios_archive(n: int, seed: int = 1) -> tuple[Path, dict[str, Any]]:
    """The cached archive directory of ``n`` yes/no ballots (generated if absent)."""
    base = CACHE / f"belenios-{n}-yesno-s{seed}"
    out, meta_path = base / "archive", base / "meta.json"
    if meta_path.exists() and len(list(out.glob("*.bel"))) == 1:
        meta = json.loads(meta_path.read_text())
        log(f"belenios: reusing {out} ({meta['ballots']} ballots)")
        return out, {**meta, "cached": True}
    shutil.rmtree(base, ignore_errors=True)
    work = base / "work"
    work.mkdir(parents=True)
    rng = random.Random(seed)
    started = time.perf_counter()
    g = ["--group", bg.GROUP]
    uuid = bg.run_tool(work, "setup", "generate-token").strip()
    bg.run_tool(work, "setup", "generate-credentials", "--uuid", uuid, *g, "--count", str(n))
    (pub,) = work.glob("*.pubcreds")
    pub.rename(work / "public_creds.json")
    (priv,) = work.glob("*.privcreds")
    privcreds = dict(line.split(" ", 1) for line in priv.read_text().splitlines())
    creds = [privcreds[k] for k in sorted(privcreds, key=int)]
    bg.run_tool(work, "setup", "generate-trustee-key", *g)
    (privkey,) = work.glob("*.privkey")
    (work / "public_keys.jsons").write_text(privkey.with_suffix(".pubkey").read_text())
    bg.run_tool(work, "setup", "make-trustees")
    template = {
        "description": "plebiscite bench_peers",
        "name": "bench",
        "questions": [bg.Question(2, min=1, max=1).to_json(1)],
        "administrator": "bench",
        "credential_authority": "bench",
    }
    (work / "template.json").write_text(json.dumps(template))
    bg.run_tool(work, "setup", "make-election", "--uuid", uuid, *g, "--template", "template.json")
    bg.run_tool(work, "archive", "init")
    for name in ("election.json", "trustees.json", "public_creds.json"):
        (work / name).unlink(missing_ok=True)
    setup_s = time.perf_counter() - started

    votes = [[[1, 0]] if rng.random() < 0.5 else [[0, 1]] for _ in range(n)]
    gen = work / "gen"
    gen.mkdir()

    def one(i: int) -> str:
        (gen / f"{i}.cred").write_text(creds[i] + "\n")
        (gen / f"{i}.json").write_text(json.dumps(votes[i]))
        return bg.run_tool(work, "election", "generate-ballot",
                           "--privcred", f"gen/{i}.cred", "--ballot", f"gen/{i}.json")  # fmt: skip

    t = time.perf_counter()
    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        ballots = []
        for i, b in enumerate(pool.map(one, range(n))):
            ballots.append(b)
            if (i + 1) % 250 == 0:
                log(f"belenios: {i + 1}/{n} ballots generated")
    gen_s = time.perf_counter() - t
    t = time.perf_counter()
    for b in ballots:
        bg.run_tool(work, "archive", "add-event", "--type=Ballot", stdin=b)
    bg.run_tool(work, "archive", "add-event", "--type=EndBallots")
    et = bg.run_tool(work, "election", "compute-encrypted-tally")
    bg.run_tool(work, "archive", "add-event", "--type=EncryptedTally", stdin=et)
    pd = bg.run_tool(work, "election", "decrypt", "--privkey", str(privkey), "--trustee-id", "1")
    bg.run_tool(work, "archive", "add-event", "--type=PartialDecryption", stdin=pd)
    res = bg.run_tool(work, "election", "compute-result")
    bg.run_tool(work, "archive", "add-event", "--type=Result", stdin=res)
    append_s = time.perf_counter() - t
    result = [[int(x) for x in row] for row in json.loads(res.splitlines()[0])["result"]]
    yes = sum(v[0][0] for v in votes)
    assert result == [[yes, n - yes]], (result, yes)
    out.mkdir()
    shutil.copy(work / f"{uuid}.bel", out / f"{uuid}.bel")
    meta = {
        "ballots": n,
        "uuid": uuid,
        "result": result,
        "bytes": (out / f"{uuid}.bel").stat().st_size,
        "generation_seconds": {
            "setup": round(setup_s, 1),
            "ballots_parallel": round(gen_s, 1),
            "append_tally_decrypt": round(append_s, 1),
            "total": round(time.perf_counter() - started, 1),
        },
    }
    meta_path.write_text(json.dumps(meta))
    shutil.rmtree(work / "gen", ignore_errors=True)
    log(f"belenios: generated {out} in {meta['generation_seconds']['total']} s")
    return out, {**meta, "cached": False}


def run_theirs_belenios(archive: Path) -> tuple[float, float, bool]:
    env = dict(os.environ, BELENIOS_USE_URANDOM="1")
    wall, cpu, proc = measured(
        lambda: subprocess.run(
            [bg.TOOL, "election", "verify", "--dir", str(archive)],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
    )
    return wall, cpu, proc.returncode == 0


def run_ours_belenios(archive: Path, workers: int) -> tuple[float, float, bool]:
    from plebiscite.interop.belenios import verify_foreign

    wall, cpu, report = measured(lambda: verify_foreign(archive, workers))
    return wall, cpu, report.ok


# Runs our verifier from another source tree (``--baseline``), timing itself.
BASELINE = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
kind, path, workers = sys.argv[2], sys.argv[3], int(sys.argv[4])
from pathlib import Path
def cpu():
    me, ch = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + ch.ru_utime + ch.ru_stime
if kind == "belenios":
    from plebiscite.interop.belenios import verify_foreign
    t, c = time.perf_counter(), cpu()
    ok = verify_foreign(Path(path), workers).ok
    out = {"wall": time.perf_counter() - t, "cpu": cpu() - c, "ok": ok}
else:
    from plebiscite.interop.electionguard import time_ballots
    c = cpu()
    out = time_ballots(Path(path), workers)
    out["cpu"] = cpu() - c
import plebiscite
out["module"] = plebiscite.__file__
json.dump(out, sys.stdout)
"""


def baseline_src(rev: str) -> Path:
    """``src/`` as it was at git revision ``rev``, extracted once under the cache."""
    git = ["git", "-C", str(ROOT)]
    full = subprocess.run(
        [*git, "rev-parse", "--short", rev], capture_output=True, text=True, check=True
    ).stdout.strip()
    out = CACHE / f"src-{full}"
    if not (out / "src" / "plebiscite").is_dir():
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        tar = subprocess.run([*git, "archive", full, "src"], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(out)], input=tar.stdout, check=True)
    return out / "src"


def run_baseline(src: Path, kind: str, path: Path, workers: int) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-c", BASELINE, str(src), kind, str(path), str(workers)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"baseline run failed: {proc.stderr[-3000:]}")
    out: dict[str, Any] = json.loads(proc.stdout)
    if not out["module"].startswith(str(src)):
        raise RuntimeError(f"baseline imported {out['module']}, not the tree under {src}")
    return out


def run_baseline_belenios(src: Path, archive: Path, workers: int) -> tuple[float, float, bool]:
    r = run_baseline(src, "belenios", archive, workers)
    return r["wall"], r["cpu"], r["ok"]


def run_cli_belenios(archive: Path, workers: int) -> tuple[float, float, bool]:
    cmd = [str(PLEBISCITE), "verify", str(archive), "--format", "belenios"]
    cmd += ["--workers", str(workers)]
    wall, cpu, proc = measured(
        lambda: subprocess.run(cmd, capture_output=True, text=True, check=False)
    )
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"plebiscite verify exit {proc.returncode}: {proc.stderr[-2000:]}")
    return wall, cpu, proc.returncode == 0


def bench_belenios(n: int, repeat: int, baseline: str | None = None) -> dict[str, Any]:
    archive, meta = belenios_archive(n)
    from plebiscite.interop.belenios import verify_foreign

    verify_foreign(archive, 1)  # warm: imports, page cache
    runners: dict[str, Callable[[], tuple[float, float, bool]]] = {
        "belenios-tool": lambda: run_theirs_belenios(archive),
        "ours, 1 worker": lambda: run_ours_belenios(archive, 1),
        "ours, 2 workers": lambda: run_ours_belenios(archive, 2),
        "ours, CLI, 2 workers": lambda: run_cli_belenios(archive, 2),
    }
    if baseline:
        src = baseline_src(baseline)
        for w in (1, 2):
            runners[f"{baseline}, {w} worker{'s' if w > 1 else ''}"] = partial(
                run_baseline_belenios, src, archive, w
            )
    runs: dict[str, list[tuple[float, float, bool]]] = {k: [] for k in runners}
    order = list(runners)
    for r in range(repeat):
        for name in order if r % 2 == 0 else reversed(order):
            wall, cpu, ok = runners[name]()
            runs[name].append((wall, cpu, ok))
            log(f"belenios: repeat {r + 1}/{repeat} {name}: {wall:.2f} s wall, "
                f"{cpu:.2f} s CPU, {'verified' if ok else 'FAILED'}")  # fmt: skip
    theirs = median([w for w, _, _ in runs["belenios-tool"]])
    rows = []
    for name, rs in runs.items():
        wall = median([w for w, _, _ in rs])
        cpu = median([c for _, c, _ in rs])
        rows.append({
            "verifier": name,
            "wall_s": round(wall, 3),
            "cpu_s": round(cpu, 3),
            "ms_per_ballot_wall": round(1000 * wall / n, 3),
            "cpu_ms_per_ballot": round(1000 * cpu / n, 3),
            "ratio_ours_over_theirs": round(wall / theirs, 3),
            "walls": [round(w, 3) for w, _, _ in rs],
            "verdicts": ["verified" if ok else "failed" for _, _, ok in rs],
        })  # fmt: skip
    verdicts = {ok for rs in runs.values() for _, _, ok in rs}
    return {
        "archive": str(archive),
        "archive_meta": meta,
        "ballots": n,
        "repeat": repeat,
        "rows": rows,
        "verdicts_agree": len(verdicts) == 1,
        "verdict": "verified" if verdicts == {True} else "disagree/failed",
        "target": "ours / theirs <= 0.25 (wall)",
        "baseline": baseline,
    }


# --- (2) ElectionGuard -------------------------------------------------------------------

# Runs in .venv-eg: scripts/eg_make_record.py with its manifest replaced by four yes/no
# referendum contests (1 of 2 each), everything else (key ceremony, encryption, casting,
# tally, compensated decryption, export) unchanged.
EG_MAKE_YESNO4 = r"""
import sys
sys.path.insert(0, sys.argv[1])
import eg_make_record as m
from datetime import datetime, timedelta, timezone
from electionguard.manifest import (BallotStyle, Candidate, ElectionType, GeopoliticalUnit,
    Manifest, ReferendumContestDescription, ReportingUnitType, SelectionDescription,
    SpecVersion, VoteVariationType)

def yes_no_manifest(contests):
    candidates, descriptions = [], []
    for index in range(contests):
        selections = []
        for order, name in enumerate(["yes", "no"]):
            cid = f"cand-{index}-{name}"
            candidates.append(Candidate(cid, m._text(name)))
            selections.append(SelectionDescription(f"contest-{index}-{name}", order, cid))
        descriptions.append(ReferendumContestDescription(
            f"contest-{index}", index, m.DISTRICT, VoteVariationType.one_of_m, 1, 1,
            f"Question {index}", selections, m._text(f"Question {index}?"), None))
    start = datetime(2024, 5, 1, 8, 0, tzinfo=timezone.utc)
    return Manifest(
        election_scope_id="plebiscite-bench-yesno4", spec_version=SpecVersion.EG1_0,
        type=ElectionType.special, start_date=start, end_date=start + timedelta(hours=12),
        geopolitical_units=[GeopoliticalUnit(m.DISTRICT, "District 1", ReportingUnitType.city)],
        parties=[], candidates=candidates, contests=descriptions,
        ballot_styles=[BallotStyle("style-1", [m.DISTRICT])],
        name=m._text("plebiscite bench: four yes/no questions"))

m.make_manifest = yes_no_manifest
sys.exit(m.main(sys.argv[2:]))
"""

# Runs in .venv-eg: the SDK's own per-ballot check over every submitted ballot.
EG_VERIFY = r"""
import json, logging, sys, time
from pathlib import Path
logging.getLogger("electionguard").setLevel(logging.ERROR)
from electionguard.ballot import SubmittedBallot
from electionguard.election import CiphertextElectionContext
from electionguard.serialize import from_file
rec = Path(sys.argv[1])
t0, c0 = time.perf_counter(), time.process_time()
ctx = from_file(CiphertextElectionContext, rec / "context.json")
paths = sorted((rec / "submitted_ballots").glob("*.json"))
ballots = [from_file(SubmittedBallot, p) for p in paths]
t1, c1 = time.perf_counter(), time.process_time()
valid = [b.is_valid_encryption(ctx.manifest_hash, ctx.elgamal_public_key,
                               ctx.crypto_extended_base_hash) for b in ballots]
t2, c2 = time.perf_counter(), time.process_time()
json.dump({"ballots": len(ballots), "valid": sum(valid), "load_wall": t1 - t0,
           "load_cpu": c1 - c0, "verify_wall": t2 - t1, "verify_cpu": c2 - c1}, sys.stdout)
"""


def eg_python() -> Path:
    out = subprocess.run(
        ["bash", str(ROOT / "scripts" / "eg-venv.sh")], capture_output=True, text=True, check=True
    )
    return Path(out.stdout.strip().splitlines()[-1])


def eg_record(py: Path, n: int, shape: str, seed: int = 1) -> tuple[Path, dict[str, Any]]:
    base = CACHE / f"eg-{shape}-{n}-s{seed}"
    rec, meta_path = base / "record", base / "meta.json"
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        log(f"electionguard: reusing {rec} ({n} ballots, {shape})")
        return rec, {**meta, "cached": True}
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    args = [str(rec), "--ballots", str(n), "--spoil", "0", "--contests", "4"]
    args += ["--seed", str(seed)]
    script = ROOT / "scripts" / "eg_make_record.py"
    if shape == "yesno4":
        cmd = [str(py), "-c", EG_MAKE_YESNO4, str(script.parent), *args]
    else:
        cmd = [str(py), str(script), *args]
    log(f"electionguard: generating {n} ballots ({shape}) with electionguard 1.4.0 ...")
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"eg_make_record failed: {proc.stderr[-3000:]}")
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    meta = {"ballots": n, "shape": shape, "generation_seconds": round(time.perf_counter() - t, 1),
            "sdk_timings": summary["timings"], "tally": summary["tally"]}  # fmt: skip
    meta_path.write_text(json.dumps(meta))
    log(f"electionguard: generated {rec} in {meta['generation_seconds']} s")
    return rec, {**meta, "cached": False}


def run_theirs_eg(py: Path, rec: Path) -> dict[str, Any]:
    proc = subprocess.run(
        [str(py), "-c", EG_VERIFY, str(rec)], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"SDK verification failed to run: {proc.stderr[-3000:]}")
    out: dict[str, Any] = json.loads(proc.stdout)
    return out


def run_ours_eg(rec: Path, workers: int) -> dict[str, Any]:
    from plebiscite.interop.electionguard import time_ballots

    c0 = cpu_now()
    out = time_ballots(rec, workers)
    return {**out, "cpu": cpu_now() - c0}


def run_ours_eg_exact(rec: Path, workers: int) -> dict[str, Any]:
    from plebiscite.crypto import batch as batching

    batching.set_enabled(False)  # worker processes fork with it
    try:
        return run_ours_eg(rec, workers)
    finally:
        batching.set_enabled(True)


def bench_eg(n: int, repeat: int, shape: str, baseline: str | None = None) -> dict[str, Any]:
    from plebiscite.interop.electionguard import verify_foreign

    py = eg_python()
    rec, meta = eg_record(py, n, shape)
    verify_foreign(rec, 1)  # warm: imports, page cache; verdict checked below
    sdk: list[dict[str, Any]] = []
    ours: dict[str, list[dict[str, Any]]] = {}
    steps: list[tuple[str, Callable[[], None]]] = [
        ("SDK is_valid_encryption", lambda: sdk.append(run_theirs_eg(py, rec))),
    ]

    def add(label: str, run: Callable[[], dict[str, Any]]) -> None:
        ours[label] = []
        steps.append((label, lambda: ours[label].append(run())))

    src = baseline_src(baseline) if baseline else None
    for w in (1, 2):
        each = f"{w} worker{'s' if w > 1 else ''}"
        add(f"ours, time_ballots, {each}", partial(run_ours_eg, rec, w))
        add(f"ours, exact (batching off), {each}", partial(run_ours_eg_exact, rec, w))
        if src is not None:
            add(f"{baseline}, {each}", partial(run_baseline, src, "eg", rec, w))
    for r in range(repeat):
        for name, step in steps if r % 2 == 0 else reversed(steps):
            t = time.perf_counter()
            step()
            log(f"electionguard: repeat {r + 1}/{repeat} {name}: "
                f"{time.perf_counter() - t:.2f} s")  # fmt: skip
    wall, cpu, report = measured(lambda: verify_foreign(rec, 2))
    count = int(sdk[0]["ballots"])
    sdk_valid = all(int(s["valid"]) == count for s in sdk)
    sdk_wall = median([s["verify_wall"] for s in sdk])
    sdk_cpu = median([s["verify_cpu"] for s in sdk])
    rows = [{
        "verifier": "electionguard 1.4.0 is_valid_encryption (1 process)",
        "ballots_per_s": round(count / sdk_wall, 2),
        "ms_per_ballot_wall": round(1000 * sdk_wall / count, 2),
        "cpu_ms_per_ballot": round(1000 * sdk_cpu / count, 2),
        "throughput_ratio_ours_over_sdk": 1.0,
        "walls": [round(s["verify_wall"], 3) for s in sdk],
        "sdk_load_ms_per_ballot": round(1000 * median([s["load_wall"] for s in sdk]) / count, 2),
    }]  # fmt: skip
    for label, rs in ours.items():
        wall_w = median([x["seconds"] for x in rs])
        cpu_w = median([x["cpu"] for x in rs])
        rows.append({
            "verifier": label,
            "ballots_per_s": round(count / wall_w, 2),
            "ms_per_ballot_wall": round(1000 * wall_w / count, 2),
            "cpu_ms_per_ballot": round(1000 * cpu_w / count, 2),
            "throughput_ratio_ours_over_sdk": round(sdk_wall / wall_w, 2),
            "walls": [x["seconds"] for x in rs],
        })  # fmt: skip
    one = ours["ours, time_ballots, 1 worker"]
    per_ballot = int(one[0]["selection_proofs_per_ballot"])
    return {
        "record": str(rec),
        "record_meta": meta,
        "ballots": count,
        "shape": shape,
        "selection_proofs_per_ballot": per_ballot,
        "repeat": repeat,
        "rows": rows,
        "cpu_ratio_sdk_over_ours_1w": round(sdk_cpu / median([x["cpu"] for x in one]), 2),
        "full_verify_2_workers": {
            "wall_s": round(wall, 2),
            "cpu_s": round(cpu, 2),
            "verdict": "verified" if report.ok else "failed",
            "failed": [c.id for c in report.failed],
        },
        "sdk_all_valid": sdk_valid,
        "verdicts_agree": sdk_valid == report.ok,
        "target": ">= 10x the SDK's per-ballot throughput",
        "baseline": baseline,
    }


# --- output -----------------------------------------------------------------------------


def table(res: dict[str, Any]) -> str:
    m = res["machine"]
    lines = [
        f"machine: {m['cpu']}, {m['cores']} cores, {m['os']}, Python {m['python']}, "
        f"gmpy2 {m['gmpy2']} / {m['gmp']}, {m['belenios_tool'] or 'no belenios-tool'}, "
        f"source {m['source']}, load {m['load_1min_at_start']} -> {res['load_1min_at_end']}",
    ]
    if "belenios" in res:
        b = res["belenios"]
        lines += [
            "",
            f"(1) Belenios archive, {b['ballots']} ballots, one yes/no question "
            f"(medians of {b['repeat']}; target ours/theirs <= 0.25)",
            f"{'verifier':<28}{'wall s':>9}{'CPU s':>9}{'ms/ballot':>11}"
            f"{'CPU ms/b':>10}{'ours/theirs':>13}  verdicts",
        ]
        for r in b["rows"]:
            lines.append(
                f"{r['verifier']:<28}{r['wall_s']:>9.2f}{r['cpu_s']:>9.2f}"
                f"{r['ms_per_ballot_wall']:>11.2f}{r['cpu_ms_per_ballot']:>10.2f}"
                f"{r['ratio_ours_over_theirs']:>13.3f}  {','.join(r['verdicts'])}"
            )
        lines.append(f"verdicts agree: {b['verdicts_agree']}")
    if "electionguard" in res:
        e = res["electionguard"]
        lines += [
            "",
            f"(2) ElectionGuard 1.4.0 record, {e['ballots']} ballots, shape {e['shape']} "
            f"({e['selection_proofs_per_ballot']} selection proofs per ballot; medians of "
            f"{e['repeat']}; target >= 10x)",
            f"{'verifier':<56}{'ballots/s':>10}{'ms/ballot':>11}{'CPU ms/b':>10}{'x SDK':>8}",
        ]
        for r in e["rows"]:
            lines.append(
                f"{r['verifier']:<56}{r['ballots_per_s']:>10.2f}{r['ms_per_ballot_wall']:>11.2f}"
                f"{r['cpu_ms_per_ballot']:>10.2f}{r['throughput_ratio_ours_over_sdk']:>8.2f}"
            )
        f = e["full_verify_2_workers"]
        lines += [
            f"SDK CPU per ballot / ours (1 worker): {e['cpu_ratio_sdk_over_ours_1w']}x; "
            f"SDK file loading (not in its figure): {e['rows'][0]['sdk_load_ms_per_ballot']} "
            "ms/ballot",
            f"full `verify --format electionguard`, 2 workers: {f['wall_s']} s, "
            f"{f['verdict']}; SDK: all ballots valid = {e['sdk_all_valid']}; "
            f"verdicts agree: {e['verdicts_agree']}",
        ]
    lines.append(f"\ntotal run time: {res['seconds']} s")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ballots", type=int, default=2000, help="Belenios ballots (2000)")
    ap.add_argument("--eg-ballots", type=int, default=32, help="ElectionGuard ballots (32)")
    ap.add_argument("--eg-shape", choices=["yesno4", "script"], default="yesno4")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", choices=["belenios", "electionguard"])
    ap.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    ap.add_argument(
        "--baseline",
        metavar="REV",
        help="also time our verifiers as at git revision REV (before/after in one run)",
    )
    args = ap.parse_args(argv)
    started = time.perf_counter()
    res: dict[str, Any] = {"machine": machine_facts(), "command": sys.argv}
    if args.only != "electionguard":
        if not bg.tool_available():
            raise SystemExit("belenios-tool not found on PATH")
        res["belenios"] = bench_belenios(args.ballots, args.repeat, args.baseline)
    if args.only != "belenios":
        res["electionguard"] = bench_eg(args.eg_ballots, args.repeat, args.eg_shape, args.baseline)
    res["load_1min_at_end"] = round(os.getloadavg()[0], 2)
    res["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(res, indent=2) if args.json else table(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
