"""Per-ballot checks of an ElectionGuard 1.x record, run in batches on worker processes.

One pass over a submitted ballot does spec steps 4 (selection proofs), 5 (contest
limits) and the per-ballot half of step 6 (the ballot's hashes and tracking code); the
chain between ballots, the aggregation and the decryptions are checked by the caller
from what each ballot returns.

:func:`check_batch` checks the membership of every ciphertext and the equations of every
proof of its ballots at once (:mod:`plebiscite.crypto.batch`; the challenge hashes are
still checked one by one). A ballot with any finding, and every ballot of a batch that
does not hold, is checked again on its own, so the findings are the exact path's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from plebiscite.crypto import batch as batching
from plebiscite.crypto.batch import Batch, Claims
from plebiscite.crypto.group import Element
from plebiscite.interop.electionguard_crypto import (
    Bad,
    Hx,
    check_constant,
    check_disjunctive,
    ciphertext,
    group,
    hash_elems,
    hx,
    integer,
    obj,
    scalar,
    text,
)
from plebiscite.interop.electionguard_manifest import Manifest

CAST, SPOILED = 1, 2


@dataclass(frozen=True)
class BallotContext:
    public_key: int
    qbar: int
    manifest_hash: int
    manifest: Manifest


@dataclass
class BallotOutcome:
    path: str
    object_id: str | None = None
    state: int | None = None
    code: int | None = None
    code_seed: int | None = None
    timestamp: int | None = None
    # (contest id, selection id) -> (pad, data) for real selections, as integers
    selections: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)
    e04: list[str] = field(default_factory=list)  # selection proofs
    e05: list[str] = field(default_factory=list)  # contest limits
    e06: list[str] = field(default_factory=list)  # ballot hashes and code
    unreadable: str | None = None


_KEYS: dict[int, Element] = {}


def _key(value: int, table: bool = True) -> Element:
    """The joint key, checked once per process; with its fixed-base table when ballots
    are checked one by one (a batch raises it to a single exponent)."""
    k = _KEYS.get(value)
    if k is None:
        g = group()
        k = g.decode_element(value.to_bytes(g.element_bytes, "big"))
        _KEYS[value] = k
    if table:
        group().precompute(k)
    return k


def check_ballot(ctx: BallotContext, path: str, claims: Claims | None = None) -> BallotOutcome:
    """One ballot's findings. With ``claims``, the memberships and proof equations go
    there for a batch instead of being checked (see :func:`check_batch`)."""
    out = BallotOutcome(path)
    try:
        with open(path, "rb") as f:
            raw = json.load(f)
        b = obj(raw, "ballot")
        out.object_id = text(b.get("object_id"), "object_id")
    except (OSError, ValueError) as exc:
        out.unreadable = f"{Path(path).name}: unreadable ({exc})"
        return out
    who = out.object_id
    key = _key(ctx.public_key, table=claims is None)
    m = ctx.manifest
    try:
        out.state = integer(b.get("state"), "state")
        out.timestamp = integer(b.get("timestamp"), "timestamp")
        out.code = scalar(b.get("code"), "code")
        out.code_seed = scalar(b.get("code_seed"), "code_seed")
        manifest_hash = scalar(b.get("manifest_hash"), "manifest_hash")
        crypto_hash = scalar(b.get("crypto_hash"), "crypto_hash")
        style = text(b.get("style_id"), "style_id")
        contests = b.get("contests")
        if not isinstance(contests, list):
            raise Bad("contests: not a list")
    except Bad as exc:
        out.e06.append(f"ballot {who}: {exc}")
        out.e04.append(f"ballot {who}: not checked ({exc})")
        return out
    if manifest_hash != ctx.manifest_hash:
        out.e06.append(f"ballot {who}: manifest_hash is not the election's")
    expected = m.styles.get(style)
    if expected is None:
        out.e05.append(f"ballot {who}: unknown ballot style {style!r}")
        expected = []
    seen = []
    contest_hashes: list[tuple[int, int]] = []
    for ci, c in enumerate(contests):
        where = f"ballot {who} contest #{ci}"
        try:
            c = obj(c, where)
            cid = text(c.get("object_id"), f"{where} object_id")
            where = f"ballot {who} contest {cid}"
            seq = integer(c.get("sequence_order"), f"{where} sequence_order")
            desc_hash = scalar(c.get("description_hash"), f"{where} description_hash")
            c_hash = scalar(c.get("crypto_hash"), f"{where} crypto_hash")
            sels = c.get("ballot_selections")
            if not isinstance(sels, list):
                raise Bad(f"{where}: ballot_selections is not a list")
        except Bad as exc:
            out.e05.append(str(exc))
            continue
        seen.append(cid)
        desc = m.contests.get(cid)
        if desc is None:
            out.e05.append(f"{where}: not in the manifest")
            continue
        if cid not in expected:
            out.e05.append(f"{where}: not on ballot style {style!r}")
        if seq != desc.sequence_order or desc_hash != desc.description_hash:
            out.e05.append(f"{where}: description (hash or order) does not match the manifest")
        contest_hashes.append((seq, c_hash))
        wanted = {s.object_id: s for s in desc.selections + desc.placeholders}
        sel_hashes: list[tuple[int, int]] = []
        product: tuple[Element, Element] | None = None
        factors: tuple[list[Element], list[Element]] = ([], [])
        ids = []
        for si, s in enumerate(sels):
            sw = f"{where} selection #{si}"
            try:
                s = obj(s, sw)
                sid = text(s.get("object_id"), f"{sw} object_id")
                sw = f"{where} selection {sid}"
                ids.append(sid)
                sseq = integer(s.get("sequence_order"), f"{sw} sequence_order")
                sdesc_hash = scalar(s.get("description_hash"), f"{sw} description_hash")
                s_hash = scalar(s.get("crypto_hash"), f"{sw} crypto_hash")
                placeholder = s.get("is_placeholder_selection")
                alpha, beta = ciphertext(s.get("ciphertext"), f"{sw} ciphertext", claims)
            except Bad as exc:
                out.e04.append(str(exc))
                continue
            sel_hashes.append((sseq, s_hash))
            product = (alpha, beta) if product is None else (product[0] * alpha, product[1] * beta)
            factors[0].append(alpha)
            factors[1].append(beta)
            sd = wanted.get(sid)
            if sd is None:
                out.e04.append(f"{sw}: not a selection of the contest")
            elif (
                sd.sequence_order != sseq
                or sd.description_hash != sdesc_hash
                or sd.placeholder is not placeholder
            ):
                out.e04.append(f"{sw}: description (hash, order or placeholder flag) mismatch")
            elif not sd.placeholder:
                out.selections[(cid, sid)] = (int(alpha.value), int(beta.value))
            if s_hash != hash_elems(sid, Hx(sdesc_hash), Hx(hash_elems(hx(alpha), hx(beta)))):
                out.e06.append(f"{sw}: crypto_hash is not H(id, description hash, H(A, B))")
            try:
                check_disjunctive(key, ctx.qbar, alpha, beta, s.get("proof"), f"{sw} proof", claims)
            except Bad as exc:
                out.e04.append(str(exc))
        if sorted(ids) != sorted(wanted):
            out.e05.append(
                f"{where}: selections {sorted(ids)} are not the contest's "
                f"(with {desc.number_elected} placeholders)"
            )
        if c_hash != hash_elems(cid, Hx(desc_hash), *[Hx(h) for _, h in sorted(sel_hashes)]):
            out.e06.append(f"{where}: crypto_hash is not H(id, description hash, selections)")
        try:
            acc_what = f"{where} ciphertext_accumulation"
            if claims is None:
                acc = ciphertext(c.get("ciphertext_accumulation"), acc_what)
            else:  # equal to the product of claimed members, or this ballot goes exact
                acc = ciphertext(c.get("ciphertext_accumulation"), acc_what, Claims())
            if product is None or acc != product:
                raise Bad(f"{where}: ciphertext_accumulation is not the product of the selections")
            if claims is not None:
                claims.product(acc[0], [(x, 1) for x in factors[0]])
                claims.product(acc[1], [(x, 1) for x in factors[1]])
            check_constant(
                key,
                ctx.qbar,
                acc[0],
                acc[1],
                c.get("proof"),
                desc.number_elected,
                f"{where} proof",
                claims,
            )
        except Bad as exc:
            out.e05.append(str(exc))
    missing = sorted(set(expected) - set(seen))
    if missing:
        out.e05.append(f"ballot {who}: contests {missing} of its style are missing")
    if len(set(seen)) != len(seen):
        out.e05.append(f"ballot {who}: a contest appears twice")
    ballot_hash = hash_elems(who, Hx(manifest_hash), *[Hx(h) for _, h in sorted(contest_hashes)])
    if crypto_hash != ballot_hash:
        out.e06.append(f"ballot {who}: crypto_hash is not H(id, manifest hash, contests)")
    if out.code != hash_elems(Hx(out.code_seed), out.timestamp, Hx(ballot_hash)):
        out.e06.append(f"ballot {who}: tracking code is not H(code_seed, timestamp, ballot hash)")
    return out


def _clean(o: BallotOutcome) -> bool:
    return not (o.unreadable or o.e04 or o.e05 or o.e06)


def check_batch(ctx: BallotContext, paths: list[str]) -> list[BallotOutcome]:
    """Every ballot's outcome, as :func:`check_ballot` alone gives it."""
    if not batching.enabled():
        return [check_ballot(ctx, p) for p in paths]
    bv = Batch(group(), fixed=[_key(ctx.public_key, table=False)])
    outcomes: list[BallotOutcome] = []
    batched: list[int] = []
    for p in paths:
        claims = Claims()
        o = check_ballot(ctx, p, claims)
        if _clean(o) and bv.add(claims):
            batched.append(len(outcomes))
        else:  # the exact path finds and names whatever is wrong
            o = check_ballot(ctx, p)
        outcomes.append(o)
    if batched and not bv.check():
        for i in batched:
            outcomes[i] = check_ballot(ctx, outcomes[i].path)
    return outcomes
