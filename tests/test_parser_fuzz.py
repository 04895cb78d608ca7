"""Parser fuzzing (hypothesis): the record reader and the ballot decoder on hostile input.

Each parser is fed arbitrary input and mutations of real input (a real entry line, a
real ballot, a real referendum file, a small real record with one line changed), and may
only fail the documented way: :class:`EntryError` from the entry and ballot decoders,
:class:`ManifestError` from the referendum-file parser, :class:`RecordError` from the
record reader; the verifier never raises on a readable record, it reports failed checks,
and a record with any entry changed never verifies. Anything else (a ``TypeError``, a
``KeyError``...) is a crash: a bug.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from plebiscite.crypto.group import Group, get_group
from plebiscite.election.demo import run_demo
from plebiscite.record.canonical import CanonicalError, canonical_bytes, loads
from plebiscite.record.entries import (
    Entry,
    EntryError,
    election_fingerprint,
    election_id_of,
    parse_election_anchor,
    parse_entry,
    verify_entry_signature,
)
from plebiscite.record.manifest import Manifest, ManifestError, parse_manifest
from plebiscite.record.protocol import parse_ballot
from plebiscite.verify.ballots import BallotContext, check_ballot, check_challenged
from plebiscite.verify.checks import verify_record
from plebiscite.verify.reader import CHECKPOINTS, ENTRIES, RawRecord, RecordError, read_record

N = int(os.environ.get("PLEBISCITE_FUZZ_EXAMPLES", "0")) or None


def fuzz_settings(examples: int) -> settings:
    return settings(
        max_examples=N or examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        database=None,
    )


# --- the small real record everything is mutated from ---------------------------------


@dataclass
class Sample:
    record: Path
    raw: RawRecord
    entries: list[Entry]
    group: Group
    manifest: Manifest
    ctx: BallotContext

    def of_type(self, t: str) -> list[tuple[int, Entry]]:
        return [(i, e) for i, e in enumerate(self.entries) if e.type == t]


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Sample:
    base = tmp_path_factory.mktemp("parser-fuzz")
    out = run_demo(base / "data", base / "record", voters=1, seed=1)
    out.organiser.close_store()
    raw = read_record(out.record)
    entries = [parse_entry(x) for x in raw.entries]
    manifest = parse_manifest(entries[0].data["manifest"])
    context = next(e.data for e in entries if e.type == "election_context")
    ctx = BallotContext(
        manifest.group, entries[0].data["manifest"], context["context_hash"], context["joint_key"]
    )
    assert verify_record(raw, workers=1).ok
    assert any(e.type == "challenged_ballot" for e in entries)
    return Sample(out.record, raw, entries, get_group(manifest.group), manifest, ctx)


# --- strategies: JSON values and mutations of real ones --------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["", "00", "0" * 64, "f" * 64, "F" * 64, "01" * 32, "zz", "AAAA", "=="]),
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def near(value: Any) -> st.SearchStrategy[Any]:
    """Values close to ``value``: same type, slightly wrong (a hex string one digit short
    or long, upper case, all zeros; a list emptied, shortened, doubled; a dict missing a
    key or with one more), or any JSON value at all."""
    options: list[st.SearchStrategy[Any]] = [json_values]
    if isinstance(value, str):
        options += [
            st.just(value[:-1]),
            st.just(value + "0"),
            st.just(value.upper()),
            st.just("0" * len(value)),
            st.just(value[::-1]),
            st.just(value + "\n"),
        ]
    elif isinstance(value, bool):
        options.append(st.just(not value))
    elif isinstance(value, int):
        options.append(st.sampled_from([value - 1, value + 1, -value, 0, 2**53, 2**63]))
    elif isinstance(value, list):
        options += [st.just([]), st.just(value[:-1]), st.just(value + value), st.just(value[::-1])]
    elif isinstance(value, dict) and value:
        options += [
            st.sampled_from(sorted(value)).map(
                lambda k: {x: v for x, v in value.items() if x != k}
            ),
            st.text(max_size=6).map(lambda k: {**value, k: None}),
        ]
    return st.one_of(options)


def mutate(data: st.DataObject, value: Any) -> Any:
    """``value`` with one place in it changed (most often a leaf)."""
    if isinstance(value, dict) and value and data.draw(st.integers(0, 5)) > 0:
        k = data.draw(st.sampled_from(sorted(value)))
        return {**value, k: mutate(data, value[k])}
    if isinstance(value, list) and value and data.draw(st.integers(0, 5)) > 0:
        i = data.draw(st.integers(0, len(value) - 1))
        return [*value[:i], mutate(data, value[i]), *value[i + 1 :]]
    return data.draw(near(value))


def mutate_bytes(data: st.DataObject, raw: bytes) -> bytes:
    """``raw`` with a few bytes flipped, dropped or inserted, or cut short."""
    out = bytearray(raw)
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, max(0, len(out) - 1)))
        op = data.draw(st.sampled_from(["flip", "drop", "insert", "cut"]))
        if op == "flip" and out:
            out[i] ^= data.draw(st.integers(1, 255))
        elif op == "drop" and out:
            del out[i]
        elif op == "insert":
            out[i:i] = data.draw(st.binary(min_size=1, max_size=4))
        else:
            del out[i:]
    return bytes(out)


def canonical_or_raw(value: Any) -> bytes:
    """The canonical bytes of ``value``, or its plain JSON when it has none."""
    try:
        return canonical_bytes(value)
    except CanonicalError:
        return json.dumps(value, separators=(",", ":")).encode()


def only(errors: tuple[type[BaseException], ...], fn: Callable[[], Any]) -> Any:
    """Run ``fn``; the documented ``errors`` are fine, anything else fails the test."""
    try:
        return fn()
    except errors:
        return None


# --- the entry parser ------------------------------------------------------------------


@fuzz_settings(300)
@given(raw=st.binary(max_size=300))
@example(raw=b'{"type":"ballot","time":"x","data":{},"signer":null,"signature":null}')
@example(raw=b"\xff\xfe")
@example(raw=b"[" * 5000)
def test_parse_entry_arbitrary_bytes(raw: bytes) -> None:
    only((EntryError,), lambda: parse_entry(raw))


@fuzz_settings(300)
@given(data=st.data())
def test_parse_entry_mutated_lines(sample: Sample, data: st.DataObject) -> None:
    line = data.draw(st.sampled_from(sample.raw.entries))
    if data.draw(st.booleans()):
        mutated = mutate_bytes(data, line)
    else:
        mutated = canonical_or_raw(mutate(data, loads(line)))
    entry = only((EntryError,), lambda: parse_entry(mutated))
    if entry is not None:
        assert entry.to_bytes() == mutated.rstrip(b"\n")


# --- the referendum file and the ballot decoder ---------------------------------------


@fuzz_settings(200)
@given(data=st.data())
def test_parse_manifest_mutated(sample: Sample, data: st.DataObject) -> None:
    raw = data.draw(st.one_of(st.just(sample.entries[0].data["manifest"]), json_values))
    only((ManifestError,), lambda: parse_manifest(mutate(data, copy.deepcopy(raw))))


@fuzz_settings(200)
@given(value=json_values)
def test_parse_ballot_arbitrary(sample: Sample, value: Any) -> None:
    only((EntryError,), lambda: parse_ballot(sample.group, sample.manifest, value))


@fuzz_settings(150)
@given(data=st.data())
def test_parse_and_check_ballot_mutated(sample: Sample, data: st.DataObject) -> None:
    i, ballot = data.draw(st.sampled_from(sample.of_type("ballot")))
    mutated = mutate(data, ballot.data)
    only((EntryError,), lambda: parse_ballot(sample.group, sample.manifest, mutated))
    findings = check_ballot(sample.ctx, i, mutated)  # never raises: findings
    if mutated != ballot.data and not findings:
        # Only ``replaces`` is bound by the voter's signature alone (not by the proofs, so
        # that a stale cast can be signed again on a new head): a change there passes the
        # ballot checks, and the entry's signature (V05) fails.
        rest = (
            {k: v for k, v in mutated.items() if k != "replaces"}
            if isinstance(mutated, dict)
            else mutated
        )
        assert rest == {k: v for k, v in ballot.data.items() if k != "replaces"}, (
            "a changed ballot passed every ballot check"
        )
        changed = dataclasses.replace(ballot, data=mutated)
        assert not verify_entry_signature(changed, election_id_of(sample.entries[0].data))


@fuzz_settings(150)
@given(data=st.data())
def test_check_challenged_mutated(sample: Sample, data: st.DataObject) -> None:
    i, chal = data.draw(st.sampled_from(sample.of_type("challenged_ballot")))
    mutated = mutate(data, chal.data)
    problem = check_challenged(sample.ctx, i, mutated)  # never raises: a message
    if mutated != chal.data:
        assert problem is not None, "a changed challenged ballot opened"


# --- the record reader and the verifier ------------------------------------------------


@fuzz_settings(40)
@given(data=st.data())
def test_read_record_mutated_files(
    sample: Sample, data: st.DataObject, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Files cut short, bytes changed: read_record raises RecordError or reads lines."""
    folder = tmp_path_factory.mktemp("mutated-record")
    for name in (ENTRIES, CHECKPOINTS):
        text = (sample.record / name).read_bytes()
        if data.draw(st.booleans()):
            text = mutate_bytes(data, text)
        (folder / name).write_bytes(text)
    raw = only((RecordError,), lambda: read_record(folder))
    if raw is not None:
        assert raw.entries


@fuzz_settings(25)
@given(data=st.data())
def test_verify_record_mutated_lines(sample: Sample, data: st.DataObject) -> None:
    """A record with one entry changed (bytes or a JSON value inside it), dropped or
    duplicated: the verifier reports failed checks and raises nothing."""
    entries = list(sample.raw.entries)
    i = data.draw(st.integers(0, len(entries) - 1))
    how = data.draw(st.sampled_from(["json", "json", "json", "bytes", "drop", "duplicate"]))
    if how == "json":
        entries[i] = canonical_or_raw(mutate(data, loads(entries[i])))
    elif how == "bytes":
        entries[i] = mutate_bytes(data, entries[i]).replace(b"\n", b"")
    elif how == "drop":
        del entries[i]
    else:
        entries.insert(i, entries[i])
    raw = RawRecord(sample.raw.path, entries, list(sample.raw.checkpoints), [])
    report = verify_record(raw, workers=1)
    if entries != sample.raw.entries:
        assert not report.ok, f"a changed record verified ({how} at entry {i})"


# --- regressions found by the fuzzing above -------------------------------------------


def test_deeply_nested_json_is_a_canonical_error() -> None:
    """``[[[[...`` past the recursion limit raised RecursionError from ``loads``."""
    with pytest.raises(CanonicalError):
        loads(b"[" * 100_000)
    with pytest.raises(EntryError):
        parse_entry(b"[" * 100_000 + b"]" * 100_000)


def test_entry_with_unhashable_type_is_an_entry_error(sample: Sample) -> None:
    """``"type": []`` (or ``{}``) raised TypeError in ``parse_entry``, so the verifier
    crashed on such a record instead of reporting it."""
    bads: list[Any] = [[], {}, ["ballot"]]
    for bad in bads:
        obj = {**loads(sample.raw.entries[1]), "type": bad}
        with pytest.raises(EntryError, match="unknown entry type"):
            parse_entry(canonical_bytes(obj))
        entries = list(sample.raw.entries)
        entries[1] = canonical_bytes(obj)
        report = verify_record(RawRecord(sample.raw.path, entries, sample.raw.checkpoints, []), 1)
        assert "V01" in {c.id for c in report.failed}


# --- the election fingerprint --------------------------------------------------------------


def test_election_fingerprint_and_anchor() -> None:
    eid = "3f2a9c1b" + "0123456789abcdef" * 3 + "deadbeef"
    fp = election_fingerprint(eid)
    assert fp == "3f2a 9c1b 0123 4567 89ab cdef 0123 4567"
    assert election_fingerprint(eid.upper()) == fp
    assert parse_election_anchor(fp) == eid[:32]
    assert parse_election_anchor(f"  {fp.upper().replace(' ', '-')}\n") == eid[:32]
    assert parse_election_anchor(eid.upper()) == eid
    for bad in ("", eid[:31], eid[:33], eid + "0", "g" * 32, "3f2a_9c1b" + "0" * 24, "٣" * 32):
        with pytest.raises(EntryError):
            parse_election_anchor(bad)
    for bad in ("", "abc", "z" * 64):
        with pytest.raises(EntryError):
            election_fingerprint(bad)


@fuzz_settings(200)
@given(eid=st.binary(min_size=32, max_size=32).map(bytes.hex), sep=st.sampled_from(" -"))
def test_election_fingerprint_round_trips(eid: str, sep: str) -> None:
    fp = election_fingerprint(eid)
    assert len(fp) == 39 and fp.count(" ") == 7
    assert parse_election_anchor(fp.replace(" ", sep)) == eid[:32]
    assert parse_election_anchor(eid) == eid


@fuzz_settings(200)
@given(text=st.text(max_size=80))
def test_election_anchor_arbitrary_text(text: str) -> None:
    got = only((EntryError,), lambda: parse_election_anchor(text))
    assert got is None or (len(got) in (32, 64) and set(got) <= set("0123456789abcdef"))


# --- hostile values inside real record lines ------------------------------------------------

# Raw JSON text planted in place of one value of a line: numbers too large or not finite,
# nesting past the recursion limit, invalid UTF-8 and lone surrogates, duplicate keys, and
# values of the wrong type (a bool for an int, an int for a string, a float anywhere).
HOSTILE: list[bytes] = [
    b"9" * 5000,
    b"-" + b"9" * 5000,
    str(2**53).encode(),
    str(-(2**64)).encode(),
    b"1e999",
    b"-1E400",
    b"1e-400",
    b"NaN",
    b"Infinity",
    b"-Infinity",
    b"0.5",
    b"1.0",
    b"-0",
    b"[" * 3000 + b"]" * 3000,
    b'{"a":' * 3000 + b"1" + b"}" * 3000,
    b"true",
    b"false",
    b"null",
    b"0",
    b"1",
    b"-1",
    b'""',
    b"{}",
    b"[]",
    b'{"a":1,"a":2}',
    b'"\\ud800"',
    b'"x\\udfff"',
    b'"\xff\xfe"',
    b'"\xed\xa0\x80"',
    b'"\xc3"',
    b'"x"',
    b"[1,true,0.5]",
]
_SENTINEL = "\x00hostile\x00"
_SENTINEL_TEXT = json.dumps(_SENTINEL).encode()


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON value (the containers too, so whole subtrees are replaced)."""
    out = [path] if path else []
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*path, i))
    return out


def _plant(line: bytes, data: st.DataObject) -> bytes:
    """``line`` with one value, anywhere in it, replaced by a hostile text."""
    obj = loads(line)
    path = data.draw(st.sampled_from(_paths(obj)))
    target = obj
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = _SENTINEL
    return canonical_bytes(obj).replace(_SENTINEL_TEXT, data.draw(st.sampled_from(HOSTILE)))


@fuzz_settings(100)
@given(data=st.data())
@example(data=None)  # replaced below by the 5,000-digit integer in an entry
def test_hostile_values_in_record_lines_are_reported(sample: Sample, data: Any) -> None:
    """A hostile value in any line of a real record (an entry, a checkpoint or a
    cosignature): the verifier raises nothing and reports that line (V01 for an entry
    that is not well-formed, else V05 or the check of its content naming it; V02 for a
    checkpoint; V22 for a cosignature)."""
    files = {
        "entries": list(sample.raw.entries),
        "checkpoints": list(sample.raw.checkpoints),
        "cosignatures": list(sample.raw.cosignatures),
    }
    if data is None:
        which, i = "entries", 1
        planted = files[which][i].replace(b'"index":1', b'"index":' + b"9" * 5000, 1)
    else:
        which = data.draw(st.sampled_from(sorted(files)))
        i = data.draw(st.integers(0, len(files[which]) - 1))
        planted = _plant(files[which][i], data)
    if planted == files[which][i]:
        return
    files[which][i] = planted
    raw = RawRecord(sample.raw.path, files["entries"], files["checkpoints"], files["cosignatures"])
    report = verify_record(raw, workers=1)
    failed = {c.id: " ".join(c.details) for c in report.failed}
    if which == "entries":
        malformed = only((EntryError,), lambda: parse_entry(planted)) is None
        if malformed:
            assert "V01" in failed, failed
        else:  # well-formed but changed: its signature, or the check of its content
            assert {"V01", "V05"} & set(failed) or any(
                f"entry {i}" in d for d in failed.values()
            ), failed
    elif which == "checkpoints":
        assert f"checkpoint {i}" in failed.get("V02", ""), failed
    else:
        assert f"cosignature {i}" in failed.get("V22", ""), failed


def test_a_5000_digit_integer_fails_v01_on_the_command_line(
    record_copy: Path, run_cli: Any
) -> None:
    """The integer once crashed 'verify' (exit 70, Python's int-string limit)."""
    path = record_copy / ENTRIES
    lines = path.read_bytes().split(b"\n")
    assert b'"index":1' in lines[1]
    lines[1] = lines[1].replace(b'"index":1', b'"index":' + b"9" * 5000, 1)
    path.write_bytes(b"\n".join(lines))
    code, out, err = run_cli("verify", record_copy, "--workers", "1", "--json")
    assert code == 1, err
    report = json.loads(out)
    v01 = next(c for c in report["checks"] if c["id"] == "V01")
    assert v01["status"] == "failed" and "integer too large" in json.dumps(v01)
    assert "Traceback" not in err and "internal error" not in err


def test_canonical_integers_are_bounded() -> None:
    assert loads(str(2**53 - 1).encode()) == 2**53 - 1
    assert loads(b"-9007199254740991") == -(2**53 - 1)
    for bad in (str(2**53).encode(), b"9" * 5000, b"-" + b"9" * 17, b"1e999", b"[-1E400]"):
        with pytest.raises(CanonicalError):
            loads(bad)
    with pytest.raises(CanonicalError):
        canonical_bytes({"n": 2**53})
