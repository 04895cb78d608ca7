"""A board that shows two witnesses two histories is caught: gossip between them yields
a fraud proof anyone can check, neither branch reaches the witness quorum, and the
guardians refuse to decrypt a close that the quorum did not witness."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import tamperlib as tl
from plebiscite.board.fraud import check_fraud_proof
from plebiscite.election.keys import write_secret_json
from plebiscite.observe.witness import RecordSource, WitnessError, WitnessState, gossip, witness
from plebiscite.verify.checks import verify_record
from plebiscite.verify.reader import read_record


def _branch(demo_outcome, folder: Path, entries: list) -> Path:
    shutil.copytree(demo_outcome.record, folder)
    (folder / "cosignatures.jsonl").write_text("")
    tl.save(folder, entries, tl.board_key(demo_outcome))
    return folder


def test_forked_board(demo_outcome, tmp_path: Path, run_cli) -> None:
    entries = tl.load_entries(demo_outcome.record)
    close = tl.indices_of(entries, "close")[0]
    tally = tl.indices_of(entries, "tally")[0]
    keys = tl.witness_keys(demo_outcome)
    w1, w2, w3 = sorted(keys)[:3]

    # The board shows witness 1 the true history and witness 2 one without a ballot.
    last_ballot = max(i for i in tl.indices_of(entries, "ballot") if i < close)
    a = _branch(demo_outcome, tmp_path / "branch-a", entries[: close + 1])
    b = _branch(
        demo_outcome,
        tmp_path / "branch-b",
        entries[:last_ballot] + entries[last_ballot + 1 : close + 1],
    )
    s1, s2 = WitnessState(tmp_path / "w1"), WitnessState(tmp_path / "w2")
    cs1 = witness(RecordSource(a), keys[w1], w1, s1, tl.clock_at(a)).cosignatures[-1]
    cs2 = witness(RecordSource(b), keys[w2], w2, s2, tl.clock_at(b)).cosignatures[-1]
    assert cs1.checkpoint.root != cs2.checkpoint.root

    # Each witness alone saw nothing wrong; comparing notes exposes the fork.
    code, _, err = run_cli(
        "observe",
        "gossip",
        "--state",
        s1.folder,
        "--peer",
        s2.folder,
        "--fraud-proof",
        tmp_path / "fraud.json",
    )
    assert code == 1 and "forked" in err
    code, _, err = run_cli("observe", "check-proof", tmp_path / "fraud.json")
    assert code == 2 and "--record" in err  # a proof is about one referendum: name it
    code, out, err = run_cli("observe", "check-proof", tmp_path / "fraud.json", "--record", a)
    assert code == 0, err
    proof = json.loads((tmp_path / "fraud.json").read_text())
    assert check_fraud_proof(proof) is None
    # The proof is evidence only as it stands: alter it and it no longer proves a fork.
    proof["b"] = proof["a"]
    (tmp_path / "not-fraud.json").write_text(json.dumps(proof))
    code, _, _ = run_cli("observe", "check-proof", tmp_path / "not-fraud.json", "--record", a)
    assert code == 1
    try:
        gossip(s2, s1)
        raise AssertionError("gossip the other way round must also refuse")
    except WitnessError as exc:
        assert exc.fraud is not None and check_fraud_proof(exc.fraud) is None

    # Each branch carries one cosignature of its close checkpoint: below the quorum of 2.
    for folder, cs in ((a, cs1), (b, cs2)):
        (folder / "cosignatures.jsonl").write_text(
            json.dumps(cs.to_json(), sort_keys=True, separators=(",", ":")) + "\n"
        )

    # The organiser goes on with branch A: the tally; the guardians refuse to decrypt.
    tl.save(a, entries[: tally + 1], tl.board_key(demo_outcome))
    report = verify_record(read_record(a), workers=1)
    assert report.status_of("V22") == "failed"
    gd = demo_outcome.guardians[0]
    write_secret_json(tmp_path / "g1.state", gd.to_json())
    code, _, err = run_cli(
        "guardian",
        "decrypt",
        "--record",
        a,
        "--state",
        tmp_path / "g1.state",
        "--insecure-plaintext",
        "--out",
        tmp_path / "d.json",
        "--wait",
        "0",
    )
    assert code == 3 and "not yet witnessed (1 of 2): run again" in err, err

    # Control: once a second witness cosigns branch A's close, the guardian decrypts.
    s3 = WitnessState(tmp_path / "w3")
    before = RecordSource(a)
    close_only = _branch(demo_outcome, tmp_path / "close-only", entries[: close + 1])
    cs3 = witness(RecordSource(close_only), keys[w3], w3, s3, tl.clock_at(close_only))
    cs3 = cs3.cosignatures[-1]
    assert cs3.about(cs1.checkpoint)
    with (a / "cosignatures.jsonl").open("a") as f:
        f.write(json.dumps(cs3.to_json(), sort_keys=True, separators=(",", ":")) + "\n")
    assert before.cosignatures()  # the record now has two cosignatures of its close
    code, _, err = run_cli(
        "guardian",
        "decrypt",
        "--record",
        a,
        "--state",
        tmp_path / "g1.state",
        "--insecure-plaintext",
        "--out",
        tmp_path / "d.json",
    )
    assert code == 0, err


def test_witness_refuses_a_rewritten_history(demo_outcome, tmp_path: Path, run_cli) -> None:
    entries = tl.load_entries(demo_outcome.record)
    close = tl.indices_of(entries, "close")[0]
    keys = tl.witness_keys(demo_outcome)
    wid = sorted(keys)[0]
    key_file = tmp_path / "w.key"
    from plebiscite.election.keys import seed_of

    write_secret_json(key_file, {"signing_key": seed_of(keys[wid])})
    rec = _branch(demo_outcome, tmp_path / "rec", entries[:close])
    code, out, err = run_cli(
        "observe",
        "witness",
        "--record",
        rec,
        "--key",
        key_file,
        "--insecure-plaintext",
        "--state",
        tmp_path / "state",
        "--out",
        tmp_path / "cs.json",
        "--now",
        tl.latest_time(rec),
    )
    assert code == 0, err
    # The board then rewrites an entry the witness already cosigned, and extends.
    forged = list(entries[: close + 1])
    forged.pop(close - 1)
    tl.save(rec, forged, tl.board_key(demo_outcome))
    code, _, err = run_cli(
        "observe",
        "witness",
        "--record",
        rec,
        "--key",
        key_file,
        "--insecure-plaintext",
        "--state",
        tmp_path / "state",
        "--fraud-proof",
        tmp_path / "f.json",
        "--now",
        tl.latest_time(rec),
    )
    assert code == 1 and "forked" in err
    code, _, err = run_cli("observe", "check-proof", tmp_path / "f.json", "--record", rec)
    assert code == 0, err
    # A fork is a fork whatever the clocks say: not a "not now" refusal.
    code, _, err = run_cli(
        "observe", "witness", "--record", rec, "--key", key_file, "--state", tmp_path / "state",
        "--insecure-plaintext", "--now", "2020-01-01T00:00:00Z",
    )  # fmt: skip
    assert code == 1 and "forked" in err
