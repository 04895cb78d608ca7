"""Known attacks on a verifiable referendum, one named test each (issue 7).

Each test builds the attack as an attacker would (forged proofs, copied or re-randomised
ballots, a rogue guardian key, a forked or rewritten board, a chosen tally...) and shows
the check that stops it: one of the verifier's numbered checks, asserted by its id, and,
where the attack goes through the board, the board's intake (``Organiser.accept``, the
same checks the server runs), the guardians' own checks or the witnesses' fraud proofs.

Record-level attacks start from the session's demo record (``record_copy``). Whatever a
colluding party could restate after the attack is restated: the attacker's own entries
are signed with the attacker's keys, the close, tally, decryption shares and result are
recomputed and re-signed (``tamperlib.recount``), the board re-signs its checkpoints and
the witnesses cosign again, unless the test is about the witnesses. So the checks that
fail are the ones the attack itself trips, and each test asserts exactly which.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import shutil
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import gmpy2
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import tamperlib as tl
from plebiscite.board.checkpoint import Checkpoint
from plebiscite.board.fraud import check_fraud_proof, make_fraud_proof
from plebiscite.board.merkle import MerkleTree, leaf_hash
from plebiscite.crypto import threshold
from plebiscite.crypto.elgamal import Ciphertext, decrypt_with_secret, encrypt
from plebiscite.crypto.group import Element, Group, GroupError, ModpGroup, get_group
from plebiscite.crypto.hashing import challenge
from plebiscite.crypto.proofs import (
    Branch,
    RangeProof,
    SchnorrProof,
    prove_equality,
    verify_range,
    verify_schnorr,
)
from plebiscite.election.booth import EncryptedBallot, cast, encrypt_ballot
from plebiscite.election.booth import challenge as challenge_ballot
from plebiscite.election.clock import SimulatedClock
from plebiscite.election.credentials import (
    credential_key,
    credential_list_data,
    new_credential,
    public_credential,
)
from plebiscite.election.demo import DemoOutcome, builtin_manifest, play_ceremony, run_demo
from plebiscite.election.guardian import CeremonyError, Guardian, decrypt_from_board
from plebiscite.election.intake import Rejected, Stale
from plebiscite.election.keys import key_from_seed, read_secret_json, write_secret_json
from plebiscite.election.organiser import Organiser, OrganiserError
from plebiscite.observe.witness import RecordSource, WitnessError, WitnessState, gossip, witness
from plebiscite.record import codec
from plebiscite.record.entries import (
    Entry,
    b64decode,
    election_id_of,
    format_time,
    key_to_b64,
    parse_entry_time,
    sign,
)
from plebiscite.record.manifest import Manifest, guardian_ids, parse_manifest
from plebiscite.record.protocol import (
    TAG_COEFFICIENT,
    TAG_DECRYPTION,
    TAG_OPTION,
    TAG_QUESTION,
    decryption_bind,
    option_bind,
    question_bind,
    question_total,
    question_values,
    tracking_code,
)
from plebiscite.verify.checks import verify_record
from plebiscite.verify.reader import ENTRIES, read_record
from plebiscite.verify.receipt import check_receipt
from plebiscite.verify.report import Report

# --- verifying ------------------------------------------------------------------------


def verify(record: Path) -> Report:
    return verify_record(read_record(record), workers=1)


def failed_ids(report: Report) -> set[str]:
    return {c.id for c in report.failed}


def details(report: Report) -> str:
    return "\n".join(f"{c.id}: {c.details[:3]}" for c in report.failed)


def expect_failed(record: Path, *checks: str) -> Report:
    """Verify ``record`` and assert that exactly ``checks`` fail."""
    report = verify(record)
    assert failed_ids(report) == set(checks), details(report)
    assert report.to_json()["verdict"] == ("failed" if checks else "verified")
    return report


def detail_of(report: Report, check: str) -> str:
    return "\n".join(next(c for c in report.checks if c.id == check).details)


# --- the demo record ------------------------------------------------------------------


def publish(outcome: DemoOutcome, record: Path, entries: Sequence[Entry | bytes]) -> None:
    """Write the entries; the board re-signs its checkpoints and the witnesses cosign."""
    tl.save(record, entries, tl.board_key(outcome), tl.witness_keys(outcome))


def ballots_of(entries: Sequence[Entry]) -> dict[str, list[int]]:
    """Credential -> indices of its ballots, in board order."""
    out: dict[str, list[int]] = {}
    for i in tl.indices_of(entries, "ballot"):
        out.setdefault(str(entries[i].data["credential"]), []).append(i)
    return out


def counted_ballots(entries: Sequence[Entry], region: str) -> list[int]:
    """Ballots of ``region`` whose credential cast no other (each one counted)."""
    return sorted(
        ix[0]
        for ix in ballots_of(entries).values()
        if len(ix) == 1 and entries[ix[0]].data["region"] == region
    )


def superseded_ballot(entries: Sequence[Entry]) -> int:
    """A ballot its voter later replaced (a revote): on the board, but not counted."""
    return next(ix[0] for ix in ballots_of(entries).values() if len(ix) > 1)


def spare_voter(outcome: DemoOutcome, entries: Sequence[Entry], region: str) -> tuple[str, Any]:
    """A listed credential of ``region`` that cast no ballot, and its signing key."""
    pub = tl.unused_credentials(outcome, entries, region)[0]
    return pub, tl.voter_key(outcome, pub)


def context_of(outcome: DemoOutcome) -> tuple[bytes, Element]:
    return outcome.organiser.context()


def raw_element(g: Group, text: str) -> Element:
    """An element as written, without the membership check (to hash what an attacker
    wrote into a tracking code)."""
    if isinstance(g, ModpGroup):
        return Element(g, gmpy2.mpz(int(text, 16)))
    return Element(g, bytes.fromhex(text))


def retrack(g: Group, context: bytes, data: dict[str, Any]) -> str:
    """The tracking code of a ballot's ciphertexts, as the attacker recomputes it."""
    answers = [
        (
            a["question"],
            [
                Ciphertext(raw_element(g, c["alpha"]), raw_element(g, c["beta"]))
                for c in a["choices"]
            ],
        )
        for a in data["answers"]
    ]
    return tracking_code(context, data["region"], answers)


def new_ballot(outcome: DemoOutcome, region: str, pub: str, key: Any, time: str) -> Entry:
    """A valid ballot of ``pub`` (a fresh encryption by the booth), signed with ``key``."""
    ctx, jk = context_of(outcome)
    m = outcome.organiser.manifest
    choices = {q.id: [q.options[0]] for q in m.region_questions(region)}
    b = encrypt_ballot(tl.group(outcome), m, ctx, jk, region, choices, pub)
    return cast(b, tl.election_id(outcome), key).at(time)


def result_counts(entries: Sequence[Entry]) -> dict[str, Any]:
    return dict(entries[tl.indices_of(entries, "result")[0]].data["counts"])


# --- a live board: the organiser's intake, as the server runs it -------------------------


class LiveBoard:
    """A fresh referendum (the built-in one, unwitnessed) on a board of its own, on a
    simulated clock: the key ceremony played, a credential list per region posted."""

    def __init__(self, folder: Path, per_region: int = 6, ceremony: bool = True) -> None:
        raw = builtin_manifest()
        self.m: Manifest = parse_manifest(raw)
        self.clock = SimulatedClock(self.m.opens - timedelta(hours=1))
        self.org = Organiser.init(folder, raw, self.clock, demo=True)
        self.eid, self.g = self.org.election_id, self.org.group
        self.guardians: list[Guardian] = []
        self.creds: dict[str, list[str]] = {}
        if not ceremony:
            return
        self.guardians = play_ceremony(self.org)
        self.context, self.key = self.org.context()
        ca = Ed25519PrivateKey.generate()
        for r in self.m.regions:
            self.creds[r] = [new_credential() for _ in range(per_region)]
            pubs = [public_credential(self.eid, c) for c in self.creds[r]]
            self.org.accept(sign("credential_list", credential_list_data(r, pubs), self.eid, ca))

    def open(self) -> None:
        self.clock.set(self.m.opens + timedelta(minutes=10))
        self.org.open()

    def voter(self, region: str, n: int) -> tuple[str, Ed25519PrivateKey]:
        c = self.creds[region][n]
        return public_credential(self.eid, c), credential_key(self.eid, c)

    def encrypt(self, region: str, n: int, choices: dict[str, list[str]]) -> EncryptedBallot:
        pub, _ = self.voter(region, n)
        return encrypt_ballot(self.g, self.m, self.context, self.key, region, choices, pub)

    def signed(self, region: str, n: int, data: dict[str, Any]) -> Any:
        return sign("ballot", data, self.eid, self.voter(region, n)[1])

    def refused(self, sub: Any) -> str:
        """The board refuses ``sub`` (and appends nothing); the reason."""
        size = len(self.org.entries())
        with pytest.raises((Rejected, OrganiserError)) as exc:
            self.org.accept(sub)
        assert len(self.org.entries()) == size
        return str(exc.value)


@pytest.fixture(scope="module")
def voting(tmp_path_factory: pytest.TempPathFactory) -> LiveBoard:
    """An open board. Each test casts with credentials of its own (region, number), so
    the tests do not depend on one another's order."""
    board = LiveBoard(tmp_path_factory.mktemp("voting") / "board")
    board.open()
    return board


CHOICES = {"status": ["yes"], "capital": ["lerwick"]}


# --- weak Fiat-Shamir -----------------------------------------------------------------


def challenge_without_statement(
    g: Group, tag: str, context: bytes, bind: Any, commitments: Sequence[Element]
) -> int:
    """A weak Fiat-Shamir challenge that hashes the commitments but not the statement
    (generator, election key, ciphertext, allowed values): the weakness Bernhard,
    Pereira and Warinschi found in Helios's proofs (2012)."""
    return challenge(g, tag, context, bind, list(commitments))


def challenge_without_commitments(
    g: Group,
    tag: str,
    context: bytes,
    key: Element,
    ct: Ciphertext,
    values: Sequence[int],
    bind: Any,
) -> int:
    """A broken Fiat-Shamir challenge that hashes the statement but not the commitments,
    so a prover may pick them after seeing it."""
    return challenge(g, tag, context, g.generator(), key, ct.alpha, ct.beta, list(values), bind)


def equations_hold(
    g: Group, key: Element, ct: Ciphertext, proof: RangeProof, values: Sequence[int]
) -> bool:
    """Every branch's verification equation, whatever the challenge it should sum to."""
    if len(proof.branches) != len(values):
        return False
    for br, v in zip(proof.branches, values, strict=True):
        shifted = ct.beta if v == 0 else g.div(ct.beta, g.g_pow(v))
        if g.mul(g.g_pow(br.response), g.pow(ct.alpha, br.challenge)) != br.a:
            return False
        if g.mul(g.pow(key, br.response), g.pow(shifted, br.challenge)) != br.b:
            return False
    return True


def weak_verify_range(
    g: Group,
    omit: str,
    tag: str,
    context: bytes,
    key: Element,
    ct: Ciphertext,
    proof: RangeProof,
    values: Sequence[int],
    bind: Any,
) -> bool:
    """``verify_range`` with a weak challenge: ``omit`` is "statement" or "commitments"."""
    commitments = [x for br in proof.branches for x in (br.a, br.b)]
    if omit == "statement":
        c = challenge_without_statement(g, tag, context, bind, commitments)
    else:
        c = challenge_without_commitments(g, tag, context, key, ct, values, bind)
    return sum(br.challenge for br in proof.branches) % g.q == c and equations_hold(
        g, key, ct, proof, values
    )


def forge_without_statement(
    g: Group, context: bytes, key: Element, bind: Any
) -> tuple[Ciphertext, RangeProof, int, int]:
    """A 0/1 proof, valid under a challenge that omits the statement, for a ciphertext
    of M, neither 0 nor 1: commit first (a_j = g^u_j, b_0 = K^u_0 g^z, b_1 = K^u_1),
    take the challenge c, then choose the statement: the ciphertext of M = z / c with a
    nonce A, and the responses s_0 = u_0 - A c, s_1 = u_1 (branch challenges c and 0).
    Returns the ciphertext, the proof, M and A."""
    q = g.q
    u0, u1, z = g.random_scalar(), g.random_scalar(), g.random_scalar()
    a0, a1 = g.g_pow(u0), g.g_pow(u1)
    b0, b1 = g.mul(g.pow(key, u0), g.g_pow(z)), g.pow(key, u1)
    c = challenge_without_statement(g, TAG_OPTION, context, bind, [a0, b0, a1, b1])
    m = z * pow(c, -1, q) % q
    nonce = g.random_scalar()
    ct = encrypt(g, key, m, nonce)
    proof = RangeProof((Branch(a0, b0, c, (u0 - nonce * c) % q), Branch(a1, b1, 0, u1)))
    return ct, proof, m, nonce


def simulate_range(
    g: Group,
    tag: str,
    context: bytes,
    key: Element,
    ct: Ciphertext,
    values: Sequence[int],
    bind: Any,
) -> RangeProof:
    """A range proof for any ciphertext, valid under a challenge that omits the
    commitments: challenge first, then every branch simulated (random challenges summing
    to it, random responses) and its commitments solved from the verification equation."""
    c = challenge_without_commitments(g, tag, context, key, ct, values, bind)
    cs = [g.random_scalar() for _ in values[:-1]]
    cs.append((c - sum(cs)) % g.q)
    branches = []
    for v, cj in zip(values, cs, strict=True):
        s = g.random_scalar()
        shifted = ct.beta if v == 0 else g.div(ct.beta, g.g_pow(v))
        a = g.mul(g.g_pow(s), g.pow(ct.alpha, cj))
        b = g.mul(g.pow(key, s), g.pow(shifted, cj))
        branches.append(Branch(a, b, cj, s))
    return RangeProof(tuple(branches))


def yes_twice(
    g: Group, m: Manifest, context: bytes, key: Element, region: str, credential: str
) -> tuple[dict[str, Any], list[tuple[str, Ciphertext, RangeProof, list[int], Any]]]:
    """A whole ballot giving "yes" two votes, every proof simulated for a challenge that
    omits the commitments. Returns the data and (tag, ciphertext, proof, values, bind)
    of each proof."""
    proofs = []
    answers, for_code = [], []
    for q in m.region_questions(region):
        wanted = {"yes": 2} if q.id == "status" else {q.options[0]: 1}
        cts, slots = [], []
        for slot in q.slots:
            ct = encrypt(g, key, wanted.get(slot, 0), g.random_scalar())
            bind = option_bind(credential, region, q.id, slot)
            proof = simulate_range(g, TAG_OPTION, context, key, ct, [0, 1], bind)
            proofs.append((TAG_OPTION, ct, proof, [0, 1], bind))
            cts.append(ct)
            slots.append({**codec.ct_to_json(ct), "proof": codec.range_to_json(g, proof)})
        total, values = question_total(g, q, cts), question_values(q)
        bind = question_bind(credential, region, q.id)
        qproof = simulate_range(g, TAG_QUESTION, context, key, total, values, bind)
        proofs.append((TAG_QUESTION, total, qproof, values, bind))
        answers.append(
            {"question": q.id, "choices": slots, "proof": codec.range_to_json(g, qproof)}
        )
        for_code.append((q.id, cts))
    data = {
        "region": region,
        "credential": credential,
        "answers": answers,
        "tracking_code": tracking_code(context, region, for_code),
        "replaces": None,
    }
    return data, proofs


def test_weak_fiat_shamir_without_the_statement_proves_a_false_vote(
    demo_outcome: DemoOutcome, record_copy: Path, voting: LiveBoard
) -> None:
    """Weak Fiat-Shamir, the challenge hashing the commitments but not the statement
    (the ciphertext, the election key, the allowed values): the prover commits first and
    chooses the ciphertext after seeing the challenge. It gets a 0/1 proof for an
    encryption of M = z / c, a number neither 0 nor 1 (it cannot choose M, but knows
    it); counted, such a ballot adds M votes and leaves the tally undecryptable.
    plebiscite's challenge hashes the whole statement, so the proof fails: V13 (and the
    board's intake) refuses the ballot."""
    g = tl.group(demo_outcome)
    ctx, jk = context_of(demo_outcome)
    entries = tl.load_entries(record_copy)
    # An earlier ballot its voter replaced: not counted, so the tally stays decryptable.
    i = superseded_ballot(entries)
    d = copy.deepcopy(entries[i].data)
    bind = option_bind(d["credential"], d["region"], "status", "yes")
    ct, proof, m, nonce = forge_without_statement(g, ctx, jk, bind)
    assert m not in (0, 1) and ct == encrypt(g, jk, m, nonce)  # a false statement
    assert weak_verify_range(g, "statement", TAG_OPTION, ctx, jk, ct, proof, [0, 1], bind)
    assert not verify_range(g, TAG_OPTION, ctx, jk, ct, proof, [0, 1], bind)

    assert d["answers"][0]["question"] == "status" and len(d["answers"][0]["choices"]) == 3
    d["answers"][0]["choices"][0] = {**codec.ct_to_json(ct), "proof": codec.range_to_json(g, proof)}
    d["tracking_code"] = retrack(g, ctx, d)
    tl.relink(demo_outcome, entries, entries[i].data["tracking_code"], d["tracking_code"])
    entries[i] = tl.resign_as_owner(demo_outcome, entries[i], d)
    publish(demo_outcome, record_copy, entries)
    report = expect_failed(record_copy, "V13")
    assert f"entry {i}: question 'status' option 'yes': 0/1 proof fails" in detail_of(report, "V13")

    # The board refuses such a ballot at once.
    pub, _ = voting.voter("orkney", 0)
    b = voting.encrypt("orkney", 0, CHOICES).data
    bind = option_bind(pub, "orkney", "status", "yes")
    ct, proof, _, _ = forge_without_statement(voting.g, voting.context, voting.key, bind)
    b["answers"][0]["choices"][0] = {
        **codec.ct_to_json(ct),
        "proof": codec.range_to_json(voting.g, proof),
    }
    b["tracking_code"] = retrack(voting.g, voting.context, b)
    assert "0/1 proof fails" in voting.refused(voting.signed("orkney", 0, b))


def test_weak_fiat_shamir_without_the_commitments_counts_yes_twice(
    demo_outcome: DemoOutcome, record_copy: Path, voting: LiveBoard
) -> None:
    """Weaker still, a challenge that does not hash the commitments: the prover takes
    the challenge first and solves every commitment from the verification equation, so
    it "proves" anything. A voter casts a ballot that encrypts 2 for "yes" with a 0/1
    proof for it and a 1-selection proof for the question: every proof verifies under
    that hash, and counted, the ballot gives "yes" two votes. plebiscite's challenge
    hashes the commitments, so V13 (and the board's intake) refuses it."""
    g, m = tl.group(demo_outcome), demo_outcome.organiser.manifest
    ctx, jk = context_of(demo_outcome)
    entries = tl.load_entries(record_copy)
    region = "lewis"
    pub, key = spare_voter(demo_outcome, entries, region)
    data, proofs = yes_twice(g, m, ctx, jk, region, pub)
    for tag, ct, proof, values, bind in proofs:
        assert weak_verify_range(g, "commitments", tag, ctx, jk, ct, proof, values, bind)
        assert not verify_range(g, tag, ctx, jk, ct, proof, values, bind)

    close = tl.indices_of(entries, "close")[0]
    before = result_counts(entries)[region]["status"]["yes"]
    sub = sign("ballot", data, tl.election_id(demo_outcome), key)
    entries.insert(close, sub.at(entries[close - 1].time))
    entries = tl.recount(demo_outcome, entries)
    assert result_counts(entries)[region]["status"]["yes"] == before + 2  # what it would do
    publish(demo_outcome, record_copy, entries)
    report = expect_failed(record_copy, "V13")
    assert f"entry {close}: question 'status' option 'yes'" in detail_of(report, "V13")

    pub, _ = voting.voter("orkney", 1)
    data, _ = yes_twice(voting.g, voting.m, voting.context, voting.key, "orkney", pub)
    assert "0/1 proof fails" in voting.refused(voting.signed("orkney", 1, data))


# --- copying another voter's ballot ---------------------------------------------------


def test_replay_under_another_credential(
    demo_outcome: DemoOutcome, record_copy: Path, voting: LiveBoard
) -> None:
    """Voter B copies voter A's cast ballot (ciphertexts and proofs) under B's own
    credential and signs it: a valid signature, and B's vote now doubles A's (or, with
    the options' roles known, cancels it; or tells B how A voted once the result moves).
    The proofs bind the credential (V13), and the tracking code, a hash of the
    ciphertexts alone, repeats A's (V14). The board refuses it."""
    entries = tl.load_entries(record_copy)
    region = "orkney"
    a = counted_ballots(entries, region)[0]
    pub, key = spare_voter(demo_outcome, entries, region)
    d = copy.deepcopy(entries[a].data)
    d["credential"] = pub
    copied = sign("ballot", d, tl.election_id(demo_outcome), key)
    entries.insert(a + 1, copied.at(entries[a].time))
    entries = tl.recount(demo_outcome, entries)
    publish(demo_outcome, record_copy, entries)
    report = expect_failed(record_copy, "V13", "V14")
    assert f"entry {a + 1}: question 'status'" in detail_of(report, "V13")
    assert "appears 2 times" in detail_of(report, "V14")

    ballot = voting.encrypt("shetland", 0, CHOICES)
    voting.org.accept(voting.signed("shetland", 0, ballot.data))
    d = copy.deepcopy(ballot.data)
    d["credential"] = voting.voter("shetland", 1)[0]
    assert "proof fails" in voting.refused(voting.signed("shetland", 1, d))


def rerandomise(
    g: Group, m: Manifest, key: Element, context: bytes, data: dict[str, Any], credential: str
) -> dict[str, Any]:
    """A copy of a ballot under ``credential``: every ciphertext times an encryption of
    0 (a fresh nonce r), so it decrypts the same but looks new, and every proof adapted
    the only way possible without the original nonces: same commitments and challenges,
    responses s - r c. Each branch's verification equation still holds."""
    d = copy.deepcopy(data)
    d["credential"] = credential
    for a in d["answers"]:
        q = m.questions[a["question"]]
        r_total = 0
        for slot, c in zip(q.slots, a["choices"], strict=True):
            r = g.random_scalar()
            r_total += r * (q.max if slot == "blank" else 1)
            ct = codec.ct_from_json(g, {"alpha": c["alpha"], "beta": c["beta"]})
            new = Ciphertext(g.mul(ct.alpha, g.g_pow(r)), g.mul(ct.beta, g.pow(key, r)))
            c.update(codec.ct_to_json(new))
            c["proof"] = _adapt(g, c["proof"], r)
        a["proof"] = _adapt(g, a["proof"], r_total % g.q)
    d["tracking_code"] = retrack(g, context, d)
    return d


def _adapt(g: Group, proof_json: Any, r: int) -> Any:
    p = codec.range_from_json(g, proof_json)
    branches = [
        Branch(b.a, b.b, b.challenge, (b.response - r * b.challenge) % g.q) for b in p.branches
    ]
    return codec.range_to_json(g, RangeProof(tuple(branches)))


def test_rerandomised_copy_under_another_credential(
    demo_outcome: DemoOutcome, record_copy: Path, voting: LiveBoard
) -> None:
    """Voter B copies A's ballot re-randomised: each ciphertext times an encryption of
    0, so it holds A's vote but has a new tracking code (V14 sees no repeat). B cannot
    prove the new ciphertexts afresh (that needs their nonces, which include A's), so it
    adapts A's proofs (same commitments and challenges, responses shifted by the new
    randomness): every verification equation holds, but the challenge, which hashes the
    ciphertexts and the credential, no longer matches. V13 refuses it, and the board."""
    g, m = tl.group(demo_outcome), demo_outcome.organiser.manifest
    ctx, jk = context_of(demo_outcome)
    entries = tl.load_entries(record_copy)
    region = "shetland"
    a = counted_ballots(entries, region)[0]
    pub, key = spare_voter(demo_outcome, entries, region)
    d = rerandomise(g, m, jk, ctx, entries[a].data, pub)
    assert d["tracking_code"] != entries[a].data["tracking_code"]
    for answer in d["answers"]:
        q = m.questions[answer["question"]]
        for slot, c in zip(q.slots, answer["choices"], strict=True):
            ct = codec.ct_from_json(g, {"alpha": c["alpha"], "beta": c["beta"]})
            proof = codec.range_from_json(g, c["proof"])
            assert equations_hold(g, jk, ct, proof, [0, 1])
            bind = option_bind(pub, region, q.id, slot)
            assert not verify_range(g, TAG_OPTION, ctx, jk, ct, proof, [0, 1], bind)

    copied = sign("ballot", d, tl.election_id(demo_outcome), key)
    entries.insert(a + 1, copied.at(entries[a].time))
    entries = tl.recount(demo_outcome, entries)
    publish(demo_outcome, record_copy, entries)
    report = expect_failed(record_copy, "V13")
    assert report.status_of("V14") == "passed"
    assert f"entry {a + 1}: question 'status'" in detail_of(report, "V13")

    ballot = voting.encrypt("lewis", 0, CHOICES)
    voting.org.accept(voting.signed("lewis", 0, ballot.data))
    d = rerandomise(
        voting.g, voting.m, voting.key, voting.context, ballot.data, voting.voter("lewis", 1)[0]
    )
    assert "proof fails" in voting.refused(voting.signed("lewis", 1, d))


# --- group elements -------------------------------------------------------------------


@pytest.fixture(scope="module")
def modp_outcome(tmp_path_factory: pytest.TempPathFactory) -> DemoOutcome:
    """A small finished demo over belenios-2048, a Schnorr subgroup of Z_p^* (order q,
    with elements of small order outside it)."""
    base = tmp_path_factory.mktemp("modp")
    out = run_demo(base / "data", base / "record", voters=1, seed=1, group="belenios-2048")
    out.organiser.close_store()
    return out


@pytest.mark.parametrize("name", ["belenios-2048", "modp-4096"])
def test_small_subgroup_elements_are_not_group_members(name: str) -> None:
    """In Z_p^*, -1 has order 2: an element times -1 leaves the order-q subgroup. Every
    element read from a record goes through the membership test (x^q = 1)."""
    g = get_group(name)
    assert isinstance(g, ModpGroup)
    minus_one = int(g.p - 1).to_bytes(g.element_bytes, "big")
    with pytest.raises(GroupError, match="order-q subgroup"):
        g.decode_element(minus_one)
    a = g.g_pow(g.random_scalar())
    flipped = int(g.p - a.value).to_bytes(g.element_bytes, "big")
    with pytest.raises(GroupError, match="order-q subgroup"):
        g.decode_element(flipped)
    for bad in (0, int(g.p), int(g.p) + 1):
        with pytest.raises(GroupError):
            g.decode_element(bad.to_bytes(g.element_bytes, "big"))


def test_small_subgroup_element_in_a_ballot(modp_outcome: DemoOutcome, tmp_path: Path) -> None:
    """Over a modp group, a ballot whose alpha is multiplied by -1 (order 2): the tally
    would carry the factor, and a guardian's partial decryption D = alpha^s of it leaks
    its key share's parity (D^q = (-1)^s). V11 refuses the element (not in the order-q
    subgroup); without that ballot the tally cannot be recomputed (V17) or decrypted
    (V18, V19), so they fail with it."""
    outcome = modp_outcome
    g = tl.group(outcome)
    assert isinstance(g, ModpGroup)
    ctx, _ = context_of(outcome)
    record = tmp_path / "record"
    shutil.copytree(outcome.record, record)
    entries = tl.load_entries(record)
    i = tl.indices_of(entries, "ballot")[0]
    d = copy.deepcopy(entries[i].data)
    c = d["answers"][0]["choices"][0]
    alpha = codec.element(g, c["alpha"])
    bad = gmpy2.f_mod(-alpha.value, g.p)
    c["alpha"] = int(bad).to_bytes(g.element_bytes, "big").hex()
    d["tracking_code"] = retrack(g, ctx, d)
    tl.relink(outcome, entries, entries[i].data["tracking_code"], d["tracking_code"])
    entries[i] = tl.resign_as_owner(outcome, entries[i], d)

    # Why it matters: a guardian decrypting it would publish its share's parity.
    s = outcome.guardians[0].share
    assert s is not None
    leaked = gmpy2.powmod(gmpy2.powmod(bad, s, g.p), g.q, g.p)
    assert leaked == (1 if s % 2 == 0 else g.p - 1)

    publish(outcome, record, entries)
    report = verify(record)
    assert report.status_of("V11") == "failed", details(report)
    assert failed_ids(report) <= {"V11", "V17", "V18", "V19"}, details(report)
    assert f"entry {i}" in detail_of(report, "V11")
    assert "order-q subgroup" in detail_of(report, "V11")


RISTRETTO_P = 2**255 - 19


def test_non_member_element_in_a_ballot(
    demo_outcome: DemoOutcome, record_copy: Path, voting: LiveBoard
) -> None:
    """Over ristretto255, a ballot element re-spelled as -s (the other square root of
    s^2, from which decoding computes the point): a decoder that skipped RFC 9496's
    sign check would read the same point, so one ballot would have two spellings (and
    two tracking codes). It is not a canonical encoding of any element: V11 refuses it,
    and the board."""
    g = tl.group(demo_outcome)
    ctx, _ = context_of(demo_outcome)
    entries = tl.load_entries(record_copy)
    i = superseded_ballot(entries)  # not counted: only V11 is at stake
    d = copy.deepcopy(entries[i].data)
    c = d["answers"][0]["choices"][1]
    s = int.from_bytes(bytes.fromhex(c["alpha"]), "little")
    c["alpha"] = ((RISTRETTO_P - s) % RISTRETTO_P).to_bytes(32, "little").hex()
    with pytest.raises(GroupError):
        g.element_from_hex(c["alpha"])
    d["tracking_code"] = retrack(g, ctx, d)
    tl.relink(demo_outcome, entries, entries[i].data["tracking_code"], d["tracking_code"])
    entries[i] = tl.resign_as_owner(demo_outcome, entries[i], d)
    publish(demo_outcome, record_copy, entries)
    report = expect_failed(record_copy, "V11")
    assert f"entry {i}" in detail_of(report, "V11")

    b = voting.encrypt("orkney", 2, CHOICES).data
    c = b["answers"][0]["choices"][1]
    s = int.from_bytes(bytes.fromhex(c["alpha"]), "little")
    c["alpha"] = ((RISTRETTO_P - s) % RISTRETTO_P).to_bytes(32, "little").hex()
    b["tracking_code"] = retrack(voting.g, voting.context, b)
    assert "ristretto255" in voting.refused(voting.signed("orkney", 2, b))


# --- tracking codes -------------------------------------------------------------------


def test_clash_two_ballots_with_one_tracking_code(
    demo_outcome: DemoOutcome, record_copy: Path, voting: LiveBoard
) -> None:
    """A clash attack: a booth that reuses randomness gives two voters with the same
    choices the very same ciphertexts (with valid proofs bound to each credential), so
    both find "their" tracking code on the board while it stands for one ballot, and the
    board is free to drop the other or count one ballot for both. V13 is satisfied;
    V14 sees the code twice. The board refuses the second ballot."""
    g, m = tl.group(demo_outcome), demo_outcome.organiser.manifest
    ctx, jk = context_of(demo_outcome)
    entries = tl.load_entries(record_copy)
    region = "orkney"
    a, b = counted_ballots(entries, region)[:2]
    nonces = {q.id: [g.random_scalar() for _ in q.slots] for q in m.region_questions(region)}
    for i in (a, b):
        pub = entries[i].data["credential"]
        replaces = entries[i].data["replaces"]
        d = tl.encrypt_ballot_with_nonces(g, m, ctx, jk, region, CHOICES, pub, nonces, replaces)
        entries[i] = tl.resign_as_owner(demo_outcome, entries[i], d)
    assert entries[a].data["tracking_code"] == entries[b].data["tracking_code"]
    entries = tl.recount(demo_outcome, entries)
    publish(demo_outcome, record_copy, entries)
    report = expect_failed(record_copy, "V14")
    assert report.status_of("V13") == "passed"
    assert "appears 2 times" in detail_of(report, "V14")

    nonces = {
        q.id: [voting.g.random_scalar() for _ in q.slots]
        for q in voting.m.region_questions("mainland")
    }
    subs = []
    for n in (0, 1):
        pub = voting.voter("mainland", n)[0]
        d = tl.encrypt_ballot_with_nonces(
            voting.g, voting.m, voting.context, voting.key, "mainland", CHOICES, pub, nonces
        )
        subs.append(voting.signed("mainland", n, d))
    voting.org.accept(subs[0])
    assert "tracking code is already on the board" in voting.refused(subs[1])


# --- the board ------------------------------------------------------------------------


def _branch(outcome: DemoOutcome, folder: Path, entries: Sequence[Entry]) -> list[Checkpoint]:
    """A copy of the record showing ``entries``, checkpoints re-signed by the board, no
    cosignatures yet."""
    shutil.copytree(outcome.record, folder)
    (folder / "cosignatures.jsonl").write_text("")
    tl.write_entries(folder, entries)
    return tl.resign_checkpoints(folder, tl.board_key(outcome))


def _cosign(folder: Path, cps: list[Checkpoint], keys: dict[str, Any]) -> None:
    lines = (folder / ENTRIES).read_bytes().split(b"\n")[:-1]
    tl.recosign(folder, lines, cps, keys)


def _split_view(
    outcome: DemoOutcome, tmp_path: Path
) -> tuple[Path, list[Checkpoint], Path, list[Checkpoint]]:
    """Two histories of one size: A is the true board; B shows, in place of a voter's
    ballot, an anonymous challenged ballot the board made itself (so B is as long as A
    and valid on its own), and a tally without that vote."""
    entries = tl.load_entries(outcome.record)
    i = counted_ballots(entries, "mainland")[0]
    g, m = tl.group(outcome), outcome.organiser.manifest
    ctx, jk = context_of(outcome)
    decoy = encrypt_ballot(
        g, m, ctx, jk, "mainland", {"status": ["yes"]}, entries[i].data["credential"]
    )
    forged = list(entries)
    forged[i] = challenge_ballot(g, decoy).at(entries[i].time)
    forged = tl.recount(outcome, forged)
    a_cps = _branch(outcome, tmp_path / "branch-a", entries)
    b_cps = _branch(outcome, tmp_path / "branch-b", forged)
    assert a_cps[-1].size == b_cps[-1].size and a_cps[-1].root != b_cps[-1].root
    return tmp_path / "branch-a", a_cps, tmp_path / "branch-b", b_cps


def test_forked_board_split_view(demo_outcome: DemoOutcome, tmp_path: Path) -> None:
    """A forked board: two histories of the same size with different roots, both signed
    with the board's key; one drops a voter's ballot (padded with a challenged ballot
    the board made, so the sizes agree). Each branch is valid on its own. Two signed
    checkpoints of one size and different roots are a fraud proof anyone can check
    (board/fraud.py), and two witnesses comparing notes produce one; a branch shown to
    fewer than ``witness_quorum`` witnesses fails V22."""
    a, a_cps, b, b_cps = _split_view(demo_outcome, tmp_path)
    keys = tl.witness_keys(demo_outcome)
    w = sorted(keys)
    _cosign(a, a_cps, {x: keys[x] for x in w[:3]})
    _cosign(b, b_cps, {w[3]: keys[w[3]]})
    expect_failed(a)  # the control: the true branch, witnessed by the quorum
    report = expect_failed(b, "V22")
    assert "of the 2 cosignatures it needs" in detail_of(report, "V22")

    board = b64decode(tl.load_entries(a)[0].data["board_key"], 32)
    assert check_fraud_proof(make_fraud_proof(board, a_cps[-1], b_cps[-1])) is None
    # Two witnesses, each shown one branch, cosign it; comparing notes exposes the fork.
    s1, s2 = WitnessState(tmp_path / "w1"), WitnessState(tmp_path / "w2")
    witness(RecordSource(a), keys[w[0]], w[0], s1, tl.clock_at(a))
    witness(RecordSource(b), keys[w[3]], w[3], s2, tl.clock_at(b))
    with pytest.raises(WitnessError, match="forked") as exc:
        gossip(s1, s2)
    assert exc.value.fraud is not None and check_fraud_proof(exc.value.fraud) is None


def test_split_view_cannot_reach_the_witness_quorum_on_both_branches(
    demo_outcome: DemoOutcome, tmp_path: Path
) -> None:
    """The split view of ``test_forked_board_split_view``, with the witnesses divided
    evenly: each honest witness cosigns the branch it was shown, and the demo's observer
    accredited later (press-1) makes the four witnesses split 2 and 2. Only the witnesses
    the referendum file declares count toward the quorum, which must be a majority of
    them (the organiser controls accreditations), so at most one branch carries it: V22
    fails the other."""
    a, a_cps, b, b_cps = _split_view(demo_outcome, tmp_path)
    keys = tl.witness_keys(demo_outcome)
    w = sorted(keys)
    _cosign(a, a_cps, {x: keys[x] for x in w[:2]})
    _cosign(b, b_cps, {x: keys[x] for x in w[2:]})
    reports = [verify(a), verify(b)]
    failing = [r for r in reports if not r.ok]
    assert failing, "both branches of a fork verify"
    assert all(r.status_of("V22") == "failed" for r in failing)


def test_rogue_key_guardian(tmp_path: Path) -> None:
    """A rogue-key attack: the last guardian waits for the others' commitments and
    publishes C' = g^x / (C_1 C_2) for an x of its choosing, so the joint key is g^x and
    it alone can decrypt every ballot. It cannot know log_g C', so it cannot prove it;
    the best it can post is a proof simulated as a weak hash (one without the
    commitment) would allow. The board refuses it, the other guardians refuse to go on,
    and on a board that posts it anyway V07 fails for that coefficient."""
    board = LiveBoard(tmp_path / "board", ceremony=False)
    org, g, eid, m = board.org, board.g, board.eid, board.m
    ids = guardian_ids(m)
    honest = [
        Guardian.create(eid, g.name, gid, n + 1, m.quorum, manifest=m)
        for n, gid in enumerate(ids[:-1])
    ]
    for gd in honest:
        org.accept(sign("guardian_key", gd.key_data(), eid, gd.signing_key))
    rogue = Guardian.create(eid, g.name, ids[-1], len(ids), m.quorum)
    x = g.random_scalar()
    others = g.prod(codec.element(g, d["commitments"][0]) for d in org.guardian_key_entries())
    c0 = g.div(g.g_pow(x), others)
    ctx = bytes.fromhex(eid)
    bind: list[str | int] = [rogue.guardian, 0]
    ch = challenge(g, TAG_COEFFICIENT, ctx, g.generator(), c0, bind)  # no commitment
    s = g.random_scalar()
    proof = SchnorrProof(g.mul(g.g_pow(s), g.pow(c0, ch)), s)
    assert not verify_schnorr(g, TAG_COEFFICIENT, ctx, c0, proof, bind)
    data = rogue.key_data()
    honest_data = copy.deepcopy(data)
    data["commitments"][0] = c0.hex()
    data["proofs"][0] = codec.schnorr_to_json(g, proof)

    # What it would win: the joint key is g^x, and x alone decrypts a ballot.
    all_cs = [
        [codec.element(g, c) for c in d["commitments"]] for d in [*org.guardian_key_entries(), data]
    ]
    joint = threshold.joint_key(g, all_cs)
    assert joint == g.g_pow(x)
    assert decrypt_with_secret(g, x, encrypt(g, joint, 1, g.random_scalar()), 1) == 1

    sub = sign("guardian_key", data, eid, rogue.signing_key)
    assert "guardian guardian-3 coefficient 0: proof fails" in board.refused(sub)
    with pytest.raises(CeremonyError, match="coefficient 0: proof fails"):
        honest[0].check_key_data(data)

    org.append(sub)  # a board that skips its own intake
    org.publish(tmp_path / "record")
    report = verify(tmp_path / "record")
    assert report.status_of("V07") == "failed"
    assert "guardian guardian-3 coefficient 0: proof fails" in detail_of(report, "V07")

    # The control: the same ceremony with guardian-3's honest key.
    entries = tl.load_entries(tmp_path / "record")
    entries[-1] = sign("guardian_key", honest_data, eid, rogue.signing_key).at(entries[-1].time)
    tl.save(tmp_path / "record", entries, org.key)
    assert verify(tmp_path / "record").status_of("V07") == "passed"


def test_ballot_dropped_after_a_checkpoint_covered_it(
    demo_outcome: DemoOutcome, record_copy: Path, tmp_path: Path
) -> None:
    """The board drops a voter's ballot that a checkpoint already covered, then re-makes
    every checkpoint over what is left (all signed with its key, so V02 and V03 hold) and
    restates the tally. The witnesses' cosignatures are of the old checkpoints, which
    the record no longer holds, and its new close and final checkpoints have none: V22.
    A witness that cosigned the old history refuses the new one with a fraud proof, and
    the voter's receipt (an old checkpoint and an inclusion proof) no longer checks."""
    receipt = demo_outcome.receipts[0]
    i = int(receipt["index"])
    entries = tl.load_entries(record_copy)
    assert entries[i].type == "ballot"
    entries = tl.recount(demo_outcome, entries[:i] + entries[i + 1 :])
    tl.write_entries(record_copy, entries)
    tl.resign_checkpoints(record_copy, tl.board_key(demo_outcome))
    report = expect_failed(record_copy, "V22")
    assert "not in this record" in detail_of(report, "V22")

    # The witness that cosigned the old history refuses the new one.
    wid = sorted(tl.witness_keys(demo_outcome))[0]
    state = tmp_path / "witness"
    shutil.copytree(demo_outcome.organiser.data_dir / "observers" / wid, state)
    with pytest.raises(WitnessError, match="forked") as exc:
        witness(
            RecordSource(record_copy),
            tl.witness_keys(demo_outcome)[wid],
            wid,
            WitnessState(state),
            tl.clock_at(record_copy),
        )
    assert exc.value.fraud is not None and check_fraud_proof(exc.value.fraud) is None

    # The voter's receipt holds against the published record, not against the new one.
    board = b64decode(entries[0].data["board_key"], 32)

    def receipt_problems(record: Path) -> list[str]:
        lines = (record / ENTRIES).read_bytes().split(b"\n")[:-1]
        tree = MerkleTree(leaf_hash(x) for x in lines)
        latest = tl.load_checkpoints(record)[-1]
        old = Checkpoint.from_json(receipt["checkpoint"])
        consistency = tree.consistency_proof(old.size, latest.size)
        entry = lines[i] if i < len(lines) else None
        return check_receipt(receipt, board, entry, latest, consistency)

    assert receipt_problems(demo_outcome.record) == []
    problems = receipt_problems(record_copy)
    assert f"the board's entry {i} is not the receipt's ballot" in problems
    assert "the board's latest checkpoint is not consistent with the receipt's" in problems

    # With every witness colluding the record verifies; the receipt still exposes it.
    tl.save(record_copy, entries, tl.board_key(demo_outcome), tl.witness_keys(demo_outcome))
    expect_failed(record_copy)
    assert receipt_problems(record_copy)


# --- revotes ---------------------------------------------------------------------------


def test_unacknowledged_ballot_appended_after_the_acknowledged_revote(
    demo_outcome: DemoOutcome,
    record_copy: Path,
    voting: LiveBoard,
    run_cli: Any,
    tmp_path: Path,
) -> None:
    """A ballot the server never acknowledged (answered 503, or timed out) is appended
    later, after the voter's acknowledged revote, and would count instead of it. Revotes
    are a chain: that ballot replaces the head the voter's booth read before, not the
    revote, so the board's intake refuses it as stale; a board that appends it anyway
    fails V16 (it is not counted), and its voter's receipt check says it does not count."""
    # Through the intake: cast, a ballot left unanswered, the acknowledged revote, then
    # the unanswered one arrives.
    first = voting.encrypt("shetland", 3, CHOICES)
    pub, key = voting.voter("shetland", 3)
    voting.org.accept(cast(first, voting.eid, key))
    code = first.tracking_code
    lost = encrypt_ballot(
        voting.g, voting.m, voting.context, voting.key, "shetland", CHOICES, pub, code
    )
    other = {"status": ["no"], "capital": ["kirkwall"]}
    revote = encrypt_ballot(
        voting.g, voting.m, voting.context, voting.key, "shetland", other, pub, code
    )
    acked = voting.org.accept(cast(revote, voting.eid, key))
    with pytest.raises(Stale) as exc:
        voting.org.accept(cast(lost, voting.eid, key))
    assert exc.value.head == {"tracking_code": revote.tracking_code, "index": acked["index"]}
    assert voting.org.head(pub) == (revote.tracking_code, acked["index"])

    # A board that appends it anyway, after the revote (the tally restated as the
    # chain counts, so only the chain is at stake).
    entries = tl.load_entries(record_copy)
    voter, (i0, *_, last) = next((c, ix) for c, ix in ballots_of(entries).items() if len(ix) > 1)
    region = entries[last].data["region"]
    ctx, jk = context_of(demo_outcome)
    m = demo_outcome.organiser.manifest
    choices = {q.id: [q.options[-1]] for q in m.region_questions(region)}
    replaces = entries[i0].data["tracking_code"]  # the head before the revote
    late = encrypt_ballot(tl.group(demo_outcome), m, ctx, jk, region, choices, voter, replaces)
    x = last + 1
    entries.insert(
        x,
        cast(late, tl.election_id(demo_outcome), tl.voter_key(demo_outcome, voter)).at(
            entries[last].time
        ),
    )
    entries = tl.recount(demo_outcome, entries)
    publish(demo_outcome, record_copy, entries)
    report = expect_failed(record_copy, "V16")
    assert f"entry {x}: ballot does not extend its credential's chain" in detail_of(report, "V16")

    # The voter whose receipt names that ballot learns it does not count.
    lines = (record_copy / ENTRIES).read_bytes().split(b"\n")[:-1]
    cp = tl.load_checkpoints(record_copy)[-1]
    tree = MerkleTree(leaf_hash(line) for line in lines)
    receipt = {
        "election_id": tl.election_id(demo_outcome),
        "type": "ballot",
        "tracking_code": late.tracking_code,
        "index": x,
        "entry_hash": leaf_hash(lines[x]).hex(),
        "checkpoint": cp.to_json(),
        "inclusion_proof": [h.hex() for h in tree.inclusion_proof(x, cp.size)],
    }
    (tmp_path / "receipt.json").write_text(json.dumps(receipt))
    code_, _, err = run_cli("check-receipt", tmp_path / "receipt.json", "--record", record_copy)
    assert code_ == 1 and "not counted: does not extend its credential's chain" in err, err
    # the revote's receipt (its ballot extends the chain) still holds
    receipt_ok = dict(
        receipt,
        tracking_code=entries[last].data["tracking_code"],
        index=last,
        entry_hash=leaf_hash(lines[last]).hex(),
        inclusion_proof=[h.hex() for h in tree.inclusion_proof(last, cp.size)],
    )
    (tmp_path / "ok.json").write_text(json.dumps(receipt_ok))
    code_, out, err = run_cli("check-receipt", tmp_path / "ok.json", "--record", record_copy)
    assert code_ == 0, err


# --- credentials and the window -------------------------------------------------------


def test_ballot_stuffing_beyond_the_credential_list(
    demo_outcome: DemoOutcome, record_copy: Path, voting: LiveBoard
) -> None:
    """Stuffing: the organiser adds a ballot of its own making, valid in every other
    respect: a fresh encryption with proofs bound to a credential it generated, signed
    with that credential's key; the board re-signs its checkpoints and (colluding) the
    witnesses cosign. The credential is on no list the authority signed: V12. (V16 would
    also fail once a region's counted ballots outnumber its credentials.) The board
    refuses such a ballot."""
    entries = tl.load_entries(record_copy)
    key = Ed25519PrivateKey.generate()
    close = tl.indices_of(entries, "close")[0]
    entries.insert(
        close, new_ballot(demo_outcome, "lewis", key_to_b64(key), key, entries[close - 1].time)
    )
    entries = tl.recount(demo_outcome, entries)
    publish(demo_outcome, record_copy, entries)
    report = expect_failed(record_copy, "V12")
    assert f"entry {close}: credential not in the list of region 'lewis'" in detail_of(
        report, "V12"
    )

    ballot = encrypt_ballot(
        voting.g, voting.m, voting.context, voting.key, "lewis", CHOICES, key_to_b64(key)
    )
    sub = sign("ballot", ballot.data, voting.eid, key)
    assert "credential not on the list" in voting.refused(sub)


def test_ballot_outside_the_voting_window(
    demo_outcome: DemoOutcome, record_copy: Path, tmp_path: Path
) -> None:
    """A valid ballot by a listed voter (an abstainer), placed where no ballot may be:
    after the close entry (added once the turnout is known), before the open entry, or
    between them but at a board time after the window closed (the board delaying its
    close entry). V15 catches each; the first two also break the protocol's order (V06).
    The board refuses a ballot before opening, after the window, and after the close."""
    original = tl.load_entries(record_copy)
    region = "mainland"
    pub, key = spare_voter(demo_outcome, original, region)
    closes = demo_outcome.organiser.manifest.closes

    # After the close entry: not counted, so the tally stands.
    entries = list(original)
    close = tl.indices_of(entries, "close")[0]
    entries.insert(close + 1, new_ballot(demo_outcome, region, pub, key, entries[close].time))
    publish(demo_outcome, record_copy, tl.recount(demo_outcome, entries))
    report = expect_failed(record_copy, "V06", "V15")
    assert f"entry {close + 1}: ballot after the close entry" in detail_of(report, "V15")

    # Before the open entry.
    entries = list(original)
    o = tl.indices_of(entries, "open")[0]
    entries.insert(o, new_ballot(demo_outcome, region, pub, key, entries[o - 1].time))
    publish(demo_outcome, record_copy, tl.recount(demo_outcome, entries))
    report = expect_failed(record_copy, "V06", "V15")
    assert f"entry {o}: ballot before the open entry" in detail_of(report, "V15")

    # Before the close entry, which the board holds back, but after the window: counted.
    entries = list(original)
    close = tl.indices_of(entries, "close")[0]
    late = format_time(closes + timedelta(seconds=30))
    entries.insert(close, new_ballot(demo_outcome, region, pub, key, late))
    entries[close + 1] = tl.retime(entries[close + 1], format_time(closes + timedelta(minutes=1)))
    publish(demo_outcome, record_copy, tl.recount(demo_outcome, entries))
    report = expect_failed(record_copy, "V15")
    assert f"entry {close}: ballot cast at {late}, outside the voting window" in detail_of(
        report, "V15"
    )

    board = LiveBoard(tmp_path / "board")
    b = board.signed(region, 0, board.encrypt(region, 0, {"status": ["no"]}).data)
    assert "voting has not opened" in board.refused(b)
    board.open()
    board.clock.set(closes + timedelta(seconds=1))
    assert "outside the voting window" in board.refused(b)
    board.org.close()
    assert "closed" in board.refused(b)


# --- decryption -----------------------------------------------------------------------


def _ballot_as_tally(g: Group, m: Manifest, data: dict[str, Any]) -> dict[str, Any]:
    """One ballot's ciphertexts in the shape of a tally (region -> question -> slot)."""
    out: dict[str, Any] = {data["region"]: {}}
    for a in data["answers"]:
        q = m.questions[a["question"]]
        out[data["region"]][q.id] = {
            slot: codec.ct_from_json(g, {"alpha": c["alpha"], "beta": c["beta"]})
            for slot, c in zip(q.slots, a["choices"], strict=True)
        }
    return out


def test_decryption_before_close(
    demo_outcome: DemoOutcome, record_copy: Path, voting: LiveBoard, tmp_path: Path
) -> None:
    """A quorum of guardians, with the organiser, decrypts a voter's ballot while voting
    is still open (or an interim tally, to steer the campaign): partial decryptions with
    valid proofs, posted mid-vote. The decrypt step refuses before the close, the board
    refuses decryption shares before its tally, and in the record V06 (a decryption
    share amid the ballots) and V18 (a share set that is not about the tally) fail."""
    g, m = tl.group(demo_outcome), demo_outcome.organiser.manifest
    ctx, _ = context_of(demo_outcome)
    entries = tl.load_entries(record_copy)
    close = tl.indices_of(entries, "close")[0]
    gds = [gd for gd in demo_outcome.guardians if gd.guardian in ("guardian-1", "guardian-2")]
    open_board = tmp_path / "open-board"
    shutil.copytree(record_copy, open_board)
    tl.save(open_board, entries[:close], tl.board_key(demo_outcome), tl.witness_keys(demo_outcome))
    with pytest.raises(CeremonyError, match="not closed"):
        decrypt_from_board(gds[0], read_record(open_board))

    b = counted_ballots(entries, "orkney")[0]
    ballot = _ballot_as_tally(g, m, entries[b].data)
    shares = [gd.decryption_data(ctx, ballot, b) for gd in gds]
    # What the quorum learns: this voter's choice.
    lam = [threshold.lagrange_at_zero(g, gd.index, [x.index for x in gds]) for gd in gds]
    votes = {}
    for slot, ct in ballot["orkney"]["status"].items():
        d = g.prod(
            g.pow(codec.element(g, sh["shares"]["orkney"]["status"][slot]["share"]), lm)
            for sh, lm in zip(shares, lam, strict=True)
        )
        votes[slot] = g.dlog(g.div(ct.beta, d), 1)
    assert sum(votes.values()) == 1

    early = [
        sign("decryption_share", sh, tl.election_id(demo_outcome), gd.signing_key)
        for sh, gd in zip(shares, gds, strict=True)
    ]
    for k, sub in enumerate(early):
        entries.insert(b + 1 + k, sub.at(entries[b].time))
    entries = tl.recount(demo_outcome, entries)
    for k, sub in enumerate(early):  # recount restated them as shares of the tally
        entries[b + 1 + k] = sub.at(entries[b].time)
    publish(demo_outcome, record_copy, entries)
    report = expect_failed(record_copy, "V06", "V18")
    assert f"entry {b + 1}: not about the tally" in detail_of(report, "V18")

    ballot_sub = voting.signed("orkney", 3, voting.encrypt("orkney", 3, CHOICES).data)
    index = voting.org.accept(ballot_sub)["index"]
    gd = voting.guardians[0]
    with pytest.raises(CeremonyError, match="not closed"):
        decrypt_from_board(gd, voting.org.raw_record())
    data = gd.decryption_data(
        voting.context, _ballot_as_tally(voting.g, voting.m, ballot_sub.data), index
    )
    assert "tally" in voting.refused(sign("decryption_share", data, voting.eid, gd.signing_key))


def test_forged_decryption_share(
    demo_outcome: DemoOutcome, record_copy: Path, tmp_path: Path
) -> None:
    """A guardian publishes a wrong partial decryption, D' = D / g^(1/lambda), chosen so
    the combined decryption adds one vote to "yes", and the organiser announces that
    result. Its Chaum-Pedersen proof can only be made with the secret it has, its key
    share, which is the wrong one for D': V18 fails for that share, and V19, since the
    result rests on it. The board refuses the share."""
    g = tl.group(demo_outcome)
    ctx, _ = context_of(demo_outcome)
    entries = tl.load_entries(record_copy)
    res = tl.indices_of(entries, "result")[0]
    used = entries[res].data["guardians"]
    gd = next(x for x in demo_outcome.guardians if x.guardian == used[0])
    assert gd.share is not None
    indices = [x.index for x in demo_outcome.guardians if x.guardian in used]
    lam = threshold.lagrange_at_zero(g, gd.index, indices)
    i = next(
        j
        for j in tl.indices_of(entries, "decryption_share")
        if entries[j].data["guardian"] == gd.guardian
    )
    tally = entries[tl.indices_of(entries, "tally")[0]].data["regions"]
    region = "shetland"
    ct = codec.ct_from_json(g, tally[region]["status"]["yes"])
    d = copy.deepcopy(entries[i].data)
    sh = d["shares"][region]["status"]["yes"]
    forged = g.div(codec.element(g, sh["share"]), g.g_pow(pow(lam, -1, g.q)))
    vk = g.g_pow(gd.share)
    bind = decryption_bind(gd.guardian, region, "status", "yes")
    proof = prove_equality(
        g, TAG_DECRYPTION, ctx, gd.share, g.generator(), vk, ct.alpha, forged, bind
    )
    sh["share"], sh["proof"] = forged.hex(), codec.equality_to_json(g, proof)
    entries[i] = tl.resign_as_owner(demo_outcome, entries[i], d)
    r = copy.deepcopy(entries[res].data)
    r["counts"][region]["status"]["yes"] += 1
    entries[res] = tl.resign_as_owner(demo_outcome, entries[res], r)
    publish(demo_outcome, record_copy, entries)
    report = expect_failed(record_copy, "V18", "V19")
    assert f"{gd.guardian}'s share for {region}/status/yes: proof fails" in detail_of(report, "V18")

    board = LiveBoard(tmp_path / "board")
    board.open()
    for n in range(2):
        board.org.accept(board.signed("orkney", n, board.encrypt("orkney", n, CHOICES).data))
    board.clock.set(board.m.closes)
    board.org.close()
    board.org.tally()
    gd = board.guardians[0]
    share = decrypt_from_board(gd, board.org.raw_record())
    honest = copy.deepcopy(share)
    sh = share["shares"]["orkney"]["status"]["yes"]
    _, posted = board.org.posted_tally()
    ct = codec.ct_from_json(board.g, posted["regions"]["orkney"]["status"]["yes"])
    forged = board.g.div(codec.element(board.g, sh["share"]), board.g.generator())
    assert gd.share is not None
    proof = prove_equality(
        board.g,
        TAG_DECRYPTION,
        board.context,
        gd.share,
        board.g.generator(),
        board.g.g_pow(gd.share),
        ct.alpha,
        forged,
        decryption_bind(gd.guardian, "orkney", "status", "yes"),
    )
    sh["share"], sh["proof"] = forged.hex(), codec.equality_to_json(board.g, proof)
    assert "guardian-1's share for orkney/status/yes: proof fails" in board.refused(
        sign("decryption_share", share, board.eid, gd.signing_key)
    )
    board.org.accept(sign("decryption_share", honest, board.eid, gd.signing_key))  # control


def test_tally_over_a_chosen_subset(demo_outcome: DemoOutcome, record_copy: Path) -> None:
    """The organiser tallies a subset of the ballots of its choosing (leaving out the
    voters it expects to vote against it) and states the honest number of counted
    ballots (so V16 holds); colluding guardians decrypt that tally with valid proofs and
    the result is what their shares give. The tally is not the product of the counted
    ballots: V17. V18 and V19 check the shares and counts against the tally the verifier
    recomputed, not the posted one, so they fail too. An honest guardian recomputes the
    tally before decrypting and refuses."""
    from plebiscite.election.tally import compute_tally, tally_to_json

    g, m = tl.group(demo_outcome), demo_outcome.organiser.manifest
    entries = tl.load_entries(record_copy)
    left_out = set(counted_ballots(entries, "orkney")[:2])
    subset = [e for j, e in enumerate(entries) if j not in left_out]
    data = tally_to_json(compute_tally(g, m, subset))
    data["counted"] = tally_to_json(compute_tally(g, m, entries))["counted"]
    data["close_index"] = tl.indices_of(entries, "close")[0]
    entries = tl.recount(demo_outcome, entries, data)
    assert result_counts(entries)["orkney"] != demo_outcome.counts["orkney"]

    publish(demo_outcome, record_copy, entries)
    with pytest.raises(CeremonyError, match="V17 failed .*differs from the product"):
        decrypt_from_board(demo_outcome.guardians[0], read_record(record_copy))

    report = expect_failed(record_copy, "V17", "V18", "V19")
    assert "differs from the product of the counted ballots" in detail_of(report, "V17")
    assert "guardian-1's share for orkney/status/yes: proof fails" in detail_of(report, "V18")


# --- relabelled options ---------------------------------------------------------------


def test_options_relabelled_in_the_result(demo_outcome: DemoOutcome, record_copy: Path) -> None:
    """The organiser announces a region's result with the "yes" and "no" counts swapped.
    V19 checks every count against the decrypted tally (B / prod M_i^lambda_i = g^t)."""
    entries = tl.load_entries(record_copy)
    res = tl.indices_of(entries, "result")[0]
    d = copy.deepcopy(entries[res].data)
    region = next(r for r, qs in d["counts"].items() if qs["status"]["yes"] != qs["status"]["no"])
    st = d["counts"][region]["status"]
    st["yes"], st["no"] = st["no"], st["yes"]
    entries[res] = tl.resign_as_owner(demo_outcome, entries[res], d)
    publish(demo_outcome, record_copy, entries)
    report = expect_failed(record_copy, "V19")
    assert f"{region}/status/yes:" in detail_of(report, "V19")


def test_options_relabelled_in_the_referendum_file(
    demo_outcome: DemoOutcome, record_copy: Path
) -> None:
    """After the ballots are cast, the organiser swaps the order of "yes" and "no" in
    the referendum file, so that every ballot's first ciphertext (a vote for "yes")
    counts for "no". The referendum file is hashed into the election id, which every
    signature and proof binds: the board can re-sign its own entries and checkpoints,
    but the guardians', the authority's and the voters' signatures no longer hold (V05),
    nor the guardians' proofs of knowledge (V07), nor anything built on them."""
    entries = tl.load_entries(record_copy)
    d = copy.deepcopy(entries[0].data)
    status = next(q for q in d["manifest"]["questions"] if q["id"] == "status")
    assert status["options"] == ["yes", "no"]
    status["options"] = ["no", "yes"]
    entries[0] = tl.resign(entries[0], tl.board_key(demo_outcome), "", d)
    eid = election_id_of(d)
    for j, e in enumerate(entries[1:], start=1):
        if e.type in tl.ORGANISER_TYPES | {"voter_roll", "observer_accreditation"}:
            entries[j] = tl.resign(e, tl.board_key(demo_outcome), eid)
    publish(demo_outcome, record_copy, entries)
    report = verify(record_copy)
    assert {"V05", "V07"} <= failed_ids(report), details(report)
    assert {"V01", "V02", "V03", "V04"}.isdisjoint(failed_ids(report))
    v05 = detail_of(report, "V05")
    for j in tl.indices_of(entries, "ballot")[:3] + tl.indices_of(entries, "guardian_key"):
        assert f"entry {j} ({entries[j].type}): invalid signature" in v05


def test_options_relabelled_inside_a_ballot(demo_outcome: DemoOutcome, record_copy: Path) -> None:
    """Someone who can sign with a voter's credential but does not know the ballot's
    nonces (a stolen credential, or a board colluding with the credential authority)
    swaps the "yes" and "no" ciphertexts of the voter's cast ballot, proofs and all, to
    flip the vote without re-proving it. The 0/1 proofs bind the option they are for:
    V13."""
    g = tl.group(demo_outcome)
    ctx, _ = context_of(demo_outcome)
    entries = tl.load_entries(record_copy)
    i = counted_ballots(entries, "lewis")[0]
    d = copy.deepcopy(entries[i].data)
    ch = d["answers"][0]["choices"]
    ch[0], ch[1] = ch[1], ch[0]
    d["tracking_code"] = retrack(g, ctx, d)
    tl.relink(demo_outcome, entries, entries[i].data["tracking_code"], d["tracking_code"])
    entries[i] = tl.resign_as_owner(demo_outcome, entries[i], d)
    publish(demo_outcome, record_copy, tl.recount(demo_outcome, entries))
    report = expect_failed(record_copy, "V13")
    assert f"entry {i}: question 'status' option 'yes': 0/1 proof fails" in detail_of(report, "V13")


# --- the server -----------------------------------------------------------------------


def test_server_refuses_replay_clash_and_late_ballots_with_4xx(tmp_path: Path) -> None:
    """The live server (its cast queue, not only ``Organiser.accept``) answers a ballot
    copied under another credential, a clashing ballot and a ballot after the close
    with a 4xx and appends nothing."""
    from fastapi.testclient import TestClient

    from plebiscite.server.app import create_app
    from plebiscite.server.demo import create_demo
    from plebiscite.server.registry import Registry

    registry = Registry(tmp_path / "data")
    token = registry.new_admin_token()
    ref, voters = create_demo(registry, builtin_manifest(), 3)
    org = ref.org
    g, m, eid = org.group, org.manifest, org.election_id
    ctx, key = org.context()
    a, b, c = [v for v in voters if v["region"] == "orkney"][:3]

    def pub(v: dict[str, str]) -> str:
        return public_credential(eid, v["credential"])

    def signed(v: dict[str, str], data: dict[str, Any]) -> dict[str, Any]:
        return sign("ballot", data, eid, credential_key(eid, v["credential"])).to_json()

    try:
        with TestClient(create_app(registry, demo=True, signin_limit=50)) as client:
            url = f"/api/referendums/{ref.id}/ballots"

            def signin(v: dict[str, str]) -> str:
                r = client.post(f"/api/referendums/{ref.id}/signin", json={"code": v["code"]})
                assert r.status_code == 200, r.text
                return str(r.json()["csrf"])

            def post(v: dict[str, str], data: dict[str, Any], csrf: str | None = None) -> Any:
                headers = {"X-CSRF-Token": csrf or signin(v)}
                return client.post(url, json=signed(v, data), headers=headers)

            nonces = {
                q.id: [g.random_scalar() for _ in q.slots] for q in m.region_questions("orkney")
            }
            data_a = tl.encrypt_ballot_with_nonces(
                g, m, ctx, key, "orkney", CHOICES, pub(a), nonces
            )
            r = post(a, data_a)
            assert r.status_code == 200, r.text
            size = len(org.entries())

            copied = dict(data_a, credential=pub(b))
            r = post(b, copied)
            assert r.status_code == 422 and "proof fails" in r.json()["detail"]
            r = post(b, rerandomise(g, m, key, ctx, data_a, pub(b)))
            assert r.status_code == 422 and "proof fails" in r.json()["detail"]
            clash = tl.encrypt_ballot_with_nonces(g, m, ctx, key, "orkney", CHOICES, pub(b), nonces)
            r = post(b, clash)
            assert r.status_code == 422 and "tracking code" in r.json()["detail"]
            assert len(org.entries()) == size

            csrf = signin(c)  # signed in while voting is open
            auth = {"Authorization": f"Bearer {token}"}
            r = client.post(f"/api/admin/referendums/{ref.id}/close", headers=auth)
            assert r.status_code == 200, r.text
            size = len(org.entries())
            late = encrypt_ballot(g, m, ctx, key, "orkney", CHOICES, pub(c)).data
            r = post(c, late, csrf)
            assert 400 <= r.status_code < 500 and "closed" in r.json()["detail"]
            assert len(org.entries()) == size
    finally:
        registry.close()


# --- every party verifies before it acts --------------------------------------------------
#
# The attacks an independent review mounted on parties that acted on board entries they
# never checked. Each goes through the real role commands (or the real server) and is
# refused by the role itself, naming the verifier's check, before any secret is used.


def _x25519_b64() -> str:
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    pub = X25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.b64encode(pub).decode()


def _pinned_keys_posted(tmp: Path, run_cli: Any) -> tuple[Path, Path, dict[str, Path]]:
    """A referendum that is not a demo (every guardian and the authority pinned), each
    guardian's key posted through 'guardian keygen' and 'organiser accept'; returns the
    organiser's data folder, the published record and the parties' key files."""
    from conftest import TEST_PASSPHRASE
    from enrol import pin

    raw = builtin_manifest()
    files = pin(raw, tmp / "keys", TEST_PASSPHRASE)
    (tmp / "referendum.json").write_text(json.dumps(raw))
    data, rec = tmp / "organiser", tmp / "record"

    def ok(*args: Any) -> None:
        code, out, err = run_cli(*args)
        assert code == 0, (args, out, err)

    ok("organiser", "init", "--manifest", tmp / "referendum.json", "--data", data)
    ok("organiser", "publish", "--data", data, "--record", rec)
    subs = []
    for gid in guardian_ids(parse_manifest(raw)):
        subs.append(tmp / f"{gid}-key.json")
        ok(
            "guardian", "keygen", "--record", rec, "--id", gid, "--state", tmp / f"{gid}.state",
            "--signing-key", files[gid], "--out", subs[-1],
        )  # fmt: skip
    ok("organiser", "accept", "--data", data, *subs)
    ok("organiser", "publish", "--data", data, "--record", rec)
    return data, rec, files


def _board_key_of(data: Path) -> Ed25519PrivateKey:
    from conftest import TEST_PASSPHRASE
    from plebiscite.election.keys import Passphrase

    org = Organiser(data, passphrase=Passphrase.given(TEST_PASSPHRASE))
    try:
        return org.key
    finally:
        org.close_store()


def _forged_copy(rec: Path, to: Path, entries: Sequence[Entry], board: Ed25519PrivateKey) -> Path:
    """The board as the organiser shows one party: ``entries``, checkpoints re-signed."""
    shutil.copytree(rec, to)
    tl.save(to, entries, board)
    return to


@pytest.mark.slow
def test_organiser_swaps_a_guardians_encryption_key_in_the_ceremony(
    tmp_path: Path, run_cli: Any
) -> None:
    """The organiser shows guardian-1 a board on which guardian-2's key entry carries an
    X25519 key of the organiser's (commitments and proofs kept), so that guardian-1
    encrypts its polynomial value for guardian-2 to the organiser; then it re-encrypts
    it to the real guardian-2 on the public board, and, doing so for every pair, ends
    holding the whole election key. 'guardian shares' checks the board first: signed by
    the organiser, the forged entry fails V05; signed by guardian-2's own key (which a
    demo's first comer, or a thief of that key, would have), the coefficient proofs,
    which bind the X25519 key, fail V07. Guardian-1 encrypts nothing either way."""
    from plebiscite.election.keys import Passphrase

    data, rec, files = _pinned_keys_posted(tmp_path, run_cli)
    board = _board_key_of(data)
    entries = tl.load_entries(rec)
    i = next(
        j
        for j in tl.indices_of(entries, "guardian_key")
        if entries[j].data["guardian"] == "guardian-2"
    )
    eid = election_id_of(entries[0].data)
    forged = copy.deepcopy(entries[i].data)
    forged["encryption_key"] = _x25519_b64()

    def shares(record: Path) -> tuple[int, str]:
        out = tmp_path / "shares.json"
        out.unlink(missing_ok=True)
        code, _, err = run_cli(
            "guardian", "shares", "--record", record, "--state", tmp_path / "guardian-1.state",
            "--out", out,
        )  # fmt: skip
        assert (code == 0) == out.exists()
        return code, err

    by_organiser = list(entries)
    by_organiser[i] = tl.resign(entries[i], board, eid, forged)
    code, err = shares(_forged_copy(rec, tmp_path / "fork-a", by_organiser, board))
    assert code == 1, err
    assert "V05 failed" in err and f"entry {i} (guardian_key)" in err

    from conftest import TEST_PASSPHRASE

    g2 = key_from_seed(
        read_secret_json(
            files["guardian-2"], Passphrase.given(TEST_PASSPHRASE), allow_plaintext=False
        )["signing_key"]
    )
    by_guardian_2 = list(entries)
    by_guardian_2[i] = tl.resign(entries[i], g2, eid, forged)
    code, err = shares(_forged_copy(rec, tmp_path / "fork-b", by_guardian_2, board))
    assert code == 1, err
    assert "V07 failed" in err and "guardian guardian-2 coefficient 0: proof fails" in err

    assert shares(rec)[0] == 0  # control: the board everyone sees


def test_guardians_are_not_a_decryption_oracle(
    demo_outcome: DemoOutcome, record_copy: Path, tmp_path: Path, run_cli: Any
) -> None:
    """The organiser appends, before the close, one crafted and unsigned "ballot" whose
    ciphertexts make Orkney's tally for "yes" the product of ct_k^(2^k) over three
    chosen voters, and posts that tally: decrypted, one number would give the three
    voters' choices bit by bit. Before decrypting, 'guardian decrypt' runs the
    verifier's checks on every entry up to the tally: the crafted ballot fails V05 (no
    signature) and the guardian decrypts nothing. On the genuine board it decrypts."""
    g = tl.group(demo_outcome)
    entries = tl.load_entries(record_copy)
    close = tl.indices_of(entries, "close")[0]
    counted = [i for i in counted_ballots(entries, "orkney") if i < close]
    chosen = counted[:3]
    others = [i for i in tl.indices_of(entries, "ballot") if i < close]
    last = {e: i for i in others for e in [entries[i].data["credential"]]}
    in_tally = [i for i in last.values() if entries[i].data["region"] == "orkney"]

    def ct_of(i: int, q: int, s: int) -> Ciphertext:
        c = entries[i].data["answers"][q]["choices"][s]
        return codec.ct_from_json(g, {"alpha": c["alpha"], "beta": c["beta"]})

    template = copy.deepcopy(entries[chosen[0]].data)
    for q, answer in enumerate(template["answers"]):
        for s, choice in enumerate(answer["choices"]):
            want_a = [g.pow(ct_of(i, q, s).alpha, 1 << k) for k, i in enumerate(chosen)]
            want_b = [g.pow(ct_of(i, q, s).beta, 1 << k) for k, i in enumerate(chosen)]
            have_a = g.prod(ct_of(i, q, s).alpha for i in in_tally)
            have_b = g.prod(ct_of(i, q, s).beta for i in in_tally)
            choice["alpha"] = g.div(g.prod(want_a), have_a).hex()
            choice["beta"] = g.div(g.prod(want_b), have_b).hex()
    template["credential"] = tl.unused_credentials(demo_outcome, entries, "orkney")[0]
    crafted = Entry("ballot", entries[close - 1].time, template, None, None)
    entries.insert(close, crafted)
    entries = tl.recount(demo_outcome, entries)
    publish(demo_outcome, record_copy, entries)

    # What the guardians would reveal: the three choices as the bits of one count.
    bits = result_counts(entries)["orkney"]["status"]["yes"]
    secret = sum(
        threshold.lagrange_at_zero(g, gd.index, [1, 2]) * (gd.share or 0)
        for gd in demo_outcome.guardians[:2]
    )
    choices = [decrypt_with_secret(g, secret % g.q, ct_of(i, 0, 0), 1) for i in chosen]
    assert bits == sum(v << k for k, v in enumerate(choices))

    gd = demo_outcome.guardians[0]
    state = tmp_path / "g1.state"
    write_secret_json(state, {**gd.to_json(), "kind": "plebiscite guardian secret state"})
    out = tmp_path / "share.json"
    decrypt = ("guardian", "decrypt", "--state", state, "--out", out, "--insecure-plaintext")
    code, _, err = run_cli(*decrypt, "--record", record_copy, "--workers", "1")
    assert code == 1, err
    assert "V05 failed" in err and f"entry {close} (ballot)" in err
    assert not out.exists()
    code, _, err = run_cli(*decrypt, "--record", demo_outcome.record, "--workers", "1")
    assert code == 0 and out.exists(), err  # control


def test_roles_are_enrolled_never_first_come(tmp_path: Path) -> None:
    """Without pinned keys, the first signer to post a guardian's key or a credential
    list would take that role, and could end holding the election key. A referendum
    that is not a demo must pin every guardian and the authority: the server refuses to
    create one that does not (422, naming what to pin), as 'organiser init' does."""
    from fastapi.testclient import TestClient

    from conftest import TEST_PASSPHRASE
    from enrol import pin
    from plebiscite.server.app import create_app
    from plebiscite.server.registry import Registry

    registry = Registry(tmp_path / "data")
    token = registry.new_admin_token()
    auth = {"Authorization": f"Bearer {token}"}
    try:
        with TestClient(create_app(registry)) as client:
            raw = builtin_manifest()
            r = client.post("/api/admin/referendums", json=raw, headers=auth)
            assert r.status_code == 422, r.text
            detail = r.json()["detail"]
            assert "not a demo must pin" in detail
            assert "guardian-1" in detail and "credential_authority.public_key" in detail
            assert not registry.referendums
            pin(raw, tmp_path / "keys", TEST_PASSPHRASE)
            r = client.post("/api/admin/referendums", json=raw, headers=auth)
            assert r.status_code == 200, r.text
    finally:
        registry.close()
    with pytest.raises(OrganiserError, match="not a demo must pin"):
        Organiser.init(tmp_path / "org", builtin_manifest())


def test_organiser_is_its_own_credential_authority(
    demo_outcome: DemoOutcome, record_copy: Path, tmp_path: Path
) -> None:
    """The organiser, which holds the sign-in codes, signs the credential lists with the
    board's key: it would hold every credential and could vote for everyone, with every
    ballot, proof and tally correct. The board refuses such a list at intake, and in a
    record V05 (not the authority's signature) and V23 (one key in two roles) fail."""
    entries = tl.load_entries(record_copy)
    board, eid = tl.board_key(demo_outcome), tl.election_id(demo_outcome)
    for i in tl.indices_of(entries, "credential_list"):
        entries[i] = tl.resign(entries[i], board, eid)
    publish(demo_outcome, record_copy, entries)
    report = expect_failed(record_copy, "V05", "V23")
    assert "one key serves the board and the credential authority" in detail_of(report, "V23")

    live = LiveBoard(tmp_path / "board", ceremony=False)
    pubs = [public_credential(live.eid, new_credential())]
    sub = sign("credential_list", credential_list_data("orkney", pubs), live.eid, live.org.key)
    assert "signed by the key of another role" in live.refused(sub)


def test_a_witness_refuses_a_board_clock_two_days_off(
    demo_outcome: DemoOutcome, record_copy: Path, tmp_path: Path, run_cli: Any
) -> None:
    """A board whose clock runs two days behind (so V15 judges the voting window by the
    organiser's clock alone) would be cosigned by a witness that never looks at time.
    A witness refuses a latest checkpoint older than its clock minus max_skew_s (exit 3,
    naming the skew); on the board's own clock it cosigns. (With faketime, against a
    live server: tests/test_witness_live.py.)"""
    from plebiscite.election.keys import seed_of

    wid = sorted(demo_outcome.observer_keys)[0]
    key = tmp_path / "w.key"
    write_secret_json(key, {"signing_key": seed_of(demo_outcome.observer_keys[wid])})
    latest = parse_entry_time(tl.load_checkpoints(record_copy)[-1].time)
    witness_ = (
        "observe", "witness", "--record", record_copy, "--key", key, "--insecure-plaintext",
        "--id", wid,
    )  # fmt: skip
    ahead = format_time(latest + timedelta(days=2))
    code, _, err = run_cli(*witness_, "--state", tmp_path / "s1", "--now", ahead)
    assert code == 3, err
    assert "skew" in err and len(err.strip().splitlines()) == 1
    code, _, err = run_cli(*witness_, "--state", tmp_path / "s2", "--now", format_time(latest))
    assert code == 0, err


def test_two_observers_with_one_key(tmp_path: Path, run_cli: Any) -> None:
    """Two declared observers sharing one key would count twice toward the witness
    quorum (one party cosigning as two); a key serving two roles likewise. The
    referendum file is refused, naming both places."""
    raw = builtin_manifest()
    key = key_to_b64(Ed25519PrivateKey.generate())
    raw["observers"] = [
        {"id": f"o{n}", "name": f"O{n}", "kind": "NGO", "jurisdiction": "NO", "public_key": key}
        for n in (1, 2)
    ]
    raw["witness_quorum"] = 2
    f = tmp_path / "m.json"
    f.write_text(json.dumps(raw))
    code, _, err = run_cli("organiser", "init", "--manifest", f, "--data", tmp_path / "d")
    assert code == 2 and "observers[1].public_key: the same key as observers[0]" in err
    raw["observers"][1]["public_key"] = key_to_b64(Ed25519PrivateKey.generate())
    raw["credential_authority"] = {"name": "CA", "public_key": key}
    f.write_text(json.dumps(raw))
    code, _, err = run_cli("organiser", "init", "--manifest", f, "--data", tmp_path / "d")
    assert code == 2 and "the same key as" in err and "credential_authority" in err


def test_a_giant_integer_in_a_record_line_fails_a_check(record_copy: Path, run_cli: Any) -> None:
    """An integer of 5,000 digits in one record line once crashed the verifier (exit
    70). It is a malformed entry: V01 fails, exit 1."""
    path = record_copy / ENTRIES
    lines = path.read_bytes().split(b"\n")
    i = next(k for k, x in enumerate(lines) if b'"type":"voter_roll"' in x)
    lines[i] = re.sub(rb'"(orkney|shetland|lewis|mainland)":\d+', rb'"\1":' + b"9" * 5000, lines[i])
    path.write_bytes(b"\n".join(lines))
    code, out, err = run_cli("verify", record_copy, "--json", "--workers", "1")
    assert code == 1, err
    assert {c["id"]: c["status"] for c in json.loads(out)["checks"]}["V01"] == "failed"


def test_a_bool_for_an_integer_in_a_signed_value(
    demo_outcome: DemoOutcome, record_copy: Path, tmp_path: Path
) -> None:
    """``true == 1`` in Python: a guardian_key entry for guardian-1 with index ``true``,
    re-signed by guardian-1, would be a second spelling of a signed value. V07 fails it
    and the board refuses it."""
    entries = tl.load_entries(record_copy)
    i = next(
        j
        for j in tl.indices_of(entries, "guardian_key")
        if entries[j].data["guardian"] == "guardian-1"
    )
    d = copy.deepcopy(entries[i].data)
    d["index"] = True
    entries[i] = tl.resign_as_owner(demo_outcome, entries[i], d)
    publish(demo_outcome, record_copy, entries)
    report = verify(record_copy)
    assert report.status_of("V07") == "failed"
    assert "guardian-1 must have index 1" in detail_of(report, "V07")

    live = LiveBoard(tmp_path / "board", ceremony=False)
    gd = Guardian.create(live.eid, live.g.name, "guardian-1", 1, live.m.quorum, manifest=live.m)
    data = {**gd.key_data(), "index": True}
    assert "guardian-1 must have index 1" in live.refused(
        sign("guardian_key", data, live.eid, gd.signing_key)
    )


# --- a server that shows one voter another election --------------------------------------


def _vote_through(run_cli: Any, url: str, credential: str, *extra: str) -> tuple[int, str, str]:
    return run_cli(
        "vote", "--server", url, "--code", "AAAA-BBBB-CCCC", "--credential", credential,
        "--answers", "status=yes,capital=lerwick", *extra,
    )  # fmt: skip


def test_malicious_server_hands_one_voter_a_fake_election(
    demo_outcome: DemoOutcome, tmp_path: Path, run_cli: Any
) -> None:
    """The server shows one voter an election of its own making: its own referendum entry,
    guardians, joint key and board, a ceremony that passes every check (a demo election
    pins no keys, so nothing ties its guardians to the real ones). Encrypting to the key
    a server hands over, the voter's ballot would be readable by the server's guardians.
    The fingerprint in the voter's letter stops it: ``vote --election FP`` computes the
    election id from the board's referendum entry and refuses, naming the mismatch,
    before signing in (nothing is sent). Without --election the voter is warned."""
    from fakeserver import FakeServer
    from plebiscite.record.entries import election_fingerprint

    fake = run_demo(tmp_path / "fake-data", tmp_path / "fake-record", voters=2, seed=7)
    fake.organiser.close_store()
    real_fp = election_fingerprint(tl.election_id(demo_outcome))
    credential = demo_outcome.credentials["orkney"][0]
    server = FakeServer(fake.record)
    with server as url:
        code, out, err = _vote_through(run_cli, url, credential, "--election", real_fp)
        assert code == 1 and out == "", err
        assert "is not the one in your letter" in err and real_fp in err
        assert election_fingerprint(tl.election_id(fake)) in err
        assert not [r for r in server.requests if r.startswith("POST")]
        # The full id in place of the fingerprint refuses the same.
        real_id = tl.election_id(demo_outcome)
        code, _, err = _vote_through(run_cli, url, credential, "--election", real_id)
        assert code == 1 and "is not the one in your letter" in err
        code, _, err = _vote_through(run_cli, url, credential)
        assert "warning: not anchored; pass --election from your letter" in err
        assert code == 2 and "404" in err  # the checks passed: it went on to sign in


def test_server_hands_a_voter_a_joint_key_of_its_own(
    demo_outcome: DemoOutcome, record_copy: Path, run_cli: Any
) -> None:
    """The server keeps the real referendum entry (the election id is right) but posts
    an election context with a joint key of its own, signed and checkpointed by the
    board and cosigned by colluding witnesses. ``vote`` encrypts only to the key the
    checks recompute from the guardians' commitments (V07-V09), so it refuses, with or
    without --election: the warning does not replace the ceremony checks."""
    from fakeserver import FakeServer

    entries = tl.load_entries(record_copy)
    i = tl.indices_of(entries, "election_context")[0]
    g = tl.group(demo_outcome)
    data = dict(entries[i].data, joint_key=tl.other_element(g, entries[i].data["joint_key"]))
    entries[i] = tl.resign_as_owner(demo_outcome, entries[i], data)
    tl.save(record_copy, entries, tl.board_key(demo_outcome), tl.witness_keys(demo_outcome))
    credential = demo_outcome.credentials["orkney"][0]
    with FakeServer(record_copy) as url:
        code, out, err = _vote_through(run_cli, url, credential)
        assert "warning: not anchored" in err
        assert code == 1 and out == "" and "refusing to act: V09 failed" in err, err
        eid = tl.election_id(demo_outcome)
        code, out, err = _vote_through(run_cli, url, credential, "--election", eid[:32])
        assert code == 1 and "refusing to act: V09 failed" in err, err


def test_forged_fraud_proof_against_a_board(
    demo_outcome: DemoOutcome, record_copy: Path, tmp_path: Path, run_cli: Any
) -> None:
    """Anyone can make a fraud proof that checks out on its own: two checkpoints of one
    size and different roots, signed with a key of their own and carried inside the
    proof. Against a referendum's board (``--record``), the proof must be signed with
    that board's key and name its log (origin); otherwise it proves nothing about it.
    Without a board to check it against, the command refuses to judge (exit 2)."""
    from plebiscite.board.checkpoint import sign_checkpoint

    cps = tl.load_checkpoints(record_copy)
    origin, time = cps[-1].origin, cps[-1].time
    forger = Ed25519PrivateKey.generate()
    forger_pub = b64decode(key_to_b64(forger), 32)
    a = sign_checkpoint(forger, origin, 5, bytes(32), time)
    b = sign_checkpoint(forger, origin, 5, bytes([1]) * 32, time)
    forged = make_fraud_proof(forger_pub, a, b)
    assert check_fraud_proof(forged) is None  # "valid" in itself
    f = tmp_path / "forged.json"
    f.write_text(json.dumps(forged))
    code, out, err = run_cli("observe", "check-proof", f, "--record", record_copy)
    assert code == 1 and out == ""
    assert "not a fraud proof for this referendum: its board key is not this board's" in err
    code, _, err = run_cli("observe", "check-proof", f)
    assert code == 2 and "--record" in err

    # The board's own key on another log: a fork of some other board, not of this one.
    bk = tl.board_key(demo_outcome)
    board_pub = b64decode(key_to_b64(bk), 32)
    other = make_fraud_proof(
        board_pub,
        sign_checkpoint(bk, origin + "-other", 5, bytes(32), time),
        sign_checkpoint(bk, origin + "-other", 5, bytes([1]) * 32, time),
    )
    f.write_text(json.dumps(other))
    code, _, err = run_cli("observe", "check-proof", f, "--record", record_copy)
    assert code == 1 and "not a fraud proof for this referendum" in err and "origin" in err
    # The same proof on this board's log is a real fork of this board.
    real = make_fraud_proof(
        board_pub,
        sign_checkpoint(bk, origin, 5, bytes(32), time),
        sign_checkpoint(bk, origin, 5, bytes([1]) * 32, time),
    )
    f.write_text(json.dumps(real))
    code, out, err = run_cli("observe", "check-proof", f, "--record", record_copy)
    assert code == 0 and "valid fraud proof" in out, err
