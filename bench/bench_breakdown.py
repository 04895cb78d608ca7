"""Where the time goes (issue 6): the native ristretto255 library's primitives, the
verifier's CPU per ballot split by step, and a guardian's work on a large board.

A benchmark, not a timed test: it asserts nothing about speed. Records are simulated
once (ristretto255, one yes/no question, 10 regions) and cached under
/tmp/plebiscite-bench/ exactly as ``bench_scale.py`` does.

1. Library: ``native.msm`` per point for n random points and 253-bit scalars, and one
   decode, against libsodium's ``crypto_core_ristretto255_is_valid_point``; CPU time,
   medians of ``--repeat`` rounds.
2. Verifier: ``verify.ballots.check_lines`` over the ballot lines of a ``--ballots``
   record in one process, then each step on its own over the same lines: the strict
   parse (V01), the signature (V05), ``check_batch`` (V11, V13, V14) and the tally
   product (V17); CPU microseconds per ballot, medians of ``--repeat``.
3. Guardian: the checked view a guardian's decrypt step runs before decrypting
   (``verify.checked.check_board`` with V01-V17, the tally recomputed) on a
   ``--board-ballots`` record, with ``--workers`` processes, side by side with the whole
   verifier on the same record; wall seconds and this process's peak RSS (one run,
   first, so that the peak is its own).

    .venv/bin/python bench/bench_breakdown.py [--ballots 1000] [--board-ballots 100000] \
        [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import secrets
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_scale import record_for  # noqa: E402

from plebiscite.crypto import native  # noqa: E402
from plebiscite.crypto.group import Ristretto255, get_group  # noqa: E402


def median_us(fn: Callable[[], object], calls: int, repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        t = time.process_time()
        for _ in range(calls):
            fn()
        runs.append((time.process_time() - t) / calls * 1e6)
    return statistics.median(runs)


def library(repeat: int) -> dict[str, float]:
    g = get_group("ristretto255")
    assert isinstance(g, Ristretto255)
    out: dict[str, float] = {}
    for n in (16, 256, 1024, 4096):
        pts = [g.g_pow(g.random_scalar()).value for _ in range(n)]
        sc = [secrets.randbelow(g.q) for _ in range(n)]
        calls = max(1, 2048 // n)
        out[f"msm_us_per_point_n{n}"] = (
            median_us(lambda p=pts, s=sc: native.msm(p, s), calls, repeat) / n
        )
    p = g.g_pow(5).value
    lib = g._lib  # noqa: SLF001 (the libsodium binding, for the side-by-side figure)
    out["decode_native_us"] = median_us(lambda: native.is_valid(p), 5000, repeat)
    out["decode_libsodium_us"] = median_us(
        lambda: lib.crypto_core_ristretto255_is_valid_point(p), 5000, repeat
    )
    return out


def verifier(ballots: int, repeat: int) -> dict[str, float]:
    from plebiscite.record.entries import parse_entry
    from plebiscite.verify import ballots as vb
    from plebiscite.verify import checks, walk
    from plebiscite.verify.reader import read_record

    path, _ = record_for(ballots)
    captured: dict[str, Any] = {}
    original = walk.check_lines

    def capture(work: Any, batch: Any) -> Any:
        captured["work"] = work
        return original(work, batch)

    walk.check_lines = capture  # the verifier's own LineWork for this record
    try:
        checks.verify_record(read_record(path, stream=True), 1, None, None)
    finally:
        walk.check_lines = original
    work = captured["work"]
    g, m, ctx = vb._prepared(work)  # noqa: SLF001
    assert g is not None and m is not None and ctx is not None
    lines = (path / "entries.jsonl").read_bytes().split(b"\n")
    items = [(i, x) for i, x in enumerate(lines) if x.endswith(checks.BALLOT_TAIL)]
    batches = [items[i : i + checks.BATCH] for i in range(0, len(items), checks.BATCH)]
    parsed = [[(i, parse_entry(x)) for i, x in b] for b in batches]
    n = len(items)

    def per_ballot(fn: Callable[[], object]) -> float:
        return median_us(fn, 1, repeat) / n

    def signatures() -> None:
        for b, p in zip(batches, parsed, strict=True):
            for (_, raw), (_, e) in zip(b, p, strict=True):
                vb.line_signature_ok(e, raw, work.election_id)

    out = {
        "ballots": float(n),
        "check_lines_us": per_ballot(lambda: [vb.check_lines(work, b) for b in batches]),
        "parse_entry_us": per_ballot(lambda: [[parse_entry(x) for _, x in b] for b in batches]),
        "signature_us": per_ballot(signatures),
        "check_batch_us": per_ballot(
            lambda: [vb.check_batch(ctx, [(i, e.data) for i, e in p]) for p in parsed]
        ),
        "tally_product_us": per_ballot(
            lambda: [vb._multiply(g, m, [(i, e.data) for i, e in p], False) for p in parsed]  # noqa: SLF001
        ),
    }
    return out


def guardian(ballots: int, workers: int) -> dict[str, float]:
    """A guardian's decrypt step before it decrypts: the checked view of the board up to
    the tally (V01-V17, ``verify.checked.check_board``), side by side with the whole
    verifier over the same record (``verify_record``), each on ``workers`` processes."""
    from plebiscite.verify.checked import BEFORE_DECRYPTION, check_board
    from plebiscite.verify.checks import verify_record
    from plebiscite.verify.reader import read_record

    path, _ = record_for(ballots)
    t = time.perf_counter()
    board = check_board(read_record(path, stream=True), BEFORE_DECRYPTION, workers=workers)
    checked = time.perf_counter() - t
    if board.tally is None:
        raise RuntimeError("the checked view established no tally (a bug)")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t = time.perf_counter()
    report = verify_record(read_record(path, stream=True), workers=workers)
    verified = time.perf_counter() - t
    if not report.ok:
        raise RuntimeError("the simulated record does not verify (a bug)")
    return {
        "ballots": float(ballots),
        "workers": float(workers),
        "checked_view_s": checked,
        "verify_s": verified,
        "checked_over_verify": checked / verified,
        "peak_rss_mb": rss,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ballots", type=int, default=1000)
    ap.add_argument("--board-ballots", type=int, default=100000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2, help="processes for the guardian part")
    ap.add_argument("--json", action="store_true", help="one JSON object on stdout")
    a = ap.parse_args()
    if not native.available():
        sys.exit("bench_breakdown: the native library is not built (make setup)")
    load = os.getloadavg()[0]
    out = {
        "machine": f"{platform.processor() or platform.machine()}, Python "
        f"{platform.python_version()}, load {load:.2f}",
        "guardian": guardian(a.board_ballots, a.workers),  # first: its own peak RSS
        "library": library(a.repeat),
        "verifier": verifier(a.ballots, a.repeat),
    }
    if a.json:
        print(json.dumps(out, indent=1))
        return
    print(out["machine"])
    for section in ("guardian", "library", "verifier"):
        print(f"\n{section}")
        for k, v in out[section].items():
            print(f"  {k:<28}{v:>12.2f}")


if __name__ == "__main__":
    main()
