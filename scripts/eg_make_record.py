"""Generate an ElectionGuard 1.x election record with electionguard 1.4.0's own API.

Runs inside .venv-eg (scripts/eg-venv.sh), never in the project's venv:

    .venv-eg/bin/python scripts/eg_make_record.py OUT_DIR [--guardians 3] [--quorum 2]
        [--ballots 4] [--spoil 1] [--contests 2] [--missing 1] [--seed 1]

Steps, all with the SDK: a manifest (a yes/no referendum, then candidate contests with
n-of-m selection), the key ceremony of n guardians with quorum k, encryption of random
ballots on one device (chained tracking codes), casting and spoiling them in a ballot
box, the homomorphic tally, decryption of the tally and of the spoiled ballots with
``--missing`` guardians absent (their shares compensated by the others, with Lagrange
coefficients), and finally ``electionguard_tools.helpers.export.export_record`` into
OUT_DIR. Prints a one-line JSON summary (counts, timings) on stdout.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import sys
import time
from datetime import datetime, timedelta, timezone

from electionguard.ballot import (
    PlaintextBallot,
    PlaintextBallotContest,
    PlaintextBallotSelection,
)
from electionguard.ballot_box import BallotBox, get_ballots
from electionguard.constants import get_constants
from electionguard.data_store import DataStore
from electionguard.decryption_mediator import DecryptionMediator
from electionguard.election_polynomial import LagrangeCoefficientsRecord
from electionguard.encrypt import EncryptionDevice, EncryptionMediator
from electionguard.key_ceremony import CeremonyDetails
from electionguard.key_ceremony_mediator import KeyCeremonyMediator
from electionguard.manifest import (
    BallotStyle,
    Candidate,
    CandidateContestDescription,
    ContestDescription,
    ElectionType,
    GeopoliticalUnit,
    InternationalizedText,
    Language,
    Manifest,
    ReferendumContestDescription,
    ReportingUnitType,
    SelectionDescription,
    SpecVersion,
    VoteVariationType,
)
from electionguard.tally import tally_ballots
from electionguard.type import BallotId
from electionguard.utils import get_optional
from electionguard_tools.helpers.election_builder import ElectionBuilder
from electionguard_tools.helpers.export import export_record
from electionguard_tools.helpers.key_ceremony_orchestrator import KeyCeremonyOrchestrator
from electionguard_tools.helpers.tally_ceremony_orchestrator import (
    TallyCeremonyOrchestrator,
)

DISTRICT = "district-1"

# electionguard logs every encryption at INFO on stderr; keep warnings only.
logging.getLogger("electionguard").setLevel(logging.WARNING)


def _text(value: str) -> InternationalizedText:
    return InternationalizedText([Language(value, "en")])


def make_manifest(contests: int) -> Manifest:
    """A referendum (yes/no, 1 of 2) plus ``contests - 1`` candidate contests (n of m)."""
    candidates: list[Candidate] = []
    descriptions: list[ContestDescription] = []
    for index in range(contests):
        if index == 0:
            names = ["yes", "no"]
            elected = 1
            variation = VoteVariationType.one_of_m
        else:
            names = [f"c{index}-cand{j}" for j in range(1, 4)]
            elected = 2
            variation = VoteVariationType.n_of_m
        selections = []
        for order, name in enumerate(names):
            candidate_id = f"cand-{index}-{name}"
            candidates.append(Candidate(candidate_id, _text(name)))
            selections.append(SelectionDescription(f"contest-{index}-{name}", order, candidate_id))
        cls = ReferendumContestDescription if index == 0 else CandidateContestDescription
        descriptions.append(
            cls(
                f"contest-{index}",
                index,
                DISTRICT,
                variation,
                elected,
                elected,
                f"Question {index}",
                selections,
                _text(f"Question {index}?"),
                None,
            )
        )
    start = datetime(2024, 5, 1, 8, 0, tzinfo=timezone.utc)  # noqa: UP017 (runs on Python < 3.11 too)
    return Manifest(
        election_scope_id="plebiscite-eg-interop",
        spec_version=SpecVersion.EG1_0,
        type=ElectionType.special,
        start_date=start,
        end_date=start + timedelta(hours=12),
        geopolitical_units=[GeopoliticalUnit(DISTRICT, "District 1", ReportingUnitType.city)],
        parties=[],
        candidates=candidates,
        contests=descriptions,
        ballot_styles=[BallotStyle("style-1", [DISTRICT])],
        name=_text("plebiscite ElectionGuard interop test"),
    )


def random_ballot(manifest: Manifest, ballot_id: str, rng: random.Random) -> PlaintextBallot:
    contests = []
    for contest in manifest.contests:
        chosen = rng.randint(0, contest.number_elected)  # under-votes allowed
        picked = set(rng.sample(range(len(contest.ballot_selections)), chosen))
        selections = [
            PlaintextBallotSelection(s.object_id, 1 if i in picked else 0, False)
            for i, s in enumerate(contest.ballot_selections)
        ]
        contests.append(PlaintextBallotContest(contest.object_id, selections))
    return PlaintextBallot(ballot_id, manifest.ballot_styles[0].object_id, contests)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--guardians", type=int, default=3)
    ap.add_argument("--quorum", type=int, default=2)
    ap.add_argument("--ballots", type=int, default=4, help="ballots encrypted in all")
    ap.add_argument("--spoil", type=int, default=1, help="of which spoiled")
    ap.add_argument("--contests", type=int, default=2)
    ap.add_argument("--missing", type=int, default=1, help="guardians absent at decryption")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    if not 1 <= args.quorum <= args.guardians or args.guardians - args.missing < args.quorum:
        ap.error("need 1 <= quorum <= guardians and guardians - missing >= quorum")
    rng = random.Random(args.seed)
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(now - clock, 3)
        clock = now

    manifest = make_manifest(args.contests)
    assert manifest.is_valid(), "manifest is not valid"

    # Key ceremony: n guardians, quorum k.
    details = CeremonyDetails(args.guardians, args.quorum)
    guardians = KeyCeremonyOrchestrator.create_guardians(details)
    ceremony = KeyCeremonyMediator("key-ceremony", details)
    KeyCeremonyOrchestrator.perform_full_ceremony(guardians, ceremony)
    joint_key = get_optional(ceremony.publish_joint_key())
    builder = ElectionBuilder(args.guardians, args.quorum, manifest)
    builder.set_public_key(joint_key.joint_public_key)
    builder.set_commitment_hash(joint_key.commitment_hash)
    internal_manifest, context = get_optional(builder.build())
    lap("key_ceremony")

    # Encrypt on one device (tracking codes chain from the device hash), cast or spoil.
    device = EncryptionDevice(rng.randrange(1, 2**48), 12345, 45678, "polling-place-1")
    encrypter = EncryptionMediator(internal_manifest, context, device)
    store = DataStore()
    box = BallotBox(internal_manifest, context, store)
    spoil_at = set(rng.sample(range(args.ballots), args.spoil))
    for i in range(args.ballots):
        plain = random_ballot(manifest, f"ballot-{i + 1:04d}", rng)
        encrypted = get_optional(encrypter.encrypt(plain))
        submitted = box.spoil(encrypted) if i in spoil_at else box.cast(encrypted)
        get_optional(submitted)
    lap("encrypt")

    tally = get_optional(tally_ballots(store, internal_manifest, context))
    submitted_ballots = list(store.all())
    spoiled = list(get_ballots(store, _spoiled_state()).values())
    lap("tally")

    # Decrypt with the last ``missing`` guardians absent, compensated by the others.
    available = guardians[: args.guardians - args.missing]
    all_keys = [g.share_key() for g in guardians]
    decrypter = DecryptionMediator("decryption", context)
    if args.missing:
        TallyCeremonyOrchestrator.perform_compensated_decryption_setup(
            available, all_keys, decrypter, context, tally, spoiled
        )
    else:
        TallyCeremonyOrchestrator.perform_decryption_setup(
            available, decrypter, context, tally, spoiled
        )
    plaintext_tally = get_optional(decrypter.get_plaintext_tally(tally, manifest))
    plaintext_spoiled: dict[BallotId, object] = get_optional(
        decrypter.get_plaintext_ballots(spoiled, manifest)
    )
    lap("decrypt")

    export_record(
        manifest,
        context,
        get_constants(),
        [device],
        submitted_ballots,
        plaintext_spoiled.values(),  # type: ignore[arg-type]
        tally.publish(),
        plaintext_tally,
        [g.publish() for g in guardians],
        LagrangeCoefficientsRecord(decrypter.get_lagrange_coefficients()),
        args.out,
    )
    lap("export")
    counts = {
        contest_id: {s_id: s.tally for s_id, s in contest.selections.items()}
        for contest_id, contest in plaintext_tally.contests.items()
    }
    summary = {
        "out": args.out,
        "guardians": args.guardians,
        "quorum": args.quorum,
        "missing": args.missing,
        "ballots": args.ballots,
        "spoiled": len(spoiled),
        "tally": counts,
        "timings": timings,
    }
    json.dump(summary, sys.stdout)
    sys.stdout.write("\n")
    return 0


def _spoiled_state():  # type: ignore[no-untyped-def]
    from electionguard.ballot import BallotBoxState

    return BallotBoxState.SPOILED


if __name__ == "__main__":
    sys.exit(main())
