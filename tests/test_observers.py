"""Observers in the referendum: jurisdiction rules, accreditation after set-up,
attestations shown with the results."""

from __future__ import annotations

import base64
import dataclasses
import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

import tamperlib as tl
from plebiscite.board.checkpoint import sign_checkpoint
from plebiscite.board.cosign import Cosignature, verify_cosignature
from plebiscite.election.clock import SimulatedClock
from plebiscite.election.demo import builtin_manifest
from plebiscite.election.keys import seed_of, write_secret_json
from plebiscite.observe.witness import RecordSource, WitnessState, witness
from plebiscite.record.entries import format_time, key_to_b64, parse_entry_time, signed_message
from plebiscite.record.manifest import jurisdiction_problems, parse_manifest
from plebiscite.record.protocol import dispute_problem


def _with_guardians(jurisdictions: list[str], **rules: object) -> dict:
    m = builtin_manifest()
    m["guardians"] = {
        "count": len(jurisdictions),
        "quorum": 2,
        "members": [
            {"id": f"g{i}", "name": f"Guardian {i}", "jurisdiction": j}
            for i, j in enumerate(jurisdictions, start=1)
        ],
        **rules,
    }
    return m


def test_jurisdiction_rules() -> None:
    ok = parse_manifest(
        _with_guardians(["UK", "NO", "IS"], min_jurisdictions=2, organiser_cannot_decrypt=True)
    )
    assert jurisdiction_problems(ok) == []
    two_uk = parse_manifest(_with_guardians(["UK", "UK", "IS"], organiser_cannot_decrypt=True))
    assert "organiser's jurisdiction" in jurisdiction_problems(two_uk)[0]
    narrow = parse_manifest(_with_guardians(["NO", "NO", "IS", "IS"], min_jurisdictions=2))
    assert "only 1 jurisdiction" in jurisdiction_problems(narrow)[0]
    wide = parse_manifest(_with_guardians(["NO", "SE", "IS", "FI"], min_jurisdictions=2))
    assert jurisdiction_problems(wide) == []


def test_ceremony_breaking_the_jurisdiction_rule_is_refused(tmp_path: Path, run_cli) -> None:
    f = tmp_path / "m.json"
    f.write_text(json.dumps(_with_guardians(["UK", "UK", "IS"], organiser_cannot_decrypt=True)))
    code, _, err = run_cli("organiser", "init", "--manifest", f, "--data", tmp_path / "d")
    assert code == 2 and "jurisdiction rules" in err
    code, _, err = run_cli("demo", "--manifest", f, "--record", tmp_path / "r")
    assert code == 2 and "jurisdiction" in err
    assert not (tmp_path / "d" / "board.sqlite").exists()


def test_accreditation_after_setup_and_results_show_observers(
    demo_outcome, tmp_path: Path, run_cli
) -> None:
    rec = tmp_path / "rec"
    shutil.copytree(demo_outcome.record, rec)
    keys = demo_outcome.observer_keys
    # The demo accredited a press association after set-up: it may attest like the
    # observers declared in the referendum file.
    for oid in ("osce-odihr", "press-1"):
        write_secret_json(tmp_path / f"{oid}.key", {"signing_key": seed_of(keys[oid])})
        code, _, err = run_cli(
            "observe",
            "attest",
            rec,
            "--key",
            tmp_path / f"{oid}.key",
            "--insecure-plaintext",
            "--recognise",
            "--out",
            tmp_path / f"{oid}.json",
            "--id",
            oid,
        )
        assert code == 0, err
        code, _, err = run_cli("observe", "publish", tmp_path / f"{oid}.json", rec)
        assert code == 0, err
    code, out, err = run_cli("results", rec, "--workers", "1")
    assert code == 0, err
    assert "1 independent observer(s) declared in the referendum file verified" in out
    assert "and 1 observer(s) accredited later by the organiser" in out
    assert "OSCE/ODIHR" in out and "recognise" in out


def test_organiser_accredit_command(tmp_path: Path, run_cli) -> None:
    from conftest import TEST_PASSPHRASE
    from enrol import pin

    f = tmp_path / "m.json"
    raw = builtin_manifest()
    pin(raw, tmp_path / "keys", TEST_PASSPHRASE)
    f.write_text(json.dumps(raw))
    assert run_cli("organiser", "init", "--manifest", f, "--data", tmp_path / "d")[0] == 0
    code, pub, _ = run_cli("observe", "keygen", "--out", tmp_path / "o.key")
    obs = {
        "id": "eu",
        "name": "EU EOM",
        "kind": "international organisation",
        "jurisdiction": "EU",
        "public_key": pub.strip().splitlines()[-1],
    }
    (tmp_path / "o.json").write_text(json.dumps(obs))
    code, _, err = run_cli(
        "organiser", "accredit", "--data", tmp_path / "d", "--observer", tmp_path / "o.json"
    )
    assert code == 0, err
    code, _, err = run_cli(
        "organiser", "accredit", "--data", tmp_path / "d", "--observer", tmp_path / "o.json"
    )
    assert code == 2 and "already" in err
    (tmp_path / "bad.json").write_text(json.dumps({**obs, "id": "x", "public_key": "nope"}))
    code, _, err = run_cli(
        "organiser", "accredit", "--data", tmp_path / "d", "--observer", tmp_path / "bad.json"
    )
    assert code == 2 and "public_key" in err


def test_check_receipt_relies_only_on_witnessed_checkpoints(
    demo_outcome, tmp_path: Path, run_cli
) -> None:
    rec = tmp_path / "rec"
    shutil.copytree(demo_outcome.record, rec)
    receipt = dict(demo_outcome.receipts[0], referendum="demo")
    (tmp_path / "r.json").write_text(json.dumps(receipt))
    code, out, err = run_cli("check-receipt", tmp_path / "r.json", "--record", rec)
    assert code == 0, err
    (rec / "cosignatures.jsonl").write_text("")  # the witnesses never cosigned
    code, _, err = run_cli("check-receipt", tmp_path / "r.json", "--record", rec)
    assert code == 1 and "witness quorum" in err


# --- witnesses keep time and follow --------------------------------------------------------


def _prefix(record: Path, folder: Path, checkpoints: int) -> Path:
    """The board as it stood at its ``checkpoints``-th checkpoint (no cosignatures)."""
    cps = tl.load_checkpoints(record)[:checkpoints]
    folder.mkdir()
    lines = (record / "entries.jsonl").read_bytes().split(b"\n")[: cps[-1].size]
    (folder / "entries.jsonl").write_bytes(b"".join(x + b"\n" for x in lines))
    tl.write_checkpoints(folder, cps)
    (folder / "cosignatures.jsonl").write_text("")
    return folder


def _key_file(demo_outcome, tmp_path: Path) -> tuple[str, Path]:
    wid = sorted(tl.witness_keys(demo_outcome))[0]
    path = tmp_path / f"{wid}.key"
    write_secret_json(path, {"signing_key": seed_of(tl.witness_keys(demo_outcome)[wid])})
    return wid, path


def test_witness_cosigns_every_checkpoint_since_its_last(demo_outcome, tmp_path: Path) -> None:
    cps = tl.load_checkpoints(demo_outcome.record)
    wid = sorted(tl.witness_keys(demo_outcome))[0]
    key = tl.witness_keys(demo_outcome)[wid]
    state = WitnessState(tmp_path / "w")
    early = _prefix(demo_outcome.record, tmp_path / "early", 5)

    first = witness(RecordSource(early), key, wid, state, tl.clock_at(early))
    assert [cs.checkpoint for cs in first.cosignatures] == cps[:5]
    later = tl.clock_at(demo_outcome.record)
    second = witness(RecordSource(demo_outcome.record), key, wid, state, later)
    assert [cs.checkpoint for cs in second.cosignatures] == cps[5:]
    for cs in first.cosignatures + second.cosignatures:
        assert verify_cosignature(cs) and cs.witness == wid
    assert {cs.witness_time for cs in second.cosignatures} == {format_time(later.now())}
    assert second.cosignatures[-1].timely(300) and not second.cosignatures[0].timely(300)
    assert state.last == cps[-1] and first.disputes == second.disputes == []
    # Nothing new: nothing cosigned twice.
    third = witness(RecordSource(demo_outcome.record), key, wid, state, later)
    assert third.cosignatures == [] and third.last == cps[-1]


def test_witness_refuses_checkpoint_times_going_backwards(
    demo_outcome, tmp_path: Path, run_cli
) -> None:
    rec = tmp_path / "rec"
    shutil.copytree(demo_outcome.record, rec)
    cps = tl.load_checkpoints(rec)
    k = len(cps) // 2
    back = parse_entry_time(cps[k - 1].time) - timedelta(seconds=1)
    cp = cps[k]
    cps[k] = sign_checkpoint(
        tl.board_key(demo_outcome), cp.origin, cp.size, cp.root, format_time(back)
    )
    tl.write_checkpoints(rec, cps)
    wid, key = _key_file(demo_outcome, tmp_path)
    code, out, err = run_cli(
        "observe", "witness", "--record", rec, "--key", key, "--state", tmp_path / "s",
        "--insecure-plaintext", "--now", tl.latest_time(rec),
    )  # fmt: skip
    assert code == 1 and "times go backwards" in err and out == ""
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "s" / "state.json").exists()


def test_witness_refuses_a_board_whose_time_disagrees_with_its_clock(
    demo_outcome, tmp_path: Path, run_cli
) -> None:
    wid, key = _key_file(demo_outcome, tmp_path)
    rec = demo_outcome.record
    latest = parse_entry_time(tl.latest_time(rec))

    def run(now: datetime) -> tuple[int, str, str]:
        return run_cli(
            "observe", "witness", "--record", rec, "--key", key, "--state", tmp_path / "s",
            "--insecure-plaintext", "--now", format_time(now),
        )  # fmt: skip

    # A checkpoint dated more than max_skew_s (300 s) ahead of this witness's clock.
    code, out, err = run(latest - timedelta(seconds=301))
    assert code == 3 and out == "" and len(err.strip().splitlines()) == 1
    assert "is 301 s ahead of this witness's clock" in err and "(max_skew_s 300)" in err
    # A latest checkpoint more than max_skew_s behind it (a folder cannot sign a fresh one).
    code, out, err = run(latest + timedelta(hours=1))
    assert code == 3 and out == "" and len(err.strip().splitlines()) == 1
    assert "is 3600 s behind this witness's clock" in err and "(max_skew_s 300)" in err
    assert not (tmp_path / "s" / "state.json").exists()
    # Within the skew either way: cosigned (one JSON line per checkpoint on stdout).
    code, out, err = run(latest + timedelta(seconds=299))
    assert code == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == len(tl.load_checkpoints(rec))
    assert Cosignature.from_json(json.loads(lines[-1])).timely(300)
    # Bad clocks and options are unusable input.
    code, _, err = run_cli(
        "observe", "witness", "--record", rec, "--key", key, "--state", tmp_path / "s",
        "--insecure-plaintext", "--now", "yesterday",
    )  # fmt: skip
    assert code == 2 and "--now" in err
    code, _, err = run_cli(
        "observe", "witness", "--record", rec, "--key", key, "--state", tmp_path / "s",
        "--insecure-plaintext", "--until", "2027-03-08T00:00:00Z",
    )  # fmt: skip
    assert code == 2 and "--follow" in err


class _FreshBoard(RecordSource):
    """A recorded board that, like the server, signs a same-size checkpoint on request."""

    def __init__(self, path: Path, key: Any, clock: SimulatedClock) -> None:
        super().__init__(path)
        self.key, self.clock, self.asked = key, clock, 0
        self.disputes: list[Any] = []

    def fresh(self) -> None:
        self.asked += 1
        cps = tl.load_checkpoints(self.path)
        last = cps[-1]
        now = format_time(self.clock.now())
        cps.append(sign_checkpoint(self.key, last.origin, last.size, last.root, now))
        tl.write_checkpoints(self.path, cps)

    def post_dispute(self, sub: Any) -> None:
        self.disputes.append(sub)


def test_a_stale_latest_checkpoint_is_refreshed_then_cosigned(demo_outcome, tmp_path: Path) -> None:
    rec = tmp_path / "rec"
    shutil.copytree(demo_outcome.record, rec)
    before = tl.load_checkpoints(rec)
    # An hour after the board's latest checkpoint, on the board's and the witness's clock.
    clock = SimulatedClock(parse_entry_time(before[-1].time) + timedelta(hours=1))
    board = _FreshBoard(rec, tl.board_key(demo_outcome), clock)
    wid = sorted(tl.witness_keys(demo_outcome))[0]
    state = WitnessState(tmp_path / "w")
    done = witness(board, tl.witness_keys(demo_outcome)[wid], wid, state, clock)
    assert board.asked == 1
    fresh = tl.load_checkpoints(rec)[-1]
    assert fresh.size == before[-1].size and fresh.time == format_time(clock.now())
    assert done.cosignatures[-1].checkpoint == fresh and done.cosignatures[-1].timely(0)
    assert len(done.cosignatures) == len(before) + 1


def test_witness_disputes_a_failed_check_once_and_still_cosigns(
    demo_outcome, tmp_path: Path, run_cli
) -> None:
    rec = tmp_path / "rec"
    shutil.copytree(demo_outcome.record, rec)
    entries = tl.load_entries(rec)
    ballots = tl.indices_of(entries, "ballot")
    # A ballot carrying another ballot's signature (the board re-signs its checkpoints):
    # the log holds together, its content does not (V05).
    entries[ballots[0]] = dataclasses.replace(
        entries[ballots[0]], signature=entries[ballots[1]].signature
    )
    tl.save(rec, entries, tl.board_key(demo_outcome))
    wid = sorted(tl.witness_keys(demo_outcome))[0]
    key = tl.witness_keys(demo_outcome)[wid]
    state = WitnessState(tmp_path / "w")
    clock = tl.clock_at(rec)
    board = _FreshBoard(rec, tl.board_key(demo_outcome), clock)
    done = witness(board, key, wid, state, clock)
    assert len(done.cosignatures) == len(tl.load_checkpoints(rec))  # cosigned all the same
    assert [sub.data["check"] for sub in board.disputes] == ["V05"] == state.disputed
    sub = board.disputes[0]
    assert sub.type == "dispute" and sub.signer == key_to_b64(key)
    assert sub.data["about"] == "check" and "V05" in sub.data["evidence"]
    assert f"entry {ballots[0]}" in sub.data["evidence"]
    regions = {r["id"] for r in entries[0].data["manifest"]["regions"]}
    assert dispute_problem(sub.data, regions) is None
    eid = tl.election_id(demo_outcome)
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(sub.signer))
    public.verify(base64.b64decode(sub.signature), signed_message("dispute", eid, sub.data))
    # The board goes on (a fresh checkpoint later): cosigned, not disputed again.
    clock.advance(timedelta(hours=1))
    again = witness(board, key, wid, state, clock)
    assert again.cosignatures and board.disputes == [sub]

    # The command, on a folder: the signed dispute is kept for the organiser.
    _, key_file = _key_file(demo_outcome, tmp_path)
    code, out, err = run_cli(
        "observe", "witness", "--record", rec, "--key", key_file, "--state", tmp_path / "s",
        "--insecure-plaintext", "--now", tl.latest_time(rec),
    )  # fmt: skip
    assert code == 0, err
    assert f"{wid} disputed V05" in err and "hand it to the organiser" in err
    kept = json.loads((tmp_path / "s" / "disputes" / "V05.json").read_text())
    assert kept["type"] == "dispute" and kept["data"]["check"] == "V05"


def test_max_skew_s_is_an_optional_positive_number_of_seconds() -> None:
    from plebiscite.record.manifest import ManifestError, max_skew_s

    assert max_skew_s(parse_manifest(builtin_manifest())) == 300
    assert max_skew_s(parse_manifest({**builtin_manifest(), "max_skew_s": 60})) == 60
    for bad in (0, -5, "60", 1.5, True, 86401):
        try:
            parse_manifest({**builtin_manifest(), "max_skew_s": bad})
        except ManifestError as exc:
            assert "max_skew_s" in str(exc)
        else:
            raise AssertionError(f"max_skew_s {bad!r} accepted")
