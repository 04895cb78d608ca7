"""What the entries mean: domain tags, hashes and ballot structure shared by whoever
produces a record (guardians, booth, organiser) and whoever checks it (the verifier).

This is the specification in code; it computes nothing secret.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from plebiscite.crypto.elgamal import Ciphertext
from plebiscite.crypto.group import Element, Group
from plebiscite.crypto.hashing import hash_parts
from plebiscite.crypto.proofs import RangeProof
from plebiscite.record.codec import ct_from_json, range_from_json
from plebiscite.record.entries import EntryError, b64decode
from plebiscite.record.manifest import Manifest, Question

TAG_COEFFICIENT: Final = "plebiscite/v1/guardian-coefficient"
TAG_SHARE_KEY: Final = "plebiscite/v1/guardian-share-key"
TAG_OPTION: Final = "plebiscite/v1/ballot-option"
TAG_QUESTION: Final = "plebiscite/v1/ballot-question"
TAG_DECRYPTION: Final = "plebiscite/v1/decryption-share"
TAG_CONTEXT: Final = "plebiscite/v1/context"
TAG_TRACKING: Final = "plebiscite/v1/tracking-code"
TAG_CREDENTIAL: Final = "plebiscite/v1/credential"
TAG_SHARE_ENC: Final = "plebiscite/v1/share-encryption"


def context_hash(
    group: Group,
    election_id: str,
    quorum: int,
    commitments: Sequence[Sequence[Element]],
    joint_key: Element,
) -> bytes:
    """The election context hash: binds the election, the group, the guardians'
    commitments (hence every verification key) and the joint key. Every ballot and
    decryption proof hashes it."""
    return hash_parts(
        TAG_CONTEXT,
        election_id,
        group.name,
        len(commitments),
        quorum,
        [list(cs) for cs in commitments],
        joint_key,
    )


def coefficient_bind(
    guardian: str, index: int, encryption_key: str, commitments: Sequence[Element], k: int
) -> list[Any]:
    """What a guardian's proof for coefficient ``k`` binds besides the commitment it is
    about: every field of its ``guardian_key`` entry but the proofs. Binding the X25519
    key means nobody can pass the proofs off under a key of their own, to which the
    other guardians would then encrypt their shares."""
    return [guardian, index, encryption_key, list(commitments), k]


def option_bind(credential: str, region: str, question: str, slot: str) -> list[str]:
    return [credential, region, question, slot]


def question_bind(credential: str, region: str, question: str) -> list[str]:
    return [credential, region, question]


def decryption_bind(guardian: str, region: str, question: str, slot: str) -> list[str]:
    return [guardian, region, question, slot]


def question_total(group: Group, q: Question, cts: Sequence[Ciphertext]) -> Ciphertext:
    """The ciphertext whose value the question's range proof bounds.

    Options count once, blank counts ``max`` times: the total lies in [min, max] exactly
    when either blank alone is chosen, or no blank and min..max options are chosen.
    """
    acc_a, acc_b = group.identity(), group.identity()
    for k, c in zip(question_weights(q), cts, strict=True):
        if k != 1:
            c = Ciphertext(group.pow(c.alpha, k), group.pow(c.beta, k))
        acc_a = group.mul(acc_a, c.alpha)
        acc_b = group.mul(acc_b, c.beta)
    return Ciphertext(acc_a, acc_b)


def question_weights(q: Question) -> list[int]:
    """Each slot's power in :func:`question_total`: 1 for an option, ``max`` for blank
    (batch verifiers move the total's powers onto the slots with these)."""
    return [q.max if slot == "blank" else 1 for slot in q.slots]


def question_values(q: Question) -> list[int]:
    return list(range(q.min, q.max + 1))


def question_total_value(q: Question, choices: Sequence[str]) -> int:
    return q.max if "blank" in choices else len(choices)


def valid_selection(q: Question, choices: Sequence[str]) -> bool:
    if len(set(choices)) != len(choices) or any(c not in q.slots for c in choices):
        return False
    if "blank" in choices:
        return len(choices) == 1
    return q.min <= len(choices) <= q.max


def tracking_code(
    context: bytes, region: str, answers: Sequence[tuple[str, Sequence[Ciphertext]]]
) -> str:
    """A ballot's tracking code: hash of its ciphertexts only, so a challenged ballot
    posted without credential or proofs still shows the code the voter saw."""
    return hash_parts(
        TAG_TRACKING,
        context,
        region,
        [[qid, [[c.alpha, c.beta] for c in cts]] for qid, cts in answers],
    ).hex()


def credential_seed(election_id: str, credential: str) -> bytes:
    """The Ed25519 seed of a voting credential (the secret string the voter holds)."""
    norm = credential.strip().replace("-", "").replace(" ", "").upper()
    return hashlib.sha256(f"{TAG_CREDENTIAL}\n{election_id}\n{norm}".encode()).digest()


@dataclass(frozen=True)
class BallotAnswer:
    question: Question
    ciphertexts: tuple[Ciphertext, ...]
    option_proofs: tuple[RangeProof, ...]
    proof: RangeProof


@dataclass(frozen=True)
class ParsedBallot:
    region: str
    credential: str
    answers: tuple[BallotAnswer, ...]
    tracking_code: str
    replaces: str | None


BALLOT_KEYS: Final = frozenset({"region", "credential", "answers", "tracking_code", "replaces"})


def _obj(d: Any, keys: set[str], what: str) -> dict[str, Any]:
    if not isinstance(d, dict) or set(d) != keys:
        raise EntryError(f"{what}: expected keys {sorted(keys)}")
    return d


def parse_ballot(group: Group, manifest: Manifest, data: Any) -> ParsedBallot:
    """Decode a ballot's data, checking shape, membership and range (not proofs)."""
    d = _obj(data, set(BALLOT_KEYS), "ballot")
    region = d["region"]
    if not isinstance(region, str) or region not in manifest.regions:
        raise EntryError(f"ballot: unknown region {region!r}")
    b64decode(d["credential"], 32, "ballot credential")
    questions = manifest.region_questions(region)
    if not isinstance(d["answers"], list) or len(d["answers"]) != len(questions):
        raise EntryError("ballot: expected one answer per question of the region")
    answers = []
    for q, a in zip(questions, d["answers"], strict=True):
        ao = _obj(a, {"question", "choices", "proof"}, "ballot answer")
        if ao["question"] != q.id:
            raise EntryError(f"ballot: answers out of order (expected {q.id!r})")
        ch = ao["choices"]
        if not isinstance(ch, list) or len(ch) != len(q.slots):
            raise EntryError(f"ballot: question {q.id!r} needs {len(q.slots)} ciphertexts")
        cts, proofs = [], []
        for c in ch:
            co = _obj(c, {"alpha", "beta", "proof"}, "ballot choice")
            cts.append(ct_from_json(group, {"alpha": co["alpha"], "beta": co["beta"]}))
            proofs.append(range_from_json(group, co["proof"]))
        answers.append(
            BallotAnswer(q, tuple(cts), tuple(proofs), range_from_json(group, ao["proof"]))
        )
    tc = d["tracking_code"]
    if not isinstance(tc, str):
        raise EntryError("ballot: tracking_code must be a string")
    replaces = d["replaces"]
    if replaces is not None and not is_tracking_code(replaces):
        raise EntryError("ballot: replaces must be null or a tracking code (64 lowercase hex)")
    return ParsedBallot(region, d["credential"], tuple(answers), tc, replaces)


def is_tracking_code(value: Any) -> bool:
    return (
        isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)
    )


class RevoteChains:
    """Revotes are a chain, per credential: its first ballot replaces null, each later
    one replaces the tracking code of the one before. The *head* of a credential is the
    tracking code of the last ballot of that chain (None before its first ballot); a
    ballot *extends* the chain exactly when its ``replaces`` is the head, and only the
    chain's last ballot counts. A ballot that does not extend the head is never part of
    the chain: the board refuses it (stale), and the verifier fails V16 if a board holds
    one. One rule for the intake, the verifier, the voter's tools and the booth."""

    __slots__ = ("_heads",)

    def __init__(self) -> None:
        self._heads: dict[str, str] = {}

    def head(self, credential: str) -> str | None:
        return self._heads.get(credential)

    def extends(self, credential: str, replaces: object) -> bool:
        return replaces == self._heads.get(credential)

    def extend(self, credential: str, replaces: object, code: str) -> bool:
        """Add the ballot ``code`` of ``credential`` if it extends the chain (True), else
        leave the chain as it was (False)."""
        if replaces != self._heads.get(credential):
            return False
        self._heads[credential] = code
        return True

    def __len__(self) -> int:
        return len(self._heads)


DISPUTE_ABOUT: Final = ("receipt", "check", "other")


def dispute_problem(data: Any, regions: Any) -> str | None:
    """Why ``data`` is not a well-formed dispute (None when it is): ``region`` (a region
    id or null), ``about`` (receipt, check or other), ``receipt`` (the receipt that did
    not verify, or null), ``check`` (a check id, or null), ``evidence`` (text)."""
    if not isinstance(data, dict) or set(data) != {
        "region",
        "about",
        "receipt",
        "check",
        "evidence",
    }:
        return "a dispute has exactly the keys about, check, evidence, receipt, region"
    region = data["region"]
    if region is not None and (not isinstance(region, str) or region not in regions):
        return f"unknown region {region!r}"
    if not isinstance(data["about"], str) or data["about"] not in DISPUTE_ABOUT:
        return f"about must be one of {', '.join(DISPUTE_ABOUT)}"
    if data["about"] == "receipt" and not isinstance(data["receipt"], dict):
        return "a dispute about a receipt carries the receipt"
    if data["about"] == "check" and not (isinstance(data["check"], str) and data["check"]):
        return "a dispute about a check names the check"
    if not isinstance(data["evidence"], str) or not data["evidence"].strip():
        return "a dispute states its evidence"
    if len(data["evidence"]) > 10000:
        return "evidence is limited to 10,000 characters"
    return None
