"""Observers in the referendum: jurisdiction rules, accreditation after set-up,
attestations shown with the results."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from plebiscite.election.demo import builtin_manifest
from plebiscite.election.keys import seed_of, write_secret_json
from plebiscite.record.manifest import jurisdiction_problems, parse_manifest


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
    assert "2 independent observer(s) verified these results" in out
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
