"""The tamper suite's generator: ways of changing a published record, each of which the
verifier must reject with a named check (or refuse to read, exit 2).

A :class:`Mutation` has a kind, a description and a function that changes a copy of the
base record in a folder. :func:`generate` lists every mutation of a base record,
:func:`sample` picks a seeded sample with every kind represented, and :func:`judge`
applies one mutation and runs the verifier in this process with one worker.
``scripts/tamper.py`` (``make tamper``) runs them all; ``tests/test_tamper_suite.py``
runs a sample.

Who re-signs a change (the *level*, named in each description) decides which checks
can catch it:

- ``raw``: bytes changed, nothing re-signed. The board's checkpoints (V02) or the
  witnesses' cosignatures (V22) must catch it.
- ``witnessed``: the board re-signs its checkpoints over the changed entries (and
  restates its own entries that name an index), but the witnesses are honest: their
  cosignatures are kept. V22 must catch it: the cosigned checkpoints are no longer
  the record's. This is what bounds what only the organiser vouches for, such as entry
  times and which entries there are.
- ``board``: the board re-signs, and a witness quorum colludes and cosigns the new
  close and final checkpoints. Only the other parties' signatures (V05) and the
  cryptography can catch it.
- ``owner``: as ``board``, and the party that vouches for the changed entry (guardian,
  credential authority, voter, observer; the board for its own entries) signs the
  changed data too. Only the cryptography and the protocol's rules can catch it.
- ``parties``: as ``board``, for moved entries: every party restates the indices its
  entries name (close, tally, decryption shares, result).

Some changes are legitimately valid at the ``board`` and ``owner`` levels, because only
their signer vouches for them (a dispute's text, a voter roll, an abstainer's listed
credential, the order of independent submissions, ...). Such a mutation carries the
reason in ``valid``: if the record still verifies it is counted as "valid by design",
never as caught and never silently as passed.
"""

from __future__ import annotations

import copy
import dataclasses
import random
import re
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import tamperlib as tl
from plebiscite.board.checkpoint import Checkpoint
from plebiscite.board.cosign import Cosignature
from plebiscite.crypto.group import Group, GroupError, ModpGroup, Ristretto255
from plebiscite.election.demo import DemoOutcome, run_demo
from plebiscite.record.canonical import canonical_bytes, loads
from plebiscite.record.entries import ENTRY_TYPES, Entry, format_time, key_to_b64, sign
from plebiscite.verify.checks import verify_record
from plebiscite.verify.reader import CHECKPOINTS, COSIGNATURES, ENTRIES, RecordError, read_record
from plebiscite.verify.report import Report

FILES = (ENTRIES, CHECKPOINTS, COSIGNATURES)
Files = dict[str, bytes | None]  # file name -> content (None: the file is absent)
JPath = tuple[str | int, ...]

RAW, WITNESSED, BOARD, PARTIES = "raw", "witnessed", "board", "parties"
LEVELS = {
    RAW: "nothing re-signed",
    WITNESSED: "checkpoints re-signed by the board, the witnesses' cosignatures kept",
    BOARD: "checkpoints re-signed by the board and re-cosigned by a colluding witness quorum",
}
BOARD_TYPES = frozenset(t for t, who in ENTRY_TYPES.items() if who == "organiser")


# --- the base record ----------------------------------------------------------------


@dataclass
class Base:
    """A finished referendum's record and every key that made it."""

    outcome: DemoOutcome
    files: dict[str, bytes]
    entries: list[Entry]
    keys: dict[str, Ed25519PrivateKey]  # base64 public key -> private key, every party
    witness_ids: dict[str, str]  # base64 public key -> observer id
    label: str = ""  # appended to kind names ("@modp-4096") for a second base record

    @property
    def group(self) -> Group:
        return tl.group(self.outcome)

    @property
    def election_id(self) -> str:
        return tl.election_id(self.outcome)

    @property
    def board(self) -> Ed25519PrivateKey:
        return tl.board_key(self.outcome)

    @property
    def witnesses(self) -> dict[str, Ed25519PrivateKey]:
        return tl.witness_keys(self.outcome)

    def lines(self, name: str) -> list[bytes]:
        return self.files[name].split(b"\n")[:-1]

    @property
    def results(self) -> Any:
        """The counts of the record's result entry (what the verifier reports)."""
        return next(e.data["counts"] for e in self.entries if e.type == "result")

    def index_of(self, type_: str) -> int:
        return next(i for i, e in enumerate(self.entries) if e.type == type_)

    def party(self, i: int) -> str:
        """Who vouches for entry ``i`` (for descriptions)."""
        e = self.entries[i]
        if e.signer is None:
            return "nobody"
        if e.type in BOARD_TYPES:
            return "the board"
        if e.type == "dispute":
            who = self.witness_ids.get(e.signer)
            return f"observer {who}" if who else "the voter"
        return {
            "credential_list": "the credential authority",
            "ballot": "the voter",
        }.get(e.type, f"guardian {e.data.get('guardian')}")

    def owner_resign(self, i: int, data: dict[str, Any], time: str | None = None) -> Entry:
        """Entry ``i`` with ``data``, signed by the party that signed it."""
        e = self.entries[i]
        key = self.keys[e.signer] if e.signer is not None else None
        eid = "" if e.type == "referendum" else self.election_id
        return sign(e.type, data, eid, key).at(time or e.time)


def build_base(
    folder: Path, voters: int = 2, seed: int = 6, group: str | None = None, disputes: bool = True
) -> Base:
    """Run the demo referendum (``voters`` per region, seeded) into ``folder``; with
    ``disputes``, a voter and an observer then post a dispute each (the demo has none),
    so that every party's entries are in the record."""
    from plebiscite.election.credentials import credential_key, public_credential
    from plebiscite.election.demo import _witness_all

    folder = Path(folder)
    out = run_demo(folder / "data", folder / "record", voters=voters, seed=seed, group=group)
    org = out.organiser
    eid = org.election_id
    if disputes:
        ballot = next(e for e in org.entries() if e.type == "ballot")
        voter = tl.voter_key(out, ballot.data["credential"])
        region = ballot.data["region"]
        claim = {"region": region, "about": "check", "receipt": None, "check": "V13"}
        org.accept(sign("dispute", {**claim, "evidence": "my ballot's proof"}, eid, voter))
        observer, okey = sorted(out.observer_keys.items())[0]
        note = {"region": None, "about": "other", "receipt": None, "check": None}
        org.accept(sign("dispute", {**note, "evidence": f"{observer}: queue"}, eid, okey))
        _witness_all(org, out.observer_keys, folder / "data")
        org.publish(folder / "record")
    org.close_store()
    keys: dict[str, Ed25519PrivateKey] = {key_to_b64(org.key): org.key}
    for gd in out.guardians:
        keys[key_to_b64(gd.signing_key)] = gd.signing_key
    if out.authority_key is not None:
        keys[key_to_b64(out.authority_key)] = out.authority_key
    for creds in out.credentials.values():
        for c in creds:
            keys[public_credential(eid, c)] = credential_key(eid, c)
    witness_ids = {}
    for oid, k in out.observer_keys.items():
        keys[key_to_b64(k)] = k
        witness_ids[key_to_b64(k)] = oid
    files = {name: (out.record / name).read_bytes() for name in FILES}
    label = "" if group in (None, "ristretto255") else "@" + group
    entries = tl.load_entries(out.record)
    return Base(out, files, entries, keys, witness_ids, label)


# --- mutations and verdicts ---------------------------------------------------------


@dataclass(frozen=True)
class Mutation:
    kind: str
    description: str
    make: Callable[[Path], None]  # changes the copy of the base record in this folder
    catch: frozenset[str] = frozenset()  # at least one of these checks must fail
    valid: str | None = None  # why the changed record may legitimately still verify
    earlier: bool = False  # valid only as an earlier stage: no results, or the same ones


# Outcomes: the first four are fine, the last four fail the suite.
REJECTED, UNREADABLE, VALID, UNCHANGED = "rejected", "unreadable", "valid", "unchanged"
PASSED, MISSED, CRASHED, ERROR = "passed", "missed", "crashed", "error"
BAD = frozenset({PASSED, MISSED, CRASHED, ERROR})


@dataclass(frozen=True)
class Verdict:
    outcome: str
    failed: tuple[str, ...] = ()  # failed checks, in order
    detail: str = ""


def reset(folder: Path, files: Files) -> None:
    """Make ``folder`` hold exactly ``files``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        path = folder / name
        content = files.get(name)
        if content is None:
            path.unlink(missing_ok=True)
        else:
            path.write_bytes(content)


def snapshot(folder: Path) -> Files:
    return {n: (folder / n).read_bytes() if (folder / n).exists() else None for n in FILES}


def judge(base: Base, m: Mutation, folder: Path) -> Verdict:
    """Apply ``m`` to a copy of the base record in ``folder`` and verify it in-process
    with one worker."""
    reset(folder, dict(base.files))
    try:
        m.make(folder)
    except Exception as exc:  # the generator's own bug: must not pass unnoticed
        return Verdict(ERROR, detail=f"generator: {_last_frame(exc)}")
    if snapshot(folder) == base.files:
        return Verdict(UNCHANGED)
    try:
        raw = read_record(folder)
    except RecordError as exc:
        return Verdict(UNREADABLE, detail=str(exc))
    try:
        report = verify_record(raw, workers=1)
    except Exception as exc:
        return Verdict(CRASHED, detail=_last_frame(exc))
    return classify(m, report, base.results)


def classify(m: Mutation, report: Report, results: Any = None) -> Verdict:
    """The verdict on a mutated record's report (``results``: the base record's)."""
    failed = tuple(c.id for c in report.failed)
    if not failed:
        if m.valid and not (m.earlier and report.results not in (None, results)):
            return Verdict(VALID, detail=m.valid)
        return Verdict(PASSED, detail="the record still verifies")
    first = report.failed[0]
    detail = f"{first.id}: {first.details[0] if first.details else ''}"
    if m.catch and not m.catch & set(failed):
        need = ", ".join(sorted(m.catch))
        return Verdict(MISSED, failed, f"expected {need} to fail; {detail}")
    return Verdict(REJECTED, failed, detail)


def _last_frame(exc: BaseException) -> str:
    tb = traceback.extract_tb(exc.__traceback__)
    where = f" at {Path(tb[-1].filename).name}:{tb[-1].lineno}" if tb else ""
    return f"{type(exc).__name__}: {exc}{where}"


# --- helpers over JSON --------------------------------------------------------------


def walk(value: Any, path: JPath = ()) -> Iterator[tuple[JPath, Any]]:
    """Every node of a JSON value, containers first, with its path."""
    yield path, value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from walk(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from walk(v, (*path, i))


def fmt(path: JPath) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(top)"


def get(value: Any, path: JPath) -> Any:
    for p in path:
        value = value[p]
    return value


def put(value: Any, path: JPath, new: Any) -> Any:
    """A deep copy of ``value`` with the node at ``path`` set to ``new``."""
    out = copy.deepcopy(value)
    get(out, path[:-1])[path[-1]] = new
    return out


def delete(value: Any, path: JPath) -> Any:
    out = copy.deepcopy(value)
    del get(out, path[:-1])[path[-1]]
    return out


def is_leaf(v: Any) -> bool:
    return not isinstance(v, dict | list)


HEX = "0123456789abcdef"


def changed(value: Any, rng: random.Random) -> Any:
    """Another value of the same JSON type."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + rng.choice([1, -1])
    if isinstance(value, float):
        return value / 2 if value else 0.5
    if value is None:
        return 0
    assert isinstance(value, str)
    if not value:
        return "x"
    i = rng.randrange(len(value))
    alphabet = HEX if all(c in HEX for c in value) else "ABCxyz+/=-0"
    new = rng.choice([c for c in alphabet if c != value[i]])
    return value[:i] + new + value[i + 1 :]


def retyped(value: Any, rng: random.Random) -> Any:
    """A value of another JSON type."""
    if isinstance(value, bool):
        options: list[Any] = [int(value), str(value).lower(), None]
    elif isinstance(value, int):
        options = [str(value), None, value != 0, [value]]
    elif isinstance(value, float):
        options = [str(value), None, 0]
    elif value is None:
        options = ["", 0, False, {}]
    else:
        options = [0, None, [value], {}, len(value)]
    return rng.choice(options)


def rng_for(seed: int, *where: object) -> random.Random:
    return random.Random("/".join(map(str, (seed, *where))))


# --- writing a changed record -------------------------------------------------------

Line = Entry | bytes


def save(base: Base, folder: Path, lines: Sequence[Line], level: str) -> None:
    """Write the entries; re-sign the checkpoints unless ``raw``; have the witnesses
    cosign anew unless ``raw`` or ``witnessed``."""
    tl.write_entries(folder, lines)
    if level == RAW:
        return
    cps = tl.resign_checkpoints(folder, base.board)
    if level != WITNESSED:
        tl.recosign(folder, tl.entry_bytes(lines), cps, base.witnesses)


def restate(base: Base, entries: list[Entry], parties: bool) -> list[Entry]:
    """After entries moved: the board's entries that name an index (close, tally,
    result) restated and re-signed by the board, and with ``parties`` the guardians'
    decryption shares too."""
    out = list(entries)
    for i, e, d in tl.index_restatements(out):
        if (e.type in BOARD_TYPES or parties) and e.signer in base.keys:
            out[i] = sign(e.type, d, base.election_id, base.keys[e.signer]).at(e.time)
    return out


def set_lines(name: str, lines: Sequence[bytes]) -> Callable[[Path], None]:
    def make(folder: Path) -> None:
        (folder / name).write_bytes(b"".join(x + b"\n" for x in lines))

    return make


# --- kinds --------------------------------------------------------------------------

Generator = Callable[[Base, int], Iterator[Mutation]]
KINDS: dict[str, tuple[str, Generator]] = {}


def kind(name: str, about: str) -> Callable[[Generator], Generator]:
    def register(fn: Generator) -> Generator:
        KINDS[name] = (about, fn)
        return fn

    return register


def _json_lines(base: Base) -> Iterator[tuple[str, int, Any]]:
    for name in FILES:
        for n, line in enumerate(base.lines(name)):
            yield name, n, loads(line)


# What must catch a raw change: the board's checkpoints commit to the entries' bytes (V02,
# or V03 past the last checkpoint); its signature to each checkpoint (V02), whose place is
# fixed by the cosignatures naming it (V22) and the entries it must cover (V03); and each
# witness's signature to its cosignature (V22).
RAW_CATCH = {
    ENTRIES: frozenset({"V02", "V03"}),
    CHECKPOINTS: frozenset({"V02", "V03", "V22"}),
    COSIGNATURES: frozenset({"V22"}),
}


def _free_statement(base: Base, i: int, path: JPath, change: str = "value") -> str | None:
    """Why a ``change`` ("value", "type", "delete", "add") at ``path`` of entry ``i``'s
    data, re-signed by its signer, may legitimately verify: only that signer vouches for
    it and no check can."""
    e = base.entries[i]
    if e.type == "voter_roll" and change == "delete" and len(path) == 2:
        return "a voter roll entry may name only some regions (the organiser's statement)"
    if change not in ("value", "type"):
        return None
    if e.type == "voter_roll":
        return "the voter roll is the organiser's own statement (forensics compare it)"
    if e.type == "dispute":
        return "a dispute is its signer's statement; the verifier checks its form and signer"
    if e.type == "observer_accreditation" and path[-1] in ("name", "kind", "jurisdiction"):
        return "an accredited observer's name, kind and jurisdiction are the board's word"
    if e.type == "guardian_shares" and path[-1] in ("ephemeral", "ciphertext"):
        return "encrypted shares are opaque to the verifier (V08 checks their shape)"
    if e.type == "guardian_key" and path == ("encryption_key",):
        return "a guardian's X25519 key only serves share encryption (V07 checks its shape)"
    if e.type == "credential_list" and len(path) == 2 and path[0] == "credentials":
        cred = e.data["credentials"][path[1]]
        used = {x.data.get("credential") for x in base.entries if x.type == "ballot"}
        used |= {x.signer for x in base.entries if x.type == "dispute"}
        if cred not in used:
            return "the authority may list any abstainer's credential (V10 checks the form)"
    return None


def _leaf_mutations(
    base: Base, seed: int, name: str, pick: Callable[[JPath, Any], bool], change: str
) -> Iterator[Mutation]:
    """One mutation per JSON node chosen by ``pick``: entry data re-signed by its owner
    (and the board's checkpoints and the witnesses' cosignatures made anew), the entry
    envelope, checkpoints and cosignatures raw."""
    for fname, n, obj in _json_lines(base):
        for path, value in walk(obj):
            if not pick(path, value):
                continue
            rng = rng_for(seed, name, fname, n, fmt(path))
            yield _leaf(base, name, fname, n, obj, path, value, rng, change)


def _leaf(
    base: Base,
    name: str,
    fname: str,
    n: int,
    obj: Any,
    path: JPath,
    value: Any,
    rng: random.Random,
    change: str,
) -> Mutation:
    if change == "value":
        new, what = changed(value, rng), "changed"
    elif change == "type":
        new, what = retyped(value, rng), "of another type"
    elif change == "delete":
        new, what = None, "deleted"
    else:  # add: an unknown key in this object
        key = rng.choice(["x", "extra", "aaa", "zzz", "data2"])
        path, new, what = (*path, key), rng.choice([0, "", None, {}]), "added"
    new_obj = delete(obj, path) if change == "delete" else put(obj, path, new)
    where = f"{fname} line {n}"
    if fname == ENTRIES and path[:1] == ("data",) and len(path) > 1:
        sub = path[1:]
        e = base.entries[n]
        valid = _free_statement(base, n, sub, change)

        def make_owned(folder: Path) -> None:
            lines: list[Line] = list(base.lines(ENTRIES))
            lines[n] = base.owner_resign(n, new_obj["data"])
            save(base, folder, lines, BOARD)

        desc = (
            f"{where} ({e.type}) {fmt(path)} {what} ({new!r:.40}); re-signed by"
            f" {base.party(n)}, {LEVELS[BOARD]}"
        )
        return Mutation(name, desc, make_owned, valid=valid)
    if fname == ENTRIES:
        where += f" ({base.entries[n].type})"
    line = canonical_bytes(new_obj)
    lines = list(base.lines(fname))
    lines[n] = line
    desc = f"{where} {fmt(path)} {what} ({new!r:.40}); {LEVELS[RAW]}"
    return Mutation(name, desc, set_lines(fname, lines), RAW_CATCH[fname])


@kind("leaf-value", "every JSON leaf changed to another value of its type")
def _leaf_value(base: Base, seed: int) -> Iterator[Mutation]:
    yield from _leaf_mutations(base, seed, "leaf-value", lambda p, v: is_leaf(v), "value")


@kind("leaf-type", "every JSON leaf replaced by a value of another type")
def _leaf_type(base: Base, seed: int) -> Iterator[Mutation]:
    yield from _leaf_mutations(base, seed, "leaf-type", lambda p, v: is_leaf(v), "type")


@kind("key-deleted", "every key of every JSON object deleted")
def _key_deleted(base: Base, seed: int) -> Iterator[Mutation]:
    yield from _leaf_mutations(
        base, seed, "key-deleted", lambda p, v: bool(p) and isinstance(p[-1], str), "delete"
    )


@kind("key-added", "an unknown key added to every JSON object")
def _key_added(base: Base, seed: int) -> Iterator[Mutation]:
    yield from _leaf_mutations(base, seed, "key-added", lambda p, v: isinstance(v, dict), "add")


@kind(
    "list-items",
    "in every list of entry data, the first and the last item dropped, the first"
    " duplicated, the first two swapped; re-signed by the owner",
)
def _list_items(base: Base, seed: int) -> Iterator[Mutation]:
    for n, e in enumerate(base.entries):
        for path, value in walk(e.data):
            if not isinstance(value, list) or not value:
                continue
            ops = [("first item dropped", value[1:]), ("first item duplicated", value[:1] + value)]
            if len(value) > 1:
                ops += [("last item dropped", value[:-1])]
                ops += [("first two items swapped", [value[1], value[0], *value[2:]])]
            for what, new in ops:
                if new == value:
                    continue
                m = owner_change(base, "list-items", n, path, new, what)
                if what.endswith("swapped") and (e.type, path) in UNORDERED:
                    m = dataclasses.replace(m, valid=UNORDERED[e.type, path])
                yield m


# Lists whose order the protocol leaves open (record-format.md section 9).
UNORDERED = {
    ("result", ("guardians",)): "the decrypting guardians are a set: their order is free",
    ("guardian_shares", ("shares",)): "a guardian's shares, one per receiver, in any order",
}


@kind(
    "board-resigned",
    "every value vouched for by a voter, guardian, the authority or an observer changed;"
    " the entry re-signed by the board only (V05 must catch it)",
)
def _board_resigned(base: Base, seed: int) -> Iterator[Mutation]:
    k = 0
    for n, e in enumerate(base.entries):
        if e.signer is None or e.type in BOARD_TYPES:
            continue
        for path, value in walk(e.data):
            if not is_leaf(value):
                continue
            new = changed(value, rng_for(seed, "board-resigned", n, fmt(path)))
            data = put(e.data, path, new)
            keep, k = k % 2 == 1, k + 1  # every other one keeps the owner's stale signature

            def make(folder: Path, n: int = n, data: Any = data, keep: bool = keep) -> None:
                lines: list[Line] = list(base.lines(ENTRIES))
                old = base.entries[n]
                if keep:
                    lines[n] = dataclasses.replace(old, data=data)
                else:
                    lines[n] = sign(old.type, data, base.election_id, base.board).at(old.time)
                save(base, folder, lines, BOARD)

            how = "the owner's signature kept" if keep else "signed by the board's key"
            desc = (
                f"entries.jsonl line {n} ({e.type}) data.{fmt(path)} changed ({new!r:.40});"
                f" {how}; {LEVELS[BOARD]}"
            )
            yield Mutation("board-resigned", desc, make, frozenset({"V05"}))


@kind("int-out-of-range", "every integer in entry data set to -1, 0 or 2^53-1, re-signed")
def _int_out_of_range(base: Base, seed: int) -> Iterator[Mutation]:
    for n, e in enumerate(base.entries):
        for path, value in walk(e.data):
            if isinstance(value, bool) or not isinstance(value, int):
                continue
            for new in (-1, 0, 2**53 - 1):
                if new == value:
                    continue
                m = owner_change(base, "int-out-of-range", n, path, new, str(new))
                valid = _free_statement(base, n, path) if new > 0 else None
                yield dataclasses.replace(m, valid=valid)


@kind(
    "int-as-bool",
    "every integer 0 or 1 in entry data replaced by false or true (equal in Python, not"
    " in JSON), re-signed",
)
def _int_as_bool(base: Base, seed: int) -> Iterator[Mutation]:
    for n, e in enumerate(base.entries):
        for path, value in walk(e.data):
            if isinstance(value, bool) or value not in (0, 1):
                continue
            yield owner_change(base, "int-as-bool", n, path, bool(value), str(bool(value)))


# --- group elements and scalars -----------------------------------------------------

ELEMENT_KEYS = frozenset({"alpha", "beta", "share", "verification_key", "joint_key"})
COMMITMENT_KEYS = frozenset({"commitment", "a", "b"})
SCALAR_KEYS = frozenset({"c", "s", "response"})
CRYPTO_TYPES = frozenset(
    {
        "guardian_key",
        "guardian_ready",
        "election_context",
        "ballot",
        "challenged_ballot",
        "tally",
        "decryption_share",
    }
)


def positions(base: Base, role: str, distinct: bool) -> Iterator[tuple[int, JPath, str]]:
    """(entry, path, hex) of every group element (``role`` "element") or scalar
    ("scalar") in the record; with ``distinct``, only the first of each (entry type,
    path with list indices and region/question/slot names blurred)."""
    size = 2 * (base.group.element_bytes if role == "element" else 32)
    seen: set[tuple[str, ...]] = set()
    for n, e in enumerate(base.entries):
        if e.type not in CRYPTO_TYPES:
            continue
        for path, value in walk(e.data):
            if not isinstance(value, str) or len(value) != size or not path:
                continue
            last = path[-1]
            parent = path[-2] if len(path) > 1 else None
            if role == "element":
                ok = last in ELEMENT_KEYS | COMMITMENT_KEYS or parent == "commitments"
            else:
                ok = last in SCALAR_KEYS or parent == "nonces"
            if not ok:
                continue
            if distinct:
                shape = (e.type, *(p if isinstance(p, str) and p in _FIELDS else "*" for p in path))
                if shape in seen:
                    continue
                seen.add(shape)
            yield n, path, value


_FIELDS = ELEMENT_KEYS | COMMITMENT_KEYS | SCALAR_KEYS | {"proof", "proofs", "commitments"}
_FIELDS |= {"answers", "choices", "ciphertexts", "nonces", "shares", "regions"}


def _not_a_point(g: Group) -> str:
    """The smallest even (non-negative) field element that encodes no ristretto255 point."""
    for k in range(1, 1000):
        data = (2 * k).to_bytes(32, "little")
        try:
            g.decode_element(data)
        except GroupError:
            return data.hex()
    raise AssertionError("no invalid encoding found")  # pragma: no cover


def non_members(g: Group, text: str) -> list[tuple[str, str]]:
    """Encodings that must not be accepted where ``text`` (a member) stood."""
    out: list[tuple[str, str]] = []
    if isinstance(g, Ristretto255):
        b = bytes.fromhex(text)
        out += [
            ("the same point with the top bit set", (b[:31] + bytes([b[31] | 0x80])).hex()),
            ("the field element p, a non-canonical 0", "ed" + "ff" * 30 + "7f"),
            ("a negative field element", "01" + "00" * 31),
            ("an encoding of no point", _not_a_point(g)),
        ]
    else:
        assert isinstance(g, ModpGroup)
        p = int(g.p)
        x = int(text, 16)
        width = len(text)
        out += [
            ("0", "0" * width),
            ("p", f"{p:0{width}x}"),
            ("p - 1, of order 2", f"{p - 1:0{width}x}"),
            ("p - x, outside the order-q subgroup", f"{p - x:0{width}x}"),
            ("2^(bits) - 1, beyond p", "f" * width),
        ]
    if text.upper() != text:
        out.append(("the same element in upper-case hex", text.upper()))
    out.append(("one byte short", text[:-2]))
    return out


def bad_scalars(g: Group, text: str) -> list[tuple[str, str]]:
    v = int(text, 16)
    out = []
    if v + g.q < 2**256:
        out.append(("s + q, the same value mod q", f"{v + g.q:064x}"))
    out += [
        ("q", f"{g.q:064x}"),
        ("2^256 - 1", "f" * 64),
        ("a leading 00 byte, the same value", "00" + text),
        ("one byte short", text[:-2]),
    ]
    if text.upper() != text:
        out.append(("the same scalar in upper-case hex", text.upper()))
    return out


def owner_change(base: Base, kind_: str, n: int, path: JPath, new: Any, what: str) -> Mutation:
    """Entry ``n``'s data with ``new`` at ``path``, re-signed by its owner; checkpoints
    re-signed by the board and re-cosigned by the witnesses."""
    e = base.entries[n]
    data = put(e.data, path, new)

    def make(folder: Path) -> None:
        lines: list[Line] = list(base.lines(ENTRIES))
        lines[n] = base.owner_resign(n, data)
        save(base, folder, lines, BOARD)

    desc = (
        f"entries.jsonl line {n} ({e.type}) data.{fmt(path)}: {what}; re-signed by"
        f" {base.party(n)}, {LEVELS[BOARD]}"
    )
    return Mutation(kind_ + base.label, desc, make)


@kind("element-identity", "every group element replaced by the identity, re-signed")
def _element_identity(base: Base, seed: int) -> Iterator[Mutation]:
    ident = base.group.identity().hex()
    for n, path, value in positions(base, "element", distinct=bool(base.label)):
        if value != ident:
            yield owner_change(base, "element-identity", n, path, ident, "the identity")


@kind(
    "element-non-member",
    "every group element replaced by a non-member or non-canonical encoding, re-signed",
)
def _element_non_member(base: Base, seed: int) -> Iterator[Mutation]:
    for k, (n, path, value) in enumerate(positions(base, "element", bool(base.label))):
        variants = non_members(base.group, value)
        what, new = variants[k % len(variants)]
        yield owner_change(base, "element-non-member", n, path, new, what)


@kind("scalar-out-of-range", "every scalar replaced by a value >= q or another spelling, re-signed")
def _scalar_out_of_range(base: Base, seed: int) -> Iterator[Mutation]:
    for k, (n, path, value) in enumerate(positions(base, "scalar", bool(base.label))):
        variants = bad_scalars(base.group, value)
        what, new = variants[k % len(variants)]
        yield owner_change(base, "scalar-out-of-range", n, path, new, what)


CRYPTO_KINDS = ("element-identity", "element-non-member", "scalar-out-of-range")
# The kinds also run on the second (modp-4096) record, whose one voter per region makes
# counts of 0 and 1 (the main record's regions count two ballots each).
SECOND_KINDS = (*CRYPTO_KINDS, "int-as-bool")


# --- whole lines: dropped, duplicated, swapped, non-canonical, garbage --------------

PHASE = {
    "referendum": 0,
    "guardian_key": 1,
    "guardian_shares": 2,
    "guardian_ready": 3,
    "election_context": 4,
    "open": 5,
    "ballot": 6,
    "challenged_ballot": 6,
    "close": 7,
    "tally": 8,
    "decryption_share": 9,
    "result": 10,
}
FLOATING = frozenset({"credential_list", "voter_roll", "observer_accreditation", "dispute"})
UNIQUE = frozenset({"referendum", "election_context", "open", "close", "tally", "result"})


def _superseded(base: Base, i: int) -> bool:
    e = base.entries[i]
    close = base.index_of("close")
    return e.type == "ballot" and any(
        x.type == "ballot" and x.data["credential"] == e.data["credential"]
        for x in base.entries[i + 1 : close]
    )


def _drop_free(base: Base, i: int) -> str | None:
    t = base.entries[i].type
    if t == "result":
        return (
            "without its result entry the record claims no result (stage 'tallied'); only"
            " the witnesses' cosigned final checkpoint shows one was published"
        )
    if t in ("challenged_ballot", "voter_roll", "dispute") or _superseded(base, i):
        return (
            f"omitting a {t.replace('_', ' ')} changes nothing counted; only the receipt of"
            " the party that submitted it shows the omission (check-receipt)"
        )
    return None


def _dup_free(base: Base, i: int) -> str | None:
    t = base.entries[i].type
    if t in ("voter_roll", "dispute"):
        return f"the same signed {t.replace('_', ' ')} twice adds nothing the verifier counts"
    return None


def _swap_free(base: Base, i: int) -> str | None:
    a, b = base.entries[i], base.entries[i + 1]
    reason = "independent submissions: only the board vouches for their order"
    if "referendum" in (a.type, b.type):
        return None
    if a.type == b.type == "ballot":
        return reason if a.data["credential"] != b.data["credential"] else None
    if a.type not in FLOATING and b.type not in FLOATING:
        same = PHASE[a.type] == PHASE[b.type] and a.type not in UNIQUE
        return reason if same else None
    if (a.type, b.type) in (("credential_list", "open"), ("voter_roll", "close")):
        return None
    return reason


def _line_op(op: str, lines: list[Any], i: int) -> list[Any]:
    out = list(lines)
    if op == "dropped":
        del out[i]
    elif op == "duplicated":
        out.insert(i + 1, out[i])
    else:
        out[i], out[i + 1] = out[i + 1], out[i]
    return out


def _entry_lines(base: Base, op: str, level: str) -> Iterator[Mutation]:
    n = len(base.entries)
    free = {"dropped": _drop_free, "duplicated": _dup_free, "swapped": _swap_free}[op]
    for i in range(n - 1 if op == "swapped" else n):
        what = f"entries.jsonl line {i} ({base.entries[i].type})"
        if op == "swapped":
            what += f" swapped with line {i + 1} ({base.entries[i + 1].type})"
        else:
            what += f" {op}"
        if level == RAW:
            make = set_lines(ENTRIES, _line_op(op, base.lines(ENTRIES), i))
            yield Mutation(
                f"entry-{op}:{level}", f"{what}; {LEVELS[RAW]}", make, RAW_CATCH[ENTRIES]
            )
            continue

        def make_signed(folder: Path, i: int = i) -> None:
            entries = _line_op(op, base.entries, i)
            if op == "swapped":  # the board stamps times: they stay in place
                entries[i] = tl.retime(entries[i], base.entries[i].time)
                entries[i + 1] = tl.retime(entries[i + 1], base.entries[i + 1].time)
            entries = restate(base, entries, parties=level == PARTIES)
            save(base, folder, entries, WITNESSED if level == WITNESSED else BOARD)

        if level == PARTIES:
            how = "every party restates the indices it names; " + LEVELS[BOARD]
        else:
            how = "the board restates the indices it names; " + LEVELS[level]
        catch = frozenset({"V22"}) if level == WITNESSED else frozenset()
        valid = free(base, i) if level in (BOARD, PARTIES) else None
        earlier = op == "dropped" and base.entries[i].type == "result"
        yield Mutation(f"entry-{op}:{level}", f"{what}; {how}", make_signed, catch, valid, earlier)


for _op in ("dropped", "duplicated", "swapped"):
    for _level in (RAW, WITNESSED, BOARD, PARTIES):

        def _gen(base: Base, seed: int, op: str = _op, level: str = _level) -> Iterator[Mutation]:
            yield from _entry_lines(base, op, level)

        _about = {"dropped": "each entry dropped", "duplicated": "each entry duplicated"}.get(
            _op, "each pair of adjacent entries swapped"
        )
        KINDS[f"entry-{_op}:{_level}"] = (f"{_about} ({_level})", _gen)


def _quorum_kept(base: Base, lines: list[bytes]) -> bool:
    """Whether the cosignatures ``lines`` still give the checkpoints V22 needs (the first
    covering the open entry and the first covering the close entry, timely, and the final
    one) a witness quorum each."""
    cps = [Checkpoint.from_json(loads(x)) for x in base.lines(CHECKPOINTS)]
    manifest = base.entries[0].data["manifest"]
    quorum = int(manifest.get("witness_quorum", 0))
    skew = int(manifest.get("max_skew_s", 300))
    targets = [
        (next(cp for cp in cps if cp.size > base.index_of(kind)), True)
        for kind in ("open", "close")
    ]
    targets.append((cps[-1], False))
    cosigs = [Cosignature.from_json(loads(x)) for x in lines]
    return all(
        len({c.witness for c in cosigs if c.about(cp) and (not timely or c.timely(skew))}) >= quorum
        for cp, timely in targets
    )


def _file_lines(base: Base, name: str, op: str) -> Iterator[Mutation]:
    lines = base.lines(name)
    cosigned = [Cosignature.from_json(loads(x)) for x in base.lines(COSIGNATURES)]
    cps = [Checkpoint.from_json(loads(x)) for x in base.lines(CHECKPOINTS)]
    label = "checkpoint" if name == CHECKPOINTS else "cosignature"
    for i in range(len(lines) - 1 if op == "swapped" else len(lines)):
        new = _line_op(op, lines, i)
        valid = None
        if name == COSIGNATURES:
            if op == "dropped" and _quorum_kept(base, new):
                valid = "cosignatures beyond the witness quorum are redundant"
            elif op == "duplicated":
                valid = "the same cosignature twice is one witness's one statement"
            elif op == "swapped":
                valid = "cosignatures are a set: their order means nothing"
        elif op == "duplicated":
            valid = "the same signed checkpoint twice states nothing new"
        elif op == "dropped" and lines.count(lines[i]) > 1:
            valid = "the same signed checkpoint is still there (it was in the record twice)"
        elif op == "dropped" and i < len(lines) - 1 and not any(c.about(cps[i]) for c in cosigned):
            valid = (
                "an uncosigned intermediate checkpoint: the others still commit to every"
                " entry and bound every entry time, if more loosely"
            )
        what = f"{name} line {i} {op}" if op != "swapped" else f"{name} lines {i}, {i + 1} swapped"
        yield Mutation(
            f"{label}-{op}", f"{what}; {LEVELS[RAW]}", set_lines(name, new), RAW_CATCH[name], valid
        )


for _name, _label in ((CHECKPOINTS, "checkpoint"), (COSIGNATURES, "cosignature")):
    for _op in ("dropped", "duplicated", "swapped"):

        def _fgen(base: Base, seed: int, name: str = _name, op: str = _op) -> Iterator[Mutation]:
            yield from _file_lines(base, name, op)

        KINDS[f"{_label}-{_op}"] = (f"each {_label} line {_op} (raw)", _fgen)


def noncanonical(line: bytes, k: int) -> tuple[str, bytes]:
    """Another spelling of the same JSON value."""
    import json

    value = loads(line)
    variants: list[tuple[str, bytes]] = [
        ("spaces after separators", json.dumps(value, sort_keys=True).encode()),
        ("keys in reverse order", _reverse_keys(value)),
        ("'/' escaped as '\\/'", line.replace(b"/", b"\\/")),
        ("a space before the end of line", line + b" "),
        ("a carriage return before the end of line", line + b"\r"),
        (
            "non-ASCII as \\u escapes",
            json.dumps(value, sort_keys=True, separators=(",", ":")).encode(),
        ),
    ]
    variants = [(w, b) for w, b in variants if b != line]
    return variants[k % len(variants)]


def _reverse_keys(value: Any) -> bytes:
    def rev(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: rev(v[k]) for k in sorted(v, reverse=True)}
        if isinstance(v, list):
            return [rev(x) for x in v]
        return v

    import json

    return json.dumps(rev(value), separators=(",", ":"), ensure_ascii=False).encode()


@kind(
    "line-noncanonical",
    "each line spelled otherwise (same JSON value); entries with the checkpoints and"
    " cosignatures re-made over the new bytes, so V01 alone must catch it",
)
def _line_noncanonical(base: Base, seed: int) -> Iterator[Mutation]:
    k = 0
    for name in FILES:
        for i, line in enumerate(base.lines(name)):
            what, new = noncanonical(line, k)
            k += 1
            if name == ENTRIES:

                def make(folder: Path, i: int = i, new: bytes = new) -> None:
                    lines: list[Line] = list(base.lines(ENTRIES))
                    lines[i] = new
                    save(base, folder, lines, BOARD)

                desc = f"{name} line {i}: {what}; {LEVELS[BOARD]}"
                yield Mutation("line-noncanonical", desc, make, frozenset({"V01"}))
            else:
                lines = list(base.lines(name))
                lines[i] = new
                desc = f"{name} line {i}: {what}; {LEVELS[RAW]}"
                yield Mutation("line-noncanonical", desc, set_lines(name, lines), RAW_CATCH[name])


GARBAGE = [b"", b"null", b"[]", b"{}", b"not json", b'{"type":"ballot"}', b"\xff\xfe"]


@kind("line-garbage", "a junk line inserted into each file, at the start, middle and end")
def _line_garbage(base: Base, seed: int) -> Iterator[Mutation]:
    k = 0
    for name in FILES:
        lines = base.lines(name)
        for where in (0, len(lines) // 2, len(lines)):
            junk = GARBAGE[k % len(GARBAGE)]
            k += 1
            new = [*lines[:where], junk, *lines[where:]]
            desc = f"{name}: {junk!r} inserted as line {where}; {LEVELS[RAW]}"
            yield Mutation("line-garbage", desc, set_lines(name, new), RAW_CATCH[name])


# --- truncated and missing files ----------------------------------------------------


@kind("truncated-mid-line", "each file cut in the middle of each line (exit 2)")
def _truncated_mid_line(base: Base, seed: int) -> Iterator[Mutation]:
    for name in FILES:
        data = base.files[name]
        start = 0
        for i, line in enumerate(base.lines(name)):
            cut = start + max(1, len(line) // 2)
            start += len(line) + 1

            def make(folder: Path, name: str = name, cut: bytes = data[:cut]) -> None:
                (folder / name).write_bytes(cut)

            yield Mutation("truncated-mid-line", f"{name} cut inside line {i}", make)


@kind("truncated-at-line:raw", "each file cut after each line, nothing re-signed")
def _truncated_raw(base: Base, seed: int) -> Iterator[Mutation]:
    for name in FILES:
        lines = base.lines(name)
        for k in range(len(lines)):
            valid = None
            if name == COSIGNATURES and _quorum_kept(base, lines[:k]):
                valid = "cosignatures beyond the witness quorum are redundant"
            desc = f"{name} cut to its first {k} lines; {LEVELS[RAW]}"
            catch = RAW_CATCH[name]
            yield Mutation("truncated-at-line:raw", desc, set_lines(name, lines[:k]), catch, valid)


def _prefix(base: Base, level: str) -> Iterator[Mutation]:
    for k in range(1, len(base.entries)):

        def make(folder: Path, k: int = k) -> None:
            save(base, folder, base.lines(ENTRIES)[:k], level)

        desc = f"entries.jsonl cut to its first {k} entries; {LEVELS[level]}"
        if level == WITNESSED:
            yield Mutation(f"truncated-at-line:{level}", desc, make, frozenset({"V22"}))
        else:
            # Every prefix of the board once existed: with the witnesses colluding it is
            # the record of an earlier stage and may verify as such, with no results or
            # the record's own (when only later disputes are cut).
            why = "a prefix re-cosigned by colluding witnesses is the board at an earlier stage"
            yield Mutation(f"truncated-at-line:{level}", desc, make, valid=why, earlier=True)


@kind("truncated-at-line:witnessed", "entries cut after each line, checkpoints re-made")
def _truncated_witnessed(base: Base, seed: int) -> Iterator[Mutation]:
    yield from _prefix(base, WITNESSED)


@kind(
    "truncated-at-line:board",
    "entries cut after each line, checkpoints re-made and re-cosigned: valid only as an"
    " earlier stage, never with other results",
)
def _truncated_board(base: Base, seed: int) -> Iterator[Mutation]:
    yield from _prefix(base, BOARD)


@kind("file-missing", "each file deleted")
def _file_missing(base: Base, seed: int) -> Iterator[Mutation]:
    for name in FILES:

        def make(folder: Path, name: str = name) -> None:
            (folder / name).unlink()

        catch = frozenset({"V22"}) if name == COSIGNATURES else frozenset()
        yield Mutation("file-missing", f"{name} deleted", make, catch)


# --- entry times: only the board vouches for them -----------------------------------


@kind(
    "entry-retimed:witnessed",
    "each entry's time moved by a millisecond, checkpoints re-made: the witnessed"
    " checkpoints must catch it",
)
def _retimed_witnessed(base: Base, seed: int) -> Iterator[Mutation]:
    for i, e in enumerate(base.entries):
        delta = timedelta(milliseconds=1 if i % 2 else -1)

        def make(folder: Path, i: int = i, delta: timedelta = delta) -> None:
            lines: list[Line] = list(base.lines(ENTRIES))
            old = base.entries[i]
            lines[i] = tl.retime(old, format_time(old.when + delta))
            save(base, folder, lines, WITNESSED)

        ms = int(delta / timedelta(milliseconds=1))
        desc = f"entries.jsonl line {i} ({e.type}) time {ms:+d} ms; {LEVELS[WITNESSED]}"
        yield Mutation("entry-retimed:witnessed", desc, make, frozenset({"V22"}))


def _retime_all(entries: list[Entry], i: int, t: Any) -> list[Entry]:
    """Entry ``i`` at time ``t``, the others moved as little as keeps times in order."""
    out = list(entries)
    out[i] = tl.retime(out[i], format_time(t))
    for j in range(i + 1, len(out)):
        if out[j].when < t:
            out[j] = tl.retime(out[j], format_time(t))
    for j in range(i):
        if out[j].when > t:
            out[j] = tl.retime(out[j], format_time(t))
    return out


@kind(
    "outside-window",
    "each ballot timed before the opening or after the closing time (other times kept in"
    " order), and the close entry timed before the opening; re-signed, re-cosigned",
)
def _outside_window(base: Base, seed: int) -> Iterator[Mutation]:
    m = base.outcome.organiser.manifest
    ms = timedelta(milliseconds=1)
    for i, e in enumerate(base.entries):
        if e.type == "ballot":
            cases = [("before the opening", m.opens - ms), ("after the closing", m.closes + ms)]
        elif e.type == "close":
            cases = [("before the opening", m.opens - ms)]
        else:
            continue
        for what, t in cases:

            def make(folder: Path, i: int = i, t: Any = t) -> None:
                save(base, folder, _retime_all(base.entries, i, t), BOARD)

            desc = f"entries.jsonl line {i} ({e.type}) timed {what}; {LEVELS[BOARD]}"
            yield Mutation("outside-window", desc, make, frozenset({"V15"}))


@kind(
    "ballot-late",
    "each ballot moved after the close entry, timed at the close or at its own time:"
    " late whatever its time says",
)
def _ballot_late(base: Base, seed: int) -> Iterator[Mutation]:
    close = base.index_of("close")
    for i, e in enumerate(base.entries):
        if e.type != "ballot":
            continue
        for level, at in ((BOARD, "close"), (BOARD, "own"), (WITNESSED, "close")):

            def make(folder: Path, i: int = i, level: str = level, at: str = at) -> None:
                entries = list(base.entries)
                ballot = entries.pop(i)
                c = close - 1
                t = entries[c].time if at == "close" else ballot.time
                entries.insert(c + 1, tl.retime(ballot, t))
                save(base, folder, restate(base, entries, parties=False), level)

            catch = frozenset({"V22"} if level == WITNESSED else {"V06", "V15"})
            desc = (
                f"entries.jsonl line {i} (ballot) moved after the close entry, timed at"
                f" {'the close' if at == 'close' else 'its own time'}; the board restates"
                f" the close; {LEVELS[level]}"
            )
            yield Mutation("ballot-late", desc, make, catch)


# --- known verifier bugs ------------------------------------------------------------

# Mutations the verifier does not reject today: each is a verifier bug, named with the
# check that should catch it, and matched by a pattern over "kind: description". They
# still fail the suite (``make tamper`` exits 1, naming them); tests/test_tamper_suite.py
# keeps one xfail(strict=True) test per bug.
KNOWN_BUGS: dict[str, tuple[str, str]] = {}


def known_bug(m: Mutation) -> str | None:
    """The verifier bug that lets ``m`` through, if it is a known one."""
    for pattern, why in KNOWN_BUGS.values():
        if re.search(pattern, f"{m.kind}: {m.description}"):
            return why
    return None


# --- generating and sampling --------------------------------------------------------


def generate(base: Base, seed: int = 0, kinds: Sequence[str] | None = None) -> list[Mutation]:
    """Every mutation of ``base`` of the given kinds (default: all; a labelled base, such
    as the modp-4096 one, only gets ``SECOND_KINDS``)."""
    names = list(kinds) if kinds is not None else list(KINDS)
    if base.label:
        names = [k for k in names if k in SECOND_KINDS]
    out: list[Mutation] = []
    for name in names:
        out.extend(KINDS[name][1](base, seed))
    return out


def sample(mutations: Sequence[Mutation], n: int, seed: int, at_least: int = 2) -> list[Mutation]:
    """About ``n`` mutations, seeded, every kind with at least ``at_least`` (or all it
    has) and the rest in proportion to the kind's size."""
    by_kind: dict[str, list[Mutation]] = {}
    for m in mutations:
        by_kind.setdefault(m.kind, []).append(m)
    total = len(mutations)
    rng = random.Random(seed)
    out: list[Mutation] = []
    for ms in by_kind.values():
        k = min(len(ms), max(at_least, round(n * len(ms) / max(1, total))))
        out.extend(rng.sample(ms, k))
    return out
