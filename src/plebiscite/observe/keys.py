"""Observers' Ed25519 keys: one JSON file holding the private seed (keep it private) and
the public key in the encoding the referendum file declares (base64 of the raw 32 bytes)."""

from __future__ import annotations

import json
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from plebiscite.election.keys import key_from_seed, seed_of, write_secret_json
from plebiscite.record.entries import key_to_b64


class KeyFileError(ValueError):
    """Not an observer key file."""


def new_observer_key(path: Path) -> str:
    """Write a new key pair to ``path`` (refusing to overwrite); returns the public key."""
    if Path(path).exists():
        raise KeyFileError(f"{path} exists: refusing to overwrite a key")
    key = Ed25519PrivateKey.generate()
    write_secret_json(
        Path(path),
        {
            "kind": "plebiscite observer key (UNENCRYPTED)",
            "signing_key": seed_of(key),
            "public_key": key_to_b64(key),
        },
    )
    return key_to_b64(key)


def load_observer_key(path: Path) -> Ed25519PrivateKey:
    try:
        data = json.loads(Path(path).read_text())
        return key_from_seed(data["signing_key"])
    except FileNotFoundError as exc:
        raise KeyFileError(f"{path}: no such key file") from exc
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise KeyFileError(f"{path}: not an observer key file ({exc})") from exc
