"""``plebiscite serve --demo``: one process plays every role, through the same functions
the separate roles use. The demo guardians' and authority's keys are kept unencrypted
under ``<referendum>/demo/`` (each file says so: ``"unencrypted": "demo key"``) so that a
restarted demo server can still decrypt; a real referendum never does this. The board
key is sealed when the server has a passphrase, like any other.
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from plebiscite.election.credentials import credential_list_data, new_credential, public_credential
from plebiscite.election.demo import play_ceremony
from plebiscite.election.guardian import Guardian, decrypt_from_board
from plebiscite.election.keys import key_from_seed, read_secret_json, seed_of, write_secret_json
from plebiscite.record.entries import format_time, sign
from plebiscite.server.registry import Referendum, Registry

DEMO_KEY = "demo key"


def demo_manifest(raw: dict[str, Any], now: datetime | None = None) -> dict[str, Any]:
    """The referendum file with its window moved around now: it opened a minute ago and
    closes in 30 days (or when the admin closes it)."""
    now = now or datetime.now(UTC)
    out = dict(raw)
    out["opens"] = format_time(now - timedelta(minutes=1))
    out["closes"] = format_time(now + timedelta(days=30))
    return out


def create_demo(
    registry: Registry, raw: dict[str, Any], per_region: int, witnessed_elsewhere: bool = False
) -> tuple[Referendum, list[dict[str, str]]]:
    """Create and open a demo referendum; returns it and its voters (region, code,
    credential). Refuses a referendum file that pins keys the demo cannot hold, or sets
    a witness quorum it cannot meet, unless ``witnessed_elsewhere``: the caller holds the
    declared witnesses' keys and cosigns as they would (tests and drills; never the
    command line)."""
    from plebiscite.election.organiser import OrganiserError
    from plebiscite.record.manifest import parse_manifest, witness_quorum

    if witness_quorum(parse_manifest(raw)) and not witnessed_elsewhere:
        raise OrganiserError(
            "the demo server cannot cosign for the referendum file's observers (it holds"
            " none of their keys), so its witness quorum could never be met: set"
            " witness_quorum to 0 or leave it out"
        )
    ref = registry.create(demo_manifest(raw), demo=True)
    org = ref.org
    eid, m = org.election_id, org.manifest
    demo = ref.folder / "demo"
    demo.mkdir()
    for gd in play_ceremony(org):
        write_secret_json(demo / f"{gd.guardian}.state", gd.to_json(), plaintext=DEMO_KEY)

    ca = Ed25519PrivateKey.generate()
    write_secret_json(
        demo / "authority.key",
        {"kind": "demo credential authority key", "signing_key": seed_of(ca)},
        plaintext=DEMO_KEY,
    )
    voters: list[dict[str, str]] = []
    for region in m.regions:
        creds = [new_credential() for _ in range(per_region)]
        pubs = [public_credential(eid, c) for c in creds]
        org.accept(sign("credential_list", credential_list_data(region, pubs), eid, ca))
        codes = ref.voters.add_voters([(f"{region}-{i + 1}", region) for i in range(per_region)])
        voters += [
            {"region": region, "code": code, "credential": cred}
            for code, cred in zip(codes, creds, strict=True)
        ]
    org.post_roll(dict.fromkeys(m.regions, per_region))
    with (demo / "voters.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, ["region", "code", "credential"])
        w.writeheader()
        w.writerows(voters)
    org.open(booth_digests())
    return ref, voters


def booth_digests() -> dict[str, str]:
    """SHA-256 of each booth bundle file, as published in the open entry."""
    from plebiscite.server.app import booth_hashes

    out = {}
    for name, h in booth_hashes().items():
        if isinstance(h, dict) and isinstance(h.get("sha256"), str):
            out[name] = h["sha256"]
    return out


def demo_voters(ref: Referendum) -> list[dict[str, str]]:
    with (ref.folder / "demo" / "voters.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def finish_demo(ref: Referendum) -> dict[str, Any]:
    """After the close: tally, the demo guardians decrypt (one absent), the result."""
    org = ref.org
    with ref.lock:
        if not org.has("tally"):
            org.tally()
        demo = ref.folder / "demo"
        states = sorted(demo.glob("*.state"))
        for path in states[: org.manifest.quorum]:
            gd = Guardian.from_json(read_secret_json(path, allow_plaintext=True))
            if any(
                e.data.get("guardian") == gd.guardian for _, e in org.of_type("decryption_share")
            ):
                continue
            org.accept(
                sign(
                    "decryption_share",
                    decrypt_from_board(gd, org.raw_record()),
                    org.election_id,
                    gd.signing_key,
                )
            )
        if not org.has("result"):
            return org.result()
        return next(e.data for _, e in org.of_type("result"))


def authority_key(ref: Referendum) -> Ed25519PrivateKey:
    d = read_secret_json(ref.folder / "demo" / "authority.key", allow_plaintext=True)
    return key_from_seed(d["signing_key"])


def write_voters_csv(path: Path, voters: list[dict[str, str]]) -> None:
    with Path(path).open("w", newline="") as f:
        w = csv.DictWriter(f, ["region", "code", "credential"])
        w.writeheader()
        w.writerows(voters)
