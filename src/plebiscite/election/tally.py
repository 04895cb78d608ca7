"""Producer-side tally and result: used by the organiser and, independently of the
organiser's own tally entry, by each guardian before it decrypts anything."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from plebiscite.crypto import threshold
from plebiscite.crypto.elgamal import Ciphertext
from plebiscite.crypto.group import Group
from plebiscite.record import codec
from plebiscite.record.entries import Entry
from plebiscite.record.manifest import Manifest

Tally = dict[str, dict[str, dict[str, Ciphertext]]]


class TallyError(RuntimeError):
    """The board does not allow a tally (not closed, or the posted tally is wrong)."""


@dataclass
class TallyResult:
    close_index: int
    tally: Tally
    counted: dict[str, int]  # ballots counted per region


def compute_tally(group: Group, manifest: Manifest, entries: Sequence[Entry]) -> TallyResult:
    """Multiply the last ballot of each credential cast between open and close."""
    closes = [i for i, e in enumerate(entries) if e.type == "close"]
    if not closes:
        raise TallyError("the referendum is not closed yet: no close entry on the board")
    close_index = closes[0]
    last: dict[str, dict[str, Any]] = {}
    opened = False
    for e in entries[:close_index]:
        if e.type == "open":
            opened = True
        elif e.type == "ballot" and opened:
            last[str(e.data["credential"])] = e.data
    return tally_ballots(group, manifest, close_index, last.values())


def tally_ballots(
    group: Group, manifest: Manifest, close_index: int, ballots: Iterable[dict[str, Any]]
) -> TallyResult:
    """Multiply the given counted ballots' ciphertexts, slot by slot, per region."""
    tally: Tally = {
        r: {
            q.id: {s: Ciphertext(group.identity(), group.identity()) for s in q.slots}
            for q in manifest.region_questions(r)
        }
        for r in manifest.regions
    }
    counted = dict.fromkeys(manifest.regions, 0)
    for ballot in ballots:
        region = ballot["region"]
        counted[region] += 1
        for answer in ballot["answers"]:
            slots = tally[region][answer["question"]]
            q = manifest.questions[answer["question"]]
            for slot, c in zip(q.slots, answer["choices"], strict=True):
                slots[slot] = slots[slot] * codec.ct_from_json(
                    group, {"alpha": c["alpha"], "beta": c["beta"]}
                )
    return TallyResult(close_index, tally, counted)


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
    if tally_to_json(tr) != posted:
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
