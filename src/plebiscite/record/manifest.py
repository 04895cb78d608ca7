"""The referendum file (manifest): strict parsing, one clear error per problem.

Unknown keys are an error: later features extend this schema, nothing is ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from plebiscite.crypto.group import GROUP_NAMES

BLANK = "blank"
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
DEFAULT_GROUP = "ristretto255"


class ManifestError(ValueError):
    """The referendum file is not valid; the message names the place."""


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    options: tuple[str, ...]
    min: int
    max: int
    blank: bool

    @property
    def slots(self) -> tuple[str, ...]:
        """Every encrypted position of a ballot: the options, then ``blank`` if allowed."""
        return self.options + ((BLANK,) if self.blank else ())


@dataclass(frozen=True)
class Region:
    id: str
    name: str
    questions: tuple[str, ...]


@dataclass(frozen=True)
class Manifest:
    raw: dict[str, Any]
    title: str
    questions: dict[str, Question]
    regions: dict[str, Region]
    opens: datetime
    closes: datetime
    guardian_count: int
    quorum: int
    group: str

    def region_questions(self, region: str) -> list[Question]:
        return [self.questions[q] for q in self.regions[region].questions]


def parse_time(value: Any, where: str) -> datetime:
    if not isinstance(value, str):
        raise ManifestError(f"{where}: expected an ISO 8601 time string")
    text = value.strip()
    if not (text.endswith("Z") or re.search(r"[+-]\d\d:?\d\d$", text)):
        raise ManifestError(f"{where}: time {value!r} needs a 'Z' or an offset")
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ManifestError(f"{where}: {value!r} is not an ISO 8601 time") from exc


def _obj(value: Any, where: str, required: set[str], optional: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ManifestError(f"{where}: expected an object")
    unknown = set(value) - required - optional
    if unknown:
        raise ManifestError(f"{where}: unknown key {sorted(unknown)[0]!r}")
    missing = required - set(value)
    if missing:
        raise ManifestError(f"{where}: missing key {sorted(missing)[0]!r}")
    return value


def _str(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ManifestError(f"{where}: expected a non-empty string")
    return value


def _ident(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _ID.match(value):
        raise ManifestError(f"{where}: {value!r} is not a valid id (letters, digits, _ . -)")
    return value


def _int(value: Any, where: str, lo: int, hi: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ManifestError(f"{where}: expected an integer")
    if value < lo or (hi is not None and value > hi):
        bound = f"between {lo} and {hi}" if hi is not None else f">= {lo}"
        raise ManifestError(f"{where}: {value} must be {bound}")
    return value


def _share(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ManifestError(f"{where}: expected a share between 0 and 1")
    return float(value)


def _key(value: Any, where: str) -> str:
    import base64
    import binascii

    if not isinstance(value, str):
        raise ManifestError(f"{where}: expected a base64 Ed25519 public key")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ManifestError(f"{where}: not base64") from exc
    if len(raw) != 32:
        raise ManifestError(f"{where}: an Ed25519 public key is 32 bytes")
    return value


def parse_manifest(data: Any) -> Manifest:
    m = _obj(
        data,
        "referendum",
        {"title", "questions", "regions", "opens", "closes", "guardians"},
        {
            "group",
            "rule",
            "credential_authority",
            "description",
            "organiser",
            "observers",
            "witness_quorum",
            "max_skew_s",
        },
    )
    title = _str(m["title"], "title")
    if "description" in m and not isinstance(m["description"], str):
        raise ManifestError("description: expected a string")
    group = m.get("group", DEFAULT_GROUP)
    if group not in GROUP_NAMES:
        raise ManifestError(f"group: {group!r} is not one of {', '.join(GROUP_NAMES)}")

    if not isinstance(m["questions"], list) or not m["questions"]:
        raise ManifestError("questions: expected a non-empty list")
    questions: dict[str, Question] = {}
    for i, qd in enumerate(m["questions"]):
        w = f"questions[{i}]"
        qo = _obj(qd, w, {"id", "text", "options"}, {"min", "max", "blank"})
        qid = _ident(qo["id"], f"{w}.id")
        if qid in questions:
            raise ManifestError(f"{w}.id: duplicate question id {qid!r}")
        if not isinstance(qo["options"], list) or len(qo["options"]) < 1:
            raise ManifestError(f"{w}.options: expected a non-empty list of option ids")
        opts = tuple(_ident(o, f"{w}.options[{j}]") for j, o in enumerate(qo["options"]))
        if BLANK in opts:
            raise ManifestError(f"{w}.options: 'blank' is reserved; use \"blank\": true")
        if len(set(opts)) != len(opts):
            raise ManifestError(f"{w}.options: duplicate option id")
        lo = _int(qo.get("min", 1), f"{w}.min", 0, len(opts))
        hi = _int(qo.get("max", 1), f"{w}.max", 1, len(opts))
        if lo > hi:
            raise ManifestError(f"{w}: min {lo} is greater than max {hi}")
        blank = qo.get("blank", False)
        if not isinstance(blank, bool):
            raise ManifestError(f"{w}.blank: expected true or false")
        questions[qid] = Question(qid, _str(qo["text"], f"{w}.text"), opts, lo, hi, blank)

    if not isinstance(m["regions"], list) or not m["regions"]:
        raise ManifestError("regions: expected a non-empty list")
    regions: dict[str, Region] = {}
    for i, rd in enumerate(m["regions"]):
        w = f"regions[{i}]"
        ro = _obj(rd, w, {"id", "name", "questions"}, set())
        rid = _ident(ro["id"], f"{w}.id")
        if rid in regions:
            raise ManifestError(f"{w}.id: duplicate region id {rid!r}")
        if not isinstance(ro["questions"], list) or not ro["questions"]:
            raise ManifestError(f"{w}.questions: expected a non-empty list of question ids")
        qs = tuple(ro["questions"])
        for q in qs:
            if not isinstance(q, str) or q not in questions:
                raise ManifestError(f"{w}.questions: unknown question {q!r}")
        if len(set(qs)) != len(qs):
            raise ManifestError(f"{w}.questions: duplicate question")
        regions[rid] = Region(rid, _str(ro["name"], f"{w}.name"), qs)

    opens = parse_time(m["opens"], "opens")
    closes = parse_time(m["closes"], "closes")
    if closes <= opens:
        raise ManifestError("closes: must be after opens")

    g = _obj(
        m["guardians"],
        "guardians",
        {"count", "quorum"},
        {"members", "min_jurisdictions", "organiser_cannot_decrypt"},
    )
    count = _int(g["count"], "guardians.count", 1, 64)
    quorum = _int(g["quorum"], "guardians.quorum", 1, count)
    if "members" in g:
        if not isinstance(g["members"], list) or len(g["members"]) != count:
            raise ManifestError("guardians.members: expected one member per guardian")
        seen: set[str] = set()
        for i, md in enumerate(g["members"]):
            w = f"guardians.members[{i}]"
            mo = _obj(md, w, {"id", "name"}, {"public_key", "jurisdiction"})
            mid = _ident(mo["id"], f"{w}.id")
            if mid in seen:
                raise ManifestError(f"{w}.id: duplicate guardian id")
            seen.add(mid)
            _str(mo["name"], f"{w}.name")
            if "public_key" in mo:
                _key(mo["public_key"], f"{w}.public_key")
            if "jurisdiction" in mo:
                _str(mo["jurisdiction"], f"{w}.jurisdiction")
    if "min_jurisdictions" in g:
        _int(g["min_jurisdictions"], "guardians.min_jurisdictions", 1, count)
    if "organiser_cannot_decrypt" in g and not isinstance(g["organiser_cannot_decrypt"], bool):
        raise ManifestError("guardians.organiser_cannot_decrypt: expected true or false")
    rules = "min_jurisdictions" in g or g.get("organiser_cannot_decrypt")
    if rules and not ("members" in g and all("jurisdiction" in mm for mm in g["members"])):
        raise ManifestError(
            "guardians: the jurisdiction rules need guardians.members, each with a jurisdiction"
        )
    if g.get("organiser_cannot_decrypt") and "organiser" not in m:
        raise ManifestError("guardians.organiser_cannot_decrypt needs organiser.jurisdiction")

    if "organiser" in m:
        org = _obj(m["organiser"], "organiser", {"name", "jurisdiction"}, set())
        _str(org["name"], "organiser.name")
        _str(org["jurisdiction"], "organiser.jurisdiction")
    observer_ids: set[str] = set()
    if "observers" in m:
        if not isinstance(m["observers"], list):
            raise ManifestError("observers: expected a list")
        for i, od in enumerate(m["observers"]):
            oid = parse_observer(od, f"observers[{i}]")["id"]
            if oid in observer_ids:
                raise ManifestError(f"observers[{i}].id: duplicate observer id")
            observer_ids.add(oid)
    if "witness_quorum" in m:
        q = _int(m["witness_quorum"], "witness_quorum", 0, max(0, len(observer_ids)))
        if q and 2 * q <= len(observer_ids):
            raise ManifestError(
                f"witness_quorum: {q} of {len(observer_ids)} observers is not a majority;"
                " two quorums must share a witness, or a board could show each its own history"
            )

    if "max_skew_s" in m:
        _int(m["max_skew_s"], "max_skew_s", 1, MAX_SKEW_LIMIT_S)

    if "rule" in m:
        r = _obj(m["rule"], "rule", set(), {"turnout_min", "majority"})
        for k in r:
            _share(r[k], f"rule.{k}")
    if "credential_authority" in m:
        ca = _obj(m["credential_authority"], "credential_authority", {"name", "public_key"}, set())
        _str(ca["name"], "credential_authority.name")
        _key(ca["public_key"], "credential_authority.public_key")
    _distinct_keys(m)

    return Manifest(
        raw=m,
        title=title,
        questions=questions,
        regions=regions,
        opens=opens,
        closes=closes,
        guardian_count=count,
        quorum=quorum,
        group=group,
    )


def _distinct_keys(m: dict[str, Any]) -> None:
    """No key serves two roles, and no two parties share a key: a guardian that is also
    the credential authority, or two observers with one key, would count twice."""
    seen: dict[str, str] = {}
    pins = [
        (f"guardians.members[{i}]", mm.get("public_key"))
        for i, mm in enumerate(m["guardians"].get("members", []))
    ]
    pins.append(("credential_authority", m.get("credential_authority", {}).get("public_key")))
    pins += [(f"observers[{i}]", o["public_key"]) for i, o in enumerate(m.get("observers", []))]
    for where, key in pins:
        if key is None:
            continue
        if key in seen:
            raise ManifestError(f"{where}.public_key: the same key as {seen[key]} (one per party)")
        seen[key] = where


def unpinned_roles(manifest: Manifest) -> list[str]:
    """The roles whose keys the referendum file does not pin (where to pin each)."""
    out = [
        f"guardians.members[].public_key of {gid}"
        for gid in guardian_ids(manifest)
        if pinned_guardian_key(manifest, gid) is None
    ]
    if pinned_authority_key(manifest) is None:
        out.append("credential_authority.public_key")
    return out


def pinned_keys(manifest: Manifest) -> set[str]:
    """Every key the referendum file pins: guardians, authority, observers."""
    m = manifest.raw
    keys = {mm["public_key"] for mm in m["guardians"].get("members", []) if "public_key" in mm}
    if "credential_authority" in m:
        keys.add(m["credential_authority"]["public_key"])
    return keys | {o["public_key"] for o in m.get("observers", [])}


def enrolment_problem(manifest: Manifest, demo: bool) -> str | None:
    """Why a referendum may not be created (None when it may): one that is not a demo
    must pin every guardian's and the credential authority's key, so that no role goes
    to whoever posts first."""
    missing = unpinned_roles(manifest)
    if demo or not missing:
        return None
    return "a referendum that is not a demo must pin its parties' keys; missing: " + ", ".join(
        missing
    )


def guardian_ids(manifest: Manifest) -> list[str]:
    """Guardian ids in index order (index = position + 1)."""
    members = manifest.raw["guardians"].get("members")
    if members:
        return [str(mm["id"]) for mm in members]
    return [f"guardian-{i}" for i in range(1, manifest.guardian_count + 1)]


def pinned_guardian_key(manifest: Manifest, guardian: str) -> str | None:
    for mm in manifest.raw["guardians"].get("members", []):
        if mm["id"] == guardian and "public_key" in mm:
            return str(mm["public_key"])
    return None


def parse_observer(od: Any, w: str) -> dict[str, str]:
    """An observer: ``id``, ``name``, ``kind``, ``jurisdiction``, ``public_key``."""
    oo = _obj(od, w, {"id", "name", "kind", "jurisdiction", "public_key"}, set())
    _ident(oo["id"], f"{w}.id")
    for k in ("name", "kind", "jurisdiction"):
        _str(oo[k], f"{w}.{k}")
    _key(oo["public_key"], f"{w}.public_key")
    return {k: str(v) for k, v in oo.items()}


def jurisdiction_problems(manifest: Manifest) -> list[str]:
    """Breaches of the guardians' jurisdiction rules: every set of guardians able to
    decrypt (any ``quorum`` of them) spans at least ``min_jurisdictions`` jurisdictions,
    and (``organiser_cannot_decrypt``) none lies wholly in the organiser's jurisdiction."""
    g = manifest.raw["guardians"]
    members = g.get("members", [])
    counts: dict[str, int] = {}
    for mm in members:
        if "jurisdiction" in mm:
            counts[mm["jurisdiction"]] = counts.get(mm["jurisdiction"], 0) + 1
    problems = []
    need = g.get("min_jurisdictions")
    if need is not None:
        # The decrypting set spanning the fewest jurisdictions takes the largest groups.
        spanned, taken = 0, 0
        for n in sorted(counts.values(), reverse=True):
            if taken >= manifest.quorum:
                break
            taken += n
            spanned += 1
        if spanned < need:
            problems.append(
                f"{manifest.quorum} guardians from only {spanned} jurisdiction(s) could decrypt;"
                f" the referendum requires at least {need}"
            )
    if g.get("organiser_cannot_decrypt"):
        home = manifest.raw.get("organiser", {}).get("jurisdiction")
        if counts.get(home, 0) >= manifest.quorum:
            problems.append(
                f"{counts[home]} guardians in the organiser's jurisdiction ({home}) reach the"
                f" quorum of {manifest.quorum}: the organiser's side could decrypt alone"
            )
    return problems


def observers(manifest: Manifest) -> dict[str, dict[str, str]]:
    """Observers declared in the referendum file, by id."""
    return {str(o["id"]): dict(o) for o in manifest.raw.get("observers", [])}


def witness_keys(manifest: Manifest, accredited: Any = ()) -> dict[str, str]:
    """The witnesses (observer id -> base64 key): declared in the referendum file, then
    those accredited later (the ``observer`` of each ``observer_accreditation`` entry,
    in board order; a declared id is never replaced)."""
    out = {k: v["public_key"] for k, v in observers(manifest).items()}
    for obs in accredited:
        if isinstance(obs, dict) and isinstance(obs.get("id"), str):
            out.setdefault(obs["id"], str(obs.get("public_key")))
    return out


def quorum_witnesses(manifest: Manifest) -> dict[str, str]:
    """The witnesses whose cosignatures count toward ``witness_quorum`` (id -> base64
    key): only those declared in the referendum file. Observers accredited later on the
    board may cosign, but the organiser controls accreditations, so it could show each
    branch of a split view its own; a majority of a fixed set cannot be split."""
    return {k: v["public_key"] for k, v in observers(manifest).items()}


def witness_quorum(manifest: Manifest) -> int:
    return int(manifest.raw.get("witness_quorum", 0))


DEFAULT_MAX_SKEW_S = 300
MAX_SKEW_LIMIT_S = 24 * 3600  # beyond a day, "timely" would say nothing


def max_skew_s(manifest: Manifest) -> int:
    """How far (seconds) a witness's clock and a checkpoint's time may differ: a witness
    refuses a checkpoint dated further ahead of its clock, or a latest checkpoint further
    behind; a cosignature is timely when its two times are at most this far apart."""
    return int(manifest.raw.get("max_skew_s", DEFAULT_MAX_SKEW_S))


def pinned_authority_key(manifest: Manifest) -> str | None:
    ca = manifest.raw.get("credential_authority")
    return str(ca["public_key"]) if ca else None
