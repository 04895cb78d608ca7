"""The tamper suite (``make tamper``): every mutation of a demo record, verified in this
process with one worker.

Builds a demo referendum (the built-in one, ``--voters`` per region, with a revote, a
challenged ballot and two disputes) and a small modp-4096 one, generates every mutation
of ``tests/mutations.py``, verifies each, and prints to stdout, per mutation kind, how
many were generated and what became of them, and per check how many mutations it
caught: ``first`` counts a mutation for the first check that failed, ``any`` for every
check that failed. Exits 1, listing them, if any mutation passed, crashed the verifier,
was not caught by the check that must catch it, or broke the generator. Progress goes
to stderr.

    .venv/bin/python scripts/tamper.py                  # everything (minutes)
    .venv/bin/python scripts/tamper.py --limit 300      # a seeded sample, every kind
    .venv/bin/python scripts/tamper.py --kinds ballot-late,element-identity --json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import mutations as mu  # noqa: E402
from plebiscite.verify.checks import CHECKS  # noqa: E402

OUTCOMES = (mu.REJECTED, mu.UNREADABLE, mu.VALID, mu.UNCHANGED, *sorted(mu.BAD))


class Progress:
    """A one-line progress bar on stderr."""

    def __init__(self, total: int, quiet: bool) -> None:
        self.total, self.quiet = total, quiet
        self.start = self.last = time.monotonic()

    def __call__(self, done: int, label: str, bad: int) -> None:
        now = time.monotonic()
        if self.quiet or (now - self.last < 0.5 and done < self.total):
            return
        self.last = now
        elapsed = now - self.start
        eta = elapsed / done * (self.total - done) if done else 0.0
        width = 30
        fill = int(width * done / max(1, self.total))
        bar = "#" * fill + "." * (width - fill)
        sys.stderr.write(
            f"\r[{bar}] {done}/{self.total} {elapsed:5.0f}s eta {eta:4.0f}s"
            f" failures {bad}  {label[:32]:32}"
        )
        if done >= self.total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def build(work: Path, args: argparse.Namespace) -> list[tuple[mu.Base, list[mu.Mutation]]]:
    kinds = list(mu.KINDS) if not args.kinds else args.kinds.split(",")
    unknown = [k for k in kinds if k.split("@")[0] not in mu.KINDS]
    if unknown:
        raise SystemExit(f"tamper: unknown kinds {', '.join(unknown)} (see --list)")
    plain = [k for k in kinds if "@" not in k]
    modp = [k.split("@")[0] for k in kinds if k.endswith("@modp-4096")]
    if not args.kinds:
        modp = list(mu.SECOND_KINDS)
    out = []
    say = (lambda s: None) if args.quiet else (lambda s: print(s, file=sys.stderr))
    if plain:
        say(f"building the demo record ({args.voters} voters per region, seed {args.demo_seed})")
        base = mu.build_base(work / "base", voters=args.voters, seed=args.demo_seed)
        out.append((base, mu.generate(base, args.seed, plain)))
    if modp and not args.no_modp:
        say("building the modp-4096 demo record (1 voter per region)")
        mbase = mu.build_base(
            work / "base-modp", voters=1, seed=1, group="modp-4096", disputes=False
        )
        out.append((mbase, mu.generate(mbase, args.seed, modp)))
    return out


def run(args: argparse.Namespace) -> int:
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="plebiscite-tamper-") as tmp:
        work = Path(tmp)
        groups = build(work, args)
        if args.limit:
            total = sum(len(ms) for _, ms in groups)
            groups = [
                (b, mu.sample(ms, max(1, args.limit * len(ms) // max(1, total)), args.seed))
                for b, ms in groups
            ]
        total = sum(len(ms) for _, ms in groups)
        progress = Progress(total, args.quiet)
        kinds: dict[str, Counter[str]] = {}
        first: Counter[str] = Counter()
        any_: Counter[str] = Counter()
        failures: list[dict[str, Any]] = []
        valid: list[dict[str, Any]] = []
        done = 0
        for base, ms in groups:
            for m in ms:
                v = mu.judge(base, m, work / "mutated")
                done += 1
                row = kinds.setdefault(m.kind, Counter())
                row["generated"] += 1
                row[v.outcome] += 1
                if v.outcome in (mu.REJECTED, mu.MISSED) and v.failed:
                    first[v.failed[0]] += 1
                    any_.update(v.failed)
                item = {
                    "kind": m.kind,
                    "mutation": m.description,
                    "outcome": v.outcome,
                    "failed": list(v.failed),
                    "detail": v.detail,
                }
                if v.outcome in mu.BAD:
                    item["known_bug"] = mu.known_bug(m)
                if v.outcome in mu.BAD:
                    failures.append(item)
                    if args.keep:
                        keep = Path(args.keep) / f"{len(failures):04d}"
                        mu.reset(keep, mu.snapshot(work / "mutated"))
                        (keep / "MUTATION.txt").write_text(json.dumps(item, indent=1) + "\n")
                elif v.outcome == mu.VALID:
                    valid.append(item)
                progress(done, m.kind, len(failures))
        seconds = time.monotonic() - t0
    report = {
        "seed": args.seed,
        "demo": {"voters": args.voters, "seed": args.demo_seed},
        "mutations": total,
        "seconds": round(seconds, 1),
        "kinds": {k: dict(c) for k, c in kinds.items()},
        "checks": {c.id: {"first": first[c.id], "any": any_[c.id]} for c in CHECKS},
        "unreadable": sum(c[mu.UNREADABLE] for c in kinds.values()),
        "valid_by_design": valid,
        "failures": failures,
    }
    if args.json:
        json.dump(report, sys.stdout, indent=1)
        print()
    else:
        print_table(report, kinds, first, any_)
    return 1 if failures else 0


def print_table(
    report: dict[str, Any], kinds: dict[str, Counter[str]], first: Counter[str], any_: Counter[str]
) -> None:
    cols = ("generated", *OUTCOMES)
    heads = {mu.UNREADABLE: "exit 2", mu.VALID: "valid*"}
    print(f"{'kind':34}" + "".join(f"{heads.get(c, c):>10}" for c in cols))
    totals: Counter[str] = Counter()
    for k, c in kinds.items():
        print(f"{k:34}" + "".join(f"{c[x]:>10}" for x in cols))
        totals.update(c)
    print(f"{'total':34}" + "".join(f"{totals[x]:>10}" for x in cols))
    print()
    print("caught by check (first: the first check that failed; any: every check that failed)")
    print(f"{'check':8}{'first':>8}{'any':>8}  title")
    for spec in CHECKS:
        print(f"{spec.id:8}{first[spec.id]:>8}{any_[spec.id]:>8}  {spec.title}")
    print(f"{'exit 2':8}{report['unreadable']:>8}{'':>8}  unreadable record (RecordError)")
    print()
    print(f"* valid by design: {len(report['valid_by_design'])} mutations, by reason:")
    reasons = Counter(f"{v['kind']}: {v['detail']}" for v in report["valid_by_design"])
    for reason, n in sorted(reasons.items()):
        print(f"  {n:5}  {reason}")
    print()
    print(f"{report['mutations']} mutations in {report['seconds']} s")
    if report["failures"]:
        print(f"\nFAILED: {len(report['failures'])} mutations not rejected by a named check:")
        for f in report["failures"]:
            print(f"  [{f['outcome']}] {f['kind']}: {f['mutation']}\n      {f['detail']}")
            if f.get("known_bug"):
                print(f"      known verifier bug: {f['known_bug']}")
    else:
        print("every mutation was rejected by a named check, unreadable, or valid by design")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=0, help="seed of changed values and samples")
    ap.add_argument("--limit", type=int, default=0, help="a seeded sample of about N")
    ap.add_argument("--kinds", default="", help="comma-separated kinds (see --list)")
    ap.add_argument("--json", action="store_true", help="the report as JSON on stdout")
    ap.add_argument("--list", action="store_true", help="list the kinds and exit")
    ap.add_argument("--voters", type=int, default=2, help="demo voters per region")
    ap.add_argument("--demo-seed", type=int, default=6, help="seed of the demo's votes")
    ap.add_argument("--no-modp", action="store_true", help="skip the modp-4096 record")
    ap.add_argument("--keep", metavar="DIR", help="write each failing record to DIR")
    ap.add_argument("--quiet", action="store_true", help="no progress on stderr")
    args = ap.parse_args(argv)
    if args.list:
        for name, (about, _) in mu.KINDS.items():
            tag = " (also @modp-4096)" if name in mu.SECOND_KINDS else ""
            print(f"{name:30} {about}{tag}")
        return 0
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
