"""Verification at scale (issue 6, benchmark 3): throughput and peak memory of the whole
verifier against the number of ballots and workers, on local processes and on Dask.

For each ballot count (default 1,000, 10,000 and 100,000; add 1000000 by hand) it
simulates a record once with ``plebiscite simulate`` (ristretto255, one yes/no question,
10 regions, seed 1; cached under /tmp/plebiscite-bench/scale-N), then verifies it:

* ``local-1``, ``local-2``: ``verify_record`` with 1 and 2 local worker processes;
* ``dask-2``: the same on a local Dask cluster (``dask scheduler`` plus two ``dask
  worker --nworkers 1 --nthreads 1`` processes, started here once).

Each verification runs in a fresh interpreter (``python -c``) that reports its wall
time, CPU time, its own peak resident memory (``VmHWM``) and its children's largest
``ru_maxrss`` (the largest local worker). Meanwhile this script samples with psutil the
resident memory of the verifying process tree plus, for Dask, the Dask workers, and
keeps the peak of the sum ("all processes"). Modes run side by side in each repeat, in rotating
order; figures are medians of ``--repeat`` runs (default 3; ``--repeat-large``, default
1, for 100,000 ballots and more). The verdict must be "verified" every time.

    .venv/bin/python bench/bench_scale.py                     # 1k, 10k, 100k
    .venv/bin/python bench/bench_scale.py --ballots 1000000 --repeat 1 --modes local-2

Prints a Markdown table (``--json`` for JSON on stdout, ``--save FILE`` to keep it) and
writes PNG plots to docs/img/ (``--plots DIR``; needs matplotlib, ``--no-plots`` to
skip). ``--merge A.json B.json`` runs nothing: it merges saved results (a 1,000,000-ballot
run by hand with a default one), prints the table and plots them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import psutil  # installed with distributed

HERE = Path(__file__).resolve().parent
CACHE = Path("/tmp/plebiscite-bench")
REGIONS = 10
MODES = ("local-1", "local-2", "dask-2")

VERIFY = """
import json, resource, sys, time
from plebiscite.verify.checks import verify_record
from plebiscite.verify.reader import read_record
path, workers, scheduler = sys.argv[1], int(sys.argv[2]), sys.argv[3] or None
t0, c0 = time.perf_counter(), time.process_time()
report = verify_record(read_record(path, stream=True), workers, None, scheduler)
wall = time.perf_counter() - t0
kids = resource.getrusage(resource.RUSAGE_CHILDREN)
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over an exec (it would show the size of
# the process that started this one).
with open("/proc/self/status") as f:
    hwm = next(int(x.split()[1]) for x in f if x.startswith("VmHWM:"))
print(json.dumps({
    "wall": wall,
    "verdict": "verified" if report.ok else "failed",
    "failed": [c.id for c in report.failed],
    "ballots": report.summary["ballots"],
    "cpu_main": time.process_time() - c0,
    "cpu_children": kids.ru_utime + kids.ru_stime,
    "maxrss_main_mb": hwm / 1024,
    "maxrss_worker_mb": kids.ru_maxrss / 1024 if workers > 1 and not scheduler else None,
}))
"""


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def plebiscite() -> str:
    return str(Path(sys.executable).parent / "plebiscite")


def record_for(n: int) -> tuple[Path, float | None]:
    """The cached record of ``n`` ballots, simulated now if missing (seconds taken)."""
    path = CACHE / f"scale-{n}"
    if (path / "entries.jsonl").exists() and (path / "checkpoints.jsonl").exists():
        return path, None
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = CACHE / f"scale-{n}.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    log(f"simulating {n} ballots into {path} ...")
    t0 = time.perf_counter()
    cmd = [plebiscite(), "simulate", "--voters", str(n), "--regions", str(REGIONS)]
    subprocess.run([*cmd, "--seed", "1", "--record", str(tmp)], check=True)
    took = time.perf_counter() - t0
    tmp.rename(path)
    return path, took


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def dask_cluster(workers: int = 2) -> Iterator[tuple[str, list[psutil.Process]]]:
    """A local scheduler and ``workers`` one-thread worker processes."""
    dask = str(Path(sys.executable).parent / "dask")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    logs = CACHE / "dask-logs"
    logs.mkdir(parents=True, exist_ok=True)
    procs: list[subprocess.Popen[bytes]] = []

    def start(name: str, *args: str) -> None:
        with (logs / f"{name}.log").open("wb") as f:
            procs.append(subprocess.Popen([dask, *args], stdout=f, stderr=subprocess.STDOUT))

    try:
        start("scheduler", "scheduler", "--host", "127.0.0.1", "--port", str(port),
              "--no-dashboard")  # fmt: skip
        for k in range(workers):
            start(f"worker{k}", "worker", address, "--nworkers", "1", "--nthreads", "1",
                  "--no-dashboard", "--host", "127.0.0.1")  # fmt: skip
        import distributed

        dd: Any = distributed  # untyped

        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the Dask scheduler did not start") from None
                time.sleep(0.2)
        with dd.Client(address, timeout=30, set_as_default=False) as client:
            client.wait_for_workers(workers, timeout=60)
        yield address, [psutil.Process(p.pid) for p in procs[1:]]
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def _tree_cpu(procs: list[psutil.Process]) -> float:
    total = 0.0
    for p in procs:
        for q in [p, *p.children(recursive=True)]:
            with suppress(psutil.Error):
                t = q.cpu_times()
                total += t.user + t.system
    return total


def _tree_rss(procs: list[psutil.Process]) -> int:
    total = 0
    for p in procs:
        with suppress(psutil.Error):
            total += p.memory_info().rss
            for c in p.children(recursive=True):
                with suppress(psutil.Error):
                    total += c.memory_info().rss
    return total


def verify_once(path: Path, mode: str, scheduler: str, dask_procs: list[psutil.Process]) -> Any:
    workers = 1 if mode == "local-1" else 2
    sched = scheduler if mode.startswith("dask") else ""
    proc = subprocess.Popen(
        [sys.executable, "-c", VERIFY, str(path), str(workers), sched],
        stdout=subprocess.PIPE,
        text=True,
    )
    watched = [psutil.Process(proc.pid), *(dask_procs if sched else [])]
    base = _tree_rss(dask_procs) if sched else 0  # the idle Dask workers, for reference
    cpu0 = _tree_cpu(dask_procs) if sched else 0.0
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, _tree_rss(watched))
            stop.wait(0.1)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    out, _ = proc.communicate()
    stop.set()
    t.join()
    if proc.returncode != 0:
        raise RuntimeError(f"verification failed to run ({mode}, {path})")
    r: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    if r["verdict"] != "verified":
        raise RuntimeError(f"{path} did not verify ({mode}): {r['failed']}")
    if sched:  # the Dask workers' and nannies' CPU
        r["cpu_children"] = _tree_cpu(dask_procs) - cpu0
    r["peak_all_mb"] = peak / 2**20
    r["dask_idle_mb"] = base / 2**20
    r["rate"] = r["ballots"] / r["wall"]
    return r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ballots", default="1000,10000,100000")
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--repeat-large", type=int, default=1, help="runs for 100,000 ballots and more")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--save", help="also write the JSON results to this file")
    ap.add_argument("--plots", default=str(HERE.parent / "docs" / "img"))
    ap.add_argument("--no-plots", action="store_true")
    ap.add_argument(
        "--merge",
        nargs="+",
        metavar="FILE",
        help="no runs: merge results saved with --save (later files win), print, plot",
    )
    args = ap.parse_args()
    if args.merge:
        merged(args)
        return
    sizes = [int(x) for x in args.ballots.split(",")]
    modes = [m for m in args.modes.split(",") if m]
    for m in modes:
        if m not in MODES:
            ap.error(f"--modes: {m!r} is not one of {', '.join(MODES)}")

    sys.path.insert(0, str(HERE))
    from bench_ballots import machine_facts

    facts = machine_facts()
    simulated = {}
    records = {}
    for n in sizes:
        records[n], took = record_for(n)
        if took is not None:
            simulated[n] = took
    runs: dict[tuple[int, str], list[dict[str, Any]]] = {}
    started = time.perf_counter()
    with _maybe_dask("dask-2" in modes) as (scheduler, dask_procs):
        for rep in range(max(args.repeat, args.repeat_large)):
            for n in sizes:
                if rep >= (args.repeat if n < 100_000 else args.repeat_large):
                    continue
                order = modes[rep % len(modes) :] + modes[: rep % len(modes)]
                for mode in order:
                    r = verify_once(records[n], mode, scheduler, dask_procs)
                    runs.setdefault((n, mode), []).append(r)
                    log(
                        f"round {rep + 1}: {n:>8} ballots {mode:<8} {r['wall']:8.2f} s"
                        f" {r['rate']:7.0f}/s  main {r['maxrss_main_mb']:.0f} MB"
                        f"  all {r['peak_all_mb']:.0f} MB  load {os.getloadavg()[0]:.1f}"
                    )
    facts["load_1min_at_end"] = round(os.getloadavg()[0], 2)
    facts["bench_seconds"] = round(time.perf_counter() - started, 1)
    rows = summarise(runs, sizes, modes)
    out = {"machine": facts, "simulated_seconds": simulated, "rows": rows}
    if not args.no_plots:
        out["plots"] = plot(rows, sizes, modes, Path(args.plots))
    if args.save:
        Path(args.save).write_text(json.dumps(out, indent=1))
    if args.json:
        print(json.dumps(out, indent=1))
    else:
        print_table(out)


def merged(args: argparse.Namespace) -> None:
    rows: dict[tuple[int, str], dict[str, Any]] = {}
    out: dict[str, Any] = {"machine": {}, "simulated_seconds": {}, "rows": []}
    for name in args.merge:
        got = json.loads(Path(name).read_text())
        out["machine"] = got["machine"]
        out["simulated_seconds"].update(got["simulated_seconds"])
        for r in got["rows"]:
            rows[(r["ballots"], r["mode"])] = r
    order = {m: k for k, m in enumerate(MODES)}
    out["rows"] = [rows[k] for k in sorted(rows, key=lambda k: (k[0], order[k[1]]))]
    sizes = sorted({n for n, _ in rows})
    modes = [m for m in MODES if any(k[1] == m for k in rows)]
    if not args.no_plots:
        out["plots"] = plot(out["rows"], sizes, modes, Path(args.plots))
    if args.json:
        print(json.dumps(out, indent=1))
    else:
        print_table(out)


@contextmanager
def _maybe_dask(wanted: bool) -> Iterator[tuple[str, list[psutil.Process]]]:
    if not wanted:
        yield "", []
        return
    with dask_cluster() as got:
        yield got


def summarise(
    runs: dict[tuple[int, str], list[dict[str, Any]]], sizes: list[int], modes: list[str]
) -> list[dict[str, Any]]:
    med = statistics.median
    rows = []
    for n in sizes:
        base1 = runs.get((n, "local-1"))
        base2 = runs.get((n, "local-2"))
        for mode in modes:
            rs = runs[(n, mode)]
            row = {
                "ballots": n,
                "mode": mode,
                "runs": len(rs),
                "wall_s": [round(r["wall"], 2) for r in rs],
                "wall_median_s": round(med(r["wall"] for r in rs), 2),
                "ballots_per_s": round(med(r["rate"] for r in rs)),
                "cpu_ms_per_ballot": round(
                    med((r["cpu_main"] + r["cpu_children"]) / n * 1000 for r in rs), 3
                ),
                "main_cpu_ms_per_ballot": round(med(r["cpu_main"] / n * 1000 for r in rs), 3),
                "maxrss_main_mb": round(max(r["maxrss_main_mb"] for r in rs)),
                "maxrss_worker_mb": (
                    round(max(r["maxrss_worker_mb"] for r in rs))
                    if rs[0]["maxrss_worker_mb"] is not None
                    else None
                ),
                "peak_all_mb": round(max(r["peak_all_mb"] for r in rs)),
                "dask_idle_mb": round(max(r["dask_idle_mb"] for r in rs)),
            }
            if base1 and mode != "local-1":
                row["vs_local_1"] = round(row["ballots_per_s"] / med(r["rate"] for r in base1), 2)
            if base2 and mode.startswith("dask"):
                row["vs_local_2"] = round(row["ballots_per_s"] / med(r["rate"] for r in base2), 2)
            rows.append(row)
    return rows


def print_table(out: dict[str, Any]) -> None:
    m = out["machine"]
    print(f"machine: {m.get('cpu')}, {m.get('cores')} cores, Python {m.get('python')},"
          f" source {m.get('source')}, load {m.get('load_1min_at_start')} ->"
          f" {m.get('load_1min_at_end')}, {m.get('bench_seconds')} s")  # fmt: skip
    for n, s in out["simulated_seconds"].items():
        print(f"simulated {n} ballots in {s:.0f} s")
    print()
    print("| ballots | mode | wall s (median) | ballots/s | vs local-1 | vs local-2 |"
          " CPU ms/ballot (main) | peak RSS main MB | peak RSS worker MB |"
          " peak all processes MB |")  # fmt: skip
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in out["rows"]:
        print(
            f"| {r['ballots']:,} | {r['mode']} | {r['wall_median_s']} | {r['ballots_per_s']:,}"
            f" | {r.get('vs_local_1', '')} | {r.get('vs_local_2', '')}"
            f" | {r['cpu_ms_per_ballot']} ({r['main_cpu_ms_per_ballot']})"
            f" | {r['maxrss_main_mb']} | {r['maxrss_worker_mb'] or ''}"
            f" | {r['peak_all_mb']} |"
        )
    print()
    print("wall times per run:")
    for r in out["rows"]:
        print(f"  {r['ballots']:>8} {r['mode']:<8} {r['wall_s']}")
    for p in out.get("plots", []):
        print(f"plot: {p}")


def plot(rows: list[dict[str, Any]], sizes: list[int], modes: list[str], outdir: Path) -> list[str]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("matplotlib is not installed: no plots (.venv/bin/pip install matplotlib)")
        return []
    outdir.mkdir(parents=True, exist_ok=True)
    written = []
    by = {(r["ballots"], r["mode"]): r for r in rows}

    def series(key: str, mode: str) -> tuple[list[int], list[float]]:
        have = [n for n in sizes if (n, mode) in by]
        return have, [by[(n, mode)][key] for n in have]

    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for mode in modes:
        ax.plot(*series("ballots_per_s", mode), marker="o", label=mode)
    ax.axhline(1500, color="grey", linestyle="--", linewidth=1, label="target (2 cores)")
    ax.set_xscale("log")
    ax.set_xlabel("ballots in the record")
    ax.set_ylabel("ballots verified per second")
    ax.set_title("Whole verification, ristretto255, one yes/no question")
    ax.set_ylim(bottom=0)
    ax.legend()
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    p = outdir / "verify-scale-throughput.png"
    fig.savefig(p, dpi=100)
    plt.close(fig)
    written.append(str(p))

    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for mode in modes:
        ax.plot(*series("maxrss_main_mb", mode), marker="o", label=f"{mode}: main process")
        ax.plot(*series("peak_all_mb", mode), marker="s", linestyle=":",
                label=f"{mode}: all processes")  # fmt: skip
    ax.set_xscale("log")
    ax.set_xlabel("ballots in the record")
    ax.set_ylabel("peak resident memory (MB)")
    ax.set_title("Peak memory of the verification")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=7)
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    p = outdir / "verify-scale-memory.png"
    fig.savefig(p, dpi=100)
    plt.close(fig)
    written.append(str(p))
    return written


if __name__ == "__main__":
    main()
