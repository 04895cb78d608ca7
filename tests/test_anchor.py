"""Voters and observers anchor on the election in their letter: ``--election`` (id or
fingerprint) for ``vote``, ``check-receipt`` and ``check-booth``; ``organiser init``
prints both; ``check-booth`` compares the booth a server serves with its open entry;
``check-receipt`` counts only the witnesses the receipt's referendum declares."""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

import tamperlib as tl
from fakeserver import FakeServer
from plebiscite.board.merkle import MerkleTree, leaf_hash
from plebiscite.election.demo import DemoOutcome, builtin_manifest
from plebiscite.record.entries import election_fingerprint, election_id_of, key_to_b64

ANSWERS = "status=yes,capital=lerwick"


# --- a real server, in this process, serving its booth from a folder of the test's ------


@dataclass
class Served:
    url: str
    rid: str
    election_id: str
    static: Path  # the server's static folder, on its disk
    voters: list[dict[str, str]]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    """A demo referendum, open, on a real server (uvicorn in a thread) whose static
    files are a copy the test may change."""
    import uvicorn

    from plebiscite.server import pages
    from plebiscite.server.app import create_app
    from plebiscite.server.demo import create_demo
    from plebiscite.server.registry import Registry

    static = tmp_path / "static"
    shutil.copytree(pages.STATIC, static)
    monkeypatch.setattr(pages, "STATIC", static)
    registry = Registry(tmp_path / "data")
    ref, voters = create_demo(registry, builtin_manifest(), 2)
    port = _free_port()
    app = create_app(registry, demo=True, signin_limit=1000)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield Served(f"http://127.0.0.1:{port}", ref.id, ref.org.election_id, static, voters)
    finally:
        server.should_exit = True
        thread.join(30)
        registry.close()


# --- --election as people give it --------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    ["", "letter", "3f2a", "g" * 32, "0" * 31, "0" * 33, "0" * 63, "0" * 65, "0x" + "0" * 30],
)
def test_election_must_be_an_id_or_a_fingerprint(run_cli: Any, tmp_path: Path, bad: str) -> None:
    receipt = tmp_path / "r.json"
    receipt.write_text("{}")
    for args in (
        ("vote", "--server", "http://127.0.0.1:9", "--code", "AAAA-BBBB-CCCC",
         "--credential", "x", "--answers", ANSWERS),
        ("check-receipt", receipt, "--record", tmp_path),
        ("check-booth", "http://127.0.0.1:9"),
    ):  # fmt: skip
        code, out, err = run_cli(*args, "--election", bad)
        assert code == 2 and out == "", (args, err)
        assert "--election: not an election id" in err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_organiser_init_prints_the_id_and_the_fingerprint(
    run_cli: Any, role_passphrase: str, tmp_path: Path
) -> None:
    from enrol import pin

    raw = builtin_manifest()
    pin(raw, tmp_path / "keys", role_passphrase)
    manifest = tmp_path / "referendum.json"
    manifest.write_text(json.dumps(raw))
    code, out, err = run_cli("organiser", "init", "--manifest", manifest, "--data", tmp_path / "d")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("election id  ") and lines[1].startswith("fingerprint  ")
    eid = lines[0].split()[-1]
    fp = lines[1][len("fingerprint  ") :]
    assert len(eid) == 64 and fp == election_fingerprint(eid)
    assert fp.replace(" ", "") == eid[:32] and len(fp.split()) == 8
    code, out, _ = run_cli("organiser", "status", "--data", tmp_path / "d")
    assert code == 0 and f"fingerprint {fp}" in out


# --- voting and checking the receipt, anchored, on a real server ---------------------------


def test_anchored_vote_and_receipt_on_a_real_server(
    served: Served, run_cli: Any, tmp_path: Path
) -> None:
    v = next(x for x in served.voters if x["region"] == "orkney")
    base = ["--server", served.url, "--code", v["code"], "--credential", v["credential"]]
    fp = election_fingerprint(served.election_id)
    code, out, err = run_cli("vote", *base, "--answers", ANSWERS, "--election", fp)
    assert code == 0, err
    assert "not anchored" not in err
    receipt = json.loads(out)
    assert receipt["election_id"] == served.election_id
    f = tmp_path / "receipt.json"
    f.write_text(out)
    # The receipt names its election: check-receipt anchors on it unless told otherwise.
    code, out, err = run_cli("check-receipt", f, "--server", served.url)
    assert code == 0 and "receipt holds" in out and "not anchored" not in err, err
    code, out, err = run_cli("check-receipt", f, "--server", served.url, "--election", fp)
    assert code == 0, err
    other = election_fingerprint("ab" * 32)
    code, out, err = run_cli("check-receipt", f, "--server", served.url, "--election", other)
    assert code == 1 and "is not the one in your letter" in err and out == ""
    # A receipt naming no election is checked, with the warning.
    del receipt["election_id"]
    f.write_text(json.dumps(receipt))
    code, out, err = run_cli("check-receipt", f, "--server", served.url)
    assert code == 0 and "warning: not anchored" in err
    receipt["election_id"] = "not an id"
    f.write_text(json.dumps(receipt))
    code, out, err = run_cli("check-receipt", f, "--server", served.url)
    assert code == 2 and "election_id" in err


# --- the booth a server serves ------------------------------------------------------------


def test_check_booth_matches_then_one_file_changed_on_the_servers_disk(
    served: Served, run_cli: Any
) -> None:
    fp = election_fingerprint(served.election_id)
    code, out, err = run_cli("check-booth", served.url, "--election", fp)
    assert code == 0, err
    assert "booth.js: matches the open entry" in out and "worker.js: matches" in out
    code, out, err = run_cli("check-booth", served.url)
    assert code == 0 and "warning: not anchored" in err

    worker = served.static / "js" / "worker.js"
    worker.write_bytes(worker.read_bytes() + b"\n// one more line\n")
    code, out, err = run_cli("check-booth", served.url, "--election", fp)
    assert code == 1
    assert "booth file worker.js: differs from the open entry's digest" in err
    assert "booth.js: matches" in out and "worker.js" not in out
    (served.static / "js" / "booth.js").unlink()
    code, out, err = run_cli("check-booth", served.url)
    assert code == 1 and "booth file booth.js: not served (HTTP 404)" in err

    code, _, err = run_cli("check-booth", served.url, "--election", election_fingerprint("cd" * 32))
    assert code == 1 and "is not the one in your letter" in err


def test_check_booth_unreachable_and_before_the_open(
    demo_outcome: DemoOutcome, tmp_path: Path, run_cli: Any
) -> None:
    port = _free_port()  # nothing listens there
    code, out, err = run_cli("check-booth", f"http://127.0.0.1:{port}")
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 2  # warning + error
    # A board whose open entry publishes no digests (the demo record's) cannot vouch for
    # any booth; one not yet open: run again later.
    with FakeServer(demo_outcome.record) as url:
        code, _, err = run_cli("check-booth", url)
    assert code == 1 and "publishes no booth digests" in err
    rec = tmp_path / "before-open"
    shutil.copytree(demo_outcome.record, rec)
    entries = tl.load_entries(rec)
    tl.save(rec, entries[: tl.indices_of(entries, "open")[0]], tl.board_key(demo_outcome))
    (rec / "cosignatures.jsonl").write_text("")
    with FakeServer(rec) as url:
        code, _, err = run_cli("check-booth", url)
    assert code == 3 and "not open yet" in err


# --- check-receipt: only the witnesses the receipt's referendum declares ------------------


def _receipt(record: Path, index: int, election_id: str) -> dict[str, Any]:
    """The receipt the board gave for entry ``index``: its first checkpoint covering it."""
    lines = (record / "entries.jsonl").read_bytes().split(b"\n")[:-1]
    cp = next(c for c in tl.load_checkpoints(record) if c.size > index)
    tree = MerkleTree(leaf_hash(x) for x in lines[: cp.size])
    return {
        "election_id": election_id,
        "type": "ballot",
        "tracking_code": json.loads(lines[index])["data"]["tracking_code"],
        "index": index,
        "entry_hash": leaf_hash(lines[index]).hex(),
        "checkpoint": cp.to_json(),
        "inclusion_proof": [h.hex() for h in tree.inclusion_proof(index, cp.size)],
    }


def test_check_receipt_counts_only_declared_witnesses(
    demo_outcome: DemoOutcome, record_copy: Path, tmp_path: Path, run_cli: Any
) -> None:
    entries = tl.load_entries(record_copy)
    index = tl.indices_of(entries, "ballot")[0]
    eid = tl.election_id(demo_outcome)
    f = tmp_path / "receipt.json"
    f.write_text(json.dumps(_receipt(record_copy, index, eid)))
    code, out, err = run_cli("check-receipt", f, "--record", record_copy)
    assert code == 0, err  # the control: the declared witnesses cosigned

    # The same board, cosigned by witnesses the referendum file does not declare (the
    # observer accredited on the board, and keys of the server's own under declared ids).
    declared = {o["id"] for o in entries[0].data["manifest"]["observers"]}
    keys = tl.witness_keys(demo_outcome)
    undeclared = {w: k for w, k in keys.items() if w not in declared}
    assert undeclared
    undeclared.update({w: Ed25519PrivateKey.generate() for w in sorted(declared)})
    cps = tl.load_checkpoints(record_copy)
    tl.recosign(record_copy, tl.entry_bytes(entries), cps, undeclared)
    code, out, err = run_cli("check-receipt", f, "--record", record_copy)
    assert code == 1 and "witness quorum" in err and out == ""


def test_check_receipt_refuses_a_board_with_witnesses_of_its_own(
    demo_outcome: DemoOutcome, record_copy: Path, tmp_path: Path, run_cli: Any
) -> None:
    """A server that hands a voter a fake election may also name witnesses of its own
    in it and cosign with their keys: the receipt it gave checks out against that board,
    so the voter's letter (--election) is what tells them apart."""
    entries = tl.load_entries(record_copy)
    ref = entries[0]
    own = {o["id"]: Ed25519PrivateKey.generate() for o in ref.data["manifest"]["observers"]}
    manifest = dict(ref.data["manifest"])
    manifest["observers"] = [
        dict(o, public_key=key_to_b64(own[o["id"]])) for o in manifest["observers"]
    ]
    data = dict(ref.data, manifest=manifest)
    entries[0] = tl.resign(ref, tl.board_key(demo_outcome), "", data)
    tl.save(record_copy, entries, tl.board_key(demo_outcome), own)
    fake_id = election_id_of(data)
    index = tl.indices_of(entries, "ballot")[0]
    f = tmp_path / "receipt.json"
    f.write_text(json.dumps(_receipt(record_copy, index, fake_id)))
    code, _, err = run_cli("check-receipt", f, "--record", record_copy)
    assert code == 0, err  # on its own terms, the fake board holds the fake receipt
    real = election_fingerprint(tl.election_id(demo_outcome))
    code, out, err = run_cli("check-receipt", f, "--record", record_copy, "--election", real)
    assert code == 1 and out == ""
    assert f"the board's election {election_fingerprint(fake_id)} is not the one" in err
    # A receipt from the real board, checked against the fake one, fails at once.
    f.write_text(json.dumps(_receipt(demo_outcome.record, index, tl.election_id(demo_outcome))))
    code, _, err = run_cli("check-receipt", f, "--record", record_copy)
    assert code == 1 and "is not the one your receipt names" in err


# --- the anchor itself ----------------------------------------------------------------------

_HEX = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)


@given(eid=_HEX, other=_HEX, upper=st.booleans(), sep=st.sampled_from(["", " ", "-", "  "]))
def test_a_fingerprint_as_printed_anchors_its_election_only(
    eid: str, other: str, upper: bool, sep: str
) -> None:
    from plebiscite.anchor import anchor_problem, parse_anchor
    from plebiscite.record.entries import anchored

    printed = election_fingerprint(eid).replace(" ", sep)
    for given_ in (printed, eid):
        anchor = parse_anchor(given_.upper() if upper else given_)
        assert anchor is not None and anchored(eid, anchor)
        assert anchor_problem(eid, anchor) is None
        assert anchored(other, anchor) == other.startswith(anchor)
    if other[:32] != eid[:32]:
        problem = anchor_problem(other, parse_anchor(printed))
        assert problem is not None and election_fingerprint(eid) in problem
