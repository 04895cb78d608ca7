"""Belenios 2.0 cryptographic formats, written from its specification (sections 4.5-4.18).

plebiscite's own hashing and proof encodings differ from Belenios's, so only the group
arithmetic comes from :mod:`plebiscite.crypto.group`; the Fiat-Shamir hashes, the proof
shapes and the ballot serialisation are Belenios's:

* numbers (group elements, exponents) are decimal strings in JSON and in hashes;
* a challenge is ``SHA256(prefix || x1,x2,...,xk) mod q`` over the decimal commitments,
  with prefixes ``pok|G|X|``, ``sigmsg|M|``, ``sig|H|``, ``prove|S|alpha,beta|``,
  ``bproof0|S|``, ``bproof1|S|`` and ``decrypt|phi|X|``;
* the election fingerprint ``phi`` is the unpadded Base64 of SHA-256 of the election file.

Every element read from the archive is checked for membership in the order-q subgroup
(:meth:`Ctx.elem`), every exponent for range ``0 <= x < q`` (:meth:`Ctx.scalar`).

Belenios proofs carry only challenges and responses, so their commitments must be
recomputed, one by one, before the hash can be checked: nothing here is batched by
random linear combination (and belenios-2048's cofactor, 2 * 3 * a composite, would not
allow it soundly; see :mod:`plebiscite.crypto.batch`). What is shared instead: a ballot's
ciphertext components are each raised, in one comb (:meth:`ModpGroup.pow_many`), to q
(the membership test) and to every challenge of the proofs that use them; ``g`` and the
election key go through fixed-base tables.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any

import gmpy2

from plebiscite.crypto.group import Element, Group, GroupError, get_group

GROUPS = {"BELENIOS-2048": "belenios-2048"}
_DEC = re.compile(r"-?[0-9]+")


class FormatError(ValueError):
    """A structure does not have Belenios's shape."""


def b64_sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode().rstrip("=")


def number(x: Any, what: str) -> int:
    """A JSON decimal string (as Belenios writes numbers)."""
    if not isinstance(x, str):
        raise FormatError(f"{what} is not a decimal string")
    v = _decimal(x)
    if v is None:
        raise FormatError(f"{what} is not a decimal string")
    return v


@lru_cache(maxsize=256)
def _decimal(x: str) -> int | None:
    # a ballot's numbers are read twice (canonical form, then values): the second is a hit
    return int(x) if _DEC.fullmatch(x) else None


def jstr(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


class Ctx:
    """One group and election key, with Belenios's hash and proof checks."""

    def __init__(self, description: str, y: int | None = None) -> None:
        self.description = description
        self.G: Group = get_group(GROUPS[description])
        self.q = self.G.q
        self.g = self.G.generator()
        self.one = self.G.identity()
        self.y: Element | None = None
        if y is not None:
            self.y = self.elem_int(y)
            self.G.precompute(self.y)

    # -- decoding --------------------------------------------------------------------
    def elem_int(self, v: int, *, member: bool = True) -> Element:
        """``member=False`` checks the range only: for callers that test membership
        later, before trusting the element (:func:`check_ballot`, B08)."""
        if not 0 < v < 1 << (8 * self.G.element_bytes):
            raise GroupError("element out of range")
        return self.G.decode_element(v.to_bytes(self.G.element_bytes, "big"), member_check=member)

    def elem(self, x: Any, what: str, *, member: bool = True) -> Element:
        v = number(x, what)
        try:
            return self.elem_int(v, member=member)
        except GroupError as exc:
            raise FormatError(f"{what} is not in the group ({exc})") from exc

    def known(self, v: int) -> Element:
        """An element this verifier has already checked (a ballot's ciphertext, back
        from a worker): no second membership test."""
        return Element(self.G, gmpy2.mpz(v))

    def powers(self, e: Element, exponents: list[int]) -> dict[int, Element]:
        """``e`` raised to each public exponent (not reduced mod q), in one comb."""
        return dict(zip(exponents, self.G.pow_many(e, exponents), strict=True))

    def scalar(self, x: Any, what: str) -> int:
        v = number(x, what)
        if not 0 <= v < self.q:
            raise FormatError(f"{what} is out of range (not 0 <= x < q)")
        return v

    def proof(self, x: Any, what: str) -> tuple[int, int]:
        if not isinstance(x, dict) or set(x) != {"challenge", "response"}:
            raise FormatError(f"{what} is not a proof")
        return self.scalar(x["challenge"], what + " challenge"), self.scalar(
            x["response"], what + " response"
        )

    @staticmethod
    def dec(e: Element) -> str:
        return str(e.value)  # the group's integer (gmpy2 prints it in decimal)

    def hash(self, prefix: str, elems: list[Element]) -> int:
        s = prefix + ",".join(self.dec(e) for e in elems)
        return int(hashlib.sha256(s.encode()).hexdigest(), 16) % self.q

    def ypow(self, e: int) -> Element:
        assert self.y is not None
        return self.G.pow(self.y, e)

    def gpow(self, e: int) -> Element:
        return self.G.g_pow(e)

    # -- proofs ----------------------------------------------------------------------
    def schnorr(self, prefix: str, key: Element, pf: tuple[int, int]) -> bool:
        """``A = g^response * key^challenge`` and ``challenge = H(prefix, A)``."""
        c, r = pf
        a = self.gpow(r) * self.G.pow(key, c)
        return self.hash(prefix, [a]) == c

    def pok(self, key: Element, pf: tuple[int, int]) -> bool:
        return self.schnorr(f"pok|{self.description}|{self.dec(key)}|", key, pf)

    def signed_msg(self, key: Element, message: str, pf: tuple[int, int]) -> bool:
        return self.schnorr(f"sigmsg|{message}|", key, pf)

    def disj(
        self,
        zkp: str,
        alpha: Element,
        beta: Element,
        ms: list[int],
        proofs: list[tuple[int, int]],
        apow: dict[int, Element] | None = None,
        bpow: dict[int, Element] | None = None,
    ) -> bool:
        """Interval proof (section 4.12): ``(alpha, beta)`` encrypts one of the ``ms``.

        Branch i's commitments are ``g^r alpha^c`` and ``y^r (beta g^-m_i)^c``, computed
        as ``y^r beta^c g^(-m_i c)``. ``apow`` and ``bpow`` map each challenge to the
        power of ``alpha`` and ``beta``, when the caller has them already."""
        if len(ms) != len(proofs):
            return False
        cs = [c for c, _ in proofs]
        if apow is None:
            apow = self.powers(alpha, cs)
        if bpow is None:
            bpow = self.powers(beta, cs)
        commitments, total = [], 0
        for (c, r), m in zip(proofs, ms, strict=True):
            commitments.append(self.gpow(r) * apow[c])
            b = self.ypow(r) * bpow[c]
            commitments.append(b * self.gpow((-m * c) % self.q) if m else b)
            total += c
        prefix = f"prove|{zkp}|{self.dec(alpha)},{self.dec(beta)}|"
        return self.hash(prefix, commitments) == total % self.q

    def blank(
        self,
        zkp: str,
        mn: int,
        mx: int,
        c0: tuple[Element, Element],
        cs: tuple[Element, Element],
        overall: list[tuple[int, int]],
        blank: list[tuple[int, int]],
    ) -> tuple[bool, bool]:
        """Proofs of possibly-blank votes (section 4.13): (blank_proof ok, overall ok)."""
        (a0, b0), (a_s, b_s) = c0, cs
        ok_blank = False
        if len(blank) == 2:
            (ch0, r0), (ch1, r1) = blank
            com = [
                self.gpow(r0) * self.G.pow(a0, ch0),
                self.ypow(r0) * self.G.pow(b0, ch0),
                self.gpow(r1) * self.G.pow(a_s, ch1),
                self.ypow(r1) * self.G.pow(b_s, ch1),
            ]
            ok_blank = self.hash(f"bproof0|{zkp}|", com) == (ch0 + ch1) % self.q
        ok_overall = False
        if len(overall) == mx - mn + 2:
            ch, r = overall[0]
            com = [self.gpow(r) * self.G.pow(a0, ch), self.ypow(r) * self.G.pow(b0 / self.g, ch)]
            total = ch
            for i in range(1, mx - mn + 2):
                ch, r = overall[i]
                nbeta = b_s / self.gpow(mn + i - 1)
                com.append(self.gpow(r) * self.G.pow(a_s, ch))
                com.append(self.ypow(r) * self.G.pow(nbeta, ch))
                total += ch
            ok_overall = self.hash(f"bproof1|{zkp}|", com) == total % self.q
        return ok_blank, ok_overall

    def factor(
        self, fingerprint: str, key: Element, alpha: Element, f: Element, pf: tuple[int, int]
    ) -> bool:
        """Decryption factor proof (section 4.18): ``f = alpha^x`` for ``key = g^x``."""
        c, r = pf
        com = [self.gpow(r) * self.G.pow(key, c), self.G.pow(alpha, r) * self.G.pow(f, c)]
        return self.hash(f"decrypt|{fingerprint}|{self.dec(key)}|", com) == c


@cache
def ctx_for(description: str, y: int) -> Ctx:
    """One :class:`Ctx` per process and election key (worker processes reuse it)."""
    return Ctx(description, y)


# --- ballots (section 4.15) ----------------------------------------------------------


@dataclass(frozen=True)
class QuestionH:
    answers: int
    min: int
    max: int
    blank: bool

    @property
    def width(self) -> int:
        return self.answers + (1 if self.blank else 0)


@dataclass(frozen=True)
class BallotContext:
    group: str
    y: int
    uuid: str
    fingerprint: str
    questions: tuple[QuestionH, ...]


@dataclass
class BallotOutcome:
    index: int  # position among the Ballot events (0-based)
    credential: str | None = None  # decimal, when readable
    choices: list[list[tuple[int, int]]] | None = None  # (alpha, beta), when well-formed
    problems: list[tuple[str, str]] = field(default_factory=list)  # (kind, message)
    # The credential's membership is the caller's to test (see check_ballot): B08 has
    # tested every listed credential already, so only an unlisted one needs it.
    credential_unchecked: bool = False


def _ser_proof(p: Any) -> str:
    if not isinstance(p, dict):
        raise FormatError("a proof is not an object")
    c = number(p.get("challenge"), "challenge")
    r = number(p.get("response"), "response")
    return f'{{"challenge":"{c}","response":"{r}"}}'


def _ser_proofs(ps: Any) -> str:
    if not isinstance(ps, list):
        raise FormatError("a disjunctive proof is not a list")
    return "[" + ",".join(_ser_proof(p) for p in ps) + "]"


def _ser_answer(a: Any) -> str:
    if not isinstance(a, dict):
        raise FormatError("an answer is not an object")
    ch = a.get("choices")
    ip = a.get("individual_proofs")
    if not isinstance(ch, list) or not isinstance(ip, list) or "overall_proof" not in a:
        raise FormatError("an answer lacks choices, individual_proofs or overall_proof")
    cts = []
    for c in ch:
        if not isinstance(c, dict):
            raise FormatError("a ciphertext is not an object")
        al, be = number(c.get("alpha"), "alpha"), number(c.get("beta"), "beta")
        cts.append(f'{{"alpha":"{al}","beta":"{be}"}}')
    out = (
        '{"choices":[' + ",".join(cts) + '],"individual_proofs":['
        + ",".join(_ser_proofs(p) for p in ip) + '],"overall_proof":'
        + _ser_proofs(a["overall_proof"])
    )  # fmt: skip
    if "blank_proof" in a:
        out += ',"blank_proof":' + _ser_proofs(a["blank_proof"])
    return out + "}"


def serialize_ballot(b: Any, *, signature: bool = True) -> str:
    """Belenios's compact serialisation of a ballot, fields in the specified order."""
    head, sig = _serialize_parts(b)
    return head + (sig if signature else "") + "}"


def _serialize_parts(b: Any) -> tuple[str, str]:
    """The serialisation without its closing brace, and the signature field (or "")."""
    if not isinstance(b, dict):
        raise FormatError("the ballot is not a JSON object")
    uuid, eh, answers = b.get("election_uuid"), b.get("election_hash"), b.get("answers")
    if not isinstance(uuid, str) or not isinstance(eh, str) or not isinstance(answers, list):
        raise FormatError("the ballot lacks election_uuid, election_hash or answers")
    cred = number(b.get("credential"), "credential")
    head = (
        f'{{"election_uuid":{jstr(uuid)},"election_hash":{jstr(eh)},"credential":"{cred}",'
        f'"answers":[' + ",".join(_ser_answer(a) for a in answers) + "]"
    )
    sig = ""
    if "signature" in b:
        s = b["signature"]
        if not isinstance(s, dict) or not isinstance(s.get("hash"), str):
            raise FormatError("the signature is not {hash, proof}")
        sig = f',"signature":{{"hash":{jstr(s["hash"])},"proof":{_ser_proof(s.get("proof"))}}}'
    return head, sig


def check_ballot(ctx: BallotContext, index: int, raw: bytes) -> BallotOutcome:
    """Everything belenios-tool checks on one ballot that needs no other ballot and no
    credential list: canonical form, election, shape, membership, signature, proofs."""
    out = BallotOutcome(index)

    def bad(kind: str, msg: str) -> BallotOutcome:
        out.problems.append((kind, msg))
        return out

    try:
        b = json.loads(raw)
        head, sig_part = _serialize_parts(b)
    except (ValueError, UnicodeDecodeError) as exc:
        return bad("wellformed", f"ill-formed ballot ({exc})")
    if (head + sig_part + "}").encode() != raw:
        return bad("wellformed", "ballot not in canonical form")
    if set(b) - {"election_uuid", "election_hash", "credential", "answers", "signature"}:
        return bad("wellformed", "ballot not in canonical form (unknown fields)")
    c = ctx_for(ctx.group, ctx.y)
    try:  # membership: the caller's (B08 tests every listed credential)
        cred = c.elem(b["credential"], "credential", member=False)
    except FormatError as exc:
        return bad("wellformed", str(exc))
    out.credential = c.dec(cred)
    out.credential_unchecked = True
    if b["election_uuid"] != ctx.uuid:
        return bad("wellformed", "election_uuid is not this election's")
    if b["election_hash"] != ctx.fingerprint:
        return bad("wellformed", "election_hash is not this election's fingerprint")
    answers = b["answers"]
    if len(answers) != len(ctx.questions):
        return bad("wellformed", f"{len(answers)} answers for {len(ctx.questions)} questions")
    parsed = []
    read: list[Element] = []  # ciphertext components in reading order, membership untested
    try:
        for k, (a, q) in enumerate(zip(answers, ctx.questions, strict=True), 1):
            cts = []
            for x in a["choices"]:
                read.append(c.elem(x["alpha"], "alpha", member=False))
                read.append(c.elem(x["beta"], "beta", member=False))
                cts.append((read[-2], read[-1]))
            if len(cts) != q.width or len(a["individual_proofs"]) != q.width:
                raise FormatError(f"answer {k}: {len(cts)} choices for {q.width}")
            ips = [[c.proof(p, "proof") for p in ps] for ps in a["individual_proofs"]]
            overall = [c.proof(p, "proof") for p in a["overall_proof"]]
            has_blank = "blank_proof" in a
            if has_blank != q.blank:
                raise FormatError(f"answer {k}: blank_proof {'present' if has_blank else 'absent'}")
            bp = [c.proof(p, "proof") for p in a["blank_proof"]] if has_blank else []
            parsed.append((cts, ips, overall, bp))
        sig = b.get("signature")
        if sig is None:
            raise FormatError("no signature")
        spf = c.proof(sig["proof"], "signature proof")
    except FormatError as exc:
        # an element read before the error that is not a member is what reading them
        # in order, each checked at once, meets first
        return bad("wellformed", _first_non_member(c, read) or str(exc))
    # Each component's powers in one comb: q (membership), its individual proof's
    # challenges and, for a question of at most two answers without blank, the overall
    # proof's (the overall ciphertext is the product of the answers'; below two answers
    # the extra exponents in the comb cost less than a separate exponentiation).
    powers: list[list[tuple[dict[int, Element], dict[int, Element]]]] = []
    for (cts, ips, overall, _), q in zip(parsed, ctx.questions, strict=True):
        fold = [ch for ch, _ in overall] if not q.blank and q.width <= 2 else []
        row = []
        for (al, be), ps in zip(cts, ips, strict=True):
            exps = [c.q, *(ch for ch, _ in ps), *fold]
            row.append((c.powers(al, exps), c.powers(be, exps)))
        powers.append(row)
    members = [pw[c.q] == c.one for row in powers for pa_pb in row for pw in pa_pb]
    if not all(members):
        return bad("wellformed", _first_non_member(c, read) or "a ciphertext is not in the group")
    out.choices = [[(int(al.value), int(be.value)) for al, be in cts] for cts, *_ in parsed]
    # signature (section 4.14): over the hash of the ballot without its signature
    expected = b64_sha256((head + "}").encode())  # serialize_ballot(b, signature=False)
    if sig["hash"] != expected:
        bad("signature", "signature hash is not the hash of the ballot")
    elif not c.schnorr(f"sig|{expected}|", cred, spf):
        bad("signature", "invalid signature")
    # proofs (sections 4.11-4.13)
    zkp0 = f"{ctx.fingerprint}|{c.dec(cred)}"
    for k, ((cts, ips, overall, bp), q, row) in enumerate(
        zip(parsed, ctx.questions, powers, strict=True), 1
    ):
        for j, ((al, be), ps, (pa, pb)) in enumerate(zip(cts, ips, row, strict=True), 1):
            if not c.disj(zkp0, al, be, [0, 1], ps, pa, pb):
                bad("proofs", f"answer {k}, choice {j}: invalid individual proof")
        zkp = zkp0 + "|" + ",".join(f"{c.dec(al)},{c.dec(be)}" for al, be in cts)
        if q.blank:
            rest = cts[1:]
            cs = (c.G.prod(a for a, _ in rest), c.G.prod(b_ for _, b_ in rest))
            ok_b, ok_o = c.blank(zkp, q.min, q.max, cts[0], cs, overall, bp)
            if not ok_b:
                bad("proofs", f"answer {k}: invalid blank proof")
            if not ok_o:
                bad("proofs", f"answer {k}: invalid overall proof")
        else:
            sa, sb = c.G.prod(a for a, _ in cts), c.G.prod(b_ for _, b_ in cts)
            ms = list(range(q.min, q.max + 1))
            sapow = sbpow = None
            if q.width <= 2:  # folded above: (prod alpha)^c = prod (alpha^c)
                chs = [ch for ch, _ in overall]
                sapow = {ch: c.G.prod(pa[ch] for pa, _ in row) for ch in chs}
                sbpow = {ch: c.G.prod(pb[ch] for _, pb in row) for ch in chs}
            if not c.disj(zkp, sa, sb, ms, overall, sapow, sbpow):
                bad("proofs", f"answer {k}: invalid overall proof")
    return out


def _first_non_member(c: Ctx, read: list[Element]) -> str | None:
    """The message for the first element of ``read`` outside the order-q subgroup, as
    the exact decoding gives it; None if all are members."""
    for i, e in enumerate(read):
        try:
            c.elem_int(int(e.value))
        except GroupError as exc:
            return f"{'beta' if i % 2 else 'alpha'} is not in the group ({exc})"
    return None


def check_ballot_batch(ctx: BallotContext, batch: list[tuple[int, bytes]]) -> list[BallotOutcome]:
    return [check_ballot(ctx, i, raw) for i, raw in batch]
