"""A small election and its ballots, for tests that check ballots directly (batch
verification in each group: tests/test_batch.py, tests/test_native_ristretto.py)."""

from __future__ import annotations

import random
from typing import Any

from plebiscite.crypto import threshold
from plebiscite.crypto.batch import Claims
from plebiscite.crypto.group import Element, Group, get_group
from plebiscite.election.booth import encrypt_ballot
from plebiscite.election.credentials import new_credential, public_credential
from plebiscite.record.manifest import parse_manifest
from plebiscite.record.protocol import context_hash
from plebiscite.verify.ballots import BallotContext


def yesno_manifest(group: str) -> dict[str, Any]:
    """A yes/no question (exactly one) and a 1-2 of 3 question with blank, one region."""
    return {
        "title": "t",
        "group": group,
        "questions": [
            {"id": "q", "text": "?", "options": ["yes", "no"], "min": 1, "max": 1, "blank": False},
            {"id": "b", "text": "?", "options": ["x", "y", "z"], "min": 1, "max": 2, "blank": True},
        ],
        "regions": [{"id": "r", "name": "R", "questions": ["q", "b"]}],
        "opens": "2027-03-07T07:00:00Z",
        "closes": "2027-03-07T22:00:00Z",
        "guardians": {"count": 1, "quorum": 1},
    }


def small_election(group: str, n: int = 6, seed: int = 6) -> tuple[BallotContext, list[Any]]:
    """A one-guardian election and ``n`` valid ballots ``(index, data)`` (the third one
    blank on the second question), with their ballot context."""
    g = get_group(group)
    raw = yesno_manifest(g.name)
    m = parse_manifest(raw)
    poly = threshold.random_polynomial(g, 0)
    commits = [threshold.commit(g, poly)]
    key = threshold.joint_key(g, commits)
    ctx = context_hash(g, "election", 1, commits, key)
    rnd = random.Random(seed)
    items = []
    for i in range(n):
        choices = {"q": [rnd.choice(["yes", "no"])], "b": ["blank"] if i == 2 else ["x", "z"]}
        cred = public_credential("election", new_credential())
        b = encrypt_ballot(g, m, ctx, key, "r", choices, cred)
        items.append((10 + i, b.data))
    return BallotContext(g.name, raw, ctx.hex(), key.hex()), items


def schnorr_claims(g: Group, key: Element, n: int) -> list[Claims]:
    """n batch claims, each: two read elements and true equations over them, g, the key
    and their product."""
    out = []
    for _ in range(n):
        cl = Claims()
        x = g.g_pow(g.random_scalar())
        y = g.g_pow(g.random_scalar())
        cl.member(x)
        cl.member(y)
        s, e = g.random_scalar(), g.random_scalar()
        cl.equation(g.g_pow(s) * x**e, [(g.generator(), s), (x, e)])
        cl.equation(key**s * y**e * x**3, [(key, s), (y, e), (x, 3)])
        xy = x * y
        cl.product(xy, [(x, 1), (y, 1)])
        cl.equation(xy ** (g.q - 1), [(xy, g.q - 1)])
        out.append(cl)
    return out
