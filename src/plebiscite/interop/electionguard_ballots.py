"""Per-ballot checks of an ElectionGuard 1.x record, run in batches on worker processes.

One pass over a submitted ballot does spec steps 4 (selection proofs), 5 (contest
limits) and the per-ballot half of step 6 (the ballot's hashes and tracking code); the
chain between ballots, the aggregation and the decryptions are checked by the caller
from what each ballot returns.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

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


def _key(value: int) -> Element:
    k = _KEYS.get(value)
    if k is None:
        g = group()
        k = g.decode_element(value.to_bytes(g.element_bytes, "big"))
        g.precompute(k)
        _KEYS[value] = k
    return k


def check_ballot(ctx: BallotContext, path: str) -> BallotOutcome:
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
    key = _key(ctx.public_key)
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
                alpha, beta = ciphertext(s.get("ciphertext"), f"{sw} ciphertext")
            except Bad as exc:
                out.e04.append(str(exc))
                continue
            sel_hashes.append((sseq, s_hash))
            product = (alpha, beta) if product is None else (product[0] * alpha, product[1] * beta)
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
                check_disjunctive(key, ctx.qbar, alpha, beta, s.get("proof"), f"{sw} proof")
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
            acc = ciphertext(c.get("ciphertext_accumulation"), f"{where} ciphertext_accumulation")
            if product is None or acc != product:
                raise Bad(f"{where}: ciphertext_accumulation is not the product of the selections")
            check_constant(
                key, ctx.qbar, acc[0], acc[1], c.get("proof"), desc.number_elected, f"{where} proof"
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


def check_batch(ctx: BallotContext, paths: list[str]) -> list[BallotOutcome]:
    return [check_ballot(ctx, p) for p in paths]
