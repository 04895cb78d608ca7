"""Checking one ballot: structure, membership, proofs, tracking code.

Kept free of any state but a small picklable :class:`BallotContext`, so batches of
ballots can be checked in worker processes (or, later, on a Dask cluster).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from plebiscite.crypto.elgamal import Ciphertext
from plebiscite.crypto.group import Element, Group, GroupError, get_group
from plebiscite.crypto.proofs import verify_range
from plebiscite.record import codec
from plebiscite.record.entries import EntryError
from plebiscite.record.manifest import Manifest, parse_manifest
from plebiscite.record.protocol import (
    TAG_OPTION,
    TAG_QUESTION,
    ParsedBallot,
    option_bind,
    parse_ballot,
    question_bind,
    question_total,
    question_values,
    tracking_code,
    valid_selection,
)


@dataclass(frozen=True)
class BallotContext:
    group_name: str
    manifest_raw: dict[str, Any]
    context_hex: str
    joint_key_hex: str

    def __getstate__(self) -> dict[str, Any]:
        # Only the four fields travel to worker processes; the cached group, manifest and
        # key (with native handles and fixed-base tables) are rebuilt where used.
        return {
            k: self.__dict__[k]
            for k in ("group_name", "manifest_raw", "context_hex", "joint_key_hex")
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        for k, v in state.items():
            object.__setattr__(self, k, v)

    @cached_property
    def group(self) -> Group:
        return get_group(self.group_name)

    @cached_property
    def manifest(self) -> Manifest:
        return parse_manifest(self.manifest_raw)

    @cached_property
    def context(self) -> bytes:
        return bytes.fromhex(self.context_hex)

    @cached_property
    def joint_key(self) -> Element:
        key = codec.element(self.group, self.joint_key_hex)
        self.group.precompute(key)  # every proof raises it to public exponents
        return key


@dataclass(frozen=True)
class BallotFinding:
    """What is wrong with a ballot: ``kind`` is "wellformed", "proofs" or "tracking"."""

    index: int
    kind: str
    message: str


def computed_tracking_code(ctx: BallotContext, ballot: ParsedBallot) -> str:
    return tracking_code(
        ctx.context, ballot.region, [(a.question.id, a.ciphertexts) for a in ballot.answers]
    )


def check_ballot_proofs(ctx: BallotContext, ballot: ParsedBallot) -> str | None:
    """The first proof that fails, as a message, or None when every proof holds."""
    g, key, c = ctx.group, ctx.joint_key, ctx.context
    for a in ballot.answers:
        q = a.question
        for slot, ct, proof in zip(q.slots, a.ciphertexts, a.option_proofs, strict=True):
            bind = option_bind(ballot.credential, ballot.region, q.id, slot)
            if not verify_range(g, TAG_OPTION, c, key, ct, proof, [0, 1], bind):
                return f"question {q.id!r} option {slot!r}: 0/1 proof fails"
        total = question_total(g, q, a.ciphertexts)
        bind = question_bind(ballot.credential, ballot.region, q.id)
        if not verify_range(g, TAG_QUESTION, c, key, total, a.proof, question_values(q), bind):
            return f"question {q.id!r}: proof of {q.min}..{q.max} selections fails"
    return None


def check_ballot(ctx: BallotContext, index: int, data: Any) -> list[BallotFinding]:
    try:
        ballot = parse_ballot(ctx.group, ctx.manifest, data)
    except (EntryError, GroupError) as exc:
        return [BallotFinding(index, "wellformed", str(exc))]
    out = []
    problem = check_ballot_proofs(ctx, ballot)
    if problem:
        out.append(BallotFinding(index, "proofs", problem))
    if computed_tracking_code(ctx, ballot) != ballot.tracking_code:
        out.append(BallotFinding(index, "tracking", "tracking code does not match ciphertexts"))
    return out


def check_batch(ctx: BallotContext, batch: list[tuple[int, Any]]) -> list[BallotFinding]:
    out: list[BallotFinding] = []
    for index, data in batch:
        out.extend(check_ballot(ctx, index, data))
    return out


def check_challenged(ctx: BallotContext, index: int, data: Any) -> str | None:
    """A challenged ballot opens, with its nonces, to valid claimed choices."""
    g, m = ctx.group, ctx.manifest
    try:
        if not isinstance(data, dict) or set(data) != {"region", "answers", "tracking_code"}:
            return "expected keys answers, region, tracking_code"
        region = data["region"]
        if region not in m.regions:
            return f"unknown region {region!r}"
        qs = m.region_questions(region)
        if not isinstance(data["answers"], list) or len(data["answers"]) != len(qs):
            return "expected one answer per question of the region"
        cts_for_code: list[tuple[str, list[Ciphertext]]] = []
        for q, a in zip(qs, data["answers"], strict=True):
            if not isinstance(a, dict) or set(a) != {
                "question",
                "ciphertexts",
                "nonces",
                "choices",
            }:
                return "answer: expected keys choices, ciphertexts, nonces, question"
            if a["question"] != q.id:
                return f"answers out of order (expected {q.id!r})"
            if not isinstance(a["choices"], list) or not valid_selection(q, a["choices"]):
                return f"question {q.id!r}: claimed choices are not a valid answer"
            if a["choices"] != sorted(a["choices"]):
                return f"question {q.id!r}: claimed choices not sorted"
            if len(a["ciphertexts"]) != len(q.slots) or len(a["nonces"]) != len(q.slots):
                return f"question {q.id!r}: expected {len(q.slots)} ciphertexts and nonces"
            cts = []
            for slot, cj, rj in zip(q.slots, a["ciphertexts"], a["nonces"], strict=True):
                ct = codec.ct_from_json(g, cj)
                r = codec.scalar(g, rj)
                m_ = 1 if slot in a["choices"] else 0
                if g.g_pow(r) != ct.alpha or g.mul(g.pow(ctx.joint_key, r), g.g_pow(m_)) != ct.beta:
                    return f"question {q.id!r} option {slot!r}: does not open to the claimed choice"
                cts.append(ct)
            cts_for_code.append((q.id, cts))
        if tracking_code(ctx.context, region, cts_for_code) != data["tracking_code"]:
            return "tracking code does not match ciphertexts"
    except (EntryError, GroupError, TypeError, KeyError) as exc:
        return f"malformed: {exc}"
    return None
