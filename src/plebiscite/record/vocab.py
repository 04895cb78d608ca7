"""The board's vocabulary, once: each entry type's parser, signer and phase.

The organiser's intake, every role that acts on the board and the verifier read entries
through these parsers and these rules, so the board never appends what the verifier
would reject, and a role never acts on what the verifier would reject. A parser checks
one entry alone (its keys, types, encodings, group membership, the counts the
referendum file fixes) and returns a frozen value; the ``*_problems`` functions check
its proofs; checks across entries (one per guardian, the phase order) stay with the
callers, which share the tables here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from plebiscite.crypto import threshold
from plebiscite.crypto.elgamal import Ciphertext
from plebiscite.crypto.group import Element, Group
from plebiscite.crypto.proofs import EqualityProof, SchnorrProof, verify_equality, verify_schnorr
from plebiscite.record import codec
from plebiscite.record.canonical import json_equal
from plebiscite.record.entries import KINDS as KINDS  # the table of types, signers, phases
from plebiscite.record.entries import PHASES as PHASES
from plebiscite.record.entries import EntryError, b64decode
from plebiscite.record.manifest import Manifest, ManifestError, guardian_ids, parse_manifest
from plebiscite.record.protocol import (
    TAG_COEFFICIENT,
    TAG_DECRYPTION,
    TAG_SHARE_KEY,
    coefficient_bind,
    decryption_bind,
)

# The record format this code writes and reads. It is in the referendum entry, hence in
# the election id: a record of another format is refused, never half-understood.
RECORD_FORMAT: Final = 3


class FormatError(EntryError):
    """A record of another format than this code reads (exit 2, naming the format)."""


def _obj(d: Any, keys: set[str], what: str) -> dict[str, Any]:
    if not isinstance(d, dict) or set(d) != keys:
        raise EntryError(f"{what}: expected exactly the keys {', '.join(sorted(keys))}")
    return d


def _nat(v: Any, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise EntryError(f"{what}: expected a natural number")
    return v


def _list(v: Any, what: str) -> list[Any]:
    if not isinstance(v, list):
        raise EntryError(f"{what}: expected a list")
    return v


def _text(v: Any, what: str) -> str:
    if not isinstance(v, str):
        raise EntryError(f"{what}: expected a string")
    return v


# --- referendum ---------------------------------------------------------------------


@dataclass(frozen=True)
class Referendum:
    manifest: Manifest
    board_key: str
    origin: str
    demo: bool


REFERENDUM_KEYS: Final = {"manifest", "board_key", "origin", "record_format", "demo"}


def record_format_of(data: Any) -> Any:
    """The record format a referendum entry's data declares (1 when it has none: the
    records written before the format was named)."""
    return data.get("record_format", 1) if isinstance(data, dict) else None


def parse_referendum(data: Any) -> Referendum:
    """The referendum entry: the referendum file, the board's key and origin, the record
    format and whether it is a demo. ``FormatError`` for a record of another format."""
    fmt = record_format_of(data)
    if not json_equal(fmt, RECORD_FORMAT):
        raise FormatError(
            f"record format {fmt!r}: this plebiscite reads record format {RECORD_FORMAT} only"
        )
    d = _obj(data, REFERENDUM_KEYS, "referendum entry")
    b64decode(d["board_key"], 32, "board_key")
    if not isinstance(d["origin"], str) or not d["origin"]:
        raise EntryError("referendum entry: origin must be a non-empty string")
    if not isinstance(d["demo"], bool):
        raise EntryError("referendum entry: demo must be true or false")
    try:
        manifest = parse_manifest(d["manifest"])
    except ManifestError as exc:
        raise EntryError(str(exc)) from exc
    except TypeError as exc:
        raise EntryError(f"referendum file is malformed: {exc}") from exc
    return Referendum(manifest, d["board_key"], d["origin"], d["demo"])


# --- the key ceremony ------------------------------------------------------------------


@dataclass(frozen=True)
class GuardianKey:
    guardian: str
    index: int
    encryption_key: str  # base64 X25519 public key
    commitments: tuple[Element, ...]
    proofs: tuple[SchnorrProof, ...]


def parse_guardian_key(group: Group, manifest: Manifest, data: Any) -> GuardianKey:
    d = _obj(data, {"guardian", "index", "encryption_key", "commitments", "proofs"}, "guardian_key")
    ids = guardian_ids(manifest)
    gid = d["guardian"]
    if not isinstance(gid, str) or gid not in ids:
        raise EntryError(f"guardian_key: unknown guardian {gid!r}")
    if not json_equal(d["index"], ids.index(gid) + 1):
        raise EntryError(f"guardian_key: {gid} must have index {ids.index(gid) + 1}")
    b64decode(d["encryption_key"], 32, "guardian_key encryption_key")
    cs = _list(d["commitments"], "guardian_key commitments")
    ps = _list(d["proofs"], "guardian_key proofs")
    if len(cs) != manifest.quorum or len(ps) != manifest.quorum:
        raise EntryError(f"guardian_key: {gid} needs {manifest.quorum} commitments and proofs")
    commitments = tuple(codec.element(group, c, "commitment") for c in cs)
    if any(group.is_identity(c) for c in commitments):
        raise EntryError(f"guardian_key: a commitment of {gid} is the identity")
    proofs = tuple(codec.schnorr_from_json(group, p) for p in ps)
    return GuardianKey(gid, d["index"], d["encryption_key"], commitments, proofs)


def guardian_key_problems(group: Group, election_id: str, gk: GuardianKey) -> list[str]:
    """The coefficient proofs: each binds the whole entry but the proofs (guardian,
    index, X25519 key, every commitment), so no field can be swapped under them."""
    ctx = bytes.fromhex(election_id)
    out = []
    for k, (c, p) in enumerate(zip(gk.commitments, gk.proofs, strict=True)):
        bind = coefficient_bind(gk.guardian, gk.index, gk.encryption_key, gk.commitments, k)
        if not verify_schnorr(group, TAG_COEFFICIENT, ctx, c, p, bind):
            out.append(f"guardian {gk.guardian} coefficient {k}: proof fails")
    return out


@dataclass(frozen=True)
class EncryptedShare:
    to: str
    ephemeral: str
    ciphertext: str


@dataclass(frozen=True)
class GuardianShares:
    guardian: str
    shares: tuple[EncryptedShare, ...]

    def to(self, guardian: str) -> EncryptedShare:
        return next(s for s in self.shares if s.to == guardian)


def parse_guardian_shares(manifest: Manifest, data: Any) -> GuardianShares:
    d = _obj(data, {"guardian", "shares"}, "guardian_shares")
    ids = guardian_ids(manifest)
    gid = d["guardian"]
    if not isinstance(gid, str) or gid not in ids:
        raise EntryError(f"guardian_shares: unknown guardian {gid!r}")
    out = []
    for x in _list(d["shares"], "guardian_shares shares"):
        o = _obj(x, {"to", "ephemeral", "ciphertext"}, "guardian_shares share")
        b64decode(o["ephemeral"], 32, "ephemeral")
        b64decode(o["ciphertext"], 48, "ciphertext")
        out.append(EncryptedShare(_text(o["to"], "share to"), o["ephemeral"], o["ciphertext"]))
    if sorted(s.to for s in out) != sorted(x for x in ids if x != gid):
        raise EntryError(f"guardian_shares: {gid} must send one share to each other guardian")
    return GuardianShares(gid, tuple(out))


@dataclass(frozen=True)
class GuardianReady:
    guardian: str
    verification_key: Element
    proof: SchnorrProof


def parse_guardian_ready(group: Group, manifest: Manifest, data: Any) -> GuardianReady:
    d = _obj(data, {"guardian", "verification_key", "proof"}, "guardian_ready")
    gid = d["guardian"]
    if not isinstance(gid, str) or gid not in guardian_ids(manifest):
        raise EntryError(f"guardian_ready: unknown guardian {gid!r}")
    vk = codec.element(group, d["verification_key"], "verification_key")
    return GuardianReady(gid, vk, codec.schnorr_from_json(group, d["proof"]))


def guardian_ready_problems(
    group: Group,
    election_id: str,
    manifest: Manifest,
    ready: GuardianReady,
    commitments: Mapping[str, Sequence[Element]],
) -> list[str]:
    """The key share matches every guardian's commitments and its proof holds."""
    ids = guardian_ids(manifest)
    all_cs = [commitments[x] for x in ids]
    gid = ready.guardian
    if ready.verification_key != threshold.verification_key(group, all_cs, ids.index(gid) + 1):
        return [f"{gid}'s key share does not match the commitments"]
    ctx = bytes.fromhex(election_id)
    if not verify_schnorr(group, TAG_SHARE_KEY, ctx, ready.verification_key, ready.proof, [gid]):
        return [f"{gid}'s proof of its key share fails"]
    return []


@dataclass(frozen=True)
class ElectionContext:
    joint_key: str
    context_hash: str


def parse_election_context(data: Any) -> ElectionContext:
    d = _obj(data, {"joint_key", "context_hash"}, "election_context")
    return ElectionContext(_text(d["joint_key"], "joint_key"), _text(d["context_hash"], "hash"))


# --- credential lists ------------------------------------------------------------------


@dataclass(frozen=True)
class CredentialList:
    region: str
    credentials: tuple[str, ...]


def parse_credential_list(manifest: Manifest, data: Any) -> CredentialList:
    d = _obj(data, {"region", "count", "credentials"}, "credential_list")
    r = d["region"]
    if not isinstance(r, str) or r not in manifest.regions:
        raise EntryError(f"credential_list: unknown region {r!r}")
    creds = _list(d["credentials"], "credential_list credentials")
    if not all(isinstance(c, str) for c in creds):
        raise EntryError("credential_list: a credential is not base64 text")
    if not json_equal(d["count"], len(creds)) or creds != sorted(set(creds)):
        raise EntryError(f"credential_list: count, order or uniqueness wrong in {r!r}")
    for c in creds:
        b64decode(c, 32, "credential")
    return CredentialList(r, tuple(creds))


# --- decryption ------------------------------------------------------------------------

Tally = Mapping[str, Mapping[str, Mapping[str, Ciphertext]]]


def parse_tally(
    group: Group, manifest: Manifest, data: Any
) -> dict[str, dict[str, dict[str, Ciphertext]]]:
    """The encrypted tally of a tally entry: one ciphertext for every slot of every
    question of every region (whether it is the product of the counted ballots is V17's
    to check)."""
    d = _obj(data, {"close_index", "counted", "regions"}, "tally")
    regions = d["regions"]
    if not isinstance(regions, dict) or set(regions) != set(manifest.regions):
        raise EntryError("tally: one entry per region is needed")
    out: dict[str, dict[str, dict[str, Ciphertext]]] = {}
    for r in manifest.regions:
        qs = regions[r]
        want = {q.id: q.slots for q in manifest.region_questions(r)}
        if not isinstance(qs, dict) or set(qs) != set(want):
            raise EntryError(f"tally: region {r} must have exactly its questions")
        out[r] = {}
        for q, slots in want.items():
            if not isinstance(qs[q], dict) or set(qs[q]) != set(slots):
                raise EntryError(f"tally: {r}/{q} must have exactly its options")
            out[r][q] = {x: codec.ct_from_json(group, qs[q][x]) for x in slots}
    return out


@dataclass(frozen=True)
class DecryptionShare:
    guardian: str
    tally_index: int
    shares: dict[str, dict[str, dict[str, tuple[Element, EqualityProof]]]]


def parse_decryption_share(
    group: Group, manifest: Manifest, data: Any, tally: Tally
) -> DecryptionShare:
    """A guardian's partial decryptions: one share and proof for exactly every slot of
    ``tally`` (the regions, questions and options it has)."""
    d = _obj(data, {"guardian", "tally_index", "shares"}, "decryption_share")
    gid = d["guardian"]
    if not isinstance(gid, str) or gid not in guardian_ids(manifest):
        raise EntryError(f"decryption_share: unknown guardian {gid!r}")
    ti = _nat(d["tally_index"], "decryption_share tally_index")
    sh = d["shares"]
    out: dict[str, dict[str, dict[str, tuple[Element, EqualityProof]]]] = {}
    if not isinstance(sh, dict) or set(sh) != set(tally):
        raise EntryError("decryption_share: shares must cover exactly the tally's regions")
    for r, qs in tally.items():
        if not isinstance(sh[r], dict) or set(sh[r]) != set(qs):
            raise EntryError(f"decryption_share: shares for region {r} incomplete")
        out[r] = {}
        for q, slots in qs.items():
            if not isinstance(sh[r][q], dict) or set(sh[r][q]) != set(slots):
                raise EntryError(f"decryption_share: shares for {r}/{q} incomplete")
            out[r][q] = {}
            for x in slots:
                o = _obj(sh[r][q][x], {"share", "proof"}, "decryption share")
                out[r][q][x] = (
                    codec.element(group, o["share"], "share"),
                    codec.equality_from_json(group, o["proof"]),
                )
    return DecryptionShare(gid, ti, out)


def decryption_share_problems(
    group: Group, context: bytes, verification_key: Element, ds: DecryptionShare, tally: Tally
) -> list[str]:
    out = []
    for r, qs in tally.items():
        for q, slots in qs.items():
            for x, ct in slots.items():
                dj, p = ds.shares[r][q][x]
                bind = decryption_bind(ds.guardian, r, q, x)
                g1, vk, tag = group.generator(), verification_key, TAG_DECRYPTION
                if not verify_equality(group, tag, context, g1, vk, ct.alpha, dj, p, bind):
                    out.append(f"{ds.guardian}'s share for {r}/{q}/{x}: proof fails")
    return out
