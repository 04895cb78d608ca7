"""The ElectionGuard 1.x manifest: its hash and the descriptions ballots refer to.

electionguard-python 1.4.0 hashes every manifest object with ``hash_elems`` over a fixed
list of its fields (objects nested by their own hash); the manifest hash enters the
base hash, and each contest and selection description hash must match the ballots'.
Placeholder selections (one per seat, "``<contest>-<n>-placeholder``") are derived
from the contest as the SDK does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from plebiscite.interop.electionguard_crypto import Bad, Hx, hash_elems, integer, obj, text


@dataclass(frozen=True)
class SelectionDesc:
    object_id: str
    sequence_order: int
    description_hash: int
    placeholder: bool


@dataclass(frozen=True)
class ContestDesc:
    object_id: str
    sequence_order: int
    description_hash: int
    number_elected: int
    votes_allowed: int | None
    selections: tuple[SelectionDesc, ...]  # real selections, by sequence order
    placeholders: tuple[SelectionDesc, ...]


@dataclass
class Manifest:
    scope_id: str
    name: str | None
    manifest_hash: int
    contests: dict[str, ContestDesc]
    styles: dict[str, list[str]]  # ballot style -> contest ids
    problems: list[str] = field(default_factory=list)


def _opt(d: Mapping[str, Any], key: str) -> Any:
    return d.get(key)


def _opt_text(d: Mapping[str, Any], key: str, what: str) -> str | None:
    v = d.get(key)
    return None if v is None else text(v, f"{what}.{key}")


def _language(d: Any, what: str) -> Hx:
    d = obj(d, what)
    return Hx(hash_elems(text(d.get("value"), what), text(d.get("language", "en"), what)))


def _intl(d: Any, what: str) -> Hx | None:
    """InternationalizedText: H([languages])."""
    if d is None:
        return None
    d = obj(d, what)
    langs = d.get("text") or []
    if not isinstance(langs, list):
        raise Bad(f"{what}.text: not a list")
    return Hx(hash_elems([_language(x, what) for x in langs]))


def _annotated(d: Any, what: str) -> Hx:
    d = obj(d, what)
    return Hx(hash_elems(text(d.get("annotation", ""), what), text(d.get("value", ""), what)))


def _str_list(v: Any, what: str) -> list[str] | None:
    if v is None:
        return None
    if not isinstance(v, list):
        raise Bad(f"{what}: not a list")
    return [text(x, what) for x in v]


def _contact(d: Any, what: str) -> Hx | None:
    if d is None:
        return None
    d = obj(d, what)

    def annotated_list(key: str) -> list[Hx] | None:
        v = d.get(key)
        if v is None:
            return None
        if not isinstance(v, list):
            raise Bad(f"{what}.{key}: not a list")
        return [_annotated(x, what) for x in v]

    return Hx(
        hash_elems(
            _opt_text(d, "name", what),
            _str_list(d.get("address_line"), what),
            annotated_list("email"),
            annotated_list("phone"),
        )
    )


def _iso(value: Any, what: str) -> str:
    """electionguard's to_iso_date_string: UTC to the second, ``Z``; naive as given."""
    try:
        t = datetime.fromisoformat(text(value, what))
    except ValueError as exc:
        raise Bad(f"{what}: not an ISO date") from exc
    t = t.astimezone(UTC).replace(microsecond=0) if t.tzinfo else t.replace(microsecond=0)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _list(d: Mapping[str, Any], key: str, what: str) -> list[Any]:
    v = d.get(key)
    if v is None:
        return []
    if not isinstance(v, list):
        raise Bad(f"{what}.{key}: not a list")
    return v


def selection_hash(object_id: str, sequence_order: int, candidate_id: str) -> int:
    return hash_elems(object_id, sequence_order, candidate_id)


def parse_manifest(d: Any) -> Manifest:
    """Read the manifest and recompute its hash; :class:`Bad` when it is malformed."""
    d = obj(d, "manifest")
    scope = text(d.get("election_scope_id"), "manifest.election_scope_id")
    units = []
    for i, u in enumerate(_list(d, "geopolitical_units", "manifest")):
        w = f"geopolitical_units[{i}]"
        u = obj(u, w)
        units.append(
            Hx(
                hash_elems(
                    text(u.get("object_id"), w),
                    text(u.get("name"), w),
                    text(u.get("type"), w),
                    _contact(u.get("contact_information"), w),
                )
            )
        )
    parties = []
    for i, p in enumerate(_list(d, "parties", "manifest")):
        w = f"parties[{i}]"
        p = obj(p, w)
        name = _intl(p.get("name"), w)
        parties.append(
            Hx(
                hash_elems(
                    text(p.get("object_id"), w),
                    name if name is not None else Hx(hash_elems([])),
                    _opt_text(p, "abbreviation", w),
                    _opt_text(p, "color", w),
                    _opt_text(p, "logo_uri", w),
                )
            )
        )
    contests: dict[str, ContestDesc] = {}
    contest_hashes = []
    for i, c in enumerate(_list(d, "contests", "manifest")):
        w = f"contests[{i}]"
        c = obj(c, w)
        cid = text(c.get("object_id"), w)
        seq = integer(c.get("sequence_order"), f"{w}.sequence_order")
        elected = integer(c.get("number_elected"), f"{w}.number_elected", 1)
        allowed = c.get("votes_allowed")
        if allowed is not None:
            allowed = integer(allowed, f"{w}.votes_allowed")
        selections = []
        sel_hashes = []
        for j, s in enumerate(_list(c, "ballot_selections", w)):
            ws = f"{w}.ballot_selections[{j}]"
            s = obj(s, ws)
            sid = text(s.get("object_id"), ws)
            sseq = integer(s.get("sequence_order"), f"{ws}.sequence_order")
            sh = selection_hash(sid, sseq, text(s.get("candidate_id"), ws))
            sel_hashes.append(Hx(sh))
            selections.append(SelectionDesc(sid, sseq, sh, False))
        if not selections:
            raise Bad(f"{w}: no selections")
        top = max(s.sequence_order for s in selections)
        placeholders = []
        for k in range(elected):
            pseq = top + 1 + k
            pid = f"{cid}-{pseq}"
            placeholders.append(
                SelectionDesc(
                    f"{pid}-placeholder",
                    pseq,
                    selection_hash(f"{pid}-placeholder", pseq, f"{pid}-candidate"),
                    True,
                )
            )
        chash = hash_elems(
            cid,
            seq,
            text(c.get("electoral_district_id"), w),
            text(c.get("vote_variation"), w),
            _intl(c.get("ballot_title"), w),
            _intl(c.get("ballot_subtitle"), w),
            text(c.get("name"), w),
            elected,
            allowed,
            sel_hashes,
        )
        contest_hashes.append(Hx(chash))
        if cid in contests:
            raise Bad(f"{w}: contest {cid!r} listed twice")
        contests[cid] = ContestDesc(
            cid,
            seq,
            chash,
            elected,
            allowed,
            tuple(sorted(selections, key=lambda s: s.sequence_order)),
            tuple(placeholders),
        )
    styles: dict[str, list[str]] = {}
    style_hashes = []
    contest_units = {
        cid: text(c.get("electoral_district_id"), "contest")
        for cid, c in ((x.get("object_id"), x) for x in _list(d, "contests", "manifest"))
    }
    for i, s in enumerate(_list(d, "ballot_styles", "manifest")):
        w = f"ballot_styles[{i}]"
        s = obj(s, w)
        sid = text(s.get("object_id"), w)
        gp = _str_list(s.get("geopolitical_unit_ids"), w)
        style_hashes.append(
            Hx(hash_elems(sid, gp, _str_list(s.get("party_ids"), w), _opt_text(s, "image_uri", w)))
        )
        styles[sid] = [cid for cid, unit in contest_units.items() if unit in (gp or [])]
    manifest_hash = hash_elems(
        scope,
        text(d.get("type"), "manifest.type"),
        _iso(d.get("start_date"), "manifest.start_date"),
        _iso(d.get("end_date"), "manifest.end_date"),
        _intl(d.get("name"), "manifest.name"),
        _contact(d.get("contact_information"), "manifest.contact_information"),
        units,
        parties,
        contest_hashes,
        style_hashes,
    )
    name = None
    n = d.get("name")
    if isinstance(n, dict) and isinstance(n.get("text"), list) and n["text"]:
        first = n["text"][0]
        if isinstance(first, dict) and isinstance(first.get("value"), str):
            name = first["value"]
    return Manifest(scope, name, manifest_hash, contests, styles)
