"""Secrets at rest: guardian states and keys, the credential authority's key and the
board's key are sealed under a passphrase (scrypt, AES-256-GCM), never written or read
when group or others may read them, and no command ever waits on a prompt nobody can
answer. The passphrase never reaches a message or a log."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from plebiscite.cli import app
from plebiscite.election.demo import DemoOutcome
from plebiscite.election.keys import (
    KDF_COSTS,
    NO_PASSPHRASE,
    InsecureSecretFile,
    NoPassphrase,
    Passphrase,
    PlaintextRefused,
    SecretFileError,
    WrongPassphrase,
    kdf_cost,
    key_from_seed,
    read_secret_json,
    secret_file_is_sealed,
    write_secret_json,
)
from plebiscite.record.entries import key_to_b64

PASS = "tell no one: 7 blue herons"
OTHER = "a different passphrase"


def _cli(*args: object, passphrase: str | None = PASS) -> tuple[int, str, str]:
    """The CLI in-process (standard input is not a terminal), with PLEBISCITE_PASSPHRASE
    set to ``passphrase`` or unset."""
    env = {"PLEBISCITE_PASSPHRASE": passphrase}
    result = CliRunner().invoke(app, [str(a) for a in args], env=env)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def _one_line_error(code: int, err: str, *needles: str) -> None:
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("plebiscite: "), err
    assert "Traceback" not in err
    for n in needles:
        assert n in err, err


def _forms(secret: str) -> set[str]:
    """The ways a secret could appear on disk: as given, and its bytes in hex and
    base64 (padded or not, standard or URL-safe)."""
    forms = {secret}
    raw: bytes | None
    try:
        raw = bytes.fromhex(secret)
    except ValueError:
        try:
            raw = base64.b64decode(secret, validate=True)
        except ValueError:
            raw = None
    if raw:
        b64 = base64.b64encode(raw).decode()
        forms |= {raw.hex(), raw.hex().upper(), b64, b64.rstrip("=")}
        forms |= {base64.urlsafe_b64encode(raw).decode().rstrip("=")}
    return {f for f in forms if len(f) >= 16}


def _manifest(tmp: Path) -> Path:
    from enrol import pin
    from plebiscite.election.demo import builtin_manifest
    from plebiscite.server.demo import demo_manifest

    m = demo_manifest(builtin_manifest())
    if not (tmp / "keys").exists():
        pin(m, tmp / "keys", PASS)
    else:  # the parties' keys were made by an earlier call in this folder
        m = json.loads((tmp / "referendum.json").read_text())
    p = tmp / "referendum.json"
    p.write_text(json.dumps(m))
    return p


def _passphrase_file(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text + "\n")
    path.chmod(mode)
    return path


def _env_without_passphrase() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PLEBISCITE_PASSPHRASE"}
    env["PLEBISCITE_KDF_COST"] = "test"
    return env


# --- the sealed format -----------------------------------------------------------------


def test_round_trip_and_format(tmp_path: Path) -> None:
    data = {"kind": "test secret", "signing_key": base64.b64encode(os.urandom(32)).decode()}
    path = tmp_path / "s.json"
    write_secret_json(path, data, Passphrase.given(PASS))
    assert os.stat(path).st_mode & 0o777 == 0o600
    on_disk = json.loads(path.read_text())
    assert on_disk["format"] == "plebiscite-sealed/v1" and on_disk["kind"] == "test secret"
    assert on_disk["kdf"]["name"] == "scrypt" and on_disk["cipher"]["name"] == "aes-256-gcm"
    assert {"n", "r", "p", "salt"} <= set(on_disk["kdf"])
    assert secret_file_is_sealed(path)
    assert read_secret_json(path, Passphrase.given(PASS), allow_plaintext=False) == data
    with pytest.raises(WrongPassphrase):
        read_secret_json(path, Passphrase.given(OTHER), allow_plaintext=False)
    with pytest.raises(NoPassphrase):
        read_secret_json(path, None, allow_plaintext=False)
    # Each write draws a fresh salt and nonce.
    write_secret_json(path, data, Passphrase.given(PASS))
    again = json.loads(path.read_text())
    assert again["kdf"]["salt"] != on_disk["kdf"]["salt"]
    assert again["ciphertext"] != on_disk["ciphertext"]


def test_header_is_authenticated(tmp_path: Path) -> None:
    """Weakening the parameters or relabelling the file breaks it: the header is the
    associated data."""
    path = tmp_path / "s.json"
    write_secret_json(path, {"kind": "k", "x": "y"}, Passphrase.given(PASS))
    good = json.loads(path.read_text())
    changes: list[dict[str, Any]] = [
        {**good, "kind": "something else"},
        {**good, "kdf": {**good["kdf"], "n": good["kdf"]["n"] // 2}},
        {**good, "extra": 1},
    ]
    for changed in changes:
        path.write_text(json.dumps(changed))
        with pytest.raises(WrongPassphrase):
            read_secret_json(path, Passphrase.given(PASS), allow_plaintext=False)
    # Parameters that would cost gigabytes or hours are refused before deriving.
    for kdf in ({"n": 2**30}, {"n": 3 * 2**12}, {"r": 10**6}, {"salt": "!!"}):
        path.write_text(json.dumps({**good, "kdf": {**good["kdf"], **kdf}}))
        with pytest.raises(SecretFileError, match="not a sealed secret file"):
            read_secret_json(path, Passphrase.given(PASS), allow_plaintext=False)


def test_default_cost_is_strong(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PLEBISCITE_KDF_COST", raising=False)
    assert kdf_cost() == KDF_COSTS["default"] == {"n": 2**17, "r": 8, "p": 1}
    monkeypatch.setenv("PLEBISCITE_KDF_COST", "cheap")
    with pytest.raises(SecretFileError, match="PLEBISCITE_KDF_COST"):
        kdf_cost()


def test_passphrase_sources(tmp_path: Path) -> None:
    f = _passphrase_file(tmp_path / "pass", PASS)
    # The file wins over the variable; one final newline is not part of it.
    env = {"PLEBISCITE_PASSPHRASE": OTHER}
    assert Passphrase(f, env=env, interactive=False).get() == PASS.encode()
    assert Passphrase(env=env, interactive=False).get() == OTHER.encode()
    # No file, no variable, no terminal: an error, never a prompt.
    asked: list[str] = []

    def prompt(text: str) -> str:
        asked.append(text)
        return PASS

    with pytest.raises(NoPassphrase, match=NO_PASSPHRASE):
        Passphrase(env={}, interactive=False, prompt=prompt).get()
    assert asked == []
    # On a terminal it prompts, twice for a new secret, and once per command.
    pp = Passphrase(env={}, interactive=True, prompt=prompt)
    assert pp.get("x", confirm=True) == PASS.encode() and pp.get() == PASS.encode()
    assert len(asked) == 2
    answers = iter([PASS, OTHER])
    with pytest.raises(NoPassphrase, match="differ"):
        Passphrase(env={}, interactive=True, prompt=lambda _: next(answers)).get(confirm=True)
    with pytest.raises(NoPassphrase, match="empty"):
        Passphrase(env={"PLEBISCITE_PASSPHRASE": ""}, interactive=False).get()
    assert PASS not in repr(pp)
    # A passphrase file others may read is refused.
    shared = _passphrase_file(tmp_path / "shared", PASS, 0o644)
    with pytest.raises(InsecureSecretFile):
        Passphrase(shared, env={}, interactive=False).get()


def test_permissive_mode_is_refused(tmp_path: Path) -> None:
    code, _, err = _cli("credentials", "keygen", "--out", tmp_path / "ca.key")
    assert code == 0, err
    (tmp_path / "ca.key").chmod(0o644)
    with pytest.raises(InsecureSecretFile, match="chmod 600"):
        read_secret_json(tmp_path / "ca.key", Passphrase.given(PASS), allow_plaintext=False)
    code, _, err = _cli(
        "organiser", "init", "--manifest", _manifest(tmp_path), "--data", tmp_path / "d"
    )
    assert code == 0, err
    (tmp_path / "d" / "board-key.json").chmod(0o640)
    code, _, err = _cli("organiser", "status", "--data", tmp_path / "d")
    _one_line_error(code, err, "readable by group or others", "mode 0640")
    # Unencrypted files too.
    code, _, err = _cli("guardian", "identity", "--out", tmp_path / "g.id", "--insecure-plaintext")
    assert code == 0, err
    (tmp_path / "g.id").chmod(0o604)
    with pytest.raises(InsecureSecretFile):
        read_secret_json(tmp_path / "g.id", allow_plaintext=True)
    pf = _passphrase_file(tmp_path / "pass", PASS, 0o644)
    code, _, err = _cli(
        "credentials", "keygen", "--out", tmp_path / "ca2.key", "--passphrase-file", pf
    )
    _one_line_error(code, err, "readable by group or others")
    assert not (tmp_path / "ca2.key").exists()


# --- through the commands --------------------------------------------------------------


def test_keys_on_disk_hold_no_seed(tmp_path: Path) -> None:
    """Sealed, the files hold no trace of the seeds (as base64, hex or otherwise)."""
    code, pub, err = _cli("credentials", "keygen", "--out", tmp_path / "ca.key")
    assert code == 0, err
    code, gpub, err = _cli("guardian", "identity", "--out", tmp_path / "g.id")
    assert code == 0, err
    for path, printed in ((tmp_path / "ca.key", pub), (tmp_path / "g.id", gpub)):
        text = path.read_text()
        d = read_secret_json(path, Passphrase.given(PASS), allow_plaintext=False)
        assert key_to_b64(key_from_seed(d["signing_key"])) == printed.strip()
        leaks = [f for f in _forms(d["signing_key"]) if f in text]
        assert not leaks and "signing_key" not in text and PASS not in text
    # With --insecure-plaintext the file says it is unencrypted.
    code, _, err = _cli(
        "credentials", "keygen", "--out", tmp_path / "plain.key", "--insecure-plaintext"
    )
    assert code == 0, err
    plain = json.loads((tmp_path / "plain.key").read_text())
    assert plain["unencrypted"] == "--insecure-plaintext" and "format" not in plain


def test_wrong_passphrase_is_one_line(tmp_path: Path) -> None:
    data = tmp_path / "d"
    code, _, err = _cli("organiser", "init", "--manifest", _manifest(tmp_path), "--data", data)
    assert code == 0, err
    assert secret_file_is_sealed(data / "board-key.json")
    code, out, err = _cli("organiser", "status", "--data", data, passphrase=OTHER)
    _one_line_error(code, err, "board-key.json: wrong passphrase")
    assert OTHER not in out + err
    code, _, err = _cli("organiser", "status", "--data", data, passphrase=None)
    _one_line_error(code, err, "is sealed", NO_PASSPHRASE)
    code, out, err = _cli("organiser", "status", "--data", data)
    assert code == 0 and "election" in out, err
    # From a file instead of the variable.
    pf = _passphrase_file(tmp_path / "pass", PASS)
    code, out, err = _cli(
        "organiser", "status", "--data", data, "--passphrase-file", pf, passphrase=None
    )
    assert code == 0, err
    code, _, err = _cli(
        "organiser", "status", "--data", data, "--passphrase-file", tmp_path / "none"
    )
    _one_line_error(code, err, "--passphrase-file")


def test_creating_a_key_without_a_passphrase_is_refused(tmp_path: Path) -> None:
    for args, out in (
        (("credentials", "keygen", "--out", tmp_path / "ca.key"), tmp_path / "ca.key"),
        (("guardian", "identity", "--out", tmp_path / "g.id"), tmp_path / "g.id"),
        (
            ("organiser", "init", "--manifest", _manifest(tmp_path), "--data", tmp_path / "d"),
            tmp_path / "d" / "board-key.json",
        ),
    ):
        code, _, err = _cli(*args, passphrase=None)
        _one_line_error(code, err, NO_PASSPHRASE, "--insecure-plaintext")
        assert not out.exists()


def test_no_prompt_without_a_terminal(tmp_path: Path) -> None:
    """A real process whose standard input is not a terminal, with no passphrase, exits 2
    at once: it never waits on a prompt."""
    data = tmp_path / "d"
    code, _, err = _cli("organiser", "init", "--manifest", _manifest(tmp_path), "--data", data)
    assert code == 0, err
    commands = [
        ["organiser", "status", "--data", str(data)],
        ["credentials", "keygen", "--out", str(tmp_path / "ca.key")],
        ["serve", "--data", str(tmp_path / "server"), "--port", "1"],
    ]
    for args in commands:
        t0 = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "plebiscite.cli", *args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            env=_env_without_passphrase(),
            timeout=60,
        )
        assert proc.returncode == 2, (args, proc.stderr)
        assert NO_PASSPHRASE in proc.stderr and "Traceback" not in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        assert time.monotonic() - t0 < 30
    assert not (tmp_path / "ca.key").exists()


def test_prompt_on_a_terminal(tmp_path: Path) -> None:
    """With a terminal on standard input (a pseudo-terminal here) and no other source,
    the command asks for the passphrase, twice for a new key."""
    import pty
    import select

    master, slave = pty.openpty()
    cmd = ["credentials", "keygen", "--out", str(tmp_path / "ca.key")]
    proc = subprocess.Popen(
        [sys.executable, "-m", "plebiscite.cli", *cmd],
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env_without_passphrase(),
        start_new_session=True,  # no controlling terminal: getpass prompts on stderr
    )
    os.close(slave)
    assert proc.stderr is not None
    seen = b""
    try:
        deadline = time.monotonic() + 60
        for prompt in (b"passphrase for", b"again"):
            while prompt not in seen:
                assert time.monotonic() < deadline and proc.poll() is None, seen
                if select.select([proc.stderr], [], [], 0.5)[0]:
                    seen += os.read(proc.stderr.fileno(), 1024)
            os.write(master, PASS.encode() + b"\n")
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    assert proc.returncode == 0, seen + err
    assert read_secret_json(tmp_path / "ca.key", Passphrase.given(PASS), allow_plaintext=False)[
        "signing_key"
    ]
    assert PASS.encode() not in out + seen + err


@pytest.mark.slow
def test_guardian_ceremony_with_sealed_states(tmp_path: Path) -> None:
    """A key ceremony through the commands, each guardian with its own passphrase file:
    every state stays sealed (also after 'ready' rewrites it), and a guardian's state
    does not open with another guardian's passphrase."""
    data, rec = tmp_path / "org", tmp_path / "rec"

    def ok(*args: object, passphrase: str | None = PASS) -> str:
        code, out, err = _cli(*args, passphrase=passphrase)
        assert code == 0, (args, err)
        assert PASS not in out + err
        return out

    ok("organiser", "init", "--manifest", _manifest(tmp_path), "--data", data)
    ok("organiser", "publish", "--data", data, "--record", rec)
    gids = ["guardian-1", "guardian-2", "guardian-3"]
    pfs = {g: _passphrase_file(tmp_path / f"{g}.pass", f"{g}'s {PASS}") for g in gids}
    for g in gids:  # each guardian's key under its own passphrase
        key = tmp_path / "keys" / f"{g}.key"
        d = read_secret_json(key, Passphrase.given(PASS), allow_plaintext=False)
        key.unlink()
        write_secret_json(key, d, Passphrase(pfs[g]))
    for step in ("keygen", "shares", "ready"):
        subs = []
        for gid in gids:
            sub = tmp_path / f"{gid}-{step}.json"
            extra = ["--id", gid, "--signing-key", tmp_path / "keys" / f"{gid}.key"]
            extra = extra if step == "keygen" else []
            state = tmp_path / f"{gid}.state"
            ok(
                "guardian",
                step,
                "--record",
                rec,
                "--state",
                state,
                *extra,
                "--out",
                sub,
                "--passphrase-file",
                pfs[gid],
                passphrase=None,
            )
            assert secret_file_is_sealed(state)
            subs.append(sub)
        ok("organiser", "accept", "--data", data, *subs)
        ok("organiser", "publish", "--data", data, "--record", rec)
    state = tmp_path / "guardian-1.state"
    d = read_secret_json(state, Passphrase(pfs["guardian-1"]), allow_plaintext=False)
    assert d["share"] is not None and d["kind"] == "plebiscite guardian secret state"
    text = state.read_text()
    secrets = [d["signing_key"], d["encryption_key"], d["share"], *d["coefficients"]]
    assert not [f for s in secrets for f in _forms(s) if f in text]
    code, _, err = _cli(
        "guardian",
        "ready",
        "--record",
        rec,
        "--state",
        state,
        "--out",
        tmp_path / "x.json",
        "--passphrase-file",
        pfs["guardian-2"],
    )
    _one_line_error(code, err, "guardian-1.state: wrong passphrase")
    ok("organiser", "context", "--data", data)


# --- the server ---------------------------------------------------------------------------


class _Serve:
    """``plebiscite serve`` in its own process."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        with log.open("w") as f:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "plebiscite.cli", "serve", *args, "--port", str(self.port)],
                stdin=subprocess.DEVNULL,
                stdout=f,
                stderr=subprocess.STDOUT,
                env=env,
            )

    def wait_up(self) -> None:
        import httpx

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/api/referendums", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert self.proc.poll() is None, self.log.read_text()
            time.sleep(0.1)
        raise AssertionError("the server did not start: " + self.log.read_text())

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Any]:
    started: list[_Serve] = []

    def start(args: list[str], passphrase: str | None, name: str) -> _Serve:
        env = _env_without_passphrase()
        if passphrase is not None:
            env["PLEBISCITE_PASSPHRASE"] = passphrase
        s = _Serve(args, env, tmp_path / f"{name}.log")
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


@pytest.mark.slow
def test_server_board_key_sealed(tmp_path: Path, serve: Any) -> None:
    """A referendum's board key sealed under the server's passphrase: the server opens
    it with PLEBISCITE_PASSPHRASE, refuses to start (exit 2, one line) with a wrong one
    or none, and never logs it."""
    import httpx

    from plebiscite.server.registry import Registry

    data = tmp_path / "server"
    manifest = json.loads(_manifest(tmp_path).read_text())
    reg = Registry(data, passphrase=Passphrase.given(PASS))
    ref = reg.create(manifest)
    rid = ref.id
    reg.close()
    assert secret_file_is_sealed(data / "server.json")
    assert secret_file_is_sealed(data / "referendums" / rid / "board-key.json")

    for name, pp in (("wrong", OTHER), ("none", None)):
        s = serve(["--data", str(data)], pp, name)
        assert s.proc.wait(60) == 2
        log = s.log.read_text()
        assert len(log.strip().splitlines()) == 1 and "Traceback" not in log, log
        assert ("wrong passphrase" if pp else NO_PASSPHRASE) in log
        assert OTHER not in log

    s = serve(["--data", str(data)], PASS, "right")
    s.wait_up()
    listed = httpx.get(s.url + "/api/referendums").json()
    assert [r["id"] for r in listed] == [rid]
    info = httpx.get(f"{s.url}/api/referendums/{rid}").json()
    assert info["board_key"] == key_to_b64(ref.org.key)
    s.stop()
    assert PASS not in s.log.read_text()


@pytest.mark.slow
def test_demo_server_with_a_passphrase_file(tmp_path: Path, serve: Any) -> None:
    """``serve --demo --passphrase-file``: the board key is sealed, the demo guardians'
    and authority's keys say they are demo keys, and a restart resumes."""
    import httpx

    data = tmp_path / "demo"
    pf = _passphrase_file(tmp_path / "pass", PASS)
    args = ["--demo", "--data", str(data), "--demo-count", "2", "--passphrase-file", str(pf)]
    s = serve(args, None, "demo1")
    s.wait_up()
    (rid,) = [r["id"] for r in httpx.get(s.url + "/api/referendums").json()]
    s.stop()
    folder = data / "referendums" / rid
    assert secret_file_is_sealed(folder / "board-key.json")
    for f in [folder / "demo" / "authority.key", *(folder / "demo").glob("*.state")]:
        assert json.loads(f.read_text())["unencrypted"] == "demo key"
        assert os.stat(f).st_mode & 0o077 == 0
    # Without the passphrase the sealed board key does not open: one line, exit 2.
    s = serve(["--demo", "--data", str(data)], None, "demo2")
    assert s.proc.wait(60) == 2
    assert "is sealed" in s.log.read_text()
    s = serve(args, None, "demo3")
    s.wait_up()
    assert "resuming demo referendum" in s.log.read_text()
    s.stop()
    for name in ("demo1", "demo2", "demo3"):
        assert PASS not in (tmp_path / f"{name}.log").read_text()


def test_observer_key_sealed_with_the_passphrase(tmp_path: Path) -> None:
    from plebiscite.observe.keys import KeyFileError, load_observer_key, new_observer_key

    pub = new_observer_key(tmp_path / "o.key", Passphrase.given(PASS))
    assert secret_file_is_sealed(tmp_path / "o.key")
    assert key_to_b64(load_observer_key(tmp_path / "o.key", Passphrase.given(PASS))) == pub
    with pytest.raises(KeyFileError, match="wrong passphrase"):
        load_observer_key(tmp_path / "o.key", Passphrase.given(OTHER))
    new_observer_key(tmp_path / "p.key", plaintext="demo key")
    assert json.loads((tmp_path / "p.key").read_text())["unencrypted"] == "demo key"
    # 'observe keygen' seals with PLEBISCITE_PASSPHRASE; without any passphrase (no
    # variable, no terminal) it refuses, unless told to write the key unencrypted.
    code, out, err = _cli("observe", "keygen", "--out", tmp_path / "c.key")
    assert code == 0 and secret_file_is_sealed(tmp_path / "c.key"), err
    code, out, err = _cli("observe", "keygen", "--out", tmp_path / "d.key", passphrase=None)
    assert code == 2 and "no passphrase" in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "d.key").exists()
    code, out, err = _cli(
        "observe", "keygen", "--out", tmp_path / "d.key", "--insecure-plaintext", passphrase=None
    )
    assert code == 0, err
    assert json.loads((tmp_path / "d.key").read_text())["unencrypted"] == "--insecure-plaintext"
    pw = tmp_path / "pw"
    pw.write_text(PASS + "\n")
    pw.chmod(0o600)
    code, out, err = _cli(
        "observe", "keygen", "--out", tmp_path / "e.key", "--passphrase-file", pw, passphrase=None
    )
    assert code == 0 and secret_file_is_sealed(tmp_path / "e.key"), err


# --- a sealed file replaced by a plaintext one ---------------------------------------------


def _plain(path: Path, data: dict[str, Any]) -> Path:
    """Replace ``path`` by an unencrypted secret file (mode 0600) holding ``data``."""
    path.unlink(missing_ok=True)
    write_secret_json(path, data, plaintext="swapped in")
    return path


def test_plaintext_is_read_only_when_allowed(tmp_path: Path) -> None:
    path = _plain(tmp_path / "k.json", {"kind": "x", "signing_key": "AA=="})
    with pytest.raises(PlaintextRefused) as info:
        read_secret_json(path, Passphrase.given(PASS), allow_plaintext=False)
    assert str(path) in str(info.value) and "--insecure-plaintext" in str(info.value)
    assert read_secret_json(path, None, allow_plaintext=True)["kind"] == "x"


def test_board_key_swapped_for_plaintext_is_refused(tmp_path: Path) -> None:
    """An organiser's sealed board key replaced by a plain one (same fields, another
    key) is refused by every organiser command, unless --insecure-plaintext."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from plebiscite.election.keys import seed_of

    data = tmp_path / "d"
    code, _, err = _cli("organiser", "init", "--manifest", _manifest(tmp_path), "--data", data)
    assert code == 0, err
    key = data / "board-key.json"
    sealed = read_secret_json(key, Passphrase.given(PASS), allow_plaintext=False)
    _plain(key, {**sealed, "signing_key": seed_of(Ed25519PrivateKey.generate())})
    for cmd in ("status", "context", "open", "close", "tally", "result"):
        code, _, err = _cli("organiser", cmd, "--data", data)
        _one_line_error(code, err, str(key), "--insecure-plaintext", "not sealed")
    # Allowed, the swapped key still does not open this board: one line, no traceback.
    code, _, err = _cli("organiser", "status", "--data", data, "--insecure-plaintext")
    _one_line_error(code, err, "another signing key")
    _plain(key, sealed)  # the same key, merely unsealed: usable with the flag only
    code, _, err = _cli("organiser", "status", "--data", data)
    _one_line_error(code, err, str(key), "--insecure-plaintext")
    code, out, err = _cli("organiser", "status", "--data", data, "--insecure-plaintext")
    assert code == 0 and "election" in out, err


def test_role_keys_swapped_for_plaintext_are_refused(
    demo_outcome: DemoOutcome, tmp_path: Path
) -> None:
    """The credential authority's key, a guardian's state and an observer's key: a
    plaintext file is refused (one line naming it and the flag, exit 2)."""
    from plebiscite.observe.keys import new_observer_key

    record = demo_outcome.record
    ca = _plain(tmp_path / "ca.key", {"kind": "ca", "signing_key": "A" * 43 + "="})
    roll = tmp_path / "roll.csv"
    roll.write_text("region,voter\n")
    code, _, err = _cli(
        "credentials", "generate", "--record", record, "--key", ca, "--roll", roll,
        "--secrets", tmp_path / "s.csv", "--out", tmp_path / "o.json",
    )  # fmt: skip
    _one_line_error(code, err, str(ca), "--insecure-plaintext")
    code, _, err = _cli(
        "credentials", "generate", "--record", record, "--key", ca, "--roll", roll,
        "--secrets", tmp_path / "s.csv", "--out", tmp_path / "o.json", "--insecure-plaintext",
    )  # fmt: skip
    assert "not sealed" not in err  # past the key: the empty roll is what fails now
    state = _plain(tmp_path / "g.state", {"kind": "plebiscite guardian secret state"})
    for step in ("shares", "ready", "decrypt"):
        code, _, err = _cli(
            "guardian", step, "--record", record, "--state", state, "--out", tmp_path / "x"
        )
        _one_line_error(code, err, str(state), "--insecure-plaintext")
    okey = tmp_path / "o.key"
    new_observer_key(okey, plaintext="drill")
    args = ["dispute", "--record", record, "--out", tmp_path / "d.json", "--key", okey]
    code, _, err = _cli(*args, "--evidence", "x")
    _one_line_error(code, err, str(okey), "--insecure-plaintext")
    code, _, err = _cli(*args, "--evidence", "x", "--insecure-plaintext")
    assert code == 0, err
    code, _, err = _cli("observe", "witness", "--record", record, "--key", okey,
                        "--state", tmp_path / "w")  # fmt: skip
    _one_line_error(code, err, str(okey), "--insecure-plaintext")
    code, _, err = _cli("observe", "attest", record, "--key", okey, "--recognise",
                        "--out", tmp_path / "a.json")  # fmt: skip
    _one_line_error(code, err, str(okey), "--insecure-plaintext")


def test_server_secret_swapped_for_plaintext_is_refused(tmp_path: Path) -> None:
    """A sealed server's server.json replaced by a plain one: the registry (and so
    'serve') refuses it; a registry without a passphrase is plaintext by design."""
    from plebiscite.server.registry import Registry

    data = tmp_path / "server"
    Registry(data, passphrase=Passphrase.given(PASS)).close()
    conf = data / "server.json"
    _plain(
        conf, {"kind": "plebiscite server secrets", "secret": base64.b64encode(b"k" * 32).decode()}
    )
    with pytest.raises(PlaintextRefused):
        Registry(data, passphrase=Passphrase.given(PASS))
    pf = _passphrase_file(tmp_path / "pass", PASS)
    code, _, err = _cli("serve", "--data", data, "--passphrase-file", pf, "--port", "1")
    _one_line_error(code, err, str(conf), "--insecure-plaintext")
    Registry(data).close()  # no passphrase: the throwaway server's own plaintext keys
