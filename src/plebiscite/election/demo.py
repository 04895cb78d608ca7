"""A whole referendum in one process, through the same functions the separate roles
use: key ceremony, credentials, casting (with challenges and revotes when
simulating), close, tally, decryption with one guardian absent, publication.

Runs on a simulated clock: set-up before ``opens``, ballots inside the window, close
at ``closes``, so the record passes the window checks.
"""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from plebiscite.election.booth import EncryptedBallot, cast, challenge, encrypt_ballot
from plebiscite.election.clock import SimulatedClock
from plebiscite.election.credentials import (
    credential_key,
    credential_list_data,
    new_credential,
    public_credential,
)
from plebiscite.election.guardian import Guardian, decrypt_from_board
from plebiscite.election.organiser import Organiser
from plebiscite.record.canonical import canonical_bytes
from plebiscite.record.entries import key_to_b64, sign
from plebiscite.record.manifest import BLANK, Manifest, guardian_ids, parse_manifest


class DeckError(ValueError):
    """The test deck (CSV of votes) does not fit the referendum."""


def builtin_manifest() -> dict[str, Any]:
    text = resources.files("plebiscite.data").joinpath("demo-referendum.json").read_text()
    data: dict[str, Any] = json.loads(text)
    return data


Vote = tuple[str, dict[str, list[str]]]  # region, question -> choices


def read_deck(path: Path, manifest: Manifest) -> list[Vote]:
    """Read a logic-and-accuracy test deck: header ``region,<question id>,...``; cells
    are option ids (several separated by ``;`` where max > 1), ``blank`` where allowed,
    empty only where the question's min is 0 or the region does not ask it."""
    from plebiscite.record.protocol import valid_selection

    try:
        with Path(path).open(newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
    except OSError as exc:
        raise DeckError(f"{path}: cannot read ({exc.strerror})") from exc
    except (UnicodeDecodeError, csv.Error) as exc:
        raise DeckError(f"{path}: not a CSV text file ({exc})") from exc
    if not rows or not rows[0] or rows[0][0].strip() != "region":
        raise DeckError(f"{path}: the header must start with 'region'")
    header = [h.strip() for h in rows[0]]
    for qid in header[1:]:
        if qid not in manifest.questions:
            raise DeckError(f"{path}: header names unknown question {qid!r}")
    votes: list[Vote] = []
    for n, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        if len(row) != len(header):
            raise DeckError(f"{path}:{n}: expected {len(header)} cells, got {len(row)}")
        region = row[0].strip()
        if region not in manifest.regions:
            raise DeckError(f"{path}:{n}: unknown region {region!r}")
        asked = set(manifest.regions[region].questions)
        cells = dict(zip(header[1:], (c.strip() for c in row[1:]), strict=True))
        for qid in asked:
            if qid not in cells:
                raise DeckError(f"{path}:{n}: no column for question {qid!r}")
        choices: dict[str, list[str]] = {}
        for qid, cell in cells.items():
            q = manifest.questions[qid]
            if qid not in asked:
                if cell:
                    raise DeckError(f"{path}:{n}: region {region!r} does not ask {qid!r}")
                continue
            picked = [c.strip() for c in cell.split(";") if c.strip()] if cell else []
            for c in picked:
                if c not in q.slots:
                    raise DeckError(f"{path}:{n}: {c!r} is not an option of {qid!r}")
            if not picked and q.min > 0:
                raise DeckError(f"{path}:{n}: question {qid!r} needs an answer (min {q.min})")
            if not valid_selection(q, picked):
                raise DeckError(f"{path}:{n}: {cell!r} is not a valid answer to {qid!r}")
            choices[qid] = picked
        votes.append((region, choices))
    return votes


def random_choices(rng: random.Random, manifest: Manifest, region: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for q in manifest.region_questions(region):
        if q.blank and rng.random() < 0.08:
            out[q.id] = [BLANK]
            continue
        k = rng.randint(q.min, q.max)
        weights = [1.0 + i * 0.6 for i in range(len(q.options))]
        picked: list[str] = []
        while len(picked) < k:
            c = rng.choices(q.options, weights)[0]
            if c not in picked:
                picked.append(c)
        out[q.id] = picked
    return out


@dataclass
class DemoOutcome:
    organiser: Organiser
    record: Path
    counts: dict[str, Any]
    expected: dict[str, dict[str, dict[str, int]]]
    secrets: dict[str, list[str]] = field(default_factory=dict)
    guardians: list[Guardian] = field(default_factory=list)
    authority_key: Ed25519PrivateKey | None = None
    credentials: dict[str, list[str]] = field(default_factory=dict)
    receipts: list[dict[str, Any]] = field(default_factory=list)
    observer_keys: dict[str, Ed25519PrivateKey] = field(default_factory=dict)


Progress = Callable[[str, int, int], None]


def run_demo(
    data_dir: Path,
    record: Path,
    manifest_raw: dict[str, Any] | None = None,
    votes: list[Vote] | None = None,
    voters: int = 20,
    group: str | None = None,
    seed: int | None = None,
    progress: Progress | None = None,
    absent: int = 1,
) -> DemoOutcome:
    """Run the referendum; ``votes`` (a deck) or ``voters`` random voters per region."""
    raw = dict(manifest_raw or builtin_manifest())
    if group:
        raw["group"] = group
    observer_keys: dict[str, Ed25519PrivateKey] = {}
    if manifest_raw is None:
        # The built-in referendum is witnessed by three demo observers (two must cosign).
        raw["observers"] = []
        for oid, name, kind, where in DEMO_OBSERVERS:
            observer_keys[oid] = Ed25519PrivateKey.generate()
            raw["observers"].append(
                {
                    "id": oid,
                    "name": name,
                    "kind": kind,
                    "jurisdiction": where,
                    "public_key": key_to_b64(observer_keys[oid]),
                }
            )
        raw["witness_quorum"] = 2
    manifest = parse_manifest(raw)
    pinned = any("public_key" in m for m in raw["guardians"].get("members", []))
    if pinned or "credential_authority" in raw:
        raise DeckError(
            "the demo plays every role itself, so the referendum file must not pin guardian"
            " or credential-authority keys; use the separate role commands for that"
        )
    if raw.get("witness_quorum", 0) and not observer_keys:
        raise DeckError(
            "the demo cannot cosign for the referendum file's observers: set witness_quorum"
            " to 0 or leave observers out"
        )
    rng = random.Random(seed)
    tick = progress or (lambda _s, _d, _t: None)
    clock = SimulatedClock(manifest.opens - timedelta(hours=1))
    org = Organiser.init(data_dir, raw, clock, demo=True)
    eid, g = org.election_id, org.group
    secrets: dict[str, list[str]] = {"credentials": [], "nonces": [], "guardian": []}

    # Key ceremony: three steps, each guardian on "its own machine".
    guardians = play_ceremony(org, tick)
    context, joint_key = org.context()

    # Credentials: the authority makes them, publishes only the public lists.
    ca_key = Ed25519PrivateKey.generate()
    simulate = votes is None
    if votes is None:
        votes = [
            (r, random_choices(rng, manifest, r)) for r in manifest.regions for _ in range(voters)
        ]
    per_region: dict[str, int] = {r: 0 for r in manifest.regions}
    for r, _ in votes:
        per_region[r] += 1
    creds: dict[str, list[str]] = {}
    for r in manifest.regions:
        # A few more credentials than voters: abstention is normal.
        creds[r] = [new_credential() for _ in range(per_region[r] + max(1, per_region[r] // 10))]
        pubs = [public_credential(eid, c) for c in creds[r]]
        org.accept(sign("credential_list", credential_list_data(r, pubs), eid, ca_key))
        secrets["credentials"] += creds[r]

    org.post_roll({r: n for r, n in per_region.items() if n})

    # Voting, inside the window.
    clock.set(manifest.opens)
    org.open()
    _witness_all(org, observer_keys, data_dir)
    if observer_keys:
        # An observer accredited after set-up: a signed board entry, not an edit of the
        # (hashed) referendum file.
        late = Ed25519PrivateKey.generate()
        org.accredit(
            {
                "id": "press-1",
                "name": "Northern Isles Press Association",
                "kind": "journalists",
                "jurisdiction": "UK",
                "public_key": key_to_b64(late),
            }
        )
        observer_keys["press-1"] = late
    span = manifest.closes - manifest.opens
    expected: dict[str, dict[str, dict[str, int]]] = {
        r: {q.id: dict.fromkeys(q.slots, 0) for q in manifest.region_questions(r)}
        for r in manifest.regions
    }
    used: dict[str, int] = {r: 0 for r in manifest.regions}
    receipts: list[dict[str, Any]] = []
    total = len(votes)
    for n, (region, choices) in enumerate(votes):
        clock.set(manifest.opens + span * (n + 1) / (total + 2))
        cred = creds[region][used[region]]
        used[region] += 1
        pub = public_credential(eid, cred)
        key = credential_key(eid, cred)
        if simulate and rng.random() < 0.05:
            # Benaloh challenge with some other choice, posted anonymously; then vote.
            decoy = encrypt_ballot(
                g, manifest, context, joint_key, region, random_choices(rng, manifest, region), pub
            )
            org.accept(challenge(g, decoy))
        head = None
        if simulate and rng.random() < 0.05:
            # A revote: an earlier ballot with other choices, superseded below (the
            # revote replaces it: revotes are a chain).
            early = encrypt_ballot(
                g, manifest, context, joint_key, region, random_choices(rng, manifest, region), pub
            )
            _record_nonces(secrets, early)
            org.accept(cast(early, eid, key))
            head = early.tracking_code
        ballot = encrypt_ballot(g, manifest, context, joint_key, region, choices, pub, head)
        _record_nonces(secrets, ballot)
        receipts.append(org.accept(cast(ballot, eid, key)))
        for qid, picked in choices.items():
            for c in picked:
                expected[region][qid][c] += 1
        tick("casting", n + 1, total)

    # Close, tally, decrypt with a quorum (the last guardian absent), result.
    clock.set(manifest.closes)
    org.close()
    _witness_all(org, observer_keys, data_dir)  # the close checkpoint must be witnessed
    clock.advance(timedelta(minutes=5))
    org.tally()
    present = guardians[: max(manifest.quorum, len(guardians) - absent)]
    for i, gd in enumerate(present, start=1):
        share = decrypt_from_board(gd, org.raw_record())
        org.accept(sign("decryption_share", share, eid, gd.signing_key))
        tick("decryption", i, len(present))
    result = org.result()
    org.checkpoint()
    _witness_all(org, observer_keys, data_dir)
    org.publish(record)
    for gd in guardians:
        secrets["guardian"] += gd.to_json()["coefficients"]
        if gd.share is not None:
            secrets["guardian"].append(gd.to_json()["share"])
        secrets["guardian"] += list(gd.to_json()["received"].values())
        secrets["guardian"].append(gd.to_json()["signing_key"])
        secrets["guardian"].append(gd.to_json()["encryption_key"])
    return DemoOutcome(
        org,
        Path(record),
        result["counts"],
        expected,
        secrets,
        guardians,
        ca_key,
        creds,
        receipts,
        observer_keys,
    )


def play_ceremony(org: Organiser, tick: Progress | None = None) -> list[Guardian]:
    """The key ceremony with every guardian played in this process, each step a signed
    submission the board checks (as from separate machines); posts the context."""
    eid, g, m = org.election_id, org.group, org.manifest
    guardians = [
        Guardian.create(eid, g.name, gid, i + 1, m.quorum, manifest=m)
        for i, gid in enumerate(guardian_ids(m))
    ]
    for gd in guardians:
        org.accept(sign("guardian_key", gd.key_data(), eid, gd.signing_key))
    if tick:
        tick("ceremony", 1, 3)
    keys = org.guardian_key_entries()
    for gd in guardians:
        org.accept(sign("guardian_shares", gd.shares_data(keys), eid, gd.signing_key))
    if tick:
        tick("ceremony", 2, 3)
    shares = org.guardian_share_entries()
    for gd in guardians:
        org.accept(sign("guardian_ready", gd.ready_data(keys, shares), eid, gd.signing_key))
    if tick:
        tick("ceremony", 3, 3)
    org.post_context()
    return guardians


DEMO_OBSERVERS = [
    ("osce-odihr", "OSCE/ODIHR election observation mission", "international organisation", "OSCE"),
    ("norway", "Ministry of Foreign Affairs of Norway", "state", "NO"),
    ("civic-watch", "Civic Watch Scotland", "NGO", "UK"),
]


class _OrganiserSource:
    """The organiser's board as a witness reads it (the demo plays every role)."""

    def __init__(self, org: Organiser) -> None:
        self.org = org

    def entries(self) -> list[bytes]:
        return list(self.org.board.entries())

    def checkpoints(self) -> list[bytes]:
        return [canonical_bytes(cp.to_json()) for cp in self.org.board.checkpoints()]

    def cosignatures(self) -> list[bytes]:
        return self.org.cosignatures()

    def post_cosignature(self, cs: Any) -> None:
        self.org.add_cosignature(cs.to_json())


def _witness_all(org: Organiser, keys: dict[str, Ed25519PrivateKey], data_dir: Path) -> None:
    """Every demo observer cosigns the board's checkpoints since the last it cosigned
    (checking they extend it) and hands its cosignatures to the board. The witnesses
    keep the demo's simulated time: their clock is the board's."""
    from plebiscite.observe.witness import WitnessState, witness

    for oid, key in keys.items():
        state = WitnessState(data_dir / "observers" / oid)
        witness(_OrganiserSource(org), key, oid, state, clock=org.clock)


def _record_nonces(secrets: dict[str, list[str]], ballot: EncryptedBallot) -> None:
    for rs in ballot.nonces.values():
        secrets["nonces"] += [r.to_bytes(32, "big").hex() for r in rs]
