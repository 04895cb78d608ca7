"""Every verifier check is shown to fail.

For each check V01..V20 a test takes a copy of the demo record, makes the smallest change
that breaks that check, re-signs whatever a signature would otherwise catch first (the
entry by the party that vouches for it, the checkpoints by the board), and asserts that
the named check fails. Each case lists the checks that depend on the broken one and may
fail with it; any other failure is an error, so a change is shown to be caught by the
check it is about, not merely by a signature.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import tamperlib as tl
from plebiscite.board.checkpoint import sign_checkpoint
from plebiscite.election.demo import DemoOutcome
from plebiscite.record.entries import Entry, format_time, key_to_b64
from plebiscite.verify.checks import CHECKS, verify_record
from plebiscite.verify.reader import read_record
from plebiscite.verify.report import Report

ALL = frozenset(c.id for c in CHECKS)
Tamper = Callable[[DemoOutcome, Path], None]
CASES: list[Any] = []


def case(check: str, *also: str) -> Callable[[Tamper], Tamper]:
    """Register a tamper that must make ``check`` fail (``also``: checks allowed to fail
    with it because they depend on it)."""

    def register(fn: Tamper) -> Tamper:
        name = fn.__name__.removeprefix("_").replace("_", "-")
        CASES.append(pytest.param(check, fn, frozenset(also), id=f"{check}-{name}"))
        return fn

    return register


def verify(record: Path) -> Report:
    return verify_record(read_record(record), workers=1)


def failed_ids(report: Report) -> set[str]:
    return {c.id for c in report.failed}


def details(report: Report) -> str:
    return "\n".join(f"{c.id}: {c.details[:3]}" for c in report.failed)


# --- small tools over the demo record ---------------------------------------------------


class Rec:
    """The record's entries, changed in memory, then saved with re-signed checkpoints."""

    def __init__(self, outcome: DemoOutcome, path: Path) -> None:
        self.outcome, self.path = outcome, path
        self.entries: list[Entry] = tl.load_entries(path)

    def first(self, type_: str) -> int:
        return tl.indices_of(self.entries, type_)[0]

    def data(self, i: int) -> dict[str, Any]:
        """A deep copy of entry ``i``'s data, to change."""
        return copy.deepcopy(self.entries[i].data)

    def resign(self, i: int, data: dict[str, Any]) -> None:
        """Entry ``i`` with new data, signed by the party that vouches for it."""
        self.entries[i] = tl.resign_as_owner(self.outcome, self.entries[i], data)

    def save(self) -> None:
        tl.save(self.path, self.entries, tl.board_key(self.outcome), tl.witness_keys(self.outcome))


def decrypting_guardians(rec: Rec) -> list[str]:
    return list(rec.entries[rec.first("result")].data["guardians"])


# --- V01 ------------------------------------------------------------------------------


@case("V01", "V02")  # V02: the covering checkpoints bound entry times
def _time_goes_backwards(outcome: DemoOutcome, path: Path) -> None:
    rec = Rec(outcome, path)
    i = rec.first("guardian_shares")
    earlier = rec.entries[i - 1].when - timedelta(minutes=1)
    rec.entries[i] = tl.retime(rec.entries[i], format_time(earlier))
    rec.save()


@case("V01")
def _non_canonical_line(outcome: DemoOutcome, path: Path) -> None:
    rec = Rec(outcome, path)
    i = rec.first("challenged_ballot")
    loose = json.dumps(rec.entries[i].to_json(), separators=(", ", ": ")).encode()
    lines: list[Entry | bytes] = list(rec.entries)
    lines[i] = loose
    tl.save(path, lines, tl.board_key(outcome), tl.witness_keys(outcome))


# --- V02 / V03 ------------------------------------------------------------------------


@case("V02")
def _bad_checkpoint_signature(outcome: DemoOutcome, path: Path) -> None:
    cps = tl.load_checkpoints(path)
    sig = bytearray(cps[10].signature)
    sig[0] ^= 1
    cps[10] = dataclasses.replace(cps[10], signature=bytes(sig))
    tl.write_checkpoints(path, cps)


@case("V02", "V22")  # V22: the witnesses cosigned the checkpoint as it was
def _checkpoint_root_does_not_match(outcome: DemoOutcome, path: Path) -> None:
    cps = tl.load_checkpoints(path)
    cp = cps[10]
    wrong = tl.load_checkpoints(path)[9].root
    cps[10] = sign_checkpoint(tl.board_key(outcome), cp.origin, cp.size, wrong, cp.time)
    tl.write_checkpoints(path, cps)


@case("V03", "V22")  # V22: the witnesses cosigned the dropped checkpoint
def _final_checkpoints_dropped(outcome: DemoOutcome, path: Path) -> None:
    n = len(tl.load_entries(path))
    cps = tl.load_checkpoints(path)
    kept = [cp for cp in cps if cp.size < n]
    assert kept and len(kept) < len(cps)
    tl.write_checkpoints(path, kept)


# --- V04 ------------------------------------------------------------------------------


@case("V04", *(ALL - {"V01", "V02", "V03", "V04"}))
def _invalid_manifest(outcome: DemoOutcome, path: Path) -> None:
    # Any change to the referendum changes the election id, so every other party's
    # signature and proof stops holding: the checks that need the manifest cannot run.
    rec = Rec(outcome, path)
    d = rec.data(0)
    d["manifest"]["guardians"]["quorum"] = d["manifest"]["guardians"]["count"] + 1
    rec.resign(0, d)
    rec.save()


# --- V05 ------------------------------------------------------------------------------


@case("V05")
def _guardian_signature_flipped(outcome: DemoOutcome, path: Path) -> None:
    rec = Rec(outcome, path)
    i = rec.first("guardian_shares")
    rec.entries[i] = tl.flip_signature(rec.entries[i], 5)
    rec.save()


@case("V05")
def _ballot_signed_by_another_voter(outcome: DemoOutcome, path: Path) -> None:
    rec = Rec(outcome, path)
    ballots = tl.indices_of(rec.entries, "ballot")
    e, other = rec.entries[ballots[0]], rec.entries[ballots[1]]
    key = tl.voter_key(outcome, other.data["credential"])
    rec.entries[ballots[0]] = tl.resign(e, key, tl.election_id(outcome))
    rec.save()


@case("V05")
def _challenged_ballot_signed(outcome: DemoOutcome, path: Path) -> None:
    rec = Rec(outcome, path)
    i = rec.first("challenged_ballot")
    rec.entries[i] = tl.resign(rec.entries[i], tl.board_key(outcome), tl.election_id(outcome))
    rec.save()


# --- V06 ------------------------------------------------------------------------------


@case("V06")
def _open_before_a_credential_list(outcome: DemoOutcome, path: Path) -> None:
    rec = Rec(outcome, path)
    o = rec.first("open")
    c = tl.indices_of(rec.entries, "credential_list")[-1]
    e = rec.entries
    # Swap the entries, keeping the times in place (only the board vouches for them).
    e[c], e[o] = tl.retime(e[o], e[c].time), tl.retime(e[c], e[o].time)
    rec.save()


@case("V05")
def _dispute_signed_by_a_stranger(outcome: DemoOutcome, path: Path) -> None:
    # A dispute counts only from a listed credential or a witness's key.
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from plebiscite.record.entries import sign

    rec = Rec(outcome, path)
    data = {"region": None, "about": "other", "receipt": None, "check": None, "evidence": "x"}
    stranger = Ed25519PrivateKey.generate()
    last = rec.entries[-1].time
    rec.entries.append(sign("dispute", data, tl.election_id(outcome), stranger).at(last))
    rec.save()


@case("V06")
def _open_with_a_malformed_booth_digest(outcome: DemoOutcome, path: Path) -> None:
    rec = Rec(outcome, path)
    i = rec.first("open")
    rec.resign(i, {"booth": {"booth.js": "not a digest"}})
    rec.save()


@case("V06")
def _close_miscounts_ballots(outcome: DemoOutcome, path: Path) -> None:
    rec = Rec(outcome, path)
    i = rec.first("close")
    d = rec.data(i)
    d["ballots"] += 1
    rec.resign(i, d)
    rec.save()


# --- V07 / V08 / V09 ------------------------------------------------------------------


@case("V07")
def _coefficient_proof_changed(outcome: DemoOutcome, path: Path) -> None:
    rec = Rec(outcome, path)
    i = rec.first("guardian_key")
    d = rec.data(i)
    p = d["proofs"][1]
    p["response"] = tl.bump_scalar(tl.group(outcome), p["response"])
    rec.resign(i, d)
    rec.save()


@case("V08")
def _verification_key_changed(outcome: DemoOutcome, path: Path) -> None:
    # The guardian that took no part in the decryption, so only the ceremony is at fault.
    rec = Rec(outcome, path)
    used = decrypting_guardians(rec)
    i = next(
        i
        for i in tl.indices_of(rec.entries, "guardian_ready")
        if rec.entries[i].data["guardian"] not in used
    )
    d = rec.data(i)
    d["verification_key"] = tl.other_element(tl.group(outcome), d["verification_key"])
    rec.resign(i, d)
    rec.save()


@case("V09")
def _context_hash_changed(outcome: DemoOutcome, path: Path) -> None:
    rec = Rec(outcome, path)
    i = rec.first("election_context")
    d = rec.data(i)
    d["context_hash"] = d["context_hash"][:-1] + ("0" if d["context_hash"][-1] != "0" else "1")
    rec.resign(i, d)
    rec.save()


# --- V10 ------------------------------------------------------------------------------


@case("V10")
def _duplicated_credential(outcome: DemoOutcome, path: Path) -> None:
    rec = Rec(outcome, path)
    i = rec.first("credential_list")
    d = rec.data(i)
    d["credentials"] = sorted([*d["credentials"], d["credentials"][0]])
    d["count"] += 1
    rec.resign(i, d)
    rec.save()


@case("V10")
def _credential_listed_in_two_regions(outcome: DemoOutcome, path: Path) -> None:
    rec = Rec(outcome, path)
    lists = tl.indices_of(rec.entries, "credential_list")
    src, dst = rec.entries[lists[0]], lists[1]
    spare = tl.unused_credentials(outcome, rec.entries, src.data["region"])[0]
    d = rec.data(dst)
    d["credentials"] = sorted([*d["credentials"], spare])
    d["count"] += 1
    rec.resign(dst, d)
    rec.save()


# --- V11 .. V15: ballots --------------------------------------------------------------


@case("V11", "V17", "V18", "V19")
def _non_member_element(outcome: DemoOutcome, path: Path) -> None:
    # The ballot is counted, so the tally cannot be recomputed without it (V17..V19).
    rec = Rec(outcome, path)
    i = rec.first("ballot")
    d = rec.data(i)
    d["answers"][0]["choices"][0]["alpha"] = "ff" * 32  # not a ristretto255 encoding
    rec.resign(i, d)
    rec.save()


@case("V12")
def _credential_dropped_from_list(outcome: DemoOutcome, path: Path) -> None:
    rec = Rec(outcome, path)
    b = rec.entries[rec.first("ballot")]
    i = next(
        i
        for i in tl.indices_of(rec.entries, "credential_list")
        if rec.entries[i].data["region"] == b.data["region"]
    )
    d = rec.data(i)
    d["credentials"].remove(b.data["credential"])
    d["count"] -= 1
    rec.resign(i, d)
    rec.save()


@case("V12", "V13")
def _unlisted_credential(outcome: DemoOutcome, path: Path) -> None:
    # The ballot proofs bind the credential, so they fail with it (V13).
    rec = Rec(outcome, path)
    i = rec.first("ballot")
    key = Ed25519PrivateKey.generate()
    d = rec.data(i)
    d["credential"] = key_to_b64(key)
    rec.entries[i] = tl.resign(rec.entries[i], key, tl.election_id(outcome), d)
    rec.save()


@case("V13")
def _ballot_proof_scalar_changed(outcome: DemoOutcome, path: Path) -> None:
    rec = Rec(outcome, path)
    i = rec.first("ballot")
    d = rec.data(i)
    branch = d["answers"][0]["choices"][0]["proof"][0]
    branch["s"] = tl.bump_scalar(tl.group(outcome), branch["s"])
    rec.resign(i, d)
    rec.save()


@case("V14")
def _tracking_code_changed(outcome: DemoOutcome, path: Path) -> None:
    rec = Rec(outcome, path)
    i = rec.first("ballot")
    d = rec.data(i)
    code = d["tracking_code"]
    d["tracking_code"] = code[:-1] + ("0" if code[-1] != "0" else "1")
    rec.resign(i, d)
    rec.save()


@case("V14", "V16")
def _ballot_replayed(outcome: DemoOutcome, path: Path) -> None:
    # The same signed ballot twice: one counted ballot per credential still holds, and
    # the close, tally, shares and result are restated for the shifted indices. The copy
    # replaces what the original replaced, not the original: it does not extend its
    # credential's revote chain either (V16).
    rec = Rec(outcome, path)
    i = rec.first("ballot")
    rec.entries.insert(i + 1, rec.entries[i])
    rec.entries = tl.fix_indices(outcome, rec.entries)
    rec.save()


@case("V15")
def _ballot_before_the_window(outcome: DemoOutcome, path: Path) -> None:
    rec = Rec(outcome, path)
    o, b = rec.first("open"), rec.first("ballot")
    opens = rec.entries[o].when
    for j in range(o, b + 1):  # keep time going forwards
        t = opens - timedelta(minutes=30) + timedelta(seconds=j - o)
        rec.entries[j] = tl.retime(rec.entries[j], format_time(t))
    rec.save()


# --- V16 .. V19: counting -------------------------------------------------------------


@case("V16")
def _tally_counted_changed(outcome: DemoOutcome, path: Path) -> None:
    rec = Rec(outcome, path)
    i = rec.first("tally")
    d = rec.data(i)
    region = sorted(d["counted"])[0]
    d["counted"][region] += 1
    rec.resign(i, d)
    rec.save()


@case("V16", "V12")
def _more_counted_than_credentials(outcome: DemoOutcome, path: Path) -> None:
    # One counted ballot per credential: more ballots than credentials needs a ballot
    # whose credential is not listed (V12).
    rec = Rec(outcome, path)
    i = rec.first("credential_list")
    d = rec.data(i)
    for spare in tl.unused_credentials(outcome, rec.entries, d["region"]):
        d["credentials"].remove(spare)
    d["credentials"].pop()  # and one more, so a voter's credential too
    d["count"] = len(d["credentials"])
    rec.resign(i, d)
    rec.save()


@case("V16")
def _ballot_does_not_extend_its_chain(outcome: DemoOutcome, path: Path) -> None:
    # A voter's revoted credential: after its last ballot, a ballot that replaces its
    # first one (built on a head read before the revote, never acknowledged), signed by
    # the voter, appended by a board that ignores the chain. It is not counted, so the
    # tally, shares and result restated for the shifted indices still hold.
    from plebiscite.election.booth import cast, encrypt_ballot

    rec = Rec(outcome, path)
    ballots: dict[str, list[int]] = {}
    for i in tl.indices_of(rec.entries, "ballot"):
        ballots.setdefault(rec.entries[i].data["credential"], []).append(i)
    first, *_, last = next(ix for ix in ballots.values() if len(ix) > 1)
    b = rec.entries[last]
    pub, region = b.data["credential"], b.data["region"]
    ctx, jk = outcome.organiser.context()
    m = outcome.organiser.manifest
    choices = {q.id: [q.options[0]] for q in m.region_questions(region)}
    stale = rec.entries[first].data["tracking_code"]
    x = encrypt_ballot(tl.group(outcome), m, ctx, jk, region, choices, pub, stale)
    signed = cast(x, tl.election_id(outcome), tl.voter_key(outcome, pub)).at(b.time)
    rec.entries.insert(last + 1, signed)
    rec.entries = tl.recount(outcome, rec.entries)
    rec.save()


@case("V17")
def _tally_ciphertext_replaced(outcome: DemoOutcome, path: Path) -> None:
    rec = Rec(outcome, path)
    i = rec.first("tally")
    d = rec.data(i)
    region = sorted(d["regions"])[0]
    question = sorted(d["regions"][region])[0]
    slot = sorted(d["regions"][region][question])[0]
    ct = d["regions"][region][question][slot]
    ct["beta"] = tl.other_element(tl.group(outcome), ct["beta"])
    rec.resign(i, d)
    rec.save()


@case("V18", "V19")
def _share_proof_changed(outcome: DemoOutcome, path: Path) -> None:
    # Only a quorum decrypted, so the result lacks a valid share set too (V19).
    rec = Rec(outcome, path)
    i = rec.first("decryption_share")
    d = rec.data(i)
    region = sorted(d["shares"])[0]
    question = sorted(d["shares"][region])[0]
    slot = sorted(d["shares"][region][question])[0]
    proof = d["shares"][region][question][slot]["proof"]
    proof["response"] = tl.bump_scalar(tl.group(outcome), proof["response"])
    rec.resign(i, d)
    rec.save()


@case("V19")
def _result_count_changed(outcome: DemoOutcome, path: Path) -> None:
    rec = Rec(outcome, path)
    i = rec.first("result")
    d = rec.data(i)
    region = sorted(d["counts"])[0]
    question = sorted(d["counts"][region])[0]
    slot = sorted(d["counts"][region][question])[0]
    d["counts"][region][question][slot] += 1
    rec.resign(i, d)
    rec.save()


# --- V20 ------------------------------------------------------------------------------


@case("V20")
def _challenged_choice_changed(outcome: DemoOutcome, path: Path) -> None:
    # Challenged ballots are anonymous: only the board's checkpoints vouch for them.
    rec = Rec(outcome, path)
    i = rec.first("challenged_ballot")
    d = rec.data(i)
    q = outcome.organiser.manifest.questions[d["answers"][0]["question"]]
    old = d["answers"][0]["choices"]
    d["answers"][0]["choices"] = [next(s for s in q.slots if [s] != old)]
    rec.entries[i] = Entry(rec.entries[i].type, rec.entries[i].time, d, None, None)
    rec.save()


# --- V21 / V22 ------------------------------------------------------------------------


@case("V21", *(ALL - {"V01", "V02", "V03", "V04", "V21"}))
def _guardians_in_one_jurisdiction(outcome: DemoOutcome, path: Path) -> None:
    # Two of the three guardians moved into the organiser's jurisdiction: a quorum of
    # them could decrypt alone (a new referendum file, so a new election id: every other
    # party's signature stops holding).
    rec = Rec(outcome, path)
    d = rec.data(0)
    home = d["manifest"]["organiser"]["jurisdiction"]
    for member in d["manifest"]["guardians"]["members"][:2]:
        member["jurisdiction"] = home
    rec.resign(0, d)
    rec.save()


@case("V22")
def _too_few_witnesses(outcome: DemoOutcome, path: Path) -> None:
    # The board re-signed its history after a change; one witness colludes, the others
    # never cosigned it.
    rec = Rec(outcome, path)
    rec.save()
    lines = (path / "cosignatures.jsonl").read_bytes().split(b"\n")
    one = sorted(tl.witness_keys(outcome))[0].encode()
    kept = [x for x in lines if x and b'"witness":"' + one + b'"' in x]
    (path / "cosignatures.jsonl").write_bytes(b"".join(x + b"\n" for x in kept))


@case("V22")
def _forged_cosignature(outcome: DemoOutcome, path: Path) -> None:
    import base64
    import json

    lines = (path / "cosignatures.jsonl").read_text().splitlines()
    cs = json.loads(lines[0])
    sig = bytearray(base64.b64decode(cs["signature"]))
    sig[0] ^= 1
    cs["signature"] = base64.b64encode(bytes(sig)).decode()
    lines[0] = json.dumps(cs, sort_keys=True, separators=(",", ":"))
    (path / "cosignatures.jsonl").write_text("\n".join(lines) + "\n")


def _after_open(outcome: DemoOutcome, path: Path) -> Any:
    """The first checkpoint that covers the open entry."""
    entries = tl.load_entries(path)
    opened = tl.indices_of(entries, "open")[0]
    return next(cp for cp in tl.load_checkpoints(path) if cp.size > opened)


def _cosignature_lines(path: Path) -> list[bytes]:
    return [x for x in (path / "cosignatures.jsonl").read_bytes().split(b"\n") if x]


@case("V22")
def _no_quorum_after_the_open(outcome: DemoOutcome, path: Path) -> None:
    # The witnesses' cosignatures of the first checkpoint after the open are dropped:
    # nobody vouches that the board showed the open when it says.
    from plebiscite.board.cosign import Cosignature
    from plebiscite.record.canonical import loads

    cp = _after_open(outcome, path)
    kept = [x for x in _cosignature_lines(path) if not Cosignature.from_json(loads(x)).about(cp)]
    (path / "cosignatures.jsonl").write_bytes(b"".join(x + b"\n" for x in kept))


@case("V22")
def _untimely_cosignatures_after_the_open(outcome: DemoOutcome, path: Path) -> None:
    # The witnesses cosigned the first checkpoint after the open, validly, but their
    # clocks read 301 s past its time (max_skew_s 300): they cannot vouch for its time.
    from plebiscite.board.cosign import Cosignature, cosign
    from plebiscite.record.canonical import canonical_bytes, loads
    from plebiscite.record.entries import parse_entry_time

    cp = _after_open(outcome, path)
    late = format_time(parse_entry_time(cp.time) + timedelta(seconds=301))
    keys = tl.witness_keys(outcome)
    out = []
    for line in _cosignature_lines(path):
        cs = Cosignature.from_json(loads(line))
        if cs.about(cp):
            line = canonical_bytes(cosign(keys[cs.witness], cs.witness, cp, late).to_json())
        out.append(line)
    (path / "cosignatures.jsonl").write_bytes(b"".join(x + b"\n" for x in out))


# --- V23 ------------------------------------------------------------------------------


@case("V23", "V05")  # V05: the lists are not signed by the authority
def _organiser_is_its_own_credential_authority(outcome: DemoOutcome, path: Path) -> None:
    # The board's key signs the credential lists: the organiser, which holds the sign-in
    # codes, would hold the credentials too and could vote for everyone.
    rec = Rec(outcome, path)
    for i in tl.indices_of(rec.entries, "credential_list"):
        rec.entries[i] = tl.resign(rec.entries[i], tl.board_key(outcome), tl.election_id(outcome))
    rec.save()


@case("V23", *(ALL - {"V01", "V02", "V03", "V04", "V21", "V23"}))
def _not_a_demo_yet_unpinned(outcome: DemoOutcome, path: Path) -> None:
    # The referendum entry no longer says "demo", but the file pins no party's key: any
    # first comer could have taken a role (a new election id: every other party's
    # signature stops holding).
    rec = Rec(outcome, path)
    d = rec.data(0)
    d["demo"] = False
    rec.resign(0, d)
    rec.save()


# --- malformed data, signed by the right party: reported, never raised --------------------
#
# Each of these once made the verifier crash with a traceback instead of failing a check.

MALFORMED: list[Any] = []


def malformed(check: str) -> Callable[[Tamper], Tamper]:
    def register(fn: Tamper) -> Tamper:
        name = fn.__name__.removeprefix("_").replace("_", "-")
        MALFORMED.append(pytest.param(check, fn, id=f"{check}-{name}"))
        return fn

    return register


def _replace(outcome: DemoOutcome, path: Path, type_: str, change: Callable[[Any], None]) -> None:
    rec = Rec(outcome, path)
    i = rec.first(type_)
    d = rec.data(i)
    change(d)
    rec.resign(i, d)
    rec.save()


@malformed("V04")
def _question_id_not_text(outcome: DemoOutcome, path: Path) -> None:
    def change(d: Any) -> None:
        d["manifest"]["regions"][0]["questions"] = [[]]

    _replace(outcome, path, "referendum", change)


@malformed("V10")
def _list_region_not_text(outcome: DemoOutcome, path: Path) -> None:
    def change(d: Any) -> None:
        d["region"] = [d["region"]]

    _replace(outcome, path, "credential_list", change)


@malformed("V10")
def _credential_not_text(outcome: DemoOutcome, path: Path) -> None:
    def change(d: Any) -> None:
        d["credentials"][0] = None

    _replace(outcome, path, "credential_list", change)


@malformed("V12")
def _ballot_credential_not_text(outcome: DemoOutcome, path: Path) -> None:
    rec = Rec(outcome, path)
    i = rec.first("ballot")
    key = tl.voter_key(outcome, rec.entries[i].data["credential"])
    d = rec.data(i)
    d["credential"] = []
    rec.entries[i] = tl.resign(rec.entries[i], key, tl.election_id(outcome), d)
    rec.save()


@malformed("V17")
def _malformed_counted_ballot_without_context(outcome: DemoOutcome, path: Path) -> None:
    # No election context (V09 cannot run), so V11 never looked at the ballots.
    rec = Rec(outcome, path)
    i = rec.first("guardian_key")
    d = rec.data(i)
    d["index"] = 99
    rec.resign(i, d)
    b = tl.indices_of(rec.entries, "ballot")[-1]
    d = rec.data(b)
    d["answers"] = [1]
    rec.resign(b, d)
    rec.save()


@malformed("V19")
def _result_guardian_not_text(outcome: DemoOutcome, path: Path) -> None:
    def change(d: Any) -> None:
        d["guardians"] = [[g] for g in d["guardians"]]

    _replace(outcome, path, "result", change)


@malformed("V19")
def _result_counts_not_an_object(outcome: DemoOutcome, path: Path) -> None:
    def change(d: Any) -> None:
        region = sorted(d["counts"])[0]
        question = sorted(d["counts"][region])[0]
        d["counts"][region][question] = sorted(d["counts"][region][question])

    _replace(outcome, path, "result", change)


@malformed("V19")
def _result_counts_null(outcome: DemoOutcome, path: Path) -> None:
    def change(d: Any) -> None:
        region = sorted(d["counts"])[0]
        d["counts"][region][sorted(d["counts"][region])[0]] = None

    _replace(outcome, path, "result", change)


# --- the tests ------------------------------------------------------------------------


def test_the_untouched_record_passes_every_check(record_copy: Path) -> None:
    report = verify(record_copy)
    assert not report.failed, details(report)
    assert report.ok and report.to_json()["verdict"] == "verified"
    # The seeded demo has ballots and challenged ballots, so every check really ran.
    assert all(c.status == "passed" for c in report.checks), [
        (c.id, c.status) for c in report.checks
    ]
    assert report.summary["challenged"] > 0


def test_every_check_has_a_failing_case() -> None:
    covered = {p.values[0] for p in CASES}
    assert covered == ALL


@pytest.mark.parametrize(("check", "tamper", "also"), CASES)
def test_check_fails(
    check: str,
    tamper: Tamper,
    also: frozenset[str],
    demo_outcome: DemoOutcome,
    record_copy: Path,
) -> None:
    tamper(demo_outcome, record_copy)
    report = verify(record_copy)
    assert report.status_of(check) == "failed", details(report)
    assert not report.ok and report.to_json()["verdict"] == "failed"
    unexpected = failed_ids(report) - {check} - also
    assert not unexpected, details(report)


@pytest.mark.parametrize(
    ("check", "tamper"),
    [("V13", _ballot_proof_scalar_changed), ("V19", _result_count_changed)],
    ids=["V13", "V19"],
)
def test_cli_names_the_failed_check(
    check: str,
    tamper: Tamper,
    demo_outcome: DemoOutcome,
    record_copy: Path,
    run_cli: Callable[..., tuple[int, str, str]],
) -> None:
    tamper(demo_outcome, record_copy)
    code, out, _ = run_cli("verify", record_copy)
    assert code == 1
    assert check in out and "FAILED" in out

    code, out, err = run_cli("verify", "--json", record_copy)
    assert code == 1
    report = json.loads(out)
    assert report["verdict"] == "failed"
    failed = [c["id"] for c in report["checks"] if c["status"] == "failed"]
    assert failed == [check]
    assert check in err


@pytest.mark.parametrize(("check", "tamper"), MALFORMED)
def test_malformed_data_is_reported_not_raised(
    check: str, tamper: Tamper, demo_outcome: DemoOutcome, record_copy: Path
) -> None:
    tamper(demo_outcome, record_copy)
    report = verify(record_copy)  # must not raise
    assert report.status_of(check) == "failed", details(report)
    assert report.to_json()["verdict"] == "failed"


# --- a signed value replaced by its bool twin ------------------------------------------------


@pytest.fixture(scope="module")
def small_outcome(tmp_path_factory: pytest.TempPathFactory) -> DemoOutcome:
    """A demo with one voter per region, so that a list can hold a single credential."""
    from plebiscite.election.demo import run_demo

    base = tmp_path_factory.mktemp("small-demo")
    out = run_demo(base / "data", base / "record", voters=1, seed=1)
    out.organiser.close_store()
    return out


def test_credential_count_true_for_one_fails_v10(
    small_outcome: DemoOutcome, tmp_path: Path
) -> None:
    """``"count": true`` for a list of one credential, re-signed by the authority: Python's
    ``True == 1`` let it pass; V10 compares as JSON does."""
    import shutil

    record = tmp_path / "record"
    shutil.copytree(small_outcome.record, record)
    entries = tl.load_entries(record)
    i = tl.indices_of(entries, "credential_list")[0]
    d = copy.deepcopy(entries[i].data)
    unused = set(tl.unused_credentials(small_outcome, entries, d["region"]))
    d["credentials"] = [c for c in d["credentials"] if c not in unused]
    assert len(d["credentials"]) == 1
    eid = tl.election_id(small_outcome)
    failed: list[set[str]] = []  # not a dict keyed by count: there too True == 1
    for count in (1, True):
        changed = list(entries)
        changed[i] = tl.resign(entries[i], tl.authority_key(small_outcome), eid,
                               {**d, "count": count})  # fmt: skip
        tl.save(record, changed, tl.board_key(small_outcome), tl.witness_keys(small_outcome))
        failed.append(failed_ids(verify(record)))
    assert failed == [set(), {"V10"}]  # the honest one-credential list verifies
