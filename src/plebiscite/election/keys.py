"""Key pairs of the roles (board/organiser, guardians, credential authority), and the
files that keep their secrets at rest.

Keys are raw 32-byte seeds in base64 inside small JSON files, readable by their owner
only: every secret file is written with mode 0600, and reading one that group or others
may read is refused.

A real role's file is **sealed** under a passphrase::

    {"format": "plebiscite-sealed/v1",
     "kind": "plebiscite board signing key",
     "kdf": {"name": "scrypt", "n": 131072, "r": 8, "p": 1, "salt": "<16 bytes, base64>"},
     "cipher": {"name": "aes-256-gcm", "nonce": "<12 bytes, base64>"},
     "ciphertext": "<base64>"}

The key is scrypt(passphrase, salt); the ciphertext holds the secret's JSON; every field
but the ciphertext is the associated data (JSON with sorted keys, no spaces), so nobody
can weaken the parameters or relabel the file without the passphrase failing. Each
write draws a fresh salt, hence a fresh key, so a random nonce never repeats under one
key. ``PLEBISCITE_KDF_COST=test`` lowers scrypt's cost for the test suite only; the
parameters are in each file, so such a file still opens anywhere, and is visibly weak.

A file written without a passphrase (the demos' keys, or ``--insecure-plaintext``) is
plain JSON and says why in its ``"unencrypted"`` field. Reading one is refused unless the
caller says plaintext is expected (``allow_plaintext``: the command's
``--insecure-plaintext``, or the demos reading their own keys), so a sealed file that
someone replaced by a plaintext one of their making is never used unnoticed.

The passphrase comes from ``--passphrase-file``, else ``PLEBISCITE_PASSPHRASE``, else a
prompt, and only when standard input is a terminal: nothing ever waits on a prompt
nobody can answer. Neither the passphrase nor a secret ever goes into a message.
"""

from __future__ import annotations

import base64
import binascii
import getpass
import json
import os
import stat
import sys
import unicodedata
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

SEALED_FORMAT = "plebiscite-sealed/v1"
PASSPHRASE_ENV = "PLEBISCITE_PASSPHRASE"
KDF_COST_ENV = "PLEBISCITE_KDF_COST"
NO_PASSPHRASE = "no passphrase: give --passphrase-file or set PLEBISCITE_PASSPHRASE"
NO_REASON = "no passphrase given"

# scrypt cost: n=2**17, r=8 takes 128 MiB and about a third of a second per derivation.
KDF_COSTS: dict[str, dict[str, int]] = {
    "default": {"n": 2**17, "r": 8, "p": 1},
    "test": {"n": 2**12, "r": 8, "p": 1},
}
# What a reader accepts, so that a hostile file cannot ask for gigabytes or hours.
_N_RANGE = (2**10, 2**20)
_MAX_MEMORY = 2**30  # bytes: 128 * n * r
_SALT_BYTES = 16
_NONCE_BYTES = 12


def seed_of(key: Ed25519PrivateKey) -> str:
    raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return base64.b64encode(raw).decode()


def key_from_seed(text: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(text))


# --- errors ------------------------------------------------------------------------------


class SecretFileError(Exception):
    """A secret file cannot be opened or written. The message is one line and holds
    neither a secret nor the passphrase: the CLI prints it and exits 2."""


class NoPassphrase(SecretFileError):
    """A passphrase is needed and none can be had (no file, no variable, no terminal)."""


class WrongPassphrase(SecretFileError):
    """The passphrase does not open the file (or the file was altered)."""


class InsecureSecretFile(SecretFileError):
    """The file may be read by group or others."""


class PlaintextRefused(SecretFileError):
    """A plaintext file where a sealed one is expected (no ``--insecure-plaintext``)."""


# --- the passphrase ------------------------------------------------------------------------


def _encode(text: str) -> bytes:
    """The same passphrase typed on any system gives the same bytes (NFC, UTF-8)."""
    return unicodedata.normalize("NFC", text).encode("utf-8")


def _refuse_if_shared(path: Path, mode: int) -> None:
    if os.name == "posix" and stat.S_ISREG(mode) and mode & 0o077:
        raise InsecureSecretFile(
            f"{path}: readable by group or others (mode {stat.S_IMODE(mode):04o}): "
            f"refusing it; run chmod 600 {path}"
        )


class Passphrase:
    """Where a role's passphrase comes from: ``file`` (``--passphrase-file``), else the
    ``PLEBISCITE_PASSPHRASE`` variable, else a prompt if standard input is a terminal.

    Asked for only when first needed (a sealed file to open, a secret to write), then
    kept for the rest of the command, so one command prompts at most once.
    """

    def __init__(
        self,
        file: Path | None = None,
        *,
        env: Mapping[str, str] | None = None,
        interactive: bool | None = None,
        prompt: Callable[[str], str] | None = None,
    ) -> None:
        self.file = None if file is None else Path(file)
        self._env = env
        self._interactive = interactive
        self._prompt = prompt or getpass.getpass
        self._value: bytes | None = None

    @classmethod
    def given(cls, text: str) -> Passphrase:
        """A passphrase known already (library callers, tests)."""
        if not text:
            raise NoPassphrase("the passphrase is empty")
        pp = cls(env={}, interactive=False)
        pp._value = _encode(text)
        return pp

    def __repr__(self) -> str:  # never the value itself
        return f"Passphrase(file={self.file}, known={self._value is not None})"

    def available(self) -> bool:
        """Whether the passphrase is had without a prompt (known, a file, the variable)."""
        env = os.environ if self._env is None else self._env
        return self._value is not None or self.file is not None or PASSPHRASE_ENV in env

    def get(self, purpose: str = "", *, confirm: bool = False) -> bytes:
        """The passphrase as bytes; ``confirm`` asks twice when it is typed (a new
        secret). Raises NoPassphrase when there is none to be had."""
        if self._value is not None:
            return self._value
        env = os.environ if self._env is None else self._env
        if self.file is not None:
            text = self._read_file(self.file)
        elif PASSPHRASE_ENV in env:
            text = env[PASSPHRASE_ENV]
            if not text:
                raise NoPassphrase(f"{PASSPHRASE_ENV} is set but empty")
        elif self._interactive if self._interactive is not None else _stdin_is_a_terminal():
            label = f" for {purpose}" if purpose else ""
            try:
                text = self._prompt(f"passphrase{label}: ")
                if not text:
                    raise NoPassphrase("the passphrase is empty")
                if confirm and self._prompt("the same passphrase again: ") != text:
                    raise NoPassphrase("the two passphrases differ")
            except EOFError:
                raise NoPassphrase("no passphrase typed") from None
        else:
            raise NoPassphrase(NO_PASSPHRASE)
        self._value = _encode(text)
        return self._value

    @staticmethod
    def _read_file(path: Path) -> str:
        try:
            with path.open("rb") as f:
                _refuse_if_shared(path, os.fstat(f.fileno()).st_mode)
                raw = f.read(65537)
        except OSError as exc:
            raise NoPassphrase(f"--passphrase-file {path}: {exc.strerror or exc}") from None
        if len(raw) > 65536:
            raise NoPassphrase(f"--passphrase-file {path}: longer than 64 KiB")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise NoPassphrase(f"--passphrase-file {path}: not UTF-8 text") from None
        if text.endswith("\n"):  # one final newline is the editor's, not the passphrase's
            text = text[:-1].removesuffix("\r")
        if not text:
            raise NoPassphrase(f"--passphrase-file {path}: empty")
        return text


def _stdin_is_a_terminal() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (AttributeError, ValueError):  # replaced or closed
        return False


# --- sealing ---------------------------------------------------------------------------


def kdf_cost() -> dict[str, int]:
    """scrypt's parameters for new files (``PLEBISCITE_KDF_COST=test`` in tests only)."""
    name = os.environ.get(KDF_COST_ENV, "default") or "default"
    if name not in KDF_COSTS:
        raise SecretFileError(f"{KDF_COST_ENV}: {name!r} is not one of {', '.join(KDF_COSTS)}")
    return dict(KDF_COSTS[name])


def _associated_data(header: Mapping[str, Any]) -> bytes:
    return json.dumps(header, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def _derive(passphrase: bytes, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase)


def seal(data: Mapping[str, Any], passphrase: bytes, kind: str = "") -> dict[str, Any]:
    """The sealed form of ``data`` (see the module's docstring)."""
    cost = kdf_cost()
    salt = os.urandom(_SALT_BYTES)
    nonce = os.urandom(_NONCE_BYTES)
    header: dict[str, Any] = {
        "format": SEALED_FORMAT,
        "kind": kind,
        "kdf": {"name": "scrypt", **cost, "salt": base64.b64encode(salt).decode()},
        "cipher": {"name": "aes-256-gcm", "nonce": base64.b64encode(nonce).decode()},
    }
    key = _derive(passphrase, salt, cost["n"], cost["r"], cost["p"])
    plain = json.dumps(dict(data), sort_keys=True).encode()
    ct = AESGCM(key).encrypt(nonce, plain, _associated_data(header))
    return {**header, "ciphertext": base64.b64encode(ct).decode()}


def is_sealed(obj: object) -> bool:
    return isinstance(obj, dict) and "format" in obj


def _b64(value: object, size: int | None, what: str) -> bytes:
    if not isinstance(value, str):
        raise ValueError(f"{what} is not a string")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"{what} is not base64") from None
    if size is not None and len(raw) != size:
        raise ValueError(f"{what} is not {size} bytes")
    return raw


def unseal(path: Path, obj: Mapping[str, Any], passphrase: Passphrase | None) -> dict[str, Any]:
    """Open a sealed file's content (``path`` only names it in messages)."""
    if obj.get("format") != SEALED_FORMAT:
        raise SecretFileError(f"{path}: unknown secret file format {obj.get('format')!r}")
    try:
        kdf, cipher = obj["kdf"], obj["cipher"]
        if not isinstance(kdf, dict) or kdf.get("name") != "scrypt":
            raise ValueError("the key derivation is not scrypt")
        if not isinstance(cipher, dict) or cipher.get("name") != "aes-256-gcm":
            raise ValueError("the cipher is not aes-256-gcm")
        n, r, p = kdf["n"], kdf["r"], kdf["p"]
        if not all(type(v) is int for v in (n, r, p)):
            raise ValueError("scrypt's parameters are not integers")
        if not (_N_RANGE[0] <= n <= _N_RANGE[1] and n & (n - 1) == 0):
            raise ValueError(f"scrypt's n={n} is not a power of two in [2^10, 2^20]")
        if not (1 <= r <= 32 and 1 <= p <= 16 and 128 * n * r <= _MAX_MEMORY):
            raise ValueError("scrypt's r or p is out of range")
        salt = _b64(kdf["salt"], _SALT_BYTES, "the salt")
        nonce = _b64(cipher["nonce"], _NONCE_BYTES, "the nonce")
        ct = _b64(obj["ciphertext"], None, "the ciphertext")
    except (KeyError, TypeError, ValueError) as exc:
        detail = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
        raise SecretFileError(f"{path}: not a sealed secret file ({detail})") from None
    try:
        if passphrase is None:
            raise NoPassphrase(NO_PASSPHRASE)
        secret = passphrase.get(str(path))
    except NoPassphrase as exc:
        raise NoPassphrase(f"{path} is sealed: {exc}") from None
    key = _derive(secret, salt, n, r, p)
    header = {k: v for k, v in obj.items() if k != "ciphertext"}
    try:
        plain = AESGCM(key).decrypt(nonce, ct, _associated_data(header))
    except InvalidTag:
        raise WrongPassphrase(f"{path}: wrong passphrase (or the file was altered)") from None
    data = json.loads(plain)
    if not isinstance(data, dict):
        raise SecretFileError(f"{path}: the sealed content is not a JSON object")
    return data


# --- files -----------------------------------------------------------------------------


def write_secret_json(
    path: Path,
    data: Mapping[str, Any],
    passphrase: Passphrase | None = None,
    *,
    plaintext: str = NO_REASON,
) -> None:
    """Write a secret file readable by its owner only, atomically: sealed under the
    passphrase when one is given, else plain JSON whose ``"unencrypted"`` field says
    why (``plaintext``)."""
    path = Path(path)
    if passphrase is not None:
        kind = str(data.get("kind", ""))
        obj = seal(data, passphrase.get(f"{path} (new)", confirm=True), kind)
    else:
        obj = {**data, "unencrypted": plaintext}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)  # never reuse a leftover file, nor its mode
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(obj, f, indent=1, sort_keys=True)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if os.name == "posix":
        dirfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dirfd)
        finally:
            os.close(dirfd)


def load_secret_file(path: Path) -> dict[str, Any]:
    """A secret file's JSON as it is on disk (sealed or not), after checking that only
    its owner may read it. Raises FileNotFoundError, or SecretFileError."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            _refuse_if_shared(path, os.fstat(f.fileno()).st_mode)
            raw = f.read()
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise SecretFileError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    try:
        obj = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise SecretFileError(f"{path}: not a secret file (not JSON)") from None
    if not isinstance(obj, dict):
        raise SecretFileError(f"{path}: not a secret file (not a JSON object)")
    return obj


def read_secret_json(
    path: Path, passphrase: Passphrase | None = None, *, allow_plaintext: bool
) -> dict[str, Any]:
    """Read a secret file written by ``write_secret_json``, refusing one that group or
    others may read. A sealed file needs ``passphrase``; a plaintext one is refused
    (PlaintextRefused) unless ``allow_plaintext``: every caller says which it expects."""
    obj = load_secret_file(path)
    if is_sealed(obj):
        return unseal(Path(path), obj, passphrase)
    if not allow_plaintext:
        raise PlaintextRefused(
            f"{path}: not sealed (a plaintext secret file): refusing it; "
            "seal it with 'plebiscite keys reseal', or pass --insecure-plaintext"
        )
    return obj


def secret_file_is_sealed(path: Path) -> bool:
    """Whether the file is sealed (without opening it)."""
    return is_sealed(load_secret_file(path))
