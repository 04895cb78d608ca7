"""The crypto core: group laws, encodings, ElGamal, proofs, threshold keys.

Property tests run over every group; the modp groups get few examples (an exponentiation
there costs about a millisecond), ristretto255 more.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import gmpy2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plebiscite.crypto import threshold
from plebiscite.crypto.elgamal import (
    Ciphertext,
    combine,
    decrypt_with_secret,
    encrypt,
    identity_ciphertext,
    open_with_nonce,
)
from plebiscite.crypto.group import (
    GROUP_NAMES,
    SCALAR_BYTES,
    Element,
    Group,
    GroupError,
    ModpGroup,
    get_group,
)
from plebiscite.crypto.hashing import Part, challenge, encode_part, hash_parts
from plebiscite.crypto.proofs import (
    Branch,
    EqualityProof,
    RangeProof,
    SchnorrProof,
    prove_equality,
    prove_range,
    prove_schnorr,
    verify_equality,
    verify_range,
    verify_schnorr,
)

EXAMPLES = {"ristretto255": 100, "modp-4096": 15, "belenios-2048": 25}
CTX = bytes(range(32))
CTX2 = bytes(range(1, 33))
TAG = "plebiscite/v1/test"


@pytest.fixture(params=GROUP_NAMES)
def group(request: pytest.FixtureRequest) -> Group:
    return get_group(request.param)


def check(group: Group, *strategies: st.SearchStrategy[Any]) -> Callable[..., Any]:
    """Run the decorated function as a property over ``strategies`` for ``group``."""

    def deco(fn: Callable[..., None]) -> Callable[..., Any]:
        prop = settings(
            max_examples=EXAMPLES[group.name],
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
            database=None,
        )(given(*strategies)(fn))
        prop()
        return prop

    return deco


def scalars(group: Group) -> st.SearchStrategy[int]:
    q = group.q
    return st.one_of(
        st.integers(0, q - 1),
        st.sampled_from([0, 1, 2, q - 2, q - 1]),
        st.integers(0, 2**64),
    )


def elements(group: Group) -> st.SearchStrategy[Element]:
    return scalars(group).map(group.g_pow)


def flip_bit(e: Element) -> bytes:
    raw = bytearray(e.to_bytes())
    raw[len(raw) // 2] ^= 1
    return bytes(raw)


# RFC 9496, appendix A.1: encodings of 0*B .. 15*B.
RFC9496_MULTIPLES = [
    "0000000000000000000000000000000000000000000000000000000000000000",
    "e2f2ae0a6abc4e71a884a961c500515f58e30b6aa582dd8db6a65945e08d2d76",
    "6a493210f7499cd17fecb510ae0cea23a110e8d5b901f8acadd3095c73a3b919",
    "94741f5d5d52755ece4f23f044ee27d5d1ea1e2bd196b462166b16152a9d0259",
    "da80862773358b466ffadfe0b3293ab3d9fd53c5ea6c955358f568322daf6a57",
    "e882b131016b52c1d3337080187cf768423efccbb517bb495ab812c4160ff44e",
    "f64746d3c92b13050ed8d80236a7f0007c3b3f962f5ba793d19a601ebb1df403",
    "44f53520926ec81fbd5a387845beb7df85a96a24ece18738bdcfa6a7822a176d",
    "903293d8f2287ebe10e2374dc1a53e0bc887e592699f02d077d5263cdd55601c",
    "02622ace8f7303a31cafc63f8fc48fdc16e1c8c8d234b2f0d6685282a9076031",
    "20706fd788b2720a1ed2a5dad4952b01f413bcf0e7564de8cdc816689e2db95f",
    "bce83f8ba5dd2fa572864c24ba1810f9522bc6004afe95877ac73241cafdab42",
    "e4549ee16b9aa03099ca208c67adafcafa4c3f3e4e5303de6026e3ca8ff84460",
    "aa52e000df2e16f55fb1032fc33bc42742dad6bd5a8fc0be0167436c5948501f",
    "46376b80f409b29dc2b5f6f0c52591990896e5716f41477cd30085ab7f10301e",
    "e0c418f7c8d9c4cdd7395b93ea124f3ad99021bb681dfc3302a9d99a2e53e64e",
]


# --------------------------------------------------------------------------- groups


def test_unknown_group() -> None:
    with pytest.raises(GroupError):
        get_group("p-256")
    assert get_group("ristretto255") is get_group("ristretto255")


def test_ristretto_matches_rfc9496() -> None:
    g = get_group("ristretto255")
    assert g.q == 2**252 + 27742317777372353535851937790883648493
    for k, h in enumerate(RFC9496_MULTIPLES):
        assert g.g_pow(k).hex() == h
        assert g.decode_element(bytes.fromhex(h)).hex() == h
        assert g.g_pow(g.q + k).hex() == h  # exponents are reduced mod q
    # (q - k) * B is the inverse of k * B.
    for k in range(1, 16):
        assert g.mul(g.g_pow(g.q - k), g.g_pow(k)) == g.identity()


def test_group_laws(group: Group) -> None:
    @check(group, scalars(group), scalars(group), scalars(group))
    def laws(a: int, b: int, c: int) -> None:
        q = group.q
        ga, gb, gc = group.g_pow(a), group.g_pow(b), group.g_pow(c)
        assert (ga * gb) * gc == ga * (gb * gc)
        assert ga * gb == gb * ga
        assert ga * gb == group.g_pow(a + b)
        assert ga / gb == group.g_pow(a - b)
        assert (ga / gb) * gb == ga
        assert ga / ga == group.identity()
        assert group.pow(gb, a) == group.g_pow(a * b % q) == group.pow(ga, b)
        assert group.pow(gc, a + b) == group.pow(gc, a) * group.pow(gc, b)
        assert group.pow_secret(gc, a) == group.pow(gc, a)
        assert group.g_pow_secret(a) == ga
        assert group.pow(ga, -1) == group.identity() / ga
        assert group.prod([ga, gb, gc]) == ga * gb * gc

    del laws


def test_identity_everywhere(group: Group) -> None:
    one = group.identity()
    g = group.generator()
    q = group.q
    assert group.is_identity(one) and not group.is_identity(g)
    assert group.g_pow(0) == group.g_pow(q) == group.g_pow(-q) == one
    assert group.g_pow_secret(0) == group.g_pow_secret(q) == one
    assert group.g_pow(-1) == group.g_pow(q - 1)
    assert group.prod([]) == one
    for x in (one, g, group.g_pow(12345)):
        assert group.pow(x, 0) == group.pow_secret(x, 0) == one
        assert group.pow(x, q) == one
        assert x * one == one * x == x
        assert x / one == x
        assert one / x == group.pow(x, q - 1)
        assert x / x == one
    for k in (0, 1, 2, q - 1, 2**200):
        assert group.pow(one, k) == group.pow_secret(one, k) == one
    assert one * one == one / one == one
    assert group.decode_element(one.to_bytes()) == one
    assert group.dlog(one, 0) == 0
    assert group.dlog(one, 1000) == 0
    assert encode_part(one) == b"E" + group.element_bytes.to_bytes(4, "big") + one.to_bytes()
    assert hash(one) == hash(group.decode_element(one.to_bytes()))


def test_elements_of_different_groups_differ() -> None:
    a = get_group("modp-4096").generator()
    b = get_group("belenios-2048").generator()
    assert a != b and a != 1 and a == a
    assert get_group("ristretto255").identity() != get_group("modp-4096").identity()


def test_encoding_round_trip(group: Group) -> None:
    @check(group, scalars(group))
    def round_trip(a: int) -> None:
        e = group.g_pow(a)
        data = e.to_bytes()
        assert len(data) == group.element_bytes
        d = group.decode_element(data)
        assert d == e and d.to_bytes() == data
        assert group.decode_element(bytearray(data)) == e  # type: ignore[arg-type]
        assert group.element_from_hex(e.hex()) == e
        s = group.encode_scalar(a)
        assert len(s) == SCALAR_BYTES
        assert group.decode_scalar(s) == a
        assert group.scalar_from_hex(s.hex()) == a

    del round_trip


def test_scalar_range(group: Group) -> None:
    q = group.q
    for bad in (q, q + 1, 2**256 - 1):
        with pytest.raises(GroupError):
            group.decode_scalar(bad.to_bytes(32, "big"))
        with pytest.raises(GroupError):
            group.scalar_from_hex(bad.to_bytes(32, "big").hex())
    for data in (b"", bytes(31), bytes(33)):
        with pytest.raises(GroupError):
            group.decode_scalar(data)
    for text in ("", "zz" * 32, "00" * 31, "00" * 33):
        with pytest.raises(GroupError):
            group.scalar_from_hex(text)
    with pytest.raises(GroupError):
        group.element_from_hex("not hex")
    with pytest.raises(OverflowError):
        group.encode_scalar(2**256)


def test_wrong_length_rejected(group: Group) -> None:
    n = group.element_bytes
    g = group.generator().to_bytes()
    for data in (b"", g[:-1], g + b"\x00", b"\x00" + g, bytes(n + 32)):
        with pytest.raises(GroupError):
            group.decode_element(data)
    with pytest.raises(GroupError):
        group.decode_element(g.hex())  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["modp-4096", "belenios-2048"])
def test_modp_membership(name: str) -> None:
    group = get_group(name)
    assert isinstance(group, ModpGroup)
    p, q, n = int(group.p), group.q, group.element_bytes

    def enc(v: int) -> bytes:
        return v.to_bytes(n, "big")

    for v in (0, p, p - 1, 2 ** (8 * n) - 1):
        with pytest.raises(GroupError):
            group.decode_element(enc(v))
    assert group.decode_element(enc(1)) == group.identity()

    @check(group, st.integers(1, q - 1), st.integers(2, 2**64))
    def membership(a: int, x: int) -> None:
        e = group.g_pow(a)
        v = int(e.value)
        # -e has order 2q; e * x^q lies outside unless x^q == 1.
        with pytest.raises(GroupError):
            group.decode_element(enc(p - v))
        xq = pow(x, q, p)
        if xq != 1:
            with pytest.raises(GroupError):
                group.decode_element(enc(v * xq % p))
        # A random residue is accepted exactly when it is a member.
        r = x % p
        member = pow(r, q, p) == 1
        try:
            group.decode_element(enc(r))
            assert member
        except GroupError:
            assert not member

    del membership


def test_ristretto_decoding() -> None:
    group = get_group("ristretto255")

    @check(group, st.binary(min_size=32, max_size=32))
    def arbitrary(data: bytes) -> None:
        data = data[:31] + bytes([data[31] & 0x7F])
        try:
            e = group.decode_element(data)
        except GroupError:
            return
        assert e.to_bytes() == data  # only canonical encodings are accepted
        assert group.decode_element(e.to_bytes()) == e
        assert e * group.generator() / group.generator() == e

    del arbitrary
    for h in ("ec" + "ff" * 30 + "7f", "01" + "00" * 31, "ff" * 32):
        with pytest.raises(GroupError):
            group.decode_element(bytes.fromhex(h))


def test_ristretto_rejects_top_bit() -> None:
    group = get_group("ristretto255")
    for e in (group.identity(), group.generator(), group.g_pow(2)):
        raw = bytearray(e.to_bytes())
        raw[31] |= 0x80
        with pytest.raises(GroupError):
            group.decode_element(bytes(raw))


def test_dlog_bounds(group: Group) -> None:
    for m, bound in [(0, 0), (1, 1), (5, 5), (5, 6), (63, 64), (64, 64), (99, 200)]:
        assert group.dlog(group.g_pow(m), bound) == m
    for m, bound in [(1, 0), (6, 5), (65, 64), (group.q - 1, 1000)]:
        with pytest.raises(GroupError):
            group.dlog(group.g_pow(m), bound)


def test_dlog_property() -> None:
    group = get_group("ristretto255")

    @check(group, st.integers(0, 3000), st.integers(0, 3000))
    def dlog(m: int, bound: int) -> None:
        target = group.g_pow(m)
        if m <= bound:
            assert group.dlog(target, bound) == m
        else:
            with pytest.raises(GroupError):
                group.dlog(target, bound)

    del dlog


# --------------------------------------------------------------------------- hashing


def test_encode_part_by_hand() -> None:
    g = get_group("ristretto255")
    assert encode_part(0) == b"I\x00\x00\x00\x00"
    assert encode_part(1) == b"I\x00\x00\x00\x01\x01"
    assert encode_part(256) == b"I\x00\x00\x00\x02\x01\x00"
    assert encode_part("") == b"S\x00\x00\x00\x00"
    assert encode_part("é") == b"S\x00\x00\x00\x02\xc3\xa9"
    assert encode_part(b"\x00\xff") == b"B\x00\x00\x00\x02\x00\xff"
    assert encode_part(bytearray(b"\x01")) == b"B\x00\x00\x00\x01\x01"
    assert encode_part([]) == b"L\x00\x00\x00\x00"
    assert encode_part(("a", [1])) == (
        b"L\x00\x00\x00\x02" + b"S\x00\x00\x00\x01a" + b"L\x00\x00\x00\x01I\x00\x00\x00\x01\x01"
    )
    assert encode_part(g.generator()) == b"E\x00\x00\x00\x20" + bytes.fromhex(RFC9496_MULTIPLES[1])
    m = get_group("modp-4096")
    assert encode_part(m.identity()) == b"E\x00\x00\x02\x00" + bytes(511) + b"\x01"


def test_encode_part_is_unambiguous() -> None:
    distinct: list[Part] = [
        0,
        1,
        "1",
        b"\x01",
        [1],
        [[1]],
        ["ab"],
        ["a", "b"],
        "ab",
        b"ab",
        [],
        "",
        b"",
    ]
    encodings = [encode_part(p) for p in distinct]
    assert len(set(encodings)) == len(distinct)
    assert hash_parts("t", "ab") != hash_parts("t", "a", "b")
    assert hash_parts("t", ["a"], "b") != hash_parts("t", ["a", "b"])
    assert hash_parts("ta", "b") != hash_parts("t", "ab")
    assert len(hash_parts("t")) == 32


def test_encode_part_refuses() -> None:
    for bad in (-1, True, False, 1.0, None, {"a": 1}, gmpy2.mpz(3)):
        with pytest.raises((TypeError, ValueError)):
            encode_part(bad)  # type: ignore[arg-type]


def test_challenge_range_and_binding(group: Group) -> None:
    c = challenge(group, TAG, CTX, group.generator(), [1, 2], "x")
    assert 0 <= c < group.q
    assert c == challenge(group, TAG, CTX, group.generator(), [1, 2], "x")
    others = [
        challenge(group, TAG + "!", CTX, group.generator(), [1, 2], "x"),
        challenge(group, TAG, CTX2, group.generator(), [1, 2], "x"),
        challenge(group, TAG, CTX, group.identity(), [1, 2], "x"),
        challenge(group, TAG, CTX, group.generator(), [2, 1], "x"),
        challenge(group, TAG, CTX, group.generator(), [1, 2]),
        challenge(group, TAG, CTX, group.generator(), [1, 2, "x"]),
    ]
    assert c not in others and len(set(others)) == len(others)


# --------------------------------------------------------------------------- elgamal


def test_elgamal_homomorphism(group: Group) -> None:
    secret = group.random_scalar()
    key = group.g_pow(secret)

    @check(group, st.integers(0, 50), st.integers(0, 50), scalars(group), scalars(group))
    def homomorphic(m1: int, m2: int, r1: int, r2: int) -> None:
        c1, c2 = encrypt(group, key, m1, r1), encrypt(group, key, m2, r2)
        total = c1 * c2
        assert total == encrypt(group, key, m1 + m2, r1 + r2)
        assert total == combine(group, [c1, c2])
        assert decrypt_with_secret(group, secret, total, 100) == m1 + m2
        assert decrypt_with_secret(group, secret, c1, 50) == m1
        assert open_with_nonce(group, key, c1, r1, 50) == m1
        assert c1**3 == encrypt(group, key, 3 * m1, 3 * r1)
        assert c1**0 == identity_ciphertext(group)
        assert c1 * identity_ciphertext(group) == c1

    del homomorphic


def test_elgamal_edges(group: Group) -> None:
    secret = group.random_scalar()
    key = group.g_pow(secret)
    zero = encrypt(group, key, 0, 0)
    assert zero == identity_ciphertext(group)
    assert decrypt_with_secret(group, secret, zero, 0) == 0
    c = encrypt(group, key, 7, 0)
    assert c.alpha == group.identity() and c.beta == group.g_pow(7)
    assert combine(group, []) == identity_ciphertext(group)
    r = group.random_scalar()
    c = encrypt(group, key, 3, r)
    with pytest.raises(GroupError):
        open_with_nonce(group, key, c, r + 1, 10)
    with pytest.raises(GroupError):
        decrypt_with_secret(group, secret, c, 2)  # bound below the message
    with pytest.raises(GroupError):
        decrypt_with_secret(group, secret + 1, c, 10)  # wrong key: no small message


# --------------------------------------------------------------------------- proofs


def test_schnorr(group: Group) -> None:
    q = group.q
    x = group.random_scalar()
    public = group.g_pow(x)
    bind: Part = ["guardian-1", 0]
    proof = prove_schnorr(group, TAG, CTX, x, public, bind)
    assert verify_schnorr(group, TAG, CTX, public, proof, bind)
    other = group.g_pow(group.random_scalar())
    g = group.generator()
    bad: list[tuple[str, bytes, Element, SchnorrProof, Part]] = [
        (TAG, CTX, public, SchnorrProof(proof.commitment * g, proof.response), bind),
        (TAG, CTX, public, SchnorrProof(proof.commitment, (proof.response + 1) % q), bind),
        (TAG, CTX, public, SchnorrProof(proof.commitment, (proof.response - 1) % q), bind),
        (TAG, CTX, other, proof, bind),
        (TAG, CTX, public * g, proof, bind),
        (TAG, CTX2, public, proof, bind),
        (TAG + "x", CTX, public, proof, bind),
        (TAG, CTX, public, proof, ["guardian-1", 1]),
        (TAG, CTX, public, proof, ["guardian-2", 0]),
        (TAG, CTX, public, proof, []),
    ]
    for tag, ctx, pub, pf, bd in bad:
        assert not verify_schnorr(group, tag, ctx, pub, pf, bd)
    # The default bind is the empty list.
    p_default = prove_schnorr(group, TAG, CTX, x, public)
    assert verify_schnorr(group, TAG, CTX, public, p_default, [])
    assert not verify_schnorr(group, TAG, CTX, public, p_default, [0])
    # A secret 0 (public key = identity) proves; such a proof binds nothing (X^c = 1),
    # which is why callers refuse identity commitments and keys.
    p0 = prove_schnorr(group, TAG, CTX, 0, group.identity())
    assert verify_schnorr(group, TAG, CTX, group.identity(), p0)
    # A proof with a false witness does not verify.
    lie = prove_schnorr(group, TAG, CTX, x + 1, public, bind)
    assert not verify_schnorr(group, TAG, CTX, public, lie, bind)


def test_schnorr_strong_fiat_shamir(group: Group) -> None:
    """With weak Fiat-Shamir (the public key not hashed), anyone could keep a proof's
    commitment h and challenge c, pick any response s', and solve for a public key it
    verifies against: X' = (h / g^s')^(1/c). Hashing the statement defeats this."""
    x = group.random_scalar()
    public = group.g_pow(x)
    proof = prove_schnorr(group, TAG, CTX, x, public)
    c = challenge(group, TAG, CTX, group.generator(), public, [], proof.commitment)
    s2 = (proof.response + 1) % group.q
    forged_key = group.pow(group.div(proof.commitment, group.g_pow(s2)), pow(c, -1, group.q))
    assert forged_key != public
    assert group.g_pow(s2) * group.pow(forged_key, c) == proof.commitment  # weak FS: valid
    forged = SchnorrProof(proof.commitment, s2)
    assert not verify_schnorr(group, TAG, CTX, forged_key, forged)
    # And a proof made for one key does not verify for another.
    assert not verify_schnorr(group, TAG, CTX, group.g_pow(group.random_scalar()), proof)


def test_equality(group: Group) -> None:
    q = group.q
    g = group.generator()
    s = group.random_scalar()
    vk = group.g_pow(s)
    alpha = group.g_pow(group.random_scalar())
    d = group.pow(alpha, s)
    bind: Part = ["guardian-1", "region", "q1", "yes"]
    proof = prove_equality(group, TAG, CTX, s, g, vk, alpha, d, bind)
    assert verify_equality(group, TAG, CTX, g, vk, alpha, d, proof, bind)
    stmt = (g, vk, alpha, d)
    bad_proofs = [
        EqualityProof(proof.a * g, proof.b, proof.response),
        EqualityProof(proof.a, proof.b * g, proof.response),
        EqualityProof(proof.b, proof.a, proof.response),
        EqualityProof(proof.a, proof.b, (proof.response + 1) % q),
    ]
    for pf in bad_proofs:
        assert not verify_equality(group, TAG, CTX, *stmt, pf, bind)
    for i in range(4):
        changed = list(stmt)
        changed[i] = changed[i] * g
        c1, c2, c3, c4 = changed
        assert not verify_equality(group, TAG, CTX, c1, c2, c3, c4, proof, bind)
    assert not verify_equality(group, TAG, CTX, alpha, d, g, vk, proof, bind)
    assert not verify_equality(group, TAG, CTX2, *stmt, proof, bind)
    assert not verify_equality(group, TAG + "x", CTX, *stmt, proof, bind)
    assert not verify_equality(group, TAG, CTX, *stmt, proof, ["guardian-2", "region", "q1", "yes"])
    assert not verify_equality(group, TAG, CTX, *stmt, proof)
    # A decryption share that is not alpha^s cannot be proven.
    wrong = prove_equality(group, TAG, CTX, s, g, vk, alpha, d * g, bind)
    assert not verify_equality(group, TAG, CTX, g, vk, alpha, d * g, wrong, bind)
    # Identity in the statement: alpha = identity gives d = identity.
    one = group.identity()
    p1 = prove_equality(group, TAG, CTX, s, g, vk, one, one)
    assert verify_equality(group, TAG, CTX, g, vk, one, one, p1)


def _tamper_branches(group: Group, proof: RangeProof) -> list[RangeProof]:
    g, q = group.generator(), group.q
    out = []
    for i, br in enumerate(proof.branches):
        for changed in (
            Branch(br.a * g, br.b, br.challenge, br.response),
            Branch(br.a, br.b * g, br.challenge, br.response),
            Branch(br.a, br.b, (br.challenge + 1) % q, br.response),
            Branch(br.a, br.b, br.challenge, (br.response + 1) % q),
        ):
            brs = list(proof.branches)
            brs[i] = changed
            out.append(RangeProof(tuple(brs)))
    return out


@pytest.mark.parametrize("values", [[0, 1], [1, 2, 3], [0, 1, 2, 3, 4]], ids=str)
def test_range_every_value(group: Group, values: list[int]) -> None:
    secret = group.random_scalar()
    key = group.g_pow(secret)
    bind = ["CRED", "region", "q1"]
    for m in values:
        r = group.random_scalar()
        ct = encrypt(group, key, m, r)
        proof = prove_range(group, TAG, CTX, key, ct, r, m, values, bind)
        assert len(proof.branches) == len(values)
        assert verify_range(group, TAG, CTX, key, ct, proof, values, bind)
        assert decrypt_with_secret(group, secret, ct, max(values)) == m
        if m != values[-1] or group.name != "ristretto255":
            continue  # the full tampering sweep once per range (modp: see below)
        for bad in _tamper_branches(group, proof):
            assert not verify_range(group, TAG, CTX, key, ct, bad, values, bind)


def test_range_tampering(group: Group) -> None:
    g, q = group.generator(), group.q
    key = group.g_pow(group.random_scalar())
    values = [1, 2, 3]
    bind = ["CRED", "region", "q1"]
    r = group.random_scalar()
    ct = encrypt(group, key, 2, r)
    proof = prove_range(group, TAG, CTX, key, ct, r, 2, values, bind)
    assert verify_range(group, TAG, CTX, key, ct, proof, values, bind)
    b0, b1, b2 = proof.branches
    shifted = RangeProof(
        (
            Branch(b0.a, b0.b, (b0.challenge + 5) % q, b0.response),
            Branch(b1.a, b1.b, (b1.challenge - 5) % q, b1.response),
            b2,
        )
    )
    bad_proofs = [
        shifted,
        RangeProof((b1, b0, b2)),
        RangeProof((b0, b1)),
        RangeProof((b0, b1, b2, b2)),
        RangeProof(()),
        _tamper_branches(group, proof)[1],  # one per field is enough for the slow groups
        _tamper_branches(group, proof)[6],
        _tamper_branches(group, proof)[11],
    ]
    for bad in bad_proofs:
        assert not verify_range(group, TAG, CTX, key, ct, bad, values, bind)
    other_key = group.g_pow(group.random_scalar())
    statements = [
        (TAG, CTX, other_key, ct, values, bind),
        (TAG, CTX, key, Ciphertext(ct.alpha * g, ct.beta), values, bind),
        (TAG, CTX, key, Ciphertext(ct.alpha, ct.beta * g), values, bind),
        (TAG, CTX, key, ct, [0, 1, 2], bind),
        (TAG, CTX, key, ct, [3, 2, 1], bind),
        (TAG, CTX, key, ct, [1, 2], bind),
        (TAG, CTX, key, ct, values, ["CRED2", "region", "q1"]),
        (TAG, CTX, key, ct, values, []),
        (TAG, CTX2, key, ct, values, bind),
        (TAG + "x", CTX, key, ct, values, bind),
    ]
    for tag, ctx, k, c, vs, bd in statements:
        assert not verify_range(group, tag, ctx, k, c, proof, vs, bd)


def test_range_refuses_and_unsound_claims(group: Group) -> None:
    key = group.g_pow(group.random_scalar())
    r = group.random_scalar()
    ct = encrypt(group, key, 2, r)
    with pytest.raises(ValueError):
        prove_range(group, TAG, CTX, key, ct, r, 2, [0, 1])
    with pytest.raises(ValueError):
        prove_range(group, TAG, CTX, key, ct, r, 5, [1, 2, 3])
    # A prover claiming an allowed value for a ciphertext of 2 produces a failing proof.
    for claim in (0, 1):
        lie = prove_range(group, TAG, CTX, key, ct, r, claim, [0, 1])
        assert not verify_range(group, TAG, CTX, key, ct, lie, [0, 1])
    # A wrong nonce also fails.
    lie = prove_range(group, TAG, CTX, key, ct, r + 1, 2, [1, 2, 3])
    assert not verify_range(group, TAG, CTX, key, ct, lie, [1, 2, 3])


def test_range_with_identity_values(group: Group) -> None:
    """Ciphertexts with identity components (nonce 0, message 0) prove and verify."""
    key = group.g_pow(group.random_scalar())
    ct = encrypt(group, key, 0, 0)
    assert ct == identity_ciphertext(group)
    proof = prove_range(group, TAG, CTX, key, ct, 0, 0, [0, 1])
    assert verify_range(group, TAG, CTX, key, ct, proof, [0, 1])
    ct1 = encrypt(group, key, 1, 0)
    proof1 = prove_range(group, TAG, CTX, key, ct1, 0, 1, [0, 1])
    assert verify_range(group, TAG, CTX, key, ct1, proof1, [0, 1])
    assert not verify_range(group, TAG, CTX, key, ct, proof1, [0, 1])


def test_range_strong_fiat_shamir_key() -> None:
    """A proof made for one election key does not verify for another, even over a
    ciphertext that encrypts a valid value under both (nonce 0: (1, g^m))."""
    group = get_group("ristretto255")
    k1 = group.g_pow(group.random_scalar())
    k2 = group.g_pow(group.random_scalar())
    ct = encrypt(group, k1, 1, 0)
    assert ct == encrypt(group, k2, 1, 0)
    proof = prove_range(group, TAG, CTX, k1, ct, 0, 1, [0, 1])
    assert verify_range(group, TAG, CTX, k1, ct, proof, [0, 1])
    assert not verify_range(group, TAG, CTX, k2, ct, proof, [0, 1])


def test_range_property() -> None:
    group = get_group("ristretto255")
    key = group.g_pow(group.random_scalar())

    @check(group, st.integers(0, 5), st.integers(0, 5), st.data())
    def ranges(lo: int, span: int, data: st.DataObject) -> None:
        values = list(range(lo, lo + span + 1))
        m = data.draw(st.sampled_from(values))
        r = data.draw(scalars(group))
        ct = encrypt(group, key, m, r)
        proof = prove_range(group, TAG, CTX, key, ct, r, m, values, ["b"])
        assert verify_range(group, TAG, CTX, key, ct, proof, values, ["b"])
        outside = lo + span + 1
        assert not verify_range(
            group, TAG, CTX, key, encrypt(group, key, outside, r), proof, values, ["b"]
        )

    del ranges


# --------------------------------------------------------------------------- threshold


def _ceremony(group: Group, n: int, k: int) -> tuple[list[list[int]], list[list[Element]]]:
    polys = [threshold.random_polynomial(group, k - 1) for _ in range(n)]
    return polys, [threshold.commit(group, p) for p in polys]


def test_polynomial_evaluation(group: Group) -> None:
    q = group.q
    coeffs = [5, 3, 2]  # 5 + 3x + 2x^2
    for x, expect in [(0, 5), (1, 10), (2, 19), (10, 235)]:
        assert threshold.evaluate(group, coeffs, x) == expect
    assert threshold.evaluate(group, [q - 1, 1], 1) == 0
    assert threshold.evaluate(group, [], 3) == 0
    cs = threshold.commit(group, coeffs)
    assert threshold.commitment_at(group, cs, 2) == group.g_pow(19)
    assert threshold.commitment_at(group, cs, 0) == cs[0]
    assert threshold.lagrange_at_zero(group, 1, [1]) == 1
    # Over {1, 2}: l_1 = 2, l_2 = -1.
    assert threshold.lagrange_at_zero(group, 1, [1, 2]) == 2
    assert threshold.lagrange_at_zero(group, 2, [1, 2]) == q - 1


def test_threshold_recombination(group: Group) -> None:
    n_examples = 10 if group.name == "ristretto255" else 3

    @settings(max_examples=n_examples, deadline=None, database=None)
    @given(st.integers(1, 4), st.integers(0, 2))
    def recombine(k: int, extra: int) -> None:
        n = k + extra
        q = group.q
        polys, commitments = _ceremony(group, n, k)
        secret = sum(p[0] for p in polys) % q
        joint = threshold.joint_key(group, commitments)
        assert joint == group.g_pow(secret)
        shares = {}
        for j in range(1, n + 1):
            for p, cs in zip(polys, commitments, strict=True):
                v = threshold.evaluate(group, p, j)
                assert threshold.share_is_valid(group, cs, j, v)
                assert not threshold.share_is_valid(group, cs, j, (v + 1) % q)
                if k > 1 and n > 1:  # (k = 1: a constant polynomial, same share for all)
                    other = j % n + 1
                    assert not threshold.share_is_valid(group, cs, other, v)
            shares[j] = sum(threshold.evaluate(group, p, j) for p in polys) % q
            assert threshold.verification_key(group, commitments, j) == group.g_pow(shares[j])
        for size in range(1, n + 1):
            for present in itertools.combinations(range(1, n + 1), size):
                lams = [threshold.lagrange_at_zero(group, j, present) for j in present]
                total = sum(lam * shares[j] for lam, j in zip(lams, present, strict=True)) % q
                if size >= k:
                    assert total == secret
                else:
                    assert total != secret
                # In the exponent: the product of verification keys gives the joint key.
                vk = group.prod(
                    group.pow(threshold.verification_key(group, commitments, j), lam)
                    for lam, j in zip(lams, present, strict=True)
                )
                assert (vk == joint) is (size >= k)

    recombine()


def test_threshold_decryption(group: Group) -> None:
    n, k = 3, 2
    q = group.q
    polys, commitments = _ceremony(group, n, k)
    joint = threshold.joint_key(group, commitments)
    shares = {j: sum(threshold.evaluate(group, p, j) for p in polys) % q for j in (1, 2, 3)}
    ct = encrypt(group, joint, 4, group.random_scalar())
    for present in ([1, 2], [1, 3], [3, 2]):
        mask = group.prod(
            group.pow(group.pow(ct.alpha, shares[j]), threshold.lagrange_at_zero(group, j, present))
            for j in present
        )
        assert group.dlog(ct.beta / mask, 10) == 4
    mask = group.pow(ct.alpha, shares[1])
    with pytest.raises(GroupError):
        group.dlog(ct.beta / mask, 10)


def test_tampered_share_fails(group: Group) -> None:
    polys, commitments = _ceremony(group, 2, 3)
    p, cs = polys[0], commitments[0]
    v = threshold.evaluate(group, p, 2)
    assert threshold.share_is_valid(group, cs, 2, v)
    assert not threshold.share_is_valid(group, cs, 2, v ^ 1)
    assert not threshold.share_is_valid(group, cs, 1, v)
    assert not threshold.share_is_valid(group, commitments[1], 2, v)
    tampered = [cs[0], cs[1] * group.generator(), cs[2]]
    assert not threshold.share_is_valid(group, tampered, 2, v)


def test_lagrange_refuses_duplicates() -> None:
    group = get_group("ristretto255")
    with pytest.raises(ValueError):
        threshold.lagrange_at_zero(group, 1, [1, 1, 2])
