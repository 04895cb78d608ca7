"""Producer-side tally and result: used by the organiser and, independently of the
organiser's own tally entry, by each guardian before it decrypts anything."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from plebiscite.crypto import native, threshold
from plebiscite.crypto.elgamal import Ciphertext
from plebiscite.crypto.group import Element, Group, Ristretto255
from plebiscite.record import codec
from plebiscite.record.canonical import json_equal
from plebiscite.record.entries import Entry
from plebiscite.record.manifest import Manifest
from plebiscite.record.protocol import RevoteChains

Tally = dict[str, dict[str, dict[str, Ciphertext]]]


class TallyError(RuntimeError):
    """The board does not allow a tally (not closed, or the posted tally is wrong)."""


@dataclass
class TallyResult:
    close_index: int
    tally: Tally
    counted: dict[str, int]  # ballots counted per region


def compute_tally(group: Group, manifest: Manifest, entries: Sequence[Entry]) -> TallyResult:
    """Multiply the last ballot of each credential's revote chain cast between open and
    close."""
    return scan_board(group, manifest, entries)[0]


def scan_board(
    group: Group,
    manifest: Manifest,
    entries: Sequence[Entry],
    progress: Callable[[str, int, int], None] | None = None,
) -> tuple[TallyResult, dict[str, list[tuple[int, Entry]]]]:
    """The tally of ``entries`` and every entry that is not a ballot, by type, in one
    pass: ``entries`` may read them on demand (a board of millions of ballots), since
    only each credential's last ballot index is kept. Every ballot between open and
    close that extends its credential's revote chain is multiplied in as it comes; a
    ballot that a later one of its credential replaces is read again by index and
    divided out at the end."""
    acc = _Accumulator(group, manifest)
    others: dict[str, list[tuple[int, Entry]]] = {}
    last: dict[str, int] = {}
    chains = RevoteChains()
    replaced: list[int] = []
    opened = False
    close_index: int | None = None
    total = len(entries)
    for i, e in enumerate(entries):
        if progress is not None and i % 4096 == 0:
            progress("tallying", i, total)
        if e.type in ("ballot", "challenged_ballot"):
            if e.type == "ballot" and opened and close_index is None:
                credential = str(e.data["credential"])
                code = str(e.data["tracking_code"])
                if not chains.extend(credential, e.data.get("replaces"), code):
                    continue  # not in its credential's revote chain: never counted
                previous = last.get(credential)
                if previous is not None:
                    replaced.append(previous)
                last[credential] = i
                acc.add(e.data)
            continue
        others.setdefault(e.type, []).append((i, e))
        if e.type == "open":
            opened = True
        elif e.type == "close" and close_index is None:
            close_index = i
    if close_index is None:
        raise TallyError("the referendum is not closed yet: no close entry on the board")
    for i in replaced:
        acc.add(entries[i].data, remove=True)
    if progress is not None:
        progress("tallying", total, total)
    return acc.result(close_index), others


class _Accumulator:
    """Products of ballots' ciphertexts per region, question and slot. In ristretto255
    with the native library, encodings are buffered and summed (and checked) a few
    thousand at a time instead of one libsodium addition each; ciphertexts are public."""

    BUFFER = 4096

    def __init__(self, group: Group, manifest: Manifest) -> None:
        self.group = group
        self.manifest = manifest
        self.tally: Tally = {
            r: {
                q.id: {s: Ciphertext(group.identity(), group.identity()) for s in q.slots}
                for q in manifest.region_questions(r)
            }
            for r in manifest.regions
        }
        self.counted = dict.fromkeys(manifest.regions, 0)
        self.native = isinstance(group, Ristretto255) and native.available()
        self.pending: dict[tuple[str, str, str], tuple[list[bytes], list[bytes]]] = {}
        self.buffered = 0

    def add(self, ballot: dict[str, Any], *, remove: bool = False) -> None:
        region = ballot["region"]
        self.counted[region] += -1 if remove else 1
        g = self.group
        for answer in ballot["answers"]:
            qid = answer["question"]
            slots = self.tally[region][qid]
            q = self.manifest.questions[qid]
            for slot, c in zip(q.slots, answer["choices"], strict=True):
                if self.native and not remove:
                    alphas, betas = self.pending.setdefault((region, qid, slot), ([], []))
                    alphas.append(_encoding(c["alpha"]))
                    betas.append(_encoding(c["beta"]))
                    continue
                ct = codec.ct_from_json(g, {"alpha": c["alpha"], "beta": c["beta"]})
                slots[slot] = slots[slot] / ct if remove else slots[slot] * ct
        if self.native and not remove:
            self.buffered += 1
            if self.buffered >= self.BUFFER:
                self.flush()

    def flush(self) -> None:
        g = self.group
        for (region, qid, slot), (alphas, betas) in self.pending.items():
            try:
                a, b = native.sum_points(alphas), native.sum_points(betas)
            except native.NativeError as exc:
                raise TallyError(f"a counted ballot's ciphertext does not decode: {exc}") from exc
            slots = self.tally[region][qid]
            slots[slot] = slots[slot] * Ciphertext(Element(g, a), Element(g, b))
        self.pending = {}
        self.buffered = 0

    def result(self, close_index: int) -> TallyResult:
        self.flush()
        return TallyResult(close_index, self.tally, self.counted)


def _encoding(text: Any) -> bytes:
    """A ristretto255 element's 32 bytes from its canonical hex (checked as a point when
    the buffer is summed)."""
    try:
        raw = bytes.fromhex(text)
    except (TypeError, ValueError):
        raw = b""
    if len(raw) != 32 or raw.hex() != text:
        raise TallyError(f"a counted ballot's ciphertext is not canonical hex: {text!r:.80}")
    return raw


def tally_ballots(
    group: Group, manifest: Manifest, close_index: int, ballots: Iterable[dict[str, Any]]
) -> TallyResult:
    """Multiply the given counted ballots' ciphertexts, slot by slot, per region."""
    acc = _Accumulator(group, manifest)
    for ballot in ballots:
        acc.add(ballot)
    return acc.result(close_index)


def tally_to_json(tr: TallyResult) -> dict[str, Any]:
    return {
        "close_index": tr.close_index,
        "counted": tr.counted,
        "regions": {
            r: {q: {s: codec.ct_to_json(c) for s, c in slots.items()} for q, slots in qs.items()}
            for r, qs in tr.tally.items()
        },
    }


def check_posted_tally(tr: TallyResult, posted: dict[str, Any]) -> None:
    if not json_equal(tally_to_json(tr), posted):
        raise TallyError("the posted tally differs from the one recomputed from the board")


def combine_shares(
    group: Group,
    tr: TallyResult,
    shares: dict[int, dict[str, Any]],
) -> dict[str, dict[str, dict[str, int]]]:
    """Counts from the partial decryptions of guardians (by index, at least a quorum)."""
    present = sorted(shares)
    lam = {i: threshold.lagrange_at_zero(group, i, present) for i in present}
    out: dict[str, dict[str, dict[str, int]]] = {}
    for region, qs in tr.tally.items():
        out[region] = {}
        for qid, slots in qs.items():
            out[region][qid] = {}
            for slot, ct in slots.items():
                d = group.prod(
                    group.pow(codec.element(group, shares[i][region][qid][slot]["share"]), lam[i])
                    for i in present
                )
                out[region][qid][slot] = group.dlog(group.div(ct.beta, d), tr.counted[region])
    return out
