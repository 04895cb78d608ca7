"""Batch verification of proof equations in the integer groups (issue 6).

A proof equation says ``commitment == prod_j base_j ** e_j`` where each base is ``g``,
the election key, or an element read from the record (a ciphertext component), and the
exponents are public. Instead of checking each equation with its own exponentiations, a
:class:`Batch` draws a secret random ``r_i`` of :data:`BITS` bits per equation (from
:mod:`secrets`, after the data is fixed) and checks one product::

    prod_i commitment_i ** r_i  ==  prod_j base_j ** (sum_i r_i e_ij mod q)

with two multi-exponentiations (:func:`multi_exp`). Read elements that must be members
of the order-q subgroup get their own random ``s`` and contribute ``x ** (q s)`` to
the right side, so the same product also tests ``x ** q == 1`` for all of them at once.

Why this is sound (for groups with :attr:`~plebiscite.crypto.group.ModpGroup.safe_cofactor`:
``p - 1 = 2 q r`` with ``q`` and ``r`` prime and both beyond ``2 ** BITS``):

- every commitment and read element must have Jacobi symbol 1 (:meth:`Batch.member`,
  :meth:`Batch.equation`), so all of them lie in the quadratic residues, a cyclic
  group of order ``q r`` whose non-trivial elements have order ``q``, ``r`` or ``q r``;
- if a read element ``x`` is not a member, ``x ** q`` has order ``r``; fix every
  random value but its ``s``: at most one ``s`` below ``2 ** BITS`` satisfies the check;
- if every read element is a member (so reducing their exponents mod ``q`` is exact)
  but equation ``i`` fails, its error ``d_i = rhs_i / commitment_i`` is a non-trivial
  quadratic residue: at most one ``r_i`` satisfies the check.

So a batch with any false equation or non-member passes with probability at most
``2 ** -BITS``. The Jacobi test is what keeps an order-2 error (a commitment multiplied
by ``p - 1``) from passing half the time. belenios-2048 does not qualify: its
``(p - 1) / q`` is ``2 * 3 *`` a composite, so an order-3 error would pass a third of the
time; its verifiers check each element and equation exactly.

A failed batch says only that something is wrong: callers then check each ballot of the
batch on its own (the exact path), which names the ballot and the check.

In ristretto255 (a group of prime order whose encodings are checked on decoding) a
:class:`RistrettoBatch` checks the same random combination of a batch's equations,
``sum_i r_i a_i - sum_j E_j b_j == 0``, as one multi-scalar multiplication in
plebiscite's native library (:mod:`plebiscite.crypto.native`), which also decodes, so
checks, every element read from the record: a false equation passes with probability at
most ``2 ** -BITS``, and there are no cofactor cases to exclude.

Everything here is variable time, for public values only (the record).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import gmpy2

from plebiscite.crypto import native
from plebiscite.crypto.group import Element, Group, GroupError, ModpGroup, Ristretto255

BITS: Final = 128
"""Bits of each random exponent: a false batch passes with probability <= 2^-BITS."""

_ENABLED = os.environ.get("PLEBISCITE_BATCH", "1") != "0"


def enabled() -> bool:
    """Whether verifiers batch (``PLEBISCITE_BATCH=0`` in the environment turns it off,
    for measuring against the exact path; the verdicts are the same either way)."""
    return _ENABLED


def set_enabled(on: bool) -> None:
    global _ENABLED
    _ENABLED = on


def supports(group: Group) -> bool:
    """Whether ``group`` can be batched soundly (see the module docstring): a modp group
    with a safe cofactor, or ristretto255 when the native library is built."""
    if isinstance(group, Ristretto255):
        return native.available()
    return isinstance(group, ModpGroup) and group.safe_cofactor


def make_batch(group: Group, fixed: Iterable[Element] = ()) -> Batch | RistrettoBatch:
    """A batch for ``group`` (one that :func:`supports`)."""
    if isinstance(group, Ristretto255):
        return RistrettoBatch(group, fixed)
    return Batch(group, fixed)


def deferred_view(group: Group) -> DeferredMembership | DeferredRistretto:
    """A parsing view of ``group`` whose element checks are left to a batch."""
    if isinstance(group, Ristretto255):
        return DeferredRistretto(group)
    if not isinstance(group, ModpGroup):
        raise GroupError(f"{group.name} does not support batch verification")
    return DeferredMembership(group)


# --- multi-exponentiation -------------------------------------------------------------


def _pippenger_cost(lengths: Sequence[int], c: int) -> float:
    windows = -(-max(lengths) // c)
    buckets = (1 << c) - 1
    digits = sum(-(-n // c) for n in lengths) * (1 - 2.0**-c)
    return digits + windows * (buckets + min(len(lengths), buckets))


def _straus_cost(lengths: Sequence[int], c: int) -> float:
    digits = sum(-(-n // c) for n in lengths) * (1 - 2.0**-c)
    return 1.2 * (len(lengths) * ((1 << c) - 2) + digits)  # 1.2: its tables miss the cache


def multi_exp(
    pairs: Sequence[tuple[Any, int]], p: Any, method: tuple[str, int] | None = None
) -> Any:
    """``prod b ** e mod p`` over ``(b, e)`` pairs, for public non-negative exponents.

    Squarings are shared between all the bases. Two algorithms, whichever the operation
    count favours: fixed windows with a table per base (Straus; few bases) or buckets per
    window (Pippenger; many bases): for 256 bases of 384 bits, 4096-bit p, about 95
    multiplications per base instead of about 460 for a ``powmod`` each.
    """
    pairs = [(b, e) for b, e in pairs if e]
    if not pairs:
        return gmpy2.mpz(1)
    if len(pairs) == 1 and method is None:
        b, e = pairs[0]
        return gmpy2.powmod(b, e, p)
    lengths = [e.bit_length() for _, e in pairs]
    if method is None:  # ``method`` ("s" or "p", window bits) is for tests and tuning
        costs = [(_pippenger_cost(lengths, c), "p", c) for c in range(2, 13)]
        costs += [(_straus_cost(lengths, c), "s", c) for c in range(1, 7)]
        _, kind, c = min(costs)
        method = (kind, c)
    kind, c = method
    nwin = -(-max(lengths) // c)
    mask = (1 << c) - 1
    f_mod = gmpy2.f_mod
    acc: Any = None
    if kind == "s":
        tables = []
        for b, _ in pairs:
            t = [None, b]
            for _ in range(mask - 1):
                t.append(f_mod(t[-1] * b, p))
            tables.append(t)
        for w in range(nwin - 1, -1, -1):
            if acc is not None:
                acc = gmpy2.powmod(acc, 1 << c, p)
            shift = w * c
            for t, (_, e) in zip(tables, pairs, strict=True):
                d = (e >> shift) & mask
                if d:
                    acc = t[d] if acc is None else f_mod(acc * t[d], p)
        return gmpy2.mpz(1) if acc is None else acc
    for w in range(nwin - 1, -1, -1):
        if acc is not None:
            acc = gmpy2.powmod(acc, 1 << c, p)
        buckets: list[Any] = [None] * (mask + 1)
        shift = w * c
        for b, e in pairs:
            d = (e >> shift) & mask
            if d:
                bk = buckets[d]
                buckets[d] = b if bk is None else f_mod(bk * b, p)
        # sum over d of d * bucket[d], as running products from the top bucket down
        run = total = None
        for d in range(mask, 0, -1):
            bk = buckets[d]
            if bk is not None:
                run = bk if run is None else f_mod(run * bk, p)
            if run is not None:
                total = run if total is None else f_mod(total * run, p)
        if total is not None:
            acc = total if acc is None else f_mod(acc * total, p)
    return gmpy2.mpz(1) if acc is None else acc


# --- batches --------------------------------------------------------------------------


def is_residue(group: ModpGroup, x: Element) -> bool:
    """Jacobi symbol 1: necessary for membership (the order-q subgroup has odd order,
    so every member is a square), and about 45x cheaper than ``x ** q`` in 4096 bits."""
    return bool(gmpy2.jacobi(x.value, group.p) == 1)


@dataclass
class _Base:
    value: Any
    fixed: bool  # g or the election key: known members; a fixed-base table may exist
    exponent: int = 0  # sum of r_i e_ij (reduced mod q at the end)
    membership: int = 0  # sum of the random s for "this is a member"


@dataclass
class Claims:
    """One ballot's claims, collected before any of them joins a batch: so a ballot
    whose cheap pre-checks fail (a Jacobi symbol, a challenge sum) is sent to the exact
    path whole, and never spoils the batch for the others."""

    members: list[Element] = field(default_factory=list)
    products: list[tuple[Element, list[tuple[Element, int]]]] = field(default_factory=list)
    equations: list[tuple[Element, list[tuple[Element, int]]]] = field(default_factory=list)

    def member(self, x: Element) -> None:
        """``x`` was read from the record and must be in the order-q subgroup."""
        self.members.append(x)

    def product(self, x: Element, factors: list[tuple[Element, int]]) -> None:
        """``x == prod f ** k`` over ``factors`` (the caller computed it so): powers of
        ``x`` are moved onto the factors, which must be members or fixed bases."""
        self.products.append((x, factors))

    def vouched(self, known: set[Any]) -> dict[Any, list[tuple[Element, int]]]:
        """The claimed products by value, once every product's factors and every
        equation's bases are ``known`` (fixed or claimed members) or such products;
        ValueError if not (a caller's mistake)."""
        derived: dict[Any, list[tuple[Element, int]]] = {}
        for x, factors in self.products:
            if any(f.value not in known for f, _ in factors):
                raise ValueError("a product of elements that are neither members nor fixed")
            derived[x.value] = factors
        for _, terms in self.equations:
            for base, _ in terms:
                if base.value not in known and base.value not in derived:
                    raise ValueError("an equation over a base nobody vouched for")
        return derived

    def equation(self, commitment: Element, terms: Iterable[tuple[Element, int]]) -> None:
        """``commitment == prod base ** e`` over ``terms``; every base must be fixed,
        a claimed member or a claimed product."""
        self.equations.append((commitment, list(terms)))


class Batch:
    """Equations and membership claims of many ballots, checked as one (see the module
    docstring). Use :meth:`add` per ballot, then :meth:`check` once."""

    def __init__(self, group: Group, fixed: Iterable[Element] = (), bits: int = BITS) -> None:
        if not isinstance(group, ModpGroup) or not group.safe_cofactor:
            raise GroupError(f"{group.name} does not support batch verification")
        self.group = group
        self.bits = bits
        self.q = group.q
        self.bases: dict[Any, _Base] = {}
        self.commitments: list[tuple[Any, int]] = []
        self.size = 0  # ballots (or other units) added
        for x in (group.generator(), *fixed):
            self.bases[x.value] = _Base(x.value, True)

    def add(self, claims: Claims) -> bool:
        """Add one ballot's claims; False (and nothing added) if a pre-check fails: a
        read element or commitment with Jacobi symbol -1, or a base nobody vouched for
        (a caller's mistake: raises ValueError)."""
        g = self.group
        for x in claims.members:
            if not is_residue(g, x):
                return False
        for a, _ in claims.equations:
            if not is_residue(g, a):
                return False
        known = set(self.bases) | {x.value for x in claims.members}
        derived = claims.vouched(known)
        bases = self.bases
        for x in claims.members:
            b = bases.get(x.value)
            if b is None:
                b = bases[x.value] = _Base(x.value, False)
            if not b.fixed:
                b.membership += secrets.randbits(self.bits)
        for a, terms in claims.equations:
            r = secrets.randbits(self.bits)
            self.commitments.append((a.value, r))
            for base, e in terms:
                if base.value in derived:
                    for f, k in derived[base.value]:
                        bases[f.value].exponent += r * e * k
                else:
                    bases[base.value].exponent += r * e
        self.size += 1
        return True

    def check(self) -> bool:
        """Whether every equation and membership claim added holds (false positives
        with probability at most 2^-bits).

        The read elements move to the commitments' side, so one multi-exponentiation
        covers both: ``prod a_i^r_i * prod x^((-E_x mod q) + q s_x) == prod f^E_f`` over
        the fixed bases ``f``. For a member, ``x^-E = x^(-E mod q)``; for a non-member,
        ``x^(q s_x)`` has order r whatever the sign, so the argument above holds.
        """
        g, p, q = self.group, self.group.p, self.q
        fixed = gmpy2.mpz(1)
        pairs = list(self.commitments)
        for b in self.bases.values():
            e = b.exponent % q
            if b.fixed:
                if e:
                    fixed = gmpy2.f_mod(fixed * g.pow(Element(g, b.value), e).value, p)
            else:
                pairs.append((b.value, (-e) % q + q * b.membership))
        return bool(multi_exp(pairs, p) == fixed)


class _ParsingView(Group):
    """A group for parsing only: everything but decoding goes to the real group
    (:attr:`inner`), and there are no secret exponents."""

    def __init__(self, group: Group) -> None:
        self.inner = group
        self.name = group.name
        self.q = group.q
        self.element_bytes = group.element_bytes

    def identity(self) -> Element:
        return self.inner.identity()

    def generator(self) -> Element:
        return self.inner.generator()

    def mul(self, a: Element, b: Element) -> Element:
        return self.inner.mul(a, b)

    def div(self, a: Element, b: Element) -> Element:
        return self.inner.div(a, b)

    def pow(self, a: Element, e: int) -> Element:
        return self.inner.pow(a, e)

    def pow_secret(self, a: Element, e: int) -> Element:
        raise GroupError("no secret exponents in a verifier's parsing view")

    def g_pow(self, e: int) -> Element:
        return self.inner.g_pow(e)

    def g_pow_secret(self, e: int) -> Element:
        raise GroupError("no secret exponents in a verifier's parsing view")

    def encode_element(self, a: Element) -> bytes:
        return self.inner.encode_element(a)


class DeferredMembership(_ParsingView):
    """A view of a batchable group for parsing: decoding checks range (and, for the
    commitments' callers, nothing more) as the group does, but a membership check is
    only recorded in :attr:`pending`, for a :class:`Batch` to test. The elements it
    returns belong to the real group. Only for code that passes every pending element
    to a batch (or checks it) before trusting the parse."""

    def __init__(self, group: ModpGroup) -> None:
        super().__init__(group)
        self.modp = group
        self.pending: list[Element] = []

    def decode_element(self, data: bytes, *, member_check: bool = True) -> Element:
        x = self.modp.decode_element(data, member_check=False)
        if member_check:
            self.pending.append(x)
        return x


class RistrettoBatch:
    """:class:`Batch` for ristretto255 (see the module docstring): the same
    :meth:`add` and :meth:`check`, one multi-scalar multiplication in the native
    library. Membership claims cost nothing but a decode there (every element is a
    member once its encoding is valid), so they are only listed, for that decode."""

    def __init__(self, group: Ristretto255, fixed: Iterable[Element] = (), bits: int = BITS):
        if not native.available():
            raise GroupError("ristretto255 batches need the native library (make setup)")
        self.group = group
        self.bits = bits
        self.q = group.q
        self.fixed = {x.value for x in (group.generator(), *fixed)}
        self.exponents: dict[bytes, int] = dict.fromkeys(self.fixed, 0)
        self.commitments: list[tuple[bytes, int]] = []
        self.size = 0

    def add(self, claims: Claims) -> bool:
        """Add one ballot's claims (raises ValueError for a base nobody vouched for,
        a caller's mistake, as :meth:`Batch.add` does). Always True: there are no
        pre-checks to fail in this group."""
        known = self.fixed | {x.value for x in claims.members}
        derived = claims.vouched(known)
        exps = self.exponents
        for x in claims.members:
            exps.setdefault(x.value, 0)
        randbits = secrets.randbits
        for a, terms in claims.equations:
            r = randbits(self.bits)
            self.commitments.append((a.value, r))
            for base, e in terms:
                if base.value in derived:
                    for f, k in derived[base.value]:
                        exps[f.value] += r * e * k
                else:
                    exps[base.value] += r * e
        self.size += 1
        return True

    def check(self) -> bool:
        """Whether every equation holds and every element decodes (false positives
        with probability at most 2^-bits): ``sum r_i a_i + sum (-E_b mod q) b == 0``."""
        q = self.q
        points = [a for a, _ in self.commitments]
        scalars = [r for _, r in self.commitments]
        for b, e in self.exponents.items():
            points.append(b)
            scalars.append((-e) % q)
        return native.is_identity_sum(points, scalars)


class DeferredRistretto(_ParsingView):
    """:class:`DeferredMembership` for ristretto255: decoding checks only the length and
    the top bit; the full check of the encoding is left to the batch's native decode.
    Every element decoded is listed, in :attr:`pending` (members) or
    :attr:`commitments` (``member_check=False``), and the caller must pass each to the
    batch, as a member or as an equation's commitment."""

    def __init__(self, group: Ristretto255) -> None:
        super().__init__(group)
        self.pending: list[Element] = []
        self.commitments: list[Element] = []

    def decode_element(self, data: bytes, *, member_check: bool = True) -> Element:
        if not isinstance(data, bytes | bytearray) or len(data) != 32:
            raise GroupError("ristretto255 element must be 32 bytes")
        if data[31] & 0x80:
            raise GroupError("not a canonical ristretto255 encoding (top bit set)")
        x = Element(self.inner, bytes(data))
        (self.pending if member_check else self.commitments).append(x)
        return x
