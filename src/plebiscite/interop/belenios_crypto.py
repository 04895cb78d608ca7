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
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from plebiscite.crypto.group import Element, Group, GroupError, get_group

GROUPS = {"BELENIOS-2048": "belenios-2048"}
_DEC = re.compile(r"-?[0-9]+")


class FormatError(ValueError):
    """A structure does not have Belenios's shape."""


def b64_sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode().rstrip("=")


def number(x: Any, what: str) -> int:
    """A JSON decimal string (as Belenios writes numbers)."""
    if not isinstance(x, str) or not _DEC.fullmatch(x):
        raise FormatError(f"{what} is not a decimal string")
    return int(x)


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
    def elem_int(self, v: int) -> Element:
        if not 0 < v < 1 << (8 * self.G.element_bytes):
            raise GroupError("element out of range")
        return self.G.decode_element(v.to_bytes(self.G.element_bytes, "big"))

    def elem(self, x: Any, what: str) -> Element:
        v = number(x, what)
        try:
            return self.elem_int(v)
        except GroupError as exc:
            raise FormatError(f"{what} is not in the group ({exc})") from exc

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
        return str(int.from_bytes(e.to_bytes(), "big"))

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
        ds: list[Element],
        proofs: list[tuple[int, int]],
    ) -> bool:
        """Interval proof (section 4.12): ``(alpha, beta)`` encrypts one of the ``m``
        with ``ds[i] = g^-m_i``."""
        if len(ds) != len(proofs):
            return False
        commitments, total = [], 0
        for (c, r), d in zip(proofs, ds, strict=True):
            commitments.append(self.gpow(r) * self.G.pow(alpha, c))
            commitments.append(self.ypow(r) * self.G.pow(beta * d, c))
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
    if not isinstance(b, dict):
        raise FormatError("the ballot is not a JSON object")
    uuid, eh, answers = b.get("election_uuid"), b.get("election_hash"), b.get("answers")
    if not isinstance(uuid, str) or not isinstance(eh, str) or not isinstance(answers, list):
        raise FormatError("the ballot lacks election_uuid, election_hash or answers")
    cred = number(b.get("credential"), "credential")
    out = (
        f'{{"election_uuid":{jstr(uuid)},"election_hash":{jstr(eh)},"credential":"{cred}",'
        f'"answers":[' + ",".join(_ser_answer(a) for a in answers) + "]"
    )
    if signature and "signature" in b:
        s = b["signature"]
        if not isinstance(s, dict) or not isinstance(s.get("hash"), str):
            raise FormatError("the signature is not {hash, proof}")
        out += f',"signature":{{"hash":{jstr(s["hash"])},"proof":{_ser_proof(s.get("proof"))}}}'
    return out + "}"


def check_ballot(ctx: BallotContext, index: int, raw: bytes) -> BallotOutcome:
    """Everything belenios-tool checks on one ballot that needs no other ballot and no
    credential list: canonical form, election, shape, membership, signature, proofs."""
    out = BallotOutcome(index)

    def bad(kind: str, msg: str) -> BallotOutcome:
        out.problems.append((kind, msg))
        return out

    try:
        b = json.loads(raw)
        canonical = serialize_ballot(b)
    except (ValueError, UnicodeDecodeError) as exc:
        return bad("wellformed", f"ill-formed ballot ({exc})")
    if canonical.encode() != raw:
        return bad("wellformed", "ballot not in canonical form")
    if set(b) - {"election_uuid", "election_hash", "credential", "answers", "signature"}:
        return bad("wellformed", "ballot not in canonical form (unknown fields)")
    c = ctx_for(ctx.group, ctx.y)
    try:
        cred = c.elem(b["credential"], "credential")
    except FormatError as exc:
        return bad("wellformed", str(exc))
    out.credential = c.dec(cred)
    if b["election_uuid"] != ctx.uuid:
        return bad("wellformed", "election_uuid is not this election's")
    if b["election_hash"] != ctx.fingerprint:
        return bad("wellformed", "election_hash is not this election's fingerprint")
    answers = b["answers"]
    if len(answers) != len(ctx.questions):
        return bad("wellformed", f"{len(answers)} answers for {len(ctx.questions)} questions")
    parsed = []
    try:
        for k, (a, q) in enumerate(zip(answers, ctx.questions, strict=True), 1):
            cts = [(c.elem(x["alpha"], "alpha"), c.elem(x["beta"], "beta")) for x in a["choices"]]
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
        return bad("wellformed", str(exc))
    out.choices = [[(int(c.dec(al)), int(c.dec(be))) for al, be in cts] for cts, *_ in parsed]
    # signature (section 4.14): over the hash of the ballot without its signature
    expected = b64_sha256(serialize_ballot(b, signature=False).encode())
    if sig["hash"] != expected:
        bad("signature", "signature hash is not the hash of the ballot")
    elif not c.schnorr(f"sig|{expected}|", cred, spf):
        bad("signature", "invalid signature")
    # proofs (sections 4.11-4.13)
    zkp0 = f"{ctx.fingerprint}|{c.dec(cred)}"
    ginv = c.one / c.g
    d01 = [c.one, ginv]
    for k, ((cts, ips, overall, bp), q) in enumerate(zip(parsed, ctx.questions, strict=True), 1):
        for j, ((al, be), ps) in enumerate(zip(cts, ips, strict=True), 1):
            if not c.disj(zkp0, al, be, d01, ps):
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
            ds = [c.one / c.gpow(m) for m in range(q.min, q.max + 1)]
            if not c.disj(zkp, sa, sb, ds, overall):
                bad("proofs", f"answer {k}: invalid overall proof")
    return out


def check_ballot_batch(ctx: BallotContext, batch: list[tuple[int, bytes]]) -> list[BallotOutcome]:
    return [check_ballot(ctx, i, raw) for i, raw in batch]
