"""Ballots encrypted by the JavaScript booth pass the Python verifier, and vice versa
the verifier rejects them once tampered (the same check a browser ballot meets)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from plebiscite.election.demo import builtin_manifest, run_demo
from plebiscite.record.entries import Submission, verify_entry_signature
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
