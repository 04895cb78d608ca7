"""Prime-order groups behind one interface.

Protocol code sees :class:`Group` and :class:`Element` only; it never knows whether it
runs over ristretto255 (libsodium) or a Schnorr subgroup of Z_p^* (gmpy2). The group is
written multiplicatively everywhere (``a * b``, ``a ** e``), as in the ElectionGuard and
Belenios specifications.

Every element read from outside goes through :meth:`Group.decode_element`, which checks
membership; every exponent through :meth:`Group.decode_scalar`, which checks range.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import secrets
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any, Final

import gmpy2

SCALAR_BYTES: Final = 32


class GroupError(ValueError):
    """A value is not a valid element or scalar of the group."""


class Element:
    """An element of a prime-order group; only ever built by a :class:`Group`."""

    __slots__ = ("group", "value")

    def __init__(self, group: Group, value: Any) -> None:
        self.group = group
        self.value = value

    def __mul__(self, other: Element) -> Element:
        return self.group.mul(self, other)

    def __truediv__(self, other: Element) -> Element:
        return self.group.div(self, other)

    def __pow__(self, exponent: int) -> Element:
        return self.group.pow(self, exponent)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Element)
            and other.group is self.group
            and self.group.encode_element(self) == self.group.encode_element(other)
        )

    def __hash__(self) -> int:
        return hash(self.group.encode_element(self))

    def to_bytes(self) -> bytes:
        return self.group.encode_element(self)

    def hex(self) -> str:
        return self.to_bytes().hex()

    def __repr__(self) -> str:
        h = self.hex()
        return f"Element({self.group.name}, {h[:16]}…)"


class Group(ABC):
    """A cyclic group of prime order ``q`` with a fixed generator ``g``."""

    name: str
    q: int
    element_bytes: int

    @abstractmethod
    def identity(self) -> Element: ...

    @abstractmethod
    def generator(self) -> Element: ...

    @abstractmethod
    def mul(self, a: Element, b: Element) -> Element: ...

    @abstractmethod
    def div(self, a: Element, b: Element) -> Element: ...

    @abstractmethod
    def pow(self, a: Element, e: int) -> Element:
        """``a ** e`` for a public exponent (variable time is fine)."""

    @abstractmethod
    def pow_secret(self, a: Element, e: int) -> Element:
        """``a ** e`` for a secret exponent, in constant time."""

    @abstractmethod
    def g_pow(self, e: int) -> Element:
        """``g ** e`` for a public exponent."""

    @abstractmethod
    def g_pow_secret(self, e: int) -> Element:
        """``g ** e`` for a secret exponent, in constant time."""

    @abstractmethod
    def encode_element(self, a: Element) -> bytes: ...

    def precompute(self, a: Element) -> None:
        """Hint that ``a`` will be raised to many public exponents (e.g. the election
        key); groups with fixed-base tables build one. A no-op by default."""
        return None

    def pow_many(self, a: Element, exponents: Sequence[int]) -> list[Element]:
        """``[a ** e for e in exponents]`` for public exponents; groups that can share
        work between the exponents do."""
        return [self.pow(a, e) for e in exponents]

    @abstractmethod
    def decode_element(self, data: bytes, *, member_check: bool = True) -> Element:
        """Decode and check membership; raise :class:`GroupError` otherwise.

        ``member_check=False`` is only for a proof's commitments: the verification
        equation ``commitment == g^s * X^c`` (whose right side is a member) proves
        membership, so the costly subgroup test would be paid twice.
        """

    def is_identity(self, a: Element) -> bool:
        return self.encode_element(a) == self.encode_element(self.identity())

    def prod(self, items: Iterable[Element]) -> Element:
        acc = self.identity()
        for x in items:
            acc = self.mul(acc, x)
        return acc

    def random_scalar(self) -> int:
        return secrets.randbelow(self.q - 1) + 1

    def decode_scalar(self, data: bytes) -> int:
        if len(data) != SCALAR_BYTES:
            raise GroupError(f"scalar must be {SCALAR_BYTES} bytes, got {len(data)}")
        v = int.from_bytes(data, "big")
        if v >= self.q:
            raise GroupError("scalar out of range (>= q)")
        return v

    @staticmethod
    def encode_scalar(v: int) -> bytes:
        return v.to_bytes(SCALAR_BYTES, "big")

    def element_from_hex(self, text: str, *, member_check: bool = True) -> Element:
        try:
            data = bytes.fromhex(text)
        except (ValueError, TypeError) as exc:
            raise GroupError("element is not hex") from exc
        return self.decode_element(data, member_check=member_check)

    def scalar_from_hex(self, text: str) -> int:
        if not isinstance(text, str) or len(text) != 2 * SCALAR_BYTES:
            raise GroupError("scalar must be 64 hex digits")
        try:
            data = bytes.fromhex(text)
        except ValueError as exc:
            raise GroupError("scalar is not hex") from exc
        return self.decode_scalar(data)

    def dlog(self, target: Element, bound: int) -> int:
        """The ``m`` in ``[0, bound]`` with ``g ** m == target`` (baby-step giant-step)."""
        step = max(1, int(gmpy2.isqrt(bound + 1)) + 1)
        table: dict[bytes, int] = {}
        acc = self.identity()
        g = self.generator()
        for j in range(step):
            table.setdefault(self.encode_element(acc), j)
            acc = self.mul(acc, g)
        giant = self.g_pow(self.q - step)  # g^(-step)
        cur = target
        for i in range(step + 1):
            found = table.get(self.encode_element(cur))
            if found is not None and i * step + found <= bound:
                return i * step + found
            cur = self.mul(cur, giant)
        raise GroupError(f"no discrete logarithm in [0, {bound}]")


# --- ristretto255 over libsodium ---------------------------------------------------


def _load_sodium() -> Any:
    path = ctypes.util.find_library("sodium")
    candidates = [path] if path else []
    candidates += ["libsodium.so.23", "libsodium.so.26", "libsodium.so", "libsodium.dylib"]
    for cand in candidates:
        try:
            lib = ctypes.CDLL(cand)
        except OSError:
            continue
        if lib.sodium_init() < 0:
            raise RuntimeError("libsodium failed to initialise")
        for fn in (
            "crypto_scalarmult_ristretto255",
            "crypto_core_ristretto255_add",
            "crypto_core_ristretto255_sub",
        ):
            getattr(lib, fn).argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p]
        lib.crypto_scalarmult_ristretto255_base.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
        lib.crypto_core_ristretto255_is_valid_point.argtypes = [ctypes.c_char_p]
        return lib
    raise RuntimeError("libsodium not found (install the libsodium23 package)")


_RISTRETTO_L: Final = 2**252 + 27742317777372353535851937790883648493
# The canonical encoding of the ristretto255 base point (RFC 9496, section 4.4).
_RISTRETTO_G: Final = bytes.fromhex(
    "e2f2ae0a6abc4e71a884a961c500515f58e30b6aa582dd8db6a65945e08d2d76"
)
_ZERO32: Final = bytes(32)


class Ristretto255(Group):
    """ristretto255 (RFC 9496) through libsodium, constant time throughout.

    libsodium refuses a zero scalar and the identity point in multiplication (it
    returns an error), yet ``g ** 0`` and zero counts are everyday values here, so the
    identity (all-zero encoding) is handled explicitly.
    """

    name = "ristretto255"
    q = _RISTRETTO_L
    element_bytes = 32

    def __init__(self) -> None:
        self._lib = _load_sodium()
        self._id = Element(self, _ZERO32)
        self._g = Element(self, _RISTRETTO_G)

    def identity(self) -> Element:
        return self._id

    def generator(self) -> Element:
        return self._g

    def mul(self, a: Element, b: Element) -> Element:
        if a.value == _ZERO32:
            return b
        if b.value == _ZERO32:
            return a
        out = ctypes.create_string_buffer(32)
        self._lib.crypto_core_ristretto255_add(out, a.value, b.value)
        return Element(self, out.raw)

    def div(self, a: Element, b: Element) -> Element:
        if b.value == _ZERO32:
            return a
        out = ctypes.create_string_buffer(32)
        self._lib.crypto_core_ristretto255_sub(out, a.value, b.value)
        return Element(self, out.raw)

    def pow(self, a: Element, e: int) -> Element:
        e %= self.q
        if e == 0 or a.value == _ZERO32:
            return self._id
        out = ctypes.create_string_buffer(32)
        if self._lib.crypto_scalarmult_ristretto255(out, e.to_bytes(32, "little"), a.value):
            return self._id  # only when the result is the identity
        return Element(self, out.raw)

    pow_secret = pow

    def g_pow(self, e: int) -> Element:
        e %= self.q
        if e == 0:
            return self._id
        out = ctypes.create_string_buffer(32)
        self._lib.crypto_scalarmult_ristretto255_base(out, e.to_bytes(32, "little"))
        return Element(self, out.raw)

    g_pow_secret = g_pow

    def encode_element(self, a: Element) -> bytes:
        v: bytes = a.value
        return v

    def decode_element(self, data: bytes, *, member_check: bool = True) -> Element:
        if not isinstance(data, bytes | bytearray) or len(data) != 32:
            raise GroupError("ristretto255 element must be 32 bytes")
        data = bytes(data)
        if data[31] & 0x80:
            # libsodium 1.0.18 ignores the top bit; RFC 9496 requires rejecting it, else
            # one point has two encodings (and 0x00..80 would pass as a non-identity).
            raise GroupError("not a canonical ristretto255 encoding (top bit set)")
        if data == _ZERO32:
            return self._id
        if self._lib.crypto_core_ristretto255_is_valid_point(data) != 1:
            raise GroupError("not a canonical ristretto255 encoding")
        return Element(self, data)


# --- Schnorr subgroups of Z_p^* over gmpy2 -------------------------------------------


class ModpGroup(Group):
    """The order-``q`` subgroup of Z_p^* generated by ``g``.

    ``safe_cofactor`` states that ``(p - 1) / q = 2 r`` with ``r`` a prime larger than
    2^256 (``tests/test_batch.py`` checks it for the groups that claim it). Then
    Z_p^* = C_2 x C_q x C_r, and an element with Jacobi symbol 1 has no order-2 part, so
    the only non-trivial parts left have prime orders q and r, both beyond any batch
    randomiser: this is what makes the batched checks of :mod:`plebiscite.crypto.batch`
    sound. belenios-2048 does not claim it ((p - 1) / q = 2 * 3 * a composite).
    """

    def __init__(self, name: str, p: int, q: int, g: int, *, safe_cofactor: bool = False) -> None:
        self.name = name
        self.p = gmpy2.mpz(p)
        self.q = q
        self._qz = gmpy2.mpz(q)
        self.safe_cofactor = safe_cofactor
        self.element_bytes = (p.bit_length() + 7) // 8
        self._id = Element(self, gmpy2.mpz(1))
        self._g = Element(self, gmpy2.mpz(g))
        self._tables: dict[int, list[list[Any]]] = {}

    def identity(self) -> Element:
        return self._id

    def generator(self) -> Element:
        return self._g

    def mul(self, a: Element, b: Element) -> Element:
        return Element(self, gmpy2.f_mod(a.value * b.value, self.p))

    def div(self, a: Element, b: Element) -> Element:
        return Element(self, gmpy2.f_mod(a.value * gmpy2.invert(b.value, self.p), self.p))

    def pow(self, a: Element, e: int) -> Element:
        table = self._tables.get(a.value)
        if table is not None:
            return Element(self, self._table_pow(table, e % self.q))
        return Element(self, gmpy2.powmod(a.value, e % self.q, self.p))

    # Fixed-base exponentiation for public exponents: a^e as the product of one table
    # entry per 8-bit window of e, 32 multiplications instead of ~300 for a 256-bit e.
    # The table lookups depend on e, so secret exponents never take this path.
    _WINDOW = 8

    def precompute(self, a: Element) -> None:
        if a.value in self._tables:
            return
        w = self._WINDOW
        windows = (self.q.bit_length() + w - 1) // w
        table = []
        base = gmpy2.mpz(a.value)
        for _ in range(windows):
            row = [gmpy2.mpz(1)]
            for _ in range((1 << w) - 1):
                row.append(gmpy2.f_mod(row[-1] * base, self.p))
            table.append(row)
            base = gmpy2.f_mod(row[-1] * base, self.p)
        self._tables[a.value] = table

    def _table_pow(self, table: list[list[Any]], e: int) -> Any:
        acc = gmpy2.mpz(1)
        mask = (1 << self._WINDOW) - 1
        i = 0
        while e:
            d = e & mask
            if d:
                acc = gmpy2.f_mod(acc * table[i][d], self.p)
            e >>= self._WINDOW
            i += 1
        return acc

    def pow_many(self, a: Element, exponents: Sequence[int]) -> list[Element]:
        """``[a ** e for e in exponents]`` for public exponents, sharing the squarings.

        The exponents are not reduced mod q, so ``a`` need not be a member yet:
        ``pow_many(a, [q, c0, c1])`` tests membership along with the proof's powers.

        A comb (Lim-Lee): with ``h`` rows of ``b`` bits, ``a^(2^(jb))`` for j < h is
        computed once (inside GMP), then a table of the 2^h products of those; each
        exponent then costs ``b`` squarings and ``b`` multiplications instead of ``hb``
        squarings. Worth it from two exponents on (1.2-1.8x fewer operations than
        separate ``powmod`` calls, after the cost of Python-level multiplications).
        """
        es = list(exponents)
        if a.value in self._tables:  # g or the election key: members, so reducing is fine
            return [self.pow(a, e) for e in es]
        if min(es, default=0) < 0:
            raise ValueError("pow_many takes non-negative exponents")
        p = self.p
        h, b = _comb_shape(len(es), max(es, default=0).bit_length())
        if h < 2:
            return [Element(self, gmpy2.powmod(a.value, e, p)) for e in es]
        rows = [a.value]
        for _ in range(h - 1):
            rows.append(gmpy2.powmod(rows[-1], 1 << b, p))
        table: list[Any] = [gmpy2.mpz(1)] * (1 << h)
        for j, r in enumerate(rows):
            step = 1 << j
            table[step] = r
            for m in range(step + 1, step << 1):
                table[m] = gmpy2.f_mod(table[m - step] * r, p)
        out = []
        mask = (1 << b) - 1
        digit = _column_digits(h)
        f_mod = gmpy2.f_mod
        for e in es:
            # column i's digit takes bit i of every row: read the rows as bit strings
            rows_bits = [format((e >> (j * b)) & mask, f"0{b}b") for j in reversed(range(h))]
            acc = table[0]
            for col in zip(*rows_bits, strict=True):
                acc = f_mod(acc * acc, p)
                d = digit[col]
                if d:
                    acc = f_mod(acc * table[d], p)
            out.append(Element(self, acc))
        return out

    def pow_secret(self, a: Element, e: int) -> Element:
        e %= self.q
        if e == 0:
            return self._id
        return Element(self, gmpy2.powmod_sec(a.value, e, self.p))

    def g_pow(self, e: int) -> Element:
        if self._g.value not in self._tables:
            self.precompute(self._g)
        return self.pow(self._g, e)

    def g_pow_secret(self, e: int) -> Element:
        return self.pow_secret(self._g, e)

    def encode_element(self, a: Element) -> bytes:
        v: bytes = int(a.value).to_bytes(self.element_bytes, "big")
        return v

    def decode_element(self, data: bytes, *, member_check: bool = True) -> Element:
        if not isinstance(data, bytes | bytearray) or len(data) != self.element_bytes:
            raise GroupError(f"{self.name} element must be {self.element_bytes} bytes")
        v = gmpy2.mpz(int.from_bytes(data, "big"))
        if not 0 < v < self.p:
            raise GroupError(f"{self.name} element out of range")
        if member_check and gmpy2.powmod(v, self._qz, self.p) != 1:
            raise GroupError(f"{self.name} element not in the order-q subgroup")
        return Element(self, v)


@cache
def _column_digits(h: int) -> dict[tuple[str, ...], int]:
    """Each column of ``h`` bit characters (most significant row first) to its value."""
    return {tuple(format(d, f"0{h}b")): d for d in range(1 << h)}


def _comb_shape(count: int, bits: int) -> tuple[int, int]:
    """Rows ``h`` and columns ``b`` of the comb in :meth:`ModpGroup.pow_many` for
    ``count`` exponents of ``bits`` bits; ``h < 2`` means separate ``powmod`` calls.

    Costs in GMP-internal modular multiplications: a ``powmod`` is about 1.2 per exponent
    bit; a multiplication or squaring done from Python (``f_mod(x * y, p)``) about 1.3
    of GMP's own (measured on 2048- and 4096-bit moduli: 1.25-1.6).
    """
    direct = 1.2 * bits * count
    best, shape = direct, (1, bits)
    for h in range(2, 9):
        b = -(-bits // h)
        cost = (h - 1) * b + 1.3 * ((1 << h) - h - 1) + count * 1.3 * b * (2 - 2.0**-h)
        if cost < best:
            best, shape = cost, (h, b)
    return shape


GROUP_NAMES: Final = ("ristretto255", "modp-4096", "belenios-2048")


@cache
def get_group(name: str) -> Group:
    """The named group; :class:`GroupError` for an unknown name."""
    from plebiscite.crypto import constants as c

    if name == "ristretto255":
        return Ristretto255()
    if name == "modp-4096":
        return ModpGroup(name, c.MODP4096_P, c.MODP4096_Q, c.MODP4096_G, safe_cofactor=True)
    if name == "belenios-2048":
        return ModpGroup(name, c.BELENIOS2048_P, c.BELENIOS2048_Q, c.BELENIOS2048_G)
    if name == "electionguard-1":
        return ModpGroup(
            name, c.ELECTIONGUARD1_P, c.ELECTIONGUARD1_Q, c.ELECTIONGUARD1_G, safe_cofactor=True
        )
    raise GroupError(f"unknown group {name!r} (known: {', '.join(GROUP_NAMES)})")
