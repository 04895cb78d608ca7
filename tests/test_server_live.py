"""A real server process and the command-line voter: vote, challenge, revote, check the
receipt against the server and against a mirror, close, results."""

from __future__ import annotations

import json
from pathlib import Path

import httpx


def test_cli_voter_against_live_server(live_server, run_cli, tmp_path: Path) -> None:
    s = live_server
    v = next(x for x in s.voters if x["region"] == "orkney")
    base = ["--server", s.url, "--code", v["code"], "--credential", v["credential"]]

    code, out, err = run_cli(
        "vote", *base, "--answers", "status=no,capital=kirkwall", "--challenge"
    )
    assert code == 0, err
    chal = json.loads(out)
    (tmp_path / "chal.json").write_text(out)
    code, out, err = run_cli("check-challenge", tmp_path / "chal.json", "--server", s.url)
    assert code == 0, err
    assert "status: no" in out and "capital: kirkwall" in out
    assert chal["type"] == "challenged_ballot"

    code, out, err = run_cli("vote", *base, "--answers", "status=yes,capital=lerwick")
    assert code == 0, err
    first = json.loads(out)
    (tmp_path / "r1.json").write_text(out)
    code, out, err = run_cli("vote", *base, "--answers", "status=blank,capital=stornoway")
    assert code == 0, err
    (tmp_path / "r2.json").write_text(out)

    code, out, err = run_cli("check-receipt", tmp_path / "r1.json", "--server", s.url)
    assert code == 0, err
    # A receipt whose ballot is not on that board fails.
    forged = dict(first, entry_hash="00" * 32)
    (tmp_path / "bad.json").write_text(json.dumps(forged))
    code, _, err = run_cli("check-receipt", tmp_path / "bad.json", "--server", s.url)
    assert code == 1 and "receipt check failed" in err

    # Another voter can neither reuse this credential nor sign in with a wrong code.
    w = next(x for x in s.voters if x["region"] == "orkney" and x is not v)
    code, _, err = run_cli(
        "vote",
        "--server",
        s.url,
        "--code",
        w["code"],
        "--credential",
        v["credential"],
        "--answers",
        "status=yes,capital=lerwick",
    )
    assert code == 2 and "another sign-in" in err
    code, _, err = run_cli(
        "vote",
        "--server",
        s.url,
        "--code",
        "AAAA-BBBB-CCCC",
        "--credential",
        v["credential"],
        "--answers",
        "status=yes,capital=lerwick",
    )
    assert code == 2 and "unknown sign-in code" in err

    auth = {"Authorization": f"Bearer {s.admin_token}"}
    r = httpx.post(f"{s.url}/api/admin/referendums/{s.rid}/close", headers=auth, timeout=60)
    assert r.status_code == 200, r.text

    # Mirror the board and check everything offline.
    rec = tmp_path / "mirror"
    rec.mkdir()
    for name in ("entries.jsonl", "checkpoints.jsonl"):
        text = httpx.get(f"{s.url}/api/referendums/{s.rid}/record/{name}").text
        (rec / name).write_text(text)
    code, out, err = run_cli("check-receipt", tmp_path / "r2.json", "--record", rec)
    assert code == 0, err
    code, out, err = run_cli("results", rec, "--json", "--workers", "1")
    assert code == 0, err
    counts = json.loads(out)
    assert counts["orkney"]["status"] == {"yes": 0, "no": 0, "blank": 1}  # the last ballot counts
    assert counts["orkney"]["capital"]["stornoway"] == 1


def test_postgresql_board_survives_a_restart(pg_url, run_cli, tmp_path: Path) -> None:
    from conftest import LiveServer

    data = tmp_path / "pg-server"
    s = LiveServer(data, count=2, extra=("--database", pg_url))
    try:
        v = s.voters[0]
        code, out, err = run_cli(
            "vote",
            "--server",
            s.url,
            "--code",
            v["code"],
            "--credential",
            v["credential"],
            "--answers",
            "status=yes,capital=lerwick",
        )
        assert code == 0, err
        (tmp_path / "r.json").write_text(out)
    finally:
        s.stop()
    assert not (
        data / "referendums" / s.rid / "board.sqlite"
    ).exists()  # the board is in PostgreSQL
    s = LiveServer(data, count=2, extra=("--database", pg_url))  # resumes the same board
    try:
        code, out, err = run_cli("check-receipt", tmp_path / "r.json", "--server", s.url)
        assert code == 0, err
    finally:
        s.stop()


def test_serve_refuses_a_bad_database_url(run_cli, tmp_path: Path) -> None:
    code, _, err = run_cli("serve", "--data", tmp_path / "d", "--database", "mysql://x")
    assert code == 2 and "postgresql://" in err
