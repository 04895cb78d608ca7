"""Enrolling the parties of a test referendum: one that is not a demo pins every
guardian's and the credential authority's key in its referendum file. ``pin`` makes
those keys and pins them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from plebiscite.election.keys import Passphrase, seed_of, write_secret_json
from plebiscite.record.entries import key_to_b64


def new_key(path: Path, kind: str, passphrase: str) -> str:
    """A new Ed25519 signing key in ``path``, sealed under ``passphrase`` (as 'guardian
    identity' and 'credentials keygen' write them); returns its public key."""
    key = Ed25519PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"kind": kind, "signing_key": seed_of(key)}
    write_secret_json(path, data, Passphrase.given(passphrase))
    return key_to_b64(key)


def pin(raw: dict[str, Any], folder: Path, passphrase: str) -> dict[str, Path]:
    """Pin new keys (sealed under ``passphrase``) into ``raw`` (changed in place;
    guardians.members added when absent) for every guardian and the credential
    authority; returns the key files by guardian id, and the authority's under
    ``"authority"``."""
    g = raw["guardians"]
    members = g.get("members") or [
        {"id": f"guardian-{i}", "name": f"Guardian {i}"} for i in range(1, g["count"] + 1)
    ]
    files: dict[str, Path] = {}
    pinned = []
    for mm in members:
        files[mm["id"]] = folder / f"{mm['id']}.key"
        pub = new_key(files[mm["id"]], "plebiscite guardian signing key", passphrase)
        pinned.append({**mm, "public_key": pub})
    g["members"] = pinned
    files["authority"] = folder / "authority.key"
    raw["credential_authority"] = {
        "name": "Test credential authority",
        "public_key": new_key(
            files["authority"], "plebiscite credential authority key", passphrase
        ),
    }
    return files
