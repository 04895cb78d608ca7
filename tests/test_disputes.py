"""Disputes: signed by a voter's credential or an observer's key, public, counted per
region and shown next to the results."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from plebiscite.verify.checks import verify_record
from plebiscite.verify.reader import read_record


def test_disputes_end_to_end(live_server, run_cli, tmp_path: Path) -> None:
    s = live_server
    v = next(x for x in s.voters if x["region"] == "shetland")
    (tmp_path / "code").write_text(v["code"] + "\n")
    (tmp_path / "cred").write_text(v["credential"] + "\n")
    code, out, err = run_cli(
        "vote",
        "--server",
        s.url,
        "--code-file",
        tmp_path / "code",
        "--credential-file",
        tmp_path / "cred",
        "--answers",
        "status=yes,capital=lerwick",
        "--election",  # anchored: no warning of any kind
        httpx.get(f"{s.url}/api/referendums/{s.rid}").json()["election_id"],
    )
    assert code == 0, err
    assert "warning" not in err
    (tmp_path / "receipt.json").write_text(out)
    code, out, err = run_cli(
        "dispute",
        "--server",
        s.url,
        "--credential-file",
        tmp_path / "cred",
        "--receipt",
        tmp_path / "receipt.json",
        "--evidence",
        "my receipt's page said the proof failed",
    )
    assert code == 0, err
    # A stranger's key is refused, with a 4xx and nothing appended.
    code, _, err = run_cli("observe", "keygen", "--out", tmp_path / "stranger.key")
    code, _, err = run_cli(
        "dispute",
        "--server",
        s.url,
        "--key",
        tmp_path / "stranger.key",
        "--check",
        "V13",
        "--evidence",
        "x",
    )
    assert code == 2 and "credential or an observer" in err
    code, _, err = run_cli(
        "dispute", "--server", s.url, "--credential", v["credential"], "--evidence", " "
    )
    assert code == 2 and "evidence" in err

    auth = {"Authorization": f"Bearer {s.admin_token}"}
    assert (
        httpx.post(
            f"{s.url}/api/admin/referendums/{s.rid}/close", headers=auth, timeout=60
        ).status_code
        == 200
    )
    rec = tmp_path / "mirror"
    code, _, err = run_cli("observe", "fetch", "--server", s.url, "--out", rec)
    assert code == 0, err
    report = verify_record(read_record(rec), workers=1)
    assert report.ok, [c.details for c in report.failed]
    assert report.forensics is not None
    assert report.forensics["regions"]["shetland"]["disputes"] == 1
    code, out, err = run_cli("results", rec, "--workers", "1")
    assert code == 0 and "1 dispute(s)" in out
    entries = [json.loads(x) for x in (rec / "entries.jsonl").read_text().splitlines()]
    dispute = next(e for e in entries if e["type"] == "dispute")
    assert dispute["data"]["about"] == "receipt" and dispute["data"]["region"] == "shetland"
