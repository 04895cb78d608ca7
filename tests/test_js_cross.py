"""Ballots encrypted by the JavaScript booth pass the Python verifier, and vice versa
the verifier rejects them once tampered (the same check a browser ballot meets); the
browser's witnessed checkpoint is the one the Python side trusts, on a real record."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from plebiscite.board.checkpoint import Checkpoint
from plebiscite.board.cosign import parse_cosignatures, trusted_by, verify_cosignature
from plebiscite.election.demo import DemoOutcome, builtin_manifest, run_demo
from plebiscite.record.entries import Submission, verify_entry_signature
from plebiscite.record.manifest import parse_manifest, quorum_witnesses, witness_quorum
from plebiscite.verify.ballots import BallotContext, check_ballot, check_challenged

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")


def js(spec: dict) -> dict:
    proc = subprocess.run(
        ["node", str(ROOT / "js" / "scripts" / "make-ballot.mjs")],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return dict(json.loads(proc.stdout))


@pytest.mark.parametrize("group", ["ristretto255", "belenios-2048", "modp-4096"])
def test_js_ballot_verifies_in_python(group: str, tmp_path: Path) -> None:
    raw = dict(builtin_manifest(), group=group)
    out = run_demo(
        tmp_path / "d",
        tmp_path / "r",
        raw,
        votes=[("orkney", {"status": ["yes"], "capital": ["lerwick"]})],
    )
    ctx, key = out.organiser.context()
    out.organiser.close_store()
    cred = out.credentials["orkney"][-1]  # a spare credential
    spec = {
        "group": group,
        "manifest": raw,
        "contextHex": ctx.hex(),
        "jointKeyHex": key.hex(),
        "region": "orkney",
        "choices": {"status": ["blank"], "capital": ["kirkwall"]},
        "credential": cred,
        "electionId": out.organiser.election_id,
        "output": "all",
    }
    res = js(spec)
    bctx = BallotContext(group, raw, ctx.hex(), key.hex())
    cast = Submission(**res["cast"])
    assert check_ballot(bctx, 0, cast.data) == []
    assert verify_entry_signature(cast.at(""), out.organiser.election_id)
    assert check_challenged(bctx, 0, res["challenge"]["data"]) is None
    assert res["challenge"]["data"]["answers"][0]["choices"] == ["blank"]
    # Tampering with the JS ballot is caught by the Python checks.
    bad = json.loads(json.dumps(cast.data))
    first = bad["answers"][0]["choices"][0]
    first["alpha"], first["beta"] = first["beta"], first["alpha"]
    assert [f.kind for f in check_ballot(bctx, 0, bad)] == ["proofs", "tracking"]


# The browser's cosignature checks (js/src/cosign.js), run by node on JSON from stdin.
WITNESSED_JS = """
import { readFileSync } from 'node:fs';
import * as P from '%s';
const q = JSON.parse(readFileSync(0, 'utf8'));
const cosignatures = P.parseCosignatures(q.text);
const declared = P.declaredWitnesses(q.manifest);
const quorum = q.manifest.witness_quorum ?? 0;
const witnessed = P.witnessedCheckpoint(cosignatures, declared, quorum, { origin: q.origin });
const valid = q.text.split('\\n').filter((l) => l).map((l) => P.verifyCosignature(JSON.parse(l)));
process.stdout.write(JSON.stringify({ witnessed, valid, parsed: cosignatures.length }));
"""


def test_js_witnessed_checkpoint_is_the_one_python_trusts(demo_outcome: DemoOutcome) -> None:
    record = demo_outcome.record
    entries = (record / "entries.jsonl").read_bytes().splitlines()
    referendum = json.loads(entries[0])["data"]
    lines = (record / "cosignatures.jsonl").read_bytes().splitlines()
    cps = [
        Checkpoint.from_json(json.loads(x))
        for x in (record / "checkpoints.jsonl").read_bytes().splitlines()
    ]
    manifest = parse_manifest(referendum["manifest"])
    quorum, declared = witness_quorum(manifest), quorum_witnesses(manifest)
    parsed = parse_cosignatures(lines)
    # The demo's record has a declared quorum, and a later accredited witness that cosigns.
    assert quorum >= 1 and {cs.witness for cs in parsed} - set(declared)
    trusted = [cp for cp in cps if len(trusted_by(cp, parsed, declared)) >= quorum]
    assert trusted
    want = trusted[-1]

    code = WITNESSED_JS % (ROOT / "js" / "src" / "index.js").as_uri()
    proc = subprocess.run(
        ["node", "--input-type=module", "-e", code],
        input=json.dumps(
            {"text": b"\n".join(lines).decode(), "manifest": referendum["manifest"],
             "origin": referendum["origin"]}
        ),
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert got["parsed"] == len(parsed) == len(lines)
    assert got["valid"] == [verify_cosignature(cs) for cs in parsed]
    cp = got["witnessed"]["checkpoint"]
    assert (cp["origin"], cp["size"], cp["root"], cp["time"]) == (
        want.origin, want.size, want.root.hex(), want.time,
    )  # fmt: skip
    assert got["witnessed"]["witnesses"] == sorted(trusted_by(want, parsed, declared))
