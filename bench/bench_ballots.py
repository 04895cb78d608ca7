"""Ballots per second: encryption (booth) and verification (verifier), per group and per
worker count, plus the primitive costs that explain them.

A benchmark, not a timed test: it asserts nothing about speed. It sets up a real
election context (guardian polynomials, joint key and context hash from ``crypto``
and ``record``), encrypts N ballots with ``election.booth.encrypt_ballot`` (one
process), then checks them with the verifier's own ``verify.ballots.check_batch``:
in-process for 1 worker, through a ``ProcessPoolExecutor`` with the batch size of
``verify.checks`` for W > 1, exactly as ``Verifier._ballot_findings`` does. Pool
start-up and shut-down are inside the verification wall time. Each figure is the
median of ``--repeat`` runs; worker counts are run side by side within each repeat
(order alternating), so drift on a shared machine hits them alike.

In modp-4096 ``check_batch`` verifies a batch's proofs and memberships together
(``crypto/batch.py``); ``--compare-exact`` also times every worker count with batching
turned off (``crypto.batch.set_enabled(False)``: each element and equation on its own,
as before), side by side in the same repeats: the before/after figure.

Human table on stdout (``--json`` for machine-readable figures), progress on stderr.

    .venv/bin/python bench/bench_ballots.py                 # defaults: a few minutes
    .venv/bin/python bench/bench_ballots.py --shape demo --groups ristretto255
    .venv/bin/python bench/bench_ballots.py --json > figures.json
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import json
import os
import platform
import random
import resource
import shlex
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from importlib import resources
from typing import Any

import gmpy2
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from plebiscite.crypto import batch as batching
from plebiscite.crypto import threshold
from plebiscite.crypto.batch import Claims
from plebiscite.crypto.elgamal import encrypt
from plebiscite.crypto.group import GROUP_NAMES, Element, Group, ModpGroup, get_group
from plebiscite.crypto.proofs import prove_range, range_claims, verify_range
from plebiscite.election.booth import EncryptedBallot, encrypt_ballot
from plebiscite.election.credentials import new_credential, public_credential
from plebiscite.record.entries import election_id_of, sign, signed_message
from plebiscite.record.manifest import Manifest, guardian_ids, parse_manifest
from plebiscite.record.protocol import TAG_OPTION, context_hash, option_bind
from plebiscite.verify.ballots import BallotContext, check_ballot_exact, check_batch
from plebiscite.verify.checks import BATCH

# Chosen so that the default run (three groups, workers 1 and 2, three repeats) takes a
# few minutes on a 2-core machine; multiples of 2 * BATCH keep the batches even.
DEFAULT_BALLOTS = {"ristretto255": 1024, "modp-4096": 256, "belenios-2048": 512}
SHAPES = ("yesno", "demo")
DEMO_REGION = "orkney"  # the demo region that asks both questions

# Group operations counted per ballot (outermost calls only) to model the ballot cost.
COUNTED_OPS = ("g_pow", "g_pow_secret", "pow", "pow_secret", "mul", "div", "decode_element")
EXPONENT_ARG = {"g_pow": 0, "g_pow_secret": 0, "pow": 1, "pow_secret": 1}
SMALL = 2**16
MODEL_ROWS = (
    "g_pow",
    "g_pow_small",
    "g_pow_secret",
    "g_pow_secret_small",
    "pow",
    "pow_table",
    "pow_small",
    "pow_secret",
    "pow_secret_small",
    "mul",
    "div",
    "decode_element",
    "decode_element_nocheck",
)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --- machine --------------------------------------------------------------------------


def machine_facts() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    sodium = None
    path = ctypes.util.find_library("sodium")
    if path:
        try:
            lib = ctypes.CDLL(path)
            lib.sodium_version_string.restype = ctypes.c_char_p
            sodium = lib.sodium_version_string().decode()
        except (OSError, AttributeError):
            sodium = None
    source = None
    with suppress(OSError, subprocess.SubprocessError):
        here = os.path.dirname(os.path.abspath(__file__))
        git = ["git", "-C", here]
        head = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            [*git, "status", "--porcelain", "--", "../src"], capture_output=True, text=True
        ).stdout.strip()
        source = head + (" + uncommitted changes in src/" if dirty else "")
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    load = None
    with suppress(OSError):
        load = round(os.getloadavg()[0], 2)
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "load_1min_at_start": load,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "gmpy2": gmpy2.version(),
        "gmp": gmpy2.mp_version(),
        "libsodium": sodium,
        "source": source,
    }


# --- election set-up -------------------------------------------------------------------


def demo_manifest(group: str) -> dict[str, Any]:
    """The built-in demo referendum (the one ``plebiscite demo`` runs), in ``group``."""
    text = resources.files("plebiscite.data").joinpath("demo-referendum.json").read_text()
    raw: dict[str, Any] = json.loads(text)
    return {**raw, "group": group}


def random_choices(rng: random.Random, manifest: Manifest, region: str) -> dict[str, list[str]]:
    """A valid answer to each question of the region; blank now and then where allowed."""
    out: dict[str, list[str]] = {}
    for q in manifest.region_questions(region):
        if q.blank and rng.random() < 0.1:
            out[q.id] = ["blank"]
        else:
            out[q.id] = rng.sample(list(q.options), rng.randint(max(q.min, 1), q.max))
    return out


def yesno_manifest(group: str) -> dict[str, Any]:
    """The issue-6 target shape: one yes/no question (min 1, max 1, no blank), one region."""
    return {
        "title": "Benchmark referendum: one yes/no question",
        "group": group,
        "questions": [
            {
                "id": "proposal",
                "text": "Do you approve the proposal?",
                "options": ["yes", "no"],
                "min": 1,
                "max": 1,
                "blank": False,
            }
        ],
        "regions": [{"id": "everywhere", "name": "Everywhere", "questions": ["proposal"]}],
        "opens": "2027-03-07T07:00:00Z",
        "closes": "2027-03-07T22:00:00Z",
        "guardians": {"count": 3, "quorum": 2},
    }


@dataclass
class Election:
    group: Group
    raw: dict[str, Any]
    manifest: Manifest
    region: str
    election_id: str
    context: bytes
    joint_key: Element

    def ballot_context(self) -> BallotContext:
        """A fresh context, as the verifier builds one (nothing cached, picklable)."""
        return BallotContext(self.group.name, self.raw, self.context.hex(), self.joint_key.hex())

    def slots(self) -> int:
        return sum(len(q.slots) for q in self.manifest.region_questions(self.region))


def make_election(group_name: str, shape: str) -> Election:
    group = get_group(group_name)
    if shape == "yesno":
        raw, region = yesno_manifest(group_name), "everywhere"
    else:
        raw, region = demo_manifest(group_name), DEMO_REGION
    manifest = parse_manifest(raw)
    eid = election_id_of({"manifest": raw, "board_key": "", "origin": "bench"})
    # What the key ceremony yields (see crypto.threshold): each guardian commits to a
    # random polynomial of degree quorum - 1; the joint key is the product of the
    # constant terms' commitments, and the context hash binds all of it.
    commitments = [
        threshold.commit(group, threshold.random_polynomial(group, manifest.quorum - 1))
        for _ in guardian_ids(manifest)
    ]
    jk = threshold.joint_key(group, commitments)
    ctx = context_hash(group, eid, manifest.quorum, commitments, jk)
    return Election(group, raw, manifest, region, eid, ctx, jk)


def make_voters(e: Election, n: int, seed: int) -> list[tuple[str, dict[str, list[str]]]]:
    """(public credential, choices) per voter; made before any timing starts."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        pub = public_credential(e.election_id, new_credential())
        out.append((pub, random_choices(rng, e.manifest, e.region)))
    return out


def encrypt_all(e: Election, voters: list[tuple[str, dict[str, list[str]]]]) -> list[Any]:
    return [
        encrypt_ballot(e.group, e.manifest, e.context, e.joint_key, e.region, ch, pub)
        for pub, ch in voters
    ]


# --- timing helpers --------------------------------------------------------------------


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def verify_ballots(
    e: Election, items: list[tuple[int, Any]], workers: int, exact: bool = False
) -> tuple[float, float]:
    """Check the ballots as ``Verifier._ballot_findings`` does; (wall s, CPU s incl. workers).

    For ``workers > 1`` the wall time includes starting and shutting down the pool.
    ``exact``: with batching turned off (the workers fork with the setting)."""
    batching.set_enabled(not exact)
    try:
        return _verify_ballots(e, items, workers)
    finally:
        batching.set_enabled(True)


def _verify_ballots(e: Election, items: list[tuple[int, Any]], workers: int) -> tuple[float, float]:
    bctx = e.ballot_context()
    batches = [items[k : k + BATCH] for k in range(0, len(items), BATCH)]
    if workers > 1 and len(batches) <= 1:
        log(f"note: {len(items)} ballots make one batch; checked in-process, as checks.py does")
    cpu0, child0 = time.process_time(), children_cpu()
    t0 = time.perf_counter()
    findings = []
    if workers == 1 or len(batches) <= 1:
        for b in batches:
            findings.extend(check_batch(bctx, b))
    else:
        with ProcessPoolExecutor(workers) as pool:
            futures = [pool.submit(check_batch, bctx, b) for b in batches]
            for f in futures:
                findings.extend(f.result())
    wall = time.perf_counter() - t0
    cpu = time.process_time() - cpu0 + children_cpu() - child0
    if findings:
        raise SystemExit(f"benchmark ballots failed verification: {findings[:3]}")
    return wall, cpu


def _spin(n: int) -> int:
    acc = 0
    for i in range(n):
        acc ^= i * i
    return acc


def parallel_probe(workers: int, repeat: int) -> float:
    """How much parallelism the machine gives right now: the time of ``workers`` pure-CPU
    tasks run one after the other, over their time on a warm pool of ``workers``
    processes. About ``workers`` on an idle machine, 1 when the other
    cores are busy with someone else's work."""
    if workers < 2:
        return 1.0
    t0 = time.perf_counter()
    _spin(100_000)
    n = max(100_000, int(100_000 * 0.3 / max(time.perf_counter() - t0, 1e-6)))  # ~0.3 s
    ratios = []
    with ProcessPoolExecutor(workers) as pool:  # warm: forked once, reused
        list(pool.map(_spin, [1] * workers))
        for _ in range(repeat):
            t0 = time.perf_counter()
            for _ in range(workers):
                _spin(n)
            serial = time.perf_counter() - t0
            t0 = time.perf_counter()
            list(pool.map(_spin, [n] * workers))
            ratios.append(serial / (time.perf_counter() - t0))
    return statistics.median(ratios)


def pool_startup(workers: int, repeat: int) -> float:
    """Median wall time to start a pool, run a no-op on it and shut it down."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        with ProcessPoolExecutor(workers) as pool:
            for f in [pool.submit(os.getpid) for _ in range(workers)]:
                f.result()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def time_op(fn: Callable[[], object], repeat: int, budget: float = 0.1) -> float:
    """Median CPU seconds per call over ``repeat`` rounds of about ``budget`` s each.

    CPU time of this process, not wall time: on a shared machine a descheduled
    process does not inflate it. The first call is left out (it may build a table)."""
    fn()
    t0 = time.process_time()
    fn()
    one = max(time.process_time() - t0, 1e-6)
    number = max(3, int(budget / one))
    rounds = []
    for _ in range(repeat):
        t0 = time.process_time()
        for _ in range(number):
            fn()
        rounds.append((time.process_time() - t0) / number)
    return statistics.median(rounds)


def primitives(e: Election, repeat: int) -> dict[str, float]:
    """Median CPU microseconds per primitive operation of the group.

    Builds the election key's fixed-base table first, as the verifier's BallotContext
    does (a no-op for ristretto255), so ``pow_table`` is the key's cost there."""
    g, key, ctx = e.group, e.joint_key, e.context
    g.precompute(key)
    x, y = g.random_scalar(), g.random_scalar()
    h = g.g_pow(y)
    encoded = h.to_bytes()
    r = g.random_scalar()
    ct = encrypt(g, key, 1, r)
    bind = option_bind("credential", e.region, "question", "yes")
    proof = prove_range(g, TAG_OPTION, ctx, key, ct, r, 1, [0, 1], bind)
    assert verify_range(g, TAG_OPTION, ctx, key, ct, proof, [0, 1], bind)

    def prove01() -> None:
        rr = g.random_scalar()
        prove_range(g, TAG_OPTION, ctx, key, encrypt(g, key, 1, rr), rr, 1, [0, 1], bind)

    many = [(ct, proof)]
    for _ in range(BATCH - 1):
        rr = g.random_scalar()
        c2 = encrypt(g, key, 1, rr)
        many.append((c2, prove_range(g, TAG_OPTION, ctx, key, c2, rr, 1, [0, 1], bind)))

    def batch01() -> None:
        """BATCH 0/1 proofs and their ciphertexts' memberships in one batch."""
        b = batching.make_batch(g, fixed=[key])
        for c2, pr in many:
            cl = Claims()
            cl.member(c2.alpha)
            cl.member(c2.beta)
            assert range_claims(g, TAG_OPTION, ctx, key, c2, pr, [0, 1], cl, bind)
            assert b.add(cl)
        assert b.check()

    ops: dict[str, Callable[[], object]] = {
        "g_pow": lambda: g.g_pow(x),
        "g_pow_small": lambda: g.g_pow(1),
        "g_pow_secret": lambda: g.g_pow_secret(x),
        "g_pow_secret_small": lambda: g.g_pow_secret(1),
        "pow": lambda: g.pow(h, x),
        "pow_table": lambda: g.pow(key, x),
        "pow_small": lambda: g.pow(h, 1),
        "pow_secret": lambda: g.pow_secret(h, x),
        "pow_secret_small": lambda: g.pow_secret(h, 1),
        "mul": lambda: g.mul(h, h),
        "div": lambda: g.div(h, h),
        "decode_element": lambda: g.decode_element(encoded),
        "decode_element_nocheck": lambda: g.decode_element(encoded, member_check=False),
        "verify_01_proof": lambda: verify_range(g, TAG_OPTION, ctx, key, ct, proof, [0, 1], bind),
        "encrypt_and_prove_01": prove01,
    }
    out = {name: time_op(fn, repeat) * 1e6 for name, fn in ops.items()}
    if batching.supports(g):
        # per proof, with its ciphertext's membership (the exact path: verify_01_proof
        # plus two decode_element)
        out["verify_01_proof_in_batch"] = time_op(batch01, repeat, 1.0) * 1e6 / BATCH
    if batching.supports(g) and isinstance(g, ModpGroup):
        out["jacobi_symbol"] = time_op(lambda: gmpy2.jacobi(h.value, g.p), repeat) * 1e6  # type: ignore[attr-defined]
    return out


def ed25519_verify_us(e: Election, ballot: EncryptedBallot, repeat: int) -> float:
    """One ballot signature check (verifier step V05, not part of check_batch)."""
    key = Ed25519PrivateKey.generate()
    sub = sign("ballot", ballot.data, e.election_id, key)
    msg = signed_message("ballot", e.election_id, sub.data)
    sig = key.sign(msg)
    pub = key.public_key()
    return time_op(lambda: pub.verify(sig, msg), repeat) * 1e6


def op_kind(g: Group, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """The primitive a call costs like: small exponents (0, 1, a question's max),
    fixed-base table hits (the modp groups' tables for g and the election key) and
    decodes without the subgroup test (proof commitments) are counted apart."""
    if name in EXPONENT_ARG and abs(args[EXPONENT_ARG[name]]) < SMALL:
        return name + "_small"
    if name == "pow" and args[0].value in getattr(g, "_tables", {}):
        return "pow_table"
    if name == "decode_element" and kwargs.get("member_check", True) is False:
        return "decode_element_nocheck"
    return name


@contextmanager
def counting(g: Group) -> Iterator[Counter[str]]:
    """Count the outermost calls of the group's operations (instance attributes shadow
    the class methods for the duration; removed afterwards)."""
    counts: Counter[str] = Counter()
    depth = [0]

    def wrap(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def inner(*args: Any, **kwargs: Any) -> Any:
            if depth[0] == 0:
                counts[op_kind(g, name, args, kwargs)] += 1
            depth[0] += 1
            try:
                return fn(*args, **kwargs)
            finally:
                depth[0] -= 1

        return inner

    for name in COUNTED_OPS:
        setattr(g, name, wrap(name, getattr(g, name)))
    try:
        yield counts
    finally:
        for name in COUNTED_OPS:
            delattr(g, name)


def op_counts(e: Election, voter: tuple[str, dict[str, list[str]]]) -> dict[str, dict[str, int]]:
    g = e.group
    with counting(g) as enc:
        ballot = encrypt_all(e, [voter])[0]
    bctx = e.ballot_context()
    _ = (bctx.group, bctx.manifest, bctx.joint_key)  # warm the caches, uncounted
    with counting(g) as ver:  # the exact path: a batch's work is not a count of these
        assert check_ballot_exact(bctx, 0, ballot.data) == []
    return {"encrypt": dict(enc), "verify": dict(ver)}


def model_ms(counts: dict[str, int], prims: dict[str, float]) -> float:
    return sum(n * prims[op] for op, n in counts.items()) / 1000


# --- the benchmark ---------------------------------------------------------------------


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def bench_group(
    name: str, shape: str, n: int, workers: list[int], repeat: int, seed: int, exact: bool
) -> dict[str, Any]:
    log(f"[{name}] setting up election ({shape}, {n} ballots)")
    e = make_election(name, shape)
    voters = make_voters(e, n, seed)
    # Encryption first: the booth never builds a table for the election key, so it is
    # timed before anything in this process does (the verifier's context does).
    enc_s: list[float] = []
    enc_cpu: list[float] = []
    sets: list[list[EncryptedBallot]] = []
    for rep in range(repeat):
        c0, t0 = time.process_time(), time.perf_counter()
        sets.append(encrypt_all(e, voters))
        enc_s.append(time.perf_counter() - t0)
        enc_cpu.append(time.process_time() - c0)
        log(f"[{name}] encryption run {rep + 1}/{repeat}: {n} ballots in {enc_s[-1]:.2f} s")
    counts = op_counts(e, voters[0])
    log(f"[{name}] primitives")
    prims = primitives(e, repeat)
    ver_s: dict[int, list[float]] = {w: [] for w in workers}
    ver_cpu: dict[int, list[float]] = {w: [] for w in workers}
    ex_s: dict[int, list[float]] = {w: [] for w in workers}
    ex_cpu: dict[int, list[float]] = {w: [] for w in workers}
    exact = exact and batching.supports(e.group)
    for rep, ballots in enumerate(sets):
        items = [(i, b.data) for i, b in enumerate(ballots)]
        runs = [(w, False) for w in workers] + ([(w, True) for w in workers] if exact else [])
        for w, ex in runs if rep % 2 == 0 else list(reversed(runs)):
            wall, cpu = verify_ballots(e, items, w, exact=ex)
            (ex_s if ex else ver_s)[w].append(wall)
            (ex_cpu if ex else ver_cpu)[w].append(cpu)
            how = "exact" if ex else "batched" if batching.supports(e.group) else ""
            log(f"[{name}] verification run {rep + 1}/{repeat}, {w} worker(s) {how}: {wall:.2f} s")
    startup = {w: pool_startup(w, repeat) for w in workers if w > 1}
    ed = ed25519_verify_us(e, sets[0][0], repeat)
    enc_rate = [n / t for t in enc_s]
    ver_rate = {w: [n / t for t in ts] for w, ts in ver_s.items()}
    base = workers[0]
    out: dict[str, Any] = {
        "group": name,
        "shape": shape,
        "region": e.region,
        "questions": len(e.manifest.region_questions(e.region)),
        "slots_per_ballot": e.slots(),
        "ballots": n,
        "batch": BATCH,
        "encrypt": {
            "ballots_per_s": median(enc_rate),
            "ms_per_ballot": median(enc_s) / n * 1000,
            "cpu_ms_per_ballot": median(enc_cpu) / n * 1000,
            "runs_ballots_per_s": enc_rate,
        },
        "verify": {
            str(w): {
                "ballots_per_s": median(ver_rate[w]),
                "cpu_ms_per_ballot": median(ver_cpu[w]) / n * 1000,
                # CPU seconds (this process and its workers) per wall second: how many
                # cores the run actually got; near W on an idle machine.
                "cores_used": median([c / t for c, t in zip(ver_cpu[w], ver_s[w], strict=True)]),
                "runs_ballots_per_s": ver_rate[w],
                f"ratio_to_{base}_worker": median(ver_rate[w]) / median(ver_rate[base]),
                "pool_startup_s": startup.get(w, 0.0),
            }
            for w in workers
        },
        "batched": batching.supports(e.group),
        "verify_exact": {
            str(w): {
                "ballots_per_s": median([n / t for t in ex_s[w]]),
                "cpu_ms_per_ballot": median(ex_cpu[w]) / n * 1000,
                "cores_used": median([c / t for c, t in zip(ex_cpu[w], ex_s[w], strict=True)]),
                "runs_ballots_per_s": [n / t for t in ex_s[w]],
                "batched_speedup": median([n / t for t in ver_s[w]])
                / median([n / t for t in ex_s[w]]),
            }
            for w in workers
            if ex_s[w]
        },
        "primitives_us": {**prims, "ed25519_verify_ballot_signature": ed},
        "ops_per_ballot": counts,
        "model_ms_per_ballot": {
            "encrypt": model_ms(counts["encrypt"], prims),
            "verify": model_ms(counts["verify"], prims),
        },
    }
    return out


def render(
    facts: dict[str, Any], command: str, results: list[dict[str, Any]], workers: list[int]
) -> str:
    lines = ["Machine"]
    for k, v in facts.items():
        lines.append(f"  {k:20} {v}")
    lines += ["", f"Command: {command}", ""]
    lines.append(
        "Ballots per second (median of runs; verification wall time includes pool start-up)"
    )
    head = ["group", "shape", "N", "encrypt/s"]
    head += [f"verify {w}w/s" for w in workers]
    head += [f"{w}w:{workers[0]}w" for w in workers[1:]]
    head += ["CPU ms/ballot: encrypt"] + [f"verify {w}w" for w in workers]
    head += [f"cores used {w}w" for w in workers]
    rows = [head]
    for r in results:
        v = r["verify"]
        row = [r["group"], r["shape"], str(r["ballots"]), f"{r['encrypt']['ballots_per_s']:.1f}"]
        row += [f"{v[str(w)]['ballots_per_s']:.1f}" for w in workers]
        row += [f"{v[str(w)][f'ratio_to_{workers[0]}_worker']:.2f}" for w in workers[1:]]
        row += [f"{r['encrypt']['cpu_ms_per_ballot']:.2f}"]
        row += [f"{v[str(w)]['cpu_ms_per_ballot']:.2f}" for w in workers]
        row += [f"{v[str(w)]['cores_used']:.2f}" for w in workers]
        rows.append(row)
    lines += table(rows)
    exact = [r for r in results if r.get("verify_exact")]
    if exact:
        lines += ["", "Batched against exact (batching off), same repeats, medians"]
        head = ["group", "shape", "N"]
        for w in workers:
            head += [f"exact {w}w/s", f"batched {w}w/s", f"x {w}w", f"exact CPU ms {w}w"]
        rows = [head]
        for r in exact:
            row = [r["group"], r["shape"], str(r["ballots"])]
            for w in workers:
                x, v = r["verify_exact"][str(w)], r["verify"][str(w)]
                row += [f"{x['ballots_per_s']:.1f}", f"{v['ballots_per_s']:.1f}"]
                row += [f"{x['batched_speedup']:.2f}", f"{x['cpu_ms_per_ballot']:.2f}"]
            rows.append(row)
        lines += table(rows)
    lines += ["", "Primitive costs (median microseconds per call)"]
    names = sorted({op for r in results for op in r["primitives_us"]}, key=_prim_order(results))
    rows = [["operation"] + [r["group"] for r in results]]
    for op in names:
        rows.append(
            [op]
            + [fmt_us(r["primitives_us"][op]) if op in r["primitives_us"] else "-" for r in results]
        )
    lines += table(rows)
    lines += [
        "",
        "Group operations per ballot, exact path (outermost calls), and the cost they model",
    ]
    rows = [["", "op"] + [r["group"] for r in results]]
    for phase in ("encrypt", "verify"):
        for op in MODEL_ROWS:
            cells = [str(r["ops_per_ballot"][phase].get(op, 0)) for r in results]
            if any(c != "0" for c in cells):
                rows.append([phase, op] + cells)
        rows.append(
            [phase, "modelled ms"] + [f"{r['model_ms_per_ballot'][phase]:.2f}" for r in results]
        )
        measured = [
            r["encrypt"]["cpu_ms_per_ballot"]
            if phase == "encrypt"
            else r["verify"][str(workers[0])]["cpu_ms_per_ballot"]
            for r in results
        ]
        rows.append([phase, "measured CPU ms"] + [f"{m:.2f}" for m in measured])
    lines += table(rows)
    startups = [
        f"{r['group']} {w}w {r['verify'][str(w)]['pool_startup_s'] * 1000:.0f} ms"
        for r in results
        for w in workers
        if w > 1
    ]
    if startups:
        lines += ["", "Pool start-up + shut-down (no-op task), median: " + ", ".join(startups)]
    return "\n".join(lines)


def _prim_order(results: list[dict[str, Any]]) -> Callable[[str], int]:
    seen: list[str] = []
    for r in results:
        seen += [op for op in r["primitives_us"] if op not in seen]
    return seen.index


def fmt_us(us: float) -> str:
    return f"{us:.1f}" if us < 100 else f"{us:.0f}"


def table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for k, r in enumerate(rows):
        cells = [
            c.ljust(w) if i < 2 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ]
        out.append("  " + "  ".join(cells).rstrip())
        if k == 0:
            out.append("  " + "  ".join("-" * w for w in widths))
    return out


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--groups", default=",".join(GROUP_NAMES), help="comma-separated groups")
    p.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    p.add_argument(
        "--ballots",
        type=int,
        default=None,
        help="ballots per group (default: "
        + ", ".join(f"{k} {v}" for k, v in DEFAULT_BALLOTS.items())
        + ")",
    )
    p.add_argument("--repeat", type=int, default=3, help="runs per figure; the median is reported")
    p.add_argument("--shape", choices=SHAPES, default="yesno", help="ballot shape")
    p.add_argument("--seed", type=int, default=1, help="seed for the voters' choices")
    p.add_argument("--json", action="store_true", help="machine-readable figures on stdout")
    p.add_argument(
        "--compare-exact",
        action="store_true",
        help="also verify with batching off (groups that batch), side by side: before/after",
    )
    a = p.parse_args(argv)
    a.groups = [x.strip() for x in a.groups.split(",") if x.strip()]
    for gname in a.groups:
        if gname not in GROUP_NAMES:
            p.error(f"unknown group {gname!r} (known: {', '.join(GROUP_NAMES)})")
    try:
        a.workers = [int(x) for x in a.workers.split(",") if x.strip()]
    except ValueError:
        p.error("--workers takes comma-separated integers")
    if not a.workers or min(a.workers) < 1:
        p.error("--workers needs positive integers")
    if a.repeat < 1 or (a.ballots is not None and a.ballots < 1):
        p.error("--repeat and --ballots must be positive")
    return a


def main(argv: list[str] | None = None) -> int:
    a = parse_args(argv)
    facts = machine_facts()
    top = max(a.workers)
    log(f"parallelism probe ({top} processes)")
    facts["parallel_probe_at_start"] = round(parallel_probe(top, a.repeat), 2)
    command = shlex.join([os.path.relpath(sys.executable), *sys.argv])
    t0 = time.perf_counter()
    results = []
    for gname in a.groups:
        n = a.ballots or DEFAULT_BALLOTS[gname]
        results.append(bench_group(gname, a.shape, n, a.workers, a.repeat, a.seed, a.compare_exact))
    facts["benchmark_wall_s"] = round(time.perf_counter() - t0, 1)
    facts["parallel_probe_at_end"] = round(parallel_probe(top, a.repeat), 2)
    with suppress(OSError):
        facts["load_1min_at_end"] = round(os.getloadavg()[0], 2)
    if a.json:
        doc = {"machine": facts, "command": command, "settings": vars(a), "results": results}
        print(json.dumps(doc, indent=2))
    else:
        print(render(facts, command, results, a.workers))
    log(f"done in {facts['benchmark_wall_s']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
