"""Generate Belenios 2.0 elections with belenios-tool (a peer, not a reference) and tamper
with their archives.

Everything here drives ``belenios-tool`` through its 2.0 command line (the flow of the
tool's guide and its ``demo.sh`` / ``demo-threshold.sh``): credentials, trustee keys
(plain or threshold), ``make-election``, ``archive init``, ballots and revotes,
``EndBallots``, the encrypted tally, partial decryptions and the result. The archive
re-hashing used by the tampering tests is written here on purpose, independently of
``plebiscite.interop``, so a bug there cannot hide itself.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TOOL = "belenios-tool"
GROUP = "BELENIOS-2048"


def tool_available() -> bool:
    return shutil.which(TOOL) is not None


def run_tool(cwd: Path, *args: str, stdin: str | None = None) -> str:
    env = dict(os.environ, BELENIOS_USE_URANDOM="1")
    proc = subprocess.run(
        [TOOL, *args],
        cwd=cwd,
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{TOOL} {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout


def tool_verify(archive: Path) -> tuple[bool, str]:
    """belenios-tool's verdict on an archive directory: (accepted, its stderr)."""
    env = dict(os.environ, BELENIOS_USE_URANDOM="1")
    proc = subprocess.run(
        [TOOL, "election", "verify", "--dir", str(archive)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    return proc.returncode == 0, proc.stderr


@dataclass
class Question:
    answers: int
    min: int = 0
    max: int = 1
    blank: bool = False

    def to_json(self, k: int) -> dict[str, Any]:
        return {
            "answers": [f"Answer {k}.{i + 1}" for i in range(self.answers)],
            "blank": self.blank,
            "min": self.min,
            "max": self.max,
            "question": f"Question {k}?",
        }


@dataclass
class Spec:
    """One election: questions, trustees, voters (weights) and the ballots cast, in order.

    ``votes`` lists (voter index, choices) where choices holds per question the
    0/1 vector (with the leading blank flag when the question allows blank).
    ``repeat`` lists indexes into ``votes`` whose exact ballot is cast again later.
    """

    questions: list[Question]
    votes: list[tuple[int, list[list[int]]]]
    voters: int = 3
    singles: int = 1
    threshold: tuple[int, int] | None = None  # (trustees, threshold)
    decrypting: list[int] | None = None  # Pedersen trustees that decrypt (1-based)
    weights: list[int] | None = None
    repeat: list[int] = field(default_factory=list)
    tally: bool = True


@dataclass
class Generated:
    directory: Path  # holds exactly the .bel file
    uuid: str
    spec: Spec
    expected: list[list[int]]  # the result as belenios-tool computed it


def _expected(spec: Spec) -> list[list[int]]:
    last: dict[int, list[list[int]]] = {}
    for voter, choices in spec.votes:
        last[voter] = choices
    weights = spec.weights or [1] * spec.voters
    out = [[0] * (q.answers + (1 if q.blank else 0)) for q in spec.questions]
    for voter, choices in last.items():
        for qi, row in enumerate(choices):
            for ai, v in enumerate(row):
                out[qi][ai] += v * weights[voter]
    return out


def generate(spec: Spec, work: Path, out: Path) -> Generated:
    """Run the election in ``work`` and copy its archive alone into ``out``."""
    work.mkdir(parents=True, exist_ok=True)
    uuid = run_tool(work, "setup", "generate-token").strip()
    g = ["--group", GROUP]
    if spec.weights:
        lines = [f"voter{i}@example.org,voter{i},{w}" for i, w in enumerate(spec.weights)]
        (work / "voters.txt").write_text("\n".join(lines) + "\n")
        run_tool(work, "setup", "generate-credentials", "--uuid", uuid, *g, "--file", "voters.txt")
    else:
        run_tool(
            work, "setup", "generate-credentials", "--uuid", uuid, *g, "--count", str(spec.voters)
        )
    (pub,) = work.glob("*.pubcreds")
    pub.rename(work / "public_creds.json")
    (priv,) = work.glob("*.privcreds")
    privcreds: dict[str, str] = {}
    for line in priv.read_text().splitlines():
        ident, cred = line.split(" ", 1)
        privcreds[ident] = cred
    # the ids are the lines of voters.txt, or 1..n
    if spec.weights:
        creds = [privcreds[line] for line in lines]
    else:
        creds = [privcreds[k] for k in sorted(privcreds, key=int)]  # "1".. or "01"..

    if spec.threshold:
        n, t = spec.threshold
        tdir = work / "threshold"
        tdir.mkdir()
        for _ in range(n):
            run_tool(tdir, "setup", "generate-trustee-key-threshold", *g, "--step", "1")
        certs = sorted(tdir.glob("*.cert"))
        (tdir / "certs.jsons").write_text("".join(c.read_text() for c in certs))
        tk = ["setup", "generate-trustee-key-threshold", *g, "--certs", "certs.jsons"]
        run_tool(tdir, *tk, "--step", "2")
        keys = sorted(tdir.glob("*.key"))
        polys = "".join(
            run_tool(tdir, *tk, "--key", k.name, "--step", "3", "--threshold", str(t)) for k in keys
        )
        (tdir / "polynomials.jsons").write_text(polys)
        run_tool(tdir, *tk, "--step", "4", "--polynomials", "polynomials.jsons")
        voutputs = ""
        for k in keys:
            vin = (tdir / (k.stem + ".vinput")).read_text()
            voutputs += run_tool(tdir, *tk, "--key", k.name, "--step", "5", stdin=vin)
        threshold_json = run_tool(
            tdir, *tk, "--step", "6", "--polynomials", "polynomials.jsons", stdin=voutputs
        )
        (work / "threshold.json").write_text(threshold_json)
        # the decryption keys' order in threshold.json is the certificates' order
        cert_order = [json.loads(c.read_text()) for c in certs]
        tparams = json.loads(threshold_json)
        order = [cert_order.index(c) for c in tparams["certs"]]
        tkeys = [keys[i] for i in order]
    else:
        tkeys = []
    for _ in range(spec.singles):
        run_tool(work, "setup", "generate-trustee-key", *g)
    privkeys = sorted(work.glob("*.privkey"))
    (work / "public_keys.jsons").write_text(
        "".join(p.with_suffix(".pubkey").read_text() for p in privkeys)
    )
    run_tool(work, "setup", "make-trustees")
    template = {
        "description": "generated by the plebiscite interop tests",
        "name": "interop test",
        "questions": [q.to_json(k + 1) for k, q in enumerate(spec.questions)],
        "administrator": "tests",
        "credential_authority": "tests",
    }
    (work / "template.json").write_text(json.dumps(template))
    run_tool(work, "setup", "make-election", "--uuid", uuid, *g, "--template", "template.json")
    trustees = json.loads((work / "trustees.json").read_text())
    run_tool(work, "archive", "init")
    for name in ("election.json", "trustees.json", "public_creds.json", "threshold.json"):
        (work / name).unlink(missing_ok=True)

    ballots: list[str] = []
    for voter, choices in spec.votes:
        (work / "cred.txt").write_text(creds[voter] + "\n")
        (work / "choices.json").write_text(json.dumps(choices))
        b = run_tool(
            work,
            "election", "generate-ballot", "--privcred", "cred.txt", "--ballot", "choices.json",
        )  # fmt: skip
        run_tool(work, "archive", "add-event", "--type=Ballot", stdin=b)
        ballots.append(b)
    for k in spec.repeat:
        run_tool(work, "archive", "add-event", "--type=Ballot", stdin=ballots[k])
    spec_votes = list(spec.votes) + [spec.votes[k] for k in spec.repeat]
    if spec.tally:
        run_tool(work, "archive", "add-event", "--type=EndBallots")
        et = run_tool(work, "election", "compute-encrypted-tally")
        run_tool(work, "archive", "add-event", "--type=EncryptedTally", stdin=et)
        owner = 0
        by_key = {
            json.loads(p.with_suffix(".pubkey").read_text())["public_key"]: p for p in privkeys
        }
        for kind in trustees:
            if kind[0] == "Single":
                owner += 1
                key = by_key[kind[1]["public_key"]]
                pd = run_tool(
                    work, "election", "decrypt", "--privkey", str(key), "--trustee-id", str(owner)
                )
                run_tool(work, "archive", "add-event", "--type=PartialDecryption", stdin=pd)
            else:
                base = owner
                owner += len(kind[1]["verification_keys"])
                chosen = spec.decrypting or list(range(1, len(tkeys) + 1))
                for z in chosen:
                    k = tkeys[z - 1]
                    pd = run_tool(
                        work,
                        "election", "decrypt-threshold",
                        "--key", str(k), "--decryption-key", str(k.with_suffix(".dkey")),
                        "--trustee-id", str(base + z),
                    )  # fmt: skip
                    run_tool(work, "archive", "add-event", "--type=PartialDecryption", stdin=pd)
        res = run_tool(work, "election", "compute-result")
        run_tool(work, "archive", "add-event", "--type=Result", stdin=res)
        expected = json.loads(res.splitlines()[0])["result"]
        expected = [[int(x) for x in row] for row in expected]
        assert expected == _expected(Spec(**{**spec.__dict__, "votes": spec_votes}))
    else:
        expected = []
    out.mkdir(parents=True, exist_ok=True)
    shutil.copy(work / f"{uuid}.bel", out / f"{uuid}.bel")
    return Generated(out, uuid, spec, expected)


# --- reading, tampering and re-hashing archives (written independently) ---------------


@dataclass
class Record:
    name: str
    body: bytes

    @property
    def is_event(self) -> bool:
        return self.name.endswith(".event.json")


def read_records(bel: Path) -> tuple[Record, list[Record]]:
    """The BELENIOS header record and the data/event records, in file order."""
    raw = bel.read_bytes()
    pos, out = 0, []
    while pos + 512 <= len(raw):
        block = raw[pos : pos + 512]
        if block == bytes(512):
            break
        name = block[:100].split(b"\0", 1)[0].decode()
        size = int(block[124:135].decode(), 8)
        body = raw[pos + 512 : pos + 512 + size]
        out.append(Record(name, body))
        pos += 512 + (size + 511) // 512 * 512
    return out[0], out[1:]


def _tar_record(name: str, body: bytes, mtime: int) -> bytes:
    h = bytearray(512)
    h[0 : len(name)] = name.encode()
    h[100:107] = b"0000644"
    h[108:115] = b"0000000"
    h[116:123] = b"0000000"
    h[124:135] = b"%011o" % len(body)
    h[136:147] = b"%011o" % mtime
    h[148:156] = b" " * 8
    h[156:157] = b"0"
    h[148:156] = b"%06o\0 " % sum(h)
    pad = (-len(body)) % 512
    return bytes(h) + body + bytes(pad)


def write_records(bel: Path, header: Record, records: list[Record]) -> None:
    mtime = int(json.loads(header.body)["timestamp"])
    out = _tar_record(header.name, header.body, mtime)
    for r in records:
        out += _tar_record(r.name, r.body, mtime)
    bel.write_bytes(out)


def _event_bytes(ev: dict[str, Any]) -> bytes:
    keys = [k for k in ("parent", "height", "type", "payload") if k in ev]
    return json.dumps({k: ev[k] for k in keys}, separators=(",", ":")).encode()


def rehash(header: Record, records: list[Record]) -> list[Record]:
    """Recompute every record's name from its contents, replace references to changed
    hashes in later records, and re-chain the events (parent = hash of the previous
    event), so that only the cryptography can reveal a change."""
    renamed: dict[str, str] = {}
    out: list[Record] = []
    prev_event: str | None = None
    for r in records:
        body = r.body
        if r.is_event:
            ev = json.loads(body)
            if "payload" in ev:
                ev["payload"] = renamed.get(ev["payload"], ev["payload"])
            if prev_event is None:
                ev.pop("parent", None)
            else:
                ev["parent"] = prev_event
            body = _event_bytes(ev)
        else:
            text = body.decode()
            for old, new in renamed.items():
                text = text.replace(old, new)
            body = text.encode()
        old_hash = r.name.split(".", 1)[0]
        new_hash = hashlib.sha256(body).hexdigest()
        if new_hash != old_hash:
            renamed[old_hash] = new_hash
        else:
            renamed.pop(old_hash, None)  # an unchanged later copy (an identical revote)
        if r.is_event:
            prev_event = new_hash
        out.append(Record(f"{new_hash}.{r.name.split('.', 1)[1]}", body))
    return out


def bel_of(directory: Path) -> Path:
    (bel,) = directory.glob("*.bel")
    return bel


def tamper(src: Path, dst: Path, change: Any) -> Path:
    """Copy the archive in ``src`` to ``dst`` with ``change(records)`` applied (it edits
    record bodies in place), re-hashed and re-chained."""
    dst.mkdir(parents=True, exist_ok=True)
    bel = bel_of(src)
    header, records = read_records(bel)
    change(records)
    write_records(dst / bel.name, header, rehash(header, records))
    return dst


def bump_number(text: str, key: str, nth: int = 0) -> str:
    """Add 1 to the nth decimal string value of ``key`` in a JSON text."""
    matches = list(re.finditer(rf'"{key}":"(\d+)"', text))
    m = matches[nth]
    return text[: m.start(1)] + str(int(m.group(1)) + 1) + text[m.end(1) :]


def timed(fn: Any, *args: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t0, out


def bench_compare(archive: Path, workers: int | None = None) -> tuple[float, float]:
    """Wall time of our verifier and of ``belenios-tool election verify`` on the same
    archive (one run each, same machine): (our seconds, belenios-tool seconds)."""
    from plebiscite.interop.belenios import verify_foreign

    ours, _ = timed(verify_foreign, Path(archive), workers)
    theirs, _ = timed(tool_verify, Path(archive))
    return ours, theirs


def generate_setup_only_nh(work: Path, out: Path) -> Path:
    """An election with one non-homomorphic (mixnet) question, set up only (its archive
    holds the Setup event): enough to show such questions are refused."""
    work.mkdir(parents=True, exist_ok=True)
    g = ["--group", "RFC-3526-2048"]
    uuid = run_tool(work, "setup", "generate-token").strip()
    run_tool(work, "setup", "generate-credentials", "--uuid", uuid, *g, "--count", "2")
    (pub,) = work.glob("*.pubcreds")
    pub.rename(work / "public_creds.json")
    run_tool(work, "setup", "generate-trustee-key", *g)
    (work / "public_keys.jsons").write_text(
        "".join(p.read_text() for p in sorted(work.glob("*.pubkey")))
    )
    run_tool(work, "setup", "make-trustees")
    template = {
        "description": "mixnet",
        "name": "mixnet",
        "questions": [
            {"type": "NonHomomorphic", "value": {"answers": ["A", "B"], "question": "Rank?"}}
        ],
        "administrator": "tests",
        "credential_authority": "tests",
    }
    (work / "template.json").write_text(json.dumps(template))
    run_tool(work, "setup", "make-election", "--uuid", uuid, *g, "--template", "template.json")
    run_tool(work, "archive", "init")
    out.mkdir(parents=True, exist_ok=True)
    shutil.copy(work / f"{uuid}.bel", out / f"{uuid}.bel")
    return out
