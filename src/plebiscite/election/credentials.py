"""The credential authority: one voting credential per voter and region.

A credential is a short secret string; its Ed25519 key pair is derived from it and the
election id, and ballots are signed with it. The authority publishes, per region, the
signed list of public credentials, so anyone can count them (ballot stuffing shows).
It never has sign-in codes; the organiser never has credentials.
"""

from __future__ import annotations

import base64
import secrets
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from plebiscite.record.entries import key_to_b64
from plebiscite.record.protocol import credential_seed

_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed
CREDENTIAL_GROUPS = 5
GROUP_LEN = 5


def new_credential() -> str:
    """A fresh credential: 25 symbols of 5 bits (125 bits), in five groups."""
    chars = "".join(secrets.choice(_ALPHABET) for _ in range(CREDENTIAL_GROUPS * GROUP_LEN))
    return "-".join(chars[i : i + GROUP_LEN] for i in range(0, len(chars), GROUP_LEN))


def is_well_formed(credential: str) -> bool:
    norm = credential.strip().replace("-", "").replace(" ", "").upper()
    return len(norm) == CREDENTIAL_GROUPS * GROUP_LEN and all(c in _ALPHABET for c in norm)


def credential_key(election_id: str, credential: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(credential_seed(election_id, credential))


def public_credential(election_id: str, credential: str) -> str:
    return key_to_b64(credential_key(election_id, credential))


def credential_list_data(region: str, public_credentials: list[str]) -> dict[str, Any]:
    creds = sorted(public_credentials)
    if len(set(creds)) != len(creds):
        raise ValueError("duplicate public credential")
    for c in creds:
        if len(base64.b64decode(c)) != 32:
            raise ValueError("a public credential is 32 bytes")
    return {"region": region, "count": len(creds), "credentials": creds}
