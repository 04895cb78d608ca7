"""Regenerate the crypto and protocol known-answer vectors, deterministically.

    /work/main/.venv/bin/python tests/vectors/generate.py          # write the files
    /work/main/.venv/bin/python tests/vectors/generate.py --check  # compare, write nothing

Writes ``crypto-<group>.json`` for each group, ``protocol.json`` and ``cosignatures.json``.
Every input is fixed: scalars and nonces come from :func:`fixed_scalar` (SHA-512 of a
label), Ed25519 keys from :func:`fixed_ed25519` (Ed25519 signing is deterministic), and
the random draws of the provers are replaced by the same kind of labelled values, so a
second run writes the same bytes. Verdicts (``valid``) and rejections are what the
protocol requires, set here by construction, never read back from the implementation
under test (``tests/test_vectors.py`` compares the implementation with them).

The formats are those of the board (``plebiscite.record.codec``): elements and scalars
are lowercase hex of their canonical bytes (scalars: 32 bytes big-endian).
"""

from __future__ import annotations

import argparse
import base64
import functools
import hashlib
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import gmpy2
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from plebiscite.board.checkpoint import Checkpoint, public_key_bytes, sign_checkpoint
from plebiscite.board.cosign import cosign, cosigned_message
from plebiscite.crypto import threshold
from plebiscite.crypto.elgamal import Ciphertext, combine, encrypt
from plebiscite.crypto.group import GROUP_NAMES, SCALAR_BYTES, Element, Group, get_group
from plebiscite.crypto.hashing import Part, challenge, encode_part, hash_parts
from plebiscite.crypto.proofs import (
    Branch,
    EqualityProof,
    RangeProof,
    SchnorrProof,
    prove_equality,
    prove_range,
    prove_schnorr,
)
from plebiscite.election.credentials import is_well_formed, public_credential
from plebiscite.record import codec
from plebiscite.record.manifest import Question
from plebiscite.record.protocol import (
    TAG_COEFFICIENT,
    TAG_CONTEXT,
    TAG_CREDENTIAL,
    TAG_DECRYPTION,
    TAG_OPTION,
    TAG_QUESTION,
    TAG_SHARE_ENC,
    TAG_SHARE_KEY,
    TAG_TRACKING,
    coefficient_bind,
    context_hash,
    credential_seed,
    decryption_bind,
    option_bind,
    question_bind,
    question_total,
    question_total_value,
    question_values,
    tracking_code,
    valid_selection,
)

HERE = Path(__file__).resolve().parent
SEED = b"plebiscite/test-vectors/v1\x00"

# The ristretto255 encodings RFC 9496 (appendix A.2) and libsodium's test suite require
# a decoder to reject, plus encodings with bit 255 set (RFC 9496, section 4.3.1: the
# 32 bytes are read as a 256-bit little-endian integer that must be < p).
RISTRETTO_BAD = [
    ("non-canonical field encoding", "00" + "ff" * 31),
    ("non-canonical field encoding", "ff" * 31 + "7f"),
    ("non-canonical field encoding", "f3" + "ff" * 30 + "7f"),
    ("non-canonical field encoding", "ed" + "ff" * 30 + "7f"),
    ("negative field element", "01" + "00" * 31),
    ("negative field element", "01" + "ff" * 30 + "7f"),
    ("negative field element", "ed57ffd8c914fb201471d1c3d245ce3c746fcbe63a3679d51b6a516ebebe0e20"),
    ("negative field element", "c34c4e1826e5d403b78e246e88aa051c36ccf0aafebffe137d148a2bf9104562"),
    ("negative field element", "c940e5a4404157cfb1628b108db051a8d439e1a421394ec4ebccb9ec92a8ac78"),
    ("negative field element", "47cfc5497c53dc8e61c91d17fd626ffb1c49e2bca94eed052281b510b1117a24"),
    ("negative field element", "f1c6165d33367351b0da8f6e4511010c68174a03b6581212c71c0e1d026c3c72"),
    ("negative field element", "87260f7a2f12495118360f02c26a470f450dadf34a413d21042b43b9d93e1309"),
    ("non-square x^2", "26948d35ca62e643e26a83177332e6b6afeb9d08e4268b650f1f5bbd8d81d371"),
    ("non-square x^2", "4eac077a713c57b4f4397629a4145982c661f48044dd3f96427d40b147d9742f"),
    ("non-square x^2", "de6a7b00deadc788eb6b6c8d20c0ae96c2f2019078fa604fee5b87d6e989ad7b"),
    ("non-square x^2", "bcab477be20861e01e4a0e295284146a510150d9817763caf1a6f4b422d67042"),
    ("non-square x^2", "2a292df7e32cababbd9de088d1d1abec9fc0440f637ed2fba145094dc14bea08"),
    ("non-square x^2", "f4a9e534fc0d216c44b218fa0c42d99635a0127ee2e53c712f70609649fdff22"),
    ("non-square x^2", "8268436f8c4126196cf64b3c7ddbda90746a378625f9813dd9b8457077256731"),
    ("non-square x^2", "2810e5cbc2cc4d4eece54f61c6f69758e289aa7ab440b3cbeaa21995c2f4232b"),
    ("negative xy value", "3eb858e78f5a7254d8c9731174a94f76755fd3941c0ac93735c07ba14579630e"),
    ("negative xy value", "a45fdc55c76448c049a1ab33f17023edfb2be3581e9c7aade8a6125215e04220"),
    ("negative xy value", "d483fe813c6ba647ebbfd3ec41adca1c6130c2beeee9d9bf065c8d151c5f396e"),
    ("negative xy value", "8a2e1d30050198c65a54483123960ccc38aef6848e1ec8f5f780e8523769ba32"),
    ("negative xy value", "32888462f8b486c68ad7dd9610be5192bbeaf3b443951ac1a8118419d9fa097b"),
    ("negative xy value", "227142501b9d4355ccba290404bde41575b037693cef1f438c47f8fbf35d1165"),
    ("negative xy value", "5c37cc491da847cfeb9281d407efc41e15144c876e0170b499a96a22ed31e01e"),
    ("negative xy value", "445425117cb8c90edcbc7c1cc0e74f747f2c1efa5630a967c64f287792a48a4b"),
    ("s = -1 (y = 0)", "ec" + "ff" * 30 + "7f"),
]
TOP_BIT = "bit 255 set (value >= 2^255 > p; the point without that bit is valid)"


# --------------------------------------------------------------------------- helpers


def fixed_scalar(group: Group, label: str) -> int:
    """A fixed scalar in [1, q): SHA-512(SEED || group name || 0 || label) mod (q-1) + 1."""
    digest = hashlib.sha512(SEED + group.name.encode() + b"\x00" + label.encode()).digest()
    return int.from_bytes(digest, "big") % (group.q - 1) + 1


@contextmanager
def fixed_draws(group: Group, label: str) -> Iterator[list[int]]:
    """Replace the group's random scalars by labelled fixed ones; yields the draws made."""
    drawn: list[int] = []

    def draw() -> int:
        v = fixed_scalar(group, f"{label}/draw {len(drawn)}")
        drawn.append(v)
        return v

    group.random_scalar = draw  # type: ignore[method-assign]
    try:
        yield drawn
    finally:
        del group.random_scalar


def sc(v: int) -> str:
    return v.to_bytes(SCALAR_BYTES, "big").hex()


def el(e: Element) -> str:
    return e.hex()


def part_json(p: Part) -> Any:
    """A hash part as JSON: a one-key object naming its type."""
    if isinstance(p, Element):
        return {"element": p.hex()}
    if isinstance(p, int):
        return {"int": str(p)}
    if isinstance(p, str):
        return {"string": p}
    if isinstance(p, bytes | bytearray):
        return {"bytes": bytes(p).hex()}
    return {"list": [part_json(x) for x in p]}


def challenge_input(tag: str, context: bytes, parts: Sequence[Part]) -> bytes:
    """The exact bytes hashed by SHA-512 for a challenge (spec: hashing.challenge)."""
    return encode_part(tag) + encode_part(context) + b"".join(encode_part(p) for p in parts)


def challenge_record(
    group: Group, tag: str, context: bytes, parts: Sequence[Part], with_input: bool
) -> dict[str, Any]:
    data = challenge_input(tag, context, parts)
    value = int.from_bytes(hashlib.sha512(data).digest(), "big") % group.q
    assert value == challenge(group, tag, context, *parts)
    out: dict[str, Any] = {"challenge": sc(value)}
    if with_input:
        out["challenge_input"] = data.hex()
    return out


def ct_json(ct: Ciphertext) -> dict[str, str]:
    return codec.ct_to_json(ct)


def other_element(group: Group, e: Element) -> Element:
    """A different valid element (e * g)."""
    return group.mul(e, group.generator())


def non_element(group: Group, e: Element) -> tuple[str, Element]:
    """An encoding a decoder must refuse, close to ``e``: for a modp group p - e (of
    order 2q, not in the subgroup); for ristretto255 ``e`` with bit 255 set."""
    if group.name == "ristretto255":
        raw = bytearray(e.to_bytes())
        raw[31] |= 0x80
        return "with bit 255 set", Element(group, bytes(raw))
    p = group.p  # type: ignore[attr-defined]
    return "not in the order-q subgroup (p - x)", Element(group, gmpy2.mpz(p - e.value))


# --------------------------------------------------------------------------- group


def group_section(group: Group) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": group.name,
        "q": sc(group.q),
        "element_bytes": group.element_bytes,
        "scalar_bytes": SCALAR_BYTES,
        "generator": el(group.generator()),
        "identity": el(group.identity()),
    }
    if hasattr(group, "p"):
        out["p"] = int(group.p).to_bytes(group.element_bytes, "big").hex()
    return out


def exponents(group: Group) -> list[int]:
    q = group.q
    ks = list(range(16))
    ks += [q - 1, q - 2, (q - 1) // 2, (q + 1) // 2, 2**128 + 1, 2**200 + 12345]
    ks += [fixed_scalar(group, f"exponent {i}") for i in range(3)]
    return ks


def arithmetic_section(group: Group) -> dict[str, Any]:
    g = group.generator()
    ident = group.identity()
    q = group.q
    g_pow = [{"k": sc(k), "element": el(group.g_pow(k))} for k in exponents(group)]

    base = group.g_pow(fixed_scalar(group, "pow base"))
    pow_cases = []
    for b in (g, base, ident):
        for k in (0, 1, 2, q - 1, fixed_scalar(group, "pow exponent")):
            pow_cases.append({"base": el(b), "k": sc(k), "element": el(group.pow(b, k))})

    a = group.g_pow(fixed_scalar(group, "mul a"))
    b = group.g_pow(fixed_scalar(group, "mul b"))
    pairs = [(a, b), (b, a), (a, a), (a, ident), (ident, a), (ident, ident), (g, g)]
    pairs += [(a, group.g_pow(q - fixed_scalar(group, "mul a")))]  # a * a^-1 = identity
    mul_cases = [
        {
            "a": el(x),
            "b": el(y),
            "product": el(group.mul(x, y)),
            "quotient": el(group.div(x, y)),
        }
        for x, y in pairs
    ]

    dlog_cases = [
        {"element": el(group.g_pow(m)), "bound": bound, "result": m}
        for m, bound in [(0, 0), (0, 10), (1, 1), (7, 10), (99, 100), (100, 100), (1000, 5000)]
    ]
    dlog_failures = [
        {"element": el(group.g_pow(m)), "bound": bound}
        for m, bound in [(1, 0), (101, 100), (q - 1, 100)]
    ]
    return {
        "g_pow": g_pow,
        "pow": pow_cases,
        "mul_div": mul_cases,
        "dlog": dlog_cases,
        "dlog_failures": dlog_failures,
    }


def modp_non_members(group: Group) -> list[tuple[str, int]]:
    p = int(group.p)  # type: ignore[attr-defined]
    q = group.q
    out: list[tuple[str, int]] = [("p - 1 (order 2)", p - 1)]
    small = next(x for x in range(2, 100) if pow(x, q, p) != 1)
    out.append((f"{small}, not in the order-q subgroup", small))
    out.append(
        ("g * (p - 1), not in the order-q subgroup", int(group.generator().value) * (p - 1) % p)
    )
    # An element of the complementary subgroup: x^q has order dividing (p - 1)/q.
    x = small
    out.append((f"{x}^q mod p, in the complementary subgroup", pow(x, q, p)))
    if group.name == "modp-4096":
        # p - 1 = 2 q r with r prime (ElectionGuard 2 spec): a generator of Z_p^* is an x
        # with x^((p-1)/2), x^((p-1)/q) and x^((p-1)/r) all different from 1.
        r = (p - 1) // (2 * q)
        assert gmpy2.is_prime(r, 25)
        gen = next(
            x for x in range(2, 1000) if all(pow(x, (p - 1) // f, p) != 1 for f in (2, q, r))
        )
        out.append((f"{gen}, a generator of Z_p^*", gen))
    return out


def encoding_section(group: Group) -> dict[str, Any]:
    n = group.element_bytes
    g = group.generator()
    valid = [group.identity(), g, group.g_pow(group.q - 1), group.g_pow(2)]
    invalid: list[dict[str, str]] = [
        {"hex": "", "reason": "empty"},
        {"hex": el(g)[:-2], "reason": f"{n - 1} bytes"},
        {"hex": el(g) + "00", "reason": f"{n + 1} bytes"},
        {"hex": "00" + el(g), "reason": f"{n + 1} bytes (leading zero)"},
    ]
    if group.name == "ristretto255":
        invalid += [{"hex": h, "reason": r} for r, h in RISTRETTO_BAD]
        for e in (group.identity(), g, group.g_pow(2)):
            raw = bytearray(e.to_bytes())
            raw[31] |= 0x80
            invalid.append({"hex": raw.hex(), "reason": TOP_BIT})
    else:
        p = int(group.p)  # type: ignore[attr-defined]
        for reason, v in [
            ("0", 0),
            ("p", p),
            ("p + 1", p + 1),
            ("p + g (g + p, not reduced)", p + int(g.value)),
            ("2^(8 * element_bytes) - 1", 2 ** (8 * n) - 1),
        ]:
            if v.bit_length() > 8 * n:
                continue
            invalid.append({"hex": v.to_bytes(n, "big").hex(), "reason": reason})
        for reason, v in modp_non_members(group):
            invalid.append({"hex": v.to_bytes(n, "big").hex(), "reason": reason})

    q = group.q
    valid_scalars = [sc(v) for v in (0, 1, 2, q - 1)]
    invalid_scalars = [
        {"hex": sc(q), "reason": "q"},
        {"hex": sc(q + 1), "reason": "q + 1"},
        {"hex": "ff" * 32, "reason": "2^256 - 1"},
        {"hex": "00" * 31, "reason": "31 bytes"},
        {"hex": "00" * 33, "reason": "33 bytes"},
        {"hex": "", "reason": "empty"},
    ]
    gh = el(g)
    invalid_text = [
        {"text": gh.upper(), "reason": "uppercase hex"},
        {"text": "0x" + gh, "reason": "0x prefix"},
        {"text": gh[:2] + " " + gh[2:], "reason": "white space"},
        {"text": gh[:-1], "reason": "odd number of digits"},
        {"text": gh[:-1] + "g", "reason": "not a hex digit"},
    ]
    one = sc(1)
    invalid_scalar_text = [
        {"text": sc(q - 1).upper(), "reason": "uppercase hex"},
        {"text": one[1:], "reason": "63 digits"},
        {"text": "0" + one, "reason": "65 digits"},
        {"text": "0x" + one[2:], "reason": "0x prefix"},
    ]
    return {
        "valid_elements": [el(e) for e in valid],
        "invalid_elements": invalid,
        "valid_scalars": valid_scalars,
        "invalid_scalars": invalid_scalars,
        "invalid_element_text": invalid_text,
        "invalid_scalar_text": invalid_scalar_text,
    }


# --------------------------------------------------------------------------- hashing


def hashing_section(group: Group) -> dict[str, Any]:
    g = group.generator()
    a = group.g_pow(fixed_scalar(group, "hash element"))
    single: list[Part] = [
        group.identity(),
        g,
        a,
        0,
        1,
        255,
        256,
        2**64,
        group.q - 1,
        "",
        "plebiscite",
        "Zürich – Genève ✓ 😀",
        b"",
        b"\x00",
        bytes(range(40)),
        [],
        [0],
        [[], [[]]],
        ["a", 1, b"\x01", g, [a, "b", []]],
    ]
    encode_cases = [{"part": part_json(p), "encoding": encode_part(p).hex()} for p in single]
    lists: list[tuple[str, list[Part]]] = [
        ("plebiscite/v1/test", []),
        ("plebiscite/v1/test", [0]),
        ("plebiscite/v1/test", [b""]),
        ("plebiscite/v1/test", [""]),
        ("plebiscite/v1/test", [[]]),
        ("", [g, a, 0, 1, "é", b"\xff", [g, [1, 2]]]),
        ("plebiscite/v1/ünïcödé", ["ünïcödé", [group.identity(), 2**255]]),
        ("plebiscite/v1/test", [["ab"], "c"]),
        ("plebiscite/v1/test", [["a", "bc"]]),
    ]
    hash_cases = [
        {
            "tag": tag,
            "parts": [part_json(p) for p in parts],
            "input": (encode_part(tag) + b"".join(encode_part(p) for p in parts)).hex(),
            "digest": hash_parts(tag, *parts).hex(),
        }
        for tag, parts in lists
    ]
    ctx = hash_parts("plebiscite/v1/test-context", group.name)
    chal_lists: list[tuple[str, bytes, list[Part]]] = [
        ("plebiscite/v1/test", b"", []),
        ("plebiscite/v1/test", ctx, [g, a, [0, 1], ["cred", "region"], [a, a]]),
        (TAG_OPTION, ctx, [0, "", b"", []]),
        (TAG_QUESTION, bytes(32), [group.q - 1, "Ω"]),
    ]
    chal_cases = []
    for tag, context, parts in chal_lists:
        data = challenge_input(tag, context, parts)
        digest = hashlib.sha512(data).digest()
        chal_cases.append(
            {
                "tag": tag,
                "context": context.hex(),
                "parts": [part_json(p) for p in parts],
                "input": data.hex(),
                "sha512": digest.hex(),
                "challenge": sc(challenge(group, tag, context, *parts)),
            }
        )
    return {"encode_part": encode_cases, "hash_parts": hash_cases, "challenge": chal_cases}


# --------------------------------------------------------------------------- elgamal


def elgamal_section(group: Group) -> dict[str, Any]:
    secret = fixed_scalar(group, "elgamal secret")
    key = group.g_pow(secret)
    inputs = [
        (0, fixed_scalar(group, "elgamal nonce 0")),
        (1, fixed_scalar(group, "elgamal nonce 1")),
    ]
    inputs += [(m, fixed_scalar(group, f"elgamal nonce m={m}")) for m in (1, 5, 42)]
    inputs += [(0, 1), (3, group.q - 1)]
    cases = []
    cts = []
    for m, r in inputs:
        ct = encrypt(group, key, m, r)
        cts.append(ct)
        cases.append({"message": m, "nonce": sc(r), "ciphertext": ct_json(ct)})
    total = sum(m for m, _ in inputs)
    summed = combine(group, cts)
    return {
        "secret": sc(secret),
        "key": el(key),
        "encryptions": cases,
        "sum": {"ciphertext": ct_json(summed), "message": total},
        "identity_ciphertext": ct_json(Ciphertext(group.identity(), group.identity())),
    }


# --------------------------------------------------------------------------- proofs


def schnorr_json(group: Group, p: SchnorrProof) -> dict[str, str]:
    return codec.schnorr_to_json(group, p)


def schnorr_section(group: Group, ctx: bytes, other_ctx: bytes) -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = []

    def case(
        name: str,
        valid: bool,
        tag: str,
        context: bytes,
        public: Element,
        bind: Part,
        proof: SchnorrProof,
        prover: dict[str, Any] | None = None,
    ) -> None:
        parts: list[Part] = [group.generator(), public, bind, proof.commitment]
        rec: dict[str, Any] = {
            "name": name,
            "valid": valid,
            "tag": tag,
            "context": context.hex(),
            "public": el(public),
            "bind": part_json(bind),
            "proof": schnorr_json(group, proof),
            **challenge_record(group, tag, context, parts, with_input=valid),
        }
        if prover:
            rec["prover"] = prover
        cases.append(rec)

    specs: list[tuple[str, str, Part]] = [
        ("coefficient", TAG_COEFFICIENT, ["guardian-1", 0]),
        ("share key", TAG_SHARE_KEY, ["guardian-2"]),
        ("empty bind", "plebiscite/v1/test", []),
    ]
    for label, tag, bind in specs:
        x = fixed_scalar(group, f"schnorr secret {label}")
        public = group.g_pow(x)
        with fixed_draws(group, f"schnorr {label}") as drawn:
            proof = prove_schnorr(group, tag, ctx, x, public, bind)
        prover = {"secret": sc(x), "w": sc(drawn[0])}
        case(f"honest ({label})", True, tag, ctx, public, bind, proof, prover)
        if label != "coefficient":
            continue
        q = group.q
        other_public = group.g_pow(fixed_scalar(group, "schnorr other secret"))
        bad: list[tuple[str, str, bytes, Element, Part, SchnorrProof]] = [
            (
                "response + 1",
                tag,
                ctx,
                public,
                bind,
                SchnorrProof(proof.commitment, (proof.response + 1) % q),
            ),
            ("response 0", tag, ctx, public, bind, SchnorrProof(proof.commitment, 0)),
            (
                "commitment * g",
                tag,
                ctx,
                public,
                bind,
                SchnorrProof(other_element(group, proof.commitment), proof.response),
            ),
            (
                "commitment = identity",
                tag,
                ctx,
                public,
                bind,
                SchnorrProof(group.identity(), proof.response),
            ),
            (
                f"commitment {non_element(group, proof.commitment)[0]}",
                tag,
                ctx,
                public,
                bind,
                SchnorrProof(non_element(group, proof.commitment)[1], proof.response),
            ),
            ("other public key", tag, ctx, other_public, bind, proof),
            ("public key = identity", tag, ctx, group.identity(), bind, proof),
            ("other bind (guardian)", tag, ctx, public, ["guardian-2", 0], proof),
            ("other bind (coefficient index)", tag, ctx, public, ["guardian-1", 1], proof),
            ("bind flattened", tag, ctx, public, "guardian-1", proof),
            ("other context", tag, other_ctx, public, bind, proof),
            ("other tag", TAG_SHARE_KEY, ctx, public, bind, proof),
        ]
        for name, t, cx, pub, bd, pf in bad:
            case(name, False, t, cx, pub, bd, pf)
    return cases


def equality_section(group: Group, ctx: bytes, other_ctx: bytes) -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = []
    g = group.generator()
    q = group.q

    def case(
        name: str,
        valid: bool,
        tag: str,
        context: bytes,
        st: tuple[Element, Element, Element, Element],
        bind: Part,
        proof: EqualityProof,
        prover: dict[str, Any] | None = None,
    ) -> None:
        g1, x1, g2, x2 = st
        parts: list[Part] = [g1, x1, g2, x2, bind, proof.a, proof.b]
        rec: dict[str, Any] = {
            "name": name,
            "valid": valid,
            "tag": tag,
            "context": context.hex(),
            "g1": el(g1),
            "x1": el(x1),
            "g2": el(g2),
            "x2": el(x2),
            "bind": part_json(bind),
            "proof": codec.equality_to_json(group, proof),
            **challenge_record(group, tag, context, parts, with_input=valid),
        }
        if prover:
            rec["prover"] = prover
        cases.append(rec)

    # A decryption share: log_g K_j == log_alpha D.
    s = fixed_scalar(group, "equality share")
    vk = group.g_pow(s)
    alpha = group.g_pow(fixed_scalar(group, "equality alpha"))
    d = group.pow(alpha, s)
    bind = decryption_bind("guardian-1", "region-a", "q1", "yes")
    st = (g, vk, alpha, d)
    with fixed_draws(group, "equality decryption") as drawn:
        proof = prove_equality(group, TAG_DECRYPTION, ctx, s, g, vk, alpha, d, bind)
    case(
        "honest (decryption share)",
        True,
        TAG_DECRYPTION,
        ctx,
        st,
        bind,
        proof,
        {"secret": sc(s), "w": sc(drawn[0])},
    )
    # Another honest one with identity-free arbitrary bases and an empty bind.
    h = group.g_pow(fixed_scalar(group, "equality h"))
    x = fixed_scalar(group, "equality x")
    st2 = (h, group.pow(h, x), alpha, group.pow(alpha, x))
    with fixed_draws(group, "equality plain") as drawn2:
        proof2 = prove_equality(group, "plebiscite/v1/test", ctx, x, *st2, [])
    case(
        "honest (two bases, empty bind)",
        True,
        "plebiscite/v1/test",
        ctx,
        st2,
        [],
        proof2,
        {"secret": sc(x), "w": sc(drawn2[0])},
    )

    bad: list[
        tuple[str, str, bytes, tuple[Element, Element, Element, Element], Part, EqualityProof]
    ] = [
        (
            "response + 1",
            TAG_DECRYPTION,
            ctx,
            st,
            bind,
            EqualityProof(proof.a, proof.b, (proof.response + 1) % q),
        ),
        (
            "a * g",
            TAG_DECRYPTION,
            ctx,
            st,
            bind,
            EqualityProof(other_element(group, proof.a), proof.b, proof.response),
        ),
        (
            "b * g",
            TAG_DECRYPTION,
            ctx,
            st,
            bind,
            EqualityProof(proof.a, other_element(group, proof.b), proof.response),
        ),
        (
            "a and b swapped",
            TAG_DECRYPTION,
            ctx,
            st,
            bind,
            EqualityProof(proof.b, proof.a, proof.response),
        ),
        (
            f"b {non_element(group, proof.b)[0]}",
            TAG_DECRYPTION,
            ctx,
            st,
            bind,
            EqualityProof(proof.a, non_element(group, proof.b)[1], proof.response),
        ),
        (
            "other share (x2 * g)",
            TAG_DECRYPTION,
            ctx,
            (g, vk, alpha, other_element(group, d)),
            bind,
            proof,
        ),
        (
            "other verification key (x1 * g)",
            TAG_DECRYPTION,
            ctx,
            (g, other_element(group, vk), alpha, d),
            bind,
            proof,
        ),
        (
            "other base g2",
            TAG_DECRYPTION,
            ctx,
            (g, vk, other_element(group, alpha), d),
            bind,
            proof,
        ),
        ("statements swapped", TAG_DECRYPTION, ctx, (alpha, d, g, vk), bind, proof),
        (
            "other bind (slot)",
            TAG_DECRYPTION,
            ctx,
            st,
            decryption_bind("guardian-1", "region-a", "q1", "no"),
            proof,
        ),
        (
            "other bind (guardian)",
            TAG_DECRYPTION,
            ctx,
            st,
            decryption_bind("guardian-2", "region-a", "q1", "yes"),
            proof,
        ),
        ("other context", TAG_DECRYPTION, other_ctx, st, bind, proof),
        ("other tag", TAG_OPTION, ctx, st, bind, proof),
    ]
    for name, t, cx, s2, bd, pf in bad:
        case(name, False, t, cx, s2, bd, pf)
    return cases


def range_section(group: Group, ctx: bytes, other_ctx: bytes) -> dict[str, Any]:
    q = group.q
    g = group.generator()
    secret = fixed_scalar(group, "range secret")
    key = group.g_pow(secret)
    other_key = group.g_pow(fixed_scalar(group, "range other secret"))
    cases: list[dict[str, Any]] = []

    def case(
        name: str,
        valid: bool,
        tag: str,
        context: bytes,
        k: Element,
        ct: Ciphertext,
        values: Sequence[int],
        bind: Part,
        proof: RangeProof,
        prover: dict[str, Any] | None = None,
    ) -> None:
        commitments: list[Part] = []
        for br in proof.branches:
            commitments += [br.a, br.b]
        parts: list[Part] = [g, k, ct.alpha, ct.beta, list(values), bind, commitments]
        rec: dict[str, Any] = {
            "name": name,
            "valid": valid,
            "tag": tag,
            "context": context.hex(),
            "key": el(k),
            "ciphertext": ct_json(ct),
            "values": list(values),
            "bind": part_json(bind),
            "proof": codec.range_to_json(group, proof),
            **challenge_record(group, tag, context, parts, with_input=valid),
        }
        if prover:
            rec["prover"] = prover
        cases.append(rec)

    honest: dict[str, tuple[str, Ciphertext, list[int], Part, RangeProof]] = {}
    specs: list[tuple[str, str, int, list[int], Part]] = [
        ("0/1, m=0", TAG_OPTION, 0, [0, 1], option_bind("CRED", "region-a", "q1", "yes")),
        ("0/1, m=1", TAG_OPTION, 1, [0, 1], option_bind("CRED", "region-a", "q1", "no")),
        ("0..2, m=0", TAG_QUESTION, 0, [0, 1, 2], question_bind("CRED", "region-a", "q1")),
        ("1..3, m=1", TAG_QUESTION, 1, [1, 2, 3], question_bind("CRED", "region-a", "q1")),
        ("1..3, m=2", TAG_QUESTION, 2, [1, 2, 3], question_bind("CRED", "region-a", "q2")),
        ("1..3, m=3", TAG_QUESTION, 3, [1, 2, 3], question_bind("CRED", "region-a", "q3")),
        ("0..4, m=4", TAG_QUESTION, 4, [0, 1, 2, 3, 4], question_bind("CRED", "region-b", "q1")),
        ("2..2, m=2", TAG_QUESTION, 2, [2], question_bind("CRED", "region-b", "q2")),
    ]
    for label, tag, m, values, bind in specs:
        r = fixed_scalar(group, f"range nonce {label}")
        ct = encrypt(group, key, m, r)
        with fixed_draws(group, f"range {label}") as drawn:
            proof = prove_range(group, tag, ctx, key, ct, r, m, values, bind)
        real = values.index(m)
        w = (proof.branches[real].response + proof.branches[real].challenge * r) % q
        assert w == drawn[0]
        prover = {
            "message": m,
            "nonce": sc(r),
            "real_branch": real,
            "w": sc(w),
            "draws": [sc(v) for v in drawn],
        }
        case(f"honest ({label})", True, tag, ctx, key, ct, values, bind, proof, prover)
        honest[label] = (tag, ct, values, bind, proof)

    def with_branch(p: RangeProof, i: int, **changes: Any) -> RangeProof:
        brs = list(p.branches)
        b = brs[i]
        brs[i] = Branch(
            changes.get("a", b.a),
            changes.get("b", b.b),
            changes.get("challenge", b.challenge),
            changes.get("response", b.response),
        )
        return RangeProof(tuple(brs))

    tag, ct, values, bind, proof = honest["1..3, m=3"]
    b0, b1, b2 = proof.branches
    beta_plus = Ciphertext(ct.alpha, group.mul(ct.beta, g))  # encrypts 4
    beta_minus = Ciphertext(ct.alpha, group.div(ct.beta, g))  # encrypts 2, still allowed
    shifted = RangeProof(
        (
            with_branch(proof, 0, challenge=(b0.challenge + 1) % q).branches[0],
            with_branch(proof, 1, challenge=(b1.challenge - 1) % q).branches[1],
            b2,
        )
    )
    bad: list[tuple[str, str, bytes, Element, Ciphertext, list[int], Part, RangeProof]] = [
        (
            "real branch challenge + 1",
            tag,
            ctx,
            key,
            ct,
            values,
            bind,
            with_branch(proof, 2, challenge=(b2.challenge + 1) % q),
        ),
        (
            "simulated branch challenge + 1",
            tag,
            ctx,
            key,
            ct,
            values,
            bind,
            with_branch(proof, 0, challenge=(b0.challenge + 1) % q),
        ),
        (
            "challenges shifted between branches (sum kept)",
            tag,
            ctx,
            key,
            ct,
            values,
            bind,
            shifted,
        ),
        (
            "real branch response + 1",
            tag,
            ctx,
            key,
            ct,
            values,
            bind,
            with_branch(proof, 2, response=(b2.response + 1) % q),
        ),
        (
            "simulated branch response + 1",
            tag,
            ctx,
            key,
            ct,
            values,
            bind,
            with_branch(proof, 1, response=(b1.response + 1) % q),
        ),
        (
            "real branch a * g",
            tag,
            ctx,
            key,
            ct,
            values,
            bind,
            with_branch(proof, 2, a=other_element(group, b2.a)),
        ),
        (
            "simulated branch b * g",
            tag,
            ctx,
            key,
            ct,
            values,
            bind,
            with_branch(proof, 0, b=other_element(group, b0.b)),
        ),
        (
            f"simulated branch a {non_element(group, b0.a)[0]}",
            tag,
            ctx,
            key,
            ct,
            values,
            bind,
            with_branch(proof, 0, a=non_element(group, b0.a)[1]),
        ),
        ("branches swapped", tag, ctx, key, ct, values, bind, RangeProof((b1, b0, b2))),
        ("last branch dropped", tag, ctx, key, ct, values, bind, RangeProof((b0, b1))),
        ("first branch repeated", tag, ctx, key, ct, values, bind, RangeProof((b0, b0, b1, b2))),
        ("values 0..2 instead of 1..3", tag, ctx, key, ct, [0, 1, 2], bind, proof),
        ("values 2..4 instead of 1..3", tag, ctx, key, ct, [2, 3, 4], bind, proof),
        ("values reordered", tag, ctx, key, ct, [3, 2, 1], bind, proof),
        ("other key", tag, ctx, other_key, ct, values, bind, proof),
        ("ciphertext beta * g (encrypts 4)", tag, ctx, key, beta_plus, values, bind, proof),
        ("ciphertext beta / g (encrypts 2)", tag, ctx, key, beta_minus, values, bind, proof),
        (
            "ciphertext alpha * g",
            tag,
            ctx,
            key,
            Ciphertext(other_element(group, ct.alpha), ct.beta),
            values,
            bind,
            proof,
        ),
        (
            "other bind (credential)",
            tag,
            ctx,
            key,
            ct,
            values,
            question_bind("CRED2", "region-a", "q3"),
            proof,
        ),
        (
            "other bind (question)",
            tag,
            ctx,
            key,
            ct,
            values,
            question_bind("CRED", "region-a", "q1"),
            proof,
        ),
        ("no bind", tag, ctx, key, ct, values, [], proof),
        ("other context", tag, other_ctx, key, ct, values, bind, proof),
        ("other tag", TAG_OPTION, ctx, key, ct, values, bind, proof),
    ]
    tag01, ct01, values01, bind01, proof01 = honest["0/1, m=1"]
    bad += [
        (
            "0/1: ciphertext encrypts 2",
            tag01,
            ctx,
            key,
            Ciphertext(ct01.alpha, group.mul(ct01.beta, g)),
            values01,
            bind01,
            proof01,
        ),
        ("0/1: values [1, 2]", tag01, ctx, key, ct01, [1, 2], bind01, proof01),
        (
            "0/1: proof moved to the other option",
            tag01,
            ctx,
            key,
            ct01,
            values01,
            option_bind("CRED", "region-a", "q1", "yes"),
            proof01,
        ),
        ("0/1: other key", tag01, ctx, other_key, ct01, values01, bind01, proof01),
        ("0/1: other context", tag01, other_ctx, key, ct01, values01, bind01, proof01),
        (
            "0/1: response + 1",
            tag01,
            ctx,
            key,
            ct01,
            values01,
            bind01,
            with_branch(proof01, 0, response=(proof01.branches[0].response + 1) % q),
        ),
    ]
    for name, t, cx, k, cc, vs, bd, pf in bad:
        case(name, False, t, cx, k, cc, vs, bd, pf)
    return {"secret": sc(secret), "key": el(key), "cases": cases}


# --------------------------------------------------------------------------- threshold


def threshold_section(group: Group) -> dict[str, Any]:
    n, k = 4, 3
    q = group.q
    polys = [
        [fixed_scalar(group, f"guardian {i} coefficient {m}") for m in range(k)]
        for i in range(1, n + 1)
    ]
    all_commitments = [threshold.commit(group, p) for p in polys]
    poly_json = []
    for i, (p, cs) in enumerate(zip(polys, all_commitments, strict=True), start=1):
        evals = []
        for x in range(0, n + 1):
            v = threshold.evaluate(group, p, x)
            evals.append(
                {
                    "x": x,
                    "value": sc(v),
                    "commitment_at": el(threshold.commitment_at(group, cs, x)),
                }
            )
        poly_json.append(
            {
                "guardian": i,
                "coefficients": [sc(a) for a in p],
                "commitments": [el(cm) for cm in cs],
                "evaluations": evals,
            }
        )
    invalid_shares = []
    for i, j, delta in [(1, 2, 1), (2, 1, q - 1), (3, 4, 2**100)]:
        v = (threshold.evaluate(group, polys[i - 1], j) + delta) % q
        invalid_shares.append({"guardian": i, "x": j, "share": sc(v)})
    # Also: a valid share presented for the wrong recipient.
    invalid_shares.append(
        {"guardian": 1, "x": 3, "share": sc(threshold.evaluate(group, polys[0], 2))}
    )
    shares = {j: sum(threshold.evaluate(group, p, j) for p in polys) % q for j in range(1, n + 1)}
    secret = sum(p[0] for p in polys) % q
    joint = threshold.joint_key(group, all_commitments)
    assert joint == group.g_pow(secret)
    combined = [
        {
            "x": j,
            "share": sc(s),
            "verification_key": el(threshold.verification_key(group, all_commitments, j)),
        }
        for j, s in shares.items()
    ]
    lagrange = []
    for present in ([1, 2, 3], [1, 2, 4], [1, 3, 4], [2, 3, 4], [4, 2, 1], [1, 2, 3, 4]):
        coeffs = [threshold.lagrange_at_zero(group, j, present) for j in present]
        rec = sum(lam * shares[j] for lam, j in zip(coeffs, present, strict=True)) % q
        assert rec == secret
        lagrange.append(
            {
                "present": present,
                "coefficients": [sc(v) for v in coeffs],
                "recombined": sc(rec),
            }
        )
    # Threshold decryption of one ciphertext with the first three guardians.
    m = 7
    ct = encrypt(group, joint, m, fixed_scalar(group, "threshold nonce"))
    present = [1, 3, 4]
    partials = {j: group.pow(ct.alpha, shares[j]) for j in present}
    lams = {j: threshold.lagrange_at_zero(group, j, present) for j in present}
    mask = group.prod(group.pow(partials[j], lams[j]) for j in present)
    assert group.div(ct.beta, mask) == group.g_pow(m)
    return {
        "guardians": n,
        "quorum": k,
        "polynomials": poly_json,
        "invalid_shares": invalid_shares,
        "shares": combined,
        "joint_secret": sc(secret),
        "joint_key": el(joint),
        "lagrange_at_zero": lagrange,
        "decryption": {
            "ciphertext": ct_json(ct),
            "message": m,
            "present": present,
            "partials": [{"x": j, "partial": el(partials[j])} for j in present],
            "combined_partial": el(mask),
            "g_pow_message": el(group.g_pow(m)),
        },
    }


# --------------------------------------------------------------------------- files

CRYPTO_DESCRIPTION = (
    "Known-answer vectors for plebiscite's cryptographic core over one group. Elements: "
    "lowercase hex of the canonical encoding (ristretto255: RFC 9496, 32 bytes, identity = "
    "32 zero bytes; modp groups: big-endian, fixed length = element_bytes, identity = 1). "
    "Scalars: 64 lowercase hex digits, 32 bytes big-endian, must be < q. The group is "
    "written multiplicatively (ristretto255 point addition is 'mul', scalar multiplication "
    "is 'pow'). Exponents are reduced mod q. Hash parts are one-key objects: element "
    "(hex), int (decimal string, non-negative), string (text), bytes (hex), list (parts); "
    "encode_part = one type byte ('E','I','S','B','L') + 4-byte big-endian length (byte "
    "length, or item count for a list) + body (int: minimal big-endian bytes, 0 is empty; "
    "string: UTF-8). hash_parts(tag, parts) = SHA-256(encode_part(tag) || parts...). "
    "challenge(tag, context, parts) = SHA-512(encode_part(tag) || encode_part(context as "
    "bytes) || parts...) as a big-endian integer mod q. Proofs use s = w - c*x mod q, "
    "checked as base^s * public^c == commitment. Challenge parts: schnorr [g, public, bind, "
    "commitment]; equality [g1, x1, g2, x2, bind, a, b]; range [g, key, alpha, beta, "
    "values (list of ints), bind, [a_0, b_0, a_1, b_1, ...]]; a range proof holds when "
    "len(branches) == len(values), sum of branch challenges == challenge mod q, and for "
    "every branch j: g^s_j alpha^c_j == a_j and key^s_j (beta / g^values[j])^c_j == b_j. "
    "Proof objects are the board's JSON forms. 'valid' is the required verdict (a false "
    "one may come from refusing to decode an encoding or from the verification); "
    "'challenge' is the challenge recomputed over that case's statement (also for invalid "
    "cases), 'challenge_input' the exact SHA-512 input (valid cases). 'prover' gives the "
    "witness and fixed prover randomness ('draws' in draw order: w, then c_j, s_j of each "
    "simulated branch in order). Threshold: guardians are numbered from 1; P(x) = sum "
    "a_m x^m mod q; commitments C_m = g^a_m; share s_j = sum_i P_i(j); verification key "
    "g^s_j; joint key prod_i C_{i,0}. Regenerate with tests/vectors/generate.py."
)


def crypto_vectors(name: str) -> dict[str, Any]:
    group = get_group(name)
    ctx = hash_parts("plebiscite/v1/test-context", group.name, "election-1")
    other_ctx = hash_parts("plebiscite/v1/test-context", group.name, "election-2")
    return {
        "description": CRYPTO_DESCRIPTION,
        "group": group_section(group),
        "arithmetic": arithmetic_section(group),
        "encoding": encoding_section(group),
        "hashing": hashing_section(group),
        "elgamal": elgamal_section(group),
        "proof_context": ctx.hex(),
        "schnorr": schnorr_section(group, ctx, other_ctx),
        "equality": equality_section(group, ctx, other_ctx),
        "range": range_section(group, ctx, other_ctx),
        "threshold": threshold_section(group),
    }


# --------------------------------------------------------------------------- protocol


def js_number(x: float) -> str:
    """ECMAScript Number::toString for a finite float (what JSON.stringify writes)."""
    if x == 0:
        return "0"
    if x < 0:
        return "-" + js_number(-x)
    mantissa, _, exp = repr(x).partition("e")
    int_part, _, frac_part = mantissa.partition(".")
    all_digits = int_part + frac_part
    digits = all_digits.lstrip("0")
    # value = 0.<digits> * 10^point (ECMA-262 Number::toString, n)
    point = len(int_part) - (len(all_digits) - len(digits)) + (int(exp) if exp else 0)
    digits = digits.rstrip("0") or "0"
    k, n = len(digits), point
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return "0." + "0" * (-n) + digits
    e = n - 1
    sign = "+" if e >= 0 else "-"
    return digits[0] + ("." + digits[1:] if k > 1 else "") + "e" + sign + str(abs(e))


def reference_canonical(value: Any) -> str:
    """The canonical JSON text, written independently of plebiscite.record.canonical:
    keys sorted by Unicode code point, no white space, JSON.stringify's string escapes
    and number forms, integral floats written as integers."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        assert abs(value) < 2**53
        return str(value)
    if isinstance(value, float):
        assert 0 <= value <= 1
        return js_number(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ",".join(reference_canonical(v) for v in value) + "]"
    assert isinstance(value, dict)
    items = sorted(value.items(), key=lambda kv: [ord(ch) for ch in kv[0]])
    return (
        "{"
        + ",".join(
            json.dumps(k, ensure_ascii=False) + ":" + reference_canonical(v) for k, v in items
        )
        + "}"
    )


CANONICAL_VALUES: list[Any] = [
    {"b": 1, "a": [1, 2, {"d": None, "c": True}], "é": "ünïcödé ✓", "\uff01": 0, "😀": False},
    {"B": 1, "a": 2, "A": 3, "aa": 4, "a b": 5, "": 6, "\u00e9": 7, "e\u0301": 8},
    {"empty_list": [], "empty_object": {}, "nested": [[[]], [{}]]},
    {"share": 0.5, "whole": 1.0, "zero": 0.0, "list": [0.25, 1.0, 0.0, 1, 0]},
    [0.5, 0.1, 0.3333333333333333, 0.0001, 0.001, 0.999, 5e-324, -0.0],
    1e-05,
    1.5e-06,
    1e-07,
    {"share": 2.5e-05},
    [0, -1, 9007199254740991, -9007199254740991],
    'quote " backslash \\ slash / newline \n tab \t nul \u0000 unit \u001f del \u007f '
    "ls \u2028 ps \u2029 bmp \ufffd astral \U0001f600",
    None,
    True,
    "",
    {"title": "Référendum «oui/non»", "options": ["oui", "non"], "blank": True, "max": 1},
]
CANONICAL_INVALID: list[Any] = [
    1.5,
    -0.5,
    9007199254740992,
    -9007199254740992,
    {"share": 1.0000000000000002},
    [0.5, [2.5]],
]


def revote_chain_cases() -> dict[str, Any]:
    """Ballots of two credentials in board order, each with its 'replaces' and whether it
    extends its credential's chain; the final heads; and which values 'replaces' may
    take. Every verdict is set here by construction."""

    def code(label: str) -> str:
        return hashlib.sha256(f"revote chain {label}".encode()).hexdigest()

    steps = [
        ("alice", "a1", None, True),  # a first ballot
        ("bob", "b1", None, True),
        ("alice", "a2", "a1", True),  # a revote
        ("alice", "a3", "a1", False),  # stale: built before a2 reached the board
        ("alice", "a4", None, False),  # a second "first" ballot: stale too
        ("bob", "b2", "a1", False),  # another credential's head
        ("alice", "a5", "a2", True),  # the off-chain ballots changed nothing
        ("alice", "a6", "a2", False),  # a5 is the head now
        ("bob", "b3", "b1", True),
    ]
    ballots = [
        {
            "credential": cred,
            "tracking_code": code(label),
            "replaces": code(rep) if rep else None,
            "extends": extends,
        }
        for cred, label, rep, extends in steps
    ]
    x = code("x")
    values = [
        (None, True),
        (x, True),
        (x.upper(), False),
        (x[:63], False),
        (x + "0", False),
        (7, False),
        ("", False),
        (["a"], False),
    ]
    return {
        "ballots": ballots,
        "heads": {"alice": code("a5"), "bob": code("b3"), "carol": None},
        "replaces": [{"value": v, "valid": ok} for v, ok in values],
    }


def credential_cases() -> list[dict[str, Any]]:
    cases = []
    for eid, cred in [
        ("election-1", "ABCDE-FGHJK-LMNPQ-RSTUV-WXYZ2"),
        ("election-1", "  abcde fghjk-lmnpq RSTUV-wxyz2 \n"),
        ("election-2", "ABCDE-FGHJK-LMNPQ-RSTUV-WXYZ2"),
        ("election-1", "23456-789AB-CDEFG-HJKLM-NPQRS"),
        ("référendum-2026", "ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZ"),
        ("election-1", "ABCDE-FGHJK-LMNPQ-RSTUV-WXYZ0"),
        ("election-1", "short"),
    ]:
        norm = cred.strip().replace("-", "").replace(" ", "").upper()
        seed_input = f"{TAG_CREDENTIAL}\n{eid}\n{norm}".encode()
        seed = hashlib.sha256(seed_input).digest()
        assert seed == credential_seed(eid, cred)
        pub = public_credential(eid, cred)
        assert len(base64.b64decode(pub)) == 32
        cases.append(
            {
                "election_id": eid,
                "credential": cred,
                "well_formed": is_well_formed(cred),
                "normalised": norm,
                "seed_input": seed_input.hex(),
                "seed": seed.hex(),
                "public_key": pub,
            }
        )
    return cases


def protocol_vectors() -> dict[str, Any]:
    canonical = []
    for v in CANONICAL_VALUES:
        text = reference_canonical(v)
        canonical.append({"value": v, "canonical": text, "canonical_hex": text.encode().hex()})

    contexts = []
    trackings = []
    totals = []
    for name in GROUP_NAMES:
        group = get_group(name)
        commitments = [
            [group.g_pow(fixed_scalar(group, f"context commitment {i} {m}")) for m in range(2)]
            for i in range(3)
        ]
        joint = group.prod(cs[0] for cs in commitments)
        ctx = context_hash(group, "election-1", 2, commitments, joint)
        parts: list[Part] = [
            "election-1",
            group.name,
            3,
            2,
            [list(cs) for cs in commitments],
            joint,
        ]
        contexts.append(
            {
                "group": name,
                "election_id": "election-1",
                "guardians": 3,
                "quorum": 2,
                "commitments": [[el(x) for x in cs] for cs in commitments],
                "joint_key": el(joint),
                "hash_input": (
                    encode_part(TAG_CONTEXT) + b"".join(encode_part(p) for p in parts)
                ).hex(),
                "context_hash": ctx.hex(),
            }
        )
        key = joint
        q1 = Question("q1", "Which?", ("yes", "no", "maybe"), 1, 2, True)
        cases = []
        for choices in (["yes"], ["yes", "maybe"], ["blank"], ["no", "maybe"]):
            msgs = [1 if s in choices else 0 for s in q1.slots]
            nonces = [fixed_scalar(group, f"total {choices} {s}") for s in q1.slots]
            cts = [encrypt(group, key, m, r) for m, r in zip(msgs, nonces, strict=True)]
            total = question_total(group, q1, cts)
            value = question_total_value(q1, choices)
            r_total = (
                sum(
                    r * (q1.max if s == "blank" else 1)
                    for r, s in zip(nonces, q1.slots, strict=True)
                )
                % group.q
            )
            assert total == encrypt(group, key, value, r_total)
            cases.append(
                {
                    "choices": choices,
                    "messages": msgs,
                    "nonces": [sc(r) for r in nonces],
                    "ciphertexts": [ct_json(x) for x in cts],
                    "total": ct_json(total),
                    "total_value": value,
                    "total_nonce": sc(r_total),
                }
            )
        totals.append(
            {
                "group": name,
                "key": el(key),
                "question": {
                    "id": q1.id,
                    "options": list(q1.options),
                    "min": q1.min,
                    "max": q1.max,
                    "blank": q1.blank,
                },
                "slots": list(q1.slots),
                "values": question_values(q1),
                "cases": cases,
            }
        )
        # A tracking code over two questions.
        answers = [
            (
                "q1",
                [
                    encrypt(group, key, m, fixed_scalar(group, f"tc q1 {i}"))
                    for i, m in enumerate((1, 0, 0, 0))
                ],
            ),
            (
                "q2",
                [
                    encrypt(group, key, m, fixed_scalar(group, f"tc q2 {i}"))
                    for i, m in enumerate((0, 1))
                ],
            ),
        ]
        tc_parts: list[Part] = [
            ctx,
            "region-a",
            [[qid, [[x.alpha, x.beta] for x in cts]] for qid, cts in answers],
        ]
        trackings.append(
            {
                "group": name,
                "context": ctx.hex(),
                "region": "region-a",
                "answers": [
                    {"question": qid, "ciphertexts": [ct_json(x) for x in cts]}
                    for qid, cts in answers
                ],
                "hash_input": (
                    encode_part(TAG_TRACKING) + b"".join(encode_part(p) for p in tc_parts)
                ).hex(),
                "tracking_code": tracking_code(ctx, "region-a", answers),
            }
        )

    q = Question("q1", "Which?", ("yes", "no", "maybe"), 1, 2, True)
    selections = [
        (ch, valid_selection(q, ch))
        for ch in (
            [],
            ["yes"],
            ["yes", "no"],
            ["yes", "no", "maybe"],
            ["blank"],
            ["blank", "yes"],
            ["yes", "yes"],
            ["other"],
        )
    ]
    expected = {
        (): False,
        ("yes",): True,
        ("yes", "no"): True,
        ("yes", "no", "maybe"): False,
        ("blank",): True,
        ("blank", "yes"): False,
        ("yes", "yes"): False,
        ("other",): False,
    }
    assert all(expected[tuple(ch)] == v for ch, v in selections)
    binds = [
        {
            "function": "option_bind",
            "args": ["CRED", "region-a", "q1", "yes"],
            "encoding": encode_part(option_bind("CRED", "region-a", "q1", "yes")).hex(),
        },
        {
            "function": "question_bind",
            "args": ["CRED", "region-a", "q1"],
            "encoding": encode_part(question_bind("CRED", "region-a", "q1")).hex(),
        },
        {
            "function": "decryption_bind",
            "args": ["guardian-1", "region-a", "q1", "blank"],
            "encoding": encode_part(decryption_bind("guardian-1", "region-a", "q1", "blank")).hex(),
        },
    ]
    return {
        "description": (
            "Known-answer vectors for the protocol layer (plebiscite.record): canonical JSON "
            "(keys sorted by Unicode code point, not UTF-16 code unit; no white space; UTF-8; "
            "strings escaped as JSON.stringify does; integers |n| < 2^53; fractions only in "
            "[0, 1], written as JavaScript's Number toString; integral floats written as "
            "integers), domain tags, bind lists, the election context hash, tracking codes, "
            "credential seeds and their Ed25519 public keys (standard base64), the revote "
            "chain (a ballot's 'replaces': null or a tracking code; it extends its "
            "credential's chain exactly when it replaces the head, the tracking code of the "
            "chain's last ballot; 'ballots' in board order with each verdict, then the "
            "heads), and the question total (options once, blank 'max' times) with the "
            "selection rule. "
            "Element, scalar and hash encodings are those of the crypto-<group>.json files. "
            "Regenerate with tests/vectors/generate.py."
        ),
        "tags": {
            "coefficient": TAG_COEFFICIENT,
            "share_key": TAG_SHARE_KEY,
            "option": TAG_OPTION,
            "question": TAG_QUESTION,
            "decryption": TAG_DECRYPTION,
            "context": TAG_CONTEXT,
            "tracking": TAG_TRACKING,
            "credential": TAG_CREDENTIAL,
            "share_encryption": TAG_SHARE_ENC,
        },
        "canonical_json": canonical,
        "canonical_json_invalid": CANONICAL_INVALID,
        "binds": binds,
        "guardian_key": guardian_key_cases(),
        "context_hash": contexts,
        "tracking_code": trackings,
        "credentials": credential_cases(),
        "revote_chain": revote_chain_cases(),
        "question_total": totals,
        "valid_selection": {
            "question": {
                "id": q.id,
                "options": list(q.options),
                "min": q.min,
                "max": q.max,
                "blank": q.blank,
            },
            "cases": [{"choices": ch, "valid": v} for ch, v in selections],
        },
    }


# --------------------------------------------------------------------------- cosignatures

# RFC 8032 (section 5.1): the order of the Ed25519 base point; a signature whose scalar
# half is s + L is the same equation with a non-canonical s, which a verifier rejects.
ED25519_L = 2**252 + 27742317777372353535851937790883648493
COSIGN_ORIGIN = "plebiscite/test-board \u00e9"
COSIGN_OTHER_ORIGIN = "plebiscite/another-board"


def guardian_key_cases() -> list[dict[str, Any]]:
    """A guardian_key entry per group (guardian-2 of 3, quorum 2), its coefficient
    proofs binding every field but the proofs (record/protocol.py coefficient_bind), and
    the same entry with one field swapped under the proofs: each swap makes every proof
    fail, by construction (the bound statement changed)."""
    out = []
    eid = "e1" * 32
    for name in GROUP_NAMES:
        group = get_group(name)
        coeffs = [fixed_scalar(group, f"guardian-2 coefficient {m}") for m in range(2)]
        commitments = [group.g_pow(a) for a in coeffs]
        enc = base64.b64encode(hashlib.sha256(b"guardian-2 x25519").digest()).decode()
        proofs = []
        binds = []
        for m, (a, c) in enumerate(zip(coeffs, commitments, strict=True)):
            bind = coefficient_bind("guardian-2", 2, enc, commitments, m)
            binds.append(encode_part(bind).hex())
            with fixed_draws(group, f"guardian-2 proof {m}"):
                p = prove_schnorr(group, TAG_COEFFICIENT, bytes.fromhex(eid), a, c, bind)
            proofs.append(schnorr_json(group, p))
        data = {
            "guardian": "guardian-2",
            "index": 2,
            "encryption_key": enc,
            "commitments": [el(c) for c in commitments],
            "proofs": proofs,
        }
        other_enc = base64.b64encode(hashlib.sha256(b"organiser x25519").digest()).decode()
        swapped = [
            ("encryption_key", {**data, "encryption_key": other_enc}),
            ("commitments", {**data, "commitments": data["commitments"][::-1]}),
        ]
        out.append(
            {
                "group": name,
                "election_id": eid,
                "guardians": ["guardian-1", "guardian-2", "guardian-3"],
                "quorum": 2,
                "data": data,
                "bind_encodings": binds,
                "valid": True,
            }
        )
        for what, d in swapped:
            out.append(
                {
                    "group": name,
                    "election_id": eid,
                    "guardians": ["guardian-1", "guardian-2", "guardian-3"],
                    "quorum": 2,
                    "data": d,
                    "swapped": what,
                    "valid": False,
                }
            )
    return out


def fixed_ed25519(label: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(
        hashlib.sha256(SEED + b"ed25519\x00" + label.encode()).digest()
    )


def ed25519_b64(key: Ed25519PrivateKey) -> str:
    return base64.b64encode(public_key_bytes(key)).decode()


def cosignature_vectors() -> dict[str, Any]:
    """Witness cosignatures (board/cosign.py): single cosignatures, each well formed or
    not and valid or not, and sets of them with the checkpoint a quorum of declared
    witnesses cosigned. Every verdict is set here by construction."""
    board = fixed_ed25519("board")
    keys = {w: fixed_ed25519(f"witness {w}") for w in ("alpha", "bravo", "charlie", "delta")}
    declared = {w: ed25519_b64(keys[w]) for w in ("alpha", "bravo", "charlie")}

    def root(label: str) -> bytes:
        return hashlib.sha256(SEED + b"root\x00" + label.encode()).digest()

    def cp(size: int, time: str = "T08", origin: str = COSIGN_ORIGIN) -> Checkpoint:
        at = f"2027-03-07{time}:00:00.000Z"
        return sign_checkpoint(board, origin, size, root(f"{origin} {size}"), at)

    cp5, cp8, cp10 = cp(5), cp(8), cp(10)
    cp8_later = cp(8, "T09")
    cp12_other = cp(12, origin=COSIGN_OTHER_ORIGIN)

    def cs(w: str, c: Checkpoint, key: str | None = None) -> dict[str, Any]:
        # The witness's clock reads two seconds past the checkpoint's time.
        return dict(cosign(keys[key or w], w, c, c.time.replace(":00.000Z", ":02.000Z")).to_json())

    def flip(b64: str, byte: int, bit: int = 0) -> str:
        raw = bytearray(base64.b64decode(b64))
        raw[byte] ^= 1 << bit
        return base64.b64encode(bytes(raw)).decode()

    good = cs("alpha", cp8)
    sig = base64.b64decode(good["signature"])
    s_plus_l = int.from_bytes(sig[32:], "little") + ED25519_L
    non_canonical = base64.b64encode(sig[:32] + s_plus_l.to_bytes(32, "little")).decode()
    body_only = base64.b64encode(keys["alpha"].sign(cp8.body())).decode()
    v1_message = b"plebiscite-cosignature/v1\nalpha\n" + cp8.body()  # before witness times
    v1_only = base64.b64encode(keys["alpha"].sign(v1_message)).decode()

    def case(name: str, value: Any, well_formed: bool, valid: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"name": name, "cosignature": value, "well_formed": well_formed}
        out["valid"] = valid
        if well_formed:
            root = bytes.fromhex(value["root"])
            checkpoint = Checkpoint(value["origin"], value["size"], root, value["time"], b"")
            message = cosigned_message(value["witness"], value["witness_time"], checkpoint)
            out["message"] = message.hex()
        return out

    key31 = base64.b64encode(base64.b64decode(good["key"])[:31]).decode()
    tampered: list[tuple[str, dict[str, Any]]] = [
        ("wrong key: bravo's key beside alpha's signature", {"key": declared["bravo"]}),
        ("size altered", {"size": 9}),
        ("root altered (one bit)", {"root": (cp8.root[:31] + bytes([cp8.root[31] ^ 1])).hex()}),
        ("origin altered", {"origin": "plebiscite/test-board e"}),
        ("time altered", {"time": "2027-03-07T08:00:00.001Z"}),
        ("witness id altered", {"witness": "bravo"}),
        ("witness time altered", {"witness_time": "2027-03-07T08:00:03.000Z"}),
        ("signature: first bit flipped", {"signature": flip(good["signature"], 0)}),
        ("signature: last byte's top bit flipped", {"signature": flip(good["signature"], 63, 7)}),
        ("signature: scalar s + L (non-canonical)", {"signature": non_canonical}),
        ("signature of the checkpoint body alone (no cosignature line)", {"signature": body_only}),
        ("signature of the v1 message (no witness time)", {"signature": v1_only}),
    ]
    malformed: list[tuple[str, Any]] = [
        ("an extra key", dict(good, note="x")),
        ("no time", {k: v for k, v in good.items() if k != "time"}),
        ("no witness time", {k: v for k, v in good.items() if k != "witness_time"}),
        ("witness time not in the board's form", dict(good, witness_time="2027-03-07T08:00:02Z")),
        ("witness time not a string", dict(good, witness_time=1)),
        ("key of 31 bytes", dict(good, key=key31)),
        ("signature of 63 bytes", dict(good, signature=base64.b64encode(sig[:63]).decode())),
        ("signature not base64", dict(good, signature="!" * 88)),
        ("witness not a string", dict(good, witness=7)),
        ("size negative", dict(good, size=-1)),
        ("size a string", dict(good, size="8")),
        ("size true", dict(good, size=True)),
        ("root in capitals", dict(good, root=good["root"].upper())),
        ("origin with a line break", dict(good, origin="a\nb")),
        ("not an object", [good]),
    ]
    cases = [
        case("valid", good, True, True),
        case("valid, another witness", cs("bravo", cp8), True, True),
        case("valid, an empty tree", cs("charlie", cp(0)), True, True),
        *(case(name, dict(good, **changes), True, False) for name, changes in tampered),
        *(case(name, value, False, False) for name, value in malformed),
    ]

    def point(c: Checkpoint | None, by: list[str]) -> dict[str, Any] | None:
        if c is None:
            return None
        return dict(origin=c.origin, size=c.size, root=c.root.hex(), time=c.time, witnesses=by)

    base = [cs(w, c) for w, c in [("alpha", cp5), ("bravo", cp5), ("alpha", cp8), ("charlie", cp8)]]
    base.append(cs("bravo", cp10))
    bad_alpha10 = dict(cs("alpha", cp10), signature=flip(cs("alpha", cp10)["signature"], 5))
    sets = [
        ("quorum on 5 and 8, one witness on 10", base, 2, None, point(cp8, ["alpha", "charlie"])),
        (
            "an observer the file does not declare (accredited later) does not count",
            [*base, cs("delta", cp10)],
            2,
            None,
            point(cp8, ["alpha", "charlie"]),
        ),
        (
            "a declared id with a key other than its declared one does not count",
            [*base, cs("charlie", cp10, key="delta")],
            2,
            None,
            point(cp8, ["alpha", "charlie"]),
        ),
        (
            "the same witness twice counts once",
            [*base, cs("bravo", cp10)],
            2,
            None,
            point(cp8, ["alpha", "charlie"]),
        ),
        (
            "a bad signature does not count",
            [*base, bad_alpha10],
            2,
            None,
            point(cp8, ["alpha", "charlie"]),
        ),
        (
            "cosignatures altered to claim a larger size do not count",
            [*base, dict(cs("alpha", cp10), size=12), dict(cs("bravo", cp10), size=12)],
            2,
            None,
            point(cp8, ["alpha", "charlie"]),
        ),
        (
            "malformed cosignatures are ignored",
            [*base, {"junk": 1}, dict(good, size=-1)],
            2,
            None,
            point(cp8, ["alpha", "charlie"]),
        ),
        (
            "a quorum of three",
            [*base, cs("charlie", cp5)],
            3,
            None,
            point(cp5, ["alpha", "bravo", "charlie"]),
        ),
        ("a quorum of three nowhere", base, 3, None, None),
        ("no quorum anywhere", [cs("alpha", cp8), cs("bravo", cp10)], 2, None, None),
        ("no cosignatures", [], 2, None, None),
        (
            "one size checkpointed twice: the later",
            [*base, cs("alpha", cp8_later), cs("bravo", cp8_later)],
            2,
            None,
            point(cp8_later, ["alpha", "bravo"]),
        ),
        (
            "another log's checkpoints are left out",
            [*base, cs("alpha", cp12_other), cs("bravo", cp12_other)],
            2,
            COSIGN_ORIGIN,
            point(cp8, ["alpha", "charlie"]),
        ),
    ]
    return {
        "description": (
            "Witness cosignatures of board checkpoints (plebiscite.board.cosign). A "
            "cosignature is {witness, key, origin, size, root, time, witness_time, signature}: "
            "key and signature in standard padded base64, root in lowercase hex, witness_time "
            "(the witness's clock) in the board's time form (UTC, milliseconds, Z); the "
            "signature is Ed25519 (RFC 8032, strict: s < L) over 'message' = "
            "'plebiscite-cosignature/v2\\n' + witness + '\\n' + witness_time + '\\n' + "
            "the checkpoint body 'plebiscite-checkpoint/v1\\n<origin>\\n"
            "<size>\\n<root>\\n<time>\\n' (UTF-8). 'cases': single cosignatures, 'well_formed' "
            "(parses) and 'valid' (well formed and its signature holds under its own key). "
            "'witnessed': sets of cosignatures, the witnesses the referendum file declares "
            "(id -> key; only they count), the quorum and, when given, the origin to keep; "
            "'witnessed' is the largest checkpoint that at least 'quorum' distinct declared "
            "witnesses validly cosigned with their declared key (of one size, the later "
            "time), with those witnesses sorted, or null. Regenerate with "
            "tests/vectors/generate.py."
        ),
        "header": "plebiscite-cosignature/v2\n",
        "declared": declared,
        "cases": cases,
        "witnessed": [
            {"name": n, "cosignatures": c, "quorum": q, "origin": o, "witnessed": w}
            for n, c, q, o, w in sets
        ],
    }


# --------------------------------------------------------------------------- main


def dump(data: Any) -> str:
    return json.dumps(data, indent=1, ensure_ascii=True) + "\n"


def all_files() -> dict[str, Callable[[], Any]]:
    files: dict[str, Callable[[], Any]] = {
        f"crypto-{name}.json": functools.partial(crypto_vectors, name) for name in GROUP_NAMES
    }
    files["protocol.json"] = protocol_vectors
    files["cosignatures.json"] = cosignature_vectors
    return files


def build() -> dict[str, str]:
    """Every vector file's text, by file name."""
    return {fname: dump(make()) for fname, make in all_files().items()}


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="compare with the files; write nothing")
    args = ap.parse_args(argv)
    stale = []
    for fname, text in build().items():
        path = HERE / fname
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(fname)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path} ({len(text.encode())} bytes)")
    if stale:
        print("stale: " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
