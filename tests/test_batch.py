"""Batch verification in the integer groups (``crypto/batch.py``) and the verifier's
batched ballot pass (``verify/ballots.py``): the batch accepts exactly what the exact
checks accept, a bad proof in a batch is found and named, and nothing outside the
order-q subgroup gets through (a commitment or ciphertext times ``p - 1``, an element
of the other large prime order).

A false batch passes with probability at most 2^-128, so "rejects" below is certain in
practice; the tests never rely on luck the other way.
"""

from __future__ import annotations

import contextlib
import copy
import random
from collections.abc import Callable
from typing import Any

import gmpy2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ballotlib import schnorr_claims, small_election
from plebiscite.crypto import batch as batching
from plebiscite.crypto import constants as c
from plebiscite.crypto import native
from plebiscite.crypto.batch import BITS, Batch, Claims, DeferredMembership, multi_exp
from plebiscite.crypto.elgamal import Ciphertext, encrypt
from plebiscite.crypto.group import Element, GroupError, ModpGroup, get_group
from plebiscite.crypto.hashing import challenge
from plebiscite.crypto.proofs import (
    Branch,
    RangeProof,
    prove_range,
    range_claims,
    verify_range,
)
from plebiscite.verify.ballots import (
    BallotContext,
    BallotFinding,
    check_ballot,
    check_ballot_exact,
    check_batch,
)

TAG = "plebiscite/v1/test"
CTX = bytes(range(32))
SLOW = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    database=None,
)


def modp(name: str = "modp-4096") -> ModpGroup:
    g = get_group(name)
    assert isinstance(g, ModpGroup)
    return g


def minus(g: ModpGroup, x: Element) -> Element:
    """``x`` times ``p - 1``: same square, Jacobi symbol -1, not a member."""
    return Element(g, gmpy2.f_mod(x.value * (g.p - 1), g.p))


def times(g: ModpGroup, x: Element, k: int) -> Element:
    return Element(g, gmpy2.f_mod(x.value * k, g.p))


def order_r(g: ModpGroup) -> Element:
    """A quadratic residue of order r = (p - 1) / 2q: passes the Jacobi test, is not a
    member (``4 ** (2q)`` has order dividing r, and is not 1)."""
    y = Element(g, gmpy2.powmod(4, 2 * g.q, g.p))
    assert y.value != 1 and gmpy2.jacobi(y.value, g.p) == 1
    return y


# --- the groups' structure ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "p", "q"),
    [
        ("modp-4096", c.MODP4096_P, c.MODP4096_Q),
        ("electionguard-1", c.ELECTIONGUARD1_P, c.ELECTIONGUARD1_Q),
    ],
)
def test_safe_cofactor_groups(name: str, p: int, q: int) -> None:
    """What batching relies on: p - 1 = 2 q r with q and r prime and beyond 2^BITS, and
    p = 3 mod 4 (so -1 is a non-residue: a commitment times p - 1 has Jacobi symbol -1)."""
    g = modp(name)
    assert g.safe_cofactor and batching.supports(g)
    assert (p - 1) % (2 * q) == 0
    r = (p - 1) // (2 * q)
    assert gmpy2.is_prime(q, 40) and gmpy2.is_prime(r, 40)
    assert min(q, r) > 2**BITS and gmpy2.gcd(q, r) == 1
    assert p % 4 == 3 and gmpy2.jacobi(p - 1, p) == -1
    assert gmpy2.jacobi(g.generator().value, p) == 1


def test_belenios_group_is_not_batched() -> None:
    """belenios-2048's cofactor (p - 1) / q is 2 * 3 * (a composite): an order-3 error
    would pass a random linear combination a third of the time, so it is never batched."""
    g = modp("belenios-2048")
    k = (g.p - 1) // g.q
    assert (g.p - 1) % g.q == 0 and k % 6 == 0 and not gmpy2.is_prime(k // 6, 40)
    assert not g.safe_cofactor and not batching.supports(g)
    # ristretto255 has prime order: batched whenever the native library is built
    assert batching.supports(get_group("ristretto255")) == native.available()
    with pytest.raises(GroupError):
        Batch(g)


# --- multi-exponentiation and shared-base powers -------------------------------------------


@SLOW
@given(
    st.lists(st.tuples(st.integers(1, 2**64), st.integers(0, 400)), min_size=0, max_size=24),
    st.sampled_from([None, ("s", 1), ("s", 3), ("s", 5), ("p", 2), ("p", 4), ("p", 7)]),
    st.sampled_from(["modp-4096", "belenios-2048"]),
    st.randoms(use_true_random=False),
)
def test_multi_exp_matches_powmod(
    spec: list[tuple[int, int]],
    method: tuple[str, int] | None,
    name: str,
    rnd: random.Random,
) -> None:
    p = modp(name).p
    pairs = [(gmpy2.mpz(rnd.randrange(1, int(p))), rnd.getrandbits(bits)) for _, bits in spec]
    want = gmpy2.mpz(1)
    for b, e in pairs:
        want = gmpy2.f_mod(want * gmpy2.powmod(b, e, p), p)
    assert multi_exp(pairs, p, method) == want


@SLOW
@given(
    st.lists(
        st.one_of(st.integers(0, 2**256), st.sampled_from(["q", 0, 1, 2])), min_size=0, max_size=7
    ),
    st.sampled_from(["modp-4096", "belenios-2048", "electionguard-1"]),
    st.integers(2, 2**64),
)
def test_pow_many_matches_powmod(exps: list[Any], name: str, seed: int) -> None:
    """Not reduced mod q: a non-member base raised to q is not 1."""
    g = modp(name)
    es = [g.q if e == "q" else int(e) for e in exps]
    base = Element(g, gmpy2.f_mod(gmpy2.mpz(seed) ** 3 + 5, g.p))  # rarely a member
    got = g.pow_many(base, es)
    assert [x.value for x in got] == [gmpy2.powmod(base.value, e, g.p) for e in es]
    member = g.g_pow(seed)
    assert [x.value for x in g.pow_many(member, es)] == [g.pow(member, e).value for e in es]


# --- the batch itself --------------------------------------------------------------------


def schnorr_like(g: ModpGroup, key: Element, n: int) -> list[Claims]:
    return schnorr_claims(g, key, n)


def run_batch(g: ModpGroup, key: Element, claims: list[Claims]) -> bool:
    b = Batch(g, fixed=[key])
    return all(b.add(cl) for cl in claims) and b.check()


@pytest.mark.parametrize("name", ["modp-4096", "electionguard-1"])
def test_batch_accepts_true_claims(name: str) -> None:
    g = modp(name)
    key = g.g_pow(g.random_scalar())
    assert run_batch(g, key, schnorr_like(g, key, 5))
    assert run_batch(g, key, [])
    assert run_batch(g, key, [Claims()])


@pytest.mark.parametrize("name", ["modp-4096", "electionguard-1"])
def test_batch_rejects_any_false_claim(name: str) -> None:
    g = modp(name)
    gen = g.generator()
    key = g.g_pow(g.random_scalar())
    for where in range(3):
        # an equation off by an element of order q
        claims = schnorr_like(g, key, 3)
        a, terms = claims[where].equations[1]
        claims[where].equations[1] = (a * gen, terms)
        assert not run_batch(g, key, claims)
        # a claimed member of order r (a quadratic residue: only the q-power test sees it)
        claims = schnorr_like(g, key, 3)
        claims[where].member(order_r(g))
        assert not run_batch(g, key, claims)
        # a claimed member times 4: also a residue, not a member
        claims = schnorr_like(g, key, 3)
        x = times(g, claims[where].members[0], 4)
        claims[where].member(x)
        claims[where].equation(x**5, [(x, 5)])  # true as computed; x is still no member
        assert not run_batch(g, key, claims)


@pytest.mark.parametrize("name", ["modp-4096", "electionguard-1"])
def test_batch_refuses_non_residues_at_once(name: str) -> None:
    """A commitment or read element times p - 1 is refused by the Jacobi test when it is
    added (a random combination alone would let it through half the time)."""
    g = modp(name)
    key = g.g_pow(g.random_scalar())
    cl = schnorr_like(g, key, 1)[0]
    a, terms = cl.equations[0]
    cl.equations[0] = (minus(g, a), terms)
    assert not Batch(g, fixed=[key]).add(cl)
    cl = schnorr_like(g, key, 1)[0]
    cl.members[1] = minus(g, cl.members[1])
    assert not Batch(g, fixed=[key]).add(cl)
    # nothing of a refused ballot stays in the batch
    b = Batch(g, fixed=[key])
    assert not b.add(cl) and b.size == 0 and not b.commitments
    good = schnorr_like(g, key, 2)
    assert all(b.add(x) for x in good) and b.check()


def test_batch_refuses_unvouched_bases() -> None:
    g = modp()
    b = Batch(g)
    cl = Claims()
    stranger = g.g_pow(7)
    cl.equation(stranger**2, [(stranger, 2)])
    with pytest.raises(ValueError):
        b.add(cl)
    cl = Claims()
    cl.product(stranger, [(stranger, 1)])
    with pytest.raises(ValueError):
        b.add(cl)


def test_deferred_membership_view() -> None:
    g = modp()
    view = DeferredMembership(g)
    x = g.g_pow(5)
    y = view.decode_element(times(g, x, 4).to_bytes())
    assert y.group is g and view.pending == [y]
    view.decode_element(x.to_bytes(), member_check=False)
    assert len(view.pending) == 1
    with pytest.raises(GroupError):
        view.decode_element(bytes(g.element_bytes))  # range is still checked at once
    with pytest.raises(GroupError):
        view.pow_secret(x, 3)


# --- range proofs: batch == exact ----------------------------------------------------------


def _honest(g: ModpGroup, key: Element, m: int, values: list[int]) -> tuple[Ciphertext, Any]:
    r = g.random_scalar()
    ct = encrypt(g, key, m, r)
    return ct, prove_range(g, TAG, CTX, key, ct, r, m, values, ["b"])


def _negated_commitment_proof(
    g: ModpGroup, key: Element, values: list[int], m: int
) -> tuple[Ciphertext, RangeProof]:
    """A cheating prover: the real branch's first commitment is published times p - 1
    and the challenge hashes that. Only an exact check or the Jacobi test can refuse
    it: the equation holds up to the factor -1, which a random exponent kills half the
    time."""
    q = g.q
    nonce = g.random_scalar()
    ct = encrypt(g, key, m, nonce)
    real = values.index(m)
    w = g.random_scalar()
    sims: dict[int, tuple[int, int]] = {}
    commitments: list[Element] = []
    for j, v in enumerate(values):
        if j == real:
            commitments += [minus(g, g.g_pow(w)), key**w]
        else:
            cj, sj = g.random_scalar(), g.random_scalar()
            sims[j] = (cj, sj)
            shifted = ct.beta / g.g_pow(v) if v else ct.beta
            commitments += [g.g_pow(sj) * ct.alpha**cj, key**sj * shifted**cj]
    ch = challenge(g, TAG, CTX, g.generator(), key, ct.alpha, ct.beta, values, ["b"], commitments)
    c_real = (ch - sum(cj for cj, _ in sims.values())) % q
    branches = []
    for j in range(len(values)):
        cj, sj = sims.get(j, (c_real, (w - c_real * nonce) % q))
        branches.append(Branch(commitments[2 * j], commitments[2 * j + 1], cj, sj))
    return ct, RangeProof(tuple(branches))


def _batched(g: ModpGroup, key: Element, items: list[tuple[Ciphertext, Any, list[int]]]) -> bool:
    b = Batch(g, fixed=[key])
    for ct, proof, values in items:
        cl = Claims()
        cl.member(ct.alpha)
        cl.member(ct.beta)
        if not range_claims(g, TAG, CTX, key, ct, proof, values, cl, ["b"]) or not b.add(cl):
            return False
    return b.check()


MUTATIONS = ("none", "response", "shift", "commitment_g", "commitment_minus", "swap")


def _mutate(g: ModpGroup, proof: RangeProof, how: str, i: int) -> RangeProof:
    brs = list(proof.branches)
    i %= len(brs)
    br = brs[i]
    if how == "response":
        brs[i] = Branch(br.a, br.b, br.challenge, (br.response + 1) % g.q)
    elif how == "shift":  # the challenges still add up: only the equations fail
        j = (i + 1) % len(brs)
        brs[i] = Branch(br.a, br.b, (br.challenge + 7) % g.q, br.response)
        bj = brs[j]
        brs[j] = Branch(bj.a, bj.b, (bj.challenge - 7) % g.q, bj.response)
    elif how == "commitment_g":
        brs[i] = Branch(br.a, br.b * g.generator(), br.challenge, br.response)
    elif how == "commitment_minus":
        brs[i] = Branch(minus(g, br.a), br.b, br.challenge, br.response)
    elif how == "swap":
        brs.reverse()
    return RangeProof(tuple(brs))


@pytest.mark.parametrize("name", ["modp-4096", "electionguard-1"])
def test_range_batch_accepts_exactly_what_verify_range_accepts(name: str) -> None:
    g = modp(name)
    key = g.g_pow(g.random_scalar())
    pool = [(_honest(g, key, m, vs), vs) for vs in ([0, 1], [1, 2, 3]) for m in vs[:2]]

    @SLOW
    @given(
        st.lists(
            st.tuples(st.integers(0, len(pool) - 1), st.sampled_from(MUTATIONS), st.integers(0, 5)),
            min_size=1,
            max_size=4,
        )
    )
    def prop(picks: list[tuple[int, str, int]]) -> None:
        items = []
        exact = True
        for k, how, i in picks:
            (ct, proof), vs = pool[k]
            bad = _mutate(g, proof, how, i)
            exact = exact and verify_range(g, TAG, CTX, key, ct, bad, vs, ["b"])
            items.append((ct, bad, vs))
        assert _batched(g, key, items) == exact

    prop()


@pytest.mark.parametrize("name", ["modp-4096", "electionguard-1"])
def test_range_batch_refuses_a_negated_commitment(name: str) -> None:
    g = modp(name)
    key = g.g_pow(g.random_scalar())
    good = [(*_honest(g, key, 1, [0, 1]), [0, 1]) for _ in range(3)]
    ct, bad = _negated_commitment_proof(g, key, [0, 1], 1)
    assert not verify_range(g, TAG, CTX, key, ct, bad, [0, 1], ["b"])
    cl = Claims()
    assert range_claims(g, TAG, CTX, key, ct, bad, [0, 1], cl, ["b"])  # the hash holds
    assert not Batch(g, fixed=[key]).add(cl)  # the Jacobi test refuses it
    assert _batched(g, key, good)
    assert not _batched(g, key, [*good, (ct, bad, [0, 1])])


# --- the verifier's ballot pass --------------------------------------------------------------


@pytest.fixture(scope="module")
def election() -> tuple[BallotContext, list[tuple[int, Any]]]:
    return small_election("modp-4096")


def _exact(ctx: BallotContext, items: list[tuple[int, Any]]) -> list[BallotFinding]:
    return [f for i, d in items for f in check_ballot_exact(ctx, i, d)]


def _hexmul(g: ModpGroup, h: str, k: int) -> str:
    return format(int(h, 16) * k % int(g.p), "x").zfill(len(h))


def _scalar_plus(h: str, d: int) -> str:
    return format((int(h, 16) + d) % get_group("modp-4096").q, "064x")


BALLOT_TAMPERS: dict[str, Callable[[ModpGroup, dict[str, Any]], object]] = {
    # equations only (the challenges still hold): only the batch can see these
    "response": lambda g, d: d["answers"][0]["choices"][0]["proof"][1].update(
        s=_scalar_plus(d["answers"][0]["choices"][0]["proof"][1]["s"], 1)
    ),
    "question-response": lambda g, d: d["answers"][1]["proof"][0].update(
        s=_scalar_plus(d["answers"][1]["proof"][0]["s"], 3)
    ),
    "shift": lambda g, d: (
        d["answers"][0]["choices"][1]["proof"][0].update(
            c=_scalar_plus(d["answers"][0]["choices"][1]["proof"][0]["c"], 5)
        ),
        d["answers"][0]["choices"][1]["proof"][1].update(
            c=_scalar_plus(d["answers"][0]["choices"][1]["proof"][1]["c"], -5)
        ),
    ),
    # caught before the batch
    "commitment-minus": lambda g, d: d["answers"][0]["choices"][0]["proof"][0].update(
        a=_hexmul(g, d["answers"][0]["choices"][0]["proof"][0]["a"], int(g.p) - 1)
    ),
    "alpha-minus": lambda g, d: d["answers"][0]["choices"][0].update(
        alpha=_hexmul(g, d["answers"][0]["choices"][0]["alpha"], int(g.p) - 1)
    ),
    "beta-times-4": lambda g, d: d["answers"][1]["choices"][2].update(
        beta=_hexmul(g, d["answers"][1]["choices"][2]["beta"], 4)
    ),
    "tracking": lambda g, d: d.update(tracking_code="0" * 64),
    "junk": lambda g, d: d["answers"][0]["choices"][0].update(alpha="zz"),
    "swap": lambda g, d: d["answers"][0]["choices"].reverse(),
}


@pytest.mark.parametrize("how", list(BALLOT_TAMPERS))
def test_check_batch_names_the_bad_ballot(
    election: tuple[BallotContext, list[tuple[int, Any]]], how: str
) -> None:
    ctx, items = election
    g = modp()
    assert check_batch(ctx, items) == [] and _exact(ctx, items) == []
    for pos in (0, 3):
        bad = copy.deepcopy(items)
        BALLOT_TAMPERS[how](g, bad[pos][1])
        want = _exact(ctx, bad)
        assert want and {f.index for f in want} == {bad[pos][0]}
        assert check_batch(ctx, bad) == want
        assert check_ballot(ctx, *bad[pos]) == check_ballot_exact(ctx, *bad[pos])
    if how in ("response", "question-response", "shift"):
        assert [f.kind for f in want] == ["proofs"]


def test_check_batch_property(election: tuple[BallotContext, list[tuple[int, Any]]]) -> None:
    ctx, items = election
    g = modp()

    @SLOW
    @given(
        st.lists(
            st.tuples(st.integers(0, len(items) - 1), st.sampled_from(sorted(BALLOT_TAMPERS))),
            max_size=3,
        )
    )
    def prop(tampers: list[tuple[int, str]]) -> None:
        bad = copy.deepcopy(items)
        for pos, how in tampers:
            # an earlier tamper may have broken the shape already
            with contextlib.suppress(KeyError, TypeError, AttributeError, ValueError):
                BALLOT_TAMPERS[how](g, bad[pos][1])
        assert check_batch(ctx, bad) == _exact(ctx, bad)

    prop()


def test_check_batch_switch(election: tuple[BallotContext, list[tuple[int, Any]]]) -> None:
    ctx, items = election
    bad = copy.deepcopy(items)
    BALLOT_TAMPERS["response"](modp(), bad[1][1])
    on = check_batch(ctx, bad)
    batching.set_enabled(False)
    try:
        assert check_batch(ctx, bad) == on == _exact(ctx, bad)
    finally:
        batching.set_enabled(True)
