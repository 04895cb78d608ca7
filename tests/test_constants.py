"""Checks for the integer-group constants in ``plebiscite.crypto.constants``."""

import hashlib
import hmac

import gmpy2
import pytest

from plebiscite.crypto import constants as c

# name, p, q, g, bits of p, bits of q
GROUPS = [
    ("modp-4096", c.MODP4096_P, c.MODP4096_Q, c.MODP4096_G, 4096, 256),
    ("belenios-2048", c.BELENIOS2048_P, c.BELENIOS2048_Q, c.BELENIOS2048_G, 2048, 256),
    ("electionguard-1", c.ELECTIONGUARD1_P, c.ELECTIONGUARD1_Q, c.ELECTIONGUARD1_G, 4096, 256),
]
IDS = [group[0] for group in GROUPS]


def _sha256_decimal(value: int) -> str:
    return hashlib.sha256(str(value).encode("ascii")).hexdigest()


@pytest.mark.parametrize(("name", "p", "q", "g", "p_bits", "q_bits"), GROUPS, ids=IDS)
def test_group_is_well_formed(name: str, p: int, q: int, g: int, p_bits: int, q_bits: int) -> None:
    assert p.bit_length() == p_bits
    assert q.bit_length() == q_bits
    assert gmpy2.is_prime(p, 50)
    assert gmpy2.is_prime(q, 50)
    assert (p - 1) % q == 0
    assert 1 < g < p
    assert g != 1
    assert pow(g, q, p) == 1


def test_modp4096_structure() -> None:
    p, q, r, g = c.MODP4096_P, c.MODP4096_Q, c.MODP4096_R, c.MODP4096_G
    assert q == 2**256 - 189
    assert p - 1 == q * r
    assert r % q != 0
    assert gmpy2.is_prime(r // 2, 50)  # (p - 1)/(2q) is prime (spec 3.1.1, property 4)
    assert g == pow(2, r, p)
    ones = 2**256 - 1
    assert p >> (4096 - 256) == ones  # first 256 bits all ones
    assert p & ones == ones  # last 256 bits all ones


def test_modp4096_parameter_base_hash() -> None:
    # ElectionGuard 2.0.0 spec, 3.1.2, eq. (5): H_P = H(ver; 0x00, p, q, g) with
    # H = HMAC-SHA-256 and ver = "v2.0.0" padded with zero bytes to 32 bytes.
    ver = b"v2.0.0".ljust(32, b"\x00")
    msg = (
        b"\x00"
        + c.MODP4096_P.to_bytes(512, "big")
        + c.MODP4096_Q.to_bytes(32, "big")
        + c.MODP4096_G.to_bytes(512, "big")
    )
    digest = hmac.new(ver, msg, hashlib.sha256).hexdigest().upper()
    assert digest == "2B3B025E50E09C119CBA7E9448ACD1CABC9447EF39BF06327D81C665CDD86296"


def test_belenios2048_matches_source_decimals() -> None:
    # Decimal strings as printed in belenios doc/specification.tex and
    # src/lib/v2/group.ml ("BELENIOS-2048").
    q = c.BELENIOS2048_Q
    assert q == int("78571733251071885079927659812671450121821421258408794611510081919805623223441")
    assert (
        _sha256_decimal(c.BELENIOS2048_P)
        == "ef7979cebad81edd3a952d8005c6a18a57600586e6fe6086947b4988475d007f"
    )
    assert (
        _sha256_decimal(c.BELENIOS2048_G)
        == "96649bff87fad6b5f819ba03df4f32759730a48fd8795c98d2d70bb84151f3ec"
    )


def test_electionguard1_matches_source_decimals() -> None:
    # Decimal strings of STANDARD_CONSTANTS in electionguard-python 1.4.0,
    # src/electionguard/constants.py.
    assert c.ELECTIONGUARD1_Q == 2**256 - 189
    assert c.ELECTIONGUARD1_Q == c.MODP4096_Q
    assert c.ELECTIONGUARD1_P != c.MODP4096_P
    assert c.ELECTIONGUARD1_G != c.MODP4096_G
    assert (
        _sha256_decimal(c.ELECTIONGUARD1_P)
        == "44d6e16a142dc71834aab8121fa99c180f14d1f8a3db003b7c7405453f492a22"
    )
    assert (
        _sha256_decimal(c.ELECTIONGUARD1_G)
        == "81ebba44301fb3e81570a63026f418ddc5d1ecae231f73a1c129e97059e5b2a4"
    )
    p, q, g = c.ELECTIONGUARD1_P, c.ELECTIONGUARD1_Q, c.ELECTIONGUARD1_G
    assert g == pow(2, (p - 1) // q, p)
