"""``plebiscite keys status`` and ``plebiscite keys reseal``: changing a passphrase and
sealing a plaintext key, for every role's secret files."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from typer.testing import CliRunner

from plebiscite.cli import app
from plebiscite.election.keys import Passphrase, WrongPassphrase, read_secret_json

OLD, NEW = "old passphrase, long enough", "a new one, also long enough"


def cli(*args: object, env: dict[str, str | None] | None = None) -> tuple[int, str, str]:
    base: dict[str, str | None] = {"PLEBISCITE_PASSPHRASE": None, "PLEBISCITE_NEW_PASSPHRASE": None}
    result = CliRunner().invoke(app, [str(a) for a in args], env={**base, **(env or {})})
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def one_line_error(code: int, err: str, *needles: str) -> None:
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("plebiscite: "), err
    for n in needles:
        assert n in err, err


def pfile(tmp: Path, name: str, text: str) -> Path:
    p = tmp / name
    p.write_text(text + "\n")
    p.chmod(0o600)
    return p


def make_keys(tmp: Path) -> tuple[Path, Path]:
    """A sealed credential authority key and a plaintext guardian identity."""
    code, _, err = cli(
        "credentials", "keygen", "--out", tmp / "ca.key", env={"PLEBISCITE_PASSPHRASE": OLD}
    )
    assert code == 0, err
    code, _, err = cli("guardian", "identity", "--out", tmp / "g.id", "--insecure-plaintext")
    assert code == 0, err
    return tmp / "ca.key", tmp / "g.id"


def test_status_says_which_files_are_sealed(tmp_path: Path) -> None:
    ca, gid = make_keys(tmp_path)
    code, out, err = cli("keys", "status", ca, gid)
    assert code == 0, err
    assert f"{ca}: sealed (scrypt" in out and f"{gid}: NOT sealed (--insecure-plaintext)" in out
    code, out, _ = cli("keys", "status", ca, gid, "--json")
    rows = json.loads(out)["files"]
    assert [r["sealed"] for r in rows] == [True, False]
    assert rows[1]["unencrypted"] == "--insecure-plaintext"
    code, _, err = cli("keys", "status", tmp_path / "missing.key")
    one_line_error(code, err, "no such file")
    gid.chmod(0o644)
    code, _, err = cli("keys", "status", gid)
    one_line_error(code, err, str(gid))


def test_reseal_changes_the_passphrase_and_seals_plaintext(tmp_path: Path) -> None:
    ca, gid = make_keys(tmp_path)
    before_ca = read_secret_json(ca, Passphrase.given(OLD), allow_plaintext=False)
    before_gid = read_secret_json(gid, allow_plaintext=True)
    old, new = pfile(tmp_path, "old.pass", OLD), pfile(tmp_path, "new.pass", NEW)
    code, out, err = cli(
        "keys",
        "reseal",
        ca,
        gid,
        "--passphrase-file",
        old,
        "--new-passphrase-file",
        new,
        "--json",
    )
    assert code == 0, err
    assert json.loads(out)["files"] == [
        {"file": str(ca), "was": "sealed", "now": "sealed"},
        {"file": str(gid), "was": "plaintext", "now": "sealed"},
    ]
    assert read_secret_json(ca, Passphrase.given(NEW), allow_plaintext=False) == before_ca
    after_gid = read_secret_json(gid, Passphrase.given(NEW), allow_plaintext=False)
    assert after_gid == {k: v for k, v in before_gid.items() if k != "unencrypted"}
    try:
        read_secret_json(ca, Passphrase.given(OLD), allow_plaintext=False)
        raise AssertionError("the old passphrase still opens the file")
    except WrongPassphrase:
        pass
    for f in (ca, gid):
        assert stat.S_IMODE(os.stat(f).st_mode) == 0o600
        assert NEW not in f.read_text() and "signing_key" not in f.read_text()
    # the commands that use the key accept the new passphrase
    code, _, err = cli("keys", "status", ca, gid)
    assert code == 0 and "NOT sealed" not in _, err


def test_reseal_from_the_environment(tmp_path: Path) -> None:
    ca, _ = make_keys(tmp_path)
    code, _, err = cli(
        "keys",
        "reseal",
        ca,
        env={"PLEBISCITE_PASSPHRASE": OLD, "PLEBISCITE_NEW_PASSPHRASE": NEW},
    )
    assert code == 0, err
    assert f"{ca}: resealed under the new passphrase" in err
    assert read_secret_json(ca, Passphrase.given(NEW), allow_plaintext=False)


def test_reseal_refusals_change_nothing(tmp_path: Path) -> None:
    ca, gid = make_keys(tmp_path)
    before = {f: f.read_bytes() for f in (ca, gid)}
    new = pfile(tmp_path, "new.pass", NEW)
    wrong = pfile(tmp_path, "wrong.pass", "not the passphrase")
    # a wrong current passphrase for the second file: the first (plaintext) is not
    # sealed either
    code, _, err = cli(
        "keys", "reseal", gid, ca, "--passphrase-file", wrong, "--new-passphrase-file", new
    )
    one_line_error(code, err, "wrong passphrase")
    # no current passphrase for a sealed file (standard input is not a terminal)
    code, _, err = cli("keys", "reseal", ca, "--new-passphrase-file", new)
    one_line_error(code, err, "is sealed")
    # no new passphrase: named as the new one
    code, _, err = cli("keys", "reseal", gid)
    one_line_error(code, err, "--new-passphrase-file", "PLEBISCITE_NEW_PASSPHRASE")
    # a new passphrase file that others may read
    new.chmod(0o644)
    code, _, err = cli("keys", "reseal", gid, "--new-passphrase-file", new)
    one_line_error(code, err, str(new))
    # not a secret file
    junk = tmp_path / "junk"
    junk.write_text("[1, 2]\n")
    junk.chmod(0o600)
    code, _, err = cli("keys", "reseal", junk, "--new-passphrase-file", new)
    one_line_error(code, err, "not a secret file")
    assert {f: f.read_bytes() for f in (ca, gid)} == before
