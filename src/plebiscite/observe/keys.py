"""Observers' Ed25519 keys: one JSON file holding the private seed (keep it private) and
the public key in the encoding the referendum file declares (base64 of the raw 32 bytes).

The file is sealed under the observer's passphrase (``PLEBISCITE_PASSPHRASE``, or a
prompt on a terminal; see ``election/keys.py``) when there is one; without one it is
written unencrypted and says so (``"unencrypted"``)."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from plebiscite.election.keys import (
    NO_REASON,
    NoPassphrase,
    Passphrase,
    SecretFileError,
    key_from_seed,
    read_secret_json,
    seed_of,
    write_secret_json,
)
from plebiscite.record.entries import key_to_b64

KIND = "plebiscite observer key"


class KeyFileError(ValueError):
    """Not an observer key file, or one that cannot be opened (the message is one line
    and holds no secret)."""


def new_observer_key(
    path: Path, passphrase: Passphrase | None = None, *, plaintext: str | None = None
) -> str:
    """Write a new key pair to ``path`` (refusing to overwrite); returns the public key.

    Sealed under ``passphrase`` (default: ``PLEBISCITE_PASSPHRASE``, or a prompt on a
    terminal); unencrypted when ``plaintext`` gives the reason, or when no passphrase
    is to be had."""
    path = Path(path)
    if path.exists():
        raise KeyFileError(f"{path} exists: refusing to overwrite a key")
    key = Ed25519PrivateKey.generate()
    data = {"kind": KIND, "signing_key": seed_of(key), "public_key": key_to_b64(key)}
    pp: Passphrase | None = None
    if plaintext is None:
        pp = passphrase or Passphrase()
        try:
            pp.get(f"{path} (new)", confirm=True)
        except NoPassphrase as exc:
            if passphrase is not None:  # given explicitly: no quiet fallback to plaintext
                raise KeyFileError(str(exc)) from None
            pp = None
    try:
        write_secret_json(path, data, pp, plaintext=plaintext or NO_REASON)
    except SecretFileError as exc:
        raise KeyFileError(str(exc)) from None
    return key_to_b64(key)


def load_observer_key(
    path: Path, passphrase: Passphrase | None = None, *, allow_plaintext: bool = False
) -> Ed25519PrivateKey:
    """The observer's signing key; a sealed file is opened with ``passphrase`` (default:
    ``PLEBISCITE_PASSPHRASE``, or a prompt on a terminal); an unencrypted one only with
    ``allow_plaintext``."""
    try:
        data = read_secret_json(
            Path(path), passphrase or Passphrase(), allow_plaintext=allow_plaintext
        )
        return key_from_seed(data["signing_key"])
    except FileNotFoundError as exc:
        raise KeyFileError(f"{path}: no such key file") from exc
    except SecretFileError as exc:
        raise KeyFileError(str(exc)) from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise KeyFileError(f"{path}: not an observer key file ({exc})") from exc
