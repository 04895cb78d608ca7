"""The voting booth (Python side; the browser booth implements the same steps in JS).

Encrypt every position of each question (options, then blank if allowed) as 0 or 1,
prove each is 0 or 1, prove the question's total lies in [min, max] (blank counting
``max``), bind all proofs to the voter's credential, compute the tracking code. The
voter then casts (signs with the credential) or challenges (reveals the nonces).

A ballot names the ballot it replaces (``replaces``: the tracking code of the head of
the voter's revote chain, read from the board, or None for a first ballot). It is signed
with the rest, not bound into the proofs or the tracking code: when the board answers
that the head has moved on, the same encryption is signed again with the new head
(:func:`with_replaces`), and the tracking code the voter saw stays the ballot's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from plebiscite.crypto.elgamal import Ciphertext, encrypt
from plebiscite.crypto.group import Element, Group
from plebiscite.crypto.proofs import prove_range
from plebiscite.record import codec
from plebiscite.record.entries import Submission, sign
from plebiscite.record.manifest import Manifest
from plebiscite.record.protocol import (
    TAG_OPTION,
    TAG_QUESTION,
    option_bind,
    question_bind,
    question_total,
    question_total_value,
    question_values,
    tracking_code,
    valid_selection,
)


class BallotError(ValueError):
    """The voter's choices do not fit the question."""


@dataclass
class EncryptedBallot:
    """A ballot before the voter decides; ``nonces`` must never leave unless challenged."""

    data: dict[str, Any]
    nonces: dict[str, list[int]]
    choices: dict[str, list[str]]

    @property
    def tracking_code(self) -> str:
        return str(self.data["tracking_code"])


def encrypt_ballot(
    group: Group,
    manifest: Manifest,
    context: bytes,
    joint_key: Element,
    region: str,
    choices: Mapping[str, Sequence[str]],
    credential: str,
    replaces: str | None = None,
) -> EncryptedBallot:
    """``replaces``: the tracking code of the credential's head on the board (None when
    the credential has no ballot there yet)."""
    if region not in manifest.regions:
        raise BallotError(f"unknown region {region!r}")
    answers: list[dict[str, Any]] = []
    cts_for_code: list[tuple[str, list[Ciphertext]]] = []
    nonces: dict[str, list[int]] = {}
    for q in manifest.region_questions(region):
        chosen = list(choices.get(q.id, []))
        if not valid_selection(q, chosen):
            raise BallotError(f"question {q.id!r}: {chosen} is not a valid answer")
        rs, cts, slots_json = [], [], []
        for slot in q.slots:
            m = 1 if slot in chosen else 0
            r = group.random_scalar()
            ct = encrypt(group, joint_key, m, r)
            proof = prove_range(
                group,
                TAG_OPTION,
                context,
                joint_key,
                ct,
                r,
                m,
                [0, 1],
                option_bind(credential, region, q.id, slot),
            )
            rs.append(r)
            cts.append(ct)
            slots_json.append({**codec.ct_to_json(ct), "proof": codec.range_to_json(group, proof)})
        total = question_total(group, q, cts)
        r_total = sum(r * (q.max if s == "blank" else 1) for r, s in zip(rs, q.slots, strict=True))
        qproof = prove_range(
            group,
            TAG_QUESTION,
            context,
            joint_key,
            total,
            r_total % group.q,
            question_total_value(q, chosen),
            question_values(q),
            question_bind(credential, region, q.id),
        )
        answers.append(
            {"question": q.id, "choices": slots_json, "proof": codec.range_to_json(group, qproof)}
        )
        cts_for_code.append((q.id, cts))
        nonces[q.id] = rs
    data = {
        "region": region,
        "credential": credential,
        "answers": answers,
        "tracking_code": tracking_code(context, region, cts_for_code),
        "replaces": replaces,
    }
    return EncryptedBallot(data, nonces, {k: list(v) for k, v in choices.items()})


def with_replaces(ballot: EncryptedBallot, replaces: str | None) -> EncryptedBallot:
    """The same encrypted ballot naming another head (to sign again after the board
    said the head moved on): same ciphertexts, proofs and tracking code."""
    return EncryptedBallot({**ballot.data, "replaces": replaces}, ballot.nonces, ballot.choices)


def cast(
    ballot: EncryptedBallot, election_id: str, credential_key: Ed25519PrivateKey
) -> Submission:
    """Sign the ballot with the voter's credential; the nonces are dropped."""
    return sign("ballot", ballot.data, election_id, credential_key)


def signed_on(
    ballot: EncryptedBallot, election_id: str, credential_key: Ed25519PrivateKey
) -> Callable[[str | None], dict[str, Any]]:
    """The ballot, signed to replace a given head, as the JSON to post: what a client
    that reads the head (and may be told it moved on) casts."""
    return lambda head: cast(with_replaces(ballot, head), election_id, credential_key).to_json()


def challenge(group: Group, ballot: EncryptedBallot) -> Submission:
    """The anonymous challenged ballot: ciphertexts, nonces and claimed choices only."""
    answers = []
    for a in ballot.data["answers"]:
        qid = a["question"]
        answers.append(
            {
                "question": qid,
                "ciphertexts": [{"alpha": c["alpha"], "beta": c["beta"]} for c in a["choices"]],
                "nonces": [codec.scalar_hex(group, r) for r in ballot.nonces[qid]],
                "choices": sorted(ballot.choices.get(qid, [])),
            }
        )
    data = {
        "region": ballot.data["region"],
        "answers": answers,
        "tracking_code": ballot.tracking_code,
    }
    return Submission("challenged_ballot", data, None, None)
