"""The Belenios ballot pass after the issue-6 speed-ups: a ciphertext's membership test
shares one comb with its proofs' powers, the overall proof of a two-answer question
reuses the answers' powers, a credential's membership is left to B08 (tested again only
when unlisted). Each ballot must still fail exactly as when every element was tested on
reading, with the same kind and message.

A small election is generated with belenios-tool (skipped without it); ballots are then
changed in memory and checked one by one with ``belenios_crypto.check_ballot``, and one
archive is changed, re-hashed and verified whole.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from plebiscite.crypto.constants import BELENIOS2048_P
from plebiscite.interop.belenios import verify_foreign
from plebiscite.interop.belenios_archive import read_archive
from plebiscite.interop.belenios_crypto import (
    BallotContext,
    QuestionH,
    b64_sha256,
    check_ballot,
    ctx_for,
)

from belenios_gen import (  # isort: skip
    Generated,
    Question,
    Record,
    Spec,
    bel_of,
    generate,
    tamper,
    tool_available,
)

pytestmark = pytest.mark.skipif(not tool_available(), reason="belenios-tool is not installed")

P = BELENIOS2048_P
SUBGROUP = "belenios-2048 element not in the order-q subgroup"


@pytest.fixture(scope="module")
def election(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    base = tmp_path_factory.mktemp("belenios-ballots")
    spec = Spec(
        [Question(2, 1, 1), Question(2, 0, 2, blank=True), Question(3, 0, 2)],
        votes=[(0, [[1, 0], [0, 1, 1], [1, 0, 1]]), (1, [[0, 1], [1, 0, 0], [0, 0, 0]])],
        voters=2,
    )
    return generate(spec, base / "work", base / "out")


@pytest.fixture(scope="module")
def ballots(election: Generated) -> tuple[BallotContext, list[bytes]]:
    archive = read_archive(bel_of(election.directory).read_bytes())
    index = archive.index()
    events = [json.loads(r.body) for r in archive.records if r.kind == "event"]
    setup = json.loads(index[next(e for e in events if e["type"] == "Setup")["payload"]])
    raw_election = index[setup["election"]]
    el = json.loads(raw_election)
    qs = tuple(
        QuestionH(len(q["answers"]), q["min"], q["max"], bool(q.get("blank")))
        for q in el["questions"]
    )
    ctx = BallotContext(
        el["group"], int(el["public_key"]), el["uuid"], b64_sha256(raw_election), qs
    )
    raws = [index[e["payload"]] for e in events if e["type"] == "Ballot"]
    return ctx, raws


def _resign_hash(b: dict[str, Any]) -> None:
    """Keep the signature's hash consistent, so only the change itself is seen."""
    body = {k: v for k, v in b.items() if k != "signature"}
    from plebiscite.interop.belenios_crypto import serialize_ballot

    b["signature"]["hash"] = b64_sha256(serialize_ballot(body, signature=False).encode())


def _check(ctx: BallotContext, b: dict[str, Any]) -> list[tuple[str, str]]:
    from plebiscite.interop.belenios_crypto import serialize_ballot

    return check_ballot(ctx, 0, serialize_ballot(b).encode()).problems


def _times(x: str, k: int) -> str:
    return str(int(x) * k % P)


def test_untouched_ballots(ballots: tuple[BallotContext, list[bytes]]) -> None:
    ctx, raws = ballots
    for raw in raws:
        out = check_ballot(ctx, 0, raw)
        assert out.problems == []
        assert out.credential_unchecked and out.credential is not None
        assert out.choices is not None and [len(r) for r in out.choices] == [2, 3, 3]


@pytest.mark.parametrize(
    ("where", "factor", "name"),
    [
        ((0, 0, "alpha"), 4, "alpha"),  # a quadratic residue outside the subgroup
        ((0, 1, "beta"), P - 1, "beta"),
        ((1, 0, "alpha"), 4, "alpha"),  # the blank flag's ciphertext
        ((2, 2, "beta"), 4, "beta"),
    ],
)
def test_non_member_ciphertext_is_ill_formed(
    ballots: tuple[BallotContext, list[bytes]],
    where: tuple[int, int, str],
    factor: int,
    name: str,
) -> None:
    ctx, raws = ballots
    b = json.loads(raws[0])
    a, c, key = where
    ch = b["answers"][a]["choices"][c]
    ch[key] = _times(ch[key], factor)
    _resign_hash(b)
    assert _check(ctx, b) == [("wellformed", f"{name} is not in the group ({SUBGROUP})")]


def test_first_failure_in_reading_order(ballots: tuple[BallotContext, list[bytes]]) -> None:
    """A non-member read before a format error is what is reported, as when each element
    was tested on reading; a format error before it wins."""
    ctx, raws = ballots
    b = json.loads(raws[0])
    b["answers"][0]["choices"][1]["alpha"] = _times(b["answers"][0]["choices"][1]["alpha"], 4)
    b["answers"][2]["individual_proofs"].pop()
    _resign_hash(b)
    assert _check(ctx, b) == [("wellformed", f"alpha is not in the group ({SUBGROUP})")]
    b = json.loads(raws[0])
    b["answers"][0]["individual_proofs"].pop()
    b["answers"][1]["choices"][0]["beta"] = _times(b["answers"][1]["choices"][0]["beta"], 4)
    _resign_hash(b)
    assert _check(ctx, b) == [("wellformed", "answer 1: 2 choices for 2")]


@pytest.mark.parametrize(
    ("answer", "field", "message"),
    [
        (0, "individual_proofs", "answer 1, choice 2: invalid individual proof"),
        (0, "overall_proof", "answer 1: invalid overall proof"),  # reuses the answers' powers
        (1, "blank_proof", "answer 2: invalid blank proof"),
        (1, "overall_proof", "answer 2: invalid overall proof"),
        (2, "overall_proof", "answer 3: invalid overall proof"),  # three answers: own comb
    ],
)
def test_bad_proof_is_named(
    ballots: tuple[BallotContext, list[bytes]], answer: int, field: str, message: str
) -> None:
    ctx, raws = ballots
    b = json.loads(raws[1])
    pf = b["answers"][answer][field]
    if field == "individual_proofs":
        pf = pf[1]
    pf[0]["response"] = str(int(pf[0]["response"]) + 1)
    _resign_hash(b)
    problems = _check(ctx, b)
    assert ("proofs", message) in problems
    assert problems[0] == ("signature", "invalid signature")  # the proofs are signed


def test_non_member_credential_named_by_the_verifier(election: Generated, tmp_path: Path) -> None:
    """A ballot's credential is tested in the main process when it is not on the list
    (the workers leave it): outside the group, the ballot is ill-formed, nothing else."""

    def change(records: list[Record]) -> None:
        i = next(
            k - 1
            for k, r in enumerate(records)
            if r.name.endswith(".event.json") and json.loads(r.body)["type"] == "Ballot"
        )
        b = json.loads(records[i].body)
        b["credential"] = _times(b["credential"], 4)
        records[i].body = json.dumps(b, separators=(",", ":")).encode()

    dst = tamper(election.directory, tmp_path / "cred", change)
    report = verify_foreign(dst, workers=1)
    b09 = next(c for c in report.checks if c.id == "B09")
    assert b09.status == "failed"
    assert any(f"credential is not in the group ({SUBGROUP})" in d for d in b09.details)
    b10 = next(c for c in report.checks if c.id == "B10")
    assert not any("ballot 1:" in d for d in b10.details)


def test_disj_with_and_without_shared_powers(ballots: tuple[BallotContext, list[bytes]]) -> None:
    ctx, raws = ballots
    c = ctx_for(ctx.group, ctx.y)
    b = json.loads(raws[0])
    x = b["answers"][0]["choices"][0]
    al, be = c.elem(x["alpha"], "alpha"), c.elem(x["beta"], "beta")
    proofs = [c.proof(p, "proof") for p in b["answers"][0]["individual_proofs"][0]]
    zkp = f"{ctx.fingerprint}|{b['credential']}"
    cs = [ch for ch, _ in proofs]
    plain = c.disj(zkp, al, be, [0, 1], proofs)
    shared = c.disj(zkp, al, be, [0, 1], proofs, c.powers(al, cs), c.powers(be, cs))
    assert plain is shared is True
