"""Belenios 2.0 archives: belenios-tool is the peer. Fresh elections are generated with
it at test time (plain and threshold trustees, one to four questions, with and without
blank, weights, revotes including an identical ballot cast twice), then verified by
both; tampered copies, re-hashed and re-chained so only the cryptography can tell, must
be rejected by us whenever belenios-tool rejects them, with a named check; and we also
reject a changed stored encrypted tally, which belenios-tool 2.0 accepts."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from plebiscite.interop import belenios
from plebiscite.interop.belenios import CHECKS, verify_foreign
from plebiscite.verify.reader import RecordError

from belenios_gen import (  # isort: skip
    Generated,
    Question,
    Record,
    Spec,
    bel_of,
    bench_compare,
    bump_number,
    generate,
    generate_setup_only_nh,
    tamper,
    tool_available,
    tool_verify,
)

pytestmark = pytest.mark.skipif(not tool_available(), reason="belenios-tool is not installed")

SPECS: dict[str, Spec] = {
    # two mandatory trustees; a blank-allowed question; revotes, one of them identical
    "plain": Spec(
        [Question(2), Question(3, 1, 2, blank=True)],
        votes=[
            (0, [[1, 0], [0, 1, 0, 0]]),
            (1, [[0, 1], [1, 0, 0, 0]]),
            (2, [[0, 0], [0, 1, 1, 0]]),
            (0, [[0, 1], [0, 0, 1, 1]]),
        ],
        repeat=[1],
        singles=2,
    ),
    # one mandatory trustee and 2-of-3 threshold trustees, the 1st and 3rd decrypting
    "threshold": Spec(
        [Question(2)],
        votes=[(0, [[1, 0]]), (1, [[0, 1]]), (2, [[1, 0]]), (2, [[1, 0]])],
        threshold=(3, 2),
        decrypting=[1, 3],
    ),
    # four questions, weights, blank votes
    "four": Spec(
        [Question(2), Question(2, 0, 2), Question(3, 1, 1, blank=True), Question(1)],
        votes=[
            (0, [[1, 0], [1, 1], [0, 1, 0, 0], [1]]),
            (1, [[0, 1], [0, 0], [1, 0, 0, 0], [0]]),
            (2, [[0, 0], [0, 1], [0, 0, 0, 1], [1]]),
        ],
        weights=[2, 3, 1],
    ),
    # still voting: no tally yet
    "voting": Spec(
        [Question(2, 1, 1, blank=True)], votes=[(0, [[0, 1, 0]]), (1, [[1, 0, 0]])], tally=False
    ),  # fmt: skip
}


@pytest.fixture(scope="session")
def elections(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Generated]:
    base = tmp_path_factory.mktemp("belenios")
    return {name: generate(spec, base / "work" / name, base / name) for name, spec in SPECS.items()}


def _expected_results(g: Generated) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, (q, row) in enumerate(zip(g.spec.questions, g.expected, strict=True), 1):
        counts = {"blank": row[0]} if q.blank else {}
        rest = row[1:] if q.blank else row
        counts.update({f"a{j}": v for j, v in enumerate(rest, 1)})
        out[f"q{k}"] = counts
    return {g.uuid: out}


def _statuses(report: Any) -> dict[str, str]:
    return {c.id: c.status for c in report.checks}


# --- fresh elections: same verdict and result as belenios-tool ------------------------


@pytest.mark.parametrize("name", list(SPECS))
def test_fresh_election_agrees_with_belenios_tool(
    elections: dict[str, Generated], name: str
) -> None:
    g = elections[name]
    accepted, log = tool_verify(g.directory)
    assert accepted, log
    report = verify_foreign(g.directory, workers=1)
    assert report.ok, [(c.id, c.details) for c in report.failed]
    st = _statuses(report)
    assert [c.id for c in report.checks] == [f"B{i:02d}" for i in range(1, 17)]
    assert st["B06"] == ("passed" if g.spec.threshold else "not_applicable")
    if g.spec.tally:
        assert report.results == _expected_results(g)
        assert all(st[i] == "passed" for i in ("B13", "B14", "B15", "B16"))
        assert report.summary["stage"] == "decided"
    else:
        assert report.results is None
        assert all(st[i] == "not_applicable" for i in ("B13", "B14", "B15", "B16"))
    ballots = len(g.spec.votes) + len(g.spec.repeat)
    assert report.summary["ballots"] == ballots
    assert report.summary["counted"] == len({v for v, _ in g.spec.votes})


def test_checks_carry_ids_titles_and_references(elections: dict[str, Generated]) -> None:
    report = verify_foreign(elections["plain"].directory, workers=1)
    for spec, c in zip(CHECKS, report.checks, strict=True):
        assert (c.id, c.title) == (spec.id, spec.title)
        assert c.references["belenios_spec_2_0"] and c.references["belenios_tool_2_0"]
        assert c.status in ("passed", "failed", "not_applicable")
        assert c.status != "passed" or not c.details


def test_ballot_proofs_in_worker_processes(
    elections: dict[str, Generated], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(belenios, "BATCH", 2)
    report = verify_foreign(elections["plain"].directory, workers=2)
    assert report.ok
    assert report.results == _expected_results(elections["plain"])


def test_cli_verify_and_results(
    elections: dict[str, Generated], run_cli: Callable[..., tuple[int, str, str]]
) -> None:
    g = elections["threshold"]
    code, out, _ = run_cli("verify", g.directory, "--format", "belenios", "--json")
    assert code == 0
    assert json.loads(out)["verdict"] == "verified"
    code, out, _ = run_cli("results", g.directory, "--format", "belenios", "--json")
    assert code == 0
    assert json.loads(out) == _expected_results(g)
    code, out, _ = run_cli("verify", g.directory, "--format", "belenios")
    assert code == 0 and "B16" in out


# --- tampered archives ------------------------------------------------------------------


def _payload_index(records: list[Record], event_type: str, nth: int = 0) -> int:
    """Index of the data record right before the nth event of a type (its payload)."""
    found = [i for i, r in enumerate(records)
             if r.is_event and json.loads(r.body)["type"] == event_type]  # fmt: skip
    return found[nth] - 1


def _edit(records: list[Record], i: int, fn: Callable[[str], str]) -> None:
    records[i].body = fn(records[i].body.decode()).encode()


def _ballot_proof(records: list[Record]) -> None:
    _edit(records, _payload_index(records, "Ballot", 1), lambda t: bump_number(t, "response", 2))


def _ballot_overall_proof(records: list[Record]) -> None:
    def change(text: str) -> str:
        b = json.loads(text)
        pf = b["answers"][0]["overall_proof"][0]
        pf["challenge"] = str(int(pf["challenge"]) + 1)
        return json.dumps(b, separators=(",", ":"))

    _edit(records, _payload_index(records, "Ballot", 0), change)


def _ballot_noncanonical(records: list[Record]) -> None:
    _edit(records, _payload_index(records, "Ballot", 0), lambda t: t.replace(",", ", ", 1))


def _drop_ballot(records: list[Record]) -> None:
    i = _payload_index(records, "Ballot", 2)  # voter 3's only ballot
    del records[i : i + 2]
    # heights follow positions: renumber the events after it
    h = 0
    for r in records:
        if r.is_event:
            ev = json.loads(r.body)
            ev["height"] = h
            keys = [k for k in ("parent", "height", "type", "payload") if k in ev]
            r.body = json.dumps({k: ev[k] for k in keys}, separators=(",", ":")).encode()
            h += 1


def _partial_decryption(records: list[Record]) -> None:
    i = _payload_index(records, "PartialDecryption", 0) - 1  # the pd before its owned record
    _edit(records, i, lambda t: bump_number(t, "response", 0))


def _decryption_factor(records: list[Record]) -> None:
    i = _payload_index(records, "PartialDecryption", 0) - 1

    def change(text: str) -> str:
        pd = json.loads(text)
        f = pd["decryption_factors"][0][0]
        pd["decryption_factors"][0][0] = str(int(f) * 4 % belenios_p())
        return json.dumps(pd, separators=(",", ":"))

    _edit(records, i, change)


def _result(records: list[Record]) -> None:
    def change(text: str) -> str:
        r = json.loads(text)
        r["result"][0][0] += 1
        r["result"][0][1] -= 1
        return json.dumps(r, separators=(",", ":"))

    _edit(records, _payload_index(records, "Result"), change)


def _trustee_key(records: list[Record]) -> None:
    # the Setup data: election, trustees, credentials, setup_data, then the event
    i = _payload_index(records, "Setup") - 2
    _edit(records, i, lambda t: bump_number(t, "public_key", 0))


def _threshold_verification_key(records: list[Record]) -> None:
    i = _payload_index(records, "Setup") - 2

    def change(text: str) -> str:
        ts = json.loads(text)
        ped = next(t for t in ts if t[0] == "Pedersen")[1]
        vk = ped["verification_keys"][1]
        vk["public_key"] = str(int(vk["public_key"]) * 4 % belenios_p())
        return json.dumps(ts, separators=(",", ":"))

    _edit(records, i, change)


def _weight(records: list[Record]) -> None:
    i = _payload_index(records, "Setup") - 1

    def change(text: str) -> str:
        creds = json.loads(text)
        creds = [c.rsplit(",", 1)[0] + "," + str(int(c.rsplit(",", 1)[1]) + 5) for c in creds]
        return json.dumps(creds, separators=(",", ":"))

    _edit(records, i, change)


def _stored_tally(records: list[Record]) -> None:
    i = _payload_index(records, "EncryptedTally") - 1  # the tally before its sized record

    def change(text: str) -> str:
        et = json.loads(text)
        c = et[0][0]
        c["alpha"], c["beta"] = (str(int(c["alpha"]) * 4 % belenios_p()),
                                 str(int(c["beta"]) * 4 % belenios_p()))  # fmt: skip
        return json.dumps(et, separators=(",", ":"))

    _edit(records, i, change)


def _stored_count(records: list[Record]) -> None:
    i = _payload_index(records, "EncryptedTally")
    _edit(records, i, lambda t: t.replace('"num_tallied":', '"num_tallied":1', 1))


def belenios_p() -> int:
    from plebiscite.crypto.constants import BELENIOS2048_P

    return BELENIOS2048_P


# (election, change, checks that must fail, whether belenios-tool 2.0 rejects it)
TAMPERS: dict[str, tuple[str, Callable[[list[Record]], None], set[str], bool]] = {
    "ballot-proof": ("plain", _ballot_proof, {"B10", "B11"}, True),
    "ballot-overall-proof": ("four", _ballot_overall_proof, {"B10", "B11"}, True),
    "ballot-noncanonical": ("plain", _ballot_noncanonical, {"B09"}, True),
    "ballot-dropped": ("plain", _drop_ballot, {"B13", "B16"}, True),
    "partial-decryption-proof": ("plain", _partial_decryption, {"B14"}, True),
    "partial-decryption-factor": ("threshold", _decryption_factor, {"B14", "B15"}, True),
    "result": ("threshold", _result, {"B16"}, True),
    "trustee-key": ("plain", _trustee_key, {"B05", "B07"}, True),
    "threshold-verification-key": (
        "threshold",
        _threshold_verification_key,
        {"B05", "B06"},
        True,
    ),  # fmt: skip
    "credential-weight": ("four", _weight, {"B16"}, True),
    # belenios-tool 2.0 recomputes the tally and never compares the stored one:
    "stored-tally": ("plain", _stored_tally, {"B13"}, False),
    "stored-count": ("four", _stored_count, {"B13"}, False),
}


@pytest.mark.parametrize("case", list(TAMPERS))
def test_tampered_archive_is_rejected(
    elections: dict[str, Generated], tmp_path: Path, case: str
) -> None:
    name, change, must_fail, tool_rejects = TAMPERS[case]
    dst = tamper(elections[name].directory, tmp_path / case, change)
    assert bel_of(dst).read_bytes() != bel_of(elections[name].directory).read_bytes()
    accepted, log = tool_verify(dst)
    assert accepted is not tool_rejects, log
    report = verify_foreign(dst, workers=1)
    failed = {c.id for c in report.failed}
    assert not report.ok
    assert must_fail <= failed, (failed, [(c.id, c.details) for c in report.failed])
    # re-hashed and re-chained: the archive checks still pass, only cryptography fails
    assert {"B01", "B02", "B03"}.isdisjoint(failed)


def test_change_without_rehash_breaks_the_archive_checks(
    elections: dict[str, Generated], tmp_path: Path
) -> None:
    src = bel_of(elections["plain"].directory)
    dst = tmp_path / "raw"
    dst.mkdir()
    raw = bytearray(src.read_bytes())
    k = raw.index(b'"alpha":"') + 12
    raw[k] = ord("1") if raw[k] != ord("1") else ord("2")
    (dst / src.name).write_bytes(bytes(raw))
    accepted, _ = tool_verify(dst)
    assert not accepted
    report = verify_foreign(dst, workers=1)
    assert {"B01", "B03"} <= {c.id for c in report.failed}


# --- unusable and unsupported input ---------------------------------------------------


def test_mixnet_questions_are_unsupported(
    tmp_path: Path, run_cli: Callable[..., tuple[int, str, str]]
) -> None:
    d = generate_setup_only_nh(tmp_path / "work", tmp_path / "nh")
    with pytest.raises(RecordError, match="non-homomorphic"):
        verify_foreign(d)
    code, _, err = run_cli("verify", d, "--format", "belenios")
    assert code == 2 and "unsupported" in err


def test_unusable_input(tmp_path: Path, run_cli: Callable[..., tuple[int, str, str]]) -> None:
    with pytest.raises(RecordError, match="no .bel"):
        verify_foreign(tmp_path)
    (tmp_path / "x.bel").write_bytes(b"not a tar archive")
    with pytest.raises(RecordError, match="not a Belenios archive"):
        verify_foreign(tmp_path)
    code, _, err = run_cli("verify", tmp_path, "--format", "belenios")
    assert code == 2 and "not a Belenios archive" in err
    shutil.rmtree(tmp_path)


def test_bench_compare_helper(elections: dict[str, Generated]) -> None:
    ours, theirs = bench_compare(elections["threshold"].directory, 1)
    assert ours > 0 and theirs > 0


def test_every_belenios_check_is_documented() -> None:
    text = (Path(__file__).resolve().parent.parent / "docs" / "interop-belenios.md").read_text()
    assert all(f"| {c.id} | {c.title} |" in text for c in CHECKS)
