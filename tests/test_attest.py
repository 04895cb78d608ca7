"""Observer attestations: made by running the verifier, signed whatever it found,
checked against a record (signature, declared or accredited key, one of its
checkpoints), published into a record, kept by the server; and the CLI commands."""

from __future__ import annotations

import copy
import hashlib
import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import tamperlib as tl
from plebiscite.cli_observe_attest import (
    attest_command,
    check_attestation_command,
    publish_command,
)
from plebiscite.election.demo import DemoOutcome, builtin_manifest, run_demo
from plebiscite.election.organiser import write_record
from plebiscite.observe.attest import (
    ATTESTATIONS,
    AttestationError,
    check_attestation,
    make_attestation,
    publish_attestation,
    sign_attestation,
    summarise,
    verified_count,
    verify_signature,
)
from plebiscite.observe.keys import load_observer_key, new_observer_key
from plebiscite.record.canonical import canonical_bytes
from plebiscite.record.entries import format_time
from plebiscite.verify.checks import verify_record
from plebiscite.verify.reader import read_record

OBSERVERS = [
    ("osce", "OSCE/ODIHR", "international organisation", "intl"),
    ("nordland", "Ministry of Foreign Affairs of Nordland", "state", "NL"),
    ("ngo-watch", "Election Watch", "NGO", "GB"),
]


def observed_manifest(keys: dict[str, str]) -> dict[str, Any]:
    m = builtin_manifest()
    m["observers"] = [
        {"id": oid, "name": name, "kind": kind, "jurisdiction": j, "public_key": keys[oid]}
        for oid, name, kind, j in OBSERVERS
    ]
    m["witness_quorum"] = 0
    return m


class Observed:
    def __init__(self, base: Path) -> None:
        self.base = base
        self.keyfiles = {oid: base / f"{oid}.key" for oid, *_ in OBSERVERS}
        pubs = {oid: new_observer_key(p) for oid, p in self.keyfiles.items()}
        self.manifest = observed_manifest(pubs)
        self.outcome: DemoOutcome = run_demo(
            base / "data", base / "record", self.manifest, voters=3, seed=1
        )
        self.outcome.organiser.close_store()
        self.record = base / "record"

    def key(self, oid: str) -> Ed25519PrivateKey:
        return load_observer_key(self.keyfiles[oid], allow_plaintext=True)


@pytest.fixture(scope="module")
def observed(tmp_path_factory: pytest.TempPathFactory) -> Observed:
    """A finished demo whose referendum file declares three observers (unwitnessed);
    its record must not be modified: copy it."""
    return Observed(tmp_path_factory.mktemp("observed"))


@pytest.fixture
def rec(observed: Observed, tmp_path: Path) -> Path:
    dst = tmp_path / "record"
    shutil.copytree(observed.record, dst)
    return dst


def _final(record: Path) -> dict[str, Any]:
    last = json.loads((record / "checkpoints.jsonl").read_bytes().split(b"\n")[-2])
    return {k: last[k] for k in ("origin", "size", "root", "time")}


# --- making -----------------------------------------------------------------------------


def test_attesting_a_valid_record_gives_verified(observed: Observed) -> None:
    doc, code = make_attestation(
        observed.record, observed.key("osce"), "osce", True, "all checks passed", 1
    )
    assert code == 0
    assert doc["verdict"] == "verified" and doc["recognition"] == "recognise"
    assert doc["kind"] == "plebiscite-attestation/v1" and doc["observer"] == "osce"
    assert doc["record"] == _final(observed.record)
    assert doc["election_id"] == observed.outcome.organiser.election_id
    report = verify_record(read_record(observed.record), 1)
    assert doc["results_digest"] == hashlib.sha256(canonical_bytes(report.results)).hexdigest()
    assert [c["id"] for c in doc["checks"]] == [c.id for c in report.checks]
    assert {c["status"] for c in doc["checks"]} <= {"passed", "not_applicable"}
    assert doc["verifier"]["name"] == "plebiscite"
    assert doc["reason"] == "all checks passed"
    assert verify_signature(doc)
    assert check_attestation(doc, observed.record) == []


def test_a_changed_value_gives_failed_still_signed(observed: Observed, rec: Path) -> None:
    # One count of the result changed, and every signature redone by the board, so only
    # the decryption check can catch it.
    entries = tl.load_entries(rec)
    i = tl.indices_of(entries, "result")[0]
    data = copy.deepcopy(entries[i].data)
    data["counts"]["orkney"]["status"]["yes"] += 1
    board = observed.outcome.organiser.key
    entries[i] = tl.resign(entries[i], board, observed.outcome.organiser.election_id, data)
    tl.save(rec, entries, board)

    doc, code = make_attestation(rec, observed.key("nordland"), "nordland", False, "V19", 1)
    assert code == 1
    assert doc["verdict"] == "failed" and doc["recognition"] == "no-recognise"
    assert {c["id"] for c in doc["checks"] if c["status"] == "failed"} == {"V19"}
    assert doc["results_digest"] is None  # the results were not verified
    assert doc["record"] == _final(rec)
    assert verify_signature(doc)
    # A valid attestation of the changed record (saying it failed), about no checkpoint
    # of the original record.
    assert check_attestation(doc, rec) == []
    problems = check_attestation(doc, observed.record)
    assert any("not about this record" in p for p in problems)


@pytest.mark.parametrize("how", ["missing", "truncated", "empty"])
def test_unusable_input_still_gives_a_signed_attestation(
    observed: Observed, tmp_path: Path, how: str
) -> None:
    bad = tmp_path / "bad"
    if how == "truncated":
        shutil.copytree(observed.record, bad)
        data = (bad / "entries.jsonl").read_bytes()
        (bad / "entries.jsonl").write_bytes(data[:-10])
    elif how == "empty":
        bad.mkdir()
        (bad / "entries.jsonl").write_bytes(b"")
        (bad / "checkpoints.jsonl").write_bytes(b"")
    doc, code = make_attestation(bad, observed.key("osce"), "osce", False, None, 1)
    assert code == 2
    assert doc["verdict"] == "failed"
    assert doc["record"] == {"origin": None, "size": None, "root": None, "time": None}
    assert doc["election_id"] is None and doc["results_digest"] is None
    assert doc["checks"] == []
    assert doc["reason"] is None
    assert verify_signature(doc)
    assert any("names no checkpoint" in p for p in check_attestation(doc, observed.record))


def test_the_verdict_cannot_be_chosen(observed: Observed) -> None:
    doc, _ = make_attestation(observed.record, observed.key("osce"), "osce", False, None, 1)
    assert doc["verdict"] == "verified"  # not recognising does not change what was found


# --- checking ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def good(observed: Observed) -> dict[str, Any]:
    doc, code = make_attestation(observed.record, observed.key("osce"), "osce", True, None, 1)
    assert code == 0
    return doc


@pytest.mark.parametrize(
    "field,value",
    [
        ("verdict", "failed"),
        ("recognition", "no-recognise"),
        ("reason", "added later"),
        ("time", "2030-01-01T00:00:00.000Z"),
        ("results_digest", "0" * 64),
    ],
)
def test_check_rejects_a_modified_attestation(
    observed: Observed, good: dict[str, Any], field: str, value: Any
) -> None:
    doc = dict(good, **{field: value})
    problems = check_attestation(doc, observed.record)
    assert any("signature is invalid" in p for p in problems), problems


def test_check_rejects_a_changed_check_status(observed: Observed, good: dict[str, Any]) -> None:
    doc = copy.deepcopy(good)
    doc["checks"][0]["status"] = "not_applicable"
    assert any("signature is invalid" in p for p in check_attestation(doc, observed.record))


def test_check_rejects_an_undeclared_key(observed: Observed, good: dict[str, Any]) -> None:
    stranger = Ed25519PrivateKey.generate()
    # Signed with an undeclared key, in a declared observer's name.
    forged = sign_attestation(good, stranger)
    assert verify_signature(forged)
    problems = check_attestation(forged, observed.record)
    assert problems == ["the attestation is not signed with observer 'osce''s key"]
    # Or in a name nobody declared.
    nobody = sign_attestation(dict(good, observer="nobody"), stranger)
    problems = check_attestation(nobody, observed.record)
    assert problems == ["'nobody' is not a declared or accredited observer of this referendum"]
    # Another declared observer's key does not speak for osce either.
    other = sign_attestation(good, observed.key("nordland"))
    assert "not signed with observer 'osce''s key" in check_attestation(other, observed.record)[0]


def test_check_rejects_an_attestation_of_another_record(
    good: dict[str, Any], demo_outcome: DemoOutcome
) -> None:
    problems = check_attestation(good, demo_outcome.record)
    assert any("not about this record" in p for p in problems)
    assert any("another election id" in p for p in problems)


def test_check_rejects_a_checkpoint_the_record_does_not_hold(
    observed: Observed, good: dict[str, Any]
) -> None:
    doc = copy.deepcopy(good)
    doc["record"]["time"] = format_time(datetime.now(UTC))
    doc = sign_attestation(doc, observed.key("osce"))
    assert any("not about this record" in p for p in check_attestation(doc, observed.record))


def test_an_earlier_checkpoint_is_still_about_the_record(observed: Observed) -> None:
    # An observer who attested a mirror taken before the end: still this record.
    early = observed.base / "early"
    shutil.copytree(observed.record, early, dirs_exist_ok=True)
    cps = tl.load_checkpoints(early)
    cut = cps[len(cps) // 2]
    tl.write_entries(early, tl.load_entries(early)[: cut.size])
    tl.write_checkpoints(early, [c for c in cps if c.size <= cut.size])
    doc, _ = make_attestation(early, observed.key("ngo-watch"), "ngo-watch", False, None, 1)
    assert doc["record"]["size"] == cut.size
    assert check_attestation(doc, observed.record) == []
    shutil.rmtree(early)


@pytest.mark.parametrize(
    "doc,expected",
    [
        ([], "expected a JSON object"),
        ({"kind": "something"}, "kind is not"),
        ({"kind": "plebiscite-attestation/v1"}, "missing"),
    ],
)
def test_check_reports_malformed_documents(observed: Observed, doc: Any, expected: str) -> None:
    problems = check_attestation(doc, observed.record)
    assert len(problems) == 1 and expected in problems[0]


def test_check_rejects_inconsistent_and_mistyped_fields(
    observed: Observed, good: dict[str, Any]
) -> None:
    key = observed.key("osce")
    lying = copy.deepcopy(good)
    lying["checks"][5]["status"] = "failed"
    lying = sign_attestation(lying, key)
    assert any("inconsistent" in p for p in check_attestation(lying, observed.record))
    for field, value in (("record", {"origin": [], "size": 1, "root": "", "time": ""}),):
        bad = sign_attestation(dict(good, **{field: value}), key)
        assert any("malformed" in p for p in check_attestation(bad, observed.record))
    bad = sign_attestation(dict(good, election_id="xyz"), key)
    assert any("election_id" in p for p in check_attestation(bad, observed.record))


def test_an_accredited_observer_can_attest(tmp_path: Path, observed: Observed) -> None:
    out = run_demo(tmp_path / "data", tmp_path / "record", observed.manifest, voters=1, seed=2)
    late = tmp_path / "late.key"
    pub = new_observer_key(late)
    before = tmp_path / "before"
    shutil.copytree(tmp_path / "record", before)
    out.organiser.accredit(
        {"id": "late", "name": "Late Observer", "kind": "journalist", "jurisdiction": "FR",
         "public_key": pub}
    )  # fmt: skip
    out.organiser.publish(tmp_path / "record")
    out.organiser.close_store()
    doc, code = make_attestation(
        tmp_path / "record", load_observer_key(late, allow_plaintext=True), "late", True, None
    )
    assert code == 0
    assert check_attestation(doc, tmp_path / "record") == []
    # It counts apart from the observers the referendum file declares: the organiser
    # chooses whom it accredits.
    kept = tmp_path / "kept"
    shutil.copytree(tmp_path / "record", kept)
    publish_attestation(doc, kept)
    items = summarise(kept)
    assert [i["declared"] for i in items] == [False]
    assert verified_count(items) == 0 and verified_count(items, declared=False) == 1
    # The record as it was before the accreditation knows neither the observer nor the
    # checkpoint.
    problems = check_attestation(doc, before)
    assert any("not a declared or accredited observer" in p for p in problems)
    # An accreditation the board did not sign does not count.
    forged = tmp_path / "forged"
    shutil.copytree(tmp_path / "record", forged)
    entries = tl.load_entries(forged)
    i = tl.indices_of(entries, "observer_accreditation")[0]
    entries[i] = tl.flip_signature(entries[i])
    tl.write_entries(forged, entries)
    assert any("not a declared" in p for p in check_attestation(doc, forged))


# --- publishing and summarising ---------------------------------------------------------


def test_publish_and_summarise(observed: Observed, rec: Path, good: dict[str, Any]) -> None:
    path = publish_attestation(good, rec)
    assert path.parent == rec / ATTESTATIONS
    assert path.name == f"osce-{good['time'].replace(':', '')}.json"
    assert json.loads(path.read_text()) == good
    assert publish_attestation(good, rec) == path  # idempotent
    # The record still verifies: attestations are outside the log.
    assert verify_record(read_record(rec), 1).ok

    t0 = datetime.now(UTC)
    no, _ = make_attestation(
        rec, observed.key("nordland"), "nordland", False, "not free", 1, now=t0
    )
    publish_attestation(no, rec)
    with pytest.raises(AttestationError, match="signature is invalid"):
        publish_attestation(dict(good, reason="changed"), rec)
    with pytest.raises(AttestationError, match="not signed with observer"):
        publish_attestation(sign_attestation(good, Ed25519PrivateKey.generate()), rec)

    items = summarise(rec)
    assert [i["observer"] for i in items] == ["osce", "nordland"]
    osce = items[0]
    assert osce == {
        "observer": "osce",
        "name": "OSCE/ODIHR",
        "kind": "international organisation",
        "jurisdiction": "intl",
        "declared": True,
        "verdict": "verified",
        "recognition": "recognise",
        "reason": None,
        "time": good["time"],
        "valid": True,
        "size": good["record"]["size"],
        "results_digest": good["results_digest"],
        "file": path.name,
    }
    assert items[1]["recognition"] == "no-recognise" and items[1]["reason"] == "not free"
    assert verified_count(items) == 2
    assert verified_count(items, good["results_digest"]) == 2
    assert verified_count(items, "0" * 64) == 0

    # A later attestation by the same observer supersedes its earlier one.
    later, _ = make_attestation(
        rec, observed.key("osce"), "osce", True, None, 1, now=t0 + timedelta(seconds=5)
    )
    later["verdict"] = "failed"
    later = sign_attestation(later, observed.key("osce"))
    publish_attestation(later, rec)
    assert verified_count(summarise(rec)) == 1

    # A file planted by hand is shown, as not valid.
    (rec / ATTESTATIONS / "junk.json").write_text("{not json")
    junk = [i for i in summarise(rec) if i["file"] == "junk.json"]
    assert junk and junk[0]["valid"] is False and junk[0]["observer"] is None


def test_publish_refuses_another_attestation_under_the_same_name(
    observed: Observed, rec: Path, good: dict[str, Any]
) -> None:
    publish_attestation(good, rec)
    other, _ = make_attestation(rec, observed.key("osce"), "osce", False, "changed my mind", 1)
    other = sign_attestation(dict(other, time=good["time"]), observed.key("osce"))
    with pytest.raises(AttestationError, match="already holds another"):
        publish_attestation(other, rec)


# --- the command line -------------------------------------------------------------------


def _app() -> typer.Typer:
    app = typer.Typer()
    observe = typer.Typer()
    observe.command("attest")(attest_command)
    observe.command("publish")(publish_command)
    observe.command("check-attestation")(check_attestation_command)
    app.add_typer(observe, name="observe")
    return app


def _run(*args: object) -> tuple[int, str, str]:
    """The CLI in-process; the observers' keys here are unencrypted test keys, so
    'observe attest' is given --insecure-plaintext."""
    argv = [str(a) for a in args]
    if argv[:2] == ["observe", "attest"]:
        argv.append("--insecure-plaintext")
    result = CliRunner().invoke(_app(), argv)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_cli_attest_check_publish(observed: Observed, rec: Path, tmp_path: Path) -> None:
    out = tmp_path / "att.json"
    key = observed.keyfiles["nordland"]
    code, stdout, err = _run("observe", "attest", rec, "--key", key, "--recognise", "--out", out)
    assert code == 0, err
    doc = json.loads(out.read_text())
    assert doc["observer"] == "nordland"  # found by its key
    assert doc["verdict"] == "verified" and "verdict verified" in stdout

    code, stdout, err = _run("observe", "check-attestation", out, rec)
    assert code == 0, err
    assert stdout.startswith("valid:")

    code, stdout, err = _run("observe", "publish", out, rec)
    assert code == 0, err
    assert (rec / ATTESTATIONS / f"nordland-{doc['time'].replace(':', '')}.json").exists()

    doc["recognition"] = "no-recognise"
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps(doc))
    code, _, err = _run("observe", "check-attestation", changed, rec)
    assert code == 1 and "signature is invalid" in err
    assert all(line.startswith("plebiscite: ") for line in err.strip().splitlines())
    code, _, err = _run("observe", "publish", changed, rec)
    assert code == 1 and "signature is invalid" in err


@pytest.mark.parametrize("flags", [[], ["--recognise", "--no-recognise"]])
def test_cli_attest_needs_exactly_one_statement(
    observed: Observed, tmp_path: Path, flags: list[str]
) -> None:
    out = tmp_path / "att.json"
    key = observed.keyfiles["osce"]
    code, _, err = _run(
        "observe",
        "attest",
        "--insecure-plaintext",
        observed.record,
        "--key",
        key,
        *flags,
        "--out",
        out,
    )
    assert code == 2 and "exactly one of --recognise and --no-recognise" in err
    assert not out.exists()


def test_cli_attest_failed_and_unusable(observed: Observed, rec: Path, tmp_path: Path) -> None:
    key = observed.keyfiles["osce"]
    data = (rec / "entries.jsonl").read_bytes()
    assert b'"guardian-1"' in data
    (rec / "entries.jsonl").write_bytes(data.replace(b'"guardian-1"', b'"guardian-9"', 1))
    out = tmp_path / "failed.json"
    code, _, err = _run(
        "observe",
        "attest",
        "--insecure-plaintext",
        rec,
        "--key",
        key,
        "--no-recognise",
        "--out",
        out,
        "--id",
        "osce",
    )
    assert code == 1 and "verification failed" in err
    assert json.loads(out.read_text())["verdict"] == "failed"

    out2 = tmp_path / "unusable.json"
    code, _, err = _run(
        "observe", "attest", tmp_path / "nowhere", "--key", key, "--no-recognise",
        "--out", out2, "--id", "osce",
    )  # fmt: skip
    assert code == 2 and "not a directory" in err and len(err.strip().splitlines()) == 1
    doc = json.loads(out2.read_text())
    assert doc["verdict"] == "failed" and doc["record"]["size"] is None
    assert doc["observer"] == "osce" and verify_signature(doc)


def test_cli_bad_input_exits_2(observed: Observed, tmp_path: Path) -> None:
    out = tmp_path / "att.json"
    stranger = tmp_path / "stranger.key"
    new_observer_key(stranger)
    code, _, err = _run(
        "observe",
        "attest",
        "--insecure-plaintext",
        observed.record,
        "--key",
        stranger,
        "--recognise",
        "--out",
        out,
    )
    assert code == 2 and "--id" in err
    code, _, err = _run(
        "observe", "attest", observed.record, "--key", tmp_path / "none", "--recognise",
        "--out", out,
    )  # fmt: skip
    assert code == 2 and "no such key file" in err
    code, _, err = _run("observe", "check-attestation", tmp_path / "none.json", observed.record)
    assert code == 2 and "no such attestation file" in err
    (tmp_path / "x.json").write_text('{"a": 1}')
    code, _, err = _run("observe", "check-attestation", tmp_path / "x.json", observed.record)
    assert code == 2 and "not a plebiscite attestation" in err
    good, _ = make_attestation(observed.record, observed.key("osce"), "osce", True, None, 1)
    (tmp_path / "good.json").write_text(json.dumps(good))
    code, _, err = _run("observe", "check-attestation", tmp_path / "good.json", tmp_path)
    assert code == 2 and "entries.jsonl" in err


# --- the server ---------------------------------------------------------------------------


@pytest.fixture
def server(tmp_path: Path, observed: Observed) -> Any:
    from plebiscite.server.app import create_app
    from plebiscite.server.attestations import register
    from plebiscite.server.demo import create_demo
    from plebiscite.server.registry import Registry

    registry = Registry(tmp_path / "data")
    ref, _ = create_demo(registry, observed.manifest, 2)
    app = create_app(registry, demo=True)
    register(app, registry)
    with TestClient(app) as client:
        yield client, ref
    registry.close()


def _mirror(ref: Any, out: Path) -> Path:
    write_record(ref.org.board, out, ref.org.cosignatures())
    return out


def test_server_keeps_valid_attestations(
    server: Any, observed: Observed, tmp_path: Path, good: dict[str, Any]
) -> None:
    client, ref = server
    size = ref.org.board.size
    mirror = _mirror(ref, tmp_path / "mirror")
    doc, code = make_attestation(mirror, observed.key("osce"), "osce", True, "so far", 1)
    assert code == 0
    url = f"/api/referendums/{ref.id}/attestations"
    r = client.post(url, json=doc)
    assert r.status_code == 200, r.text
    name = r.json()["name"]
    assert r.json()["status"] == "kept"
    assert client.post(url, json=doc).json()["status"] == "already kept"
    assert (ref.folder / ATTESTATIONS / name).exists()
    assert ref.org.board.size == size  # nothing on the log

    listing = client.get(url).json()
    assert listing["verified_by"] == 1 and listing["results_digest"] is None
    [item] = listing["attestations"]
    assert item["observer"] == "osce" and item["valid"] and item["name"] == "OSCE/ODIHR"
    got = client.get(f"/api/referendums/{ref.id}/record/attestations/{name}")
    assert got.status_code == 200 and got.json() == doc

    # Refused: modified, undeclared key, another record's.
    for bad, why in (
        (dict(doc, reason="edited"), "signature is invalid"),
        (sign_attestation(doc, Ed25519PrivateKey.generate()), "not signed with observer"),
        (good, "not about this record"),
    ):
        r = client.post(url, json=bad)
        assert r.status_code == 422 and why in r.json()["detail"], r.text
    assert client.post(url, json=[1, 2]).status_code == 422
    assert len(client.get(url).json()["attestations"]) == 1

    assert client.get(f"/api/referendums/{ref.id}/record/attestations/x.json").status_code == 404
    bad_name = f"/api/referendums/{ref.id}/record/attestations/..%2Fboard-key.json"
    assert client.get(bad_name).status_code in (404, 422)
    assert client.get("/api/referendums/nope/attestations").status_code == 404


def test_cli_attest_posts_to_the_server(
    server: Any, observed: Observed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from plebiscite import client as client_module

    client, ref = server

    def fake_init(self: Any, base: str, timeout: float = 60.0) -> None:
        self.base = base.rstrip("/")
        self.http = client

    monkeypatch.setattr(client_module.Client, "__init__", fake_init)
    monkeypatch.setattr(client_module.Client, "close", lambda self: None)
    mirror = _mirror(ref, tmp_path / "mirror")
    out = tmp_path / "att.json"
    code, stdout, err = _run(
        "observe", "attest", mirror, "--key", observed.keyfiles["ngo-watch"], "--recognise",
        "--out", out, "--server", "http://testserver",
    )  # fmt: skip
    assert code == 0, err
    assert "posted to http://testserver" in stdout
    [item] = client.get(f"/api/referendums/{ref.id}/attestations").json()["attestations"]
    assert item["observer"] == "ngo-watch"

    # An attestation of another record is refused by the server: exit 2, file written.
    out2 = tmp_path / "other.json"
    code, _, err = _run(
        "observe", "attest", observed.record, "--key", observed.keyfiles["osce"],
        "--recognise", "--out", out2, "--server", "http://testserver",
        "--referendum", ref.id,
    )  # fmt: skip
    assert code == 2 and "did not keep" in err and "not about this record" in err
    assert out2.exists()
