"""ElectionGuard 1.x records, made fresh by electionguard 1.4.0 itself, verify; tampered
copies fail with a named check.

The SDK lives in its own venv (.venv-eg, made by scripts/eg-venv.sh on first use) and
writes the records through scripts/eg_make_record.py; they are made once per test run
(shared by pytest-xdist workers through a lock).
"""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from plebiscite.crypto import constants as pinned
from plebiscite.interop.electionguard import CHECKS, time_ballots, verify_foreign
from plebiscite.verify.reader import RecordError

ROOT = Path(__file__).resolve().parents[1]

# name -> eg_make_record.py arguments
RECORDS = {
    # 3 guardians, quorum 2, guardian 3 missing at decryption (compensated)
    "threshold": ["--guardians", "3", "--quorum", "2", "--missing", "1", "--ballots", "5",
                  "--spoil", "2", "--contests", "2", "--seed", "7"],
    # 2 of 2, everyone present, one contest, nothing spoiled
    "plain": ["--guardians", "2", "--quorum", "2", "--missing", "0", "--ballots", "3",
              "--spoil", "0", "--contests", "1", "--seed", "3"],
}  # fmt: skip


@dataclass
class EGRecord:
    path: Path
    summary: dict[str, Any]


@pytest.fixture(scope="session")
def eg_python() -> Path:
    """The Python of .venv-eg, created (once) by scripts/eg-venv.sh."""
    out = subprocess.run(
        [str(ROOT / "scripts" / "eg-venv.sh")], capture_output=True, text=True, timeout=900
    )
    if out.returncode != 0:
        pytest.fail(f"scripts/eg-venv.sh failed:\n{out.stderr[-3000:]}")
    return Path(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def eg_records(eg_python: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, EGRecord]:
    """Fresh records from electionguard 1.4.0, made in parallel, shared across workers."""
    shared = tmp_path_factory.getbasetemp().parent / "eg-records"
    shared.mkdir(exist_ok=True)
    with (shared / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        procs = {}
        for name, args in RECORDS.items():
            if not (shared / f"{name}.json").exists():
                shutil.rmtree(shared / name, ignore_errors=True)
                cmd = [str(eg_python), str(ROOT / "scripts" / "eg_make_record.py")]
                procs[name] = subprocess.Popen(
                    [*cmd, str(shared / name), *args],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
        for name, proc in procs.items():
            out, err = proc.communicate(timeout=600)
            if proc.returncode != 0:
                pytest.fail(f"eg_make_record.py {name} failed:\n{err[-3000:]}")
            (shared / f"{name}.json").write_text(out.strip().splitlines()[-1])
    return {
        name: EGRecord(shared / name, json.loads((shared / f"{name}.json").read_text()))
        for name in RECORDS
    }


@pytest.fixture
def threshold_copy(eg_records: dict[str, EGRecord], tmp_path: Path) -> Path:
    dst = tmp_path / "record"
    shutil.copytree(eg_records["threshold"].path, dst)
    return dst


def _statuses(report: Any) -> dict[str, str]:
    return {c.id: c.status for c in report.checks}


# --- fresh records verify -------------------------------------------------------------


def test_threshold_record_verifies(eg_records: dict[str, EGRecord]) -> None:
    rec = eg_records["threshold"]
    report = verify_foreign(rec.path, 2)
    assert [c.id for c in report.checks] == [c.id for c in CHECKS]
    bad = {c.id: c.details for c in report.failed}
    assert report.ok, bad
    assert set(_statuses(report).values()) == {"passed"}  # compensated shares included
    assert report.results == {"plebiscite-eg-interop": rec.summary["tally"]}
    s = report.summary
    assert (s["ballots"], s["counted"], s["challenged"]) == (5, 3, 2)
    for c in report.checks:
        assert c.references["electionguard_1_0"] and c.references["plebiscite"]


def test_plain_record_verifies(eg_records: dict[str, EGRecord]) -> None:
    rec = eg_records["plain"]
    report = verify_foreign(rec.path, 1)
    assert report.ok, {c.id: c.details for c in report.failed}
    st = _statuses(report)
    assert st["E09"] == "not_applicable"  # nobody missing: no compensated shares
    assert st["E12"] == "not_applicable"  # nothing spoiled
    assert all(st[c] == "passed" for c in st if c not in ("E09", "E12"))
    assert report.results == {"plebiscite-eg-interop": rec.summary["tally"]}


def test_cli_verify_and_results(eg_records: dict[str, EGRecord], run_cli: Callable) -> None:
    path = eg_records["threshold"].path
    code, out, _ = run_cli("verify", path, "--format", "electionguard", "--json")
    assert code == 0 and json.loads(out)["verdict"] == "verified"
    code, out, _ = run_cli("results", path, "--format", "electionguard", "--workers", "1")
    assert code == 0
    assert json.loads(out) == {"plebiscite-eg-interop": eg_records["threshold"].summary["tally"]}


def test_unusable_input(tmp_path: Path, run_cli: Callable) -> None:
    with pytest.raises(RecordError):
        verify_foreign(tmp_path / "nowhere", 1)
    (tmp_path / "context.json").write_text("{}")
    with pytest.raises(RecordError, match="manifest.json: missing"):
        verify_foreign(tmp_path, 1)
    code, _, err = run_cli("verify", tmp_path, "--format", "electionguard")
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err


def test_ballot_timing_helper(eg_records: dict[str, EGRecord]) -> None:
    t = time_ballots(eg_records["plain"].path, 1)
    assert t["ballots"] == 3 and t["seconds_per_ballot"] > 0


# --- tampered copies fail with a named check -----------------------------------------


def _edit(path: Path, fn: Callable[[Any], None]) -> None:
    data = json.loads(path.read_text())
    fn(data)
    path.write_text(json.dumps(data))


def _bump_scalar(value: str) -> str:
    return format((int(value, 16) + 1) % pinned.ELECTIONGUARD1_Q, "064X")


def _times_g(value: str) -> str:
    """Another valid group element (so membership checks alone cannot catch it)."""
    p, g = pinned.ELECTIONGUARD1_P, pinned.ELECTIONGUARD1_G
    return format(int(value, 16) * g % p, "X")


def _first(folder: Path, prefix: str = "") -> Path:
    return sorted(folder.glob(prefix + "*.json"))[0]


def _cast_ballot(rec: Path) -> Path:
    for p in sorted((rec / "submitted_ballots").glob("*.json")):
        if json.loads(p.read_text())["state"] == 1:
            return p
    raise AssertionError("no cast ballot")


def _selection_proof(rec: Path) -> None:
    def fn(b: Any) -> None:
        proof = b["contests"][0]["ballot_selections"][0]["proof"]
        proof["proof_zero_response"] = _bump_scalar(proof["proof_zero_response"])

    _edit(_cast_ballot(rec), fn)


def _contest_proof(rec: Path) -> None:
    def fn(b: Any) -> None:
        proof = b["contests"][-1]["proof"]
        proof["response"] = _bump_scalar(proof["response"])

    _edit(_cast_ballot(rec), fn)


def _guardian_proof(rec: Path) -> None:
    def fn(g: Any) -> None:
        g["election_proofs"][1]["response"] = _bump_scalar(g["election_proofs"][1]["response"])

    _edit(_first(rec / "guardians"), fn)


def _tally_ciphertext(rec: Path) -> None:
    def fn(t: Any) -> None:
        sel = next(iter(t["contests"]["contest-0"]["selections"].values()))
        sel["ciphertext"]["data"] = _times_g(sel["ciphertext"]["data"])

    _edit(rec / "encrypted_tally.json", fn)


def _decryption_share(rec: Path) -> None:
    def fn(t: Any) -> None:
        sel = t["contests"]["contest-0"]["selections"]["contest-0-no"]
        share = next(s for s in sel["shares"] if s["proof"] is not None)
        share["share"] = _times_g(share["share"])

    _edit(rec / "tally.json", fn)


def _compensated_share(rec: Path) -> None:
    def fn(t: Any) -> None:
        sel = t["contests"]["contest-1"]["selections"]["contest-1-c1-cand1"]
        share = next(s for s in sel["shares"] if s["recovered_parts"])
        part = next(iter(share["recovered_parts"].values()))
        part["proof"]["response"] = _bump_scalar(part["proof"]["response"])

    _edit(rec / "tally.json", fn)


def _lagrange(rec: Path) -> None:
    def fn(c: Any) -> None:
        gid = sorted(c["coefficients"])[0]
        c["coefficients"][gid] = _bump_scalar(c["coefficients"][gid])

    _edit(rec / "coefficients.json", fn)


def _plaintext_count(rec: Path) -> None:
    def fn(t: Any) -> None:
        sel = t["contests"]["contest-0"]["selections"]["contest-0-yes"]
        sel["tally"] = sel["tally"] + 1 if sel["tally"] == 0 else sel["tally"] - 1

    _edit(rec / "tally.json", fn)


def _constants(rec: Path) -> None:
    def fn(c: Any) -> None:
        c["generator"] = format(pow(int(c["generator"], 16), 2, pinned.ELECTIONGUARD1_P), "X")

    _edit(rec / "constants.json", fn)


def _tracking_code(rec: Path) -> None:
    _edit(_cast_ballot(rec), lambda b: b.update(timestamp=b["timestamp"] + 1))


def _spoiled_decryption(rec: Path) -> None:
    def fn(b: Any) -> None:
        sel = next(iter(b["contests"]["contest-0"]["selections"].values()))
        sel["tally"] = 1 - sel["tally"]

    _edit(_first(rec / "spoiled_ballots"), fn)


def _dropped_cast_ballot(rec: Path) -> None:
    _cast_ballot(rec).unlink()


TAMPERS = [
    (_selection_proof, "E04"),
    (_contest_proof, "E05"),
    (_guardian_proof, "E02"),
    (_tally_ciphertext, "E07"),
    (_decryption_share, "E08"),
    (_compensated_share, "E09"),
    (_lagrange, "E10"),
    (_plaintext_count, "E11"),
    (_constants, "E01"),
    (_tracking_code, "E06"),
    (_spoiled_decryption, "E12"),
    (_dropped_cast_ballot, "E07"),
]


@pytest.mark.parametrize(("tamper", "check"), TAMPERS, ids=[t.__name__[1:] for t, _ in TAMPERS])
def test_tampered_record_fails(
    tamper: Callable[[Path], None], check: str, threshold_copy: Path
) -> None:
    tamper(threshold_copy)
    report = verify_foreign(threshold_copy, 1)
    assert not report.ok
    assert report.status_of(check) == "failed", {c.id: c.details for c in report.failed}
    if check not in ("E07", "E08", "E10", "E11"):  # those also break the decrypted tally
        assert report.status_of("E11") == "passed"
