"""One scenario per role, through the command line, each role with its own files:
the organiser's board, three guardians' states, the credential authority's key and a
few voters, as on separate machines. Exchanged files are the only channel."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from conftest import TEST_PASSPHRASE
from enrol import pin


def _manifest(tmp: Path) -> Path:
    now = datetime.now(UTC)
    m = {
        "title": "Roles scenario",
        "questions": [
            {"id": "q1", "text": "Yes or no?", "options": ["yes", "no"], "blank": True},
            {"id": "q2", "text": "Pick up to two", "options": ["a", "b", "c"], "min": 0, "max": 2},
        ],
        "regions": [
            {"id": "north", "name": "North", "questions": ["q1", "q2"]},
            {"id": "south", "name": "South", "questions": ["q1"]},
        ],
        "opens": (now - timedelta(hours=1)).isoformat().replace("+00:00", "Z"),
        "closes": (now + timedelta(hours=1)).isoformat().replace("+00:00", "Z"),
        "guardians": {"count": 3, "quorum": 2},
    }
    pin(m, tmp / "keys", TEST_PASSPHRASE)
    p = tmp / "referendum.json"
    p.write_text(json.dumps(m))
    return p


@pytest.mark.slow
def test_separate_roles_end_to_end(run_cli, tmp_path: Path) -> None:
    data, rec = tmp_path / "organiser", tmp_path / "record"

    def ok(*args: object) -> str:
        code, out, err = run_cli(*args)
        assert code == 0, (args, out, err)
        return out

    def publish() -> None:
        ok("organiser", "publish", "--data", data, "--record", rec)

    ok("organiser", "init", "--manifest", _manifest(tmp_path), "--data", data)
    publish()
    gids = ["guardian-1", "guardian-2", "guardian-3"]
    for step in ("keygen", "shares", "ready"):
        subs = []
        for gid in gids:
            sub = tmp_path / f"{gid}-{step}.json"
            key = tmp_path / "keys" / f"{gid}.key"
            extra = ["--id", gid, "--signing-key", key] if step == "keygen" else []
            ok(
                "guardian",
                step,
                "--record",
                rec,
                "--state",
                tmp_path / f"{gid}.state",
                *extra,
                "--out",
                sub,
            )
            subs.append(sub)
        ok("organiser", "accept", "--data", data, *subs)
        publish()
    # A guardian cannot redo a step once it is on the board.
    code, _, err = run_cli(
        "organiser", "accept", "--data", data, tmp_path / "guardian-1-ready.json"
    )
    assert code == 2 and "already posted" in err
    ok("organiser", "context", "--data", data)

    roll = tmp_path / "roll.csv"
    roll.write_text("region,voter\nnorth,ann\nnorth,bob\nsouth,cat\nsouth,dan\n")
    publish()
    ok(
        "credentials",
        "generate",
        "--record",
        rec,
        "--key",
        tmp_path / "keys" / "authority.key",
        "--roll",
        roll,
        "--secrets",
        tmp_path / "secrets.csv",
        "--out",
        tmp_path / "lists.json",
    )
    ok("organiser", "accept", "--data", data, tmp_path / "lists.json")
    ok("organiser", "open", "--data", data)
    publish()
    rows = list(csv.DictReader((tmp_path / "secrets.csv").open()))
    assert list(rows[0]) == ["voter", "region", "credential", "election"]
    eid = json.loads((rec / "entries.jsonl").read_text().splitlines()[0])
    from plebiscite.record.entries import election_fingerprint, election_id_of

    assert {r["election"] for r in rows} == {election_fingerprint(election_id_of(eid["data"]))}
    creds = {r["voter"]: r["credential"] for r in rows}
    votes = {"ann": "q1=yes,q2=a;c", "bob": "q1=blank,q2=", "cat": "q1=no", "dan": "q1=yes"}
    for voter, answers in votes.items():
        b = tmp_path / f"{voter}.json"
        ok(
            "ballot",
            "--record",
            rec,
            "--credential",
            creds[voter],
            "--answers",
            answers,
            "--out",
            b,
        )
        receipt = json.loads(ok("organiser", "accept", "--data", data, b))
        assert receipt["type"] == "ballot" and len(receipt["tracking_code"]) == 64
    # A challenged ballot, posted anonymously, and a revote by dan, built on the record
    # published since (it replaces dan's ballot there: revotes are a chain).
    publish()
    ok(
        "ballot",
        "--record",
        rec,
        "--credential",
        creds["ann"],
        "--answers",
        "q1=no,q2=b",
        "--challenge",
        "--out",
        tmp_path / "chal.json",
    )
    ok(
        "ballot",
        "--record",
        rec,
        "--credential",
        creds["dan"],
        "--answers",
        "q1=no",
        "--out",
        tmp_path / "dan2.json",
    )
    ok("organiser", "accept", "--data", data, tmp_path / "chal.json", tmp_path / "dan2.json")
    # The same ballot again is refused (a replay).
    code, _, err = run_cli("organiser", "accept", "--data", data, tmp_path / "dan2.json")
    assert code == 2 and "tracking code" in err

    code, _, err = run_cli("organiser", "close", "--data", data)
    assert code == 2 and "--early" in err
    ok("organiser", "close", "--data", data, "--early")
    publish()
    # Guardians refuse before the tally exists.
    code, _, err = run_cli(
        "guardian",
        "decrypt",
        "--record",
        rec,
        "--state",
        tmp_path / "guardian-1.state",
        "--out",
        tmp_path / "d1.json",
    )
    assert code == 2 and "tally" in err
    ok("organiser", "tally", "--data", data)
    publish()
    for gid in gids[1:]:  # guardian-1 is absent
        ok(
            "guardian",
            "decrypt",
            "--record",
            rec,
            "--state",
            tmp_path / f"{gid}.state",
            "--out",
            tmp_path / f"{gid}-dec.json",
        )
        ok("organiser", "accept", "--data", data, tmp_path / f"{gid}-dec.json")
    ok("organiser", "result", "--data", data)
    publish()
    out = ok("results", rec, "--json", "--workers", "1")
    assert json.loads(out) == {
        "north": {"q1": {"yes": 1, "no": 0, "blank": 1}, "q2": {"a": 1, "b": 0, "c": 1}},
        "south": {"q1": {"yes": 0, "no": 2, "blank": 0}},
    }
    rep = json.loads(ok("verify", rec, "--json", "--workers", "1"))
    assert all(c["status"] != "failed" for c in rep["checks"])
    assert {c["id"]: c["status"] for c in rep["checks"]}["V20"] == "passed"


def test_pinned_keys_are_enforced(run_cli, tmp_path: Path, role_passphrase: str) -> None:
    def ok(*args: object) -> str:
        code, out, err = run_cli(*args)
        assert code == 0, (args, out, err)
        return out

    pubs = [ok("guardian", "identity", "--out", tmp_path / f"g{i}.id").strip() for i in (1, 2)]
    ca_pub = ok("credentials", "keygen", "--out", tmp_path / "ca.key").strip()
    m = json.loads(_manifest(tmp_path).read_text())
    m["guardians"] = {
        "count": 2,
        "quorum": 2,
        "members": [
            {"id": f"g{i}", "name": f"Guardian {i}", "public_key": pubs[i - 1]} for i in (1, 2)
        ],
    }
    m["credential_authority"] = {"name": "CA", "public_key": ca_pub}
    (tmp_path / "pinned.json").write_text(json.dumps(m))
    data, rec = tmp_path / "org", tmp_path / "rec"
    ok("organiser", "init", "--manifest", tmp_path / "pinned.json", "--data", data)
    ok("organiser", "publish", "--data", data, "--record", rec)
    # Without its pinned key a guardian cannot even start.
    code, _, err = run_cli(
        "guardian",
        "keygen",
        "--record",
        rec,
        "--id",
        "g1",
        "--state",
        tmp_path / "s1",
        "--out",
        tmp_path / "k1.json",
    )
    assert code == 2 and "pins g1's key" in err
    # With g2's key posing as g1 (built with the library), the board refuses it.
    from plebiscite.election.guardian import Guardian
    from plebiscite.election.keys import Passphrase, key_from_seed, read_secret_json
    from plebiscite.record.entries import sign
    from plebiscite.verify.checked import load_checked

    view = load_checked(rec)
    g2id = read_secret_json(
        tmp_path / "g2.id", Passphrase.given(role_passphrase), allow_plaintext=False
    )
    g2key = key_from_seed(g2id["signing_key"])
    fake = Guardian.create(view.election_id, view.group.name, "g1", 1, 2, g2key)
    sub = sign("guardian_key", fake.key_data(), view.election_id, g2key)
    (tmp_path / "k1.json").write_text(json.dumps(sub.to_json()))
    code, _, err = run_cli("organiser", "accept", "--data", data, tmp_path / "k1.json")
    assert code == 2 and "not signed by guardian g1's key" in err
    ok(
        "guardian",
        "keygen",
        "--record",
        rec,
        "--id",
        "g2",
        "--state",
        tmp_path / "s2",
        "--out",
        tmp_path / "k2.json",
        "--signing-key",
        tmp_path / "g2.id",
    )
    ok("organiser", "accept", "--data", data, tmp_path / "k2.json")
    # Credential lists signed by anyone but the pinned authority are refused.
    roll = tmp_path / "roll.csv"
    roll.write_text("region,voter\nnorth,ann\nsouth,bob\n")
    ok("organiser", "publish", "--data", data, "--record", rec)
    code, _, err = run_cli(
        "credentials",
        "generate",
        "--record",
        rec,
        "--key",
        tmp_path / "g1.id",
        "--roll",
        roll,
        "--secrets",
        tmp_path / "s.csv",
        "--out",
        tmp_path / "lists.json",
    )
    assert code == 2 and "pins another credential authority key" in err
    # Signed with the library instead, the board refuses them.
    from plebiscite.election.credentials import credential_list_data, new_credential
    from plebiscite.election.credentials import public_credential as pubcred

    g1key = key_from_seed(
        read_secret_json(
            tmp_path / "g1.id", Passphrase.given(role_passphrase), allow_plaintext=False
        )["signing_key"]
    )
    lists = [
        sign(
            "credential_list",
            credential_list_data(r, [pubcred(view.election_id, new_credential())]),
            view.election_id,
            g1key,
        ).to_json()
        for r in ("north", "south")
    ]
    (tmp_path / "lists.json").write_text(json.dumps(lists))
    code, _, err = run_cli("organiser", "accept", "--data", data, tmp_path / "lists.json")
    assert code == 2 and "credential authority" in err
