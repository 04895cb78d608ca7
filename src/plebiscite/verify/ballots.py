"""Checking one ballot: structure, membership, proofs, tracking code.

Kept free of any state but a small picklable :class:`BallotContext`, so batches of
ballots can be checked in worker processes (or, later, on a Dask cluster).

In the integer groups whose structure allows it (modp-4096), :func:`check_batch` checks
a whole batch's membership claims and proof equations at once
(:mod:`plebiscite.crypto.batch`), after checking every challenge and tracking code
exactly; if the batch does not hold, every ballot of it is checked again on its own
(:func:`check_ballot_exact`), which names the ballot and what fails. Findings are the
same either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any, NamedTuple

from plebiscite.crypto import batch as batching
from plebiscite.crypto import native
from plebiscite.crypto.batch import Claims, DeferredRistretto
from plebiscite.crypto.elgamal import Ciphertext
from plebiscite.crypto.group import Element, Group, GroupError, Ristretto255, get_group
from plebiscite.crypto.proofs import range_claims, verify_range
from plebiscite.record import codec
from plebiscite.record.entries import EntryError
from plebiscite.record.manifest import Manifest, parse_manifest
from plebiscite.record.protocol import (
    TAG_OPTION,
    TAG_QUESTION,
    ParsedBallot,
    option_bind,
    parse_ballot,
    question_bind,
    question_total,
    question_values,
    question_weights,
    tracking_code,
    valid_selection,
)


@dataclass(frozen=True)
class BallotContext:
    group_name: str
    manifest_raw: dict[str, Any]
    context_hex: str
    joint_key_hex: str

    def __getstate__(self) -> dict[str, Any]:
        # Only the four fields travel to worker processes; the cached group, manifest and
        # key (with native handles and fixed-base tables) are rebuilt where used.
        return {
            k: self.__dict__[k]
            for k in ("group_name", "manifest_raw", "context_hex", "joint_key_hex")
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        for k, v in state.items():
            object.__setattr__(self, k, v)

    @cached_property
    def group(self) -> Group:
        return get_group(self.group_name)

    @cached_property
    def manifest(self) -> Manifest:
        return parse_manifest(self.manifest_raw)

    @cached_property
    def context(self) -> bytes:
        return bytes.fromhex(self.context_hex)

    @cached_property
    def key(self) -> Element:
        """The joint key, decoded and checked (no fixed-base table: a batch raises it
        to one exponent)."""
        return codec.element(self.group, self.joint_key_hex)

    @cached_property
    def joint_key(self) -> Element:
        """The joint key with its fixed-base table: every proof checked on its own
        raises it to public exponents."""
        self.group.precompute(self.key)
        return self.key


@dataclass(frozen=True)
class BallotFinding:
    """What is wrong with a ballot: ``kind`` is "wellformed", "proofs" or "tracking"."""

    index: int
    kind: str
    message: str


def computed_tracking_code(ctx: BallotContext, ballot: ParsedBallot) -> str:
    return tracking_code(
        ctx.context, ballot.region, [(a.question.id, a.ciphertexts) for a in ballot.answers]
    )


def check_ballot_proofs(ctx: BallotContext, ballot: ParsedBallot) -> str | None:
    """The first proof that fails, as a message, or None when every proof holds."""
    g, key, c = ctx.group, ctx.joint_key, ctx.context
    for a in ballot.answers:
        q = a.question
        for slot, ct, proof in zip(q.slots, a.ciphertexts, a.option_proofs, strict=True):
            bind = option_bind(ballot.credential, ballot.region, q.id, slot)
            if not verify_range(g, TAG_OPTION, c, key, ct, proof, [0, 1], bind):
                return f"question {q.id!r} option {slot!r}: 0/1 proof fails"
        total = question_total(g, q, a.ciphertexts)
        bind = question_bind(ballot.credential, ballot.region, q.id)
        if not verify_range(g, TAG_QUESTION, c, key, total, a.proof, question_values(q), bind):
            return f"question {q.id!r}: proof of {q.min}..{q.max} selections fails"
    return None


def check_ballot_exact(ctx: BallotContext, index: int, data: Any) -> list[BallotFinding]:
    """One ballot, every element and equation checked on its own: the reference."""
    try:
        ballot = parse_ballot(ctx.group, ctx.manifest, data)
    except (EntryError, GroupError) as exc:
        return [BallotFinding(index, "wellformed", str(exc))]
    out = []
    problem = check_ballot_proofs(ctx, ballot)
    if problem:
        out.append(BallotFinding(index, "proofs", problem))
    if computed_tracking_code(ctx, ballot) != ballot.tracking_code:
        out.append(BallotFinding(index, "tracking", "tracking code does not match ciphertexts"))
    return out


def check_ballot(ctx: BallotContext, index: int, data: Any) -> list[BallotFinding]:
    """One ballot's findings (none when it is valid); a batch of one where batching is
    possible (in modp-4096, 8 ms of CPU instead of 20 for a yes/no ballot even alone)."""
    return check_batch(ctx, [(index, data)])


def check_batch(ctx: BallotContext, batch: list[tuple[int, Any]]) -> list[BallotFinding]:
    if not batching.enabled() or not batching.supports(ctx.group):
        return [f for index, data in batch for f in check_ballot_exact(ctx, index, data)]
    bv = batching.make_batch(ctx.group, fixed=[ctx.key])
    found: list[list[BallotFinding]] = []
    batched: list[int] = []  # positions in ``batch`` whose claims joined ``bv``
    for index, data in batch:
        claims = Claims()
        tracking = _ballot_claims(ctx, index, data, claims)
        if tracking is None or not bv.add(claims):
            found.append(check_ballot_exact(ctx, index, data))
        else:
            batched.append(len(found))
            found.append(tracking)
    if batched and not bv.check():
        for pos in batched:  # something in the batch is false: find and name it
            found[pos] = check_ballot_exact(ctx, *batch[pos])
    return [f for fs in found for f in fs]


def _ballot_claims(
    ctx: BallotContext, index: int, data: Any, claims: Claims
) -> list[BallotFinding] | None:
    """Parse the ballot and check its challenges and tracking code exactly, collecting
    its membership claims and proof equations in ``claims``. The tracking finding (or
    none) if all of that holds; None if anything fails, or anything unexpected happens
    at all: the exact path then decides, and names the failure as it always has."""
    g = ctx.group
    view = batching.deferred_view(g)
    try:
        ballot = parse_ballot(view, ctx.manifest, data)
        for x in view.pending:
            claims.member(x)
        key, c = ctx.key, ctx.context
        for a in ballot.answers:
            q = a.question
            for slot, ct, proof in zip(q.slots, a.ciphertexts, a.option_proofs, strict=True):
                bind = option_bind(ballot.credential, ballot.region, q.id, slot)
                if not range_claims(g, TAG_OPTION, c, key, ct, proof, [0, 1], claims, bind):
                    return None
            total = question_total(g, q, a.ciphertexts)
            # the total is a product of the slots (question_weights, as question_total
            # computes it): its powers are moved onto the slots' components, which are
            # claimed members
            weights = question_weights(q)
            alphas = [(ct.alpha, k) for ct, k in zip(a.ciphertexts, weights, strict=True)]
            betas = [(ct.beta, k) for ct, k in zip(a.ciphertexts, weights, strict=True)]
            claims.product(total.alpha, alphas)
            claims.product(total.beta, betas)
            bind = question_bind(ballot.credential, ballot.region, q.id)
            values = question_values(q)
            if not range_claims(g, TAG_QUESTION, c, key, total, a.proof, values, claims, bind):
                return None
        if isinstance(view, DeferredRistretto):
            # every element the view let through unchecked must reach the batch's decode
            in_equations = {a.value for a, _ in claims.equations}
            for x in view.commitments:
                if x.value not in in_equations:
                    claims.member(x)
        tracking_ok = computed_tracking_code(ctx, ballot) == ballot.tracking_code
    except Exception:  # whatever it is, the exact path reports it
        return None
    if tracking_ok:
        return []
    return [BallotFinding(index, "tracking", "tracking code does not match ciphertexts")]


def check_challenged(ctx: BallotContext, index: int, data: Any) -> str | None:
    """A challenged ballot opens, with its nonces, to valid claimed choices."""
    g, m = ctx.group, ctx.manifest
    try:
        if not isinstance(data, dict) or set(data) != {"region", "answers", "tracking_code"}:
            return "expected keys answers, region, tracking_code"
        region = data["region"]
        if region not in m.regions:
            return f"unknown region {region!r}"
        qs = m.region_questions(region)
        if not isinstance(data["answers"], list) or len(data["answers"]) != len(qs):
            return "expected one answer per question of the region"
        cts_for_code: list[tuple[str, list[Ciphertext]]] = []
        for q, a in zip(qs, data["answers"], strict=True):
            if not isinstance(a, dict) or set(a) != {
                "question",
                "ciphertexts",
                "nonces",
                "choices",
            }:
                return "answer: expected keys choices, ciphertexts, nonces, question"
            if a["question"] != q.id:
                return f"answers out of order (expected {q.id!r})"
            if not isinstance(a["choices"], list) or not valid_selection(q, a["choices"]):
                return f"question {q.id!r}: claimed choices are not a valid answer"
            if a["choices"] != sorted(a["choices"]):
                return f"question {q.id!r}: claimed choices not sorted"
            if len(a["ciphertexts"]) != len(q.slots) or len(a["nonces"]) != len(q.slots):
                return f"question {q.id!r}: expected {len(q.slots)} ciphertexts and nonces"
            cts = []
            for slot, cj, rj in zip(q.slots, a["ciphertexts"], a["nonces"], strict=True):
                ct = codec.ct_from_json(g, cj)
                r = codec.scalar(g, rj)
                m_ = 1 if slot in a["choices"] else 0
                if g.g_pow(r) != ct.alpha or g.mul(g.pow(ctx.joint_key, r), g.g_pow(m_)) != ct.beta:
                    return f"question {q.id!r} option {slot!r}: does not open to the claimed choice"
                cts.append(ct)
            cts_for_code.append((q.id, cts))
        if tracking_code(ctx.context, region, cts_for_code) != data["tracking_code"]:
            return "tracking code does not match ciphertexts"
    except (EntryError, GroupError, TypeError, KeyError) as exc:
        return f"malformed: {exc}"
    return None


# --- raw ballot lines, for the streaming verifier -----------------------------------------
#
# The verifier sends each worker raw ``entries.jsonl`` lines of ballots, in batches. The
# worker parses each line (V01), checks its signature (V05), its structure, proofs and
# tracking code (``check_batch``: V11, V13, V14), and multiplies the ciphertexts of the
# ballots that may count into one product per region, question and slot (V17). It sends
# back only small per-ballot fields (time, region, credential, tracking code, the code it
# replaces) for the checks that need the whole board in order (V01, V02, V05, V06, V12,
# V14-V16).

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def entry_micros(when: datetime) -> int:
    """An aware datetime as whole microseconds since 1970 (exact: comparisons and
    differences give what the datetimes give)."""
    return (when - _EPOCH) // _MICROSECOND


@dataclass(frozen=True)
class LineWork:
    """What a worker needs to check ballot lines: small and picklable. Fields are None
    when an earlier check could not establish them (the worker then does less)."""

    group_name: str | None
    manifest_raw: dict[str, Any] | None
    election_id: str | None  # None: no valid referendum file, signatures not checked
    ballot_context: BallotContext | None  # None: no valid election context (V09)
    window: tuple[int, int] | None = None  # ballots strictly between count (V17)
    keep: bool = False  # send the parsed entries back too


class BallotLine(NamedTuple):
    """One ballot line's fields, as the in-order checks need them."""

    at: int  # the entry's index
    when: int | None  # microseconds since 1970; None: the line is not an entry (V01)
    error: str | None  # why it is not an entry
    region: Any
    credential: Any
    tracking_code: Any
    signature: str | None  # V05's finding, if any
    replaces: Any = None  # the tracking code it replaces (V16's revote chain)


Product = dict[str, dict[str, dict[str, tuple[str, str]]]]  # region -> question -> slot


@dataclass
class LineResult:
    ballots: list[BallotLine]
    findings: list[BallotFinding]
    product: Product  # of the counting ballots, in hex
    undecodable: list[int]  # counting ballots whose ciphertexts would not decode
    entries: list[tuple[int, Any]] | None = None  # (index, Entry) with ``keep``


_PREPARED: dict[tuple[str, ...], Any] = {}


def _prepared(work: LineWork) -> tuple[Group | None, Manifest | None, BallotContext | None]:
    """The group, manifest and ballot context of ``work``, built once per process (the
    context caches the key's fixed-base table): the same ``work`` arrives with every
    batch."""
    if work.group_name is None or work.manifest_raw is None:
        return None, None, None
    bc = work.ballot_context
    key = (
        work.group_name,
        work.election_id or "",
        bc.context_hex if bc else "",
        bc.joint_key_hex if bc else "",
    )
    got = _PREPARED.get(key)
    if got is None:
        if len(_PREPARED) > 8:  # a long-lived (Dask) worker verifying many records
            _PREPARED.clear()
        got = (get_group(work.group_name), parse_manifest(work.manifest_raw), bc)
        _PREPARED[key] = got
    g, m, ctx = got
    return g, m, ctx


def ballot_ciphertexts(
    group: Group, manifest: Manifest, data: Any, checked: bool
) -> list[tuple[str, str, str, Ciphertext]]:
    """The ballot's ciphertexts as (region, question, slot, ciphertext); raises
    EntryError, GroupError, KeyError, TypeError or ValueError if malformed. Without
    ``checked`` the elements' subgroup membership is not tested again (the ballot
    already passed ``check_batch``)."""
    r = data["region"]
    if not isinstance(r, str) or r not in manifest.regions:
        raise KeyError(r)
    asked = {q.id for q in manifest.region_questions(r)}
    out = []
    for a in data["answers"]:
        q = manifest.questions[a["question"]]
        if q.id not in asked:
            raise KeyError(q.id)
        for slot, c in zip(q.slots, a["choices"], strict=True):
            if checked:
                ct = codec.ct_from_json(group, {"alpha": c["alpha"], "beta": c["beta"]})
            else:
                ct = Ciphertext(
                    codec.element(group, c["alpha"], commitment=True),
                    codec.element(group, c["beta"], commitment=True),
                )
            out.append((r, q.id, slot, ct))
    return out


def _multiply_native(
    group: Group, manifest: Manifest, items: list[tuple[int, Any]]
) -> tuple[Product, list[int]] | None:
    """:func:`_multiply` in ristretto255 with the native library: each slot's components
    summed in one call, which also checks every encoding. None if any ballot does not
    decode (the caller's path then finds which)."""
    assert isinstance(group, Ristretto255)
    view = DeferredRistretto(group)
    acc: dict[tuple[str, str, str], tuple[list[bytes], list[bytes]]] = {}
    try:
        for _, data in items:
            for r, q, slot, ct in ballot_ciphertexts(view, manifest, data, checked=True):
                alphas, betas = acc.setdefault((r, q, slot), ([], []))
                alphas.append(ct.alpha.value)
                betas.append(ct.beta.value)
        product: Product = {}
        for (r, q, slot), (alphas, betas) in acc.items():
            pair = (native.sum_points(alphas).hex(), native.sum_points(betas).hex())
            product.setdefault(r, {}).setdefault(q, {})[slot] = pair
    except (EntryError, GroupError, KeyError, TypeError, ValueError):  # NativeError too
        return None
    return product, []


def _multiply(
    group: Group, manifest: Manifest, items: list[tuple[int, Any]], checked: bool
) -> tuple[Product, list[int]]:
    if isinstance(group, Ristretto255) and native.available():
        fast = _multiply_native(group, manifest, items)
        if fast is not None:
            return fast
    acc: dict[tuple[str, str, str], tuple[Element, Element]] = {}
    undecodable = []
    for index, data in items:
        try:
            cts = ballot_ciphertexts(group, manifest, data, checked)
        except (EntryError, GroupError, KeyError, TypeError, ValueError):
            undecodable.append(index)
            continue
        for r, q, slot, ct in cts:
            k = (r, q, slot)
            if k in acc:
                a, b = acc[k]
                acc[k] = (group.mul(a, ct.alpha), group.mul(b, ct.beta))
            else:
                acc[k] = (ct.alpha, ct.beta)
    product: Product = {}
    for (r, q, slot), (a, b) in acc.items():
        product.setdefault(r, {}).setdefault(q, {})[slot] = (a.hex(), b.hex())
    return product, undecodable


def line_signature_ok(entry: Any, raw: bytes, election_id: str) -> bool:
    """``verify_entry_signature`` for an entry just parsed from its canonical line
    ``raw``: the canonical bytes of its data are taken from the line (between
    ``{"data":`` and the last ``,"signature":``, which no JSON string can hold
    unescaped), not encoded again."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from plebiscite.record.entries import b64decode, signed_message

    if entry.signer is None or entry.signature is None:
        return False
    head = signed_message(entry.type, election_id, {})[: -len(b"{}")]
    message = head + raw[len(b'{"data":') : raw.rindex(b',"signature":')]
    try:
        pub = Ed25519PublicKey.from_public_bytes(b64decode(entry.signer, 32, "signer"))
        pub.verify(b64decode(entry.signature, 64, "signature"), message)
    except (EntryError, InvalidSignature, ValueError):
        return False
    return True


def check_lines(work: LineWork, batch: list[tuple[int, bytes]]) -> LineResult:
    """A worker's job: check a batch of raw ballot lines ``(index, line)``."""
    from plebiscite.record.entries import parse_entry

    g, m, ctx = _prepared(work)
    lines: list[BallotLine] = []
    parsed: list[tuple[int, Any]] = []
    for index, raw in batch:
        try:
            e = parse_entry(raw)
        except EntryError as exc:
            lines.append(BallotLine(index, None, f"entry {index}: {exc}", None, None, None, None))
            continue
        d = e.data
        sig = None
        if work.election_id is not None:
            cred = d.get("credential")
            if cred is None or e.signer != cred:
                sig = f"entry {index} ({e.type}): not signed by the party that vouches for it"
            elif not line_signature_ok(e, raw, work.election_id):
                sig = f"entry {index} ({e.type}): invalid signature"
        when = entry_micros(e.when)
        lines.append(
            BallotLine(
                index,
                when,
                None,
                d.get("region"),
                d.get("credential"),
                d.get("tracking_code"),
                sig,
                d.get("replaces"),
            )
        )
        parsed.append((index, e))
    findings = check_batch(ctx, [(i, e.data) for i, e in parsed]) if ctx is not None else []
    product: Product = {}
    undecodable: list[int] = []
    if work.window is not None and g is not None and m is not None:
        lo, hi = work.window
        bad = {f.index for f in findings if f.kind == "wellformed"}
        counting = [(i, e.data) for i, e in parsed if lo < i < hi and i not in bad]
        product, undecodable = _multiply(g, m, counting, checked=ctx is None)
    return LineResult(lines, findings, product, undecodable, parsed if work.keep else None)


def product_lines(work: LineWork, batch: list[tuple[int, bytes]]) -> tuple[Product, list[int]]:
    """A worker's job: the product of the ciphertexts of ballot lines that
    ``check_lines`` already found well-formed (revoted ballots, divided out of the
    tally)."""
    from plebiscite.record.entries import parse_entry

    g, m, ctx = _prepared(work)
    if g is None or m is None:
        return {}, [i for i, _ in batch]
    items = []
    for index, raw in batch:
        try:
            items.append((index, parse_entry(raw).data))
        except EntryError:
            continue
    return _multiply(g, m, items, checked=ctx is None)
